/**
 * Integrations in the admin API (`integrations.manage`, people only; `spec/integrations.md`):
 * API keys of an integration — scoped to route families, optionally bound to pools, shown once,
 * expiring, revocable with effect from the next request — and signed webhook subscriptions with
 * their delivery records. Each change and its audit record commit in one transaction.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { poolId } from '@cloister/protocol';
import { z } from 'zod';
import { NotFoundError } from '../../store/index.js';
import { type IntegrationKey, MAX_SECRET_OVERLAP_MS, type Webhook } from '../../store/integrations.js';
import { checkWebhookUrl, newWebhookSecret, webhookOptionsOf } from '../../webhooks.js';
import { INTEGRATION_SCOPE_NAMES, scopePermissions } from '../integration-keys.js';
import { bearerHash, newBearerSecret } from '../secrets.js';
import { defineAdminOperation } from './operation.js';
import { ADMIN_SCHEMAS, adminIdSchema, identifier, pageQuery } from './schemas.js';

/** Longest lifetime of an API key: 366 days; default 90 days. */
const MAX_KEY_TTL_MS = 366 * 86_400_000;
const DEFAULT_KEY_TTL_MS = 90 * 86_400_000;

const keyIdSchema = z.string().regex(/^key_[A-Za-z0-9_-]{22}$/, 'a key id');
const webhookIdSchema = z.string().regex(/^whk_[A-Za-z0-9_-]{22}$/, 'a webhook id');
const eventIdSchema = z.string().regex(/^msg_[A-Za-z0-9_-]{22}$/, 'an event id');
/** The default overlap of a secret rotation: 24 hours. */
const DEFAULT_OVERLAP_SECONDS = 86_400;
const EVENT = /^(\*|[a-z][a-z0-9_:-]{0,63}(\.[a-z0-9_:-]+)*(\.\*)?)$/;

/**
 * An integration key as the API shows it: never the key or its hash.
 *
 * @example
 * ```ts
 * integrationKeyView.parse(await (await fetch(`${url}/admin/v1/integrations/keys`, { headers })).json());
 * ```
 */
export const integrationKeyView = z
  .object({
    id: z.string(),
    integration: z.string(),
    name: z.string(),
    scopes: z.array(z.string()),
    pools: z.array(z.string()).nullable(),
    createdAt: z.number(),
    createdBy: z.string(),
    expiresAt: z.number(),
    lastUsedAt: z.number().nullable(),
    revokedAt: z.number().nullable(),
  })
  .strict();
ADMIN_SCHEMAS.add(integrationKeyView, {
  id: 'IntegrationKey',
  description: 'An API key of an integration (never the key itself)',
});

/**
 * A webhook subscription as the API shows it: never the secret.
 *
 * @example
 * ```ts
 * const hook = webhookView.parse({ id: 'whk_AAAAAAAAAAAAAAAAAAAAAA', url: 'https://hooks.acme.example/c', events: ['*'], createdAt: 0, createdBy: admin.id });
 * ```
 */
export const webhookView = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    createdAt: z.number(),
    createdBy: z.string(),
  })
  .strict();
ADMIN_SCHEMAS.add(webhookView, { id: 'Webhook', description: 'A webhook subscription (never its secret)' });

/**
 * What became of one event for one subscription.
 *
 * @example
 * ```ts
 * const items = webhookDeliveryView.array().parse([]);
 * const failed = items.filter((d) => d.status === 'failed');
 * ```
 */
export const webhookDeliveryView = z
  .object({
    event: z.string(),
    type: z.string(),
    createdAt: z.number(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number(),
    lastAttemptAt: z.number().nullable(),
    lastResult: z.string().nullable(),
    nextAttemptAt: z.number().nullable(),
  })
  .strict();
ADMIN_SCHEMAS.add(webhookDeliveryView, { id: 'WebhookDelivery', description: 'The delivery of one event' });

const keyViewOf = (k: IntegrationKey) => ({
  id: k.id,
  integration: k.integration,
  name: k.name,
  scopes: [...k.scopes],
  pools: k.pools === null ? null : [...k.pools],
  createdAt: k.createdAt,
  createdBy: k.createdBy,
  expiresAt: k.expiresAt,
  lastUsedAt: k.lastUsedAt,
  revokedAt: k.revokedAt,
});

const webhookViewOf = (w: Webhook) => ({
  id: w.id,
  url: w.url,
  events: [...w.events],
  createdAt: w.createdAt,
  createdBy: w.createdBy,
});

const newId = (prefix: string) => `${prefix}_${randomBytes(16).toString('base64url')}`;

/**
 * `POST /admin/v1/integrations/:integration/keys` `{ name, scopes, pools?, ttlMs? }`
 * (`integrations.manage`, fresh factor, people only) → 201 `{ key, apiKey }`: the key is shown
 * once. Audited `integration.key.create`.
 *
 * @example
 * ```ts
 * const body = JSON.stringify({ name: 'HR sync', scopes: ['users:read'] });
 * const { apiKey } = await (await fetch(`${url}/admin/v1/integrations/${admin.id}/keys`, { method: 'POST', headers, body })).json();
 * ```
 */
export const createIntegrationKeyOperation = defineAdminOperation({
  id: 'createIntegrationKey',
  method: 'POST',
  path: '/admin/v1/integrations/:integration/keys',
  tag: 'integrations',
  summary: 'Create an API key for an integration (shown once)',
  access: { permission: 'integrations.manage', freshFactor: true, allowKey: false },
  params: z.object({ integration: adminIdSchema }).strict(),
  body: z
    .object({
      name: z.string().min(1).max(128),
      scopes: z
        .array(z.enum(INTEGRATION_SCOPE_NAMES as [string, ...string[]]))
        .min(1)
        .max(32),
      pools: z.array(identifier).min(1).max(100).optional(),
      ttlMs: z.number().int().min(60_000).max(MAX_KEY_TTL_MS).optional(),
    })
    .strict(),
  status: 201,
  response: z.object({ key: integrationKeyView, apiKey: z.string() }).strict(),
  handle: async (ctx, { me, params, body }) => {
    scopePermissions(body.scopes);
    const apiKey = newBearerSecret();
    const now = ctx.now();
    const k: IntegrationKey = {
      tenant: me.tenant,
      id: newId('key'),
      integration: params.integration,
      name: body.name,
      scopes: [...new Set(body.scopes)].sort(),
      pools: body.pools === undefined ? null : [...new Set(body.pools)].sort(),
      keyHash: bearerHash('key', apiKey),
      createdAt: now,
      createdBy: me.admin.id,
      expiresAt: now + (body.ttlMs ?? DEFAULT_KEY_TTL_MS),
      lastUsedAt: null,
      revokedAt: null,
    };
    await ctx.stores.transaction(async (s) => {
      const integration = await s.administrators.get(me.tenant, params.integration);
      if (integration === undefined || integration.role !== 'integration' || integration.disabled) {
        throw new NotFoundError('integration');
      }
      for (const p of k.pools ?? []) {
        if ((await s.pools.get(me.tenant, poolId(p))) === undefined) throw new NotFoundError('pool');
      }
      await s.integrations.createKey(k);
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'integration.key.create',
        target: k.id,
        outcome: 'success',
        details: {
          integration: k.integration,
          scopes: [...k.scopes],
          pools: k.pools,
          expiresAt: k.expiresAt,
        },
      });
    });
    return { key: keyViewOf(k), apiKey };
  },
});

/**
 * `GET /admin/v1/integrations/keys?integration` (`integrations.manage`): the tenant's keys,
 * revoked ones included.
 *
 * @example
 * ```ts
 * const { items } = await (await fetch(`${url}/admin/v1/integrations/keys`, { headers })).json();
 * ```
 */
export const listIntegrationKeysOperation = defineAdminOperation({
  id: 'listIntegrationKeys',
  method: 'GET',
  path: '/admin/v1/integrations/keys',
  tag: 'integrations',
  summary: "List the integrations' API keys",
  access: { permission: 'integrations.manage', allowKey: false },
  query: z.object({ integration: adminIdSchema.optional() }).strict(),
  status: 200,
  response: z.object({ items: z.array(integrationKeyView) }).strict(),
  handle: async (ctx, { me, query }) => ({
    items: (await ctx.stores.integrations.listKeys(me.tenant, query.integration)).map(keyViewOf),
  }),
});

/**
 * `DELETE /admin/v1/integrations/keys/:key` (`integrations.manage`): revokes the key; its next
 * request is 401. Audited `integration.key.revoke`.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/integrations/keys/key_AAAAAAAAAAAAAAAAAAAAAA`, { method: 'DELETE', headers });
 * ```
 */
export const revokeIntegrationKeyOperation = defineAdminOperation({
  id: 'revokeIntegrationKey',
  method: 'DELETE',
  path: '/admin/v1/integrations/keys/:key',
  tag: 'integrations',
  summary: 'Revoke an API key',
  access: { permission: 'integrations.manage', allowKey: false },
  params: z.object({ key: keyIdSchema }).strict(),
  status: 204,
  handle: async (ctx, { me, params }) => {
    await ctx.stores.transaction(async (s) => {
      const k = await s.integrations.revokeKey(me.tenant, params.key, ctx.now());
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'integration.key.revoke',
        target: k.id,
        outcome: 'success',
        details: { integration: k.integration },
      });
    });
    return null;
  },
});

/**
 * `POST /admin/v1/webhooks` `{ url, events }` (`integrations.manage`, fresh factor, people only)
 * → 201 `{ webhook, secret }`: the secret is shown once. Audited `webhook.create`.
 *
 * @example
 * ```ts
 * const body = JSON.stringify({ url: 'https://hooks.acme.example/cloister', events: ['user.*'] });
 * const { secret } = await (await fetch(`${url}/admin/v1/webhooks`, { method: 'POST', headers, body })).json();
 * ```
 */
export const createWebhookOperation = defineAdminOperation({
  id: 'createWebhook',
  method: 'POST',
  path: '/admin/v1/webhooks',
  tag: 'integrations',
  summary: 'Subscribe a URL to admin events (the secret is shown once)',
  access: { permission: 'integrations.manage', freshFactor: true, allowKey: false },
  body: z
    .object({
      url: z.string().min(1).max(2048),
      events: z.array(z.string().regex(EVENT, 'an audit action, a prefix ending in .*, or *')).min(1).max(64),
    })
    .strict(),
  status: 201,
  response: z.object({ webhook: webhookView, secret: z.string() }).strict(),
  handle: async (ctx, { me, body }) => {
    const url = checkWebhookUrl(body.url, webhookOptionsOf(ctx).allowHttpLocalhost);
    const w: Webhook = {
      tenant: me.tenant,
      id: newId('whk'),
      url: url.href,
      events: [...new Set(body.events)].sort(),
      secret: newWebhookSecret(),
      createdAt: ctx.now(),
      createdBy: me.admin.id,
    };
    await ctx.stores.transaction(async (s) => {
      await s.integrations.createWebhook(w);
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'webhook.create',
        target: w.id,
        outcome: 'success',
        // The origin only: a receiver may carry a token in its path or query.
        details: { origin: url.origin, events: [...w.events] },
      });
    });
    return { webhook: webhookViewOf(w), secret: w.secret };
  },
});

/**
 * `GET /admin/v1/webhooks` (`integrations.manage`).
 *
 * @example
 * ```ts
 * const { items } = await (await fetch(`${url}/admin/v1/webhooks`, { headers })).json();
 * ```
 */
export const listWebhooksOperation = defineAdminOperation({
  id: 'listWebhooks',
  method: 'GET',
  path: '/admin/v1/webhooks',
  tag: 'integrations',
  summary: 'List webhook subscriptions',
  access: { permission: 'integrations.manage', allowKey: false },
  status: 200,
  response: z.object({ items: z.array(webhookView) }).strict(),
  handle: async (ctx, { me }) => ({
    items: (await ctx.stores.integrations.listWebhooks(me.tenant)).map(webhookViewOf),
  }),
});

const webhookParams = z.object({ webhook: webhookIdSchema }).strict();

/**
 * `DELETE /admin/v1/webhooks/:webhook` (`integrations.manage`): no event is sent to it from
 * then on; its delivery records go too. Audited `webhook.delete`.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/webhooks/whk_AAAAAAAAAAAAAAAAAAAAAA`, { method: 'DELETE', headers });
 * ```
 */
export const deleteWebhookOperation = defineAdminOperation({
  id: 'deleteWebhook',
  method: 'DELETE',
  path: '/admin/v1/webhooks/:webhook',
  tag: 'integrations',
  summary: 'Delete a webhook subscription',
  access: { permission: 'integrations.manage', allowKey: false },
  params: webhookParams,
  status: 204,
  handle: async (ctx, { me, params }) => {
    await ctx.stores.transaction(async (s) => {
      if (!(await s.integrations.deleteWebhook(me.tenant, params.webhook)))
        throw new NotFoundError('webhook');
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'webhook.delete',
        target: params.webhook,
        outcome: 'success',
      });
    });
    return null;
  },
});

/**
 * `GET /admin/v1/webhooks/:webhook/deliveries?after&limit` (`integrations.manage`): the
 * subscription's events, newest first, with their status (pending, delivered, failed).
 *
 * @example
 * ```ts
 * const { items } = await (await fetch(`${url}/admin/v1/webhooks/whk_AAAAAAAAAAAAAAAAAAAAAA/deliveries`, { headers })).json();
 * ```
 */
export const listWebhookDeliveriesOperation = defineAdminOperation({
  id: 'listWebhookDeliveries',
  method: 'GET',
  path: '/admin/v1/webhooks/:webhook/deliveries',
  tag: 'integrations',
  summary: "A webhook's deliveries",
  access: { permission: 'integrations.manage', allowKey: false },
  params: webhookParams,
  query: pageQuery,
  status: 200,
  response: z.object({ items: z.array(webhookDeliveryView), next: z.string().optional() }).strict(),
  handle: async (ctx, { me, params, query }) => {
    if ((await ctx.stores.integrations.getWebhook(me.tenant, params.webhook)) === undefined) {
      throw new NotFoundError('webhook');
    }
    const page = await ctx.stores.integrations.listDeliveries(me.tenant, params.webhook, {
      ...(query.after === undefined ? {} : { after: query.after }),
      ...(query.limit === undefined ? {} : { limit: query.limit }),
    });
    return {
      items: page.items.map(({ cursor: _cursor, ...d }) => d),
      ...(page.next === undefined ? {} : { next: page.next }),
    };
  },
});

/**
 * `POST /admin/v1/webhooks/:webhook/rotate-secret` `{ overlapSeconds? }` (`integrations.manage`,
 * fresh factor, people only) → `{ webhook, secret, previousSecretUntil }`: a new signing secret,
 * shown once. For `overlapSeconds` (0..7 days, default 24 hours) deliveries carry the new and
 * the previous secret's signatures, then the previous secret is deleted; a rotation during an
 * overlap deletes the oldest secret at once (at most two). Audited `webhook.rotate-secret`
 * (never a secret).
 *
 * @example
 * ```ts
 * const body = JSON.stringify({ overlapSeconds: 3600 });
 * const { secret } = await (await fetch(`${url}/admin/v1/webhooks/whk_AAAAAAAAAAAAAAAAAAAAAA/rotate-secret`, { method: 'POST', headers, body })).json();
 * ```
 */
export const rotateWebhookSecretOperation = defineAdminOperation({
  id: 'rotateWebhookSecret',
  method: 'POST',
  path: '/admin/v1/webhooks/:webhook/rotate-secret',
  tag: 'integrations',
  summary: "Replace a webhook's signing secret, the previous one signing too for an overlap",
  access: { permission: 'integrations.manage', freshFactor: true, allowKey: false },
  params: z.object({ webhook: webhookIdSchema }).strict(),
  body: z
    .object({
      overlapSeconds: z
        .number()
        .int()
        .min(0)
        .max(MAX_SECRET_OVERLAP_MS / 1000)
        .optional(),
    })
    .strict(),
  status: 200,
  response: z
    .object({ webhook: webhookView, secret: z.string(), previousSecretUntil: z.number().nullable() })
    .strict(),
  handle: async (ctx, { me, params, body }) => {
    const secret = newWebhookSecret();
    const now = ctx.now();
    const overlapSeconds = body.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS;
    const w = await ctx.stores.transaction(async (s) => {
      const rotated = await s.integrations.rotateWebhookSecret(
        me.tenant,
        params.webhook,
        secret,
        now,
        overlapSeconds * 1000,
      );
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'webhook.rotate-secret',
        target: rotated.id,
        outcome: 'success',
        details: { overlapSeconds, previousSecretUntil: rotated.previousSecretUntil ?? null },
      });
      return rotated;
    });
    return { webhook: webhookViewOf(w), secret, previousSecretUntil: w.previousSecretUntil ?? null };
  },
});

/**
 * `POST /admin/v1/webhooks/:webhook/deliveries/:delivery/redeliver` (`integrations.manage`,
 * people only) → `{ delivery }`: a failed event (`:delivery` is its event id) is queued again,
 * due now, with the same `webhook-id` and body and a fresh attempt count. 404 `delivery` when it
 * is not a failed event of the webhook. Audited `webhook.redeliver`.
 *
 * @example
 * ```ts
 * const path = '/admin/v1/webhooks/whk_AAAAAAAAAAAAAAAAAAAAAA/deliveries/msg_AAAAAAAAAAAAAAAAAAAAAA/redeliver';
 * const { delivery } = await (await fetch(`${url}${path}`, { method: 'POST', headers })).json();
 * ```
 */
export const redeliverWebhookEventOperation = defineAdminOperation({
  id: 'redeliverWebhookEvent',
  method: 'POST',
  path: '/admin/v1/webhooks/:webhook/deliveries/:delivery/redeliver',
  tag: 'integrations',
  summary: 'Queue a failed event again (same event id, fresh attempts)',
  access: { permission: 'integrations.manage', allowKey: false },
  params: z.object({ webhook: webhookIdSchema, delivery: eventIdSchema }).strict(),
  status: 200,
  response: z.object({ delivery: webhookDeliveryView }).strict(),
  handle: async (ctx, { me, params }) => {
    const d = await ctx.stores.transaction(async (s) => {
      if ((await s.integrations.getWebhook(me.tenant, params.webhook)) === undefined) {
        throw new NotFoundError('webhook');
      }
      const queued = await s.integrations.redeliver(me.tenant, params.webhook, params.delivery, ctx.now());
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'webhook.redeliver',
        target: params.webhook,
        outcome: 'success',
        details: { event: queued.event },
      });
      return queued;
    });
    const { cursor: _cursor, ...delivery } = d;
    return { delivery };
  },
});

/**
 * The integration operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, INTEGRATION_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const INTEGRATION_OPERATIONS = [
  createIntegrationKeyOperation,
  listIntegrationKeysOperation,
  revokeIntegrationKeyOperation,
  createWebhookOperation,
  listWebhooksOperation,
  deleteWebhookOperation,
  listWebhookDeliveriesOperation,
  rotateWebhookSecretOperation,
  redeliverWebhookEventOperation,
] as const;
