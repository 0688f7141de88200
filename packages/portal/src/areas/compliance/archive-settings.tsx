/**
 * The archive settings screen (`#/archive`, `audit.read`; it reads with `policy.read`): the registered archive key sets
 * (auditors, k of n, fingerprint), the archive policy of the signed tenant layer (key
 * fingerprint, auditors, retention, scope), the scope editor (owner: `archive.key` and
 * `policy.write`, signed in this browser, fresh second factor) and the indicator preview for a
 * pair of users, computed from the scope in the form.
 *
 * @module
 */
import type { ArchiveKeySetView } from '@cloister/admin';
import { signPolicyLayer } from '@cloister/admin';
import { getProvider } from '@cloister/crypto';
import { type ArchiveScope, archiveKeyFingerprint, type SignedPolicyFeature } from '@cloister/protocol';
import {
  Alert,
  Box,
  Button,
  Checkbox,
  Chip,
  FormControlLabel,
  Paper,
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
import { type FormEvent, useEffect, useState } from 'react';
import { useNotify } from 'react-admin';
import { usePortal } from '../../session/use-portal.js';
import {
  type ArchivePolicy,
  type ConversationArchiveState,
  draftOf,
  indicatorFor,
  inScope,
  readArchivePolicy,
  type ScopeDraft,
  scopeOf,
  withArchiveScope,
} from './archive-model.js';
import {
  ErrorNotice,
  errorText,
  FieldList,
  fromLocalInput,
  Loading,
  Page,
  Section,
  splitList,
  toLocalInput,
  useFormatTime,
  useLoad,
  useT,
} from './ui.js';

const DAY_MS = 86_400_000;

/** The scope form's fields as typed. */
interface ScopeForm {
  readonly everyone: boolean;
  readonly usersText: string;
  readonly poolsText: string;
  readonly fromText: string;
  readonly untilText: string;
}

function formOf(scope: ArchiveScope | undefined): ScopeForm {
  const d = draftOf(scope);
  return {
    everyone: d.everyone,
    usersText: d.users.join('\n'),
    poolsText: d.pools.join('\n'),
    fromText: toLocalInput(d.from),
    untilText: toLocalInput(d.until),
  };
}

function draftOfForm(form: ScopeForm): ScopeDraft {
  const from = fromLocalInput(form.fromText);
  const until = fromLocalInput(form.untilText);
  return {
    everyone: form.everyone,
    users: splitList(form.usersText),
    pools: splitList(form.poolsText),
    ...(from === undefined ? {} : { from }),
    ...(until === undefined ? {} : { until }),
  };
}

interface ArchiveState {
  readonly keySets: readonly ArchiveKeySetView[];
  readonly policy: ArchivePolicy;
  readonly keyFingerprint: string | undefined;
  readonly layer:
    | { readonly sequence: number; readonly issuedAtMs: number; readonly admin: string }
    | undefined;
  readonly names: ReadonlyMap<string, string>;
}

export function ArchiveSettingsPage() {
  const t = useT();
  const { client, can } = usePortal();
  const state = useLoad<ArchiveState>(async () => {
    const [keySets, layer, names] = await Promise.all([
      client.archive.keySets(),
      client.restrictions.get({ layer: 'tenant' }),
      can('admins.read')
        ? client.listAdministrators({ limit: 1000 }).then((p) => new Map(p.items.map((a) => [a.id, a.name])))
        : Promise.resolve(new Map<string, string>()),
    ]);
    const policy = readArchivePolicy(layer?.document as Record<string, unknown> | undefined);
    const keyFingerprint = policy.on
      ? await archiveKeyFingerprint(await getProvider(), policy.publicKey)
      : undefined;
    return {
      keySets,
      policy,
      keyFingerprint,
      layer:
        layer === undefined
          ? undefined
          : { sequence: layer.sequence, issuedAtMs: layer.issuedAtMs, admin: layer.admin },
      names,
    };
  }, [client]);
  const [form, setForm] = useState<ScopeForm>(formOf(undefined));
  const current = state.data;
  useEffect(() => {
    if (current !== undefined) setForm(formOf(current.policy.on ? current.policy.scope : undefined));
  }, [current]);

  return (
    <Page title={t('archive.title')} intro={t('archive.intro')}>
      {state.error !== undefined ? (
        <ErrorNotice error={state.error} onRetry={state.reload} />
      ) : current === undefined ? (
        <Loading />
      ) : (
        <>
          <KeySets state={current} />
          <PolicyPanel state={current} />
          {current.policy.on ? <ScopeEditor form={form} setForm={setForm} onSaved={state.reload} /> : null}
          <Preview state={current} draft={draftOfForm(form)} />
        </>
      )}
    </Page>
  );
}

function KeySets(props: { readonly state: ArchiveState }) {
  const t = useT();
  const time = useFormatTime();
  const { keySets, policy, keyFingerprint, names } = props.state;
  return (
    <Section title={t('archive.keySets')} id="archive-key-sets">
      {keySets.length === 0 ? (
        <Alert severity="info">{t('archive.keySetsEmpty')}</Alert>
      ) : (
        <TableContainer component={Paper} variant="outlined">
          <Table size="small" aria-label={t('archive.keySets')}>
            <TableHead>
              <TableRow>
                <TableCell>{t('archive.label')}</TableCell>
                <TableCell>{t('archive.fingerprint')}</TableCell>
                <TableCell>{t('archive.threshold')}</TableCell>
                <TableCell>{t('archive.holders')}</TableCell>
                <TableCell>{t('archive.createdAt')}</TableCell>
                <TableCell>{t('archive.createdBy')}</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {keySets.map((k) => {
                const used =
                  policy.on &&
                  (k.fingerprint === keyFingerprint ||
                    (policy.keySetId !== undefined && policy.keySetId === k.id));
                return (
                  <TableRow key={k.id} sx={{ verticalAlign: 'top' }}>
                    <TableCell>
                      <Stack spacing={0.5}>
                        <span>{k.label ?? k.id}</span>
                        <Typography variant="caption" color="text.secondary">
                          {t('archive.id')}: {k.id}
                        </Typography>
                        {used ? <Chip size="small" color="success" label={t('archive.inUse')} /> : null}
                      </Stack>
                    </TableCell>
                    <TableCell sx={{ fontFamily: 'monospace', overflowWrap: 'anywhere' }}>
                      {k.fingerprint}
                    </TableCell>
                    <TableCell>{t('archive.kOfN', { k: k.threshold, n: k.holders.length })}</TableCell>
                    <TableCell>{k.holders.join(', ')}</TableCell>
                    <TableCell sx={{ whiteSpace: 'nowrap' }}>{time(k.createdAt)}</TableCell>
                    <TableCell>{names.get(k.createdBy) ?? k.createdBy}</TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        </TableContainer>
      )}
    </Section>
  );
}

/** The scope as fields: lists, window, or "everyone". */
function scopeFields(
  t: ReturnType<typeof useT>,
  time: (ms: number | undefined) => string,
  scope: ArchiveScope | undefined,
) {
  const lists = scope?.users !== undefined || scope?.pools !== undefined;
  return {
    [t('archive.users')]: lists
      ? scope?.users?.length
        ? scope.users
        : t('archive.nobody')
      : t('archive.scopeAll'),
    [t('archive.pools')]: lists
      ? scope?.pools?.length
        ? scope.pools
        : t('archive.nobody')
      : t('archive.scopeAll'),
    [t('archive.from')]: scope?.from === undefined ? t('archive.open') : time(scope.from),
    [t('archive.until')]: scope?.until === undefined ? t('archive.open') : time(scope.until),
  };
}

function PolicyPanel(props: { readonly state: ArchiveState }) {
  const t = useT();
  const time = useFormatTime();
  const { policy, keyFingerprint, layer, names } = props.state;
  return (
    <Section title={t('archive.policy')} id="archive-policy">
      <Paper variant="outlined" sx={{ p: 2 }}>
        {!policy.on ? (
          <Alert severity="info">{t('archive.policyOff')}</Alert>
        ) : (
          <Stack spacing={2}>
            <FieldList
              fields={{
                [t('archive.state')]: t('archive.on'),
                [t('archive.keyFingerprint')]: keyFingerprint ?? '',
                [t('archive.auditors')]:
                  policy.auditors === undefined
                    ? t('common.none')
                    : `${t('archive.kOfN', { k: policy.auditors.threshold, n: policy.auditors.holders.length })}: ${policy.auditors.holders.join(', ')}`,
                [t('archive.retention')]:
                  policy.retentionMs === undefined
                    ? t('archive.retentionDefault')
                    : t('archive.retentionDays', { days: Math.round(policy.retentionMs / DAY_MS) }),
              }}
            />
            <Typography variant="h6" component="h3">
              {t('archive.scope')}
            </Typography>
            <FieldList fields={scopeFields(t, (ms) => time(ms), policy.scope)} />
            {layer === undefined ? null : (
              <Typography variant="body2" color="text.secondary">
                {t('archive.signedBy', {
                  admin: names.get(layer.admin) ?? layer.admin,
                  sequence: layer.sequence,
                  at: time(layer.issuedAtMs),
                })}
              </Typography>
            )}
          </Stack>
        )}
      </Paper>
    </Section>
  );
}

function ScopeEditor(props: {
  readonly form: ScopeForm;
  readonly setForm: (f: ScopeForm) => void;
  readonly onSaved: () => void;
}) {
  const t = useT();
  const notify = useNotify();
  const portal = usePortal();
  const allowed = portal.can('archive.key') && portal.can('policy.write');
  const { form, setForm } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  if (!allowed) {
    return (
      <Section title={t('archive.edit.title')} id="archive-edit">
        <Alert severity="info">{t('archive.edit.notAllowed')}</Alert>
      </Section>
    );
  }
  const save = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    let scope: ArchiveScope | undefined;
    try {
      scope = scopeOf(draftOfForm(form));
    } catch (e) {
      setError(e);
      return;
    }
    setBusy(true);
    try {
      const published = await portal.withStepUp(async () => {
        const signer = await portal.signer();
        // The newest tenant document, read right before signing: other features stay as they are.
        const layer = await portal.client.restrictions.get({ layer: 'tenant' });
        const document = (layer?.document ?? {}) as Record<string, SignedPolicyFeature>;
        return signPolicyLayer(signer, { layer: 'tenant' }, withArchiveScope(document, scope));
      });
      notify(t('archive.edit.saved', { sequence: published.sequence }), { type: 'success' });
      props.onSaved();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title={t('archive.edit.title')} id="archive-edit">
      <Paper variant="outlined" sx={{ p: 2 }}>
        <Box component="form" onSubmit={save} aria-label={t('archive.edit.title')}>
          <Stack spacing={2}>
            <Typography variant="body2">{t('archive.edit.intro')}</Typography>
            <FormControlLabel
              control={
                <Checkbox
                  checked={form.everyone}
                  onChange={(e) => setForm({ ...form, everyone: e.target.checked })}
                />
              }
              label={t('archive.edit.everyone')}
            />
            <Stack direction={{ xs: 'column', md: 'row' }} spacing={2}>
              <TextField
                label={t('archive.edit.users')}
                helperText={t('archive.edit.usersHelp')}
                value={form.usersText}
                disabled={form.everyone}
                multiline
                minRows={3}
                fullWidth
                onChange={(e) => setForm({ ...form, usersText: e.target.value })}
              />
              <TextField
                label={t('archive.edit.pools')}
                helperText={t('archive.edit.poolsHelp')}
                value={form.poolsText}
                disabled={form.everyone}
                multiline
                minRows={3}
                fullWidth
                onChange={(e) => setForm({ ...form, poolsText: e.target.value })}
              />
            </Stack>
            <Stack direction="row" spacing={2}>
              <TextField
                label={t('archive.edit.from')}
                type="datetime-local"
                value={form.fromText}
                slotProps={{ inputLabel: { shrink: true } }}
                onChange={(e) => setForm({ ...form, fromText: e.target.value })}
              />
              <TextField
                label={t('archive.edit.until')}
                type="datetime-local"
                value={form.untilText}
                slotProps={{ inputLabel: { shrink: true } }}
                onChange={(e) => setForm({ ...form, untilText: e.target.value })}
              />
            </Stack>
            {error === undefined ? null : <Alert severity="error">{errorText(t, error)}</Alert>}
            <Box>
              <Button type="submit" variant="contained" disabled={busy}>
                {t('archive.edit.save')}
              </Button>
            </Box>
          </Stack>
        </Box>
      </Paper>
    </Section>
  );
}

interface PreviewResult {
  readonly a: string;
  readonly b: string;
  readonly aIn: boolean;
  readonly bIn: boolean;
  readonly aToB: ConversationArchiveState;
  readonly bToA: ConversationArchiveState;
}

function Preview(props: { readonly state: ArchiveState; readonly draft: ScopeDraft }) {
  const t = useT();
  const time = useFormatTime();
  const { client, can } = usePortal();
  const [a, setA] = useState('');
  const [b, setB] = useState('');
  const [result, setResult] = useState<PreviewResult | undefined>(undefined);
  const [error, setError] = useState<{ text: string } | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const { policy, keyFingerprint } = props.state;
  if (!can('users.read')) {
    return (
      <Section title={t('archive.preview.title')} id="archive-preview">
        <Alert severity="info">{t('archive.preview.noUsersRead')}</Alert>
      </Section>
    );
  }
  const show = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setResult(undefined);
    let scope: ArchiveScope | undefined;
    try {
      scope = policy.on ? scopeOf(props.draft) : undefined;
    } catch (e) {
      setError({ text: errorText(t, e) });
      return;
    }
    setBusy(true);
    try {
      const load = async (id: string) => {
        try {
          return await client.getUser(id);
        } catch (e) {
          if ((e as { code?: unknown }).code === 'ERR_NOT_FOUND') throw new UnknownUser(id);
          throw e;
        }
      };
      const [ua, ub] = await Promise.all([load(a.trim()), load(b.trim())]);
      const pa = { userId: ua.id, pools: ua.pools };
      const pb = { userId: ub.id, pools: ub.pools };
      const now = Date.now();
      setResult({
        a: ua.id,
        b: ub.id,
        aIn: inScope(scope, pa),
        bIn: inScope(scope, pb),
        aToB: indicatorFor(policy, keyFingerprint, pa, pb, now, scope),
        bToA: indicatorFor(policy, keyFingerprint, pb, pa, now, scope),
      });
    } catch (e) {
      setError({
        text: e instanceof UnknownUser ? t('archive.preview.unknownUser', { user: e.user }) : errorText(t, e),
      });
    } finally {
      setBusy(false);
    }
  };
  const outsideWindow =
    policy.on &&
    ((props.draft.from !== undefined && Date.now() < props.draft.from) ||
      (props.draft.until !== undefined && Date.now() >= props.draft.until));
  const indicator = (from: string, to: string, s: ConversationArchiveState) => (
    <Paper variant="outlined" sx={{ p: 2, flex: 1 }}>
      <Typography variant="subtitle1" component="h3" sx={{ fontWeight: 600, mb: 1 }}>
        {t('archive.preview.sees', { user: from, peer: to })}
      </Typography>
      {!s.on ? (
        <Alert severity="info" icon={false}>
          {t('archive.preview.offText')}
        </Alert>
      ) : (
        <Stack spacing={1}>
          <Alert severity="warning" icon={false} sx={{ overflowWrap: 'anywhere' }}>
            {t('archive.preview.onText', { fingerprint: s.keyFingerprint })}
          </Alert>
          <FieldList
            fields={{
              [t('archive.state')]: t('archive.on'),
              [t('archive.preview.reason')]: `${s.reason} (${t(`archive.preview.reasons.${s.reason}`)})`,
              [t('archive.keyFingerprint')]: s.keyFingerprint,
              [t('archive.preview.until')]: s.until === undefined ? t('archive.open') : time(s.until),
              [t('archive.auditors')]:
                s.auditors === undefined
                  ? t('common.none')
                  : t('archive.preview.auditorsText', { k: s.auditors.threshold, n: s.auditors.total }),
            }}
          />
        </Stack>
      )}
    </Paper>
  );
  return (
    <Section title={t('archive.preview.title')} id="archive-preview">
      <Paper variant="outlined" sx={{ p: 2 }}>
        <Stack spacing={2}>
          <Typography variant="body2">{t('archive.preview.intro')}</Typography>
          {!policy.on ? <Alert severity="info">{t('archive.preview.noKey')}</Alert> : null}
          {outsideWindow ? <Alert severity="info">{t('archive.preview.outsideWindow')}</Alert> : null}
          <Box component="form" onSubmit={show} aria-label={t('archive.preview.title')}>
            <Stack direction={{ xs: 'column', sm: 'row' }} spacing={2} alignItems="flex-start">
              <TextField
                label={t('archive.preview.userA')}
                value={a}
                onChange={(e) => setA(e.target.value)}
                size="small"
                required
              />
              <TextField
                label={t('archive.preview.userB')}
                value={b}
                onChange={(e) => setB(e.target.value)}
                size="small"
                required
              />
              <Button type="submit" variant="contained" disabled={busy}>
                {t('archive.preview.button')}
              </Button>
            </Stack>
          </Box>
          {error === undefined ? null : <Alert severity="error">{error.text}</Alert>}
          {result === undefined ? null : (
            <Stack spacing={2} aria-live="polite">
              <Stack direction="row" spacing={1}>
                <Chip
                  label={t(result.aIn ? 'archive.preview.inScope' : 'archive.preview.notInScope', {
                    user: result.a,
                  })}
                />
                <Chip
                  label={t(result.bIn ? 'archive.preview.inScope' : 'archive.preview.notInScope', {
                    user: result.b,
                  })}
                />
              </Stack>
              <Stack direction={{ xs: 'column', md: 'row' }} spacing={2}>
                {indicator(result.a, result.b, result.aToB)}
                {indicator(result.b, result.a, result.bToA)}
              </Stack>
            </Stack>
          )}
        </Stack>
      </Paper>
    </Section>
  );
}

class UnknownUser extends Error {
  constructor(readonly user: string) {
    super('unknown user');
  }
}
