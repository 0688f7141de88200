/**
 * Authentication of SCIM requests (`spec/directory.md` §2): `Authorization: Bearer
 * scim_<base64url of 32 bytes>`. The token's labelled hash is looked up (`bearerHash('scim', …)`)
 * and compared in constant time; a revoked or expired token is refused (401) and the refusal
 * audited `scim.token.refused` with its reason; each token has its own rate limit (default 100
 * requests per 2 seconds: 50 per second with bursts of 100); an accepted use updates `lastUsedAt`
 * at most once a minute. The token determines the tenant and the directory source.
 *
 * @module
 */
import { timingSafeEqual } from 'node:crypto';
import { RateLimitedError, UnauthenticatedError } from '@cloister/crypto';
import type { FastifyRequest } from 'fastify';
import { bearerHash } from '../admin/secrets.js';
import type { ServerContext } from '../context.js';
import { createRateLimiter, type RateLimiter } from '../rate-limits.js';
import type { ScimToken } from '../store/index.js';

const BEARER = /^Bearer (scim_[A-Za-z0-9_-]{43})$/;

/**
 * The rate limit of each SCIM token: requests per window.
 *
 * @example
 * ```ts
 * configureScimTokens(ctx, { requestsPerWindow: 100, windowMs: 2000 });
 * ```
 */
export interface ScimTokenLimit {
  /** Requests one token may make per window. */
  readonly requestsPerWindow: number;
  /** The window, ms. */
  readonly windowMs: number;
}

/**
 * The default {@link ScimTokenLimit}: 100 requests per 2 seconds (50/s, bursts of 100).
 *
 * @example
 * ```ts
 * console.log(DEFAULT_SCIM_TOKEN_LIMIT.requestsPerWindow); // 100
 * ```
 */
export const DEFAULT_SCIM_TOKEN_LIMIT: ScimTokenLimit = Object.freeze({
  requestsPerWindow: 100,
  windowMs: 2000,
});

const limiters = new WeakMap<object, RateLimiter>();

/**
 * Sets the per-token rate limit of one server context.
 *
 * @example
 * ```ts
 * configureScimTokens(ctx, { requestsPerWindow: 10, windowMs: 1000 });
 * ```
 */
export function configureScimTokens(ctx: ServerContext, limit: ScimTokenLimit): void {
  limiters.set(
    ctx,
    createRateLimiter({
      max: limit.requestsPerWindow,
      windowMs: limit.windowMs,
      now: ctx.now,
      maxKeys: 10_000,
    }),
  );
}

function limiterOf(ctx: ServerContext): RateLimiter {
  let l = limiters.get(ctx);
  if (l === undefined) {
    configureScimTokens(ctx, DEFAULT_SCIM_TOKEN_LIMIT);
    l = limiters.get(ctx) as RateLimiter;
  }
  return l;
}

/** A token's last use is written at most once per this interval. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Authenticates a SCIM request: the token it carries, or `UnauthenticatedError` (no token, an
 * unknown, revoked or expired one) / `RateLimitedError`.
 *
 * @example
 * ```ts
 * const token = await authenticateScim(ctx, request);
 * const page = await ctx.stores.users.list(token.tenant);
 * ```
 */
export async function authenticateScim(ctx: ServerContext, request: FastifyRequest): Promise<ScimToken> {
  const header = request.headers.authorization;
  const m = typeof header === 'string' ? BEARER.exec(header) : null;
  if (m === null || m[1] === undefined) throw new UnauthenticatedError();
  const hash = bearerHash('scim', m[1]);
  const t = await ctx.stores.scimTokens.byHash(hash);
  if (t === undefined || !timingSafeEqual(t.tokenHash, hash)) throw new UnauthenticatedError();
  const now = ctx.now();
  const refusal =
    t.revokedAt !== null ? 'revoked' : t.expiresAt !== null && now >= t.expiresAt ? 'expired' : null;
  if (refusal !== null) {
    await ctx.stores.audit.append(t.tenant, {
      actor: `scim:${t.id}`,
      action: 'scim.token.refused',
      target: t.id,
      outcome: 'denied',
      details: { reason: refusal },
    });
    throw new UnauthenticatedError();
  }
  const outcome = limiterOf(ctx).hit(`${t.tenant}\u0000${t.id}`);
  if (!outcome.allowed) throw new RateLimitedError(outcome.retryAfterSeconds);
  if (t.lastUsedAt === null || now - t.lastUsedAt >= TOUCH_INTERVAL_MS) {
    const minute = now - (now % TOUCH_INTERVAL_MS);
    await ctx.stores.scimTokens.touch(t.tenant, t.id, minute);
    return { ...t, lastUsedAt: minute };
  }
  return t;
}
