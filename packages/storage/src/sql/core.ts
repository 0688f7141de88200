/**
 * The SQL adapter itself, written once against {@link SqlClient}: transactions with rollback and
 * bounded retry, the row operations and the batched purge.
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
} from '../_check.js';
import { checkClaims, claimInSteps } from '../_claims.js';
import { secondCallError } from '../_single.js';
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
import {
  isConnectionLost,
  isRetryable,
  type SqlAdapterStatistics,
  type SqlClient,
  type SqlSession,
  storageError,
} from './client.js';
import type { Queries, Statement } from './queries.js';

/** How many times a transaction callback runs at most when it keeps hitting deadlocks. */
export const MAX_TRANSACTION_ATTEMPTS = 8;

function bytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  throw new StorageError('the database returned a malformed row');
}

function expiry(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new StorageError('the database returned a malformed row');
  return n;
}

/**
 * Bytes of keys and values one `putMany` statement carries at most, unless one row alone is
 * larger (a statement always takes at least one row). A call over this is split into several
 * statements, in key order and in the same transaction, so nothing but the statement count
 * changes: PostgreSQL refuses a parameter over 1 GB, the drivers send bytea as hex text (twice
 * the size), and a statement holds all its parameters in memory at once on both sides. The rows
 * a batch is for (messages, index rows) fit 1000 to a statement many times over.
 */
export const MAX_STATEMENT_BYTES = 16 * 1024 * 1024;

/**
 * The rows of a batch in key order (partition, then sort key, as unsigned bytes), split into runs
 * of at most {@link MAX_STATEMENT_BYTES} (each at least one row). Batches then lock the rows they
 * share in one order, whatever order their callers listed them in, so two of them do not deadlock
 * over those rows (a deadlock that happens anyway is retried like any other).
 */
function ordered<R extends RowKey>(rows: readonly R[], bytesOf: (row: R) => number): R[][] {
  const sorted = [...rows].sort(
    (a, b) => compareBytes(a.partition, b.partition) || compareBytes(a.sort, b.sort),
  );
  const out: R[][] = [];
  let current: R[] = [];
  let size = 0;
  for (const row of sorted) {
    const n = bytesOf(row);
    if (current.length > 0 && size + n > MAX_STATEMENT_BYTES) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(row);
    size += n;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** A map key for a row key (partition and sort key hex, which cannot contain `/`). */
function keyId(partition: Uint8Array, sort: Uint8Array): string {
  return `${toHex(partition)}/${toHex(sort)}`;
}

/** What a row carries into a statement: its keys and value. */
function rowBytes(row: Row): number {
  return row.partition.length + row.sort.length + row.value.length;
}

/**
 * Marks `written[i]` for each key a statement's `RETURNING part, sort` names; the keys of a
 * call are distinct, so each maps to one row of `run` (`i`: its index in the call).
 */
function markWritten(
  written: boolean[],
  run: readonly (RowKey & { i: number })[],
  returned: readonly Record<string, unknown>[],
): void {
  const index = new Map<string, number>();
  for (const r of run) index.set(keyId(r.partition, r.sort), r.i);
  for (const r of returned) {
    const i = index.get(keyId(bytes(r.part), bytes(r.sort)));
    if (i === undefined) throw new StorageError('the database returned a malformed row');
    written[i] = true;
  }
}

/**
 * A non-negative integer the database returned, such as a `count(*)` or `sum` (a `bigint` or
 * `numeric` the drivers hand back as a string); a total beyond 2^53 - 1 is refused rather than
 * rounded.
 */
function total(value: unknown): number {
  let n = Number.NaN;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint' || (typeof value === 'string' && /^[0-9]{1,16}$/.test(value)))
    n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new StorageError('the database returned a malformed row');
  return n;
}

/** The 1-based ordinal a batch statement returns as a 0-based index below `length`. */
function ordinal(value: unknown, length: number): number {
  const i = Number(value) - 1;
  if (!Number.isSafeInteger(i) || i < 0 || i >= length) {
    throw new StorageError('the database returned a malformed row');
  }
  return i;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const BEGIN = 'BEGIN ISOLATION LEVEL READ COMMITTED';
const BEGIN_READ_ONLY = 'BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY';

/** The state of one attempt, shared between the adapter and its `tx`. */
class Attempt {
  /** The first driver error of the attempt: the transaction is aborted and cannot commit. */
  failure: unknown;
  failed = false;
  done = false;
  /** `BEGIN` was sent: the attempt ends with `COMMIT` or `ROLLBACK`. */
  opened = false;
}

class SqlTx implements StorageTx {
  constructor(
    private readonly session: SqlSession,
    private readonly q: Queries,
    readonly now: number,
    private readonly readOnly: boolean,
    private readonly attempt: Attempt,
    /** A `single` transaction: no `BEGIN` unless its one call needs several statements. */
    private readonly single: boolean,
  ) {}

  private calls = 0;

  /** The integer time compared with `expires_at` (rows hold integers, so flooring is exact). */
  private get at(): number {
    return Math.floor(this.now);
  }

  private active(): void {
    if (this.attempt.done) throw new StorageError('the transaction has already ended');
  }

  /** The start of every call: refuses calls after the end, and a second call of a single one. */
  private enter(): void {
    this.active();
    this.calls++;
    if (this.single && this.calls > 1) throw secondCallError();
  }

  /** Before a call that sends several statements: a single transaction then needs `BEGIN` after all. */
  private async several(): Promise<void> {
    if (this.attempt.opened) return;
    await this.run('begin', this.readOnly ? BEGIN_READ_ONLY : BEGIN, []);
    this.attempt.opened = true;
  }

  private async run(operation: string, text: string, params: readonly unknown[]) {
    if (this.attempt.failed) {
      throw new StorageError('the transaction was aborted by an earlier failed statement', {
        cause: this.attempt.failure,
      });
    }
    try {
      return await this.session.query(text, params);
    } catch (error) {
      if (!this.attempt.failed) {
        this.attempt.failed = true;
        this.attempt.failure = error;
      }
      throw storageError(operation, error);
    }
  }

  private runStatement(operation: string, s: Statement) {
    return this.run(operation, s.text, s.params);
  }

  async get(
    table: string,
    partition: Uint8Array,
    sort: Uint8Array,
    options?: GetOptions,
  ): Promise<Row | undefined> {
    this.enter();
    checkTable(table);
    checkKey(partition, 'partition');
    checkKey(sort, 'sort');
    const text = options?.forUpdate === true && !this.readOnly ? this.q.getForUpdate : this.q.get;
    const result = await this.run('get', text, [table, partition, sort, this.at]);
    const row = result.rows[0];
    if (row === undefined) return undefined;
    return {
      partition: partition.slice(),
      sort: sort.slice(),
      value: bytes(row.value),
      expiresAt: expiry(row.expires_at),
    };
  }

  async put(table: string, input: RowInput, options?: PutOptions): Promise<boolean> {
    this.enter();
    checkTable(table);
    const row = checkRowInput(input);
    const params = [table, row.partition, row.sort, row.value, row.expiresAt];
    if (options?.ifAbsent === true) {
      const result = await this.run('put', this.q.putIfAbsent, [...params, this.at]);
      return result.rowCount > 0;
    }
    await this.run('put', this.q.put, params);
    return true;
  }

  async delete(table: string, partition: Uint8Array, sort: Uint8Array): Promise<boolean> {
    this.enter();
    checkTable(table);
    checkKey(partition, 'partition');
    checkKey(sort, 'sort');
    const result = await this.run('delete', this.q.delete, [table, partition, sort, this.at]);
    return result.rows[0]?.live === true;
  }

  async putMany(table: string, rows: readonly RowInput[], options?: PutOptions): Promise<boolean[]> {
    this.enter();
    checkTable(table);
    return this.writeMany(table, checkRowInputs(rows), options?.ifAbsent === true);
  }

  /** `putMany` of checked rows, in as many statements as {@link MAX_STATEMENT_BYTES} asks for. */
  private async writeMany(table: string, rows: readonly Row[], ifAbsent: boolean): Promise<boolean[]> {
    const checked = rows.map((row, i) => ({ ...row, i }));
    const written = new Array<boolean>(checked.length).fill(!ifAbsent);
    const runs = ordered(checked, rowBytes);
    if (runs.length > 1) await this.several();
    for (const run of runs) {
      const params: unknown[] = [
        table,
        run.map((r) => r.partition),
        run.map((r) => r.sort),
        run.map((r) => r.value),
        run.map((r) => r.expiresAt),
      ];
      if (!ifAbsent) {
        await this.run('putMany', this.q.putMany, params);
        continue;
      }
      const result = await this.run('putMany', this.q.putManyIfAbsent, [...params, this.at]);
      markWritten(written, run, result.rows);
    }
    return written;
  }

  async claimMany(table: string, claims: readonly RowInput[], behind: ClaimedRows): Promise<boolean[]> {
    this.enter();
    checkTable(table);
    const c = checkClaims(table, claims, behind);
    const size = [...c.claims, ...c.behind.rows].reduce((n, row) => n + rowBytes(row), 0);
    if (c.claims.length === 0) return [];
    if (size > MAX_STATEMENT_BYTES) {
      // Too large for one statement: the two `putMany` it stands for.
      await this.several();
      return claimInSteps((t, rows, ifAbsent) => this.writeMany(t, rows, ifAbsent), table, c);
    }
    const [claimRun] = ordered(
      c.claims.map((row, i) => ({ ...row, i })),
      () => 0,
    ) as [(Row & { i: number })[]];
    const [rowRun] = ordered(
      c.behind.rows.map((row, j) => ({ ...row, claim: c.claims[c.behind.claims[j] as number] as Row })),
      () => 0,
    );
    const rowsBehind = rowRun ?? [];
    const result = await this.run('claimMany', this.q.claimMany, [
      table,
      claimRun.map((r) => r.partition),
      claimRun.map((r) => r.sort),
      claimRun.map((r) => r.value),
      claimRun.map((r) => r.expiresAt),
      this.at,
      c.behind.table,
      rowsBehind.map((r) => r.partition),
      rowsBehind.map((r) => r.sort),
      rowsBehind.map((r) => r.value),
      rowsBehind.map((r) => r.expiresAt),
      rowsBehind.map((r) => r.claim.partition),
      rowsBehind.map((r) => r.claim.sort),
    ]);
    const written = new Array<boolean>(c.claims.length).fill(false);
    markWritten(written, claimRun, result.rows);
    return written;
  }

  async getMany(table: string, keys: readonly RowKey[]): Promise<(Row | undefined)[]> {
    this.enter();
    checkTable(table);
    const checked = checkRowKeys(keys, false);
    const rows = new Array<Row | undefined>(checked.length).fill(undefined);
    if (checked.length === 0) return rows;
    const result = await this.run('getMany', this.q.getMany, [
      table,
      checked.map((k) => k.partition),
      checked.map((k) => k.sort),
      this.at,
    ]);
    for (const r of result.rows) {
      const i = ordinal(r.i, checked.length);
      const k = checked[i] as RowKey;
      rows[i] = {
        partition: k.partition.slice(),
        sort: k.sort.slice(),
        value: bytes(r.value),
        expiresAt: expiry(r.expires_at),
      };
    }
    return rows;
  }

  async deleteMany(table: string, keys: readonly RowKey[]): Promise<boolean[]> {
    this.enter();
    checkTable(table);
    const checked = checkRowKeys(keys, true).map((key, i) => ({ ...key, i }));
    const deleted = new Array<boolean>(checked.length).fill(false);
    if (checked.length === 0) return deleted;
    // Keys are at most 1 KiB a row: a call never needs more than one statement.
    const [run] = ordered(checked, () => 0) as [(RowKey & { i: number })[]];
    const result = await this.run('deleteMany', this.q.deleteMany, [
      table,
      run.map((k) => k.partition),
      run.map((k) => k.sort),
      this.at,
    ]);
    for (const r of result.rows)
      deleted[(run[ordinal(r.i, run.length)] as { i: number }).i] = r.live === true;
    return deleted;
  }

  async list(table: string, partition: Uint8Array, options?: ListOptions): Promise<Row[]> {
    this.enter();
    checkTable(table);
    const o = checkListOptions(options);
    checkKey(partition, 'partition');
    const result = await this.runStatement('list', this.q.list(table, partition, this.at, o));
    return result.rows.map((r) => ({
      partition: partition.slice(),
      sort: bytes(r.sort),
      value: bytes(r.value),
      expiresAt: expiry(r.expires_at),
    }));
  }

  async take(table: string, partition: Uint8Array, options?: TakeOptions): Promise<Row[]> {
    this.enter();
    checkTable(table);
    const o = checkTakeOptions(options);
    checkKey(partition, 'partition');
    const result = await this.runStatement('take', this.q.take(table, partition, this.at, o));
    const rows: Row[] = result.rows.map((r) => ({
      partition: partition.slice(),
      sort: bytes(r.sort),
      value: bytes(r.value),
      expiresAt: expiry(r.expires_at),
    }));
    return rows.sort((a, b) => compareBytes(a.sort, b.sort));
  }

  async count(
    table: string,
    partition: Uint8Array,
    options?: { readonly prefix?: Uint8Array },
  ): Promise<number> {
    this.enter();
    checkTable(table);
    const prefix = options?.prefix === undefined ? undefined : checkKey(options.prefix, 'prefix');
    checkKey(partition, 'partition');
    const result = await this.runStatement('count', this.q.count(table, partition, this.at, prefix));
    return Number(result.rows[0]?.n ?? 0);
  }

  async usage(table: string, partition: Uint8Array): Promise<PartitionUsage> {
    this.enter();
    checkTable(table);
    checkKey(partition, 'partition');
    const result = await this.run('usage', this.q.usage, [table, partition, this.at]);
    const row = result.rows[0];
    if (row === undefined) throw new StorageError('the database returned a malformed row');
    return { rows: total(row.n), bytes: total(row.bytes) };
  }

  async deletePartition(table: string, partition: Uint8Array): Promise<number> {
    this.enter();
    checkTable(table);
    checkKey(partition, 'partition');
    const result = await this.run('deletePartition', this.q.deletePartition, [table, partition]);
    return result.rowCount;
  }
}

type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false };

/** The adapter over one {@link SqlClient}; `kind` is the client's. */
export class SqlAdapter<K extends 'pglite' | 'postgres'> implements StorageAdapter {
  private closed = false;

  constructor(
    readonly kind: K,
    private readonly client: SqlClient,
    private readonly q: Queries,
    readonly now: () => number,
  ) {}

  private checkOpen(): void {
    if (this.closed) throw new StorageError('the store is closed');
  }

  /** The statements and transactions sent to the driver so far (see {@link SqlAdapterStatistics}). */
  statistics(): SqlAdapterStatistics {
    return this.client.statistics();
  }

  async transaction<T>(fn: (tx: StorageTx) => Promise<T>, options?: TransactionOptions): Promise<T> {
    this.checkOpen();
    const readOnly = options?.readOnly === true;
    const single = options?.single === true;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.client.session((session) =>
        this.attempt(session, fn, readOnly, single, attempt < MAX_TRANSACTION_ATTEMPTS),
      );
      if (outcome.ok) return outcome.value;
      // Deadlock or serialization failure: back off a little, with jitter, and run again.
      await sleep(Math.random() * Math.min(100, 2 ** attempt));
    }
  }

  private async attempt<T>(
    session: SqlSession,
    fn: (tx: StorageTx) => Promise<T>,
    readOnly: boolean,
    single: boolean,
    mayRetry: boolean,
  ): Promise<Outcome<T>> {
    this.checkOpen();
    const now = this.now();
    const state = new Attempt();
    // A single transaction sends its one statement alone (atomic by itself), with no BEGIN.
    if (!single) {
      try {
        await session.query(readOnly ? BEGIN_READ_ONLY : BEGIN);
      } catch (error) {
        // A pooled connection that died while idle: nothing ran yet, so another one may be tried.
        if (isConnectionLost(error) && mayRetry) return { ok: false };
        throw storageError('begin', error);
      }
      state.opened = true;
    }
    const tx = new SqlTx(session, this.q, now, readOnly, state, single);
    let value: T;
    try {
      value = await fn(tx);
    } catch (error) {
      state.done = true;
      if (state.opened) await rollback(session);
      if (state.failed && isRetryable(state.failure) && mayRetry) return { ok: false };
      throw error;
    }
    state.done = true;
    if (state.failed) {
      // The callback caught a failed statement and went on: the transaction cannot commit.
      if (state.opened) await rollback(session);
      if (isRetryable(state.failure) && mayRetry) return { ok: false };
      throw storageError('transaction', state.failure);
    }
    if (!state.opened) return { ok: true, value };
    try {
      await session.query('COMMIT');
    } catch (error) {
      if (isRetryable(error) && mayRetry) return { ok: false };
      throw storageError('commit', error);
    }
    return { ok: true, value };
  }

  async purgeExpired(options?: PurgeOptions): Promise<PurgeProgress> {
    const o = checkPurgeOptions(options);
    const { batchSize, tables } = o;
    let deleted = 0;
    let batches = 0;
    for (;;) {
      if (o.signal?.aborted) break;
      const now = o.now ?? this.now();
      this.checkOpen();
      const statement = this.q.purge(Math.floor(now), tables, batchSize);
      const n = await this.client.session(async (session) => {
        this.checkOpen();
        try {
          await session.query(BEGIN);
          const result = await session.query(statement.text, statement.params);
          await session.query('COMMIT');
          return result.rowCount;
        } catch (error) {
          await rollback(session);
          throw storageError('purge', error);
        }
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
    if (this.closed) return;
    this.closed = true;
    await this.client.close();
  }
}

/**
 * Rolls back, never throwing: a failed `ROLLBACK` means the connection is unusable, which the
 * client notices (it discards the connection) and the server resolves by rolling back itself.
 */
async function rollback(session: SqlSession): Promise<void> {
  try {
    await session.query('ROLLBACK');
  } catch {
    // See above.
  }
}
