/**
 * The database's own durable-write rate: how many messages per second a minimal durable queue on
 * the same database can enqueue and dequeue, measured in the same run as the relay, so that the
 * relay's figures can be read against what its database can do at all.
 *
 * A scratch table `queue (id bigint identity primary key, key bytea, body bytea)` (PostgreSQL: in a
 * scratch schema, dropped afterwards; PGlite: a fresh instance in a temporary directory, removed
 * afterwards) and `clients` concurrent loops (PostgreSQL: a `pg.Pool` of `clients` connections;
 * PGlite has one connection, which serialises them), each repeating:
 * - grouped: one statement `INSERT … SELECT FROM unnest($1::bytea[], $2::bytea[]) RETURNING id`
 *   of `group` rows (a random 16-byte key and a random 500-byte body each), then one statement
 *   `DELETE … WHERE id = ANY($1)` of those ids;
 * - single-row: one `INSERT … VALUES ($1, $2) RETURNING id`, then one `DELETE … WHERE id = $1`.
 * Every statement runs in autocommit, so each is one transaction with one commit, flushed to the
 * WAL before the driver returns (`synchronous_commit` is left at its default, `on`). A message
 * counts once its delete has committed, when that falls within the measured window (after a
 * warm-up that is not counted).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { dropSchema } from '../report-files.js';

/** Bytes of the random key of each message. */
export const DURABLE_KEY_BYTES = 16;
/** Bytes of the random body of each message. */
export const DURABLE_BODY_BYTES = 500;

/** What {@link measureDurableWrites} measured on one backend. */
export interface DurableWriteResult {
  readonly backend: 'postgres' | 'pglite';
  /** Concurrent loops. */
  readonly clients: number;
  /** Messages per enqueue statement (and per dequeue statement) in the grouped variant. */
  readonly group: number;
  /** Messages enqueued and dequeued per second, `group` per statement. */
  readonly messagesPerSecond: number;
  /** Messages enqueued and dequeued per second, one per statement. */
  readonly singleRowPerSecond: number;
  /** Measured seconds of each variant (after its warm-up). */
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** The database's `synchronous_commit` and `fsync` settings during the measurement. */
  readonly synchronousCommit: string;
  readonly fsync: string;
}

/** Options of {@link measureDurableWrites}. */
export interface DurableWriteOptions {
  /** PostgreSQL only: the server to measure (a scratch schema is created in its database). */
  readonly connectionString?: string;
  /** Measured seconds of each variant. */
  readonly seconds: number;
  /** Not counted, before each variant (default 0.5). */
  readonly warmupSeconds?: number;
  readonly clients: number;
  readonly group: number;
}

/** The one call both drivers have in common here. */
interface Database {
  query(
    text: string,
    params?: readonly unknown[],
  ): Promise<{ rows: Array<Record<string, unknown>>; rowCount: number }>;
}

/** The part of `@electric-sql/pglite` used here. */
interface PGliteModule {
  readonly PGlite: {
    create(options: { dataDir: string }): Promise<{
      query(
        text: string,
        params?: unknown[],
      ): Promise<{ rows: Array<Record<string, unknown>>; affectedRows?: number }>;
      close(): Promise<void>;
    }>;
  };
}

/**
 * PGlite as `@cloister/storage` has it: the benchmarks do not depend on PGlite themselves, so it is
 * resolved from the storage package, which gives the very version the server runs on.
 */
function loadPGlite(): PGliteModule {
  const storage = createRequire(import.meta.url).resolve('@cloister/storage/package.json');
  return createRequire(storage)('@electric-sql/pglite') as PGliteModule;
}

/**
 * Runs `op` in `clients` concurrent loops until `warmupMs + durationMs` have passed and returns
 * the messages per second whose operation completed within the last `durationMs`. An operation
 * that throws stops every loop and is rethrown.
 */
async function rate(
  clients: number,
  warmupMs: number,
  durationMs: number,
  op: () => Promise<number>,
): Promise<number> {
  // The phases are decided by reading the clock, not by timers: PGlite can resolve through
  // microtasks only, which would starve a timer.
  const start = performance.now() + warmupMs;
  const end = start + durationMs;
  let messages = 0;
  let failure: unknown;
  const loop = async (): Promise<void> => {
    while (failure === undefined && performance.now() < end) {
      let n: number;
      try {
        n = await op();
      } catch (e) {
        failure ??= e;
        return;
      }
      const t = performance.now();
      if (t >= start && t <= end) messages += n;
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  if (failure !== undefined) throw failure;
  return messages / (durationMs / 1000);
}

/** `n` random keys and bodies. */
function messages(n: number): { keys: Buffer[]; bodies: Buffer[] } {
  const bytes = randomBytes(n * (DURABLE_KEY_BYTES + DURABLE_BODY_BYTES));
  const keys: Buffer[] = [];
  const bodies: Buffer[] = [];
  for (let i = 0, at = 0; i < n; i++) {
    keys.push(bytes.subarray(at, at + DURABLE_KEY_BYTES));
    at += DURABLE_KEY_BYTES;
    bodies.push(bytes.subarray(at, at + DURABLE_BODY_BYTES));
    at += DURABLE_BODY_BYTES;
  }
  return { keys, bodies };
}

/** Both variants against a database whose table `table` exists. */
async function measure(
  db: Database,
  table: string,
  backend: DurableWriteResult['backend'],
  options: DurableWriteOptions,
): Promise<DurableWriteResult> {
  const { clients, group, seconds } = options;
  const warmupSeconds = options.warmupSeconds ?? 0.5;
  const setting = async (name: string) =>
    String((await db.query(`SHOW ${name}`)).rows[0]?.[name] ?? 'unknown');
  const synchronousCommit = await setting('synchronous_commit');
  const fsync = await setting('fsync');
  const insertMany = `INSERT INTO ${table} (key, body) SELECT * FROM unnest($1::bytea[], $2::bytea[]) RETURNING id`;
  const deleteMany = `DELETE FROM ${table} WHERE id = ANY($1::bigint[])`;
  const insertOne = `INSERT INTO ${table} (key, body) VALUES ($1, $2) RETURNING id`;
  const deleteOne = `DELETE FROM ${table} WHERE id = $1`;
  const messagesPerSecond = await rate(clients, warmupSeconds * 1000, seconds * 1000, async () => {
    const { keys, bodies } = messages(group);
    const { rows } = await db.query(insertMany, [keys, bodies]);
    if (rows.length !== group) throw new Error(`enqueued ${rows.length} of ${group} rows`);
    const { rowCount } = await db.query(deleteMany, [rows.map((r) => r.id)]);
    if (rowCount !== group) throw new Error(`dequeued ${rowCount} of ${group} rows`);
    return group;
  });
  const singleRowPerSecond = await rate(clients, warmupSeconds * 1000, seconds * 1000, async () => {
    const { keys, bodies } = messages(1);
    const { rows } = await db.query(insertOne, [keys[0], bodies[0]]);
    const { rowCount } = await db.query(deleteOne, [rows[0]?.id]);
    if (rowCount !== 1) throw new Error(`dequeued ${rowCount} of 1 row`);
    return 1;
  });
  return {
    backend,
    clients,
    group,
    messagesPerSecond,
    singleRowPerSecond,
    seconds,
    warmupSeconds,
    synchronousCommit,
    fsync,
  };
}

const TABLE_COLUMNS =
  '(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, key bytea NOT NULL, body bytea NOT NULL)';

/**
 * Measures a minimal durable queue on `backend`: messages enqueued and dequeued per second by
 * `options.clients` concurrent loops, `options.group` messages per statement, and one per
 * statement. Leaves nothing behind (the scratch schema or the temporary directory is removed).
 */
export async function measureDurableWrites(
  backend: 'postgres' | 'pglite',
  options: DurableWriteOptions,
): Promise<DurableWriteResult> {
  const { clients, group, seconds } = options;
  if (!Number.isInteger(clients) || clients < 1 || !Number.isInteger(group) || group < 1 || !(seconds > 0)) {
    throw new Error('measureDurableWrites: clients and group must be positive integers, seconds positive');
  }
  if (backend === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), 'cloister-bench-durable-'));
    try {
      const db = await loadPGlite().PGlite.create({ dataDir: dir });
      try {
        await db.query(`CREATE TABLE queue ${TABLE_COLUMNS}`);
        return await measure(
          {
            query: async (text, params) => {
              const r = await db.query(text, params === undefined ? [] : [...params]);
              return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
            },
          },
          'queue',
          backend,
          options,
        );
      } finally {
        await db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const connectionString = options.connectionString;
  if (connectionString === undefined)
    throw new Error('measureDurableWrites: postgres needs a connectionString');
  const { default: pg } = await import('pg');
  const schema = `bench_durable_${process.pid}_${Date.now()}`;
  const pool = new pg.Pool({ connectionString, max: clients });
  // An idle connection that fails is dropped by the pool; a failing query still throws.
  pool.on('error', () => undefined);
  try {
    await pool.query(`CREATE SCHEMA "${schema}"`);
    await pool.query(`CREATE TABLE "${schema}".queue ${TABLE_COLUMNS}`);
    return await measure(
      {
        query: async (text, params) => {
          const r = await pool.query(text, params === undefined ? [] : [...params]);
          return { rows: r.rows, rowCount: r.rowCount ?? 0 };
        },
      },
      `"${schema}".queue`,
      backend,
      options,
    );
  } finally {
    await pool.end();
    await dropSchema(connectionString, schema);
  }
}
