/**
 * How errors become HTTP responses. Every error answer has the body
 * `{ "error": { "code": "ERR_…", "message": "…" } }`: the code is stable, the message names a
 * field or a rule but never a value, a key, a token or a user id. Unknown errors become 500
 * `ERR_INTERNAL` with no detail (the log has the detail, without secrets).
 *
 * @module
 */
import { CloisterError, RateLimitedError } from '@cloister/crypto';
import { ConflictError, NotFoundError } from '@cloister/storage';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';

/** The body of every error response. */
export interface ErrorBody {
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
 * Maps an error to a status and body.
 *
 * @example
 * ```ts
 * const { status, body } = toHttpError(new ValidationError('token', 'a string'));
 * // status 400, body.error.code 'ERR_VALIDATION'
 * ```
 */
export function toHttpError(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof NotFoundError) {
    return { status: 404, body: { error: { code: 'ERR_NOT_FOUND', message: `${error.what} not found` } } };
  }
  if (error instanceof ConflictError) {
    return {
      status: 409,
      body: { error: { code: 'ERR_CONFLICT', message: `conflict: ${error.constraint}` } },
    };
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
          : 'bad request';
    return { status: fe.statusCode, body: { error: { code, message } } };
  }
  return { status: 500, body: { error: { code: 'ERR_INTERNAL', message: 'internal error' } } };
}

/** The Fastify error handler built on {@link toHttpError}. */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toHttpError(error);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  if (error instanceof RateLimitedError) reply.header('retry-after', String(error.retryAfterSeconds));
  void reply.code(status).type('application/json').send(body);
}
