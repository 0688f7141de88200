/**
 * `admin.integrations`: integrations' API keys (scoped to route families, optionally bound to
 * pools, shown once, expiring, revocable at once) and signed webhook subscriptions with their
 * delivery records (`spec/integrations.md`); and {@link verifyWebhook}, for receivers, which
 * checks a delivery as the Standard Webhooks specification says.
 *
 * @module
 */
import { type CryptoProvider, equalBytes, getProvider, utf8, ValidationError } from '@cloister/crypto';
import { type AdminCaller, pathSegment, queryParams } from './caller.js';

/**
 * An API key as the admin API shows it (never the key itself).
 *
 * @example
 * ```ts
 * const keys: IntegrationKeyView[] = await admin.integrations.keys();
 * ```
 */
export interface IntegrationKeyView {
  /** The key's id (`key_…`), not secret. */
  readonly id: string;
  /** The integration (administrator id) it belongs to. */
  readonly integration: string;
  /** A label. */
  readonly name: string;
  /** Route families: `users`, `devices`, `audit`, … or `<family>:read`. */
  readonly scopes: readonly string[];
  /** The pools it is bound to, or null for the whole tenant. */
  readonly pools: readonly string[] | null;
  /** When it was made (ms). */
  readonly createdAt: number;
  /** Who made it. */
  readonly createdBy: string;
  /** When it stops working (ms). */
  readonly expiresAt: number;
  /** Its last accepted use, to within a minute (null: never). */
  readonly lastUsedAt: number | null;
  /** When it was revoked (null: it was not). */
  readonly revokedAt: number | null;
}

/**
 * What {@link IntegrationsApi.createKey} takes.
 *
 * @example
 * ```ts
 * const input: CreateIntegrationKeyInput = { name: 'HR sync', scopes: ['users'], pools: ['ward-3'] };
 * ```
 */
export interface CreateIntegrationKeyInput {
  /** A label. */
  readonly name: string;
  /** Route families (`tenant`, `administrators`, `users`, `devices`, `activity`, `audit`, `organisation`, `statistics`, each also as `<family>:read`). */
  readonly scopes: readonly string[];
  /** Bind the key to these pools: it sees and acts on their users only. */
  readonly pools?: readonly string[];
  /** Lifetime in ms (1 minute .. 366 days, default 90 days). */
  readonly ttlMs?: number;
}

/**
 * A new key: its view and the key itself, shown this once.
 *
 * @example
 * ```ts
 * const { key, apiKey }: CreatedIntegrationKey = await admin.integrations.createKey('adm_…', { name: 'HR', scopes: ['users'] });
 * ```
 */
export interface CreatedIntegrationKey {
  /** The key's view. */
  readonly key: IntegrationKeyView;
  /** The API key (`Authorization: Cloister-Admin-Key <apiKey>`); store it now, it is not shown again. */
  readonly apiKey: string;
}

/**
 * A webhook subscription (never its secret).
 *
 * @example
 * ```ts
 * const hooks: WebhookView[] = await admin.integrations.webhooks();
 * ```
 */
export interface WebhookView {
  /** The subscription's id (`whk_…`). */
  readonly id: string;
  /** Where events are posted. */
  readonly url: string;
  /** Audit actions subscribed (`user.block`, `user.*`, `*`). */
  readonly events: readonly string[];
  /** When it was made (ms). */
  readonly createdAt: number;
  /** Who made it. */
  readonly createdBy: string;
}

/**
 * A new subscription and its signing secret, shown this once.
 *
 * @example
 * ```ts
 * const { webhook, secret }: CreatedWebhook = await admin.integrations.createWebhook('https://hooks.acme.example/c', ['user.*']);
 * ```
 */
export interface CreatedWebhook {
  /** The subscription. */
  readonly webhook: WebhookView;
  /** The signing secret (`whsec_…`) for {@link verifyWebhook}; store it now. */
  readonly secret: string;
}

/**
 * A rotated subscription: its new signing secret, shown this once, and when the previous secret
 * stops signing.
 *
 * @example
 * ```ts
 * const { secret, previousSecretUntil }: RotatedWebhookSecret = await admin.integrations.rotateWebhookSecret('whk_…');
 * ```
 */
export interface RotatedWebhookSecret {
  /** The subscription. */
  readonly webhook: WebhookView;
  /** The new signing secret (`whsec_…`); store it now, it is not shown again. */
  readonly secret: string;
  /**
   * Until when (ms) deliveries also carry the previous secret's signature, after which that secret
   * is deleted; null when the rotation had no overlap.
   */
  readonly previousSecretUntil: number | null;
}

/**
 * What {@link IntegrationsApi.rotateWebhookSecret} takes.
 *
 * @example
 * ```ts
 * const options: RotateWebhookSecretOptions = { overlapSeconds: 3600 };
 * ```
 */
export interface RotateWebhookSecretOptions {
  /**
   * How long the previous secret keeps signing beside the new one, in seconds (0 .. 7 days,
   * default 24 hours); 0 deletes it at once.
   */
  readonly overlapSeconds?: number;
}

/**
 * What became of one event for one subscription.
 *
 * @example
 * ```ts
 * const { items } = await admin.integrations.deliveries('whk_AAAAAAAAAAAAAAAAAAAAAA');
 * const failed = items.filter((d: WebhookDeliveryView) => d.status === 'failed');
 * ```
 */
export interface WebhookDeliveryView {
  /** The event id (the `webhook-id` header). */
  readonly event: string;
  /** The event type (an audit action). */
  readonly type: string;
  /** When the event was recorded (ms). */
  readonly createdAt: number;
  /** `pending`, `delivered` or `failed` (attempts used up). */
  readonly status: 'pending' | 'delivered' | 'failed';
  /** Attempts made. */
  readonly attempts: number;
  /** The last attempt's time (null: none yet). */
  readonly lastAttemptAt: number | null;
  /** The last attempt's HTTP status or reason (`timeout`, `network`, `address`). */
  readonly lastResult: string | null;
  /** When the next attempt is due (null: none). */
  readonly nextAttemptAt: number | null;
}

/**
 * A verified webhook event.
 *
 * @example
 * ```ts
 * const received = { secret: process.env.WEBHOOK_SECRET ?? '', headers: {} as Record<string, string>, body: '' };
 * const event: WebhookEvent = await verifyWebhook(received.secret, received.headers, received.body);
 * if (event.type === 'user.block') console.log(event.data.target);
 * ```
 */
export interface WebhookEvent {
  /** The event id: deduplicate by it (delivery is at least once). */
  readonly id: string;
  /** The audit action. */
  readonly type: string;
  /** When it was recorded (ISO 8601). */
  readonly timestamp: string;
  /** Ids only: the tenant, the audit sequence number, actor, target and outcome. */
  readonly data: {
    readonly tenant: string;
    readonly seq: number;
    readonly actor: string;
    readonly target: string;
    readonly outcome: string;
  };
}

/**
 * Options of {@link verifyWebhook}.
 *
 * @example
 * ```ts
 * const options: VerifyWebhookOptions = { toleranceSeconds: 300 };
 * ```
 */
export interface VerifyWebhookOptions {
  /** The receiver's clock (ms; default `Date.now()`). */
  readonly now?: number;
  /** How far the timestamp may be from now (default 300 s): older messages are replays. */
  readonly toleranceSeconds?: number;
  /** The crypto provider (default: the best available). */
  readonly provider?: CryptoProvider;
}

function fromBase64(text: string): Uint8Array {
  const raw = atob(text);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/**
 * Verifies a webhook delivery (Standard Webhooks): the `webhook-timestamp` within the tolerance
 * of now, and a `v1,` signature in `webhook-signature` equal to the base64 HMAC-SHA256, under the
 * secret's bytes, of `<webhook-id>.<webhook-timestamp>.<body>`. Pass the body exactly as
 * received. Answers the event; `ValidationError('webhook')` for anything else. Keep the ids seen
 * within the tolerance to drop a repeated delivery.
 *
 * @example
 * ```ts
 * const request = { headers: {} as Record<string, string>, rawBody: '' }; // as the receiver got them
 * const event = await verifyWebhook(process.env.WEBHOOK_SECRET ?? '', request.headers, request.rawBody);
 * // deduplicate by event.id: delivery is at least once
 * ```
 */
export async function verifyWebhook(
  secret: string,
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  body: string,
  options: VerifyWebhookOptions = {},
): Promise<WebhookEvent> {
  const refuse = (): never => {
    throw new ValidationError('webhook', 'a delivery signed with this secret within the time tolerance');
  };
  const header = (name: string): string | undefined => {
    const found = Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
    return typeof found === 'string' ? found : found?.[0];
  };
  if (typeof secret !== 'string' || !secret.startsWith('whsec_'))
    throw new ValidationError('secret', 'whsec_…');
  const key = fromBase64(secret.slice('whsec_'.length));
  const id = header('webhook-id');
  const ts = header('webhook-timestamp');
  const signatures = header('webhook-signature');
  if (id === undefined || ts === undefined || signatures === undefined || !/^\d{1,12}$/.test(ts))
    return refuse();
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (Math.abs(now - Number(ts)) > (options.toleranceSeconds ?? 300)) return refuse();
  const provider = options.provider ?? (await getProvider());
  const mac = await provider.hmacSha256(key, utf8(`${id}.${ts}.${body}`));
  const ok = signatures.split(' ').some((s) => {
    if (!s.startsWith('v1,')) return false;
    try {
      return equalBytes(fromBase64(s.slice(3)), mac);
    } catch {
      return false;
    }
  });
  if (!ok) return refuse();
  const event = JSON.parse(body) as WebhookEvent;
  if (event.id !== id) return refuse();
  return event;
}

/**
 * The integrations area of {@link AdminClient} (`admin.integrations`); every call needs
 * `integrations.manage` and a person (not a key); creating a key or a webhook and rotating a
 * webhook's secret need a fresh second factor.
 *
 * @example
 * ```ts
 * const { apiKey } = await admin.integrations.createKey('adm_…', { name: 'HR sync', scopes: ['users:read'] });
 * ```
 */
export class IntegrationsApi {
  readonly #caller: AdminCaller;

  /**
   * Built by `AdminClient` (`admin.integrations`).
   *
   * @example
   * ```ts
   * const integrations = admin.integrations;
   * ```
   */
  constructor(caller: AdminCaller) {
    this.#caller = caller;
  }

  /**
   * Makes an API key for an integration (an administrator with role `integration`).
   *
   * @example
   * ```ts
   * const { apiKey } = await admin.integrations.createKey('adm_…', { name: 'Ward 3 sync', scopes: ['users'], pools: ['ward-3'] });
   * ```
   */
  createKey(integration: string, input: CreateIntegrationKeyInput): Promise<CreatedIntegrationKey> {
    return this.#caller.call('POST', `/admin/v1/integrations/${pathSegment(integration)}/keys`, {
      json: input,
    });
  }

  /**
   * The tenant's keys (revoked ones too), optionally of one integration.
   *
   * @example
   * ```ts
   * const live = (await admin.integrations.keys()).filter((k) => k.revokedAt === null);
   * ```
   */
  async keys(integration?: string): Promise<IntegrationKeyView[]> {
    const answer = await this.#caller.call<{ items: IntegrationKeyView[] }>(
      'GET',
      '/admin/v1/integrations/keys',
      {
        query: queryParams({ integration }),
      },
    );
    return answer.items;
  }

  /**
   * Revokes a key: its next request is refused.
   *
   * @example
   * ```ts
   * await admin.integrations.revokeKey('key_…');
   * ```
   */
  async revokeKey(key: string): Promise<void> {
    await this.#caller.call('DELETE', `/admin/v1/integrations/keys/${pathSegment(key)}`);
  }

  /**
   * Subscribes an HTTPS URL to audit actions (`user.block`, `user.*`, `*`).
   *
   * @example
   * ```ts
   * const { secret } = await admin.integrations.createWebhook('https://hooks.acme.example/cloister', ['user.*', 'device.*']);
   * ```
   */
  createWebhook(url: string, events: readonly string[]): Promise<CreatedWebhook> {
    return this.#caller.call('POST', '/admin/v1/webhooks', { json: { url, events } });
  }

  /**
   * The tenant's webhook subscriptions.
   *
   * @example
   * ```ts
   * for (const hook of await admin.integrations.webhooks()) console.log(hook.id, hook.url);
   * ```
   */
  async webhooks(): Promise<WebhookView[]> {
    return (await this.#caller.call<{ items: WebhookView[] }>('GET', '/admin/v1/webhooks')).items;
  }

  /**
   * Deletes a subscription.
   *
   * @example
   * ```ts
   * await admin.integrations.deleteWebhook('whk_…');
   * ```
   */
  async deleteWebhook(webhook: string): Promise<void> {
    await this.#caller.call('DELETE', `/admin/v1/webhooks/${pathSegment(webhook)}`);
  }

  /**
   * Replaces a subscription's signing secret (fresh second factor). For the overlap (default 24
   * hours) every delivery carries the new and the previous secret's signatures, so a receiver
   * can switch secrets at any time within it; then the previous secret is deleted. Rotating
   * during an overlap deletes the oldest secret at once (at most two sign).
   *
   * @example
   * ```ts
   * const { secret } = await admin.integrations.rotateWebhookSecret('whk_…', { overlapSeconds: 3600 });
   * ```
   */
  rotateWebhookSecret(
    webhook: string,
    options: RotateWebhookSecretOptions = {},
  ): Promise<RotatedWebhookSecret> {
    return this.#caller.call('POST', `/admin/v1/webhooks/${pathSegment(webhook)}/rotate-secret`, {
      json: options.overlapSeconds === undefined ? {} : { overlapSeconds: options.overlapSeconds },
    });
  }

  /**
   * Queues a failed event again (its `event` id from {@link IntegrationsApi.deliveries}), with the
   * same `webhook-id` and a fresh attempt count; answers its delivery, now pending.
   *
   * @example
   * ```ts
   * const { items } = await admin.integrations.deliveries('whk_…');
   * for (const d of items.filter((x) => x.status === 'failed')) await admin.integrations.redeliver('whk_…', d.event);
   * ```
   */
  async redeliver(webhook: string, event: string): Promise<WebhookDeliveryView> {
    const answer = await this.#caller.call<{ delivery: WebhookDeliveryView }>(
      'POST',
      `/admin/v1/webhooks/${pathSegment(webhook)}/deliveries/${pathSegment(event)}/redeliver`,
    );
    return answer.delivery;
  }

  /**
   * A subscription's deliveries, newest first.
   *
   * @example
   * ```ts
   * const { items, next } = await admin.integrations.deliveries('whk_…', { limit: 50 });
   * ```
   */
  deliveries(
    webhook: string,
    page: { readonly after?: string; readonly limit?: number } = {},
  ): Promise<{ items: WebhookDeliveryView[]; next?: string }> {
    return this.#caller.call('GET', `/admin/v1/webhooks/${pathSegment(webhook)}/deliveries`, {
      query: queryParams({ after: page.after, limit: page.limit }),
    });
  }
}
