/**
 * Byte helpers: argument checks that name the field, constant-time comparison, wiping,
 * concatenation and encodings.
 *
 * @module
 */
import { ValidationError } from './errors.js';
import { runWipeHooks } from './internal/wipe-hooks.js';

/**
 * Checks that `value` is a `Uint8Array` (of `length` bytes when given) and returns it; throws
 * `ValidationError` naming `field` otherwise.
 *
 * @example
 * ```ts
 * const key = checkBytes(bytes, 'key', 32); // throws ValidationError "key: expected 32 bytes, got …"
 * ```
 */
export function checkBytes(value: unknown, field: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new ValidationError(
      field,
      length === undefined ? 'a Uint8Array' : `a Uint8Array of ${length} bytes`,
    );
  }
  if (length !== undefined && value.length !== length) {
    throw new ValidationError(field, `${length} bytes, got ${value.length}`);
  }
  return value;
}

/**
 * Checks that `value` is a safe integer in `[min, max]` and returns it; throws `ValidationError`
 * naming `field` otherwise.
 *
 * @example
 * ```ts
 * const contentType = checkInt(255, 'contentType', 0, 255); // 255
 * ```
 */
export function checkInt(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `an integer in [${min}, ${max}]`);
  }
  return value;
}

/**
 * Compares two byte arrays in time that depends only on their lengths, never on their contents.
 * Lengths are treated as public.
 *
 * @example
 * ```ts
 * const samePerson = equalBytes(bundle.identity.signingKey, pinned.signingKey);
 * ```
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * True when every byte is zero, in time that depends only on the length.
 *
 * @example
 * ```ts
 * isAllZero(new Uint8Array(32)); // true
 * ```
 */
export function isAllZero(a: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i]!;
  return acc === 0;
}

/**
 * Overwrites each array with zeros and drops what a provider derived from it (such as an imported
 * private key object). JavaScript cannot promise that no copy survives elsewhere (see
 * SECURITY.md); this removes the copies we own. `undefined` entries are skipped.
 *
 * @example
 * ```ts
 * const { dataKey } = await wrapDataKey(provider, { pin: '482916' });
 * // … use dataKey …
 * wipe(dataKey);
 * ```
 */
export function wipe(...arrays: (Uint8Array | undefined)[]): void {
  for (const a of arrays) {
    if (a === undefined) continue;
    a.fill(0);
    runWipeHooks(a);
  }
}

/**
 * Concatenates byte arrays into a new array.
 *
 * @example
 * ```ts
 * const framed = concatBytes(uintBE(bytes.length, 4), bytes);
 * ```
 */
export function concatBytes(...arrays: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const a of arrays) length += a.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

const encoder = new TextEncoder();

/**
 * UTF-8 encodes a string (used for labels and for text content).
 *
 * @example
 * ```ts
 * const plaintext = utf8('hello'); // Uint8Array [104, 101, 108, 108, 111]
 * ```
 */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Encodes bytes as lower-case hex.
 *
 * @example
 * ```ts
 * toHex(Uint8Array.of(0, 255)); // "00ff"
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, '0');
  return s;
}

/**
 * Decodes lower- or upper-case hex; throws {@link ValidationError} naming `field` on an odd
 * length or a non-hex character.
 *
 * @example
 * ```ts
 * fromHex('00ff'); // Uint8Array [0, 255]
 * ```
 */
export function fromHex(hex: string, field = 'hex'): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new ValidationError(field, 'an even-length hex string');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * Writes `value` (a non-negative safe integer) as a big-endian unsigned integer of `width`
 * bytes; higher bits that do not fit are dropped.
 *
 * @example
 * ```ts
 * uintBE(258, 2); // Uint8Array [1, 2]
 * ```
 */
export function uintBE(value: number, width: 1 | 2 | 4 | 8): Uint8Array {
  const out = new Uint8Array(width);
  let v = BigInt(value);
  for (let i = width - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
