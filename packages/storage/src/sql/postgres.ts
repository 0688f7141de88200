/**
 * The SQL adapter over PostgreSQL through a `pg` connection pool: one pooled connection per
 * transaction, transactions in parallel at READ COMMITTED.
 *
 * @module
 */
import { StorageError, ValidationError } from '@cloister/crypto';
import pg from 'pg';
import { Mutex } from '../_mutex.js';
import type { StorageAdapter } from '../adapter.js';
import {
  isConnectionLost,
  type SqlAdapterStatistics,
  type SqlClient,
  type SqlResult,
  type SqlSession,
  StatementCounter,
  storageError,
} from './client.js';
import { SqlAdapter } from './core.js';
import { Queries } from './queries.js';
import { checkSchemaName, migrate } from './schema.js';

/**
 * Options of {@link createPostgresAdapter}.
 *
 * @example
 * ```ts
 * const options: PostgresAdapterOptions = {
 *   connectionString: 'postgres://cloister@db.internal/cloister',
 *   schema: 'messaging',
 *   poolSize: 20,
 * };
 * const db = await createPostgresAdapter(options);
 * ```
 */
export interface PostgresAdapterOptions {
  /** A `postgres://` connection string. */
  readonly connectionString: string;
  /** The schema holding the tables (default `public`); created when missing. */
  readonly schema?: string;
  /** Most connections the pool opens (1..1000, default 10). */
  readonly poolSize?: number;
  /** The clock for expiry (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * A storage adapter over PostgreSQL, with the count of statements it sent to the server.
 *
 * @example
 * ```ts
 * const db: PostgresAdapter = await createPostgresAdapter({ connectionString: 'postgres://cloister@db.internal/cloister' });
 * console.log(db.kind); // 'postgres'
 * console.log(db.statistics().transactions); // transactions begun so far, over all pooled connections
 * ```
 */
export type PostgresAdapter = StorageAdapter & {
  readonly kind: 'postgres';
  /** What the adapter has sent to PostgreSQL so far, over all its connections; see {@link SqlAdapterStatistics}. */
  statistics(): SqlAdapterStatistics;
};

function toResult(result: pg.QueryResult): SqlResult {
  return { rows: result.rows as Record<string, unknown>[], rowCount: result.rowCount ?? result.rows.length };
}

class PostgresClient implements SqlClient {
  readonly kind = 'postgres';
  private closed = false;
  private readonly counter = new StatementCounter();

  constructor(private readonly pool: pg.Pool) {
    // An idle connection that fails (server restart, terminated backend) is dropped by the pool;
    // without a listener the event would end the process.
    pool.on('error', () => undefined);
  }

  statistics(): SqlAdapterStatistics {
    return this.counter.snapshot();
  }

  async session<T>(fn: (session: SqlSession) => Promise<T>): Promise<T> {
    if (this.closed) throw new StorageError('the store is closed');
    let connection: pg.PoolClient;
    try {
      connection = await this.pool.connect();
    } catch (error) {
      throw storageError('connect', error);
    }
    let broken = false;
    const onError = () => {
      broken = true;
    };
    connection.on('error', onError);
    // Statements a callback issues at once go to the connection one after the other.
    const queue = new Mutex();
    const session: SqlSession = {
      query: (text, params) =>
        queue.run(async () => {
          try {
            // The one call of the driver: every statement is counted here.
            this.counter.count(text);
            return toResult(await connection.query(text, params === undefined ? [] : [...params]));
          } catch (error) {
            if (isConnectionLost(error) || text === 'ROLLBACK') broken = true;
            throw error;
          }
        }),
    };
    try {
      return await fn(session);
    } finally {
      connection.off('error', onError);
      // A broken connection is destroyed rather than returned to the pool.
      connection.release(broken);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.pool.end();
    } catch (error) {
      throw storageError('close', error);
    }
  }
}

/**
 * Connects to PostgreSQL and returns an adapter over it, with the schema created if missing and
 * migrated to {@link SQL_SCHEMA_VERSION}. Several processes may open the same database at once.
 *
 * @example
 * ```ts
 * import { createPostgresAdapter } from '@cloister/storage/sql';
 * const db = await createPostgresAdapter({ connectionString: process.env.DATABASE_URL ?? '' });
 * await db.purgeExpired({ batchSize: 1000 });
 * await db.close();
 * ```
 */
export async function createPostgresAdapter(options: PostgresAdapterOptions): Promise<PostgresAdapter> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const { connectionString } = options;
  if (typeof connectionString !== 'string' || connectionString.length === 0) {
    throw new ValidationError('connectionString', 'a non-empty postgres:// connection string');
  }
  const schema = checkSchemaName(options.schema ?? 'public');
  const poolSize = options.poolSize ?? 10;
  if (typeof poolSize !== 'number' || !Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000) {
    throw new ValidationError('poolSize', 'an integer in 1..1000');
  }
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new ValidationError('now', 'a function returning ms since the epoch');
  let pool: pg.Pool;
  try {
    pool = new pg.Pool({ connectionString, max: poolSize });
  } catch (error) {
    throw storageError('connect', error);
  }
  const client = new PostgresClient(pool);
  try {
    await migrate(client, schema);
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
  return new SqlAdapter('postgres', client, new Queries(schema), now);
}
