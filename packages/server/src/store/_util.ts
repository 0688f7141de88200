/**
 * Internal helpers of the server stores: table names, key building, argument checks that name
 * the field (never the value), and record readers that throw `DecodeError` for anything a
 * damaged or hostile database could hand back.
 *
 * @module
 */
import { concatBytes, DecodeError, type DeviceId, deviceId, uintBE, ValidationError } from '@cloister/crypto';
import type { TenantId, UserId } from '@cloister/protocol';
import type { StorageTx } from '@cloister/storage';
import { decodeRecord, encodeRecord, type RecordValue } from '@cloister/storage';
import type { ServerPageOptions } from './common.js';
import { SERVER_TABLES } from './tables.js';

/** Every table of the server stores. */
export const T = SERVER_TABLES;

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const ZERO = new Uint8Array([0]);

/** The empty sort key of single-row partitions. */
export const NO_SORT = EMPTY;

/** Joins identifiers (which never contain 0x00) and fixed-width trailing bytes with 0x00. */
export function key(...parts: readonly (string | Uint8Array)[]): Uint8Array {
  const out: Uint8Array[] = [];
  parts.forEach((p, i) => {
    if (i > 0) out.push(ZERO);
    out.push(typeof p === 'string' ? encoder.encode(p) : p);
  });
  return concatBytes(...out);
}

/** The partition of everything kept per device. */
export function deviceKey(tenant: TenantId, user: UserId, device: DeviceId): Uint8Array {
  return key(tenant, user, uintBE(device, 4));
}

export const u32 = (n: number): Uint8Array => uintBE(n, 4);
export const u64 = (n: number): Uint8Array => uintBE(n, 8);

/** Reads a big-endian unsigned integer of up to 8 bytes (values up to 2^53 - 1). */
export function readUint(bytes: Uint8Array, offset: number, width: number): number {
  let v = 0;
  for (let i = 0; i < width; i++) v = v * 256 + (bytes[offset + i] ?? 0);
  return v;
}

// ---------------------------------------------------------------- argument checks

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** A string of 1..`max` characters without control characters. */
export function checkText(value: unknown, field: string, max: number, min = 1): string {
  if (typeof value !== 'string' || value.length < min || value.length > max || hasControl(value)) {
    throw new ValidationError(field, `a string of ${min}..${max} characters without control characters`);
  }
  return value;
}

export function checkInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `an integer in [${min}, ${max}]`);
  }
  return value;
}

export function checkTime(value: unknown, field: string): number {
  return checkInteger(value, field, 0, Number.MAX_SAFE_INTEGER);
}

export function checkBool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ValidationError(field, 'a boolean');
  return value;
}

export function checkBytesIn(value: unknown, field: string, min: number, max: number): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length < min || value.length > max) {
    throw new ValidationError(
      field,
      min === max ? `a Uint8Array of ${min} bytes` : `a Uint8Array of ${min}..${max} bytes`,
    );
  }
  return value;
}

export function checkObject(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new ValidationError(field, 'an object');
  }
  return value as Record<string, unknown>;
}

export function checkArray(value: unknown, field: string, max: number): readonly unknown[] {
  if (!Array.isArray(value) || value.length > max)
    throw new ValidationError(field, `an array of at most ${max} items`);
  return value;
}

/** Checks a list of ids with `brand`, refusing duplicates; returns them sorted. */
export function checkIdList<T extends string>(
  value: unknown,
  field: string,
  max: number,
  brand: (v: unknown) => T,
): T[] {
  const list = checkArray(value, field, max).map((v, i) => {
    try {
      return brand(v);
    } catch {
      throw new ValidationError(`${field}[${i}]`, 'an identifier');
    }
  });
  const sorted = [...new Set(list)].sort();
  if (sorted.length !== list.length) throw new ValidationError(field, 'no duplicates');
  return sorted;
}

/**
 * Checks a JSON-like value a record can hold: plain objects, arrays, strings, finite numbers,
 * booleans, null and byte strings, at most `depth` levels deep. Keys `$b` are refused (the
 * record codec uses them for bytes).
 */
export function checkJson(value: unknown, field: string, depth = 8): RecordValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ValidationError(field, 'finite numbers');
    return value;
  }
  if (value instanceof Uint8Array) return value;
  if (depth <= 0) throw new ValidationError(field, 'at most 8 levels of nesting');
  if (Array.isArray(value)) return value.map((v, i) => checkJson(v, `${field}[${i}]`, depth - 1));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, RecordValue> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '$b') throw new ValidationError(field, 'no key named $b');
      if (v === undefined) continue;
      out[k] = checkJson(v, `${field}.${k}`, depth - 1);
    }
    return out;
  }
  throw new ValidationError(
    field,
    'JSON-like data (objects, arrays, strings, numbers, booleans, null, bytes)',
  );
}

/** Brands with `brand`, turning its error into one naming `field`. */
export function checkId<T>(value: unknown, field: string, brand: (v: unknown) => T): T {
  try {
    return brand(value);
  } catch {
    throw new ValidationError(field, 'an identifier of 1..128 characters from A-Z a-z 0-9 . _ - : @ +');
  }
}

export function checkDeviceId(value: unknown, field = 'device'): DeviceId {
  return deviceId(checkInteger(value, field, 0, 0xffff_ffff));
}

// ---------------------------------------------------------------- records

/** Encodes `data` as a version-1 record. */
export function write(data: RecordValue): Uint8Array {
  return encodeRecord(1, data);
}

/** Decodes a record of `table` and returns its data object (format version 1). */
export function read(bytes: Uint8Array, table: string): Rec {
  const { v, d } = decodeRecord(bytes, table);
  if (v !== 1) throw new DecodeError(table, 'unknown record version');
  if (typeof d !== 'object' || d === null || Array.isArray(d) || d instanceof Uint8Array) {
    throw new DecodeError(table, 'not an object');
  }
  return new Rec(d as Record<string, unknown>, table);
}

/** Typed field access on a decoded record; every mismatch is a `DecodeError` naming the field. */
export class Rec {
  constructor(
    readonly data: Record<string, unknown>,
    readonly path: string,
  ) {}

  private fail(k: string, what: string): never {
    throw new DecodeError(`${this.path}.${k}`, `expected ${what}`);
  }

  has(k: string): boolean {
    return this.data[k] !== undefined && this.data[k] !== null;
  }

  str(k: string, max = 4096): string {
    const v = this.data[k];
    if (typeof v !== 'string' || v.length > max) this.fail(k, 'a string');
    return v;
  }

  int(k: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.data[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) this.fail(k, 'an integer');
    return v;
  }

  bool(k: string): boolean {
    const v = this.data[k];
    if (typeof v !== 'boolean') this.fail(k, 'a boolean');
    return v;
  }

  bytes(k: string, min = 0, max = Number.MAX_SAFE_INTEGER): Uint8Array {
    const v = this.data[k];
    if (!(v instanceof Uint8Array) || v.length < min || v.length > max) this.fail(k, 'bytes');
    return v;
  }

  arr(k: string): unknown[] {
    const v = this.data[k];
    if (!Array.isArray(v)) this.fail(k, 'an array');
    return v;
  }

  strs(k: string, brand: (v: unknown) => string = (v) => v as string): string[] {
    return this.arr(k).map((v) => {
      if (typeof v !== 'string') this.fail(k, 'strings');
      try {
        return brand(v);
      } catch {
        return this.fail(k, 'identifiers');
      }
    });
  }

  obj(k: string): Rec {
    const v = this.data[k];
    if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array)
      this.fail(k, 'an object');
    return new Rec(v as Record<string, unknown>, `${this.path}.${k}`);
  }

  /** A brand check on a stored id: a failure is a `DecodeError`, not a `ValidationError`. */
  id<T>(k: string, brand: (v: unknown) => T): T {
    try {
      return brand(this.data[k]);
    } catch {
      return this.fail(k, 'an identifier');
    }
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads an id stored as a sort key; anything else is a `DecodeError` naming the table. */
export function idFromKey<T>(bytes: Uint8Array, table: string, brand: (v: unknown) => T): T {
  try {
    return brand(strictUtf8.decode(bytes));
  } catch {
    throw new DecodeError(table, 'invalid key');
  }
}

/** Reads and decodes one row, or `undefined` when absent. */
export async function getRec(
  tx: StorageTx,
  table: string,
  partition: Uint8Array,
  sort: Uint8Array,
  forUpdate = false,
): Promise<Rec | undefined> {
  const row = await tx.get(table, partition, sort, forUpdate ? { forUpdate: true } : undefined);
  return row === undefined ? undefined : read(row.value, table);
}

export function checkPage(options: ServerPageOptions | undefined): {
  after: string | undefined;
  limit: number;
} {
  const o = options ?? {};
  if (o.after !== undefined && (typeof o.after !== 'string' || o.after.length > 1024)) {
    throw new ValidationError('after', 'a cursor string');
  }
  return {
    after: o.after,
    limit: o.limit === undefined ? 100 : checkInteger(o.limit, 'limit', 1, 1000),
  };
}
