/**
 * Integrations' API keys and webhooks (`spec/integrations.md`):
 *
 * - `s_int_keys[tenant][key id]`: an API key of an integration (its scopes, pools, expiry,
 *   last use, revocation); `s_int_key_hashes[hash][ε]`: the key's stored hash → tenant and key
 *   id (the lookup by hash is the authentication; the secret is never stored).
 * - `s_webhooks[tenant][webhook id]`: a subscription (URL, event patterns, signing secret, and
 *   during a rotation's overlap the previous secret and when it ends).
 * - `s_webhook_outbox[ε][due time ‖ random]`: events still to deliver, across tenants, in due
 *   order (an ordered table); written in the transaction of the audit record they announce. A
 *   rotation also queues there the deletion of the previous secret, due when its overlap ends.
 * - `s_webhook_deliveries[tenant ‖ webhook][created ‖ event id]`: what became of each event
 *   (pending, delivered, failed), kept 30 days; and `[tenant ‖ webhook ‖ "failed"][created ‖ event
 *   id]`: the failed events with their bodies, oldest first, which a recovery (a later successful
 *   attempt to the webhook) or a redelivery re-queues.
 *
 * @module
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { concatBytes, ValidationError } from '@cloister/crypto';
import { type TenantId, tenantId } from '@cloister/protocol';
import type { Executor, StorageTx } from '@cloister/storage';
import { checkInteger, getRec, key, NO_SORT, read, readUint, T, u64, write } from './_util.js';
import type { AuditLog, AuditRecord } from './audit.js';
import { ConflictError, NotFoundError } from './errors.js';

/**
 * At most this many live (unrevoked) API keys per integration.
 *
 * @example
 * ```ts
 * console.log(MAX_KEYS_PER_INTEGRATION); // 10
 * ```
 */
export const MAX_KEYS_PER_INTEGRATION = 10;
/**
 * At most this many API keys per tenant, revoked ones included (they are kept for the audit).
 *
 * @example
 * ```ts
 * console.log(MAX_KEYS_PER_TENANT); // 1000
 * ```
 */
export const MAX_KEYS_PER_TENANT = 1000;
/**
 * At most this many webhook subscriptions per tenant.
 *
 * @example
 * ```ts
 * console.log(MAX_WEBHOOKS_PER_TENANT); // 20
 * ```
 */
export const MAX_WEBHOOKS_PER_TENANT = 20;
/**
 * How long a delivery record is kept (30 days).
 *
 * @example
 * ```ts
 * const keptUntil = Date.now() + DELIVERY_RETENTION_MS; // a record made now
 * ```
 */
export const DELIVERY_RETENTION_MS = 30 * 86_400_000;
/**
 * At most this many failed events are re-queued by one recovery of a webhook (a successful
 * attempt after events failed); the rest wait for the next one.
 *
 * @example
 * ```ts
 * console.log(MAX_REQUEUED_PER_RECOVERY); // 1000
 * ```
 */
export const MAX_REQUEUED_PER_RECOVERY = 1000;
/**
 * The longest overlap of a secret rotation, during which the previous secret still signs: 7 days.
 *
 * @example
 * ```ts
 * const overlapMs = Math.min(24 * 3_600_000, MAX_SECRET_OVERLAP_MS);
 * ```
 */
export const MAX_SECRET_OVERLAP_MS = 7 * 86_400_000;

/**
 * An integration's API key as stored (never the key itself).
 *
 * @example
 * ```ts
 * const k: IntegrationKey | undefined = await stores.integrations.getKey(tenant, 'key_abc');
 * if (k?.revokedAt !== null) console.log('revoked');
 * ```
 */
export interface IntegrationKey {
  /** The tenant. */
  readonly tenant: TenantId;
  /** The key's id (`key_…`), not secret. */
  readonly id: string;
  /** The integration (administrator id) the key belongs to. */
  readonly integration: string;
  /** A label for people. */
  readonly name: string;
  /** The route families the key may call (`users`, `devices:read`, …). */
  readonly scopes: readonly string[];
  /** Pools the key is bound to (null: the whole tenant). */
  readonly pools: readonly string[] | null;
  /** SHA-256 of the key (labelled). */
  readonly keyHash: Uint8Array;
  /** When it was made, ms. */
  readonly createdAt: number;
  /** The administrator who made it. */
  readonly createdBy: string;
  /** When it stops working, ms. */
  readonly expiresAt: number;
  /** When it was last accepted (null: never), to within a minute. */
  readonly lastUsedAt: number | null;
  /** When it was revoked (null: it was not). */
  readonly revokedAt: number | null;
}

/**
 * A webhook subscription as stored.
 *
 * @example
 * ```ts
 * const hooks: Webhook[] = await stores.integrations.listWebhooks(tenant);
 * ```
 */
export interface Webhook {
  /** The tenant. */
  readonly tenant: TenantId;
  /** The subscription's id (`whk_…`). */
  readonly id: string;
  /** Where events are posted. */
  readonly url: string;
  /** Audit actions subscribed: exact names or prefixes ending in `.*`, or `*` for all. */
  readonly events: readonly string[];
  /** The signing secret (`whsec_<base64>`), kept to sign; shown once to the administrator. */
  readonly secret: string;
  /**
   * The secret the last rotation replaced, still signing (beside `secret`) until
   * `previousSecretUntil`, then deleted; absent when there is none.
   */
  readonly previousSecret?: string;
  /** When the previous secret stops signing and is deleted, ms (with `previousSecret`). */
  readonly previousSecretUntil?: number;
  /** When it was made, ms. */
  readonly createdAt: number;
  /** The administrator who made it. */
  readonly createdBy: string;
}

/**
 * What became of one event for one subscription.
 *
 * @example
 * ```ts
 * const { items } = await stores.integrations.listDeliveries(tenant, 'whk_abc');
 * const failed = items.filter((d: WebhookDelivery) => d.status === 'failed');
 * ```
 */
export interface WebhookDelivery {
  /** The event id (the `webhook-id` header), the receivers' key for deduplication. */
  readonly event: string;
  /** The event type (the audit action). */
  readonly type: string;
  /** When the event was recorded, ms. */
  readonly createdAt: number;
  /** `pending` (to be tried or retried), `delivered` (a 2xx answer), `failed` (attempts used up). */
  readonly status: 'pending' | 'delivered' | 'failed';
  /** Attempts made so far. */
  readonly attempts: number;
  /** When the last attempt was made (null: none yet). */
  readonly lastAttemptAt: number | null;
  /** The last attempt's HTTP status, or a reason (`timeout`, `network`, `address`). */
  readonly lastResult: string | null;
  /** When the next attempt is due (null: none). */
  readonly nextAttemptAt: number | null;
  /** The cursor of this record in its listing. */
  readonly cursor: string;
}

/**
 * One row of the outbox: an event to deliver to one subscription.
 *
 * @example
 * ```ts
 * const due: OutboxItem[] = await stores.integrations.claimDue(Date.now(), 10, 60_000);
 * ```
 */
export interface OutboxItem {
  /** The tenant. */
  readonly tenant: TenantId;
  /** The subscription. */
  readonly webhook: string;
  /** The event id. */
  readonly event: string;
  /** The exact body to send (JSON). */
  readonly body: string;
  /** Attempts made before this one. */
  readonly attempts: number;
  /** The delivery record's sort key. */
  readonly delivery: Uint8Array;
  /** The outbox row's sort key (while claimed: its lease). */
  readonly sort: Uint8Array;
}

/**
 * The integrations' keys, webhooks, outbox and delivery records.
 *
 * @example
 * ```ts
 * const keys = await stores.integrations.listKeys(tenant);
 * ```
 */
export interface IntegrationStore {
  /**
   * Stores a new key; `ConflictError('integration.keys')` beyond {@link MAX_KEYS_PER_INTEGRATION}
   * live keys.
   *
   * @example
   * ```ts
   * const [existing] = await stores.integrations.listKeys(tenant);
   * if (existing !== undefined) await stores.integrations.createKey({ ...existing, id: 'key_AAAAAAAAAAAAAAAAAAAAAA' }); // ConflictError: its hash is taken
   * ```
   */
  createKey(k: IntegrationKey): Promise<void>;
  /**
   * A key by id, or undefined.
   *
   * @example
   * ```ts
   * const k = await stores.integrations.getKey(tenant, 'key_abc');
   * ```
   */
  getKey(tenant: TenantId, id: string): Promise<IntegrationKey | undefined>;
  /**
   * A key by its stored hash, or undefined.
   *
   * @example
   * ```ts
   * const k = await stores.integrations.keyByHash(bearerHash('key', token));
   * ```
   */
  keyByHash(hash: Uint8Array): Promise<IntegrationKey | undefined>;
  /**
   * The tenant's keys (revoked ones too), optionally of one integration.
   *
   * @example
   * ```ts
   * const mine = await stores.integrations.listKeys(tenant, 'adm_hr');
   * ```
   */
  listKeys(tenant: TenantId, integration?: string): Promise<IntegrationKey[]>;
  /**
   * Marks a key revoked at `at`; `NotFoundError('key')` for an unknown or already revoked one.
   *
   * @example
   * ```ts
   * await stores.integrations.revokeKey(tenant, 'key_abc', Date.now());
   * ```
   */
  revokeKey(tenant: TenantId, id: string, at: number): Promise<IntegrationKey>;
  /**
   * Records a use of the key (callers throttle it).
   *
   * @example
   * ```ts
   * await stores.integrations.touchKey(tenant, 'key_abc', Date.now());
   * ```
   */
  touchKey(tenant: TenantId, id: string, at: number): Promise<void>;
  /**
   * Stores a subscription; `ConflictError('webhooks')` beyond {@link MAX_WEBHOOKS_PER_TENANT}.
   *
   * @example
   * ```ts
   * await stores.integrations.createWebhook({
   *   tenant, id: 'whk_AAAAAAAAAAAAAAAAAAAAAA', url: 'https://hooks.acme.example/c', events: ['user.*'],
   *   secret: newWebhookSecret(), createdAt: Date.now(), createdBy: admin.id,
   * });
   * ```
   */
  createWebhook(w: Webhook): Promise<void>;
  /**
   * A subscription by id.
   *
   * @example
   * ```ts
   * const hook = await stores.integrations.getWebhook(tenant, 'whk_abc');
   * ```
   */
  getWebhook(tenant: TenantId, id: string): Promise<Webhook | undefined>;
  /**
   * The tenant's subscriptions.
   *
   * @example
   * ```ts
   * const hooks = await stores.integrations.listWebhooks(tenant);
   * ```
   */
  listWebhooks(tenant: TenantId): Promise<Webhook[]>;
  /**
   * Deletes a subscription and its delivery records (its outbox rows are dropped when claimed).
   *
   * @example
   * ```ts
   * const gone = await stores.integrations.deleteWebhook(tenant, 'whk_abc');
   * ```
   */
  deleteWebhook(tenant: TenantId, id: string): Promise<boolean>;
  /**
   * Replaces a subscription's signing secret with `secret`. With `overlapMs` > 0 the current
   * secret becomes the previous one and still signs until `at + overlapMs` (its deletion is
   * queued for then); a previous secret of an earlier rotation is deleted now (at most two
   * secrets). With 0, the current secret is deleted at once. `NotFoundError('webhook')` for an
   * unknown subscription; `ValidationError` for a malformed secret or overlap (nothing written).
   *
   * @example
   * ```ts
   * const hook = await stores.integrations.rotateWebhookSecret(tenant, 'whk_abc', newWebhookSecret(), Date.now(), 86_400_000);
   * ```
   */
  rotateWebhookSecret(
    tenant: TenantId,
    id: string,
    secret: string,
    at: number,
    overlapMs: number,
  ): Promise<Webhook>;
  /**
   * Re-queues a failed event of a subscription, due at `at`, with the same event id and body and
   * a fresh attempt count; answers its delivery record, now pending. `NotFoundError('delivery')`
   * when `event` is not a failed event of the subscription (unknown, pending or delivered).
   *
   * @example
   * ```ts
   * const d = await stores.integrations.redeliver(tenant, 'whk_abc', 'msg_abc', Date.now());
   * ```
   */
  redeliver(tenant: TenantId, webhook: string, event: string, at: number): Promise<WebhookDelivery>;
  /**
   * Writes the outbox rows and delivery records of an audit record for every subscription whose
   * events match its action (called in the audit record's transaction).
   *
   * @example
   * ```ts
   * const record = await stores.audit.append(tenant, { actor: admin.id, action: 'user.block', target: 'alice', outcome: 'success' });
   * await stores.integrations.enqueueEvents(record); // (the audit store already does this)
   * ```
   */
  enqueueEvents(record: AuditRecord): Promise<number>;
  /**
   * Claims up to `limit` due outbox rows: each is moved to `now + leaseMs`, so another instance
   * does not take it, and a crash before it is settled lets it come due again. A due deletion of
   * a rotated-out secret is carried out here (and not answered).
   *
   * @example
   * ```ts
   * const items = await stores.integrations.claimDue(Date.now(), 10, 60_000);
   * ```
   */
  claimDue(now: number, limit: number, leaseMs: number): Promise<OutboxItem[]>;
  /**
   * Settles a claimed row: delivered, failed for good (kept with its body among the
   * subscription's failed events), or due again at `retryAt`. A delivery is a recovery of the
   * receiver: up to {@link MAX_REQUEUED_PER_RECOVERY} of the subscription's failed events,
   * oldest first, are re-queued in the same transaction (due at `at`, the same event ids, a
   * fresh attempt count), each once; answers how many.
   *
   * @example
   * ```ts
   * const [item] = await stores.integrations.claimDue(Date.now(), 1, 60_000);
   * if (item !== undefined) await stores.integrations.settle(item, { status: 'delivered', at: Date.now(), result: '204' });
   * ```
   */
  settle(
    item: OutboxItem,
    outcome: {
      readonly status: 'delivered' | 'failed' | 'pending';
      readonly at: number;
      readonly result: string;
      readonly retryAt?: number;
    },
  ): Promise<number>;
  /**
   * Drops a claimed row whose subscription is gone.
   *
   * @example
   * ```ts
   * const [item] = await stores.integrations.claimDue(Date.now(), 1, 60_000);
   * if (item !== undefined) await stores.integrations.drop(item);
   * ```
   */
  drop(item: OutboxItem): Promise<void>;
  /**
   * A subscription's delivery records, newest first.
   *
   * @example
   * ```ts
   * const { items, next } = await stores.integrations.listDeliveries(tenant, 'whk_abc', { limit: 50 });
   * ```
   */
  listDeliveries(
    tenant: TenantId,
    webhook: string,
    options?: { readonly after?: string; readonly limit?: number },
  ): Promise<{ items: WebhookDelivery[]; next?: string }>;
}

const OUTBOX_PARTITION = key('outbox');

function encodeKey(k: IntegrationKey): Uint8Array {
  return write({
    id: k.id,
    integration: k.integration,
    name: k.name,
    scopes: [...k.scopes],
    pools: k.pools === null ? null : [...k.pools],
    keyHash: k.keyHash,
    createdAt: k.createdAt,
    createdBy: k.createdBy,
    expiresAt: k.expiresAt,
    lastUsedAt: k.lastUsedAt,
    revokedAt: k.revokedAt,
  });
}

function decodeKey(tenant: TenantId, bytes: Uint8Array): IntegrationKey {
  const r = read(bytes, T.integrationKeys);
  return {
    tenant,
    id: r.str('id', 64),
    integration: r.str('integration', 128),
    name: r.str('name', 128),
    scopes: r.strs('scopes'),
    pools: r.has('pools') ? r.strs('pools') : null,
    keyHash: r.bytes('keyHash', 32, 32),
    createdAt: r.int('createdAt'),
    createdBy: r.str('createdBy', 256),
    expiresAt: r.int('expiresAt'),
    lastUsedAt: r.has('lastUsedAt') ? r.int('lastUsedAt') : null,
    revokedAt: r.has('revokedAt') ? r.int('revokedAt') : null,
  };
}

function decodeWebhook(tenant: TenantId, bytes: Uint8Array): Webhook {
  const r = read(bytes, T.webhooks);
  return {
    tenant,
    id: r.str('id', 64),
    url: r.str('url', 2048),
    events: r.strs('events'),
    secret: r.str('secret', 128),
    ...(r.has('previousSecret')
      ? { previousSecret: r.str('previousSecret', 128), previousSecretUntil: r.int('previousSecretUntil') }
      : {}),
    createdAt: r.int('createdAt'),
    createdBy: r.str('createdBy', 256),
  };
}

function encodeWebhook(w: Webhook): Uint8Array {
  return write({
    id: w.id,
    url: w.url,
    events: [...w.events],
    secret: w.secret,
    ...(w.previousSecret === undefined
      ? {}
      : { previousSecret: w.previousSecret, previousSecretUntil: w.previousSecretUntil ?? 0 }),
    createdAt: w.createdAt,
    createdBy: w.createdBy,
  });
}

/** The subscription without its previous secret. */
function withoutPrevious(w: Webhook): Webhook {
  const { previousSecret: _secret, previousSecretUntil: _until, ...rest } = w;
  return rest;
}

/**
 * The secrets that sign a subscription's deliveries at `now`: its secret, and during a
 * rotation's overlap the previous one (each gives one `v1,` signature).
 *
 * @example
 * ```ts
 * const hook = await stores.integrations.getWebhook(tenant, 'whk_abc');
 * const secrets = hook === undefined ? [] : signingSecrets(hook, Date.now());
 * ```
 */
export function signingSecrets(w: Webhook, now: number): string[] {
  return w.previousSecret !== undefined && (w.previousSecretUntil ?? 0) > now
    ? [w.secret, w.previousSecret]
    : [w.secret];
}

/**
 * Whether an event pattern (`user.block`, `user.*`, `*`) matches an audit action.
 *
 * @example
 * ```ts
 * eventMatches('user.*', 'user.block'); // true
 * ```
 */
export function eventMatches(pattern: string, action: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return action.startsWith(pattern.slice(0, -1));
  return pattern === action;
}

const randomBytes = (n: number): Uint8Array => new Uint8Array(nodeRandomBytes(n));
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

async function readDelivery(tx: StorageTx, partition: Uint8Array, sort: Uint8Array) {
  return getRec(tx, T.webhookDeliveries, partition, sort);
}

/** The partition of a subscription's failed events (beside its delivery records). */
const failedPartition = (tenant: TenantId, webhook: string) => key(tenant, webhook, 'failed');

const SECRET = /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/;

function decodeDelivery(value: Uint8Array, sort: Uint8Array): WebhookDelivery {
  const r = read(value, T.webhookDeliveries);
  const status = r.str('status', 16);
  if (status !== 'pending' && status !== 'delivered' && status !== 'failed') {
    throw new ValidationError(`${T.webhookDeliveries}.status`, 'a known status');
  }
  return {
    event: r.str('event', 64),
    type: r.str('type', 64),
    createdAt: r.int('createdAt'),
    status,
    attempts: r.int('attempts'),
    lastAttemptAt: r.has('lastAttemptAt') ? r.int('lastAttemptAt') : null,
    lastResult: r.has('lastResult') ? r.str('lastResult', 64) : null,
    nextAttemptAt: r.has('nextAttemptAt') ? r.int('nextAttemptAt') : null,
    cursor: b64(sort),
  };
}

/**
 * Puts a failed event back in the outbox, due at `at`, with a fresh attempt count, and marks its
 * delivery record pending; the caller has removed it from the failed events. Answers the record,
 * or undefined when it is gone (expired, or its subscription deleted): then nothing is queued.
 */
async function requeueTx(
  tx: StorageTx,
  tenant: TenantId,
  webhook: string,
  failed: Uint8Array,
  at: number,
): Promise<WebhookDelivery | undefined> {
  const f = read(failed, T.webhookDeliveries);
  const delivery = f.bytes('delivery', 9, 128);
  const partition = key(tenant, webhook);
  const d = await readDelivery(tx, partition, delivery);
  if (d === undefined) return undefined;
  const event = f.str('event', 64);
  await tx.put(T.webhookOutbox, {
    partition: OUTBOX_PARTITION,
    sort: concatBytes(u64(at), randomBytes(16)),
    value: write({ tenant, webhook, event, body: f.str('body', 65_536), attempts: 0, delivery }),
  });
  const value = write({
    ...(d.data as Record<string, never>),
    status: 'pending',
    attempts: 0,
    nextAttemptAt: at,
  });
  await tx.put(T.webhookDeliveries, {
    partition,
    sort: delivery,
    value,
    expiresAt: d.int('createdAt') + DELIVERY_RETENTION_MS,
  });
  return decodeDelivery(value, delivery);
}

/**
 * Creates the integration store over an executor.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const integrations = createIntegrationStore(adapterExecutor(adapter));
 * ```
 */
export function createIntegrationStore(run: Executor): IntegrationStore {
  const listKeysTx = async (tx: StorageTx, tenant: TenantId): Promise<IntegrationKey[]> => {
    const out: IntegrationKey[] = [];
    let after: Uint8Array | undefined;
    for (;;) {
      const rows = await tx.list(T.integrationKeys, key(tenant), {
        limit: 1000,
        ...(after === undefined ? {} : { after }),
      });
      for (const row of rows) out.push(decodeKey(tenant, row.value));
      if (rows.length < 1000) return out;
      after = rows[rows.length - 1]?.sort;
    }
  };
  const listWebhooksTx = async (tx: StorageTx, tenant: TenantId): Promise<Webhook[]> =>
    (await tx.list(T.webhooks, key(tenant), { limit: 1000 })).map((row) => decodeWebhook(tenant, row.value));

  return {
    async createKey(k) {
      await run(async (tx) => {
        const all = await listKeysTx(tx, k.tenant);
        if (all.length >= MAX_KEYS_PER_TENANT) throw new ConflictError('integration.keys', 'too many keys');
        const live = all.filter((x) => x.integration === k.integration && x.revokedAt === null);
        if (live.length >= MAX_KEYS_PER_INTEGRATION) {
          throw new ConflictError('integration.keys', 'too many keys for this integration');
        }
        const claim = { partition: k.keyHash, sort: NO_SORT, value: write({ tenant: k.tenant, id: k.id }) };
        if (!(await tx.put(T.integrationKeyHashes, claim, { ifAbsent: true }))) {
          throw new ConflictError('integration.key', 'this key is taken');
        }
        await tx.put(T.integrationKeys, { partition: key(k.tenant), sort: key(k.id), value: encodeKey(k) });
      });
    },
    async getKey(tenant, id) {
      return run(async (tx) => {
        const row = await tx.get(T.integrationKeys, key(tenant), key(id));
        return row === undefined ? undefined : decodeKey(tenant, row.value);
      });
    },
    async keyByHash(hash) {
      if (!(hash instanceof Uint8Array) || hash.length !== 32) throw new ValidationError('hash', '32 bytes');
      return run(async (tx) => {
        const claim = await getRec(tx, T.integrationKeyHashes, hash, NO_SORT);
        if (claim === undefined) return undefined;
        const tenant = claim.id('tenant', tenantId);
        const row = await tx.get(T.integrationKeys, key(tenant), key(claim.str('id', 64)));
        return row === undefined ? undefined : decodeKey(tenant, row.value);
      });
    },
    async listKeys(tenant, integration) {
      const all = await run((tx) => listKeysTx(tx, tenant));
      return integration === undefined ? all : all.filter((k) => k.integration === integration);
    },
    async revokeKey(tenant, id, at) {
      return run(async (tx) => {
        const row = await tx.get(T.integrationKeys, key(tenant), key(id), { forUpdate: true });
        if (row === undefined) throw new NotFoundError('key');
        const k = decodeKey(tenant, row.value);
        if (k.revokedAt !== null) throw new NotFoundError('key');
        const revoked = { ...k, revokedAt: at };
        await tx.put(T.integrationKeys, { partition: key(tenant), sort: key(id), value: encodeKey(revoked) });
        return revoked;
      });
    },
    async touchKey(tenant, id, at) {
      await run(async (tx) => {
        const row = await tx.get(T.integrationKeys, key(tenant), key(id), { forUpdate: true });
        if (row === undefined) return;
        const k = decodeKey(tenant, row.value);
        await tx.put(T.integrationKeys, {
          partition: key(tenant),
          sort: key(id),
          value: encodeKey({ ...k, lastUsedAt: at }),
        });
      });
    },
    async createWebhook(w) {
      await run(async (tx) => {
        if ((await tx.count(T.webhooks, key(w.tenant))) >= MAX_WEBHOOKS_PER_TENANT) {
          throw new ConflictError('webhooks', 'too many webhooks');
        }
        const value = encodeWebhook(w);
        const ok = await tx.put(
          T.webhooks,
          { partition: key(w.tenant), sort: key(w.id), value },
          { ifAbsent: true },
        );
        if (!ok) throw new ConflictError('webhook', 'this id is taken');
      });
    },
    async getWebhook(tenant, id) {
      return run(async (tx) => {
        const row = await tx.get(T.webhooks, key(tenant), key(id));
        return row === undefined ? undefined : decodeWebhook(tenant, row.value);
      });
    },
    async listWebhooks(tenant) {
      return run((tx) => listWebhooksTx(tx, tenant));
    },
    async deleteWebhook(tenant, id) {
      return run(async (tx) => {
        const gone = await tx.delete(T.webhooks, key(tenant), key(id));
        if (gone) {
          await tx.deletePartition(T.webhookDeliveries, key(tenant, id));
          await tx.deletePartition(T.webhookDeliveries, failedPartition(tenant, id));
        }
        return gone;
      });
    },
    async rotateWebhookSecret(tenant, id, secret, at, overlapMs) {
      if (typeof secret !== 'string' || !SECRET.test(secret))
        throw new ValidationError('secret', 'whsec_<base64>');
      checkInteger(at, 'at', 0, Number.MAX_SAFE_INTEGER - MAX_SECRET_OVERLAP_MS);
      checkInteger(overlapMs, 'overlapMs', 0, MAX_SECRET_OVERLAP_MS);
      return run(async (tx) => {
        const row = await tx.get(T.webhooks, key(tenant), key(id), { forUpdate: true });
        if (row === undefined) throw new NotFoundError('webhook');
        const old = decodeWebhook(tenant, row.value);
        // At most two secrets: an earlier rotation's previous secret goes now.
        const rotated: Webhook =
          overlapMs === 0
            ? { ...withoutPrevious(old), secret }
            : { ...old, secret, previousSecret: old.secret, previousSecretUntil: at + overlapMs };
        await tx.put(T.webhooks, { partition: key(tenant), sort: key(id), value: encodeWebhook(rotated) });
        if (overlapMs > 0) {
          await tx.put(T.webhookOutbox, {
            partition: OUTBOX_PARTITION,
            sort: concatBytes(u64(at + overlapMs), randomBytes(16)),
            value: write({ kind: 'forget-secret', tenant, webhook: id }),
          });
        }
        return rotated;
      });
    },
    async redeliver(tenant, webhook, event, at) {
      checkInteger(at, 'at', 0, Number.MAX_SAFE_INTEGER);
      return run(async (tx) => {
        const partition = failedPartition(tenant, webhook);
        let after: Uint8Array | undefined;
        for (;;) {
          const rows = await tx.list(T.webhookDeliveries, partition, {
            limit: 1000,
            ...(after === undefined ? {} : { after }),
          });
          for (const row of rows) {
            if (read(row.value, T.webhookDeliveries).str('event', 64) !== event) continue;
            if (!(await tx.delete(T.webhookDeliveries, partition, row.sort)))
              throw new NotFoundError('delivery');
            const d = await requeueTx(tx, tenant, webhook, row.value, at);
            if (d === undefined) throw new NotFoundError('delivery');
            return d;
          }
          if (rows.length < 1000) throw new NotFoundError('delivery');
          after = rows[rows.length - 1]?.sort;
        }
      });
    },
    async enqueueEvents(record) {
      return run(async (tx) => {
        const hooks = (await listWebhooksTx(tx, record.tenant)).filter((w) =>
          w.events.some((p) => eventMatches(p, record.action)),
        );
        for (const w of hooks) {
          const event = `msg_${b64(randomBytes(16))}`;
          const body = JSON.stringify({
            id: event,
            type: record.action,
            timestamp: new Date(record.at).toISOString(),
            data: {
              tenant: record.tenant,
              seq: record.seq,
              actor: record.actor,
              target: record.target,
              outcome: record.outcome,
            },
          });
          const delivery = concatBytes(u64(record.at), new TextEncoder().encode(event));
          await tx.put(T.webhookDeliveries, {
            partition: key(record.tenant, w.id),
            sort: delivery,
            value: write({
              event,
              type: record.action,
              createdAt: record.at,
              status: 'pending',
              attempts: 0,
              lastAttemptAt: null,
              lastResult: null,
              nextAttemptAt: 0,
            }),
            expiresAt: record.at + DELIVERY_RETENTION_MS,
          });
          await tx.put(T.webhookOutbox, {
            partition: OUTBOX_PARTITION,
            sort: concatBytes(u64(0), randomBytes(16)),
            value: write({ tenant: record.tenant, webhook: w.id, event, body, attempts: 0, delivery }),
          });
        }
        return hooks.length;
      });
    },
    async claimDue(now, limit, leaseMs) {
      return run(async (tx) => {
        const [first] = await tx.list(T.webhookOutbox, OUTBOX_PARTITION, { limit: 1 });
        if (first === undefined || readUint(first.sort, 0, 8) > now) return [];
        const taken = await tx.take(T.webhookOutbox, OUTBOX_PARTITION, { limit });
        const out: OutboxItem[] = [];
        for (const row of taken) {
          if (readUint(row.sort, 0, 8) > now) {
            await tx.put(T.webhookOutbox, { partition: OUTBOX_PARTITION, sort: row.sort, value: row.value });
            continue;
          }
          const r = read(row.value, T.webhookOutbox);
          if (r.has('kind')) {
            // A rotation's overlap has ended: its previous secret is deleted (unless a later
            // rotation replaced it already; that one has its own row).
            if (r.str('kind', 32) !== 'forget-secret')
              throw new ValidationError(`${T.webhookOutbox}.kind`, 'a known kind');
            const tenant = r.id('tenant', tenantId);
            const id = r.str('webhook', 64);
            const hook = await tx.get(T.webhooks, key(tenant), key(id), { forUpdate: true });
            if (hook === undefined) continue;
            const w = decodeWebhook(tenant, hook.value);
            if (w.previousSecret !== undefined && (w.previousSecretUntil ?? 0) <= now) {
              const value = encodeWebhook(withoutPrevious(w));
              await tx.put(T.webhooks, { partition: key(tenant), sort: key(id), value });
            }
            continue;
          }
          const sort = concatBytes(u64(now + leaseMs), randomBytes(16));
          await tx.put(T.webhookOutbox, { partition: OUTBOX_PARTITION, sort, value: row.value });
          out.push({
            tenant: r.id('tenant', tenantId),
            webhook: r.str('webhook', 64),
            event: r.str('event', 64),
            body: r.str('body', 65_536),
            attempts: r.int('attempts'),
            delivery: r.bytes('delivery', 9, 128),
            sort,
          });
        }
        return out;
      });
    },
    async settle(item, outcome) {
      return run(async (tx) => {
        await tx.delete(T.webhookOutbox, OUTBOX_PARTITION, item.sort);
        const attempts = item.attempts + 1;
        if (outcome.status === 'pending') {
          const retryAt = outcome.retryAt ?? outcome.at;
          await tx.put(T.webhookOutbox, {
            partition: OUTBOX_PARTITION,
            sort: concatBytes(u64(retryAt), randomBytes(16)),
            value: write({
              tenant: item.tenant,
              webhook: item.webhook,
              event: item.event,
              body: item.body,
              attempts,
              delivery: item.delivery,
            }),
          });
        }
        const partition = key(item.tenant, item.webhook);
        const d = await readDelivery(tx, partition, item.delivery);
        if (d === undefined) return 0;
        if (outcome.status === 'failed') {
          await tx.put(T.webhookDeliveries, {
            partition: failedPartition(item.tenant, item.webhook),
            sort: item.delivery,
            value: write({ event: item.event, body: item.body, delivery: item.delivery }),
            expiresAt: d.int('createdAt') + DELIVERY_RETENTION_MS,
          });
        }
        await tx.put(T.webhookDeliveries, {
          partition,
          sort: item.delivery,
          value: write({
            ...(d.data as Record<string, never>),
            status: outcome.status,
            attempts,
            lastAttemptAt: outcome.at,
            lastResult: outcome.result,
            nextAttemptAt: outcome.status === 'pending' ? (outcome.retryAt ?? outcome.at) : null,
          }),
          expiresAt: d.int('createdAt') + DELIVERY_RETENTION_MS,
        });
        if (outcome.status !== 'delivered') return 0;
        // The receiver answers again: its failed events go back to the outbox, oldest first,
        // each once (taken from the failed events, so a concurrent recovery gets others).
        const failed = await tx.take(T.webhookDeliveries, failedPartition(item.tenant, item.webhook), {
          limit: MAX_REQUEUED_PER_RECOVERY,
        });
        let requeued = 0;
        for (const row of failed) {
          if ((await requeueTx(tx, item.tenant, item.webhook, row.value, outcome.at)) !== undefined)
            requeued++;
        }
        return requeued;
      });
    },
    async drop(item) {
      await run((tx) => tx.delete(T.webhookOutbox, OUTBOX_PARTITION, item.sort));
    },
    async listDeliveries(tenant, webhook, options = {}) {
      const limit = options.limit ?? 100;
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000)
        throw new ValidationError('limit', '1..1000');
      let after: Uint8Array | undefined;
      if (options.after !== undefined) {
        after = new Uint8Array(Buffer.from(options.after, 'base64url'));
        if (after.length < 9 || after.length > 128) throw new ValidationError('after', 'a cursor');
      }
      const rows = await run((tx) =>
        tx.list(T.webhookDeliveries, key(tenant, webhook), {
          limit,
          reverse: true,
          ...(after === undefined ? {} : { after }),
        }),
      );
      const items = rows.map((row) => decodeDelivery(row.value, row.sort));
      const last = items[items.length - 1];
      return { items, ...(items.length === limit && last !== undefined ? { next: last.cursor } : {}) };
    },
  };
}

/**
 * Wraps the audit log so that each appended record and the webhook events announcing it
 * (outbox rows and delivery records of the subscriptions whose events match its action) are
 * written in one transaction: the caller's, or one of their own. So no event is lost, and none is
 * sent for a change that rolled back.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const audit = withWebhookOutbox(adapterExecutor(adapter), (r) => createAuditLog(r, ctx.provider));
 * await audit.append(tenant, { actor: admin.id, action: 'user.block', target: 'alice', outcome: 'success' });
 * ```
 */
export function withWebhookOutbox(run: Executor, make: (run: Executor) => AuditLog): AuditLog {
  const log = make(run);
  return {
    ...log,
    append: (tenant, input) =>
      run(async (tx) => {
        const inTx: Executor = (fn) => fn(tx);
        const record = await make(inTx).append(tenant, input);
        await createIntegrationStore(inTx).enqueueEvents(record);
        return record;
      }),
  };
}
