/**
 * What the activity operation shows of a device: when it was last seen and which client version
 * it reported. After a device request succeeds (an `onResponse` hook: the device waits for
 * nothing), the device's row is touched with the time and the `cloister-client-version` header
 * it sent, at most once per {@link LAST_SEEN_INTERVAL_MS} per device and instance, so the relay
 * pays one write per device per interval and not one per request. The limiter keys on a hash of
 * the credential header and holds at most {@link LAST_SEEN_CACHE} entries.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { credentialDevice } from '../../auth.js';
import type { ServerContext } from '../../context.js';
import { quietStores } from '../../recipients.js';
import { statisticsOf } from '../../statistics.js';
import { MAX_CLIENT_VERSION } from '../../store/index.js';

/**
 * How often, at most, one instance records that a device was seen.
 *
 * @example
 * ```ts
 * console.log(LAST_SEEN_INTERVAL_MS); // 300000
 * ```
 */
export const LAST_SEEN_INTERVAL_MS = 5 * 60_000;

/**
 * How many devices the limiter remembers (the oldest are forgotten first).
 *
 * @example
 * ```ts
 * console.log(LAST_SEEN_CACHE); // 10000
 * ```
 */
export const LAST_SEEN_CACHE = 10_000;

/**
 * The request header in which a client reports its version (`name/1.2.3`; letters, digits and
 * `. _ + - /`, at most 64 characters; anything else is ignored).
 *
 * @example
 * ```ts
 * const res = await fetch(`${url}/v1/messages`, {
 *   headers: { authorization: authorizationHeader(credential), [CLIENT_VERSION_HEADER]: '@cloister/client/0.1.0' },
 * });
 * ```
 */
export const CLIENT_VERSION_HEADER = 'cloister-client-version';

const VERSION = new RegExp(`^[A-Za-z0-9._+\\-/@]{1,${MAX_CLIENT_VERSION}}$`);

/**
 * The `onResponse` hook that records devices as seen (registered by `createServer`).
 *
 * @example
 * ```ts
 * app.addHook('onResponse', lastSeenHook(ctx));
 * ```
 */
export function lastSeenHook(
  ctx: ServerContext,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const seen = new Map<string, number>();
  return async (request, reply) => {
    if (reply.statusCode >= 400) return;
    const header = request.headers.authorization;
    if (typeof header !== 'string' || !header.startsWith('Cloister-Device ')) return;
    const now = ctx.now();
    const key = createHash('sha256').update(header).digest('base64url');
    const last = seen.get(key);
    if (last !== undefined && now - last < LAST_SEEN_INTERVAL_MS) return;
    seen.delete(key);
    seen.set(key, now);
    if (seen.size > LAST_SEEN_CACHE) {
      const oldest = seen.keys().next().value;
      if (oldest !== undefined) seen.delete(oldest);
    }
    const reported = request.headers[CLIENT_VERSION_HEADER];
    const version = typeof reported === 'string' && VERSION.test(reported) ? reported : undefined;
    try {
      const device = await credentialDevice(ctx, request);
      // Active users and devices of the day (statistics): counted in memory, written in batches.
      statisticsOf(ctx).active(device.tenant, device.user, device.id);
      // Nothing the relay caches depends on it: written without emptying the recipient caches.
      await quietStores(ctx).devices.touch(device.tenant, device.user, device.id, now, version);
    } catch (error) {
      request.log.debug({ err: error }, 'last-seen not recorded');
    }
  };
}
