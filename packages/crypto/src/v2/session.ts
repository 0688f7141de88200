/**
 * Encrypting and decrypting with v2 sessions and session records. Every function is pure: it
 * returns a new state or record and leaves its input unchanged, also when it fails, so a caller
 * can store the new record and the plaintext together (or not at all).
 *
 * @module
 */
import { checkBytes, equalBytes } from '../bytes.js';
import { DecryptionFailed, InvalidKeyError, UsageError, ValidationError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';
import { decryptState, encryptState, messageDigest } from './_ratchet.js';
import {
  decryptInitialWithRecord,
  decryptRatchetWithRecord,
  encryptWithRecord,
  withNewSession,
} from './_record.js';
import {
  checkDeviceIdentity,
  checkInitialMessage,
  checkObject,
  checkPreKeyStore,
  checkRatchetMessage,
  TAG_LENGTH,
} from './_validate.js';
import { V2_MAX_PLAINTEXT, V2_MAX_PREVIOUS_SESSIONS } from './constants.js';
import type { PreKeyStore } from './stores.js';
import type {
  CiphertextMessage,
  DeviceIdentity,
  InitialMessage,
  RatchetMessage,
  SessionRecord,
  SessionState,
} from './types.js';

function checkState(value: unknown, field: string): SessionState {
  const o = checkObject(value, field);
  if (o.version !== 1 || o.suite !== 'v2')
    throw new ValidationError(field, 'a v2 session state of version 1');
  return value as SessionState;
}

function checkRecord(value: unknown, field: string): SessionRecord {
  const o = checkObject(value, field);
  if (o.version !== 1 || !Array.isArray(o.previous))
    throw new ValidationError(field, 'a session record of version 1');
  if (o.current !== undefined) checkState(o.current, `${field}.current`);
  return value as SessionRecord;
}

function checkPlaintext(value: unknown): Uint8Array {
  const pt = checkBytes(value, 'plaintext');
  if (pt.length > V2_MAX_PLAINTEXT) throw new ValidationError('plaintext', 'at most 64 MiB');
  return pt;
}

/** Peer-controlled ciphertext sizes are not caller bugs: they fail like any forgery. */
function checkIncoming(message: RatchetMessage): void {
  const n = message.ciphertext.length;
  if (n < TAG_LENGTH || n > V2_MAX_PLAINTEXT + TAG_LENGTH) throw new DecryptionFailed();
}

/**
 * Encrypts one message with a session state and returns the new state. Most callers use
 * {@link encryptRecord} or a `SessionCipher`, which also wrap the first messages of an
 * initiator in an {@link InitialMessage}.
 *
 * @example
 * ```ts
 * const { state, message } = await ratchetEncrypt(provider, session, utf8('hello'));
 * ```
 */
export async function ratchetEncrypt(
  provider: CryptoProvider,
  state: SessionState,
  plaintext: Uint8Array,
): Promise<{ state: SessionState; message: RatchetMessage }> {
  return encryptState(provider, checkState(state, 'state'), checkPlaintext(plaintext));
}

/**
 * Decrypts one ratchet message with a session state and returns the new state; `state` is not
 * changed, also on failure. Errors: `ReplayError` (exact duplicate of a recently decrypted
 * message), `LimitError` (more than `V2_MAX_SKIP` skipped keys), `DecryptionFailed` (anything
 * else: forged, altered, too old, from another session).
 *
 * @example
 * ```ts
 * const { state: next, plaintext } = await ratchetDecrypt(provider, session, message);
 * ```
 */
export async function ratchetDecrypt(
  provider: CryptoProvider,
  state: SessionState,
  message: RatchetMessage,
): Promise<{ state: SessionState; plaintext: Uint8Array }> {
  const s = checkState(state, 'state');
  const m = checkRatchetMessage(message, 'message');
  checkIncoming(m);
  return decryptState(provider, s, m, await messageDigest(provider, m));
}

/**
 * A record with no session.
 *
 * @example
 * ```ts
 * let record = emptySessionRecord();
 * ```
 */
export function emptySessionRecord(): SessionRecord {
  return { version: 1, previous: [] };
}

/**
 * A record whose current session is `state`; the old current session becomes the most recent
 * previous one (at most `V2_MAX_PREVIOUS_SESSIONS` are kept).
 *
 * @example
 * ```ts
 * const { session } = await initiateSession(provider, { ourIdentity: identity, theirBundle: bundle });
 * const next = addSession(record, session);
 * ```
 */
export function addSession(record: SessionRecord, state: SessionState): SessionRecord {
  return withNewSession(checkRecord(record, 'record'), checkState(state, 'state'));
}

/**
 * A record with no current session whose old current session is kept as the most recent previous
 * one (at most `V2_MAX_PREVIOUS_SESSIONS` are kept): encrypting then needs a new session, while
 * messages already in flight on the old one still decrypt.
 *
 * @example
 * ```ts
 * const next = archiveCurrentSession(record); // before starting a new session after a failure
 * ```
 */
export function archiveCurrentSession(record: SessionRecord): SessionRecord {
  const r = checkRecord(record, 'record');
  if (r.current === undefined) return r;
  return { version: 1, previous: [r.current, ...r.previous].slice(0, V2_MAX_PREVIOUS_SESSIONS) };
}

/**
 * Encrypts with the current session of a record. While the session's initiator has not yet
 * received an answer, the message is an `initial` one carrying the handshake.
 * Throws `UsageError` when the record has no session.
 *
 * @example
 * ```ts
 * const { record: next, message } = await encryptRecord(provider, record, utf8('hi'));
 * ```
 */
export async function encryptRecord(
  provider: CryptoProvider,
  record: SessionRecord,
  plaintext: Uint8Array,
): Promise<{ record: SessionRecord; message: CiphertextMessage }> {
  const r = checkRecord(record, 'record');
  if (r.current === undefined) throw new UsageError('no session with this device: start one first');
  return encryptWithRecord(provider, r.current, r, checkPlaintext(plaintext));
}

/**
 * What {@link decryptRecord} needs to accept a new session from an initial message.
 *
 * @example
 * ```ts
 * const context: DecryptContext = { ourIdentity: identity, preKeys };
 * const { record: next, plaintext } = await decryptRecord(provider, record, incoming, context);
 * ```
 */
export interface DecryptContext {
  /** Our device identity (the responder's side of the handshake). */
  readonly ourIdentity: DeviceIdentity;
  /** Our prekeys; the ones the initial message names are consumed. */
  readonly preKeys: PreKeyStore;
}

/**
 * Decrypts a message with a record and returns the new record; `record` is not changed, also on
 * failure. A ratchet message is tried with the current session, then the previous ones; the
 * session that decrypts it becomes current. An initial message for a session already in the
 * record (same base key and identical handshake fields) is decrypted with it; otherwise a new
 * session is accepted with `context` (prekeys are consumed) and becomes current, the old one
 * being kept as previous.
 *
 * Errors: as {@link ratchetDecrypt} and `acceptSession`; `UsageError` when a new session must be
 * accepted but `context` is missing.
 *
 * @example
 * ```ts
 * const { record: next, plaintext } = await decryptRecord(provider, record, incoming, {
 *   ourIdentity: identity,
 *   preKeys,
 * });
 * ```
 */
export async function decryptRecord(
  provider: CryptoProvider,
  record: SessionRecord,
  message: CiphertextMessage,
  context?: DecryptContext,
): Promise<{ record: SessionRecord; plaintext: Uint8Array }> {
  const r = checkRecord(record, 'record');
  const envelope = checkObject(message, 'message');
  if (envelope.type === 'ratchet') {
    const m = checkRatchetMessage(envelope.message, 'message.message');
    checkIncoming(m);
    return decryptRatchetWithRecord(provider, r, m);
  }
  if (envelope.type !== 'initial') throw new ValidationError('message.type', '"initial" or "ratchet"');
  const m = checkInitialMessage(envelope.message, 'message.message');
  checkIncoming(m.message);
  let ctx: DecryptContext | undefined;
  if (context !== undefined) {
    const c = checkObject(context, 'context');
    ctx = {
      ourIdentity: checkDeviceIdentity(c.ourIdentity, 'context.ourIdentity'),
      preKeys: checkPreKeyStore(c.preKeys, 'context.preKeys'),
    };
    if (
      equalBytes(m.initiatorIdentity.signingKey, ctx.ourIdentity.signingKeyPair.publicKey) ||
      equalBytes(m.initiatorIdentity.dhKey, ctx.ourIdentity.dhKeyPair.publicKey)
    ) {
      throw new InvalidKeyError('initialMessage.initiatorIdentity', 'is our own identity');
    }
  }
  const out = await decryptInitialWithRecord(provider, r, m, ctx);
  if (out === undefined)
    throw new UsageError('context (ourIdentity, preKeys) is needed to accept a new session');
  return out;
}
