/**
 * Property: any sequence of operations gives the same results through the encryption wrapper as
 * on a plain memory adapter. With every table ordered the results must match exactly; with
 * hashed sort keys they must match up to the order of rows within a partition.
 */
import { type CloisterError, type CryptoProvider, getProvider, toHex } from '@cloister/crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Row, StorageAdapter, StorageTx } from '../src/adapter.js';
import { createEncryptedAdapter } from '../src/encrypted/index.js';
import { createMemoryAdapter } from '../src/memory.js';

let provider: CryptoProvider;
beforeAll(async () => {
  provider = await getProvider();
});

const TABLES = ['c_a', 'c_b'] as const;
const key = fc
  .uint8Array({ minLength: 0, maxLength: 3 })
  .map((a) => a.map((b) => [0, 1, 0x7f, 0xff][b % 4]!));
const partition = fc.constantFrom(new Uint8Array(), Uint8Array.of(1), Uint8Array.of(2, 3));
const table = fc.constantFrom(...TABLES);
const expiry = fc.option(fc.integer({ min: 0, max: 60 }), { nil: null });

type Op =
  | {
      op: 'put';
      table: string;
      partition: Uint8Array;
      sort: Uint8Array;
      value: Uint8Array;
      expiresAt: number | null;
      ifAbsent: boolean;
    }
  | { op: 'get'; table: string; partition: Uint8Array; sort: Uint8Array }
  | { op: 'delete'; table: string; partition: Uint8Array; sort: Uint8Array }
  | {
      op: 'list';
      table: string;
      partition: Uint8Array;
      after: Uint8Array | null;
      prefix: Uint8Array | null;
      limit: number;
      reverse: boolean;
    }
  | { op: 'take'; table: string; partition: Uint8Array; prefix: Uint8Array | null; limit: number }
  | { op: 'count'; table: string; partition: Uint8Array; prefix: Uint8Array | null }
  | { op: 'deletePartition'; table: string; partition: Uint8Array }
  | { op: 'rollback'; table: string; partition: Uint8Array; sort: Uint8Array }
  | { op: 'purge' }
  | { op: 'tick'; by: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('put' as const),
      table,
      partition,
      sort: key,
      value: fc.uint8Array({ maxLength: 8 }),
      expiresAt: expiry,
      ifAbsent: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('get' as const), table, partition, sort: key }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), table, partition, sort: key }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('list' as const),
      table,
      partition,
      after: fc.option(key, { nil: null }),
      prefix: fc.option(key, { nil: null }),
      limit: fc.integer({ min: 1, max: 5 }),
      reverse: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('take' as const),
      table,
      partition,
      prefix: fc.option(key, { nil: null }),
      limit: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('count' as const),
      table,
      partition,
      prefix: fc.option(key, { nil: null }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('deletePartition' as const), table, partition }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rollback' as const), table, partition, sort: key }) },
  { weight: 1, arbitrary: fc.constant({ op: 'purge' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('tick' as const), by: fc.integer({ min: 1, max: 20 }) }),
  },
);

const show = (rows: Row[]): string[] =>
  rows.map((r) => `${toHex(r.partition)}|${toHex(r.sort)}|${toHex(r.value)}|${r.expiresAt}`);

/** Runs one operation; the outcome is a comparable value or the error code. */
async function run(db: StorageAdapter, op: Op, clock: { now: number }, unordered: boolean): Promise<unknown> {
  const rows = (r: Row[]): string[] => (unordered ? show(r).sort() : show(r));
  try {
    switch (op.op) {
      case 'tick':
        clock.now += op.by;
        return null;
      case 'purge':
        return (await db.purgeExpired()).deleted;
      case 'rollback':
        return await db
          .transaction(async (tx: StorageTx) => {
            await tx.put(op.table, { partition: op.partition, sort: op.sort, value: Uint8Array.of(9) });
            await tx.deletePartition(op.table, op.partition);
            throw new Error('rollback');
          })
          .catch((e: Error) => e.message);
      default:
        return await db.transaction(async (tx) => {
          switch (op.op) {
            case 'put':
              return tx.put(
                op.table,
                { partition: op.partition, sort: op.sort, value: op.value, expiresAt: op.expiresAt },
                { ifAbsent: op.ifAbsent },
              );
            case 'get': {
              const row = await tx.get(op.table, op.partition, op.sort);
              return row === undefined ? undefined : show([row]);
            }
            case 'delete':
              return tx.delete(op.table, op.partition, op.sort);
            case 'list':
              return rows(
                await tx.list(op.table, op.partition, {
                  limit: op.limit,
                  reverse: op.reverse,
                  ...(op.after === null ? {} : { after: op.after }),
                  ...(op.prefix === null ? {} : { prefix: op.prefix }),
                }),
              );
            case 'take':
              return rows(
                await tx.take(op.table, op.partition, {
                  limit: op.limit,
                  ...(op.prefix === null ? {} : { prefix: op.prefix }),
                }),
              );
            case 'count':
              return tx.count(op.table, op.partition, op.prefix === null ? undefined : { prefix: op.prefix });
            case 'deletePartition':
              return tx.deletePartition(op.table, op.partition);
          }
        });
    }
  } catch (e) {
    return `error ${(e as CloisterError).code}`;
  }
}

/** The full content of both tables, for a final comparison. */
async function snapshot(db: StorageAdapter): Promise<string[]> {
  return db.transaction(async (tx) => {
    const out: string[] = [];
    for (const t of TABLES) {
      for (const p of [new Uint8Array(), Uint8Array.of(1), Uint8Array.of(2, 3)]) {
        out.push(...show(await tx.list(t, p, { limit: 10_000 })).map((s) => `${t}|${s}`));
      }
    }
    return out.sort();
  });
}

describe('encryption wrapper behaves like the memory adapter', () => {
  it('with every table ordered: identical results', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), async (ops) => {
        const clock = { now: 0 };
        const plain = createMemoryAdapter({ now: () => clock.now });
        const enc = createEncryptedAdapter(createMemoryAdapter({ now: () => clock.now }), {
          dataKey: new Uint8Array(32).fill(3),
          provider,
          orderedTables: TABLES,
        });
        for (const op of ops) {
          const a = await run(plain, op, clock, false);
          if (op.op === 'tick') clock.now -= op.by;
          const b = await run(enc, op, clock, false);
          expect(b, JSON.stringify(op.op)).toEqual(a);
        }
        expect(await snapshot(enc)).toEqual(await snapshot(plain));
      }),
      { numRuns: 150 },
    );
  });

  it('with hashed sort keys: the same rows, counts and outcomes (order aside)', async () => {
    // Without `after`, prefixes, partial pages or takes, row order does not change the outcome.
    const unorderedOp = opArb.filter(
      (op) =>
        !(op.op === 'list' && (op.after !== null || op.prefix !== null)) &&
        !((op.op === 'take' || op.op === 'count') && op.prefix !== null) &&
        op.op !== 'take',
    );
    await fc.assert(
      fc.asyncProperty(fc.array(unorderedOp, { maxLength: 40 }), async (ops) => {
        const clock = { now: 0 };
        const plain = createMemoryAdapter({ now: () => clock.now });
        const enc = createEncryptedAdapter(createMemoryAdapter({ now: () => clock.now }), {
          dataKey: new Uint8Array(32).fill(4),
          provider,
        });
        for (const op of ops) {
          const full = op.op === 'list' ? { ...op, limit: 10_000 } : op;
          const a = await run(plain, full, clock, true);
          if (op.op === 'tick') clock.now -= op.by;
          const b = await run(enc, full, clock, true);
          expect(b, JSON.stringify(op.op)).toEqual(a);
        }
        expect(await snapshot(enc)).toEqual(await snapshot(plain));
      }),
      { numRuns: 100 },
    );
  });
});
