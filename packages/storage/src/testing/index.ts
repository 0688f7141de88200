/**
 * `@cloister/storage/testing`: the SQL backends a test suite of stores written over the adapter
 * contract runs on, so that stores kept outside this package (the server's, the client's, your
 * own) are tested on every backend the same way the engine is. PGlite always, from a migrated
 * snapshot made once per process (opening from it is several times faster than creating a
 * database); PostgreSQL when a connection string is given, each adapter in a schema of its own
 * that `cleanup` drops. Node.js only.
 *
 * @example
 * ```ts
 * import { sqlTestTargets } from '@cloister/storage/testing';
 * const targets = sqlTestTargets('orders', { databaseUrl: process.env.DATABASE_URL });
 * for (const t of targets) {
 *   const adapter = await t.open();
 *   // ... run the store's scenarios on `adapter`, then:
 *   await adapter.close();
 * }
 * for (const t of targets) await t.cleanup();
 * ```
 *
 * @module @cloister/storage/testing
 */

import { randomBytes } from 'node:crypto';
import { ValidationError } from '@cloister/crypto';
import pg from 'pg';
import type { StorageAdapter } from '../adapter.js';
import { createPGliteAdapter, dumpPGlite } from '../sql/pglite.js';
import { createPostgresAdapter } from '../sql/postgres.js';

/**
 * One backend of a test run: how to open a fresh, empty adapter and how to remove what it made.
 *
 * @example
 * ```ts
 * const [pglite]: SqlTestTarget[] = sqlTestTargets('orders');
 * if (pglite !== undefined) {
 *   const adapter = await pglite.open(() => Date.now());
 *   await adapter.close();
 *   await pglite.cleanup();
 * }
 * ```
 */
export interface SqlTestTarget {
  /** `pglite` or `postgres`, for test names. */
  readonly name: 'pglite' | 'postgres';
  /**
   * Opens a fresh, empty, migrated adapter on the given clock (PostgreSQL: with `poolSize` connections).
   *
   * @example
   * ```ts
   * import { sqlTestTargets } from '@cloister/storage/testing';
   * for (const t of sqlTestTargets('orders', { databaseUrl: process.env.DATABASE_URL })) {
   *   const adapter = await t.open(() => Date.now(), 4); // PostgreSQL: a pool of 4 connections
   *   await adapter.close();
   * }
   * ```
   */
  open(now?: () => number, poolSize?: number): Promise<StorageAdapter>;
  /**
   * Drops every schema `open` created (PostgreSQL); nothing to do for PGlite. Idempotent.
   *
   * @example
   * ```ts
   * import { sqlTestTargets } from '@cloister/storage/testing';
   * const targets = sqlTestTargets('orders', { databaseUrl: process.env.DATABASE_URL });
   * // after the suite, e.g. in `afterAll`:
   * for (const t of targets) await t.cleanup();
   * ```
   */
  cleanup(): Promise<void>;
}

/**
 * Options of {@link sqlTestTargets}.
 *
 * @example
 * ```ts
 * const options: SqlTestTargetOptions = { databaseUrl: process.env.DATABASE_URL };
 * const targets = sqlTestTargets('orders', options); // pglite, and postgres when DATABASE_URL is set
 * ```
 */
export interface SqlTestTargetOptions {
  /** A PostgreSQL connection string; without it only PGlite is returned. */
  readonly databaseUrl?: string | undefined;
}

let template: Promise<Blob> | undefined;

/**
 * A snapshot of a new, migrated PGlite database, made once per process.
 *
 * @example
 * ```ts
 * const adapter = await createPGliteAdapter({ loadDataDir: await pgliteTemplate() });
 * ```
 */
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

/**
 * A new, empty, migrated PGlite adapter in memory, opened from {@link pgliteTemplate}.
 *
 * @example
 * ```ts
 * const adapter = await openPGliteFromTemplate(() => Date.now());
 * ```
 */
export async function openPGliteFromTemplate(now?: () => number): Promise<StorageAdapter> {
  return createPGliteAdapter({ loadDataDir: await pgliteTemplate(), ...(now === undefined ? {} : { now }) });
}

let schemas = 0;

function checkLabel(label: string): void {
  if (!/^[a-z][a-z0-9_]{0,23}$/.test(label)) {
    throw new ValidationError('label', '1..24 characters of a-z 0-9 _, starting with a letter');
  }
}

/**
 * A PostgreSQL schema name no other caller in this or a concurrent process uses.
 *
 * @example
 * ```ts
 * uniqueSchemaName('orders'); // 't_orders_4242_1_318804'
 * ```
 */
export function uniqueSchemaName(label: string): string {
  checkLabel(label);
  schemas++;
  return `t_${label}_${process.pid}_${schemas}_${randomBytes(4).readUInt32BE(0) % 1_000_000}`;
}

/**
 * Drops a schema and everything in it.
 *
 * @example
 * ```ts
 * await dropSchema(process.env.DATABASE_URL!, 't_orders_4242_1_318804');
 * ```
 */
export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * The SQL backends of a test run: PGlite always, PostgreSQL when `options.databaseUrl` is set.
 * `label` (a-z 0-9 _) names the PostgreSQL schemas, so that leftovers are easy to attribute.
 *
 * @example
 * ```ts
 * for (const target of sqlTestTargets('orders', { databaseUrl: process.env.DATABASE_URL })) {
 *   const adapter = await target.open();
 *   await adapter.close();
 *   await target.cleanup();
 * }
 * ```
 */
export function sqlTestTargets(label: string, options: SqlTestTargetOptions = {}): SqlTestTarget[] {
  checkLabel(label);
  const targets: SqlTestTarget[] = [
    { name: 'pglite', open: (now) => openPGliteFromTemplate(now), cleanup: async () => {} },
  ];
  const url = options.databaseUrl;
  if (url !== undefined && url !== '') {
    const created: string[] = [];
    targets.push({
      name: 'postgres',
      open: async (now, poolSize) => {
        const schema = uniqueSchemaName(label);
        created.push(schema);
        return createPostgresAdapter({
          connectionString: url,
          schema,
          ...(now === undefined ? {} : { now }),
          ...(poolSize === undefined ? {} : { poolSize }),
        });
      },
      cleanup: async () => {
        for (const schema of created.splice(0)) await dropSchema(url, schema);
      },
    });
  }
  return targets;
}
