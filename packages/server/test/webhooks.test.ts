/**
 * Signed webhooks through a real local HTTP receiver (PGlite; PostgreSQL with `DATABASE_URL`):
 * an admin event reaches the receiver signed as the Standard Webhooks specification says and
 * carrying ids only; a forged or replayed message fails the verification helper; a receiver that
 * fails twice then succeeds gets the event on the third attempt (same event id each time); one
 * that keeps failing sees the event marked failed after the last attempt, visible in the API; a
 * change that rolls back sends nothing; a restart of the server in the middle of the retries
 * still delivers; two dispatchers claiming at once never take the same row.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceId } from '@cloister/crypto';
import { tenantId, userId } from '@cloister/protocol';
import { createMemoryAdapter } from '@cloister/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerStores } from '../src/store/index.js';
import { checkWebhookUrl, signWebhook, verifyWebhookSignature, webhookRetryDelay } from '../src/webhooks.js';
import { confirmWipe, recordWipe } from '../src/wipe.js';
import {
  type AdminTestServer,
  type CreatedTenant,
  createTenantAsOperator,
  login,
  startAdminServer,
} from './helpers/admin-api.js';
import { type ReceivedWebhook, webhookReceiver } from './helpers/integrations.js';

const T0 = 1_760_000_000_000 - (1_760_000_000_000 % 30_000) + 5_000;
const WEBHOOKS = {
  allowHttpLocalhost: true,
  pollMs: 20,
  baseDelayMs: 1000,
  maxDelayMs: 4000,
  maxAttempts: 4,
};

type Received = ReceivedWebhook;

/** A local receiver answering with the statuses of `plan` in turn, then 204. */
async function receiver(plan: number[] = []) {
  return { ...(await webhookReceiver(() => plan.shift() ?? 204)), plan };
}

/** Waits until `done()` holds, moving the server's clock on so that retries come due. */
async function until(
  t: AdminTestServer,
  done: () => boolean | Promise<boolean>,
  stepMs = 5_000,
): Promise<void> {
  const end = Date.now() + 30_000;
  while (!(await done())) {
    if (Date.now() > end) throw new Error('timed out');
    t.time += stepMs;
    await new Promise((r) => setTimeout(r, 40));
  }
}

describe('signed webhooks', () => {
  let t: AdminTestServer;
  let acme: CreatedTenant;
  let owner: { session: string };

  async function subscribe(url: string, events: string[]) {
    const res = await t.as(owner, 'POST', '/admin/v1/webhooks', { json: { url, events } });
    expect(res.status, res.body.toString()).toBe(201);
    return { id: res.json.webhook.id as string, secret: res.json.secret as string };
  }

  async function deliveries(id: string) {
    const res = await t.as(owner, 'GET', `/admin/v1/webhooks/${id}/deliveries`);
    expect(res.status).toBe(200);
    return res.json.items as {
      event: string;
      type: string;
      status: string;
      attempts: number;
      lastResult: string;
    }[];
  }

  async function newUser(): Promise<string> {
    const user = `u${randomBytes(4).toString('hex')}`;
    await t.server.context.stores.users.create(tenantId('acme'), userId(user), {
      displayName: 'Secret Name',
    });
    return user;
  }

  beforeAll(async () => {
    t = await startAdminServer(T0, {
      postgresSchema: `webhooks_${randomBytes(4).toString('hex')}`,
      webhooks: WEBHOOKS,
    });
    acme = await createTenantAsOperator(t, 'acme');
    owner = { session: await login(t, 'acme', acme.owner.email, acme.owner.secret) };
  }, 120_000);
  afterAll(async () => t?.close());

  it('delivers an admin event signed per Standard Webhooks, with ids only; forgeries fail verification', async () => {
    const r = await receiver();
    try {
      const hook = await subscribe(r.url, ['user.block', 'user.unblock']);
      expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      const user = await newUser();
      expect((await t.as(owner, 'POST', `/admin/v1/users/${user}/block`)).status).toBe(200);
      await until(t, () => r.received.length === 1, 0);
      const [got] = r.received as [Received];
      expect(verifyWebhookSignature(hook.secret, got.headers, got.body, { now: t.time })).toBe(true);
      const event = JSON.parse(got.body);
      expect(event.id).toBe(got.headers['webhook-id']);
      expect(event.type).toBe('user.block');
      expect(Object.keys(event.data).sort()).toEqual(['actor', 'outcome', 'seq', 'target', 'tenant']);
      expect(event.data).toMatchObject({ tenant: 'acme', target: user, actor: acme.owner.admin });
      expect(got.body).not.toContain('Secret Name');
      // The signature is the Standard Webhooks one, recomputed here from its definition.
      const key = Buffer.from(hook.secret.slice('whsec_'.length), 'base64');
      const { createHmac } = await import('node:crypto');
      const mac = createHmac('sha256', key)
        .update(`${got.headers['webhook-id']}.${got.headers['webhook-timestamp']}.${got.body}`)
        .digest('base64');
      expect(got.headers['webhook-signature']).toBe(`v1,${mac}`);
      // Forgeries: another body, another secret, an old timestamp (replay), a missing header.
      const forged = got.body.replace('user.block', 'user.unblock');
      expect(verifyWebhookSignature(hook.secret, got.headers, forged, { now: t.time })).toBe(false);
      const other = `whsec_${randomBytes(32).toString('base64')}`;
      expect(verifyWebhookSignature(other, got.headers, got.body, { now: t.time })).toBe(false);
      expect(verifyWebhookSignature(hook.secret, got.headers, got.body, { now: t.time + 600_000 })).toBe(
        false,
      );
      const stale = Number(got.headers['webhook-timestamp']) - 3600;
      const replayed = {
        ...got.headers,
        'webhook-timestamp': String(stale),
        'webhook-signature': signWebhook(other, String(got.headers['webhook-id']), stale, got.body),
      };
      expect(verifyWebhookSignature(hook.secret, replayed, got.body, { now: t.time })).toBe(false);
      expect(
        verifyWebhookSignature(hook.secret, { ...got.headers, 'webhook-signature': undefined }, got.body, {
          now: t.time,
        }),
      ).toBe(false);
      const [d] = await deliveries(hook.id);
      expect(d).toMatchObject({ event: event.id, type: 'user.block', status: 'delivered', attempts: 1 });
      // Unsubscribed actions send nothing.
      expect((await t.as(owner, 'POST', `/admin/v1/users/${user}/unblock`)).status).toBe(200);
      await until(t, () => r.received.length === 2, 0);
      expect(JSON.parse(r.received[1]?.body ?? '{}').type).toBe('user.unblock');
      expect((await t.as(owner, 'DELETE', `/admin/v1/webhooks/${hook.id}`)).status).toBe(204);
    } finally {
      await r.close();
    }
  });

  it('retries: a receiver that fails twice then succeeds gets the event, with the same id each time', async () => {
    const r = await receiver([500, 503]);
    try {
      const hook = await subscribe(r.url, ['user.*']);
      const user = await newUser();
      expect((await t.as(owner, 'POST', `/admin/v1/users/${user}/block`)).status).toBe(200);
      await until(t, () => r.received.length === 3);
      const ids = new Set(r.received.map((x) => x.headers['webhook-id']));
      expect(ids.size).toBe(1);
      for (const x of r.received) {
        expect(
          verifyWebhookSignature(hook.secret, x.headers, x.body, { now: t.time, toleranceSeconds: 3600 }),
        ).toBe(true);
      }
      await until(t, async () => (await deliveries(hook.id))[0]?.status === 'delivered', 0);
      expect((await deliveries(hook.id))[0]).toMatchObject({
        status: 'delivered',
        attempts: 3,
        lastResult: '204',
      });
      expect((await t.as(owner, 'DELETE', `/admin/v1/webhooks/${hook.id}`)).status).toBe(204);
    } finally {
      await r.close();
    }
  });

  it('marks an event failed after the last attempt, visible in the API', async () => {
    const r = await receiver([500, 500, 500, 500, 500, 500]);
    try {
      const hook = await subscribe(r.url, ['user.block']);
      const user = await newUser();
      expect((await t.as(owner, 'POST', `/admin/v1/users/${user}/block`)).status).toBe(200);
      await until(t, async () => (await deliveries(hook.id))[0]?.status === 'failed');
      expect(r.received.length).toBe(WEBHOOKS.maxAttempts);
      expect((await deliveries(hook.id))[0]).toMatchObject({
        status: 'failed',
        attempts: 4,
        lastResult: '500',
      });
      expect((await t.as(owner, 'DELETE', `/admin/v1/webhooks/${hook.id}`)).status).toBe(204);
    } finally {
      await r.close();
    }
  });

  it('sends nothing for a change that rolled back', async () => {
    const r = await receiver();
    try {
      const hook = await subscribe(r.url, ['user.block']);
      const tenant = tenantId('acme');
      const victim = await newUser();
      await expect(
        t.server.context.stores.transaction(async (s) => {
          await s.users.update(tenant, userId(victim), { blocked: true });
          await s.audit.append(tenant, {
            actor: 'test',
            action: 'user.block',
            target: 'x',
            outcome: 'success',
          });
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      // A later committed event goes out alone.
      const user = await newUser();
      expect((await t.as(owner, 'POST', `/admin/v1/users/${user}/block`)).status).toBe(200);
      await until(t, () => r.received.length === 1, 0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(r.received.length).toBe(1);
      expect(JSON.parse(r.received[0]?.body ?? '{}').data.target).toBe(user);
      expect((await deliveries(hook.id)).length).toBe(1);
      expect((await t.as(owner, 'DELETE', `/admin/v1/webhooks/${hook.id}`)).status).toBe(204);
    } finally {
      await r.close();
    }
  });

  it("announces a device's confirmed wipe (device.wipe.confirmed), written with the confirmation", async () => {
    const r = await receiver();
    try {
      const hook = await subscribe(r.url, ['device.wipe.confirmed']);
      const ctx = t.server.context;
      const user = await newUser();
      const target = { tenant: tenantId('acme'), user: userId(user), device: deviceId(1) };
      await ctx.adapter.transaction((tx) =>
        recordWipe(tx, target, {
          commandId: 'AAAAAAAAAAAAAAAAAAAAAA',
          command: new Uint8Array(8),
          issuedAt: t.time,
          confirmedAt: null,
        }),
      );
      expect(await confirmWipe(ctx, target, t.time)).toBe(true);
      expect(await confirmWipe(ctx, target, t.time)).toBe(false); // once
      await until(t, () => r.received.length === 1, 0);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(r.received.length).toBe(1);
      const event = JSON.parse(r.received[0]?.body ?? '{}');
      expect(event).toMatchObject({
        type: 'device.wipe.confirmed',
        data: { actor: user, target: `${user}/1` },
      });
      expect((await t.as(owner, 'DELETE', `/admin/v1/webhooks/${hook.id}`)).status).toBe(204);
    } finally {
      await r.close();
    }
  });

  it('two dispatchers claiming at once never take the same row; a claim not settled comes due again', async () => {
    const tenant = tenantId('acme');
    // Stores of their own (no dispatcher runs over them): only the two claims below take rows.
    const s = createServerStores(createMemoryAdapter());
    await s.integrations.createWebhook({
      tenant,
      id: 'whk_claims',
      url: 'https://hooks.example.com/x',
      events: ['claim.*'],
      secret: `whsec_${randomBytes(32).toString('base64')}`,
      createdAt: T0,
      createdBy: 'test',
    });
    await s.transaction(async (x) => {
      for (let i = 0; i < 6; i++) {
        await x.audit.append(tenant, {
          actor: 'test',
          action: 'claim.test',
          target: `c${i}`,
          outcome: 'success',
        });
      }
    });
    await s.audit.append(tenant, { actor: 'test', action: 'other.action', target: 'x', outcome: 'success' });
    const [a, b] = await Promise.all([
      s.integrations.claimDue(T0, 4, 60_000),
      s.integrations.claimDue(T0, 4, 60_000),
    ]);
    const events = [...a, ...b].map((i) => i.event);
    expect(events.length).toBe(6);
    expect(new Set(events).size).toBe(6);
    // Claimed rows are leased: not due again until the lease ends (a crashed sender's rows return).
    expect(await s.integrations.claimDue(T0 + 59_000, 10, 60_000)).toEqual([]);
    const again = await s.integrations.claimDue(T0 + 60_001, 10, 60_000);
    expect(new Set(again.map((i) => i.event))).toEqual(new Set(events));
  });

  it('accepts https URLs to public hosts only (http to localhost only when allowed)', () => {
    expect(checkWebhookUrl('https://hooks.acme.example/x', false).hostname).toBe('hooks.acme.example');
    for (const bad of [
      'http://hooks.acme.example/x',
      'https://10.1.2.3/x',
      'https://169.254.169.254/latest',
      'https://[::1]/x',
      'https://localhost/x',
      'https://user:pw@hooks.acme.example/',
      'http://127.0.0.1:8080/x',
    ]) {
      expect(() => checkWebhookUrl(bad, false), bad).toThrow();
    }
    expect(checkWebhookUrl('http://127.0.0.1:8080/x', true).port).toBe('8080');
    expect(() => checkWebhookUrl('http://10.0.0.1/x', true)).toThrow();
  });

  it('backs off exponentially with jitter, bounded', () => {
    const o = { baseDelayMs: 30_000, maxDelayMs: 3_600_000 };
    expect(webhookRetryDelay(1, o, () => 0)).toBe(15_000);
    expect(webhookRetryDelay(3, o, () => 0.999_999)).toBeLessThanOrEqual(120_000);
    expect(webhookRetryDelay(3, o, () => 0.999_999)).toBeGreaterThan(119_000);
    expect(webhookRetryDelay(20, o, () => 0.999_999)).toBeLessThanOrEqual(3_600_000);
  });
});

describe('signed webhooks: restarts', () => {
  it('a restart of the server in the middle of the retries still delivers', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cloister-webhooks-'));
    const r = await receiver([500]);
    let t = await startAdminServer(T0, { dataDir, webhooks: WEBHOOKS });
    try {
      const acme = await createTenantAsOperator(t, 'acme');
      const owner = { session: await login(t, 'acme', acme.owner.email, acme.owner.secret) };
      const res = await t.as(owner, 'POST', '/admin/v1/webhooks', {
        json: { url: r.url, events: ['user.block'] },
      });
      const { secret } = res.json;
      await t.server.context.stores.users.create(tenantId('acme'), userId('alice'), { displayName: 'A' });
      expect((await t.as(owner, 'POST', '/admin/v1/users/alice/block')).status).toBe(200);
      await until(t, () => r.received.length === 1, 0);
      // The first attempt failed; the retry is due later. Stop the server before it comes.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const time = t.time;
      await t.close();
      t = await startAdminServer(time, { dataDir, webhooks: WEBHOOKS });
      await until(t, () => r.received.length === 2);
      const [first, second] = r.received as [Received, Received];
      expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
      expect(verifyWebhookSignature(secret, second.headers, second.body, { now: t.time })).toBe(true);
    } finally {
      await t.close();
      await r.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
