/**
 * The administrators screen (resource `administrators`, permission `admins.manage`; the shell's
 * menu shows it only then): the tenant's administrators with their role and second factor;
 * inviting a person (role, e-mail, name, initial password) shows once the TOTP QR code, the
 * setup link and secret as text, and the recovery codes, until "I have handed these over";
 * changing a role and removing an administrator ask for a fresh second factor (step-up).
 * Integrations are the compliance area's.
 *
 * @module
 */
import type { AdministratorInvitation, AdministratorView } from '@cloister/admin';
import type { AdminRole } from '@cloister/protocol';
import PersonAddIcon from '@mui/icons-material/PersonAdd';
import {
  Alert,
  Box,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  MenuItem,
  TextField,
  Typography,
} from '@mui/material';
import { toDataURL } from 'qrcode';
import { type FormEvent, useEffect, useState } from 'react';
import {
  Datagrid,
  DateField,
  FunctionField,
  List,
  TextField as RaTextField,
  TopToolbar,
  useNotify,
  useRecordContext,
  useRefresh,
  useTranslate,
} from 'react-admin';
import type { AreaData } from '../areas/area.js';
import { usePortal } from '../session/use-portal.js';
import { describeError } from '../shell/errors.js';
import { NotAllowed } from '../shell/not-allowed.js';

/** The roles a person may be given here. */
export const PERSON_ROLES: readonly Exclude<AdminRole, 'integration'>[] = [
  'owner',
  'admin',
  'user-manager',
  'auditor',
];

/** The data handlers of the `administrators` resource (people only: integrations are listed elsewhere). */
export const ADMINISTRATORS_DATA: AreaData = {
  async getList(session, _resource, params) {
    const items: AdministratorView[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const page = await session.client.listAdministrators({
        limit: 200,
        ...(after === undefined ? {} : { after }),
      });
      items.push(...page.items);
      if (page.next === undefined || page.items.length === 0) break;
      after = page.next;
    }
    const people = items.filter((a) => a.role !== 'integration');
    const { field, order } = params.sort ?? { field: 'name', order: 'ASC' };
    const key = (a: AdministratorView) => String((a as unknown as Record<string, unknown>)[field] ?? '');
    people.sort((a, b) => (order === 'DESC' ? -1 : 1) * key(a).localeCompare(key(b)));
    return { data: people.map((a) => ({ ...a })), total: people.length };
  },
};

function RoleName({ role }: { readonly role: string }) {
  const translate = useTranslate();
  return <>{translate(`portal.roles.${role}`, { _: role })}</>;
}

function RowActions() {
  const record = useRecordContext<AdministratorView>();
  const translate = useTranslate();
  const { identity } = usePortal();
  const [dialog, setDialog] = useState<'role' | 'remove' | undefined>(undefined);
  if (record === undefined) return null;
  const self = record.id === identity.admin;
  return (
    <Box sx={{ display: 'flex', gap: 1 }}>
      <Button
        size="small"
        disabled={self}
        aria-label={translate('portal.admins.change_role_for', { name: record.name })}
        onClick={() => setDialog('role')}
      >
        {translate('portal.admins.change_role')}
      </Button>
      <Button
        size="small"
        color="error"
        disabled={self}
        aria-label={translate('portal.admins.remove_for', { name: record.name })}
        onClick={() => setDialog('remove')}
      >
        {translate('portal.admins.remove')}
      </Button>
      {dialog === 'role' ? <RoleDialog admin={record} onClose={() => setDialog(undefined)} /> : null}
      {dialog === 'remove' ? <RemoveDialog admin={record} onClose={() => setDialog(undefined)} /> : null}
    </Box>
  );
}

function RoleDialog({ admin, onClose }: { readonly admin: AdministratorView; readonly onClose: () => void }) {
  const translate = useTranslate();
  const { client, withStepUp } = usePortal();
  const refresh = useRefresh();
  const notify = useNotify();
  const [role, setRole] = useState<AdminRole>(admin.role);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await withStepUp(() => client.setAdministratorRole(admin.id, role));
      notify(translate('portal.admins.role_changed', { name: admin.name }), { type: 'success' });
      refresh();
      onClose();
    } catch (e) {
      setError(describeError(e, translate));
      setBusy(false);
    }
  };
  return (
    <Dialog open onClose={onClose} aria-labelledby="role-title">
      <form onSubmit={submit}>
        <DialogTitle id="role-title">
          {translate('portal.admins.change_role_title', { name: admin.name })}
        </DialogTitle>
        <DialogContent>
          {error === undefined ? null : (
            <Alert severity="error" role="alert" sx={{ mb: 1 }}>
              {error}
            </Alert>
          )}
          <TextField
            select
            label={translate('portal.admins.role')}
            value={role}
            onChange={(e) => setRole(e.target.value as AdminRole)}
            fullWidth
            margin="dense"
          >
            {PERSON_ROLES.map((r) => (
              <MenuItem key={r} value={r}>
                <RoleName role={r} />
              </MenuItem>
            ))}
          </TextField>
        </DialogContent>
        <DialogActions>
          <Button onClick={onClose}>{translate('portal.session.cancel')}</Button>
          <Button type="submit" variant="contained" disabled={busy || role === admin.role}>
            {translate('portal.admins.change_role')}
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

function RemoveDialog({
  admin,
  onClose,
}: {
  readonly admin: AdministratorView;
  readonly onClose: () => void;
}) {
  const translate = useTranslate();
  const { client, withStepUp } = usePortal();
  const refresh = useRefresh();
  const notify = useNotify();
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog open onClose={onClose} aria-labelledby="remove-title" aria-describedby="remove-text">
      <DialogTitle id="remove-title">
        {translate('portal.admins.remove_title', { name: admin.name })}
      </DialogTitle>
      <DialogContent>
        <DialogContentText id="remove-text">
          {translate('portal.admins.remove_text', { email: admin.email })}
        </DialogContentText>
        {error === undefined ? null : (
          <Alert severity="error" role="alert" sx={{ mt: 1 }}>
            {error}
          </Alert>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>{translate('portal.session.cancel')}</Button>
        <Button
          color="error"
          variant="contained"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            try {
              await withStepUp(() => client.removeAdministrator(admin.id));
              notify(translate('portal.admins.removed', { name: admin.name }), { type: 'success' });
              refresh();
              onClose();
            } catch (e) {
              setError(describeError(e, translate));
              setBusy(false);
            }
          }}
        >
          {translate('portal.admins.remove')}
        </Button>
      </DialogActions>
    </Dialog>
  );
}

type PersonInvitation = Extract<AdministratorInvitation, { totpUri: string }>;

function InviteDialog({ onClose }: { readonly onClose: (invited?: PersonInvitation) => void }) {
  const translate = useTranslate();
  const { client, withStepUp } = usePortal();
  const [role, setRole] = useState<Exclude<AdminRole, 'integration'>>('admin');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const field = (name: string) => {
      const v = data.get(name);
      return typeof v === 'string' ? v : '';
    };
    setBusy(true);
    setError(undefined);
    try {
      const invited = await withStepUp(() =>
        client.inviteAdministrator({
          name: field('name').trim(),
          email: field('email').trim(),
          role,
          password: field('password'),
        }),
      );
      if (!('totpUri' in invited)) throw new Error('not a person');
      onClose(invited);
    } catch (e) {
      setError(describeError(e, translate));
      setBusy(false);
    }
  };
  return (
    <Dialog open onClose={() => onClose()} aria-labelledby="invite-admin-title" maxWidth="sm" fullWidth>
      <form onSubmit={submit}>
        <DialogTitle id="invite-admin-title">{translate('portal.admins.invite_title')}</DialogTitle>
        <DialogContent>
          <DialogContentText>{translate('portal.admins.invite_text')}</DialogContentText>
          {error === undefined ? null : (
            <Alert severity="error" role="alert" sx={{ my: 1 }}>
              {error}
            </Alert>
          )}
          <TextField
            name="name"
            label={translate('portal.admins.name')}
            required
            fullWidth
            margin="dense"
            autoFocus
          />
          <TextField
            name="email"
            type="email"
            label={translate('portal.admins.email')}
            required
            fullWidth
            margin="dense"
          />
          <TextField
            select
            label={translate('portal.admins.role')}
            value={role}
            onChange={(e) => setRole(e.target.value as Exclude<AdminRole, 'integration'>)}
            fullWidth
            margin="dense"
          >
            {PERSON_ROLES.map((r) => (
              <MenuItem key={r} value={r}>
                <RoleName role={r} />
              </MenuItem>
            ))}
          </TextField>
          <TextField
            name="password"
            type="password"
            label={translate('portal.admins.password')}
            helperText={translate('portal.admins.password_help')}
            required
            fullWidth
            margin="dense"
            autoComplete="new-password"
            slotProps={{ htmlInput: { minLength: 12 } }}
          />
        </DialogContent>
        <DialogActions>
          <Button onClick={() => onClose()}>{translate('portal.session.cancel')}</Button>
          <Button type="submit" variant="contained" disabled={busy}>
            {translate('portal.admins.invite')}
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

/** The TOTP secret (base32) of an `otpauth://` URI, for manual entry. */
export function totpSecretOf(uri: string): string {
  try {
    return new URL(uri).searchParams.get('secret') ?? '';
  } catch {
    return '';
  }
}

function HandoverDialog({
  invited,
  onDone,
}: {
  readonly invited: PersonInvitation;
  readonly onDone: () => void;
}) {
  const translate = useTranslate();
  const [qr, setQr] = useState<string | undefined>(undefined);
  useEffect(() => {
    let live = true;
    void toDataURL(invited.totpUri, { errorCorrectionLevel: 'M', margin: 2, width: 220 }).then((url) => {
      if (live) setQr(url);
    });
    return () => {
      live = false;
    };
  }, [invited.totpUri]);
  const name = invited.admin.name;
  return (
    <Dialog open aria-labelledby="handover-title" maxWidth="sm" fullWidth>
      <DialogTitle id="handover-title">{translate('portal.admins.handover_title', { name })}</DialogTitle>
      <DialogContent>
        <Alert severity="warning" sx={{ mb: 2 }}>
          {translate('portal.admins.handover_once')}
        </Alert>
        <Typography component="h3" variant="subtitle1">
          {translate('portal.admins.handover_totp')}
        </Typography>
        {qr === undefined ? null : (
          <Box
            component="img"
            src={qr}
            alt={translate('portal.admins.qr_alt', { name })}
            sx={{ display: 'block', width: 220, height: 220, my: 1 }}
          />
        )}
        <TextField
          label={translate('portal.admins.setup_link')}
          value={invited.totpUri}
          fullWidth
          margin="dense"
          slotProps={{ htmlInput: { readOnly: true, spellCheck: false } }}
        />
        <TextField
          label={translate('portal.admins.secret')}
          value={totpSecretOf(invited.totpUri)}
          fullWidth
          margin="dense"
          slotProps={{ htmlInput: { readOnly: true, spellCheck: false } }}
        />
        <Typography component="h3" variant="subtitle1" sx={{ mt: 2 }}>
          {translate('portal.admins.recovery_codes')}
        </Typography>
        <Box component="ul" sx={{ fontFamily: 'monospace', columns: 2, pl: 3 }}>
          {invited.recoveryCodes.map((code) => (
            <li key={code}>{code}</li>
          ))}
        </Box>
      </DialogContent>
      <DialogActions>
        <Button variant="contained" onClick={onDone}>
          {translate('portal.admins.handed_over')}
        </Button>
      </DialogActions>
    </Dialog>
  );
}

function ListActions() {
  const translate = useTranslate();
  const refresh = useRefresh();
  const [inviting, setInviting] = useState(false);
  const [invited, setInvited] = useState<PersonInvitation | undefined>(undefined);
  return (
    <TopToolbar>
      <Button startIcon={<PersonAddIcon />} variant="contained" onClick={() => setInviting(true)}>
        {translate('portal.admins.invite_button')}
      </Button>
      {inviting ? (
        <InviteDialog
          onClose={(result) => {
            setInviting(false);
            if (result !== undefined) {
              setInvited(result);
              refresh();
            }
          }}
        />
      ) : null}
      {invited === undefined ? null : (
        <HandoverDialog
          invited={invited}
          onDone={() => {
            setInvited(undefined);
            refresh();
          }}
        />
      )}
    </TopToolbar>
  );
}

/** The administrators list. */
export function AdministratorsList() {
  const translate = useTranslate();
  const { can } = usePortal();
  if (!can('admins.manage')) return <NotAllowed />;
  return (
    <List
      title={translate('portal.admins.title')}
      actions={<ListActions />}
      pagination={false}
      exporter={false}
      sort={{ field: 'name', order: 'ASC' }}
      empty={false}
    >
      <Datagrid bulkActionButtons={false} rowClick={false}>
        <RaTextField source="name" label={translate('portal.admins.name')} />
        <RaTextField source="email" label={translate('portal.admins.email')} />
        <FunctionField
          source="role"
          label={translate('portal.admins.role')}
          render={(r: AdministratorView) => <RoleName role={r.role} />}
        />
        <FunctionField
          source="totp"
          sortable={false}
          label={translate('portal.admins.second_factor')}
          render={(r: AdministratorView) => translate(`portal.admins.totp_${r.totp}`)}
        />
        <DateField source="createdAt" label={translate('portal.admins.created')} showTime />
        <FunctionField label={translate('portal.admins.actions')} render={() => <RowActions />} />
      </Datagrid>
    </List>
  );
}
