/**
 * Pieces the compliance screens share: the area's translate function, typed errors turned into
 * sentences that say what to do, a small loader hook, the page frame with its `<h1>`, the
 * key/value list that renders details (never raw JSON), the dialogs for a confirmation and for a
 * secret shown once, and the time helpers.
 *
 * @module
 */
import ContentCopyIcon from '@mui/icons-material/ContentCopy';
import {
  Alert,
  Box,
  Button,
  CircularProgress,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  IconButton,
  InputAdornment,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import { type ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import { Title, useLocaleState, useTranslate } from 'react-admin';
import { usePortal } from '../../session/use-portal.js';
import { NotAllowed } from '../../shell/not-allowed.js';
import type { ComplianceKey } from './messages.js';

/** Translates a key of this area (`audit.title` → `portal.compliance.audit.title`). */
export type Translate = (key: ComplianceKey, options?: Record<string, unknown>) => string;

/** The area's translate function. */
export function useT(): Translate {
  const translate = useTranslate();
  return useCallback(
    (key: ComplianceKey, options?: Record<string, unknown>) => translate(`portal.compliance.${key}`, options),
    [translate],
  );
}

/** The typed errors' parts this area reads, by duck typing (the classes come from two packages). */
interface CodedError {
  readonly code?: unknown;
  readonly field?: unknown;
  readonly constraint?: unknown;
  readonly what?: unknown;
  readonly retryAfterSeconds?: unknown;
  readonly message?: unknown;
}

/**
 * A sentence for an error: typed errors by `code` (with the field, constraint or what is missing,
 * which name things, never values); anything else is "unexpected, try again" (never its text).
 */
export function errorText(t: Translate, error: unknown): string {
  const e = (typeof error === 'object' && error !== null ? error : {}) as CodedError;
  const str = (v: unknown, fallback: string) => (typeof v === 'string' && v.length <= 200 ? v : fallback);
  switch (e.code) {
    case 'ERR_VALIDATION':
      return t('errors.validation', { field: str(e.field, '?') });
    case 'ERR_FORBIDDEN':
      return t('errors.forbidden');
    case 'ERR_UNAUTHENTICATED':
      return t('errors.unauthenticated');
    case 'ERR_CONFLICT':
      return t('errors.conflict', { constraint: str(e.constraint, '?') });
    case 'ERR_NOT_FOUND':
      return t('errors.notFound', { what: str(e.what, '?') });
    case 'ERR_RATE_LIMITED': {
      const s = typeof e.retryAfterSeconds === 'number' ? e.retryAfterSeconds : 60;
      return t('errors.rateLimited', { seconds: s });
    }
    case 'ERR_LIMIT':
      return t('errors.limit');
    case 'ERR_INVALID_KEY':
      return t('errors.invalidKey', { field: str(e.field, '?') });
    case 'ERR_DECODE':
      return t('errors.decode');
    case 'ERR_STORAGE':
      return t('errors.storage');
    case 'ERR_USAGE':
      // The step-up prompt or the key dialog was cancelled: nothing was sent.
      return t('common.cancelled');
    default:
      return t('errors.unexpected');
  }
}

/** What {@link useLoad} gives. */
export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  reload(): void;
}

/** Runs `load` on mount and on `reload()`; the newest run wins. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const run = useRef(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names the dependencies
  useEffect(() => {
    const mine = ++run.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => {
        if (run.current === mine) setState({ data, loading: false });
      },
      (error: unknown) => {
        if (run.current === mine) setState({ error, loading: false });
      },
    );
  }, [...deps, tick]);
  return {
    data: state.data,
    error: state.error,
    loading: state.loading,
    reload: () => setTick((n) => n + 1),
  };
}

/** A screen's frame: the page title (the layout's `<h1>`), an introduction, then the content. */
export function Page(props: {
  readonly title: string;
  readonly intro?: string;
  readonly children: ReactNode;
}) {
  return (
    <Box sx={{ p: { xs: 1, sm: 2 }, maxWidth: 1400 }}>
      <Title title={props.title} />
      {props.intro === undefined ? null : (
        <Typography variant="body1" sx={{ mb: 2, maxWidth: 900 }}>
          {props.intro}
        </Typography>
      )}
      <Stack spacing={3}>{props.children}</Stack>
    </Box>
  );
}

/** A section with an `<h2>`. */
export function Section(props: {
  readonly title: string;
  readonly children: ReactNode;
  readonly id?: string;
}) {
  const headingId = `compliance-${props.id ?? props.title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <Box component="section" aria-labelledby={headingId}>
      <Typography variant="h5" component="h2" id={headingId} sx={{ mb: 1 }}>
        {props.title}
      </Typography>
      {props.children}
    </Box>
  );
}

/** Shows `children` when the session has `permission`, else the shell's "not allowed" page. */
export function Gate(props: { readonly permission: string; readonly children: ReactNode }) {
  const { can } = usePortal();
  return can(props.permission) ? props.children : <NotAllowed />;
}

/** An error as a sentence, with an optional retry. */
export function ErrorNotice(props: { readonly error: unknown; readonly onRetry?: () => void }) {
  const t = useT();
  return (
    <Alert
      severity="error"
      action={
        props.onRetry === undefined ? undefined : (
          <Button color="inherit" size="small" onClick={props.onRetry}>
            {t('common.retry')}
          </Button>
        )
      }
    >
      {errorText(t, props.error)}
    </Alert>
  );
}

/** A spinner with a label for screen readers. */
export function Loading() {
  const t = useT();
  return (
    <Stack direction="row" spacing={1} alignItems="center" role="status" aria-busy="true">
      <CircularProgress size={20} aria-hidden />
      <Typography variant="body2">{t('common.loading')}</Typography>
    </Stack>
  );
}

/** A value a field list shows: text, a number, a yes/no, a list or nested fields. */
export type FieldValue = string | number | boolean | null | undefined | readonly FieldValue[] | FieldRecord;
/** Nested fields. */
export interface FieldRecord {
  readonly [key: string]: FieldValue;
}

function valueText(value: FieldValue, t: Translate): ReactNode {
  if (value === null || value === undefined) return t('common.none');
  if (typeof value === 'boolean') return value ? t('common.yes') : t('common.no');
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return t('common.none');
    if (value.every((v) => typeof v !== 'object' || v === null)) {
      return value.map((v) => valueText(v as FieldValue, t)).join(', ');
    }
    return (
      <Stack spacing={0.5}>
        {value.map((v, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: list items have no identity of their own
          <Box key={i}>{valueText(v as FieldValue, t)}</Box>
        ))}
      </Stack>
    );
  }
  return <FieldList fields={value as FieldRecord} dense />;
}

/** A key/value list (`<dl>`): how details are shown instead of JSON. */
export function FieldList(props: { readonly fields: FieldRecord; readonly dense?: boolean }) {
  const t = useT();
  const entries = Object.entries(props.fields);
  return (
    <Box
      component="dl"
      sx={{
        display: 'grid',
        gridTemplateColumns: 'max-content 1fr',
        columnGap: 1.5,
        rowGap: props.dense === true ? 0.25 : 0.75,
        m: 0,
        fontSize: props.dense === true ? '0.85rem' : undefined,
      }}
    >
      {entries.map(([k, v]) => (
        <Box key={k} sx={{ display: 'contents' }}>
          <Box component="dt" sx={{ fontWeight: 600 }}>
            {k}
          </Box>
          <Box component="dd" sx={{ m: 0, overflowWrap: 'anywhere' }}>
            {valueText(v, t)}
          </Box>
        </Box>
      ))}
    </Box>
  );
}

/** A yes/no question in a dialog (focus trapped, Escape cancels). */
export function ConfirmDialog(props: {
  readonly open: boolean;
  readonly text: string;
  readonly confirm: string;
  readonly onConfirm: () => void;
  readonly onClose: () => void;
}) {
  const t = useT();
  return (
    <Dialog open={props.open} onClose={props.onClose} aria-labelledby="compliance-confirm-title">
      <DialogTitle id="compliance-confirm-title">{t('common.confirmTitle')}</DialogTitle>
      <DialogContent>
        <DialogContentText>{props.text}</DialogContentText>
      </DialogContent>
      <DialogActions>
        <Button onClick={props.onClose}>{t('common.cancel')}</Button>
        <Button
          color="error"
          variant="contained"
          onClick={() => {
            props.onClose();
            props.onConfirm();
          }}
        >
          {props.confirm}
        </Button>
      </DialogActions>
    </Dialog>
  );
}

/** A read-only, copyable text field for a secret or a key. */
export function CopyField(props: { readonly label: string; readonly value: string }) {
  const t = useT();
  const [copied, setCopied] = useState(false);
  return (
    <TextField
      label={props.label}
      value={props.value}
      fullWidth
      multiline
      slotProps={{
        input: {
          readOnly: true,
          sx: { fontFamily: 'monospace' },
          endAdornment: (
            <InputAdornment position="end">
              <IconButton
                aria-label={copied ? t('common.copied') : t('common.copy')}
                onClick={() => {
                  navigator.clipboard?.writeText(props.value).then(
                    () => setCopied(true),
                    () => setCopied(false),
                  );
                }}
              >
                <ContentCopyIcon />
              </IconButton>
            </InputAdornment>
          ),
        },
      }}
    />
  );
}

/** A secret answered once (API key, webhook secret, SCIM token), with the warning. */
export function SecretDialog(props: {
  readonly secret: { readonly title: string; readonly value: string } | undefined;
  readonly onClose: () => void;
}) {
  const t = useT();
  return (
    <Dialog
      open={props.secret !== undefined}
      onClose={props.onClose}
      aria-labelledby="compliance-secret-title"
      fullWidth
      maxWidth="sm"
    >
      <DialogTitle id="compliance-secret-title">{props.secret?.title}</DialogTitle>
      <DialogContent>
        <Stack spacing={2} sx={{ pt: 1 }}>
          <Alert severity="warning">{t('common.shownOnce')}</Alert>
          <CopyField label={t('common.secretLabel')} value={props.secret?.value ?? ''} />
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button variant="contained" onClick={props.onClose}>
          {t('common.close')}
        </Button>
      </DialogActions>
    </Dialog>
  );
}

/** Formats ms since the epoch in the UI's language; `never` for null. */
export function useFormatTime(): (ms: number | null | undefined) => string {
  const [locale] = useLocaleState();
  const t = useT();
  return useCallback(
    (ms) =>
      ms === null || ms === undefined
        ? t('common.never')
        : new Date(ms).toLocaleString(locale === 'de' ? 'de-DE' : 'en-GB', {
            dateStyle: 'medium',
            timeStyle: 'short',
          }),
    [locale, t],
  );
}

/** `datetime-local` text for ms since the epoch (local time), or `''`. */
export function toLocalInput(ms: number | undefined): string {
  if (ms === undefined) return '';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** ms since the epoch of a `datetime-local` text, or undefined when empty or unreadable. */
export function fromLocalInput(text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const ms = new Date(text).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

/** The items of a comma- or newline-separated list, trimmed, without empties and duplicates. */
export function splitList(text: string): string[] {
  return [...new Set(text.split(/[,\n]/).map((s) => s.trim()))].filter((s) => s.length > 0);
}

/**
 * Hands `text` to the browser as a file download: a Blob, an object URL and a click on an
 * `<a download>` (a navigation the page's CSP does not govern), the URL revoked afterwards.
 */
export function downloadText(fileName: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
