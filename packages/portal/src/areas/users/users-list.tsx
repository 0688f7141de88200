/**
 * The users list (`users.read`): the filter search of `client.bulk.findUsers` (text, status, pool,
 * domain, role, compliance, inactive for days, client version, platform), numbered pages over the
 * search's cursors, row selection with the bulk actions the session's permissions allow (each
 * opens {@link BulkDialog}: dry run, then the job), and an empty state that points to "Invite user".
 *
 * @module
 */
import BlockIcon from '@mui/icons-material/Block';
import DeleteIcon from '@mui/icons-material/Delete';
import DriveFileMoveIcon from '@mui/icons-material/DriveFileMove';
import LockOpenIcon from '@mui/icons-material/LockOpen';
import PersonAddIcon from '@mui/icons-material/PersonAdd';
import SendIcon from '@mui/icons-material/Send';
import { Box, Button, Card, CardContent, Stack, Typography } from '@mui/material';
import { type MouseEvent, type ReactElement, useState } from 'react';
import {
  Datagrid,
  DatagridBody,
  FilterButton,
  FunctionField,
  Link,
  List,
  NumberInput,
  Pagination,
  SearchInput,
  SelectInput,
  TextField,
  TextInput,
  TopToolbar,
  useListContext,
  useLocaleState,
  useRefresh,
  useTranslate,
} from 'react-admin';
import { usePortal } from '../../session/use-portal.js';
import { BULK_PERMISSION, BulkDialog, type UserBulkAction } from './bulk-dialog.js';
import { resetUserPages, type UserRow } from './data.js';
import { UsersRow } from './users-row.js';

/** A time as the person's locale writes it, or "never". */
export function useFormatTime(): (ms: number | null) => string {
  const translate = useTranslate();
  const [locale] = useLocaleState();
  return (ms) => (ms === null ? translate('portal.users.never') : new Date(ms).toLocaleString(locale));
}

/** The "Invite user" button (a link to `#/users/create`). */
export function InviteUserButton({ variant = 'contained' }: { readonly variant?: 'contained' | 'text' }) {
  const translate = useTranslate();
  return (
    <Button component={Link} to="/users/create" variant={variant} startIcon={<PersonAddIcon />}>
      {translate('portal.users.list.invite')}
    </Button>
  );
}

function userFilters(translate: (key: string) => string): ReactElement[] {
  return [
    <SearchInput key="text" source="text" alwaysOn placeholder={translate('portal.users.filter.text')} />,
    <SelectInput
      key="status"
      source="status"
      label="portal.users.filter.status"
      choices={[
        { id: 'active', name: 'portal.users.status.active' },
        { id: 'blocked', name: 'portal.users.status.blocked' },
        { id: 'never-enrolled', name: 'portal.users.status.never-enrolled' },
      ]}
      alwaysOn
    />,
    <TextInput key="pool" source="pool" label="portal.users.filter.pool" />,
    <TextInput key="domain" source="domain" label="portal.users.filter.domain" />,
    <SelectInput
      key="role"
      source="role"
      label="portal.users.filter.role"
      choices={[
        { id: 'owner', name: 'portal.users.role.owner' },
        { id: 'admin', name: 'portal.users.role.admin' },
        { id: 'user-manager', name: 'portal.users.role.user-manager' },
        { id: 'auditor', name: 'portal.users.role.auditor' },
        { id: 'integration', name: 'portal.users.role.integration' },
      ]}
    />,
    <SelectInput
      key="compliant"
      source="compliant"
      label="portal.users.filter.compliant"
      choices={[
        { id: 'true', name: 'portal.users.filter.compliantYes' },
        { id: 'false', name: 'portal.users.filter.compliantNo' },
      ]}
    />,
    <NumberInput key="inactiveDays" source="inactiveDays" label="portal.users.filter.inactiveDays" min={1} />,
    <TextInput key="clientVersion" source="clientVersion" label="portal.users.filter.clientVersion" />,
    <TextInput key="platform" source="platform" label="portal.users.filter.platform" />,
  ];
}

/**
 * Text buttons and links on the page's background (not on a card): the theme's primary blue has a
 * contrast of 4.4:1 there, its dark shade more than 4.5:1.
 */
export const ON_PAGE = {
  '& .MuiButton-textPrimary, & a.MuiLink-root': { color: 'primary.dark' },
} as const;

function ListActions() {
  const { can } = usePortal();
  return (
    <TopToolbar sx={ON_PAGE}>
      <FilterButton />
      {can('users.invite') && <InviteUserButton variant="text" />}
    </TopToolbar>
  );
}

/** The empty state: no users yet. */
function UsersEmpty() {
  const translate = useTranslate();
  const { can } = usePortal();
  return (
    <Card sx={{ mt: 2 }}>
      <CardContent>
        <Stack spacing={2} alignItems="flex-start">
          <Typography variant="h6" component="h2">
            {translate('portal.users.list.emptyTitle')}
          </Typography>
          <Typography>
            {translate(can('users.invite') ? 'portal.users.list.empty' : 'portal.users.list.emptyReadOnly')}
          </Typography>
          {can('users.invite') && <InviteUserButton />}
        </Stack>
      </CardContent>
    </Card>
  );
}

const ACTION_ICONS: Readonly<Record<UserBulkAction, ReactElement>> = {
  block: <BlockIcon />,
  unblock: <LockOpenIcon />,
  invite: <SendIcon />,
  move: <DriveFileMoveIcon />,
  delete: <DeleteIcon />,
};

/** The bulk actions on the selected rows, each behind its permission. */
function UsersBulkActions() {
  const translate = useTranslate();
  const session = usePortal();
  const refresh = useRefresh();
  const { selectedIds, onUnselectItems } = useListContext();
  const [open, setOpen] = useState<{ action: UserBulkAction; users: string[] } | null>(null);
  const actions = (Object.keys(BULK_PERMISSION) as UserBulkAction[]).filter((a) =>
    session.can(BULK_PERMISSION[a]),
  );
  return (
    <>
      {actions.map((action) => (
        <Button
          key={action}
          size="small"
          color={action === 'delete' ? 'error' : 'primary'}
          sx={action === 'delete' ? {} : { color: 'primary.dark' }}
          startIcon={ACTION_ICONS[action]}
          onClick={() => setOpen({ action, users: selectedIds.map(String) })}
        >
          {translate(`portal.users.bulk.action.${action}`)}
        </Button>
      ))}
      {open !== null && (
        <BulkDialog
          action={open.action}
          users={open.users}
          onClose={() => {
            setOpen(null);
            onUnselectItems();
            resetUserPages(session);
            refresh();
          }}
          onFinished={() => {
            resetUserPages(session);
          }}
        />
      )}
    </>
  );
}

/** The users list page (`#/users`). */
export function UsersList() {
  const translate = useTranslate();
  const { can } = usePortal();
  const formatTime = useFormatTime();
  const anyBulk = (Object.keys(BULK_PERMISSION) as UserBulkAction[]).some((a) => can(BULK_PERMISSION[a]));
  return (
    <List
      title={translate('portal.users.list.title')}
      filters={userFilters(translate)}
      actions={<ListActions />}
      empty={<UsersEmpty />}
      perPage={25}
      pagination={<Pagination rowsPerPageOptions={[10, 25, 50, 100]} />}
      exporter={false}
    >
      <Datagrid
        body={<DatagridBody row={<UsersRow />} />}
        bulkActionButtons={anyBulk ? <UsersBulkActions /> : false}
        empty={
          <Box sx={{ p: 2 }}>
            <Typography>{translate('portal.users.list.noMatch')}</Typography>
          </Box>
        }
      >
        <FunctionField<UserRow>
          label="portal.users.field.id"
          sortable={false}
          render={(r) => (
            // A link, so that the user's page is reachable with the keyboard too.
            <Link
              to={`/users/${encodeURIComponent(r.id)}/show`}
              onClick={(e: MouseEvent) => e.stopPropagation()}
            >
              {r.id}
            </Link>
          )}
        />
        <TextField source="displayName" label="portal.users.field.displayName" sortable={false} />
        <FunctionField<UserRow>
          label="portal.users.field.email"
          sortable={false}
          render={(r) => r.email ?? '—'}
        />
        <FunctionField<UserRow>
          label="portal.users.field.pools"
          sortable={false}
          render={(r) => (r.pools.length === 0 ? '—' : r.pools.join(', '))}
        />
        <FunctionField<UserRow>
          label="portal.users.field.status"
          sortable={false}
          render={(r) => translate(`portal.users.status.${r.status}`)}
        />
        <FunctionField<UserRow>
          label="portal.users.field.devices"
          sortable={false}
          render={(r) => r.devices}
        />
        <FunctionField<UserRow>
          label="portal.users.field.lastSeen"
          sortable={false}
          render={(r) => formatTime(r.lastSeenAt)}
        />
      </Datagrid>
    </List>
  );
}
