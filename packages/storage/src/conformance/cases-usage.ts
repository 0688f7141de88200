/**
 * Cases about `usage`: the live rows of a partition and the summed lengths of their values, as
 * `count` judges liveness (at `tx.now`), with the transaction's own writes.
 *
 * A wrapper that stores values in another form (the encryption wrapper seals them) reports the
 * lengths it stores, so it does not pass the exact sums here; it checks its own sums instead.
 *
 * @module
 */
import type { PartitionUsage, StorageTx } from '../adapter.js';
import { equal } from './_expect.js';
import { defineCase, partition, pattern, putAll, read, T0, u8 } from './_harness.js';
import type { ConformanceCase } from './index.js';

const T = 'conf_usage';
const T2 = 'conf_usage_other';

/** Value lengths around byte and page boundaries, one row each. */
const LENGTHS: readonly number[] = [0, 1, 2, 255, 256, 4096, 65_536];
const SUM = LENGTHS.reduce((n, x) => n + x, 0);

/** Fails unless `tx.usage(table, p)` is `{ rows, bytes }`. */
async function usage(
  tx: StorageTx,
  table: string,
  p: Uint8Array,
  expected: PartitionUsage,
  what: string,
): Promise<void> {
  const got = await tx.usage(table, p);
  equal(got.rows, expected.rows, `${what}: rows`);
  equal(got.bytes, expected.bytes, `${what}: bytes`);
}

export function usageCases(): ConformanceCase[] {
  return [
    defineCase('usage: live rows and the summed lengths of their values', async ({ db }) => {
      const p = partition();
      const q = partition();
      await read(db, async (tx) => {
        await usage(tx, T, p, { rows: 0, bytes: 0 }, 'unknown table');
      });
      await putAll(db, T, [
        ...LENGTHS.map((n, i) => ({ partition: p, sort: u8(i), value: pattern(n, i + 1) })),
        { partition: q, sort: u8(0), value: pattern(1000) },
      ]);
      await putAll(db, T2, [{ partition: p, sort: u8(0), value: pattern(3000) }]);
      await read(db, async (tx) => {
        await usage(tx, T, p, { rows: LENGTHS.length, bytes: SUM }, `rows of lengths ${LENGTHS.join(', ')}`);
        await usage(tx, T, partition(), { rows: 0, bytes: 0 }, 'empty partition of a table with rows');
        await usage(tx, T, q, { rows: 1, bytes: 1000 }, 'another partition');
        await usage(tx, T2, p, { rows: 1, bytes: 3000 }, 'the same partition in another table');
      });
      // A replaced value counts once, at its new length; a view is stored as its own bytes.
      const view = pattern(1000).subarray(100, 130);
      await putAll(db, T, [{ partition: p, sort: u8(1), value: view }]);
      await read(db, async (tx) => {
        await usage(
          tx,
          T,
          p,
          { rows: LENGTHS.length, bytes: SUM - 1 + 30 },
          'after replacing 1 byte by a 30-byte view',
        );
      });
      let expected = SUM - 1 + 30;
      await db.transaction(async (tx) => {
        await tx.put(T, { partition: p, sort: u8(0x80), value: pattern(500) });
        expected += 500;
        await usage(
          tx,
          T,
          p,
          { rows: LENGTHS.length + 1, bytes: expected },
          'after a put in the same transaction',
        );
        await tx.delete(T, p, u8(5));
        expected -= 4096;
        await usage(
          tx,
          T,
          p,
          { rows: LENGTHS.length, bytes: expected },
          'after a delete in the same transaction',
        );
        await tx.take(T, p, { limit: 1 });
        await usage(tx, T, p, { rows: LENGTHS.length - 1, bytes: expected }, 'after taking the empty value');
      });
      await read(db, async (tx) => {
        await usage(tx, T, p, { rows: LENGTHS.length - 1, bytes: expected }, 'after the commit');
      });
      await db.transaction(async (tx) => {
        await tx.delete(T, p, u8(6));
        await tx.delete(T, p, u8(0x80));
      });
      expected -= 65_536 + 500;
      await read(db, async (tx) => {
        await usage(tx, T, p, { rows: LENGTHS.length - 3, bytes: expected }, 'after two deletes');
      });
      await db.transaction(async (tx) => {
        await tx.deletePartition(T, p);
        await usage(tx, T, p, { rows: 0, bytes: 0 }, 'after deletePartition in the same transaction');
      });
      await read(db, async (tx) => {
        await usage(tx, T, p, { rows: 0, bytes: 0 }, 'after deletePartition');
        await usage(tx, T, q, { rows: 1, bytes: 1000 }, 'another partition after deletePartition');
        await usage(
          tx,
          T2,
          p,
          { rows: 1, bytes: 3000 },
          'the same partition in another table after deletePartition',
        );
      });
    }),

    defineCase('usage: expired rows are not counted, judged at tx.now', async ({ db, clock }) => {
      const p = partition();
      await putAll(db, T, [
        { partition: p, sort: u8(1), value: pattern(10) },
        { partition: p, sort: u8(2), value: pattern(20), expiresAt: T0 - 1 },
        { partition: p, sort: u8(3), value: pattern(30), expiresAt: T0 + 10 },
        { partition: p, sort: u8(4), value: pattern(40), expiresAt: T0 + 11 },
      ]);
      await read(db, async (tx) => {
        await usage(tx, T, p, { rows: 3, bytes: 80 }, 'one row written already expired');
      });
      clock.set(T0 + 10);
      await read(db, async (tx) => {
        await usage(tx, T, p, { rows: 2, bytes: 50 }, 'a row expiring at now');
        clock.set(T0 + 20);
        await usage(tx, T, p, { rows: 2, bytes: 50 }, 'the clock moved during the transaction');
      });
      await read(db, async (tx) => {
        await usage(tx, T, p, { rows: 1, bytes: 10 }, 'a later transaction');
      });
      await db.transaction(async (tx) => {
        await tx.put(T, { partition: p, sort: u8(2), value: pattern(7) });
        await usage(tx, T, p, { rows: 2, bytes: 17 }, 'an expired row replaced in the same transaction');
      });
      await db.purgeExpired();
      await read(db, async (tx) => {
        await usage(tx, T, p, { rows: 2, bytes: 17 }, 'after the purge');
      });
    }),

    defineCase('usage: a thousand rows and a 1 MiB value', async ({ db }) => {
      const p = partition();
      await db.transaction(async (tx) => {
        await tx.putMany(
          T,
          Array.from({ length: 1000 }, (_, i) => ({
            partition: p,
            sort: u8(i >> 8, i & 0xff),
            value: new Uint8Array(i),
          })),
        );
      });
      // Zeros compress well: the length stored is the value's, not what a disk page holds.
      await putAll(db, T, [{ partition: p, sort: u8(0xff), value: new Uint8Array(1024 * 1024) }]);
      await read(db, async (tx) => {
        await usage(
          tx,
          T,
          p,
          { rows: 1001, bytes: 499_500 + 1024 * 1024 },
          '1000 rows of 0..999 bytes and 1 MiB',
        );
      });
    }),
  ];
}
