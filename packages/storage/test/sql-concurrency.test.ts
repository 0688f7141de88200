/**
 * Concurrency of the SQL adapter: on PostgreSQL when `DATABASE_URL` is set (transactions really
 * run in parallel there), otherwise on PGlite (which queues them; the guarantees are the same).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageAdapter } from '../src/adapter.js';
import { createPostgresAdapter, SQL_SCHEMA_VERSION } from '../src/sql/index.js';
import {
  b,
  DATABASE_URL,
  dropSchema,
  s,
  sqlTargets,
  TestClock,
  uniqueSchema,
  withPg,
} from './sql-fixtures.js';

const target = sqlTargets('conc').at(-1) as ReturnType<typeof sqlTargets>[number];
const P = b('pool');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`SQL adapter concurrency on ${target.name}`, () => {
  const clock = new TestClock();
  let db: StorageAdapter;

  beforeAll(async () => {
    db = await target.open(clock.now, 20);
  });
  afterAll(async () => {
    await db.close();
    await target.cleanup();
  });

  it('16 concurrent transactions take each of 100 one-time rows exactly once', async () => {
    await db.transaction(async (tx) => {
      for (let i = 0; i < 100; i++) {
        await tx.put('otk', { partition: P, sort: b(`k${String(i).padStart(3, '0')}`), value: b(`v${i}`) });
      }
    });
    const taken: string[] = [];
    let attempts = 0;
    const worker = async () => {
      for (;;) {
        const rows = await db.transaction(async (tx) => {
          attempts++;
          const got = await tx.take('otk', P, { limit: 3 });
          await sleep(Math.random() * 3);
          return got;
        });
        if (rows.length === 0) return;
        // Rows come back in sort order and with their values.
        expect(rows.map((r) => s(r.sort))).toEqual(rows.map((r) => s(r.sort)).sort());
        for (const r of rows) expect(s(r.value)).toBe(`v${Number(s(r.sort).slice(1))}`);
        taken.push(...rows.map((r) => s(r.sort)));
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(taken).toHaveLength(100);
    expect(new Set(taken).size).toBe(100);
    expect(attempts).toBeGreaterThanOrEqual(34);
    expect(await db.transaction((tx) => tx.count('otk', P))).toBe(0);
  });

  it('loses no increment in concurrent read-modify-write with forUpdate', async () => {
    const key = b('counter');
    await db.transaction((tx) => tx.put('ctr', { partition: P, sort: key, value: b('0') }));
    const increment = () =>
      db.transaction(async (tx) => {
        const row = await tx.get('ctr', P, key, { forUpdate: true });
        const n = Number(s(row?.value ?? b('NaN')));
        await sleep(Math.random() * 2);
        await tx.put('ctr', { partition: P, sort: key, value: b(String(n + 1)) });
      });
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = 0; i < 8; i++) await increment();
      }),
    );
    expect(await db.transaction(async (tx) => s((await tx.get('ctr', P, key))?.value ?? b('')))).toBe('128');
  });

  it('concurrent purgers delete each expired row exactly once', async () => {
    const tables = ['pa', 'pb', 'pc'];
    await db.transaction(async (tx) => {
      for (const t of tables) {
        for (let i = 0; i < 400; i++) {
          await tx.put(t, {
            partition: b(`p${i % 7}`),
            sort: b(`${i}`),
            value: b(''),
            expiresAt: clock.t - (i % 5),
          });
        }
        await tx.put(t, { partition: P, sort: b('live'), value: b(''), expiresAt: clock.t + 1 });
      }
    });
    const results = await Promise.all(
      Array.from({ length: 4 }, () => db.purgeExpired({ batchSize: 37, tables })),
    );
    expect(results.reduce((n, r) => n + r.deleted, 0)).toBe(1200);
    expect(await db.purgeExpired({ tables })).toEqual({ deleted: 0, batches: 0 });
    for (const t of tables) expect(await db.transaction((tx) => tx.count(t, P))).toBe(1);
  });

  it('ifAbsent lets exactly one of many concurrent writers claim a key', async () => {
    const wins = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        db.transaction(async (tx) => {
          await sleep(Math.random() * 2);
          return tx.put(
            'claim',
            { partition: P, sort: b('name'), value: b(`owner${i}`) },
            { ifAbsent: true },
          );
        }),
      ),
    );
    expect(wins.filter((w) => w)).toHaveLength(1);
    const owner = await db.transaction(async (tx) =>
      s((await tx.get('claim', P, b('name')))?.value ?? b('')),
    );
    expect(owner).toBe(`owner${wins.indexOf(true)}`);
  });

  if (DATABASE_URL !== undefined) {
    const url = DATABASE_URL;
    it('a take skips rows another open transaction holds instead of waiting', async () => {
      await db.transaction(async (tx) => {
        for (const k of ['a', 'b', 'c']) await tx.put('skip', { partition: P, sort: b(k), value: b(k) });
      });
      let release!: () => void;
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      let first!: () => void;
      const firstTook = new Promise<void>((resolve) => {
        first = resolve;
      });
      const a = db.transaction(async (tx) => {
        const rows = await tx.take('skip', P);
        first();
        await held;
        return rows.map((r) => s(r.sort));
      });
      await firstTook;
      // Bounded: a take that waited for the first transaction would never finish on its own.
      const second = await Promise.race([
        db.transaction(async (tx) => (await tx.take('skip', P)).map((r) => s(r.sort))),
        sleep(5000).then(() => 'waited for the other transaction'),
      ]);
      release();
      expect(await a).toEqual(['a']);
      expect(second).toEqual(['b']);
    });

    it('retries a transaction that lost a deadlock and commits both', async () => {
      await db.transaction(async (tx) => {
        await tx.put('dl', { partition: P, sort: b('x'), value: b('0') });
        await tx.put('dl', { partition: P, sort: b('y'), value: b('0') });
      });
      let runs = 0;
      let arrived = 0;
      let bothLocked!: () => void;
      const barrier = new Promise<void>((resolve) => {
        bothLocked = resolve;
      });
      const cross = (first: string, second: string) =>
        db.transaction(async (tx) => {
          runs++;
          await tx.get('dl', P, b(first), { forUpdate: true });
          if (++arrived === 2) bothLocked();
          await barrier;
          await tx.get('dl', P, b(second), { forUpdate: true });
          await tx.put('dl', { partition: P, sort: b(first), value: b('done') });
          return first;
        });
      expect(await Promise.all([cross('x', 'y'), cross('y', 'x')])).toEqual(['x', 'y']);
      expect(runs).toBe(3);
      const values = await db.transaction(async (tx) => (await tx.list('dl', P)).map((r) => s(r.value)));
      expect(values).toEqual(['done', 'done']);
    });

    it('concurrent openers of a new schema apply each migration once', async () => {
      const schema = uniqueSchema('open');
      try {
        const adapters = await Promise.all(
          Array.from({ length: 6 }, () =>
            createPostgresAdapter({ connectionString: url, schema, poolSize: 2 }),
          ),
        );
        await Promise.all(adapters.map((a) => a.close()));
        const versions = await withPg((c) =>
          c.query(`SELECT version FROM "${schema}".cloister_schema_version ORDER BY version`),
        );
        expect(versions.rows.map((r) => r.version)).toEqual(
          Array.from({ length: SQL_SCHEMA_VERSION }, (_, i) => i + 1),
        );
      } finally {
        await dropSchema(schema);
      }
    });
  }
});
