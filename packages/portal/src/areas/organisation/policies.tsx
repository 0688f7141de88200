/**
 * The policies screen (`#/policies`): the signed policy layers (tenant, pool, group, user). For a
 * chosen layer and target it shows who signed the current layer, when, and its sequence; the
 * layer as a form (each well-known restriction: whether this layer sets it, its value and its
 * lock; the layer's other features: on/off and lock); settings a less specific layer locks are
 * shown as such and cannot be changed here. Publishing signs the document in this browser
 * (`signPolicyLayer` with the session's signer; `policy.write`). Reading needs `policy.read`.
 *
 * @module
 */
import { groupTarget, type PolicyLayerTarget, type RestrictionLayer, signPolicyLayer } from '@cloister/admin';
import { ARCHIVE_FEATURE, NOTIFICATION_PREVIEWS, RESTRICTIONS } from '@cloister/protocol';
import LockIcon from '@mui/icons-material/Lock';
import {
  Alert,
  Box,
  Button,
  Checkbox,
  Chip,
  FormControl,
  FormControlLabel,
  FormGroup,
  FormHelperText,
  FormLabel,
  InputLabel,
  MenuItem,
  Paper,
  Radio,
  RadioGroup,
  Select,
  Switch,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { type FormEvent, useCallback, useEffect, useId, useMemo, useState } from 'react';
import { Title, useLocaleState, useNotify, useTranslate } from 'react-admin';
import { usePortal } from '../../session/use-portal.js';
import { allPages, ErrorAlert, errorMessage, formatTime, K, Loading } from './common.js';
import {
  type DurationField,
  type DurationUnit,
  documentOfForm,
  EDITABLE_RESTRICTIONS,
  type EditableRestriction,
  formOfLayer,
  type LockSource,
  locksAbove,
  MEDIA_GROUPS,
  type PolicyForm,
  type RestrictionRow,
  type RowValues,
  rowProblem,
} from './policy-form.js';
import { loadPools, type PoolRow } from './pools.js';

type LayerKind = 'tenant' | 'pool' | 'group' | 'user';

/** The layer and target being edited (`target`: the pool or user id, or the group layer's target). */
interface Selected {
  readonly layer: LayerKind;
  readonly target: string | null;
}

/** Text for screen readers only. */
const VISUALLY_HIDDEN = {
  border: 0,
  clip: 'rect(0 0 0 0)',
  height: '1px',
  margin: '-1px',
  overflow: 'hidden',
  padding: 0,
  position: 'absolute',
  whiteSpace: 'nowrap',
  width: '1px',
} as const;

/** A message-key-safe form of a restriction name (`files.send` → `files_send`). */
const keyOf = (name: string) => name.replace(/\./g, '_');

/** The policies screen. */
export function PoliciesScreen() {
  const translate = useTranslate();
  const [locale] = useLocaleState();
  const session = usePortal();
  const canWrite = session.can('policy.write');
  const [layers, setLayers] = useState<RestrictionLayer[] | undefined>();
  const [pools, setPools] = useState<PoolRow[]>([]);
  const [admins, setAdmins] = useState<ReadonlyMap<string, string>>(new Map());
  const [error, setError] = useState<unknown>();
  const [selected, setSelected] = useState<Selected>({ layer: 'tenant', target: null });

  const reload = useCallback(async () => {
    setError(undefined);
    try {
      setLayers(await session.client.restrictions.layers());
    } catch (e) {
      setError(e);
      setLayers((l) => l ?? []);
    }
  }, [session.client]);

  useEffect(() => {
    void reload();
    if (session.can('users.read')) void loadPools(session.client).then(setPools, () => undefined);
    if (session.can('admins.read')) {
      void allPages((after) =>
        session.client.listAdministrators({ limit: 1000, ...(after ? { after } : {}) }),
      ).then(
        (list) => setAdmins(new Map(list.map((a) => [a.id, `${a.name} (${a.email})`]))),
        () => undefined,
      );
    }
  }, [reload, session]);

  const poolName = (id: string | null) => pools.find((p) => p.id === id)?.name ?? id ?? '';
  const describe = (l: { layer: LayerKind; target: string | null }) =>
    l.layer === 'tenant'
      ? translate(`${K}.policies.layer_tenant`)
      : l.layer === 'pool'
        ? translate(`${K}.policies.layer_pool_named`, { name: poolName(l.target) })
        : l.layer === 'group'
          ? translate(`${K}.policies.layer_group_named`, { name: l.target ?? '' })
          : translate(`${K}.policies.layer_user_named`, { name: l.target ?? '' });

  return (
    <Box sx={{ p: 2 }}>
      <Title title={translate(`${K}.policies.title`)} />
      <Typography sx={{ mb: 2 }}>{translate(`${K}.policies.intro`)}</Typography>
      <ErrorAlert error={error} />
      <TargetPicker selected={selected} onSelect={setSelected} pools={pools} />
      {layers === undefined ? (
        <Loading label={translate(`${K}.policies.loading`)} />
      ) : (
        <>
          {selected.layer === 'tenant' || selected.target !== null ? (
            <LayerEditor
              key={`${selected.layer}/${selected.target ?? ''}`}
              selected={selected}
              title={describe(selected)}
              layers={layers}
              admins={admins}
              canWrite={canWrite}
              onPublished={reload}
            />
          ) : (
            <Alert severity="info" sx={{ my: 2 }}>
              {translate(`${K}.policies.choose_target`)}
            </Alert>
          )}
          <Typography variant="h5" component="h2" sx={{ mt: 4, mb: 1 }}>
            {translate(`${K}.policies.stored_title`)}
          </Typography>
          {layers.length === 0 ? (
            <Alert severity="info">{translate(`${K}.policies.stored_empty`)}</Alert>
          ) : (
            <TableContainer component={Paper}>
              <Table size="small" aria-label={translate(`${K}.policies.stored_title`)}>
                <TableHead>
                  <TableRow>
                    <TableCell component="th">{translate(`${K}.policies.layer`)}</TableCell>
                    <TableCell component="th" align="right">
                      {translate(`${K}.policies.sequence`)}
                    </TableCell>
                    <TableCell component="th">{translate(`${K}.policies.signed_by`)}</TableCell>
                    <TableCell component="th">{translate(`${K}.policies.signed_at`)}</TableCell>
                    <TableCell component="th">{translate(`${K}.policies.settings_count`)}</TableCell>
                    <TableCell component="th">
                      <Box component="span" sx={VISUALLY_HIDDEN}>
                        {translate(`${K}.policies.open`)}
                      </Box>
                    </TableCell>
                  </TableRow>
                </TableHead>
                <TableBody>
                  {layers.map((l) => (
                    <TableRow key={`${l.layer}/${l.target ?? ''}`}>
                      <TableCell>{describe(l)}</TableCell>
                      <TableCell align="right">{l.sequence}</TableCell>
                      <TableCell>{admins.get(l.admin) ?? l.admin}</TableCell>
                      <TableCell>{formatTime(l.issuedAtMs, locale)}</TableCell>
                      <TableCell>
                        {translate(`${K}.policies.features_count`, {
                          smart_count: Object.keys(l.document).length,
                        })}
                      </TableCell>
                      <TableCell>
                        <Button
                          size="small"
                          onClick={() => setSelected({ layer: l.layer, target: l.target })}
                          aria-label={translate(`${K}.policies.open_named`, { name: describe(l) })}
                        >
                          {translate(`${K}.policies.open`)}
                        </Button>
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </TableContainer>
          )}
        </>
      )}
    </Box>
  );
}

/** Choosing the layer and its target. */
function TargetPicker(props: {
  readonly selected: Selected;
  readonly onSelect: (s: Selected) => void;
  readonly pools: readonly PoolRow[];
}) {
  const translate = useTranslate();
  const [layer, setLayer] = useState<LayerKind>(props.selected.layer);
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  useEffect(() => {
    setLayer(props.selected.layer);
    if (props.selected.layer === 'user' || props.selected.layer === 'group')
      setText(props.selected.target ?? '');
  }, [props.selected]);

  const open = (event: FormEvent) => {
    event.preventDefault();
    setProblem(undefined);
    const value = text.trim();
    if (value === '') return;
    if (layer === 'group') {
      try {
        props.onSelect({ layer, target: groupTarget(value) });
      } catch {
        setProblem(translate(`${K}.policies.group_invalid`));
      }
    } else props.onSelect({ layer: 'user', target: value });
  };

  return (
    <Paper sx={{ p: 2, mb: 2 }} component="section" aria-labelledby="org-policy-target">
      <Typography variant="h6" component="h2" id="org-policy-target">
        {translate(`${K}.policies.target_title`)}
      </Typography>
      <FormControl component="fieldset">
        <FormLabel component="legend">{translate(`${K}.policies.layer`)}</FormLabel>
        <RadioGroup
          row
          value={layer}
          onChange={(e) => {
            const next = e.target.value as LayerKind;
            setLayer(next);
            setText('');
            setProblem(undefined);
            props.onSelect({ layer: next, target: null });
          }}
        >
          {(['tenant', 'pool', 'group', 'user'] as const).map((l) => (
            <FormControlLabel
              key={l}
              value={l}
              control={<Radio />}
              label={translate(`${K}.policies.layer_${l}`)}
            />
          ))}
        </RadioGroup>
        <FormHelperText>{translate(`${K}.policies.layer_help_${layer}`)}</FormHelperText>
      </FormControl>
      {layer === 'pool' &&
        (props.pools.length === 0 ? (
          <Alert severity="info" sx={{ mt: 1 }}>
            {translate(`${K}.policies.no_pools`)}
          </Alert>
        ) : (
          <FormControl sx={{ mt: 2, minWidth: 280 }}>
            <InputLabel id="org-policy-pool-label">{translate(`${K}.policies.pool`)}</InputLabel>
            <Select
              labelId="org-policy-pool-label"
              label={translate(`${K}.policies.pool`)}
              value={props.selected.layer === 'pool' ? (props.selected.target ?? '') : ''}
              onChange={(e) => props.onSelect({ layer: 'pool', target: String(e.target.value) })}
            >
              {props.pools.map((p) => (
                <MenuItem key={p.id} value={p.id}>
                  {p.name}
                </MenuItem>
              ))}
            </Select>
          </FormControl>
        ))}
      {(layer === 'user' || layer === 'group') && (
        <Box
          component="form"
          onSubmit={open}
          sx={{ display: 'flex', gap: 2, alignItems: 'flex-start', mt: 2 }}
        >
          <TextField
            label={translate(layer === 'user' ? `${K}.policies.user` : `${K}.policies.group`)}
            value={text}
            onChange={(e) => setText(e.target.value)}
            error={problem !== undefined}
            helperText={
              problem ?? translate(layer === 'user' ? `${K}.policies.user_help` : `${K}.policies.group_help`)
            }
            sx={{ minWidth: 320 }}
          />
          <Button type="submit" variant="outlined" sx={{ mt: 1 }}>
            {translate(`${K}.policies.open_target`)}
          </Button>
        </Box>
      )}
    </Paper>
  );
}

/** The form of one layer, with its signer, sequence and the publish button. */
function LayerEditor(props: {
  readonly selected: Selected;
  readonly title: string;
  readonly layers: readonly RestrictionLayer[];
  readonly admins: ReadonlyMap<string, string>;
  readonly canWrite: boolean;
  readonly onPublished: () => Promise<void>;
}) {
  const translate = useTranslate();
  const notify = useNotify();
  const [locale] = useLocaleState();
  const session = usePortal();
  const { layer: kind, target } = props.selected;
  const current = props.layers.find((l) => l.layer === kind && l.target === target);
  const [form, setForm] = useState<PolicyForm>(() => formOfLayer(current));
  // A newer signed layer (published here or elsewhere, then reloaded): the form shows it.
  const [shownSequence, setShownSequence] = useState(current?.sequence);
  if (current?.sequence !== shownSequence) {
    setShownSequence(current?.sequence);
    setForm(formOfLayer(current));
  }
  const [userPools, setUserPools] = useState<readonly string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [published, setPublished] = useState<number | undefined>();

  useEffect(() => {
    if (kind !== 'user' || target === null || !session.can('users.read')) return;
    void session.client.getUser(target).then(
      (u) => setUserPools(u.pools),
      (e) => setError(e),
    );
  }, [kind, target, session]);

  const locks = useMemo(
    () => locksAbove(props.layers, { layer: kind, userPools }),
    [props.layers, kind, userPools],
  );
  const problems = EDITABLE_RESTRICTIONS.map((n) => rowProblem(n, form.rows[n])).filter(
    (p) => p !== undefined,
  );
  const dropped = [...new Set((current?.problems ?? []).map((p) => p.feature))];
  const hasArchive = kind === 'tenant' && current?.document[ARCHIVE_FEATURE] !== undefined;
  const mayPublish = props.canWrite && (!hasArchive || session.can('archive.key'));

  const setRow = (name: EditableRestriction, row: Partial<RestrictionRow>) =>
    setForm((f) => ({ ...f, rows: { ...f.rows, [name]: { ...f.rows[name], ...row } } }));
  const setValues = (name: EditableRestriction, values: Partial<RowValues>) =>
    setForm((f) => ({
      ...f,
      rows: { ...f.rows, [name]: { ...f.rows[name], values: { ...f.rows[name].values, ...values } } },
    }));

  const publish = async (event: FormEvent) => {
    event.preventDefault();
    if (problems.length > 0) return;
    setBusy(true);
    setError(undefined);
    try {
      const document = documentOfForm(kind, form, current?.document ?? {}, dropped);
      const layerTarget: PolicyLayerTarget =
        kind === 'tenant' ? { layer: 'tenant' } : { layer: kind, target: target as string };
      const signer = await session.signer();
      const sign = () => signPolicyLayer(signer, layerTarget, document);
      const answer = hasArchive ? await session.withStepUp(sign) : await sign();
      setPublished(answer.sequence);
      notify(translate(`${K}.policies.published`, { sequence: answer.sequence }), { type: 'success' });
      await props.onPublished();
    } catch (e) {
      setError(e);
      notify(errorMessage(translate, e), { type: 'error' });
    } finally {
      setBusy(false);
    }
  };

  const disabled = !mayPublish || busy;

  return (
    <Paper component="section" sx={{ p: 2, mb: 2 }} aria-labelledby="org-policy-layer-title">
      <Typography variant="h5" component="h2" id="org-policy-layer-title">
        {props.title}
      </Typography>
      {current === undefined ? (
        <Alert severity="info" sx={{ my: 1 }}>
          {translate(`${K}.policies.none_yet`)}
        </Alert>
      ) : (
        <Typography sx={{ my: 1 }} data-testid="org-policy-signature">
          {translate(`${K}.policies.signature`, {
            sequence: current.sequence,
            admin: props.admins.get(current.admin) ?? current.admin,
            time: formatTime(current.issuedAtMs, locale),
          })}
        </Typography>
      )}
      {published !== undefined && (
        <Alert severity="success" sx={{ my: 1 }}>
          {translate(`${K}.policies.published`, { sequence: published })}
        </Alert>
      )}
      {dropped.length > 0 && (
        <Alert severity="warning" sx={{ my: 1 }}>
          {translate(`${K}.policies.malformed`, { features: dropped.join(', ') })}
        </Alert>
      )}
      {hasArchive && (
        <Alert severity="info" sx={{ my: 1 }}>
          {translate(
            session.can('archive.key') ? `${K}.policies.archive_step_up` : `${K}.policies.archive_owner_only`,
          )}
        </Alert>
      )}
      {!props.canWrite && (
        <Alert severity="info" sx={{ my: 1 }}>
          {translate(`${K}.policies.read_only`)}
        </Alert>
      )}
      <ErrorAlert error={error} onClose={() => setError(undefined)} />
      <Box component="form" onSubmit={publish} noValidate>
        <Typography variant="h6" component="h3" sx={{ mt: 2 }}>
          {translate(`${K}.policies.restrictions_title`)}
        </Typography>
        {EDITABLE_RESTRICTIONS.map((name) => (
          <RestrictionEditor
            key={name}
            name={name}
            row={form.rows[name]}
            lock={locks.get(name)}
            lockable={kind !== 'user'}
            disabled={disabled}
            problem={rowProblem(name, form.rows[name])}
            onRow={(r) => setRow(name, r)}
            onValues={(v) => setValues(name, v)}
          />
        ))}
        {(form.others.length > 0 || hasArchive) && (
          <>
            <Typography variant="h6" component="h3" sx={{ mt: 3 }}>
              {translate(`${K}.policies.other_title`)}
            </Typography>
            {hasArchive && (
              <Typography sx={{ my: 1 }}>
                {translate(
                  current?.document[ARCHIVE_FEATURE]?.enabled === true
                    ? `${K}.policies.archive_on`
                    : `${K}.policies.archive_off`,
                )}
              </Typography>
            )}
            {form.others.map((o, i) => {
              const lock = locks.get(o.name);
              return (
                <Box
                  key={o.name}
                  role="group"
                  aria-label={o.name}
                  sx={{ display: 'flex', flexWrap: 'wrap', alignItems: 'center', gap: 2, py: 1 }}
                >
                  <Typography sx={{ minWidth: 220 }}>
                    <code>{o.name}</code>
                  </Typography>
                  <FormControlLabel
                    control={
                      <Switch
                        checked={o.enabled}
                        disabled={disabled || lock !== undefined}
                        onChange={(e) =>
                          setForm((f) => ({
                            ...f,
                            others: f.others.map((x, j) =>
                              j === i ? { ...x, enabled: e.target.checked } : x,
                            ),
                          }))
                        }
                      />
                    }
                    label={translate(`${K}.policies.feature_on`, { name: o.name })}
                  />
                  <FormControlLabel
                    control={
                      <Checkbox
                        checked={o.locked}
                        disabled={disabled || lock !== undefined || kind === 'user'}
                        onChange={(e) =>
                          setForm((f) => ({
                            ...f,
                            others: f.others.map((x, j) =>
                              j === i ? { ...x, locked: e.target.checked } : x,
                            ),
                          }))
                        }
                      />
                    }
                    label={translate(`${K}.policies.lock_named`, { name: o.name })}
                  />
                  {o.hasConfig && (
                    <Typography variant="body2">{translate(`${K}.policies.config_kept`)}</Typography>
                  )}
                  {lock !== undefined && <LockNote lock={lock} />}
                </Box>
              );
            })}
          </>
        )}
        {mayPublish && (
          <Box sx={{ display: 'flex', gap: 2, mt: 3 }}>
            <Button type="submit" variant="contained" disabled={busy || problems.length > 0}>
              {translate(`${K}.policies.publish`)}
            </Button>
            <Button onClick={() => setForm(formOfLayer(current))} disabled={busy}>
              {translate(`${K}.policies.discard`)}
            </Button>
          </Box>
        )}
      </Box>
    </Paper>
  );
}

function LockNote(props: { readonly lock: LockSource }) {
  const translate = useTranslate();
  return (
    <Chip
      size="small"
      variant="outlined"
      icon={<LockIcon />}
      label={
        props.lock.layer === 'tenant'
          ? translate(`${K}.policies.locked_by_tenant`)
          : translate(`${K}.policies.locked_by_pool`, { name: props.lock.target ?? '' })
      }
    />
  );
}

/** One restriction: set in this layer or inherited, its value, its lock. */
function RestrictionEditor(props: {
  readonly name: EditableRestriction;
  readonly row: RestrictionRow;
  readonly lock: LockSource | undefined;
  readonly lockable: boolean;
  readonly disabled: boolean;
  readonly problem: string | undefined;
  readonly onRow: (row: Partial<RestrictionRow>) => void;
  readonly onValues: (values: Partial<RowValues>) => void;
}) {
  const translate = useTranslate();
  const { name, row } = props;
  const label = translate(`${K}.restrictions.${keyOf(name)}.label`);
  // A locked lifetime may still be shortened below (`spec/restrictions.md` §1).
  const lockedAbove = props.lock !== undefined && name !== 'messages.lifetime';
  const off = props.disabled || lockedAbove;
  const valueOff = off || !row.set;
  const v = row.values;
  return (
    <Box
      role="group"
      aria-label={label}
      sx={{ borderTop: 1, borderColor: 'divider', py: 1.5, display: 'flex', flexDirection: 'column', gap: 1 }}
    >
      <Box sx={{ display: 'flex', flexWrap: 'wrap', alignItems: 'center', gap: 2 }}>
        <Typography sx={{ fontWeight: 600, minWidth: 240 }}>{label}</Typography>
        <Typography variant="body2" color="text.secondary">
          {translate(`${K}.policies.enforced_by_${RESTRICTIONS[name].enforcedBy}`)}
        </Typography>
        {props.lock !== undefined && <LockNote lock={props.lock} />}
      </Box>
      <Typography variant="body2">{translate(`${K}.restrictions.${keyOf(name)}.help`)}</Typography>
      <Box sx={{ display: 'flex', flexWrap: 'wrap', alignItems: 'center', gap: 2 }}>
        <FormControlLabel
          control={
            <Switch
              checked={row.set}
              disabled={off}
              onChange={(e) => props.onRow({ set: e.target.checked })}
            />
          }
          label={translate(`${K}.policies.set_here`, { name: label })}
        />
        <FormControlLabel
          control={
            <Checkbox
              checked={row.set && row.locked}
              disabled={valueOff || !props.lockable}
              onChange={(e) => props.onRow({ locked: e.target.checked })}
            />
          }
          label={translate(`${K}.policies.lock_named`, { name: label })}
        />
      </Box>
      {row.set ? (
        <Box sx={{ pl: 2 }}>
          <ValueEditor {...props} disabled={valueOff} label={label} values={v} />
          {props.problem !== undefined && (
            <FormHelperText error>{translate(`${K}.policies.invalid.${props.problem}`)}</FormHelperText>
          )}
        </Box>
      ) : (
        <Typography variant="body2" color="text.secondary" sx={{ pl: 2 }}>
          {translate(`${K}.policies.inherited`)}
        </Typography>
      )}
      {props.lock !== undefined && name === 'messages.lifetime' && (
        <Typography variant="body2">{translate(`${K}.policies.lifetime_shorten_only`)}</Typography>
      )}
    </Box>
  );
}

function ValueEditor(props: {
  readonly name: EditableRestriction;
  readonly label: string;
  readonly values: RowValues;
  readonly disabled: boolean;
  readonly onValues: (values: Partial<RowValues>) => void;
}) {
  const translate = useTranslate();
  const { name, values: v, disabled, label } = props;
  switch (name) {
    case 'media.send':
      return (
        <FormControl component="fieldset" disabled={disabled}>
          <FormLabel component="legend">{translate(`${K}.policies.media_legend`)}</FormLabel>
          <FormGroup row>
            <FormControlLabel
              control={
                <Checkbox
                  checked={v.allTypes}
                  onChange={(e) => props.onValues({ allTypes: e.target.checked })}
                />
              }
              label={translate(`${K}.policies.media_all`)}
            />
            {MEDIA_GROUPS.map((g) => (
              <FormControlLabel
                key={g}
                control={
                  <Checkbox
                    checked={!v.allTypes && v.groups.includes(g)}
                    disabled={disabled || v.allTypes}
                    onChange={(e) =>
                      props.onValues({
                        groups: e.target.checked ? [...v.groups, g] : v.groups.filter((x) => x !== g),
                      })
                    }
                  />
                }
                label={translate(`${K}.policies.media_${g}`)}
              />
            ))}
          </FormGroup>
          <TextField
            size="small"
            sx={{ mt: 1, maxWidth: 520 }}
            label={translate(`${K}.policies.media_extra`)}
            helperText={translate(`${K}.policies.media_extra_help`)}
            value={v.allTypes ? '' : v.extra}
            disabled={disabled || v.allTypes}
            onChange={(e) => props.onValues({ extra: e.target.value })}
          />
          {!v.allTypes && v.groups.length === 0 && v.extra.trim() === '' && (
            <FormHelperText>{translate(`${K}.policies.media_none`)}</FormHelperText>
          )}
        </FormControl>
      );
    case 'notifications.preview':
      return (
        <FormControl size="small" sx={{ minWidth: 280 }} disabled={disabled}>
          <InputLabel id="org-preview-label">{label}</InputLabel>
          <Select
            labelId="org-preview-label"
            label={label}
            value={v.preview}
            onChange={(e) => props.onValues({ preview: e.target.value as RowValues['preview'] })}
          >
            {NOTIFICATION_PREVIEWS.map((p) => (
              <MenuItem key={p} value={p}>
                {translate(`${K}.policies.preview_${p}`)}
              </MenuItem>
            ))}
          </Select>
        </FormControl>
      );
    case 'messages.lifetime':
      return (
        <DurationInput
          label={translate(`${K}.policies.lifetime`)}
          help={translate(`${K}.policies.lifetime_help`)}
          field={v.lifetime}
          disabled={disabled}
          onChange={(lifetime) => props.onValues({ lifetime })}
        />
      );
    case 'disappearing.timer':
      return (
        <Box sx={{ display: 'flex', flexWrap: 'wrap', gap: 3 }}>
          <DurationInput
            label={translate(`${K}.policies.timer_min`)}
            help={translate(`${K}.policies.timer_min_help`)}
            field={v.timerMin}
            disabled={disabled}
            onChange={(timerMin) => props.onValues({ timerMin })}
          />
          <DurationInput
            label={translate(`${K}.policies.timer_max`)}
            help={translate(`${K}.policies.timer_max_help`)}
            field={v.timerMax}
            disabled={disabled}
            onChange={(timerMax) => props.onValues({ timerMax })}
          />
        </Box>
      );
    default:
      return (
        <FormControlLabel
          control={
            <Switch
              checked={v.allowed}
              disabled={disabled}
              onChange={(e) => props.onValues({ allowed: e.target.checked })}
            />
          }
          label={translate(`${K}.restrictions.${keyOf(name)}.allowed`)}
        />
      );
  }
}

function DurationInput(props: {
  readonly label: string;
  readonly help: string;
  readonly field: DurationField;
  readonly disabled: boolean;
  readonly onChange: (field: DurationField) => void;
}) {
  const translate = useTranslate();
  const id = useId();
  return (
    <Box sx={{ display: 'flex', gap: 1, alignItems: 'flex-start' }}>
      <TextField
        size="small"
        label={props.label}
        helperText={props.help}
        value={props.field.amount}
        disabled={props.disabled}
        slotProps={{ htmlInput: { inputMode: 'decimal' } }}
        onChange={(e) => props.onChange({ ...props.field, amount: e.target.value })}
      />
      <FormControl size="small" sx={{ minWidth: 130 }} disabled={props.disabled}>
        <InputLabel id={id}>{translate(`${K}.policies.unit`, { name: props.label })}</InputLabel>
        <Select
          labelId={id}
          label={translate(`${K}.policies.unit`, { name: props.label })}
          value={props.field.unit}
          onChange={(e) => props.onChange({ ...props.field, unit: e.target.value as DurationUnit })}
        >
          {(['minutes', 'hours', 'days'] as const).map((u) => (
            <MenuItem key={u} value={u}>
              {translate(`${K}.policies.unit_${u}`)}
            </MenuItem>
          ))}
        </Select>
      </FormControl>
    </Box>
  );
}
