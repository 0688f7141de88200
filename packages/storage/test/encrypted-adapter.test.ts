import {
  type CloisterError,
  type CryptoProvider,
  encodeWrappedKey,
  getProvider,
  PIN_SCRYPT_FLOOR,
  toHex,
  utf8,
  wrapDataKey,
} from '@cloister/crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Row, StorageAdapter, StorageTx } from '../src/adapter.js';
import { SEAL_OVERHEAD } from '../src/encrypted/_format.js';
import {
  createEncryptedAdapter,
  deriveServerDataKey,
  openClientDataKey,
  openEncryptedAdapter,
} from '../src/encrypted/index.js';
import { createMemoryAdapter } from '../src/memory.js';
import { openPGliteFromTemplate } from '../src/testing/index.js';

let provider: CryptoProvider;
beforeAll(async () => {
  provider = await getProvider();
});

const bytes = (s: string): Uint8Array => utf8(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Expects `promise` to reject with a Cloister error of `code` (and `field` when given). */
async function rejectsWith(promise: Promise<unknown>, code: string, field?: string): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${code}${field === undefined ? '' : ` (${field})`}`).toBeDefined();
  expect((error as CloisterError).code).toBe(code);
  if (field !== undefined) expect((error as { field?: string }).field).toBe(field);
}

interface Stored {
  readonly table: string;
  readonly partition: Uint8Array;
}

/** Records every (table, partition) written to an adapter, to read the raw rows back later. */
function recording(inner: StorageAdapter): { adapter: StorageAdapter; stored: Map<string, Stored> } {
  const stored = new Map<string, Stored>();
  const wrapTx = (tx: StorageTx): StorageTx => ({
    now: tx.now,
    get: (...a) => tx.get(...a),
    put: (table, row, options) => {
      stored.set(`${table}/${toHex(row.partition)}`, { table, partition: row.partition.slice() });
      return tx.put(table, row, options);
    },
    putMany: (table, rows, options) => {
      for (const row of rows) {
        stored.set(`${table}/${toHex(row.partition)}`, { table, partition: row.partition.slice() });
      }
      return tx.putMany(table, rows, options);
    },
    claimMany: (table, claims, behind) => {
      for (const row of [...claims, ...behind.rows]) {
        const t = claims.includes(row) ? table : behind.table;
        stored.set(`${t}/${toHex(row.partition)}`, { table: t, partition: row.partition.slice() });
      }
      return tx.claimMany(table, claims, behind);
    },
    getMany: (...a) => tx.getMany(...a),
    deleteMany: (...a) => tx.deleteMany(...a),
    delete: (...a) => tx.delete(...a),
    list: (...a) => tx.list(...a),
    take: (...a) => tx.take(...a),
    count: (...a) => tx.count(...a),
    usage: (...a) => tx.usage(...a),
    deletePartition: (...a) => tx.deletePartition(...a),
  });
  return {
    stored,
    adapter: {
      kind: inner.kind,
      now: inner.now,
      transaction: (fn, options) => inner.transaction((tx) => fn(wrapTx(tx)), options),
      purgeExpired: (options) => inner.purgeExpired(options),
      close: () => inner.close(),
    },
  };
}

/** Every raw row the inner adapter holds, with its table. */
async function rawRows(
  inner: StorageAdapter,
  stored: Map<string, Stored>,
): Promise<(Row & { table: string })[]> {
  return inner.transaction(async (tx) => {
    const out: (Row & { table: string })[] = [];
    for (const { table, partition } of stored.values()) {
      for (const row of await tx.list(table, partition, { limit: 10_000 })) out.push({ ...row, table });
    }
    return out;
  });
}

function setup(options: { orderedTables?: string[]; now?: () => number; dataKey?: Uint8Array } = {}) {
  const memory = createMemoryAdapter(options.now === undefined ? {} : { now: options.now });
  const { adapter: inner, stored } = recording(memory);
  const dataKey = options.dataKey ?? new Uint8Array(32).fill(7);
  const db = createEncryptedAdapter(inner, {
    dataKey,
    provider,
    ...(options.orderedTables === undefined ? {} : { orderedTables: options.orderedTables }),
  });
  return { db, inner, memory, stored, dataKey };
}

const P = bytes('conversation-1');

describe('createEncryptedAdapter: round trips', () => {
  it('names its kind after the inner adapter and uses its clock', () => {
    const { db } = setup({ now: () => 1234 });
    expect(db.kind).toBe('encrypted(memory)');
    expect(db.now()).toBe(1234);
  });

  it('get / put / delete return the caller keys and values', async () => {
    const { db } = setup();
    await db.transaction(async (tx) => {
      expect(await tx.put('c_notes', { partition: P, sort: bytes('a'), value: bytes('alpha') })).toBe(true);
      expect(await tx.put('c_notes', { partition: P, sort: new Uint8Array(), value: new Uint8Array() })).toBe(
        true,
      );
    });
    const row = await db.transaction((tx) => tx.get('c_notes', P, bytes('a')));
    expect(row).toEqual({ partition: P, sort: bytes('a'), value: bytes('alpha'), expiresAt: null });
    const empty = await db.transaction((tx) => tx.get('c_notes', P, new Uint8Array()));
    expect(empty).toEqual({ partition: P, sort: new Uint8Array(), value: new Uint8Array(), expiresAt: null });
    expect(await db.transaction((tx) => tx.get('c_notes', P, bytes('b')))).toBeUndefined();
    expect(await db.transaction((tx) => tx.get('c_notes', bytes('other'), bytes('a')))).toBeUndefined();
    expect(await db.transaction((tx) => tx.get('c_other', P, bytes('a')))).toBeUndefined();
    expect(await db.transaction((tx) => tx.delete('c_notes', P, bytes('a')))).toBe(true);
    expect(await db.transaction((tx) => tx.delete('c_notes', P, bytes('a')))).toBe(false);
    expect(await db.transaction((tx) => tx.get('c_notes', P, bytes('a')))).toBeUndefined();
  });

  it('put replaces, ifAbsent refuses a live row and replaces an expired one', async () => {
    let now = 1000;
    const { db } = setup({ now: () => now });
    await db.transaction((tx) => tx.put('c_kv', { partition: P, sort: bytes('k'), value: bytes('1') }));
    await db.transaction((tx) => tx.put('c_kv', { partition: P, sort: bytes('k'), value: bytes('2') }));
    expect(
      await db.transaction((tx) =>
        tx.put('c_kv', { partition: P, sort: bytes('k'), value: bytes('3') }, { ifAbsent: true }),
      ),
    ).toBe(false);
    expect(text((await db.transaction((tx) => tx.get('c_kv', P, bytes('k'))))!.value)).toBe('2');
    await db.transaction((tx) =>
      tx.put('c_kv', { partition: P, sort: bytes('e'), value: bytes('old'), expiresAt: 1500 }),
    );
    expect((await db.transaction((tx) => tx.get('c_kv', P, bytes('e'))))?.expiresAt).toBe(1500);
    now = 1500;
    expect(await db.transaction((tx) => tx.get('c_kv', P, bytes('e')))).toBeUndefined();
    expect(
      await db.transaction((tx) =>
        tx.put('c_kv', { partition: P, sort: bytes('e'), value: bytes('new') }, { ifAbsent: true }),
      ),
    ).toBe(true);
    expect(text((await db.transaction((tx) => tx.get('c_kv', P, bytes('e'))))!.value)).toBe('new');
  });

  it('list, take, count and deletePartition on a non-ordered table', async () => {
    const { db } = setup();
    const keys = ['a', 'b', 'c', 'd', 'e'];
    await db.transaction(async (tx) => {
      for (const k of keys) await tx.put('c_set', { partition: P, sort: bytes(k), value: bytes(`v-${k}`) });
      await tx.put('c_set', { partition: bytes('other'), sort: bytes('z'), value: bytes('z') });
    });
    const all = await db.transaction((tx) => tx.list('c_set', P));
    expect(all.map((r) => text(r.sort)).sort()).toEqual(keys);
    for (const r of all) {
      expect(text(r.value)).toBe(`v-${text(r.sort)}`);
      expect(r.partition).toEqual(P);
    }
    // Pagination with `after` (mapped through the hash) visits every row once, in both directions.
    for (const reverse of [false, true]) {
      const seen: string[] = [];
      let after: Uint8Array | undefined;
      for (;;) {
        const page = await db.transaction((tx) =>
          tx.list('c_set', P, after === undefined ? { limit: 2, reverse } : { limit: 2, reverse, after }),
        );
        if (page.length === 0) break;
        seen.push(...page.map((r) => text(r.sort)));
        after = page[page.length - 1]!.sort;
      }
      expect(seen).toEqual(
        reverse ? [...all].reverse().map((r) => text(r.sort)) : all.map((r) => text(r.sort)),
      );
    }
    expect(await db.transaction((tx) => tx.count('c_set', P))).toBe(5);
    expect(await db.transaction((tx) => tx.count('c_set', P, { prefix: new Uint8Array() }))).toBe(5);
    const taken = await db.transaction((tx) => tx.take('c_set', P, { limit: 2 }));
    expect(taken.map((r) => text(r.sort))).toEqual(all.slice(0, 2).map((r) => text(r.sort)));
    expect(await db.transaction((tx) => tx.count('c_set', P))).toBe(3);
    expect(await db.transaction((tx) => tx.deletePartition('c_set', P))).toBe(3);
    expect(await db.transaction((tx) => tx.count('c_set', P))).toBe(0);
    expect(await db.transaction((tx) => tx.count('c_set', bytes('other')))).toBe(1);
  });

  it('keeps order, after, prefix and reverse of ordered tables', async () => {
    const { db, inner, stored } = setup({ orderedTables: ['c_messages'] });
    const sorts = [[0, 0, 1], [0, 0, 2], [0, 1], [0, 1, 0], [1], [0xff, 0]].map((a) => Uint8Array.from(a));
    await db.transaction(async (tx) => {
      for (const s of [...sorts].reverse()) await tx.put('c_messages', { partition: P, sort: s, value: s });
    });
    const rows = await db.transaction((tx) => tx.list('c_messages', P));
    expect(rows.map((r) => toHex(r.sort))).toEqual(sorts.map(toHex));
    const after = await db.transaction((tx) => tx.list('c_messages', P, { after: sorts[1]!, limit: 2 }));
    expect(after.map((r) => toHex(r.sort))).toEqual([sorts[2]!, sorts[3]!].map(toHex));
    const rev = await db.transaction((tx) => tx.list('c_messages', P, { reverse: true, after: sorts[4]! }));
    expect(rev.map((r) => toHex(r.sort))).toEqual([sorts[3]!, sorts[2]!, sorts[1]!, sorts[0]!].map(toHex));
    const pre = await db.transaction((tx) => tx.list('c_messages', P, { prefix: Uint8Array.of(0, 0) }));
    expect(pre.map((r) => toHex(r.sort))).toEqual([sorts[0]!, sorts[1]!].map(toHex));
    expect(await db.transaction((tx) => tx.count('c_messages', P, { prefix: Uint8Array.of(0) }))).toBe(4);
    const taken = await db.transaction((tx) => tx.take('c_messages', P, { prefix: Uint8Array.of(0, 1) }));
    expect(taken.map((r) => toHex(r.sort))).toEqual([toHex(sorts[2]!)]);
    // The sort key is stored as is; the partition is hashed; the value is sealed.
    const raw = await rawRows(inner, stored);
    expect(raw.map((r) => toHex(r.sort)).sort()).toEqual(
      sorts
        .filter((_, i) => i !== 2)
        .map(toHex)
        .sort(),
    );
    for (const r of raw) {
      expect(r.partition.length).toBe(32);
      expect(r.value.length).toBe(1 + 24 + 2 + r.sort.length + r.sort.length + 16);
    }
  });

  it('rejects a non-empty prefix on a non-ordered table with UsageError', async () => {
    const { db } = setup();
    await rejectsWith(
      db.transaction((tx) => tx.list('c_set', P, { prefix: bytes('a') })),
      'ERR_USAGE',
    );
    await rejectsWith(
      db.transaction((tx) => tx.take('c_set', P, { prefix: bytes('a') })),
      'ERR_USAGE',
    );
    await rejectsWith(
      db.transaction((tx) => tx.count('c_set', P, { prefix: bytes('a') })),
      'ERR_USAGE',
    );
  });

  it('accepts orderedTables as a predicate', async () => {
    const memory = createMemoryAdapter();
    const db = createEncryptedAdapter(memory, {
      dataKey: new Uint8Array(32),
      provider,
      orderedTables: (t) => t.startsWith('c_ord'),
    });
    await db.transaction(async (tx) => {
      await tx.put('c_ord_x', { partition: P, sort: bytes('b'), value: bytes('1') });
      await tx.put('c_ord_x', { partition: P, sort: bytes('a'), value: bytes('2') });
    });
    const rows = await db.transaction((tx) => tx.list('c_ord_x', P, { prefix: bytes('a') }));
    expect(rows.map((r) => text(r.sort))).toEqual(['a']);
  });

  it('purges through the inner adapter (expiry stays in clear)', async () => {
    let now = 10;
    const { db, inner, stored } = setup({ now: () => now });
    await db.transaction(async (tx) => {
      await tx.put('c_tmp', { partition: P, sort: bytes('x'), value: bytes('x'), expiresAt: 20 });
      await tx.put('c_tmp', { partition: P, sort: bytes('y'), value: bytes('y'), expiresAt: null });
    });
    expect((await rawRows(inner, stored)).map((r) => r.expiresAt).sort()).toEqual([20, null]);
    now = 25;
    expect(await db.purgeExpired()).toEqual({ deleted: 1, batches: 1 });
    expect(await db.transaction((tx) => tx.count('c_tmp', P))).toBe(1);
  });

  it('rolls back with the inner transaction and refuses a used tx', async () => {
    const { db } = setup();
    let leaked: StorageTx | undefined;
    await expect(
      db.transaction(async (tx) => {
        leaked = tx;
        await tx.put('c_kv', { partition: P, sort: bytes('k'), value: bytes('v') });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await db.transaction((tx) => tx.get('c_kv', P, bytes('k')))).toBeUndefined();
    await rejectsWith(leaked!.get('c_kv', P, bytes('k')), 'ERR_STORAGE');
  });

  it('close wipes its keys, closes the inner adapter and refuses further calls', async () => {
    const { db, memory } = setup();
    await db.transaction((tx) => tx.put('c_kv', { partition: P, sort: bytes('k'), value: bytes('v') }));
    await db.close();
    await rejectsWith(
      db.transaction((tx) => tx.count('c_kv', P)),
      'ERR_STORAGE',
    );
    await rejectsWith(db.purgeExpired(), 'ERR_STORAGE');
    await rejectsWith(
      memory.transaction((tx) => tx.count('c_kv', P)),
      'ERR_STORAGE',
    );
  });

  it('does not keep a reference to the caller data key', async () => {
    const dataKey = new Uint8Array(32).fill(9);
    const a = setup({ dataKey });
    await a.db.ready();
    dataKey.fill(0);
    await a.db.transaction((tx) => tx.put('c_kv', { partition: P, sort: bytes('k'), value: bytes('v') }));
    const b = createEncryptedAdapter(a.inner, { dataKey: new Uint8Array(32).fill(9), provider });
    expect(text((await b.transaction((tx) => tx.get('c_kv', P, bytes('k'))))!.value)).toBe('v');
  });
});

describe('createEncryptedAdapter: validation', () => {
  it('rejects bad construction arguments', () => {
    const memory = createMemoryAdapter();
    const code = (fn: () => unknown): [string, string] => {
      try {
        fn();
      } catch (e) {
        return [(e as CloisterError).code, (e as { field: string }).field];
      }
      return ['none', ''];
    };
    expect(code(() => createEncryptedAdapter(memory, { dataKey: new Uint8Array(31), provider }))).toEqual([
      'ERR_VALIDATION',
      'dataKey',
    ]);
    expect(
      code(() =>
        createEncryptedAdapter(memory, { dataKey: new Uint8Array(32), provider: {} as CryptoProvider }),
      ),
    ).toEqual(['ERR_VALIDATION', 'provider']);
    expect(
      code(() => createEncryptedAdapter({} as StorageAdapter, { dataKey: new Uint8Array(32), provider })),
    ).toEqual(['ERR_VALIDATION', 'inner']);
    expect(
      code(() =>
        createEncryptedAdapter(memory, {
          dataKey: new Uint8Array(32),
          provider,
          orderedTables: ['Bad-Name'],
        }),
      ),
    ).toEqual(['ERR_VALIDATION', 'orderedTables']);
  });

  it('rejects the same inputs with the same errors as the memory adapter', async () => {
    const { db } = setup();
    const plain = createMemoryAdapter();
    const big = new Uint8Array(513);
    // Seed the partition: the memory adapter only checks a get's sort key when the partition exists.
    for (const a of [db, plain])
      await a.transaction((tx) => tx.put('c_t', { partition: P, sort: P, value: P }));
    const cases: [string, (tx: StorageTx) => Promise<unknown>][] = [
      ['table', (tx) => tx.get('Bad', P, P)],
      ['partition', (tx) => tx.get('c_t', big, P)],
      ['sort', (tx) => tx.get('c_t', P, big)],
      ['sort', (tx) => tx.put('c_t', { partition: P, sort: big, value: P })],
      ['value', (tx) => tx.put('c_t', { partition: P, sort: P, value: 'x' as unknown as Uint8Array })],
      ['expiresAt', (tx) => tx.put('c_t', { partition: P, sort: P, value: P, expiresAt: -1 })],
      ['partition', (tx) => tx.delete('c_t', big, P)],
      ['limit', (tx) => tx.list('c_t', P, { limit: 0 })],
      ['after', (tx) => tx.list('c_t', P, { after: big })],
      ['prefix', (tx) => tx.list('c_t', P, { prefix: big })],
      ['limit', (tx) => tx.take('c_t', P, { limit: 10_001 })],
      ['prefix', (tx) => tx.count('c_t', P, { prefix: big })],
      ['partition', (tx) => tx.deletePartition('c_t', big)],
      ['table', (tx) => tx.deletePartition('', P)],
    ];
    for (const [field, op] of cases) {
      await rejectsWith(db.transaction(op), 'ERR_VALIDATION', field);
      await rejectsWith(plain.transaction(op), 'ERR_VALIDATION', field);
    }
    await rejectsWith(db.purgeExpired({ batchSize: 0 }), 'ERR_VALIDATION', 'batchSize');
  });

  it('rejects a value that would not fit after sealing', async () => {
    const { db } = setup();
    const huge = new Uint8Array(16 * 1024 * 1024 - 43);
    await rejectsWith(
      db.transaction((tx) => tx.put('c_t', { partition: P, sort: bytes('k'), value: huge })),
      'ERR_VALIDATION',
      'value',
    );
  });
});

describe('createEncryptedAdapter: tampering and wrong keys', () => {
  async function seeded(orderedTables: string[] = []) {
    const s = setup({ orderedTables });
    await s.db.transaction(async (tx) => {
      await tx.put('c_a', { partition: P, sort: bytes('one'), value: bytes('first value') });
      await tx.put('c_a', {
        partition: P,
        sort: bytes('two'),
        value: bytes('second value'),
        expiresAt: 9e12,
      });
      await tx.put('c_b', { partition: P, sort: bytes('one'), value: bytes('other table') });
    });
    const raw = await rawRows(s.inner, s.stored);
    return { ...s, raw };
  }

  const readAll = (db: StorageAdapter) =>
    db.transaction(async (tx) => [
      await tx.list('c_a', P),
      await tx.get('c_a', P, bytes('one')),
      await tx.get('c_a', P, bytes('two')),
      await tx.list('c_b', P),
    ]);

  it('a swap of two stored values fails', async () => {
    for (const ordered of [[], ['c_a']]) {
      const { db, inner, raw } = await seeded(ordered);
      const [x, y] = raw.filter((r) => r.table === 'c_a') as unknown as [Row, Row];
      await inner.transaction(async (tx) => {
        await tx.put('c_a', { ...x, value: y.value });
        await tx.put('c_a', { ...y, value: x.value });
      });
      await rejectsWith(
        db.transaction((tx) => tx.get('c_a', P, bytes('one'))),
        'ERR_DECRYPTION_FAILED',
      );
      await rejectsWith(
        db.transaction((tx) => tx.list('c_a', P)),
        'ERR_DECRYPTION_FAILED',
      );
      await rejectsWith(
        db.transaction((tx) => tx.take('c_a', P)),
        'ERR_DECRYPTION_FAILED',
      );
    }
  });

  it('a row moved to another table fails', async () => {
    const { db, inner, raw } = await seeded();
    const a = raw.find((r) => r.table === 'c_a' && r.expiresAt === null)!;
    const b = raw.find((r) => r.table === 'c_b')!;
    // c_b's row at the same caller key gets c_a's value.
    await inner.transaction((tx) => tx.put('c_b', { ...b, value: a.value }));
    await rejectsWith(
      db.transaction((tx) => tx.get('c_b', P, bytes('one'))),
      'ERR_DECRYPTION_FAILED',
    );
    // A copy of c_a's raw row under its own stored keys in c_b is not found under any caller key,
    // and fails when listed.
    await inner.transaction((tx) => tx.put('c_b', { ...a }));
    await rejectsWith(
      db.transaction((tx) => tx.list('c_b', P)),
      'ERR_DECRYPTION_FAILED',
    );
  });

  it('a changed stored expiry fails', async () => {
    const { db, inner, raw } = await seeded();
    const two = raw.find((r) => r.expiresAt === 9e12)!;
    await inner.transaction((tx) => tx.put('c_a', { ...two, expiresAt: null }));
    await rejectsWith(
      db.transaction((tx) => tx.get('c_a', P, bytes('two'))),
      'ERR_DECRYPTION_FAILED',
    );
    const one = raw.find((r) => r.table === 'c_a' && r.expiresAt === null)!;
    await inner.transaction((tx) => tx.put('c_a', { ...one, expiresAt: 9e12 }));
    await rejectsWith(
      db.transaction((tx) => tx.get('c_a', P, bytes('one'))),
      'ERR_DECRYPTION_FAILED',
    );
  });

  it('a stored row moved to another sort key of an ordered table fails', async () => {
    const { db, inner, raw } = await seeded(['c_a']);
    const one = raw.find((r) => r.table === 'c_a' && text(r.sort) === 'one')!;
    await inner.transaction(async (tx) => {
      await tx.delete('c_a', one.partition, one.sort);
      await tx.put('c_a', { ...one, sort: bytes('onf') });
    });
    await rejectsWith(
      db.transaction((tx) => tx.get('c_a', P, bytes('onf'))),
      'ERR_DECRYPTION_FAILED',
    );
  });

  it('flipping any single bit of a stored value fails', async () => {
    const { db, inner, raw } = await seeded();
    const target = raw.find((r) => r.table === 'c_b')!;
    for (let i = 0; i < target.value.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const value = target.value.slice();
        value[i] = (value[i] as number) ^ bit;
        await inner.transaction((tx) => tx.put('c_b', { ...target, value }));
        await rejectsWith(
          db.transaction((tx) => tx.get('c_b', P, bytes('one'))),
          'ERR_DECRYPTION_FAILED',
        );
      }
    }
    // Truncated and extended values fail too.
    for (const value of [target.value.subarray(0, 40), new Uint8Array(), Uint8Array.of(...target.value, 0)]) {
      await inner.transaction((tx) => tx.put('c_b', { ...target, value }));
      await rejectsWith(
        db.transaction((tx) => tx.list('c_b', P)),
        'ERR_DECRYPTION_FAILED',
      );
    }
    await inner.transaction((tx) => tx.put('c_b', target));
    expect(text((await db.transaction((tx) => tx.get('c_b', P, bytes('one'))))!.value)).toBe('other table');
  });

  it('a wrong data key sees no row (hashed addresses differ) and reads nothing', async () => {
    const { inner, stored } = await seeded();
    const wrong = createEncryptedAdapter(inner, { dataKey: new Uint8Array(32).fill(8), provider });
    await expect(readAll(wrong)).resolves.toEqual([[], undefined, undefined, []]);
    expect(await wrong.transaction((tx) => tx.count('c_a', P))).toBe(0);
    expect((await rawRows(inner, stored)).length).toBe(3);
    const wrongOrdered = createEncryptedAdapter(inner, {
      dataKey: new Uint8Array(32).fill(8),
      provider,
      orderedTables: ['c_a'],
    });
    await expect(readAll(wrongOrdered)).resolves.toEqual([[], undefined, undefined, []]);
  });

  it('openEncryptedAdapter detects a wrong key early', async () => {
    const memory = createMemoryAdapter();
    const db = await openEncryptedAdapter(memory, { dataKey: new Uint8Array(32).fill(1), provider });
    await db.transaction((tx) => tx.put('c_kv', { partition: P, sort: bytes('k'), value: bytes('v') }));
    const again = await openEncryptedAdapter(memory, { dataKey: new Uint8Array(32).fill(1), provider });
    expect(text((await again.transaction((tx) => tx.get('c_kv', P, bytes('k'))))!.value)).toBe('v');
    await rejectsWith(
      openEncryptedAdapter(memory, { dataKey: new Uint8Array(32).fill(2), provider }),
      'ERR_DECRYPTION_FAILED',
    );
    await rejectsWith(
      openEncryptedAdapter(memory, { dataKey: new Uint8Array(32).fill(1), provider, keyCheckTable: 'X' }),
      'ERR_VALIDATION',
      'keyCheckTable',
    );
    // A separate check table starts fresh.
    await openEncryptedAdapter(memory, {
      dataKey: new Uint8Array(32).fill(2),
      provider,
      keyCheckTable: 'c_key_check',
    });
  });
});

describe('the stored layout follows spec/storage-encryption.md', () => {
  const lp = (b: Uint8Array): Uint8Array => Uint8Array.of(b.length >> 8, b.length & 0xff, ...b);
  const u64 = (n: number): Uint8Array => {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(n));
    return out;
  };

  it('recomputes P, S and opens V with the stated keys and AAD', async () => {
    const dataKey = Uint8Array.from({ length: 32 }, (_, i) => i);
    const empty = new Uint8Array();
    const kPart = await provider.hkdfSha256(dataKey, empty, utf8('cloister/storage/v1/key/partition'), 32);
    const kSort = await provider.hkdfSha256(dataKey, empty, utf8('cloister/storage/v1/key/sort'), 32);
    const kVal = await provider.hkdfSha256(dataKey, empty, utf8('cloister/storage/v1/key/value'), 32);
    for (const [ordered, expiresAt] of [
      [false, 4_000_000_000_123],
      [true, null],
    ] as const) {
      const { db, inner, stored } = setup({ dataKey, orderedTables: ordered ? ['c_spec'] : [] });
      const T = utf8('c_spec');
      const p = bytes('partition-x');
      const s = bytes('sort-y');
      const v = bytes('the value');
      await db.transaction((tx) => tx.put('c_spec', { partition: p, sort: s, value: v, expiresAt }));
      const [raw] = await rawRows(inner, stored);
      const P = await provider.hmacSha256(kPart, [utf8('cloister/storage/v1/partition'), lp(T), p]);
      const S = ordered
        ? s
        : await provider.hmacSha256(kSort, [utf8('cloister/storage/v1/sort'), lp(T), lp(p), s]);
      expect(toHex(raw!.partition)).toBe(toHex(P));
      expect(toHex(raw!.sort)).toBe(toHex(S));
      expect(raw!.expiresAt).toBe(expiresAt);
      const V = raw!.value;
      expect(V[0]).toBe(1);
      expect(V.length).toBe(v.length + s.length + 43);
      const E = expiresAt === null ? new Uint8Array(9) : Uint8Array.of(1, ...u64(expiresAt));
      const aad = Uint8Array.of(...utf8('cloister/storage/v1/value'), 1, ...lp(T), ...lp(P), ...lp(S), ...E);
      const plaintext = await provider.xchacha20poly1305.decrypt(
        kVal,
        V.subarray(1, 25),
        V.subarray(25),
        aad,
      );
      expect(toHex(plaintext)).toBe(toHex(Uint8Array.of(...lp(s), ...v)));
    }
  });

  it('the key-check row is a sealed empty value at the empty partition and sort key', async () => {
    const dataKey = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
    const memory = createMemoryAdapter();
    await openEncryptedAdapter(memory, { dataKey, provider });
    const empty = new Uint8Array();
    const row = await memory.transaction((tx) => tx.get('storage_key_check', empty, empty));
    const kVal = await provider.hkdfSha256(dataKey, empty, utf8('cloister/storage/v1/key/value'), 32);
    const T = utf8('storage_key_check');
    const aad = Uint8Array.of(
      ...utf8('cloister/storage/v1/value'),
      1,
      ...lp(T),
      0,
      0,
      0,
      0,
      ...new Uint8Array(9),
    );
    const V = row!.value;
    const plaintext = await provider.xchacha20poly1305.decrypt(kVal, V.subarray(1, 25), V.subarray(25), aad);
    expect(toHex(plaintext)).toBe('0000');
  });
});

describe('data keys', () => {
  it('openClientDataKey opens a PIN-wrapped key; a wrong PIN is WrongPin', async () => {
    const { dataKey, record } = await wrapDataKey(provider, { pin: '482916', scrypt: PIN_SCRYPT_FLOOR });
    const wrapped = encodeWrappedKey(record);
    expect(await openClientDataKey({ provider, wrapped, pin: '482916' })).toEqual(dataKey);
    expect(await openClientDataKey({ provider, wrapped: record, pin: '482916' })).toEqual(dataKey);
    await rejectsWith(openClientDataKey({ provider, wrapped, pin: '000000' }), 'ERR_WRONG_PIN');
    await rejectsWith(openClientDataKey({ provider, wrapped: wrapped.subarray(3), pin: '1' }), 'ERR_DECODE');
  });

  it('deriveServerDataKey separates contexts and checks its inputs', async () => {
    const organisationKey = new Uint8Array(32).fill(5);
    const a = await deriveServerDataKey({ provider, organisationKey, context: 'tenant-a' });
    const b = await deriveServerDataKey({ provider, organisationKey, context: 'tenant-b' });
    const none = await deriveServerDataKey({ provider, organisationKey });
    expect(a.length).toBe(32);
    expect(toHex(a)).not.toBe(toHex(b));
    expect(toHex(a)).not.toBe(toHex(none));
    expect(toHex(a)).not.toBe(toHex(organisationKey));
    // The construction stated in the spec: HKDF-SHA256(orgKey, "", label ‖ u16be(len) ‖ context).
    const info = Uint8Array.of(...utf8('cloister/storage/v1/server-data-key'), 0, 8, ...utf8('tenant-a'));
    expect(toHex(await provider.hkdfSha256(organisationKey, new Uint8Array(), info, 32))).toBe(toHex(a));
    await rejectsWith(
      deriveServerDataKey({ provider, organisationKey: new Uint8Array(16) }),
      'ERR_VALIDATION',
      'organisationKey',
    );
    await rejectsWith(
      deriveServerDataKey({ provider, organisationKey, context: 'x'.repeat(256) }),
      'ERR_VALIDATION',
      'context',
    );
  });
});

/** A provider that counts its HMAC calls (the keyed hashes of partitions and sort keys). */
function countingProvider(): { provider: CryptoProvider; hmacs: () => number } {
  let n = 0;
  // The provider is a frozen object of own methods: a copy with one of them replaced.
  const counted: CryptoProvider = {
    ...provider,
    hmacSha256: (k, data) => {
      n++;
      return provider.hmacSha256(k, data);
    },
  };
  return { provider: counted, hmacs: () => n };
}

/** An inner adapter that counts the calls each operation gets. */
function countingCalls(inner: StorageAdapter): { adapter: StorageAdapter; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const wrapTx = (tx: StorageTx): StorageTx =>
    new Proxy(tx, {
      get(target, key) {
        const value = Reflect.get(target, key, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          calls.set(String(key), (calls.get(String(key)) ?? 0) + 1);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  return {
    calls,
    adapter: {
      kind: inner.kind,
      now: inner.now,
      transaction: (fn, options) => inner.transaction((tx) => fn(wrapTx(tx)), options),
      purgeExpired: (options) => inner.purgeExpired(options),
      close: () => inner.close(),
    },
  };
}

describe('createEncryptedAdapter: putMany, getMany, deleteMany', () => {
  const Q = bytes('conversation-2');
  const rows = [
    { partition: P, sort: bytes('a'), value: bytes('alpha'), expiresAt: null },
    { partition: Q, sort: bytes('b'), value: bytes('beta'), expiresAt: 9e12 },
    { partition: P, sort: bytes('c'), value: new Uint8Array(), expiresAt: null },
  ];

  for (const ordered of [false, true]) {
    it(`calls the inner batch operation once per call and round trips (${ordered ? 'ordered' : 'hashed'} sort keys)`, async () => {
      const memory = createMemoryAdapter();
      const { adapter, calls } = countingCalls(memory);
      const db = createEncryptedAdapter(adapter, {
        dataKey: new Uint8Array(32).fill(3),
        provider,
        orderedTables: ordered ? ['c_m'] : [],
      });
      expect(await db.transaction((tx) => tx.putMany('c_m', rows))).toEqual([true, true, true]);
      expect(
        await db.transaction((tx) => tx.putMany('c_m', [...rows].reverse(), { ifAbsent: true })),
      ).toEqual([false, false, false]);
      const keys = [rows[1]!, { partition: Q, sort: bytes('a') }, rows[0]!, rows[1]!];
      expect(await db.transaction((tx) => tx.getMany('c_m', keys))).toEqual([
        rows[1],
        undefined,
        rows[0],
        rows[1],
      ]);
      expect(
        await db.transaction((tx) => tx.deleteMany('c_m', [rows[2]!, { partition: Q, sort: bytes('x') }])),
      ).toEqual([true, false]);
      expect(Object.fromEntries(calls)).toEqual({ putMany: 2, getMany: 1, deleteMany: 1 });
      // The rows putMany stored are the rows put stores: a plain get finds and opens them.
      expect(await db.transaction((tx) => tx.get('c_m', Q, bytes('b')))).toEqual(rows[1]);
    });
  }

  it('stores the same addresses as put, and values the other call opens', async () => {
    const dataKey = new Uint8Array(32).fill(4);
    const one = setup({ dataKey });
    const many = setup({ dataKey });
    await one.db.transaction(async (tx) => {
      for (const row of rows) await tx.put('c_m', row);
    });
    await many.db.transaction((tx) => tx.putMany('c_m', rows));
    const address = (r: Row & { table: string }) =>
      `${r.table}/${toHex(r.partition)}/${toHex(r.sort)}@${r.expiresAt}`;
    const rawOne = await rawRows(one.inner, one.stored);
    const rawMany = await rawRows(many.inner, many.stored);
    expect(rawMany.map(address).sort()).toEqual(rawOne.map(address).sort());
    // Values are sealed with fresh nonces: different bytes, same content.
    expect(rawMany.map((r) => toHex(r.value)).sort()).not.toEqual(rawOne.map((r) => toHex(r.value)).sort());
    const reader = createEncryptedAdapter(many.inner, { dataKey, provider });
    expect(await reader.transaction((tx) => tx.getMany('c_m', rows))).toEqual(rows);
  });

  it('getMany fails with DecryptionFailed on a swapped or moved row', async () => {
    const { db, inner, stored } = setup();
    await db.transaction((tx) => tx.putMany('c_m', rows));
    const raw = await rawRows(inner, stored);
    const [x, y] = raw.filter((r) => r.expiresAt === null) as unknown as [Row, Row];
    await inner.transaction(async (tx) => {
      await tx.put('c_m', { ...x, value: y.value });
      await tx.put('c_m', { ...y, value: x.value });
    });
    await rejectsWith(
      db.transaction((tx) => tx.getMany('c_m', [rows[1]!, rows[0]!])),
      'ERR_DECRYPTION_FAILED',
    );
  });

  it('rejects what the memory adapter rejects, naming the index, and values too large once sealed', async () => {
    const { db } = setup();
    const plain = createMemoryAdapter();
    const big = new Uint8Array(513);
    const cases: [string, (tx: StorageTx) => Promise<unknown>][] = [
      ['rows[1].sort', (tx) => tx.putMany('c_t', [rows[0]!, { partition: P, sort: big, value: P }])],
      ['rows[2]', (tx) => tx.putMany('c_t', [rows[0]!, rows[1]!, { ...rows[0]!, value: bytes('again') }])],
      ['rows', (tx) => tx.putMany('c_t', 'rows' as unknown as [])],
      ['keys[0].partition', (tx) => tx.getMany('c_t', [{ partition: big, sort: P }])],
      ['keys[1]', (tx) => tx.deleteMany('c_t', [rows[0]!, rows[0]!])],
      ['table', (tx) => tx.deleteMany('C', [])],
    ];
    for (const [field, op] of cases) {
      await rejectsWith(db.transaction(op), 'ERR_VALIDATION', field);
      await rejectsWith(plain.transaction(op), 'ERR_VALIDATION', field);
    }
    const huge = new Uint8Array(16 * 1024 * 1024 - 43);
    await rejectsWith(
      db.transaction((tx) => tx.putMany('c_t', [rows[0]!, { partition: P, sort: bytes('k'), value: huge }])),
      'ERR_VALIDATION',
      'rows[1].value',
    );
    expect(await db.transaction((tx) => tx.getMany('c_t', rows))).toEqual([undefined, undefined, undefined]);
  });
});

describe('the memo of keyed hashes', () => {
  it('hashes a partition once across transactions and operations', async () => {
    const { provider: counted, hmacs } = countingProvider();
    const db = createEncryptedAdapter(createMemoryAdapter(), {
      dataKey: new Uint8Array(32).fill(5),
      provider: counted,
      orderedTables: ['c_ordered'],
    });
    const mailbox = bytes('mailbox-1');
    for (let i = 0; i < 5; i++) {
      await db.transaction((tx) =>
        tx.put('c_ordered', { partition: mailbox, sort: Uint8Array.of(i), value: P }),
      );
    }
    await db.transaction((tx) =>
      tx.putMany(
        'c_ordered',
        [5, 6, 7].map((i) => ({ partition: mailbox, sort: Uint8Array.of(i), value: P })),
      ),
    );
    expect(await db.transaction((tx) => tx.count('c_ordered', mailbox))).toBe(8);
    expect(hmacs()).toBe(1);
    // A batch computes the hash of a new partition once, not once per row.
    const other = bytes('mailbox-2');
    await db.transaction((tx) =>
      tx.putMany(
        'c_ordered',
        Array.from({ length: 50 }, (_, i) => ({ partition: other, sort: Uint8Array.of(i), value: P })),
      ),
    );
    expect(hmacs()).toBe(2);
    // Hashed sort keys are memoised too; the same bytes in another table are another hash.
    await db.transaction((tx) => tx.put('c_hashed', { partition: mailbox, sort: bytes('k'), value: P }));
    expect(hmacs()).toBe(4);
    expect(await db.transaction((tx) => tx.get('c_hashed', mailbox, bytes('k')))).toBeDefined();
    expect(
      await db.transaction((tx) => tx.getMany('c_hashed', [{ partition: mailbox, sort: bytes('k') }])),
    ).toHaveLength(1);
    expect(hmacs()).toBe(4);
    await db.close();
  });

  it('answers exactly what the hash functions compute, per table, partition and sort key', async () => {
    const { HashMemo } = await import('../src/encrypted/_hashes.js');
    const { deriveStoreKeys, hashPartition, hashSort } = await import('../src/encrypted/_format.js');
    const keys = await deriveStoreKeys(provider, new Uint8Array(32).fill(6));
    const memo = new HashMemo(4);
    // Inputs whose concatenations collide: only an unambiguous memo key tells them apart.
    const inputs: [string, Uint8Array, Uint8Array][] = [
      ['c_a', bytes('ab'), bytes('c')],
      ['c_a', bytes('a'), bytes('bc')],
      ['c_a', bytes(''), bytes('abc')],
      ['c_ab', bytes(''), bytes('c')],
      ['c_a', bytes('ab'), bytes('')],
      ['c_b', bytes('ab'), bytes('c')],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [table, p, s] of inputs) {
        const got = await memo.partition(provider, keys, table, p);
        expect(toHex(got)).toBe(toHex(await hashPartition(provider, keys, table, p)));
        got.fill(0); // a caller altering its copy changes nothing for the next one
        expect(toHex(await memo.sort(provider, keys, table, p, s))).toBe(
          toHex(await hashSort(provider, keys, table, p, s)),
        );
        expect(memo.size).toBeLessThanOrEqual(8); // at most 4 partitions and 4 sort keys
      }
    }
    memo.wipe();
    expect(memo.size).toBe(0);
    const [table, p] = inputs[0]!;
    expect(toHex(await memo.partition(provider, keys, table, p))).toBe(
      toHex(await hashPartition(provider, keys, table, p)),
    );
    expect(memo.size).toBe(0);
  });

  it('never answers a wiped hash to a caller still waiting when it starts over', async () => {
    // Many callers await hashes at once while the memo fills and clears: each must get the hash
    // of its own key. (A memo that wiped the array it also handed to waiting callers gave them
    // zeros, so two message ids had the same stored key and the second looked like a duplicate.)
    const { HashMemo } = await import('../src/encrypted/_hashes.js');
    const { deriveStoreKeys, hashSort, hashPartition } = await import('../src/encrypted/_format.js');
    const keys = await deriveStoreKeys(provider, new Uint8Array(32).fill(6));
    const memo = new HashMemo(5);
    const ids = Array.from({ length: 200 }, (_, i) => bytes(`m_${i}`));
    const got = await Promise.all(
      ids.flatMap((id) => [
        memo.sort(provider, keys, 'c_ids', bytes('box'), id),
        memo.sort(provider, keys, 'c_ids', bytes('box'), id),
      ]),
    );
    for (const [k, id] of ids.entries()) {
      const want = toHex(await hashSort(provider, keys, 'c_ids', bytes('box'), id));
      expect(toHex(got[2 * k] as Uint8Array)).toBe(want);
      expect(toHex(got[2 * k + 1] as Uint8Array)).toBe(want);
    }
    // Unique sort keys never clear the partitions.
    const { provider: counted, hmacs } = countingProvider();
    await memo.partition(counted, keys, 'c_ids', bytes('box'));
    for (const id of ids) await memo.sort(provider, keys, 'c_ids', bytes('box'), id);
    const before = hmacs();
    expect(toHex(await memo.partition(counted, keys, 'c_ids', bytes('box')))).toBe(
      toHex(await hashPartition(provider, keys, 'c_ids', bytes('box'))),
    );
    expect(hmacs()).toBe(before);
  });

  it('starts over when full, keeping at most its capacity', async () => {
    const { HashMemo, HASH_MEMO_ENTRIES } = await import('../src/encrypted/_hashes.js');
    const { deriveStoreKeys } = await import('../src/encrypted/_format.js');
    expect(HASH_MEMO_ENTRIES).toBe(4096);
    const keys = await deriveStoreKeys(provider, new Uint8Array(32).fill(6));
    const { provider: counted, hmacs } = countingProvider();
    const memo = new HashMemo(3);
    for (const i of [1, 2, 3, 1, 2, 3]) await memo.partition(counted, keys, 'c_t', Uint8Array.of(i));
    expect([hmacs(), memo.size]).toEqual([3, 3]);
    await memo.partition(counted, keys, 'c_t', Uint8Array.of(4));
    expect([hmacs(), memo.size]).toEqual([4, 1]);
    await memo.partition(counted, keys, 'c_t', Uint8Array.of(1));
    expect([hmacs(), memo.size]).toEqual([5, 2]);
  });
});

describe('createEncryptedAdapter: usage counts the sealed values', () => {
  const T = 'c_usage';
  /** What a row takes once sealed: its value, the sort key it carries and the fixed overhead. */
  const sealed = (rows: readonly { sort: Uint8Array; value: Uint8Array }[]): number =>
    rows.reduce((n, r) => n + r.value.length + r.sort.length + SEAL_OVERHEAD, 0);
  const opens: [string, (now: () => number) => Promise<StorageAdapter>][] = [
    ['memory', async (now) => createMemoryAdapter({ now })],
    ['pglite', (now) => openPGliteFromTemplate(now)],
  ];

  for (const [backend, open] of opens) {
    for (const ordered of [false, true]) {
      it(`bytes = values + sort keys + rows × SEAL_OVERHEAD, live rows only (${backend}, ${ordered ? 'ordered' : 'hashed'} sort keys)`, async () => {
        let now = 1_000_000;
        const { adapter: inner, stored } = recording(await open(() => now));
        const db = createEncryptedAdapter(inner, {
          dataKey: new Uint8Array(32).fill(9),
          provider,
          orderedTables: ordered ? [T] : [],
        });
        const Q = bytes('conversation-2');
        try {
          expect(SEAL_OVERHEAD).toBe(43);
          expect(await db.transaction((tx) => tx.usage(T, P))).toEqual({ rows: 0, bytes: 0 });
          const live = [0, 1, 300, 70_000].map((n, i) => ({
            partition: P,
            sort: bytes('k'.repeat(i)),
            value: new Uint8Array(n).fill(i),
          }));
          const expiring = {
            partition: P,
            sort: bytes('later'),
            value: new Uint8Array(50),
            expiresAt: now + 10,
          };
          const expired = {
            partition: P,
            sort: bytes('gone'),
            value: new Uint8Array(60),
            expiresAt: now - 1,
          };
          await db.transaction(async (tx) => {
            await tx.putMany(T, [...live, expiring, expired]);
            await tx.put(T, { partition: Q, sort: bytes('q'), value: new Uint8Array(1000) });
            await tx.put('c_usage_other', { partition: P, sort: bytes('o'), value: new Uint8Array(2000) });
          });
          const usage = () => db.transaction((tx) => tx.usage(T, P));
          expect(await usage()).toEqual({ rows: 5, bytes: sealed([...live, expiring]) });
          expect(sealed([...live, expiring])).toBe(70_351 + 11 + 5 * 43);
          const q = sealed([{ sort: bytes('q'), value: new Uint8Array(1000) }]);
          expect(await db.transaction((tx) => tx.usage(T, Q))).toEqual({ rows: 1, bytes: q });
          // The same figures as the live rows the inner adapter holds (both partitions of T).
          const raw = (await rawRows(inner, stored)).filter((r) => r.table === T);
          expect(raw).toHaveLength(6);
          expect(raw.reduce((n, r) => n + r.value.length, 0)).toBe(sealed([...live, expiring]) + q);
          now += 10;
          expect(await usage()).toEqual({ rows: 4, bytes: sealed(live) });
          await db.transaction((tx) => tx.delete(T, P, live[3]!.sort));
          expect(await usage()).toEqual({ rows: 3, bytes: sealed(live.slice(0, 3)) });
          await db.transaction((tx) => tx.deletePartition(T, P));
          expect(await usage()).toEqual({ rows: 0, bytes: 0 });
          expect((await db.transaction((tx) => tx.usage('c_usage_other', P))).rows).toBe(1);
        } finally {
          await db.close();
        }
      });
    }
  }

  it('checks its arguments before hashing', async () => {
    const { db } = setup();
    await rejectsWith(
      db.transaction((tx) => tx.usage('Bad', P)),
      'ERR_VALIDATION',
      'table',
    );
    await rejectsWith(
      db.transaction((tx) => tx.usage(T, 'p' as unknown as Uint8Array)),
      'ERR_VALIDATION',
      'partition',
    );
  });
});
