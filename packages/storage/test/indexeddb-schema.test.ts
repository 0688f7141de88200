import { StorageError, toHex, utf8 } from '@cloister/crypto';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import type { Row } from '../src/adapter.js';
import {
  createIndexedDbAdapter,
  INDEXEDDB_MIGRATIONS,
  INDEXEDDB_SCHEMA_VERSION,
} from '../src/indexeddb/index.js';
import { createMemoryAdapter } from '../src/memory.js';

const b = (s: string): Uint8Array => utf8(s);
const NOW = 2_000_000;

function open(factory: IDBFactory, name = 'db', now = () => NOW) {
  return createIndexedDbAdapter({ name, indexedDB: factory, IDBKeyRange, now, locks: null });
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Raw connection without the adapter (no versionchange handler unless given). */
function rawOpen(
  factory: IDBFactory,
  name: string,
  version?: number,
  onUpgrade?: (db: IDBDatabase, tx: IDBTransaction, oldVersion: number) => void,
): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = version === undefined ? factory.open(name) : factory.open(name, version);
    req.onupgradeneeded = (event) =>
      onUpgrade?.(req.result, req.transaction as IDBTransaction, event.oldVersion);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Rows written in every era, covering empty keys, 0xff bytes and expiry. */
const ROWS: Row[] = [
  { partition: new Uint8Array(), sort: new Uint8Array(), value: b('empty keys'), expiresAt: null },
  { partition: new Uint8Array(), sort: b('theme'), value: b('dark'), expiresAt: null },
  { partition: b('alice'), sort: new Uint8Array([0x00]), value: b('zero'), expiresAt: null },
  { partition: b('alice'), sort: new Uint8Array([0xff, 0xfe]), value: b('high'), expiresAt: NOW + 1000 },
  { partition: b('alice'), sort: new Uint8Array([0x7f]), value: b('mid'), expiresAt: null },
  { partition: b('alice'), sort: b('stale'), value: b('expired'), expiresAt: NOW - 1 },
  { partition: new Uint8Array([0xff]), sort: b('k'), value: new Uint8Array(1000).fill(7), expiresAt: null },
];

/**
 * Creates a database at version `k` by applying the first `k` steps of the public migration
 * list, then writes ROWS in the layout of that version.
 */
async function buildAt(factory: IDBFactory, name: string, k: number): Promise<void> {
  const db = await rawOpen(factory, name, k, (db, tx) => {
    const steps = INDEXEDDB_MIGRATIONS.slice(0, k);
    const next = (i: number): void => {
      const step = steps[i];
      if (step === undefined) {
        const v1 = k === 1;
        const store = tx.objectStore(v1 ? 'rows_hex' : 'rows');
        for (const row of ROWS) {
          const key = v1
            ? ['settings', toHex(row.partition), toHex(row.sort)]
            : [
                'settings',
                row.partition.length === 0 ? '' : row.partition.slice().buffer,
                row.sort.length === 0 ? '' : row.sort.slice().buffer,
              ];
          store.put({ value: row.value, expiresAt: row.expiresAt }, key);
        }
        return;
      }
      step.upgrade(db, tx, () => next(i + 1));
    };
    next(0);
  });
  expect(db.version).toBe(k);
  db.close();
}

describe('IndexedDB schema', () => {
  it('numbers its migration steps 1..N without gaps, with at least two data steps', () => {
    expect(INDEXEDDB_MIGRATIONS.map((m) => m.version)).toEqual(
      Array.from({ length: INDEXEDDB_SCHEMA_VERSION }, (_, i) => i + 1),
    );
    expect(INDEXEDDB_SCHEMA_VERSION).toBeGreaterThanOrEqual(3);
  });

  for (let k = 1; k <= INDEXEDDB_SCHEMA_VERSION; k++) {
    it(`opens a version-${k} database and keeps its data intact`, async () => {
      const factory = new IDBFactory();
      await buildAt(factory, 'old', k);
      const db = await open(factory, 'old');
      const memory = createMemoryAdapter({ now: () => NOW });
      await memory.transaction(async (tx) => {
        for (const row of ROWS) await tx.put('settings', row);
      });
      for (const adapter of [db, memory]) {
        await adapter.transaction(async (tx) => {
          expect(await tx.get('settings', new Uint8Array(), new Uint8Array())).toEqual(ROWS[0]);
          expect(await tx.get('settings', b('alice'), b('stale'))).toBeUndefined();
        });
      }
      for (const partition of [new Uint8Array(), b('alice'), new Uint8Array([0xff])]) {
        const listed = await db.transaction((tx) => tx.list('settings', partition));
        expect(listed).toEqual(await memory.transaction((tx) => tx.list('settings', partition)));
        expect(listed.length).toBeGreaterThan(0);
      }
      // The expiry index exists and holds the expiring rows only.
      expect(await db.purgeExpired()).toEqual({ deleted: 1, batches: 1 });
      expect(await db.purgeExpired({ now: NOW + 1000 })).toEqual({ deleted: 1, batches: 1 });
      await db.close();

      const raw = await rawOpen(factory, 'old');
      expect(raw.version).toBe(INDEXEDDB_SCHEMA_VERSION);
      expect(
        Array.from({ length: raw.objectStoreNames.length }, (_, i) => raw.objectStoreNames.item(i)),
      ).toEqual(['rows']);
      const tx = raw.transaction('rows', 'readonly');
      expect(await request(tx.objectStore('rows').count())).toBe(ROWS.length - 2);
      expect(await request(tx.objectStore('rows').index('by_expiry').count())).toBe(0);
      raw.close();
    });
  }

  it('keeps rows that never expire out of the expiry index', async () => {
    const factory = new IDBFactory();
    const db = await open(factory);
    await db.transaction(async (tx) => {
      for (let i = 0; i < 10; i++) {
        await tx.put('t', {
          partition: b('p'),
          sort: b(`k${i}`),
          value: b('v'),
          ...(i < 3 ? { expiresAt: NOW + i } : {}),
        });
      }
    });
    await db.close();
    const raw = await rawOpen(factory, 'db');
    const tx = raw.transaction('rows', 'readonly');
    expect(await request(tx.objectStore('rows').count())).toBe(10);
    expect(await request(tx.objectStore('rows').index('by_expiry').count())).toBe(3);
    raw.close();
  });

  it('persists data across close and reopen', async () => {
    const factory = new IDBFactory();
    const first = await open(factory);
    await first.transaction(async (tx) => {
      for (const row of ROWS) await tx.put('settings', row);
    });
    await first.close();
    const second = await open(factory);
    expect(await second.transaction((tx) => tx.count('settings', b('alice')))).toBe(3);
    expect(
      (await second.transaction((tx) => tx.get('settings', new Uint8Array([0xff]), b('k'))))?.value,
    ).toEqual(new Uint8Array(1000).fill(7));
    await second.close();
  });

  it('refuses to open while an old connection blocks the upgrade, and leaves the database as it was', async () => {
    const factory = new IDBFactory();
    await buildAt(factory, 'blocked', 1);
    const holder = await rawOpen(factory, 'blocked');
    await expect(open(factory, 'blocked')).rejects.toMatchObject({
      code: 'ERR_STORAGE',
      message: expect.stringContaining('blocked'),
    });
    holder.close();
    await new Promise((r) => setTimeout(r, 20));
    const raw = await rawOpen(factory, 'blocked');
    expect(raw.version).toBe(1);
    expect(
      Array.from({ length: raw.objectStoreNames.length }, (_, i) => raw.objectStoreNames.item(i)),
    ).toEqual(['rows_hex']);
    raw.close();
    const db = await open(factory, 'blocked');
    expect(await db.transaction((tx) => tx.count('settings', b('alice')))).toBe(3);
    await db.close();
  });
});

describe('IndexedDB purgeExpired', () => {
  async function seed(
    factory: IDBFactory,
    spec: { table: string; n: number; expiresAt: (i: number) => number | null }[],
  ) {
    const db = await open(factory, 'db', () => 0);
    await db.transaction(async (tx) => {
      for (const { table, n, expiresAt } of spec) {
        for (let i = 0; i < n; i++) {
          await tx.put(table, {
            partition: b(`p${i % 3}`),
            sort: b(`s${i}`),
            value: b('v'),
            expiresAt: expiresAt(i),
          });
        }
      }
    });
    await db.close();
  }

  it('deletes in bounded batches, reports progress and keeps live rows', async () => {
    const factory = new IDBFactory();
    await seed(factory, [
      { table: 'a', n: 25, expiresAt: (i) => NOW - 100 + i },
      { table: 'b', n: 5, expiresAt: () => null },
      { table: 'c', n: 3, expiresAt: (i) => NOW + 1 + i },
    ]);
    const db = await open(factory);
    const progress: unknown[] = [];
    const result = await db.purgeExpired({ batchSize: 10, onProgress: (p) => progress.push(p) });
    expect(result).toEqual({ deleted: 25, batches: 3 });
    expect(progress).toEqual([
      { deleted: 10, batches: 1 },
      { deleted: 20, batches: 2 },
      { deleted: 25, batches: 3 },
    ]);
    expect(await db.purgeExpired()).toEqual({ deleted: 0, batches: 0 });
    expect(
      await db.transaction(async (tx) => (await tx.count('b', b('p0'))) + (await tx.count('c', b('p0')))),
    ).toBe(3);
    expect(await db.purgeExpired({ now: NOW + 2 })).toEqual({ deleted: 2, batches: 1 });
    await db.close();
  });

  it('stops between batches on abort and a later call resumes', async () => {
    const factory = new IDBFactory();
    await seed(factory, [{ table: 'a', n: 25, expiresAt: (i) => NOW - i }]);
    const db = await open(factory);
    const controller = new AbortController();
    const first = await db.purgeExpired({
      batchSize: 10,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    expect(first).toEqual({ deleted: 10, batches: 1 });
    expect(await db.purgeExpired({ batchSize: 10 })).toEqual({ deleted: 15, batches: 2 });
    await db.close();
  });

  it('purges only the given tables, walking past other tables in bounded batches', async () => {
    const factory = new IDBFactory();
    await seed(factory, [
      { table: 'a', n: 40, expiresAt: (i) => NOW - 1000 + i }, // earlier in the index than b
      { table: 'b', n: 5, expiresAt: (i) => NOW - 10 + i },
      { table: 'z', n: 5, expiresAt: (i) => (i % 2 === 0 ? NOW - 2000 : NOW - 5) }, // interleaved
    ]);
    const db = await open(factory);
    const progress: number[] = [];
    expect(
      await db.purgeExpired({ tables: ['b'], batchSize: 2, onProgress: (p) => progress.push(p.deleted) }),
    ).toEqual({
      deleted: 5,
      batches: 3,
    });
    expect(progress).toEqual([2, 4, 5]);
    expect(await db.purgeExpired({ tables: ['b', 'z'], batchSize: 3 })).toEqual({ deleted: 5, batches: 2 });
    expect(await db.purgeExpired({ tables: ['a'] })).toEqual({ deleted: 40, batches: 1 });
    await db.close();
  });

  it('resumes inside a run of rows with the same expiry time', async () => {
    const factory = new IDBFactory();
    await seed(factory, [
      { table: 'a', n: 30, expiresAt: () => NOW - 50 },
      { table: 'b', n: 4, expiresAt: () => NOW - 50 },
      { table: 'c', n: 3, expiresAt: () => NOW - 50 },
    ]);
    const db = await open(factory);
    expect(await db.purgeExpired({ tables: ['b', 'c'], batchSize: 1 })).toEqual({ deleted: 7, batches: 7 });
    expect(await db.purgeExpired({ tables: ['c'] })).toEqual({ deleted: 0, batches: 0 });
    expect(await db.purgeExpired({ batchSize: 7 })).toEqual({ deleted: 30, batches: 5 });
    await db.close();
  });

  it('is safe on two adapters at once: every expired row is deleted exactly once', async () => {
    const factory = new IDBFactory();
    await seed(factory, [{ table: 'a', n: 60, expiresAt: (i) => NOW - i }]);
    const [x, y] = [await open(factory), await open(factory)];
    const [rx, ry] = await Promise.all([x.purgeExpired({ batchSize: 7 }), y.purgeExpired({ batchSize: 7 })]);
    expect(rx.deleted + ry.deleted).toBe(60);
    expect(await x.purgeExpired({ now: NOW + 10_000 })).toEqual({ deleted: 0, batches: 0 });
    await x.close();
    await y.close();
  });

  it('rejects after close', async () => {
    const db = await open(new IDBFactory());
    await db.close();
    await expect(db.purgeExpired()).rejects.toBeInstanceOf(StorageError);
  });
});
