/**
 * The pools screen (`#/pools`): the tenant's pools with their member counts and reach; create,
 * rename and delete (with the explicit "remove the members" choice the API requires) for
 * `pools.write`. Reading needs `users.read` (`spec/pools.md` §1).
 *
 * @module
 */

import type { PoolView } from '@cloister/admin';
import AddIcon from '@mui/icons-material/Add';
import DeleteIcon from '@mui/icons-material/Delete';
import EditIcon from '@mui/icons-material/Edit';
import {
  Alert,
  Box,
  Button,
  Checkbox,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  FormControlLabel,
  Paper,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { Title, useNotify, useTranslate } from 'react-admin';
import { usePortal } from '../../session/use-portal.js';
import { allPages, ErrorAlert, K, Loading } from './common.js';

/** A pool with its member count (read with `get`, the list has none). */
export interface PoolRow extends PoolView {
  readonly members?: number;
}

const POOL_ID = /^[A-Za-z0-9_\-:@+]([A-Za-z0-9._\-:@+]{0,126}[A-Za-z0-9_\-:@+])?$/;

/** Every pool of the tenant, sorted by name, each with its member count when it could be read. */
export async function loadPools(client: ReturnType<typeof usePortal>['client']): Promise<PoolRow[]> {
  const pools = await allPages((after) => client.pools.list({ limit: 1000, ...(after ? { after } : {}) }));
  const rows: PoolRow[] = [];
  for (let i = 0; i < pools.length; i += 8) {
    const chunk = pools.slice(i, i + 8);
    rows.push(
      ...(await Promise.all(
        chunk.map((p) =>
          client.pools.get(p.id).then(
            (full) => full,
            () => p,
          ),
        ),
      )),
    );
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name) || (a.id < b.id ? -1 : 1));
}

/** The pools screen. */
export function PoolsScreen() {
  const translate = useTranslate();
  const notify = useNotify();
  const session = usePortal();
  const canWrite = session.can('pools.write');
  const [pools, setPools] = useState<PoolRow[] | undefined>();
  const [error, setError] = useState<unknown>();
  const [creating, setCreating] = useState(false);
  const [renaming, setRenaming] = useState<PoolRow | undefined>();
  const [deleting, setDeleting] = useState<PoolRow | undefined>();

  const reload = useCallback(async () => {
    setError(undefined);
    try {
      setPools(await loadPools(session.client));
    } catch (e) {
      setError(e);
      setPools((p) => p ?? []);
    }
  }, [session.client]);

  useEffect(() => {
    void reload();
  }, [reload]);

  const nameOf = (id: string) => pools?.find((p) => p.id === id)?.name ?? id;

  return (
    <Box sx={{ p: 2 }}>
      <Title title={translate(`${K}.pools.title`)} />
      <Typography sx={{ mb: 2 }}>{translate(`${K}.pools.intro`)}</Typography>
      {canWrite && (
        <Button variant="contained" startIcon={<AddIcon />} onClick={() => setCreating(true)} sx={{ mb: 2 }}>
          {translate(`${K}.pools.create`)}
        </Button>
      )}
      <ErrorAlert error={error} />
      {pools === undefined ? (
        <Loading label={translate(`${K}.pools.loading`)} />
      ) : pools.length === 0 ? (
        <Alert severity="info">
          {translate(canWrite ? `${K}.pools.empty_write` : `${K}.pools.empty_read`)}
        </Alert>
      ) : (
        <TableContainer component={Paper}>
          <Table aria-label={translate(`${K}.pools.table`)}>
            <TableHead>
              <TableRow>
                <TableCell component="th">{translate(`${K}.pools.name`)}</TableCell>
                <TableCell component="th">{translate(`${K}.pools.id`)}</TableCell>
                <TableCell component="th" align="right">
                  {translate(`${K}.pools.members`)}
                </TableCell>
                <TableCell component="th">{translate(`${K}.pools.may_contact`)}</TableCell>
                {canWrite && <TableCell component="th">{translate(`${K}.pools.actions`)}</TableCell>}
              </TableRow>
            </TableHead>
            <TableBody>
              {pools.map((p) => (
                <TableRow key={p.id}>
                  <TableCell>{p.name}</TableCell>
                  <TableCell>
                    <code>{p.id}</code>
                  </TableCell>
                  <TableCell align="right">{p.members ?? '–'}</TableCell>
                  <TableCell>
                    {p.mayContact.filter((c) => c !== p.id).length === 0
                      ? translate(`${K}.pools.only_itself`)
                      : p.mayContact
                          .filter((c) => c !== p.id)
                          .map(nameOf)
                          .join(', ')}
                  </TableCell>
                  {canWrite && (
                    <TableCell>
                      <Button
                        size="small"
                        startIcon={<EditIcon />}
                        onClick={() => setRenaming(p)}
                        aria-label={translate(`${K}.pools.rename_named`, { name: p.name })}
                      >
                        {translate(`${K}.pools.rename`)}
                      </Button>
                      <Button
                        size="small"
                        color="error"
                        startIcon={<DeleteIcon />}
                        onClick={() => setDeleting(p)}
                        aria-label={translate(`${K}.pools.delete_named`, { name: p.name })}
                      >
                        {translate(`${K}.pools.delete`)}
                      </Button>
                    </TableCell>
                  )}
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      )}
      {creating && (
        <CreatePoolDialog
          onClose={() => setCreating(false)}
          onDone={(p) => {
            setCreating(false);
            notify(translate(`${K}.pools.created`, { name: p.name }), { type: 'success' });
            void reload();
          }}
        />
      )}
      {renaming !== undefined && (
        <RenamePoolDialog
          pool={renaming}
          onClose={() => setRenaming(undefined)}
          onDone={(p) => {
            setRenaming(undefined);
            notify(translate(`${K}.pools.renamed`, { name: p.name }), { type: 'success' });
            void reload();
          }}
        />
      )}
      {deleting !== undefined && (
        <DeletePoolDialog
          pool={deleting}
          onClose={() => setDeleting(undefined)}
          onDone={() => {
            const name = deleting.name;
            setDeleting(undefined);
            notify(translate(`${K}.pools.deleted`, { name }), { type: 'success' });
            void reload();
          }}
        />
      )}
    </Box>
  );
}

function CreatePoolDialog(props: { readonly onClose: () => void; readonly onDone: (p: PoolView) => void }) {
  const translate = useTranslate();
  const { client } = usePortal();
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const idOk = POOL_ID.test(id);
  const nameOk = name.trim().length >= 1 && name.length <= 256;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!idOk || !nameOk) return;
    setBusy(true);
    setError(undefined);
    try {
      props.onDone(await client.pools.create(id, name.trim()));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open onClose={props.onClose} aria-labelledby="org-create-pool-title">
      <form onSubmit={submit} noValidate>
        <DialogTitle id="org-create-pool-title">{translate(`${K}.pools.create`)}</DialogTitle>
        <DialogContent>
          <DialogContentText>{translate(`${K}.pools.create_help`)}</DialogContentText>
          <TextField
            autoFocus
            margin="normal"
            fullWidth
            required
            label={translate(`${K}.pools.name`)}
            value={name}
            onChange={(e) => {
              setName(e.target.value);
              if (id === '' || id === slug(name)) setId(slug(e.target.value));
            }}
            error={name !== '' && !nameOk}
          />
          <TextField
            margin="normal"
            fullWidth
            required
            label={translate(`${K}.pools.id`)}
            value={id}
            onChange={(e) => setId(e.target.value)}
            error={id !== '' && !idOk}
            helperText={translate(`${K}.pools.id_help`)}
          />
          <ErrorAlert error={error} />
        </DialogContent>
        <DialogActions>
          <Button onClick={props.onClose}>{translate(`${K}.common.cancel`)}</Button>
          <Button type="submit" variant="contained" disabled={busy || !idOk || !nameOk}>
            {translate(`${K}.pools.create_submit`)}
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

/** A suggested pool id for a display name: lower case, spaces to dashes, other characters dropped. */
function slug(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/\s+/g, '-')
    .replace(/[^a-z0-9._\-:@+]/g, '')
    .replace(/^\.+|\.+$/g, '')
    .slice(0, 128);
}

function RenamePoolDialog(props: {
  readonly pool: PoolRow;
  readonly onClose: () => void;
  readonly onDone: (p: PoolView) => void;
}) {
  const translate = useTranslate();
  const { client } = usePortal();
  const [name, setName] = useState(props.pool.name);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const ok = name.trim().length >= 1 && name.length <= 256;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!ok) return;
    setBusy(true);
    setError(undefined);
    try {
      props.onDone(await client.pools.rename(props.pool.id, name.trim()));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open onClose={props.onClose} aria-labelledby="org-rename-pool-title">
      <form onSubmit={submit} noValidate>
        <DialogTitle id="org-rename-pool-title">
          {translate(`${K}.pools.rename_named`, { name: props.pool.name })}
        </DialogTitle>
        <DialogContent>
          <DialogContentText>{translate(`${K}.pools.rename_help`)}</DialogContentText>
          <TextField
            autoFocus
            margin="normal"
            fullWidth
            required
            label={translate(`${K}.pools.name`)}
            value={name}
            onChange={(e) => setName(e.target.value)}
            error={!ok}
          />
          <ErrorAlert error={error} />
        </DialogContent>
        <DialogActions>
          <Button onClick={props.onClose}>{translate(`${K}.common.cancel`)}</Button>
          <Button type="submit" variant="contained" disabled={busy || !ok}>
            {translate(`${K}.pools.rename_submit`)}
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

function DeletePoolDialog(props: {
  readonly pool: PoolRow;
  readonly onClose: () => void;
  readonly onDone: () => void;
}) {
  const translate = useTranslate();
  const { client } = usePortal();
  const [removeMembers, setRemoveMembers] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const members = props.pool.members ?? 0;
  const needsChoice = members > 0 || props.pool.members === undefined;
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await client.pools.delete(props.pool.id, { removeMembers });
      props.onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open onClose={props.onClose} aria-labelledby="org-delete-pool-title">
      <DialogTitle id="org-delete-pool-title">
        {translate(`${K}.pools.delete_named`, { name: props.pool.name })}
      </DialogTitle>
      <DialogContent>
        <DialogContentText>{translate(`${K}.pools.delete_help`)}</DialogContentText>
        {needsChoice && (
          <FormControlLabel
            sx={{ mt: 2 }}
            control={
              <Checkbox checked={removeMembers} onChange={(e) => setRemoveMembers(e.target.checked)} />
            }
            label={translate(`${K}.pools.delete_remove_members`, { smart_count: members })}
          />
        )}
        <ErrorAlert error={error} />
      </DialogContent>
      <DialogActions>
        <Button onClick={props.onClose} autoFocus>
          {translate(`${K}.common.cancel`)}
        </Button>
        <Button
          color="error"
          variant="contained"
          onClick={submit}
          disabled={busy || (members > 0 && !removeMembers)}
        >
          {translate(`${K}.pools.delete_submit`)}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
