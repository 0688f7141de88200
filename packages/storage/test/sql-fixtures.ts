/**
 * Shared set-up of the SQL adapter tests, over `@cloister/storage/testing` (a migrated PGlite
 * snapshot made once per test file, PostgreSQL schemas that are unique per test file and dropped
 * afterwards), plus a settable clock and plain connections for inspection.
 */
import pg from 'pg';
import type { StorageAdapter } from '../src/adapter.js';
import { createPostgresAdapter } from '../src/sql/index.js';
import {
  dropSchema as dropSchemaOn,
  openPGliteFromTemplate,
  pgliteTemplate,
  type SqlTestTarget,
  sqlTestTargets,
  uniqueSchemaName,
} from '../src/testing/index.js';

/** The PostgreSQL server of the test run, when there is one. */
export const DATABASE_URL: string | undefined = process.env.DATABASE_URL || undefined;

/** A snapshot of a new, migrated PGlite database (made once per process). */
export { pgliteTemplate };

/** A new, empty, migrated PGlite adapter in memory. */
export const openPGlite = openPGliteFromTemplate;

/** A schema name no other test file uses. */
export const uniqueSchema = uniqueSchemaName;

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
  await dropSchemaOn(DATABASE_URL as string, schema);
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
export type SqlTarget = SqlTestTarget;

/** The targets of this run. */
export function sqlTargets(label: string): SqlTarget[] {
  return sqlTestTargets(label, { databaseUrl: DATABASE_URL });
}
