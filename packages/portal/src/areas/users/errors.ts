/**
 * Turns an error of an admin-API call (a typed error of `@cloister/admin` / `@cloister/crypto`)
 * into a translated sentence that says what to do. Only the error's `code` and its structured
 * fields (`field`, `retryAfterSeconds`, `constraint`) are used; the message text of an unknown
 * error is never shown.
 *
 * @module
 */

/** An i18n key and its interpolation values. */
export interface ErrorText {
  readonly key: string;
  readonly args?: Record<string, string | number>;
}

function prop(error: unknown, name: string): unknown {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[name] : undefined;
}

/** The i18n key (under `portal.users.error.`) for `error`. */
export function errorText(error: unknown): ErrorText {
  const code = prop(error, 'code');
  switch (code) {
    case 'ERR_VALIDATION': {
      const field = prop(error, 'field');
      return {
        key: 'portal.users.error.validation',
        args: { field: typeof field === 'string' ? field.slice(0, 64) : '?' },
      };
    }
    case 'ERR_FORBIDDEN':
      return { key: 'portal.users.error.forbidden' };
    case 'ERR_UNAUTHENTICATED':
      return { key: 'portal.users.error.unauthenticated' };
    case 'ERR_NOT_FOUND':
      return { key: 'portal.users.error.notFound' };
    case 'ERR_CONFLICT': {
      const constraint = prop(error, 'constraint');
      return constraint === 'organisation-sequence'
        ? { key: 'portal.users.error.sequence' }
        : { key: 'portal.users.error.conflict' };
    }
    case 'ERR_RATE_LIMITED': {
      const seconds = prop(error, 'retryAfterSeconds');
      return {
        key: 'portal.users.error.rateLimited',
        args: { seconds: typeof seconds === 'number' ? seconds : 60 },
      };
    }
    case 'ERR_LIMIT':
      return { key: 'portal.users.error.limit' };
    case 'ERR_INVALID_KEY':
      return { key: 'portal.users.error.invalidKey' };
    case 'ERR_USAGE':
      return { key: 'portal.users.error.cancelled' };
    default:
      // fetch rejects with a TypeError when the server cannot be reached.
      if (error instanceof TypeError) return { key: 'portal.users.error.network' };
      return { key: 'portal.users.error.unexpected' };
  }
}

/** A translate function as react-admin's `useTranslate()` returns it. */
export type Translate = (key: string, options?: Record<string, unknown>) => string;

/** The translated sentence for `error`. */
export function describeError(translate: Translate, error: unknown): string {
  const { key, args } = errorText(error);
  return translate(key, args);
}

/**
 * The translated reason of a bulk item's outcome (`spec/bulk.md` §4.4): the known reasons by
 * name, an error code by {@link errorText}, anything else as "other reason".
 */
export function describeReason(translate: Translate, reason: string | null): string {
  if (reason === null || reason === '') return '';
  const known = [
    'already-blocked',
    'not-blocked',
    'already-in-pool',
    'user-blocked',
    'not-found',
    'pool-not-found',
    'stale-sequence',
    'left-directory',
  ];
  if (known.includes(reason)) return translate(`portal.users.reason.${reason}`);
  if (/^ERR_[A-Z_]+$/.test(reason)) return describeError(translate, { code: reason });
  return translate('portal.users.reason.other');
}
