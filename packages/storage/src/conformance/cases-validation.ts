/**
 * Cases about argument validation: every bad input rejects with `ValidationError`
 * (`ERR_VALIDATION`, naming the field) and changes nothing.
 *
 * @module
 */
import {
  MAX_KEY_BYTES,
  MAX_LIST_LIMIT,
  MAX_VALUE_BYTES,
  type StorageAdapter,
  type StorageTx,
} from '../adapter.js';
import { equal, rejects, row, show, sorts } from './_expect.js';
import { type Clock, defineCase, listAll, partition, putAll, read, T0, u8 } from './_harness.js';
import type { ConformanceCase } from './index.js';

const T = 'conf_validation';

/** A partition with three rows (one expiring) whose state every case re-checks. */
async function seed(db: StorageAdapter): Promise<Uint8Array> {
  const p = partition();
  await putAll(db, T, [
    { partition: p, sort: u8(1), value: u8(1) },
    { partition: p, sort: u8(2), value: u8(2) },
    { partition: p, sort: u8(3), value: u8(3), expiresAt: T0 + 10 },
  ]);
  return p;
}

async function unchanged(db: StorageAdapter, clock: Clock, p: Uint8Array, what: string): Promise<void> {
  const saved = clock.now();
  clock.set(T0);
  try {
    const rows = await listAll(db, T, p);
    sorts(rows, [u8(1), u8(2), u8(3)], `rows after ${what}`);
    for (const r of rows) {
      row(
        r,
        { partition: p, sort: r.sort, value: r.sort, expiresAt: r.sort[0] === 3 ? T0 + 10 : null },
        `row after ${what}`,
      );
    }
  } finally {
    clock.set(saved);
  }
}

/** Runs `op` in a transaction; it must reject with ERR_VALIDATION naming `field`. */
async function invalid(
  db: StorageAdapter,
  op: (tx: StorageTx) => Promise<unknown>,
  field: string,
  what: string,
): Promise<void> {
  await rejects(() => db.transaction(op), what, { code: 'ERR_VALIDATION', field });
}

const BAD_TABLES: readonly unknown[] = [
  '',
  'Conf_upper',
  '1conf',
  '_conf',
  'conf-dash',
  'conf.dot',
  'conf space',
  'conf_é',
  `c${'x'.repeat(48)}`,
  5,
  null,
  undefined,
];

const BAD_KEYS: readonly unknown[] = [
  'ab',
  [1, 2],
  new ArrayBuffer(2),
  new Uint16Array(2),
  new DataView(new ArrayBuffer(2)),
  null,
  7,
  { length: 0 },
  new Uint8Array(MAX_KEY_BYTES + 1),
];

const BAD_LIMITS: readonly unknown[] = [
  0,
  -1,
  1.5,
  MAX_LIST_LIMIT + 1,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '5',
  null,
];

const BAD_EXPIRY: readonly unknown[] = [
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 53,
  '1700000000000',
  new Date(T0),
  true,
];

export function validationCases(): ConformanceCase[] {
  return [
    defineCase(
      'validation: bad table names reject with ERR_VALIDATION (field table)',
      async ({ db, clock }) => {
        const p = await seed(db);
        // The longest valid name is accepted.
        const longest = `c${'x'.repeat(47)}`;
        await putAll(db, longest, [{ partition: p, sort: u8(1), value: u8(1) }]);
        equal(
          await db.transaction((tx) => tx.deletePartition(longest, p)),
          1,
          'deletePartition in a 48-character table',
        );
        for (const bad of BAD_TABLES) {
          const t = bad as string;
          const w = `table ${show(bad)}`;
          await invalid(db, (tx) => tx.get(t, p, u8(1)), 'table', `get, ${w}`);
          await invalid(
            db,
            (tx) => tx.put(t, { partition: p, sort: u8(1), value: u8(9) }),
            'table',
            `put, ${w}`,
          );
          await invalid(db, (tx) => tx.delete(t, p, u8(1)), 'table', `delete, ${w}`);
          await invalid(db, (tx) => tx.list(t, p), 'table', `list, ${w}`);
          await invalid(db, (tx) => tx.take(t, p), 'table', `take, ${w}`);
          await invalid(db, (tx) => tx.count(t, p), 'table', `count, ${w}`);
          await invalid(db, (tx) => tx.usage(t, p), 'table', `usage, ${w}`);
          await invalid(db, (tx) => tx.deletePartition(t, p), 'table', `deletePartition, ${w}`);
          clock.set(T0 + 100);
          await rejects(() => db.purgeExpired({ tables: [T, t] }), `purgeExpired, ${w}`, {
            code: 'ERR_VALIDATION',
            field: 'table',
          });
          await unchanged(db, clock, p, `operations on ${w}`);
          clock.set(T0);
        }
      },
    ),

    defineCase(
      'validation: bad keys reject with ERR_VALIDATION (field partition, sort, after or prefix)',
      async ({ db, clock }) => {
        const p = await seed(db);
        for (const bad of BAD_KEYS) {
          const k = bad as Uint8Array;
          const w = `key ${show(bad)}`;
          await invalid(db, (tx) => tx.get(T, k, u8(1)), 'partition', `get partition, ${w}`);
          await invalid(db, (tx) => tx.get(T, p, k), 'sort', `get sort, ${w}`);
          await invalid(
            db,
            (tx) => tx.put(T, { partition: k, sort: u8(1), value: u8(9) }),
            'partition',
            `put partition, ${w}`,
          );
          await invalid(
            db,
            (tx) => tx.put(T, { partition: p, sort: k, value: u8(9) }),
            'sort',
            `put sort, ${w}`,
          );
          await invalid(
            db,
            (tx) => tx.put(T, { partition: p, sort: k, value: u8(9) }, { ifAbsent: true }),
            'sort',
            `put ifAbsent sort, ${w}`,
          );
          await invalid(db, (tx) => tx.delete(T, k, u8(1)), 'partition', `delete partition, ${w}`);
          await invalid(db, (tx) => tx.delete(T, p, k), 'sort', `delete sort, ${w}`);
          await invalid(db, (tx) => tx.list(T, k), 'partition', `list partition, ${w}`);
          await invalid(db, (tx) => tx.list(T, p, { after: k }), 'after', `list after, ${w}`);
          await invalid(db, (tx) => tx.list(T, p, { prefix: k }), 'prefix', `list prefix, ${w}`);
          await invalid(db, (tx) => tx.take(T, k), 'partition', `take partition, ${w}`);
          await invalid(db, (tx) => tx.take(T, p, { prefix: k, limit: 3 }), 'prefix', `take prefix, ${w}`);
          await invalid(db, (tx) => tx.count(T, k), 'partition', `count partition, ${w}`);
          await invalid(db, (tx) => tx.count(T, p, { prefix: k }), 'prefix', `count prefix, ${w}`);
          await invalid(db, (tx) => tx.usage(T, k), 'partition', `usage partition, ${w}`);
          await invalid(db, (tx) => tx.deletePartition(T, k), 'partition', `deletePartition, ${w}`);
          await unchanged(db, clock, p, `operations with ${w}`);
        }
        await invalid(db, (tx) => tx.put(T, null as never), 'row', 'put of null');
        await invalid(db, (tx) => tx.put(T, 'row' as never), 'row', 'put of a string');
        await unchanged(db, clock, p, 'puts of non-objects');
      },
    ),

    defineCase('validation: bad values reject with ERR_VALIDATION (field value)', async ({ db, clock }) => {
      const p = await seed(db);
      const bads: unknown[] = [
        undefined,
        null,
        'v',
        [1],
        new ArrayBuffer(1),
        new Int8Array(1),
        new Uint8Array(MAX_VALUE_BYTES + 1),
      ];
      for (const bad of bads) {
        await invalid(
          db,
          (tx) => tx.put(T, { partition: p, sort: u8(1), value: bad as Uint8Array }),
          'value',
          `put of value ${show(bad)}`,
        );
        await invalid(
          db,
          (tx) => tx.put(T, { partition: p, sort: u8(4), value: bad as Uint8Array }, { ifAbsent: true }),
          'value',
          `put ifAbsent of value ${show(bad)}`,
        );
      }
      await unchanged(db, clock, p, 'puts of bad values');
      equal(await read(db, (tx) => tx.get(T, p, u8(4))), undefined, 'row of a rejected put');
    }),

    defineCase(
      'validation: bad limits reject with ERR_VALIDATION (field limit or batchSize)',
      async ({ db, clock }) => {
        const p = await seed(db);
        for (const bad of BAD_LIMITS) {
          const n = bad as number;
          await invalid(db, (tx) => tx.list(T, p, { limit: n }), 'limit', `list limit ${show(bad)}`);
          await invalid(db, (tx) => tx.take(T, p, { limit: n }), 'limit', `take limit ${show(bad)}`);
          clock.set(T0 + 100);
          await rejects(
            () => db.purgeExpired({ tables: [T], batchSize: n }),
            `purgeExpired batchSize ${show(bad)}`,
            {
              code: 'ERR_VALIDATION',
              field: 'batchSize',
            },
          );
          await unchanged(db, clock, p, `limit ${show(bad)}`);
          clock.set(T0);
        }
        sorts(
          await db.transaction((tx) => tx.take(T, p, { limit: MAX_LIST_LIMIT })),
          [u8(1), u8(2), u8(3)],
          `take limit ${MAX_LIST_LIMIT}`,
        );
      },
    ),

    defineCase(
      'validation: bad expiresAt rejects with ERR_VALIDATION (field expiresAt)',
      async ({ db, clock }) => {
        const p = await seed(db);
        for (const bad of BAD_EXPIRY) {
          const e = bad as number;
          await invalid(
            db,
            (tx) => tx.put(T, { partition: p, sort: u8(1), value: u8(9), expiresAt: e }),
            'expiresAt',
            `put expiresAt ${show(bad)}`,
          );
          await invalid(
            db,
            (tx) => tx.put(T, { partition: p, sort: u8(5), value: u8(9), expiresAt: e }),
            'expiresAt',
            `put new row expiresAt ${show(bad)}`,
          );
          clock.set(T0 + 100);
          await rejects(() => db.purgeExpired({ tables: [T], now: e }), `purgeExpired now ${show(bad)}`, {
            code: 'ERR_VALIDATION',
          });
          await unchanged(db, clock, p, `expiresAt ${show(bad)}`);
          clock.set(T0);
        }
        equal(await read(db, (tx) => tx.get(T, p, u8(5))), undefined, 'row of a rejected put');
        // The extremes of the valid range are accepted.
        await putAll(db, T, [
          { partition: p, sort: u8(6), value: u8(6), expiresAt: 0 },
          { partition: p, sort: u8(7), value: u8(7), expiresAt: Number.MAX_SAFE_INTEGER },
        ]);
        await read(db, async (tx) => {
          equal(await tx.get(T, p, u8(6)), undefined, 'row with expiresAt 0');
          row(
            await tx.get(T, p, u8(7)),
            { partition: p, sort: u8(7), value: u8(7), expiresAt: Number.MAX_SAFE_INTEGER },
            'row with expiresAt MAX_SAFE_INTEGER',
          );
        });
      },
    ),

    defineCase('validation: a rejected call inside a transaction changes nothing', async ({ db, clock }) => {
      const p = await seed(db);
      await db.transaction(async (tx) => {
        await rejects(
          () => tx.put(T, { partition: p, sort: u8(1), value: u8(9), expiresAt: -5 }),
          'put with bad expiresAt',
          {
            code: 'ERR_VALIDATION',
            field: 'expiresAt',
          },
        );
        await rejects(() => tx.take(T, p, { limit: 0 }), 'take with limit 0', {
          code: 'ERR_VALIDATION',
          field: 'limit',
        });
        await rejects(() => tx.deletePartition('Bad', p), 'deletePartition with a bad table', {
          code: 'ERR_VALIDATION',
          field: 'table',
        });
        sorts(
          await tx.list(T, p),
          [u8(1), u8(2), u8(3)],
          'rows seen in the transaction after the rejected calls',
        );
      });
      await unchanged(db, clock, p, 'rejected calls caught inside a transaction');
    }),
  ];
}
