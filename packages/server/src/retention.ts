/**
 * How long the server keeps what it holds for a device, from the tenant's retention policy
 * (R29). Policies are documents in the policy store; the feature `retention` of a layer carries
 * its rules as `config.rules`, keyed by retention class (`message.server`, `attachment.server`,
 * …, see `spec/retention.md`):
 *
 *   { "retention": { "enabled": true, "locked": true, "config": { "rules": { "message.server": { "maxLifetimeMs": 604800000 } } } } }
 *
 * A layer whose feature is `locked` locks each of its rules. The layers read are server → tenant →
 * user (pool and group layers are not consulted for a mailbox: a device's mailbox serves every
 * conversation of its user). The server's own limit is the upper clamp, so no policy can make the
 * server keep undelivered envelopes longer than the operator allows.
 *
 * @module
 */

import {
  parseRetentionPolicy,
  type RetentionClass,
  type RetentionLayer,
  type RetentionLayerName,
  resolveRetention,
  type TenantId,
  type UserId,
} from '@cloister/protocol';
import type { PolicyLayer, ServerStoreSet } from './store/index.js';

/**
 * The policy feature holding retention rules (`retention`); its `config.rules` maps retention
 * classes to `{ maxLifetimeMs }`.
 *
 * @example
 * ```ts
 * const stored = await ctx.stores.policies.get({ kind: 'tenant', tenant });
 * const rules = stored?.document[RETENTION_FEATURE]?.config; // { rules: { 'message.server': { maxLifetimeMs } } }
 * ```
 */
export const RETENTION_FEATURE = 'retention';

async function layerRules(
  stores: Pick<ServerStoreSet, 'policies'>,
  layer: PolicyLayer,
  name: RetentionLayerName,
): Promise<RetentionLayer | undefined> {
  const stored = await stores.policies.get(layer);
  const feature = stored?.document[RETENTION_FEATURE];
  if (feature === undefined || !feature.enabled) return undefined;
  const config = feature.config as
    | { rules?: Record<string, { maxLifetimeMs?: unknown; locked?: unknown }> }
    | undefined;
  const rules: Record<string, { maxLifetimeMs: unknown; locked: boolean }> = {};
  for (const [cls, rule] of Object.entries(config?.rules ?? {})) {
    rules[cls] = {
      maxLifetimeMs: rule?.maxLifetimeMs ?? null,
      locked: feature.locked || rule?.locked === true,
    };
  }
  return { layer: name, rules } as RetentionLayer;
}

/**
 * The lifetime in ms the server gives data of `cls` held for `user` of `tenant`: the resolved
 * policy, clamped to at most `serverMaxMs`. Malformed stored rules are ignored layer by layer
 * (logged by the caller), never widened.
 *
 * @example
 * ```ts
 * import { messageId } from '@cloister/protocol';
 * const ms = await serverLifetime(ctx.stores, tenant, user, 'message.server', ctx.limits.mailboxRetentionMs);
 * await ctx.stores.mailboxes.enqueue(mailbox, { messageId: messageId('m_0001'), envelope, expiresAt: ctx.now() + ms });
 * ```
 */
export async function serverLifetime(
  stores: Pick<ServerStoreSet, 'policies'>,
  tenant: TenantId,
  user: UserId,
  cls: RetentionClass,
  serverMaxMs: number,
): Promise<number> {
  const layers: RetentionLayer[] = [];
  for (const [layer, name] of [
    [{ kind: 'server' }, 'server'],
    [{ kind: 'tenant', tenant }, 'tenant'],
    [{ kind: 'user', tenant, user }, 'user'],
  ] as const) {
    const rules = await layerRules(stores, layer, name);
    if (rules === undefined) continue;
    try {
      parseRetentionPolicy({ layers: [rules] });
      layers.push(rules);
    } catch {
      // A malformed layer cannot lengthen anything: leave it out.
    }
  }
  const policy = parseRetentionPolicy({ clamps: { [cls]: { minMs: 0, maxMs: serverMaxMs } }, layers });
  const resolved = resolveRetention(policy, cls);
  return Math.min(resolved.lifetimeMs ?? serverMaxMs, serverMaxMs);
}

/**
 * A short-lived cache of {@link serverLifetime} results, so hot delivery paths do not re-read policies.
 *
 * @example
 * ```ts
 * const lifetimes: LifetimeCache = createLifetimeCache({ now: ctx.now, ttlMs: 5_000 });
 * const ms = await lifetimes.get(ctx.stores, tenant, user, 'attachment.server', ctx.limits.mailboxRetentionMs);
 * ```
 */
export interface LifetimeCache {
  /**
   * The lifetime in ms for (tenant, user, class), read through `stores` when not cached or older
   * than the TTL.
   *
   * @example
   * ```ts
   * const lifetimes = createLifetimeCache({ now: ctx.now });
   * const ms = await lifetimes.get(ctx.stores, tenant, user, 'message.server', ctx.limits.mailboxRetentionMs);
   * ```
   */
  get(
    stores: Pick<ServerStoreSet, 'policies'>,
    tenant: TenantId,
    user: UserId,
    cls: RetentionClass,
    serverMaxMs: number,
  ): Promise<number>;
}

/**
 * A lifetime cache whose entries live `ttlMs` (default 5 s: a policy change reaches new deliveries
 * within that time) and which holds at most `maxEntries` (default 10,000; the oldest go first).
 *
 * @example
 * ```ts
 * const lifetimes = createLifetimeCache({ now: ctx.now });
 * const ms = await lifetimes.get(ctx.stores, tenant, user, 'message.server', ctx.limits.mailboxRetentionMs);
 * // the same call within 5 s answers from the cache
 * ```
 */
export function createLifetimeCache(options: {
  now: () => number;
  ttlMs?: number;
  maxEntries?: number;
}): LifetimeCache {
  const ttl = options.ttlMs ?? 5_000;
  const max = options.maxEntries ?? 10_000;
  const entries = new Map<string, { ms: number; at: number }>();
  return {
    async get(stores, tenant, user, cls, serverMaxMs) {
      const key = JSON.stringify([tenant, user, cls, serverMaxMs]);
      const now = options.now();
      const hit = entries.get(key);
      if (hit !== undefined && now - hit.at < ttl) return hit.ms;
      const ms = await serverLifetime(stores, tenant, user, cls, serverMaxMs);
      entries.delete(key);
      entries.set(key, { ms, at: now });
      if (entries.size > max) entries.delete(entries.keys().next().value as string);
      return ms;
    },
  };
}

/**
 * How long the server keeps a filed compliance-archive seal when the tenant's archive policy
 * names no `config.retentionMs`: ten years. The archive has its own retention (`spec/retention.md`
 * §6): the layered rules above do not govern it. A tenant-layer `archive` feature sets its own
 * with `config.retentionMs` (a positive integer of milliseconds).
 *
 * @example
 * ```ts
 * await stores.archive.append(tenant, { sealed, expiresAt: now + DEFAULT_ARCHIVE_RETENTION_MS });
 * ```
 */
export const DEFAULT_ARCHIVE_RETENTION_MS = 10 * 365 * 86_400_000;
