/**
 * Caps on open connections: at most `max` sockets for the instance (Node's `maxConnections`) and
 * at most `perAddress` at once from one client address (an IPv6 address counts for its /64, an
 * IPv4-mapped IPv6 address as the IPv4 address). A connection over either cap is closed as soon
 * as it is accepted, before the TLS handshake: the client sees its connection closed, no answer.
 * WebSockets count for as long as they are open. Refusals are logged as counts, at most once a
 * minute per cap, never with the address.
 *
 * @module
 */
import { isIPv4, isIPv6, type Server, type Socket } from 'node:net';
import { ValidationError } from '@cloister/crypto';
import type { FastifyBaseLogger } from 'fastify';

/**
 * Connection caps of one server instance.
 *
 * @example
 * ```ts
 * const limits: ConnectionLimits = { max: 20_000, perAddress: 512 };
 * ```
 */
export interface ConnectionLimits {
  /** Open sockets of the instance, WebSockets included (default 10,000). */
  readonly max: number;
  /**
   * Open sockets from one address or IPv6 /64 at once (default 128). Behind a reverse proxy every
   * connection comes from the proxy's address: raise it to `max` there.
   */
  readonly perAddress: number;
}

/**
 * The default connection caps.
 *
 * @example
 * ```ts
 * createServer({ connections: { perAddress: DEFAULT_CONNECTION_LIMITS.max } }); // behind a proxy
 * ```
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({ max: 10_000, perAddress: 128 });

const KEYS = Object.keys(DEFAULT_CONNECTION_LIMITS) as (keyof ConnectionLimits)[];
const LOG_EVERY_MS = 60_000;

/**
 * Fills in the defaults and checks the caps: whole numbers from 1 to 1,000,000, `perAddress` at
 * most `max`. Throws `ValidationError` (field `connections.<name>`) otherwise.
 *
 * @example
 * ```ts
 * checkConnectionLimits({ perAddress: 16 }); // { max: 10_000, perAddress: 16 }
 * checkConnectionLimits({ max: 0 }); // throws
 * ```
 */
export function checkConnectionLimits(given: Partial<ConnectionLimits> | undefined): ConnectionLimits {
  if (given !== undefined && (typeof given !== 'object' || given === null)) {
    throw new ValidationError('connections', 'an object { max, perAddress }');
  }
  for (const key of Object.keys(given ?? {})) {
    if (!(KEYS as string[]).includes(key)) {
      throw new ValidationError(`connections.${key}`, `one of ${KEYS.join(', ')}`);
    }
  }
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...given };
  for (const key of KEYS) {
    const value = limits[key];
    if (!Number.isInteger(value) || value < 1 || value > 1_000_000) {
      throw new ValidationError(`connections.${key}`, 'a whole number from 1 to 1,000,000');
    }
  }
  if (limits.perAddress > limits.max) {
    throw new ValidationError('connections.perAddress', 'at most connections.max');
  }
  return limits;
}

/**
 * The key a client address is counted under: an IPv4 address as it is, an IPv4-mapped IPv6
 * address as its IPv4 address, any other IPv6 address as its /64 (`2001:db8:0:1::/64`), since
 * one subscriber usually holds a whole /64. Anything else (no address: the socket is already
 * gone) is `undefined`.
 *
 * @example
 * ```ts
 * addressKey('::ffff:192.0.2.7'); // '192.0.2.7'
 * addressKey('2001:db8::1'); // '2001:db8:0:0::/64'
 * ```
 */
export function addressKey(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return undefined;
  const lower = address.toLowerCase().split('%')[0] as string;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped !== null && isIPv4(mapped[1] as string)) return mapped[1];
  const [head = '', tail] = lower.split('::');
  const left = head === '' ? [] : head.split(':');
  // Groups after '::' (an embedded IPv4 tail takes two groups, and only matters for the count).
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const rightGroups = right.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - rightGroups).fill('0'), ...right];
  const prefix = groups.slice(0, 4).map((g) => (g.includes('.') ? '0' : g.replace(/^0+(?=.)/, '')));
  while (prefix.length < 4) prefix.push('0');
  return `${prefix.join(':')}::/64`;
}

/**
 * The live counts of a server under `applyConnectionLimits`.
 *
 * @example
 * ```ts
 * const counts: ConnectionCounts = server.connections;
 * counts.open('192.0.2.7'); // sockets now open from that address
 * counts.refused.perAddress; // connections refused over the per-address cap so far
 * ```
 */
export interface ConnectionCounts {
  /**
   * Sockets open now from the address (or /64) of `address`.
   *
   * @example
   * ```ts
   * server.connections.open('2001:db8::1'); // sockets open from 2001:db8::/64
   * ```
   */
  open(address: string): number;
  /** Connections refused so far: over the instance cap, and over a per-address cap. */
  readonly refused: { readonly instance: number; readonly perAddress: number };
}

/**
 * Applies the caps to a listening server (plain or TLS): sets `maxConnections` and counts the
 * sockets of each address from a `connection` listener that runs before the TLS handshake,
 * destroying a socket that would exceed its address's cap.
 *
 * @example
 * ```ts
 * applyConnectionLimits(app.server, checkConnectionLimits(options.connections), app.log, Date.now);
 * ```
 */
export function applyConnectionLimits(
  server: Server,
  limits: ConnectionLimits,
  log: FastifyBaseLogger,
  now: () => number,
): ConnectionCounts {
  server.maxConnections = limits.max;
  const perKey = new Map<string, number>();
  const refused = { instance: 0, perAddress: 0 };
  const logged = { instance: Number.NEGATIVE_INFINITY, perAddress: Number.NEGATIVE_INFINITY };
  const unlogged = { instance: 0, perAddress: 0 };
  const report = (cap: 'instance' | 'perAddress') => {
    refused[cap]++;
    unlogged[cap]++;
    const at = now();
    if (at - logged[cap] < LOG_EVERY_MS) return;
    log.warn({ cap, refused: unlogged[cap] }, 'connections refused over the cap');
    logged[cap] = at;
    unlogged[cap] = 0;
  };
  server.on('drop', () => report('instance'));
  // Prepended so that a refused socket is destroyed before the TLS layer starts its handshake.
  server.prependListener('connection', (socket: Socket) => {
    const key = addressKey(socket.remoteAddress);
    if (key === undefined) {
      socket.destroy();
      return;
    }
    const open = perKey.get(key) ?? 0;
    if (open >= limits.perAddress) {
      report('perAddress');
      socket.destroy();
      return;
    }
    perKey.set(key, open + 1);
    socket.once('close', () => {
      const left = (perKey.get(key) ?? 1) - 1;
      if (left <= 0) perKey.delete(key);
      else perKey.set(key, left);
    });
  });
  return {
    open: (address) => {
      const key = addressKey(address);
      return key === undefined ? 0 : (perKey.get(key) ?? 0);
    },
    refused,
  };
}
