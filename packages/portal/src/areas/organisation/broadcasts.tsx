/**
 * The broadcasts screen (`#/broadcasts`, `broadcast.send`): the composer (audience: everyone, some
 * pools or some users; the text with its byte count; a preview), sending with progress (the
 * broadcast is signed in this browser with the session's signer, sealed to every checked device
 * and submitted in batches by `client.broadcasts.send`), the result with the devices that got
 * nothing and why, and the list of sent broadcasts with their delivery and read counts, refreshed
 * every 5 seconds while the screen is open.
 *
 * @module
 */
import type { BroadcastCounts, BroadcastRefusal, BroadcastSent, BroadcastTarget } from '@cloister/admin';
import RefreshIcon from '@mui/icons-material/Refresh';
import SendIcon from '@mui/icons-material/Send';
import {
  Alert,
  Box,
  Button,
  Card,
  CardContent,
  Checkbox,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  FormControl,
  FormControlLabel,
  FormGroup,
  FormHelperText,
  FormLabel,
  LinearProgress,
  Paper,
  Radio,
  RadioGroup,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { Title, useLocaleState, useNotify, useTranslate } from 'react-admin';
import { usePortal } from '../../session/use-portal.js';
import {
  auditedBroadcasts,
  type LoggedBroadcast,
  logBroadcast,
  mergeLogs,
  readLog,
} from './broadcast-log.js';
import {
  audienceProblemOf,
  MAX_TEXT_BYTES,
  parseUsers,
  REFRESH_MS,
  textBytes,
  textProblemOf,
} from './broadcast-model.js';
import { ErrorAlert, formatTime, K, Loading } from './common.js';
import { loadPools, type PoolRow } from './pools.js';

type AudienceKind = BroadcastTarget['kind'];

interface Progress {
  readonly phase: 'sign' | 'audience' | 'send';
  readonly done: number;
  readonly total: number;
}

/** The broadcasts screen. */
export function BroadcastsScreen() {
  const translate = useTranslate();
  const session = usePortal();
  const [pools, setPools] = useState<PoolRow[]>([]);
  const [refreshKey, setRefreshKey] = useState(0);
  useEffect(() => {
    if (session.can('users.read')) void loadPools(session.client).then(setPools, () => undefined);
  }, [session]);
  return (
    <Box sx={{ p: 2 }}>
      <Title title={translate(`${K}.broadcasts.title`)} />
      <Typography sx={{ mb: 2 }}>{translate(`${K}.broadcasts.intro`)}</Typography>
      <Composer pools={pools} onSent={() => setRefreshKey((k) => k + 1)} />
      <SentList pools={pools} refreshKey={refreshKey} />
    </Box>
  );
}

function audienceText(
  translate: ReturnType<typeof useTranslate>,
  a: BroadcastTarget | undefined,
  pools: readonly PoolRow[],
) {
  if (a === undefined) return translate(`${K}.broadcasts.audience_unknown`);
  if (a.kind === 'tenant') return translate(`${K}.broadcasts.audience_tenant`);
  if (a.kind === 'pools')
    return translate(`${K}.broadcasts.audience_pools_named`, {
      names: a.pools.map((p) => pools.find((x) => x.id === p)?.name ?? p).join(', '),
    });
  return translate(`${K}.broadcasts.audience_users_named`, { names: a.users.join(', ') });
}

function Composer(props: { readonly pools: readonly PoolRow[]; readonly onSent: () => void }) {
  const translate = useTranslate();
  const notify = useNotify();
  const session = usePortal();
  const [kind, setKind] = useState<AudienceKind>('tenant');
  const [chosenPools, setChosenPools] = useState<string[]>([]);
  const [usersText, setUsersText] = useState('');
  const [text, setText] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [progress, setProgress] = useState<Progress | undefined>();
  const [error, setError] = useState<unknown>();
  const [result, setResult] = useState<BroadcastSent | undefined>();

  const users = parseUsers(usersText);
  const bytes = textBytes(text);
  const textProblem = textProblemOf(text);
  const audienceProblem = audienceProblemOf(kind, chosenPools, users);
  const audience: BroadcastTarget =
    kind === 'tenant' ? { kind } : kind === 'pools' ? { kind, pools: chosenPools } : { kind, users };
  const busy = progress !== undefined;

  const review = (event: FormEvent) => {
    event.preventDefault();
    if (textProblem === undefined && audienceProblem === undefined) setConfirming(true);
  };

  const send = async () => {
    setConfirming(false);
    setError(undefined);
    setResult(undefined);
    setProgress({ phase: 'sign', done: 0, total: 0 });
    try {
      const signer = await session.signer();
      const sent = await session.client.broadcasts.send({ text, audience }, signer, {
        onProgress: (p) => setProgress({ phase: p.phase, done: p.done, total: p.total }),
      });
      logBroadcast(session.identity.tenant, session.identity.admin, {
        broadcastId: sent.broadcastId,
        sentAt: Date.now(),
        text,
        audience,
      });
      setResult(sent);
      setText('');
      notify(translate(`${K}.broadcasts.sent`, { smart_count: sent.queued }), { type: 'success' });
      props.onSent();
    } catch (e) {
      setError(e);
    } finally {
      setProgress(undefined);
    }
  };

  return (
    <Paper component="section" sx={{ p: 2, mb: 3 }} aria-labelledby="org-compose-title">
      <Typography variant="h5" component="h2" id="org-compose-title" gutterBottom>
        {translate(`${K}.broadcasts.compose_title`)}
      </Typography>
      <Box component="form" onSubmit={review} noValidate>
        <FormControl component="fieldset" disabled={busy}>
          <FormLabel component="legend">{translate(`${K}.broadcasts.audience`)}</FormLabel>
          <RadioGroup row value={kind} onChange={(e) => setKind(e.target.value as AudienceKind)}>
            <FormControlLabel
              value="tenant"
              control={<Radio />}
              label={translate(`${K}.broadcasts.audience_tenant`)}
            />
            <FormControlLabel
              value="pools"
              control={<Radio />}
              label={translate(`${K}.broadcasts.audience_pools`)}
            />
            <FormControlLabel
              value="users"
              control={<Radio />}
              label={translate(`${K}.broadcasts.audience_users`)}
            />
          </RadioGroup>
        </FormControl>
        {kind === 'pools' &&
          (props.pools.length === 0 ? (
            <Alert severity="info" sx={{ my: 1 }}>
              {translate(`${K}.broadcasts.no_pools`)}
            </Alert>
          ) : (
            <FormControl component="fieldset" sx={{ display: 'block', my: 1 }} disabled={busy}>
              <FormLabel component="legend">{translate(`${K}.broadcasts.pools_legend`)}</FormLabel>
              <FormGroup row>
                {props.pools.map((p) => (
                  <FormControlLabel
                    key={p.id}
                    label={p.name}
                    control={
                      <Checkbox
                        checked={chosenPools.includes(p.id)}
                        onChange={(e) =>
                          setChosenPools((c) =>
                            e.target.checked ? [...c, p.id] : c.filter((x) => x !== p.id),
                          )
                        }
                      />
                    }
                  />
                ))}
              </FormGroup>
            </FormControl>
          ))}
        {kind === 'users' && (
          <TextField
            fullWidth
            margin="normal"
            label={translate(`${K}.broadcasts.users`)}
            helperText={translate(`${K}.broadcasts.users_help`)}
            value={usersText}
            disabled={busy}
            onChange={(e) => setUsersText(e.target.value)}
            error={usersText !== '' && audienceProblem !== undefined}
          />
        )}
        {audienceProblem !== undefined && (kind !== 'users' || usersText !== '') && (
          <FormHelperText error>{translate(`${K}.broadcasts.invalid.${audienceProblem}`)}</FormHelperText>
        )}
        <TextField
          fullWidth
          multiline
          minRows={4}
          margin="normal"
          label={translate(`${K}.broadcasts.text`)}
          value={text}
          disabled={busy}
          onChange={(e) => setText(e.target.value)}
          error={bytes > MAX_TEXT_BYTES}
          helperText={translate(`${K}.broadcasts.text_help`, { bytes, max: MAX_TEXT_BYTES })}
        />
        <Card variant="outlined" sx={{ my: 2 }} component="section" aria-labelledby="org-preview-title">
          <CardContent>
            <Typography variant="subtitle2" component="h3" id="org-preview-title">
              {translate(`${K}.broadcasts.preview`)}
            </Typography>
            <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
              {translate(`${K}.broadcasts.preview_from`, { name: session.identity.name })} ·{' '}
              {audienceText(translate, audience, props.pools)}
            </Typography>
            <Typography sx={{ whiteSpace: 'pre-wrap' }}>
              {text.trim() === '' ? translate(`${K}.broadcasts.preview_empty`) : text}
            </Typography>
          </CardContent>
        </Card>
        <Button
          type="submit"
          variant="contained"
          startIcon={<SendIcon />}
          disabled={busy || textProblem !== undefined || audienceProblem !== undefined}
        >
          {translate(`${K}.broadcasts.send`)}
        </Button>
      </Box>
      {progress !== undefined && (
        <Box sx={{ my: 2 }} role="status">
          <Typography>
            {translate(`${K}.broadcasts.progress_${progress.phase}`, {
              done: progress.done,
              total: progress.total,
            })}
          </Typography>
          <LinearProgress
            aria-label={translate(`${K}.broadcasts.progress_label`)}
            {...(progress.phase === 'send' && progress.total > 0
              ? { variant: 'determinate' as const, value: (100 * progress.done) / progress.total }
              : {})}
          />
        </Box>
      )}
      <ErrorAlert error={error} onClose={() => setError(undefined)} />
      {result !== undefined && <SendResult result={result} />}
      <Dialog open={confirming} onClose={() => setConfirming(false)} aria-labelledby="org-confirm-broadcast">
        <DialogTitle id="org-confirm-broadcast">{translate(`${K}.broadcasts.confirm_title`)}</DialogTitle>
        <DialogContent>
          <DialogContentText>
            {translate(`${K}.broadcasts.confirm_text`, {
              audience: audienceText(translate, audience, props.pools),
            })}
          </DialogContentText>
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setConfirming(false)} autoFocus>
            {translate(`${K}.common.cancel`)}
          </Button>
          <Button variant="contained" onClick={send}>
            {translate(`${K}.broadcasts.confirm_send`)}
          </Button>
        </DialogActions>
      </Dialog>
    </Paper>
  );
}

const PIN_REFUSALS: ReadonlySet<BroadcastRefusal> = new Set([
  'device-list-reset',
  'device-list-rollback',
  'device-list-unlinked',
]);

function SendResult(props: { readonly result: BroadcastSent }) {
  const translate = useTranslate();
  const session = usePortal();
  const [accepted, setAccepted] = useState<ReadonlySet<string>>(new Set());
  const [error, setError] = useState<unknown>();
  const { result } = props;
  const heldUsers = [...new Set(result.refused.filter((r) => PIN_REFUSALS.has(r.reason)).map((r) => r.user))];
  const accept = async (user: string) => {
    setError(undefined);
    try {
      await session.client.broadcasts.acceptDeviceListReset(user);
      setAccepted((a) => new Set([...a, user]));
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Box sx={{ my: 2 }}>
      <Alert severity={result.queued > 0 ? 'success' : 'warning'}>
        {translate(`${K}.broadcasts.result`, {
          smart_count: result.queued,
          refused: result.refused.length,
          duplicates: result.duplicates,
        })}
      </Alert>
      {result.queued === 0 && result.refused.length === 0 && (
        <Alert severity="info" sx={{ mt: 1 }}>
          {translate(`${K}.broadcasts.nobody`)}
        </Alert>
      )}
      {result.refused.length > 0 && (
        <TableContainer component={Paper} sx={{ mt: 1 }}>
          <Table size="small" aria-label={translate(`${K}.broadcasts.refused_title`)}>
            <TableHead>
              <TableRow>
                <TableCell component="th">{translate(`${K}.broadcasts.user`)}</TableCell>
                <TableCell component="th">{translate(`${K}.broadcasts.device`)}</TableCell>
                <TableCell component="th">{translate(`${K}.broadcasts.reason`)}</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {result.refused.slice(0, 200).map((r) => (
                <TableRow key={`${r.user}/${r.device}`}>
                  <TableCell>{r.user}</TableCell>
                  <TableCell>{r.device}</TableCell>
                  <TableCell>{translate(`${K}.broadcasts.refusal.${r.reason.replace(/-/g, '_')}`)}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      )}
      {heldUsers.length > 0 && (
        <Box sx={{ mt: 2 }}>
          <Alert severity="warning">{translate(`${K}.broadcasts.accept_help`)}</Alert>
          {heldUsers.map((u) => (
            <Button
              key={u}
              sx={{ mt: 1, mr: 1 }}
              variant="outlined"
              disabled={accepted.has(u)}
              onClick={() => void accept(u)}
            >
              {translate(accepted.has(u) ? `${K}.broadcasts.accepted` : `${K}.broadcasts.accept`, {
                user: u,
              })}
            </Button>
          ))}
          <ErrorAlert error={error} />
        </Box>
      )}
    </Box>
  );
}

function SentList(props: { readonly pools: readonly PoolRow[]; readonly refreshKey: number }) {
  const translate = useTranslate();
  const [locale] = useLocaleState();
  const session = usePortal();
  const [entries, setEntries] = useState<LoggedBroadcast[] | undefined>();
  const [counts, setCounts] = useState<ReadonlyMap<string, BroadcastCounts>>(new Map());
  const [error, setError] = useState<unknown>();
  const running = useRef(false);

  const again = useRef(false);

  const refresh = useCallback(
    async (urgent = false): Promise<void> => {
      if (running.current) {
        // One more run after the current one when a broadcast was just sent.
        if (urgent) again.current = true;
        return;
      }
      running.current = true;
      try {
        const local = readLog(session.identity.tenant, session.identity.admin);
        const audited = session.can('audit.read')
          ? await auditedBroadcasts(session.client, Date.now()).catch(() => [])
          : [];
        const merged = mergeLogs(local, audited);
        const next = new Map<string, BroadcastCounts>();
        for (const e of merged) {
          try {
            next.set(e.broadcastId, await session.client.broadcasts.counts(e.broadcastId));
          } catch {
            // Gone or not readable: the row shows no counts.
          }
        }
        setEntries(merged);
        setCounts(next);
        setError(undefined);
      } catch (e) {
        setError(e);
        setEntries((x) => x ?? []);
      } finally {
        running.current = false;
      }
      if (again.current) {
        again.current = false;
        await refresh();
      }
    },
    [session],
  );

  useEffect(() => {
    void refresh();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void refresh();
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, [refresh]);

  useEffect(() => {
    if (props.refreshKey > 0) void refresh(true);
  }, [refresh, props.refreshKey]);

  return (
    <Paper component="section" sx={{ p: 2 }} aria-labelledby="org-sent-title">
      <Box sx={{ display: 'flex', alignItems: 'center', justifyContent: 'space-between' }}>
        <Typography variant="h5" component="h2" id="org-sent-title">
          {translate(`${K}.broadcasts.sent_title`)}
        </Typography>
        <Button startIcon={<RefreshIcon />} onClick={() => void refresh()}>
          {translate(`${K}.broadcasts.refresh`)}
        </Button>
      </Box>
      <Typography variant="body2" sx={{ mb: 1 }}>
        {translate(`${K}.broadcasts.sent_help`)}
      </Typography>
      <ErrorAlert error={error} />
      {entries === undefined ? (
        <Loading label={translate(`${K}.broadcasts.loading`)} />
      ) : entries.length === 0 ? (
        <Alert severity="info">{translate(`${K}.broadcasts.empty`)}</Alert>
      ) : (
        <TableContainer>
          <Table size="small" aria-label={translate(`${K}.broadcasts.sent_title`)}>
            <TableHead>
              <TableRow>
                <TableCell component="th">{translate(`${K}.broadcasts.sent_at`)}</TableCell>
                <TableCell component="th">{translate(`${K}.broadcasts.text`)}</TableCell>
                <TableCell component="th">{translate(`${K}.broadcasts.audience`)}</TableCell>
                <TableCell component="th" align="right">
                  {translate(`${K}.broadcasts.devices`)}
                </TableCell>
                <TableCell component="th" align="right">
                  {translate(`${K}.broadcasts.delivered`)}
                </TableCell>
                <TableCell component="th" align="right">
                  {translate(`${K}.broadcasts.read`)}
                </TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {entries.map((e) => {
                const c = counts.get(e.broadcastId);
                return (
                  <TableRow key={e.broadcastId}>
                    <TableCell>{formatTime(e.sentAt, locale)}</TableCell>
                    <TableCell sx={{ maxWidth: 360, whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
                      {e.text ?? translate(`${K}.broadcasts.text_unknown`)}
                    </TableCell>
                    <TableCell>{audienceText(translate, e.audience, props.pools)}</TableCell>
                    <TableCell align="right">{c?.devices ?? '–'}</TableCell>
                    <TableCell align="right">{c?.delivered ?? '–'}</TableCell>
                    <TableCell align="right">{c?.read ?? '–'}</TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        </TableContainer>
      )}
    </Paper>
  );
}
