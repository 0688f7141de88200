/**
 * Argument checks shared by every adapter, so that all of them accept and reject the same
 * inputs with the same `ValidationError`s. Messages name the field, never its value.
 *
 * @module
 */
import { toHex, ValidationError } from '@cloister/crypto';
import {
  type ListOptions,
  MAX_BATCH_ROWS,
  MAX_KEY_BYTES,
  MAX_LIST_LIMIT,
  MAX_VALUE_BYTES,
  type Row,
  type RowInput,
  type RowKey,
  TABLE_NAME_PATTERN,
  type TakeOptions,
} from './adapter.js';

export function checkTable(table: unknown): string {
  if (typeof table !== 'string' || !TABLE_NAME_PATTERN.test(table)) {
    throw new ValidationError('table', 'a table name matching /^[a-z][a-z0-9_]{0,47}$/');
  }
  return table;
}

/** A key field: a single call's own name, or the same name under a batch element (`rows[3].sort`). */
type KeyField = 'partition' | 'sort' | 'after' | 'prefix' | `${string}.partition` | `${string}.sort`;

export function checkKey(value: unknown, field: KeyField): Uint8Array {
  if (!(value instanceof Uint8Array) || value.length > MAX_KEY_BYTES) {
    throw new ValidationError(field, `a Uint8Array of at most ${MAX_KEY_BYTES} bytes`);
  }
  return value;
}

export function checkExpiry(value: unknown, field = 'expiresAt'): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(field, 'null or a non-negative safe integer (ms since the epoch)');
  }
  return value;
}

/**
 * Checks one row to write. `at` names the row inside a batch (`rows[3]`), so that the fields
 * become `rows[3].partition` and so on; a single `put` leaves it out (fields `row`, `partition`, ...).
 */
export function checkRowInput(row: unknown, at?: string): Row {
  if (typeof row !== 'object' || row === null) throw new ValidationError(at ?? 'row', 'an object');
  const r = row as RowInput;
  const partition = checkKey(r.partition, at === undefined ? 'partition' : `${at}.partition`);
  const sort = checkKey(r.sort, at === undefined ? 'sort' : `${at}.sort`);
  if (!(r.value instanceof Uint8Array) || r.value.length > MAX_VALUE_BYTES) {
    throw new ValidationError(
      at === undefined ? 'value' : `${at}.value`,
      `a Uint8Array of at most ${MAX_VALUE_BYTES} bytes`,
    );
  }
  return {
    partition,
    sort,
    value: r.value,
    expiresAt: checkExpiry(r.expiresAt, at === undefined ? 'expiresAt' : `${at}.expiresAt`),
  };
}

/** Checks the key of one row of a batch; `at` names it (`keys[3]`). */
export function checkRowKey(key: unknown, at: string): RowKey {
  if (typeof key !== 'object' || key === null) throw new ValidationError(at, 'an object');
  const k = key as RowKey;
  return { partition: checkKey(k.partition, `${at}.partition`), sort: checkKey(k.sort, `${at}.sort`) };
}

/** The array of a batch call: an array of at most {@link MAX_BATCH_ROWS} elements. */
function checkBatch(items: unknown, field: string): readonly unknown[] {
  if (!Array.isArray(items) || items.length > MAX_BATCH_ROWS) {
    throw new ValidationError(
      field,
      `an array of at most ${MAX_BATCH_ROWS} ${field.endsWith('keys') ? 'keys' : 'rows'}`,
    );
  }
  return items;
}

/** Refuses two elements of a batch with the same key, naming the later one. */
function checkDistinct(keys: readonly RowKey[], field: string): void {
  if (keys.length < 2) return;
  const seen = new Map<string, number>();
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as RowKey;
    const id = `${toHex(k.partition)}/${toHex(k.sort)}`;
    const first = seen.get(id);
    if (first !== undefined) {
      throw new ValidationError(
        `${field}[${i}]`,
        `a key other than that of ${field}[${first}] (keys in one call must be distinct)`,
      );
    }
    seen.set(id, i);
  }
}

/**
 * Checks the rows of `putMany`: an array of at most {@link MAX_BATCH_ROWS} rows, each as `put`
 * checks it (fields `rows[i].…`), no two with the same key. Checks everything before the caller
 * writes anything.
 */
export function checkRowInputs(rows: unknown, field = 'rows'): Row[] {
  const list = checkBatch(rows, field);
  const out: Row[] = [];
  // An index loop, not `map`: holes of a sparse array must be checked (and refused) too.
  for (let i = 0; i < list.length; i++) out.push(checkRowInput(list[i], `${field}[${i}]`));
  checkDistinct(out, field);
  return out;
}

/**
 * Checks the keys of `getMany` (duplicates allowed) or `deleteMany` (`distinct`): an array of at
 * most {@link MAX_BATCH_ROWS} keys, each checked like the key arguments of `get` (fields `keys[i].…`).
 */
export function checkRowKeys(keys: unknown, distinct: boolean): RowKey[] {
  const list = checkBatch(keys, 'keys');
  const out: RowKey[] = [];
  for (let i = 0; i < list.length; i++) out.push(checkRowKey(list[i], `keys[${i}]`));
  if (distinct) checkDistinct(out, 'keys');
  return out;
}

export function checkLimit(value: unknown, fallback: number, field = 'limit'): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_LIST_LIMIT) {
    throw new ValidationError(field, `an integer in 1..${MAX_LIST_LIMIT}`);
  }
  return value;
}

export interface CheckedList {
  readonly after: Uint8Array | undefined;
  readonly prefix: Uint8Array | undefined;
  readonly limit: number;
  readonly reverse: boolean;
}

export function checkListOptions(options: ListOptions | undefined): CheckedList {
  const o = options ?? {};
  return {
    after: o.after === undefined ? undefined : checkKey(o.after, 'after'),
    prefix: o.prefix === undefined ? undefined : checkKey(o.prefix, 'prefix'),
    limit: checkLimit(o.limit, 100),
    reverse: o.reverse === true,
  };
}

export function checkTakeOptions(options: TakeOptions | undefined): {
  limit: number;
  prefix: Uint8Array | undefined;
} {
  const o = options ?? {};
  return {
    limit: checkLimit(o.limit, 1),
    prefix: o.prefix === undefined ? undefined : checkKey(o.prefix, 'prefix'),
  };
}

/**
 * Unsigned lexicographic comparison, the order of sort keys in every adapter: negative when `a`
 * sorts first, positive when `b` does, 0 when they are equal (a prefix sorts before its extensions).
 *
 * @example
 * ```ts
 * compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3)); // → negative
 * compareBytes(Uint8Array.of(1), Uint8Array.of(1, 0)); // → negative
 * const sorted = [Uint8Array.of(9), Uint8Array.of(0, 1)].sort(compareBytes); // [00 01], [09]
 * ```
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** The smallest byte string greater than every string starting with `prefix`, or undefined. */
export function prefixUpperBound(prefix: Uint8Array): Uint8Array | undefined {
  const out = prefix.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if ((out[i] as number) < 0xff) {
      out[i] = (out[i] as number) + 1;
      return out.subarray(0, i + 1);
    }
  }
  return undefined;
}

export function isLive(expiresAt: number | null, now: number): boolean {
  return expiresAt === null || expiresAt > now;
}

export interface CheckedPurge {
  readonly batchSize: number;
  /** A fixed time, or undefined to read the adapter's clock per batch. */
  readonly now: number | undefined;
  readonly tables: readonly string[] | undefined;
  readonly onProgress: ((progress: { deleted: number; batches: number }) => void) | undefined;
  readonly signal: AbortSignal | undefined;
}

/** Checks the options of `purgeExpired` once, before anything is deleted. */
export function checkPurgeOptions(options: unknown): CheckedPurge {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new ValidationError('options', 'an object');
  }
  const o = (options ?? {}) as Record<string, unknown>;
  const now = o.now;
  if (now !== undefined && (typeof now !== 'number' || !Number.isSafeInteger(now) || now < 0)) {
    throw new ValidationError('now', 'a non-negative safe integer (ms since the epoch)');
  }
  const tables = o.tables;
  if (tables !== undefined && !Array.isArray(tables))
    throw new ValidationError('tables', 'an array of table names');
  const onProgress = o.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new ValidationError('onProgress', 'a function');
  }
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new ValidationError('signal', 'an AbortSignal');
  return {
    batchSize: checkLimit(o.batchSize, 500, 'batchSize'),
    now,
    tables: tables?.map(checkTable),
    onProgress: onProgress as CheckedPurge['onProgress'],
    signal,
  };
}
