/**
 * In-memory implementations of libsignal-client's store interfaces, for the session benchmarks.
 *
 * Records are kept as the objects libsignal hands over, not serialized: the cases measure the
 * protocol work and the store calls, not a persistence format. Cloister's own session cases
 * should keep their state the same way so the comparison stays fair.
 */
import { toHex } from '@cloister/crypto';
import {
  type Direction,
  IdentityChange,
  type IdentityKeyPair,
  IdentityKeyStore,
  type KyberPreKeyRecord,
  KyberPreKeyStore,
  type PreKeyRecord,
  PreKeyStore,
  type PrivateKey,
  type ProtocolAddress,
  type PublicKey,
  type SessionRecord,
  SessionStore,
  type SignedPreKeyRecord,
  SignedPreKeyStore,
} from '@signalapp/libsignal-client';

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`in-memory store: no ${what}`);
  return value;
}

/** Sessions by address (`name.deviceId`). */
export class MemorySessionStore extends SessionStore {
  readonly #sessions = new Map<string, SessionRecord>();

  async saveSession(address: ProtocolAddress, record: SessionRecord): Promise<void> {
    this.#sessions.set(address.toString(), record);
  }

  async getSession(address: ProtocolAddress): Promise<SessionRecord | null> {
    return this.#sessions.get(address.toString()) ?? null;
  }

  async getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
    return addresses.map((a) => need(this.#sessions.get(a.toString()), `session for ${a.toString()}`));
  }
}

/** The local identity and, trusting on first use, the identities of peers. */
export class MemoryIdentityStore extends IdentityKeyStore {
  readonly #identity: IdentityKeyPair;
  readonly #registrationId: number;
  readonly #peers = new Map<string, PublicKey>();

  constructor(identity: IdentityKeyPair, registrationId: number) {
    super();
    this.#identity = identity;
    this.#registrationId = registrationId;
  }

  async getIdentityKey(): Promise<PrivateKey> {
    return this.#identity.privateKey;
  }

  async getLocalRegistrationId(): Promise<number> {
    return this.#registrationId;
  }

  async saveIdentity(address: ProtocolAddress, key: PublicKey): Promise<IdentityChange> {
    const known = this.#peers.get(address.toString());
    this.#peers.set(address.toString(), key);
    return known === undefined || known.equals(key)
      ? IdentityChange.NewOrUnchanged
      : IdentityChange.ReplacedExisting;
  }

  async isTrustedIdentity(address: ProtocolAddress, key: PublicKey, _direction: Direction): Promise<boolean> {
    const known = this.#peers.get(address.toString());
    return known === undefined || known.equals(key);
  }

  async getIdentity(address: ProtocolAddress): Promise<PublicKey | null> {
    return this.#peers.get(address.toString()) ?? null;
  }
}

/** One-time prekeys; each is removed when used. */
export class MemoryPreKeyStore extends PreKeyStore {
  readonly #records = new Map<number, PreKeyRecord>();

  async savePreKey(id: number, record: PreKeyRecord): Promise<void> {
    this.#records.set(id, record);
  }

  async getPreKey(id: number): Promise<PreKeyRecord> {
    return need(this.#records.get(id), `prekey ${id}`);
  }

  async removePreKey(id: number): Promise<void> {
    this.#records.delete(id);
  }
}

/** Signed prekeys. */
export class MemorySignedPreKeyStore extends SignedPreKeyStore {
  readonly #records = new Map<number, SignedPreKeyRecord>();

  async saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void> {
    this.#records.set(id, record);
  }

  async getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
    return need(this.#records.get(id), `signed prekey ${id}`);
  }
}

/**
 * Kyber prekeys, used as last-resort keys: they stay after use, and a (key, signed prekey, base
 * key) combination seen before is refused, as a real store must do to stop a replayed first
 * message from being accepted twice.
 */
export class MemoryKyberPreKeyStore extends KyberPreKeyStore {
  readonly #records = new Map<number, KyberPreKeyRecord>();
  readonly #used = new Set<string>();

  async saveKyberPreKey(id: number, record: KyberPreKeyRecord): Promise<void> {
    this.#records.set(id, record);
  }

  async getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
    return need(this.#records.get(id), `kyber prekey ${id}`);
  }

  async markKyberPreKeyUsed(id: number, signedPreKeyId: number, baseKey: PublicKey): Promise<void> {
    const use = `${id}/${signedPreKeyId}/${toHex(baseKey.serialize())}`;
    if (this.#used.has(use)) throw new Error('in-memory store: kyber prekey reused with the same base key');
    this.#used.add(use);
  }
}

/** The five stores one party needs. */
export interface SignalStores {
  readonly sessions: MemorySessionStore;
  readonly identity: MemoryIdentityStore;
  readonly preKeys: MemoryPreKeyStore;
  readonly signedPreKeys: MemorySignedPreKeyStore;
  readonly kyberPreKeys: MemoryKyberPreKeyStore;
}

/** Empty stores for a party with this identity and registration id. */
export function memoryStores(identity: IdentityKeyPair, registrationId: number): SignalStores {
  return {
    sessions: new MemorySessionStore(),
    identity: new MemoryIdentityStore(identity, registrationId),
    preKeys: new MemoryPreKeyStore(),
    signedPreKeys: new MemorySignedPreKeyStore(),
    kyberPreKeys: new MemoryKyberPreKeyStore(),
  };
}
