/**
 * A byte writer and a bounds-checked reader for the canonical v2 layouts. The reader throws
 * `DecodeError` naming the field path where decoding failed and never reads past its input.
 */
import { DecodeError } from '../errors.js';

export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf.fill(0);
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.reserve(1);
    this.buf[this.length++] = v;
    return this;
  }

  u16(v: number): this {
    this.reserve(2);
    this.view.setUint16(this.length, v);
    this.length += 2;
    return this;
  }

  u32(v: number): this {
    this.reserve(4);
    this.view.setUint32(this.length, v);
    this.length += 4;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  /** The written bytes (a view of the internal buffer, trimmed to length). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  /** Overwrites the internal buffer; call after copying out what is needed. */
  wipe(): void {
    this.buf.fill(0);
  }
}

export class Reader {
  private readonly view: DataView;
  offset = 0;

  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  private need(n: number, path: string): void {
    if (this.remaining < n) throw new DecodeError(path, `truncated: needs ${n} more bytes`);
  }

  u8(path: string): number {
    this.need(1, path);
    return this.buf[this.offset++]!;
  }

  u16(path: string): number {
    this.need(2, path);
    const v = this.view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }

  u32(path: string): number {
    this.need(4, path);
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  /** A copy of the next `n` bytes. */
  bytes(n: number, path: string): Uint8Array {
    this.need(n, path);
    const out = this.buf.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** A copy of everything left. */
  rest(): Uint8Array {
    const out = this.buf.slice(this.offset);
    this.offset = this.buf.length;
    return out;
  }

  /** A boolean byte: 0 or 1, anything else is an error. */
  flag(path: string): boolean {
    const v = this.u8(path);
    if (v > 1) throw new DecodeError(path, 'expected 0 or 1');
    return v === 1;
  }

  end(path: string): void {
    if (this.remaining !== 0) throw new DecodeError(path, `${this.remaining} trailing bytes`);
  }
}
