/**
 * The conformance suite must be able to fail: deliberately broken adapters (wrappers around the
 * memory adapter) must fail the cases that check what they break, and pass unrelated ones.
 */
import { describe, expect, test } from 'vitest';
import type { ListOptions, Row, StorageAdapter, StorageTx, TakeOptions } from '../src/adapter.js';
import {
  ConformanceFailure,
  type ConformanceReport,
  type ConformanceTarget,
  conformanceCases,
  runConformance,
} from '../src/conformance/index.js';
import { createMemoryAdapter } from '../src/index.js';

type TxOverrides = (inner: StorageTx, now: number) => Partial<StorageTx>;

/** A memory adapter whose transactions are the inner ones with some methods replaced. */
function broken(
  name: string,
  overrides: TxOverrides,
  wrap?: (db: StorageAdapter, clock: () => number) => Partial<StorageAdapter>,
  innerClock?: (now: () => number) => () => number,
): ConformanceTarget {
  return {
    name,
    open: async ({ now }) => {
      const inner = createMemoryAdapter({ now: innerClock === undefined ? now : innerClock(now) });
      const adapter: StorageAdapter = {
        kind: 'broken',
        now,
        transaction: (fn, options) =>
          inner.transaction((tx) => {
            const t = now();
            const o = overrides(tx, t);
            const facade: StorageTx = {
              now: t,
              get: o.get ?? ((...a) => tx.get(...a)),
              put: o.put ?? ((...a) => tx.put(...a)),
              delete: o.delete ?? ((...a) => tx.delete(...a)),
              putMany: o.putMany ?? ((...a) => tx.putMany(...a)),
              getMany: o.getMany ?? ((...a) => tx.getMany(...a)),
              deleteMany: o.deleteMany ?? ((...a) => tx.deleteMany(...a)),
              claimMany: o.claimMany ?? ((...a) => tx.claimMany(...a)),
              list: o.list ?? ((...a) => tx.list(...a)),
              take: o.take ?? ((...a) => tx.take(...a)),
              count: o.count ?? ((...a) => tx.count(...a)),
              usage: o.usage ?? ((...a) => tx.usage(...a)),
              deletePartition: o.deletePartition ?? ((...a) => tx.deletePartition(...a)),
            };
            return fn(facade);
          }, options),
        purgeExpired: (options) => inner.purgeExpired(options),
        close: () => inner.close(),
      };
      return { ...adapter, ...wrap?.(inner, now) };
    },
  };
}

function failedNames(report: ConformanceReport): string[] {
  return report.results.filter((r) => !r.ok).map((r) => r.name);
}

function messageOf(report: ConformanceReport, name: string): string {
  const r = report.results.find((x) => x.name === name);
  expect(r, `case ${name} ran`).toBeDefined();
  return r?.message ?? '';
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  }
  return a.length - b.length;
}

const isLive = (r: Row, now: number) => r.expiresAt === null || r.expiresAt > now;

describe('the conformance suite fails broken adapters', () => {
  test('take that does not delete', async () => {
    const target = broken('take-keeps', (tx) => ({
      take: (table: string, p: Uint8Array, o?: TakeOptions) =>
        tx.list(table, p, { limit: o?.limit ?? 1, ...(o?.prefix === undefined ? {} : { prefix: o.prefix }) }),
    }));
    const report = await runConformance(target, { filter: /^(take:|rows: binary keys)/ });
    const failed = failedNames(report);
    expect(failed).toContain('take: order, limit and prefix; taken rows are gone');
    expect(failed).toContain('take: 16 concurrent takers over 100 rows get each row exactly once');
    expect(failed).not.toContain('rows: binary keys round trip');
    const message = messageOf(report, 'take: order, limit and prefix; taken rows are gone');
    expect(message).toMatch(/^take: order, limit and prefix; taken rows are gone: .*expected/);
    expect(message.length).toBeLessThan(400);
  });

  test('list that ignores expiry', async () => {
    // The inner store never expires anything (clock 0); the wrapper judges expiry itself
    // everywhere except in list.
    const target = broken(
      'list-ignores-expiry',
      (tx, now) => ({
        get: async (table, p, s, o) => {
          const r = await tx.get(table, p, s, o);
          return r !== undefined && isLive(r, now) ? r : undefined;
        },
        count: async (table, p, o) =>
          (
            await tx.list(table, p, {
              limit: 10_000,
              ...(o?.prefix === undefined ? {} : { prefix: o.prefix }),
            })
          ).filter((r) => isLive(r, now)).length,
      }),
      (inner, now) => ({
        purgeExpired: (o) => inner.purgeExpired({ ...o, now: o?.now ?? now() }),
      }),
      () => () => 0,
    );
    const report = await runConformance(target, { filter: /^(expiry:|rows: values)/ });
    const failed = failedNames(report);
    expect(failed).toContain('expiry: rows at or past expiresAt are hidden from every read at once');
    expect(failed).not.toContain('rows: values round trip (empty to 1 MiB)');
    expect(messageOf(report, 'expiry: rows at or past expiresAt are hidden from every read at once')).toMatch(
      /list.*expected/,
    );
  });

  test('transaction that does not roll back', async () => {
    const target: ConformanceTarget = {
      name: 'no-rollback',
      open: async ({ now }) => {
        const inner = createMemoryAdapter({ now });
        return {
          kind: 'broken',
          now,
          async transaction(fn, options) {
            let thrown: { error: unknown } | undefined;
            const result = await inner.transaction(async (tx) => {
              try {
                return await fn(tx);
              } catch (error) {
                thrown = { error };
                return undefined as never;
              }
            }, options);
            if (thrown !== undefined) throw thrown.error;
            return result;
          },
          purgeExpired: (o) => inner.purgeExpired(o),
          close: () => inner.close(),
        };
      },
    };
    const report = await runConformance(target, { filter: /^(tx:|take: a rolled back|list: sort keys)/ });
    const failed = failedNames(report);
    expect(failed).toContain(
      'tx: a callback that throws after writes leaves nothing, error rethrown unchanged',
    );
    expect(failed).toContain('take: a rolled back take leaves the rows');
    expect(failed).toContain('tx: no dirty reads (uncommitted writes are invisible to other transactions)');
    expect(failed).not.toContain('list: sort keys in unsigned byte order, shorter prefix first');
  });

  test('transaction that replaces the thrown error', async () => {
    const target: ConformanceTarget = {
      name: 'wraps-errors',
      open: async ({ now }) => {
        const inner = createMemoryAdapter({ now });
        return {
          ...inner,
          kind: 'broken',
          now,
          transaction: (fn, options) =>
            inner.transaction(fn, options).catch((e: unknown) => {
              throw new Error('wrapped', { cause: e });
            }),
          purgeExpired: (o) => inner.purgeExpired(o),
          close: () => inner.close(),
        };
      },
    };
    const report = await runConformance(target, { filter: /^tx: a callback that throws/ });
    expect(report.failed).toBe(1);
    expect(report.results[0]?.message).toMatch(/own error object/);
  });

  test('list in signed byte order', async () => {
    const signed = (a: Uint8Array, b: Uint8Array) => {
      const x = new Int8Array(a.buffer, a.byteOffset, a.length);
      const y = new Int8Array(b.buffer, b.byteOffset, b.length);
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
      }
      return x.length - y.length;
    };
    const target = broken('signed-order', (tx) => ({
      list: async (table: string, p: Uint8Array, o?: ListOptions) => {
        const all = await tx.list(table, p, {
          limit: 10_000,
          ...(o?.prefix === undefined ? {} : { prefix: o.prefix }),
        });
        all.sort((a, b) => signed(a.sort, b.sort));
        if (o?.reverse === true) all.reverse();
        const after = o?.after;
        const rows =
          after === undefined
            ? all
            : all.filter((r) =>
                o?.reverse === true ? signed(r.sort, after) < 0 : signed(r.sort, after) > 0,
              );
        return rows.slice(0, o?.limit ?? 100);
      },
    }));
    const report = await runConformance(target, { filter: /^(list:|rows: put replaces)/ });
    const failed = failedNames(report);
    expect(failed).toContain('list: sort keys in unsigned byte order, shorter prefix first');
    expect(failed).toContain('list: after');
    expect(failed).not.toContain('rows: put replaces the row and its expiry');
  });

  test('list whose after is inclusive (also caught by the random model)', async () => {
    const target = broken('inclusive-after', (tx) => ({
      list: async (table: string, p: Uint8Array, o?: ListOptions) => {
        if (o?.after === undefined) return tx.list(table, p, o);
        const { after, ...rest } = o;
        const rows = await tx.list(table, p, { ...rest, limit: 10_000 });
        const at = rows.findIndex((r) => {
          const c = compare(r.sort, after);
          return o.reverse === true ? c <= 0 : c >= 0;
        });
        return at < 0 ? [] : rows.slice(at, at + (o.limit ?? 100));
      },
    }));
    const report = await runConformance(target, { filter: /^(list: after|list: sort keys|model:)/ });
    const failed = failedNames(report);
    expect(failed).toContain('list: after');
    expect(failed).toContain('model: random operation sequences agree with a reference model');
    expect(failed).not.toContain('list: sort keys in unsigned byte order, shorter prefix first');
    expect(messageOf(report, 'model: random operation sequences agree with a reference model')).toMatch(
      /seed \d+, transaction \d+, step \d+: list after/,
    );
  });

  test('adapter that accepts a negative expiresAt', async () => {
    const target = broken('lax', (tx) => ({
      put: async (table, row, o) => {
        if (row.expiresAt !== undefined && row.expiresAt !== null && row.expiresAt < 0) return true;
        return tx.put(table, row, o);
      },
    }));
    const report = await runConformance(target, { filter: /^validation: bad expiresAt/ });
    expect(report.failed).toBe(1);
    expect(report.results[0]?.message).toMatch(/ERR_VALIDATION/);
  });

  test('adapter that still works after close', async () => {
    const target = broken(
      'never-closes',
      () => ({}),
      (inner) => ({ close: async () => undefined, purgeExpired: (o) => inner.purgeExpired(o) }),
    );
    const report = await runConformance(target, { filter: /^close:/ });
    expect(report.failed).toBe(1);
    expect(report.results[0]?.message).toMatch(/ERR_STORAGE/);
  });

  test('purge that ignores batchSize and abort', async () => {
    const target = broken(
      'purge-all-at-once',
      () => ({}),
      (inner) => ({
        purgeExpired: async (o) => {
          const r = await inner.purgeExpired({
            ...(o?.tables === undefined ? {} : { tables: o.tables }),
            ...(o?.now === undefined ? {} : { now: o.now }),
            batchSize: 10_000,
          });
          if (r.batches > 0) o?.onProgress?.(r);
          return r;
        },
      }),
    );
    const report = await runConformance(target, { filter: /^purge:/ });
    const failed = failedNames(report);
    expect(failed).toContain('purge: deletes exactly the expired rows in batches of batchSize');
    expect(failed).toContain('purge: abort between batches, a later call resumes');
    expect(failed).not.toContain('purge: the tables option limits the purge');
  });

  test('put ifAbsent that treats expired rows as present', async () => {
    const target = broken(
      'ifabsent-sees-expired',
      (tx, now) => ({
        get: async (table, p, s, o) => {
          const r = await tx.get(table, p, s, o);
          return r !== undefined && isLive(r, now) ? r : undefined;
        },
        list: async (table, p, o) => (await tx.list(table, p, o)).filter((r) => isLive(r, now)),
      }),
      undefined,
      () => () => 0,
    );
    const report = await runConformance(target, { filter: /^rows: (put ifAbsent|binary keys)/ });
    expect(failedNames(report)).toEqual(['rows: put ifAbsent']);
    expect(messageOf(report, 'rows: put ifAbsent')).toMatch(
      /ifAbsent over an expired row: expected true, got false/,
    );
  });

  test('get that hands out the same row object every time', async () => {
    const target = broken('aliasing', (tx) => {
      const seen = new Map<string, Row>();
      return {
        get: async (table, p, s, o) => {
          const key = `${table}/${p.join(',')}/${s.join(',')}`;
          const cached = seen.get(key);
          if (cached !== undefined) return cached;
          const r = await tx.get(table, p, s, o);
          if (r !== undefined) seen.set(key, r);
          return r;
        },
      };
    });
    const report = await runConformance(target, { filter: /^copies:/ });
    expect(failedNames(report)).toContain('copies: returned rows are copies');
  });

  test('claimMany that writes what stands behind a lost claim, and a single transaction that allows more calls', async () => {
    const careless = broken('claimMany-writes-all', (tx) => ({
      claimMany: async (table, claims, behind) => {
        const won = await tx.putMany(table, claims, { ifAbsent: true });
        await tx.putMany(behind.table, behind.rows);
        return won;
      },
    }));
    const failed = failedNames(await runConformance(careless, { filter: /^(claim|single):/ }));
    expect(failed).toContain('claim: claims are written where absent, and only what stands behind them');
    // It checks nothing of `behind` either.
    expect(failed).toContain('claim: bad arguments are refused before anything is written');
    expect(failed).not.toContain('claim: a transaction that throws after claimMany undoes it');
    const lenient = broken(
      'single-allows-more',
      () => ({}),
      (inner) => ({ transaction: (fn, options) => inner.transaction(fn, { ...options, single: false }) }),
    );
    expect(failedNames(await runConformance(lenient, { filter: /^single:/ }))).toEqual([
      'single: a single-call transaction commits its call; a second call is refused',
    ]);
  });

  test('batch operations that differ from their single-row operations', async () => {
    // putMany that ignores ifAbsent.
    const overwrites = broken('putMany-overwrites', (tx) => ({
      putMany: (table, rows) => tx.putMany(table, rows),
    }));
    expect(failedNames(await runConformance(overwrites, { filter: /^many:/ }))).toEqual(
      expect.arrayContaining([
        'many: putMany, getMany and deleteMany equal put, get and delete per row',
        'many: putMany ifAbsent over live, expired and missing rows',
        'many: concurrent putMany ifAbsent of the same keys write each key once',
      ]),
    );
    // deleteMany that reports every row it removed, expired ones included.
    const countsExpired = broken('deleteMany-counts-expired', (tx) => ({
      deleteMany: async (table, keys) => {
        const found = await Promise.all(keys.map((k) => tx.list(table, k.partition, { limit: 10_000 })));
        const removed = await tx.deleteMany(table, keys);
        return removed.map((r, i) => r || found[i] !== undefined);
      },
    }));
    const report = await runConformance(countsExpired, { filter: /^many: expiry/ });
    expect(report.failed).toBe(1);
    expect(report.results[0]?.message).toMatch(/deleteMany at now: result\[0\]: expected false, got true/);
    // putMany that writes row by row, so a bad row leaves the rows before it written.
    const partial = broken('putMany-partial', (tx) => ({
      putMany: async (table, rows, options) => {
        const out: boolean[] = [];
        for (const row of rows) out.push(await tx.put(table, row, options));
        return out;
      },
    }));
    const partialFailed = failedNames(await runConformance(partial, { filter: /^many:/ }));
    expect(partialFailed).toEqual(
      expect.arrayContaining([
        'many: a bad row or key at any index is refused as the single call refuses it, nothing changed',
        'many: duplicate keys: putMany and deleteMany refuse them and change nothing, getMany answers each',
        `many: more than 1000 rows or keys are refused, 1000 are accepted`,
      ]),
    );
    expect(partialFailed).not.toContain('many: putMany ifAbsent over live, expired and missing rows');
    // getMany that returns one row object for a key asked twice.
    const shared = broken('getMany-shares', (tx) => ({
      getMany: async (table, keys) => {
        const rows = await tx.getMany(table, keys);
        const first = new Map<string, Row | undefined>();
        return keys.map((k, i) => {
          const id = `${Buffer.from(k.partition).toString('hex')}/${Buffer.from(k.sort).toString('hex')}`;
          if (!first.has(id)) first.set(id, rows[i]);
          return first.get(id);
        });
      },
    }));
    const sharedReport = await runConformance(shared, { filter: /^many:/ });
    expect(failedNames(sharedReport)).toEqual([
      'many: duplicate keys: putMany and deleteMany refuse them and change nothing, getMany answers each',
    ]);
    expect(sharedReport.results.find((r) => !r.ok)?.message).toMatch(/same row object/);
  });

  test('tx.now that follows the clock during the transaction', async () => {
    const target: ConformanceTarget = {
      name: 'moving-now',
      open: async ({ now }) => {
        const inner = createMemoryAdapter({ now });
        return {
          ...inner,
          kind: 'broken',
          now,
          transaction: (fn, options) =>
            inner.transaction(
              (tx) =>
                fn(
                  Object.create(tx, {
                    now: { get: () => now() },
                  }) as StorageTx,
                ),
              options,
            ),
          purgeExpired: (o) => inner.purgeExpired(o),
          close: () => inner.close(),
        };
      },
    };
    const report = await runConformance(target, { filter: /^expiry: tx.now/ });
    expect(report.failed).toBe(1);
    expect(report.results[0]?.message).toMatch(/tx.now after the clock moved/);
  });

  test('usage that ignores expiry, and usage that counts the sort keys too', async () => {
    // The inner store never expires anything (clock 0), and usage is left to it.
    const ignoresExpiry = broken(
      'usage-ignores-expiry',
      () => ({}),
      undefined,
      () => () => 0,
    );
    let report = await runConformance(ignoresExpiry, { filter: /^usage:/ });
    expect(failedNames(report)).toEqual(['usage: expired rows are not counted, judged at tx.now']);
    expect(messageOf(report, 'usage: expired rows are not counted, judged at tx.now')).toMatch(
      /one row written already expired: rows: expected 3, got 4/,
    );
    const withSorts = broken('usage-with-sorts', (tx) => ({
      usage: async (table, p) => {
        const rows = await tx.list(table, p, { limit: 10_000 });
        return { rows: rows.length, bytes: rows.reduce((n, r) => n + r.value.length + r.sort.length, 0) };
      },
    }));
    report = await runConformance(withSorts, { filter: /^usage:/ });
    expect(failedNames(report)).toEqual([
      'usage: live rows and the summed lengths of their values',
      'usage: expired rows are not counted, judged at tx.now',
      'usage: a thousand rows and a 1 MiB value',
    ]);
    expect(messageOf(report, 'usage: live rows and the summed lengths of their values')).toMatch(
      /bytes: expected/,
    );
  });

  test('deletePartition that leaves expired rows behind', async () => {
    const target = broken('delete-live-only', (tx) => ({
      deletePartition: async (table, p) => {
        let n = 0;
        for (const r of await tx.list(table, p, { limit: 10_000 })) {
          if (await tx.delete(table, p, r.sort)) n++;
        }
        return n;
      },
    }));
    const report = await runConformance(target, { filter: /^deletePartition:/ });
    expect(report.failed).toBe(1);
    expect(report.results[0]?.message).toMatch(/expected 8, got 5/);
  });

  test('purge that also deletes live rows', async () => {
    const target = broken(
      'purge-too-much',
      () => ({}),
      (inner) => ({ purgeExpired: (o) => inner.purgeExpired({ ...o, now: Number.MAX_SAFE_INTEGER }) }),
    );
    const report = await runConformance(target, { filter: /^(purge:|model:)/ });
    const failed = failedNames(report);
    expect(failed).toContain('purge: deletes exactly the expired rows in batches of batchSize');
    expect(failed).toContain('purge: the now option and the adapter clock');
    expect(failed).toContain('model: random operation sequences agree with a reference model');
  });

  test('autocommit adapter without transactions (no isolation, no atomicity)', async () => {
    const target: ConformanceTarget = {
      name: 'autocommit',
      open: async ({ now }) => {
        const inner = createMemoryAdapter({ now });
        const auto = (): StorageTx => ({
          now: now(),
          get: (...a) => inner.transaction((t) => t.get(...a)),
          put: (...a) => inner.transaction((t) => t.put(...a)),
          delete: (...a) => inner.transaction((t) => t.delete(...a)),
          putMany: (...a) => inner.transaction((t) => t.putMany(...a)),
          getMany: (...a) => inner.transaction((t) => t.getMany(...a)),
          deleteMany: (...a) => inner.transaction((t) => t.deleteMany(...a)),
          claimMany: (...a) => inner.transaction((t) => t.claimMany(...a)),
          list: (...a) => inner.transaction((t) => t.list(...a)),
          take: (...a) => inner.transaction((t) => t.take(...a)),
          count: (...a) => inner.transaction((t) => t.count(...a)),
          usage: (...a) => inner.transaction((t) => t.usage(...a)),
          deletePartition: (...a) => inner.transaction((t) => t.deletePartition(...a)),
        });
        return {
          kind: 'broken',
          now,
          transaction: async (fn) => fn(auto()),
          purgeExpired: (o) => inner.purgeExpired(o),
          close: () => inner.close(),
        };
      },
    };
    const report = await runConformance(target, { filter: /^(tx:|rows: put replaces)/ });
    const failed = failedNames(report);
    expect(failed).toEqual(
      expect.arrayContaining([
        'tx: a callback that throws after writes leaves nothing, error rethrown unchanged',
        'tx: no dirty reads (uncommitted writes are invisible to other transactions)',
        'tx: 20 concurrent read-modify-write increments with forUpdate lose nothing',
        'tx: a finished transaction rejects with ERR_STORAGE',
      ]),
    );
    expect(failed).not.toContain('rows: put replaces the row and its expiry');
  });

  test('a hanging case times out instead of blocking the run', async () => {
    const target: ConformanceTarget = {
      name: 'hangs',
      open: async ({ now }) => {
        const inner = createMemoryAdapter({ now });
        return {
          ...inner,
          kind: 'broken',
          now,
          transaction: () => new Promise<never>(() => undefined),
          purgeExpired: (o) => inner.purgeExpired(o),
          close: () => inner.close(),
        };
      },
    };
    const report = await runConformance(target, { filter: /^rows: put replaces/, timeoutMs: 200 });
    expect(report.failed).toBe(1);
    expect(report.results[0]?.message).toMatch(/did not finish within 200 ms/);
  });

  test('cases reject with ConformanceFailure naming the case; open failures are reported', async () => {
    const failing: ConformanceTarget = {
      name: 'cannot-open',
      open: async () => {
        throw new Error('no database');
      },
    };
    const c = conformanceCases().find((x) => x.name === 'list: after');
    expect(c).toBeDefined();
    const error = await c?.run(failing).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConformanceFailure);
    expect((error as ConformanceFailure).caseName).toBe('list: after');
    expect((error as ConformanceFailure).message).toMatch(/^list: after: target.open failed/);
  });
});
