/**
 * Cases about transactions: atomic rollback with the error rethrown unchanged, results, read
 * your own writes, no dirty reads, lost-update freedom with `forUpdate`, concurrent `take`,
 * finished transactions, and `close`.
 *
 * @module
 */
import type { Row, StorageTx } from '../adapter.js';
import { check, equal, fail, rejects, rejectsWithSame, row, show, sorts } from './_expect.js';
import {
  be32,
  defineCase,
  listAll,
  partition,
  putAll,
  read,
  readBe32,
  sleep,
  u8,
  within,
} from './_harness.js';
import type { ConformanceCase } from './index.js';

const T = 'conf_tx';
const STORAGE = { code: 'ERR_STORAGE' } as const;

class Deliberate extends Error {
  constructor() {
    super('conformance: deliberate failure inside a transaction');
    this.name = 'Deliberate';
  }
}

export function txCases(): ConformanceCase[] {
  return [
    defineCase(
      'tx: a callback that throws after writes leaves nothing, error rethrown unchanged',
      async ({ db }) => {
        const p = partition();
        const q = partition();
        const before = [u8(1), u8(2), u8(3), u8(4)];
        await putAll(
          db,
          T,
          before.map((sort) => ({ partition: p, sort, value: sort })),
        );
        await putAll(db, T, [{ partition: q, sort: u8(1), value: u8(1) }]);
        const boom = new Deliberate();
        await rejectsWithSame(
          db.transaction(async (tx) => {
            await tx.put(T, { partition: p, sort: u8(0), value: u8(9) });
            await tx.put(T, { partition: p, sort: u8(1), value: u8(9) });
            await tx.put(T, { partition: p, sort: u8(9), value: u8(9), expiresAt: 1 });
            await tx.delete(T, p, u8(2));
            await tx.take(T, p, { limit: 1, prefix: u8(3) });
            await tx.deletePartition(T, q);
            await tx.put('conf_tx_other', { partition: p, sort: u8(1), value: u8(1) });
            throw boom;
          }),
          boom,
          'transaction whose callback throws an Error',
        );
        const after = await listAll(db, T, p);
        sorts(after, before, 'rows after the rollback');
        for (const r of after)
          row(r, { partition: p, sort: r.sort, value: r.sort }, 'row after the rollback');
        await read(db, async (tx) => {
          equal(await tx.count(T, q), 1, 'rows of a partition deleted in the rolled back transaction');
          equal(
            await tx.count('conf_tx_other', p),
            0,
            'rows in a table first written in the rolled back transaction',
          );
        });
        const plain = { reason: 'not an Error' };
        await rejectsWithSame(
          db.transaction(async (tx) => {
            await tx.delete(T, p, u8(4));
            throw plain;
          }),
          plain,
          'transaction whose callback throws a plain object',
        );
        equal(await read(db, (tx) => tx.count(T, p)), 4, 'rows after the second rollback');
        const late = new Deliberate();
        await rejectsWithSame(
          db.transaction(async (tx) => {
            await tx.put(T, { partition: p, sort: u8(5), value: u8(5) });
            await sleep(5);
            return Promise.reject(late);
          }),
          late,
          'transaction whose callback returns a rejected promise after a timer',
        );
        equal(
          await read(db, (tx) => tx.get(T, p, u8(5))),
          undefined,
          'row of the third rolled back transaction',
        );
        // A callback that is not async and throws synchronously is a valid callback too.
        const sync = new Deliberate();
        await rejectsWithSame(
          db.transaction((): Promise<never> => {
            throw sync;
          }),
          sync,
          'transaction whose callback throws synchronously',
        );
        sorts(
          await listAll(db, T, p),
          before,
          'rows after all rolled back transactions (the adapter is still usable)',
        );
      },
    ),

    defineCase('tx: resolves with the result of the callback after commit', async ({ db }) => {
      const p = partition();
      const result = { marker: 1 };
      const got = await db.transaction(async (tx) => {
        await tx.put(T, { partition: p, sort: u8(1), value: u8(1) });
        return result;
      });
      check(got === result, `transaction resolved ${show(got)} instead of the object the callback returned`);
      equal(await db.transaction(async () => undefined), undefined, 'result of an empty callback');
      equal(
        await db.transaction(async () => 42, { readOnly: true }),
        42,
        'result of a read-only transaction',
      );
      const rows = await db.transaction((tx) => tx.list(T, p));
      sorts(rows, [u8(1)], 'rows returned as the result');
    }),

    defineCase(
      'tx: own writes are visible inside the transaction and to later ones after commit',
      async ({ db }) => {
        const p = partition();
        await putAll(db, T, [{ partition: p, sort: u8(2), value: u8(2) }]);
        await db.transaction(async (tx) => {
          await tx.put(T, { partition: p, sort: u8(1), value: u8(1) });
          row(await tx.get(T, p, u8(1)), { partition: p, sort: u8(1), value: u8(1) }, 'get of an own write');
          sorts(await tx.list(T, p), [u8(1), u8(2)], 'list after an own write');
          equal(await tx.delete(T, p, u8(2)), true, 'delete of a committed row');
          equal(await tx.get(T, p, u8(2)), undefined, 'get of an own delete');
          sorts(await tx.list(T, p), [u8(1)], 'list after an own delete');
          await tx.put(T, { partition: p, sort: u8(3), value: u8(3) });
          sorts(await tx.take(T, p, { limit: 1, prefix: u8(3) }), [u8(3)], 'take of an own write');
          equal(await tx.count(T, p), 1, 'count after own writes');
        });
        await read(db, async (tx) => {
          sorts(await tx.list(T, p), [u8(1)], 'list after commit');
          row(await tx.get(T, p, u8(1)), { partition: p, sort: u8(1), value: u8(1) }, 'get after commit');
        });
      },
    ),

    defineCase(
      'tx: no dirty reads (uncommitted writes are invisible to other transactions)',
      async ({ db, target }) => {
        const parallel = target.parallelTransactions === true;
        for (const readOnly of [false, true]) {
          for (const commit of [false, true]) {
            const p = partition();
            await putAll(db, T, [{ partition: p, sort: u8(1), value: u8(1) }]);
            let writerDone = false;
            let reader:
              | Promise<{ value: Row | undefined; list: Row[]; count: number; beforeEnd: boolean }>
              | undefined;
            const boom = new Deliberate();
            const writer = db.transaction(async (tx) => {
              await tx.put(T, { partition: p, sort: u8(1), value: u8(2) });
              await tx.put(T, { partition: p, sort: u8(2), value: u8(2) });
              reader = db.transaction(
                async (r) => {
                  const value = await r.get(T, p, u8(1));
                  const list = await r.list(T, p);
                  const count = await r.count(T, p);
                  return { value, list, count, beforeEnd: !writerDone };
                },
                { readOnly },
              );
              reader.catch(() => undefined);
              // A parallel adapter must let the reader finish while the writer is open; a serializing
              // one runs it afterwards, so the writer only gives it a chance to (wrongly) run now.
              if (parallel) await within(reader, 10_000, 'a reader concurrent with an open writer');
              else await Promise.race([reader, sleep(20)]);
              writerDone = true;
              if (!commit) throw boom;
            });
            const what = `${readOnly ? 'read-only' : 'read-write'} reader, writer ${commit ? 'commits' : 'rolls back'}`;
            if (commit) await writer;
            else await rejectsWithSame(writer, boom, `${what}: writer`);
            check(reader !== undefined, 'the reader was not started');
            const seen = await within(reader, 10_000, `${what}: reader`);
            const sawOld = seen.value !== undefined && seen.value.value[0] === 1;
            const committedState = commit && !seen.beforeEnd;
            const want = committedState ? 'the committed write' : 'the value before the writer';
            if (committedState) {
              check(
                !sawOld && seen.value?.value[0] === 2,
                `${what}: expected get to see ${want}, got ${show(seen.value)}`,
              );
              equal(seen.count, 2, `${what}: count seen by the reader`);
              equal(seen.list.length, 2, `${what}: rows listed by the reader`);
            } else {
              check(sawOld, `${what}: expected get to see ${want}, got ${show(seen.value)}`);
              equal(seen.count, 1, `${what}: count seen by the reader (uncommitted row must be invisible)`);
              sorts(seen.list, [u8(1)], `${what}: rows listed by the reader`);
            }
            if (parallel)
              check(
                seen.beforeEnd,
                `${what}: parallelTransactions is set but the reader waited for the writer`,
              );
          }
        }
      },
    ),

    defineCase(
      'tx: 20 concurrent read-modify-write increments with forUpdate lose nothing',
      async ({ db }) => {
        const p = partition();
        const k = u8(0xc0);
        await putAll(db, T, [{ partition: p, sort: k, value: be32(0) }]);
        const increments = Array.from({ length: 20 }, (_, i) =>
          db.transaction(async (tx) => {
            const current = await tx.get(T, p, k, { forUpdate: true });
            if (current === undefined) fail(`increment ${i}: the counter row is missing`);
            const n = readBe32(current.value, `increment ${i}: counter`);
            await sleep(i % 3);
            await tx.put(T, { partition: p, sort: k, value: be32(n + 1) });
            await tx.put(T, { partition: p, sort: be32(n + 1), value: u8(i) });
          }),
        );
        await within(Promise.all(increments), 30_000, '20 concurrent increments');
        const final = await read(db, (tx) => tx.get(T, p, k));
        check(final !== undefined, 'the counter row is missing after the increments');
        equal(readBe32(final.value, 'counter'), 20, 'counter after 20 concurrent increments');
        equal(await read(db, (tx) => tx.count(T, p)), 21, 'rows (counter + one per distinct counter value)');
      },
    ),

    defineCase('tx: concurrent put ifAbsent of one key: exactly one wins', async ({ db, clock }) => {
      for (const over of ['no row', 'an expired row'] as const) {
        const p = partition();
        const k = u8(0x1f);
        if (over === 'an expired row') {
          await putAll(db, T, [{ partition: p, sort: k, value: u8(0xee), expiresAt: clock.now() + 5 }]);
          clock.advance(5);
        }
        const attempts = Array.from({ length: 12 }, (_, i) =>
          db.transaction(async (tx) => {
            await sleep(i % 2);
            return tx.put(T, { partition: p, sort: k, value: u8(i) }, { ifAbsent: true });
          }),
        );
        const won = await within(Promise.all(attempts), 30_000, `12 concurrent ifAbsent puts over ${over}`);
        const winners = won.map((w, i) => (w ? i : -1)).filter((i) => i >= 0);
        equal(winners.length, 1, `ifAbsent puts over ${over} that resolved true (winners ${show(winners)})`);
        const stored = await read(db, (tx) => tx.get(T, p, k));
        row(
          stored,
          { partition: p, sort: k, value: u8(winners[0] as number) },
          `row after the ifAbsent race over ${over}`,
        );
      }
    }),

    defineCase('take: a take does not return rows another open transaction took', async ({ db, target }) => {
      const parallel = target.parallelTransactions === true;
      const p = partition();
      await putAll(
        db,
        T,
        [1, 2, 3].map((i) => ({ partition: p, sort: u8(i), value: u8(i) })),
      );
      let second: Promise<{ rows: Row[]; beforeEnd: boolean }> | undefined;
      let firstDone = false;
      const first = await db.transaction(async (tx) => {
        const rows = await tx.take(T, p);
        second = db.transaction(async (t2) => ({ rows: await t2.take(T, p), beforeEnd: !firstDone }));
        second.catch(() => undefined);
        // A parallel adapter must not make the second take wait for the row the first holds.
        if (parallel) await within(second, 10_000, 'a take concurrent with an open take');
        else await Promise.race([second, sleep(20)]);
        firstDone = true;
        return rows;
      });
      check(second !== undefined, 'the second take was not started');
      const got = await within(second, 10_000, 'the second take');
      sorts(first, [u8(1)], 'first take');
      sorts(got.rows, [u8(2)], 'second take, started while the first transaction held row 01');
      if (parallel)
        check(got.beforeEnd, 'parallelTransactions is set but the second take waited for the first');
      sorts(await listAll(db, T, p), [u8(3)], 'rows left');
    }),

    defineCase('take: 16 concurrent takers over 100 rows get each row exactly once', async ({ db }) => {
      const p = partition();
      const keys = Array.from({ length: 100 }, (_, i) => be32(i));
      await putAll(
        db,
        T,
        keys.map((sort, i) => ({ partition: p, sort, value: be32(i) })),
      );
      const takers = Array.from({ length: 16 }, async (_, t) => {
        const mine: number[] = [];
        for (let round = 0; round < 200; round++) {
          const rows = await db.transaction((tx) => tx.take(T, p, { limit: 1 + (t % 4) }));
          if (rows.length === 0) return mine;
          for (const r of rows) mine.push(readBe32(r.value, 'taken value'));
        }
        return fail(`taker ${t} was still getting rows after 200 rounds`);
      });
      const all = (await within(Promise.all(takers), 30_000, '16 concurrent takers')).flat();
      const times = new Map<number, number>();
      for (const n of all) times.set(n, (times.get(n) ?? 0) + 1);
      const twice = [...times].filter(([, c]) => c > 1).map(([n]) => n);
      const missing = keys.map((_, i) => i).filter((i) => !times.has(i));
      check(twice.length === 0, `rows taken more than once: ${show(twice)}`);
      check(missing.length === 0, `rows never taken: ${show(missing)}`);
      equal(all.length, 100, 'rows taken in total');
      equal(await read(db, (tx) => tx.count(T, p)), 0, 'rows left');
    }),

    defineCase('tx: a finished transaction rejects with ERR_STORAGE', async ({ db }) => {
      const p = partition();
      await putAll(db, T, [{ partition: p, sort: u8(1), value: u8(1) }]);
      let committed: StorageTx | undefined;
      await db.transaction(async (tx) => {
        committed = tx;
      });
      let rolledBack: StorageTx | undefined;
      const boom = new Deliberate();
      await rejectsWithSame(
        db.transaction(async (tx) => {
          rolledBack = tx;
          throw boom;
        }),
        boom,
        'rolled back transaction',
      );
      for (const [name, tx] of [
        ['committed', committed],
        ['rolled back', rolledBack],
      ] as const) {
        if (tx === undefined) return fail('the callback did not receive a transaction');
        const what = `use of a ${name} transaction`;
        await rejects(() => tx.get(T, p, u8(1)), `${what}: get`, STORAGE);
        await rejects(() => tx.put(T, { partition: p, sort: u8(2), value: u8(2) }), `${what}: put`, STORAGE);
        await rejects(() => tx.delete(T, p, u8(1)), `${what}: delete`, STORAGE);
        await rejects(() => tx.list(T, p), `${what}: list`, STORAGE);
        await rejects(() => tx.take(T, p), `${what}: take`, STORAGE);
        await rejects(() => tx.count(T, p), `${what}: count`, STORAGE);
        await rejects(() => tx.usage(T, p), `${what}: usage`, STORAGE);
        await rejects(() => tx.deletePartition(T, p), `${what}: deletePartition`, STORAGE);
      }
      sorts(await listAll(db, T, p), [u8(1)], 'rows after using finished transactions');
    }),

    defineCase('close: operations after close() reject with ERR_STORAGE', async ({ db, closedByCase }) => {
      const p = partition();
      await putAll(db, T, [{ partition: p, sort: u8(1), value: u8(1) }]);
      closedByCase();
      await db.close();
      await rejects(() => db.transaction(async (tx) => tx.get(T, p, u8(1))), 'transaction after close', {
        code: 'ERR_STORAGE',
      });
      await rejects(
        () => db.transaction(async () => 1, { readOnly: true }),
        'read-only transaction after close',
        {
          code: 'ERR_STORAGE',
        },
      );
      await rejects(() => db.purgeExpired(), 'purgeExpired after close', { code: 'ERR_STORAGE' });
    }),
  ];
}
