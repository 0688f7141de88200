/**
 * How long a client may take: to send its headers, to send a whole request (longer for a blob
 * chunk upload), to stay silent on a socket, and to keep an idle connection between requests.
 * Slow clients (a body trickled a byte at a time, headers never finished, a socket left open) are
 * cut by Node's and Fastify's own mechanisms, configured here:
 *
 * - `headersMs` → Node's `headersTimeout`: the request line and headers; then 408 and the socket
 *   closed (`rawClientError`).
 * - `requestMs` → Fastify's `handlerTimeout`: from the end of the headers to the answer, body
 *   included; then 408 (`ERR_VALIDATION`, `request timeout`) when the body had not fully arrived,
 *   503 (`ERR_STORAGE`) when the server itself was slow, always with `connection: close`.
 * - `blobChunkMs` → the same for `PUT /v1/blobs/:blobId/chunks/:index` (set per route from an
 *   `onRoute` hook), and Node's `requestTimeout` (the whole request, headers included, on every
 *   route: the backstop for requests no route answers).
 * - `socketIdleMs` → Fastify's `connectionTimeout` (`server.setTimeout`): a socket with nothing
 *   sent or read for that long is destroyed (a client that stops reading its answer).
 * - `keepAliveMs` → Fastify's `keepAliveTimeout`: an idle kept-alive connection between requests.
 *
 * WebSockets are not cut by any of these: an upgrade is hijacked (no handler timeout), its request
 * is complete (no request timeout) and `ws` clears the socket's idle timeout.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { BLOB_CHUNK_PATH } from './routes/blobs.js';

/**
 * Timeouts against slow clients, in milliseconds.
 *
 * @example
 * ```ts
 * import { DEFAULT_TIMEOUTS } from '@cloister/server';
 * const timeouts: ServerTimeouts = { ...DEFAULT_TIMEOUTS, blobChunkMs: 300_000 };
 * const server = await createServer({ timeouts });
 * ```
 */
export interface ServerTimeouts {
  /** The request line and headers must arrive within this time (default 10 s). */
  readonly headersMs: number;
  /** A request, from the end of its headers to its answer, body included (default 30 s). */
  readonly requestMs: number;
  /** The same for a blob chunk upload (default 120 s, 1 MiB at about 9 KB/s). */
  readonly blobChunkMs: number;
  /** A socket with nothing sent or received for this long is closed (default 60 s). */
  readonly socketIdleMs: number;
  /** An idle kept-alive connection between two requests is closed after this (default 5 s). */
  readonly keepAliveMs: number;
}

/**
 * The default timeouts.
 *
 * @example
 * ```ts
 * createServer({ timeouts: { requestMs: DEFAULT_TIMEOUTS.requestMs * 2 } });
 * ```
 */
export const DEFAULT_TIMEOUTS: ServerTimeouts = Object.freeze({
  headersMs: 10_000,
  requestMs: 30_000,
  blobChunkMs: 120_000,
  socketIdleMs: 60_000,
  keepAliveMs: 5_000,
});

const MAX_MS = 3_600_000;
const KEYS = Object.keys(DEFAULT_TIMEOUTS) as (keyof ServerTimeouts)[];

/**
 * Fills in the defaults and checks the timeouts: whole milliseconds from 10 ms to 1 hour,
 * `headersMs` no longer than `requestMs` nor `blobChunkMs`, `blobChunkMs` no shorter than
 * `requestMs`. Throws `ValidationError` (field `timeouts.<name>`) otherwise.
 *
 * @example
 * ```ts
 * checkTimeouts({ headersMs: 5_000 }); // the defaults with a 5 s header timeout
 * checkTimeouts({ headersMs: 60_000 }); // throws: longer than requestMs
 * ```
 */
export function checkTimeouts(given: Partial<ServerTimeouts> | undefined): ServerTimeouts {
  if (given !== undefined && (typeof given !== 'object' || given === null)) {
    throw new ValidationError('timeouts', 'an object of timeouts in ms');
  }
  for (const key of Object.keys(given ?? {})) {
    if (!(KEYS as string[]).includes(key))
      throw new ValidationError(`timeouts.${key}`, `one of ${KEYS.join(', ')}`);
  }
  const timeouts = { ...DEFAULT_TIMEOUTS, ...given };
  for (const key of KEYS) {
    const value = timeouts[key];
    if (!Number.isInteger(value) || value < 10 || value > MAX_MS) {
      throw new ValidationError(`timeouts.${key}`, 'whole milliseconds from 10 to 3,600,000');
    }
  }
  if (timeouts.headersMs > timeouts.requestMs) {
    throw new ValidationError('timeouts.headersMs', 'at most timeouts.requestMs');
  }
  if (timeouts.blobChunkMs < timeouts.requestMs) {
    throw new ValidationError('timeouts.blobChunkMs', 'at least timeouts.requestMs');
  }
  return timeouts;
}

/**
 * The Fastify factory options that carry the timeouts (`connectionTimeout`, `keepAliveTimeout`,
 * `requestTimeout`, `handlerTimeout`), and the Node server options to merge into the `https`
 * options (`headersTimeout`, and a `connectionsCheckingInterval` short enough for the header and
 * request timeouts to be enforced within a tenth of `headersMs`, at most 1 s late).
 *
 * @example
 * ```ts
 * const { fastify, node } = timeoutOptions(checkTimeouts(undefined));
 * Fastify({ ...fastify, https: { key, cert, ...node } });
 * ```
 */
export function timeoutOptions(timeouts: ServerTimeouts): {
  readonly fastify: {
    readonly connectionTimeout: number;
    readonly keepAliveTimeout: number;
    readonly requestTimeout: number;
    readonly handlerTimeout: number;
  };
  readonly node: { readonly headersTimeout: number; readonly connectionsCheckingInterval: number };
} {
  return {
    fastify: {
      connectionTimeout: timeouts.socketIdleMs,
      keepAliveTimeout: timeouts.keepAliveMs,
      requestTimeout: timeouts.blobChunkMs,
      handlerTimeout: timeouts.requestMs,
    },
    node: {
      headersTimeout: timeouts.headersMs,
      connectionsCheckingInterval: Math.max(5, Math.min(1_000, Math.floor(timeouts.headersMs / 10))),
    },
  };
}

/**
 * An `onRoute` hook that gives the blob chunk upload route the longer handler timeout.
 *
 * @example
 * ```ts
 * app.addHook('onRoute', longRouteTimeouts(timeouts));
 * ```
 */
export function longRouteTimeouts(timeouts: ServerTimeouts): (route: RouteOptions) => void {
  return (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (route.url === BLOB_CHUNK_PATH && methods.includes('PUT')) {
      (route as { handlerTimeout?: number }).handlerTimeout = timeouts.blobChunkMs;
    }
  };
}

/**
 * Whether an error is Fastify's handler timeout (`FST_ERR_HANDLER_TIMEOUT`).
 *
 * @example
 * ```ts
 * if (isHandlerTimeout(error)) answerHandlerTimeout(request, reply);
 * ```
 */
export function isHandlerTimeout(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === 'FST_ERR_HANDLER_TIMEOUT'
  );
}

/**
 * Answers a request that ran out of time: 408 `ERR_VALIDATION` (`request timeout`) when its body
 * had not fully arrived (the client was slow), otherwise 503 `ERR_STORAGE` (the server was slow;
 * retry later), with `connection: close` so that the socket is closed after the answer and the
 * rest of a trickled body is never read.
 *
 * @example
 * ```ts
 * app.setErrorHandler((error, request, reply) => {
 *   if (isHandlerTimeout(error)) return answerHandlerTimeout(request, reply);
 *   // ...
 * });
 * ```
 */
export function answerHandlerTimeout(request: FastifyRequest, reply: FastifyReply): void {
  const slowClient = !request.raw.complete;
  const [status, code, message] = slowClient
    ? [408, 'ERR_VALIDATION', 'request timeout']
    : [503, 'ERR_STORAGE', 'the server took too long; retry later'];
  void reply
    .code(status)
    .header('connection', 'close')
    .type('application/json')
    .send({ error: { code, message } });
}
