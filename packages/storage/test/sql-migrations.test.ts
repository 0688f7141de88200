/**
 * Schema migrations: a database left at every earlier version (built by applying the first k
 * migrations by hand and inserting rows with SQL valid at k) opens with current code, keeps its
 * data and ends at the current version; a newer database is refused; a failing migration changes
 * nothing. PGlite always, PostgreSQL when `DATABASE_URL` is set.
 */
import { UnsupportedError } from '@cloister/crypto';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageAdapter } from '../src/adapter.js';
import {
  createPGliteAdapter,
  createPostgresAdapter,
  SQL_MIGRATIONS,
  SQL_SCHEMA_VERSION,
} from '../src/sql/index.js';
import { rawPGliteQuery } from '../src/sql/pglite.js';
import { b, DATABASE_URL, dropSchema, s, TestClock, uniqueSchema, withPg } from './sql-fixtures.js';

type Exec = (text: string, params?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;

const NOW = 5_000_000;

/** Applies migration `version` by hand, as code of that version did. */
async function applyMigration(exec: Exec, schema: string, version: number): Promise<void> {
  const migration = SQL_MIGRATIONS[version - 1];
  if (migration === undefined) throw new Error('no such migration');
  for (const statement of migration.statements(schema)) await exec(statement);
  await exec(`INSERT INTO "${schema}".cloister_schema_version (version, applied_at) VALUES ($1, 0)`, [
    version,
  ]);
}

/** Marks the database as written by a version newer than this code. */
async function addNewerVersion(exec: Exec, schema: string): Promise<void> {
  await exec(`INSERT INTO "${schema}".cloister_schema_version (version, applied_at) VALUES ($1, 0)`, [
    SQL_SCHEMA_VERSION + 1,
  ]);
}

/** A row the last migration's constraints reject, so that migrating fails midway. */
function BAD_ROW(schema: string): string {
  return `INSERT INTO "${schema}".cloister_rows (tbl, part, sort, value, expires_at) VALUES ('NOT A NAME', '', '', '', NULL)`;
}

/** Rows written with the SQL of version 1 (valid at every later version too). */
async function insertRows(exec: Exec, schema: string): Promise<void> {
  const insert = `INSERT INTO "${schema}".cloister_rows (tbl, part, sort, value, expires_at) VALUES ($1, $2, $3, $4, $5)`;
  for (let i = 0; i < 20; i++) {
    await exec(insert, ['users', b(`p${i % 3}`), b(`s${String(i).padStart(2, '0')}`), b(`value ${i}`), null]);
  }
  await exec(insert, ['users', b('p0'), b('expired'), b('old'), NOW - 1]);
  await exec(insert, ['users', b('p0'), b('later'), b('soon'), NOW + 1000]);
}

/** Builds a schema at version `k` the way code of version `k` left it. */
async function buildAtVersion(exec: Exec, schema: string, k: number, extraVersion = false): Promise<void> {
  await exec(`CREATE SCHEMA "${schema}"`);
  for (let v = 1; v <= k; v++) {
    await applyMigration(exec, schema, v);
    if (v === 1) await insertRows(exec, schema);
  }
  if (extraVersion) await addNewerVersion(exec, schema);
}

/** Checks the rows `buildAtVersion` wrote, through the adapter. */
async function checkRows(db: StorageAdapter, k: number): Promise<void> {
  await db.transaction(async (tx) => {
    const p0 = await tx.list('users', b('p0'), { limit: 100 });
    if (k === 0) {
      expect(p0).toEqual([]);
      return;
    }
    expect(p0.map((r) => s(r.sort))).toEqual(['later', 's00', 's03', 's06', 's09', 's12', 's15', 's18']);
    expect((await tx.get('users', b('p0'), b('later')))?.expiresAt).toBe(NOW + 1000);
    expect(s((await tx.get('users', b('p2'), b('s17')))?.value ?? b(''))).toBe('value 17');
    expect(await tx.count('users', b('p1'))).toBe(7);
  });
  if (k > 0) expect(await db.purgeExpired()).toEqual({ deleted: 1, batches: 1 });
  // And the database takes writes of the current version.
  await db.transaction((tx) => tx.put('users', { partition: b('new'), sort: b(''), value: b('x') }));
  expect(await db.transaction((tx) => tx.count('users', b('new')))).toBe(1);
}

it('numbers migrations 1..SQL_SCHEMA_VERSION in order, with at least two steps', () => {
  expect(SQL_SCHEMA_VERSION).toBeGreaterThanOrEqual(2);
  expect(SQL_MIGRATIONS.map((m) => m.version)).toEqual(
    Array.from({ length: SQL_SCHEMA_VERSION }, (_, i) => i + 1),
  );
  for (const m of SQL_MIGRATIONS) {
    expect(m.description.length).toBeGreaterThan(0);
    expect(m.statements('public').length).toBeGreaterThan(0);
  }
});

describe('migrations on PGlite', () => {
  // One raw database walks through every version; a snapshot of each state is opened by the
  // adapter (cheaper than building each state from scratch).
  const snapshots = new Map<string, Blob>();
  beforeAll(async () => {
    const pg = await PGlite.create();
    const exec: Exec = (text, params) => pg.query(text, params);
    snapshots.set('0', await pg.dumpDataDir('none'));
    for (let k = 1; k < SQL_SCHEMA_VERSION; k++) {
      await applyMigration(exec, 'public', k);
      if (k === 1) await insertRows(exec, 'public');
      snapshots.set(String(k), await pg.dumpDataDir('none'));
    }
    await exec(BAD_ROW('public'));
    snapshots.set('bad', await pg.dumpDataDir('none'));
    await exec(`DELETE FROM public.cloister_rows WHERE tbl = 'NOT A NAME'`);
    await applyMigration(exec, 'public', SQL_SCHEMA_VERSION);
    await addNewerVersion(exec, 'public');
    snapshots.set('newer', await pg.dumpDataDir('none'));
    await pg.close();
  });

  async function versionOf(db: StorageAdapter): Promise<number[]> {
    const result = await rawPGliteQuery(
      db,
      'SELECT version FROM public.cloister_schema_version ORDER BY version',
    );
    return result.rows.map((r) => r.version as number);
  }

  for (let k = 0; k < SQL_SCHEMA_VERSION; k++) {
    it(`upgrades a database at version ${k} and keeps its rows`, async () => {
      const db = await createPGliteAdapter({
        loadDataDir: snapshots.get(String(k)) as Blob,
        now: new TestClock(NOW).now,
      });
      try {
        await checkRows(db, k);
        expect(await versionOf(db)).toEqual(SQL_MIGRATIONS.map((m) => m.version));
      } finally {
        await db.close();
      }
    });
  }

  it('refuses a database written by a newer version', async () => {
    await expect(createPGliteAdapter({ loadDataDir: snapshots.get('newer') as Blob })).rejects.toThrow(
      UnsupportedError,
    );
  });

  it('leaves the database as it was when a migration fails', async () => {
    const before = snapshots.get('bad') as Blob;
    const error = await createPGliteAdapter({ loadDataDir: before }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('StorageError');
    expect((error as Error).message).not.toContain('NOT A NAME');
    // The failed open left the snapshot's database untouched: opening it raw shows version k.
    const pg = await PGlite.create({ loadDataDir: before });
    const v = await pg.query('SELECT max(version) AS v FROM public.cloister_schema_version');
    expect(v.rows[0]).toEqual({ v: SQL_SCHEMA_VERSION - 1 });
    await pg.close();
  });
});

if (DATABASE_URL !== undefined) {
  const url = DATABASE_URL;
  describe('migrations on PostgreSQL', () => {
    const schemas: string[] = [];
    afterAll(async () => {
      for (const schema of schemas) await dropSchema(schema);
    });

    async function atVersion(k: number, extraVersion = false): Promise<string> {
      const schema = uniqueSchema(`mig${k}`);
      schemas.push(schema);
      await withPg(async (c) => {
        await buildAtVersion((text, params) => c.query(text, params), schema, k, extraVersion);
      });
      return schema;
    }

    async function versions(schema: string): Promise<number[]> {
      const result = await withPg((c) =>
        c.query(`SELECT version FROM "${schema}".cloister_schema_version ORDER BY version`),
      );
      return result.rows.map((r) => r.version as number);
    }

    for (let k = 0; k < SQL_SCHEMA_VERSION; k++) {
      it(`upgrades a schema at version ${k} and keeps its rows`, async () => {
        const schema = await atVersion(k);
        const db = await createPostgresAdapter({
          connectionString: url,
          schema,
          now: new TestClock(NOW).now,
        });
        try {
          await checkRows(db, k);
          expect(await versions(schema)).toEqual(SQL_MIGRATIONS.map((m) => m.version));
        } finally {
          await db.close();
        }
      });
    }

    it('creates a missing schema', async () => {
      const schema = uniqueSchema('fresh');
      schemas.push(schema);
      const db = await createPostgresAdapter({ connectionString: url, schema });
      await db.close();
      expect(await versions(schema)).toEqual(SQL_MIGRATIONS.map((m) => m.version));
    });

    it('refuses a schema written by a newer version', async () => {
      const schema = await atVersion(SQL_SCHEMA_VERSION, true);
      await expect(createPostgresAdapter({ connectionString: url, schema })).rejects.toThrow(
        UnsupportedError,
      );
    });

    it('leaves the schema as it was when a migration fails', async () => {
      const k = SQL_SCHEMA_VERSION - 1;
      const schema = await atVersion(k);
      await withPg((c) => c.query(BAD_ROW(schema)));
      const error = await createPostgresAdapter({ connectionString: url, schema }).catch((e: unknown) => e);
      expect((error as Error).name).toBe('StorageError');
      expect((error as Error).message).not.toContain('NOT A NAME');
      expect(await versions(schema)).toEqual(SQL_MIGRATIONS.slice(0, k).map((m) => m.version));
    });
  });
}
