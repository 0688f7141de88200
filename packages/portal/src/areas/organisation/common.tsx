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
import { errorMessage } from './errors.js';

export { errorMessage, K, type Translate } from './errors.js';

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
