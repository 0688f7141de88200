/**
 * A user's page (`#/users/:id/show`, `users.read`): details and pools, block/unblock, invite again
 * (a new token and its QR code), delete (step-up, confirmation); the devices (`devices.read`) with
 * their state, last sighting, block/unblock (`devices.block`) and remote wipe (`devices.wipe`:
 * confirmation, then `signWipe` with the browser's signer behind the step-up prompt, then
 * `getWipe` polled until the device confirms); the activity (`activity.read`).
 *
 * @module
 */
import { type DeviceView, signWipe, type UserActivity, type UserView, type WipeState } from '@cloister/admin';
import BlockIcon from '@mui/icons-material/Block';
import DeleteIcon from '@mui/icons-material/Delete';
import LockOpenIcon from '@mui/icons-material/LockOpen';
import PhonelinkEraseIcon from '@mui/icons-material/PhonelinkErase';
import SendIcon from '@mui/icons-material/Send';
import {
  Alert,
  Box,
  Button,
  Card,
  CardContent,
  Chip,
  CircularProgress,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@mui/material';
import { type ReactNode, useCallback, useEffect, useId, useRef, useState } from 'react';
import { Link, Title, useGetRecordId, useRedirect, useTranslate } from 'react-admin';
import { usePortal } from '../../session/use-portal.js';
import { resetUserPages } from './data.js';
import { describeError } from './errors.js';
import { InviteForm } from './invite.js';
import { ON_PAGE, useFormatTime } from './users-list.js';

/** How often a pending wipe is read again, ms. */
const WIPE_POLL_MS = 1_000;

interface Loaded {
  readonly user: UserView;
  readonly devices: readonly DeviceView[] | null;
  readonly activity: UserActivity | null;
}

function Row({ label, children }: { readonly label: string; readonly children: ReactNode }) {
  return (
    <TableRow>
      <TableCell component="th" scope="row" sx={{ fontWeight: 'bold', width: '30%' }}>
        {label}
      </TableCell>
      <TableCell>{children}</TableCell>
    </TableRow>
  );
}

/** A confirmation dialog (focus trapped, Escape cancels). */
function Confirm({
  title,
  text,
  confirm,
  danger,
  onConfirm,
  onCancel,
}: {
  readonly title: string;
  readonly text: string;
  readonly confirm: string;
  readonly danger?: boolean;
  readonly onConfirm: () => void;
  readonly onCancel: () => void;
}) {
  const translate = useTranslate();
  const id = useId();
  return (
    <Dialog open onClose={onCancel} aria-labelledby={`${id}-t`} aria-describedby={`${id}-d`}>
      <DialogTitle id={`${id}-t`}>{title}</DialogTitle>
      <DialogContent>
        <DialogContentText id={`${id}-d`}>{text}</DialogContentText>
      </DialogContent>
      <DialogActions>
        <Button onClick={onCancel} autoFocus>
          {translate('portal.users.cancel')}
        </Button>
        <Button onClick={onConfirm} variant="contained" color={danger === true ? 'error' : 'primary'}>
          {confirm}
        </Button>
      </DialogActions>
    </Dialog>
  );
}

/** The user's page. */
export function UserShow() {
  const id = String(useGetRecordId());
  const translate = useTranslate();
  const session = usePortal();
  const { client, can, withStepUp, signer } = session;
  const redirect = useRedirect();
  const formatTime = useFormatTime();
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [message, setMessage] = useState<{ severity: 'success' | 'error'; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [wipes, setWipes] = useState<Readonly<Record<number, WipeState>>>({});
  const [confirm, setConfirm] = useState<
    { kind: 'delete' } | { kind: 'wipe'; device: number } | { kind: 'block' } | null
  >(null);
  const [inviteAgain, setInviteAgain] = useState(false);
  const live = useRef(true);
  useEffect(
    () => () => {
      live.current = false;
    },
    [],
  );

  const load = useCallback(async () => {
    try {
      const [user, devices, activity] = await Promise.all([
        client.getUser(id),
        can('devices.read') ? client.listDevices(id).then((d) => d.items) : Promise.resolve(null),
        can('activity.read') ? client.userActivity(id) : Promise.resolve(null),
      ]);
      let states: Record<number, WipeState> = {};
      if (devices !== null) {
        const read = await Promise.all(devices.map((d) => client.getWipe(id, d.id)));
        states = Object.fromEntries(devices.map((d, i) => [d.id, read[i] as WipeState]));
      }
      if (!live.current) return;
      setLoaded({ user, devices, activity });
      setWipes(states);
      setLoadError(null);
    } catch (e) {
      if (live.current) setLoadError(describeError(translate, e));
    }
  }, [client, can, id, translate]);

  useEffect(() => {
    void load();
  }, [load]);

  // A pending wipe is read again until the device confirms it.
  const pending = Object.entries(wipes)
    .filter(([, w]) => w.state === 'pending')
    .map(([d]) => Number(d));
  const pendingKey = pending.join(',');
  // biome-ignore lint/correctness/useExhaustiveDependencies: pendingKey stands for pending
  useEffect(() => {
    if (pending.length === 0) return;
    const timer = setInterval(() => {
      for (const device of pending) {
        client.getWipe(id, device).then(
          (w) => {
            if (live.current) setWipes((all) => ({ ...all, [device]: w }));
          },
          () => undefined,
        );
      }
    }, WIPE_POLL_MS);
    return () => clearInterval(timer);
  }, [pendingKey, client, id]);

  const act = async (action: () => Promise<unknown>, done: string) => {
    setBusy(true);
    setMessage(null);
    try {
      await action();
      if (!live.current) return;
      setMessage({ severity: 'success', text: done });
      resetUserPages(session);
      await load();
    } catch (e) {
      if (live.current) setMessage({ severity: 'error', text: describeError(translate, e) });
    } finally {
      if (live.current) setBusy(false);
    }
  };

  const wipe = (device: number) =>
    act(
      async () => {
        const issued = await withStepUp(async () => signWipe(await signer(), { user: id, device }));
        setWipes((all) => ({
          ...all,
          [device]: {
            state: 'pending',
            commandId: issued.commandId,
            issuedAt: Date.now(),
            confirmedAt: null,
          },
        }));
      },
      translate('portal.users.show.wipeSent', { device }),
    );

  const remove = async () => {
    setBusy(true);
    setMessage(null);
    try {
      await withStepUp(() => client.deleteUser(id));
      resetUserPages(session);
      redirect('/users');
    } catch (e) {
      if (live.current) {
        setMessage({ severity: 'error', text: describeError(translate, e) });
        setBusy(false);
      }
    }
  };

  if (loaded === null) {
    return (
      <Card sx={{ mt: 2 }}>
        <Title title={translate('portal.users.show.titleLoading', { user: id })} />
        <CardContent>
          {loadError === null ? (
            <CircularProgress aria-label={translate('portal.users.loading')} />
          ) : (
            <Stack spacing={2} alignItems="flex-start">
              <Alert severity="error">{loadError}</Alert>
              <Button onClick={() => void load()}>{translate('portal.users.retry')}</Button>
              <Link to="/users">{translate('portal.users.backToList')}</Link>
            </Stack>
          )}
        </CardContent>
      </Card>
    );
  }

  const { user, devices, activity } = loaded;
  const wipeLabel = (w: WipeState | undefined) =>
    w === undefined || w.state === 'none'
      ? '—'
      : w.state === 'pending'
        ? translate('portal.users.wipe.pending')
        : translate('portal.users.wipe.confirmed', { time: formatTime(w.confirmedAt) });

  return (
    <Stack spacing={2} sx={{ mt: 2 }}>
      <Title title={translate('portal.users.show.title', { user: user.displayName })} />
      <Box sx={ON_PAGE}>
        <Link to="/users">{translate('portal.users.backToList')}</Link>
      </Box>
      {message !== null && (
        <Alert severity={message.severity} role={message.severity === 'error' ? 'alert' : 'status'}>
          {message.text}
        </Alert>
      )}
      <Card>
        <CardContent>
          <Typography variant="h6" component="h2" gutterBottom>
            {translate('portal.users.show.details')}
          </Typography>
          <Table size="small" aria-label={translate('portal.users.show.details')}>
            <TableBody>
              <Row label={translate('portal.users.field.id')}>{user.id}</Row>
              <Row label={translate('portal.users.field.displayName')}>{user.displayName}</Row>
              <Row label={translate('portal.users.field.email')}>{user.email ?? '—'}</Row>
              <Row label={translate('portal.users.field.pools')}>
                {user.pools.length === 0 ? translate('portal.users.show.noPools') : user.pools.join(', ')}
              </Row>
              <Row label={translate('portal.users.field.status')}>
                <Chip
                  size="small"
                  color={user.blocked ? 'error' : 'success'}
                  label={translate(
                    user.blocked ? 'portal.users.status.blocked' : 'portal.users.show.notBlocked',
                  )}
                />
              </Row>
              <Row label={translate('portal.users.field.created')}>{formatTime(user.createdAt)}</Row>
              {user.directory !== undefined && (
                <Row label={translate('portal.users.field.directory')}>
                  {translate(`portal.users.directory.${user.directory.state}`, {
                    source: user.directory.source,
                  })}
                </Row>
              )}
            </TableBody>
          </Table>
          <Stack direction="row" spacing={1} sx={{ mt: 2 }} flexWrap="wrap" useFlexGap>
            {can('users.block') &&
              (user.blocked ? (
                <Button
                  variant="outlined"
                  startIcon={<LockOpenIcon />}
                  disabled={busy}
                  onClick={() =>
                    void act(
                      () => client.unblockUser(id),
                      translate('portal.users.show.unblocked', { user: id }),
                    )
                  }
                >
                  {translate('portal.users.show.unblock')}
                </Button>
              ) : (
                <Button
                  variant="outlined"
                  startIcon={<BlockIcon />}
                  disabled={busy}
                  onClick={() => setConfirm({ kind: 'block' })}
                >
                  {translate('portal.users.show.block')}
                </Button>
              ))}
            {can('users.invite') && (
              <Button
                variant="outlined"
                startIcon={<SendIcon />}
                disabled={busy}
                onClick={() => setInviteAgain(true)}
              >
                {translate('portal.users.show.inviteAgain')}
              </Button>
            )}
            {can('users.delete') && (
              <Button
                variant="outlined"
                color="error"
                startIcon={<DeleteIcon />}
                disabled={busy}
                onClick={() => setConfirm({ kind: 'delete' })}
              >
                {translate('portal.users.show.delete')}
              </Button>
            )}
          </Stack>
        </CardContent>
      </Card>

      {devices !== null && (
        <Card>
          <CardContent>
            <Typography variant="h6" component="h2" gutterBottom>
              {translate('portal.users.show.devices')}
            </Typography>
            {devices.length === 0 ? (
              <Typography>
                {translate(
                  can('users.invite') ? 'portal.users.show.noDevices' : 'portal.users.show.noDevicesReadOnly',
                )}
              </Typography>
            ) : (
              <Box sx={{ overflowX: 'auto' }}>
                <Table size="small" aria-label={translate('portal.users.show.devices')}>
                  <TableHead>
                    <TableRow>
                      <TableCell>{translate('portal.users.device.id')}</TableCell>
                      <TableCell>{translate('portal.users.device.state')}</TableCell>
                      <TableCell>{translate('portal.users.device.enrolled')}</TableCell>
                      <TableCell>{translate('portal.users.field.lastSeen')}</TableCell>
                      <TableCell>{translate('portal.users.device.clientVersion')}</TableCell>
                      <TableCell>{translate('portal.users.device.enrolledVia')}</TableCell>
                      <TableCell>{translate('portal.users.device.wipe')}</TableCell>
                      <TableCell>{translate('portal.users.device.actions')}</TableCell>
                    </TableRow>
                  </TableHead>
                  <TableBody>
                    {devices.map((d) => {
                      const w = wipes[d.id];
                      return (
                        <TableRow key={d.id}>
                          <TableCell>{translate('portal.users.device.name', { device: d.id })}</TableCell>
                          <TableCell>
                            {translate(
                              d.blocked ? 'portal.users.device.blocked' : 'portal.users.device.active',
                            )}
                          </TableCell>
                          <TableCell>{formatTime(d.createdAt)}</TableCell>
                          <TableCell>{formatTime(d.lastSeenAt)}</TableCell>
                          <TableCell>{d.clientVersion ?? '—'}</TableCell>
                          <TableCell>{translate(`portal.users.device.via.${d.enrolledVia}`)}</TableCell>
                          <TableCell aria-live="polite">{wipeLabel(w)}</TableCell>
                          <TableCell>
                            <Stack direction="row" spacing={1}>
                              {can('devices.block') && w?.state !== 'confirmed' && (
                                <Button
                                  size="small"
                                  disabled={busy}
                                  sx={{ whiteSpace: 'nowrap' }}
                                  onClick={() =>
                                    void act(
                                      () =>
                                        d.blocked
                                          ? client.unblockDevice(id, d.id)
                                          : client.blockDevice(id, d.id),
                                      translate(
                                        d.blocked
                                          ? 'portal.users.show.deviceUnblocked'
                                          : 'portal.users.show.deviceBlocked',
                                        { device: d.id },
                                      ),
                                    )
                                  }
                                >
                                  {translate(
                                    d.blocked
                                      ? 'portal.users.device.unblockButton'
                                      : 'portal.users.device.blockButton',
                                    { device: d.id },
                                  )}
                                </Button>
                              )}
                              {can('devices.wipe') && (w === undefined || w.state === 'none') && (
                                <Button
                                  size="small"
                                  color="error"
                                  startIcon={<PhonelinkEraseIcon />}
                                  disabled={busy}
                                  sx={{ whiteSpace: 'nowrap' }}
                                  onClick={() => setConfirm({ kind: 'wipe', device: d.id })}
                                >
                                  {translate('portal.users.device.wipeButton', { device: d.id })}
                                </Button>
                              )}
                            </Stack>
                          </TableCell>
                        </TableRow>
                      );
                    })}
                  </TableBody>
                </Table>
              </Box>
            )}
          </CardContent>
        </Card>
      )}

      {activity !== null && (
        <Card>
          <CardContent>
            <Typography variant="h6" component="h2" gutterBottom>
              {translate('portal.users.show.activity')}
            </Typography>
            <Table size="small" aria-label={translate('portal.users.show.activity')}>
              <TableBody>
                <Row label={translate('portal.users.activity.enrolled')}>
                  {formatTime(activity.enrolledAt)}
                </Row>
                <Row label={translate('portal.users.field.lastSeen')}>{formatTime(activity.lastSeenAt)}</Row>
                <Row label={translate('portal.users.field.devices')}>{activity.deviceCount}</Row>
                <Row label={translate('portal.users.activity.pending')}>
                  {translate('portal.users.activity.pendingValue', {
                    envelopes: activity.pending.envelopes,
                    kib: Math.ceil(activity.pending.bytes / 1024),
                  })}
                </Row>
              </TableBody>
            </Table>
            <Typography variant="body2" color="text.secondary" sx={{ mt: 1 }}>
              {translate('portal.users.activity.privacy')}
            </Typography>
          </CardContent>
        </Card>
      )}

      {confirm?.kind === 'block' && (
        <Confirm
          title={translate('portal.users.show.blockTitle', { user: id })}
          text={translate('portal.users.show.blockText')}
          confirm={translate('portal.users.show.block')}
          danger
          onCancel={() => setConfirm(null)}
          onConfirm={() => {
            setConfirm(null);
            void act(() => client.blockUser(id), translate('portal.users.show.blocked', { user: id }));
          }}
        />
      )}
      {confirm?.kind === 'delete' && (
        <Confirm
          title={translate('portal.users.show.deleteTitle', { user: id })}
          text={translate('portal.users.show.deleteText')}
          confirm={translate('portal.users.show.delete')}
          danger
          onCancel={() => setConfirm(null)}
          onConfirm={() => {
            setConfirm(null);
            void remove();
          }}
        />
      )}
      {confirm?.kind === 'wipe' && (
        <Confirm
          title={translate('portal.users.wipe.title', { device: confirm.device, user: id })}
          text={translate('portal.users.wipe.text')}
          confirm={translate('portal.users.wipe.confirm')}
          danger
          onCancel={() => setConfirm(null)}
          onConfirm={() => {
            const device = confirm.device;
            setConfirm(null);
            void wipe(device);
          }}
        />
      )}
      {inviteAgain && (
        <Dialog
          open
          onClose={() => setInviteAgain(false)}
          aria-labelledby="portal-users-invite-again"
          maxWidth="md"
          fullWidth
        >
          <DialogTitle id="portal-users-invite-again">
            {translate('portal.users.show.inviteAgainTitle', { user: id })}
          </DialogTitle>
          <DialogContent>
            <Box sx={{ pt: 1 }}>
              <InviteForm user={id} />
            </Box>
          </DialogContent>
          <DialogActions>
            <Button onClick={() => setInviteAgain(false)}>{translate('portal.users.close')}</Button>
          </DialogActions>
        </Dialog>
      )}
    </Stack>
  );
}
