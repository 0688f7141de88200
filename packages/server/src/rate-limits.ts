/**
 * Rate limits per authenticated device and per token, on top of the shell's per-address limit.
 * A limiter counts hits per key in fixed windows; its memory is bounded (the oldest windows are
 * evicted first, expired ones before live ones). Limits are per server instance: see
 * `spec/server-blobs.md`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { RateLimitedError, UnauthenticatedError, ValidationError } from '@cloister/crypto';
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { authenticate, type DeviceAuth, parseCredential } from './auth.js';
import type { ServerContext } from './context.js';

/**
 * Options of {@link createRateLimiter}.
 *
 * @example
 * ```ts
 * const options: RateLimiterOptions = { max: 120, windowMs: 60_000 };
 * const perDevice = createRateLimiter(options);
 * ```
 */
export interface RateLimiterOptions {
  /** Hits allowed per key in one window (1..1,000,000). */
  readonly max: number;
  /** Length of a window in ms (1 s .. 1 day). */
  readonly windowMs: number;
  /** The clock (default `Date.now`). */
  readonly now?: () => number;
  /** Most keys remembered at once (default 100,000); beyond it the oldest windows are forgotten. */
  readonly maxKeys?: number;
}

/**
 * The outcome of one {@link RateLimiter.hit}.
 *
 * @example
 * ```ts
 * import { RateLimitedError } from '@cloister/crypto';
 * const outcome: RateLimitOutcome = limiter.hit(deviceKey(me));
 * if (!outcome.allowed) throw new RateLimitedError(outcome.retryAfterSeconds);
 * ```
 */
export interface RateLimitOutcome {
  /** Whether this hit is within the limit. */
  readonly allowed: boolean;
  /** Hits left in the current window after this one (0 when refused). */
  readonly remaining: number;
  /** Seconds until the current window ends (at least 1). */
  readonly retryAfterSeconds: number;
}

/**
 * A fixed-window counter per key ({@link createRateLimiter}).
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter({ max: 2, windowMs: 60_000 });
 * limiter.hit('k').allowed; // true
 * limiter.hit('k').allowed; // true
 * limiter.hit('k').allowed; // false
 * ```
 */
export interface RateLimiter {
  /**
   * Counts one hit for `key` and says whether it is allowed (refused hits count too).
   *
   * @example
   * ```ts
   * const { allowed, remaining, retryAfterSeconds } = limiter.hit(deviceKey(me));
   * ```
   */
  hit(key: string): RateLimitOutcome;
  /**
   * Forgets every key.
   *
   * @example
   * ```ts
   * limiter.reset(); // every key starts a fresh window at its next hit
   * ```
   */
  reset(): void;
  /** Keys currently remembered (for tests and metrics). */
  readonly size: number;
}

interface Window {
  readonly start: number;
  count: number;
}

function checkInt(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * Creates a fixed-window rate limiter with bounded memory. Windows start at a key's first hit
 * and last `windowMs`; a key's window is re-inserted when it restarts, so the map's insertion
 * order is the order in which windows end and eviction takes expired windows from the front.
 * When `maxKeys` live windows exist, the one ending soonest is forgotten (which forgives that
 * key's count: only an attacker holding that many distinct keys gains from it).
 *
 * @example
 * ```ts
 * const perDevice = createRateLimiter({ max: 600, windowMs: 60_000 });
 * const { allowed, retryAfterSeconds } = perDevice.hit('acme/alice/1');
 * ```
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const max = checkInt(options.max, 'max', 1, 1_000_000);
  const windowMs = checkInt(options.windowMs, 'windowMs', 1000, 86_400_000);
  const maxKeys = checkInt(options.maxKeys ?? 100_000, 'maxKeys', 1, 10_000_000);
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new ValidationError('now', 'a function');
  const windows = new Map<string, Window>();

  function evict(at: number): void {
    for (const [key, w] of windows) {
      if (w.start + windowMs > at && windows.size < maxKeys) return;
      windows.delete(key);
    }
  }

  return {
    hit(key) {
      if (typeof key !== 'string') throw new ValidationError('key', 'a string');
      const at = now();
      let w = windows.get(key);
      if (w !== undefined && w.start + windowMs <= at) {
        windows.delete(key);
        w = undefined;
      }
      if (w === undefined) {
        evict(at);
        w = { start: at, count: 0 };
        windows.set(key, w);
      }
      w.count += 1;
      const retryAfterSeconds = Math.max(1, Math.ceil((w.start + windowMs - at) / 1000));
      const allowed = w.count <= max;
      return { allowed, remaining: allowed ? max - w.count : 0, retryAfterSeconds };
    },
    reset() {
      windows.clear();
    },
    get size() {
      return windows.size;
    },
  };
}

const authenticated = new WeakMap<object, DeviceAuth>();

/**
 * The calling device: the one {@link limitPerDevice} already authenticated for this request, or
 * authenticates now (`UnauthenticatedError` / `ForbiddenError`).
 *
 * @example
 * ```ts
 * app.get('/v1/things', { preHandler: limitPerDevice(ctx, limiter) }, async (request) => {
 *   const me = await requestDevice(ctx, request);
 *   return { device: me.device };
 * });
 * ```
 */
export async function requestDevice(ctx: ServerContext, request: FastifyRequest): Promise<DeviceAuth> {
  const known = authenticated.get(request);
  if (known !== undefined) return known;
  const auth = await authenticate(ctx, request);
  authenticated.set(request, auth);
  return auth;
}

/**
 * The limiter key of a device: tenant, user and device number, separated by NUL characters.
 *
 * @example
 * ```ts
 * limiter.hit(deviceKey(await requestDevice(ctx, request)));
 * ```
 */
export function deviceKey(auth: DeviceAuth): string {
  return `${auth.tenant}\u0000${auth.user}\u0000${auth.device}`;
}

/**
 * The label hashed in front of a device credential to make its limiter key
 * (`cloister/server/v1/device-limiter-key`).
 *
 * @example
 * ```ts
 * import { createHash } from 'node:crypto';
 * const key = createHash('sha256').update(CREDENTIAL_LIMITER_LABEL).update(credential).digest('base64url');
 * key === credentialLimiterKey(authorizationHeader(credential)); // → true
 * ```
 */
export const CREDENTIAL_LIMITER_LABEL = 'cloister/server/v1/device-limiter-key';

/**
 * The per-device limiter key of an `Authorization` value: base64url of SHA-256 over
 * {@link CREDENTIAL_LIMITER_LABEL} and the **decoded** credential, so the limiter holds neither
 * the credential nor the stored credential hash, and every request of one credential counts in one
 * window. `undefined` for anything that is not a device credential in its one canonical spelling
 * (`parseCredential` in `auth.ts`): such a request is refused as unauthenticated by its route
 * without a database read, is covered by the per-address limit, and never counts against (nor
 * opens a second window beside) the device's own.
 *
 * @example
 * ```ts
 * import { RateLimitedError } from '@cloister/crypto';
 * const key = credentialLimiterKey(request.headers.authorization); // undefined: not a credential
 * const outcome = key === undefined ? undefined : limiter.hit(key);
 * if (outcome !== undefined && !outcome.allowed) throw new RateLimitedError(outcome.retryAfterSeconds);
 * ```
 */
export function credentialLimiterKey(authorization: unknown): string | undefined {
  let credential: Uint8Array;
  try {
    credential = parseCredential(authorization);
  } catch (error) {
    if (error instanceof UnauthenticatedError) return undefined;
    throw error;
  }
  try {
    return createHash('sha256').update(CREDENTIAL_LIMITER_LABEL).update(credential).digest('base64url');
  } finally {
    credential.fill(0);
  }
}

function enforce(limiter: RateLimiter, key: string): void {
  const outcome = limiter.hit(key);
  if (!outcome.allowed) throw new RateLimitedError(outcome.retryAfterSeconds);
}

/**
 * A `preHandler` that authenticates the calling device (remembering it for
 * {@link requestDevice}) and counts the request against the device's limit; over it the request
 * fails with `RateLimitedError` (429 with `retry-after`). Unauthenticated requests fail before
 * they are counted (the per-address limit covers them).
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter({ max: 600, windowMs: 60_000, now: ctx.now });
 * app.post('/v1/things', { preHandler: limitPerDevice(ctx, limiter) }, async (request) => {
 *   const caller = await requestDevice(ctx, request); // already authenticated by the preHandler
 *   return { device: caller.device };
 * });
 * ```
 */
export function limitPerDevice(ctx: ServerContext, limiter: RateLimiter): preHandlerAsyncHookHandler {
  return async (request) => {
    enforce(limiter, deviceKey(await requestDevice(ctx, request)));
  };
}

/**
 * A `preHandler` that counts the request against the key `keyOf` derives from it (for
 * token-authorised routes: a hash of the token, never the token itself, so the limiter's memory
 * holds no secret). `undefined` counts nothing (the route then refuses the request itself).
 *
 * @example
 * ```ts
 * import { createHash } from 'node:crypto';
 * const perToken = createRateLimiter({ max: 10, windowMs: 60_000 });
 * const tokenKey = (request: import('fastify').FastifyRequest) => {
 *   const given = (request.body as { token?: unknown } | undefined)?.token;
 *   return typeof given === 'string' ? createHash('sha256').update(given).digest('base64url') : undefined;
 * };
 * app.post('/v1/redeem', { preHandler: limitPerKey(perToken, tokenKey) }, async () => ({ redeemed: true }));
 * ```
 */
export function limitPerKey(
  limiter: RateLimiter,
  keyOf: (request: FastifyRequest) => string | undefined | Promise<string | undefined>,
): preHandlerAsyncHookHandler {
  return async (request) => {
    const key = await keyOf(request);
    if (key !== undefined) enforce(limiter, key);
  };
}
