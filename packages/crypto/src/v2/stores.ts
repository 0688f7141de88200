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
 */
export interface KemPreKeyReplayStore {
  /**
   * Records the combination, atomically. Rejects with `ReplayError` (`ERR_REPLAY`) when it was
   * already recorded. Records for a KEM prekey may be forgotten once that prekey is deleted.
   */
  markKemPreKeyUsed(
    kemPreKeyId: KemPreKeyId,
    signedPreKeyId: SignedPreKeyId,
    baseKey: Uint8Array,
  ): Promise<void>;
}

/** A device's own prekeys, with their private keys, as the responder side needs them. */
export interface PreKeyStore extends KemPreKeyReplayStore {
  getSignedPreKey(id: SignedPreKeyId): Promise<SignedPreKey | undefined>;
  getOneTimePreKey(id: OneTimePreKeyId): Promise<OneTimePreKey | undefined>;
  getKemPreKey(id: KemPreKeyId): Promise<KemPreKey | undefined>;
  /** Deletes a one-time prekey, atomically; resolves `true` when it was present. */
  removeOneTimePreKey(id: OneTimePreKeyId): Promise<boolean>;
  /** Deletes a one-time KEM prekey, atomically; resolves `true` when it was present. */
  removeKemPreKey(id: KemPreKeyId): Promise<boolean>;
}

/** Session records by remote device address. */
export interface SessionStore {
  loadSession(address: DeviceAddress): Promise<SessionRecord | undefined>;
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

  async storeSignedPreKey(key: SignedPreKey): Promise<void> {
    checkSignedPreKey(key, 'key');
    this.signed.set(key.id, key);
  }

  async storeOneTimePreKeys(keys: readonly OneTimePreKey[]): Promise<void> {
    for (const [i, k] of keys.entries()) checkOneTimePreKey(k, `keys[${i}]`);
    for (const k of keys) this.oneTime.set(k.id, k);
  }

  async storeKemPreKey(key: KemPreKey): Promise<void> {
    checkKemPreKey(key, 'key');
    this.kem.set(key.id, key);
  }

  async removeSignedPreKey(id: SignedPreKeyId): Promise<boolean> {
    return this.signed.delete(checkUint32(id, 'id'));
  }

  /** Deletes any KEM prekey (one-time or last-resort) and forgets its replay records. */
  async deleteKemPreKey(id: KemPreKeyId): Promise<boolean> {
    this.used.delete(checkUint32(id, 'id'));
    return this.kem.delete(id);
  }

  /** How many one-time prekeys are left (to decide when to upload more). */
  async countOneTimePreKeys(): Promise<number> {
    return this.oneTime.size;
  }

  async getSignedPreKey(id: SignedPreKeyId): Promise<SignedPreKey | undefined> {
    return this.signed.get(id);
  }

  async getOneTimePreKey(id: OneTimePreKeyId): Promise<OneTimePreKey | undefined> {
    return this.oneTime.get(id);
  }

  async getKemPreKey(id: KemPreKeyId): Promise<KemPreKey | undefined> {
    return this.kem.get(id);
  }

  async removeOneTimePreKey(id: OneTimePreKeyId): Promise<boolean> {
    return this.oneTime.delete(id);
  }

  async removeKemPreKey(id: KemPreKeyId): Promise<boolean> {
    const key = this.kem.get(id);
    if (key === undefined || key.lastResort) return false;
    return this.kem.delete(id);
  }

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

  async loadSession(address: DeviceAddress): Promise<SessionRecord | undefined> {
    return this.records.get(addressKey(address));
  }

  async storeSession(address: DeviceAddress, record: SessionRecord): Promise<void> {
    this.records.set(addressKey(address), record);
  }
}
