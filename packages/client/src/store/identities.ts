/**
 * Remote device identities: trust on first use, a `verified` mark set when the user has compared
 * safety numbers, and key-change detection.
 *
 * @module
 */
import {
  type DeviceAddress,
  type DeviceId,
  deviceId,
  equalBytes,
  type PublicIdentity,
} from '@cloister/crypto';
import type { UserId } from '@cloister/protocol';
import { userId as toUserId } from '@cloister/protocol';
import type { Executor } from '@cloister/storage';
import {
  addressKeys,
  checkAddressArg,
  checkBooleanArg,
  checkBytesArg,
  checkObjectArg,
  dBoolean,
  dBytes,
  decodeObject,
  dTime,
  dTimeOrNull,
  encode,
  sortU32,
  utf8Bytes,
} from './_util.js';
import { CLIENT_TABLES } from './tables.js';

/**
 * What is stored for one remote device.
 *
 * @example
 * ```ts
 * const r: RemoteIdentityRecord | undefined = await stores.identities.get(bob);
 * if (r !== undefined && r.changedAt !== null && !r.verified) console.warn(`${r.address.userId}'s key changed`);
 * ```
 */
export interface RemoteIdentityRecord {
  /** The device it belongs to. */
  readonly address: { readonly userId: UserId; readonly deviceId: DeviceId };
  /** The pinned public identity of that device. */
  readonly identity: PublicIdentity;
  /** True once the user confirmed this identity by comparing safety numbers. */
  readonly verified: boolean;
  /** When this device's identity was first saved (ms since the epoch). */
  readonly firstSeenAt: number;
  /** When the identity last changed to a different key, or `null` if it never did. */
  readonly changedAt: number | null;
}

/**
 * Outcome of {@link RemoteIdentityStore.save}: `new` on first use, `unchanged` for the pinned
 * key, `changed` when a different key replaced the pinned one (and `verified` was reset).
 *
 * @example
 * ```ts
 * const result: IdentitySaveResult = await stores.identities.save(bob, theirIdentity);
 * if (result.status === 'changed') console.warn(`key changed (was verified: ${result.wasVerified})`);
 * ```
 */
export type IdentitySaveResult =
  | { readonly status: 'new' }
  | { readonly status: 'unchanged'; readonly verified: boolean }
  | { readonly status: 'changed'; readonly previous: PublicIdentity; readonly wasVerified: boolean };

/**
 * Options of {@link RemoteIdentityStore.isTrusted}.
 *
 * @example
 * ```ts
 * const options: IsTrustedOptions = { requireVerified: true };
 * const verified = await stores.identities.isTrusted(bob, theirIdentity, options);
 * ```
 */
export interface IsTrustedOptions {
  /** Trust only a pinned key that the user has verified (no first use, no unverified key). */
  readonly requireVerified?: boolean;
}

/**
 * The identities of remote devices, pinned on first use.
 *
 * `isTrusted(address, identity)` is `true` when no identity is pinned for the address (first
 * use) or when the pinned identity has the same signing and DH keys; `false` when a different key
 * is pinned: the caller must show the key change and accept it with `save`, which resets
 * `verified`. With `requireVerified` it is `true` only for the pinned key marked verified.
 * `isTrusted` never writes; pin a new identity with `save`.
 *
 * @example
 * ```ts
 * import { deviceId } from '@cloister/crypto';
 * const bob = { userId: 'bob', deviceId: deviceId(1) };
 * if (await stores.identities.isTrusted(bob, theirIdentity)) {
 *   const r = await stores.identities.save(bob, theirIdentity); // { status: 'new' } the first time
 * }
 * ```
 */
export interface RemoteIdentityStore {
  /**
   * The record pinned for one device, or `undefined` when none is.
   *
   * @example
   * ```ts
   * const r = await stores.identities.get(bob);
   * if (r !== undefined) console.log(r.verified, r.changedAt === null ? 'never changed' : new Date(r.changedAt));
   * ```
   */
  get(address: DeviceAddress): Promise<RemoteIdentityRecord | undefined>;
  /**
   * Pins `identity` for the address; a different key replaces the pinned one and resets `verified`.
   *
   * @example
   * ```ts
   * const result = await stores.identities.save(bob, theirIdentity);
   * if (result.status === 'changed') console.warn(`bob's device ${bob.deviceId} has a new key`);
   * ```
   */
  save(address: DeviceAddress, identity: PublicIdentity): Promise<IdentitySaveResult>;
  /**
   * See the interface comment.
   *
   * @example
   * ```ts
   * if (!(await stores.identities.isTrusted(bob, theirIdentity))) {
   *   console.warn('the key changed: show it to the user before accepting it with save()');
   * }
   * ```
   */
  isTrusted(address: DeviceAddress, identity: PublicIdentity, options?: IsTrustedOptions): Promise<boolean>;
  /**
   * Marks the pinned identity verified (or not). Resolves `false`, changing nothing, when the
   * pinned identity is not `identity` (the user compared a different key) or none is pinned.
   *
   * @example
   * ```ts
   * // the user compared safety numbers with bob and they matched:
   * const marked = await stores.identities.setVerified(bob, theirIdentity, true); // false when another key is pinned
   * ```
   */
  setVerified(address: DeviceAddress, identity: PublicIdentity, verified: boolean): Promise<boolean>;
  /**
   * Every pinned device identity of one user.
   *
   * @example
   * ```ts
   * import { userId } from '@cloister/protocol';
   * const records = await stores.identities.listForUser(userId('bob'));
   * const allVerified = records.every((r) => r.verified);
   * ```
   */
  listForUser(userId: UserId): Promise<RemoteIdentityRecord[]>;
  /**
   * Forgets the pinned identity of one device; resolves `true` when there was one.
   *
   * @example
   * ```ts
   * const forgotten = await stores.identities.delete(bob); // its next key is pinned on first use again
   * ```
   */
  delete(address: DeviceAddress): Promise<boolean>;
}

const TABLE = CLIENT_TABLES.identities;
const PATH = 'c_identities';
const VERSION = 1;

function checkIdentityArg(value: unknown, field = 'identity'): PublicIdentity {
  const o = checkObjectArg(value, field);
  return {
    signingKey: checkBytesArg(o.signingKey, `${field}.signingKey`, 32),
    dhKey: checkBytesArg(o.dhKey, `${field}.dhKey`, 32),
    dhKeySignature: checkBytesArg(o.dhKeySignature, `${field}.dhKeySignature`, 64),
  };
}

function sameKey(a: PublicIdentity, b: PublicIdentity): boolean {
  // Both comparisons always run (no short circuit on the first difference).
  const s = equalBytes(a.signingKey, b.signingKey);
  const d = equalBytes(a.dhKey, b.dhKey);
  return s && d;
}

interface Stored {
  identity: PublicIdentity;
  verified: boolean;
  firstSeenAt: number;
  changedAt: number | null;
}

function encodeStored(s: Stored): Uint8Array {
  return encode(VERSION, {
    signingKey: s.identity.signingKey,
    dhKey: s.identity.dhKey,
    dhKeySignature: s.identity.dhKeySignature,
    verified: s.verified,
    firstSeenAt: s.firstSeenAt,
    changedAt: s.changedAt,
  });
}

function decodeStored(bytes: Uint8Array): Stored {
  const d = decodeObject(bytes, PATH, VERSION);
  return {
    identity: {
      signingKey: dBytes(d, 'signingKey', PATH, 32),
      dhKey: dBytes(d, 'dhKey', PATH, 32),
      dhKeySignature: dBytes(d, 'dhKeySignature', PATH, 64),
    },
    verified: dBoolean(d, 'verified', PATH),
    firstSeenAt: dTime(d, 'firstSeenAt', PATH),
    changedAt: dTimeOrNull(d, 'changedAt', PATH),
  };
}

function toRecord(address: { userId: UserId; deviceId: DeviceId }, s: Stored): RemoteIdentityRecord {
  return { address, ...s };
}

/**
 * Creates the remote-identity store over an executor (see {@link createClientStores}).
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const identities = createRemoteIdentityStore(adapterExecutor(adapter));
 * ```
 */
export function createRemoteIdentityStore(run: Executor): RemoteIdentityStore {
  return {
    async get(address) {
      const a = checkAddressArg(address);
      const k = addressKeys(a);
      const row = await run((tx) => tx.get(TABLE, k.partition, k.sort), { readOnly: true });
      return row === undefined ? undefined : toRecord(a, decodeStored(row.value));
    },
    async save(address, identity) {
      const a = checkAddressArg(address);
      const id = checkIdentityArg(identity);
      const k = addressKeys(a);
      return run(async (tx): Promise<IdentitySaveResult> => {
        const row = await tx.get(TABLE, k.partition, k.sort, { forUpdate: true });
        if (row === undefined) {
          const value = encodeStored({ identity: id, verified: false, firstSeenAt: tx.now, changedAt: null });
          await tx.put(TABLE, { partition: k.partition, sort: k.sort, value });
          return { status: 'new' };
        }
        const old = decodeStored(row.value);
        if (sameKey(old.identity, id)) return { status: 'unchanged', verified: old.verified };
        const value = encodeStored({
          identity: id,
          verified: false,
          firstSeenAt: old.firstSeenAt,
          changedAt: tx.now,
        });
        await tx.put(TABLE, { partition: k.partition, sort: k.sort, value });
        return { status: 'changed', previous: old.identity, wasVerified: old.verified };
      });
    },
    async isTrusted(address, identity, options = {}) {
      const a = checkAddressArg(address);
      const id = checkIdentityArg(identity);
      const o = checkObjectArg(options, 'options');
      const requireVerified =
        o.requireVerified === undefined
          ? false
          : checkBooleanArg(o.requireVerified, 'options.requireVerified');
      const k = addressKeys(a);
      const row = await run((tx) => tx.get(TABLE, k.partition, k.sort), { readOnly: true });
      if (row === undefined) return !requireVerified;
      const stored = decodeStored(row.value);
      return sameKey(stored.identity, id) && (!requireVerified || stored.verified);
    },
    async setVerified(address, identity, verified) {
      const a = checkAddressArg(address);
      const id = checkIdentityArg(identity);
      const v = checkBooleanArg(verified, 'verified');
      const k = addressKeys(a);
      return run(async (tx) => {
        const row = await tx.get(TABLE, k.partition, k.sort, { forUpdate: true });
        if (row === undefined) return false;
        const stored = decodeStored(row.value);
        if (!sameKey(stored.identity, id)) return false;
        if (stored.verified !== v) {
          await tx.put(TABLE, {
            partition: k.partition,
            sort: k.sort,
            value: encodeStored({ ...stored, verified: v }),
          });
        }
        return true;
      });
    },
    async listForUser(user) {
      const u = toUserId(user);
      const rows = await run((tx) => tx.list(TABLE, utf8Bytes(u), { limit: 10_000 }), { readOnly: true });
      return rows
        .map((r) => toRecord({ userId: u, deviceId: deviceId(sortU32(r.sort, PATH)) }, decodeStored(r.value)))
        .sort((x, y) => x.address.deviceId - y.address.deviceId);
    },
    async delete(address) {
      const k = addressKeys(checkAddressArg(address));
      return run((tx) => tx.delete(TABLE, k.partition, k.sort));
    },
  };
}
