/**
 * Byte helpers: argument checks that name the field, constant-time comparison, wiping,
 * concatenation and encodings.
 *
 * @module
 */
import { ValidationError } from './errors.js';
import { runWipeHooks } from './internal/wipe-hooks.js';

/**
 * Checks that `value` is a `Uint8Array` (of `length` bytes when given) and returns it.
 *
 * @example
 * ```ts
 * const key = checkBytes(input, 'key', 32);
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

/** Checks that `value` is an integer in `[min, max]` and returns it. */
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
 * if (!equalBytes(expectedTag, receivedTag)) throw new DecryptionFailed();
 * ```
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** True when every byte is zero, in time that depends only on the length. */
export function isAllZero(a: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i]!;
  return acc === 0;
}

/**
 * Overwrites each array with zeros and drops what a provider derived from it (such as an imported
 * private key object). JavaScript cannot promise that no copy survives elsewhere (see
 * SECURITY.md); this removes the copies we own.
 */
export function wipe(...arrays: (Uint8Array | undefined)[]): void {
  for (const a of arrays) {
    if (a === undefined) continue;
    a.fill(0);
    runWipeHooks(a);
  }
}

/** Concatenates byte arrays into a new array. */
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

/** UTF-8 encodes a string (used for labels and for text content). */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Encodes bytes as lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += bytes[i]!.toString(16).padStart(2, '0');
  return s;
}

/** Decodes lower- or upper-case hex; throws {@link ValidationError} naming `field` on bad input. */
export function fromHex(hex: string, field = 'hex'): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new ValidationError(field, 'an even-length hex string');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Writes `value` as a big-endian unsigned integer of `width` bytes. */
export function uintBE(value: number, width: 1 | 2 | 4 | 8): Uint8Array {
  const out = new Uint8Array(width);
  let v = BigInt(value);
  for (let i = width - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
