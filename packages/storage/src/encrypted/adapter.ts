/**
 * Encryption at rest as an adapter wrapper: `createEncryptedAdapter(inner, …)` returns a
 * {@link StorageAdapter} that hashes partitions (and the sort keys of non-ordered tables) with
 * keyed hashes and seals every value with XChaCha20-Poly1305 before `inner` sees it. Every typed
 * store and every backend gets it unchanged. Construction in `spec/storage-encryption.md`.
 *
 * @module
 */
import {
  type CryptoProvider,
  checkBytes,
  DecryptionFailed,
  equalBytes,
  StorageError,
  UsageError,
  ValidationError,
  wipe,
} from '@cloister/crypto';
import {
  checkKey,
  checkListOptions,
  checkRowInput,
  checkRowInputs,
  checkRowKeys,
  checkTable,
  checkTakeOptions,
} from '../_check.js';
import { checkClaims } from '../_claims.js';
import {
  type ClaimedRows,
  type GetOptions,
  type ListOptions,
  MAX_VALUE_BYTES,
  type PartitionUsage,
  type PurgeOptions,
  type PurgeProgress,
  type PutOptions,
  type Row,
  type RowInput,
  type RowKey,
  type StorageAdapter,
  type StorageTx,
  type TakeOptions,
  type TransactionOptions,
} from '../adapter.js';
import {
  deriveStoreKeys,
  openValue,
  SEAL_OVERHEAD,
  type StoreKeys,
  sealValue,
  wipeStoreKeys,
} from './_format.js';
import { HashMemo } from './_hashes.js';

/**
 * Length of the data key the wrapper takes: 32 bytes (256 bits).
 *
 * @example
 * ```ts
 * const dataKey = provider.randomBytes(STORAGE_DATA_KEY_LENGTH); // a fresh key, to be kept wrapped
 * ```
 */
export const STORAGE_DATA_KEY_LENGTH = 32;

/**
 * Options of {@link createEncryptedAdapter}.
 *
 * @example
 * ```ts
 * const options: EncryptedAdapterOptions = {
 *   dataKey,
 *   provider,
 *   orderedTables: (table) => table.startsWith('c_log_'),
 * };
 * const db = createEncryptedAdapter(adapter, options);
 * ```
 */
export interface EncryptedAdapterOptions {
  /**
   * The 32-byte data key. The wrapper keeps a copy only until it has derived its own keys, so
   * the caller may `wipe` this array once the first transaction has run (or right away after
   * {@link EncryptedAdapterHandle.ready}).
   */
  readonly dataKey: Uint8Array;
  /** The crypto provider (HKDF-SHA256, HMAC-SHA256, XChaCha20-Poly1305, random bytes). */
  readonly provider: CryptoProvider;
  /**
   * Tables whose sort keys are stored as they are, so that `list` order, `after` cursors and
   * `prefix` work on the caller's keys. Such tables must put only non-identifying data in sort
   * keys (counters, times, random ids). Every other table stores a keyed hash of the sort key,
   * lists in hash order and rejects a non-empty `prefix` with `UsageError`. Default: none.
   * Changing the set for a table that already holds rows makes those rows unreadable.
   */
  readonly orderedTables?: Iterable<string> | ((table: string) => boolean);
}

/**
 * An encrypting {@link StorageAdapter} with a way to wait for its key derivation.
 *
 * @example
 * ```ts
 * import { wipe } from '@cloister/crypto';
 * const db: EncryptedAdapterHandle = createEncryptedAdapter(adapter, { dataKey, provider });
 * await db.ready();
 * wipe(dataKey);
 * console.log(db.kind); // e.g. 'encrypted(pglite)'
 * ```
 */
export interface EncryptedAdapterHandle extends StorageAdapter {
  /**
   * Resolves once the store keys are derived (after which the caller's data key may be wiped);
   * rejects when the derivation failed.
   *
   * @example
   * ```ts
   * const db = createEncryptedAdapter(adapter, { dataKey, provider });
   * await db.ready();
   * ```
   */
  ready(): Promise<void>;
}

const noop = (): void => {};

function checkProvider(value: unknown): CryptoProvider {
  const p = value as CryptoProvider | null;
  if (
    typeof p !== 'object' ||
    p === null ||
    typeof p.hkdfSha256 !== 'function' ||
    typeof p.hmacSha256 !== 'function' ||
    typeof p.randomBytes !== 'function' ||
    typeof p.xchacha20poly1305?.encrypt !== 'function'
  ) {
    throw new ValidationError('provider', 'a CryptoProvider');
  }
  return p;
}

function checkInner(value: unknown): StorageAdapter {
  const a = value as StorageAdapter | null;
  if (
    typeof a !== 'object' ||
    a === null ||
    typeof a.transaction !== 'function' ||
    typeof a.purgeExpired !== 'function' ||
    typeof a.close !== 'function' ||
    typeof a.now !== 'function' ||
    typeof a.kind !== 'string'
  ) {
    throw new ValidationError('inner', 'a StorageAdapter');
  }
  return a;
}

function orderedPredicate(value: unknown): (table: string) => boolean {
  if (value === undefined) return () => false;
  if (typeof value === 'function') {
    const fn = value as (table: string) => boolean;
    return (table) => fn(table) === true;
  }
  if (typeof value !== 'object' || value === null || !(Symbol.iterator in value)) {
    throw new ValidationError('orderedTables', 'an iterable of table names or a predicate');
  }
  const names = new Set<string>();
  for (const name of value as Iterable<unknown>) {
    if (typeof name !== 'string') throw new ValidationError('orderedTables', 'table names');
    try {
      names.add(checkTable(name));
    } catch {
      throw new ValidationError('orderedTables', 'table names matching /^[a-z][a-z0-9_]{0,47}$/');
    }
  }
  return (table) => names.has(table);
}

/**
 * Wraps any adapter so that everything it stores is encrypted under `dataKey`: partitions become
 * HMAC-SHA256 hashes, sort keys too (except in `orderedTables`), and values are sealed with
 * XChaCha20-Poly1305 bound to their table, key and expiry. Reads return the caller's keys and
 * values; a row that was altered, moved, given another expiry, or written under another key
 * fails with `DecryptionFailed`. Table names, expiry times, row counts and sizes stay visible.
 * The adapter's `kind` is `encrypted(<inner kind>)`; `close()` closes `inner` and wipes the keys.
 *
 * @example
 * ```ts
 * import { getProvider, utf8 } from '@cloister/crypto';
 * import { createEncryptedAdapter, createMemoryAdapter } from '@cloister/storage';
 * const provider = await getProvider();
 * const db = createEncryptedAdapter(createMemoryAdapter(), {
 *   dataKey, // 32 bytes, from openClientDataKey or deriveServerDataKey
 *   provider,
 *   orderedTables: ['c_messages'],
 * });
 * await db.transaction((tx) =>
 *   tx.put('c_settings', { partition: utf8('alice'), sort: utf8('theme'), value: utf8('dark') }),
 * );
 * ```
 */
export function createEncryptedAdapter(
  inner: StorageAdapter,
  options: EncryptedAdapterOptions,
): EncryptedAdapterHandle {
  const adapter = checkInner(inner);
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const provider = checkProvider(options.provider);
  const dataKey = checkBytes(options.dataKey, 'dataKey', STORAGE_DATA_KEY_LENGTH);
  const ordered = orderedPredicate(options.orderedTables);
  return new EncryptedAdapter(adapter, provider, dataKey.slice(), ordered);
}

/**
 * Options of {@link openEncryptedAdapter}.
 *
 * @example
 * ```ts
 * const options: OpenEncryptedAdapterOptions = { dataKey, provider, keyCheckTable: 'c_key_check' };
 * const db = await openEncryptedAdapter(adapter, options);
 * ```
 */
export interface OpenEncryptedAdapterOptions extends EncryptedAdapterOptions {
  /** The table holding the key-check row (default {@link DEFAULT_KEY_CHECK_TABLE}). */
  readonly keyCheckTable?: string;
}

/**
 * The table {@link openEncryptedAdapter} keeps its key-check row in unless told otherwise
 * (`storage_key_check`).
 *
 * @example
 * ```ts
 * const tables = ['c_messages', 'c_settings', DEFAULT_KEY_CHECK_TABLE]; // tables a backup must include
 * ```
 */
export const DEFAULT_KEY_CHECK_TABLE = 'storage_key_check';

/**
 * Like {@link createEncryptedAdapter}, but checks the data key before returning: the first open
 * writes a small sealed key-check row into `keyCheckTable`; later opens read it back, and a wrong
 * data key rejects here with `DecryptionFailed` instead of at the first read. (A wrong key and a
 * tampered check row cannot be told apart.) The check row is written directly into `inner` at an
 * empty partition and sort key, which no encrypted row can have.
 *
 * @example
 * ```ts
 * import { DecryptionFailed } from '@cloister/crypto';
 * try {
 *   const db = await openEncryptedAdapter(adapter, { dataKey, provider, orderedTables: ['c_messages'] });
 * } catch (e) {
 *   if (e instanceof DecryptionFailed) console.error('wrong data key (or a tampered key-check row)');
 *   else throw e;
 * }
 * ```
 */
export async function openEncryptedAdapter(
  inner: StorageAdapter,
  options: OpenEncryptedAdapterOptions,
): Promise<EncryptedAdapterHandle> {
  const adapter = createEncryptedAdapter(inner, options) as EncryptedAdapter;
  let table = DEFAULT_KEY_CHECK_TABLE;
  if (options.keyCheckTable !== undefined) {
    try {
      table = checkTable(options.keyCheckTable);
    } catch {
      throw new ValidationError('keyCheckTable', 'a table name matching /^[a-z][a-z0-9_]{0,47}$/');
    }
  }
  try {
    await adapter.verifyKey(table);
  } catch (error) {
    await adapter.discard();
    throw error;
  }
  return adapter;
}

class EncryptedAdapter implements EncryptedAdapterHandle {
  readonly kind: string;
  readonly now: () => number;
  private readonly keys: Promise<StoreKeys>;
  /** Keyed hashes of partitions and sort keys computed lately (a cache; wiped on close). */
  private readonly hashes = new HashMemo();
  private closed = false;

  constructor(
    private readonly inner: StorageAdapter,
    private readonly provider: CryptoProvider,
    dataKey: Uint8Array,
    private readonly ordered: (table: string) => boolean,
  ) {
    this.kind = `encrypted(${inner.kind})`;
    this.now = () => inner.now();
    this.keys = deriveStoreKeys(provider, dataKey).finally(() => wipe(dataKey));
    this.keys.catch(noop);
  }

  async ready(): Promise<void> {
    await this.keys;
  }

  /**
   * Reads the key-check row of `table` straight from `inner` (a sealed empty value at the empty
   * partition and sort key, which no hashed row can have) and opens it, or writes it when absent.
   */
  async verifyKey(table: string): Promise<void> {
    this.checkOpen();
    const keys = await this.keys;
    const empty = new Uint8Array(0);
    const ctx = { table, partition: empty, sort: empty, expiresAt: null };
    await this.inner.transaction(async (tx) => {
      const row = await tx.get(table, empty, empty, { forUpdate: true });
      if (row === undefined) {
        const value = await sealValue(this.provider, keys, ctx, empty, empty);
        await tx.put(table, { partition: empty, sort: empty, value, expiresAt: null });
        return;
      }
      const opened = await openValue(this.provider, keys, { ...ctx, expiresAt: row.expiresAt }, row.value);
      if (opened.sort.length !== 0 || opened.value.length !== 0) throw new DecryptionFailed();
    });
  }

  async transaction<T>(fn: (tx: StorageTx) => Promise<T>, options?: TransactionOptions): Promise<T> {
    this.checkOpen();
    const keys = await this.keys;
    this.checkOpen();
    return this.inner.transaction(async (tx) => {
      const etx = new EncryptedTx(tx, keys, this.provider, this.ordered, this.hashes);
      try {
        return await fn(etx);
      } finally {
        etx.finish();
      }
    }, options);
  }

  async purgeExpired(options?: PurgeOptions): Promise<PurgeProgress> {
    this.checkOpen();
    return this.inner.purgeExpired(options);
  }

  /** Refuses further use and wipes the keys, leaving `inner` open (it stays the caller's). */
  async discard(): Promise<void> {
    this.closed = true;
    this.hashes.wipe();
    await this.keys.then(wipeStoreKeys, noop);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hashes.wipe();
    try {
      await this.inner.close();
    } finally {
      await this.keys.then(wipeStoreKeys, noop);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageError('the store is closed');
  }
}

class EncryptedTx implements StorageTx {
  readonly now: number;
  private done = false;

  constructor(
    private readonly inner: StorageTx,
    private readonly keys: StoreKeys,
    private readonly provider: CryptoProvider,
    private readonly ordered: (table: string) => boolean,
    private readonly hashes: HashMemo,
  ) {
    this.now = inner.now;
  }

  finish(): void {
    this.done = true;
  }

  private active(): void {
    if (this.done) throw new StorageError('the transaction has already ended');
  }

  /** The stored partition (`P`). */
  private storedPartition(table: string, partition: Uint8Array): Promise<Uint8Array> {
    return this.hashes.partition(this.provider, this.keys, table, partition);
  }

  /** The stored sort key (`S`): the caller's in ordered tables, a keyed hash in the others. */
  private storedSort(
    table: string,
    partition: Uint8Array,
    sort: Uint8Array,
  ): Promise<Uint8Array> | Uint8Array {
    return this.ordered(table) ? sort : this.hashes.sort(this.provider, this.keys, table, partition, sort);
  }

  /** The stored key of the caller's row key. */
  private async address(table: string, key: RowKey): Promise<RowKey> {
    const [partition, sort] = await Promise.all([
      this.storedPartition(table, key.partition),
      this.storedSort(table, key.partition, key.sort),
    ]);
    return { partition, sort };
  }

  /** Refuses a value that would not fit {@link MAX_VALUE_BYTES} once sealed, before anything is written. */
  private checkSealedSize(row: Row, field: string): void {
    if (row.value.length > MAX_VALUE_BYTES - SEAL_OVERHEAD - row.sort.length) {
      throw new ValidationError(
        field,
        `a Uint8Array of at most ${MAX_VALUE_BYTES} bytes less ${SEAL_OVERHEAD} bytes and the sort key (encryption overhead)`,
      );
    }
  }

  /** The stored form of a checked row: hashed key, sealed value. */
  private async seal(table: string, row: Row): Promise<RowInput> {
    const { partition: sp, sort: ss } = await this.address(table, row);
    const value = await sealValue(
      this.provider,
      this.keys,
      { table, partition: sp, sort: ss, expiresAt: row.expiresAt },
      row.sort,
      row.value,
    );
    return { partition: sp, sort: ss, value, expiresAt: row.expiresAt };
  }

  /**
   * Opens a row read at the stored key `stored` of the caller's `key` (a point read), checking
   * that it holds the caller's sort key.
   */
  private async openAt(table: string, key: RowKey, stored: RowKey, row: Row): Promise<Row> {
    const opened = await openValue(
      this.provider,
      this.keys,
      { table, partition: stored.partition, sort: stored.sort, expiresAt: row.expiresAt },
      row.value,
    );
    if (!equalBytes(opened.sort, key.sort)) throw new DecryptionFailed();
    return {
      partition: key.partition.slice(),
      sort: opened.sort,
      value: opened.value,
      expiresAt: row.expiresAt,
    };
  }

  /** Only ordered tables can filter by a sort-key prefix; an empty prefix filters nothing. */
  private prefixFor(table: string, prefix: Uint8Array | undefined): Uint8Array | undefined {
    if (prefix === undefined || this.ordered(table)) return prefix;
    if (prefix.length === 0) return undefined;
    throw new UsageError('a sort-key prefix needs an ordered table (encryption at rest hashes the others)');
  }

  /** Opens a stored row of `table` at stored partition `sp`, checking its sort key. */
  private async open(table: string, partition: Uint8Array, sp: Uint8Array, row: Row): Promise<Row> {
    const opened = await openValue(
      this.provider,
      this.keys,
      { table, partition: sp, sort: row.sort, expiresAt: row.expiresAt },
      row.value,
    );
    const expected = await this.storedSort(table, partition, opened.sort);
    if (!equalBytes(expected, row.sort)) throw new DecryptionFailed();
    return { partition: partition.slice(), sort: opened.sort, value: opened.value, expiresAt: row.expiresAt };
  }

  async get(
    table: string,
    partition: Uint8Array,
    sort: Uint8Array,
    options?: GetOptions,
  ): Promise<Row | undefined> {
    this.active();
    checkTable(table);
    checkKey(partition, 'partition');
    checkKey(sort, 'sort');
    const key = { partition, sort };
    const stored = await this.address(table, key);
    const row = await this.inner.get(table, stored.partition, stored.sort, options);
    if (row === undefined) return undefined;
    return this.openAt(table, key, stored, row);
  }

  async put(table: string, input: RowInput, options?: PutOptions): Promise<boolean> {
    this.active();
    checkTable(table);
    const row = checkRowInput(input);
    this.checkSealedSize(row, 'value');
    return this.inner.put(table, await this.seal(table, row), options);
  }

  async delete(table: string, partition: Uint8Array, sort: Uint8Array): Promise<boolean> {
    this.active();
    checkTable(table);
    checkKey(partition, 'partition');
    checkKey(sort, 'sort');
    const stored = await this.address(table, { partition, sort });
    return this.inner.delete(table, stored.partition, stored.sort);
  }

  async putMany(table: string, rows: readonly RowInput[], options?: PutOptions): Promise<boolean[]> {
    this.active();
    checkTable(table);
    const checked = checkRowInputs(rows);
    for (const [i, row] of checked.entries()) this.checkSealedSize(row, `rows[${i}].value`);
    // Distinct caller keys have distinct stored keys (the key map is injective), so the inner
    // duplicate check agrees with the one above.
    const sealed = await Promise.all(checked.map((row) => this.seal(table, row)));
    return this.inner.putMany(table, sealed, options);
  }

  async claimMany(table: string, claims: readonly RowInput[], behind: ClaimedRows): Promise<boolean[]> {
    this.active();
    checkTable(table);
    const c = checkClaims(table, claims, behind);
    for (const [i, row] of c.claims.entries()) this.checkSealedSize(row, `claims[${i}].value`);
    for (const [j, row] of c.behind.rows.entries()) this.checkSealedSize(row, `behind.rows[${j}].value`);
    // The key map is injective per table, so the inner checks of distinct keys agree with these.
    const [sealedClaims, sealedRows] = await Promise.all([
      Promise.all(c.claims.map((row) => this.seal(table, row))),
      Promise.all(c.behind.rows.map((row) => this.seal(c.behind.table, row))),
    ]);
    return this.inner.claimMany(table, sealedClaims, {
      table: c.behind.table,
      rows: sealedRows,
      claims: c.behind.claims,
    });
  }

  async getMany(table: string, keys: readonly RowKey[]): Promise<(Row | undefined)[]> {
    this.active();
    checkTable(table);
    const checked = checkRowKeys(keys, false);
    const stored = await Promise.all(checked.map((key) => this.address(table, key)));
    const rows = await this.inner.getMany(table, stored);
    return Promise.all(
      checked.map((key, i) => {
        const row = rows[i];
        return row === undefined ? undefined : this.openAt(table, key, stored[i] as RowKey, row);
      }),
    );
  }

  async deleteMany(table: string, keys: readonly RowKey[]): Promise<boolean[]> {
    this.active();
    checkTable(table);
    const checked = checkRowKeys(keys, true);
    const stored = await Promise.all(checked.map((key) => this.address(table, key)));
    return this.inner.deleteMany(table, stored);
  }

  async list(table: string, partition: Uint8Array, options?: ListOptions): Promise<Row[]> {
    this.active();
    checkTable(table);
    const o = checkListOptions(options);
    checkKey(partition, 'partition');
    const prefix = this.prefixFor(table, o.prefix);
    const sp = await this.storedPartition(table, partition);
    const innerOptions: { after?: Uint8Array; prefix?: Uint8Array; limit: number; reverse: boolean } = {
      limit: o.limit,
      reverse: o.reverse,
    };
    if (o.after !== undefined) innerOptions.after = await this.storedSort(table, partition, o.after);
    if (prefix !== undefined) innerOptions.prefix = prefix;
    const rows = await this.inner.list(table, sp, innerOptions);
    return Promise.all(rows.map((row) => this.open(table, partition, sp, row)));
  }

  async take(table: string, partition: Uint8Array, options?: TakeOptions): Promise<Row[]> {
    this.active();
    checkTable(table);
    const o = checkTakeOptions(options);
    checkKey(partition, 'partition');
    const prefix = this.prefixFor(table, o.prefix);
    const sp = await this.storedPartition(table, partition);
    const rows = await this.inner.take(
      table,
      sp,
      prefix === undefined ? { limit: o.limit } : { limit: o.limit, prefix },
    );
    return Promise.all(rows.map((row) => this.open(table, partition, sp, row)));
  }

  async count(
    table: string,
    partition: Uint8Array,
    options?: { readonly prefix?: Uint8Array },
  ): Promise<number> {
    this.active();
    checkTable(table);
    const given = options?.prefix === undefined ? undefined : checkKey(options.prefix, 'prefix');
    checkKey(partition, 'partition');
    const prefix = this.prefixFor(table, given);
    const sp = await this.storedPartition(table, partition);
    return this.inner.count(table, sp, prefix === undefined ? undefined : { prefix });
  }

  /**
   * The inner adapter's usage of the stored partition: `bytes` are those of the sealed values,
   * each {@link SEAL_OVERHEAD} bytes plus the length of the caller's sort key longer than the
   * caller's value.
   */
  async usage(table: string, partition: Uint8Array): Promise<PartitionUsage> {
    this.active();
    checkTable(table);
    checkKey(partition, 'partition');
    const sp = await this.storedPartition(table, partition);
    return this.inner.usage(table, sp);
  }

  async deletePartition(table: string, partition: Uint8Array): Promise<number> {
    this.active();
    checkTable(table);
    checkKey(partition, 'partition');
    const sp = await this.storedPartition(table, partition);
    return this.inner.deletePartition(table, sp);
  }
}
