/**
 * Access to the rows store: point reads and ordered scans in short read-only transactions, the
 * one read-write commit of an adapter transaction, and purge batches over the expiry index.
 *
 * @module
 */
import { fromHex } from '@cloister/crypto';
import { compareBytes, prefixUpperBound } from '../_check.js';
import { idbError, runTransaction } from './_idb.js';
import type { Overlay } from './_overlay.js';
import {
  EXPIRY_INDEX,
  keyPartBytes,
  partitionEnd,
  type RowKey,
  rowKey,
  type StoredRow,
  storedRow,
} from './_schema.js';

/** One end of a sort-key range; `open` excludes the bound itself. */
export interface Bound {
  readonly sort: Uint8Array;
  readonly open: boolean;
}

/** A sort-key range inside one partition; a missing end is the partition's end. */
export interface Bounds {
  readonly lower?: Bound | undefined;
  readonly upper?: Bound | undefined;
}

/** Where a purge stopped: the last index entry it looked at. */
export interface PurgePosition {
  readonly expiresAt: number;
  readonly key: RowKey;
}

export interface PurgeBatch {
  readonly deleted: number;
  /** The scan reached the end of the expired range. */
  readonly exhausted: boolean;
  readonly position: PurgePosition | undefined;
}

const EMPTY = new Uint8Array(0);

/**
 * The range `[lower, upper]` of `sort` that matches `prefix` and lies strictly beyond `after`
 * in the scan direction.
 */
export function listBounds(
  prefix: Uint8Array | undefined,
  after: Uint8Array | undefined,
  reverse: boolean,
): Bounds {
  let lower: Bound | undefined = prefix === undefined ? undefined : { sort: prefix, open: false };
  let upper: Bound | undefined;
  if (prefix !== undefined) {
    const end = prefixUpperBound(prefix);
    upper = end === undefined ? undefined : { sort: end, open: true };
  }
  if (after !== undefined) {
    if (reverse) {
      if (upper === undefined || compareBytes(after, upper.sort) < 0) upper = { sort: after, open: true };
    } else if (lower === undefined || compareBytes(after, lower.sort) >= 0) {
      lower = { sort: after, open: true };
    }
  }
  return { lower, upper };
}

export class Rows {
  constructor(
    private readonly db: IDBDatabase,
    private readonly factory: IDBFactory,
    private readonly keyRange: typeof IDBKeyRange,
  ) {}

  /** The key range of `bounds` in one partition, or `null` when it is empty. */
  private range(table: string, partition: Uint8Array, bounds: Bounds): IDBKeyRange | null {
    const lower = bounds.lower ?? { sort: EMPTY, open: false };
    const upper = bounds.upper;
    if (upper !== undefined) {
      const c = compareBytes(lower.sort, upper.sort);
      if (c > 0 || (c === 0 && (lower.open || upper.open))) return null;
    }
    try {
      return this.keyRange.bound(
        rowKey(table, partition, lower.sort),
        upper === undefined ? partitionEnd(table, partition) : rowKey(table, partition, upper.sort),
        lower.open,
        upper === undefined ? true : upper.open,
      );
    } catch (error) {
      throw idbError('read', error);
    }
  }

  /** Reads one stored row, live or expired. */
  get(table: string, partition: Uint8Array, sort: Uint8Array): Promise<StoredRow | undefined> {
    return runTransaction(this.db, 'readonly', 'read', (store) => {
      const request = store.get(rowKey(table, partition, sort));
      return () => (request.result === undefined ? undefined : storedRow(request.result));
    });
  }

  /**
   * Reads many stored rows of one table, live or expired, in one read-only transaction (one
   * request per key); `result[i]` is the row keyed `keys[i]`.
   */
  getMany(
    table: string,
    keys: readonly { readonly partition: Uint8Array; readonly sort: Uint8Array }[],
  ): Promise<(StoredRow | undefined)[]> {
    if (keys.length === 0) return Promise.resolve([]);
    return runTransaction(this.db, 'readonly', 'read', (store) => {
      const requests = keys.map((k) => store.get(rowKey(table, k.partition, k.sort)));
      return () => requests.map((r) => (r.result === undefined ? undefined : storedRow(r.result)));
    });
  }

  /**
   * Visits the stored rows of `bounds` in order, in one read-only transaction, until `visit`
   * returns `false`. With `keysOnly` the values are not read and `row` is `undefined`.
   */
  scan(
    table: string,
    partition: Uint8Array,
    bounds: Bounds,
    options: { readonly reverse: boolean; readonly keysOnly: boolean },
    visit: (sort: Uint8Array, row: StoredRow | undefined) => boolean,
  ): Promise<void> {
    const range = this.range(table, partition, bounds);
    if (range === null) return Promise.resolve();
    return runTransaction(this.db, 'readonly', 'read', (store, guard) => {
      const direction = options.reverse ? 'prev' : 'next';
      const request = options.keysOnly
        ? store.openKeyCursor(range, direction)
        : store.openCursor(range, direction);
      request.onsuccess = guard(() => {
        const cursor = request.result;
        if (cursor === null) return;
        const sort = keyPartBytes((cursor.primaryKey as RowKey)[2]);
        const row = options.keysOnly ? undefined : storedRow((cursor as IDBCursorWithValue).value);
        if (visit(sort, row)) cursor.continue();
      });
      return () => undefined;
    });
  }

  /** Applies every pending write of `overlay` in one read-write transaction. */
  commit(overlay: Overlay): Promise<void> {
    return runTransaction(this.db, 'readwrite', 'commit', (store) => {
      for (const p of overlay.partitions.values()) {
        if (p.cleared) {
          const all = this.range(p.table, p.partition, {});
          if (all !== null) store.delete(all);
        }
        for (const [sortHex, row] of p.rows) {
          const key = rowKey(p.table, p.partition, fromHex(sortHex));
          if (row === null) store.delete(key);
          else store.put({ value: row.value, expiresAt: row.expiresAt } satisfies StoredRow, key);
        }
      }
      return () => undefined;
    });
  }

  /**
   * Deletes up to `batchSize` rows expired at `now` (of `tables` only, when given) in one
   * read-write transaction, walking the expiry index from `from`. Looks at no more than
   * `maxScan` index entries, so rows of other tables cannot make a batch unbounded.
   */
  purgeBatch(
    now: number,
    batchSize: number,
    maxScan: number,
    tables: readonly string[] | undefined,
    from: PurgePosition | undefined,
  ): Promise<PurgeBatch> {
    if (from !== undefined && from.expiresAt > now) {
      return Promise.resolve({ deleted: 0, exhausted: true, position: from });
    }
    return runTransaction(this.db, 'readwrite', 'purge', (store, guard) => {
      const range =
        from === undefined ? this.keyRange.upperBound(now) : this.keyRange.bound(from.expiresAt, now);
      const request = store.index(EXPIRY_INDEX).openKeyCursor(range);
      let deleted = 0;
      let scanned = 0;
      let exhausted = false;
      let position = from;
      let first = true;
      request.onsuccess = guard(() => {
        const cursor = request.result;
        if (cursor === null) {
          exhausted = true;
          return;
        }
        const expiresAt = cursor.key as number;
        const key = cursor.primaryKey as RowKey;
        if (from !== undefined && expiresAt === from.expiresAt) {
          const c = this.factory.cmp(key, from.key);
          if (c < 0 && first) {
            first = false;
            cursor.continuePrimaryKey(from.expiresAt, from.key);
            return;
          }
          if (c <= 0) {
            first = false;
            cursor.continue();
            return;
          }
        }
        first = false;
        scanned++;
        position = { expiresAt, key };
        if (tables === undefined || tables.includes(key[0])) {
          store.delete(key);
          deleted++;
        }
        if (deleted < batchSize && scanned < maxScan) cursor.continue();
      });
      return () => ({ deleted, exhausted, position });
    });
  }

  close(): void {
    this.db.close();
  }
}
