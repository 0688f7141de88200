/**
 * The wire form of a v2 initial message (handshake fields plus the first ratchet message), as
 * `@cloister/crypto`'s `InitialMessage` with branded prekey ids. What the handshake authenticates
 * and digests is crypto's canonical layout of these fields (`canonicalInitialHandshakeBytes`),
 * rebuilt after decoding, never these protobuf bytes.
 *
 * @module
 */
import { type InitialMessage, kemPreKeyId, oneTimePreKeyId, signedPreKeyId } from '@cloister/crypto';
import { checkPublicIdentity, identityCandidate } from './bundle.js';
import { cloister } from './generated/cloister.js';
import { decodeFail, encodeFail, type Fail, fixedBytes, int, literal, object } from './internal/check.js';
import { decodeWith, encodeWith } from './internal/codec.js';
import { KEM_CIPHERTEXT_LENGTH, KEY_LENGTH } from './internal/sizes.js';
import { MAX_ENCODED_BYTES } from './limits.js';
import { checkRatchetMessage, ratchetMessageCandidate, ratchetMessageToWire } from './ratchet.js';

const wire = cloister.v1;

/** @internal Shared by both directions. */
export function checkInitialMessage(fail: Fail, value: unknown, path: string): InitialMessage {
  const o = object(fail, value, path);
  const message: InitialMessage = {
    suite: literal(fail, o.suite, `${path}.suite`, ['v2']),
    initiatorIdentity: checkPublicIdentity(fail, o.initiatorIdentity, `${path}.initiatorIdentity`),
    baseKey: fixedBytes(fail, o.baseKey, `${path}.baseKey`, KEY_LENGTH),
    signedPreKeyId: signedPreKeyId(int(fail, o.signedPreKeyId, `${path}.signedPreKeyId`)),
    kemPreKeyId: kemPreKeyId(int(fail, o.kemPreKeyId, `${path}.kemPreKeyId`)),
    kemCiphertext: fixedBytes(fail, o.kemCiphertext, `${path}.kemCiphertext`, KEM_CIPHERTEXT_LENGTH),
    message: checkRatchetMessage(fail, o.message, `${path}.message`),
  };
  if (o.oneTimePreKeyId === undefined) return message;
  return {
    ...message,
    oneTimePreKeyId: oneTimePreKeyId(int(fail, o.oneTimePreKeyId, `${path}.oneTimePreKeyId`)),
  };
}

/** @internal A candidate domain object from a parsed protobufjs object (checked by the caller). */
export function initialCandidate(raw: cloister.v1.IInitialMessage | null | undefined): unknown {
  if (raw === null || raw === undefined) return undefined;
  return {
    suite: 'v2',
    initiatorIdentity: identityCandidate(raw.initiatorIdentity),
    baseKey: raw.baseKey,
    signedPreKeyId: raw.signedPreKeyId,
    oneTimePreKeyId: raw.oneTimePreKeyId === null ? undefined : raw.oneTimePreKeyId,
    kemPreKeyId: raw.kemPreKeyId,
    kemCiphertext: raw.kemCiphertext,
    message: ratchetMessageCandidate(raw.message),
  };
}

/** @internal Maps a checked domain object to its protobufjs form. */
export function initialToWire(m: InitialMessage): cloister.v1.IInitialMessage {
  const raw: cloister.v1.IInitialMessage = {
    initiatorIdentity: { ...m.initiatorIdentity },
    baseKey: m.baseKey,
    signedPreKeyId: m.signedPreKeyId,
    kemPreKeyId: m.kemPreKeyId,
    kemCiphertext: m.kemCiphertext,
    message: ratchetMessageToWire(m.message),
  };
  if (m.oneTimePreKeyId !== undefined) raw.oneTimePreKeyId = m.oneTimePreKeyId;
  return raw;
}

/**
 * Encodes an `InitialMessage` of `@cloister/crypto` on its own (it normally travels inside a
 * `DeviceMessage`). Throws `ValidationError` naming the field.
 *
 * @example
 * ```ts
 * import { encodeInitialMessage } from '@cloister/protocol';
 * const out = await cipher.encrypt(plaintext); // the first message of a session is an initial one
 * if (out.type === 'initial') console.log(encodeInitialMessage(out.message).length);
 * ```
 */
export function encodeInitialMessage(message: InitialMessage): Uint8Array {
  const checked = checkInitialMessage(encodeFail, message, 'initial');
  return encodeWith(initialToWire(checked), 'initial', MAX_ENCODED_BYTES.initialMessage, (m, w) =>
    wire.InitialMessage.encode(m, w),
  );
}

/**
 * Decodes an `InitialMessage` of `@cloister/crypto`; throws `DecodeError` with the field path
 * (for example `initial.kemCiphertext` or `initial.message.header.ratchetKey`).
 *
 * @example
 * ```ts
 * import { decodeInitialMessage } from '@cloister/protocol';
 * const initial = decodeInitialMessage(bytes);
 * ```
 */
export function decodeInitialMessage(bytes: Uint8Array): InitialMessage {
  return decodeWith(bytes, {
    root: 'initial',
    maxBytes: MAX_ENCODED_BYTES.initialMessage,
    parse: (r) => wire.InitialMessage.decode(r),
    convert: (raw, path) => checkInitialMessage(decodeFail, initialCandidate(raw), path),
  });
}
