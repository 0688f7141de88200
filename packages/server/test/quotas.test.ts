/**
 * Mailbox quotas (issue 15, "Hard to knock over" item 1; spec/server-delivery.md §2d). The attack:
 * one holder of a delivery token queues envelopes into a mailbox without end (about 1.4 GB per
 * minute at the delivery rate limit, kept for 30 days). Each test fills a mailbox to its quota and
 * sees the next delivery refused with 507 `ERR_QUOTA`, nothing stored, until the device
 * acknowledges; the figure an administrator sees follows.
 */
import { randomBytes } from 'node:crypto';
import type { SenderCertificate } from '@cloister/crypto';
import { encodeSealedDeliveryBatch, messageId, tenantId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AdminTestServer,
  createTenantAsOperator,
  login,
  startAdminServer,
} from './helpers/admin-api.js';
import { setUpDevice, type TestDevice } from './helpers/device-client.js';
import { postSealed, sealTo, testSenderCertificate } from './helpers/sealed-delivery.js';

const acme = tenantId('acme');
let certificate: SenderCertificate;

const sealed = (t: AdminTestServer, to: TestDevice, bodyBytes: number) =>
  sealTo(t.server.context, certificate, to, new Uint8Array(randomBytes(bodyBytes)));

async function deliver(t: AdminTestServer, to: TestDevice, bodyBytes = 100) {
  return postSealed(t, await sealed(t, to, bodyBytes));
}

beforeAll(async () => {
  certificate = await testSenderCertificate();
});

describe('mailbox quotas', () => {
  let t: AdminTestServer;
  let owner: { session: string };

  beforeAll(async () => {
    t = await startAdminServer(Date.now(), { limits: { mailboxMaxEnvelopes: 5, mailboxMaxBytes: 4096 } });
    const created = await createTenantAsOperator(t, 'acme');
    owner = { session: await login(t, 'acme', created.owner.email, created.owner.secret) };
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('refuses the delivery past the envelope quota with 507, storing nothing, until the device acknowledges', async () => {
    const ctx = t.server.context;
    const d = await setUpDevice(ctx, acme, 'carol', 1);
    for (let i = 0; i < 5; i++) {
      const res = await deliver(t, d);
      expect(res.status).toBe(200);
      expect(res.json.results[0].status).toBe('accepted');
    }
    const over = await deliver(t, d);
    expect(over.status).toBe(507);
    expect(over.json).toEqual({
      error: { code: 'ERR_QUOTA', message: 'storage quota exceeded: mailbox.envelopes' },
    });
    expect(await ctx.stores.mailboxes.count(d.mailbox)).toBe(5);

    // The device fetches and acknowledges two: two more fit.
    const page = await ctx.stores.mailboxes.list(d.mailbox, { limit: 2 });
    const ack = await t.request('POST', '/v1/messages/ack', {
      credential: d.credential,
      json: { ids: page.items.map((e) => e.messageId) },
    });
    expect(ack.status).toBe(200);
    expect((await deliver(t, d)).status).toBe(200);
    expect((await deliver(t, d)).status).toBe(200);
    expect((await deliver(t, d)).status).toBe(507);
    expect(await ctx.stores.mailboxes.count(d.mailbox)).toBe(5);
  });

  it('refuses past the byte quota, and refuses a whole batch when one of its mailboxes is full', async () => {
    const ctx = t.server.context;
    const full = await setUpDevice(ctx, acme, 'dave', 1);
    const other = await setUpDevice(ctx, acme, 'erin', 1);
    // Envelopes of about 1.1 KB: three fit in 4096 bytes of stored records, the fourth does not.
    for (let i = 0; i < 3; i++) expect((await deliver(t, full, 900)).status).toBe(200);
    const over = await deliver(t, full, 900);
    expect(over.status).toBe(507);
    expect(over.json.error.message).toBe('storage quota exceeded: mailbox.bytes');
    const batch = encodeSealedDeliveryBatch({
      deliveries: [
        { messageId: new Uint8Array(randomBytes(16)), envelope: await sealed(t, other, 100) },
        { messageId: new Uint8Array(randomBytes(16)), envelope: await sealed(t, full, 900) },
      ],
    });
    expect((await t.request('POST', '/v1/messages/batch', { body: batch })).status).toBe(507);
    expect(await ctx.stores.mailboxes.count(other.mailbox)).toBe(0);
    expect(await ctx.stores.mailboxes.count(full.mailbox)).toBe(3);
  });

  it('counts what the database holds, also what another instance queued before this one cached the mailbox', async () => {
    const ctx = t.server.context;
    const d = await setUpDevice(ctx, acme, 'frank', 1);
    // Queued straight in the stores (as another instance would): this instance has not seen it.
    for (let i = 0; i < 5; i++) {
      await ctx.stores.mailboxes.enqueue(d.mailbox, {
        messageId: messageId(`m_other_${i}`),
        envelope: new Uint8Array(50).fill(i),
        expiresAt: ctx.now() + 3_600_000,
      });
    }
    expect((await deliver(t, d)).status).toBe(507);
  });

  it('shows administrators what waits in each mailbox, against the quotas', async () => {
    const ctx = t.server.context;
    const d = await setUpDevice(ctx, acme, 'gina', 1);
    expect((await deliver(t, d, 300)).status).toBe(200);
    expect((await deliver(t, d, 300)).status).toBe(200);
    const res = await t.as(owner, 'GET', '/admin/v1/users/gina/activity');
    expect(res.status).toBe(200);
    const usage = await ctx.stores.mailboxes.usage(d.mailbox);
    expect(usage.envelopes).toBe(2);
    expect(usage.bytes).toBeGreaterThan(2 * 300);
    expect(res.json.pending).toEqual({
      envelopes: 2,
      bytes: usage.bytes,
      maxEnvelopesPerMailbox: 5,
      maxBytesPerMailbox: 4096,
    });
    expect(res.json.devices[0].pending).toEqual({ envelopes: 2, bytes: usage.bytes });
  });
});
