/**
 * The device-list store (spec/device-lists.md, spec/storage-server.md): per user the current
 * chain of signed lists, contiguous from epoch 1; an append only right after the newest list, one
 * winner among concurrent appends of one epoch, a restart that replaces the whole chain in one
 * transaction, and the lists gone with their user. Runs on memory, on memory under encryption at
 * rest (hashed sort keys), on PGlite and, with `DATABASE_URL`, on PostgreSQL.
 */
import { type CloisterError, getProvider, uintBE, utf8 } from '@cloister/crypto';
import { tenantId, userId } from '@cloister/protocol';
import {
  createEncryptedAdapter,
  createMemoryAdapter,
  encodeRecord,
  type StorageAdapter,
} from '@cloister/storage';
import { sqlTestTargets } from '@cloister/storage/testing';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ConflictError,
  createServerStores,
  MAX_DEVICE_LIST_BYTES,
  MAX_DEVICE_LISTS_PER_CHAIN,
  SERVER_ORDERED_TABLES,
  SERVER_TABLES,
  type ServerStores,
} from '../src/store/index.js';

const acme = tenantId('acme');
const other = tenantId('other');
const alice = userId('alice');
const bob = userId('bob');
const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
/** A stand-in for a list: the store keeps bytes and never reads them. */
const list = (tag: number, n = 200) => fill(n, tag);
const partition = (tenant: string, user: string) => utf8(`${tenant}\u0000${user}`);

async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
  detail?: Record<string, string>,
): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${code}`).toBeDefined();
  expect((error as CloisterError).code).toBe(code);
  for (const [k, v] of Object.entries(detail ?? {}))
    expect((error as unknown as Record<string, unknown>)[k]).toBe(v);
}

interface Target {
  readonly name: string;
  open(now: () => number): Promise<StorageAdapter>;
  cleanup(): Promise<void>;
}

const sql = sqlTestTargets('device_lists', { databaseUrl: process.env.DATABASE_URL || undefined });
const targets: Target[] = [
  { name: 'memory', open: async (now) => createMemoryAdapter({ now }), cleanup: async () => {} },
  {
    name: 'memory, encrypted at rest',
    open: async (now) =>
      createEncryptedAdapter(createMemoryAdapter({ now }), {
        dataKey: fill(32, 9),
        provider: await getProvider(),
        orderedTables: SERVER_ORDERED_TABLES,
      }),
    cleanup: async () => {},
  },
  ...sql.map((t) => ({
    name: t.name,
    open: (now: () => number) => t.open(now, 8),
    cleanup: () => t.cleanup(),
  })),
];

describe.each(targets.map((t) => [t.name, t] as const))('device-list store on %s', (_name, target) => {
  let time = 1_000;
  let db: StorageAdapter | undefined;
  let stores: ServerStores;

  beforeEach(async () => {
    await db?.close();
    time = 1_000;
    db = await target.open(() => time);
    stores = createServerStores(db);
    await stores.tenants.create(acme, { name: 'ACME', signingKey: fill(32, 1) });
    await stores.tenants.create(other, { name: 'Other', signingKey: fill(32, 2) });
    await stores.users.create(acme, alice, { displayName: 'Alice' });
    await stores.users.create(acme, bob, { displayName: 'Bob' });
    await stores.users.create(other, alice, { displayName: 'Other Alice' });
  });

  afterAll(async () => {
    await db?.close();
    db = undefined;
    await target.cleanup();
  });

  it('keeps the chain in ascending epochs, each list as stored and when', async () => {
    expect(await stores.deviceLists.chain(acme, alice)).toEqual([]);
    expect(await stores.deviceLists.newest(acme, alice)).toBeUndefined();
    // Enough lists that hashed sort keys (under encryption at rest) come back out of order.
    for (let epoch = 1; epoch <= 12; epoch++) {
      time = 1_000 + epoch;
      const stored = await stores.deviceLists.append(acme, alice, list(epoch, 100 + epoch), epoch);
      expect(stored).toEqual({ epoch, bytes: list(epoch, 100 + epoch), storedAt: 1_000 + epoch });
    }
    const chain = await stores.deviceLists.chain(acme, alice);
    expect(chain.map((l) => l.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (const l of chain) expect(l.bytes).toEqual(list(l.epoch, 100 + l.epoch));
    expect(await stores.deviceLists.newest(acme, alice)).toEqual({
      epoch: 12,
      bytes: list(12, 112),
      storedAt: 1_012,
    });
    // Per tenant and user.
    expect(await stores.deviceLists.chain(acme, bob)).toEqual([]);
    expect(await stores.deviceLists.chain(other, alice)).toEqual([]);
    await stores.deviceLists.append(other, alice, list(99), 1);
    expect((await stores.deviceLists.chain(acme, alice)).length).toBe(12);
  });

  it('appends only the epoch right after the newest list, and writes nothing otherwise', async () => {
    await rejectsWith(stores.deviceLists.append(acme, alice, list(2), 2), 'ERR_STORAGE', {
      constraint: 'device-list',
    });
    await stores.deviceLists.append(acme, alice, list(1), 1);
    await stores.deviceLists.append(acme, alice, list(2), 2);
    for (const epoch of [1, 2, 4, 9]) {
      await rejectsWith(stores.deviceLists.append(acme, alice, list(50 + epoch), epoch), 'ERR_STORAGE', {
        constraint: 'device-list',
      });
    }
    // The list it follows, as the caller read it, must still be the stored one.
    await rejectsWith(
      stores.deviceLists.append(acme, alice, list(3), 3, { previous: list(1) }),
      'ERR_STORAGE',
      { constraint: 'device-list' },
    );
    // A refused call inside a caller's transaction that then commits leaves nothing behind.
    await stores.transaction(async (s) => {
      await s.deviceLists.append(acme, alice, list(7), 4).catch(() => undefined);
    });
    expect((await stores.deviceLists.chain(acme, alice)).map((l) => l.bytes)).toEqual([list(1), list(2)]);
    await stores.deviceLists.append(acme, alice, list(3), 3, { previous: list(2) });
    expect((await stores.deviceLists.newest(acme, alice))?.epoch).toBe(3);
  });

  it('lets exactly one of eight concurrent appends of one epoch win', async () => {
    await stores.deviceLists.append(acme, alice, list(1), 1);
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        stores.deviceLists.append(acme, alice, list(10 + i), 2, { previous: list(1) }),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won.length).toBe(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
    }
    const chain = await stores.deviceLists.chain(acme, alice);
    expect(chain.map((l) => l.epoch)).toEqual([1, 2]);
    expect(chain[1]?.bytes).toEqual((won[0] as PromiseFulfilledResult<{ bytes: Uint8Array }>).value.bytes);
  });

  it('lets exactly one of eight concurrent first lists win', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => stores.deviceLists.append(acme, bob, list(20 + i), 1)),
    );
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(1);
    expect((await stores.deviceLists.chain(acme, bob)).length).toBe(1);
  });

  it('restarts: the whole chain replaced by a new epoch-1 list in one transaction', async () => {
    for (let epoch = 1; epoch <= 3; epoch++) await stores.deviceLists.append(acme, alice, list(epoch), epoch);
    await rejectsWith(
      stores.deviceLists.restart(acme, alice, list(40), { replacing: list(2) }),
      'ERR_STORAGE',
      { constraint: 'device-list' },
    );
    expect((await stores.deviceLists.chain(acme, alice)).length).toBe(3);
    time = 5_000;
    const stored = await stores.deviceLists.restart(acme, alice, list(40), { replacing: list(3) });
    expect(stored).toEqual({ epoch: 1, bytes: list(40), storedAt: 5_000 });
    expect(await stores.deviceLists.chain(acme, alice)).toEqual([stored]);
    await stores.deviceLists.append(acme, alice, list(41), 2, { previous: list(40) });
    expect((await stores.deviceLists.chain(acme, alice)).map((l) => l.bytes)).toEqual([list(40), list(41)]);
    // Without a chain, a restart is a first list; a failing transaction keeps the old chain.
    await stores.deviceLists.restart(acme, bob, list(60));
    await expect(
      stores.transaction(async (s) => {
        await s.deviceLists.restart(acme, alice, list(70));
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect((await stores.deviceLists.chain(acme, alice)).map((l) => l.bytes)).toEqual([list(40), list(41)]);
    expect((await stores.deviceLists.chain(acme, bob)).map((l) => l.bytes)).toEqual([list(60)]);
  });

  it('checks arguments, naming the field', async () => {
    await rejectsWith(stores.deviceLists.chain('a b' as never, alice), 'ERR_VALIDATION', { field: 'tenant' });
    await rejectsWith(stores.deviceLists.newest(acme, '' as never), 'ERR_VALIDATION', { field: 'user' });
    await rejectsWith(stores.deviceLists.append(acme, alice, new Uint8Array(0), 1), 'ERR_VALIDATION', {
      field: 'bytes',
    });
    await rejectsWith(
      stores.deviceLists.append(acme, alice, fill(MAX_DEVICE_LIST_BYTES + 1, 1), 1),
      'ERR_VALIDATION',
      { field: 'bytes' },
    );
    await rejectsWith(stores.deviceLists.append(acme, alice, 'x' as never, 1), 'ERR_VALIDATION', {
      field: 'bytes',
    });
    for (const epoch of [0, -1, 1.5, Number.NaN, '1']) {
      await rejectsWith(stores.deviceLists.append(acme, alice, list(1), epoch as never), 'ERR_VALIDATION', {
        field: 'epoch',
      });
    }
    await rejectsWith(
      stores.deviceLists.append(acme, alice, list(1), 1, { previous: 'x' as never }),
      'ERR_VALIDATION',
      { field: 'options.previous' },
    );
    await rejectsWith(
      stores.deviceLists.restart(acme, alice, list(1), { replacing: new Uint8Array(0) }),
      'ERR_VALIDATION',
      { field: 'options.replacing' },
    );
    await rejectsWith(
      stores.deviceLists.append(acme, alice, list(1), MAX_DEVICE_LISTS_PER_CHAIN + 1),
      'ERR_LIMIT',
    );
    await rejectsWith(stores.deviceLists.append(acme, userId('nobody'), list(1), 1), 'ERR_STORAGE', {
      what: 'user',
    });
    await rejectsWith(stores.deviceLists.restart(acme, userId('nobody'), list(1)), 'ERR_STORAGE', {
      what: 'user',
    });
    // The largest list fits.
    await stores.deviceLists.append(acme, alice, fill(MAX_DEVICE_LIST_BYTES, 3), 1);
    expect(await stores.deviceLists.chain(acme, alice)).toHaveLength(1);
  });

  it('deletes the lists with their user, and only theirs', async () => {
    await stores.deviceLists.append(acme, alice, list(1), 1);
    await stores.deviceLists.append(acme, alice, list(2), 2);
    await stores.deviceLists.append(acme, bob, list(3), 1);
    expect(await stores.users.delete(acme, alice)).toBe(true);
    await stores.users.create(acme, alice, { displayName: 'Alice again' });
    expect(await stores.deviceLists.chain(acme, alice)).toEqual([]);
    expect(await stores.deviceLists.newest(acme, alice)).toBeUndefined();
    const rows = await (db as StorageAdapter).transaction((tx) =>
      tx.list(SERVER_TABLES.deviceLists, partition('acme', 'alice'), { limit: 10 }),
    );
    expect(rows).toEqual([]);
    expect((await stores.deviceLists.chain(acme, bob)).map((l) => l.bytes)).toEqual([list(3)]);
    // A new chain starts at epoch 1 again.
    await stores.deviceLists.append(acme, alice, list(4), 1);
  });

  it('reads a damaged row or a gap as a DecodeError naming the table', async () => {
    for (let epoch = 1; epoch <= 3; epoch++) await stores.deviceLists.append(acme, alice, list(epoch), epoch);
    const adapter = db as StorageAdapter;
    const p = partition('acme', 'alice');
    const u64 = (n: number) => uintBE(n, 8);
    // A row whose epoch is not the one of its key.
    await adapter.transaction((tx) =>
      tx.put(SERVER_TABLES.deviceLists, {
        partition: p,
        sort: u64(3),
        value: encodeRecord(1, { epoch: 2, list: list(3), storedAt: 1 }),
      }),
    );
    for (const read of [stores.deviceLists.chain(acme, alice), stores.deviceLists.newest(acme, alice)]) {
      let error: unknown;
      await read.catch((e) => {
        error = e;
      });
      expect((error as CloisterError).code).toBe('ERR_DECODE');
      expect((error as { path: string }).path.startsWith('s_device_lists')).toBe(true);
    }
    // A list that is not bytes.
    await adapter.transaction((tx) =>
      tx.put(SERVER_TABLES.deviceLists, {
        partition: p,
        sort: u64(3),
        value: encodeRecord(1, { epoch: 3, list: 'not bytes', storedAt: 1 }),
      }),
    );
    await rejectsWith(stores.deviceLists.newest(acme, alice), 'ERR_DECODE');
    // A missing list in the middle of the chain.
    await adapter.transaction(async (tx) => {
      await tx.put(SERVER_TABLES.deviceLists, {
        partition: p,
        sort: u64(3),
        value: encodeRecord(1, { epoch: 3, list: list(3), storedAt: 1 }),
      });
      await tx.delete(SERVER_TABLES.deviceLists, p, u64(2));
    });
    await rejectsWith(stores.deviceLists.chain(acme, alice), 'ERR_DECODE');
    expect((await stores.deviceLists.newest(acme, alice))?.epoch).toBe(3);
    // An unknown record version of the head.
    await adapter.transaction((tx) =>
      tx.put(SERVER_TABLES.deviceLists, {
        partition: p,
        sort: new Uint8Array(0),
        value: encodeRecord(2, {}),
      }),
    );
    await rejectsWith(stores.deviceLists.chain(acme, alice), 'ERR_DECODE');
  });
});
