/**
 * Key bundles: the public prekeys each device publishes so that others can start sessions with
 * it offline. Per device the server keeps one signed X25519 prekey and one last-resort ML-KEM
 * prekey (replaced on upload), and batches of one-time X25519 and one-time ML-KEM prekeys. A
 * fetch takes one one-time key of each kind with `take` (atomic delete-and-return that skips
 * rows another transaction holds), so two fetches never hand out the same one-time key.
 * Only public keys and signatures are stored; the server never holds private keys.
 *
 * @module
 */
import {
  DecodeError,
  type DeviceId,
  type KemPreKeyPublic,
  kemPreKeyId,
  LimitError,
  MAX_SUITE_CODE,
  MAX_SUITE_ENTRIES,
  type OneTimePreKeyPublic,
  oneTimePreKeyId,
  type PreKeyBundle,
  type SignedPreKeyPublic,
  SUITE_CODES,
  type SuiteName,
  signedPreKeyId,
  ValidationError,
} from '@cloister/crypto';
import { type TenantId, tenantId, type UserId, userId } from '@cloister/protocol';
import type { Executor, StorageTx } from '@cloister/storage';
import {
  checkArray,
  checkBool,
  checkBytesIn,
  checkDeviceId,
  checkId,
  checkInteger,
  checkObject,
  deviceKey,
  getRec,
  NO_SORT,
  type Rec,
  read,
  T,
  u32,
  write,
} from './_util.js';
import { loadDevice } from './devices.js';
import { ConflictError, NotFoundError } from './errors.js';

/**
 * Most one-time prekeys of each kind kept per device.
 *
 * @example
 * ```ts
 * const room = MAX_ONE_TIME_PREKEYS - (await stores.bundles.countOneTime(tenant, user, device)).preKeys;
 * ```
 */
export const MAX_ONE_TIME_PREKEYS = 1000;
/** ML-KEM-768 encapsulation key length. */
const KEM_KEY = 1184;

/**
 * What a device publishes and replaces as a whole: its signed and last-resort prekeys and suites.
 *
 * @example
 * ```ts
 * import { generateKemPreKey, generateSignedPreKey, kemPreKeyId, signedPreKeyId, signSuites, toKemPreKeyPublic, toSignedPreKeyPublic } from '@cloister/crypto';
 *
 * const spk = await generateSignedPreKey(provider, deviceIdentity, signedPreKeyId(1));
 * const lastResort = await generateKemPreKey(provider, deviceIdentity, kemPreKeyId(1), { lastResort: true });
 * const issuedAt = Date.now();
 * const keys: SignedPreKeys = {
 *   signedPreKey: toSignedPreKeyPublic(spk),
 *   lastResortKemPreKey: toKemPreKeyPublic(lastResort),
 *   suites: ['v2'],
 *   suitesIssuedAt: issuedAt,
 *   suitesSignature: await signSuites(provider, deviceIdentity, ['v2'], { signedPreKeyId: spk.id, issuedAt }),
 * };
 * await stores.bundles.setSigned(tenant, user, device, keys);
 * ```
 */
export interface SignedPreKeys {
  /** The signed X25519 prekey (public key, id and the identity's signature). */
  readonly signedPreKey: SignedPreKeyPublic;
  /** The last-resort ML-KEM prekey (`lastResort: true`), handed out when no one-time one is left. */
  readonly lastResortKemPreKey: KemPreKeyPublic;
  /** The device's suites, as signed by `suitesSignature`. */
  readonly suites: readonly SuiteName[];
  /** Suite codes from newer versions that the signature also covers. */
  readonly unknownSuiteCodes?: readonly number[];
  /**
   * When the device signed its suite list (ms since the Unix epoch, 1 .. 2^53 - 1), covered by
   * `suitesSignature` with `signedPreKey.id`. `setSigned` refuses one older than the stored one.
   */
  readonly suitesIssuedAt: number;
  /** The identity key's Ed25519 signature over the suite list, `suitesIssuedAt` and the signed prekey id (64 bytes). */
  readonly suitesSignature: Uint8Array;
}

/**
 * A batch of one-time prekeys to add.
 *
 * @example
 * ```ts
 * import { generateOneTimePreKeys, oneTimePreKeyId, toOneTimePreKeyPublic } from '@cloister/crypto';
 *
 * const opks = await generateOneTimePreKeys(provider, oneTimePreKeyId(100), 50);
 * const batch: OneTimePreKeys = { preKeys: opks.map(toOneTimePreKeyPublic) };
 * const added = await stores.bundles.addOneTime(tenant, user, device, batch); // → { preKeys: 50, kemPreKeys: 0 }
 * ```
 */
export interface OneTimePreKeys {
  /** One-time X25519 prekeys (default none). */
  readonly preKeys?: readonly OneTimePreKeyPublic[];
  /** One-time ML-KEM prekeys (`lastResort: false`). */
  readonly kemPreKeys?: readonly KemPreKeyPublic[];
}

/**
 * How many one-time prekeys of each kind a device has left.
 *
 * @example
 * ```ts
 * const left: OneTimeCounts = await stores.bundles.countOneTime(tenant, user, device);
 * if (left.preKeys < 20 || left.kemPreKeys < 20) console.log('the device should upload more one-time prekeys');
 * ```
 */
export interface OneTimeCounts {
  /** One-time X25519 prekeys (0..{@link MAX_ONE_TIME_PREKEYS}). */
  readonly preKeys: number;
  /** One-time ML-KEM prekeys (0..{@link MAX_ONE_TIME_PREKEYS}). */
  readonly kemPreKeys: number;
}

/**
 * The published prekeys of devices.
 *
 * @example
 * ```ts
 * const bundle = await stores.bundles.takeBundle(tenant, user, device); // takes one one-time prekey of each kind
 * const left = await stores.bundles.countOneTime(tenant, user, device);
 * ```
 */
export interface KeyBundleStore {
  /**
   * Replaces the device's signed part; `NotFoundError('device')`, and
   * `ConflictError('suitesIssuedAt')` (nothing written) when its `suitesIssuedAt` is older than
   * the stored one's: an honest server does not take back a device's newer suite list.
   *
   * @example
   * ```ts
   * import { verifyBundleSuites } from '@cloister/crypto';
   * import { decodePreKeyBundle } from '@cloister/protocol';
   *
   * const uploaded = decodePreKeyBundle(bytes); // what the device sent, without a one-time prekey
   * await verifyBundleSuites(provider, uploaded, { expectedIdentity: identity });
   * const { signedPreKey, kemPreKey, suites, unknownSuiteCodes, suitesIssuedAt, suitesSignature } = uploaded;
   * await stores.bundles.setSigned(tenant, user, device, {
   *   signedPreKey, lastResortKemPreKey: kemPreKey, suites, suitesIssuedAt, suitesSignature,
   *   ...(unknownSuiteCodes === undefined ? {} : { unknownSuiteCodes }), // the signature covers them too
   * });
   * ```
   */
  setSigned(tenant: TenantId, user: UserId, device: DeviceId, keys: SignedPreKeys): Promise<void>;
  /**
   * Adds one-time prekeys; ids the device already has are skipped. Resolves how many of each
   * kind were added. `LimitError` when the stored keys plus the batch could exceed
   * {@link MAX_ONE_TIME_PREKEYS} of a kind (nothing is added); `NotFoundError('device')`.
   *
   * @example
   * ```ts
   * import { generateOneTimePreKeys, oneTimePreKeyId, toOneTimePreKeyPublic } from '@cloister/crypto';
   *
   * const opks = await generateOneTimePreKeys(provider, oneTimePreKeyId(100), 50);
   * const added = await stores.bundles.addOneTime(tenant, user, device, { preKeys: opks.map(toOneTimePreKeyPublic) });
   * // → { preKeys: 50, kemPreKeys: 0 } (fewer when some ids were there already)
   * ```
   */
  addOneTime(tenant: TenantId, user: UserId, device: DeviceId, keys: OneTimePreKeys): Promise<OneTimeCounts>;
  /**
   * A bundle for starting a session with the device: takes (deletes) one one-time X25519 prekey
   * and one one-time ML-KEM prekey when there are any, else leaves the X25519 one out and gives
   * the last-resort KEM prekey. `undefined` when the device or its signed part is missing (a
   * signed part stored before suite lists carried `suitesIssuedAt` counts as missing: its
   * signature is of the retired form, which no client accepts).
   *
   * @example
   * ```ts
   * const bundle = await stores.bundles.takeBundle(tenant, user, device); // undefined without a signed part
   * ```
   */
  takeBundle(tenant: TenantId, user: UserId, device: DeviceId): Promise<PreKeyBundle | undefined>;
  /**
   * The device's published bundle without one-time prekeys (the last-resort KEM prekey in
   * `kemPreKey`), taking nothing: what a directory listing shows. `undefined` when the device or
   * its signed part is missing.
   *
   * @example
   * ```ts
   * const shown = await stores.bundles.peekBundle(tenant, user, device);
   * console.log(shown?.oneTimePreKey, shown?.kemPreKey.lastResort); // → undefined true
   * ```
   */
  peekBundle(tenant: TenantId, user: UserId, device: DeviceId): Promise<PreKeyBundle | undefined>;
  /**
   * One-time prekeys left, for "please upload more" hints.
   *
   * @example
   * ```ts
   * const { preKeys, kemPreKeys } = await stores.bundles.countOneTime(tenant, user, device);
   * ```
   */
  countOneTime(tenant: TenantId, user: UserId, device: DeviceId): Promise<OneTimeCounts>;
}

const SUITE_NAMES = Object.keys(SUITE_CODES) as SuiteName[];
const KNOWN_CODES = new Set<number>(Object.values(SUITE_CODES));

function checkSignedPreKey(value: unknown, field: string): SignedPreKeyPublic {
  const o = checkObject(value, field);
  return {
    id: signedPreKeyId(checkInteger(o.id, `${field}.id`, 0, 0xffff_ffff)),
    publicKey: checkBytesIn(o.publicKey, `${field}.publicKey`, 32, 32).slice(),
    signature: checkBytesIn(o.signature, `${field}.signature`, 64, 64).slice(),
  };
}

function checkKemPreKey(value: unknown, field: string, lastResort: boolean): KemPreKeyPublic {
  const o = checkObject(value, field);
  if (checkBool(o.lastResort, `${field}.lastResort`) !== lastResort) {
    throw new ValidationError(`${field}.lastResort`, String(lastResort));
  }
  return {
    id: kemPreKeyId(checkInteger(o.id, `${field}.id`, 0, 0xffff_ffff)),
    publicKey: checkBytesIn(o.publicKey, `${field}.publicKey`, KEM_KEY, KEM_KEY).slice(),
    lastResort,
    signature: checkBytesIn(o.signature, `${field}.signature`, 64, 64).slice(),
  };
}

function checkOneTimePreKey(value: unknown, field: string): OneTimePreKeyPublic {
  const o = checkObject(value, field);
  return {
    id: oneTimePreKeyId(checkInteger(o.id, `${field}.id`, 0, 0xffff_ffff)),
    publicKey: checkBytesIn(o.publicKey, `${field}.publicKey`, 32, 32).slice(),
  };
}

function checkSigned(value: unknown): SignedPreKeys {
  const o = checkObject(value, 'keys');
  const suites = checkArray(o.suites, 'keys.suites', SUITE_NAMES.length).map((s, i) => {
    if (!SUITE_NAMES.includes(s as SuiteName))
      throw new ValidationError(`keys.suites[${i}]`, 'a known suite');
    return s as SuiteName;
  });
  if (suites.length === 0 || new Set(suites).size !== suites.length) {
    throw new ValidationError('keys.suites', 'at least one suite, no duplicates');
  }
  const unknown =
    o.unknownSuiteCodes === undefined
      ? []
      : checkArray(o.unknownSuiteCodes, 'keys.unknownSuiteCodes', MAX_SUITE_ENTRIES - suites.length).map(
          (c, i) => {
            const code = checkInteger(c, `keys.unknownSuiteCodes[${i}]`, 1, MAX_SUITE_CODE);
            if (KNOWN_CODES.has(code))
              throw new ValidationError(`keys.unknownSuiteCodes[${i}]`, 'an unknown suite code');
            return code;
          },
        );
  if (new Set(unknown).size !== unknown.length)
    throw new ValidationError('keys.unknownSuiteCodes', 'no duplicates');
  return {
    signedPreKey: checkSignedPreKey(o.signedPreKey, 'keys.signedPreKey'),
    lastResortKemPreKey: checkKemPreKey(o.lastResortKemPreKey, 'keys.lastResortKemPreKey', true),
    suites,
    ...(unknown.length === 0 ? {} : { unknownSuiteCodes: unknown }),
    suitesIssuedAt: checkInteger(o.suitesIssuedAt, 'keys.suitesIssuedAt', 1, Number.MAX_SAFE_INTEGER),
    suitesSignature: checkBytesIn(o.suitesSignature, 'keys.suitesSignature', 64, 64).slice(),
  };
}

function checkBatch<T extends { id: number }>(list: readonly T[], field: string): void {
  if (new Set(list.map((k) => k.id)).size !== list.length) throw new ValidationError(field, 'distinct ids');
}

/** The stored signed part; `undefined` for one of the retired form (no `suitesIssuedAt`). */
function signedFrom(r: Rec): SignedPreKeys | undefined {
  if (!r.has('suitesIssuedAt')) return undefined;
  const spk = r.obj('signedPreKey');
  const kem = r.obj('lastResortKemPreKey');
  const suites = r.strs('suites', (v) => {
    if (!SUITE_NAMES.includes(v as SuiteName)) throw new DecodeError(r.path, 'unknown suite');
    return v as string;
  }) as SuiteName[];
  const unknown = readCodes(r);
  return {
    signedPreKey: {
      id: signedPreKeyId(spk.int('id', 0, 0xffff_ffff)),
      publicKey: spk.bytes('publicKey', 32, 32),
      signature: spk.bytes('signature', 64, 64),
    },
    lastResortKemPreKey: {
      id: kemPreKeyId(kem.int('id', 0, 0xffff_ffff)),
      publicKey: kem.bytes('publicKey', KEM_KEY, KEM_KEY),
      lastResort: true,
      signature: kem.bytes('signature', 64, 64),
    },
    suites,
    ...(unknown.length === 0 ? {} : { unknownSuiteCodes: unknown }),
    suitesIssuedAt: r.int('suitesIssuedAt', 1),
    suitesSignature: r.bytes('suitesSignature', 64, 64),
  };
}

function readCodes(r: Rec): number[] {
  return r.arr('unknownSuiteCodes').map((c) => {
    if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 1 || c > MAX_SUITE_CODE) {
      throw new DecodeError(`${r.path}.unknownSuiteCodes`, 'expected suite codes');
    }
    return c;
  });
}

function signedRecord(s: SignedPreKeys): Uint8Array {
  return write({
    signedPreKey: { ...s.signedPreKey },
    lastResortKemPreKey: { ...s.lastResortKemPreKey },
    suites: [...s.suites],
    unknownSuiteCodes: [...(s.unknownSuiteCodes ?? [])],
    suitesIssuedAt: s.suitesIssuedAt,
    suitesSignature: s.suitesSignature,
  });
}

function target(tenant: unknown, user: unknown, device: unknown) {
  const t = checkId(tenant, 'tenant', tenantId);
  const u = checkId(user, 'user', userId);
  const d = checkDeviceId(device);
  return { t, u, d, dk: deviceKey(t, u, d) };
}

/** Locks the device row too, so that uploads for one device run one at a time. */
async function requireDevice(tx: StorageTx, t: TenantId, u: UserId, d: DeviceId): Promise<void> {
  if ((await loadDevice(tx, t, u, d, true)) === undefined) throw new NotFoundError('device');
}

/**
 * Creates the key bundle store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const bundles = createKeyBundleStore(adapterExecutor(adapter));
 * ```
 */
export function createKeyBundleStore(run: Executor): KeyBundleStore {
  return {
    async setSigned(tenant, user, device, keys) {
      const { t, u, d, dk } = target(tenant, user, device);
      const signed = checkSigned(keys);
      await run(async (tx) => {
        await requireDevice(tx, t, u, d);
        const stored = await getRec(tx, T.bundleSigned, dk, NO_SORT);
        const before = stored === undefined ? undefined : signedFrom(stored);
        if (before !== undefined && signed.suitesIssuedAt < before.suitesIssuedAt) {
          throw new ConflictError('suitesIssuedAt', 'older than the published suite list');
        }
        await tx.put(T.bundleSigned, { partition: dk, sort: NO_SORT, value: signedRecord(signed) });
      });
    },

    async addOneTime(tenant, user, device, keys) {
      const { t, u, d, dk } = target(tenant, user, device);
      const o = checkObject(keys, 'keys');
      const pre = (
        o.preKeys === undefined ? [] : checkArray(o.preKeys, 'keys.preKeys', MAX_ONE_TIME_PREKEYS)
      ).map((k, i) => checkOneTimePreKey(k, `keys.preKeys[${i}]`));
      const kem = (
        o.kemPreKeys === undefined ? [] : checkArray(o.kemPreKeys, 'keys.kemPreKeys', MAX_ONE_TIME_PREKEYS)
      ).map((k, i) => checkKemPreKey(k, `keys.kemPreKeys[${i}]`, false));
      checkBatch(pre, 'keys.preKeys');
      checkBatch(kem, 'keys.kemPreKeys');
      return run(async (tx) => {
        await requireDevice(tx, t, u, d);
        // Checked before writing, so that a refused batch leaves nothing behind even when the
        // caller catches the error inside its own transaction.
        if (
          (await tx.count(T.bundleOneTime, dk)) + pre.length > MAX_ONE_TIME_PREKEYS ||
          (await tx.count(T.bundleKem, dk)) + kem.length > MAX_ONE_TIME_PREKEYS
        ) {
          throw new LimitError(`at most ${MAX_ONE_TIME_PREKEYS} one-time prekeys of each kind per device`);
        }
        let preKeys = 0;
        for (const k of pre) {
          const value = write({ id: k.id, publicKey: k.publicKey });
          if (await tx.put(T.bundleOneTime, { partition: dk, sort: u32(k.id), value }, { ifAbsent: true }))
            preKeys++;
        }
        let kemPreKeys = 0;
        for (const k of kem) {
          const value = write({ id: k.id, publicKey: k.publicKey, signature: k.signature });
          if (await tx.put(T.bundleKem, { partition: dk, sort: u32(k.id), value }, { ifAbsent: true }))
            kemPreKeys++;
        }
        return { preKeys, kemPreKeys };
      });
    },

    async peekBundle(tenant, user, device) {
      const { t, u, d, dk } = target(tenant, user, device);
      return run(async (tx) => {
        const dev = await loadDevice(tx, t, u, d);
        if (dev === undefined) return undefined;
        const signedRec = await getRec(tx, T.bundleSigned, dk, NO_SORT);
        if (signedRec === undefined) return undefined;
        const signed = signedFrom(signedRec);
        if (signed === undefined) return undefined;
        const bundle: PreKeyBundle = {
          registrationId: dev.registrationId,
          deviceId: dev.id,
          identity: dev.identity,
          signedPreKey: signed.signedPreKey,
          kemPreKey: signed.lastResortKemPreKey,
          suites: signed.suites,
          ...(signed.unknownSuiteCodes === undefined ? {} : { unknownSuiteCodes: signed.unknownSuiteCodes }),
          suitesIssuedAt: signed.suitesIssuedAt,
          suitesSignature: signed.suitesSignature,
        };
        return bundle;
      });
    },
    async takeBundle(tenant, user, device) {
      const { t, u, d, dk } = target(tenant, user, device);
      return run(async (tx) => {
        const dev = await loadDevice(tx, t, u, d);
        if (dev === undefined) return undefined;
        const signedRec = await getRec(tx, T.bundleSigned, dk, NO_SORT);
        if (signedRec === undefined) return undefined;
        const signed = signedFrom(signedRec);
        if (signed === undefined) return undefined;
        const [otp] = await tx.take(T.bundleOneTime, dk, { limit: 1 });
        const [kemRow] = await tx.take(T.bundleKem, dk, { limit: 1 });
        let kemPreKey: KemPreKeyPublic = signed.lastResortKemPreKey;
        if (kemRow !== undefined) {
          const r = read(kemRow.value, T.bundleKem);
          kemPreKey = {
            id: kemPreKeyId(r.int('id', 0, 0xffff_ffff)),
            publicKey: r.bytes('publicKey', KEM_KEY, KEM_KEY),
            lastResort: false,
            signature: r.bytes('signature', 64, 64),
          };
        }
        const bundle: PreKeyBundle = {
          registrationId: dev.registrationId,
          deviceId: dev.id,
          identity: dev.identity,
          signedPreKey: signed.signedPreKey,
          kemPreKey,
          suites: signed.suites,
          ...(signed.unknownSuiteCodes === undefined ? {} : { unknownSuiteCodes: signed.unknownSuiteCodes }),
          suitesIssuedAt: signed.suitesIssuedAt,
          suitesSignature: signed.suitesSignature,
        };
        if (otp === undefined) return bundle;
        const r = read(otp.value, T.bundleOneTime);
        return {
          ...bundle,
          oneTimePreKey: {
            id: oneTimePreKeyId(r.int('id', 0, 0xffff_ffff)),
            publicKey: r.bytes('publicKey', 32, 32),
          },
        };
      });
    },

    async countOneTime(tenant, user, device) {
      const { dk } = target(tenant, user, device);
      return run(
        async (tx) => ({
          preKeys: await tx.count(T.bundleOneTime, dk),
          kemPreKeys: await tx.count(T.bundleKem, dk),
        }),
        { readOnly: true },
      );
    },
  };
}
