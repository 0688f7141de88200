/**
 * The typed errors an admin-API call throws, built from the server's error body
 * `{ error: { code, message, field? } }`: the shared classes of `@cloister/crypto` where they exist
 * (`ValidationError`, `UnauthenticatedError`, `ForbiddenError`, `RateLimitedError`,
 * `InvalidKeyError`) and {@link NotFoundError} and {@link ConflictError} for 404 and 409.
 *
 * @module
 */
import {
  CloisterError,
  type CloisterErrorCode,
  DecodeError,
  ForbiddenError,
  InvalidKeyError,
  LimitError,
  RateLimitedError,
  UnauthenticatedError,
  ValidationError,
} from '@cloister/crypto';

/**
 * The server has no such object in the caller's tenant (HTTP 404). An object of another tenant is
 * reported the same way, never as forbidden.
 *
 * @example
 * ```ts
 * try {
 *   await admin.getUser('alice');
 * } catch (e) {
 *   if (e instanceof NotFoundError) console.log('no such user');
 * }
 * ```
 */
export class NotFoundError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'NotFoundError';

  /** What is missing as the server named it (`user`, `device`, `admin`, …) or `route`. */
  readonly what: string;

  constructor(what: string, message = `${what} not found`) {
    super('ERR_NOT_FOUND', message);
    this.what = what;
  }
}

/**
 * The request conflicts with the server's state (HTTP 409): an id already taken, a root already
 * set (`organisation-root`), a sequence already used (`organisation-sequence`).
 *
 * @example
 * ```ts
 * try {
 *   await admin.setOrganisationRoot(org.root.publicKey, org.owner.certificate);
 * } catch (e) {
 *   if (e instanceof ConflictError && e.constraint === 'organisation-root') console.log('already set');
 * }
 * ```
 */
export class ConflictError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'ConflictError';

  /** The constraint the server named (`conflict: <constraint>`), or `unknown`. */
  readonly constraint: string;

  constructor(constraint: string, message = `conflict: ${constraint}`) {
    super('ERR_CONFLICT', message);
    this.constraint = constraint;
  }
}

/**
 * An answer the SDK cannot map to a typed error (a 5xx, an unknown code, a body that is not the
 * error format). `status` is the HTTP status; `serverCode` what the body named, if anything.
 *
 * @example
 * ```ts
 * try {
 *   await admin.listUsers();
 * } catch (e) {
 *   if (e instanceof AdminApiError && e.status >= 500) console.log('server failed:', e.status, e.serverCode);
 * }
 * ```
 */
export class AdminApiError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'AdminApiError';

  /** The HTTP status of the answer (e.g. 500, 502). */
  readonly status: number;
  /** The `error.code` the body named (e.g. `ERR_STORAGE`), or undefined when it named none. */
  readonly serverCode: string | undefined;

  constructor(status: number, serverCode: string | undefined, message: string) {
    // As the client's ServerError: an answer the SDK cannot classify is a decoding failure.
    super(
      status >= 500 && serverCode === 'ERR_STORAGE' ? 'ERR_STORAGE' : ('ERR_DECODE' as CloisterErrorCode),
      message,
    );
    this.status = status;
    this.serverCode = serverCode;
  }
}

/** What an error body may carry. */
interface ErrorBody {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly field?: unknown;
}

/**
 * The typed error of an error answer: its HTTP `status`, its parsed JSON `body` (or undefined) and
 * the `retry-after` header (seconds) for 429.
 *
 * @example
 * ```ts
 * throw errorFromAnswer(403, { error: { code: 'ERR_FORBIDDEN', message: 'not allowed' } });
 * ```
 */
export function errorFromAnswer(status: number, body: unknown, retryAfter?: string): CloisterError {
  const error = (
    typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined
  ) as ErrorBody | undefined;
  const code = typeof error?.code === 'string' ? error.code : undefined;
  const message = typeof error?.message === 'string' ? error.message.slice(0, 500) : `status ${status}`;
  switch (code) {
    case 'ERR_VALIDATION': {
      const field =
        typeof error?.field === 'string' ? error.field : (/^([^:\s]+):/.exec(message)?.[1] ?? 'body');
      const expected = message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
      return new ValidationError(field, expected.replace(/^expected /, ''));
    }
    case 'ERR_DECODE':
      return new DecodeError('body', message);
    case 'ERR_INVALID_KEY': {
      const m = /^([^:\s]+): (.*)$/.exec(message);
      return new InvalidKeyError(m?.[1] ?? 'object', m?.[2] ?? message);
    }
    case 'ERR_UNAUTHENTICATED':
      return new UnauthenticatedError(message);
    case 'ERR_FORBIDDEN':
      return new ForbiddenError(message);
    case 'ERR_NOT_FOUND':
      return new NotFoundError(/^(\S+) not found$/.exec(message)?.[1] ?? 'route', message);
    case 'ERR_CONFLICT':
      return new ConflictError(/^conflict: (\S+)$/.exec(message)?.[1] ?? 'unknown', message);
    case 'ERR_LIMIT':
      return new LimitError(message);
    case 'ERR_RATE_LIMITED': {
      const seconds = Number(retryAfter ?? (body as { retryAfter?: unknown } | undefined)?.retryAfter);
      return new RateLimitedError(Number.isSafeInteger(seconds) && seconds >= 0 ? seconds : 60);
    }
    default:
      return new AdminApiError(status, code, message);
  }
}
