/**
 * The wire form of v2 Double Ratchet messages, as `@cloister/crypto`'s `RatchetMessage`. The
 * header travels as protobuf fields; what the AEAD authenticates is crypto's canonical 40-byte
 * header layout (`canonicalRatchetHeaderBytes`), rebuilt from the decoded fields, never these
 * protobuf bytes (see `spec/wire.md`, "Authenticated bytes").
 *
 * @module
 */
import type { RatchetHeader, RatchetMessage } from '@cloister/crypto';
import { cloister } from './generated/cloister.js';
import { decodeFail, encodeFail, type Fail, fixedBytes, int, object, rangeBytes } from './internal/check.js';
import { decodeWith, encodeWith } from './internal/codec.js';
import { KEY_LENGTH, TAG_LENGTH } from './internal/sizes.js';
import { FIELD_LIMITS, MAX_ENCODED_BYTES } from './limits.js';

const wire = cloister.v1;

/** @internal Shared by both directions. */
export function checkRatchetHeader(fail: Fail, value: unknown, path: string): RatchetHeader {
  const h = object(fail, value, path);
  return {
    ratchetKey: fixedBytes(fail, h.ratchetKey, `${path}.ratchetKey`, KEY_LENGTH),
    previousChainLength: int(fail, h.previousChainLength, `${path}.previousChainLength`),
    messageNumber: int(fail, h.messageNumber, `${path}.messageNumber`),
  };
}

/** @internal Shared by both directions. */
export function checkRatchetMessage(fail: Fail, value: unknown, path: string): RatchetMessage {
  const m = object(fail, value, path);
  return {
    header: checkRatchetHeader(fail, m.header, `${path}.header`),
    ciphertext: rangeBytes(
      fail,
      m.ciphertext,
      `${path}.ciphertext`,
      TAG_LENGTH,
      FIELD_LIMITS.ciphertextBytes,
    ),
  };
}

function headerCandidate(raw: cloister.v1.IRatchetHeader | null | undefined): unknown {
  if (raw === null || raw === undefined) return undefined;
  return {
    ratchetKey: raw.ratchetKey,
    previousChainLength: raw.previousChainLength,
    messageNumber: raw.messageNumber,
  };
}

/** @internal A candidate domain object from a parsed protobufjs object (checked by the caller). */
export function ratchetMessageCandidate(raw: cloister.v1.IRatchetMessage | null | undefined): unknown {
  if (raw === null || raw === undefined) return undefined;
  return { header: headerCandidate(raw.header), ciphertext: raw.ciphertext };
}

/** @internal Maps a checked domain object to its protobufjs form. */
export function ratchetMessageToWire(m: RatchetMessage): cloister.v1.IRatchetMessage {
  return { header: { ...m.header }, ciphertext: m.ciphertext };
}

/**
 * Encodes a `RatchetHeader` on its own in protobuf (it normally travels inside a ratchet
 * message). Not the 40 bytes the AEAD authenticates: those are crypto's
 * `canonicalRatchetHeaderBytes`. Throws `ValidationError` naming the field.
 *
 * @example
 * ```ts
 * import { encodeRatchetHeader } from '@cloister/protocol';
 * const out = await cipher.encrypt(plaintext);
 * if (out.type === 'ratchet') console.log(encodeRatchetHeader(out.message.header).length);
 * ```
 */
export function encodeRatchetHeader(header: RatchetHeader): Uint8Array {
  const checked = checkRatchetHeader(encodeFail, header, 'header');
  return encodeWith(checked, 'header', MAX_ENCODED_BYTES.ratchetHeader, (m, w) =>
    wire.RatchetHeader.encode(m, w),
  );
}

/**
 * Decodes a `RatchetHeader`; throws `DecodeError` with the field path (for example
 * `header.ratchetKey`).
 *
 * @example
 * ```ts
 * import { decodeRatchetHeader } from '@cloister/protocol';
 * const header = decodeRatchetHeader(bytes);
 * ```
 */
export function decodeRatchetHeader(bytes: Uint8Array): RatchetHeader {
  return decodeWith(bytes, {
    root: 'header',
    maxBytes: MAX_ENCODED_BYTES.ratchetHeader,
    parse: (r) => wire.RatchetHeader.decode(r),
    convert: (raw, path) => checkRatchetHeader(decodeFail, headerCandidate(raw), path),
  });
}

/**
 * Encodes a `RatchetMessage` of `@cloister/crypto` on its own (it normally travels inside a
 * `DeviceMessage`). Throws `ValidationError` naming the field.
 *
 * @example
 * ```ts
 * import { encodeRatchetMessage } from '@cloister/protocol';
 * const out = await cipher.encrypt(plaintext);
 * const encoded = out.type === 'ratchet' ? encodeRatchetMessage(out.message) : undefined;
 * ```
 */
export function encodeRatchetMessage(message: RatchetMessage): Uint8Array {
  const checked = checkRatchetMessage(encodeFail, message, 'ratchet');
  return encodeWith(ratchetMessageToWire(checked), 'ratchet', MAX_ENCODED_BYTES.ratchetMessage, (m, w) =>
    wire.RatchetMessage.encode(m, w),
  );
}

/**
 * Decodes a `RatchetMessage` of `@cloister/crypto`; throws `DecodeError` with the field path (for example
 * `ratchet.header.ratchetKey` or `ratchet.ciphertext`).
 *
 * @example
 * ```ts
 * import { decodeRatchetMessage } from '@cloister/protocol';
 * const { header, ciphertext } = decodeRatchetMessage(bytes);
 * ```
 */
export function decodeRatchetMessage(bytes: Uint8Array): RatchetMessage {
  return decodeWith(bytes, {
    root: 'ratchet',
    maxBytes: MAX_ENCODED_BYTES.ratchetMessage,
    parse: (r) => wire.RatchetMessage.decode(r),
    convert: (raw, path) => checkRatchetMessage(decodeFail, ratchetMessageCandidate(raw), path),
  });
}
