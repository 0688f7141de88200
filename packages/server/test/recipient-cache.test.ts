/**
 * The relay checks recipients from a cache (`recipients.ts`, spec/server-delivery.md §2b): the
 * attack is a delivery that gets through because the instance still trusts what it cached before
 * an administrator blocked the recipient. Each test warms the cache with an accepted delivery,
 * blocks through the admin API, and sees the very next delivery refused: on the instance that
 * blocked (emptied at the commit), and, with `DATABASE_URL`, on another instance sharing
 * PostgreSQL (emptied by the bus's invalidation).
 */
import { randomBytes } from 'node:crypto';
import { deviceId, type SenderCertificate, utf8 } from '@cloister/crypto';
import { tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresBus } from '../src/bus-postgres.js';
import type { ServerContext } from '../src/context.js';
import {
  createRecipientCache,
  EMBEDDED_RECIPIENT_CACHE_TTL_MS,
  RECIPIENT_CACHE_TTL_MS,
  type RecipientCache,
  recipientsOf,
} from '../src/recipients.js';
import { statisticsOf } from '../src/statistics.js';
import type { ServerStoreSet } from '../src/store/index.js';
import {
  type AdminTestServer,
  createTenantAsOperator,
  DATABASE_URL,
  login,
  startAdminServer,
} from './helpers/admin-api.js';
import { setUpDevice, type TestDevice } from './helpers/device-client.js';
import { postSealed, sealTo, testSenderCertificate } from './helpers/sealed-delivery.js';

const acme = tenantId('acme');
let certificate: SenderCertificate;

async function deliver(t: AdminTestServer, to: TestDevice, body: string): Promise<string> {
  const res = await postSealed(t, await sealTo(t.server.context, certificate, to, utf8(body)));
  expect(res.status).toBe(200);
  return (res.json as { results: { status: string }[] }).results[0]?.status ?? 'missing';
}

/** A recipient cache over `ctx`'s stores that counts the reads (transactions) it makes. */
function countingCache(ctx: ServerContext, ttlMs?: number): { cache: RecipientCache; reads: () => number } {
  let reads = 0;
  const stores = {
    ...ctx.stores,
    transaction: <T>(fn: (s: ServerStoreSet) => Promise<T>) => {
      reads++;
      return ctx.stores.transaction(fn);
    },
  };
  return { cache: createRecipientCache({ ...ctx, stores }, ttlMs), reads: () => reads };
}

beforeAll(async () => {
  certificate = await testSenderCertificate();
});

describe('a block reaches the recipient cache at once (one instance)', () => {
  let t: AdminTestServer;
  let owner: { session: string };

  beforeAll(async () => {
    // No webhook dispatcher: its outbox poll (a transaction every second) would be counted too.
    t = await startAdminServer(Date.now(), { webhooks: { dispatch: false } });
    const created = await createTenantAsOperator(t, 'acme');
    owner = { session: await login(t, 'acme', created.owner.email, created.owner.secret) };
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('refuses the delivery right after a device block, and accepts again right after the unblock', async () => {
    const d = await setUpDevice(t.server.context, acme, 'carol', 1);
    expect(await deliver(t, d, 'warm')).toBe('accepted');
    expect((await t.as(owner, 'POST', '/admin/v1/users/carol/devices/1/block')).status).toBe(200);
    expect(await deliver(t, d, 'blocked')).toBe('refused');
    expect((await t.as(owner, 'POST', '/admin/v1/users/carol/devices/1/unblock')).status).toBe(200);
    expect(await deliver(t, d, 'again')).toBe('accepted');
    expect(await t.server.context.stores.mailboxes.count(d.mailbox)).toBe(2);
  });

  it('refuses the delivery right after a user block and after a user deletion', async () => {
    const d = await setUpDevice(t.server.context, acme, 'dave', 1);
    expect(await deliver(t, d, 'warm')).toBe('accepted');
    expect((await t.as(owner, 'POST', '/admin/v1/users/dave/block')).status).toBe(200);
    expect(await deliver(t, d, 'blocked')).toBe('refused');
    const e = await setUpDevice(t.server.context, acme, 'erin', 1);
    expect(await deliver(t, e, 'warm')).toBe('accepted');
    // Sealed with a token issued before the deletion, for a recipient that was cached: refused.
    const envelope = await sealTo(t.server.context, certificate, e, utf8('gone'));
    expect((await t.as(owner, 'DELETE', '/admin/v1/users/erin')).status).toBe(204);
    const res = await postSealed(t, envelope);
    expect((res.json as { results: { status: string }[] }).results[0]?.status).toBe('refused');
  });
});

describe('what does not empty the recipient caches', () => {
  let t: AdminTestServer;

  beforeAll(async () => {
    // No webhook dispatcher: its outbox poll (a transaction every second) would be counted too.
    t = await startAdminServer(Date.now(), { webhooks: { dispatch: false } });
    await createTenantAsOperator(t, 'acme');
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('reads a recipient once for requests that miss it at once, and again after an invalidation', async () => {
    const ctx = t.server.context;
    const d = await setUpDevice(ctx, acme, 'hal', 1);
    const { cache, reads } = countingCache(ctx);
    const first = await Promise.all(Array.from({ length: 10 }, () => cache.get(d.mailbox)));
    expect(reads()).toBe(1);
    expect(new Set(first).size).toBe(1);
    expect(first[0]).toMatchObject({ tenant: 'acme', user: 'hal', blocked: false });
    await cache.get(d.mailbox);
    expect(reads()).toBe(1);
    // A miss in flight when the cache is invalidated is not shared with a request after it.
    cache.invalidate();
    const before = cache.get(d.mailbox);
    cache.invalidate();
    await ctx.stores.devices.update(acme, userId(d.user), deviceId(d.device), { blocked: true });
    const after = await cache.get(d.mailbox);
    await before;
    expect(reads()).toBe(3);
    expect(after?.blocked).toBe(true);
  });

  it('reads a recipient in use again past half its TTL, so that it never expires under traffic', async () => {
    const ctx = t.server.context;
    const d = await setUpDevice(ctx, acme, 'ida', 1);
    const { cache, reads } = countingCache(ctx, 1000);
    const start = t.time;
    try {
      expect(await cache.get(d.mailbox)).toMatchObject({ user: 'ida', blocked: false });
      t.time = start + 400;
      await cache.get(d.mailbox);
      expect(reads()).toBe(1); // young: served, nothing read
      t.time = start + 600;
      await ctx.stores.devices.update(acme, userId(d.user), deviceId(d.device), { blocked: true });
      // Past half its life: served as cached (the block is not seen yet, which the TTL allows)
      // and read again behind it.
      expect((await cache.get(d.mailbox))?.blocked).toBe(false);
      expect(reads()).toBe(2);
      await expect.poll(async () => (await cache.get(d.mailbox))?.blocked).toBe(true);
      // The refreshed entry lives from its own read: 1,050 ms after the first read it is a hit.
      t.time = start + 1050;
      await cache.get(d.mailbox);
      expect(reads()).toBe(2);
      // Never served past the TTL: 1,000 ms after the refresh, a miss.
      t.time = start + 1700;
      await cache.get(d.mailbox);
      expect(reads()).toBe(3);
    } finally {
      t.time = start;
    }
  });

  it('keeps entries 60 s on an embedded database, which no other process writes', async () => {
    const ctx = t.server.context;
    expect(ctx.adapter.kind).not.toContain('postgres');
    const d = await setUpDevice(ctx, acme, 'jon', 1);
    const start = t.time;
    try {
      await recipientsOf(ctx).get(d.mailbox);
      t.time = start + 2.5 * RECIPIENT_CACHE_TTL_MS; // short of half the embedded TTL
      await statisticsOf(ctx).flush(); // nothing of the recorder's ten-second batch inside the window
      const before = t.server.storageStatistics();
      await recipientsOf(ctx).get(d.mailbox);
      expect(t.server.storageStatistics()?.statements).toBe(before?.statements);
      t.time = start + EMBEDDED_RECIPIENT_CACHE_TTL_MS + 1;
      await recipientsOf(ctx).get(d.mailbox);
      expect(t.server.storageStatistics()?.statements).toBeGreaterThan(before?.statements ?? 0);
    } finally {
      t.time = start;
    }
  });

  it("a device's request, which records it as seen, invalidates nothing; a block does", async () => {
    const ctx = t.server.context;
    const d = await setUpDevice(ctx, acme, 'gus', 1);
    let invalidations = 0;
    const stop = ctx.bus.onInvalidate?.(() => {
      invalidations++;
    });
    try {
      const res = await t.request('GET', '/v1/messages', { credential: d.credential });
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 100)); // the last-seen write follows the answer
      expect((await ctx.stores.devices.get(acme, d.user as never, 1 as never))?.lastSeenAt).not.toBeNull();
      expect(invalidations).toBe(0);
      await ctx.stores.devices.update(acme, d.user as never, 1 as never, { blocked: true });
      expect(invalidations).toBe(1);
    } finally {
      stop?.();
    }
  });
});

describe.runIf(DATABASE_URL !== undefined)(
  'a block on one instance reaches the cache of another (PostgreSQL)',
  () => {
    const servers: AdminTestServer[] = [];
    let owner: { session: string };
    const channel = `cloister_cache_${process.pid}_${Math.floor(Math.random() * 1e9)}`;

    beforeAll(async () => {
      const schema = `t_cache_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
      const storageKey = new Uint8Array(randomBytes(32));
      const start = Date.now();
      for (let i = 0; i < 2; i++) {
        servers.push(
          await startAdminServer(start, {
            postgresSchema: schema,
            storageKey,
            bus: await createPostgresBus({ connectionString: DATABASE_URL as string, channel }),
          }),
        );
      }
      const a = servers[0] as AdminTestServer;
      const created = await createTenantAsOperator(a, 'acme');
      owner = { session: await login(a, 'acme', created.owner.email, created.owner.secret) };
    }, 60_000);
    afterAll(async () => {
      for (const s of servers) await s.close();
    });

    it('blocked through instance A: instance B refuses the next delivery once the invalidation arrives', async () => {
      const [a, b] = servers as [AdminTestServer, AdminTestServer];
      const d = await setUpDevice(a.server.context, acme, 'frank', 1);
      expect(await deliver(b, d, 'warm')).toBe('accepted'); // B has cached the recipient
      const heard = new Promise<void>((resolve) => {
        const stop = b.server.context.bus.onInvalidate?.(() => {
          stop?.();
          resolve();
        });
      });
      expect((await a.as(owner, 'POST', '/admin/v1/users/frank/devices/1/block')).status).toBe(200);
      await heard;
      expect(await deliver(b, d, 'blocked')).toBe('refused');
      expect(await b.server.context.stores.mailboxes.count(d.mailbox)).toBe(1);
    });
  },
);
