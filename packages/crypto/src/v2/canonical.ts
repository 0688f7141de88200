/**
 * The canonical byte layouts of v2 message fields that cryptography covers. They are not a wire
 * format: messages travel as the protobuf of `spec/wire.md` (`@cloister/protocol`), and the
 * receiver rebuilds these bytes from the decoded fields. All integers are big-endian.
 *
 * ```
 * header    = ratchetKey(32) | u32 previousChainLength | u32 messageNumber           (40 bytes)
 *             inside the AES-256-GCM associated data and the duplicate digest of every message
 * handshake = u8 0x02 | initiatorIdentity.signingKey(32) | .dhKey(32) | .dhKeySignature(64)
 *             | baseKey(32) | u32 signedPreKeyId | u8 flags (bit 0: one-time prekey id follows)
 *             | [u32 oneTimePreKeyId] | u32 kemPreKeyId | kemCiphertext(1088)   (1258 or 1262 bytes)
 *             hashed into the responder's initialDigest
 * ```
 *
 * @module
 */
import { Writer } from './_codec.js';
import { HEADER_LENGTH, writeHeader, writeInitialHandshake } from './_layout.js';
import { checkInitialMessage, checkRatchetMessage } from './_validate.js';
import type { InitialMessage, RatchetHeader } from './types.js';

/**
 * Length of a canonical ratchet header: 40 bytes.
 *
 * @example
 * ```ts
 * const header = canonicalRatchetHeaderBytes(message.header);
 * console.log(header.length === V2_HEADER_LENGTH); // true
 * ```
 */
export const V2_HEADER_LENGTH = HEADER_LENGTH;

/**
 * The 40 canonical bytes of a ratchet header, as they end the AES-256-GCM associated data of
 * the message and enter its duplicate digest. For reviewers and vectors; not a wire encoding.
 *
 * @example
 * ```ts
 * const bytes = canonicalRatchetHeaderBytes(message.header); // 40 bytes
 * ```
 */
export function canonicalRatchetHeaderBytes(header: RatchetHeader): Uint8Array {
  checkRatchetMessage({ header, ciphertext: new Uint8Array(0) }, 'message');
  const out = new Uint8Array(V2_HEADER_LENGTH);
  writeHeader(out, 0, header);
  return out;
}

/**
 * The canonical bytes of the handshake fields of an initial message (everything but the ratchet
 * message it carries): what the responder's `initialDigest` hashes, after the label
 * `"cloister/v2/handshake/initial-message"`. For reviewers and vectors; not a wire encoding.
 *
 * @example
 * ```ts
 * const h = canonicalInitialHandshakeBytes(initial); // 1258 or 1262 bytes
 * ```
 */
export function canonicalInitialHandshakeBytes(message: InitialMessage): Uint8Array {
  checkInitialMessage(message, 'message');
  const w = new Writer(1280);
  writeInitialHandshake(w, message);
  return w.finish().slice();
}
