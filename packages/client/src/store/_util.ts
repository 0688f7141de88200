/**
 * Internal helpers of the client stores: key encodings, random tie-breakers and the checks that
 * turn decoded record data into typed values (throwing `DecodeError`) or caller input into
 * checked values (throwing `ValidationError`).
 *
 * @module
 */
import { DecodeError, type DeviceAddress, type DeviceId, deviceId, ValidationError } from '@cloister/crypto';
import { type UserId, userId } from '@cloister/protocol';
import { decodeRecord, encodeRecord, type RecordValue } from '@cloister/storage';

export const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, false);
  return out;
}

export function readU32(bytes: Uint8Array, offset = 0): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, false);
}

/** Big-endian 8 bytes of a non-negative safe integer, so byte order is numeric order. */
export function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(value / 0x1_0000_0000), false);
  view.setUint32(4, value >>> 0, false);
  return out;
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Random bytes for tie-breakers and generations (not secrets). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

export function toHexString(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export function fromHexString(text: string, field: string, length: number): Uint8Array {
  if (typeof text !== 'string' || text.length !== length * 2 || !/^[0-9a-f]*$/.test(text)) {
    throw new ValidationError(field, `a cursor of ${length * 2} lower-case hex characters`);
  }
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

// ---- input checks -------------------------------------------------------------------------

export function checkObjectArg(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(field, 'an object');
  }
  return value as Record<string, unknown>;
}

export function checkUint32Arg(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new ValidationError(field, 'an unsigned 32-bit integer');
  }
  return value;
}

export function checkTime(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(field, 'a non-negative safe integer (ms since the epoch)');
  }
  return value;
}

export function checkOptionalExpiry(value: unknown, field = 'expiresAt'): number | null {
  if (value === undefined || value === null) return null;
  return checkTime(value, field);
}

export function checkBytesArg(value: unknown, field: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array) || (length !== undefined && value.length !== length)) {
    throw new ValidationError(
      field,
      length === undefined ? 'a Uint8Array' : `a Uint8Array of ${length} bytes`,
    );
  }
  return value;
}

export function checkBooleanArg(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ValidationError(field, 'a boolean');
  return value;
}

export function checkLimitArg(value: unknown, fallback: number, max: number, field = 'limit'): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new ValidationError(field, `an integer in 1..${max}`);
  }
  return value;
}

/** A checked device address whose user id is a valid {@link UserId}. */
export interface CheckedAddress {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
}

export function checkAddressArg(value: unknown, field = 'address'): CheckedAddress {
  const o = checkObjectArg(value, field);
  let user: UserId;
  try {
    user = userId(o.userId);
  } catch {
    throw new ValidationError(`${field}.userId`, 'a UserId (1..128 characters of A-Z a-z 0-9 . _ - : @ +)');
  }
  return { userId: user, deviceId: deviceId(checkUint32Arg(o.deviceId, `${field}.deviceId`)) };
}

/** Partition and sort key of a per-device row: partition = user id, sort = u32 device id. */
export function addressKeys(address: DeviceAddress | CheckedAddress): {
  partition: Uint8Array;
  sort: Uint8Array;
} {
  return { partition: utf8Bytes(address.userId), sort: u32(address.deviceId) };
}

// ---- record decoding ------------------------------------------------------------------------

/** Decodes a record of the given version and returns its data as an object. */
export function decodeObject(bytes: Uint8Array, path: string, version: number): Record<string, unknown> {
  const { v, d } = decodeRecord(bytes, path);
  if (v !== version) throw new DecodeError(path, 'unsupported record version');
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw new DecodeError(path, 'not an object');
  return d as Record<string, unknown>;
}

export function encode(version: number, data: RecordValue): Uint8Array {
  return encodeRecord(version, data);
}

export function dBytes(o: Record<string, unknown>, key: string, path: string, length?: number): Uint8Array {
  const v = o[key];
  if (!(v instanceof Uint8Array) || (length !== undefined && v.length !== length)) {
    throw new DecodeError(
      `${path}.${key}`,
      length === undefined ? 'expected bytes' : `expected ${length} bytes`,
    );
  }
  return v;
}

export function dUint32(o: Record<string, unknown>, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
    throw new DecodeError(`${path}.${key}`, 'expected an unsigned 32-bit integer');
  }
  return v;
}

export function dTime(o: Record<string, unknown>, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new DecodeError(`${path}.${key}`, 'expected a time');
  }
  return v;
}

export function dTimeOrNull(o: Record<string, unknown>, key: string, path: string): number | null {
  return o[key] === null ? null : dTime(o, key, path);
}

export function dBoolean(o: Record<string, unknown>, key: string, path: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') throw new DecodeError(`${path}.${key}`, 'expected a boolean');
  return v;
}

export function dString(o: Record<string, unknown>, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new DecodeError(`${path}.${key}`, 'expected a string');
  return v;
}

/** Applies a brand constructor to decoded data, turning its ValidationError into DecodeError. */
export function dBranded<T>(
  o: Record<string, unknown>,
  key: string,
  path: string,
  make: (v: unknown) => T,
): T {
  try {
    return make(o[key]);
  } catch {
    throw new DecodeError(`${path}.${key}`, 'expected a valid identifier');
  }
}

/** Reads a u32 sort key, refusing one of another length. */
export function sortU32(sort: Uint8Array, path: string): number {
  if (sort.length !== 4) throw new DecodeError(`${path}.sort`, 'expected 4 bytes');
  return readU32(sort);
}
