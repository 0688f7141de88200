/**
 * Cases about reading ranges: `list` (order, `after`, `prefix`, `reverse`, `limit`, paging),
 * `take`, `count` and `deletePartition`.
 *
 * @module
 */
import { MAX_LIST_LIMIT, type Row } from '../adapter.js';
import {
  bytes,
  check,
  compareUnsigned,
  equal,
  rejectsWithSame,
  row,
  sameBytes,
  show,
  sorts,
} from './_expect.js';
import { be32, concat, defineCase, listAll, partition, putAll, read, T0, u8 } from './_harness.js';
import type { ConformanceCase } from './index.js';

const T = 'conf_list';
const T2 = 'conf_list_other';

/** Sort keys whose unsigned order differs from signed, length-first and string orders. */
const ORDERED: readonly Uint8Array[] = [
  u8(),
  u8(0x00),
  u8(0x00, 0x00),
  u8(0x00, 0xff),
  u8(0x01),
  u8(0x41),
  u8(0x41, 0x00),
  u8(0x41, 0x42),
  u8(0x42),
  u8(0x7f),
  u8(0x7f, 0x00),
  u8(0x7f, 0xff),
  u8(0x80),
  u8(0x80, 0x00),
  u8(0xc3, 0xa9),
  u8(0xfe),
  u8(0xfe, 0xff),
  u8(0xff),
  u8(0xff, 0x00),
  u8(0xff, 0xff),
  u8(0xff, 0xff, 0xff),
];

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function orderedPartition(db: Parameters<typeof putAll>[0]): Promise<Uint8Array> {
  const p = partition();
  await putAll(
    db,
    T,
    shuffled(ORDERED, 7).map((sort) => ({ partition: p, sort, value: concat(u8(0xaa), sort) })),
  );
  return p;
}

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  return b.length >= prefix.length && sameBytes(b.subarray(0, prefix.length), prefix);
}

function expectedList(
  keys: readonly Uint8Array[],
  o: { after?: Uint8Array; prefix?: Uint8Array; reverse?: boolean; limit?: number },
): Uint8Array[] {
  let out = keys.filter((k) => o.prefix === undefined || startsWith(k, o.prefix));
  out.sort(compareUnsigned);
  if (o.reverse === true) out.reverse();
  const after = o.after;
  if (after !== undefined) {
    out = out.filter((k) =>
      o.reverse === true ? compareUnsigned(k, after) < 0 : compareUnsigned(k, after) > 0,
    );
  }
  return out.slice(0, o.limit ?? 100);
}

function describeOptions(o: {
  after?: Uint8Array;
  prefix?: Uint8Array;
  reverse?: boolean;
  limit?: number;
}): string {
  const parts: string[] = [];
  if (o.after !== undefined) parts.push(`after ${show(o.after)}`);
  if (o.prefix !== undefined) parts.push(`prefix ${show(o.prefix)}`);
  if (o.reverse === true) parts.push('reverse');
  if (o.limit !== undefined) parts.push(`limit ${o.limit}`);
  return parts.length === 0 ? 'no options' : parts.join(', ');
}

export function listCases(): ConformanceCase[] {
  return [
    defineCase('list: sort keys in unsigned byte order, shorter prefix first', async ({ db }) => {
      for (let i = 1; i < ORDERED.length; i++) {
        check(
          compareUnsigned(ORDERED[i - 1] as Uint8Array, ORDERED[i] as Uint8Array) < 0,
          'fixture out of order',
        );
      }
      const p = await orderedPartition(db);
      const forward = await read(db, (tx) => tx.list(T, p));
      sorts(forward, ORDERED, 'list');
      for (const r of forward) {
        bytes(r.partition, p, 'partition of a listed row');
        bytes(r.value, concat(u8(0xaa), r.sort), 'value of a listed row');
        equal(r.expiresAt, null, 'expiresAt of a listed row');
      }
      sorts(
        await read(db, (tx) => tx.list(T, p, { reverse: true })),
        ORDERED.slice().reverse(),
        'list reverse',
      );
    }),

    defineCase('list: after', async ({ db }) => {
      const p = await orderedPartition(db);
      const probes = [...ORDERED, u8(0x00, 0x00, 0x00), u8(0x7f, 0x80), u8(0x43), u8(0xff, 0xff, 0xff, 0xff)];
      await read(db, async (tx) => {
        for (const after of probes) {
          for (const reverse of [false, true]) {
            const o = { after, reverse };
            sorts(await tx.list(T, p, o), expectedList(ORDERED, o), `list ${describeOptions(o)}`);
          }
        }
      });
    }),

    defineCase('list: prefix (with after, reverse and limit)', async ({ db }) => {
      const p = await orderedPartition(db);
      const prefixes = [
        u8(),
        u8(0x00),
        u8(0x41),
        u8(0x7f),
        u8(0x80),
        u8(0xfe),
        u8(0xff),
        u8(0xff, 0xff),
        u8(0x43),
        u8(0x7f, 0x00),
      ];
      await read(db, async (tx) => {
        for (const prefix of prefixes) {
          const options = [
            { prefix },
            { prefix, reverse: true },
            { prefix, limit: 1 },
            { prefix, limit: 1, reverse: true },
            { prefix, after: prefix },
            { prefix, after: concat(prefix, u8(0x00)), reverse: true },
            { prefix, after: concat(prefix, u8(0x00)) },
            { prefix, after: u8(0x7f) },
            { prefix, after: u8(0x7f), reverse: true },
          ];
          for (const o of options)
            sorts(await tx.list(T, p, o), expectedList(ORDERED, o), `list ${describeOptions(o)}`);
        }
      });
    }),

    defineCase('list: limit and the default limit of 100', async ({ db }) => {
      const p = partition();
      const keys = Array.from({ length: 150 }, (_, i) => be32(i * 7919));
      await putAll(
        db,
        T,
        shuffled(keys, 3).map((sort) => ({ partition: p, sort, value: u8() })),
      );
      await read(db, async (tx) => {
        sorts(await tx.list(T, p), expectedList(keys, {}), 'list without a limit (default 100)');
        sorts(
          await tx.list(T, p, { reverse: true }),
          expectedList(keys, { reverse: true }),
          'list reverse without a limit',
        );
        for (const limit of [1, 2, 99, 100, 101, 149, 150, 151, MAX_LIST_LIMIT]) {
          sorts(await tx.list(T, p, { limit }), expectedList(keys, { limit }), `list limit ${limit}`);
        }
      });
    }),

    defineCase('list: paging through 250 rows in pages of 100', async ({ db }) => {
      const p = partition();
      // Keys of mixed lengths so that "next page" depends on byte order, not on length.
      const keys = Array.from({ length: 250 }, (_, i) =>
        i % 3 === 0 ? u8(i & 0xff, i >> 8) : u8(i & 0xff, i >> 8, 0x00),
      );
      await putAll(
        db,
        T,
        keys.map((sort, i) => ({ partition: p, sort, value: be32(i) })),
      );
      const all = keys.slice().sort(compareUnsigned);
      for (const reverse of [false, true]) {
        const want = reverse ? all.slice().reverse() : all;
        const seen: Row[] = [];
        const sizes: number[] = [];
        let after: Uint8Array | undefined;
        for (let page = 0; page < 10; page++) {
          const o = after === undefined ? { limit: 100, reverse } : { limit: 100, reverse, after };
          const rows = await read(db, (tx) => tx.list(T, p, o));
          sizes.push(rows.length);
          if (rows.length === 0) break;
          seen.push(...rows);
          after = (rows[rows.length - 1] as Row).sort;
        }
        equal(sizes.join(','), '100,100,50,0', `page sizes${reverse ? ' (reverse)' : ''}`);
        sorts(seen, want, `rows of all pages${reverse ? ' (reverse)' : ''}`);
      }
    }),

    defineCase('list: unknown partitions and tables are empty', async ({ db }) => {
      const p = partition();
      await putAll(db, T, [{ partition: p, sort: u8(1), value: u8(1) }]);
      await db.transaction(async (tx) => {
        for (const [table, part] of [
          [T, partition()],
          [T, p.subarray(0, 15)],
          [T, concat(p, u8(0))],
          ['conf_never_written', p],
        ] as const) {
          const where = table === T ? 'unknown partition' : 'unknown table';
          sorts(await tx.list(table, part), [], `list of an ${where}`);
          equal(await tx.count(table, part), 0, `count of an ${where}`);
          equal(await tx.get(table, part, u8(1)), undefined, `get in an ${where}`);
          sorts(await tx.take(table, part, { limit: 5 }), [], `take from an ${where}`);
          equal(await tx.delete(table, part, u8(1)), false, `delete in an ${where}`);
          equal(await tx.deletePartition(table, part), 0, `deletePartition of an ${where}`);
        }
      });
      row(
        await read(db, (tx) => tx.get(T, p, u8(1))),
        { partition: p, sort: u8(1), value: u8(1) },
        'the one written row',
      );
    }),

    defineCase('take: order, limit and prefix; taken rows are gone', async ({ db }) => {
      const p = partition();
      const keys = [
        u8(0x01),
        u8(0x01, 0x00),
        u8(0x02),
        u8(0x7f),
        u8(0x80),
        u8(0x80, 0x01),
        u8(0xff),
        u8(0xff, 0xff),
      ];
      await putAll(
        db,
        T,
        shuffled(keys, 11).map((sort) => ({
          partition: p,
          sort,
          value: concat(u8(0xbb), sort),
          expiresAt: T0 + 1_000_000,
        })),
      );
      await putAll(db, T2, [{ partition: p, sort: u8(0x01), value: u8(0xcc) }]);
      const first = await db.transaction((tx) => tx.take(T, p));
      sorts(first, [u8(0x01)], 'take with the default limit (1)');
      row(
        first[0],
        { partition: p, sort: u8(0x01), value: u8(0xbb, 0x01), expiresAt: T0 + 1_000_000 },
        'taken row',
      );
      sorts(
        await db.transaction((tx) => tx.take(T, p, { limit: 2 })),
        [u8(0x01, 0x00), u8(0x02)],
        'take limit 2',
      );
      sorts(
        await db.transaction((tx) => tx.take(T, p, { prefix: u8(0x80), limit: 5 })),
        [u8(0x80), u8(0x80, 0x01)],
        'take prefix 80',
      );
      sorts(
        await db.transaction((tx) => tx.take(T, p, { prefix: u8(0xff, 0xff), limit: 5 })),
        [u8(0xff, 0xff)],
        'take prefix ffff',
      );
      sorts(
        await db.transaction((tx) => tx.take(T, p, { prefix: u8(0x03), limit: 5 })),
        [],
        'take of an absent prefix',
      );
      await read(db, async (tx) => {
        sorts(await tx.list(T, p), [u8(0x7f), u8(0xff)], 'rows left after the takes');
        equal(await tx.count(T, p), 2, 'count after the takes');
        for (const k of [u8(0x01), u8(0x02), u8(0x80)])
          equal(await tx.get(T, p, k), undefined, `get of taken ${show(k)}`);
        row(
          await tx.get(T2, p, u8(0x01)),
          { partition: p, sort: u8(0x01), value: u8(0xcc) },
          'same key in another table',
        );
      });
      await db.transaction(async (tx) => {
        sorts(await tx.take(T, p, { limit: 10 }), [u8(0x7f), u8(0xff)], 'take of the rest');
        sorts(await tx.take(T, p, { limit: 10 }), [], 'take in the same transaction after taking everything');
        equal(await tx.count(T, p), 0, 'count in the same transaction after taking everything');
      });
      sorts(await listAll(db, T, p), [], 'list after taking everything');
    }),

    defineCase('take: a rolled back take leaves the rows', async ({ db }) => {
      const p = partition();
      const keys = [u8(1), u8(2), u8(3)];
      await putAll(
        db,
        T,
        keys.map((sort) => ({ partition: p, sort, value: sort })),
      );
      const boom = new Error('conformance: deliberate rollback');
      let taken: Row[] = [];
      await rejectsWithSame(
        db.transaction(async (tx) => {
          taken = await tx.take(T, p, { limit: 2 });
          throw boom;
        }),
        boom,
        'transaction that takes, then throws',
      );
      sorts(taken, [u8(1), u8(2)], 'rows taken before the rollback');
      sorts(await listAll(db, T, p), keys, 'rows after the rolled back take');
    }),

    defineCase('count: live rows, with prefix', async ({ db, clock }) => {
      const p = partition();
      await putAll(db, T, [
        ...ORDERED.map((sort) => ({ partition: p, sort, value: u8() })),
        { partition: p, sort: u8(0x7f, 0x01), value: u8(), expiresAt: T0 + 10 },
      ]);
      clock.set(T0 + 10);
      await read(db, async (tx) => {
        equal(await tx.count(T, p), ORDERED.length, 'count (one row expired)');
        for (const prefix of [u8(), u8(0x00), u8(0x7f), u8(0xff), u8(0xff, 0xff), u8(0x43)]) {
          equal(
            await tx.count(T, p, { prefix }),
            expectedList(ORDERED, { prefix, limit: 1000 }).length,
            `count prefix ${show(prefix)}`,
          );
        }
        equal(await tx.count(T2, p), 0, 'count of the same partition in another table');
      });
      await db.transaction(async (tx) => {
        await tx.put(T, { partition: p, sort: u8(0x7f, 0x02), value: u8() });
        equal(await tx.count(T, p, { prefix: u8(0x7f) }), 4, 'count after a put in the same transaction');
        await tx.delete(T, p, u8(0x7f));
        equal(await tx.count(T, p, { prefix: u8(0x7f) }), 3, 'count after a delete in the same transaction');
      });
    }),

    defineCase('deletePartition: deletes every row, expired included', async ({ db, clock }) => {
      const p = partition();
      const q = partition();
      const rows = [
        ...Array.from({ length: 5 }, (_, i) => ({ partition: p, sort: u8(i), value: u8(i) })),
        ...Array.from({ length: 3 }, (_, i) => ({
          partition: p,
          sort: u8(0x80, i),
          value: u8(i),
          expiresAt: T0 + 10,
        })),
      ];
      await putAll(db, T, [...rows, { partition: q, sort: u8(1), value: u8(1) }]);
      await putAll(db, T2, [{ partition: p, sort: u8(1), value: u8(2) }]);
      clock.set(T0 + 20);
      equal(
        await db.transaction((tx) => tx.deletePartition(T, p)),
        8,
        'deletePartition of 5 live and 3 expired rows',
      );
      clock.set(T0);
      await read(db, async (tx) => {
        sorts(await tx.list(T, p), [], 'partition after deletePartition (seen before the expiry)');
        equal(await tx.count(T, q), 1, 'rows of another partition');
        equal(await tx.count(T2, p), 1, 'rows of the same partition in another table');
      });
      equal(await db.transaction((tx) => tx.deletePartition(T, p)), 0, 'second deletePartition');
      await db.transaction(async (tx) => {
        await tx.put(T, { partition: p, sort: u8(9), value: u8(9) });
        equal(await tx.deletePartition(T, p), 1, 'deletePartition of a row written in the same transaction');
        equal(await tx.get(T, p, u8(9)), undefined, 'get after deletePartition in the same transaction');
      });
    }),
  ];
}
