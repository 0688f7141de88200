import type { CloisterError } from '@cloister/crypto';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StorageAdapter, StorageTx } from '../src/adapter.js';
import { createIndexedDbAdapter } from '../src/indexeddb/index.js';
import { createMemoryAdapter } from '../src/memory.js';

const BASE = 1_000_000;
const bytes = fc
  .uint8Array({ minLength: 0, maxLength: 3 })
  .map((a) => a.map((x) => [0, 1, 0x7f, 0x80, 0xff][x % 5] as number));
const partition = fc.constantFrom(new Uint8Array(), new Uint8Array([1]), new Uint8Array([0xff]));
const table = fc.constantFrom('t1', 't2');
const expiry = fc.option(fc.integer({ min: BASE - 5, max: BASE + 40 }), { nil: undefined });
const limit = fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined });

type Op =
  | {
      op: 'put';
      table: string;
      partition: Uint8Array;
      sort: Uint8Array;
      value: Uint8Array;
      expiresAt: number | undefined;
      ifAbsent: boolean;
    }
  | { op: 'get' | 'delete'; table: string; partition: Uint8Array; sort: Uint8Array }
  | {
      op: 'list';
      table: string;
      partition: Uint8Array;
      after: Uint8Array | undefined;
      prefix: Uint8Array | undefined;
      limit: number | undefined;
      reverse: boolean;
    }
  | {
      op: 'take';
      table: string;
      partition: Uint8Array;
      prefix: Uint8Array | undefined;
      limit: number | undefined;
    }
  | { op: 'count'; table: string; partition: Uint8Array; prefix: Uint8Array | undefined }
  | { op: 'deletePartition'; table: string; partition: Uint8Array };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('put' as const),
      table,
      partition,
      sort: bytes,
      value: fc.uint8Array({ maxLength: 4 }),
      expiresAt: expiry,
      ifAbsent: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constantFrom('get' as const, 'delete' as const),
      table,
      partition,
      sort: bytes,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('list' as const),
      table,
      partition,
      after: fc.option(bytes, { nil: undefined }),
      prefix: fc.option(bytes, { nil: undefined }),
      limit,
      reverse: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('take' as const),
      table,
      partition,
      prefix: fc.option(bytes, { nil: undefined }),
      limit,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('count' as const),
      table,
      partition,
      prefix: fc.option(bytes, { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('deletePartition' as const), table, partition }) },
);

const stepArb = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('tx' as const),
      ops: fc.array(opArb, { maxLength: 8 }),
      fail: fc.boolean(),
      advance: fc.integer({ min: 0, max: 15 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('purge' as const),
      batchSize: fc.integer({ min: 1, max: 4 }),
      tables: fc.option(fc.subarray(['t1', 't2']), { nil: undefined }),
    }),
  },
);

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

async function apply(tx: StorageTx, o: Op): Promise<unknown> {
  switch (o.op) {
    case 'put':
      return tx.put(
        o.table,
        { partition: o.partition, sort: o.sort, value: o.value, ...opt('expiresAt', o.expiresAt) },
        { ifAbsent: o.ifAbsent },
      );
    case 'get':
      return tx.get(o.table, o.partition, o.sort);
    case 'delete':
      return tx.delete(o.table, o.partition, o.sort);
    case 'list':
      return tx.list(o.table, o.partition, {
        ...opt('after', o.after),
        ...opt('prefix', o.prefix),
        ...opt('limit', o.limit),
        reverse: o.reverse,
      });
    case 'take':
      return tx.take(o.table, o.partition, { ...opt('prefix', o.prefix), ...opt('limit', o.limit) });
    case 'count':
      return tx.count(o.table, o.partition, opt('prefix', o.prefix));
    case 'deletePartition':
      return tx.deletePartition(o.table, o.partition);
  }
}

class Rollback extends Error {}

async function runTx(db: StorageAdapter, ops: Op[], fail: boolean): Promise<unknown[]> {
  const results: unknown[] = [];
  try {
    await db.transaction(async (tx) => {
      for (const o of ops) results.push(await apply(tx, o));
      if (fail) throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) results.push({ error: (error as CloisterError).code });
  }
  return results;
}

async function snapshot(db: StorageAdapter): Promise<unknown[]> {
  return db.transaction(async (tx) => {
    const all: unknown[] = [];
    for (const t of ['t1', 't2']) {
      for (const p of [new Uint8Array(), new Uint8Array([1]), new Uint8Array([0xff])]) {
        all.push(await tx.list(t, p, { limit: 10_000 }));
      }
    }
    return all;
  });
}

describe('IndexedDB adapter matches the memory adapter (property)', () => {
  it('gives the same results for random operation sequences', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 8 }), async (steps) => {
        let time = BASE;
        const now = () => time;
        const memory = createMemoryAdapter({ now });
        const idb = await createIndexedDbAdapter({
          name: `prop${n++}`,
          indexedDB: new IDBFactory(),
          IDBKeyRange,
          now,
          locks: null,
        });
        for (const step of steps) {
          if (step.kind === 'tx') {
            expect(await runTx(idb, step.ops, step.fail)).toEqual(await runTx(memory, step.ops, step.fail));
            time += step.advance;
          } else {
            const options = { batchSize: step.batchSize, ...opt('tables', step.tables) };
            const [a, m] = [await idb.purgeExpired(options), await memory.purgeExpired(options)];
            expect(a.deleted).toBe(m.deleted);
          }
          expect(await snapshot(idb)).toEqual(await snapshot(memory));
        }
        await idb.close();
      }),
      { numRuns: 300 },
    );
  });
});
