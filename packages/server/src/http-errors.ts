/**
 * How errors become HTTP responses. Every error answer has the body
 * `{ "error": { "code": "ERR_…", "message": "…" } }`: the code is stable, the message names a
 * field or a rule but never a value, a key, a token or a user id. Unknown errors become 500
 * `ERR_INTERNAL` with no detail (the log has the detail, without secrets).
 *
 * @module
 */

import type { Duplex } from 'node:stream';
import { CloisterError, RateLimitedError } from '@cloister/crypto';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { answerHandlerTimeout, isHandlerTimeout } from './request-timeouts.js';
import { SCIM_ERROR_SCHEMA } from './scim/errors.js';
import { ConflictError, NotAllowlistedError, NotFoundError, QuotaExceededError } from './store/index.js';

/**
 * The body of every error response.
 *
 * @example
 * ```ts
 * const body: ErrorBody = { error: { code: 'ERR_VALIDATION', message: 'token: a string', field: 'token' } };
 * void reply.code(400).send(body);
 * ```
 */
export interface ErrorBody {
  /**
   * The error: a stable `code` (`ERR_…`), a `message` that names a field or rule but never a
   * value, and the offending `field` of a validation error when there is one.
   */
  readonly error: { readonly code: string; readonly message: string; readonly field?: string };
}

const STATUS: Readonly<Record<string, number>> = {
  ERR_VALIDATION: 400,
  ERR_DECODE: 400,
  ERR_USAGE: 400,
  ERR_INVALID_KEY: 400,
  ERR_DECRYPTION_FAILED: 400,
  ERR_UNAUTHENTICATED: 401,
  ERR_FORBIDDEN: 403,
  ERR_NOT_FOUND: 404,
  ERR_CONFLICT: 409,
  ERR_REPLAY: 409,
  ERR_LIMIT: 413,
  ERR_RATE_LIMITED: 429,
  ERR_UNSUPPORTED: 501,
  ERR_STORAGE: 503,
};

/**
 * Maps an error to a status and body: the typed errors by their code (400 validation and decode,
 * 401, 403, 404, 409, 413, 429, 501, 503), a storage quota to 507 `ERR_QUOTA`, a Fastify client
 * error to its 4xx status, and anything else to 500 `ERR_INTERNAL` without detail.
 *
 * @example
 * ```ts
 * import { ValidationError } from '@cloister/crypto';
 * const { status, body } = toHttpError(new ValidationError('token', 'a string'));
 * // status → 400, body.error.code → 'ERR_VALIDATION'
 * ```
 */
export function toHttpError(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof NotFoundError) {
    return { status: 404, body: { error: { code: 'ERR_NOT_FOUND', message: `${error.what} not found` } } };
  }
  if (error instanceof QuotaExceededError) {
    return {
      status: 507,
      body: { error: { code: 'ERR_QUOTA', message: `storage quota exceeded: ${error.quota}` } },
    };
  }
  if (error instanceof ConflictError) {
    return {
      status: 409,
      body: { error: { code: 'ERR_CONFLICT', message: `conflict: ${error.constraint}` } },
    };
  }
  if (error instanceof NotAllowlistedError) {
    return { status: 403, body: { error: { code: error.httpCode, message: error.message } } };
  }
  if (error instanceof ZodError) {
    const issue = error.issues[0];
    const field = issue === undefined ? 'body' : issue.path.join('.') || 'body';
    return {
      status: 400,
      body: { error: { code: 'ERR_VALIDATION', message: `${field}: ${issue?.message ?? 'invalid'}`, field } },
    };
  }
  if (error instanceof CloisterError) {
    const field = (error as { field?: unknown }).field;
    return {
      status: STATUS[error.code] ?? 500,
      body: {
        error: {
          code: error.code,
          message: error.message,
          ...(typeof field === 'string' ? { field } : {}),
        },
      },
    };
  }
  const fe = error as Partial<FastifyError> | undefined;
  if (fe !== undefined && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own refusals: unparsable body, body too large, unsupported media type, ...
    const code =
      fe.statusCode === 413 ? 'ERR_LIMIT' : fe.statusCode === 429 ? 'ERR_RATE_LIMITED' : 'ERR_VALIDATION';
    const message =
      fe.statusCode === 413
        ? 'request body too large'
        : fe.statusCode === 415
          ? 'unsupported media type'
          : fe.statusCode === 429
            ? 'too many requests'
            : 'bad request';
    return { status: fe.statusCode, body: { error: { code, message } } };
  }
  return { status: 500, body: { error: { code: 'ERR_INTERNAL', message: 'internal error' } } };
}

/** The Fastify error handler built on {@link toHttpError}. */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  if (isHandlerTimeout(error)) {
    answerHandlerTimeout(request, reply);
    return;
  }
  const { status, body } = toHttpError(error);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  if (error instanceof RateLimitedError) reply.header('retry-after', String(error.retryAfterSeconds));
  void reply.code(status).type('application/json').send(body);
}

/** Whether the raw bytes of a refused request start with a request line under `/scim/v2`. */
function isScimRequestLine(raw: unknown): boolean {
  if (!(raw instanceof Uint8Array)) return false;
  const line = Buffer.from(raw.subarray(0, 64)).toString('latin1');
  return /^[A-Z]{1,10} \/scim\/v2(?:[/? ]|$)/.test(line);
}

/**
 * Answers a request Node's HTTP parser refused before Fastify saw it (bad framing, oversized
 * headers, timeouts) with the same typed error body, then closes the connection.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * const api = Fastify({ clientErrorHandler: rawClientError });
 * ```
 */
export function rawClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy(error);
    return;
  }
  const [status, code, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? ['431 Request Header Fields Too Large', 'ERR_LIMIT', 'request headers too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ['408 Request Timeout', 'ERR_VALIDATION', 'request timeout']
        : ['400 Bad Request', 'ERR_VALIDATION', 'bad request'];
  // A request line under the SCIM base path gets the RFC 7644 error body the SCIM routes answer with.
  const scim = isScimRequestLine((error as { rawPacket?: unknown }).rawPacket);
  const body = JSON.stringify(
    scim
      ? { schemas: [SCIM_ERROR_SCHEMA], status: status.slice(0, 3), detail: 'the request is not valid' }
      : { error: { code, message } },
  );
  const type = scim ? 'application/scim+json; charset=utf-8' : 'application/json';
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: ${type}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
