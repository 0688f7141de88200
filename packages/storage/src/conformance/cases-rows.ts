/**
 * Cases about single rows: round trips of binary keys and values, replacing, `ifAbsent`,
 * `delete`, key isolation and copying.
 *
 * @module
 */
import { MAX_KEY_BYTES } from '../adapter.js';
import { bytes, check, equal, row } from './_expect.js';
import { concat, defineCase, listAll, partition, pattern, putAll, read, T0, u8 } from './_harness.js';
import type { ConformanceCase } from './index.js';

const T = 'conf_rows';
const T2 = 'conf_rows_other';

export function rowCases(): ConformanceCase[] {
  return [
    defineCase('rows: binary keys round trip', async ({ db }) => {
      const p = partition();
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      const keys: [Uint8Array, Uint8Array][] = [
        [new Uint8Array(0), partition()],
        [p, new Uint8Array(0)],
        [new Uint8Array(0), new Uint8Array(0)],
        [p, u8(0x00)],
        [p, u8(0x00, 0x00)],
        [p, u8(0xff)],
        [p, u8(0xff, 0xff)],
        [p, u8(0x00, 0xff, 0x00)],
        [p, all],
        [p, new Uint8Array(MAX_KEY_BYTES).fill(0xff)],
        [p, new Uint8Array(MAX_KEY_BYTES)],
        [concat(u8(0x00), partition()), u8(0x00)],
        [concat(partition(), u8(0xff)), u8(0xff)],
        [concat(partition(), new Uint8Array(MAX_KEY_BYTES - 16)), pattern(MAX_KEY_BYTES, 7)],
        [concat(u8(0x00), partition(), new Uint8Array(MAX_KEY_BYTES - 17).fill(0xff)), u8(0x00)],
      ];
      const rows = keys.map(([partition, sort], i) => ({ partition, sort, value: u8(i, 0x00, 0xff) }));
      await putAll(db, T, rows);
      await read(db, async (tx) => {
        for (const [i, r] of rows.entries()) row(await tx.get(T, r.partition, r.sort), r, `get of key ${i}`);
      });
      const inP = rows.filter((r) => r.partition === p);
      equal(
        await read(db, (tx) => tx.count(T, p)),
        inP.length,
        'count of a partition holding the keys [], 00, 0000, ff, ffff, ... (each a distinct row)',
      );
      equal((await listAll(db, T, p)).length, inP.length, 'list length of that partition');
      await db.transaction(async (tx) => {
        for (const [i, r] of rows.entries())
          equal(await tx.delete(T, r.partition, r.sort), true, `delete of key ${i}`);
      });
      await db.transaction(async (tx) => {
        for (const [i, r] of rows.entries()) {
          equal(await tx.get(T, r.partition, r.sort), undefined, `get of key ${i} after delete`);
          equal(await tx.delete(T, r.partition, r.sort), false, `second delete of key ${i}`);
        }
      });
    }),

    defineCase('rows: values round trip (empty to 1 MiB)', async ({ db }) => {
      const p = partition();
      const values = [
        new Uint8Array(0),
        u8(0x00),
        u8(0xff),
        Uint8Array.from({ length: 256 }, (_, i) => i),
        new Uint8Array(1024 * 1024),
        pattern(1024 * 1024, 3),
      ];
      const rows = values.map((value, i) => ({ partition: p, sort: u8(i), value }));
      for (const r of rows) await putAll(db, T, [r]);
      await read(db, async (tx) => {
        for (const [i, r] of rows.entries()) row(await tx.get(T, p, r.sort), r, `get of value ${i}`);
      });
      const listed = await listAll(db, T, p);
      equal(listed.length, rows.length, 'rows listed');
      for (const [i, r] of rows.entries()) row(listed[i], r, `listed value ${i}`);
      const taken = await db.transaction((tx) => tx.take(T, p, { limit: 10 }));
      equal(taken.length, rows.length, 'rows taken');
      for (const [i, r] of rows.entries()) row(taken[i], r, `taken value ${i}`);
    }),

    defineCase('rows: put replaces the row and its expiry', async ({ db }) => {
      const p = partition();
      const k = u8(1);
      await putAll(db, T, [{ partition: p, sort: k, value: u8(1), expiresAt: T0 + 1000 }]);
      await db.transaction(async (tx) => {
        equal(await tx.put(T, { partition: p, sort: k, value: u8(2, 2) }), true, 'put over a live row');
        row(await tx.get(T, p, k), { partition: p, sort: k, value: u8(2, 2) }, 'get in the same transaction');
      });
      row(
        await read(db, (tx) => tx.get(T, p, k)),
        { partition: p, sort: k, value: u8(2, 2) },
        'get after replace',
      );
      await putAll(db, T, [{ partition: p, sort: k, value: u8(3), expiresAt: T0 + 5 }]);
      row(
        await read(db, (tx) => tx.get(T, p, k)),
        { partition: p, sort: k, value: u8(3), expiresAt: T0 + 5 },
        'get after replacing with an expiring row',
      );
      await putAll(db, T, [{ partition: p, sort: k, value: u8(4), expiresAt: null }]);
      row(await read(db, (tx) => tx.get(T, p, k)), { partition: p, sort: k, value: u8(4) }, 'expiresAt null');
      equal(await read(db, (tx) => tx.count(T, p)), 1, 'rows after three puts of one key');
    }),

    defineCase('rows: put ifAbsent', async ({ db, clock }) => {
      const p = partition();
      const live = u8(1);
      const expiring = u8(2);
      const absent = u8(3);
      await putAll(db, T, [
        { partition: p, sort: live, value: u8(1) },
        { partition: p, sort: expiring, value: u8(2), expiresAt: T0 + 100 },
      ]);
      await db.transaction(async (tx) => {
        equal(
          await tx.put(T, { partition: p, sort: live, value: u8(9) }, { ifAbsent: true }),
          false,
          'ifAbsent over a live row',
        );
        equal(
          await tx.put(T, { partition: p, sort: expiring, value: u8(9) }, { ifAbsent: true }),
          false,
          'ifAbsent over a row that expires later',
        );
        equal(
          await tx.put(T, { partition: p, sort: absent, value: u8(3) }, { ifAbsent: true }),
          true,
          'ifAbsent, no row',
        );
        equal(
          await tx.put(T, { partition: p, sort: absent, value: u8(9) }, { ifAbsent: true }),
          false,
          'ifAbsent over a row written earlier in the same transaction',
        );
      });
      await read(db, async (tx) => {
        row(
          await tx.get(T, p, live),
          { partition: p, sort: live, value: u8(1) },
          'live row after refused ifAbsent',
        );
        row(
          await tx.get(T, p, absent),
          { partition: p, sort: absent, value: u8(3) },
          'row written by ifAbsent',
        );
      });
      clock.set(T0 + 100);
      await db.transaction(async (tx) => {
        equal(
          await tx.put(
            T,
            { partition: p, sort: expiring, value: u8(7), expiresAt: T0 + 500 },
            { ifAbsent: true },
          ),
          true,
          'ifAbsent over an expired row',
        );
      });
      row(
        await read(db, (tx) => tx.get(T, p, expiring)),
        { partition: p, sort: expiring, value: u8(7), expiresAt: T0 + 500 },
        'row that replaced the expired one',
      );
    }),

    defineCase('rows: delete resolves true only for a live row', async ({ db, clock }) => {
      const p = partition();
      await putAll(db, T, [
        { partition: p, sort: u8(1), value: u8(1) },
        { partition: p, sort: u8(2), value: u8(2), expiresAt: T0 + 10 },
      ]);
      clock.set(T0 + 10);
      await db.transaction(async (tx) => {
        equal(await tx.delete(T, p, u8(1)), true, 'delete of a live row');
        equal(await tx.delete(T, p, u8(1)), false, 'delete of a row deleted earlier in the transaction');
        equal(await tx.delete(T, p, u8(2)), false, 'delete of an expired row');
        equal(await tx.delete(T, p, u8(3)), false, 'delete of an absent row');
        equal(await tx.delete(T, partition(), u8(1)), false, 'delete in an unknown partition');
      });
      clock.set(T0);
      equal(await read(db, (tx) => tx.get(T, p, u8(1))), undefined, 'deleted row');
    }),

    defineCase('rows: tables, partitions and sort keys do not mix', async ({ db }) => {
      const r = partition();
      // The same concatenated bytes split differently between partition and sort key.
      const a = { partition: concat(r, u8(1)), sort: u8(2, 3), value: u8(0xa) };
      const b = { partition: concat(r, u8(1, 2)), sort: u8(3), value: u8(0xb) };
      const c = { partition: concat(r, u8(1, 2, 3)), sort: new Uint8Array(0), value: u8(0xc) };
      const d = { partition: r, sort: u8(1, 2, 3), value: u8(0xd) };
      await putAll(db, T, [a, b, c, d]);
      const other = { partition: a.partition, sort: a.sort, value: u8(0xe) };
      await putAll(db, T2, [other]);
      await read(db, async (tx) => {
        row(await tx.get(T, a.partition, a.sort), a, 'row a');
        row(await tx.get(T, b.partition, b.sort), b, 'row b');
        row(await tx.get(T, c.partition, c.sort), c, 'row c');
        row(await tx.get(T, d.partition, d.sort), d, 'row d');
        row(await tx.get(T2, a.partition, a.sort), other, 'same key in another table');
        equal(await tx.get(T, a.partition, u8(2)), undefined, 'get of a prefix of a sort key');
        for (const x of [a, b, c, d]) equal(await tx.count(T, x.partition), 1, 'rows per partition');
        equal(await tx.count(T2, b.partition), 0, 'rows of partition b in the other table');
      });
      await db.transaction(async (tx) => {
        equal(await tx.deletePartition(T2, a.partition), 1, 'deletePartition in the other table');
      });
      row(
        await read(db, (tx) => tx.get(T, a.partition, a.sort)),
        a,
        'row a after deleting its twin in the other table',
      );
    }),

    defineCase('copies: returned rows are copies', async ({ db }) => {
      const p = partition();
      const k = u8(5, 5);
      await putAll(db, T, [{ partition: p, sort: k, value: u8(1, 2, 3) }]);
      const expected = { partition: p.slice(), sort: k.slice(), value: u8(1, 2, 3) };
      const got = await read(db, (tx) => tx.get(T, p, k));
      check(got !== undefined, 'get of a written row resolved undefined');
      got.value[0] = 0x99;
      got.sort[0] = 0x99;
      got.partition[0] = (got.partition[0] as number) ^ 0xff;
      row(await read(db, (tx) => tx.get(T, p, k)), expected, 'row after mutating the bytes get returned');
      const listed = await listAll(db, T, p);
      (listed[0] as { value: Uint8Array }).value.fill(0);
      row(await read(db, (tx) => tx.get(T, p, k)), expected, 'row after mutating the bytes list returned');
      await db.transaction(async (tx) => {
        const inTx = await tx.get(T, p, k);
        check(inTx !== undefined, 'get in a transaction resolved undefined');
        inTx.value.fill(7);
        row(await tx.get(T, p, k), expected, 'second get in the same transaction after mutating the first');
      });
    }),

    defineCase('copies: put copies its input', async ({ db }) => {
      const p = partition();
      const pk = p.slice();
      const sort = u8(1, 1);
      const value = u8(4, 5, 6);
      await db.transaction(async (tx) => {
        await tx.put(T, { partition: pk, sort, value });
        value[0] = 0x99;
        row(
          await tx.get(T, p, u8(1, 1)),
          { partition: p, sort: u8(1, 1), value: u8(4, 5, 6) },
          'get in the same transaction after mutating the input value',
        );
        sort[0] = 0x42;
        pk[0] = (pk[0] as number) ^ 0xff;
      });
      value.fill(0);
      const got = await read(db, (tx) => tx.get(T, p, u8(1, 1)));
      row(got, { partition: p, sort: u8(1, 1), value: u8(4, 5, 6) }, 'row after mutating the inputs of put');
      equal(await read(db, (tx) => tx.count(T, p)), 1, 'rows in the partition');
      const buffer = new Uint8Array(16).fill(0x33);
      const view = buffer.subarray(4, 8);
      await putAll(db, T, [{ partition: p, sort: buffer.subarray(0, 2), value: view }]);
      const viewRow = await read(db, (tx) => tx.get(T, p, u8(0x33, 0x33)));
      check(viewRow !== undefined, 'row written from subarray views is missing');
      bytes(viewRow.value, u8(0x33, 0x33, 0x33, 0x33), 'value written from a subarray view');
    }),
  ];
}
