/**
 * The one internal SQL-client interface the SQL adapter is written against, and the mapping of
 * driver errors to `StorageError`. PGlite and node-postgres each implement it; every statement
 * the adapter runs is the same text on both.
 *
 * @module
 */
import { StorageError } from '@cloister/crypto';

/** The rows and affected-row count of one statement. */
export interface SqlResult {
  readonly rows: readonly Record<string, unknown>[];
  readonly rowCount: number;
}

/** One database connection, held for the duration of a {@link SqlClient.session} callback. */
export interface SqlSession {
  /** Runs one statement with positional parameters (`$1`, `$2`, ...). */
  query(text: string, params?: readonly unknown[]): Promise<SqlResult>;
}

/**
 * What an SQL adapter has sent to its database driver since it was opened (the migration check
 * at open included): every statement, `BEGIN`, `COMMIT` and `ROLLBACK` included, and how many of
 * them began a transaction (callback attempts, retries included, and purge batches). A snapshot:
 * compare two of them to measure a piece of work, for example how many statements one delivery
 * costs.
 *
 * @example
 * ```ts
 * import { uintBE } from '@cloister/crypto';
 * const rows = [1, 2, 3].map((seq) => ({ partition: mailbox, sort: uintBE(seq, 8), value: bytes }));
 * const db = await createPGliteAdapter();
 * const before = db.statistics();
 * await db.transaction((tx) => tx.putMany('s_mailbox', rows));
 * const after = db.statistics();
 * console.log(after.statements - before.statements); // 3: BEGIN, the insert, COMMIT
 * console.log(after.transactions - before.transactions); // 1
 * ```
 */
export interface SqlAdapterStatistics {
  /** Statements sent to the driver, `BEGIN`, `COMMIT` and `ROLLBACK` included. */
  readonly statements: number;
  /** Transactions begun (`BEGIN` statements). */
  readonly transactions: number;
}

/** Counts what a client sends; each client calls {@link count} where it calls its driver. */
export class StatementCounter {
  private statements = 0;
  private transactions = 0;

  count(text: string): void {
    this.statements++;
    if (text.startsWith('BEGIN')) this.transactions++;
  }

  snapshot(): SqlAdapterStatistics {
    return { statements: this.statements, transactions: this.transactions };
  }
}

/** A source of connections: a single embedded database, or a pool. */
export interface SqlClient {
  /** `pglite` or `postgres`. */
  readonly kind: 'pglite' | 'postgres';
  /** What this client has sent to its driver so far. */
  statistics(): SqlAdapterStatistics;
  /**
   * Runs `fn` on a connection nobody else uses until it settles. Rejects with `StorageError`
   * when the client is closed or no connection can be had.
   */
  session<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
  /** Closes the client after the sessions in progress; later sessions reject. */
  close(): Promise<void>;
}

/** The SQLSTATE of a driver error, when it has one. */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** Serialization failure and deadlock: the transaction may succeed when run again. */
export function isRetryable(error: unknown): boolean {
  const code = sqlState(error);
  return code === '40001' || code === '40P01';
}

/**
 * Whether a driver error means the connection itself is gone (no SQLSTATE, connection
 * exception, operator intervention), so it must not go back to a pool.
 */
export function isConnectionLost(error: unknown): boolean {
  const code = sqlState(error);
  return code === undefined || code.startsWith('08') || code.startsWith('57');
}

/**
 * Wraps a driver error as `StorageError`. The message names the operation and the SQLSTATE
 * only, never a value; the driver error is kept as `cause`.
 */
export function storageError(operation: string, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  const code = sqlState(error);
  return new StorageError(`${operation} failed${code === undefined ? '' : ` (SQLSTATE ${code})`}`, {
    cause: error,
  });
}
