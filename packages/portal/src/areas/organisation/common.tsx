/**
 * Shared pieces of the organisation area: typed errors turned into translated messages that say
 * what to do (never a raw message, JSON or stack), the alert that shows one, a loading line, and
 * the permission gate of a screen.
 *
 * @module
 */
import { Alert, Box, CircularProgress, Typography } from '@mui/material';
import type { ReactNode } from 'react';
import { useTranslate } from 'react-admin';
import { usePortal } from '../../session/use-portal.js';
import { NotAllowed } from '../../shell/not-allowed.js';

/** `translate` as react-admin gives it. */
export type Translate = ReturnType<typeof useTranslate>;

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

/** An error alert (role `alert`), or nothing. */
export function ErrorAlert(props: { readonly error: unknown; readonly onClose?: () => void }) {
  const translate = useTranslate();
  if (props.error === undefined || props.error === null) return null;
  return (
    <Alert
      severity="error"
      sx={{ my: 2 }}
      {...(props.onClose === undefined ? {} : { onClose: props.onClose })}
    >
      {errorMessage(translate, props.error)}
    </Alert>
  );
}

/** A loading line with a label for screen readers. */
export function Loading(props: { readonly label: string }) {
  return (
    <Box sx={{ display: 'flex', alignItems: 'center', gap: 2, my: 3 }} role="status">
      <CircularProgress size={24} aria-label={props.label} />
      <Typography>{props.label}</Typography>
    </Box>
  );
}

/** Renders `children` when the session has `permission`, else the shell's "not allowed" page. */
export function Gate(props: { readonly permission: string; readonly children: ReactNode }) {
  const session = usePortal();
  return session.can(props.permission) ? props.children : <NotAllowed />;
}

/** A date and time in the UI's language. */
export function formatTime(ms: number, locale: string): string {
  return new Date(ms).toLocaleString(locale === 'de' ? 'de-DE' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
  });
}

/** Every page of a cursor-paged listing (at most `maxPages`). */
export async function allPages<T>(
  page: (after: string | undefined) => Promise<{ readonly items: readonly T[]; readonly next?: string }>,
  maxPages = 20,
): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const p = await page(after);
    out.push(...p.items);
    if (p.next === undefined) break;
    after = p.next;
  }
  return out;
}
