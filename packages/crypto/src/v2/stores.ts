/**
 * Small async store interfaces used by suite `v2`, with in-memory reference implementations for
 * tests and examples. `@cloister/storage` provides persistent ones; each must keep the atomicity
 * stated on the method.
 *
 * @module
 */
import { toHex } from '../bytes.js';
import { ReplayError } from '../errors.js';
import {
  checkAddress,
  checkKemPreKey,
  checkOneTimePreKey,
  checkSignedPreKey,
  checkUint32,
} from './_validate.js';
import type {
  DeviceAddress,
  KemPreKey,
  KemPreKeyId,
  OneTimePreKey,
  OneTimePreKeyId,
  SessionRecord,
  SignedPreKey,
  SignedPreKeyId,
} from './types.js';

/**
 * Records which (KEM prekey, signed prekey, base key) combinations have been used with a
 * last-resort KEM prekey, so that a replayed initial message is refused.
 *
 * @example
 * ```ts
 * const used = new Set<string>();
 * const replays: KemPreKeyReplayStore = {
 *   async markKemPreKeyUsed(kemId, spkId, baseKey) {
 *     const key = `${kemId}:${spkId}:${toHex(baseKey)}`;
 *     if (used.has(key)) throw new ReplayError('KEM prekey combination already used');
 *     used.add(key);
 *   },
 * };
 * ```
 */
export interface KemPreKeyReplayStore {
  /**
   * Records the combination, atomically. Rejects with `ReplayError` (`ERR_REPLAY`) when it was
   * already recorded. Records for a KEM prekey may be forgotten once that prekey is deleted.
   *
   * @example
   * ```ts
   * await preKeys.markKemPreKeyUsed(initial.kemPreKeyId, initial.signedPreKeyId, initial.baseKey);
   * ```
   */
  markKemPreKeyUsed(
    kemPreKeyId: KemPreKeyId,
    signedPreKeyId: SignedPreKeyId,
    baseKey: Uint8Array,
  ): Promise<void>;
}

/**
 * A device's own prekeys, with their private keys, as the responder side needs them.
 * `@cloister/storage` implements it persistently; {@link InMemoryPreKeyStore} in memory.
 *
 * @example
 * ```ts
 * const key: SignedPreKey | undefined = await preKeys.getSignedPreKey(initial.signedPreKeyId);
 * const { session, plaintext } = await acceptSession(provider, { ourIdentity: identity, preKeys, initialMessage: initial });
 * ```
 */
export interface PreKeyStore extends KemPreKeyReplayStore {
  /**
   * The signed prekey with this id, or `undefined` when it is unknown (deleted after rotation).
   *
   * @example
   * ```ts
   * const key = await preKeys.getSignedPreKey(initial.signedPreKeyId);
   * ```
   */
  getSignedPreKey(id: SignedPreKeyId): Promise<SignedPreKey | undefined>;
  /**
   * The one-time prekey with this id, or `undefined` when it is unknown or already used.
   *
   * @example
   * ```ts
   * const key = initial.oneTimePreKeyId === undefined ? undefined : await preKeys.getOneTimePreKey(initial.oneTimePreKeyId);
   * ```
   */
  getOneTimePreKey(id: OneTimePreKeyId): Promise<OneTimePreKey | undefined>;
  /**
   * The KEM prekey (one-time or last-resort) with this id, or `undefined` when it is unknown.
   *
   * @example
   * ```ts
   * const key = await preKeys.getKemPreKey(initial.kemPreKeyId);
   * ```
   */
  getKemPreKey(id: KemPreKeyId): Promise<KemPreKey | undefined>;
  /**
   * Deletes a one-time prekey, atomically; resolves `true` when it was present.
   *
   * @example
   * ```ts
   * const consumed = await preKeys.removeOneTimePreKey(oneTimePreKeyId(100)); // true the first time
   * ```
   */
  removeOneTimePreKey(id: OneTimePreKeyId): Promise<boolean>;
  /**
   * Deletes a one-time KEM prekey, atomically; resolves `true` when it was present. A last-resort
   * KEM prekey is not deleted here (its uses are recorded instead).
   *
   * @example
   * ```ts
   * const key = await preKeys.getKemPreKey(initial.kemPreKeyId);
   * if (key !== undefined && !key.lastResort) await preKeys.removeKemPreKey(key.id);
   * ```
   */
  removeKemPreKey(id: KemPreKeyId): Promise<boolean>;
}

/**
 * Session records by remote device address. `@cloister/storage` implements it persistently;
 * {@link InMemorySessionStore} in memory.
 *
 * @example
 * ```ts
 * const db = new Map<string, Uint8Array>(); // stands in for encrypted storage
 * const sessions: SessionStore = {
 *   async loadSession(address) {
 *     const bytes = db.get(addressKey(address));
 *     return bytes === undefined ? undefined : deserializeSession(bytes);
 *   },
 *   async storeSession(address, record) {
 *     db.set(addressKey(address), serializeSession(record));
 *   },
 * };
 * ```
 */
export interface SessionStore {
  /**
   * The record stored for the device at `address`, or `undefined` when there is none.
   *
   * @example
   * ```ts
   * const stored = await sessions.loadSession({ userId: 'bob', deviceId: deviceId(1) });
   * ```
   */
  loadSession(address: DeviceAddress): Promise<SessionRecord | undefined>;
  /**
   * Stores `record` for the device at `address`, replacing the previous one; rejects (for
   * example with `StorageError`) when it cannot.
   *
   * @example
   * ```ts
   * await sessions.storeSession({ userId: 'bob', deviceId: deviceId(1) }, record);
   * ```
   */
  storeSession(address: DeviceAddress, record: SessionRecord): Promise<void>;
}

/**
 * A string key for a device address, unambiguous because the device id is a number and comes
 * first: `"<deviceId>:<userId>"`.
 *
 * @example
 * ```ts
 * const key = addressKey({ userId: 'alice', deviceId: deviceId(1) }); // "1:alice"
 * ```
 */
export function addressKey(address: DeviceAddress): string {
  checkAddress(address, 'address');
  return `${address.deviceId}:${address.userId}`;
}

/**
 * An in-memory {@link PreKeyStore} for tests and examples.
 *
 * @example
 * ```ts
 * const store = new InMemoryPreKeyStore();
 * await store.storeSignedPreKey(spk);
 * await store.storeKemPreKey(lastResort);
 * ```
 */
export class InMemoryPreKeyStore implements PreKeyStore {
  private readonly signed = new Map<number, SignedPreKey>();
  private readonly oneTime = new Map<number, OneTimePreKey>();
  private readonly kem = new Map<number, KemPreKey>();
  private readonly used = new Map<number, Set<string>>();

  /**
   * Stores a signed prekey under its id, replacing one with the same id; throws
   * `ValidationError` for a malformed key.
   *
   * @example
   * ```ts
   * await new InMemoryPreKeyStore().storeSignedPreKey(spk);
   * ```
   */
  async storeSignedPreKey(key: SignedPreKey): Promise<void> {
    checkSignedPreKey(key, 'key');
    this.signed.set(key.id, key);
  }

  /**
   * Stores one-time prekeys under their ids; all are checked first, so a malformed one
   * (`ValidationError`) stores none.
   *
   * @example
   * ```ts
   * const store = new InMemoryPreKeyStore();
   * await store.storeOneTimePreKeys(await generateOneTimePreKeys(provider, oneTimePreKeyId(1), 100));
   * ```
   */
  async storeOneTimePreKeys(keys: readonly OneTimePreKey[]): Promise<void> {
    for (const [i, k] of keys.entries()) checkOneTimePreKey(k, `keys[${i}]`);
    for (const k of keys) this.oneTime.set(k.id, k);
  }

  /**
   * Stores a KEM prekey (one-time or last-resort) under its id; throws `ValidationError` for a
   * malformed key.
   *
   * @example
   * ```ts
   * await new InMemoryPreKeyStore().storeKemPreKey(lastResort);
   * ```
   */
  async storeKemPreKey(key: KemPreKey): Promise<void> {
    checkKemPreKey(key, 'key');
    this.kem.set(key.id, key);
  }

  /**
   * Deletes a signed prekey (after rotation, once no initial message can still name it); resolves
   * `true` when it was present.
   *
   * @example
   * ```ts
   * const store = new InMemoryPreKeyStore();
   * await store.storeSignedPreKey(spk);
   * await store.removeSignedPreKey(spk.id); // true
   * ```
   */
  async removeSignedPreKey(id: SignedPreKeyId): Promise<boolean> {
    return this.signed.delete(checkUint32(id, 'id'));
  }

  /**
   * Deletes any KEM prekey (one-time or last-resort) and forgets its replay records; resolves
   * `true` when it was present.
   *
   * @example
   * ```ts
   * const store = new InMemoryPreKeyStore();
   * await store.storeKemPreKey(lastResort);
   * await store.deleteKemPreKey(lastResort.id); // true: a replaced last-resort key
   * ```
   */
  async deleteKemPreKey(id: KemPreKeyId): Promise<boolean> {
    this.used.delete(checkUint32(id, 'id'));
    return this.kem.delete(id);
  }

  /**
   * How many one-time prekeys are left (to decide when to upload more).
   *
   * @example
   * ```ts
   * const store = new InMemoryPreKeyStore();
   * if ((await store.countOneTimePreKeys()) < 10) await store.storeOneTimePreKeys(opks);
   * ```
   */
  async countOneTimePreKeys(): Promise<number> {
    return this.oneTime.size;
  }

  /**
   * The signed prekey with this id, or `undefined`.
   *
   * @example
   * ```ts
   * const store = new InMemoryPreKeyStore();
   * await store.storeSignedPreKey(spk);
   * const same = await store.getSignedPreKey(spk.id); // spk
   * ```
   */
  async getSignedPreKey(id: SignedPreKeyId): Promise<SignedPreKey | undefined> {
    return this.signed.get(id);
  }

  /**
   * The one-time prekey with this id, or `undefined` when unknown or already removed.
   *
   * @example
   * ```ts
   * const key = await new InMemoryPreKeyStore().getOneTimePreKey(oneTimePreKeyId(100)); // undefined
   * ```
   */
  async getOneTimePreKey(id: OneTimePreKeyId): Promise<OneTimePreKey | undefined> {
    return this.oneTime.get(id);
  }

  /**
   * The KEM prekey (one-time or last-resort) with this id, or `undefined`.
   *
   * @example
   * ```ts
   * const store = new InMemoryPreKeyStore();
   * await store.storeKemPreKey(lastResort);
   * const same = await store.getKemPreKey(lastResort.id); // lastResort
   * ```
   */
  async getKemPreKey(id: KemPreKeyId): Promise<KemPreKey | undefined> {
    return this.kem.get(id);
  }

  /**
   * Deletes a one-time prekey; resolves `true` when it was present.
   *
   * @example
   * ```ts
   * const store = new InMemoryPreKeyStore();
   * await store.storeOneTimePreKeys(opks);
   * await store.removeOneTimePreKey(opks[0]!.id); // true, then false on a second call
   * ```
   */
  async removeOneTimePreKey(id: OneTimePreKeyId): Promise<boolean> {
    return this.oneTime.delete(id);
  }

  /**
   * Deletes a one-time KEM prekey; resolves `false` (and keeps the key) for an unknown id or a
   * last-resort key, which only {@link InMemoryPreKeyStore.deleteKemPreKey} removes.
   *
   * @example
   * ```ts
   * const store = new InMemoryPreKeyStore();
   * await store.storeKemPreKey(lastResort);
   * await store.removeKemPreKey(lastResort.id); // false: last-resort keys stay
   * ```
   */
  async removeKemPreKey(id: KemPreKeyId): Promise<boolean> {
    const key = this.kem.get(id);
    if (key === undefined || key.lastResort) return false;
    return this.kem.delete(id);
  }

  /**
   * Records a (KEM prekey, signed prekey, base key) combination; rejects with `ReplayError` when
   * it was recorded before.
   *
   * @example
   * ```ts
   * const store = new InMemoryPreKeyStore();
   * await store.markKemPreKeyUsed(initial.kemPreKeyId, initial.signedPreKeyId, initial.baseKey);
   * await store.markKemPreKeyUsed(initial.kemPreKeyId, initial.signedPreKeyId, initial.baseKey); // ReplayError
   * ```
   */
  async markKemPreKeyUsed(
    kemPreKeyId: KemPreKeyId,
    signedPreKeyId: SignedPreKeyId,
    baseKey: Uint8Array,
  ): Promise<void> {
    const entry = `${signedPreKeyId}:${toHex(baseKey)}`;
    let set = this.used.get(kemPreKeyId);
    if (set === undefined) {
      set = new Set();
      this.used.set(kemPreKeyId, set);
    }
    if (set.has(entry)) throw new ReplayError('KEM prekey combination already used');
    set.add(entry);
  }
}

/**
 * An in-memory {@link SessionStore} for tests and examples. It keeps the record objects it is
 * given (records are immutable values).
 *
 * @example
 * ```ts
 * const sessions = new InMemorySessionStore();
 * const record = await sessions.loadSession({ userId: 'bob', deviceId: deviceId(1) });
 * ```
 */
export class InMemorySessionStore implements SessionStore {
  private readonly records = new Map<string, SessionRecord>();

  /**
   * The record stored for `address`, or `undefined`; throws `ValidationError` for a malformed
   * address.
   *
   * @example
   * ```ts
   * const stored = await new InMemorySessionStore().loadSession({ userId: 'bob', deviceId: deviceId(1) }); // undefined
   * ```
   */
  async loadSession(address: DeviceAddress): Promise<SessionRecord | undefined> {
    return this.records.get(addressKey(address));
  }

  /**
   * Keeps `record` (the object itself) for `address`, replacing the previous one.
   *
   * @example
   * ```ts
   * const store = new InMemorySessionStore();
   * await store.storeSession({ userId: 'bob', deviceId: deviceId(1) }, emptySessionRecord());
   * ```
   */
  async storeSession(address: DeviceAddress, record: SessionRecord): Promise<void> {
    this.records.set(addressKey(address), record);
  }
}
