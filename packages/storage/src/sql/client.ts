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

/** A source of connections: a single embedded database, or a pool. */
export interface SqlClient {
  /** `pglite` or `postgres`. */
  readonly kind: 'pglite' | 'postgres';
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
