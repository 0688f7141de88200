/**
 * The SQL adapter against the adapter contract, on PGlite always and on PostgreSQL when
 * `DATABASE_URL` is set: CRUD, list paging, take, count, expiry, ifAbsent, rollback, purge,
 * closing, validation identical to the memory adapter's, and a model test against it.
 */
import { StorageError } from '@cloister/crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Row, RowInput, StorageAdapter, StorageTx } from '../src/adapter.js';
import { createMemoryAdapter } from '../src/memory.js';
import type { SqlAdapterStatistics } from '../src/sql/index.js';
import { b, type SqlTarget, s, sqlTargets, TestClock } from './sql-fixtures.js';

const P = b('partition');

let tables = 0;
function table(): string {
  tables++;
  return `t_${tables}`;
}

function sorts(rows: Row[]): string[] {
  return rows.map((r) => s(r.sort));
}

/** The adapters of `@cloister/storage/sql` count what they send to the driver. */
function statistics(db: StorageAdapter): SqlAdapterStatistics {
  return (db as StorageAdapter & { statistics(): SqlAdapterStatistics }).statistics();
}

/** Statements and transactions `fn` sends. */
async function counting<T>(
  db: StorageAdapter,
  fn: () => Promise<T>,
): Promise<{ result: T } & SqlAdapterStatistics> {
  const before = statistics(db);
  const result = await fn();
  const after = statistics(db);
  return {
    result,
    statements: after.statements - before.statements,
    transactions: after.transactions - before.transactions,
  };
}

/** The error a call rejects with, as comparable data. */
async function failure(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    const e = error as { name?: string; code?: string; field?: string; message?: string };
    return { name: e.name, code: e.code, field: e.field, message: e.message };
  }
  return 'no error';
}

describe.each(sqlTargets('adapter'))('SQL adapter on $name', (target: SqlTarget) => {
  const clock = new TestClock();
  let db: StorageAdapter;

  beforeAll(async () => {
    db = await target.open(clock.now);
  });
  afterAll(async () => {
    await db.close();
    await target.cleanup();
  });

  it('has the kind of its backend and the given clock', () => {
    expect(db.kind).toBe(target.name);
    expect(db.now()).toBe(clock.t);
  });

  it('puts, gets, replaces and deletes rows', async () => {
    const t = table();
    await db.transaction(async (tx) => {
      expect(tx.now).toBe(clock.t);
      expect(await tx.put(t, { partition: P, sort: b('a'), value: b('one') })).toBe(true);
      expect(await tx.put(t, { partition: P, sort: b('b'), value: b('two'), expiresAt: clock.t + 10 })).toBe(
        true,
      );
    });
    await db.transaction(async (tx) => {
      const a = await tx.get(t, P, b('a'));
      expect(a).toEqual({ partition: P, sort: b('a'), value: b('one'), expiresAt: null });
      expect(Object.getPrototypeOf(a?.value)).toBe(Uint8Array.prototype);
      expect((await tx.get(t, P, b('b')))?.expiresAt).toBe(clock.t + 10);
      expect(await tx.get(t, P, b('c'))).toBeUndefined();
      expect(await tx.get(t, b('other'), b('a'))).toBeUndefined();
      expect(await tx.get('other_table', P, b('a'))).toBeUndefined();
      await tx.put(t, { partition: P, sort: b('a'), value: b('uno'), expiresAt: null });
    });
    await db.transaction(async (tx) => {
      expect(s((await tx.get(t, P, b('a')))?.value ?? new Uint8Array())).toBe('uno');
      expect(await tx.delete(t, P, b('a'))).toBe(true);
      expect(await tx.delete(t, P, b('a'))).toBe(false);
      expect(await tx.get(t, P, b('a'))).toBeUndefined();
    });
  });

  it('stores empty and maximal keys, binary bytes and large values exactly', async () => {
    const t = table();
    const empty = new Uint8Array();
    const big = new Uint8Array(512).map((_, i) => (i * 7) & 0xff);
    const value = new Uint8Array(1024 * 1024).map((_, i) => (i * 13) & 0xff);
    await db.transaction(async (tx) => {
      await tx.put(t, { partition: empty, sort: empty, value: empty });
      await tx.put(t, { partition: big, sort: big, value });
      await tx.put(t, { partition: empty, sort: new Uint8Array([0, 0xff, 0]), value: new Uint8Array([0]) });
    });
    await db.transaction(async (tx) => {
      expect(await tx.get(t, empty, empty)).toEqual({
        partition: empty,
        sort: empty,
        value: empty,
        expiresAt: null,
      });
      const got = (await tx.get(t, big, big))?.value ?? new Uint8Array();
      // Compared as one buffer: a deep equality of a mebibyte element by element is slow.
      expect(got.length).toBe(value.length);
      expect(Buffer.compare(got, value)).toBe(0);
      expect(sorts(await tx.list(t, empty)).length).toBe(2);
      expect((await tx.list(t, empty))[0]?.sort).toEqual(empty);
    });
  });

  it('lists in unsigned byte order, pages with after, filters by prefix and reverses', async () => {
    const t = table();
    const keys = [[0x7f], [0x80], [0x80, 0x00], [0xff], [0xff, 0xff], [0xff, 0xff, 0x01], [0x00], []].map(
      (k) => new Uint8Array(k),
    );
    await db.transaction(async (tx) => {
      for (const k of keys) await tx.put(t, { partition: P, sort: k, value: k });
    });
    const hex = (rows: Row[]) => rows.map((r) => Buffer.from(r.sort).toString('hex'));
    await db.transaction(async (tx) => {
      expect(hex(await tx.list(t, P))).toEqual(['', '00', '7f', '80', '8000', 'ff', 'ffff', 'ffff01']);
      expect(hex(await tx.list(t, P, { reverse: true, limit: 3 }))).toEqual(['ffff01', 'ffff', 'ff']);
      expect(hex(await tx.list(t, P, { prefix: new Uint8Array([0xff]) }))).toEqual(['ff', 'ffff', 'ffff01']);
      expect(hex(await tx.list(t, P, { prefix: new Uint8Array([0xff, 0xff]), reverse: true }))).toEqual([
        'ffff01',
        'ffff',
      ]);
      expect(hex(await tx.list(t, P, { prefix: new Uint8Array([0x80]) }))).toEqual(['80', '8000']);
      expect(hex(await tx.list(t, P, { prefix: new Uint8Array() }))).toHaveLength(8);
      expect(hex(await tx.list(t, P, { after: new Uint8Array([0x80]) }))).toEqual([
        '8000',
        'ff',
        'ffff',
        'ffff01',
      ]);
      expect(hex(await tx.list(t, P, { after: new Uint8Array([0x80]), reverse: true }))).toEqual([
        '7f',
        '00',
        '',
      ]);
      expect(
        hex(await tx.list(t, P, { after: new Uint8Array([0xff]), prefix: new Uint8Array([0xff]), limit: 1 })),
      ).toEqual(['ffff']);
      expect(hex(await tx.list(t, P, { after: new Uint8Array() }))).toHaveLength(7);
    });
  });

  it('pages through many rows without gaps or repeats', async () => {
    const t = table();
    await db.transaction(async (tx) => {
      for (let i = 0; i < 45; i++) {
        await tx.put(t, { partition: P, sort: b(`k${String(i).padStart(3, '0')}`), value: b(String(i)) });
      }
    });
    for (const reverse of [false, true]) {
      const seen: string[] = [];
      let after: Uint8Array | undefined;
      for (;;) {
        const page = await db.transaction((tx) =>
          tx.list(t, P, { limit: 10, reverse, ...(after === undefined ? {} : { after }) }),
        );
        seen.push(...sorts(page));
        if (page.length < 10) break;
        after = page[page.length - 1]?.sort;
      }
      const expected = Array.from({ length: 45 }, (_, i) => `k${String(i).padStart(3, '0')}`);
      expect(seen).toEqual(reverse ? expected.reverse() : expected);
    }
  });

  it('takes the first live rows in order, with a prefix, and removes them', async () => {
    const t = table();
    await db.transaction(async (tx) => {
      for (const k of ['b2', 'a1', 'a3', 'a2', 'c1'])
        await tx.put(t, { partition: P, sort: b(k), value: b(k) });
      await tx.put(t, { partition: P, sort: b('a0'), value: b('gone'), expiresAt: clock.t });
    });
    await db.transaction(async (tx) => {
      expect(sorts(await tx.take(t, P))).toEqual(['a1']);
      expect(sorts(await tx.take(t, P, { limit: 5, prefix: b('a') }))).toEqual(['a2', 'a3']);
      expect(await tx.take(t, P, { prefix: b('a') })).toEqual([]);
      expect(await tx.take(t, b('empty'), { limit: 3 })).toEqual([]);
    });
    const rest = await db.transaction(async (tx) => {
      const taken = await tx.take(t, P, { limit: 10 });
      expect(taken[0]).toEqual({ partition: P, sort: b('b2'), value: b('b2'), expiresAt: null });
      return sorts(taken);
    });
    expect(rest).toEqual(['b2', 'c1']);
    // The expired row was never taken and is still there for the purge.
    expect(await db.purgeExpired({ tables: [t] })).toEqual({ deleted: 1, batches: 1 });
  });

  it('counts live rows, with a prefix', async () => {
    const t = table();
    await db.transaction(async (tx) => {
      for (const k of ['x1', 'x2', 'y1']) await tx.put(t, { partition: P, sort: b(k), value: b(k) });
      await tx.put(t, { partition: P, sort: b('x3'), value: b(''), expiresAt: clock.t - 1 });
    });
    await db.transaction(async (tx) => {
      expect(await tx.count(t, P)).toBe(3);
      expect(await tx.count(t, P, { prefix: b('x') })).toBe(2);
      expect(await tx.count(t, P, { prefix: b('z') })).toBe(0);
      expect(await tx.count(t, b('nothing'))).toBe(0);
    });
  });

  it('reports the usage of a partition in one statement, as numbers', async () => {
    const t = table();
    await db.transaction(async (tx) => {
      for (const [k, n] of [
        ['a', 0],
        ['b', 1],
        ['c', 70_000],
      ] as const) {
        await tx.put(t, { partition: P, sort: b(k), value: new Uint8Array(n) });
      }
      await tx.put(t, { partition: P, sort: b('d'), value: new Uint8Array(9), expiresAt: clock.t - 1 });
      await tx.put(t, { partition: b('other'), sort: b('a'), value: new Uint8Array(5) });
    });
    await db.transaction(async (tx) => {
      const used = await counting(db, () => tx.usage(t, P));
      expect(used).toEqual({ result: { rows: 3, bytes: 70_001 }, statements: 1, transactions: 0 });
      expect(typeof used.result.rows).toBe('number');
      expect(typeof used.result.bytes).toBe('number');
      expect(await tx.usage(t, b('nothing'))).toEqual({ rows: 0, bytes: 0 });
    });
  });

  it('hides rows at and after their expiry from every read', async () => {
    const t = table();
    const at = clock.t + 100;
    await db.transaction(async (tx) => {
      await tx.put(t, { partition: P, sort: b('e'), value: b('v'), expiresAt: at });
      await tx.put(t, { partition: P, sort: b('f'), value: b('w') });
    });
    clock.t = at - 1;
    expect(await db.transaction(async (tx) => (await tx.get(t, P, b('e')))?.expiresAt)).toBe(at);
    clock.t = at;
    await db.transaction(async (tx) => {
      expect(tx.now).toBe(at);
      expect(await tx.get(t, P, b('e'))).toBeUndefined();
      expect(await tx.get(t, P, b('e'), { forUpdate: true })).toBeUndefined();
      expect(sorts(await tx.list(t, P))).toEqual(['f']);
      expect(await tx.count(t, P)).toBe(1);
      // An expired row counts as absent for ifAbsent and is replaced.
      expect(await tx.put(t, { partition: P, sort: b('e'), value: b('new') }, { ifAbsent: true })).toBe(true);
      expect(await tx.put(t, { partition: P, sort: b('f'), value: b('no') }, { ifAbsent: true })).toBe(false);
    });
    await db.transaction(async (tx) => {
      expect(s((await tx.get(t, P, b('e')))?.value ?? b(''))).toBe('new');
      expect(s((await tx.get(t, P, b('f')))?.value ?? b(''))).toBe('w');
      await tx.put(t, { partition: P, sort: b('g'), value: b('x'), expiresAt: at });
      // Deleting an expired row removes it but reports that no live row was deleted.
      expect(await tx.delete(t, P, b('g'))).toBe(false);
      expect(await tx.deletePartition(t, P)).toBe(2);
    });
    expect(await db.purgeExpired({ tables: [t] })).toEqual({ deleted: 0, batches: 0 });
  });

  it('writes with ifAbsent only when no row has the key', async () => {
    const t = table();
    const results = await db.transaction(async (tx) => [
      await tx.put(t, { partition: P, sort: b('k'), value: b('first') }, { ifAbsent: true }),
      await tx.put(t, { partition: P, sort: b('k'), value: b('second') }, { ifAbsent: true }),
      await tx.put(t, { partition: P, sort: b('k'), value: b('third') }),
    ]);
    expect(results).toEqual([true, false, true]);
    expect(await db.transaction(async (tx) => s((await tx.get(t, P, b('k')))?.value ?? b('')))).toBe('third');
  });

  it('counts every row of a partition, live or expired, when deleting it', async () => {
    const t = table();
    await db.transaction(async (tx) => {
      for (let i = 0; i < 5; i++) {
        await tx.put(t, { partition: P, sort: b(`${i}`), value: b(''), expiresAt: i < 2 ? clock.t : null });
      }
      await tx.put(t, { partition: b('keep'), sort: b('0'), value: b('') });
    });
    expect(await db.transaction((tx) => tx.deletePartition(t, P))).toBe(5);
    expect(await db.transaction((tx) => tx.deletePartition(t, P))).toBe(0);
    expect(await db.transaction((tx) => tx.count(t, b('keep')))).toBe(1);
  });

  it('rolls back every write and rethrows the error unchanged when the callback throws', async () => {
    const t = table();
    await db.transaction((tx) => tx.put(t, { partition: P, sort: b('kept'), value: b('1') }));
    const boom = new Error('boom');
    let escaped: StorageTx | undefined;
    await expect(
      db.transaction(async (tx) => {
        escaped = tx;
        await tx.put(t, { partition: P, sort: b('new'), value: b('2') });
        await tx.put(t, { partition: P, sort: b('kept'), value: b('changed') });
        await tx.take(t, P, { limit: 10 });
        throw boom;
      }),
    ).rejects.toBe(boom);
    await db.transaction(async (tx) => {
      expect(sorts(await tx.list(t, P))).toEqual(['kept']);
      expect(s((await tx.get(t, P, b('kept')))?.value ?? b(''))).toBe('1');
    });
    // A transaction object cannot be used after its callback ended.
    await expect(escaped?.get(t, P, b('kept'))).rejects.toThrow(StorageError);
  });

  it('resolves with the callback result and runs queries issued concurrently in one tx', async () => {
    const t = table();
    const result = await db.transaction(async (tx) => {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => tx.put(t, { partition: P, sort: b(`${i}`), value: b('') })),
      );
      return { n: await tx.count(t, P) };
    });
    expect(result).toEqual({ n: 20 });
  });

  it('runs read-only transactions and refuses writes in them without committing anything', async () => {
    const t = table();
    await db.transaction((tx) => tx.put(t, { partition: P, sort: b('r'), value: b('1') }));
    expect(
      await db.transaction((tx) => tx.get(t, P, b('r'), { forUpdate: true }), { readOnly: true }),
    ).toBeDefined();
    const error = await db
      .transaction((tx) => tx.put(t, { partition: P, sort: b('w'), value: b('secret-value') }), {
        readOnly: true,
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as Error).message).not.toContain('secret');
    expect((error as Error).message).not.toContain(t);
    expect((error as Error).cause).toBeDefined();
    // A callback that swallows a failed statement cannot commit: the transaction still fails.
    await expect(
      db.transaction(
        async (tx) => {
          await tx.put(t, { partition: P, sort: b('w'), value: b('x') }).catch(() => undefined);
          await expect(tx.get(t, P, b('r'))).rejects.toThrow(StorageError);
          return 'done';
        },
        { readOnly: true },
      ),
    ).rejects.toThrow(StorageError);
    expect(await db.transaction((tx) => tx.count(t, P))).toBe(1);
  });

  it('purges expired rows in batches, reports progress, filters tables and stops on abort', async () => {
    const t1 = table();
    const t2 = table();
    await db.transaction(async (tx) => {
      for (let i = 0; i < 25; i++) {
        await tx.put(t1, {
          partition: P,
          sort: b(`${i}`),
          value: b(''),
          expiresAt: clock.t + (i < 23 ? 0 : 1000),
        });
        await tx.put(t2, { partition: P, sort: b(`${i}`), value: b(''), expiresAt: clock.t });
      }
    });
    const progress: unknown[] = [];
    const done = await db.purgeExpired({
      batchSize: 10,
      tables: [t1],
      onProgress: (p) => progress.push(p),
    });
    expect(done).toEqual({ deleted: 23, batches: 3 });
    expect(progress).toEqual([
      { deleted: 10, batches: 1 },
      { deleted: 20, batches: 2 },
      { deleted: 23, batches: 3 },
    ]);
    expect(await db.transaction((tx) => tx.count(t1, P))).toBe(2);
    // Abort after the first batch: one batch stays purged and a later call resumes.
    const controller = new AbortController();
    const first = await db.purgeExpired({
      batchSize: 10,
      tables: [t2],
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    expect(first).toEqual({ deleted: 10, batches: 1 });
    expect(await db.purgeExpired({ batchSize: 10, tables: [t2], now: clock.t - 1 })).toEqual({
      deleted: 0,
      batches: 0,
    });
    expect(await db.purgeExpired({ tables: [t2] })).toEqual({ deleted: 15, batches: 1 });
    expect(await db.purgeExpired({ tables: [t1, t2], now: clock.t + 1000 })).toEqual({
      deleted: 2,
      batches: 1,
    });
    expect(await db.purgeExpired({ tables: [] })).toEqual({ deleted: 0, batches: 0 });
  });

  it('rejects bad arguments exactly like the memory adapter, changing nothing', async () => {
    const t = table();
    const memory = createMemoryAdapter({ now: clock.now });
    const bad = (x: unknown) => x as never;
    // Both hold a row in the partition, which a call that slipped through could change.
    const seed = (tx: StorageTx) => tx.put(t, { partition: P, sort: b('seed'), value: b('') });
    await memory.transaction(seed);
    await db.transaction(seed);
    const big = new Uint8Array(513);
    const calls: ((tx: StorageTx) => Promise<unknown>)[] = [
      (tx) => tx.get('Bad', P, b('')),
      (tx) => tx.get(bad(7), P, b('')),
      (tx) => tx.get(t, bad('p'), b('')),
      (tx) => tx.get(t, P, big),
      (tx) => tx.get(t, big, big),
      (tx) => tx.put(t, bad(null)),
      (tx) => tx.put(t, { partition: P, sort: b(''), value: bad('v') }),
      (tx) => tx.put(t, { partition: P, sort: b(''), value: new Uint8Array(16 * 1024 * 1024 + 1) }),
      (tx) => tx.put(t, { partition: P, sort: b(''), value: b(''), expiresAt: -1 }),
      (tx) => tx.put(t, { partition: P, sort: b(''), value: b(''), expiresAt: 1.5 }),
      (tx) => tx.put(t, { partition: P, sort: b(''), value: b(''), expiresAt: 2 ** 53 }),
      (tx) => tx.put('x'.repeat(49), { partition: P, sort: b(''), value: b('') }),
      (tx) => tx.delete(t, P, bad([1])),
      (tx) => tx.list(t, P, { limit: 0 }),
      (tx) => tx.list(t, P, { limit: 10_001 }),
      (tx) => tx.list(t, P, { limit: 2.5 }),
      (tx) => tx.list(t, P, { after: big }),
      (tx) => tx.list(t, big, { prefix: big }),
      (tx) => tx.list(t, bad(undefined)),
      (tx) => tx.take(t, P, { limit: -1 }),
      (tx) => tx.take(t, big, { prefix: bad('x') }),
      (tx) => tx.count(t, big, { prefix: big }),
      (tx) => tx.count(t, bad(1)),
      (tx) => tx.deletePartition('1abc', P),
      (tx) => tx.putMany(t, bad('rows')),
      (tx) =>
        tx.putMany(
          t,
          Array.from({ length: 1001 }, (_, i) => ({ partition: P, sort: b(`${i}`), value: b('') })),
        ),
      (tx) =>
        tx.putMany(t, [
          { partition: P, sort: b('a'), value: b('') },
          { partition: P, sort: big, value: b('') },
        ]),
      (tx) => tx.putMany(t, [{ partition: P, sort: b('a'), value: b('') }, bad(null)], { ifAbsent: true }),
      (tx) =>
        tx.putMany(t, [
          { partition: P, sort: b('seed'), value: b('x') },
          { partition: P, sort: b('seed'), value: b('y') },
        ]),
      (tx) => tx.putMany(t, [{ partition: P, sort: b('a'), value: b(''), expiresAt: 1.5 }]),
      (tx) => tx.putMany('Bad', []),
      (tx) => tx.getMany(t, bad({})),
      (tx) =>
        tx.getMany(t, [
          { partition: P, sort: b('seed') },
          { partition: big, sort: b('') },
        ]),
      (tx) => tx.getMany(t, [bad('key')]),
      (tx) =>
        tx.deleteMany(t, [
          { partition: P, sort: b('seed') },
          { partition: P, sort: b('seed') },
        ]),
      (tx) =>
        tx.deleteMany(t, [
          { partition: P, sort: b('seed') },
          { partition: P, sort: bad([1]) },
        ]),
    ];
    for (const call of calls) {
      const expected = await failure(() => memory.transaction(call));
      expect([calls.indexOf(call), expected]).toMatchObject([
        calls.indexOf(call),
        { name: 'ValidationError', code: 'ERR_VALIDATION' },
      ]);
      expect(await failure(() => db.transaction(call))).toEqual(expected);
    }
    const purges = [
      { batchSize: 0 },
      { batchSize: 10_001 },
      { tables: ['Nope'] },
      { tables: bad('t') },
      { now: -5 },
      { now: 0.5 },
      { onProgress: bad(1) },
      { signal: bad({}) },
      bad(7),
    ];
    for (const options of purges) {
      expect(await failure(() => db.purgeExpired(options))).toEqual(
        await failure(() => memory.purgeExpired(options)),
      );
    }
    expect(await db.transaction((tx) => tx.list(t, P))).toEqual(
      await memory.transaction((tx) => tx.list(t, P)),
    );
    expect(await db.transaction((tx) => tx.count(t, P))).toBe(1);
    await memory.close();
  });

  it('behaves like the memory adapter on random operation sequences', async () => {
    const key = fc.uint8Array({ maxLength: 3 }).map((k) => k.map((x) => x % 4));
    const op = fc.oneof(
      fc.record({
        op: fc.constant('put' as const),
        sort: key,
        value: fc.uint8Array({ maxLength: 4 }),
        ttl: fc.option(fc.integer({ min: -2, max: 3 })),
        ifAbsent: fc.boolean(),
      }),
      fc.record({ op: fc.constant('get' as const), sort: key }),
      fc.record({ op: fc.constant('delete' as const), sort: key }),
      fc.record({
        op: fc.constant('list' as const),
        prefix: fc.option(key, { nil: undefined }),
        after: fc.option(key, { nil: undefined }),
        limit: fc.integer({ min: 1, max: 5 }),
        reverse: fc.boolean(),
      }),
      fc.record({
        op: fc.constant('take' as const),
        prefix: fc.option(key, { nil: undefined }),
        limit: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({ op: fc.constant('count' as const), prefix: fc.option(key, { nil: undefined }) }),
      fc.record({ op: fc.constant('tick' as const) }),
    );
    type Op = typeof op extends fc.Arbitrary<infer O> ? O : never;
    const apply = async (tx: StorageTx, t: string, o: Op): Promise<unknown> => {
      const opt = <V>(name: string, v: V | undefined) => (v === undefined ? {} : { [name]: v });
      switch (o.op) {
        case 'put':
          return tx.put(
            t,
            { partition: P, sort: o.sort, value: o.value, expiresAt: o.ttl === null ? null : tx.now + o.ttl },
            { ifAbsent: o.ifAbsent },
          );
        case 'get':
          return tx.get(t, P, o.sort);
        case 'delete':
          return tx.delete(t, P, o.sort);
        case 'list':
          return tx.list(t, P, {
            limit: o.limit,
            reverse: o.reverse,
            ...opt('prefix', o.prefix),
            ...opt('after', o.after),
          });
        case 'take':
          return tx.take(t, P, { limit: o.limit, ...opt('prefix', o.prefix) });
        case 'count':
          return tx.count(t, P, opt('prefix', o.prefix));
        case 'tick':
          return tx.now;
      }
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(op, { minLength: 1, maxLength: 6 }), { maxLength: 5 }),
        async (txs) => {
          const t = table();
          const modelClock = new TestClock(clock.t);
          const model = createMemoryAdapter({ now: modelClock.now });
          const start = clock.t;
          try {
            for (const ops of txs) {
              const run = (tx: StorageTx) =>
                (async () => {
                  const out: unknown[] = [];
                  for (const o of ops) out.push(await apply(tx, t, o));
                  return out;
                })();
              expect(await db.transaction(run)).toEqual(await model.transaction(run));
              if (ops.some((o) => o.op === 'tick')) {
                clock.t += 1;
                modelClock.t += 1;
              }
            }
            expect(await db.transaction((tx) => tx.list(t, P, { limit: 1000 }))).toEqual(
              await model.transaction((tx) => tx.list(t, P, { limit: 1000 })),
            );
          } finally {
            await model.close();
            clock.t = start;
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('sends one statement for a putMany, getMany or deleteMany of 500 rows', async () => {
    const t = table();
    const rows: RowInput[] = Array.from({ length: 500 }, (_, i) => ({
      partition: b(`p${i % 7}`),
      sort: b(`${i}`),
      value: b(`value ${i}`),
      expiresAt: i % 3 === 0 ? null : clock.t + 1000 + i,
    }));
    const tx = await counting(db, () =>
      db.transaction(async (tx) => {
        const put = await counting(db, () => tx.putMany(t, rows));
        expect(put).toEqual({ result: rows.map(() => true), statements: 1, transactions: 0 });
        const again = await counting(db, () => tx.putMany(t, rows, { ifAbsent: true }));
        expect(again).toEqual({ result: rows.map(() => false), statements: 1, transactions: 0 });
        const got = await counting(db, () => tx.getMany(t, rows));
        expect(got.statements).toBe(1);
        expect(got.result).toEqual(rows.map((r) => ({ ...r, expiresAt: r.expiresAt ?? null })));
        const deleted = await counting(db, () => tx.deleteMany(t, [...rows].reverse()));
        expect(deleted).toEqual({ result: rows.map(() => true), statements: 1, transactions: 0 });
        const empty = await counting(db, async () => [
          await tx.putMany(t, []),
          await tx.getMany(t, []),
          await tx.deleteMany(t, []),
        ]);
        expect(empty).toEqual({ result: [[], [], []], statements: 0, transactions: 0 });
      }),
    );
    // BEGIN, the five statements above, COMMIT.
    expect(tx).toMatchObject({ statements: 6, transactions: 1 });
  });

  it('claims and writes what stands behind the claims in one statement', async () => {
    const t = table();
    const behind = table();
    const claims = Array.from({ length: 20 }, (_, i) => ({
      partition: P,
      sort: b(`id ${i}`),
      value: b(`c${i}`),
    }));
    const rows = claims.map((_, i) => ({ partition: b('m'), sort: b(`row ${i}`), value: b(`r${i}`) }));
    await db.transaction((tx) => tx.putMany(t, claims.slice(0, 5)));
    const tx = await counting(db, () =>
      db.transaction(async (tx) => {
        const won = await counting(db, () =>
          tx.claimMany(t, claims, { table: behind, rows, claims: rows.map((_, i) => i) }),
        );
        expect(won).toEqual({ result: claims.map((_, i) => i >= 5), statements: 1, transactions: 0 });
        expect(await tx.count(behind, b('m'))).toBe(15);
      }),
    );
    // BEGIN, the claim, the count, COMMIT.
    expect(tx).toMatchObject({ statements: 4, transactions: 1 });
  });

  it('sends the one call of a single-call transaction without BEGIN and COMMIT', async () => {
    const t = table();
    const alone = await counting(db, () =>
      db.transaction((tx) => tx.putMany(t, [{ partition: P, sort: b('a'), value: b('1') }]), {
        single: true,
      }),
    );
    expect(alone).toEqual({ result: [true], statements: 1, transactions: 0 });
    const claimed = await counting(db, () =>
      db.transaction(
        (tx) =>
          tx.claimMany(t, [{ partition: P, sort: b('b'), value: b('2') }], {
            table: table(),
            rows: [{ partition: P, sort: b('x'), value: b('3') }],
            claims: [0],
          }),
        { single: true },
      ),
    );
    expect(claimed).toEqual({ result: [true], statements: 1, transactions: 0 });
    // A call too large for one statement still commits as one transaction.
    const big = new Uint8Array(8.1 * 1024 * 1024);
    const large = await counting(db, () =>
      db.transaction(
        (tx) =>
          tx.putMany(t, [
            { partition: P, sort: b('c'), value: big },
            { partition: P, sort: b('d'), value: big },
          ]),
        { single: true },
      ),
    );
    expect(large).toEqual({ result: [true, true], statements: 4, transactions: 1 });
    // A failing lone statement leaves the connection usable and writes nothing.
    const failed = await failure(() =>
      db.transaction(
        async (tx) => {
          await tx.get(t, P, b('a'));
          await tx.put(t, { partition: P, sort: b('e'), value: b('5') });
        },
        { single: true },
      ),
    );
    expect(failed).toMatchObject({ name: 'StorageError', code: 'ERR_STORAGE' });
    expect(await db.transaction((tx) => tx.count(t, P))).toBe(4);
  });

  it('counts every statement and transaction it sends, BEGIN, COMMIT and ROLLBACK included', async () => {
    const t = table();
    const committed = await counting(db, () =>
      db.transaction(async (tx) => {
        await tx.put(t, { partition: P, sort: b('a'), value: b(''), expiresAt: clock.t + 1 });
        return tx.get(t, P, b('a'));
      }),
    );
    expect(committed).toMatchObject({ statements: 4, transactions: 1 });
    const readOnly = await counting(db, () => db.transaction((tx) => tx.count(t, P), { readOnly: true }));
    expect(readOnly).toEqual({ result: 1, statements: 3, transactions: 1 });
    const rolledBack = await counting(db, () =>
      db
        .transaction(async (tx) => {
          await tx.delete(t, P, b('a'));
          throw new Error('deliberate');
        })
        .catch(() => 'rolled back'),
    );
    expect(rolledBack).toEqual({ result: 'rolled back', statements: 3, transactions: 1 });
    // A refused argument sends nothing but the transaction around it.
    const refused = await counting(db, () =>
      db.transaction((tx) => tx.putMany(t, [null as unknown as RowInput])).catch(() => 'refused'),
    );
    expect(refused).toEqual({ result: 'refused', statements: 2, transactions: 1 });
    clock.t += 10;
    const purge = await counting(db, () => db.purgeExpired({ tables: [t] }));
    expect(purge).toEqual({ result: { deleted: 1, batches: 1 }, statements: 3, transactions: 1 });
    clock.t -= 10;
  });

  it('splits a putMany over MAX_STATEMENT_BYTES into statements, with the same results', async () => {
    const t = table();
    // PGlite takes about a second per 3 MiB of parameters: the least that needs two statements.
    const value = new Uint8Array(6 * 1024 * 1024).fill(7);
    const rows: RowInput[] = Array.from({ length: 3 }, (_, i) => ({
      partition: P,
      sort: b(`${2 - i}`),
      value,
    }));
    rows.push({ partition: P, sort: b('3'), value: b('small') });
    await db.transaction((tx) => tx.put(t, { partition: P, sort: b('1'), value: b('kept') }));
    const put = await counting(db, () =>
      db.transaction((tx) => counting(db, () => tx.putMany(t, rows, { ifAbsent: true }))),
    );
    // In key order: rows 0 and 1 (one of them refused) fit 16 MiB; adding row 2 would not.
    expect(put.result).toEqual({ result: [true, false, true, true], statements: 2, transactions: 0 });
    await db.transaction(async (tx) => {
      expect(await tx.count(t, P)).toBe(4);
      expect((await tx.get(t, P, b('1')))?.value).toEqual(b('kept'));
      expect((await tx.get(t, P, b('3')))?.value).toEqual(b('small'));
      expect(await tx.deleteMany(t, rows)).toEqual([true, true, true, true]);
    });
  });

  it('rejects use after close with StorageError', async () => {
    const other = await target.open(clock.now);
    await other.close();
    await expect(other.transaction(async () => 1)).rejects.toThrow(StorageError);
    await expect(other.purgeExpired()).rejects.toThrow(StorageError);
    await other.close();
  });
});
