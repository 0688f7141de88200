/**
 * Integrations' API keys (`spec/integrations.md` §2): scopes named after the admin API's route
 * families, each mapped to permissions of the `integration` role; an optional binding to pools;
 * an expiry; revocation with effect from the next request; a rate limit per key; and the
 * audit of every refused use of a known key. {@link authenticateIntegrationKey} is called by
 * `authenticateAdmin` for `Authorization: Cloister-Admin-Key <key>`, and the pool binding is
 * enforced around each operation by {@link checkKeyPools} and {@link filterKeyPools}.
 *
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { ForbiddenError, RateLimitedError, UnauthenticatedError, ValidationError } from '@cloister/crypto';
import { userId } from '@cloister/protocol';
import type { ServerContext } from '../context.js';
import { createRateLimiter, type RateLimiter } from '../rate-limits.js';
import { NotFoundError } from '../store/index.js';
import type { IntegrationKey } from '../store/integrations.js';
import { type AdminPermission, roleAllows } from './permissions.js';
import type { AdminAuth, AuthenticateAdminOptions } from './sessions.js';

/**
 * The route families a key's scopes name, and the permissions each grants (intersected with
 * what the integration's role and its scopes allow). `<family>:read` grants the family's read
 * permissions only.
 *
 * @example
 * ```ts
 * INTEGRATION_SCOPES.users; // ['users.read', 'users.invite', 'users.block']
 * ```
 */
export const INTEGRATION_SCOPES: Readonly<Record<string, readonly AdminPermission[]>> = Object.freeze({
  tenant: ['tenant.read'],
  administrators: ['admins.read'],
  users: ['users.read', 'users.invite', 'users.block'],
  devices: ['devices.read', 'devices.block', 'devices.admit'],
  activity: ['activity.read'],
  audit: ['audit.read'],
  organisation: ['policy.read'],
  statistics: ['stats.read'],
});

const READS: readonly AdminPermission[] = [
  'tenant.read',
  'admins.read',
  'users.read',
  'devices.read',
  'activity.read',
  'audit.read',
  'policy.read',
  'stats.read',
];

/**
 * Every scope name a key may hold: each family and `<family>:read`.
 *
 * @example
 * ```ts
 * INTEGRATION_SCOPE_NAMES.includes('users:read'); // true
 * ```
 */
export const INTEGRATION_SCOPE_NAMES: readonly string[] = Object.freeze(
  Object.keys(INTEGRATION_SCOPES).flatMap((f) => [f, `${f}:read`]),
);

/**
 * The permissions a list of scopes grants; `ValidationError('scopes')` for an unknown name.
 *
 * @example
 * ```ts
 * scopePermissions(['users:read', 'audit']); // ['users.read', 'audit.read']
 * ```
 */
export function scopePermissions(scopes: readonly string[]): AdminPermission[] {
  const out = new Set<AdminPermission>();
  for (const s of scopes) {
    const [family, mode, extra] = s.split(':');
    const perms = family === undefined ? undefined : INTEGRATION_SCOPES[family];
    if (perms === undefined || extra !== undefined || (mode !== undefined && mode !== 'read')) {
      throw new ValidationError('scopes', `scope names from: ${INTEGRATION_SCOPE_NAMES.join(', ')}`);
    }
    for (const p of perms) if (mode === undefined || READS.includes(p)) out.add(p);
  }
  return [...out];
}

/**
 * Rate limit of each API key: requests per window (default 300 per minute).
 *
 * @example
 * ```ts
 * configureIntegrationKeys(ctx, { requestsPerWindow: 60, windowMs: 60_000 });
 * ```
 */
export interface IntegrationKeyConfig {
  /** Requests one key may make per window. */
  readonly requestsPerWindow: number;
  /** The window, ms. */
  readonly windowMs: number;
}

/**
 * The default {@link IntegrationKeyConfig}: 300 requests per minute per key.
 *
 * @example
 * ```ts
 * console.log(DEFAULT_INTEGRATION_KEY_CONFIG.requestsPerWindow); // 300
 * ```
 */
export const DEFAULT_INTEGRATION_KEY_CONFIG: IntegrationKeyConfig = Object.freeze({
  requestsPerWindow: 300,
  windowMs: 60_000,
});

const limiters = new WeakMap<object, RateLimiter>();

/**
 * Sets the per-key rate limit of one server context (`createServer` does it from its
 * `integrationKeyRequestsPerMinute` option).
 *
 * @example
 * ```ts
 * configureIntegrationKeys(ctx, { requestsPerWindow: 60, windowMs: 60_000 });
 * ```
 */
export function configureIntegrationKeys(ctx: ServerContext, config: IntegrationKeyConfig): void {
  limiters.set(
    ctx,
    createRateLimiter({
      max: config.requestsPerWindow,
      windowMs: config.windowMs,
      now: ctx.now,
      maxKeys: 100_000,
    }),
  );
}

function limiterOf(ctx: ServerContext): RateLimiter {
  let l = limiters.get(ctx);
  if (l === undefined) {
    configureIntegrationKeys(ctx, DEFAULT_INTEGRATION_KEY_CONFIG);
    l = limiters.get(ctx) as RateLimiter;
  }
  return l;
}

/** A key's last use is written at most once per this interval. */
const TOUCH_INTERVAL_MS = 60_000;

async function refuse(ctx: ServerContext, k: IntegrationKey, reason: string, error: Error): Promise<never> {
  await ctx.stores.audit.append(k.tenant, {
    actor: k.integration,
    action: 'integration.key.refused',
    target: k.id,
    outcome: 'denied',
    details: { reason },
  });
  throw error;
}

/**
 * Authenticates a request carrying an integration key whose stored hash is `hash`: `undefined`
 * when no key of this kind has that hash (the caller then tries the integration's original key);
 * otherwise the caller, or 401 (revoked, expired, integration disabled), 429 over the key's rate
 * limit, 403 (scope, a route for people only, a fresh factor). Every refusal of a known key is
 * audited as `integration.key.refused` with its reason.
 *
 * @example
 * ```ts
 * const caller = await authenticateIntegrationKey(ctx, bearerHash('key', token), { permission: 'users.read' });
 * ```
 */
export async function authenticateIntegrationKey(
  ctx: ServerContext,
  hash: Uint8Array,
  options: AuthenticateAdminOptions,
): Promise<AdminAuth | undefined> {
  const k = await ctx.stores.integrations.keyByHash(hash);
  if (k === undefined) return undefined;
  if (!timingSafeEqual(k.keyHash, hash)) throw new UnauthenticatedError();
  const outcome = limiterOf(ctx).hit(`${k.tenant}\u0000${k.id}`);
  if (!outcome.allowed) throw new RateLimitedError(outcome.retryAfterSeconds);
  const now = ctx.now();
  if (k.revokedAt !== null) return refuse(ctx, k, 'revoked', new UnauthenticatedError());
  if (now >= k.expiresAt) return refuse(ctx, k, 'expired', new UnauthenticatedError());
  const admin = await ctx.stores.administrators.get(k.tenant, k.integration);
  if (admin === undefined || admin.disabled || admin.role !== 'integration') {
    return refuse(ctx, k, 'integration-disabled', new UnauthenticatedError());
  }
  if (options.allowKey === false) {
    return refuse(ctx, k, 'person-only', new ForbiddenError('this action needs a person with a session'));
  }
  if (options.permission !== undefined) {
    const granted =
      scopePermissions(k.scopes).includes(options.permission) &&
      roleAllows(admin.role, options.permission, admin.scopes);
    if (!granted)
      return refuse(ctx, k, 'scope', new ForbiddenError('this key is not scoped for this action'));
  }
  if (options.freshFactor === true) {
    return refuse(
      ctx,
      k,
      'person-only',
      new ForbiddenError('this action needs a person with a fresh second factor'),
    );
  }
  if (k.lastUsedAt === null || now - k.lastUsedAt >= TOUCH_INTERVAL_MS) {
    await ctx.stores.integrations.touchKey(k.tenant, k.id, now);
  }
  return { tenant: k.tenant, admin, via: 'key', key: { id: k.id, pools: k.pools } };
}

/** Operations a pool-bound key may call although they name no user: tenant-level facts only. */
const POOL_NEUTRAL: readonly string[] = ['getTenant', 'listDomains', 'getOrganisation'];

/**
 * Before an operation runs for a key bound to pools: a user named in the path who is in none of
 * those pools is answered 404 `user` (as another tenant's would be); an invite must name pools,
 * all of them the key's (403 otherwise); `listUsers` is filtered afterwards
 * ({@link filterKeyPools}); any other operation is refused (403). Without a pool binding it does
 * nothing.
 *
 * @example
 * ```ts
 * await checkKeyPools(ctx, getUserOperation, auth, { user: 'alice' }, undefined); // 404 outside the key's pools
 * ```
 */
export async function checkKeyPools(
  ctx: ServerContext,
  op: { readonly id: string; readonly path: string },
  me: AdminAuth | undefined,
  params: unknown,
  body: unknown,
): Promise<void> {
  const pools = me?.key?.pools;
  if (me === undefined || pools === null || pools === undefined) return;
  const named = (params as { user?: unknown } | undefined)?.user;
  const refuse = async (reason: string, error: Error): Promise<never> => {
    await ctx.stores.audit.append(me.tenant, {
      actor: me.admin.id,
      action: 'integration.key.refused',
      target: me.key?.id ?? '',
      outcome: 'denied',
      details: { reason, operation: op.id },
    });
    throw error;
  };
  if (op.id === 'inviteUser') {
    const wanted = (body as { pools?: readonly string[]; user?: string } | undefined) ?? {};
    if (
      wanted.pools === undefined ||
      wanted.pools.length === 0 ||
      wanted.pools.some((p) => !pools.includes(p))
    ) {
      return refuse('pool', new ForbiddenError('this key may only invite into its own pools'));
    }
    if (typeof wanted.user === 'string') {
      const existing = await ctx.stores.users.get(me.tenant, userId(wanted.user)).catch(() => undefined);
      if (existing !== undefined && !existing.pools.some((p) => pools.includes(p))) {
        return refuse('pool', new NotFoundError('user'));
      }
    }
    return;
  }
  if (typeof named === 'string' && op.path.includes(':user')) {
    let inPools = false;
    try {
      const user = await ctx.stores.users.get(me.tenant, userId(named));
      inPools = user?.pools.some((p) => pools.includes(p)) === true;
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
    }
    if (!inPools) return refuse('pool', new NotFoundError('user'));
    return;
  }
  if (op.id === 'listUsers' || POOL_NEUTRAL.includes(op.id)) return;
  return refuse('pool', new ForbiddenError('this key is bound to pools and may not call this operation'));
}

/**
 * After an operation ran for a key bound to pools: a listing of users keeps only the users of
 * those pools (a page may then hold fewer items than asked, with `next` unchanged).
 *
 * @example
 * ```ts
 * const shown = filterKeyPools(listUsersOperation, auth, { items: [{ id: 'alice', pools: ['ward-3'] }] });
 * ```
 */
export function filterKeyPools(
  op: { readonly id: string },
  me: AdminAuth | undefined,
  result: unknown,
): unknown {
  const pools = me?.key?.pools;
  if (pools === null || pools === undefined || op.id !== 'listUsers') return result;
  const page = result as { items?: { pools?: readonly string[] }[] };
  if (!Array.isArray(page?.items)) return result;
  return { ...page, items: page.items.filter((u) => (u.pools ?? []).some((p) => pools.includes(p))) };
}
