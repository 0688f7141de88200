/**
 * The wire form of a suite `static-v1` message: the sender's static key and the suite's output
 * carried byte for byte. Authentication is entirely the suite's (HMAC over
 * `version | iv | ciphertext`, see `spec/static-v1.md`); no protobuf bytes are authenticated.
 *
 * @module
 */
import { cloister } from './generated/cloister.js';
import { decodeFail, encodeFail, type Fail, fixedBytes, object, rangeBytes } from './internal/check.js';
import { decodeWith, encodeWith } from './internal/codec.js';
import { FIELD_LIMITS, MAX_ENCODED_BYTES } from './limits.js';

const wire = cloister.v1;

/**
 * Smallest `sealed` value: version (1) + IV (16) + one AES block (16) + MAC (32) = 65 bytes.
 * Longer values add whole 16-byte blocks.
 *
 * @example
 * ```ts
 * import { STATIC_V1_MIN_SEALED } from '@cloister/protocol';
 * const { sealed } = decodeStaticV1Message(bytes);
 * console.log(sealed.length >= STATIC_V1_MIN_SEALED); // true: the decoder refuses shorter values
 * ```
 */
export const STATIC_V1_MIN_SEALED = 65;
/** Bytes of a `sealed` value that are not ciphertext blocks: version, IV and MAC (49). */
const SEALED_OVERHEAD = 49;

/**
 * A static-v1 message as sent between devices.
 *
 * @example
 * ```ts
 * import { staticV1Encrypt } from '@cloister/crypto';
 * const sealed = await staticV1Encrypt(provider, { sender: staticKeys, recipientPublicKey: peerStaticKey, plaintext });
 * const message: StaticV1Message = { senderKey: staticKeys.publicKey, sealed };
 * ```
 */
export interface StaticV1Message {
  /**
   * The sender's static X25519 public key (32 bytes). The receiver uses it only after checking
   * that it belongs to the sender named by the surrounding envelope.
   */
  readonly senderKey: Uint8Array;
  /**
   * The static-v1 suite's output, unchanged: `version(1) | iv(16) | ciphertext(16k) | mac(32)`,
   * 65 .. 263168 bytes with `length - 49` a multiple of 16.
   */
  readonly sealed: Uint8Array;
}

/** @internal Shared by both directions: the same rules for what is encoded and what is accepted. */
export function checkStaticV1Message(fail: Fail, value: unknown, path: string): StaticV1Message {
  const m = object(fail, value, path);
  const senderKey = fixedBytes(fail, m.senderKey, `${path}.senderKey`, 32);
  const sealed = rangeBytes(
    fail,
    m.sealed,
    `${path}.sealed`,
    STATIC_V1_MIN_SEALED,
    FIELD_LIMITS.ciphertextBytes,
  );
  if ((sealed.length - SEALED_OVERHEAD) % 16 !== 0) {
    fail(`${path}.sealed`, '49 + 16k bytes (version, IV, whole AES blocks, MAC)');
  }
  return { senderKey, sealed };
}

/** Maps a parsed protobufjs object to the domain, checking every field. */
function staticV1FromWire(raw: cloister.v1.IStaticV1Message, path: string): StaticV1Message {
  return checkStaticV1Message(decodeFail, { senderKey: raw.senderKey, sealed: raw.sealed }, path);
}

/** @internal Maps a checked domain object to its protobufjs form. */
export function staticV1ToWire(m: StaticV1Message): cloister.v1.IStaticV1Message {
  return { senderKey: m.senderKey, sealed: m.sealed };
}

/**
 * Encodes a {@link StaticV1Message}. Throws `ValidationError` naming the field.
 *
 * @example
 * ```ts
 * import { encodeStaticV1Message } from '@cloister/protocol';
 * import { staticV1Encrypt } from '@cloister/crypto';
 * const sealed = await staticV1Encrypt(provider, { sender: staticKeys, recipientPublicKey: peerStaticKey, plaintext });
 * const encoded = encodeStaticV1Message({ senderKey: staticKeys.publicKey, sealed });
 * ```
 */
export function encodeStaticV1Message(message: StaticV1Message): Uint8Array {
  const checked = checkStaticV1Message(encodeFail, message, 'staticV1');
  return encodeWith(staticV1ToWire(checked), 'staticV1', MAX_ENCODED_BYTES.staticV1Message, (m, w) =>
    wire.StaticV1Message.encode(m, w),
  );
}

/**
 * Decodes a {@link StaticV1Message}; throws `DecodeError` with the field path (for example
 * `staticV1.sealed`).
 *
 * @example
 * ```ts
 * import { decodeStaticV1Message } from '@cloister/protocol';
 * const { senderKey, sealed } = decodeStaticV1Message(bytes);
 * ```
 */
export function decodeStaticV1Message(bytes: Uint8Array): StaticV1Message {
  return decodeWith(bytes, {
    root: 'staticV1',
    maxBytes: MAX_ENCODED_BYTES.staticV1Message,
    parse: (r) => wire.StaticV1Message.decode(r),
    convert: staticV1FromWire,
  });
}
