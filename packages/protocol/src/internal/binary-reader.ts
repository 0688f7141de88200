/**
 * Reading the hand-defined binary formats (device lists, revocation lists, reach statements):
 * fixed-width big-endian integers, raw byte runs and length-prefixed identifiers, each failure a
 * `DecodeError` naming the field's path.
 *
 * @module
 */
import { DecodeError } from '@cloister/crypto';

/** @internal A cursor over one encoded object. */
export class BinaryReader {
  offset = 0;

  /** `what` names the object in "ends early" errors, such as `list` or `revocation list`. */
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {}

  /** The next `n` bytes (a copy). */
  take(n: number, path: string): Uint8Array {
    if (this.offset + n > this.bytes.length) throw new DecodeError(path, `the ${this.what} ends early`);
    const out = this.bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** A big-endian unsigned integer of `width` bytes, below 2^53. */
  uint(width: 1 | 2 | 4 | 8, path: string): number {
    const b = this.take(width, path);
    let v = 0;
    for (const x of b) v = v * 256 + x;
    if (!Number.isSafeInteger(v)) throw new DecodeError(path, 'an integer below 2^53');
    return v;
  }

  /** An identifier: `u8 length ‖ UTF-8`, checked with `brand`. */
  id<T>(path: string, brand: (v: unknown) => T): T {
    const n = this.uint(1, `${path}.length`);
    const raw = this.take(n, path);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw new DecodeError(path, 'UTF-8');
    }
    try {
      return brand(text);
    } catch {
      throw new DecodeError(path, 'an identifier of 1..128 characters from A-Z a-z 0-9 . _ - : @ +');
    }
  }

  /** Whether every byte was read. */
  get done(): boolean {
    return this.offset === this.bytes.length;
  }
}
