/**
 * Canonical byte layouts of v2 messages. The header layout is what the AEAD's associated data
 * and the duplicate digest cover; the message layouts are what `test-vectors/v2-*.json` record.
 * A transport may carry messages in another envelope (protobuf) as long as it rebuilds these
 * values exactly. All integers are big-endian.
 *
 * ```
 * header          = ratchetKey(32) | u32 previousChainLength | u32 messageNumber        (40 bytes)
 * ratchet message = header(40) | ciphertext (AES-256-GCM output, tag included, >= 16 bytes)
 * initial message = u8 0x02 | identity.signingKey(32) | identity.dhKey(32)
 *                   | identity.dhKeySignature(64) | baseKey(32) | u32 signedPreKeyId
 *                   | u8 flags (bit 0: one-time prekey present; other bits 0)
 *                   | [u32 oneTimePreKeyId] | u32 kemPreKeyId | kemCiphertext(1088)
 *                   | ratchet message
 * ```
 *
 * @module
 */

import { checkBytes } from '../bytes.js';
import { DecodeError } from '../errors.js';
import { Reader, Writer } from './_codec.js';
import { HEADER_LENGTH, INITIAL_MESSAGE_TAG, writeHeader, writeInitialHandshake } from './_layout.js';
import {
  checkInitialMessage,
  checkRatchetMessage,
  ED25519_SIGNATURE_LENGTH,
  KEM_CIPHERTEXT_LENGTH,
  TAG_LENGTH,
  X25519_LENGTH,
} from './_validate.js';
import { V2_MAX_PLAINTEXT } from './constants.js';
import {
  type InitialMessage,
  kemPreKeyId,
  oneTimePreKeyId,
  type RatchetHeader,
  type RatchetMessage,
  signedPreKeyId,
} from './types.js';

/**
 * Length of an encoded {@link RatchetHeader}: 40 bytes.
 *
 * @example
 * ```ts
 * const header = bytes.subarray(0, V2_HEADER_LENGTH);
 * ```
 */
export const V2_HEADER_LENGTH = HEADER_LENGTH;
/**
 * The first byte of an encoded initial message: suite `v2` (0x02).
 *
 * @example
 * ```ts
 * if (bytes[0] === V2_INITIAL_MESSAGE_TAG) initial = decodeInitialMessage(bytes);
 * ```
 */
export const V2_INITIAL_MESSAGE_TAG = INITIAL_MESSAGE_TAG;
/** Most bytes of an encoded ratchet message (header + largest plaintext + tag). */
const MAX_RATCHET_MESSAGE = V2_HEADER_LENGTH + V2_MAX_PLAINTEXT + TAG_LENGTH;

/**
 * The 40 canonical bytes of a ratchet header.
 *
 * @example
 * ```ts
 * const bytes = encodeRatchetHeader(message.header); // 40 bytes
 * ```
 */
export function encodeRatchetHeader(header: RatchetHeader): Uint8Array {
  checkRatchetMessage({ header, ciphertext: new Uint8Array(0) }, 'message');
  const out = new Uint8Array(V2_HEADER_LENGTH);
  writeHeader(out, 0, header);
  return out;
}

/**
 * The canonical bytes of a ratchet message: header then ciphertext.
 *
 * @example
 * ```ts
 * const bytes = encodeRatchetMessage(message);
 * const again = decodeRatchetMessage(bytes);
 * ```
 */
export function encodeRatchetMessage(message: RatchetMessage): Uint8Array {
  checkRatchetMessage(message, 'message');
  const out = new Uint8Array(V2_HEADER_LENGTH + message.ciphertext.length);
  writeHeader(out, 0, message.header);
  out.set(message.ciphertext, V2_HEADER_LENGTH);
  return out;
}

function readRatchetMessage(r: Reader, path: string): RatchetMessage {
  const ratchetKey = r.bytes(X25519_LENGTH, `${path}.header.ratchetKey`);
  const previousChainLength = r.u32(`${path}.header.previousChainLength`);
  const messageNumber = r.u32(`${path}.header.messageNumber`);
  if (r.remaining < TAG_LENGTH) throw new DecodeError(`${path}.ciphertext`, 'shorter than the 16-byte tag');
  if (r.remaining > MAX_RATCHET_MESSAGE - V2_HEADER_LENGTH) {
    throw new DecodeError(`${path}.ciphertext`, 'longer than the largest message');
  }
  return { header: { ratchetKey, previousChainLength, messageNumber }, ciphertext: r.rest() };
}

/**
 * Decodes {@link encodeRatchetMessage} bytes. Throws `DecodeError` naming the field on bad input.
 *
 * @example
 * ```ts
 * const message = decodeRatchetMessage(bytes);
 * ```
 */
export function decodeRatchetMessage(bytes: Uint8Array): RatchetMessage {
  checkBytes(bytes, 'bytes');
  return readRatchetMessage(new Reader(bytes), 'ratchetMessage');
}

/**
 * The canonical bytes of an initial message.
 *
 * @example
 * ```ts
 * const bytes = encodeInitialMessage(initial);
 * const again = decodeInitialMessage(bytes);
 * ```
 */
export function encodeInitialMessage(message: InitialMessage): Uint8Array {
  checkInitialMessage(message, 'message');
  const w = new Writer(1400 + message.message.ciphertext.length);
  writeInitialHandshake(w, message);
  w.bytes(encodeRatchetMessage(message.message));
  return w.finish();
}

/**
 * Decodes {@link encodeInitialMessage} bytes. Throws `DecodeError` naming the field on bad input.
 *
 * @example
 * ```ts
 * const initial = decodeInitialMessage(bytes);
 * ```
 */
export function decodeInitialMessage(bytes: Uint8Array): InitialMessage {
  checkBytes(bytes, 'bytes');
  const r = new Reader(bytes);
  const p = 'initialMessage';
  const tag = r.u8(`${p}.suite`);
  if (tag !== V2_INITIAL_MESSAGE_TAG) throw new DecodeError(`${p}.suite`, 'not suite v2');
  const initiatorIdentity = {
    signingKey: r.bytes(X25519_LENGTH, `${p}.initiatorIdentity.signingKey`),
    dhKey: r.bytes(X25519_LENGTH, `${p}.initiatorIdentity.dhKey`),
    dhKeySignature: r.bytes(ED25519_SIGNATURE_LENGTH, `${p}.initiatorIdentity.dhKeySignature`),
  };
  const baseKey = r.bytes(X25519_LENGTH, `${p}.baseKey`);
  const spk = signedPreKeyId(r.u32(`${p}.signedPreKeyId`));
  const flags = r.u8(`${p}.flags`);
  if (flags > 1) throw new DecodeError(`${p}.flags`, 'unknown flag bits');
  const opk = flags === 1 ? oneTimePreKeyId(r.u32(`${p}.oneTimePreKeyId`)) : undefined;
  const kem = kemPreKeyId(r.u32(`${p}.kemPreKeyId`));
  const kemCiphertext = r.bytes(KEM_CIPHERTEXT_LENGTH, `${p}.kemCiphertext`);
  const message = readRatchetMessage(r, `${p}.message`);
  return {
    suite: 'v2',
    initiatorIdentity,
    baseKey,
    signedPreKeyId: spk,
    ...(opk === undefined ? {} : { oneTimePreKeyId: opk }),
    kemPreKeyId: kem,
    kemCiphertext,
    message,
  };
}
