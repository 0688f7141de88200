/**
 * The integrations screen (`#/integrations`, `integrations.manage`): integrations and their API
 * keys (create → the key shown once; scopes, pools, expiry; revoke) and signed webhooks (create →
 * the secret shown once; rotate the secret; delete; the deliveries with the failed ones
 * delivered again). Creating keys, integrations and webhooks and rotating a secret need a fresh
 * second factor (`withStepUp`).
 *
 * @module
 */
import type {
  AdministratorView,
  IntegrationKeyView,
  WebhookDeliveryView,
  WebhookView,
} from '@cloister/admin';
import {
  Alert,
  Box,
  Button,
  Checkbox,
  Chip,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  FormControl,
  FormControlLabel,
  FormGroup,
  FormHelperText,
  FormLabel,
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
} from '@mui/material';
import { type FormEvent, type ReactNode, useState } from 'react';
import { useNotify } from 'react-admin';
import { usePortal } from '../../session/use-portal.js';
import {
  ConfirmDialog,
  ErrorNotice,
  errorText,
  Loading,
  Page,
  SecretDialog,
  Section,
  splitList,
  useFormatTime,
  useLoad,
  useT,
} from './ui.js';

const DAY_MS = 86_400_000;

/** The scopes an integration key may carry (`spec/integrations.md` §2.2). */
export const KEY_SCOPES = [
  'tenant',
  'administrators',
  'users',
  'devices',
  'activity',
  'audit',
  'organisation',
  'statistics',
].flatMap((family) => [family, `${family}:read`]);

/** The permissions an integration may ever use (`spec/integrations.md` §1). */
export const INTEGRATION_PERMISSIONS = [
  'tenant.read',
  'admins.read',
  'users.read',
  'devices.read',
  'activity.read',
  'policy.read',
  'users.invite',
  'users.block',
  'devices.block',
  'audit.read',
  'devices.admit',
  'stats.read',
];

export function IntegrationsPage() {
  const t = useT();
  const [secret, setSecret] = useState<{ title: string; value: string } | undefined>(undefined);
  return (
    <Page title={t('integrations.title')} intro={t('integrations.intro')}>
      <ApiKeys onSecret={setSecret} />
      <Webhooks onSecret={setSecret} />
      <SecretDialog secret={secret} onClose={() => setSecret(undefined)} />
    </Page>
  );
}

type OnSecret = (s: { title: string; value: string }) => void;

/** A form in a dialog: submit runs `onSubmit`; its error is shown in the dialog. */
function FormDialog(props: {
  readonly open: boolean;
  readonly title: string;
  readonly submit: string;
  readonly onClose: () => void;
  readonly onSubmit: () => Promise<void>;
  readonly children: ReactNode;
}) {
  const t = useT();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const id = `compliance-dialog-${props.title.replace(/\W+/g, '-').toLowerCase()}`;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await props.onSubmit();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open={props.open} onClose={props.onClose} aria-labelledby={id} fullWidth maxWidth="sm">
      <Box component="form" onSubmit={submit}>
        <DialogTitle id={id}>{props.title}</DialogTitle>
        <DialogContent>
          <Stack spacing={2} sx={{ pt: 1 }}>
            {props.children}
            {error === undefined ? null : <Alert severity="error">{errorText(t, error)}</Alert>}
          </Stack>
        </DialogContent>
        <DialogActions>
          <Button onClick={props.onClose}>{t('common.cancel')}</Button>
          <Button type="submit" variant="contained" disabled={busy}>
            {props.submit}
          </Button>
        </DialogActions>
      </Box>
    </Dialog>
  );
}

/** Checkboxes for a set of names. */
function NameChecks(props: {
  readonly label: string;
  readonly help?: string;
  readonly names: readonly string[];
  readonly value: readonly string[];
  readonly onChange: (v: string[]) => void;
}) {
  return (
    <FormControl component="fieldset">
      <FormLabel component="legend">{props.label}</FormLabel>
      <FormGroup sx={{ display: 'grid', gridTemplateColumns: 'repeat(2, minmax(0, 1fr))' }}>
        {props.names.map((n) => (
          <FormControlLabel
            key={n}
            label={n}
            control={
              <Checkbox
                size="small"
                checked={props.value.includes(n)}
                onChange={(e) =>
                  props.onChange(e.target.checked ? [...props.value, n] : props.value.filter((x) => x !== n))
                }
              />
            }
          />
        ))}
      </FormGroup>
      {props.help === undefined ? null : <FormHelperText>{props.help}</FormHelperText>}
    </FormControl>
  );
}

interface KeysState {
  readonly integrations: readonly AdministratorView[];
  readonly keys: readonly IntegrationKeyView[];
}

function ApiKeys(props: { readonly onSecret: OnSecret }) {
  const t = useT();
  const time = useFormatTime();
  const notify = useNotify();
  const { client, withStepUp, can } = usePortal();
  const state = useLoad<KeysState>(async () => {
    const [admins, keys] = await Promise.all([
      can('admins.read') ? client.listAdministrators({ limit: 1000 }) : Promise.resolve({ items: [] }),
      client.integrations.keys(),
    ]);
    return { integrations: admins.items.filter((a) => a.role === 'integration' && !a.disabled), keys };
  }, [client]);
  const [dialog, setDialog] = useState<'key' | 'integration' | undefined>(undefined);
  const [revoking, setRevoking] = useState<IntegrationKeyView | undefined>(undefined);
  const [actionError, setActionError] = useState<unknown>(undefined);
  // The new key's form.
  const [integration, setIntegration] = useState('');
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [pools, setPools] = useState('');
  const [ttlDays, setTtlDays] = useState('90');
  // The new integration's form.
  const [iName, setIName] = useState('');
  const [iEmail, setIEmail] = useState('');
  const [iPerms, setIPerms] = useState<string[]>([]);
  const names = new Map((state.data?.integrations ?? []).map((a) => [a.id, a.name]));
  const now = Date.now();
  const status = (k: IntegrationKeyView) =>
    k.revokedAt !== null
      ? t('integrations.revoked')
      : k.expiresAt <= now
        ? t('integrations.expired')
        : t('integrations.active');

  const createKey = async () => {
    const days = Number(ttlDays);
    const poolList = splitList(pools);
    const created = await withStepUp(() =>
      client.integrations.createKey(integration, {
        name: name.trim(),
        scopes,
        ...(poolList.length === 0 ? {} : { pools: poolList }),
        ...(ttlDays.trim() === '' || !Number.isFinite(days) ? {} : { ttlMs: Math.round(days * DAY_MS) }),
      }),
    );
    setDialog(undefined);
    setName('');
    setScopes([]);
    setPools('');
    props.onSecret({ title: t('integrations.keyCreated'), value: created.apiKey });
    state.reload();
  };
  const createIntegration = async () => {
    const created = await withStepUp(() =>
      client.inviteAdministrator({
        email: iEmail.trim(),
        name: iName.trim(),
        role: 'integration',
        scopes: iPerms,
      }),
    );
    setDialog(undefined);
    setIName('');
    setIEmail('');
    setIPerms([]);
    if ('apiKey' in created)
      props.onSecret({ title: t('integrations.integrationCreated'), value: created.apiKey });
    state.reload();
  };
  const revoke = async (k: IntegrationKeyView) => {
    setActionError(undefined);
    try {
      await client.integrations.revokeKey(k.id);
      notify(t('integrations.revokedKey'), { type: 'success' });
      state.reload();
    } catch (e) {
      setActionError(e);
    }
  };

  return (
    <Section title={t('integrations.keys')} id="integration-keys">
      <Stack spacing={1.5}>
        <Stack direction="row" spacing={1}>
          <Button
            variant="contained"
            disabled={(state.data?.integrations.length ?? 0) === 0}
            onClick={() => {
              setIntegration(state.data?.integrations[0]?.id ?? '');
              setDialog('key');
            }}
          >
            {t('integrations.newKey')}
          </Button>
          {can('admins.manage') ? (
            <Button variant="contained" onClick={() => setDialog('integration')}>
              {t('integrations.newIntegration')}
            </Button>
          ) : null}
        </Stack>
        {actionError === undefined ? null : <ErrorNotice error={actionError} />}
        {state.error !== undefined ? (
          <ErrorNotice error={state.error} onRetry={state.reload} />
        ) : state.data === undefined ? (
          <Loading />
        ) : state.data.integrations.length === 0 && state.data.keys.length === 0 ? (
          <Alert severity="info">{t('integrations.noIntegration')}</Alert>
        ) : state.data.keys.length === 0 ? (
          <Alert severity="info">{t('integrations.keysEmpty')}</Alert>
        ) : (
          <TableContainer component={Paper} variant="outlined">
            <Table size="small" aria-label={t('integrations.keys')}>
              <TableHead>
                <TableRow>
                  <TableCell>{t('integrations.name')}</TableCell>
                  <TableCell>{t('integrations.integration')}</TableCell>
                  <TableCell>{t('integrations.scopes')}</TableCell>
                  <TableCell>{t('integrations.keyPools')}</TableCell>
                  <TableCell>{t('integrations.expires')}</TableCell>
                  <TableCell>{t('integrations.lastUsed')}</TableCell>
                  <TableCell>{t('integrations.status')}</TableCell>
                  <TableCell />
                </TableRow>
              </TableHead>
              <TableBody>
                {state.data.keys.map((k) => (
                  <TableRow key={k.id}>
                    <TableCell>{k.name}</TableCell>
                    <TableCell>{names.get(k.integration) ?? k.integration}</TableCell>
                    <TableCell>{k.scopes.join(', ')}</TableCell>
                    <TableCell>{k.pools === null ? t('common.none') : k.pools.join(', ')}</TableCell>
                    <TableCell sx={{ whiteSpace: 'nowrap' }}>{time(k.expiresAt)}</TableCell>
                    <TableCell sx={{ whiteSpace: 'nowrap' }}>{time(k.lastUsedAt)}</TableCell>
                    <TableCell>
                      <Chip size="small" variant="outlined" label={status(k)} />
                    </TableCell>
                    <TableCell>
                      {k.revokedAt === null ? (
                        <Button
                          color="error"
                          size="small"
                          onClick={() => setRevoking(k)}
                          aria-label={`${t('common.revoke')} ${k.name}`}
                        >
                          {t('common.revoke')}
                        </Button>
                      ) : null}
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </TableContainer>
        )}
      </Stack>
      <FormDialog
        open={dialog === 'key'}
        title={t('integrations.newKey')}
        submit={t('common.create')}
        onClose={() => setDialog(undefined)}
        onSubmit={createKey}
      >
        <FormControl fullWidth>
          <InputLabel id="integration-key-integration">{t('integrations.integration')}</InputLabel>
          <Select
            labelId="integration-key-integration"
            label={t('integrations.integration')}
            value={integration}
            onChange={(e) => setIntegration(e.target.value)}
          >
            {(state.data?.integrations ?? []).map((a) => (
              <MenuItem key={a.id} value={a.id}>
                {a.name}
              </MenuItem>
            ))}
          </Select>
        </FormControl>
        <TextField
          label={t('integrations.name')}
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
        />
        <NameChecks
          label={t('integrations.scopes')}
          help={t('integrations.scopesHelp')}
          names={KEY_SCOPES}
          value={scopes}
          onChange={setScopes}
        />
        <TextField
          label={t('integrations.keyPools')}
          helperText={t('integrations.keyPoolsHelp')}
          value={pools}
          onChange={(e) => setPools(e.target.value)}
        />
        <TextField
          label={t('integrations.ttlDays')}
          type="number"
          value={ttlDays}
          onChange={(e) => setTtlDays(e.target.value)}
          slotProps={{ htmlInput: { min: 1, max: 366 } }}
        />
      </FormDialog>
      <FormDialog
        open={dialog === 'integration'}
        title={t('integrations.newIntegration')}
        submit={t('common.create')}
        onClose={() => setDialog(undefined)}
        onSubmit={createIntegration}
      >
        <TextField
          label={t('integrations.integrationName')}
          value={iName}
          onChange={(e) => setIName(e.target.value)}
          required
        />
        <TextField
          label={t('integrations.integrationEmail')}
          type="email"
          value={iEmail}
          onChange={(e) => setIEmail(e.target.value)}
          required
        />
        <NameChecks
          label={t('integrations.integrationScopes')}
          names={INTEGRATION_PERMISSIONS}
          value={iPerms}
          onChange={setIPerms}
        />
      </FormDialog>
      <ConfirmDialog
        open={revoking !== undefined}
        text={t('integrations.revokeKey', { name: revoking?.name ?? '' })}
        confirm={t('common.revoke')}
        onClose={() => setRevoking(undefined)}
        onConfirm={() => {
          if (revoking !== undefined) void revoke(revoking);
        }}
      />
    </Section>
  );
}

function Webhooks(props: { readonly onSecret: OnSecret }) {
  const t = useT();
  const time = useFormatTime();
  const notify = useNotify();
  const { client, withStepUp } = usePortal();
  const hooks = useLoad<WebhookView[]>(() => client.integrations.webhooks(), [client]);
  const [open, setOpen] = useState(false);
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState('*');
  const [deleting, setDeleting] = useState<WebhookView | undefined>(undefined);
  const [shown, setShown] = useState<string | undefined>(undefined);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const create = async () => {
    const created = await withStepUp(() => client.integrations.createWebhook(url.trim(), splitList(events)));
    setOpen(false);
    setUrl('');
    props.onSecret({ title: t('integrations.webhookCreated'), value: created.secret });
    hooks.reload();
  };
  const rotate = async (w: WebhookView) => {
    setActionError(undefined);
    try {
      const r = await withStepUp(() => client.integrations.rotateWebhookSecret(w.id));
      props.onSecret({
        title:
          r.previousSecretUntil === null
            ? t('integrations.rotatedNow')
            : t('integrations.rotated', { until: time(r.previousSecretUntil) }),
        value: r.secret,
      });
    } catch (e) {
      setActionError(e);
    }
  };
  const remove = async (w: WebhookView) => {
    setActionError(undefined);
    try {
      await client.integrations.deleteWebhook(w.id);
      notify(t('integrations.deleted'), { type: 'success' });
      hooks.reload();
    } catch (e) {
      setActionError(e);
    }
  };
  return (
    <Section title={t('integrations.webhooks')} id="webhooks">
      <Stack spacing={1.5}>
        <Box>
          <Button variant="contained" onClick={() => setOpen(true)}>
            {t('integrations.newWebhook')}
          </Button>
        </Box>
        {actionError === undefined ? null : <ErrorNotice error={actionError} />}
        {hooks.error !== undefined ? (
          <ErrorNotice error={hooks.error} onRetry={hooks.reload} />
        ) : hooks.data === undefined ? (
          <Loading />
        ) : hooks.data.length === 0 ? (
          <Alert severity="info">{t('integrations.webhooksEmpty')}</Alert>
        ) : (
          hooks.data.map((w) => (
            <Paper key={w.id} variant="outlined" sx={{ p: 2 }}>
              <Stack spacing={1}>
                <Box sx={{ fontFamily: 'monospace', overflowWrap: 'anywhere' }}>{w.url}</Box>
                <Box>
                  {t('integrations.events')}: {w.events.join(', ')} · {t('integrations.createdAt')}:{' '}
                  {time(w.createdAt)}
                </Box>
                <Stack direction="row" spacing={1} flexWrap="wrap" useFlexGap>
                  <Button
                    size="small"
                    onClick={() => setShown(shown === w.id ? undefined : w.id)}
                    aria-expanded={shown === w.id}
                  >
                    {shown === w.id ? t('integrations.hideDeliveries') : t('integrations.showDeliveries')}
                  </Button>
                  <Button size="small" onClick={() => void rotate(w)}>
                    {t('integrations.rotate')}
                  </Button>
                  <Button size="small" color="error" onClick={() => setDeleting(w)}>
                    {t('common.delete')}
                  </Button>
                </Stack>
                {shown === w.id ? <Deliveries webhook={w} /> : null}
              </Stack>
            </Paper>
          ))
        )}
      </Stack>
      <FormDialog
        open={open}
        title={t('integrations.newWebhook')}
        submit={t('common.create')}
        onClose={() => setOpen(false)}
        onSubmit={create}
      >
        <TextField
          label={t('integrations.url')}
          type="url"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          required
        />
        <TextField
          label={t('integrations.events')}
          helperText={t('integrations.eventsHelp')}
          value={events}
          onChange={(e) => setEvents(e.target.value)}
          required
        />
      </FormDialog>
      <ConfirmDialog
        open={deleting !== undefined}
        text={t('integrations.deleteWebhook', { url: deleting?.url ?? '' })}
        confirm={t('common.delete')}
        onClose={() => setDeleting(undefined)}
        onConfirm={() => {
          if (deleting !== undefined) void remove(deleting);
        }}
      />
    </Section>
  );
}

function Deliveries(props: { readonly webhook: WebhookView }) {
  const t = useT();
  const time = useFormatTime();
  const notify = useNotify();
  const { client } = usePortal();
  const [after, setAfter] = useState<string | undefined>(undefined);
  const [onlyFailed, setOnlyFailed] = useState(false);
  const page = useLoad<{ items: WebhookDeliveryView[]; next?: string }>(
    () =>
      client.integrations.deliveries(props.webhook.id, {
        limit: 50,
        ...(after === undefined ? {} : { after }),
      }),
    [client, props.webhook.id, after],
  );
  const [error, setError] = useState<unknown>(undefined);
  const redeliver = async (d: WebhookDeliveryView) => {
    setError(undefined);
    try {
      await client.integrations.redeliver(props.webhook.id, d.event);
      notify(t('integrations.redelivered'), { type: 'success' });
      page.reload();
    } catch (e) {
      setError(e);
    }
  };
  if (page.error !== undefined) return <ErrorNotice error={page.error} onRetry={page.reload} />;
  if (page.data === undefined) return <Loading />;
  const items = page.data.items.filter((d) => !onlyFailed || d.status === 'failed');
  return (
    <Stack spacing={1}>
      <FormControlLabel
        control={
          <Checkbox size="small" checked={onlyFailed} onChange={(e) => setOnlyFailed(e.target.checked)} />
        }
        label={t('integrations.onlyFailed')}
      />
      {error === undefined ? null : <ErrorNotice error={error} />}
      {items.length === 0 ? (
        <Alert severity="info">{t('integrations.deliveriesEmpty')}</Alert>
      ) : (
        <TableContainer>
          <Table size="small" aria-label={t('integrations.deliveries')}>
            <TableHead>
              <TableRow>
                <TableCell>{t('integrations.event')}</TableCell>
                <TableCell>{t('integrations.type')}</TableCell>
                <TableCell>{t('integrations.createdAt')}</TableCell>
                <TableCell>{t('integrations.status')}</TableCell>
                <TableCell>{t('integrations.attempts')}</TableCell>
                <TableCell>{t('integrations.lastResult')}</TableCell>
                <TableCell />
              </TableRow>
            </TableHead>
            <TableBody>
              {items.map((d) => (
                <TableRow key={d.event}>
                  <TableCell sx={{ fontFamily: 'monospace' }}>{d.event}</TableCell>
                  <TableCell>{d.type}</TableCell>
                  <TableCell sx={{ whiteSpace: 'nowrap' }}>{time(d.createdAt)}</TableCell>
                  <TableCell>
                    <Chip
                      size="small"
                      variant="outlined"
                      color={
                        d.status === 'failed' ? 'error' : d.status === 'delivered' ? 'success' : 'default'
                      }
                      label={t(`integrations.deliveryStatus.${d.status}`)}
                    />
                  </TableCell>
                  <TableCell>{d.attempts}</TableCell>
                  <TableCell>{d.lastResult ?? t('common.none')}</TableCell>
                  <TableCell>
                    {d.status === 'failed' ? (
                      <Button size="small" onClick={() => void redeliver(d)}>
                        {t('integrations.redeliver')}
                      </Button>
                    ) : null}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      )}
      {page.data.next === undefined ? null : (
        <Box>
          <Button size="small" onClick={() => setAfter(page.data?.next)}>
            {t('integrations.moreDeliveries')}
          </Button>
        </Box>
      )}
    </Stack>
  );
}
