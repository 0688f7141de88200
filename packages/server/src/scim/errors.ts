/**
 * SCIM errors (RFC 7644 §3.12): `{ schemas: [Error], status, scimType?, detail }`. The detail
 * names a rule or an attribute, never a value a client sent or a user's data. Typed errors of the
 * server map to their SCIM status; anything unknown is 500 without detail.
 *
 * @module
 */
import { CloisterError, RateLimitedError } from '@cloister/crypto';
import type { FastifyReply } from 'fastify';
import { ConflictError, NotFoundError } from '../store/index.js';

/**
 * The schema URN of a SCIM error body.
 *
 * @example
 * ```ts
 * const isError = (await response.json()).schemas?.includes(SCIM_ERROR_SCHEMA);
 * ```
 */
export const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/**
 * The `scimType` values this server answers (RFC 7644 Table 9).
 *
 * @example
 * ```ts
 * const t: ScimType = 'invalidFilter';
 * ```
 */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers';

/**
 * An error answered as a SCIM error body.
 *
 * @example
 * ```ts
 * throw new ScimError(400, 'invalidFilter', 'the filter is not supported');
 * ```
 */
export class ScimError extends Error {
  /**
   * @example
   * ```ts
   * const e = new ScimError(409, 'uniqueness', 'userName is taken');
   * ```
   */
  constructor(
    /** The HTTP status. */
    readonly status: number,
    /** The SCIM error type, when one applies. */
    readonly scimType: ScimType | undefined,
    /** A fixed text naming the rule (never a value). */
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'ScimError';
  }
}

/**
 * The SCIM status, type and detail of any error thrown while serving a SCIM request.
 *
 * @example
 * ```ts
 * const { status, body } = scimErrorOf(new ScimError(404, undefined, 'no such resource'));
 * ```
 */
export function scimErrorOf(error: unknown): {
  status: number;
  body: { schemas: string[]; status: string; scimType?: string; detail: string };
  retryAfter?: number;
} {
  const body = (status: number, scimType: string | undefined, detail: string) => ({
    schemas: [SCIM_ERROR_SCHEMA],
    status: String(status),
    ...(scimType === undefined ? {} : { scimType }),
    detail,
  });
  if (error instanceof ScimError) {
    return { status: error.status, body: body(error.status, error.scimType, error.detail) };
  }
  if (error instanceof NotFoundError)
    return { status: 404, body: body(404, undefined, `${error.what} not found`) };
  if (error instanceof ConflictError) {
    return { status: 409, body: body(409, 'uniqueness', `conflict: ${error.constraint}`) };
  }
  if (error instanceof RateLimitedError) {
    return {
      status: 429,
      body: body(429, undefined, 'too many requests'),
      retryAfter: error.retryAfterSeconds,
    };
  }
  if (error instanceof CloisterError) {
    switch (error.code) {
      case 'ERR_VALIDATION':
      case 'ERR_DECODE':
        return { status: 400, body: body(400, 'invalidValue', 'a value is not valid') };
      case 'ERR_UNAUTHENTICATED':
        return { status: 401, body: body(401, undefined, 'a valid SCIM bearer token is required') };
      case 'ERR_FORBIDDEN':
        return { status: 403, body: body(403, undefined, 'forbidden') };
      case 'ERR_LIMIT':
        return { status: 413, body: body(413, undefined, 'the request is too large') };
      case 'ERR_STORAGE':
        return { status: 503, body: body(503, undefined, 'storage unavailable') };
      default:
        break;
    }
  }
  const statusCode = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return { status: statusCode, body: body(statusCode, 'invalidSyntax', 'the request is not valid') };
  }
  return { status: 500, body: body(500, undefined, 'internal error') };
}

/**
 * Sends `error` as a SCIM error response (`application/scim+json`).
 *
 * @example
 * ```ts
 * app.setErrorHandler((error, _request, reply) => sendScimError(reply, error));
 * ```
 */
export function sendScimError(reply: FastifyReply, error: unknown): FastifyReply {
  const { status, body, retryAfter } = scimErrorOf(error);
  if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
  return reply.code(status).header('content-type', 'application/scim+json; charset=utf-8').send(body);
}
