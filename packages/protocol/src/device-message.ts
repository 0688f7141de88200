/**
 * `DeviceMessage`: the versioned wrapper of every encrypted message from one device to another.
 * It says which suite produced the body; the decoder checks that suite and body agree.
 *
 * @module
 */
import type { InitialMessage, RatchetMessage } from '@cloister/crypto';
import { cloister } from './generated/cloister.js';
import { checkInitialMessage, initialCandidate, initialToWire } from './initial.js';
import {
  decodeFail,
  encodeFail,
  enumValue,
  type Fail,
  int,
  literal,
  object,
  oneof,
} from './internal/check.js';
import { decodeWith, encodeWith } from './internal/codec.js';
import { SUITE_FROM_WIRE } from './internal/suite-wire.js';
import { MAX_ENCODED_BYTES } from './limits.js';
import { checkRatchetMessage, ratchetMessageCandidate, ratchetMessageToWire } from './ratchet.js';
import { checkStaticV1Message, type StaticV1Message, staticV1ToWire } from './static-v1.js';

const wire = cloister.v1;

/**
 * The wire format version this package writes and the only one it reads.
 *
 * @example
 * ```ts
 * import { WIRE_VERSION } from '@cloister/protocol';
 * console.log(WIRE_VERSION); // 1
 * ```
 */
export const WIRE_VERSION = 1;

/**
 * One encrypted message between two devices: a static-v1 message, or a v2 initial or ratchet
 * message. A v2 `DeviceMessage` is a `CiphertextMessage` of `@cloister/crypto` plus `suite`:
 * `SessionCipher.encrypt` output goes in as `{ suite: 'v2', ...out }`, and a decoded v2 message
 * goes to `SessionCipher.decrypt` as it is.
 *
 * @example
 * ```ts
 * const out: DeviceMessage = { suite: 'v2', ...(await cipher.encrypt(plaintext)) };
 * ```
 */
export type DeviceMessage =
  | { readonly suite: 'static-v1'; readonly type: 'static-v1'; readonly message: StaticV1Message }
  | { readonly suite: 'v2'; readonly type: 'initial'; readonly message: InitialMessage }
  | { readonly suite: 'v2'; readonly type: 'ratchet'; readonly message: RatchetMessage };

const SUITE_OF_TYPE = { 'static-v1': 'static-v1', initial: 'v2', ratchet: 'v2' } as const;

function checkDeviceMessage(fail: Fail, value: unknown, path: string): DeviceMessage {
  const o = object(fail, value, path);
  const type = literal(fail, o.type, `${path}.type`, ['static-v1', 'initial', 'ratchet']);
  const suite = SUITE_OF_TYPE[type];
  literal(fail, o.suite, `${path}.suite`, [suite]);
  const at = `${path}.message`;
  switch (type) {
    case 'static-v1':
      return { suite: 'static-v1', type, message: checkStaticV1Message(fail, o.message, at) };
    case 'initial':
      return { suite: 'v2', type, message: checkInitialMessage(fail, o.message, at) };
    case 'ratchet':
      return { suite: 'v2', type, message: checkRatchetMessage(fail, o.message, at) };
  }
}

function deviceMessageFromWire(raw: cloister.v1.DeviceMessage, path: string): DeviceMessage {
  int(decodeFail, raw.version, `${path}.version`, WIRE_VERSION, WIRE_VERSION);
  const suite = enumValue(decodeFail, raw.suite, `${path}.suite`, SUITE_FROM_WIRE);
  const body = oneof(decodeFail, raw, `${path}.message`, ['staticV1', 'initial', 'ratchet']);
  let candidate: unknown;
  switch (body) {
    case 'staticV1': {
      const m = raw.staticV1!;
      candidate = { suite, type: 'static-v1', message: { senderKey: m.senderKey, sealed: m.sealed } };
      break;
    }
    case 'initial':
      candidate = { suite, type: 'initial', message: initialCandidate(raw.initial) };
      break;
    case 'ratchet':
      candidate = { suite, type: 'ratchet', message: ratchetMessageCandidate(raw.ratchet) };
      break;
  }
  return checkDeviceMessage(decodeFail, candidate, path);
}

function deviceMessageToWire(m: DeviceMessage): cloister.v1.IDeviceMessage {
  switch (m.type) {
    case 'static-v1':
      return {
        version: WIRE_VERSION,
        suite: wire.Suite.SUITE_STATIC_V1,
        staticV1: staticV1ToWire(m.message),
      };
    case 'initial':
      return { version: WIRE_VERSION, suite: wire.Suite.SUITE_V2, initial: initialToWire(m.message) };
    case 'ratchet':
      return { version: WIRE_VERSION, suite: wire.Suite.SUITE_V2, ratchet: ratchetMessageToWire(m.message) };
  }
}

/**
 * Encodes a {@link DeviceMessage} with version {@link WIRE_VERSION}. Throws `ValidationError`
 * naming the field, including when `suite` does not match `type`.
 *
 * @example
 * ```ts
 * import { encodeDeviceMessage } from '@cloister/protocol';
 * const out = await cipher.encrypt(plaintext); // crypto's CiphertextMessage
 * const frame = encodeDeviceMessage({ suite: 'v2', ...out });
 * ```
 */
export function encodeDeviceMessage(message: DeviceMessage): Uint8Array {
  const checked = checkDeviceMessage(encodeFail, message, 'deviceMessage');
  return encodeWith(deviceMessageToWire(checked), 'deviceMessage', MAX_ENCODED_BYTES.deviceMessage, (m, w) =>
    wire.DeviceMessage.encode(m, w),
  );
}

/**
 * Decodes a {@link DeviceMessage}: the version must be {@link WIRE_VERSION}, exactly one body
 * must be present, and the suite must be the one that produces that body. Throws `DecodeError`
 * with the field path (for example `deviceMessage.suite` or
 * `deviceMessage.message.header.ratchetKey`).
 *
 * @example
 * ```ts
 * import { decodeDeviceMessage } from '@cloister/protocol';
 * const m = decodeDeviceMessage(frame);
 * const plaintext = m.suite === 'v2' ? await cipher.decrypt(m) : undefined; // static-v1: its own opener
 * ```
 */
export function decodeDeviceMessage(bytes: Uint8Array): DeviceMessage {
  return decodeWith(bytes, {
    root: 'deviceMessage',
    maxBytes: MAX_ENCODED_BYTES.deviceMessage,
    parse: (r) => wire.DeviceMessage.decode(r),
    convert: deviceMessageFromWire,
  });
}
