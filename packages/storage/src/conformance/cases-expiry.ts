/**
 * Cases about expiry: rows at or past their `expiresAt` vanish from every read at once,
 * `tx.now`, and `purgeExpired` (batches, progress, `now`, `tables`, abort and resume,
 * concurrent purges).
 *
 * @module
 */
import type { PurgeProgress, StorageAdapter } from '../adapter.js';
import { check, equal, row, show, sorts } from './_expect.js';
import { type Clock, defineCase, listAll, partition, putAll, read, T0, u8 } from './_harness.js';
import type { ConformanceCase } from './index.js';

const T = 'conf_expiry';

/** Puts `live` rows that never expire and `expired` rows expiring at `T0 + 10 + i`. */
async function fill(
  db: StorageAdapter,
  table: string,
  p: Uint8Array,
  live: number,
  expired: number,
): Promise<void> {
  const rows = [
    ...Array.from({ length: live }, (_, i) => ({
      partition: p,
      sort: u8(0x00, i >> 8, i & 0xff),
      value: u8(i & 0xff),
    })),
    ...Array.from({ length: expired }, (_, i) => ({
      partition: p,
      sort: u8(0x01, i >> 8, i & 0xff),
      value: u8(i & 0xff),
      expiresAt: T0 + 10 + (i % 5),
    })),
  ];
  for (let i = 0; i < rows.length; i += 100) await putAll(db, table, rows.slice(i, i + 100));
}

/** Rows of `p` that exist at all (live or expired), seen by moving the clock back to `T0`. */
async function stored(
  db: StorageAdapter,
  clock: Clock,
  table: string,
  p: Uint8Array,
): Promise<{ live: number; expired: number }> {
  const saved = clock.now();
  clock.set(T0);
  try {
    const rows = await listAll(db, table, p);
    return {
      live: rows.filter((r) => r.expiresAt === null).length,
      expired: rows.filter((r) => r.expiresAt !== null).length,
    };
  } finally {
    clock.set(saved);
  }
}

function checkProgress(
  seen: PurgeProgress[],
  result: PurgeProgress,
  batchSize: number,
  total: number,
  what: string,
): void {
  equal(result.deleted, total, `${what}: deleted`);
  const batches = Math.ceil(total / batchSize);
  equal(result.batches, batches, `${what}: batches (${total} rows in batches of ${batchSize})`);
  equal(seen.length, batches, `${what}: onProgress calls`);
  let before = 0;
  for (const [i, s] of seen.entries()) {
    equal(s.batches, i + 1, `${what}: onProgress call ${i + 1} batches`);
    const n = s.deleted - before;
    const full = i < batches - 1 ? batchSize : total - batchSize * (batches - 1);
    equal(n, full, `${what}: rows deleted by batch ${i + 1}`);
    before = s.deleted;
  }
}

async function cleanup(db: StorageAdapter, table: string, ...ps: Uint8Array[]): Promise<void> {
  await db.transaction(async (tx) => {
    for (const p of ps) await tx.deletePartition(table, p);
  });
}

export function expiryCases(): ConformanceCase[] {
  return [
    defineCase(
      'expiry: rows at or past expiresAt are hidden from every read at once',
      async ({ db, clock }) => {
        const p = partition();
        const q = partition();
        const rows = [
          { partition: p, sort: u8(1), value: u8(1), expiresAt: T0 }, // expired when written
          { partition: p, sort: u8(2), value: u8(2), expiresAt: T0 + 1000 },
          { partition: p, sort: u8(3), value: u8(3), expiresAt: T0 + 1001 },
          { partition: p, sort: u8(4), value: u8(4), expiresAt: null },
          { partition: p, sort: u8(5), value: u8(5), expiresAt: T0 + 1_000_000_000 },
        ];
        await putAll(db, T, rows);
        await putAll(db, T, [
          { partition: q, sort: u8(1), value: u8(1), expiresAt: T0 + 1000 },
          { partition: q, sort: u8(2), value: u8(2), expiresAt: T0 + 1000 },
          { partition: q, sort: u8(3), value: u8(3) },
        ]);
        await read(db, async (tx) => {
          equal(
            await tx.get(T, p, u8(1)),
            undefined,
            'get of a row written already expired (expiresAt = now)',
          );
          row(await tx.get(T, p, u8(2)), rows[1] as (typeof rows)[1], 'get of a live row');
          sorts(await tx.list(T, p), [u8(2), u8(3), u8(4), u8(5)], 'list at T0');
          equal(await tx.count(T, p), 4, 'count at T0');
        });
        clock.set(T0 + 1000);
        await read(db, async (tx) => {
          equal(tx.now, T0 + 1000, 'tx.now');
          equal(await tx.get(T, p, u8(2)), undefined, 'get of a row whose expiresAt equals now');
          row(await tx.get(T, p, u8(3)), rows[2] as (typeof rows)[2], 'get of a row expiring 1 ms later');
          sorts(await tx.list(T, p), [u8(3), u8(4), u8(5)], 'list');
          sorts(await tx.list(T, p, { reverse: true }), [u8(5), u8(4), u8(3)], 'list reverse');
          sorts(await tx.list(T, p, { after: u8(1), limit: 1 }), [u8(3)], 'list after 01 limit 1');
          sorts(await tx.list(T, p, { prefix: u8(2) }), [], 'list prefix 02');
          equal(await tx.count(T, p), 3, 'count');
          equal(await tx.count(T, p, { prefix: u8(2) }), 0, 'count prefix 02');
        });
        const taken = await db.transaction((tx) => tx.take(T, q, { limit: 2 }));
        sorts(taken, [u8(3)], 'take skips expired rows (limit 2, first two rows expired)');
        clock.set(T0 + 1001);
        await read(db, async (tx) => {
          sorts(await tx.list(T, p), [u8(4), u8(5)], 'list 1 ms later');
          equal(await tx.get(T, p, u8(3)), undefined, 'get of a row expired 1 ms ago');
        });
        clock.set(T0 + 999);
        sorts(
          await listAll(db, T, p),
          [u8(2), u8(3), u8(4), u8(5)],
          'list with the clock moved back (expired rows are hidden, not deleted)',
        );
      },
    ),

    defineCase('expiry: tx.now is the clock at transaction start', async ({ db, clock }) => {
      const p = partition();
      await putAll(db, T, [{ partition: p, sort: u8(1), value: u8(1), expiresAt: T0 + 100 }]);
      clock.set(T0 + 50);
      equal(
        typeof db.now === 'function' ? db.now() : undefined,
        T0 + 50,
        'adapter.now() (the clock given to open)',
      );
      await db.transaction(async (tx) => {
        equal(tx.now, T0 + 50, 'tx.now at start');
        clock.set(T0 + 10_000);
        equal(tx.now, T0 + 50, 'tx.now after the clock moved during the transaction');
        row(
          await tx.get(T, p, u8(1)),
          { partition: p, sort: u8(1), value: u8(1), expiresAt: T0 + 100 },
          'get of a row that expired after the transaction started',
        );
        equal(await tx.count(T, p), 1, 'count judged at tx.now');
        sorts(await tx.list(T, p), [u8(1)], 'list judged at tx.now');
      });
      const now = await read(db, async (tx) => tx.now);
      equal(now, T0 + 10_000, 'tx.now of a read-only transaction');
      equal(await read(db, (tx) => tx.get(T, p, u8(1))), undefined, 'get in the next transaction');
    }),

    defineCase('purge: deletes exactly the expired rows in batches of batchSize', async ({ db, clock }) => {
      const table = 'conf_purge_batches';
      const p = partition();
      await fill(db, table, p, 7, 25);
      await putAll(db, table, [{ partition: p, sort: u8(0x02), value: u8(), expiresAt: T0 + 1_000_000 }]);
      clock.set(T0 + 14);
      const seen: PurgeProgress[] = [];
      const result = await db.purgeExpired({
        tables: [table],
        batchSize: 10,
        onProgress: (s) => seen.push({ deleted: s.deleted, batches: s.batches }),
      });
      checkProgress(seen, result, 10, 25, 'purge of 25 expired rows');
      equal(await read(db, (tx) => tx.count(table, p)), 8, 'live rows after the purge');
      const left = await stored(db, clock, table, p);
      equal(left.expired, 1, 'rows with an expiry left (only the one expiring later)');
      equal(left.live, 7, 'rows without expiry left');
      const again = await db.purgeExpired({ tables: [table], batchSize: 10 });
      equal(again.deleted, 0, 'a second purge deletes nothing');
      equal(again.batches, 0, 'a second purge commits no batch');
      await cleanup(db, table, p);
    }),

    defineCase('purge: the now option and the adapter clock', async ({ db, clock }) => {
      const table = 'conf_purge_now';
      const p = partition();
      await fill(db, table, p, 3, 10); // expiries T0+10..T0+14, two rows each
      clock.set(T0 + 1_000);
      const first = await db.purgeExpired({ tables: [table], now: T0 + 11 });
      equal(first.deleted, 4, 'purge with now = T0+11 (rows expiring at T0+10 and T0+11)');
      let left = await stored(db, clock, table, p);
      equal(left.expired, 6, 'rows with an expiry left');
      clock.set(T0 + 12);
      const second = await db.purgeExpired({ tables: [table] });
      equal(second.deleted, 2, 'purge by the adapter clock at T0+12 (expiresAt <= now)');
      clock.set(T0 + 1_000);
      left = await stored(db, clock, table, p);
      equal(left.expired, 4, 'rows with an expiry left');
      equal(left.live, 3, 'rows without expiry left');
      await cleanup(db, table, p);
    }),

    defineCase('purge: the tables option limits the purge', async ({ db, clock }) => {
      const a = 'conf_purge_table_a';
      const b = 'conf_purge_table_b';
      const p = partition();
      await fill(db, a, p, 2, 6);
      await fill(db, b, p, 2, 9);
      clock.set(T0 + 100);
      const result = await db.purgeExpired({ tables: [a] });
      equal(result.deleted, 6, 'purge of table a');
      equal((await stored(db, clock, a, p)).expired, 0, 'expired rows left in table a');
      equal((await stored(db, clock, b, p)).expired, 9, 'expired rows left in table b (not listed)');
      const none = await db.purgeExpired({ tables: [] });
      equal(none.deleted, 0, 'purge with an empty tables list');
      equal((await stored(db, clock, b, p)).expired, 9, 'expired rows in table b after purging no table');
      const both = await db.purgeExpired({ tables: [a, b, 'conf_purge_never_written'] });
      equal(both.deleted, 9, 'purge of both tables');
      equal((await stored(db, clock, b, p)).live, 2, 'live rows left in table b');
      await cleanup(db, a, p);
      await cleanup(db, b, p);
    }),

    defineCase('purge: without a tables option every table is purged', async ({ db, clock }) => {
      const a = 'conf_purge_all_a';
      const b = 'conf_purge_all_b';
      const p = partition();
      await fill(db, a, p, 3, 4);
      await fill(db, b, p, 3, 5);
      clock.set(T0 + 100);
      const result = await db.purgeExpired();
      // Other tables of a shared database may hold expired rows too, hence ">=".
      check(
        result.deleted >= 9,
        `purge without tables: expected at least 9 rows deleted, got ${show(result.deleted)}`,
      );
      for (const t of [a, b]) {
        const left = await stored(db, clock, t, p);
        equal(left.expired, 0, `expired rows left in ${t}`);
        equal(left.live, 3, `live rows left in ${t}`);
      }
      await cleanup(db, a, p);
      await cleanup(db, b, p);
    }),

    defineCase('purge: abort between batches, a later call resumes', async ({ db, clock }) => {
      const table = 'conf_purge_abort';
      const p = partition();
      await fill(db, table, p, 4, 30);
      clock.set(T0 + 100);
      const pre = new AbortController();
      pre.abort();
      const none = await db.purgeExpired({ tables: [table], batchSize: 5, signal: pre.signal });
      equal(none.deleted, 0, 'purge with an already aborted signal: deleted');
      equal((await stored(db, clock, table, p)).expired, 30, 'expired rows after an already aborted purge');
      const controller = new AbortController();
      const seen: number[] = [];
      const first = await db.purgeExpired({
        tables: [table],
        batchSize: 5,
        signal: controller.signal,
        onProgress: (s) => {
          seen.push(s.deleted);
          if (s.batches === 2) controller.abort();
        },
      });
      equal(first.deleted, 10, 'rows deleted before the abort took effect (aborted after batch 2)');
      equal(first.batches, 2, 'batches before the abort took effect');
      equal(seen.join(','), '5,10', 'onProgress deleted counts');
      equal((await stored(db, clock, table, p)).expired, 20, 'expired rows left after the aborted purge');
      const rest = await db.purgeExpired({ tables: [table], batchSize: 5 });
      equal(rest.deleted, 20, 'rows deleted by the resumed purge');
      equal(rest.batches, 4, 'batches of the resumed purge');
      const left = await stored(db, clock, table, p);
      equal(left.expired, 0, 'expired rows left after resuming');
      equal(left.live, 4, 'live rows left after resuming');
      await cleanup(db, table, p);
    }),

    defineCase('purge: concurrent purges delete each row once', async ({ db, clock }) => {
      const table = 'conf_purge_concurrent';
      const p = partition();
      const q = partition();
      await fill(db, table, p, 5, 150);
      await fill(db, table, q, 5, 60);
      clock.set(T0 + 100);
      const results = await Promise.all([
        db.purgeExpired({ tables: [table], batchSize: 7 }),
        db.purgeExpired({ tables: [table], batchSize: 11 }),
        db.purgeExpired({ tables: [table], batchSize: 13 }),
      ]);
      const total = results.reduce((n, r) => n + r.deleted, 0);
      equal(
        total,
        210,
        `sum of rows deleted by three concurrent purges (${results.map((r) => r.deleted).join(' + ')})`,
      );
      for (const x of [p, q]) {
        const left = await stored(db, clock, table, x);
        equal(left.expired, 0, 'expired rows left');
        equal(left.live, 5, 'live rows left');
      }
      await cleanup(db, table, p, q);
    }),
  ];
}
