/**
 * `SessionCipher`: the safe way to use a v2 session with a store. It loads the record of one
 * remote device, encrypts or decrypts, stores the new record, and wipes the secrets the old
 * record held that the new one no longer needs. Operations on the same store and address are
 * serialised (a promise-chain lock), so two concurrent calls can never both use one state.
 *
 * @module
 */
import { equalBytes, wipe } from '../bytes.js';
import { InvalidKeyError, ValidationError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';
import {
  checkAddress,
  checkBundle,
  checkDeviceIdentity,
  checkInitialMessage,
  checkObject,
  checkPreKeyStore,
} from './_validate.js';
import { initiateSession } from './handshake.js';
import { addSession, decryptRecord, emptySessionRecord, encryptRecord } from './session.js';
import { addressKey, type PreKeyStore, type SessionStore } from './stores.js';
import type {
  CiphertextMessage,
  DeviceAddress,
  DeviceIdentity,
  PreKeyBundle,
  PublicIdentity,
  SessionRecord,
  SessionState,
} from './types.js';

/**
 * Options of {@link SessionCipher}.
 *
 * @example
 * ```ts
 * const options: SessionCipherOptions = {
 *   ourIdentity: identity,
 *   remoteAddress: { userId: 'bob', deviceId: deviceId(1) },
 *   sessions,
 *   preKeys,
 *   isTrustedIdentity: (theirs) => equalBytes(theirs.signingKey, pinned.signingKey),
 * };
 * const cipher = new SessionCipher(provider, options);
 * ```
 */
export interface SessionCipherOptions {
  /** Our device identity. */
  readonly ourIdentity: DeviceIdentity;
  /** The remote device this cipher talks to. */
  readonly remoteAddress: DeviceAddress;
  /** Where the session record of `remoteAddress` is loaded from and stored. */
  readonly sessions: SessionStore;
  /** Our prekeys; needed to accept sessions that the remote device starts. */
  readonly preKeys?: PreKeyStore;
  /**
   * Decides whether an identity may hold a session with this address (trust on first use,
   * verified safety numbers, ...). Asked before a session is started from a bundle and before a
   * session a remote device starts is kept; `false` refuses it with `InvalidKeyError`
   * (`ERR_INVALID_KEY`) and nothing is stored. Without it every valid identity is accepted.
   */
  readonly isTrustedIdentity?: (identity: PublicIdentity) => boolean | Promise<boolean>;
}

const locks = new WeakMap<object, Map<string, Promise<void>>>();

/** Runs `fn` after every earlier call for the same store and key has settled. */
function serialised<T>(store: object, key: string, fn: () => Promise<T>): Promise<T> {
  let queue = locks.get(store);
  if (queue === undefined) {
    queue = new Map();
    locks.set(store, queue);
  }
  const map = queue;
  const run = (map.get(key) ?? Promise.resolve()).then(fn);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  map.set(key, tail);
  void tail.then(() => {
    if (map.get(key) === tail) map.delete(key);
  });
  return run;
}

function stateSecrets(s: SessionState, out: Uint8Array[]): void {
  out.push(s.rootKey, s.sending.chainKey, s.sending.ratchetKeyPair.privateKey);
  for (const c of s.receiving) if (c.chainKey !== undefined) out.push(c.chainKey);
  for (const k of s.skipped) out.push(k.messageKey);
}

function states(r: SessionRecord): SessionState[] {
  return r.current === undefined ? [...r.previous] : [r.current, ...r.previous];
}

/** Wipes every secret array of `from` that `keep` does not also hold. */
function wipeExclusive(from: SessionRecord, keep: SessionRecord): void {
  const kept = states(keep);
  const keptStates = new Set(kept);
  const changed = states(from).filter((s) => !keptStates.has(s));
  if (changed.length === 0) return;
  const keepSecrets: Uint8Array[] = [];
  for (const s of kept) stateSecrets(s, keepSecrets);
  const keepSet = new Set(keepSecrets);
  const candidates: Uint8Array[] = [];
  for (const s of changed) stateSecrets(s, candidates);
  for (const a of candidates) if (!keepSet.has(a)) wipe(a);
}

/**
 * Encrypts to and decrypts from one remote device, keeping its session record in a store.
 *
 * Records are immutable values; after storing a new record the cipher wipes the secrets of the
 * record it replaced (chain keys, message keys, ratchet private keys no longer needed). Do not
 * keep a record loaded from the store across cipher operations; stores that deserialise on load
 * are unaffected.
 *
 * @example
 * ```ts
 * const cipher = new SessionCipher(provider, {
 *   ourIdentity: identity,
 *   remoteAddress: { userId: 'bob', deviceId: deviceId(1) },
 *   sessions: new InMemorySessionStore(),
 * });
 * await cipher.startSession(bundle);
 * const outgoing = await cipher.encrypt(utf8('hello Bob'));
 * ```
 */
export class SessionCipher {
  readonly #provider: CryptoProvider;
  readonly #options: SessionCipherOptions;
  readonly #key: string;

  constructor(provider: CryptoProvider, options: SessionCipherOptions) {
    if (typeof provider !== 'object' || provider === null)
      throw new ValidationError('provider', 'a CryptoProvider');
    const o = checkObject(options, 'options');
    checkDeviceIdentity(o.ourIdentity, 'options.ourIdentity');
    checkAddress(o.remoteAddress, 'options.remoteAddress');
    const sessions = checkObject(o.sessions, 'options.sessions');
    if (typeof sessions.loadSession !== 'function' || typeof sessions.storeSession !== 'function') {
      throw new ValidationError('options.sessions', 'a SessionStore');
    }
    if (o.preKeys !== undefined) checkPreKeyStore(o.preKeys, 'options.preKeys');
    if (o.isTrustedIdentity !== undefined && typeof o.isTrustedIdentity !== 'function') {
      throw new ValidationError('options.isTrustedIdentity', 'a function');
    }
    this.#provider = provider;
    this.#options = options;
    this.#key = addressKey(options.remoteAddress);
  }

  async #checkTrust(identity: PublicIdentity): Promise<void> {
    const trust = this.#options.isTrustedIdentity;
    if (trust !== undefined && (await trust(identity)) !== true) {
      throw new InvalidKeyError('remoteIdentity', 'not trusted for this address');
    }
  }

  #locked<T>(fn: (record: SessionRecord) => Promise<{ record: SessionRecord; result: T }>): Promise<T> {
    const { sessions, remoteAddress } = this.#options;
    return serialised(sessions, this.#key, async () => {
      const old = (await sessions.loadSession(remoteAddress)) ?? emptySessionRecord();
      const { record, result } = await fn(old);
      try {
        await sessions.storeSession(remoteAddress, record);
      } catch (e) {
        wipeExclusive(record, old);
        throw e;
      }
      wipeExclusive(old, record);
      return result;
    });
  }

  /**
   * Starts a new session from the remote device's prekey bundle (verified first; see
   * `initiateSession`). An existing session is kept as a previous one.
   *
   * @example
   * ```ts
   * await cipher.startSession(bundle, { expectedIdentity: pinned });
   * ```
   */
  startSession(
    bundle: PreKeyBundle,
    options: { readonly expectedIdentity?: PublicIdentity } = {},
  ): Promise<void> {
    return this.#locked(async (record) => {
      await this.#checkTrust(checkBundle(bundle, 'bundle').identity);
      const { session } = await initiateSession(this.#provider, {
        ourIdentity: this.#options.ourIdentity,
        theirBundle: bundle,
        ...(options.expectedIdentity === undefined ? {} : { expectedIdentity: options.expectedIdentity }),
      });
      return { record: addSession(record, session), result: undefined };
    });
  }

  /**
   * Encrypts a message. Until the remote device has answered, the result is an `initial`
   * message that carries the handshake. Throws `UsageError` when there is no session.
   *
   * @example
   * ```ts
   * const message = await cipher.encrypt(utf8('hi'));
   * ```
   */
  encrypt(plaintext: Uint8Array): Promise<CiphertextMessage> {
    return this.#locked(async (record) => {
      const { record: next, message } = await encryptRecord(this.#provider, record, plaintext);
      return { record: next, result: message };
    });
  }

  /**
   * Decrypts a message from the remote device; accepts a new session from an initial message
   * (needs `preKeys`). On any failure the stored record is unchanged. Errors: `ReplayError`,
   * `LimitError`, `DecryptionFailed`, and those of `acceptSession`.
   *
   * @example
   * ```ts
   * const plaintext = await cipher.decrypt(incoming);
   * ```
   */
  decrypt(message: CiphertextMessage): Promise<Uint8Array> {
    return this.#locked(async (record) => {
      const { preKeys, ourIdentity } = this.#options;
      if (checkObject(message, 'message').type === 'initial') {
        // A session the remote device starts: ask about its identity before any prekey is used.
        const m = checkInitialMessage(message.message, 'message.message');
        const states = record.current === undefined ? record.previous : [record.current, ...record.previous];
        if (!states.some((s) => s.role === 'responder' && equalBytes(s.baseKey, m.baseKey))) {
          await this.#checkTrust(m.initiatorIdentity);
        }
      }
      const out = await decryptRecord(
        this.#provider,
        record,
        message,
        preKeys === undefined ? undefined : { ourIdentity, preKeys },
      );
      return { record: out.record, result: out.plaintext };
    });
  }

  /**
   * True when a current session exists for the remote device.
   *
   * @example
   * ```ts
   * if (!(await cipher.hasSession())) await cipher.startSession(bundle);
   * ```
   */
  hasSession(): Promise<boolean> {
    return serialised(this.#options.sessions, this.#key, async () => {
      const record = await this.#options.sessions.loadSession(this.#options.remoteAddress);
      return record?.current !== undefined;
    });
  }

  /**
   * The identity of the remote device in the current session, to compare with a pinned one.
   *
   * @example
   * ```ts
   * const theirs = await cipher.remoteIdentity();
   * const unchanged = theirs !== undefined && equalBytes(theirs.signingKey, pinned.signingKey);
   * ```
   */
  remoteIdentity(): Promise<PublicIdentity | undefined> {
    return serialised(this.#options.sessions, this.#key, async () => {
      const record = await this.#options.sessions.loadSession(this.#options.remoteAddress);
      return record?.current?.remoteIdentity;
    });
  }
}
