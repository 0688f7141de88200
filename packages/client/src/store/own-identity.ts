/**
 * The store of this device's own identity: its v2 identity key pairs, registration id, device id
 * and user id. There is at most one.
 *
 * @module
 */
import {
  type DeviceId,
  type DeviceIdentity,
  deviceId,
  type RegistrationId,
  registrationId,
  UsageError,
  ValidationError,
} from '@cloister/crypto';
import { type UserId, userId } from '@cloister/protocol';
import type { Executor } from '@cloister/storage';
import {
  checkBytesArg,
  checkObjectArg,
  checkUint32Arg,
  dBranded,
  dBytes,
  decodeObject,
  dUint32,
  EMPTY,
  encode,
} from './_util.js';
import { CLIENT_TABLES } from './tables.js';

/**
 * This device's identity as stored. Contains private keys.
 *
 * @example
 * ```ts
 * const me: OwnIdentity | undefined = await stores.ownIdentity.get();
 * if (me !== undefined) console.log(`${me.userId}, device ${me.deviceId}`);
 * ```
 */
export interface OwnIdentity {
  /** The v2 device identity (Ed25519 signing and X25519 DH key pairs, DH key signature). */
  readonly identity: DeviceIdentity;
  /** The device's registration id. */
  readonly registrationId: RegistrationId;
  /** The device's number within the user's account. */
  readonly deviceId: DeviceId;
  /** The user this device belongs to. */
  readonly userId: UserId;
}

/**
 * Options of {@link OwnIdentityStore.set}.
 *
 * @example
 * ```ts
 * import { deviceId, registrationId } from '@cloister/crypto';
 * import { userId } from '@cloister/protocol';
 * const options: SetOwnIdentityOptions = { replace: true };
 * await stores.ownIdentity.set({ identity, registrationId: registrationId(8), deviceId: deviceId(2), userId: userId('alice') }, options);
 * ```
 */
export interface SetOwnIdentityOptions {
  /** Replace an existing identity (for example after re-enrolment). Default: refuse. */
  readonly replace?: boolean;
}

/**
 * The device's own identity: exactly one, or none before enrolment.
 *
 * @example
 * ```ts
 * import { deviceId, registrationId } from '@cloister/crypto';
 * import { userId } from '@cloister/protocol';
 * await stores.ownIdentity.set({ identity, registrationId: registrationId(7), deviceId: deviceId(1), userId: userId('alice') });
 * const me = await stores.ownIdentity.get();
 * ```
 */
export interface OwnIdentityStore {
  /**
   * The stored identity, or `undefined` before enrolment.
   *
   * @example
   * ```ts
   * const own = await stores.ownIdentity.get();
   * if (own !== undefined) console.log(own.userId, own.deviceId); // never log own.identity: it holds private keys
   * ```
   */
  get(): Promise<OwnIdentity | undefined>;
  /**
   * Stores the identity; throws `UsageError` when one exists and `replace` is not set.
   *
   * @example
   * ```ts
   * import { deviceId, registrationId } from '@cloister/crypto';
   * import { userId } from '@cloister/protocol';
   * await stores.ownIdentity.set({ identity, registrationId: registrationId(7), deviceId: deviceId(1), userId: userId('alice') });
   * ```
   */
  set(own: OwnIdentity, options?: SetOwnIdentityOptions): Promise<void>;
  /**
   * Deletes the identity; resolves `true` when there was one.
   *
   * @example
   * ```ts
   * const had = await stores.ownIdentity.delete(); // this device must enrol again to send or receive
   * ```
   */
  delete(): Promise<boolean>;
}

const TABLE = CLIENT_TABLES.ownIdentity;
const PATH = 'c_own_identity';
const VERSION = 1;

function checkKeyPairArg(value: unknown, field: string): { privateKey: Uint8Array; publicKey: Uint8Array } {
  const o = checkObjectArg(value, field);
  return {
    privateKey: checkBytesArg(o.privateKey, `${field}.privateKey`, 32),
    publicKey: checkBytesArg(o.publicKey, `${field}.publicKey`, 32),
  };
}

function checkOwn(value: unknown): OwnIdentity {
  const o = checkObjectArg(value, 'own');
  const id = checkObjectArg(o.identity, 'own.identity');
  const signing = checkKeyPairArg(id.signingKeyPair, 'own.identity.signingKeyPair');
  const dh = checkKeyPairArg(id.dhKeyPair, 'own.identity.dhKeyPair');
  const sig = checkBytesArg(id.dhKeySignature, 'own.identity.dhKeySignature', 64);
  let user: UserId;
  try {
    user = userId(o.userId);
  } catch {
    throw new ValidationError('own.userId', 'a UserId');
  }
  return {
    identity: { signingKeyPair: signing, dhKeyPair: dh, dhKeySignature: sig },
    registrationId: registrationId(checkUint32Arg(o.registrationId, 'own.registrationId')),
    deviceId: deviceId(checkUint32Arg(o.deviceId, 'own.deviceId')),
    userId: user,
  };
}

function decodeOwn(bytes: Uint8Array): OwnIdentity {
  const d = decodeObject(bytes, PATH, VERSION);
  const signingPrivate = dBytes(d, 'signingPrivate', PATH, 32);
  const signingPublic = dBytes(d, 'signingPublic', PATH, 32);
  const dhPrivate = dBytes(d, 'dhPrivate', PATH, 32);
  const dhPublic = dBytes(d, 'dhPublic', PATH, 32);
  const dhKeySignature = dBytes(d, 'dhKeySignature', PATH, 64);
  const reg = dUint32(d, 'registrationId', PATH);
  const dev = dUint32(d, 'deviceId', PATH);
  const user = dBranded(d, 'userId', PATH, userId);
  return {
    identity: {
      signingKeyPair: { privateKey: signingPrivate, publicKey: signingPublic },
      dhKeyPair: { privateKey: dhPrivate, publicKey: dhPublic },
      dhKeySignature,
    },
    registrationId: registrationId(reg),
    deviceId: deviceId(dev),
    userId: user,
  };
}

/**
 * Creates the own-identity store over an executor (see {@link createClientStores} for the usual way).
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const own = createOwnIdentityStore(adapterExecutor(adapter));
 * ```
 */
export function createOwnIdentityStore(run: Executor): OwnIdentityStore {
  return {
    async get() {
      const row = await run((tx) => tx.get(TABLE, EMPTY, EMPTY), { readOnly: true });
      return row === undefined ? undefined : decodeOwn(row.value);
    },
    async set(own, options = {}) {
      const c = checkOwn(own);
      const replace = checkObjectArg(options, 'options').replace;
      if (replace !== undefined && typeof replace !== 'boolean') {
        throw new ValidationError('options.replace', 'a boolean');
      }
      const value = encode(VERSION, {
        signingPrivate: c.identity.signingKeyPair.privateKey,
        signingPublic: c.identity.signingKeyPair.publicKey,
        dhPrivate: c.identity.dhKeyPair.privateKey,
        dhPublic: c.identity.dhKeyPair.publicKey,
        dhKeySignature: c.identity.dhKeySignature,
        registrationId: c.registrationId,
        deviceId: c.deviceId,
        userId: c.userId,
      });
      await run(async (tx) => {
        const written = await tx.put(
          TABLE,
          { partition: EMPTY, sort: EMPTY, value },
          replace === true ? {} : { ifAbsent: true },
        );
        if (!written) throw new UsageError('an own identity is already stored');
      });
    },
    async delete() {
      return run((tx) => tx.delete(TABLE, EMPTY, EMPTY));
    },
  };
}
