/**
 * Internal byte helpers of the organisation formats (`spec/organisation.md`): a bounded reader
 * whose failures are `DecodeError`s naming the field, identifier and integer checks shared by the
 * certificate, the envelope and the payloads, and base64url without padding. Not exported.
 *
 * @module
 */

import { DecodeError, utf8, ValidationError } from '@cloister/crypto';
import { BinaryReader } from '../internal/binary-reader.js';

/** Identifiers: 1..128 characters of `A-Z a-z 0-9 . _ - : @ +`, no leading or trailing dot (`ids.ts`). */
const ID_PATTERN = /^(?!\.)[A-Za-z0-9._\-:@+]{1,128}(?<!\.)$/;

/** Checks an identifier (tenant, user, pool, group, admin) and returns its bytes. */
export function idBytes(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    throw new ValidationError(field, 'an identifier of 1..128 characters from A-Z a-z 0-9 . _ - : @ +');
  }
  return utf8(value);
}

/** Checks an integer in `[min, max]` (at most 2^53 - 1). */
export function checkUint(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ValidationError(
      field,
      `an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '2^53 - 1' : max}]`,
    );
  }
  return value;
}

/** Checks a byte string of an exact length. */
export function checkFixed(value: unknown, field: string, length: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== length) {
    throw new ValidationError(field, `a Uint8Array of ${length} bytes`);
  }
  return value;
}

/** Runs a form check on decoded values: its `ValidationError` becomes a `DecodeError` at the same field. */
export function asDecode<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof ValidationError) throw new DecodeError(e.field, e.message.slice(e.field.length + 2));
    throw e;
  }
}

/**
 * A bounded reader over one object's bytes; every failure names the field. The shared
 * {@link BinaryReader} with UTF-8 text runs (a byte-order mark kept, so identifiers refuse it) and
 * an end check.
 */
export class Reader extends BinaryReader {
  text(n: number, path: string): string {
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(this.take(n, path));
    } catch (e) {
      if (e instanceof DecodeError) throw e;
      throw new DecodeError(path, 'UTF-8');
    }
  }

  /** `u8 len ‖ identifier`, checked with `brand`. */
  override id<T>(path: string, brand: (v: unknown) => T): T {
    const text = this.text(this.uint(1, `${path}.length`), path);
    try {
      return brand(text);
    } catch {
      throw new DecodeError(path, 'an identifier of 1..128 characters from A-Z a-z 0-9 . _ - : @ +');
    }
  }

  end(path: string): void {
    if (this.offset !== this.bytes.length) throw new DecodeError(path, 'no bytes after the end');
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Base64url without padding (RFC 4648 §5). */
export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) out += ALPHABET[(n >> (18 - 6 * j)) & 63];
  }
  return out;
}

/** Canonical base64url without padding, or undefined (wrong alphabet, padding, non-zero spare bits). */
export function fromBase64Url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const c of text) {
    acc = (acc << 6) | ALPHABET.indexOf(c);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}
