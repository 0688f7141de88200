/**
 * A bulk action on the selected users (`spec/bulk.md`): first a **dry run** (what would change,
 * be skipped or fail, item by item; the server changes nothing), then, on confirmation, the job
 * with a **progress bar** (`client.bulk.wait` with `onProgress`) and its **per-item results**
 * (`client.bulk.results`) with each reason translated. A bulk invite opens the new tokens here
 * (`client.bulk.openInvites`: the server sealed them to a key pair made in this browser) and shows
 * each user's enrolment code. Deleting runs behind the step-up prompt.
 *
 * @module
 */
import type { BulkAction, BulkDryRun, BulkJob, BulkJobItem, OpenedInvite } from '@cloister/admin';
import type { KeyPair } from '@cloister/crypto';
import {
  Alert,
  Box,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  LinearProgress,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { useEffect, useId, useRef, useState } from 'react';
import { useTranslate } from 'react-admin';
import { usePortal } from '../../session/use-portal.js';
import { CopyableText } from './enrolment-code.js';
import { describeError, describeReason } from './errors.js';

/** The bulk actions the list offers on selected users (wipe is a device action, on a user's page). */
export type UserBulkAction = Exclude<BulkAction, 'wipe'>;

/** The permission each action needs (`spec/bulk.md` §1). */
export const BULK_PERMISSION: Readonly<Record<UserBulkAction, string>> = {
  block: 'users.block',
  unblock: 'users.block',
  invite: 'users.invite',
  move: 'pools.write',
  delete: 'users.delete',
};

/** Most items listed in the dialog (the counts cover all). */
const SHOWN = 200;

type Phase =
  | { readonly kind: 'options' }
  | { readonly kind: 'planning' }
  | { readonly kind: 'planned'; readonly plan: BulkDryRun }
  | { readonly kind: 'running'; readonly job: BulkJob }
  | {
      readonly kind: 'done';
      readonly job: BulkJob;
      readonly items: readonly BulkJobItem[];
      readonly invites: readonly OpenedInvite[] | null;
    }
  | { readonly kind: 'error'; readonly message: string; readonly job?: BulkJob };

function percent(job: BulkJob): number {
  return job.total === 0 ? 100 : Math.floor((job.done / job.total) * 100);
}

/** The dialog of one bulk action on `users`. */
export function BulkDialog({
  action,
  users,
  onClose,
  onFinished,
}: {
  readonly action: UserBulkAction;
  readonly users: readonly string[];
  readonly onClose: () => void;
  readonly onFinished: () => void;
}) {
  const translate = useTranslate();
  const { client, identity, withStepUp } = usePortal();
  const titleId = useId();
  const [pool, setPool] = useState('');
  const [phase, setPhase] = useState<Phase>(action === 'move' ? { kind: 'options' } : { kind: 'planning' });
  const live = useRef(true);
  const abort = useRef(new AbortController());
  const started = useRef(false);

  useEffect(
    () => () => {
      live.current = false;
      abort.current.abort();
    },
    [],
  );

  const set = (p: Phase) => {
    if (live.current) setPhase(p);
  };

  const plan = async () => {
    set({ kind: 'planning' });
    try {
      const answer = await client.bulk.dryRun(
        action,
        { users },
        action === 'move' ? { pool: pool.trim() } : {},
      );
      set({ kind: 'planned', plan: answer });
    } catch (e) {
      set({ kind: 'error', message: describeError(translate, e) });
    }
  };

  // The dry run starts as soon as the dialog opens (a move first asks for the pool).
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, when the dialog opens
  useEffect(() => {
    if (action !== 'move' && !started.current) {
      started.current = true;
      void plan();
    }
  }, []);

  const run = async () => {
    let job: BulkJob;
    let resultKey: KeyPair | undefined;
    try {
      if (action === 'invite') {
        const started = await client.bulk.invite({ users });
        job = started.job;
        resultKey = started.resultKey;
      } else if (action === 'delete') {
        job = await withStepUp(() => client.bulk.delete({ users }));
      } else if (action === 'move') {
        job = await client.bulk.move({ users }, pool.trim());
      } else {
        job = await client.bulk[action]({ users });
      }
    } catch (e) {
      set({ kind: 'error', message: describeError(translate, e) });
      return;
    }
    set({ kind: 'running', job });
    try {
      const finished = await client.bulk.wait(job.id, {
        intervalMs: 400,
        signal: abort.current.signal,
        onProgress: (j) => set({ kind: 'running', job: j }),
      });
      if (finished.state !== 'done') {
        set({ kind: 'error', message: translate('portal.users.bulk.interrupted'), job: finished });
        onFinished();
        return;
      }
      const items: BulkJobItem[] = [];
      for await (const item of client.bulk.results(job.id, { pageSize: SHOWN })) {
        items.push(item);
        if (items.length >= SHOWN) break;
      }
      let invites: OpenedInvite[] | null = null;
      if (resultKey !== undefined) {
        const { rootFingerprint } = await client.getOrganisation();
        invites = await client.bulk.openInvites(identity.tenant, job.id, resultKey, rootFingerprint);
        resultKey.privateKey.fill(0);
      }
      set({ kind: 'done', job: finished, items, invites });
      onFinished();
    } catch (e) {
      if (!live.current) return;
      set({ kind: 'error', message: describeError(translate, e), job });
      onFinished();
    }
  };

  const actionName = translate(`portal.users.bulk.action.${action}`);
  const running = phase.kind === 'running';

  return (
    <Dialog
      open
      onClose={running ? undefined : onClose}
      disableEscapeKeyDown={running}
      aria-labelledby={titleId}
      maxWidth="md"
      fullWidth
    >
      <DialogTitle id={titleId}>
        {translate('portal.users.bulk.title', { action: actionName, count: users.length })}
      </DialogTitle>
      <DialogContent>
        {phase.kind === 'options' && (
          <Stack spacing={2} sx={{ mt: 1 }}>
            <Typography>{translate('portal.users.bulk.moveHelp')}</Typography>
            <TextField
              label={translate('portal.users.bulk.pool')}
              value={pool}
              onChange={(e) => setPool(e.target.value)}
              autoFocus
              required
            />
          </Stack>
        )}
        {phase.kind === 'planning' && (
          <Stack spacing={1} sx={{ mt: 1 }}>
            <Typography>{translate('portal.users.bulk.planning')}</Typography>
            <LinearProgress aria-label={translate('portal.users.bulk.planning')} />
          </Stack>
        )}
        {phase.kind === 'planned' && (
          <Stack spacing={2}>
            <Typography component="h3" variant="subtitle1">
              {translate('portal.users.bulk.dryRunTitle')}
            </Typography>
            <Typography>
              {translate('portal.users.bulk.dryRunCounts', {
                total: phase.plan.total,
                change: phase.plan.change,
                skipped: phase.plan.skipped,
                failed: phase.plan.failed,
              })}
            </Typography>
            {phase.plan.change === 0 && (
              <Alert severity="info">{translate('portal.users.bulk.nothingToDo')}</Alert>
            )}
            {action === 'delete' && phase.plan.change > 0 && (
              <Alert severity="warning">{translate('portal.users.bulk.deleteWarning')}</Alert>
            )}
            <ItemTable
              caption={translate('portal.users.bulk.dryRunTable')}
              rows={phase.plan.items.slice(0, SHOWN).map((i) => ({
                user: i.user,
                outcome: translate(`portal.users.bulk.planOutcome.${i.outcome}`),
                reason: describeReason(translate, i.reason),
              }))}
              more={phase.plan.items.length - SHOWN}
            />
          </Stack>
        )}
        {(phase.kind === 'running' || phase.kind === 'done') && (
          <Stack spacing={1} sx={{ mt: 1 }}>
            <Typography id={`${titleId}-progress`}>
              {translate('portal.users.bulk.progress', {
                done: phase.job.done,
                total: phase.job.total,
                percent: percent(phase.job),
              })}
            </Typography>
            <LinearProgress
              variant="determinate"
              value={percent(phase.job)}
              aria-labelledby={`${titleId}-progress`}
            />
          </Stack>
        )}
        {phase.kind === 'done' && (
          <Stack spacing={2} sx={{ mt: 2 }}>
            <Typography component="h3" variant="subtitle1">
              {translate('portal.users.bulk.resultsTitle')}
            </Typography>
            <Alert severity={phase.job.failed > 0 ? 'warning' : 'success'}>
              {translate('portal.users.bulk.resultCounts', {
                ok: phase.job.ok,
                skipped: phase.job.skipped,
                failed: phase.job.failed,
              })}
            </Alert>
            <ItemTable
              caption={translate('portal.users.bulk.resultsTable')}
              rows={phase.items.map((i) => ({
                user: i.user,
                outcome: translate(`portal.users.bulk.outcome.${i.outcome}`),
                reason: describeReason(translate, i.reason),
              }))}
              more={phase.job.total - phase.items.length}
            />
            {phase.invites !== null && phase.invites.length > 0 && (
              <Stack spacing={1}>
                <Typography component="h3" variant="subtitle1">
                  {translate('portal.users.bulk.invitesTitle')}
                </Typography>
                <Typography variant="body2">{translate('portal.users.code.secret')}</Typography>
                {phase.invites.map((i) => (
                  <CopyableText
                    key={i.user}
                    label={translate('portal.users.bulk.inviteCode', { user: i.user })}
                    value={i.enrolmentCode ?? i.token}
                  />
                ))}
              </Stack>
            )}
          </Stack>
        )}
        {phase.kind === 'error' && (
          <Alert severity="error" sx={{ mt: 1 }}>
            {phase.message}
          </Alert>
        )}
      </DialogContent>
      <DialogActions>
        {phase.kind === 'options' && (
          <Button variant="contained" onClick={() => void plan()} disabled={pool.trim() === ''}>
            {translate('portal.users.bulk.dryRun')}
          </Button>
        )}
        {phase.kind === 'planned' && phase.plan.change > 0 && (
          <Button
            variant="contained"
            color={action === 'delete' ? 'error' : 'primary'}
            onClick={() => void run()}
          >
            {translate('portal.users.bulk.confirm', { action: actionName, count: phase.plan.change })}
          </Button>
        )}
        <Button onClick={onClose} disabled={running}>
          {translate(phase.kind === 'done' ? 'portal.users.close' : 'portal.users.cancel')}
        </Button>
      </DialogActions>
    </Dialog>
  );
}

function ItemTable({
  caption,
  rows,
  more,
}: {
  readonly caption: string;
  readonly rows: readonly { user: string; outcome: string; reason: string }[];
  readonly more: number;
}) {
  const translate = useTranslate();
  return (
    <Box sx={{ maxHeight: 320, overflow: 'auto' }}>
      <Table size="small" aria-label={caption}>
        <TableHead>
          <TableRow>
            <TableCell>{translate('portal.users.field.id')}</TableCell>
            <TableCell>{translate('portal.users.bulk.outcomeColumn')}</TableCell>
            <TableCell>{translate('portal.users.bulk.reasonColumn')}</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {rows.map((r, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows keep their order
            <TableRow key={`${r.user}-${i}`}>
              <TableCell>{r.user}</TableCell>
              <TableCell>{r.outcome}</TableCell>
              <TableCell>{r.reason}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      {more > 0 && (
        <Typography variant="body2" sx={{ mt: 1 }}>
          {translate('portal.users.bulk.more', { count: more })}
        </Typography>
      )}
    </Box>
  );
}
