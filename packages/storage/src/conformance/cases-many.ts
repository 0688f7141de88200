/**
 * Cases about the batch operations `putMany`, `getMany` and `deleteMany`: each must behave
 * exactly like its single-row operation called once per row in the same transaction (results,
 * `ifAbsent`, expiry at `tx.now`, own writes), over rows of several partitions; an empty call
 * does nothing; duplicate keys (put, delete), more than `MAX_BATCH_ROWS` rows and a bad row at
 * any index are refused with the single call's `ValidationError` (naming the index) before
 * anything is written; a transaction that throws undoes them.
 *
 * @module
 */
import {
  MAX_BATCH_ROWS,
  MAX_KEY_BYTES,
  MAX_LIST_LIMIT,
  MAX_VALUE_BYTES,
  type Row,
  type RowInput,
  type RowKey,
  type StorageAdapter,
  type StorageTx,
} from '../adapter.js';
import { check, compareUnsigned, equal, fail, rejects, rejectsWithSame, row, show } from './_expect.js';
import { be32, type Clock, defineCase, partition, putAll, read, sleep, T0, u8, within } from './_harness.js';
import type { ConformanceCase } from './index.js';

const T = 'conf_many';
const STORAGE = { code: 'ERR_STORAGE' } as const;

class Deliberate extends Error {
  constructor() {
    super('conformance: deliberate failure inside a transaction');
    this.name = 'Deliberate';
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Fails unless `actual` is an array of exactly the booleans `expected`. */
function flags(actual: unknown, expected: readonly boolean[], what: string): void {
  if (!Array.isArray(actual)) fail(`${what}: expected an array, got ${show(actual)}`);
  equal(actual.length, expected.length, `${what}: length of the result`);
  for (const [i, want] of expected.entries()) equal(actual[i], want, `${what}: result[${i}]`);
}

/** Fails unless `actual` is an array of `expected.length` rows or `undefined`s equal to `expected`. */
function rows(actual: unknown, expected: readonly (Row | undefined)[], what: string): void {
  if (!Array.isArray(actual)) fail(`${what}: expected an array, got ${show(actual)}`);
  equal(actual.length, expected.length, `${what}: length of the result`);
  for (const [i, want] of expected.entries()) {
    if (want === undefined) equal(actual[i], undefined, `${what}: result[${i}]`);
    else row(actual[i] as Row | undefined, want, `${what}: result[${i}]`);
  }
}

/**
 * Every row of the partitions, expired ones included (read with the clock at `T0`, before any
 * row of these cases expires), in a canonical text form that does not depend on list order.
 */
async function state(db: StorageAdapter, clock: Clock, partitions: readonly Uint8Array[]): Promise<string> {
  const saved = clock.now();
  clock.set(T0);
  try {
    return await read(db, async (tx) => {
      const out: string[] = [];
      for (const [i, p] of partitions.entries()) {
        const listed = await tx.list(T, p, { limit: MAX_LIST_LIMIT });
        listed.sort((a, b) => compareUnsigned(a.sort, b.sort));
        for (const r of listed) out.push(`p${i}/${hex(r.sort)}=${hex(r.value)}@${r.expiresAt}`);
      }
      return out.join(' ');
    });
  } finally {
    clock.set(saved);
  }
}

/** A batch operation and the single-row calls it must equal, over a set of partitions. */
type Key = readonly [partitionIndex: number, sort: number];
type RowSpec = readonly [partitionIndex: number, sort: number, value: number, expiresAt?: number | null];

function keyOf(ps: readonly Uint8Array[], [i, s]: Key): RowKey {
  return { partition: ps[i] as Uint8Array, sort: u8(s) };
}

function rowOf(ps: readonly Uint8Array[], [i, s, v, e]: RowSpec): RowInput {
  return { partition: ps[i] as Uint8Array, sort: u8(s), value: u8(v, v), expiresAt: e ?? null };
}

/** The same row read from the twin partitions: only the partition differs. */
function twin(r: Row | undefined, partition: Uint8Array): Row | undefined {
  return r === undefined ? undefined : { ...r, partition };
}

/** Runs one batch call on partitions `a` and the single calls on `b` in `tx`, comparing results. */
async function mirror(
  tx: StorageTx,
  a: readonly Uint8Array[],
  b: readonly Uint8Array[],
  step:
    | { op: 'get' | 'delete'; keys: readonly Key[] }
    | { op: 'put'; rows: readonly RowSpec[]; ifAbsent: boolean },
  what: string,
): Promise<void> {
  if (step.op === 'put') {
    const options = step.ifAbsent ? { ifAbsent: true } : undefined;
    const many = await tx.putMany(
      T,
      step.rows.map((r) => rowOf(a, r)),
      options,
    );
    const single: boolean[] = [];
    for (const r of step.rows) single.push(await tx.put(T, rowOf(b, r), options));
    flags(many, single, `${what}: putMany${step.ifAbsent ? ' ifAbsent' : ''} against put`);
  } else if (step.op === 'get') {
    const many = await tx.getMany(
      T,
      step.keys.map((k) => keyOf(a, k)),
    );
    const single: (Row | undefined)[] = [];
    for (const k of step.keys) {
      const key = keyOf(b, k);
      single.push(twin(await tx.get(T, key.partition, key.sort), keyOf(a, k).partition));
    }
    rows(many, single, `${what}: getMany against get`);
  } else {
    const many = await tx.deleteMany(
      T,
      step.keys.map((k) => keyOf(a, k)),
    );
    const single: boolean[] = [];
    for (const k of step.keys) {
      const key = keyOf(b, k);
      single.push(await tx.delete(T, key.partition, key.sort));
    }
    flags(many, single, `${what}: deleteMany against delete`);
  }
}

/** Three partitions with rows 1 (live), 2 (expires T0+10), 3 (expires T0+20) in the first two. */
async function seed(db: StorageAdapter): Promise<Uint8Array[]> {
  const ps = [partition(), partition(), partition()];
  await putAll(
    db,
    T,
    [0, 1].flatMap((i) => [
      rowOf(ps, [i, 1, 0x10 + i]),
      rowOf(ps, [i, 2, 0x20 + i, T0 + 10]),
      rowOf(ps, [i, 3, 0x30 + i, T0 + 20]),
    ]),
  );
  return ps;
}

export function manyCases(): ConformanceCase[] {
  return [
    defineCase(
      'many: putMany, getMany and deleteMany equal put, get and delete per row',
      async ({ db, clock }) => {
        const a = await seed(db);
        const b = await seed(db);
        clock.set(T0 + 10); // row 2 has expired, row 3 has not
        const everyKey: Key[] = [];
        for (const i of [0, 1, 2]) for (const s of [1, 2, 3, 4, 5]) everyKey.push([i, s]);
        const steps: Parameters<typeof mirror>[3][] = [
          {
            op: 'get',
            keys: [
              [0, 1],
              [0, 2],
              [0, 3],
              [0, 4],
              [1, 1],
              [0, 1],
              [2, 1],
              [1, 3],
              [1, 1],
            ],
          },
          {
            op: 'put',
            ifAbsent: true,
            rows: [
              [0, 1, 0x91],
              [0, 2, 0x92, T0 + 500],
              [0, 4, 0x94],
              [1, 3, 0x93],
              [2, 1, 0x95, T0 + 10],
            ],
          },
          { op: 'get', keys: everyKey },
          {
            op: 'put',
            ifAbsent: false,
            rows: [
              [1, 1, 0x81, T0 + 30],
              [1, 2, 0x82],
              [0, 5, 0x85, T0 + 5],
              [2, 2, 0x86, null],
              [0, 3, 0x83],
            ],
          },
          { op: 'get', keys: everyKey },
          {
            op: 'delete',
            keys: [
              [0, 1],
              [0, 3],
              [1, 2],
              [1, 4],
              [0, 5],
              [2, 1],
              [1, 3],
            ],
          },
          { op: 'get', keys: everyKey },
          {
            op: 'put',
            ifAbsent: true,
            rows: [
              [0, 5, 0x75],
              [0, 1, 0x71],
              [1, 2, 0x72],
              [2, 3, 0x73],
            ],
          },
        ];
        // Each step in its own transaction, then all of them again in one (own writes).
        for (const [n, step] of steps.entries()) {
          await db.transaction((tx) => mirror(tx, a, b, step, `step ${n + 1}`));
          equal(await state(db, clock, a), await state(db, clock, b), `rows after step ${n + 1}`);
        }
        const a2 = await seed(db);
        const b2 = await seed(db);
        await db.transaction(async (tx) => {
          for (const [n, step] of steps.entries())
            await mirror(tx, a2, b2, step, `step ${n + 1} in one transaction`);
        });
        equal(
          await state(db, clock, a2),
          await state(db, clock, b2),
          'rows after every step in one transaction',
        );
      },
    ),

    defineCase('many: putMany ifAbsent over live, expired and missing rows', async ({ db, clock }) => {
      const p = partition();
      await putAll(db, T, [
        { partition: p, sort: u8(1), value: u8(1) },
        { partition: p, sort: u8(2), value: u8(2), expiresAt: T0 + 100 },
        { partition: p, sort: u8(3), value: u8(3), expiresAt: T0 + 101 },
      ]);
      clock.set(T0 + 100);
      const input = [1, 2, 3, 4].map((s) => ({
        partition: p,
        sort: u8(s),
        value: u8(s, 9),
        expiresAt: T0 + 1000,
      }));
      await db.transaction(async (tx) => {
        flags(
          await tx.putMany(T, input, { ifAbsent: true }),
          [false, true, false, true],
          'putMany ifAbsent over a live row, an expired row, a row expiring 1 ms later and no row',
        );
        flags(
          await tx.putMany(T, [input[3] as RowInput, { partition: p, sort: u8(5), value: u8(5) }], {
            ifAbsent: true,
          }),
          [false, true],
          'putMany ifAbsent over a row written earlier in the same transaction, and a new one',
        );
      });
      await read(db, async (tx) => {
        rows(
          await tx.getMany(
            T,
            [1, 2, 3, 4, 5].map((s) => ({ partition: p, sort: u8(s) })),
          ),
          [
            { partition: p, sort: u8(1), value: u8(1), expiresAt: null },
            { partition: p, sort: u8(2), value: u8(2, 9), expiresAt: T0 + 1000 },
            { partition: p, sort: u8(3), value: u8(3), expiresAt: T0 + 101 },
            { partition: p, sort: u8(4), value: u8(4, 9), expiresAt: T0 + 1000 },
            { partition: p, sort: u8(5), value: u8(5), expiresAt: null },
          ],
          'rows after putMany ifAbsent',
        );
      });
      await db.transaction(async (tx) => {
        flags(
          await tx.putMany(T, input),
          [true, true, true, true],
          'putMany without ifAbsent over the same rows',
        );
      });
      rows(
        await read(db, (tx) => tx.getMany(T, input)),
        input.map((r) => ({ ...r })),
        'rows after putMany without ifAbsent',
      );
    }),

    defineCase(
      'many: one call over rows of several partitions, results in call order',
      async ({ db, clock }) => {
        const ps = [partition(), partition(), partition(), new Uint8Array(0)];
        const input: RowInput[] = [];
        for (let i = 0; i < 40; i++) {
          const p = ps[(i * 7) % ps.length] as Uint8Array;
          input.push({
            partition: p,
            sort: be32(1000 - i),
            value: be32(i),
            expiresAt: i % 5 === 0 ? T0 + 10 : null,
          });
        }
        await db.transaction(async (tx) => {
          flags(
            await tx.putMany(T, input),
            input.map(() => true),
            'putMany over four partitions',
          );
        });
        await read(db, async (tx) => {
          for (const [j, p] of ps.entries()) {
            equal(
              await tx.count(T, p),
              input.filter((r) => r.partition === p).length,
              `count of partition ${j}`,
            );
          }
        });
        const keys: RowKey[] = [...input].reverse();
        keys.push(
          { partition: partition(), sort: be32(1) },
          { partition: ps[0] as Uint8Array, sort: be32(1) },
        );
        rows(
          await read(db, (tx) => tx.getMany(T, keys)),
          [
            ...[...input].reverse().map((r) => ({ ...r, expiresAt: r.expiresAt ?? null })),
            undefined,
            undefined,
          ],
          'getMany in reverse order with two absent keys',
        );
        clock.set(T0 + 10);
        const deleted = await db.transaction((tx) => tx.deleteMany(T, keys));
        flags(
          deleted,
          [...[...input].reverse().map((r) => r.expiresAt === null), false, false],
          'deleteMany of them',
        );
        clock.set(T0);
        for (const [j, p] of ps.entries())
          equal(await read(db, (tx) => tx.count(T, p)), 0, `rows left in partition ${j}`);
      },
    ),

    defineCase('many: an empty call resolves [] and changes nothing', async ({ db, clock }) => {
      const ps = await seed(db);
      const before = await state(db, clock, ps);
      await db.transaction(async (tx) => {
        flags(await tx.putMany(T, []), [], 'putMany([])');
        flags(await tx.putMany(T, [], { ifAbsent: true }), [], 'putMany([], { ifAbsent: true })');
        rows(await tx.getMany(T, []), [], 'getMany([])');
        flags(await tx.deleteMany(T, []), [], 'deleteMany([])');
        flags(await tx.putMany('conf_many_new', []), [], 'putMany([]) into a table with no rows');
      });
      rows(await read(db, (tx) => tx.getMany(T, [])), [], 'getMany([]) in a read-only transaction');
      equal(await state(db, clock, ps), before, 'rows after empty calls');
    }),

    defineCase(
      'many: duplicate keys: putMany and deleteMany refuse them and change nothing, getMany answers each',
      async ({ db, clock }) => {
        const ps = await seed(db);
        const [p, q] = ps as [Uint8Array, Uint8Array];
        const before = await state(db, clock, ps);
        const dupRows: RowInput[] = [
          { partition: p, sort: u8(9), value: u8(9) },
          { partition: p, sort: u8(1), value: u8(7) },
          { partition: q, sort: u8(1), value: u8(7) },
          { partition: p, sort: u8(1).slice(), value: u8(8) },
        ];
        for (const ifAbsent of [false, true]) {
          await rejects(
            () => db.transaction((tx) => tx.putMany(T, dupRows, { ifAbsent })),
            `putMany with rows[3] keyed like rows[1] (ifAbsent ${ifAbsent})`,
            { code: 'ERR_VALIDATION', field: 'rows[3]' },
          );
        }
        await rejects(
          () =>
            db.transaction((tx) =>
              tx.deleteMany(T, [
                { partition: p, sort: u8(2) },
                { partition: q, sort: u8(2) },
                { partition: p, sort: u8(3) },
                { partition: p.slice(), sort: u8(2) },
              ]),
            ),
          'deleteMany with keys[3] equal to keys[0]',
          { code: 'ERR_VALIDATION', field: 'keys[3]' },
        );
        equal(await state(db, clock, ps), before, 'rows after refused duplicate keys');
        const got = await read(db, (tx) =>
          tx.getMany(T, [
            { partition: p, sort: u8(1) },
            { partition: p, sort: u8(9) },
            { partition: p, sort: u8(1) },
          ]),
        );
        const expected = { partition: p, sort: u8(1), value: u8(0x10, 0x10), expiresAt: null };
        rows(got, [expected, undefined, expected], 'getMany with a key asked twice');
        check(got[0] !== got[2], 'getMany returned the same row object for both copies of a key');
        (got[0] as Row).value.fill(0);
        row(got[2], expected, 'the second copy after mutating the first');
      },
    ),

    defineCase(
      `many: more than ${MAX_BATCH_ROWS} rows or keys are refused, ${MAX_BATCH_ROWS} are accepted`,
      async ({ db, clock }) => {
        const p = partition();
        const input = Array.from({ length: MAX_BATCH_ROWS + 1 }, (_, i) => ({
          partition: p,
          sort: be32(i),
          value: be32(i),
        }));
        await rejects(
          () => db.transaction((tx) => tx.putMany(T, input)),
          `putMany of ${MAX_BATCH_ROWS + 1} rows`,
          {
            code: 'ERR_VALIDATION',
            field: 'rows',
          },
        );
        await rejects(
          () => db.transaction((tx) => tx.getMany(T, input)),
          `getMany of ${MAX_BATCH_ROWS + 1} keys`,
          {
            code: 'ERR_VALIDATION',
            field: 'keys',
          },
        );
        await rejects(
          () => db.transaction((tx) => tx.deleteMany(T, input)),
          `deleteMany of ${MAX_BATCH_ROWS + 1} keys`,
          {
            code: 'ERR_VALIDATION',
            field: 'keys',
          },
        );
        const calls: [string, (tx: StorageTx, v: unknown) => Promise<unknown>][] = [
          ['rows', (tx, v) => tx.putMany(T, v as RowInput[])],
          ['keys', (tx, v) => tx.getMany(T, v as RowKey[])],
          ['keys', (tx, v) => tx.deleteMany(T, v as RowKey[])],
        ];
        for (const [field, call] of calls) {
          for (const bad of [undefined, null, 'rows', { length: 1, 0: input[0] }, input[0]]) {
            await rejects(() => db.transaction((tx) => call(tx, bad)), `${show(bad)} instead of an array`, {
              code: 'ERR_VALIDATION',
              field,
            });
          }
        }
        equal(await read(db, (tx) => tx.count(T, p)), 0, 'rows after refused calls');
        const full = input.slice(0, MAX_BATCH_ROWS);
        flags(
          await db.transaction((tx) => tx.putMany(T, full)),
          full.map(() => true),
          `putMany of ${MAX_BATCH_ROWS} rows`,
        );
        const got = await read(db, (tx) => tx.getMany(T, full));
        rows(
          got,
          full.map((r) => ({ ...r, expiresAt: null })),
          `getMany of ${MAX_BATCH_ROWS} keys`,
        );
        clock.advance(1);
        flags(
          await db.transaction((tx) => tx.deleteMany(T, full)),
          full.map(() => true),
          `deleteMany of ${MAX_BATCH_ROWS} keys`,
        );
        equal(await read(db, (tx) => tx.count(T, p)), 0, 'rows after deleting them all');
      },
    ),

    defineCase(
      'many: a bad row or key at any index is refused as the single call refuses it, nothing changed',
      async ({ db, clock }) => {
        const ps = await seed(db);
        const p = ps[0] as Uint8Array;
        const before = await state(db, clock, ps);
        const good = (s: number): RowInput => ({ partition: p, sort: u8(s, 0x42), value: u8(s) });
        const big = new Uint8Array(MAX_KEY_BYTES + 1);
        const badRows: [string, unknown][] = [
          ['partition', { partition: big, sort: u8(1), value: u8(1) }],
          ['sort', { partition: p, sort: 'ab', value: u8(1) }],
          ['value', { partition: p, sort: u8(1), value: new Int8Array(1) }],
          ['expiresAt', { partition: p, sort: u8(1), value: u8(1), expiresAt: -1 }],
          ['', null],
          ['', 7],
        ];
        for (const at of [0, 3]) {
          for (const [field, bad] of badRows) {
            const input = [good(1), good(2), good(3), good(4)] as unknown[];
            input[at] = bad;
            // The single call's error, with the field named under the index.
            const single = (await rejects(
              () => db.transaction((tx) => tx.put(T, bad as RowInput)),
              `put of a row with a bad ${field || 'row'}`,
              { code: 'ERR_VALIDATION' },
            )) as Error & { field: string };
            const name = field === '' ? `rows[${at}]` : `rows[${at}].${field}`;
            const many = (await rejects(
              () => db.transaction((tx) => tx.putMany(T, input as RowInput[], { ifAbsent: at === 3 })),
              `putMany with a bad ${field || 'row'} at index ${at}`,
              { code: 'ERR_VALIDATION', field: name },
            )) as Error;
            equal(many.message, `${name}${single.message.slice(single.field.length)}`, `message of ${name}`);
          }
        }
        const huge = { partition: p, sort: u8(1), value: new Uint8Array(MAX_VALUE_BYTES + 1) };
        await rejects(
          () => db.transaction((tx) => tx.putMany(T, [good(1), huge])),
          'putMany with a value over MAX_VALUE_BYTES at index 1',
          { code: 'ERR_VALIDATION', field: 'rows[1].value' },
        );
        const sparse: RowInput[] = [good(1), good(2)];
        sparse[3] = good(3);
        await rejects(
          () => db.transaction((tx) => tx.putMany(T, sparse)),
          'putMany of a sparse array (hole at index 2)',
          {
            code: 'ERR_VALIDATION',
            field: 'rows[2]',
          },
        );
        const badKeys: [string, unknown][] = [
          ['partition', { partition: [1], sort: u8(1) }],
          ['sort', { partition: p, sort: big }],
          ['', undefined],
          ['', 'key'],
        ];
        const existing = [1, 2, 3].map((s) => ({ partition: p, sort: u8(s) }));
        for (const [field, bad] of badKeys) {
          const name = field === '' ? 'keys[2]' : `keys[2].${field}`;
          for (const op of ['getMany', 'deleteMany'] as const) {
            const keys = [...existing] as unknown[];
            keys[2] = bad;
            await rejects(
              () =>
                db.transaction(
                  (tx): Promise<unknown> =>
                    op === 'getMany' ? tx.getMany(T, keys as RowKey[]) : tx.deleteMany(T, keys as RowKey[]),
                ),
              `${op} with a bad ${field || 'key'} at index 2`,
              { code: 'ERR_VALIDATION', field: name },
            );
          }
        }
        for (const table of ['', 'Conf_many', 5]) {
          await rejects(
            () => db.transaction((tx) => tx.putMany(table as string, [good(1)])),
            `putMany into table ${show(table)}`,
            {
              code: 'ERR_VALIDATION',
              field: 'table',
            },
          );
          await rejects(
            () => db.transaction((tx) => tx.getMany(table as string, existing)),
            `getMany from table ${show(table)}`,
            {
              code: 'ERR_VALIDATION',
              field: 'table',
            },
          );
          await rejects(
            () => db.transaction((tx) => tx.deleteMany(table as string, existing)),
            `deleteMany from table ${show(table)}`,
            {
              code: 'ERR_VALIDATION',
              field: 'table',
            },
          );
        }
        equal(await state(db, clock, ps), before, 'rows after refused calls');
        // A refused call caught inside a transaction leaves it usable and unchanged.
        await db.transaction(async (tx) => {
          await rejects(
            () => tx.putMany(T, [good(5), { ...good(6), sort: big }]),
            'putMany caught in the transaction',
            {
              code: 'ERR_VALIDATION',
              field: 'rows[1].sort',
            },
          );
          await rejects(
            () => tx.deleteMany(T, [...existing, null as unknown as RowKey]),
            'deleteMany caught in the transaction',
            {
              code: 'ERR_VALIDATION',
              field: 'keys[3]',
            },
          );
          rows(
            await tx.getMany(T, [good(5)]),
            [undefined],
            'row 0 of the refused putMany, in the same transaction',
          );
          flags(await tx.putMany(T, [good(5)]), [true], 'putMany after the refused calls');
        });
        equal(await read(db, (tx) => tx.count(T, p)), 4, 'rows after the transaction that caught refusals');
      },
    ),

    defineCase('many: a transaction that throws undoes putMany and deleteMany', async ({ db, clock }) => {
      const ps = await seed(db);
      const [p, q] = ps as [Uint8Array, Uint8Array];
      const before = await state(db, clock, ps);
      const boom = new Deliberate();
      await rejectsWithSame(
        db.transaction(async (tx) => {
          await tx.putMany(T, [
            { partition: p, sort: u8(1), value: u8(0xee) },
            { partition: q, sort: u8(9), value: u8(0xee) },
            { partition: ps[2] as Uint8Array, sort: u8(9), value: u8(0xee), expiresAt: T0 + 5 },
          ]);
          await tx.putMany(T, [{ partition: p, sort: u8(8), value: u8(0xee) }], { ifAbsent: true });
          await tx.deleteMany(T, [
            { partition: p, sort: u8(2) },
            { partition: q, sort: u8(1) },
            { partition: q, sort: u8(3) },
          ]);
          await tx.putMany('conf_many_other', [{ partition: p, sort: u8(1), value: u8(1) }]);
          throw boom;
        }),
        boom,
        'transaction that throws after putMany and deleteMany',
      );
      equal(await state(db, clock, ps), before, 'rows after the rollback');
      rows(
        await read(db, (tx) => tx.getMany('conf_many_other', [{ partition: p, sort: u8(1) }])),
        [undefined],
        'row of another table written before the throw',
      );
    }),

    defineCase('many: expiry is judged at tx.now, at the millisecond', async ({ db, clock }) => {
      const p = partition();
      const at = T0 + 1000;
      const keys = [at - 1, at, at + 1, null].map((_, i) => ({ partition: p, sort: u8(i) }));
      const write = (value: number): RowInput[] =>
        [at - 1, at, at + 1, null].map((expiresAt, i) => ({
          partition: p,
          sort: u8(i),
          value: u8(value),
          expiresAt,
        }));
      await db.transaction((tx) => tx.putMany(T, write(1)));
      clock.set(at);
      await db.transaction(async (tx) => {
        clock.set(at + 5000); // the clock moving during the transaction changes nothing
        rows(
          await tx.getMany(T, keys),
          [undefined, undefined, { ...(write(1)[2] as Row) }, { ...(write(1)[3] as Row) }],
          'getMany at now: rows expiring before, at, after now and never',
        );
        flags(
          await tx.putMany(T, write(2), { ifAbsent: true }),
          [true, true, false, false],
          'putMany ifAbsent at now',
        );
      });
      clock.set(at);
      rows(
        await read(db, (tx) => tx.getMany(T, keys)),
        [undefined, undefined, { ...(write(1)[2] as Row) }, { ...(write(1)[3] as Row) }],
        'getMany after putMany ifAbsent replaced the expired rows with rows as expired',
      );
      clock.set(T0);
      rows(
        await read(db, (tx) => tx.getMany(T, keys)),
        [
          { ...(write(2)[0] as Row) },
          { ...(write(2)[1] as Row) },
          { ...(write(1)[2] as Row) },
          { ...(write(1)[3] as Row) },
        ],
        'getMany with the clock back: the replaced rows',
      );
      clock.set(at);
      flags(
        await db.transaction((tx) => tx.deleteMany(T, keys)),
        [false, false, true, true],
        'deleteMany at now',
      );
      clock.set(T0);
      rows(
        await read(db, (tx) => tx.getMany(T, keys)),
        [undefined, undefined, undefined, undefined],
        'expired rows are deleted too',
      );
      flags(
        await db.transaction((tx) =>
          tx.putMany(T, [{ partition: p, sort: u8(7), value: u8(7), expiresAt: T0 }]),
        ),
        [true],
        'putMany of a row written already expired',
      );
      rows(
        await read(db, (tx) => tx.getMany(T, [{ partition: p, sort: u8(7) }])),
        [undefined],
        'getMany of it',
      );
    }),

    defineCase('many: own writes are visible, inputs and results are copies', async ({ db }) => {
      const p = partition();
      const value = u8(1, 2, 3);
      const sort = u8(5);
      await db.transaction(async (tx) => {
        await tx.putMany(T, [{ partition: p, sort, value }]);
        value[0] = 0x99;
        sort[0] = 0x42;
        rows(
          await tx.getMany(T, [{ partition: p, sort: u8(5) }]),
          [{ partition: p, sort: u8(5), value: u8(1, 2, 3), expiresAt: null }],
          'getMany of a row putMany wrote in the transaction',
        );
        flags(await tx.deleteMany(T, [{ partition: p, sort: u8(5) }]), [true], 'deleteMany of it');
        rows(await tx.getMany(T, [{ partition: p, sort: u8(5) }]), [undefined], 'getMany after deleteMany');
        await tx.put(T, { partition: p, sort: u8(5), value: u8(4) });
        const got = await tx.getMany(T, [{ partition: p, sort: u8(5) }]);
        (got[0] as Row).value.fill(0);
        rows(
          await tx.getMany(T, [{ partition: p, sort: u8(5) }]),
          [{ partition: p, sort: u8(5), value: u8(4), expiresAt: null }],
          'getMany after mutating what getMany returned',
        );
      });
      equal(await read(db, (tx) => tx.count(T, p)), 1, 'rows after the transaction');
    }),

    defineCase(
      'many: a finished transaction rejects putMany, getMany and deleteMany with ERR_STORAGE',
      async ({ db }) => {
        const p = partition();
        await putAll(db, T, [{ partition: p, sort: u8(1), value: u8(1) }]);
        let committed: StorageTx | undefined;
        await db.transaction(async (tx) => {
          committed = tx;
        });
        if (committed === undefined) return fail('the callback did not receive a transaction');
        const done = committed;
        await rejects(
          () => done.putMany(T, [{ partition: p, sort: u8(2), value: u8(2) }]),
          'putMany',
          STORAGE,
        );
        await rejects(() => done.getMany(T, [{ partition: p, sort: u8(1) }]), 'getMany', STORAGE);
        await rejects(() => done.deleteMany(T, [{ partition: p, sort: u8(1) }]), 'deleteMany', STORAGE);
        equal(await read(db, (tx) => tx.count(T, p)), 1, 'rows after using a finished transaction');
      },
    ),

    defineCase('many: concurrent putMany ifAbsent of the same keys write each key once', async ({ db }) => {
      const p = partition();
      const n = 8;
      // 32 keys: every odd stride below is a permutation of them.
      const keys = Array.from({ length: 32 }, (_, i) => be32(i));
      const attempts = Array.from({ length: n }, (_, t) =>
        db.transaction(async (tx) => {
          await sleep(t % 2);
          // Each writer lists the keys in another order.
          const order = keys.map((_, i) => keys[(i * (2 * t + 1)) % keys.length] as Uint8Array);
          const written = await tx.putMany(
            T,
            order.map((sort) => ({ partition: p, sort, value: u8(t) })),
            { ifAbsent: true },
          );
          return order.map((sort, i) => [sort[3] as number, written[i] === true] as const);
        }),
      );
      const results = await within(Promise.all(attempts), 60_000, `${n} concurrent putMany ifAbsent`);
      const winner = new Map<number, number[]>();
      for (const [t, pairs] of results.entries()) {
        for (const [k, won] of pairs) if (won) winner.set(k, [...(winner.get(k) ?? []), t]);
      }
      const stored = await read(db, (tx) =>
        tx.getMany(
          T,
          keys.map((sort) => ({ partition: p, sort })),
        ),
      );
      for (const [i, sort] of keys.entries()) {
        const won = winner.get(i) ?? [];
        equal(won.length, 1, `writers that resolved true for key ${i} (${show(won)})`);
        row(stored[i], { partition: p, sort, value: u8(won[0] as number) }, `row ${i} after the race`);
      }
    }),
  ];
}
