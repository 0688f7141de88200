/**
 * The SQL adapter over embedded PGlite (PostgreSQL compiled to WebAssembly): one connection, so
 * transactions run one at a time, queued on a mutex.
 *
 * @module
 */
import { StorageError, ValidationError } from '@cloister/crypto';
import { PGlite } from '@electric-sql/pglite';
import { Mutex } from '../_mutex.js';
import type { StorageAdapter } from '../adapter.js';
import {
  type SqlAdapterStatistics,
  type SqlClient,
  type SqlResult,
  type SqlSession,
  StatementCounter,
  storageError,
} from './client.js';
import { SqlAdapter } from './core.js';
import { Queries } from './queries.js';
import { migrate } from './schema.js';

/**
 * Options of {@link createPGliteAdapter}.
 *
 * @example
 * ```ts
 * const options: PGliteAdapterOptions = { dataDir: './cloister-data', now: () => Date.now() };
 * const db = await createPGliteAdapter(options);
 * ```
 */
export interface PGliteAdapterOptions {
  /**
   * Where the database files live (created if missing). Absent: the database is kept in memory
   * and lost on close. A URL-style value such as `idb://name` is passed to PGlite unchanged.
   */
  readonly dataDir?: string;
  /** A snapshot from {@link dumpPGlite} to start from (the data directory must then be new). */
  readonly loadDataDir?: Blob | File;
  /** The clock for expiry (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * A storage adapter over PGlite, with the count of statements it sent to the database.
 *
 * @example
 * ```ts
 * const db: PGliteAdapter = await createPGliteAdapter();
 * console.log(db.kind); // 'pglite'
 * console.log(db.statistics().statements); // statements sent so far (the migration check at open included)
 * ```
 */
export type PGliteAdapter = StorageAdapter & {
  readonly kind: 'pglite';
  /** What the adapter has sent to PGlite so far; see {@link SqlAdapterStatistics}. */
  statistics(): SqlAdapterStatistics;
};

class PGliteClient implements SqlClient {
  readonly kind = 'pglite';
  private readonly mutex = new Mutex();
  private closed = false;
  private readonly session_: SqlSession;
  private readonly counter = new StatementCounter();

  /** `ownsDatabase`: closing the client closes the PGlite instance too. */
  constructor(
    readonly db: PGlite,
    private readonly ownsDatabase = true,
  ) {
    this.session_ = {
      query: async (text: string, params?: readonly unknown[]): Promise<SqlResult> => {
        // The one call of the driver: every statement is counted here.
        this.counter.count(text);
        const result = await db.query<Record<string, unknown>>(text, params === undefined ? [] : [...params]);
        return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
      },
    };
  }

  statistics(): SqlAdapterStatistics {
    return this.counter.snapshot();
  }

  session<T>(fn: (session: SqlSession) => Promise<T>): Promise<T> {
    return this.mutex.run(async () => {
      if (this.closed) throw new StorageError('the store is closed');
      return fn(this.session_);
    });
  }

  /** Runs `fn` on the database while no transaction is in progress. */
  exclusive<T>(fn: (db: PGlite) => Promise<T>): Promise<T> {
    return this.session(() => fn(this.db));
  }

  close(): Promise<void> {
    return this.mutex.run(async () => {
      if (this.closed) return;
      this.closed = true;
      if (!this.ownsDatabase) return;
      try {
        await this.db.close();
      } catch (error) {
        throw storageError('close', error);
      }
    });
  }
}

const clients = new WeakMap<object, PGliteClient>();

async function ensureDirectory(dataDir: string): Promise<void> {
  if (dataDir.includes('://')) return;
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dataDir, { recursive: true });
}

/**
 * Opens (creating if needed) a PGlite database and returns an adapter over it, with the schema
 * migrated to {@link SQL_SCHEMA_VERSION}. Persisted to `dataDir`, or in memory when absent.
 *
 * @example
 * ```ts
 * import { createPGliteAdapter } from '@cloister/storage/sql';
 * const db = await createPGliteAdapter({ dataDir: './cloister-data' });
 * await db.transaction(async (tx) => tx.count('settings', new Uint8Array()));
 * await db.close();
 * ```
 */
export async function createPGliteAdapter(options: PGliteAdapterOptions = {}): Promise<PGliteAdapter> {
  const { dataDir, loadDataDir } = options;
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new ValidationError('now', 'a function returning ms since the epoch');
  if (dataDir !== undefined && (typeof dataDir !== 'string' || dataDir.length === 0)) {
    throw new ValidationError('dataDir', 'a non-empty path');
  }
  if (loadDataDir !== undefined && !(loadDataDir instanceof Blob)) {
    throw new ValidationError('loadDataDir', 'a Blob from dumpPGlite');
  }
  let db: PGlite;
  try {
    if (dataDir !== undefined) await ensureDirectory(dataDir);
    db = await PGlite.create({
      ...(dataDir === undefined ? {} : { dataDir }),
      ...(loadDataDir === undefined ? {} : { loadDataDir }),
    });
  } catch (error) {
    throw storageError('open', error);
  }
  return open(new PGliteClient(db), now);
}

async function open(client: PGliteClient, now: () => number): Promise<PGliteAdapter> {
  try {
    await migrate(client, 'public');
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
  const adapter = new SqlAdapter('pglite', client, new Queries('public'), now);
  clients.set(adapter, client);
  return adapter;
}

/**
 * An adapter over a PGlite instance the caller opened and keeps (closing the adapter leaves the
 * instance open). Internal (not part of the `@cloister/storage/sql` entry): tests use it to run
 * many short-lived adapters over one database instead of starting PGlite for each.
 *
 * @internal
 */
export function attachPGliteAdapter(db: PGlite, now: () => number = Date.now): Promise<PGliteAdapter> {
  return open(new PGliteClient(db, false), now);
}

/**
 * Snapshots the whole database of a PGlite adapter (between transactions) as an uncompressed
 * tarball that {@link createPGliteAdapter} accepts as `loadDataDir`. Opening from a snapshot is
 * several times faster than creating a database, which is what tests use it for.
 *
 * @example
 * ```ts
 * import { createPGliteAdapter, dumpPGlite } from '@cloister/storage/sql';
 * const template = await createPGliteAdapter();
 * const snapshot = await dumpPGlite(template);
 * const copy = await createPGliteAdapter({ loadDataDir: snapshot });
 * ```
 */
export async function dumpPGlite(adapter: StorageAdapter): Promise<Blob> {
  const client = clients.get(adapter);
  if (client === undefined) throw new ValidationError('adapter', 'an adapter from createPGliteAdapter');
  return client.exclusive(async (db) => {
    try {
      return await db.dumpDataDir('none');
    } catch (error) {
      throw storageError('dump', error);
    }
  });
}

/**
 * Runs one statement directly on the PGlite database under an adapter, between transactions.
 * Internal (not part of the `@cloister/storage/sql` entry): tests use it to inspect the schema.
 *
 * @internal
 */
export function rawPGliteQuery(
  adapter: StorageAdapter,
  text: string,
  params: readonly unknown[] = [],
): Promise<SqlResult> {
  const client = clients.get(adapter);
  if (client === undefined) throw new ValidationError('adapter', 'an adapter from createPGliteAdapter');
  return client.session((session) => session.query(text, params));
}
