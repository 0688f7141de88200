/**
 * The devices list (`devices.read`): the device search of `client.bulk.findDevices` (text, state,
 * pool, client version, platform, app version) in numbered pages; a row opens its user's page,
 * where a device is blocked, unblocked or wiped.
 *
 * @module
 */
import { Box, Typography } from '@mui/material';
import {
  Datagrid,
  FilterButton,
  FunctionField,
  List,
  Pagination,
  SearchInput,
  SelectInput,
  TextInput,
  TopToolbar,
  useTranslate,
} from 'react-admin';
import type { DeviceRow } from './data.js';
import { ON_PAGE, useFormatTime } from './users-list.js';

/** The devices list page (`#/devices`). */
export function DevicesList() {
  const translate = useTranslate();
  const formatTime = useFormatTime();
  return (
    <List
      title={translate('portal.users.devices.title')}
      filters={[
        <SearchInput key="text" source="text" alwaysOn placeholder={translate('portal.users.filter.text')} />,
        <SelectInput
          key="status"
          source="status"
          label="portal.users.filter.status"
          choices={[
            { id: 'active', name: 'portal.users.device.active' },
            { id: 'blocked', name: 'portal.users.device.blocked' },
          ]}
          alwaysOn
        />,
        <TextInput key="pool" source="pool" label="portal.users.filter.pool" />,
        <TextInput key="clientVersion" source="clientVersion" label="portal.users.filter.clientVersion" />,
        <TextInput key="platform" source="platform" label="portal.users.filter.platform" />,
        <TextInput key="appVersion" source="appVersion" label="portal.users.filter.appVersion" />,
      ]}
      actions={
        <TopToolbar sx={ON_PAGE}>
          <FilterButton />
        </TopToolbar>
      }
      perPage={25}
      pagination={<Pagination rowsPerPageOptions={[10, 25, 50, 100]} />}
      exporter={false}
      empty={
        <Box sx={{ p: 2 }}>
          <Typography>{translate('portal.users.devices.empty')}</Typography>
        </Box>
      }
    >
      <Datagrid
        bulkActionButtons={false}
        rowClick={(_id, _resource, record) => `/users/${encodeURIComponent(String(record.user))}/show`}
        empty={
          <Box sx={{ p: 2 }}>
            <Typography>{translate('portal.users.list.noMatch')}</Typography>
          </Box>
        }
      >
        <FunctionField<DeviceRow> label="portal.users.devices.user" sortable={false} render={(r) => r.user} />
        <FunctionField<DeviceRow>
          label="portal.users.device.id"
          sortable={false}
          render={(r) => translate('portal.users.device.name', { device: r.device })}
        />
        <FunctionField<DeviceRow>
          label="portal.users.device.state"
          sortable={false}
          render={(r) =>
            translate(
              r.blocked
                ? 'portal.users.device.blocked'
                : r.userBlocked
                  ? 'portal.users.devices.userBlocked'
                  : 'portal.users.device.active',
            )
          }
        />
        <FunctionField<DeviceRow>
          label="portal.users.device.enrolled"
          sortable={false}
          render={(r) => formatTime(r.createdAt)}
        />
        <FunctionField<DeviceRow>
          label="portal.users.field.lastSeen"
          sortable={false}
          render={(r) => formatTime(r.lastSeenAt)}
        />
        <FunctionField<DeviceRow>
          label="portal.users.device.clientVersion"
          sortable={false}
          render={(r) => r.clientVersion ?? '—'}
        />
        <FunctionField<DeviceRow>
          label="portal.users.device.enrolledVia"
          sortable={false}
          render={(r) => translate(`portal.users.device.via.${r.enrolledVia}`)}
        />
      </Datagrid>
    </List>
  );
}
