import { CloisterError, StorageError, UnsupportedError, utf8 } from '@cloister/crypto';
import { IDBFactory, IDBKeyRange, IDBObjectStore } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Row, StorageAdapter, StorageTx } from '../src/adapter.js';
import { createIndexedDbAdapter, deleteIndexedDbDatabase } from '../src/indexeddb/index.js';
import { createMemoryAdapter } from '../src/memory.js';

const b = (s: string): Uint8Array => utf8(s);
const P = b('p');
const T = 'items';

function clock(start = 1_000_000): { now: () => number; set(t: number): void } {
  let t = start;
  return { now: () => t, set: (v) => (t = v) };
}

async function open(
  options: { now?: () => number; factory?: IDBFactory; name?: string; locks?: LockManager | null } = {},
) {
  return createIndexedDbAdapter({
    name: options.name ?? 'test',
    indexedDB: options.factory ?? new IDBFactory(),
    IDBKeyRange,
    locks: options.locks ?? null,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

const sorts = (rows: Row[]): string[] => rows.map((r) => new TextDecoder().decode(r.sort));

async function fill(db: StorageAdapter, keys: string[], expiresAt?: number): Promise<void> {
  await db.transaction(async (tx) => {
    for (const k of keys) {
      await tx.put(T, {
        partition: P,
        sort: b(k),
        value: b(`v${k}`),
        ...(expiresAt === undefined ? {} : { expiresAt }),
      });
    }
  });
}

describe('IndexedDB adapter: basic contract', () => {
  it('reports its kind and rejects a missing IndexedDB', async () => {
    const db = await open();
    expect(db.kind).toBe('indexeddb');
    await db.close();
    await expect(createIndexedDbAdapter({ name: 'x' })).rejects.toBeInstanceOf(UnsupportedError);
    await expect(
      createIndexedDbAdapter({ name: '', indexedDB: new IDBFactory(), IDBKeyRange }),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION', field: 'name' });
  });

  it('puts, gets, replaces and deletes rows', async () => {
    const db = await open();
    await db.transaction(async (tx) => {
      expect(await tx.put(T, { partition: P, sort: b('a'), value: b('1') })).toBe(true);
      expect(await tx.get(T, P, b('a'))).toEqual({
        partition: P,
        sort: b('a'),
        value: b('1'),
        expiresAt: null,
      });
    });
    await db.transaction(async (tx) => {
      expect((await tx.get(T, P, b('a')))?.value).toEqual(b('1'));
      await tx.put(T, { partition: P, sort: b('a'), value: b('2'), expiresAt: 5_000_000_000_000 });
      expect(await tx.get(T, P, b('a'))).toEqual({
        partition: P,
        sort: b('a'),
        value: b('2'),
        expiresAt: 5_000_000_000_000,
      });
    });
    expect(await db.transaction(async (tx) => tx.delete(T, P, b('a')))).toBe(true);
    expect(await db.transaction(async (tx) => tx.delete(T, P, b('a')))).toBe(false);
    expect(await db.transaction(async (tx) => tx.get(T, P, b('a')))).toBeUndefined();
    await db.close();
  });

  it('keeps tables and partitions apart and copies values in and out', async () => {
    const db = await open();
    const value = b('value');
    await db.transaction(async (tx) => {
      await tx.put('t1', { partition: b('x'), sort: b('k'), value });
      await tx.put('t2', { partition: b('x'), sort: b('k'), value: b('other') });
      await tx.put('t1', { partition: b('xy'), sort: b('k'), value: b('third') });
      value[0] = 0;
      const read = await tx.get('t1', b('x'), b('k'));
      expect(read?.value).toEqual(b('value'));
      (read as Row).value[0] = 0;
      expect((await tx.get('t1', b('x'), b('k')))?.value).toEqual(b('value'));
    });
    await db.transaction(async (tx) => {
      expect((await tx.get('t1', b('x'), b('k')))?.value).toEqual(b('value'));
      expect((await tx.get('t2', b('x'), b('k')))?.value).toEqual(b('other'));
      expect(await tx.list('t1', b('x'))).toHaveLength(1);
      expect(await tx.count('t1', b('xy'))).toBe(1);
      expect(await tx.deletePartition('t1', b('x'))).toBe(1);
      expect(await tx.count('t1', b('xy'))).toBe(1);
      expect(await tx.count('t2', b('x'))).toBe(1);
    });
    await db.close();
  });

  it('orders sort keys as unsigned bytes, including empty and 0xff keys', async () => {
    const db = await open();
    const keys = [
      new Uint8Array([]),
      new Uint8Array([0]),
      new Uint8Array([0, 0]),
      new Uint8Array([1]),
      new Uint8Array([0x7f]),
      new Uint8Array([0x80]),
      new Uint8Array([0xff]),
      new Uint8Array([0xff, 0xff]),
    ];
    await db.transaction(async (tx) => {
      for (const k of [...keys].reverse())
        await tx.put(T, { partition: new Uint8Array(), sort: k, value: k });
    });
    const listed = await db.transaction((tx) => tx.list(T, new Uint8Array()));
    expect(listed.map((r) => r.sort)).toEqual(keys);
    const rev = await db.transaction((tx) => tx.list(T, new Uint8Array(), { reverse: true }));
    expect(rev.map((r) => r.sort)).toEqual([...keys].reverse());
    const ff = await db.transaction((tx) => tx.list(T, new Uint8Array(), { prefix: new Uint8Array([0xff]) }));
    expect(ff.map((r) => r.sort)).toEqual([new Uint8Array([0xff]), new Uint8Array([0xff, 0xff])]);
    await db.close();
  });

  it('pages with after, prefix, reverse and limit', async () => {
    const db = await open();
    await fill(db, ['a1', 'a2', 'a3', 'b1', 'b2', 'c']);
    await db.transaction(async (tx) => {
      expect(sorts(await tx.list(T, P))).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'c']);
      expect(sorts(await tx.list(T, P, { limit: 2 }))).toEqual(['a1', 'a2']);
      expect(sorts(await tx.list(T, P, { limit: 2, after: b('a2') }))).toEqual(['a3', 'b1']);
      expect(sorts(await tx.list(T, P, { prefix: b('a') }))).toEqual(['a1', 'a2', 'a3']);
      expect(sorts(await tx.list(T, P, { prefix: b('a'), after: b('a1') }))).toEqual(['a2', 'a3']);
      expect(sorts(await tx.list(T, P, { prefix: b('b'), after: b('a') }))).toEqual(['b1', 'b2']);
      expect(sorts(await tx.list(T, P, { prefix: b('a'), after: b('b') }))).toEqual([]);
      expect(sorts(await tx.list(T, P, { reverse: true, limit: 3 }))).toEqual(['c', 'b2', 'b1']);
      expect(sorts(await tx.list(T, P, { reverse: true, after: b('b1') }))).toEqual(['a3', 'a2', 'a1']);
      expect(sorts(await tx.list(T, P, { reverse: true, prefix: b('b') }))).toEqual(['b2', 'b1']);
      expect(sorts(await tx.list(T, P, { reverse: true, prefix: b('a'), after: b('zz') }))).toEqual([
        'a3',
        'a2',
        'a1',
      ]);
      expect(sorts(await tx.list(T, P, { reverse: true, prefix: b('b'), after: b('a') }))).toEqual([]);
      expect(sorts(await tx.list(T, P, { after: b('c') }))).toEqual([]);
      expect(await tx.count(T, P)).toBe(6);
      expect(await tx.count(T, P, { prefix: b('a') })).toBe(3);
      expect(await tx.count(T, b('none'))).toBe(0);
    });
    // Paging through everything with after.
    const seen: string[] = [];
    let after: Uint8Array | undefined;
    for (;;) {
      const page = await db.transaction((tx) =>
        tx.list(T, P, { limit: 4, ...(after === undefined ? {} : { after }) }),
      );
      seen.push(...sorts(page));
      if (page.length < 4) break;
      after = page[page.length - 1]?.sort;
    }
    expect(seen).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'c']);
    await db.close();
  });

  it('merges pending writes, deletes and takes into list, count and take', async () => {
    const db = await open();
    await fill(db, ['a', 'c', 'e', 'g']);
    await db.transaction(async (tx) => {
      await tx.put(T, { partition: P, sort: b('b'), value: b('new') });
      await tx.put(T, { partition: P, sort: b('c'), value: b('changed') });
      await tx.delete(T, P, b('e'));
      expect(sorts(await tx.list(T, P))).toEqual(['a', 'b', 'c', 'g']);
      expect((await tx.list(T, P))[2]?.value).toEqual(b('changed'));
      expect(sorts(await tx.list(T, P, { reverse: true, limit: 2 }))).toEqual(['g', 'c']);
      expect(sorts(await tx.list(T, P, { after: b('a'), limit: 2 }))).toEqual(['b', 'c']);
      expect(await tx.count(T, P)).toBe(4);
      expect(sorts(await tx.take(T, P, { limit: 2 }))).toEqual(['a', 'b']);
      expect(sorts(await tx.list(T, P))).toEqual(['c', 'g']);
      expect(await tx.count(T, P)).toBe(2);
      expect(await tx.get(T, P, b('b'))).toBeUndefined();
      expect(sorts(await tx.take(T, P, { limit: 10 }))).toEqual(['c', 'g']);
      expect(await tx.take(T, P)).toEqual([]);
      await tx.put(T, { partition: P, sort: b('z'), value: b('after take') });
      expect(sorts(await tx.take(T, P))).toEqual(['z']);
    });
    expect(await db.transaction((tx) => tx.list(T, P))).toEqual([]);
    await db.close();
  });

  it('deletePartition counts stored, pending and expired rows, and later puts survive it', async () => {
    const c = clock();
    const db = await open({ now: c.now });
    await fill(db, ['a', 'b']);
    await fill(db, ['old'], c.now() + 10);
    c.set(c.now() + 100);
    await db.transaction(async (tx) => {
      await tx.put(T, { partition: P, sort: b('new'), value: b('1') });
      await tx.delete(T, P, b('a'));
      expect(await tx.deletePartition(T, P)).toBe(3); // b, old (expired), new
      expect(await tx.list(T, P)).toEqual([]);
      expect(await tx.deletePartition(T, P)).toBe(0);
      await tx.put(T, { partition: P, sort: b('kept'), value: b('2') });
      expect(await tx.count(T, P)).toBe(1);
    });
    expect(sorts(await db.transaction((tx) => tx.list(T, P)))).toEqual(['kept']);
    await db.close();
  });

  it('putMany, getMany and deleteMany merge pending writes, deletes and cleared partitions', async () => {
    const c = clock();
    const db = await open({ now: c.now });
    const Q = b('q');
    await fill(db, ['a', 'b', 'c']);
    await fill(db, ['old'], c.now() + 10);
    await db.transaction((tx) => tx.put(T, { partition: Q, sort: b('a'), value: b('qa') }));
    c.set(c.now() + 100);
    const key = (p: Uint8Array, k: string) => ({ partition: p, sort: b(k) });
    await db.transaction(async (tx) => {
      await tx.put(T, { partition: P, sort: b('new'), value: b('1') });
      await tx.delete(T, P, b('b'));
      expect(
        (await tx.getMany(T, [key(P, 'a'), key(P, 'b'), key(P, 'new'), key(P, 'old'), key(Q, 'a')])).map(
          (r) => r && new TextDecoder().decode(r.value),
        ),
      ).toEqual(['va', undefined, '1', undefined, 'qa']);
      expect(
        await tx.putMany(
          T,
          ['a', 'b', 'new', 'old', 'x'].map((k) => ({ partition: P, sort: b(k), value: b(`m${k}`) })),
          { ifAbsent: true },
        ),
      ).toEqual([false, true, false, true, true]);
      expect(await tx.deleteMany(T, [key(P, 'c'), key(P, 'x'), key(P, 'gone'), key(Q, 'a')])).toEqual([
        true,
        true,
        false,
        true,
      ]);
      await tx.deletePartition(T, P);
      expect(await tx.getMany(T, [key(P, 'a'), key(P, 'new')])).toEqual([undefined, undefined]);
      expect(await tx.deleteMany(T, [key(P, 'a')])).toEqual([false]);
      expect(
        await tx.putMany(T, [{ partition: P, sort: b('a'), value: b('after') }], { ifAbsent: true }),
      ).toEqual([true]);
    });
    expect(sorts(await db.transaction((tx) => tx.list(T, P)))).toEqual(['a']);
    expect(await db.transaction((tx) => tx.count(T, Q))).toBe(0);
    await db.close();
  });

  it('hides expired rows by the injected clock; ifAbsent replaces expired rows', async () => {
    const c = clock();
    const db = await open({ now: c.now });
    await db.transaction(async (tx) => {
      expect(tx.now).toBe(1_000_000);
      await tx.put(T, { partition: P, sort: b('x'), value: b('1'), expiresAt: 1_000_500 });
      await tx.put(T, { partition: P, sort: b('y'), value: b('2') });
    });
    c.set(1_000_499);
    await db.transaction(async (tx) => {
      expect(await tx.get(T, P, b('x'))).toBeDefined();
      expect(await tx.put(T, { partition: P, sort: b('x'), value: b('3') }, { ifAbsent: true })).toBe(false);
    });
    c.set(1_000_500); // expiresAt at or before now: expired
    await db.transaction(async (tx) => {
      expect(await tx.get(T, P, b('x'))).toBeUndefined();
      expect(sorts(await tx.list(T, P))).toEqual(['y']);
      expect(await tx.count(T, P)).toBe(1);
      expect(sorts(await tx.take(T, P))).toEqual(['y']);
      expect(await tx.put(T, { partition: P, sort: b('x'), value: b('4') }, { ifAbsent: true })).toBe(true);
      expect(await tx.put(T, { partition: P, sort: b('x'), value: b('5') }, { ifAbsent: true })).toBe(false);
    });
    await db.transaction(async (tx) => {
      expect(await tx.get(T, P, b('x'))).toEqual({
        partition: P,
        sort: b('x'),
        value: b('4'),
        expiresAt: null,
      });
    });
    // Deleting an expired row reports false but still removes it.
    await fill(db, ['gone'], 1_000_600);
    c.set(1_000_700);
    expect(await db.transaction((tx) => tx.delete(T, P, b('gone')))).toBe(false);
    expect(await db.purgeExpired()).toEqual({ deleted: 0, batches: 0 });
    await db.close();
  });

  it('rolls back everything when the callback throws', async () => {
    const db = await open();
    await fill(db, ['a', 'b']);
    const boom = new Error('boom');
    await expect(
      db.transaction(async (tx) => {
        await tx.put(T, { partition: P, sort: b('c'), value: b('1') });
        await tx.delete(T, P, b('a'));
        await tx.take(T, P);
        await tx.deletePartition('other', P);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(sorts(await db.transaction((tx) => tx.list(T, P)))).toEqual(['a', 'b']);
    await db.close();
  });

  it('refuses a transaction object used after its transaction ended', async () => {
    const db = await open();
    let kept: StorageTx | undefined;
    await db.transaction(async (tx) => {
      kept = tx;
    });
    await expect((kept as StorageTx).get(T, P, b('a'))).rejects.toBeInstanceOf(StorageError);
    await expect(
      (kept as StorageTx).put(T, { partition: P, sort: b('a'), value: b('1') }),
    ).rejects.toBeInstanceOf(StorageError);
    await db.close();
  });

  it('applies operations started but not awaited before the callback returned', async () => {
    const db = await open();
    await db.transaction(async (tx) => {
      void tx.put(T, { partition: P, sort: b('late'), value: b('1') });
    });
    expect(sorts(await db.transaction((tx) => tx.list(T, P)))).toEqual(['late']);
    await db.close();
  });

  it('rejects every call after close with StorageError', async () => {
    const db = await open();
    await db.close();
    await expect(db.transaction(async () => 1)).rejects.toBeInstanceOf(StorageError);
    await expect(db.purgeExpired()).rejects.toBeInstanceOf(StorageError);
    await db.close();
  });
});

describe('IndexedDB adapter: validation is identical to the memory adapter', () => {
  const big = new Uint8Array(513);
  const cases: [string, (tx: StorageTx) => Promise<unknown>][] = [
    ['table', (tx) => tx.get('Bad', P, b('a'))],
    ['table number', (tx) => tx.put(1 as unknown as string, { partition: P, sort: b('a'), value: b('1') })],
    ['partition', (tx) => tx.get(T, 'p' as unknown as Uint8Array, b('a'))],
    ['long sort', (tx) => tx.get(T, P, big)],
    ['row', (tx) => tx.put(T, null as unknown as Row)],
    ['value', (tx) => tx.put(T, { partition: P, sort: b('a'), value: 'x' as unknown as Uint8Array })],
    ['expiresAt', (tx) => tx.put(T, { partition: P, sort: b('a'), value: b('1'), expiresAt: -1 })],
    ['expiresAt float', (tx) => tx.put(T, { partition: P, sort: b('a'), value: b('1'), expiresAt: 1.5 })],
    ['delete sort', (tx) => tx.delete(T, P, null as unknown as Uint8Array)],
    ['list limit', (tx) => tx.list(T, P, { limit: 0 })],
    ['list limit big', (tx) => tx.list(T, P, { limit: 10_001 })],
    ['list after', (tx) => tx.list(T, P, { after: big })],
    ['list prefix', (tx) => tx.list(T, P, { prefix: [1] as unknown as Uint8Array })],
    ['list options before partition', (tx) => tx.list(T, big, { limit: 0 })],
    ['take limit', (tx) => tx.take(T, P, { limit: 1.5 })],
    ['take prefix', (tx) => tx.take(T, big, { prefix: big })],
    ['count prefix', (tx) => tx.count(T, big, { prefix: big })],
    ['deletePartition', (tx) => tx.deletePartition('_x', P)],
  ];

  async function errorOf(db: StorageAdapter, op: (tx: StorageTx) => Promise<unknown>): Promise<unknown> {
    try {
      await db.transaction(op);
    } catch (error) {
      return error;
    }
    return undefined;
  }

  const shape = (e: unknown) => ({
    class: (e as Error).constructor.name,
    code: (e as CloisterError).code,
    field: (e as { field?: string }).field,
    message: (e as Error).message,
  });

  it.each(cases)('%s', async (_name, op) => {
    const idb = await open();
    const mem = createMemoryAdapter();
    await fill(idb, ['a']);
    await fill(mem, ['a']);
    const [e1, e2] = [await errorOf(idb, op), await errorOf(mem, op)];
    expect(e2).toBeInstanceOf(CloisterError);
    expect(shape(e1)).toEqual(shape(e2));
    expect(sorts(await idb.transaction((tx) => tx.list(T, P)))).toEqual(['a']);
    await idb.close();
  });

  it('purgeExpired options', async () => {
    const idb = await open();
    const mem = createMemoryAdapter();
    for (const options of [{ batchSize: 0 }, { tables: ['Bad'] }, { now: -5 }, { batchSize: 20_000 }]) {
      const e1 = await idb.purgeExpired(options).catch((e: unknown) => e);
      const e2 = await mem.purgeExpired(options).catch((e: unknown) => e);
      expect(e2).toBeInstanceOf(CloisterError);
      expect(shape(e1)).toEqual(shape(e2));
    }
    await idb.close();
  });
});

describe('IndexedDB adapter: concurrency', () => {
  const counter = async (tx: StorageTx): Promise<void> => {
    const row = await tx.get(T, P, b('n'), { forUpdate: true });
    const n = row === undefined ? 0 : Number(new TextDecoder().decode(row.value));
    await new Promise((r) => setTimeout(r, 1)); // other work inside the transaction
    await tx.put(T, { partition: P, sort: b('n'), value: b(String(n + 1)) });
  };

  it('serializes 20 concurrent read-modify-write transactions (no lost update)', async () => {
    const db = await open();
    await Promise.all(Array.from({ length: 20 }, () => db.transaction(counter)));
    const row = await db.transaction((tx) => tx.get(T, P, b('n')));
    expect(new TextDecoder().decode(row?.value)).toBe('20');
    await db.close();
  });

  it('never hands one row to two concurrent takes', async () => {
    const db = await open();
    await fill(
      db,
      Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, '0')}`),
    );
    const taken = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        db.transaction(async (tx) => {
          const [a, bb] = await Promise.all([
            tx.take(T, P, { limit: 2 }),
            tx.take(T, P, { limit: i % 3 === 0 ? 1 : 2 }),
          ]);
          return [...a, ...bb];
        }),
      ),
    );
    const all = taken.flat().map((r) => new TextDecoder().decode(r.sort));
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(30 - (await db.transaction((tx) => tx.count(T, P))));
    await db.close();
  });

  it('serializes two adapters on one database through the lock manager ("two tabs")', async () => {
    const factory = new IDBFactory();
    const queues = new Map<string, Promise<unknown>>();
    const names: string[] = [];
    const locks = {
      request(name: string, _options: unknown, cb: () => Promise<unknown>) {
        names.push(name);
        const prev = queues.get(name) ?? Promise.resolve();
        const run = prev.then(cb, cb);
        queues.set(
          name,
          run.catch(() => undefined),
        );
        return run;
      },
    } as unknown as LockManager;
    const tabA = await open({ factory, name: 'shared', locks });
    const tabB = await open({ factory, name: 'shared', locks });
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? tabA : tabB).transaction(counter)));
    const row = await tabA.transaction((tx) => tx.get(T, P, b('n')));
    expect(new TextDecoder().decode(row?.value)).toBe('20');
    expect(names.every((n) => n === 'cloister-storage-indexeddb:shared')).toBe(true);
    await tabA.close();
    await tabB.close();
  });
});

describe('IndexedDB adapter: failures', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('turns a quota error at commit into StorageError without values, committing nothing', async () => {
    const db = await open();
    await fill(db, ['a']);
    const quota = new DOMException('quota exceeded', 'QuotaExceededError');
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(() => {
      throw quota;
    });
    const secret = 'secret-value-123';
    const error = await db
      .transaction(async (tx) => {
        await tx.delete(T, P, b('a'));
        await tx.put(T, { partition: P, sort: b(secret), value: b(secret) });
      })
      .catch((e: unknown) => e);
    vi.restoreAllMocks();
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).toContain('QuotaExceededError');
    expect((error as Error).message).not.toContain(secret);
    expect((error as Error).cause).toBe(quota);
    expect(sorts(await db.transaction((tx) => tx.list(T, P)))).toEqual(['a']);
    await db.close();
  });

  it('closes when another connection upgrades the database, then rejects with StorageError', async () => {
    const factory = new IDBFactory();
    const db = await open({ factory, name: 'up' });
    await fill(db, ['a']);
    await new Promise<void>((resolve, reject) => {
      const request = factory.open('up', 99);
      request.onsuccess = () => {
        request.result.close();
        resolve();
      };
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error('blocked'));
    });
    await expect(db.transaction((tx) => tx.list(T, P))).rejects.toMatchObject({
      code: 'ERR_STORAGE',
      message: expect.stringContaining('closed'),
    });
    await expect(open({ factory, name: 'up' })).rejects.toBeInstanceOf(UnsupportedError);
    await db.close();
  });

  it('deleteIndexedDbDatabase closes open adapters and removes the data', async () => {
    const factory = new IDBFactory();
    const db = await open({ factory, name: 'del' });
    await fill(db, ['a']);
    await deleteIndexedDbDatabase('del', factory);
    await expect(db.transaction((tx) => tx.list(T, P))).rejects.toBeInstanceOf(StorageError);
    const again = await open({ factory, name: 'del' });
    expect(await again.transaction((tx) => tx.list(T, P))).toEqual([]);
    await again.close();
    await expect(deleteIndexedDbDatabase('', factory)).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
  });
});
