/**
 * `admin.integrations` against a running server: a key made, used, listed and revoked (its next
 * call is refused); a webhook whose deliveries reach a local receiver and pass `verifyWebhook`,
 * while a forged body, another secret or a stale timestamp fail it; the deliveries are listed; a
 * rotated secret: during the overlap a receiver with the previous secret and one with the new
 * secret both verify, after it only the new one does; a failed event redelivered with the same
 * id.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloisterServer } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient, verifyWebhook, type WebhookDeliveryView } from '../src/index.js';
import type { pinnedTransport } from '../src/node.js';
import { startTenant } from './helpers/tenant.js';

describe('admin.integrations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-admin-integrations-'));
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  /** Bodies containing one of these strings are answered 500. */
  const refuse = new Set<string>();
  let receiver: Server;
  let hookUrl: string;
  let server: CloisterServer;
  let admin: AdminClient;
  let transport: () => ReturnType<typeof pinnedTransport>;

  beforeAll(async () => {
    receiver = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        received.push({ headers: req.headers, body });
        res.statusCode = [...refuse].some((r) => body.includes(r)) ? 500 : 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    ({ server, admin, transport } = await startTenant(dir, {
      webhooks: { allowHttpLocalhost: true, pollMs: 20, maxAttempts: 1 },
    }));
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes, lists and revokes a key; the revoked key is refused at once', async () => {
    const invited = await admin.inviteAdministrator({
      email: 'hr@acme.example',
      name: 'HR sync',
      role: 'integration',
      scopes: ['users.read'],
    });
    const { key, apiKey } = await admin.integrations.createKey(invited.admin.id, {
      name: 'HR sync',
      scopes: ['users:read'],
    });
    expect(key.scopes).toEqual(['users:read']);
    const asKey = new AdminClient({ transport: transport(), credential: { kind: 'key', key: apiKey } });
    expect((await asKey.listUsers()).items).toEqual([]);
    expect((await admin.integrations.keys(invited.admin.id)).map((k) => k.id)).toEqual([key.id]);
    await admin.integrations.revokeKey(key.id);
    await expect(asKey.listUsers()).rejects.toMatchObject({ name: 'UnauthenticatedError' });
    expect((await admin.integrations.keys())[0]?.revokedAt).not.toBeNull();
  });

  it('subscribes a webhook whose deliveries pass verifyWebhook, and forgeries do not', async () => {
    const { webhook, secret } = await admin.integrations.createWebhook(hookUrl, ['user.*']);
    expect((await admin.integrations.webhooks()).map((w) => w.id)).toEqual([webhook.id]);
    await admin.inviteUser({ user: 'alice' });
    await admin.blockUser('alice');
    const end = Date.now() + 20_000;
    while (!received.some((r) => r.body.includes('user.block')) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const got = received.find((r) => r.body.includes('user.block'));
    expect(got).toBeDefined();
    if (got === undefined) return;
    const headers = got.headers as Record<string, string>;
    const event = await verifyWebhook(secret, headers, got.body);
    expect(event).toMatchObject({ type: 'user.block', data: { tenant: 'acme', target: 'alice' } });
    await expect(verifyWebhook(secret, headers, got.body.replace('alice', 'bob__'))).rejects.toThrow();
    await expect(
      verifyWebhook(`whsec_${randomBytes(32).toString('base64')}`, headers, got.body),
    ).rejects.toThrow();
    await expect(verifyWebhook(secret, headers, got.body, { now: Date.now() + 3_600_000 })).rejects.toThrow();
    const { items } = await admin.integrations.deliveries(webhook.id);
    expect(items.some((d) => d.event === event.id && d.status === 'delivered')).toBe(true);
    await admin.integrations.deleteWebhook(webhook.id);
    expect(await admin.integrations.webhooks()).toEqual([]);
  });

  async function receivedWith(text: string): Promise<{ headers: Record<string, string>; body: string }> {
    const end = Date.now() + 20_000;
    for (;;) {
      const got = received.find((r) => r.body.includes(text));
      if (got !== undefined) return { headers: got.headers as Record<string, string>, body: got.body };
      if (Date.now() > end) throw new Error(`no delivery with ${text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('rotates a secret: both secrets verify during the overlap, only the new one after it', async () => {
    const { webhook, secret: oldSecret } = await admin.integrations.createWebhook(hookUrl, ['user.invite']);
    const rotated = await admin.integrations.rotateWebhookSecret(webhook.id, { overlapSeconds: 2 });
    expect(rotated.webhook.id).toBe(webhook.id);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(oldSecret);
    expect(rotated.previousSecretUntil).toBeGreaterThan(Date.now());
    await admin.inviteUser({ user: 'rotbob' });
    const during = await receivedWith('"rotbob"');
    expect(during.headers['webhook-signature']?.split(' ').length).toBe(2);
    // A receiver still holding the previous secret, and one already holding the new one.
    expect((await verifyWebhook(oldSecret, during.headers, during.body)).data.target).toBe('rotbob');
    expect((await verifyWebhook(rotated.secret, during.headers, during.body)).data.target).toBe('rotbob');
    await new Promise((r) =>
      setTimeout(r, Math.max(0, (rotated.previousSecretUntil ?? 0) - Date.now()) + 200),
    );
    await admin.inviteUser({ user: 'rotcarol' });
    const after = await receivedWith('"rotcarol"');
    expect(after.headers['webhook-signature']?.split(' ').length).toBe(1);
    expect((await verifyWebhook(rotated.secret, after.headers, after.body)).data.target).toBe('rotcarol');
    await expect(verifyWebhook(oldSecret, after.headers, after.body)).rejects.toThrow();
    // Out of range: refused, the secret unchanged.
    await expect(
      admin.integrations.rotateWebhookSecret(webhook.id, { overlapSeconds: 8 * 86_400 }),
    ).rejects.toMatchObject({ name: 'ValidationError' });
    await admin.integrations.deleteWebhook(webhook.id);
  });

  it('redelivers a failed event with the same webhook-id', async () => {
    const { webhook, secret } = await admin.integrations.createWebhook(hookUrl, ['user.invite']);
    refuse.add('"reddave"');
    await admin.inviteUser({ user: 'reddave' });
    const first = await receivedWith('"reddave"');
    const end = Date.now() + 20_000;
    let failed: WebhookDeliveryView | undefined;
    while (failed === undefined && Date.now() < end) {
      failed = (await admin.integrations.deliveries(webhook.id)).items.find((d) => d.status === 'failed');
      if (failed === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(failed?.event).toBe(first.headers['webhook-id']);
    refuse.delete('"reddave"');
    const queued = await admin.integrations.redeliver(webhook.id, failed?.event ?? '');
    expect(queued).toMatchObject({ event: failed?.event, status: 'pending', attempts: 0 });
    const end2 = Date.now() + 20_000;
    while (received.filter((r) => r.body.includes('"reddave"')).length < 2 && Date.now() < end2) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const again = received.filter((r) => r.body.includes('"reddave"'))[1];
    expect(again?.headers['webhook-id']).toBe(failed?.event);
    const event = await verifyWebhook(secret, again?.headers as Record<string, string>, again?.body ?? '');
    expect(event.id).toBe(failed?.event);
    // Delivered now: not failed any more, so not redelivered.
    await expect(admin.integrations.redeliver(webhook.id, failed?.event ?? '')).rejects.toMatchObject({
      name: 'NotFoundError',
    });
    await admin.integrations.deleteWebhook(webhook.id);
  });
});
