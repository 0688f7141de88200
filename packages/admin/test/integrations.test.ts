/**
 * `admin.integrations` against a running server: a key made, used, listed and revoked (its next
 * call is refused); a webhook whose deliveries reach a local receiver and pass `verifyWebhook`,
 * while a forged body, another secret or a stale timestamp fail it; the deliveries are listed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getProvider } from '@cloister/crypto';
import { type CloisterServer, createServer } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminClient, verifyWebhook } from '../src/index.js';
import { pinnedTransport } from '../src/node.js';
import { totpCode } from './totp.js';

const OPERATOR_TOKEN = randomBytes(32).toString('base64url');
const PASSWORD = 'owner password 1234';

describe('admin.integrations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-admin-integrations-'));
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
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
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    server = await createServer({
      dataDir: dir,
      logLevel: 'silent',
      operatorToken: OPERATOR_TOKEN,
      webhooks: { allowHttpLocalhost: true, pollMs: 20 },
    });
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    transport = () => pinnedTransport({ url, pin: server.pin });
    const operator = new AdminClient({
      transport: transport(),
      credential: { kind: 'operator', token: OPERATOR_TOKEN },
    });
    const created = await operator.createTenant({
      id: 'acme',
      name: 'ACME',
      owner: { email: 'olivia@acme.example', name: 'Olivia', password: PASSWORD },
    });
    const { client } = await AdminClient.login(
      { transport: transport(), provider: await getProvider() },
      {
        tenant: 'acme',
        email: 'olivia@acme.example',
        password: PASSWORD,
        totp: totpCode(created.owner.totpUri),
      },
    );
    admin = client;
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
});
