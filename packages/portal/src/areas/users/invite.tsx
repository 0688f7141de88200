/**
 * Inviting a user (`users.invite`): the form (user id, display name, e-mail, pools, token lifetime,
 * uses, managed) and, once the server answered, the enrolment code as text and QR code
 * ({@link InvitationResult}). The same form, with the user fixed, is "invite again" on a user's
 * page (a new token for an existing user).
 *
 * @module
 */
import type { InviteUserInput, UserInvitation } from '@cloister/admin';
import PersonAddIcon from '@mui/icons-material/PersonAdd';
import {
  Alert,
  Box,
  Button,
  Card,
  CardContent,
  Checkbox,
  FormControlLabel,
  MenuItem,
  Stack,
  TextField,
} from '@mui/material';
import { type FormEvent, useState } from 'react';
import { Link, Title, useTranslate } from 'react-admin';
import { usePortal } from '../../session/use-portal.js';
import { NotAllowed } from '../../shell/not-allowed.js';
import { InvitationResult } from './enrolment-code.js';
import { describeError } from './errors.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The token lifetimes offered, ms; managed tokens live at most 72 hours. */
const LIFETIMES: readonly { readonly ms: number; readonly key: string; readonly managed: boolean }[] = [
  { ms: HOUR, key: 'portal.users.invite.ttl.hour', managed: true },
  { ms: 8 * HOUR, key: 'portal.users.invite.ttl.eightHours', managed: true },
  { ms: DAY, key: 'portal.users.invite.ttl.day', managed: true },
  { ms: 3 * DAY, key: 'portal.users.invite.ttl.threeDays', managed: true },
  { ms: 7 * DAY, key: 'portal.users.invite.ttl.week', managed: false },
  { ms: 30 * DAY, key: 'portal.users.invite.ttl.month', managed: false },
];

const USER_ID = /^[^\p{Cc}]{1,255}$/u;

/** The invitation form; `user` fixes the user (invite again). */
export function InviteForm({
  user,
  onInvited,
}: {
  readonly user?: string;
  readonly onInvited?: (user: string, invitation: UserInvitation) => void;
}) {
  const translate = useTranslate();
  const { client } = usePortal();
  const again = user !== undefined;
  const [id, setId] = useState(user ?? '');
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState('');
  const [pools, setPools] = useState('');
  const [ttlMs, setTtlMs] = useState(7 * DAY);
  const [uses, setUses] = useState('1');
  const [managed, setManaged] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<{ user: string; invitation: UserInvitation } | null>(null);

  const usesNumber = Number(uses);
  const idValid = USER_ID.test(id.trim());
  const usesValid = managed || (Number.isSafeInteger(usesNumber) && usesNumber >= 1 && usesNumber <= 100);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!idValid || !usesValid || busy) return;
    setBusy(true);
    setError(null);
    setResult(null);
    const target = id.trim();
    const poolList = pools
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    const input: InviteUserInput = {
      user: target,
      ...(again || displayName.trim() === '' ? {} : { displayName: displayName.trim() }),
      ...(again || email.trim() === '' ? {} : { email: email.trim() }),
      ...(again || poolList.length === 0 ? {} : { pools: poolList }),
      ttlMs: managed ? Math.min(ttlMs, 72 * HOUR) : ttlMs,
      ...(managed ? { managed: true } : { uses: usesNumber }),
    };
    try {
      const invitation = await client.inviteUser(input);
      setResult({ user: target, invitation });
      onInvited?.(target, invitation);
    } catch (e) {
      setError(describeError(translate, e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Box
      component="form"
      onSubmit={submit}
      noValidate
      aria-label={translate('portal.users.invite.formLabel')}
    >
      <Stack spacing={2} sx={{ maxWidth: 640 }}>
        {!again && (
          <>
            <TextField
              label={translate('portal.users.field.id')}
              value={id}
              onChange={(e) => setId(e.target.value)}
              required
              autoFocus
              error={id !== '' && !idValid}
              helperText={translate('portal.users.invite.idHelp')}
              slotProps={{ htmlInput: { maxLength: 255, autoComplete: 'off', spellCheck: false } }}
            />
            <TextField
              label={translate('portal.users.field.displayName')}
              value={displayName}
              onChange={(e) => setDisplayName(e.target.value)}
              helperText={translate('portal.users.invite.displayNameHelp')}
            />
            <TextField
              label={translate('portal.users.field.email')}
              type="email"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              slotProps={{ htmlInput: { autoComplete: 'off' } }}
            />
            <TextField
              label={translate('portal.users.field.pools')}
              value={pools}
              onChange={(e) => setPools(e.target.value)}
              helperText={translate('portal.users.invite.poolsHelp')}
            />
          </>
        )}
        <TextField
          select
          label={translate('portal.users.invite.ttl.label')}
          value={managed ? Math.min(ttlMs, 72 * HOUR) : ttlMs}
          onChange={(e) => setTtlMs(Number(e.target.value))}
        >
          {LIFETIMES.filter((l) => !managed || l.managed).map((l) => (
            <MenuItem key={l.ms} value={l.ms}>
              {translate(l.key)}
            </MenuItem>
          ))}
        </TextField>
        {!managed && (
          <TextField
            label={translate('portal.users.invite.uses')}
            type="number"
            value={uses}
            onChange={(e) => setUses(e.target.value)}
            error={!usesValid}
            helperText={translate('portal.users.invite.usesHelp')}
            slotProps={{ htmlInput: { min: 1, max: 100, step: 1 } }}
          />
        )}
        <FormControlLabel
          control={<Checkbox checked={managed} onChange={(e) => setManaged(e.target.checked)} />}
          label={translate('portal.users.invite.managed')}
        />
        {managed && <Alert severity="info">{translate('portal.users.invite.managedHelp')}</Alert>}
        {error !== null && <Alert severity="error">{error}</Alert>}
        <Box>
          <Button
            type="submit"
            variant="contained"
            startIcon={<PersonAddIcon />}
            disabled={busy || !idValid || !usesValid}
          >
            {translate(again ? 'portal.users.invite.submitAgain' : 'portal.users.invite.submit')}
          </Button>
        </Box>
      </Stack>
      {result !== null && <InvitationResult user={result.user} invitation={result.invitation} />}
    </Box>
  );
}

/** The "Invite user" page (`#/users/create`). */
export function InviteUserPage() {
  const translate = useTranslate();
  const { can } = usePortal();
  if (!can('users.invite')) return <NotAllowed />;
  return (
    <Card sx={{ mt: 2 }}>
      <Title title={translate('portal.users.invite.title')} />
      <CardContent>
        <Box sx={{ mb: 2 }}>
          <Link to="/users">{translate('portal.users.backToList')}</Link>
        </Box>
        <InviteForm />
      </CardContent>
    </Card>
  );
}
