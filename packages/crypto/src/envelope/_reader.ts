/** Bounds-checked big-endian reader for envelope structures; every failure names its path. */
import { DecodeError } from '../errors.js';

export class Reader {
  private offset = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly base: string,
  ) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  take(length: number, field: string): Uint8Array {
    if (length > this.remaining) throw new DecodeError(`${this.base}.${field}`, 'truncated');
    const out = this.bytes.slice(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  uint(width: 1 | 2 | 4 | 8, field: string): number {
    const b = this.take(width, field);
    let v = 0;
    for (const x of b) v = v * 256 + x;
    if (v > Number.MAX_SAFE_INTEGER) throw new DecodeError(`${this.base}.${field}`, 'integer too large');
    return v;
  }

  rest(): Uint8Array {
    return this.take(this.remaining, 'rest');
  }

  end(): void {
    if (this.remaining !== 0) throw new DecodeError(this.base, 'trailing bytes');
  }
}

/** Strict UTF-8 decoding of peer bytes. */
export function decodeUtf8(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new DecodeError(path, 'not UTF-8');
  }
}
