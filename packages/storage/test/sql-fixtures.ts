/**
 * Shared set-up of the SQL adapter tests: a migrated PGlite snapshot made once per test file
 * (opening from it is several times faster than creating a database), PostgreSQL schemas that
 * are unique per test file and dropped afterwards, and a settable clock.
 */
import pg from 'pg';
import type { StorageAdapter } from '../src/adapter.js';
import { createPGliteAdapter, createPostgresAdapter, dumpPGlite } from '../src/sql/index.js';

/** The PostgreSQL server of the test run, when there is one. */
export const DATABASE_URL: string | undefined = process.env.DATABASE_URL || undefined;

let template: Promise<Blob> | undefined;

/** A snapshot of a new, migrated PGlite database (made once per test file). */
export function pgliteTemplate(): Promise<Blob> {
  template ??= (async () => {
    const adapter = await createPGliteAdapter();
    try {
      return await dumpPGlite(adapter);
    } finally {
      await adapter.close();
    }
  })();
  return template;
}

/** A new, empty, migrated PGlite adapter in memory. */
export async function openPGlite(now?: () => number): Promise<StorageAdapter> {
  return createPGliteAdapter({ loadDataDir: await pgliteTemplate(), ...(now === undefined ? {} : { now }) });
}

let schemas = 0;

/** A schema name no other test file uses. */
export function uniqueSchema(label: string): string {
  schemas++;
  return `t_${label}_${process.pid}_${schemas}_${Math.floor(Math.random() * 1e6)}`;
}

/** Runs SQL on a plain connection of the test server. */
export async function withPg<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Drops a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  await withPg((c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

/** A PostgreSQL adapter in a new schema of its own. */
export async function openPostgres(
  schema: string,
  now?: () => number,
  poolSize?: number,
): Promise<StorageAdapter> {
  return createPostgresAdapter({
    connectionString: DATABASE_URL as string,
    schema,
    ...(now === undefined ? {} : { now }),
    ...(poolSize === undefined ? {} : { poolSize }),
  });
}

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public t = 1_000_000) {}
  readonly now = (): number => this.t;
}

/** UTF-8 bytes. */
export function b(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** UTF-8 text. */
export function s(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** A backend the same cases run on: PGlite always, PostgreSQL when `DATABASE_URL` is set. */
export interface SqlTarget {
  readonly name: 'pglite' | 'postgres';
  /** Opens a fresh, empty adapter on the given clock. */
  open(now?: () => number, poolSize?: number): Promise<StorageAdapter>;
  /** Removes what `open` created. */
  cleanup(): Promise<void>;
}

/** The targets of this run. */
export function sqlTargets(label: string): SqlTarget[] {
  const targets: SqlTarget[] = [{ name: 'pglite', open: (now) => openPGlite(now), cleanup: async () => {} }];
  if (DATABASE_URL !== undefined) {
    const created: string[] = [];
    targets.push({
      name: 'postgres',
      open: async (now, poolSize) => {
        const schema = uniqueSchema(label);
        created.push(schema);
        return openPostgres(schema, now, poolSize);
      },
      cleanup: async () => {
        for (const schema of created.splice(0)) await dropSchema(schema);
      },
    });
  }
  return targets;
}
