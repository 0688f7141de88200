/**
 * Cases about `claimMany` and single-call transactions.
 *
 * `claimMany(table, claims, behind)` must equal `putMany(table, claims, { ifAbsent: true })`
 * followed by `putMany(behind.table, rows behind the claims that were written)` in the same
 * transaction: the result names the claims written; a claim over a live row is not written and
 * neither is anything behind it; an expired row counts as absent; every argument is checked
 * before anything is written; a transaction that throws undoes it; rows too large for one
 * statement together give the same result.
 *
 * A transaction with `{ single: true }` runs its one call and commits it; a second call rejects
 * with `StorageError` (what the first wrote is not judged: backends may have committed it).
 *
 * @module
 */
import { MAX_VALUE_BYTES, type RowInput, type StorageAdapter } from '../adapter.js';
import { check, equal, fail, rejects, row, show } from './_expect.js';
import { defineCase, partition, pattern, putAll, read, T0, u8 } from './_harness.js';
import type { ConformanceCase } from './index.js';

const CLAIMS = 'conf_claims';
const BEHIND = 'conf_claimed';
const VALIDATION = { code: 'ERR_VALIDATION' } as const;
const STORAGE = { code: 'ERR_STORAGE' } as const;

class Deliberate extends Error {
  constructor() {
    super('conformance: deliberate failure inside a transaction');
    this.name = 'Deliberate';
  }
}

/** Fails unless `actual` is an array of exactly the booleans `expected`. */
function flags(actual: unknown, expected: readonly boolean[], what: string): void {
  if (!Array.isArray(actual)) fail(`${what}: expected an array, got ${show(actual)}`);
  equal(actual.length, expected.length, `${what}: length of the result`);
  for (const [i, want] of expected.entries()) equal(actual[i], want, `${what}: result[${i}]`);
}

/** The live rows of the two tables under `partitions`, as `table/p<i>/sort=value` lines. */
async function snapshot(db: StorageAdapter, partitions: readonly Uint8Array[]): Promise<string> {
  return read(db, async (tx) => {
    const out: string[] = [];
    for (const table of [CLAIMS, BEHIND]) {
      for (const [i, p] of partitions.entries()) {
        for (const r of await tx.list(table, p, { limit: 1000 })) {
          out.push(`${table}/p${i}/${Array.from(r.sort).join('.')}=${r.value.length}:${r.value[0] ?? ''}`);
        }
      }
    }
    return out.sort().join(' ');
  });
}

export function claimCases(): ConformanceCase[] {
  return [
    defineCase('claim: claims are written where absent, and only what stands behind them', async ({ db }) => {
      const p = partition();
      const q = partition();
      await putAll(db, CLAIMS, [
        { partition: p, sort: u8(1), value: u8(0xaa) },
        { partition: p, sort: u8(2), value: u8(0xbb), expiresAt: T0 - 1 },
      ]);
      const claims: RowInput[] = [
        { partition: p, sort: u8(1), value: u8(1) }, // live: not claimed
        { partition: p, sort: u8(2), value: u8(2), expiresAt: T0 + 1000 }, // expired: claimed
        { partition: p, sort: u8(3), value: u8(3) }, // missing: claimed, nothing behind it
        { partition: q, sort: u8(3), value: u8(4) }, // missing, in another partition
      ];
      const behind: RowInput[] = [
        { partition: q, sort: u8(10), value: u8(10) }, // behind claim 0: not written
        { partition: q, sort: u8(20), value: u8(20), expiresAt: T0 + 500 }, // behind claim 1
        { partition: p, sort: u8(40), value: u8(40) }, // behind claim 3
        { partition: p, sort: u8(41), value: u8(41) }, // behind claim 3 too
        { partition: p, sort: u8(11), value: u8(11) }, // behind claim 0 again: not written
      ];
      const result = await db.transaction(async (tx) => {
        const won = await tx.claimMany(CLAIMS, claims, {
          table: BEHIND,
          rows: behind,
          claims: [0, 1, 3, 3, 0],
        });
        // The transaction sees its own writes.
        row(await tx.get(BEHIND, p, u8(40)), { partition: p, sort: u8(40), value: u8(40) }, 'own write');
        return won;
      });
      flags(result, [false, true, true, true], 'claimMany over a live, an expired and two missing keys');
      await read(db, async (tx) => {
        row(
          await tx.get(CLAIMS, p, u8(1)),
          { partition: p, sort: u8(1), value: u8(0xaa) },
          'the live claim kept',
        );
        row(
          await tx.get(CLAIMS, p, u8(2)),
          { partition: p, sort: u8(2), value: u8(2), expiresAt: T0 + 1000 },
          'the expired claim replaced',
        );
        row(await tx.get(CLAIMS, p, u8(3)), { partition: p, sort: u8(3), value: u8(3) }, 'a new claim');
        row(await tx.get(CLAIMS, q, u8(3)), { partition: q, sort: u8(3), value: u8(4) }, 'a new claim in q');
        equal(await tx.get(BEHIND, q, u8(10)), undefined, 'a row behind a lost claim');
        equal(await tx.get(BEHIND, p, u8(11)), undefined, 'another row behind a lost claim');
        row(
          await tx.get(BEHIND, q, u8(20)),
          { partition: q, sort: u8(20), value: u8(20), expiresAt: T0 + 500 },
          'the row behind the expired claim',
        );
        row(
          await tx.get(BEHIND, p, u8(40)),
          { partition: p, sort: u8(40), value: u8(40) },
          'first row behind claim 3',
        );
        row(
          await tx.get(BEHIND, p, u8(41)),
          { partition: p, sort: u8(41), value: u8(41) },
          'second row behind claim 3',
        );
        equal(await tx.count(BEHIND, p), 2, 'rows behind claims in p');
        equal(await tx.count(BEHIND, q), 1, 'rows behind claims in q');
      });
      // Claimed again: every claim is live now, nothing is written, a row behind one included.
      const again = await db.transaction((tx) =>
        tx.claimMany(CLAIMS, claims, {
          table: BEHIND,
          rows: [{ partition: q, sort: u8(99), value: u8(9) }],
          claims: [2],
        }),
      );
      flags(again, [false, false, false, false], 'the same claims again');
      equal(await read(db, (tx) => tx.get(BEHIND, q, u8(99))), undefined, 'a row behind a claim made twice');
      // No rows behind, and rows behind that replace an existing row.
      const plain = await db.transaction((tx) =>
        tx.claimMany(CLAIMS, [{ partition: q, sort: u8(5), value: u8(5) }], {
          table: BEHIND,
          rows: [],
          claims: [],
        }),
      );
      flags(plain, [true], 'a claim with nothing behind it');
      const replace = await db.transaction((tx) =>
        tx.claimMany(CLAIMS, [{ partition: q, sort: u8(6), value: u8(6) }], {
          table: BEHIND,
          rows: [{ partition: q, sort: u8(20), value: u8(21) }],
          claims: [0],
        }),
      );
      flags(replace, [true], 'a claim whose row replaces one');
      row(
        await read(db, (tx) => tx.get(BEHIND, q, u8(20))),
        { partition: q, sort: u8(20), value: u8(21) },
        'the replaced row behind a claim (expiry as written: none)',
      );
      const empty = await db.transaction((tx) =>
        tx.claimMany(CLAIMS, [], { table: BEHIND, rows: [], claims: [] }),
      );
      flags(empty, [], 'an empty call');
    }),

    defineCase('claim: bad arguments are refused before anything is written', async ({ db }) => {
      const p = partition();
      await putAll(db, CLAIMS, [{ partition: p, sort: u8(1), value: u8(1) }]);
      const before = await snapshot(db, [p]);
      const claim = (sort: number): RowInput => ({ partition: p, sort: u8(sort), value: u8(sort) });
      const calls: [string, string, Parameters<StorageAdapter['transaction']>[0]][] = [
        [
          'duplicate claim keys',
          'claims[1]',
          (tx) => tx.claimMany(CLAIMS, [claim(2), claim(2)], { table: BEHIND, rows: [], claims: [] }),
        ],
        [
          'duplicate keys behind the claims',
          'behind.rows[1]',
          (tx) =>
            tx.claimMany(CLAIMS, [claim(3)], { table: BEHIND, rows: [claim(7), claim(7)], claims: [0, 0] }),
        ],
        [
          'the claims’ own table behind them',
          'behind.table',
          (tx) => tx.claimMany(CLAIMS, [claim(4)], { table: CLAIMS, rows: [claim(8)], claims: [0] }),
        ],
        [
          'a claim index out of range',
          'behind.claims[0]',
          (tx) => tx.claimMany(CLAIMS, [claim(5)], { table: BEHIND, rows: [claim(9)], claims: [1] }),
        ],
        [
          'a claim index that is not an integer',
          'behind.claims[0]',
          (tx) => tx.claimMany(CLAIMS, [claim(5)], { table: BEHIND, rows: [claim(9)], claims: [0.5] }),
        ],
        [
          'fewer claim indexes than rows',
          'behind.claims',
          (tx) =>
            tx.claimMany(CLAIMS, [claim(5)], { table: BEHIND, rows: [claim(9), claim(10)], claims: [0] }),
        ],
        [
          'a bad row behind the claims',
          'behind.rows[1].sort',
          (tx) =>
            tx.claimMany(CLAIMS, [claim(6)], {
              table: BEHIND,
              rows: [claim(9), { partition: p, sort: 'x' as unknown as Uint8Array, value: u8(1) }],
              claims: [0, 0],
            }),
        ],
        [
          'a bad claim after good ones',
          'claims[1].value',
          (tx) =>
            tx.claimMany(
              CLAIMS,
              [claim(6), { partition: p, sort: u8(7), value: null as unknown as Uint8Array }],
              {
                table: BEHIND,
                rows: [],
                claims: [],
              },
            ),
        ],
        [
          'a bad table name behind the claims',
          'table',
          (tx) => tx.claimMany(CLAIMS, [claim(6)], { table: 'Bad-Name', rows: [], claims: [] }),
        ],
      ];
      for (const [what, field, fn] of calls) {
        await rejects(() => db.transaction(fn), what, { ...VALIDATION, field });
        equal(await snapshot(db, [p]), before, `${what}: nothing changed`);
      }
    }),

    defineCase('claim: a transaction that throws after claimMany undoes it', async ({ db }) => {
      const p = partition();
      const before = await snapshot(db, [p]);
      const boom = new Deliberate();
      await rejects(
        () =>
          db.transaction(async (tx) => {
            const won = await tx.claimMany(CLAIMS, [{ partition: p, sort: u8(1), value: u8(1) }], {
              table: BEHIND,
              rows: [{ partition: p, sort: u8(2), value: u8(2) }],
              claims: [0],
            });
            flags(won, [true], 'claim inside the failing transaction');
            throw boom;
          }),
        'a throwing callback',
      );
      equal(await snapshot(db, [p]), before, 'after the rollback');
    }),

    defineCase('claim: rows too large for one statement give the same result', async ({ db }) => {
      const p = partition();
      const big = Math.min(8.5 * 1024 * 1024, MAX_VALUE_BYTES);
      await putAll(db, CLAIMS, [{ partition: p, sort: u8(1), value: u8(1) }]);
      const won = await db.transaction((tx) =>
        tx.claimMany(
          CLAIMS,
          [
            { partition: p, sort: u8(1), value: u8(9) },
            { partition: p, sort: u8(2), value: u8(2) },
          ],
          {
            table: BEHIND,
            rows: [
              { partition: p, sort: u8(1), value: pattern(1000, 1) },
              { partition: p, sort: u8(2), value: pattern(big, 2) },
              { partition: p, sort: u8(3), value: pattern(big, 3) },
            ],
            claims: [0, 1, 1],
          },
        ),
      );
      flags(won, [false, true], '17 MiB behind two claims');
      await read(db, async (tx) => {
        equal(await tx.get(BEHIND, p, u8(1)), undefined, 'the row behind the lost claim');
        row(await tx.get(BEHIND, p, u8(2)), { partition: p, sort: u8(2), value: pattern(big, 2) }, 'row 2');
        row(await tx.get(BEHIND, p, u8(3)), { partition: p, sort: u8(3), value: pattern(big, 3) }, 'row 3');
      });
    }),

    defineCase(
      'single: a single-call transaction commits its call; a second call is refused',
      async ({ db }) => {
        const p = partition();
        const won = await db.transaction(
          (tx) =>
            tx.claimMany(CLAIMS, [{ partition: p, sort: u8(1), value: u8(1) }], {
              table: BEHIND,
              rows: [{ partition: p, sort: u8(1), value: u8(2) }],
              claims: [0],
            }),
          { single: true },
        );
        flags(won, [true], 'claimMany alone');
        const lost = await db.transaction(
          (tx) =>
            tx.claimMany(CLAIMS, [{ partition: p, sort: u8(1), value: u8(3) }], {
              table: BEHIND,
              rows: [{ partition: p, sort: u8(2), value: u8(4) }],
              claims: [0],
            }),
          { single: true },
        );
        flags(lost, [false], 'the same claim alone again');
        await db.transaction((tx) => tx.putMany(BEHIND, [{ partition: p, sort: u8(5), value: u8(5) }]), {
          single: true,
        });
        const seen = await db.transaction((tx) => tx.get(BEHIND, p, u8(5)), { single: true, readOnly: true });
        row(seen, { partition: p, sort: u8(5), value: u8(5) }, 'a single read-only get');
        const deleted = await db.transaction(
          (tx) =>
            tx.deleteMany(BEHIND, [
              { partition: p, sort: u8(5) },
              { partition: p, sort: u8(6) },
            ]),
          { single: true },
        );
        flags(deleted, [true, false], 'deleteMany alone');
        await read(db, async (tx) => {
          row(await tx.get(CLAIMS, p, u8(1)), { partition: p, sort: u8(1), value: u8(1) }, 'the claim');
          row(
            await tx.get(BEHIND, p, u8(1)),
            { partition: p, sort: u8(1), value: u8(2) },
            'the row behind it',
          );
          equal(await tx.get(BEHIND, p, u8(2)), undefined, 'nothing behind the lost claim');
          equal(await tx.count(BEHIND, p), 1, 'rows left');
        });
        // Large rows: several statements where the backend has statements, still one call.
        const big = Math.min(9 * 1024 * 1024, MAX_VALUE_BYTES);
        await db.transaction(
          (tx) =>
            tx.putMany(BEHIND, [
              { partition: p, sort: u8(7), value: pattern(big, 7) },
              { partition: p, sort: u8(8), value: pattern(big, 8) },
            ]),
          { single: true },
        );
        equal(await read(db, (tx) => tx.count(BEHIND, p)), 3, 'rows after a large single putMany');
        const second = await rejects(
          () =>
            db.transaction(
              async (tx) => {
                await tx.get(BEHIND, p, u8(1));
                await tx.put(BEHIND, { partition: p, sort: u8(9), value: u8(9) });
              },
              { single: true },
            ),
          'a second call in a single-call transaction',
          STORAGE,
        );
        check(second instanceof Error, 'the refusal is an Error');
        equal(
          await read(db, (tx) => tx.get(BEHIND, p, u8(9))),
          undefined,
          'the refused second call wrote nothing',
        );
      },
    ),
  ];
}
