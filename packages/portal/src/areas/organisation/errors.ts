/**
 * The organisation area's error texts: a typed error (by its `code`, with the field, constraint or
 * wait it names) turned into a translated sentence that says what to do; anything else is
 * "unexpected error, try again". Never the error's own message, JSON or stack.
 *
 * @module
 */

/** `translate` as react-admin gives it. */
export type Translate = (key: string, options?: Record<string, unknown>) => string;

/** The message key prefix of this area. */
export const K = 'portal.organisation';

/** What an error object may carry (the typed errors of `@cloister/crypto` and `@cloister/admin`). */
interface TypedErrorShape {
  readonly code?: unknown;
  readonly field?: unknown;
  readonly constraint?: unknown;
  readonly what?: unknown;
  readonly retryAfterSeconds?: unknown;
}

const CONFLICTS = new Set([
  'pool',
  'organisation-sequence',
  'organisation-root',
  'group-layers',
  'broadcast',
]);

/**
 * The translated message of an error: typed errors by `code` (with the field, constraint or wait
 * they name), anything else as "unexpected error, try again". Never the error's own text.
 */
export function errorMessage(translate: Translate, error: unknown): string {
  const e = (typeof error === 'object' && error !== null ? error : {}) as TypedErrorShape;
  switch (e.code) {
    case 'ERR_VALIDATION':
      return translate(`${K}.errors.validation`, {
        field: typeof e.field === 'string' ? e.field : '?',
      });
    case 'ERR_FORBIDDEN':
      return translate(`${K}.errors.forbidden`);
    case 'ERR_UNAUTHENTICATED':
      return translate(`${K}.errors.unauthenticated`);
    case 'ERR_NOT_FOUND':
      return translate(`${K}.errors.not_found`, { what: typeof e.what === 'string' ? e.what : '?' });
    case 'ERR_CONFLICT': {
      const c = typeof e.constraint === 'string' ? e.constraint : '';
      return translate(
        CONFLICTS.has(c) ? `${K}.errors.conflict_${c.replace(/-/g, '_')}` : `${K}.errors.conflict`,
      );
    }
    case 'ERR_RATE_LIMITED':
      return translate(`${K}.errors.rate_limited`, {
        seconds: typeof e.retryAfterSeconds === 'number' ? e.retryAfterSeconds : 60,
      });
    case 'ERR_LIMIT':
      return translate(`${K}.errors.limit`);
    case 'ERR_USAGE':
      return translate(`${K}.errors.cancelled`);
    case 'ERR_INVALID_KEY':
      return translate(`${K}.errors.invalid_key`);
    case 'ERR_DECODE':
    case 'ERR_STORAGE':
      return translate(`${K}.errors.server`);
    default:
      return translate(`${K}.errors.unexpected`);
  }
}
