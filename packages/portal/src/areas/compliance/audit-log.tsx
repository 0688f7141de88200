/**
 * The audit log screen (`#/audit`, `audit.read`): search by actor, action, target and time with
 * the API's paging, each record as fields (details as a key/value list), the chain verification
 * status (the server's chain check and the signed checkpoint verified in this browser) and the
 * export as a file (JSON lines, CEF, OCSF; `audit.export`).
 *
 * @module
 */
import type { Page as ApiPage, AuditExportFormat, AuditQuery, AuditRecordView } from '@cloister/admin';
import {
  Alert,
  Box,
  Button,
  Chip,
  FormControl,
  InputLabel,
  MenuItem,
  Paper,
  Select,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { type FormEvent, useMemo, useState } from 'react';
import { usePortal } from '../../session/use-portal.js';
import { checkAuditLog, detailFields } from './audit-check.js';
import {
  CopyField,
  downloadText,
  ErrorNotice,
  errorText,
  FieldList,
  type FieldRecord,
  fromLocalInput,
  Loading,
  Page,
  Section,
  useFormatTime,
  useLoad,
  useT,
} from './ui.js';

/** Records per page of the search. */
const PAGE_SIZE = 50;

interface Filters {
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly from: string;
  readonly to: string;
}

const NO_FILTERS: Filters = { actor: '', action: '', target: '', from: '', to: '' };

/** The API query of the form's filters (empty fields left out). */
export function auditQueryOf(filters: Filters, after?: number): AuditQuery {
  const from = fromLocalInput(filters.from);
  const to = fromLocalInput(filters.to);
  return {
    limit: PAGE_SIZE,
    ...(filters.actor.trim() === '' ? {} : { actor: filters.actor.trim() }),
    ...(filters.action.trim() === '' ? {} : { action: filters.action.trim() }),
    ...(filters.target.trim() === '' ? {} : { target: filters.target.trim() }),
    ...(from === undefined ? {} : { from }),
    // The field names a minute: include the whole of it.
    ...(to === undefined ? {} : { to: to + 59_999 }),
    ...(after === undefined ? {} : { after }),
  };
}

export function AuditLogPage() {
  const t = useT();
  const { client, can } = usePortal();
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [applied, setApplied] = useState<{ filters: Filters; after?: number }>({ filters: NO_FILTERS });
  const names = useLoad(async () => {
    if (!can('admins.read')) return new Map<string, string>();
    const map = new Map<string, string>();
    let after: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await client.listAdministrators({
        limit: 1000,
        ...(after === undefined ? {} : { after }),
      });
      for (const a of page.items) map.set(a.id, a.name);
      after = page.next;
      if (after === undefined) break;
    }
    return map;
  }, [client]);
  const search = useLoad<ApiPage<AuditRecordView>>(
    () => client.searchAudit(auditQueryOf(applied.filters, applied.after)),
    [client, applied],
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setApplied({ filters: draft });
  };
  const field = (name: keyof Filters, label: string, help?: string, type?: string) => (
    <TextField
      label={label}
      value={draft[name]}
      onChange={(e) => setDraft({ ...draft, [name]: e.target.value })}
      size="small"
      {...(help === undefined ? {} : { helperText: help })}
      {...(type === undefined ? {} : { type, slotProps: { inputLabel: { shrink: true } } })}
      sx={{ minWidth: 200, flex: 1 }}
    />
  );
  const nextSeq = search.data?.next === undefined ? undefined : Number(search.data.next);

  return (
    <Page title={t('audit.title')} intro={t('audit.intro')}>
      <VerificationPanel />
      <Section title={t('audit.filters')} id="audit-search">
        <Paper variant="outlined" sx={{ p: 2 }}>
          <Box component="form" onSubmit={submit} role="search" aria-label={t('audit.filters')}>
            <Stack direction="row" useFlexGap flexWrap="wrap" spacing={2}>
              {field('actor', t('audit.actor'), t('audit.actorHelp'))}
              {field('action', t('audit.action'), t('audit.actionHelp'))}
              {field('target', t('audit.target'), t('audit.targetHelp'))}
              {field('from', t('audit.from'), undefined, 'datetime-local')}
              {field('to', t('audit.to'), undefined, 'datetime-local')}
            </Stack>
            <Stack direction="row" spacing={1} sx={{ mt: 2 }} alignItems="center">
              <Button type="submit" variant="contained">
                {t('audit.search')}
              </Button>
              <Button
                onClick={() => {
                  setDraft(NO_FILTERS);
                  setApplied({ filters: NO_FILTERS });
                }}
              >
                {t('audit.reset')}
              </Button>
              <Typography variant="body2" color="text.secondary">
                {t('audit.textNote')}
              </Typography>
            </Stack>
          </Box>
        </Paper>
      </Section>
      <Section title={t('audit.results')} id="audit-results">
        {search.error !== undefined ? (
          <ErrorNotice error={search.error} onRetry={search.reload} />
        ) : search.data === undefined ? (
          <Loading />
        ) : (
          <Stack spacing={1}>
            <Typography variant="body2" aria-live="polite">
              {nextSeq === undefined
                ? t('audit.pageInfoEnd', { count: search.data.items.length })
                : t('audit.pageInfo', { count: search.data.items.length, seq: nextSeq })}
            </Typography>
            {search.data.items.length === 0 ? (
              <Alert severity="info">
                {nextSeq === undefined ? t('audit.empty') : t('audit.emptyScanned', { seq: nextSeq })}
              </Alert>
            ) : (
              <RecordsTable records={search.data.items} names={names.data} />
            )}
            <Stack direction="row" spacing={1}>
              {applied.after === undefined ? null : (
                <Button
                  variant="contained"
                  color="inherit"
                  onClick={() => setApplied({ filters: applied.filters })}
                >
                  {t('audit.first')}
                </Button>
              )}
              {nextSeq === undefined ? null : (
                <Button
                  variant="contained"
                  onClick={() => setApplied({ filters: applied.filters, after: nextSeq })}
                >
                  {t('audit.next')}
                </Button>
              )}
            </Stack>
          </Stack>
        )}
      </Section>
      <ExportPanel filters={draft} />
    </Page>
  );
}

function RecordsTable(props: {
  readonly records: readonly AuditRecordView[];
  readonly names: ReadonlyMap<string, string> | undefined;
}) {
  const t = useT();
  const time = useFormatTime();
  const outcome = (o: string) =>
    o === 'success' || o === 'failure' || o === 'denied' ? t(`audit.outcomes.${o}`) : o;
  return (
    <TableContainer component={Paper} variant="outlined">
      <Table size="small" aria-label={t('audit.results')}>
        <TableHead>
          <TableRow>
            <TableCell>{t('audit.seq')}</TableCell>
            <TableCell>{t('audit.at')}</TableCell>
            <TableCell>{t('audit.actor')}</TableCell>
            <TableCell>{t('audit.action')}</TableCell>
            <TableCell>{t('audit.target')}</TableCell>
            <TableCell>{t('audit.outcome')}</TableCell>
            <TableCell>{t('audit.details')}</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {props.records.map((r) => {
            const name = props.names?.get(r.actor);
            const details = detailFields(r.details);
            return (
              <TableRow key={r.seq} sx={{ verticalAlign: 'top' }}>
                <TableCell>{r.seq}</TableCell>
                <TableCell sx={{ whiteSpace: 'nowrap' }}>{time(r.at)}</TableCell>
                <TableCell sx={{ overflowWrap: 'anywhere' }}>
                  {name === undefined ? r.actor : `${name} (${r.actor})`}
                </TableCell>
                <TableCell>{r.action}</TableCell>
                <TableCell sx={{ overflowWrap: 'anywhere' }}>{r.target}</TableCell>
                <TableCell>
                  <Chip
                    size="small"
                    label={outcome(r.outcome)}
                    color={r.outcome === 'success' ? 'default' : 'error'}
                    variant="outlined"
                  />
                </TableCell>
                <TableCell sx={{ minWidth: 240 }}>
                  {Object.keys(details).length === 0 ? (
                    <Typography variant="body2" color="text.secondary">
                      {t('audit.noDetails')}
                    </Typography>
                  ) : (
                    <FieldList fields={details as FieldRecord} dense />
                  )}
                </TableCell>
              </TableRow>
            );
          })}
        </TableBody>
      </Table>
    </TableContainer>
  );
}

function VerificationPanel() {
  const t = useT();
  const { client } = usePortal();
  const check = useLoad(() => checkAuditLog(client), [client]);
  const c = check.data;
  const chainText = (): string => {
    if (c === undefined) return '';
    switch (c.chain.kind) {
      case 'ok':
        return t('audit.verify.chainOk', { count: c.chain.count, head: c.chain.head });
      case 'broken':
        return t('audit.verify.chainBroken', { seq: c.chain.firstBadSeq });
      default:
        return errorText(t, c.chain.error);
    }
  };
  const checkpointText = (): string => {
    if (c === undefined) return '';
    const cp = c.checkpoint;
    switch (cp.kind) {
      case 'ok':
        return t('audit.verify.checkpointOk', { size: cp.size, signer: cp.signer, keyId: cp.keyId });
      case 'bad': {
        const reason =
          cp.reason === 'origin'
            ? t('audit.verify.reasonOrigin')
            : cp.reason === 'format'
              ? t('audit.verify.reasonFormat')
              : t('audit.verify.reasonSignature');
        return t('audit.verify.checkpointBad', { reason });
      }
      case 'conflict':
        return t('audit.verify.checkpointConflict');
      default:
        return errorText(t, cp.error);
    }
  };
  return (
    <Section title={t('audit.verify.title')} id="audit-verify">
      <Paper variant="outlined" sx={{ p: 2 }}>
        {check.loading || c === undefined ? (
          check.error !== undefined ? (
            <ErrorNotice error={check.error} onRetry={check.reload} />
          ) : (
            <Typography role="status" aria-busy="true">
              {t('audit.verify.running')}
            </Typography>
          )
        ) : (
          <Stack spacing={1.5}>
            <Box role="status" aria-live="polite">
              <Chip
                label={c.verified ? t('audit.verify.verified') : t('audit.verify.failed')}
                color={c.verified ? 'success' : 'error'}
              />
            </Box>
            <Alert severity={c.chain.kind === 'ok' ? 'success' : 'error'}>{chainText()}</Alert>
            <Alert severity={c.checkpoint.kind === 'ok' ? 'success' : 'error'}>{checkpointText()}</Alert>
            {c.verifierKey === undefined ? null : (
              <>
                <Typography variant="body2">{t('audit.verify.keyNote')}</Typography>
                <CopyField label={t('audit.verify.logKey')} value={c.verifierKey} />
              </>
            )}
            <Box>
              <Button onClick={check.reload}>{t('audit.verify.again')}</Button>
            </Box>
          </Stack>
        )}
      </Paper>
    </Section>
  );
}

const FORMATS: readonly { readonly id: AuditExportFormat; readonly ext: string; readonly type: string }[] = [
  { id: 'jsonl', ext: 'jsonl', type: 'application/x-ndjson' },
  { id: 'cef', ext: 'cef', type: 'text/plain' },
  { id: 'ocsf', ext: 'ocsf.jsonl', type: 'application/x-ndjson' },
];

function ExportPanel(props: { readonly filters: Filters }) {
  const t = useT();
  const { client, can, identity } = usePortal();
  const [format, setFormat] = useState<AuditExportFormat>('jsonl');
  const [state, setState] = useState<
    | { kind: 'idle' }
    | { kind: 'running'; count: number }
    | { kind: 'done'; count: number; file: string }
    | { kind: 'error'; error: unknown }
  >({ kind: 'idle' });
  const allowed = can('audit.export');
  const range = useMemo(() => {
    const from = fromLocalInput(props.filters.from);
    const to = fromLocalInput(props.filters.to);
    return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to: to + 59_999 }) };
  }, [props.filters.from, props.filters.to]);
  const run = async () => {
    const f = FORMATS.find((x) => x.id === format) ?? FORMATS[0]!;
    setState({ kind: 'running', count: 0 });
    try {
      const lines: string[] = [];
      for await (const line of client.audit.export({ format, ...range })) {
        lines.push(line);
        if (lines.length % 1000 === 0) setState({ kind: 'running', count: lines.length });
      }
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const file = `audit-${identity.tenant}-${stamp}.${f.ext}`;
      downloadText(file, lines.length === 0 ? '' : `${lines.join('\n')}\n`, f.type);
      setState({ kind: 'done', count: lines.length, file });
    } catch (error) {
      setState({ kind: 'error', error });
    }
  };
  return (
    <Section title={t('audit.export.title')} id="audit-export">
      <Paper variant="outlined" sx={{ p: 2 }}>
        {!allowed ? (
          <Alert severity="info">{t('audit.export.notAllowed')}</Alert>
        ) : (
          <Stack spacing={2}>
            <Typography variant="body2">{t('audit.export.intro')}</Typography>
            <Stack direction="row" spacing={2} alignItems="center">
              <FormControl size="small" sx={{ minWidth: 240 }}>
                <InputLabel id="audit-export-format">{t('audit.export.format')}</InputLabel>
                <Select
                  labelId="audit-export-format"
                  label={t('audit.export.format')}
                  value={format}
                  onChange={(e) => setFormat(e.target.value as AuditExportFormat)}
                >
                  {FORMATS.map((f) => (
                    <MenuItem key={f.id} value={f.id}>
                      {t(`audit.export.${f.id}`)}
                    </MenuItem>
                  ))}
                </Select>
              </FormControl>
              <Button variant="contained" onClick={run} disabled={state.kind === 'running'}>
                {t('audit.export.button')}
              </Button>
            </Stack>
            <Box aria-live="polite">
              {state.kind === 'running' ? (
                <Typography role="status">{t('audit.export.running', { count: state.count })}</Typography>
              ) : state.kind === 'done' ? (
                <Alert severity="success">
                  {t('audit.export.done', { count: state.count, file: state.file })}
                </Alert>
              ) : state.kind === 'error' ? (
                <ErrorNotice error={state.error} />
              ) : null}
            </Box>
          </Stack>
        )}
      </Paper>
    </Section>
  );
}
