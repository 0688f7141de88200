/**
 * Webhook secret rotation and the redelivery of failed events, through a real local HTTP receiver
 * (PGlite; PostgreSQL with `DATABASE_URL`):
 *
 * - during a rotation's overlap each delivery carries two `v1,` signatures, and a receiver holding
 *   only the previous secret and one holding only the new secret both verify it; after the
 *   overlap only the new secret verifies and the previous one is gone from the stored rows;
 *   rotating during an overlap keeps at most two secrets (the oldest goes at once); an overlap of
 *   0 drops the previous secret at once; no secret reaches the audit log or the logs;
 * - a receiver that refused every attempt gets the failed event again, with the same
 *   `webhook-id`, as soon as a later delivery to it succeeds; an event it keeps refusing is
 *   retried once per recovery and not in a loop;
 * - a failed event is queued again by `redeliverWebhookEvent`, with the same id and fresh
 *   attempts; an event that is not failed is 404.
 */
import { randomBytes } from 'node:crypto';
import { tenantId, userId } from '@cloister/protocol';
import { createMemoryAdapter } from '@cloister/storage';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServerStores, SERVER_TABLES } from '../src/store/index.js';
import { MAX_REQUEUED_PER_RECOVERY, type OutboxItem } from '../src/store/integrations.js';
import { newWebhookSecret, verifyWebhookSignature } from '../src/webhooks.js';
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
const HOUR = 3_600_000;

type Received = ReceivedWebhook;

const idOf = (r: Received) => String(r.headers['webhook-id']);
const typeOf = (r: Received) => JSON.parse(r.body).type as string;

describe('webhooks: secret rotation, recovery and redelivery', () => {
  let t: AdminTestServer;
  let acme: CreatedTenant;
  const owner = { session: '' };
  const logs: string[] = [];
  const tenant = tenantId('acme');

  /** Waits until `done()` holds, moving the server's clock on by `stepMs` each time. */
  async function until(done: () => boolean | Promise<boolean>, stepMs = 5_000): Promise<void> {
    const end = Date.now() + 30_000;
    while (!(await done())) {
      if (Date.now() > end) throw new Error('timed out');
      t.time += stepMs;
      await new Promise((r) => setTimeout(r, 40));
    }
  }

  /** A new session (with a fresh second factor) after the clock was moved on; a new TOTP step. */
  async function relogin(): Promise<void> {
    t.time += 30_000;
    owner.session = await login(t, 'acme', acme.owner.email, acme.owner.secret);
  }

  async function subscribe(url: string, events: string[]) {
    const res = await t.as(owner, 'POST', '/admin/v1/webhooks', { json: { url, events } });
    expect(res.status, res.body.toString()).toBe(201);
    return { id: res.json.webhook.id as string, secret: res.json.secret as string };
  }

  async function rotate(id: string, body: Record<string, unknown> = {}) {
    const res = await t.as(owner, 'POST', `/admin/v1/webhooks/${id}/rotate-secret`, { json: body });
    expect(res.status, res.body.toString()).toBe(200);
    return res.json as { webhook: { id: string }; secret: string; previousSecretUntil: number | null };
  }

  async function deliveries(id: string) {
    const res = await t.as(owner, 'GET', `/admin/v1/webhooks/${id}/deliveries?limit=100`);
    expect(res.status).toBe(200);
    return res.json.items as { event: string; status: string; attempts: number; lastResult: string }[];
  }

  /** Audits an action now (the same path as every audited change), so subscribers get an event. */
  async function emit(action: string): Promise<void> {
    await t.server.context.stores.audit.append(tenant, {
      actor: 'test',
      action,
      target: `t${randomBytes(3).toString('hex')}`,
      outcome: 'success',
    });
  }

  /** The webhook's stored row as the stores read it through encryption at rest (decrypted). */
  async function storedRow(id: string): Promise<string> {
    const enc = new TextEncoder();
    const rows = await t.server.context.adapter.transaction((tx) =>
      tx.list(SERVER_TABLES.webhooks, enc.encode('acme'), { limit: 1000 }),
    );
    const row = rows.find((r) => Buffer.from(r.value).includes(Buffer.from(id)));
    expect(row).toBeDefined();
    return Buffer.from(row?.value ?? new Uint8Array()).toString('latin1');
  }

  /** Every stored webhook row of the tenant, as text. */
  async function allWebhookRows(): Promise<string> {
    const enc = new TextEncoder();
    const rows = await t.server.context.adapter.transaction((tx) =>
      tx.list(SERVER_TABLES.webhooks, enc.encode('acme'), { limit: 1000 }),
    );
    return rows.map((r) => Buffer.from(r.value).toString('latin1')).join('\n');
  }

  beforeAll(async () => {
    t = await startAdminServer(T0, {
      postgresSchema: `webhooks_rot_${randomBytes(4).toString('hex')}`,
      webhooks: WEBHOOKS,
      logLevel: 'debug',
      logStream: { write: (line: string) => void logs.push(line) },
    });
    acme = await createTenantAsOperator(t, 'acme');
    owner.session = await login(t, 'acme', acme.owner.email, acme.owner.secret);
    await t.server.context.stores.users.create(tenant, userId('alice'), { displayName: 'Alice' });
  }, 120_000);
  afterAll(async () => t?.close());
  beforeEach(relogin);

  it('signs with the new and the previous secret during the overlap, with the new one only after it; the previous secret is then deleted', async () => {
    const r = await webhookReceiver();
    try {
      const hook = await subscribe(r.url, ['rot.*']);
      const oldSecret = hook.secret;
      const rotated = await rotate(hook.id, { overlapSeconds: 3600 });
      const newSecret = rotated.secret;
      expect(newSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(newSecret).not.toBe(oldSecret);
      expect(rotated.webhook.id).toBe(hook.id);
      const rotatedAt = t.time;
      expect(rotated.previousSecretUntil).toBe(rotatedAt + HOUR);
      // The secret is answered once: the listing never shows it.
      expect((await t.as(owner, 'GET', '/admin/v1/webhooks')).body.toString()).not.toContain('whsec_');

      // During the overlap: two v1 signatures, each receiver verifies with the secret it holds.
      await emit('rot.during');
      await until(() => r.received.length === 1, 0);
      const during = r.received[0] as Received;
      const sigs = String(during.headers['webhook-signature']).split(' ');
      expect(sigs.length).toBe(2);
      for (const s of sigs) expect(s.startsWith('v1,')).toBe(true);
      const now = { now: t.time };
      expect(verifyWebhookSignature(oldSecret, during.headers, during.body, now)).toBe(true);
      expect(verifyWebhookSignature(newSecret, during.headers, during.body, now)).toBe(true);
      expect(verifyWebhookSignature(newWebhookSecret(), during.headers, during.body, now)).toBe(false);
      expect(await storedRow(hook.id)).toContain(oldSecret);

      // After the overlap: the new signature only, and the previous secret is gone from storage.
      t.time += HOUR + 1;
      await until(async () => !(await storedRow(hook.id)).includes(oldSecret), 0);
      const row = await storedRow(hook.id);
      expect(row).toContain(newSecret); // the check reads the secrets where they are kept
      expect(row).not.toContain(oldSecret);
      const stored = await t.server.context.stores.integrations.getWebhook(tenant, hook.id);
      expect(stored?.previousSecret).toBeUndefined();
      await emit('rot.after');
      await until(() => r.received.length === 2, 0);
      const after = r.received[1] as Received;
      expect(String(after.headers['webhook-signature']).split(' ').length).toBe(1);
      expect(verifyWebhookSignature(newSecret, after.headers, after.body, { now: t.time })).toBe(true);
      expect(verifyWebhookSignature(oldSecret, after.headers, after.body, { now: t.time })).toBe(false);
      await relogin();

      // Neither secret is in the audit log or the logs.
      const records = await t.server.context.stores.audit.list(tenant, { fromSeq: 1, limit: 1000 });
      const rotation = records.find((x) => x.action === 'webhook.rotate-secret');
      expect(rotation).toMatchObject({ actor: acme.owner.admin, target: hook.id, outcome: 'success' });
      expect(rotation?.details).toEqual({ overlapSeconds: 3600, previousSecretUntil: rotatedAt + HOUR });
      const everything = JSON.stringify(records) + logs.join('\n');
      expect(logs.length).toBeGreaterThan(0);
      for (const secret of [oldSecret, newSecret]) {
        expect(everything).not.toContain(secret);
        expect(everything).not.toContain(secret.slice('whsec_'.length, 30));
      }
      expect((await t.as(owner, 'DELETE', `/admin/v1/webhooks/${hook.id}`)).status).toBe(204);
    } finally {
      await r.close();
    }
  });

  it('keeps at most two secrets: a rotation during an overlap deletes the oldest at once; an overlap of 0 keeps none', async () => {
    const r = await webhookReceiver();
    try {
      const hook = await subscribe(r.url, ['two.*']);
      const a = hook.secret;
      const b = (await rotate(hook.id, { overlapSeconds: 7200 })).secret;
      const c = (await rotate(hook.id)).secret; // default overlap: 24 hours
      let row = await storedRow(hook.id);
      expect(row).not.toContain(a);
      expect(row).toContain(b);
      expect(row).toContain(c);
      await emit('two.x');
      await until(() => r.received.length === 1, 0);
      const got = r.received[0] as Received;
      expect(String(got.headers['webhook-signature']).split(' ').length).toBe(2);
      const now = { now: t.time };
      expect(verifyWebhookSignature(c, got.headers, got.body, now)).toBe(true);
      expect(verifyWebhookSignature(b, got.headers, got.body, now)).toBe(true);
      expect(verifyWebhookSignature(a, got.headers, got.body, now)).toBe(false);
      // The first rotation's deletion comes due later and leaves the second's overlap alone.
      t.time += 7200_000 + 1;
      await new Promise((resolve) => setTimeout(resolve, 200));
      await relogin();
      row = await storedRow(hook.id);
      expect(row).toContain(b);
      expect(row).toContain(c);

      const d = await rotate(hook.id, { overlapSeconds: 0 });
      expect(d.previousSecretUntil).toBeNull();
      row = await storedRow(hook.id);
      expect(row).toContain(d.secret);
      for (const gone of [b, c]) expect(row).not.toContain(gone);
      await emit('two.y');
      await until(() => r.received.length === 2, 0);
      const last = r.received[1] as Received;
      expect(String(last.headers['webhook-signature']).split(' ').length).toBe(1);
      expect(verifyWebhookSignature(d.secret, last.headers, last.body, { now: t.time })).toBe(true);
      expect(verifyWebhookSignature(c, last.headers, last.body, { now: t.time })).toBe(false);
      expect((await t.as(owner, 'DELETE', `/admin/v1/webhooks/${hook.id}`)).status).toBe(204);
    } finally {
      await r.close();
    }
  });

  it('refuses a bad overlap and an unknown webhook, changing nothing', async () => {
    const hook = await subscribe('http://127.0.0.1:9/never', ['never.*']);
    const before = await allWebhookRows();
    const auditBefore = (await t.server.context.stores.audit.head(tenant))?.seq;
    for (const body of [
      { overlapSeconds: 7 * 86_400 + 1 },
      { overlapSeconds: -1 },
      { overlapSeconds: 1.5 },
      { other: 1 },
    ]) {
      const res = await t.as(owner, 'POST', `/admin/v1/webhooks/${hook.id}/rotate-secret`, { json: body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    const unknown = `whk_${randomBytes(16).toString('base64url')}`;
    expect((await t.as(owner, 'POST', `/admin/v1/webhooks/${unknown}/rotate-secret`)).status).toBe(404);
    expect(await allWebhookRows()).toBe(before);
    expect((await t.server.context.stores.audit.head(tenant))?.seq).toBe(auditBefore);
    expect((await t.as(owner, 'DELETE', `/admin/v1/webhooks/${hook.id}`)).status).toBe(204);
  });

  it('re-queues failed events, same webhook-id and fresh attempts, when a later delivery succeeds', async () => {
    let up = false;
    const r = await webhookReceiver(() => (up ? 204 : 503));
    try {
      const hook = await subscribe(r.url, ['rec.*']);
      await emit('rec.first');
      await emit('rec.second');
      await until(async () => (await deliveries(hook.id)).filter((d) => d.status === 'failed').length === 2);
      expect(r.received.length).toBe(2 * WEBHOOKS.maxAttempts);
      const failedIds = new Set(r.received.map(idOf));
      expect(failedIds.size).toBe(2);
      // Nothing more happens while nothing succeeds.
      t.time += 10 * HOUR;
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(r.received.length).toBe(2 * WEBHOOKS.maxAttempts);
      await relogin();

      // The receiver is back: the next event is delivered, then the failed ones again.
      up = true;
      await emit('rec.third');
      await until(async () => (await deliveries(hook.id)).every((d) => d.status === 'delivered'), 0);
      const later = r.received.slice(2 * WEBHOOKS.maxAttempts);
      expect(later.length).toBe(3);
      expect(typeOf(later[0] as Received)).toBe('rec.third');
      expect(new Set(later.slice(1).map(idOf))).toEqual(failedIds);
      for (const x of later)
        expect(verifyWebhookSignature(hook.secret, x.headers, x.body, { now: t.time })).toBe(true);
      const items = await deliveries(hook.id);
      expect(items.map((d) => [d.status, d.attempts])).toEqual([
        ['delivered', 1],
        ['delivered', 1],
        ['delivered', 1],
      ]);
      expect(logs.join('\n')).toContain('failed events re-queued');
      expect((await t.as(owner, 'DELETE', `/admin/v1/webhooks/${hook.id}`)).status).toBe(204);
    } finally {
      await r.close();
    }
  });

  it('retries an event the receiver keeps refusing once per recovery, not in a loop', async () => {
    const r = await webhookReceiver((body) => (body.includes('"loop.poison"') ? 500 : 204));
    try {
      const hook = await subscribe(r.url, ['loop.*']);
      const poisonCount = () => r.received.filter((x) => typeOf(x) === 'loop.poison').length;
      await emit('loop.poison');
      await until(async () => (await deliveries(hook.id))[0]?.status === 'failed');
      expect(poisonCount()).toBe(WEBHOOKS.maxAttempts);
      // A recovery: the poison event is tried again, its attempts, then failed again.
      await emit('loop.ok');
      await until(async () => poisonCount() === 2 * WEBHOOKS.maxAttempts);
      await until(
        async () => (await deliveries(hook.id)).find((d) => d.status === 'failed') !== undefined,
        0,
      );
      t.time += 10 * HOUR;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(poisonCount()).toBe(2 * WEBHOOKS.maxAttempts);
      await relogin();
      // The next recovery tries it once more.
      await emit('loop.ok');
      await until(async () => poisonCount() === 3 * WEBHOOKS.maxAttempts);
      expect(new Set(r.received.filter((x) => typeOf(x) === 'loop.poison').map(idOf)).size).toBe(1);
      expect((await t.as(owner, 'DELETE', `/admin/v1/webhooks/${hook.id}`)).status).toBe(204);
    } finally {
      await r.close();
    }
  });

  it('redelivers a failed event on request, with the same webhook-id and fresh attempts; not a delivered one', async () => {
    let up = false;
    const r = await webhookReceiver(() => (up ? 204 : 500));
    try {
      const hook = await subscribe(r.url, ['man.*']);
      await emit('man.one');
      await until(async () => (await deliveries(hook.id))[0]?.status === 'failed');
      const [failed] = await deliveries(hook.id);
      expect(failed).toMatchObject({ status: 'failed', attempts: WEBHOOKS.maxAttempts, lastResult: '500' });
      const event = failed?.event as string;
      const path = `/admin/v1/webhooks/${hook.id}/deliveries/${event}/redeliver`;
      const auditBefore = (await t.server.context.stores.audit.head(tenant))?.seq ?? 0;
      up = true;
      const res = await t.as(owner, 'POST', path);
      expect(res.status, res.body.toString()).toBe(200);
      expect(res.json.delivery).toMatchObject({ event, status: 'pending', attempts: 0 });
      const [record] = await t.server.context.stores.audit.list(tenant, {
        fromSeq: auditBefore + 1,
        limit: 1,
      });
      expect(record).toMatchObject({ action: 'webhook.redeliver', target: hook.id, details: { event } });
      await until(async () => (await deliveries(hook.id))[0]?.status === 'delivered', 0);
      expect((await deliveries(hook.id))[0]).toMatchObject({ event, attempts: 1, lastResult: '204' });
      const last = r.received[r.received.length - 1] as Received;
      expect(idOf(last)).toBe(event);
      expect(verifyWebhookSignature(hook.secret, last.headers, last.body, { now: t.time })).toBe(true);
      // A delivered event, an unknown event, another webhook: 404, nothing queued or audited.
      const other = await subscribe('http://127.0.0.1:9/never', ['never.*']);
      const head = (await t.server.context.stores.audit.head(tenant))?.seq;
      const seen = r.received.length;
      expect((await t.as(owner, 'POST', path)).status).toBe(404);
      const unknown = `msg_${randomBytes(16).toString('base64url')}`;
      for (const p of [
        `/admin/v1/webhooks/${hook.id}/deliveries/${unknown}/redeliver`,
        `/admin/v1/webhooks/${other.id}/deliveries/${event}/redeliver`,
      ]) {
        const refused = await t.as(owner, 'POST', p);
        expect(refused.status).toBe(404);
        expect(refused.json.error.code).toBe('ERR_NOT_FOUND');
      }
      expect(
        (await t.as(owner, 'POST', `/admin/v1/webhooks/${hook.id}/deliveries/nope/redeliver`)).status,
      ).toBe(400);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(r.received.length).toBe(seen);
      expect((await t.server.context.stores.audit.head(tenant))?.seq).toBe(head);
      for (const id of [hook.id, other.id])
        expect((await t.as(owner, 'DELETE', `/admin/v1/webhooks/${id}`)).status).toBe(204);
    } finally {
      await r.close();
    }
  });
});

describe('webhook store: rotation and failed events', () => {
  const tenant = tenantId('acme');
  const T = 1_800_000_000_000;

  async function setUp() {
    const adapter = createMemoryAdapter();
    const s = createServerStores(adapter);
    const secret = newWebhookSecret();
    await s.integrations.createWebhook({
      tenant,
      id: 'whk_store',
      url: 'https://hooks.example.com/x',
      events: ['s.*'],
      secret,
      createdAt: T,
      createdBy: 'test',
    });
    return { adapter, s, secret };
  }

  it('deletes the previous secret from its row when the overlap ends, on the next claim', async () => {
    const { adapter, s, secret } = await setUp();
    const next = newWebhookSecret();
    const rotated = await s.integrations.rotateWebhookSecret(tenant, 'whk_store', next, T, 60_000);
    expect(rotated).toMatchObject({ secret: next, previousSecret: secret, previousSecretUntil: T + 60_000 });
    const raw = async () =>
      Buffer.from(
        (await adapter.transaction((tx) => tx.list(SERVER_TABLES.webhooks, new TextEncoder().encode('acme'))))
          .map((r) => Buffer.from(r.value).toString('latin1'))
          .join(''),
      ).toString('latin1');
    expect(await s.integrations.claimDue(T + 59_999, 10, 1000)).toEqual([]);
    expect(await raw()).toContain(secret);
    expect(await s.integrations.claimDue(T + 60_000, 10, 1000)).toEqual([]);
    expect(await raw()).not.toContain(secret);
    expect(await raw()).toContain(next);
    expect((await s.integrations.getWebhook(tenant, 'whk_store'))?.previousSecret).toBeUndefined();
  });

  it('refuses a malformed secret or overlap and an unknown webhook, writing nothing', async () => {
    const { s, secret } = await setUp();
    await expect(
      s.integrations.rotateWebhookSecret(tenant, 'whk_store', 'plain', T, 0),
    ).rejects.toMatchObject({
      name: 'ValidationError',
    });
    await expect(
      s.integrations.rotateWebhookSecret(tenant, 'whk_store', newWebhookSecret(), T, 8 * 86_400_000),
    ).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(
      s.integrations.rotateWebhookSecret(tenant, 'whk_other', newWebhookSecret(), T, 0),
    ).rejects.toMatchObject({ name: 'NotFoundError' });
    expect((await s.integrations.getWebhook(tenant, 'whk_store'))?.secret).toBe(secret);
  });

  it('re-queues at most the bound per recovery, oldest first, each once; the rest on the next recovery', async () => {
    const { s } = await setUp();
    const count = MAX_REQUEUED_PER_RECOVERY + 2;
    await s.transaction(async (x) => {
      for (let i = 0; i < count; i++) {
        await x.audit.append(tenant, { actor: 'test', action: 's.e', target: `e${i}`, outcome: 'success' });
      }
    });
    const claimAll = async (at: number) => {
      const out: OutboxItem[] = [];
      for (;;) {
        const items = await s.integrations.claimDue(at, 100, 1000);
        if (items.length === 0) return out;
        out.push(...items);
      }
    };
    const items = await claimAll(Date.now());
    expect(items.length).toBe(count);
    const [ok, ...rest] = items as [OutboxItem, ...OutboxItem[]];
    for (const item of rest) {
      expect(await s.integrations.settle(item, { status: 'failed', at: T, result: '500' })).toBe(0);
    }
    // A delivery re-queues the bound; the one left over waits for the next recovery.
    expect(await s.integrations.settle(ok, { status: 'delivered', at: T + 1, result: '204' })).toBe(
      MAX_REQUEUED_PER_RECOVERY,
    );
    const again = await claimAll(T + 1);
    expect(again.length).toBe(MAX_REQUEUED_PER_RECOVERY);
    expect(new Set(again.map((i) => i.event)).size).toBe(MAX_REQUEUED_PER_RECOVERY);
    expect(again.every((i) => i.attempts === 0)).toBe(true);
    const failed = new Set(rest.map((i) => i.event));
    expect(again.every((i) => failed.has(i.event))).toBe(true);
    const left = rest.filter((i) => !again.some((a) => a.event === i.event));
    expect(left.length).toBe(1);
    // Oldest first: nothing re-queued is newer than the event left over.
    const leftOver = (left[0] as OutboxItem).delivery;
    expect(again.every((i) => Buffer.compare(Buffer.from(i.delivery), Buffer.from(leftOver)) < 0)).toBe(true);
    const [first, ...others] = again as [OutboxItem, ...OutboxItem[]];
    expect(await s.integrations.settle(first, { status: 'delivered', at: T + 2, result: '204' })).toBe(1);
    for (const item of others) {
      expect(await s.integrations.settle(item, { status: 'delivered', at: T + 2, result: '204' })).toBe(0);
    }
    const last = await claimAll(T + 2);
    expect(last.map((i) => i.event)).toEqual([(left[0] as OutboxItem).event]);
  }, 60_000);
});
