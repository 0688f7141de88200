/**
 * The record codec of the typed stores: UTF-8 JSON of `{"v": version, "d": data}` in which byte
 * strings appear as `{"$b": "<base64>"}`. Versioned so that a store can read every record format
 * it ever wrote; decoding never trusts the bytes (they may come from a damaged or hostile store).
 *
 * @module
 */
import { DecodeError } from '@cloister/crypto';

/**
 * A value a record may hold: JSON values and byte strings, nested in arrays and objects
 * (an `undefined` property is left out).
 *
 * @example
 * ```ts
 * const value: RecordValue = { name: 'ward 3', members: ['alice', 'bob'], key: new Uint8Array(32) };
 * const record = encodeRecord(1, value);
 * ```
 */
export type RecordValue =
  | string
  | number
  | boolean
  | null
  | Uint8Array
  | readonly RecordValue[]
  | { readonly [key: string]: RecordValue | undefined };

/**
 * A decoded record: its format version and its data, still to be checked by the store.
 *
 * @example
 * ```ts
 * const record: DecodedRecord = decodeRecord(bytes, 'settings');
 * if (record.v !== 1) throw new Error(`unknown settings format ${record.v}`);
 * ```
 */
export interface DecodedRecord {
  /** The format version the record was written with (an integer ≥ 1). */
  readonly v: number;
  /** The data, as decoded (byte strings as `Uint8Array`); not yet checked against any shape. */
  readonly d: unknown;
}

/**
 * Longest encoded record accepted by {@link decodeRecord} (16 MiB).
 *
 * @example
 * ```ts
 * if (bytes.length > MAX_RECORD_BYTES) console.warn('record too large to decode');
 * ```
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function fromBase64(text: string, path: string): Uint8Array {
  let raw: string;
  try {
    raw = atob(text);
  } catch {
    throw new DecodeError(path, 'invalid base64');
  }
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

/**
 * Encodes `data` as a record of format `version`.
 *
 * @example
 * ```ts
 * const bytes = encodeRecord(1, { name: 'ward 3', key: new Uint8Array(32) });
 * ```
 */
export function encodeRecord(version: number, data: RecordValue): Uint8Array {
  const json = JSON.stringify({ v: version, d: data }, (_key, value: unknown) =>
    value instanceof Uint8Array ? { $b: toBase64(value) } : value,
  );
  return encoder.encode(json);
}

/**
 * Decodes a record written by {@link encodeRecord}. Throws `DecodeError` (with `path` naming
 * the store) for anything else.
 *
 * @example
 * ```ts
 * const { v, d } = decodeRecord(bytes, 'settings');
 * ```
 */
export function decodeRecord(bytes: Uint8Array, path: string): DecodedRecord {
  if (!(bytes instanceof Uint8Array) || bytes.length > MAX_RECORD_BYTES) {
    throw new DecodeError(path, 'record too large or not bytes');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(bytes), (_key, value: unknown) => {
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const keys = Object.keys(value);
        if (keys.length === 1 && keys[0] === '$b') {
          const b = (value as { $b: unknown }).$b;
          if (typeof b !== 'string') throw new DecodeError(path, 'invalid byte string');
          return fromBase64(b, path);
        }
      }
      return value;
    });
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(path, 'not a valid record');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new DecodeError(path, 'not a valid record');
  }
  const { v, d } = parsed as { v?: unknown; d?: unknown };
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new DecodeError(path, 'missing record version');
  return { v, d };
}
