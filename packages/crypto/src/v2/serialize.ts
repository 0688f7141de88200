/**
 * The binary layout of a v2 session record, for storage. The bytes contain every secret of the
 * sessions: keep them only in encrypted storage and wipe copies when done. All integers are
 * big-endian; `[x]` is present only when its flag says so.
 *
 * ```
 * record    = u8 1 (record version) | u8 flags (bit 0: current present) | [state]
 *           | u8 previousCount (<= 5) | state * previousCount
 * state     = u8 1 (state version) | u8 2 (suite v2) | u8 role (0 initiator, 1 responder)
 *           | identity (local) | identity (remote) | baseKey(32) | rootKey(32)
 *           | sendingPrivate(32) | sendingPublic(32) | sendingChainKey(32) | u32 sendingIndex
 *           | u32 previousSendingLength
 *           | u8 receivingCount (<= 5) | receiving * receivingCount
 *           | u16 skippedCount (<= 2000) | skipped * skippedCount
 *           | u8 digestCount (<= 128) | digest(16) * digestCount
 *           | u8 flags (bit 0: pending, initiator only; bit 1: initialDigest, responder only)
 *           | [pending] | [initialDigest(32)]
 * identity  = signingKey(32) | dhKey(32) | dhKeySignature(64)
 * receiving = ratchetKey(32) | u8 open | [chainKey(32)] | u32 index     (only the first may be open)
 * skipped   = ratchetKey(32) | u32 messageNumber | messageKey(32)   (ratchetKey names a receiving chain)
 * pending   = u32 signedPreKeyId | u8 hasOneTime | [u32 oneTimePreKeyId] | u32 kemPreKeyId
 *           | kemCiphertext(1088)
 * ```
 *
 * @module
 */
import { checkBytes, equalBytes } from '../bytes.js';
import { DecodeError, ValidationError } from '../errors.js';
import { Reader, Writer } from './_codec.js';
import { DIGEST_LENGTH } from './_ratchet.js';
import { checkObject, ED25519_SIGNATURE_LENGTH, KEM_CIPHERTEXT_LENGTH, X25519_LENGTH } from './_validate.js';
import {
  V2_MAX_PREVIOUS_SESSIONS,
  V2_MAX_RECEIVING_CHAINS,
  V2_MAX_SKIPPED_KEYS,
  V2_RECENT_DIGESTS,
} from './constants.js';
import {
  kemPreKeyId,
  oneTimePreKeyId,
  type PendingInitial,
  type PublicIdentity,
  type ReceivingChain,
  type SessionRecord,
  type SessionState,
  type SkippedMessageKey,
  signedPreKeyId,
} from './types.js';

const RECORD_VERSION = 1;
const STATE_VERSION = 1;
const SUITE_V2 = 2;

function writeIdentity(w: Writer, id: PublicIdentity): void {
  w.bytes(id.signingKey).bytes(id.dhKey).bytes(id.dhKeySignature);
}

function writeState(w: Writer, s: SessionState): void {
  w.u8(STATE_VERSION)
    .u8(SUITE_V2)
    .u8(s.role === 'initiator' ? 0 : 1);
  writeIdentity(w, s.localIdentity);
  writeIdentity(w, s.remoteIdentity);
  w.bytes(s.baseKey).bytes(s.rootKey);
  w.bytes(s.sending.ratchetKeyPair.privateKey).bytes(s.sending.ratchetKeyPair.publicKey);
  w.bytes(s.sending.chainKey).u32(s.sending.index).u32(s.previousSendingLength);
  w.u8(s.receiving.length);
  for (const c of s.receiving) {
    w.bytes(c.ratchetKey);
    if (c.chainKey === undefined) w.u8(0);
    else w.u8(1).bytes(c.chainKey);
    w.u32(c.index);
  }
  w.u16(s.skipped.length);
  for (const k of s.skipped) w.bytes(k.ratchetKey).u32(k.messageNumber).bytes(k.messageKey);
  w.u8(s.recentDigests.length);
  for (const d of s.recentDigests) w.bytes(d);
  w.u8((s.pending === undefined ? 0 : 1) | (s.initialDigest === undefined ? 0 : 2));
  if (s.pending !== undefined) {
    const p = s.pending;
    w.u32(p.signedPreKeyId);
    if (p.oneTimePreKeyId === undefined) w.u8(0);
    else w.u8(1).u32(p.oneTimePreKeyId);
    w.u32(p.kemPreKeyId).bytes(p.kemCiphertext);
  }
  if (s.initialDigest !== undefined) w.bytes(s.initialDigest);
}

/**
 * Serialises a session record to its versioned binary layout (see the module comment and
 * `spec/v2-sessions.md`). The result holds secrets.
 *
 * @example
 * ```ts
 * const bytes = serializeSession(record);
 * const again = deserializeSession(bytes);
 * ```
 */
export function serializeSession(record: SessionRecord): Uint8Array {
  const r = checkObject(record, 'record');
  if (
    r.version !== RECORD_VERSION ||
    !Array.isArray(r.previous) ||
    r.previous.length > V2_MAX_PREVIOUS_SESSIONS
  ) {
    throw new ValidationError('record', 'a session record of version 1');
  }
  const w = new Writer(4096);
  try {
    w.u8(RECORD_VERSION).u8(record.current === undefined ? 0 : 1);
    if (record.current !== undefined) writeState(w, record.current);
    w.u8(record.previous.length);
    for (const s of record.previous) writeState(w, s);
    return w.finish().slice();
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError)
      throw new ValidationError('record', 'a valid session record');
    throw e;
  } finally {
    w.wipe();
  }
}

function readIdentity(r: Reader, path: string): PublicIdentity {
  return {
    signingKey: r.bytes(X25519_LENGTH, `${path}.signingKey`),
    dhKey: r.bytes(X25519_LENGTH, `${path}.dhKey`),
    dhKeySignature: r.bytes(ED25519_SIGNATURE_LENGTH, `${path}.dhKeySignature`),
  };
}

function readState(r: Reader, path: string): SessionState {
  if (r.u8(`${path}.version`) !== STATE_VERSION)
    throw new DecodeError(`${path}.version`, 'unsupported version');
  if (r.u8(`${path}.suite`) !== SUITE_V2) throw new DecodeError(`${path}.suite`, 'not suite v2');
  const roleByte = r.u8(`${path}.role`);
  if (roleByte > 1) throw new DecodeError(`${path}.role`, 'expected 0 or 1');
  const role = roleByte === 0 ? 'initiator' : 'responder';
  const localIdentity = readIdentity(r, `${path}.localIdentity`);
  const remoteIdentity = readIdentity(r, `${path}.remoteIdentity`);
  const baseKey = r.bytes(X25519_LENGTH, `${path}.baseKey`);
  const rootKey = r.bytes(32, `${path}.rootKey`);
  const privateKey = r.bytes(X25519_LENGTH, `${path}.sending.privateKey`);
  const publicKey = r.bytes(X25519_LENGTH, `${path}.sending.publicKey`);
  const chainKey = r.bytes(32, `${path}.sending.chainKey`);
  const index = r.u32(`${path}.sending.index`);
  const previousSendingLength = r.u32(`${path}.previousSendingLength`);

  const receivingCount = r.u8(`${path}.receiving`);
  if (receivingCount > V2_MAX_RECEIVING_CHAINS) {
    throw new DecodeError(`${path}.receiving`, `more than ${V2_MAX_RECEIVING_CHAINS} chains`);
  }
  const receiving: ReceivingChain[] = [];
  for (let i = 0; i < receivingCount; i++) {
    const p = `${path}.receiving[${i}]`;
    const ratchetKey = r.bytes(X25519_LENGTH, `${p}.ratchetKey`);
    const open = r.flag(`${p}.open`);
    if (open && i > 0) throw new DecodeError(`${p}.open`, 'only the newest receiving chain may be open');
    const ck = open ? r.bytes(32, `${p}.chainKey`) : undefined;
    const chainIndex = r.u32(`${p}.index`);
    receiving.push(
      ck === undefined ? { ratchetKey, index: chainIndex } : { ratchetKey, chainKey: ck, index: chainIndex },
    );
  }

  const skippedCount = r.u16(`${path}.skipped`);
  if (skippedCount > V2_MAX_SKIPPED_KEYS)
    throw new DecodeError(`${path}.skipped`, `more than ${V2_MAX_SKIPPED_KEYS} keys`);
  const skipped: SkippedMessageKey[] = [];
  for (let i = 0; i < skippedCount; i++) {
    const p = `${path}.skipped[${i}]`;
    const ratchetKey = r.bytes(X25519_LENGTH, `${p}.ratchetKey`);
    const chain = receiving.find((c) => equalBytes(c.ratchetKey, ratchetKey));
    if (chain === undefined) throw new DecodeError(`${p}.ratchetKey`, 'names no receiving chain');
    const messageNumber = r.u32(`${p}.messageNumber`);
    if (messageNumber >= chain.index)
      throw new DecodeError(`${p}.messageNumber`, 'not below its chain index');
    skipped.push({ ratchetKey: chain.ratchetKey, messageNumber, messageKey: r.bytes(32, `${p}.messageKey`) });
  }

  const digestCount = r.u8(`${path}.recentDigests`);
  if (digestCount > V2_RECENT_DIGESTS)
    throw new DecodeError(`${path}.recentDigests`, `more than ${V2_RECENT_DIGESTS}`);
  const recentDigests: Uint8Array[] = [];
  for (let i = 0; i < digestCount; i++)
    recentDigests.push(r.bytes(DIGEST_LENGTH, `${path}.recentDigests[${i}]`));

  const flags = r.u8(`${path}.flags`);
  if (flags > 3) throw new DecodeError(`${path}.flags`, 'unknown flag bits');
  let pending: PendingInitial | undefined;
  if ((flags & 1) !== 0) {
    if (role !== 'initiator') throw new DecodeError(`${path}.flags`, 'pending handshake on a responder');
    const p = `${path}.pending`;
    const spk = signedPreKeyId(r.u32(`${p}.signedPreKeyId`));
    const opk = r.flag(`${p}.hasOneTimePreKey`) ? oneTimePreKeyId(r.u32(`${p}.oneTimePreKeyId`)) : undefined;
    const kem = kemPreKeyId(r.u32(`${p}.kemPreKeyId`));
    const kemCiphertext = r.bytes(KEM_CIPHERTEXT_LENGTH, `${p}.kemCiphertext`);
    pending = {
      signedPreKeyId: spk,
      ...(opk === undefined ? {} : { oneTimePreKeyId: opk }),
      kemPreKeyId: kem,
      kemCiphertext,
    };
  }
  let initialDigest: Uint8Array | undefined;
  if ((flags & 2) !== 0) {
    if (role !== 'responder') throw new DecodeError(`${path}.flags`, 'initial digest on an initiator');
    initialDigest = r.bytes(32, `${path}.initialDigest`);
  }
  return {
    version: 1,
    suite: 'v2',
    role,
    localIdentity,
    remoteIdentity,
    baseKey,
    rootKey,
    sending: { ratchetKeyPair: { privateKey, publicKey }, chainKey, index },
    previousSendingLength,
    receiving,
    skipped,
    recentDigests,
    ...(pending === undefined ? {} : { pending }),
    ...(initialDigest === undefined ? {} : { initialDigest }),
  };
}

/**
 * Parses {@link serializeSession} bytes. Throws `DecodeError` naming the field path (such as
 * `record.current.skipped[3].ratchetKey`) on any malformed, truncated or over-limit input, and on
 * trailing bytes.
 *
 * @example
 * ```ts
 * const stored = serializeSession(record); // keep only in encrypted storage
 * const again = deserializeSession(stored);
 * ```
 */
export function deserializeSession(bytes: Uint8Array): SessionRecord {
  checkBytes(bytes, 'bytes');
  const r = new Reader(bytes);
  if (r.u8('record.version') !== RECORD_VERSION)
    throw new DecodeError('record.version', 'unsupported version');
  const flags = r.u8('record.flags');
  if (flags > 1) throw new DecodeError('record.flags', 'unknown flag bits');
  const current = flags === 1 ? readState(r, 'record.current') : undefined;
  const count = r.u8('record.previous');
  if (count > V2_MAX_PREVIOUS_SESSIONS) {
    throw new DecodeError('record.previous', `more than ${V2_MAX_PREVIOUS_SESSIONS} sessions`);
  }
  const previous: SessionState[] = [];
  for (let i = 0; i < count; i++) previous.push(readState(r, `record.previous[${i}]`));
  r.end('record');
  return current === undefined ? { version: 1, previous } : { version: 1, current, previous };
}
