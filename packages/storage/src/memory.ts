/**
 * The in-memory reference adapter: the executable statement of the adapter contract, used by
 * tests, examples and short-lived tools. It runs one transaction at a time and keeps an undo log,
 * so a callback that throws leaves nothing behind.
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
} from './_check.js';
import { checkClaims, claimInSteps } from './_claims.js';
import { Mutex } from './_mutex.js';
import { singleCallGuard } from './_single.js';
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
} from './adapter.js';

/**
 * Options of {@link createMemoryAdapter}.
 *
 * @example
 * ```ts
 * let clock = 1_700_000_000_000;
 * const options: MemoryAdapterOptions = { now: () => clock };
 * const db = createMemoryAdapter(options);
 * clock += 60_000; // rows with expiresAt up to the new time are now hidden
 * ```
 */
export interface MemoryAdapterOptions {
  /** The clock for expiry (default `Date.now`). */
  readonly now?: () => number;
}

type Partition = Map<string, Row>;
type Table = Map<string, Partition>;

function copyRow(row: Row): Row {
  return {
    partition: row.partition.slice(),
    sort: row.sort.slice(),
    value: row.value.slice(),
    expiresAt: row.expiresAt,
  };
}

/**
 * Creates an empty in-memory adapter.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * import { createMemoryAdapter } from '@cloister/storage';
 * const db = createMemoryAdapter();
 * await db.transaction(async (tx) => {
 *   await tx.put('settings', { partition: new Uint8Array(), sort: utf8('theme'), value: utf8('dark') });
 * });
 * ```
 */
export function createMemoryAdapter(options: MemoryAdapterOptions = {}): StorageAdapter {
  return new MemoryAdapter(options.now ?? Date.now);
}

class MemoryAdapter implements StorageAdapter {
  readonly kind = 'memory';
  private readonly tables = new Map<string, Table>();
  private readonly mutex = new Mutex();
  private closed = false;

  constructor(readonly now: () => number) {}

  transaction<T>(fn: (tx: StorageTx) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.mutex.run(async () => {
      this.checkOpen();
      const undo: (() => void)[] = [];
      const tx = new MemoryTx(this.tables, this.now(), undo);
      try {
        const result = await fn(singleCallGuard(tx, options));
        tx.finish();
        return result;
      } catch (error) {
        tx.finish();
        for (let i = undo.length - 1; i >= 0; i--) (undo[i] as () => void)();
        throw error;
      }
    });
  }

  async purgeExpired(options?: PurgeOptions): Promise<PurgeProgress> {
    const o = checkPurgeOptions(options);
    const { batchSize, tables } = o;
    let deleted = 0;
    let batches = 0;
    for (;;) {
      if (o.signal?.aborted) break;
      const now = o.now ?? this.now();
      const n = await this.mutex.run(async () => {
        this.checkOpen();
        let count = 0;
        for (const [name, table] of this.tables) {
          if (tables !== undefined && !tables.includes(name)) continue;
          for (const [pk, partition] of table) {
            for (const [sk, row] of partition) {
              if (count >= batchSize) return count;
              if (!isLive(row.expiresAt, now)) {
                partition.delete(sk);
                count++;
              }
            }
            if (partition.size === 0) table.delete(pk);
          }
        }
        return count;
      });
      if (n === 0) break;
      deleted += n;
      batches++;
      o.onProgress?.({ deleted, batches });
      if (n < batchSize) break;
    }
    return { deleted, batches };
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => {
      this.closed = true;
      this.tables.clear();
    });
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError('the store is closed');
  }
}

class MemoryTx implements StorageTx {
  private done = false;

  constructor(
    private readonly tables: Map<string, Table>,
    readonly now: number,
    private readonly undo: (() => void)[],
  ) {}

  finish(): void {
    this.done = true;
  }

  private active(): void {
    if (this.done) throw new StorageError('the transaction has already ended');
  }

  private partition(table: string, partition: Uint8Array, create: true): Partition;
  private partition(table: string, partition: Uint8Array, create: false): Partition | undefined;
  private partition(table: string, partition: Uint8Array, create: boolean): Partition | undefined {
    let t = this.tables.get(table);
    if (t === undefined) {
      if (!create) return undefined;
      t = new Map();
      this.tables.set(table, t);
    }
    const key = toHex(partition);
    let p = t.get(key);
    if (p === undefined && create) {
      p = new Map();
      t.set(key, p);
    }
    return p;
  }

  private setRow(p: Partition, key: string, row: Row | undefined): void {
    const before = p.get(key);
    if (row === undefined) p.delete(key);
    else p.set(key, row);
    this.undo.push(() => {
      if (before === undefined) p.delete(key);
      else p.set(key, before);
    });
  }

  private liveSorted(p: Partition | undefined, prefix: Uint8Array | undefined): Row[] {
    if (p === undefined) return [];
    const rows: Row[] = [];
    for (const row of p.values()) {
      if (isLive(row.expiresAt, this.now) && (prefix === undefined || startsWith(row.sort, prefix)))
        rows.push(row);
    }
    return rows.sort((a, b) => compareBytes(a.sort, b.sort));
  }

  async get(
    table: string,
    partition: Uint8Array,
    sort: Uint8Array,
    _options?: GetOptions,
  ): Promise<Row | undefined> {
    this.active();
    checkTable(table);
    const p = this.partition(table, checkKey(partition, 'partition'), false);
    const sortHex = toHex(checkKey(sort, 'sort'));
    const row = p?.get(sortHex);
    return row !== undefined && isLive(row.expiresAt, this.now) ? copyRow(row) : undefined;
  }

  async put(table: string, input: RowInput, options?: PutOptions): Promise<boolean> {
    this.active();
    checkTable(table);
    const row = copyRow(checkRowInput(input));
    const p = this.partition(table, row.partition, true);
    const key = toHex(row.sort);
    if (options?.ifAbsent === true) {
      const existing = p.get(key);
      if (existing !== undefined && isLive(existing.expiresAt, this.now)) return false;
    }
    this.setRow(p, key, row);
    return true;
  }

  async delete(table: string, partition: Uint8Array, sort: Uint8Array): Promise<boolean> {
    this.active();
    checkTable(table);
    const p = this.partition(table, checkKey(partition, 'partition'), false);
    const key = toHex(checkKey(sort, 'sort'));
    const existing = p?.get(key);
    if (p === undefined || existing === undefined) return false;
    this.setRow(p, key, undefined);
    return isLive(existing.expiresAt, this.now);
  }

  async putMany(table: string, rows: readonly RowInput[], options?: PutOptions): Promise<boolean[]> {
    this.active();
    checkTable(table);
    const checked = checkRowInputs(rows);
    const ifAbsent = options?.ifAbsent === true;
    return checked.map((input) => {
      const row = copyRow(input);
      const p = this.partition(table, row.partition, true);
      const key = toHex(row.sort);
      if (ifAbsent) {
        const existing = p.get(key);
        if (existing !== undefined && isLive(existing.expiresAt, this.now)) return false;
      }
      this.setRow(p, key, row);
      return true;
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
    return checkRowKeys(keys, false).map((k) => {
      const row = this.partition(table, k.partition, false)?.get(toHex(k.sort));
      return row !== undefined && isLive(row.expiresAt, this.now) ? copyRow(row) : undefined;
    });
  }

  async deleteMany(table: string, keys: readonly RowKey[]): Promise<boolean[]> {
    this.active();
    checkTable(table);
    return checkRowKeys(keys, true).map((k) => {
      const p = this.partition(table, k.partition, false);
      const key = toHex(k.sort);
      const existing = p?.get(key);
      if (p === undefined || existing === undefined) return false;
      this.setRow(p, key, undefined);
      return isLive(existing.expiresAt, this.now);
    });
  }

  async list(table: string, partition: Uint8Array, options?: ListOptions): Promise<Row[]> {
    this.active();
    checkTable(table);
    const o = checkListOptions(options);
    let rows = this.liveSorted(this.partition(table, checkKey(partition, 'partition'), false), o.prefix);
    if (o.reverse) rows.reverse();
    const after = o.after;
    if (after !== undefined) {
      rows = rows.filter((r) =>
        o.reverse ? compareBytes(r.sort, after) < 0 : compareBytes(r.sort, after) > 0,
      );
    }
    return rows.slice(0, o.limit).map(copyRow);
  }

  async take(table: string, partition: Uint8Array, options?: TakeOptions): Promise<Row[]> {
    this.active();
    checkTable(table);
    const o = checkTakeOptions(options);
    const p = this.partition(table, checkKey(partition, 'partition'), false);
    const rows = this.liveSorted(p, o.prefix).slice(0, o.limit);
    for (const row of rows) this.setRow(p as Partition, toHex(row.sort), undefined);
    return rows.map(copyRow);
  }

  async count(
    table: string,
    partition: Uint8Array,
    options?: { readonly prefix?: Uint8Array },
  ): Promise<number> {
    this.active();
    checkTable(table);
    const prefix = options?.prefix === undefined ? undefined : checkKey(options.prefix, 'prefix');
    return this.liveSorted(this.partition(table, checkKey(partition, 'partition'), false), prefix).length;
  }

  async usage(table: string, partition: Uint8Array): Promise<PartitionUsage> {
    this.active();
    checkTable(table);
    const p = this.partition(table, checkKey(partition, 'partition'), false);
    let rows = 0;
    let bytes = 0;
    if (p !== undefined) {
      for (const row of p.values()) {
        if (!isLive(row.expiresAt, this.now)) continue;
        rows++;
        bytes += row.value.length;
      }
    }
    return { rows, bytes };
  }

  async deletePartition(table: string, partition: Uint8Array): Promise<number> {
    this.active();
    checkTable(table);
    const p = this.partition(table, checkKey(partition, 'partition'), false);
    if (p === undefined) return 0;
    const keys = [...p.keys()];
    for (const key of keys) this.setRow(p, key, undefined);
    return keys.length;
  }
}
