/**
 * The IndexedDB adapter. IndexedDB transactions commit by themselves as soon as no request is
 * pending, so they cannot stay open across the `await`s of an adapter transaction. Instead the
 * adapter runs one transaction at a time (a mutex, plus a Web Lock across tabs), reads through
 * short read-only IndexedDB transactions merged with the transaction's own pending writes, and
 * commits all those writes in one read-write IndexedDB transaction at the end.
 *
 * @module
 */
import { StorageError, toHex } from '@cloister/crypto';
import {
  checkKey,
  checkListOptions,
  checkPurgeOptions,
  checkRowInput,
  checkRowInputs,
  checkRowKeys,
  checkTable,
  checkTakeOptions,
  compareBytes,
  isLive,
  startsWith,
} from '../_check.js';
import { checkClaims, claimInSteps } from '../_claims.js';
import { Mutex } from '../_mutex.js';
import { singleCallGuard } from '../_single.js';
import type {
  ClaimedRows,
  GetOptions,
  ListOptions,
  PartitionUsage,
  PurgeOptions,
  PurgeProgress,
  PutOptions,
  Row,
  RowInput,
  RowKey,
  StorageAdapter,
  StorageTx,
  TakeOptions,
  TransactionOptions,
} from '../adapter.js';
import { Overlay } from './_overlay.js';
import { listBounds, type PurgePosition, type Rows } from './_rows.js';
import type { StoredRow } from './_schema.js';

function copyRow(row: Row): Row {
  return {
    partition: row.partition.slice(),
    sort: row.sort.slice(),
    value: row.value.slice(),
    expiresAt: row.expiresAt,
  };
}

/** Index entries one purge batch may look at, per row it may delete. */
const PURGE_SCAN_FACTOR = 8;

export class IndexedDbAdapter implements StorageAdapter {
  readonly kind = 'indexeddb' as const;
  private readonly mutex = new Mutex();
  private closed = false;
  private lost = false;

  constructor(
    private readonly rows: Rows,
    readonly now: () => number,
    private readonly locks: LockManager | undefined,
    private readonly lockName: string,
  ) {}

  /** The connection was closed from outside (another tab upgrading or deleting the database). */
  connectionLost(): void {
    this.lost = true;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(() => {
      if (this.locks === undefined) return fn();
      return this.locks.request(this.lockName, { mode: 'exclusive' }, () => fn()) as Promise<T>;
    });
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError('the store is closed');
    if (this.lost) {
      throw new StorageError('indexeddb: the connection was closed for an upgrade or deletion elsewhere');
    }
  }

  transaction<T>(fn: (tx: StorageTx) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.exclusive(async () => {
      this.checkOpen();
      const tx = new IndexedDbTx(this.rows, this.now());
      let result: T;
      try {
        result = await fn(singleCallGuard(tx, options));
      } catch (error) {
        await tx.finish();
        throw error;
      }
      await tx.finish();
      if (!tx.overlay.empty) await this.rows.commit(tx.overlay);
      return result;
    });
  }

  async purgeExpired(options?: PurgeOptions): Promise<PurgeProgress> {
    const o = checkPurgeOptions(options);
    const { batchSize, tables } = o;
    let deleted = 0;
    let batches = 0;
    let position: PurgePosition | undefined;
    for (;;) {
      if (o.signal?.aborted) break;
      const now = o.now ?? this.now();
      const from = position;
      const batch = await this.exclusive(async () => {
        this.checkOpen();
        return this.rows.purgeBatch(now, batchSize, batchSize * PURGE_SCAN_FACTOR, tables, from);
      });
      position = batch.position;
      if (batch.deleted > 0) {
        deleted += batch.deleted;
        batches++;
        o.onProgress?.({ deleted, batches });
      }
      if (batch.exhausted) break;
    }
    return { deleted, batches };
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => {
      if (this.closed) return;
      this.closed = true;
      this.rows.close();
    });
  }
}

class IndexedDbTx implements StorageTx {
  readonly overlay = new Overlay();
  /** Operations of this transaction run one at a time, so each sees the previous one's writes. */
  private readonly ops = new Mutex();
  private done = false;

  constructor(
    private readonly rows: Rows,
    readonly now: number,
  ) {}

  /** Waits for operations already started, then refuses new ones. */
  finish(): Promise<void> {
    return this.ops.run(async () => {
      this.done = true;
    });
  }

  private active(): void {
    if (this.done) throw new StorageError('the transaction has already ended');
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    return this.ops.run(async () => {
      this.active();
      return fn();
    });
  }

  /** The row this transaction sees at a key, live or expired. */
  private async lookup(
    table: string,
    partition: Uint8Array,
    sort: Uint8Array,
  ): Promise<Row | StoredRow | undefined> {
    const p = this.overlay.find(table, partition);
    const pending = p?.rows.get(toHex(sort));
    if (pending !== undefined) return pending ?? undefined;
    if (p?.cleared === true) return undefined;
    return this.rows.get(table, partition, sort);
  }

  /**
   * The rows this transaction sees at many keys of one table, live or expired: pending writes
   * first, the rest read from IndexedDB in one read-only transaction.
   */
  private async lookupMany(table: string, keys: readonly RowKey[]): Promise<(Row | StoredRow | undefined)[]> {
    const found = new Array<Row | StoredRow | undefined>(keys.length).fill(undefined);
    const stored: number[] = [];
    for (const [i, k] of keys.entries()) {
      const p = this.overlay.find(table, k.partition);
      const pending = p?.rows.get(toHex(k.sort));
      if (pending !== undefined) found[i] = pending ?? undefined;
      else if (p?.cleared !== true) stored.push(i);
    }
    const rows = await this.rows.getMany(
      table,
      stored.map((i) => keys[i] as RowKey),
    );
    for (const [j, i] of stored.entries()) found[i] = rows[j];
    return found;
  }

  /**
   * The first `limit` live rows of a partition in the given order, merging pending writes over
   * stored rows.
   */
  private async select(
    table: string,
    partition: Uint8Array,
    prefix: Uint8Array | undefined,
    after: Uint8Array | undefined,
    reverse: boolean,
    limit: number,
  ): Promise<Row[]> {
    const match = (sort: Uint8Array): boolean =>
      (prefix === undefined || startsWith(sort, prefix)) &&
      (after === undefined || (reverse ? compareBytes(sort, after) < 0 : compareBytes(sort, after) > 0));
    const p = this.overlay.find(table, partition);
    const rows: Row[] = [];
    if (p !== undefined) {
      for (const row of p.rows.values()) {
        if (row !== null && isLive(row.expiresAt, this.now) && match(row.sort)) rows.push(row);
      }
    }
    if (p?.cleared !== true) {
      let stored = 0;
      await this.rows.scan(
        table,
        partition,
        listBounds(prefix, after, reverse),
        { reverse, keysOnly: false },
        (sort, row) => {
          const r = row as StoredRow;
          if (p?.rows.has(toHex(sort)) === true || !isLive(r.expiresAt, this.now) || !match(sort))
            return true;
          rows.push({ partition, sort, value: r.value, expiresAt: r.expiresAt });
          stored++;
          return stored < limit;
        },
      );
    }
    rows.sort((a, b) => (reverse ? compareBytes(b.sort, a.sort) : compareBytes(a.sort, b.sort)));
    return rows.slice(0, limit).map(copyRow);
  }

  async get(
    table: string,
    partition: Uint8Array,
    sort: Uint8Array,
    _options?: GetOptions,
  ): Promise<Row | undefined> {
    this.active();
    checkTable(table);
    checkKey(partition, 'partition');
    checkKey(sort, 'sort');
    return this.run(async () => {
      const row = await this.lookup(table, partition, sort);
      if (row === undefined || !isLive(row.expiresAt, this.now)) return undefined;
      return copyRow({ partition, sort, value: row.value, expiresAt: row.expiresAt });
    });
  }

  async put(table: string, input: RowInput, options?: PutOptions): Promise<boolean> {
    this.active();
    checkTable(table);
    const row = copyRow(checkRowInput(input));
    return this.run(async () => {
      if (options?.ifAbsent === true) {
        const existing = await this.lookup(table, row.partition, row.sort);
        if (existing !== undefined && isLive(existing.expiresAt, this.now)) return false;
      }
      this.overlay.set(table, row.partition, row.sort, row);
      return true;
    });
  }

  async delete(table: string, partition: Uint8Array, sort: Uint8Array): Promise<boolean> {
    this.active();
    checkTable(table);
    checkKey(partition, 'partition');
    checkKey(sort, 'sort');
    return this.run(async () => {
      const existing = await this.lookup(table, partition, sort);
      if (existing === undefined) return false;
      this.overlay.set(table, partition, sort, null);
      return isLive(existing.expiresAt, this.now);
    });
  }

  async putMany(table: string, rows: readonly RowInput[], options?: PutOptions): Promise<boolean[]> {
    this.active();
    checkTable(table);
    const checked = checkRowInputs(rows).map(copyRow);
    return this.run(async () => {
      // The keys of a call are distinct, so each row's check sees the state before the call.
      const existing =
        options?.ifAbsent === true ? await this.lookupMany(table, checked) : checked.map(() => undefined);
      return checked.map((row, i) => {
        const before = existing[i];
        if (before !== undefined && isLive(before.expiresAt, this.now)) return false;
        this.overlay.set(table, row.partition, row.sort, row);
        return true;
      });
    });
  }

  async claimMany(table: string, claims: readonly RowInput[], behind: ClaimedRows): Promise<boolean[]> {
    this.active();
    checkTable(table);
    return claimInSteps(
      (t, rows, ifAbsent) => this.putMany(t, rows, { ifAbsent }),
      table,
      checkClaims(table, claims, behind),
    );
  }

  async getMany(table: string, keys: readonly RowKey[]): Promise<(Row | undefined)[]> {
    this.active();
    checkTable(table);
    const checked = checkRowKeys(keys, false);
    return this.run(async () => {
      const found = await this.lookupMany(table, checked);
      return found.map((row, i) => {
        if (row === undefined || !isLive(row.expiresAt, this.now)) return undefined;
        const k = checked[i] as RowKey;
        return copyRow({ partition: k.partition, sort: k.sort, value: row.value, expiresAt: row.expiresAt });
      });
    });
  }

  async deleteMany(table: string, keys: readonly RowKey[]): Promise<boolean[]> {
    this.active();
    checkTable(table);
    const checked = checkRowKeys(keys, true);
    return this.run(async () => {
      const found = await this.lookupMany(table, checked);
      return found.map((row, i) => {
        if (row === undefined) return false;
        const k = checked[i] as RowKey;
        this.overlay.set(table, k.partition, k.sort, null);
        return isLive(row.expiresAt, this.now);
      });
    });
  }

  async list(table: string, partition: Uint8Array, options?: ListOptions): Promise<Row[]> {
    this.active();
    checkTable(table);
    const o = checkListOptions(options);
    checkKey(partition, 'partition');
    return this.run(() => this.select(table, partition, o.prefix, o.after, o.reverse, o.limit));
  }

  async take(table: string, partition: Uint8Array, options?: TakeOptions): Promise<Row[]> {
    this.active();
    checkTable(table);
    const o = checkTakeOptions(options);
    checkKey(partition, 'partition');
    return this.run(async () => {
      const rows = await this.select(table, partition, o.prefix, undefined, false, o.limit);
      for (const row of rows) this.overlay.set(table, partition, row.sort, null);
      return rows;
    });
  }

  async count(
    table: string,
    partition: Uint8Array,
    options?: { readonly prefix?: Uint8Array },
  ): Promise<number> {
    this.active();
    checkTable(table);
    const prefix = options?.prefix === undefined ? undefined : checkKey(options.prefix, 'prefix');
    checkKey(partition, 'partition');
    return this.run(async () => (await this.tally(table, partition, prefix)).rows);
  }

  async usage(table: string, partition: Uint8Array): Promise<PartitionUsage> {
    this.active();
    checkTable(table);
    checkKey(partition, 'partition');
    return this.run(() => this.tally(table, partition, undefined));
  }

  /** The live rows of a partition (under `prefix`) and their value bytes, pending writes merged. */
  private async tally(
    table: string,
    partition: Uint8Array,
    prefix: Uint8Array | undefined,
  ): Promise<PartitionUsage> {
    const p = this.overlay.find(table, partition);
    let rows = 0;
    let bytes = 0;
    if (p !== undefined) {
      for (const row of p.rows.values()) {
        if (
          row !== null &&
          isLive(row.expiresAt, this.now) &&
          (prefix === undefined || startsWith(row.sort, prefix))
        ) {
          rows++;
          bytes += row.value.length;
        }
      }
    }
    if (p?.cleared !== true) {
      await this.rows.scan(
        table,
        partition,
        listBounds(prefix, undefined, false),
        { reverse: false, keysOnly: false },
        (sort, row) => {
          const stored = row as StoredRow;
          if (p?.rows.has(toHex(sort)) !== true && isLive(stored.expiresAt, this.now)) {
            rows++;
            bytes += stored.value.length;
          }
          return true;
        },
      );
    }
    return { rows, bytes };
  }

  async deletePartition(table: string, partition: Uint8Array): Promise<number> {
    this.active();
    checkTable(table);
    checkKey(partition, 'partition');
    return this.run(async () => {
      const p = this.overlay.find(table, partition);
      let n = 0;
      if (p !== undefined) for (const row of p.rows.values()) if (row !== null) n++;
      if (p?.cleared !== true) {
        await this.rows.scan(table, partition, {}, { reverse: false, keysOnly: true }, (sort) => {
          if (p?.rows.has(toHex(sort)) !== true) n++;
          return true;
        });
      }
      const cleared = this.overlay.ensure(table, partition);
      cleared.cleared = true;
      cleared.rows.clear();
      return n;
    });
  }
}
