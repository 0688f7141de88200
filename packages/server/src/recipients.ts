/**
 * What the relay knows about a recipient mailbox without reading the database for every message:
 * the device and user it belongs to, whether either is blocked, how long an undelivered envelope
 * may live (the recipient's retention), what its mailbox holds (for the quotas), and the delivery
 * epochs its tokens are checked against.
 *
 * Entries are read on a miss and kept at most {@link RECIPIENT_CACHE_TTL_MS}. Every committed
 * write to the tables they are made of (devices, users, pools, policies, delivery epochs, tenants)
 * empties the cache of the instance that wrote it before the write's caller gets its answer, and
 * tells the other instances through the bus (`WakeupBus.invalidate`); a bus that lost messages
 * empties them too when it reconnects. A read that was running while the cache was emptied is
 * used for the request it serves but not kept. So a block is seen by the next delivery on the
 * instance that blocked, by the others as soon as the bus message arrives, and by every instance
 * within the TTL even if the bus lost it (`spec/server-delivery.md`, "Recipient checks").
 *
 * @module
 */
import type { MailboxId, TenantId, UserId } from '@cloister/protocol';
import type { StorageAdapter } from '@cloister/storage';
import type { ServerContext } from './context.js';
import { createLifetimeCache } from './retention.js';
import { type DeliveryEpochs, SERVER_TABLES, type ServerStoreSet, type ServerStores } from './store/index.js';
import { watchWrites } from './store/write-watch.js';

/**
 * How long a cached recipient or epoch read is trusted when no invalidation arrives: the
 * backstop for a bus message that was lost without the bus noticing.
 *
 * @example
 * ```ts
 * console.log(RECIPIENT_CACHE_TTL_MS); // 10000
 * ```
 */
export const RECIPIENT_CACHE_TTL_MS = 10_000;

/**
 * The same on an embedded database (PGlite, memory): one process owns it, so every change goes
 * through this instance and empties the cache at its commit; no bus message can be lost, and the
 * TTL only refreshes what a mailbox holds (envelopes that expired meanwhile).
 *
 * @example
 * ```ts
 * console.log(EMBEDDED_RECIPIENT_CACHE_TTL_MS); // 60000
 * ```
 */
export const EMBEDDED_RECIPIENT_CACHE_TTL_MS = 60_000;

/**
 * The server tables a cached recipient is made of: a committed write to any of them empties the
 * recipient caches.
 *
 * @example
 * ```ts
 * const watched = watchWrites(adapter, RECIPIENT_TABLES, () => recipientsOf(ctx).invalidate());
 * // writes through `watched` to the devices, users, pools, policies, epochs or tenants empty the cache
 * ```
 */
export const RECIPIENT_TABLES: readonly string[] = Object.freeze([
  SERVER_TABLES.tenants,
  SERVER_TABLES.users,
  SERVER_TABLES.poolMembers,
  SERVER_TABLES.pools,
  SERVER_TABLES.devices,
  SERVER_TABLES.deviceByMailbox,
  SERVER_TABLES.policies,
  SERVER_TABLES.deliveryEpochs,
]);

/**
 * A recipient mailbox as the relay checks it.
 *
 * @example
 * ```ts
 * import { ForbiddenError } from '@cloister/crypto';
 * const r: Recipient | undefined = await recipientsOf(ctx).get(mailbox);
 * if (r === undefined || r.blocked) throw new ForbiddenError('the recipient cannot receive');
 * const expiresAt = ctx.now() + r.lifetimeMs;
 * ```
 */
export interface Recipient {
  /** The tenant of the device that owns the mailbox. */
  readonly tenant: TenantId;
  /** The user whose device owns the mailbox. */
  readonly user: UserId;
  /** The device or its user is blocked. */
  readonly blocked: boolean;
  /** How long an undelivered envelope may live, ms (the recipient's retention, server-capped). */
  readonly lifetimeMs: number;
  /**
   * What the mailbox holds, as read with the entry and then moved by what this instance queued and
   * acknowledged since (other instances' writes show at the next read): what the mailbox quotas
   * are checked against.
   */
  readonly pending: PendingUsage;
}

/**
 * The pending envelopes of a cached recipient's mailbox and their stored bytes (an estimate
 * between reads; see {@link Recipient.pending}).
 *
 * @example
 * ```ts
 * const r = await recipientsOf(ctx).get(mailbox);
 * const full = r !== undefined && r.pending.envelopes >= ctx.limits.mailboxMaxEnvelopes; // 507 ERR_QUOTA
 * ```
 */
export interface PendingUsage {
  envelopes: number;
  bytes: number;
}

/**
 * The recipient cache of one server instance ({@link recipientsOf}; {@link createRecipientCache}
 * for a private one).
 *
 * @example
 * ```ts
 * const recipients: RecipientCache = recipientsOf(ctx);
 * const r = await recipients.get(mailbox); // undefined when no device has the mailbox
 * recipients.noteUsage(mailbox, 1, envelope.length); // this instance queued one envelope
 * ```
 */
export interface RecipientCache {
  /**
   * The recipient of `mailbox`, or undefined when no device has it (never cached).
   *
   * @example
   * ```ts
   * const recipient = await recipientsOf(ctx).get(mailbox);
   * const admitted = recipient !== undefined && !recipient.blocked;
   * ```
   */
  get(mailbox: MailboxId): Promise<Recipient | undefined>;
  /**
   * The delivery epochs of (tenant, user, sender class).
   *
   * @example
   * ```ts
   * const epochs = await recipientsOf(ctx).epochs(tenant, user, senderClassOf(tenant, []));
   * ```
   */
  epochs(tenant: TenantId, user: UserId, senderClass: Uint8Array): Promise<DeliveryEpochs>;
  /**
   * Forgets everything (a recipient table changed); reads in flight are not kept.
   *
   * @example
   * ```ts
   * recipientsOf(ctx).invalidate();
   * ```
   */
  invalidate(): void;
  /**
   * Moves the cached usage of `mailbox` (if cached) by what this instance queued or acknowledged.
   *
   * @example
   * ```ts
   * recipientsOf(ctx).noteUsage(mailbox, -2, -4096); // two envelopes of 4 KiB in all were acknowledged
   * ```
   */
  noteUsage(mailbox: MailboxId, envelopes: number, bytes: number): void;
}

/** Most entries of each map; when full, it is emptied (a miss costs one read). */
const MAX_ENTRIES = 100_000;

interface Entry<T> {
  readonly value: T;
  readonly at: number;
}

/**
 * Creates a recipient cache reading through `ctx.stores`, whose entries are trusted for `ttlMs`
 * (default {@link RECIPIENT_CACHE_TTL_MS}, 10 s) unless invalidated first. The relay's own is
 * {@link recipientsOf}; this one is emptied only when its owner calls `invalidate`.
 *
 * @example
 * ```ts
 * const recipients = createRecipientCache(ctx, EMBEDDED_RECIPIENT_CACHE_TTL_MS);
 * const r = await recipients.get(mailbox);
 * ```
 */
export function createRecipientCache(
  ctx: Pick<ServerContext, 'stores' | 'now' | 'limits'>,
  ttlMs = RECIPIENT_CACHE_TTL_MS,
): RecipientCache {
  let generation = 0;
  let recipients = new Map<string, Entry<Recipient>>();
  /** Reads of recipients in flight, by mailbox (replaced by each invalidation). */
  let reading = new Map<string, Promise<Recipient | undefined>>();
  let epochs = new Map<string, Entry<DeliveryEpochs>>();
  // Lifetimes are kept as long as the recipients they belong to.
  let lifetimes = createLifetimeCache({ now: ctx.now, ttlMs });

  function fresh<T>(map: Map<string, Entry<T>>, key: string): T | undefined {
    const hit = map.get(key);
    if (hit === undefined) return undefined;
    if (ctx.now() - hit.at < ttlMs) return hit.value;
    map.delete(key);
    return undefined;
  }

  function keep<T>(map: Map<string, Entry<T>>, key: string, value: T, at: number, since: number): void {
    if (since !== generation) return;
    if (map.size >= MAX_ENTRIES) map.clear();
    map.set(key, { value, at });
  }

  async function read(s: ServerStoreSet, mailbox: MailboxId): Promise<Recipient | undefined> {
    const device = await s.devices.byMailbox(mailbox);
    if (device === undefined) return undefined;
    const user = await s.users.get(device.tenant, device.user);
    if (user === undefined) return undefined;
    const lifetimeMs = await lifetimes.get(
      s,
      device.tenant,
      device.user,
      'message.server',
      ctx.limits.mailboxRetentionMs,
    );
    const usage = await s.mailboxes.usage(mailbox);
    return {
      tenant: device.tenant,
      user: device.user,
      blocked: device.blocked || user.blocked,
      lifetimeMs,
      pending: { envelopes: usage.envelopes, bytes: usage.bytes },
    };
  }

  /** Reads the recipient of `mailbox` and keeps it (unless an invalidation came meanwhile). */
  function load(mailbox: MailboxId): Promise<Recipient | undefined> {
    const since = generation;
    const at = ctx.now();
    const inFlight = reading;
    const loading = ctx.stores
      .transaction((s) => read(s, mailbox))
      .then((value) => {
        if (value !== undefined) keep(recipients, mailbox, value, at, since);
        return value;
      })
      .finally(() => {
        if (inFlight.get(mailbox) === loading) inFlight.delete(mailbox);
      });
    inFlight.set(mailbox, loading);
    return loading;
  }

  return {
    async get(mailbox) {
      const entry = recipients.get(mailbox);
      if (entry !== undefined) {
        const age = ctx.now() - entry.at;
        if (age < ttlMs) {
          // Past half its life, an entry in use is read again in the background, so that a busy
          // mailbox never misses; what is served is still never older than the TTL.
          if (age >= ttlMs / 2 && !reading.has(mailbox)) load(mailbox).catch(() => undefined);
          return entry.value;
        }
        recipients.delete(mailbox);
      }
      // Requests that miss the same mailbox at once share one read (a new generation starts
      // another: what an invalidation made stale is not handed to those that came after it).
      return reading.get(mailbox) ?? load(mailbox);
    },

    async epochs(tenant, user, senderClass) {
      const key = `${tenant}\u0000${user}\u0000${Buffer.from(senderClass).toString('hex')}`;
      const hit = fresh(epochs, key);
      if (hit !== undefined) return hit;
      const since = generation;
      const at = ctx.now();
      const value = await ctx.stores.deliveryEpochs.get(tenant, user, senderClass);
      keep(epochs, key, value, at, since);
      return value;
    },

    noteUsage(mailbox, envelopes, bytes) {
      const hit = recipients.get(mailbox);
      if (hit === undefined) return;
      hit.value.pending.envelopes = Math.max(0, hit.value.pending.envelopes + envelopes);
      hit.value.pending.bytes = Math.max(0, hit.value.pending.bytes + bytes);
    },

    invalidate() {
      generation++;
      recipients = new Map();
      reading = new Map();
      epochs = new Map();
      lifetimes = createLifetimeCache({ now: ctx.now, ttlMs });
    },
  };
}

const CACHES = new WeakMap<ServerContext, RecipientCache>();

/**
 * The recipient cache of the instance `ctx` belongs to (created on first use; emptied by every
 * invalidation the bus delivers).
 *
 * @example
 * ```ts
 * const r = await recipientsOf(ctx).get(mailbox);
 * r?.blocked; // → true once the device or its user is blocked
 * ```
 */
export function recipientsOf(ctx: ServerContext): RecipientCache {
  let cache = CACHES.get(ctx);
  if (cache === undefined) {
    const shared = ctx.adapter.kind.includes('postgres');
    const created = createRecipientCache(
      ctx,
      shared ? RECIPIENT_CACHE_TTL_MS : EMBEDDED_RECIPIENT_CACHE_TTL_MS,
    );
    cache = created;
    CACHES.set(ctx, created);
    ctx.bus.onInvalidate?.(() => created.invalidate());
  }
  return cache;
}

const QUIET_STORES = new WeakMap<ServerContext, ServerStores>();

/**
 * Registers stores over the server's adapter **without** the invalidating wrapper, for writes that
 * cannot change anything the recipient cache holds (called once by `createServer`).
 *
 * @example
 * ```ts
 * setQuietStores(context, createServerStores(encrypted, { provider }));
 * ```
 */
export function setQuietStores(ctx: ServerContext, stores: ServerStores): void {
  QUIET_STORES.set(ctx, stores);
}

/**
 * The stores for a write that cannot change what a recipient cache holds — a device's last-seen
 * time and reported client version — so that it does not empty every instance's cache (a device
 * is seen every few minutes; a block is rare). Falls back to `ctx.stores`.
 *
 * @example
 * ```ts
 * await quietStores(ctx).devices.touch(tenant, user, device, now, version);
 * ```
 */
export function quietStores(ctx: ServerContext): ServerStores {
  return QUIET_STORES.get(ctx) ?? ctx.stores;
}

/**
 * Wraps the server's adapter so that every committed write to a {@link RECIPIENT_TABLES} table
 * empties this instance's recipient cache at once (before the writer's caller continues) and asks
 * the other instances, through the bus, to do the same. `context` is read lazily: the wrapper is
 * made before the context it serves.
 *
 * @example
 * ```ts
 * let context: ServerContext | undefined;
 * const watched = invalidatingAdapter(adapter, () => context);
 * const stores = createServerStores(watched, { provider });
 * // … build the server context over `watched` and `stores`, then:
 * context = server.context;
 * ```
 */
export function invalidatingAdapter(
  adapter: StorageAdapter,
  context: () => ServerContext | undefined,
): StorageAdapter {
  return watchWrites(adapter, RECIPIENT_TABLES, () => {
    const ctx = context();
    if (ctx === undefined) return;
    recipientsOf(ctx).invalidate();
    ctx.bus.invalidate?.().catch(() => ctx.log.warn('recipient invalidation bus notify failed'));
  });
}
