/**
 * Session-record operations (trusted inputs; `session.ts` checks them): encrypt with the
 * current session, decrypt with whichever session the message belongs to, accept new sessions.
 */
import { equalBytes } from '../bytes.js';
import { DecryptionFailed, LimitError, ReplayError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';
import { accept, initialDigest } from './_handshake.js';
import { decryptState, encryptState, messageDigest, type Trace } from './_ratchet.js';
import { V2_MAX_PREVIOUS_SESSIONS } from './constants.js';
import type { PreKeyStore } from './stores.js';
import type {
  CiphertextMessage,
  DeviceIdentity,
  InitialMessage,
  RatchetMessage,
  SessionRecord,
  SessionState,
} from './types.js';

/** `record` with `state` as its current session and the old current one archived. */
export function withNewSession(record: SessionRecord, state: SessionState): SessionRecord {
  const previous = record.current === undefined ? record.previous : [record.current, ...record.previous];
  return { version: 1, current: state, previous: previous.slice(0, V2_MAX_PREVIOUS_SESSIONS) };
}

/** The record after its session `old` decrypted a message and became `next` (now current). */
function promote(record: SessionRecord, old: SessionState, next: SessionState): SessionRecord {
  if (old === record.current) return { version: 1, current: next, previous: record.previous };
  const others = record.previous.filter((s) => s !== old);
  const previous = record.current === undefined ? others : [record.current, ...others];
  return { version: 1, current: next, previous: previous.slice(0, V2_MAX_PREVIOUS_SESSIONS) };
}

/** Encrypts with the current session; wraps the message while the handshake is unanswered. */
export async function encryptWithRecord(
  p: CryptoProvider,
  current: SessionState,
  record: SessionRecord,
  plaintext: Uint8Array,
  trace?: Trace,
): Promise<{ record: SessionRecord; message: CiphertextMessage }> {
  const { state, message } = await encryptState(p, current, plaintext, trace);
  const next: SessionRecord = { version: 1, current: state, previous: record.previous };
  const pending = current.pending;
  if (pending === undefined) return { record: next, message: { type: 'ratchet', message } };
  const initial: InitialMessage = {
    suite: 'v2',
    initiatorIdentity: current.localIdentity,
    baseKey: current.baseKey,
    signedPreKeyId: pending.signedPreKeyId,
    ...(pending.oneTimePreKeyId === undefined ? {} : { oneTimePreKeyId: pending.oneTimePreKeyId }),
    kemPreKeyId: pending.kemPreKeyId,
    kemCiphertext: pending.kemCiphertext,
    message,
  };
  return { record: next, message: { type: 'initial', message: initial } };
}

/**
 * Tries `candidates` (sessions of `record`) in turn; the one that knows the message's ratchet
 * key first. An exact duplicate stops the search (`ReplayError`); otherwise the first
 * `LimitError` or else `DecryptionFailed` is thrown when none decrypts.
 */
async function tryStates(
  p: CryptoProvider,
  record: SessionRecord,
  candidates: readonly SessionState[],
  message: RatchetMessage,
  trace?: Trace,
): Promise<{ record: SessionRecord; plaintext: Uint8Array }> {
  const digest = await messageDigest(p, message);
  const knows = (s: SessionState) =>
    s.receiving.some((c) => equalBytes(c.ratchetKey, message.header.ratchetKey));
  const ordered = [...candidates.filter(knows), ...candidates.filter((s) => !knows(s))];
  let limit: LimitError | undefined;
  for (const s of ordered) {
    try {
      const { state, plaintext } = await decryptState(p, s, message, digest, trace);
      return { record: promote(record, s, state), plaintext };
    } catch (e) {
      if (e instanceof ReplayError) throw e;
      if (e instanceof LimitError) limit ??= e;
      else if (!(e instanceof DecryptionFailed)) throw e;
    }
  }
  throw limit ?? new DecryptionFailed();
}

/** Decrypts a ratchet message with the sessions of a record. */
export function decryptRatchetWithRecord(
  p: CryptoProvider,
  record: SessionRecord,
  message: RatchetMessage,
  trace?: Trace,
): Promise<{ record: SessionRecord; plaintext: Uint8Array }> {
  const states = record.current === undefined ? record.previous : [record.current, ...record.previous];
  return tryStates(p, record, states, message, trace);
}

/**
 * Decrypts an initial message: with the responder session it already created (same base key
 * and identical handshake fields), or by accepting a new session when `ours`/`preKeys` are given.
 */
export async function decryptInitialWithRecord(
  p: CryptoProvider,
  record: SessionRecord,
  message: InitialMessage,
  context: { readonly ourIdentity: DeviceIdentity; readonly preKeys: PreKeyStore } | undefined,
  trace?: Trace,
): Promise<{ record: SessionRecord; plaintext: Uint8Array } | undefined> {
  const states = record.current === undefined ? record.previous : [record.current, ...record.previous];
  const existing = states.find((s) => s.role === 'responder' && equalBytes(s.baseKey, message.baseKey));
  if (existing !== undefined) {
    const digest = await initialDigest(p, message);
    if (existing.initialDigest === undefined || !equalBytes(existing.initialDigest, digest)) {
      throw new DecryptionFailed();
    }
    return tryStates(p, record, [existing], message.message, trace);
  }
  if (context === undefined) return undefined;
  const { session, plaintext } = await accept(p, context.ourIdentity, context.preKeys, message, trace);
  return { record: withNewSession(record, session), plaintext };
}
