/**
 * The storage adapter contract: the one small interface every backend (in-memory, PGlite,
 * PostgreSQL, IndexedDB) implements and every typed store, the encryption-at-rest wrapper and the
 * conformance suite are written against. The exact semantics are in `spec/storage.md`.
 *
 * The model is a set of named tables of rows. A row is addressed by a `partition` and a `sort`
 * key (both byte strings); it holds an opaque `value` and an optional expiry time. Rows of one
 * partition are ordered by `sort`, compared as unsigned bytes.
 *
 * @module
 */

/**
 * Longest partition or sort key, in bytes (512); a longer key is a `ValidationError`.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * const sort = utf8('settings/theme');
 * if (sort.length > MAX_KEY_BYTES) throw new RangeError('sort key too long');
 * ```
 */
export const MAX_KEY_BYTES = 512;
/**
 * Largest row value, in bytes (16 MiB); a larger value is a `ValidationError`. Larger things
 * are split by the typed stores.
 *
 * @example
 * ```ts
 * const rowsNeeded = Math.ceil(bytes.length / MAX_VALUE_BYTES); // chunks of at most 16 MiB
 * ```
 */
export const MAX_VALUE_BYTES = 16 * 1024 * 1024;
/**
 * Most rows one `list` or `take` call returns (10 000), the largest `limit` they accept.
 *
 * @example
 * ```ts
 * const rows = await tx.list('s_mailbox', mailbox, { limit: MAX_LIST_LIMIT });
 * ```
 */
export const MAX_LIST_LIMIT = 10_000;
/**
 * Table names: lower-case ASCII letters, digits and `_`, starting with a letter, 1..48 chars.
 *
 * @example
 * ```ts
 * TABLE_NAME_PATTERN.test('c_messages'); // → true
 * TABLE_NAME_PATTERN.test('Messages'); // → false
 * ```
 */
export const TABLE_NAME_PATTERN = /^[a-z][a-z0-9_]{0,47}$/;
/**
 * Most rows one `putMany`, `getMany`, `deleteMany` or `claimMany` call takes (1000); a longer
 * array is a `ValidationError`.
 *
 * @example
 * ```ts
 * import { uintBE } from '@cloister/crypto';
 * const rows: RowInput[] = [];
 * for (let seq = 1; seq <= 2500; seq++) rows.push({ partition: mailbox, sort: uintBE(seq, 8), value: bytes });
 * for (let i = 0; i < rows.length; i += MAX_BATCH_ROWS) {
 *   await tx.putMany('s_mailbox', rows.slice(i, i + MAX_BATCH_ROWS));
 * }
 * ```
 */
export const MAX_BATCH_ROWS = 1000;

/**
 * One stored row, as reads return it (a copy: changing it changes nothing stored).
 * `expiresAt` is milliseconds since the Unix epoch, or `null` for never.
 *
 * @example
 * ```ts
 * import { uintBE } from '@cloister/crypto';
 * const row: Row | undefined = await tx.get('s_mailbox', mailbox, uintBE(1, 8));
 * if (row !== undefined && row.expiresAt !== null) console.log(`expires ${new Date(row.expiresAt).toISOString()}`);
 * ```
 */
export interface Row {
  /** The partition key (0..{@link MAX_KEY_BYTES} bytes). */
  readonly partition: Uint8Array;
  /** The sort key within the partition (0..{@link MAX_KEY_BYTES} bytes), ordered as unsigned bytes. */
  readonly sort: Uint8Array;
  /** The stored value (0..{@link MAX_VALUE_BYTES} bytes). */
  readonly value: Uint8Array;
  /** When the row expires, in ms since the epoch, or `null` when it never does. */
  readonly expiresAt: number | null;
}

/**
 * A row to write. A missing `expiresAt` means the row never expires.
 *
 * @example
 * ```ts
 * import { uintBE, utf8 } from '@cloister/crypto';
 * const row: RowInput = {
 *   partition: mailbox,
 *   sort: uintBE(42, 8),
 *   value: utf8('sealed envelope bytes'),
 *   expiresAt: tx.now + 30 * 86_400_000,
 * };
 * await tx.put('s_mailbox', row);
 * ```
 */
export interface RowInput {
  /** The partition key (0..{@link MAX_KEY_BYTES} bytes). */
  readonly partition: Uint8Array;
  /** The sort key within the partition (0..{@link MAX_KEY_BYTES} bytes). */
  readonly sort: Uint8Array;
  /** The value to store (0..{@link MAX_VALUE_BYTES} bytes). */
  readonly value: Uint8Array;
  /** When the row expires, in ms since the epoch (a non-negative safe integer); `null` or absent for never. */
  readonly expiresAt?: number | null;
}

/**
 * The key of one row, as {@link StorageTx.getMany} and {@link StorageTx.deleteMany} take it.
 *
 * @example
 * ```ts
 * import { uintBE } from '@cloister/crypto';
 * const keys: RowKey[] = [
 *   { partition: mailbox, sort: uintBE(1, 8) },
 *   { partition: mailbox, sort: uintBE(2, 8) },
 * ];
 * const rows = await tx.getMany('s_mailbox', keys); // (Row | undefined)[], one per key
 * ```
 */
export interface RowKey {
  /** The partition key (0..{@link MAX_KEY_BYTES} bytes). */
  readonly partition: Uint8Array;
  /** The sort key within the partition (0..{@link MAX_KEY_BYTES} bytes). */
  readonly sort: Uint8Array;
}

/**
 * What {@link StorageTx.usage} reports.
 *
 * @example
 * ```ts
 * const quota = 64 * 1024 * 1024;
 * const { rows, bytes }: PartitionUsage = await tx.usage('s_mailbox', mailbox);
 * if (bytes > quota) throw new Error(`mailbox full: ${rows} rows`);
 * ```
 */
export interface PartitionUsage {
  /** Live rows of the partition. */
  readonly rows: number;
  /** Sum of the stored lengths of their values, in bytes (after encryption, where the adapter is wrapped). */
  readonly bytes: number;
}

/**
 * The rows {@link StorageTx.claimMany} writes behind its claims: each is written only when the
 * claim it names was.
 *
 * @example
 * ```ts
 * import { uintBE, utf8 } from '@cloister/crypto';
 * const idRow: RowInput = { partition: mailbox, sort: utf8('msg-7f3a'), value: new Uint8Array() };
 * const envelopeRow: RowInput = { partition: mailbox, sort: uintBE(42, 8), value: bytes };
 * const behind: ClaimedRows = { table: 's_mailbox', rows: [envelopeRow], claims: [0] };
 * const [won] = await tx.claimMany('s_mailbox_ids', [idRow], behind);
 * // won === false: the id was already claimed and the envelope was not written again
 * ```
 */
export interface ClaimedRows {
  /** Their table (another table than the claims'). */
  readonly table: string;
  /** The rows: 0..{@link MAX_BATCH_ROWS}, distinct keys, each checked as `put` checks a row. */
  readonly rows: readonly RowInput[];
  /** `claims[j]` is the index, among the claim rows, of the claim `rows[j]` stands behind. */
  readonly claims: readonly number[];
}

/**
 * Options of {@link StorageTx.get}.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * const options: GetOptions = { forUpdate: true };
 * const row = await tx.get('s_counters', mailbox, utf8('next'), options);
 * ```
 */
export interface GetOptions {
  /**
   * Locks the row until the transaction ends, so that a read-modify-write of it is atomic
   * against other transactions (SQL `SELECT ... FOR UPDATE`). Adapters that run one read-write
   * transaction at a time may ignore it.
   */
  readonly forUpdate?: boolean;
}

/**
 * Options of {@link StorageTx.put}.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * const options: PutOptions = { ifAbsent: true };
 * const written = await tx.put('s_ids', { partition: mailbox, sort: utf8('msg-7f3a'), value: bytes }, options);
 * // → false when a live row already had this key
 * ```
 */
export interface PutOptions {
  /**
   * Writes only when no live row has this key; the result says whether it was written. An
   * expired row counts as absent and is replaced.
   */
  readonly ifAbsent?: boolean;
}

/**
 * Options of {@link StorageTx.list}.
 *
 * @example
 * ```ts
 * const page: ListOptions = { limit: 50, reverse: true };
 * const newest = await tx.list('s_mailbox', mailbox, page);
 * const last = newest.at(-1);
 * const older = last === undefined ? [] : await tx.list('s_mailbox', mailbox, { ...page, after: last.sort });
 * ```
 */
export interface ListOptions {
  /** Only rows whose sort key is strictly greater than this (strictly less when `reverse`). */
  readonly after?: Uint8Array;
  /** Only rows whose sort key starts with these bytes. */
  readonly prefix?: Uint8Array;
  /** At most this many rows (1..{@link MAX_LIST_LIMIT}, default 100). */
  readonly limit?: number;
  /** Descending sort order. */
  readonly reverse?: boolean;
}

/**
 * Options of {@link StorageTx.take}.
 *
 * @example
 * ```ts
 * const options: TakeOptions = { limit: 10 };
 * const claimed = await tx.take('s_jobs', mailbox, options); // deleted, now this transaction's
 * ```
 */
export interface TakeOptions {
  /** At most this many rows (1..{@link MAX_LIST_LIMIT}, default 1). */
  readonly limit?: number;
  /** Only rows whose sort key starts with these bytes. */
  readonly prefix?: Uint8Array;
}

/**
 * The operations available inside a transaction. Every read hides rows whose `expiresAt` is at
 * or before the transaction's time ({@link StorageTx.now}). Invalid arguments (a bad table name,
 * a key longer than {@link MAX_KEY_BYTES}, a limit out of range) reject with `ValidationError`
 * before anything is read or written.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * const theme = await adapter.transaction(async (tx: StorageTx) => {
 *   const row = await tx.get('c_settings', mailbox, utf8('theme'));
 *   if (row === undefined) await tx.put('c_settings', { partition: mailbox, sort: utf8('theme'), value: utf8('dark') });
 *   return row?.value;
 * });
 * ```
 */
export interface StorageTx {
  /** The time, in ms since the epoch, against which this transaction judges expiry. */
  readonly now: number;
  /**
   * Reads one live row.
   *
   * @example
   * ```ts
   * import { utf8 } from '@cloister/crypto';
   * const row = await tx.get('c_settings', mailbox, utf8('theme'));
   * const theme = row === undefined ? 'light' : new TextDecoder().decode(row.value);
   * ```
   */
  get(table: string, partition: Uint8Array, sort: Uint8Array, options?: GetOptions): Promise<Row | undefined>;
  /**
   * Writes (inserts or replaces) one row; resolves `false` only when `ifAbsent` prevented it.
   *
   * @example
   * ```ts
   * import { utf8 } from '@cloister/crypto';
   * await tx.put('c_settings', { partition: mailbox, sort: utf8('theme'), value: utf8('dark') });
   * ```
   */
  put(table: string, row: RowInput, options?: PutOptions): Promise<boolean>;
  /**
   * Deletes one row; resolves `true` when a live row was deleted.
   *
   * @example
   * ```ts
   * import { utf8 } from '@cloister/crypto';
   * const deleted = await tx.delete('c_settings', mailbox, utf8('theme')); // → true or false
   * ```
   */
  delete(table: string, partition: Uint8Array, sort: Uint8Array): Promise<boolean>;
  /**
   * Lists live rows of one partition in sort order.
   *
   * @example
   * ```ts
   * const first = await tx.list('s_mailbox', mailbox, { limit: 100 });
   * const last = first.at(-1);
   * const next = last === undefined ? [] : await tx.list('s_mailbox', mailbox, { limit: 100, after: last.sort });
   * ```
   */
  list(table: string, partition: Uint8Array, options?: ListOptions): Promise<Row[]>;
  /**
   * Deletes and returns the first live rows of a partition in sort order, atomically: two
   * concurrent transactions never both take the same row, and a take does not wait for rows
   * another transaction holds (it takes the next ones instead).
   *
   * @example
   * ```ts
   * const jobs = await adapter.transaction((tx) => tx.take('s_jobs', mailbox, { limit: 10 }));
   * ```
   */
  take(table: string, partition: Uint8Array, options?: TakeOptions): Promise<Row[]>;
  /**
   * Writes many rows of one table in one step; `result[i]` says whether `rows[i]` was written
   * (`false` only when `ifAbsent` found a live row). Two rows with the same key in one call are a
   * ValidationError (nothing written). 0..{@link MAX_BATCH_ROWS} rows; an empty call resolves []
   * and does nothing. The same as one `put` per row in this transaction, in one statement where
   * the backend has statements.
   *
   * @example
   * ```ts
   * import { uintBE } from '@cloister/crypto';
   * const rows = [1, 2, 3].map((seq) => ({ partition: mailbox, sort: uintBE(seq, 8), value: bytes }));
   * const written = await tx.putMany('s_mailbox', rows); // → [true, true, true]
   * ```
   */
  putMany(table: string, rows: readonly RowInput[], options?: PutOptions): Promise<boolean[]>;
  /**
   * Reads many rows of one table; `result[i]` is the live row keyed `keys[i]` or undefined.
   * Duplicate keys allowed. 0..{@link MAX_BATCH_ROWS} keys.
   *
   * @example
   * ```ts
   * import { utf8 } from '@cloister/crypto';
   * const [theme, lang] = await tx.getMany('c_settings', [
   *   { partition: mailbox, sort: utf8('theme') },
   *   { partition: mailbox, sort: utf8('lang') },
   * ]);
   * // → a Row for each key that has a live row, undefined for the others
   * ```
   */
  getMany(table: string, keys: readonly RowKey[]): Promise<(Row | undefined)[]>;
  /**
   * Deletes many rows of one table; `result[i]` is true when a live row keyed `keys[i]` was
   * deleted (an expired row is deleted too, reported false). Duplicate keys in one call are a
   * ValidationError (nothing deleted). 0..{@link MAX_BATCH_ROWS} keys.
   *
   * @example
   * ```ts
   * import { uintBE } from '@cloister/crypto';
   * const keys = [1, 2].map((seq) => ({ partition: mailbox, sort: uintBE(seq, 8) }));
   * const deleted = await tx.deleteMany('s_mailbox', keys); // → [true, false]: only envelope 1 was there
   * ```
   */
  deleteMany(table: string, keys: readonly RowKey[]): Promise<boolean[]>;
  /**
   * Claims rows and writes what stands behind them, in one step: writes each row of `claims`
   * into `table` only when no live row has its key (as `putMany` with `ifAbsent`), then writes
   * into `behind.table` each row of `behind.rows` whose claim (`behind.claims[j]`) was written, and
   * resolves which claims were (`result[i]` for `claims[i]`). The same as those two `putMany`
   * calls in this transaction, in one statement where the backend has statements and the rows
   * fit one (see `spec/storage.md`). Everything is checked before anything is written:
   * duplicate keys among the claims or among `behind.rows`, `behind.table` equal to `table`, a claim
   * index out of range or `behind.claims` of another length than `behind.rows` are a
   * ValidationError.
   *
   * @example
   * ```ts
   * import { uintBE, utf8 } from '@cloister/crypto';
   * const ids = [utf8('msg-1'), utf8('msg-2')].map((sort) => ({ partition: mailbox, sort, value: new Uint8Array() }));
   * const envelopes = [1, 2].map((seq) => ({ partition: mailbox, sort: uintBE(seq, 8), value: bytes }));
   * const won = await tx.claimMany('s_ids', ids, { table: 's_mailbox', rows: envelopes, claims: [0, 1] });
   * // won[i] === false: id i was already claimed and its envelope was not written
   * ```
   */
  claimMany(table: string, claims: readonly RowInput[], behind: ClaimedRows): Promise<boolean[]>;
  /**
   * Counts live rows of one partition (with an optional sort-key prefix).
   *
   * @example
   * ```ts
   * const pending = await tx.count('s_mailbox', mailbox); // → 3
   * ```
   */
  count(table: string, partition: Uint8Array, options?: { readonly prefix?: Uint8Array }): Promise<number>;
  /**
   * Live rows of one partition and the bytes their stored values take.
   *
   * @example
   * ```ts
   * const { rows, bytes } = await tx.usage('s_mailbox', mailbox);
   * ```
   */
  usage(table: string, partition: Uint8Array): Promise<PartitionUsage>;
  /**
   * Deletes every row (live or expired) of one partition; resolves how many were deleted.
   *
   * @example
   * ```ts
   * const removed = await tx.deletePartition('s_mailbox', mailbox); // → 3
   * ```
   */
  deletePartition(table: string, partition: Uint8Array): Promise<number>;
}

/**
 * Options of {@link StorageAdapter.transaction}.
 *
 * @example
 * ```ts
 * const options: TransactionOptions = { readOnly: true };
 * const pending = await adapter.transaction((tx) => tx.count('s_mailbox', mailbox), options);
 * ```
 */
export interface TransactionOptions {
  /** The transaction only reads; adapters may run several at once. */
  readonly readOnly?: boolean;
  /**
   * The callback makes one engine call and nothing else: a backend with statements may then
   * send that call without `BEGIN` and `COMMIT` around it when it is one statement (a statement
   * is atomic by itself), saving two round trips. A second call rejects with `StorageError`,
   * and where the first ran alone its writes then stand: give this only to a callback whose one
   * call is all it does. Backends without statements ignore it, but refuse a second call too.
   */
  readonly single?: boolean;
}

/**
 * Progress of {@link StorageAdapter.purgeExpired}, reported after each batch.
 *
 * @example
 * ```ts
 * const done: PurgeProgress = await adapter.purgeExpired({
 *   onProgress: (p: PurgeProgress) => console.log(`${p.deleted} rows in ${p.batches} batches`),
 * });
 * ```
 */
export interface PurgeProgress {
  /** Rows deleted so far by this call. */
  readonly deleted: number;
  /** Batches committed so far by this call. */
  readonly batches: number;
}

/**
 * Options of {@link StorageAdapter.purgeExpired}.
 *
 * @example
 * ```ts
 * const options: PurgeOptions = { batchSize: 1000, tables: ['s_mailbox'], signal: AbortSignal.timeout(60_000) };
 * const { deleted } = await adapter.purgeExpired(options);
 * ```
 */
export interface PurgeOptions {
  /** Rows deleted per transaction (1..{@link MAX_LIST_LIMIT}, default 500). */
  readonly batchSize?: number;
  /** Purge rows expired at or before this time (default: the adapter's clock). */
  readonly now?: number;
  /** Only these tables (default: all). */
  readonly tables?: readonly string[];
  /** Called after each committed batch. */
  readonly onProgress?: (progress: PurgeProgress) => void;
  /** Stops between batches; what was committed stays purged and a later call resumes. */
  readonly signal?: AbortSignal;
}

/**
 * A storage backend. Transactions are atomic (all writes of a callback commit together, or none
 * when it throws), never see another transaction's uncommitted writes, and may be retried: the
 * callback can run more than once (after a deadlock or serialization failure), so it must not
 * have effects outside the transaction.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * const db: StorageAdapter = createMemoryAdapter();
 * await db.transaction((tx) => tx.put('c_settings', { partition: mailbox, sort: utf8('theme'), value: utf8('dark') }));
 * await db.close();
 * ```
 */
export interface StorageAdapter {
  /** What backend this is, such as `memory`, `pglite`, `postgres`, `indexeddb`. */
  readonly kind: string;
  /** The clock used for expiry (ms since the epoch). */
  readonly now: () => number;
  /**
   * Runs `fn` in one transaction and resolves with its result after commit. When `fn` throws,
   * nothing it wrote is kept and the promise rejects with that error; `fn` may run more than once.
   *
   * @example
   * ```ts
   * const taken = await adapter.transaction(async (tx) => {
   *   const rows = await tx.take('s_jobs', mailbox, { limit: 5 });
   *   await tx.putMany('s_done', rows.map((r) => ({ partition: mailbox, sort: r.sort, value: r.value })));
   *   return rows.length;
   * });
   * ```
   */
  transaction<T>(fn: (tx: StorageTx) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Deletes expired rows in bounded batches, each batch its own transaction. Safe to run on
   * several instances at once and resumable: stopping midway loses nothing but time.
   *
   * @example
   * ```ts
   * const { deleted, batches } = await adapter.purgeExpired({ batchSize: 500, signal });
   * ```
   */
  purgeExpired(options?: PurgeOptions): Promise<PurgeProgress>;
  /**
   * Closes the backend; later calls reject with `StorageError`.
   *
   * @example
   * ```ts
   * await adapter.close();
   * ```
   */
  close(): Promise<void>;
}
