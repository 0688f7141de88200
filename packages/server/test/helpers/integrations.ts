/**
 * Test helpers for integrations: an integration administrator, an API key of it and a webhook
 * subscription, made directly in the stores of a tenant.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TenantId } from '@cloister/protocol';
import { createIntegration } from '../../src/admin/enrolment.js';
import { bearerHash, newBearerSecret } from '../../src/admin/secrets.js';
import type { ServerContext } from '../../src/context.js';
import { newWebhookSecret } from '../../src/webhooks.js';

let n = 0;

/** A new integration (every permission of the role) of `tenant`; its administrator id. */
export async function integrationIn(ctx: ServerContext, tenant: TenantId): Promise<string> {
  const { admin } = await createIntegration(
    ctx.stores,
    tenant,
    {
      email: `int${++n}-${randomBytes(3).toString('hex')}@int.example`,
      name: 'Integration',
      scopes: ['users.read', 'users.block', 'users.invite', 'devices.read', 'devices.block', 'audit.read'],
    },
    { actor: 'test' },
  );
  return admin;
}

/** A new API key of `integration` (scopes `users`, `devices`); its id and secret. */
export async function keyIn(
  ctx: ServerContext,
  tenant: TenantId,
  integration: string,
  options: { readonly scopes?: readonly string[]; readonly pools?: readonly string[] | null } = {},
): Promise<{ id: string; apiKey: string }> {
  const apiKey = newBearerSecret();
  const id = `key_${randomBytes(16).toString('base64url')}`;
  const now = ctx.now();
  await ctx.stores.integrations.createKey({
    tenant,
    id,
    integration,
    name: 'k',
    scopes: options.scopes ?? ['devices', 'users'],
    pools: options.pools ?? null,
    keyHash: bearerHash('key', apiKey),
    createdAt: now,
    createdBy: 'test',
    expiresAt: now + 86_400_000,
    lastUsedAt: null,
    revokedAt: null,
  });
  return { id, apiKey };
}

/** A new webhook subscription of `tenant` for `events` (default: an action nothing records). */
export async function webhookIn(
  ctx: ServerContext,
  tenant: TenantId,
  url = 'https://hooks.example.com/cloister',
  events: readonly string[] = ['test.never'],
): Promise<{ id: string; secret: string }> {
  const id = `whk_${randomBytes(16).toString('base64url')}`;
  const secret = newWebhookSecret();
  await ctx.stores.integrations.createWebhook({
    tenant,
    id,
    url,
    events,
    secret,
    createdAt: ctx.now(),
    createdBy: 'test',
  });
  return { id, secret };
}

/** A request a {@link webhookReceiver} received. */
export interface ReceivedWebhook {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A local HTTP receiver of webhook deliveries, answering each with `answer(body)` (default 204),
 * recording every request.
 */
export async function webhookReceiver(answer: (body: string) => number = () => 204) {
  const received: ReceivedWebhook[] = [];
  const server: Server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, body });
      res.statusCode = answer(body);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
