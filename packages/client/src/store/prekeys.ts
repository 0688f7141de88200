/**
 * This device's prekeys with their private keys: signed X25519 prekeys, one-time X25519 prekeys,
 * ML-KEM-768 prekeys (one-time and last-resort) and the replay records of last-resort KEM use.
 * Implements `@cloister/crypto`'s `PreKeyStore`, plus what a client needs to replenish prekeys.
 *
 * @module
 */
import {
  DecodeError,
  type KemPreKey,
  type KemPreKeyId,
  kemPreKeyId,
  type OneTimePreKey,
  oneTimePreKeyId,
  type PreKeyStore,
  ReplayError,
  type SignedPreKey,
  type SignedPreKeyId,
  signedPreKeyId,
  ValidationError,
} from '@cloister/crypto';
import type { Executor } from '@cloister/storage';
import {
  checkBooleanArg,
  checkBytesArg,
  checkObjectArg,
  checkUint32Arg,
  concat,
  dBoolean,
  dBytes,
  decodeObject,
  dTime,
  dUint32,
  EMPTY,
  encode,
  sortU32,
  u32,
  utf8Bytes,
} from './_util.js';
import { CLIENT_TABLES } from './tables.js';

/**
 * A stored signed prekey and when it was stored (to decide when to rotate it).
 *
 * @example
 * ```ts
 * const keys: StoredSignedPreKey[] = await stores.preKeys.listSignedPreKeys();
 * const stale = keys.filter((k) => k.createdAt < Date.now() - 30 * 86_400_000).map((k) => k.preKey.id);
 * ```
 */
export interface StoredSignedPreKey {
  /** The signed prekey, with its private key. */
  readonly preKey: SignedPreKey;
  /** When it was stored (ms since the epoch). */
  readonly createdAt: number;
}

/**
 * Most one-time prekeys one {@link ClientPreKeyStore.storeOneTimePreKeys} call accepts (1000).
 *
 * @example
 * ```ts
 * import { generateOneTimePreKeys, oneTimePreKeyId } from '@cloister/crypto';
 * const keys = await generateOneTimePreKeys(provider, oneTimePreKeyId(1), MAX_PREKEY_BATCH);
 * await stores.preKeys.storeOneTimePreKeys(keys);
 * ```
 */
export const MAX_PREKEY_BATCH = 1000;

/**
 * The device's prekeys. The `PreKeyStore` methods keep the atomicity crypto requires: each
 * removal deletes one row and reports whether it was there, and `markKemPreKeyUsed` writes its
 * replay record with `ifAbsent`, so two handshakes can never both use one prekey combination.
 *
 * @example
 * ```ts
 * import { generateKemPreKey, generateSignedPreKey, kemPreKeyId, signedPreKeyId } from '@cloister/crypto';
 * await stores.preKeys.storeSignedPreKey(await generateSignedPreKey(provider, identity, signedPreKeyId(1)));
 * await stores.preKeys.storeKemPreKey(await generateKemPreKey(provider, identity, kemPreKeyId(1), { lastResort: true }));
 * const left = await stores.preKeys.countOneTimePreKeys(); // replenish when low
 * ```
 */
export interface ClientPreKeyStore extends PreKeyStore {
  /**
   * Stores (or replaces) a signed prekey.
   *
   * @example
   * ```ts
   * import { generateSignedPreKey, signedPreKeyId } from '@cloister/crypto';
   * const spk = await generateSignedPreKey(provider, identity, signedPreKeyId(2));
   * await stores.preKeys.storeSignedPreKey(spk); // store it before publishing it
   * ```
   */
  storeSignedPreKey(key: SignedPreKey): Promise<void>;
  /**
   * Every stored signed prekey, by ascending id.
   *
   * @example
   * ```ts
   * const stored = await stores.preKeys.listSignedPreKeys();
   * const newest = stored.at(-1); // ascending ids: the last one is the newest
   * const due = newest === undefined || Date.now() - newest.createdAt > 7 * 86_400_000; // time to rotate
   * ```
   */
  listSignedPreKeys(): Promise<StoredSignedPreKey[]>;
  /**
   * Deletes a signed prekey; resolves `true` when it was present.
   *
   * @example
   * ```ts
   * import { signedPreKeyId } from '@cloister/crypto';
   * const removed = await stores.preKeys.removeSignedPreKey(signedPreKeyId(1)); // false when it was gone already
   * ```
   */
  removeSignedPreKey(id: SignedPreKeyId): Promise<boolean>;
  /**
   * Stores (or replaces) up to {@link MAX_PREKEY_BATCH} one-time prekeys, all or none.
   *
   * @example
   * ```ts
   * import { generateOneTimePreKeys, oneTimePreKeyId } from '@cloister/crypto';
   * const keys = await generateOneTimePreKeys(provider, oneTimePreKeyId(101), 50);
   * await stores.preKeys.storeOneTimePreKeys(keys); // all 50, or none when it throws
   * ```
   */
  storeOneTimePreKeys(keys: readonly OneTimePreKey[]): Promise<void>;
  /**
   * How many one-time prekeys are left.
   *
   * @example
   * ```ts
   * const left = await stores.preKeys.countOneTimePreKeys(); // → 37
   * ```
   */
  countOneTimePreKeys(): Promise<number>;
  /**
   * Stores (or replaces) a KEM prekey, one-time or last-resort.
   *
   * @example
   * ```ts
   * import { generateKemPreKey, kemPreKeyId } from '@cloister/crypto';
   * await stores.preKeys.storeKemPreKey(await generateKemPreKey(provider, identity, kemPreKeyId(101), { lastResort: false }));
   * ```
   */
  storeKemPreKey(key: KemPreKey): Promise<void>;
  /**
   * How many one-time (not last-resort) KEM prekeys are left.
   *
   * @example
   * ```ts
   * const left = await stores.preKeys.countOneTimeKemPreKeys(); // last-resort KEM prekeys are not counted
   * ```
   */
  countOneTimeKemPreKeys(): Promise<number>;
  /**
   * The ids of the stored last-resort KEM prekeys.
   *
   * @example
   * ```ts
   * const ids = await stores.preKeys.listLastResortKemPreKeyIds(); // ascending; one per kept signed prekey
   * ```
   */
  listLastResortKemPreKeyIds(): Promise<KemPreKeyId[]>;
  /**
   * Deletes any KEM prekey (including a last-resort one) and forgets its replay records.
   *
   * @example
   * ```ts
   * import { kemPreKeyId } from '@cloister/crypto';
   * const deleted = await stores.preKeys.deleteKemPreKey(kemPreKeyId(1)); // true when it was there
   * ```
   */
  deleteKemPreKey(id: KemPreKeyId): Promise<boolean>;
}

const T = CLIENT_TABLES;
const SPK = 'c_signed_prekeys';
const OPK = 'c_onetime_prekeys';
const KEM = 'c_kem_prekeys';
const VERSION = 1;
const KEM_ONE_TIME = utf8Bytes('one-time');
const KEM_LAST_RESORT = utf8Bytes('last-resort');

function checkKeyPair(value: unknown, field: string) {
  const o = checkObjectArg(value, field);
  return {
    privateKey: checkBytesArg(o.privateKey, `${field}.privateKey`, 32),
    publicKey: checkBytesArg(o.publicKey, `${field}.publicKey`, 32),
  };
}

function checkSigned(value: unknown, field: string): SignedPreKey {
  const o = checkObjectArg(value, field);
  return {
    id: signedPreKeyId(checkUint32Arg(o.id, `${field}.id`)),
    keyPair: checkKeyPair(o.keyPair, `${field}.keyPair`),
    signature: checkBytesArg(o.signature, `${field}.signature`, 64),
  };
}

function checkOneTime(value: unknown, field: string): OneTimePreKey {
  const o = checkObjectArg(value, field);
  return {
    id: oneTimePreKeyId(checkUint32Arg(o.id, `${field}.id`)),
    keyPair: checkKeyPair(o.keyPair, `${field}.keyPair`),
  };
}

function checkKem(value: unknown, field: string): KemPreKey {
  const o = checkObjectArg(value, field);
  const kp = checkObjectArg(o.keyPair, `${field}.keyPair`);
  return {
    id: kemPreKeyId(checkUint32Arg(o.id, `${field}.id`)),
    keyPair: {
      publicKey: checkBytesArg(kp.publicKey, `${field}.keyPair.publicKey`, 1184),
      secretKey: checkBytesArg(kp.secretKey, `${field}.keyPair.secretKey`, 2400),
    },
    lastResort: checkBooleanArg(o.lastResort, `${field}.lastResort`),
    signature: checkBytesArg(o.signature, `${field}.signature`, 64),
  };
}

function checkId(id: unknown): number {
  return checkUint32Arg(id, 'id');
}

function decodeSigned(bytes: Uint8Array, sort: Uint8Array): StoredSignedPreKey {
  const d = decodeObject(bytes, SPK, VERSION);
  const id = dUint32(d, 'id', SPK);
  if (id !== sortU32(sort, SPK)) throw new DecodeError(`${SPK}.id`, 'does not match its key');
  return {
    preKey: {
      id: signedPreKeyId(id),
      keyPair: { privateKey: dBytes(d, 'privateKey', SPK, 32), publicKey: dBytes(d, 'publicKey', SPK, 32) },
      signature: dBytes(d, 'signature', SPK, 64),
    },
    createdAt: dTime(d, 'createdAt', SPK),
  };
}

function decodeOneTime(bytes: Uint8Array, sort: Uint8Array): OneTimePreKey {
  const d = decodeObject(bytes, OPK, VERSION);
  const id = dUint32(d, 'id', OPK);
  if (id !== sortU32(sort, OPK)) throw new DecodeError(`${OPK}.id`, 'does not match its key');
  return {
    id: oneTimePreKeyId(id),
    keyPair: { privateKey: dBytes(d, 'privateKey', OPK, 32), publicKey: dBytes(d, 'publicKey', OPK, 32) },
  };
}

function decodeKem(bytes: Uint8Array, sort: Uint8Array, lastResortPartition: boolean): KemPreKey {
  const d = decodeObject(bytes, KEM, VERSION);
  const id = dUint32(d, 'id', KEM);
  if (id !== sortU32(sort, KEM)) throw new DecodeError(`${KEM}.id`, 'does not match its key');
  const lastResort = dBoolean(d, 'lastResort', KEM);
  if (lastResort !== lastResortPartition)
    throw new DecodeError(`${KEM}.lastResort`, 'does not match its key');
  return {
    id: kemPreKeyId(id),
    keyPair: { publicKey: dBytes(d, 'publicKey', KEM, 1184), secretKey: dBytes(d, 'secretKey', KEM, 2400) },
    lastResort,
    signature: dBytes(d, 'signature', KEM, 64),
  };
}

/**
 * Creates the prekey store over an executor (see {@link createClientStores}).
 *
 * @example
 * ```ts
 * import { acceptSession } from '@cloister/crypto';
 * import { adapterExecutor } from '@cloister/storage';
 * const preKeys = createPreKeyStore(adapterExecutor(adapter));
 * const accepted = await acceptSession(provider, { ourIdentity: identity, preKeys, initialMessage });
 * ```
 */
export function createPreKeyStore(run: Executor): ClientPreKeyStore {
  return {
    async storeSignedPreKey(key) {
      const k = checkSigned(key, 'key');
      await run(async (tx) => {
        const value = encode(VERSION, {
          id: k.id,
          privateKey: k.keyPair.privateKey,
          publicKey: k.keyPair.publicKey,
          signature: k.signature,
          createdAt: tx.now,
        });
        await tx.put(T.signedPreKeys, { partition: EMPTY, sort: u32(k.id), value });
      });
    },
    async listSignedPreKeys() {
      const rows = await run((tx) => tx.list(T.signedPreKeys, EMPTY, { limit: 10_000 }), { readOnly: true });
      return rows.map((r) => decodeSigned(r.value, r.sort)).sort((a, b) => a.preKey.id - b.preKey.id);
    },
    async removeSignedPreKey(id) {
      const i = checkId(id);
      return run((tx) => tx.delete(T.signedPreKeys, EMPTY, u32(i)));
    },
    async getSignedPreKey(id) {
      const i = checkId(id);
      const row = await run((tx) => tx.get(T.signedPreKeys, EMPTY, u32(i)), { readOnly: true });
      return row === undefined ? undefined : decodeSigned(row.value, row.sort).preKey;
    },

    async storeOneTimePreKeys(keys) {
      if (!Array.isArray(keys)) throw new ValidationError('keys', 'an array of one-time prekeys');
      if (keys.length > MAX_PREKEY_BATCH)
        throw new ValidationError('keys', `at most ${MAX_PREKEY_BATCH} keys`);
      const checked = keys.map((k, i) => checkOneTime(k, `keys[${i}]`));
      const rows = checked.map((k) => ({
        partition: EMPTY,
        sort: u32(k.id),
        value: encode(VERSION, {
          id: k.id,
          privateKey: k.keyPair.privateKey,
          publicKey: k.keyPair.publicKey,
        }),
      }));
      await run(async (tx) => {
        for (const row of rows) await tx.put(T.oneTimePreKeys, row);
      });
    },
    async countOneTimePreKeys() {
      return run((tx) => tx.count(T.oneTimePreKeys, EMPTY), { readOnly: true });
    },
    async getOneTimePreKey(id) {
      const i = checkId(id);
      const row = await run((tx) => tx.get(T.oneTimePreKeys, EMPTY, u32(i)), { readOnly: true });
      return row === undefined ? undefined : decodeOneTime(row.value, row.sort);
    },
    async removeOneTimePreKey(id) {
      const i = checkId(id);
      return run((tx) => tx.delete(T.oneTimePreKeys, EMPTY, u32(i)));
    },

    async storeKemPreKey(key) {
      const k = checkKem(key, 'key');
      const value = encode(VERSION, {
        id: k.id,
        publicKey: k.keyPair.publicKey,
        secretKey: k.keyPair.secretKey,
        lastResort: k.lastResort,
        signature: k.signature,
      });
      await run(async (tx) => {
        // An id names one key: drop a key of the other kind with the same id.
        await tx.delete(T.kemPreKeys, k.lastResort ? KEM_ONE_TIME : KEM_LAST_RESORT, u32(k.id));
        await tx.put(T.kemPreKeys, {
          partition: k.lastResort ? KEM_LAST_RESORT : KEM_ONE_TIME,
          sort: u32(k.id),
          value,
        });
      });
    },
    async countOneTimeKemPreKeys() {
      return run((tx) => tx.count(T.kemPreKeys, KEM_ONE_TIME), { readOnly: true });
    },
    async listLastResortKemPreKeyIds() {
      const rows = await run((tx) => tx.list(T.kemPreKeys, KEM_LAST_RESORT, { limit: 10_000 }), {
        readOnly: true,
      });
      return rows.map((r) => kemPreKeyId(sortU32(r.sort, KEM))).sort((a, b) => a - b);
    },
    async getKemPreKey(id) {
      const i = checkId(id);
      return run(
        async (tx) => {
          const one = await tx.get(T.kemPreKeys, KEM_ONE_TIME, u32(i));
          if (one !== undefined) return decodeKem(one.value, one.sort, false);
          const last = await tx.get(T.kemPreKeys, KEM_LAST_RESORT, u32(i));
          return last === undefined ? undefined : decodeKem(last.value, last.sort, true);
        },
        { readOnly: true },
      );
    },
    async removeKemPreKey(id) {
      const i = checkId(id);
      // Only one-time KEM prekeys are consumed; a last-resort key stays (crypto's contract).
      return run((tx) => tx.delete(T.kemPreKeys, KEM_ONE_TIME, u32(i)));
    },
    async deleteKemPreKey(id) {
      const i = checkId(id);
      return run(async (tx) => {
        const one = await tx.delete(T.kemPreKeys, KEM_ONE_TIME, u32(i));
        const last = await tx.delete(T.kemPreKeys, KEM_LAST_RESORT, u32(i));
        await tx.deletePartition(T.kemReplay, u32(i));
        return one || last;
      });
    },
    async markKemPreKeyUsed(kemId, spkId, baseKey) {
      const k = checkUint32Arg(kemId, 'kemPreKeyId');
      const s = checkUint32Arg(spkId, 'signedPreKeyId');
      const b = checkBytesArg(baseKey, 'baseKey', 32);
      const row = { partition: u32(k), sort: concat(u32(s), b), value: encode(VERSION, {}) };
      await run(async (tx) => {
        if (!(await tx.put(T.kemReplay, row, { ifAbsent: true }))) {
          throw new ReplayError('KEM prekey combination already used');
        }
      });
    },
  };
}
