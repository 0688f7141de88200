/**
 * Turns an error into a translated sentence that says what to do: typed errors by their `code`
 * (`ERR_VALIDATION` with its field, `ERR_FORBIDDEN`, `ERR_CONFLICT`, `ERR_RATE_LIMITED` …); an
 * unknown error becomes "unexpected error, try again", never its text or stack.
 *
 * @module
 */

/** The translate function of react-admin (`useTranslate()`). */
export type Translate = (key: string, options?: Record<string, unknown>) => string;

/** The `code` of a typed Cloister error, or undefined. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('ERR_') ? code : undefined;
}

/**
 * The i18n key and its arguments for `error` (keys under `portal.errors`).
 */
export function errorMessage(error: unknown): { key: string; args: Record<string, unknown> } {
  const code = errorCode(error);
  const e = (error ?? {}) as {
    path?: unknown;
    field?: unknown;
    retryAfterSeconds?: unknown;
    message?: unknown;
  };
  switch (code) {
    case 'ERR_VALIDATION': {
      const field = typeof e.path === 'string' ? e.path : typeof e.field === 'string' ? e.field : '';
      return { key: 'portal.errors.validation', args: { field } };
    }
    case 'ERR_FORBIDDEN':
      return { key: 'portal.errors.forbidden', args: {} };
    case 'ERR_UNAUTHENTICATED':
      return { key: 'portal.errors.unauthenticated', args: {} };
    case 'ERR_NOT_FOUND':
      return { key: 'portal.errors.not_found', args: {} };
    case 'ERR_CONFLICT':
      return { key: 'portal.errors.conflict', args: {} };
    case 'ERR_RATE_LIMITED':
      return {
        key: 'portal.errors.rate_limited',
        args: { seconds: typeof e.retryAfterSeconds === 'number' ? e.retryAfterSeconds : 60 },
      };
    case 'ERR_LIMIT':
      return { key: 'portal.errors.limit', args: {} };
    case 'ERR_WRONG_PIN':
      return { key: 'portal.errors.wrong_passphrase', args: {} };
    case 'ERR_INVALID_KEY':
      return { key: 'portal.errors.invalid_key', args: {} };
    case 'ERR_USAGE':
      return { key: 'portal.errors.cancelled', args: {} };
    default:
      if (typeof TypeError === 'function' && error instanceof TypeError) {
        return { key: 'portal.errors.network', args: {} };
      }
      return { key: 'portal.errors.unexpected', args: {} };
  }
}

/** The translated sentence for `error`. */
export function describeError(error: unknown, translate: Translate): string {
  const { key, args } = errorMessage(error);
  return translate(key, args);
}
