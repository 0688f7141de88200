/**
 * Writers for the fixed layouts that enter AEAD associated data and digests: the 40-byte ratchet
 * header and the handshake part of an initial message (spec/v2-sessions.md section 7). Public
 * views of them are in `canonical.ts`.
 */
import type { Writer } from './_codec.js';
import type { InitialMessage, RatchetHeader } from './types.js';

/** Length of the canonical ratchet header. */
export const HEADER_LENGTH = 40;
/** The first byte of the canonical handshake fields of an initial message: suite `v2`. */
export const INITIAL_MESSAGE_TAG = 0x02;

/** Writes the header into `out` at `offset` (no checks; callers pass checked values). */
export function writeHeader(out: Uint8Array, offset: number, h: RatchetHeader): void {
  out.set(h.ratchetKey, offset);
  writeU32(out, offset + 32, h.previousChainLength);
  writeU32(out, offset + 36, h.messageNumber);
}

/** Big-endian u32 without a DataView (this runs twice per message). */
function writeU32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = value >>> 24;
  out[offset + 1] = (value >>> 16) & 0xff;
  out[offset + 2] = (value >>> 8) & 0xff;
  out[offset + 3] = value & 0xff;
}

/** Writes the handshake part of an initial message (everything before the ratchet message). */
export function writeInitialHandshake(w: Writer, m: InitialMessage): void {
  w.u8(INITIAL_MESSAGE_TAG)
    .bytes(m.initiatorIdentity.signingKey)
    .bytes(m.initiatorIdentity.dhKey)
    .bytes(m.initiatorIdentity.dhKeySignature)
    .bytes(m.baseKey)
    .u32(m.signedPreKeyId)
    .u8(m.oneTimePreKeyId === undefined ? 0 : 1);
  if (m.oneTimePreKeyId !== undefined) w.u32(m.oneTimePreKeyId);
  w.u32(m.kemPreKeyId).bytes(m.kemCiphertext);
}
