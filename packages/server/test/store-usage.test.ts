/**
 * The usage ledger (`store/usage.ts`, `spec/storage-server.md` "Usage") on memory, on memory under
 * encryption at rest (the table is unordered: hashed sort keys), on PGlite, and on PostgreSQL when
 * `DATABASE_URL` is set (a schema of its own, dropped afterwards): sums over buckets and shards,
 * buckets leaving the figure when they end (never before the things they count), no figure below
 * zero, and concurrent adders losing nothing.
 */
import { type CloisterError, deviceId, getProvider } from '@cloister/crypto';
import { tenantId, userId } from '@cloister/protocol';
import type { StorageAdapter, StorageTx } from '@cloister/storage';
import { adapterExecutor, createEncryptedAdapter, createMemoryAdapter } from '@cloister/storage';
import { createPGliteAdapter, createPostgresAdapter } from '@cloister/storage/sql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_ORDERED_TABLES, SERVER_TABLES } from '../src/store/index.js';
import {
  ARCHIVE_USAGE_BUCKET_MS,
  BLOB_USAGE_BUCKET_MS,
  createUsageLedger,
  createUsageStore,
  USAGE_SHARDS,
  type UsageScope,
  usageBucket,
  usagePartition,
} from '../src/store/usage.js';

const DATABASE_URL = process.env.DATABASE_URL || undefined;
const DAY = BLOB_USAGE_BUCKET_MS;
const acme = tenantId('acme');
const device: UsageScope = { kind: 'device', tenant: acme, user: userId('alice'), device: deviceId(1) };
const other: UsageScope = { kind: 'device', tenant: acme, user: userId('alice'), device: deviceId(2) };
const tenantBlobs: UsageScope = { kind: 'tenant-blobs', tenant: acme };

/** Shards 0, 1, 2, … in turn, so that successive transactions write successive shard rows. */
function cyclingShards() {
  let next = 0;
  return { randomBytes: (n: number) => new Uint8Array(n).fill(next++ % 256) };
}

interface Backend {
  readonly name: string;
  open(now: () => number): Promise<StorageAdapter>;
  close?(): Promise<void>;
}

const schemas: string[] = [];
const BACKENDS: Backend[] = [
  { name: 'memory', open: async (now) => createMemoryAdapter({ now }) },
  {
    name: 'memory, encrypted at rest',
    open: async (now) =>
      createEncryptedAdapter(createMemoryAdapter({ now }), {
        dataKey: new Uint8Array(32).fill(9),
        provider: await getProvider(),
        orderedTables: SERVER_ORDERED_TABLES,
      }),
  },
  { name: 'PGlite', open: (now) => createPGliteAdapter({ now }) },
  ...(DATABASE_URL === undefined
    ? []
    : [
        {
          name: 'PostgreSQL',
          open: (now: () => number) => {
            const schema = `t_usage_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
            schemas.push(schema);
            return createPostgresAdapter({ connectionString: DATABASE_URL, schema, now, poolSize: 8 });
          },
        },
      ]),
];

afterAll(async () => {
  if (DATABASE_URL === undefined || schemas.length === 0) return;
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});

async function rejectsWith(promise: Promise<unknown>, code: string, field?: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeDefined();
  expect((error as CloisterError).code).toBe(code);
  if (field !== undefined) expect((error as { field?: string }).field).toBe(field);
}

describe.each(BACKENDS)('usage ledger on $name', (backend) => {
  let time = 1_700_000_000_000;
  let db: StorageAdapter;
  const ledger = createUsageLedger(cyclingShards());
  const read = (scope: UsageScope) => createUsageStore(adapterExecutor(db)).read(scope);
  const tx = <T>(fn: (t: StorageTx) => Promise<T>) => db.transaction(fn);
  const rows = (scope: UsageScope) =>
    db.transaction((t) => t.list(SERVER_TABLES.usage, usagePartition(scope), { limit: 1000 }), {
      readOnly: true,
    });

  beforeAll(async () => {
    db = await backend.open(() => time);
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it('adds, sums over shard rows and subtracts; other scopes are untouched', async () => {
    const expires = time + 3 * DAY;
    for (let i = 0; i < USAGE_SHARDS + 2; i++) {
      await tx((t) => ledger.add(t, device, expires, { bytes: 100, count: 1 }));
    }
    await tx((t) => ledger.add(t, other, expires, { bytes: 7, count: 1 }));
    expect(await read(device)).toEqual({ bytes: 1000, count: 10 });
    expect(await read(other)).toEqual({ bytes: 7, count: 1 });
    expect(await read(tenantBlobs)).toEqual({ bytes: 0, count: 0 });
    // Ten adds in ten transactions went to every shard of the one bucket.
    expect((await rows(device)).length).toBe(USAGE_SHARDS);
    // A subtraction larger than any one shard row takes from several.
    const bucket = usageBucket(device, expires);
    expect(await tx((t) => ledger.subtract(t, device, bucket, { bytes: 350, count: 3 }))).toEqual({
      bytes: 350,
      count: 3,
    });
    expect(await read(device)).toEqual({ bytes: 650, count: 7 });
    for (const row of await rows(device)) expect(row.expiresAt).toBe(bucket * DAY);
  });

  it('never goes below zero, also for a bucket that holds less or nothing', async () => {
    const scope: UsageScope = { kind: 'tenant-blobs', tenant: tenantId('zero') };
    const expires = time + DAY;
    const bucket = await tx((t) => ledger.add(t, scope, expires, { bytes: 10, count: 1 }));
    expect(await tx((t) => ledger.subtract(t, scope, bucket, { bytes: 25, count: 4 }))).toEqual({
      bytes: 10,
      count: 1,
    });
    expect(await read(scope)).toEqual({ bytes: 0, count: 0 });
    expect(await tx((t) => ledger.subtract(t, scope, bucket, { bytes: 5, count: 1 }))).toEqual({
      bytes: 0,
      count: 0,
    });
    expect(await tx((t) => ledger.subtract(t, scope, bucket + 1, { bytes: 5, count: 1 }))).toEqual({
      bytes: 0,
      count: 0,
    });
    expect(await read(scope)).toEqual({ bytes: 0, count: 0 });
  });

  it("keeps counting until its bucket's end, never less long than the thing counted", async () => {
    const scope: UsageScope = {
      kind: 'device',
      tenant: tenantId('expiry'),
      user: userId('u'),
      device: deviceId(1),
    };
    const start = time;
    const expires = start + 2 * DAY + 5; // in the bucket that ends at the next day boundary after it
    await tx((t) => ledger.add(t, scope, expires, { bytes: 40, count: 1 }));
    await tx((t) => ledger.add(t, scope, start + 9 * DAY, { bytes: 2, count: 1 }));
    const end = Math.ceil(expires / DAY) * DAY;
    expect(end).toBeGreaterThanOrEqual(expires);
    time = expires;
    expect(await read(scope)).toEqual({ bytes: 42, count: 2 });
    time = end - 1;
    expect(await read(scope)).toEqual({ bytes: 42, count: 2 });
    time = end;
    expect(await read(scope)).toEqual({ bytes: 2, count: 1 });
    time = start + 10 * DAY;
    expect(await read(scope)).toEqual({ bytes: 0, count: 0 });
    time = start;
  });

  it('counts archive items in 90-day buckets, and items that never expire for ever', async () => {
    const scope: UsageScope = { kind: 'tenant-archive', tenant: tenantId('archive') };
    const start = time;
    const bucket = await tx((t) => ledger.add(t, scope, start + 31 * DAY, { bytes: 300, count: 1 }));
    await tx((t) => ledger.add(t, scope, null, { bytes: 5, count: 1 }));
    expect(bucket).toBe(Math.ceil((start + 31 * DAY) / ARCHIVE_USAGE_BUCKET_MS));
    const stored = await rows(scope);
    expect(stored.map((r) => r.expiresAt).sort()).toEqual([bucket * ARCHIVE_USAGE_BUCKET_MS, null].sort());
    time = bucket * ARCHIVE_USAGE_BUCKET_MS;
    expect(await read(scope)).toEqual({ bytes: 5, count: 1 });
    time = start + 100 * 365 * DAY;
    expect(await read(scope)).toEqual({ bytes: 5, count: 1 });
    const never = usageBucket(scope, null);
    await tx((t) => ledger.subtract(t, scope, never, { bytes: 5, count: 1 }));
    expect(await read(scope)).toEqual({ bytes: 0, count: 0 });
    time = start;
    expect(await read(scope)).toEqual({ bytes: 300, count: 1 });
  });

  it("reads a scope once per transaction and moves that figure by the transaction's own writes", async () => {
    const scope: UsageScope = { kind: 'tenant-blobs', tenant: tenantId('memo') };
    const expires = time + DAY;
    const seen = await tx(async (t) => {
      const before = await ledger.read(t, scope);
      const bucket = await ledger.add(t, scope, expires, { bytes: 30, count: 2 });
      const between = await ledger.read(t, scope);
      await ledger.subtract(t, scope, bucket, { bytes: 10, count: 1 });
      return [before, between, await ledger.read(t, scope)];
    });
    expect(seen).toEqual([
      { bytes: 0, count: 0 },
      { bytes: 30, count: 2 },
      { bytes: 20, count: 1 },
    ]);
    expect(await read(scope)).toEqual({ bytes: 20, count: 1 });
    // A transaction that throws leaves nothing behind.
    await expect(
      tx(async (t) => {
        await ledger.add(t, scope, expires, { bytes: 1000, count: 1 });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await read(scope)).toEqual({ bytes: 20, count: 1 });
  });

  it('loses no add of 40 concurrent transactions (rows created and rewritten under locks)', async () => {
    const scope: UsageScope = { kind: 'tenant-archive', tenant: tenantId('race') };
    const racing = createUsageLedger(await getProvider());
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        tx((t) => racing.add(t, scope, time + DAY, { bytes: i + 1, count: 1 })),
      ),
    );
    expect(await read(scope)).toEqual({ bytes: (40 * 41) / 2, count: 40 });
  });

  it('runs the checks of a locked scope one at a time: 20 racing check-then-adds stop exactly at 5', async () => {
    const scope: UsageScope = {
      kind: 'device',
      tenant: tenantId('lock'),
      user: userId('u'),
      device: deviceId(1),
    };
    const racing = createUsageLedger(await getProvider());
    const added = await Promise.all(
      Array.from({ length: 20 }, () =>
        tx(async (t) => {
          await racing.lock(t, scope, time + DAY);
          if ((await racing.read(t, scope)).count >= 5) return false;
          await racing.add(t, scope, time + DAY, { bytes: 10, count: 1 });
          return true;
        }),
      ),
    );
    expect(added.filter(Boolean).length).toBe(5);
    // The lock row counts nothing.
    expect(await read(scope)).toEqual({ bytes: 50, count: 5 });
  });

  it('stores every figure in 17 bytes, and refuses a damaged row with DecodeError', async () => {
    const scope: UsageScope = { kind: 'tenant-blobs', tenant: tenantId('sizes') };
    await tx((t) => ledger.add(t, scope, time + DAY, { bytes: 1, count: 1 }));
    await tx((t) => ledger.add(t, scope, time + 2 * DAY, { bytes: 2 ** 50, count: 123_456_789 }));
    await tx((t) => ledger.lock(t, scope, time + DAY));
    expect((await rows(scope)).map((r) => r.value.length)).toEqual([17, 17, 17]);
    await tx((t) =>
      t.put(SERVER_TABLES.usage, {
        partition: usagePartition(scope),
        sort: new Uint8Array([0, 0, 0, 9, 0]),
        value: new Uint8Array(17).fill(0xff),
      }),
    );
    await rejectsWith(read(scope), 'ERR_DECODE');
  });

  it('refuses a negative or fractional figure and a bad scope', async () => {
    await rejectsWith(
      tx((t) => ledger.add(t, device, time + DAY, { bytes: -1, count: 1 })),
      'ERR_VALIDATION',
      'delta.bytes',
    );
    await rejectsWith(
      tx((t) => ledger.subtract(t, device, 1, { bytes: 1, count: 0.5 })),
      'ERR_VALIDATION',
      'delta.count',
    );
    await rejectsWith(read({ kind: 'tenant', tenant: acme } as never), 'ERR_VALIDATION', 'scope.kind');
    await rejectsWith(
      read({ kind: 'tenant-blobs', tenant: 'a b' } as never),
      'ERR_VALIDATION',
      'scope.tenant',
    );
  });
});
