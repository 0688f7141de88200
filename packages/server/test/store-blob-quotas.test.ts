/**
 * Blob quotas in the store (`spec/server-blobs.md` §1.4, `spec/storage-server.md` "Usage"): a
 * device over its byte or count quota, or a tenant over its quota (blobs and archive together),
 * gets `QuotaExceededError` and nothing is written; other devices are unaffected; a delete by the
 * owner and the end of the expiry day free; concurrent begins stop at the device quota exactly and
 * pass the tenant quota at most by what the begins in flight add. On memory, and on PGlite — or on
 * PostgreSQL as two server instances sharing a schema when `DATABASE_URL` is set.
 */
import { type CloisterError, deviceId } from '@cloister/crypto';
import { type BlobId, blobId, tenantId, userId } from '@cloister/protocol';
import { createMemoryAdapter, type StorageAdapter } from '@cloister/storage';
import { createPGliteAdapter, createPostgresAdapter } from '@cloister/storage/sql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BlobOwner,
  type BlobQuotas,
  createServerStores,
  QuotaExceededError,
  type ServerStores,
} from '../src/store/index.js';

const DATABASE_URL = process.env.DATABASE_URL || undefined;
const DAY = 86_400_000;
const CHUNK = 4096;
const KIB = 1024;

const owner = (tenant: string, user: string, device: number): BlobOwner => ({
  tenant: tenantId(tenant),
  user: userId(user),
  device: deviceId(device),
});

async function quotaError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected QuotaExceededError').toBeInstanceOf(QuotaExceededError);
  expect((error as CloisterError).code).toBe('ERR_STORAGE');
  return (error as QuotaExceededError).quota;
}

interface Setup {
  readonly name: string;
  readonly instances: number;
  open(now: () => number): Promise<{ adapters: StorageAdapter[]; drop?: () => Promise<void> }>;
}

const SETUPS: Setup[] = [
  { name: 'memory', instances: 1, open: async (now) => ({ adapters: [createMemoryAdapter({ now })] }) },
  DATABASE_URL === undefined
    ? {
        name: 'PGlite',
        instances: 1,
        open: async (now) => ({ adapters: [await createPGliteAdapter({ now })] }),
      }
    : {
        name: 'PostgreSQL (two instances)',
        instances: 2,
        open: async (now) => {
          const schema = `t_blobq_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
          const make = () =>
            createPostgresAdapter({ connectionString: DATABASE_URL, schema, now, poolSize: 8 });
          const first = await make();
          const second = await make();
          return {
            adapters: [first, second],
            drop: async () => {
              const client = new pg.Client({ connectionString: DATABASE_URL });
              await client.connect();
              try {
                await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
              } finally {
                await client.end();
              }
            },
          };
        },
      },
];

describe.each(SETUPS)('blob quotas on $name', (setup) => {
  let time = 1_750_000_000_000;
  let adapters: StorageAdapter[] = [];
  let instances: ServerStores[] = [];
  let drop: (() => Promise<void>) | undefined;
  let n = 0;
  const on = (i: number) => instances[i % instances.length] as ServerStores;
  const s = () => on(0);
  const nextId = (): BlobId => blobId(`b_${setup.instances}_${n++}`);
  const quotas = (q: Partial<BlobQuotas> = {}): BlobQuotas => ({
    maxBytesPerDevice: 64 * KIB,
    maxCountPerDevice: 4,
    tenantMaxBytes: 1024 * KIB,
    ...q,
  });
  const begin = (who: BlobOwner, size: number, q = quotas(), i = 0, expiresAt = time + DAY) => {
    const id = nextId();
    return on(i)
      .blobs.begin(id, size, expiresAt, { chunkSize: CHUNK, owner: who, quotas: q })
      .then(() => id);
  };

  beforeAll(async () => {
    const opened = await setup.open(() => time);
    adapters = opened.adapters;
    drop = opened.drop;
    instances = adapters.map((a) => createServerStores(a, { maxBlobBytes: 1024 * KIB }));
  }, 60_000);
  afterAll(async () => {
    for (const a of adapters) await a.close();
    await drop?.();
  });

  it('refuses a device past its byte quota, writing nothing; the tenant’s other devices go on', async () => {
    const alice = owner('acme', 'alice', 1);
    await begin(alice, 40 * KIB);
    await begin(alice, 20 * KIB);
    const refusedId = blobId('b_refused_bytes');
    expect(
      await quotaError(
        s().blobs.begin(refusedId, 5 * KIB, time + DAY, { chunkSize: CHUNK, owner: alice, quotas: quotas() }),
      ),
    ).toBe('device.blobBytes');
    expect(await s().blobs.status(refusedId)).toBeUndefined();
    expect(await s().usage.read({ kind: 'device', ...alice })).toEqual({ bytes: 60 * KIB, count: 2 });
    // Exactly up to the quota is fine.
    await begin(alice, 4 * KIB);
    expect(await quotaError(begin(alice, 1))).toBe('device.blobBytes');
    // Alice's tablet and Bob count on their own.
    await begin(owner('acme', 'alice', 2), 60 * KIB);
    await begin(owner('acme', 'bob', 1), 60 * KIB);
    expect(await s().usage.read({ kind: 'tenant-blobs', tenant: tenantId('acme') })).toEqual({
      bytes: 184 * KIB,
      count: 5,
    });
  });

  it('refuses a device past its count quota, unfinished uploads included', async () => {
    const carol = owner('acme', 'carol', 1);
    for (let i = 0; i < 4; i++) await begin(carol, 100);
    const refusedId = blobId('b_refused_count');
    expect(
      await quotaError(
        s().blobs.begin(refusedId, 100, time + DAY, { chunkSize: CHUNK, owner: carol, quotas: quotas() }),
      ),
    ).toBe('device.blobs');
    expect(await s().blobs.status(refusedId)).toBeUndefined();
    expect(await s().usage.read({ kind: 'device', ...carol })).toEqual({ bytes: 400, count: 4 });
  });

  it('frees what the owner deletes (complete or not); a delete without the owner frees nothing', async () => {
    const dave = owner('acme', 'dave', 1);
    const first = await begin(dave, 60 * KIB);
    expect(await quotaError(begin(dave, 8 * KIB))).toBe('device.blobBytes');
    expect(await s().blobs.delete(first, dave)).toBe(true);
    expect(await s().usage.read({ kind: 'device', ...dave })).toEqual({ bytes: 0, count: 0 });
    const second = await begin(dave, 8 * KIB);
    await s().blobs.putChunk(second, 0, new Uint8Array(CHUNK));
    await s().blobs.putChunk(second, 1, new Uint8Array(CHUNK));
    await s().blobs.finish(second);
    expect(await s().blobs.delete(second, dave)).toBe(true);
    expect(await s().blobs.delete(second, dave)).toBe(false);
    expect(await s().usage.read({ kind: 'device', ...dave })).toEqual({ bytes: 0, count: 0 });
    // Without the owner the store cannot tell whose figure to move: counted until the day ends.
    const third = await begin(dave, 1 * KIB);
    expect(await s().blobs.delete(third)).toBe(true);
    expect(await s().usage.read({ kind: 'device', ...dave })).toEqual({ bytes: KIB, count: 1 });
  });

  it('frees at the end of the day a blob expires in, not before it expires', async () => {
    const erin = owner('acme', 'erin', 1);
    const start = time;
    const expiresAt = start + 2 * DAY + 17;
    const id = await begin(erin, 64 * KIB, quotas(), 0, expiresAt);
    time = expiresAt;
    expect(await s().blobs.status(id)).toBeUndefined();
    expect(await quotaError(begin(erin, 1))).toBe('device.blobBytes');
    time = Math.ceil(expiresAt / DAY) * DAY;
    await begin(erin, 64 * KIB);
    time = start;
  });

  it("holds a tenant to its quota over all its devices' blobs and its archive", async () => {
    const q = quotas({ tenantMaxBytes: 100 * KIB });
    await begin(owner('beta', 'a', 1), 50 * KIB, q);
    await begin(owner('beta', 'b', 1), 40 * KIB, q);
    expect(await quotaError(begin(owner('beta', 'c', 1), 20 * KIB, q))).toBe('tenant.bytes');
    await begin(owner('beta', 'c', 1), 6 * KIB, q);
    // The archive counts into the same quota and is held to it.
    await s().archive.append(tenantId('beta'), {
      sealed: new Uint8Array(3 * KIB),
      expiresAt: time + 365 * DAY,
    });
    expect(await s().usage.tenant(tenantId('beta'))).toEqual({
      blobs: { bytes: 96 * KIB, count: 3 },
      archive: { bytes: 3 * KIB, count: 1 },
    });
    expect(await s().archive.fits(tenantId('beta'), KIB, 100 * KIB)).toBe(true);
    expect(await s().archive.fits(tenantId('beta'), KIB + 1, 100 * KIB)).toBe(false);
    expect(
      await quotaError(
        s().archive.append(
          tenantId('beta'),
          { sealed: new Uint8Array(2 * KIB), expiresAt: null },
          { tenantMaxBytes: 100 * KIB },
        ),
      ),
    ).toBe('tenant.bytes');
    expect((await s().archive.list(tenantId('beta'))).items.length).toBe(1);
    expect(await quotaError(begin(owner('beta', 'a', 2), 2 * KIB, q))).toBe('tenant.bytes');
    // Deleting an archive item frees its bytes.
    const [item] = (await s().archive.list(tenantId('beta'))).items;
    expect(await s().archive.delete(tenantId('beta'), item?.id ?? '')).toBe(true);
    expect((await s().usage.tenant(tenantId('beta'))).archive).toEqual({ bytes: 0, count: 0 });
    await begin(owner('beta', 'a', 2), 2 * KIB, q);
  });

  it('stops 12 concurrent begins of one device exactly at its quota; a tenant passes by at most what its begins in flight add', async () => {
    const frank = owner('gamma', 'frank', 1);
    const q = quotas({ maxBytesPerDevice: 5 * 10 * KIB, maxCountPerDevice: 1000 });
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => begin(frank, 10 * KIB, q, i)),
    );
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(5);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as QuotaExceededError).quota).toBe('device.blobBytes');
    }
    expect(await s().usage.read({ kind: 'device', ...frank })).toEqual({ bytes: 50 * KIB, count: 5 });

    // The tenant's scopes are not locked: 12 devices racing for a 50 KiB tenant quota end at most
    // 11 × 10 KiB past it (each begin saw the others' uncommitted adds as absent). One writer at a
    // time (memory, PGlite) gives exactly the quota.
    const tq = quotas({ tenantMaxBytes: 50 * KIB });
    const tenantRace = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => begin(owner('delta', `u${i}`, 1), 10 * KIB, tq, i)),
    );
    const admitted = tenantRace.filter((r) => r.status === 'fulfilled').length;
    const { blobs } = await s().usage.tenant(tenantId('delta'));
    expect(blobs).toEqual({ bytes: admitted * 10 * KIB, count: admitted });
    expect(admitted).toBeGreaterThanOrEqual(5);
    expect(blobs.bytes).toBeLessThanOrEqual(50 * KIB + 11 * 10 * KIB);
    if (setup.instances === 1) expect(admitted).toBe(5);
  });

  it('checks the owner and quotas it is given', async () => {
    const id = nextId();
    await expect(s().blobs.begin(id, 10, time + DAY, { quotas: quotas() } as never)).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
      field: 'options.owner',
    });
    await expect(
      s().blobs.begin(id, 10, time + DAY, { owner: { ...owner('acme', 'x', 1), user: 'a b' } } as never),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION', field: 'options.owner.user' });
    await expect(
      s().blobs.begin(id, 10, time + DAY, {
        owner: owner('acme', 'x', 1),
        quotas: quotas({ tenantMaxBytes: -1 }),
      }),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION', field: 'options.quotas.tenantMaxBytes' });
    await expect(s().blobs.delete(id, { device: 1 } as never)).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
      field: 'owner.tenant',
    });
    expect(await s().blobs.status(id)).toBeUndefined();
  });
});
