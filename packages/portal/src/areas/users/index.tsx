/**
 * The users area of the portal (`spec/portal-users.md`): the `users` resource (list with filters
 * and bulk actions, "Invite user" as its create page, a user's page as its show page) and the
 * `devices` resource (the device search), their data handlers, menu entries and messages.
 *
 * @module
 */
import DevicesIcon from '@mui/icons-material/Devices';
import PeopleIcon from '@mui/icons-material/People';
import { Resource } from 'react-admin';
import type { Area } from '../area.js';
import { usersData } from './data.js';
import { DevicesList } from './devices-list.js';
import { InviteUserPage } from './invite.js';
import { usersMessages } from './messages.js';
import { UserShow } from './user-show.js';
import { UsersList } from './users-list.js';

export const usersArea: Area = {
  id: 'users',
  resources: (permissions) => {
    const out = [];
    if (permissions.includes('users.read')) {
      out.push(
        <Resource
          key="users"
          name="users"
          list={UsersList}
          show={UserShow}
          {...(permissions.includes('users.invite') ? { create: InviteUserPage } : {})}
          recordRepresentation="displayName"
        />,
      );
    }
    if (permissions.includes('devices.read')) {
      out.push(<Resource key="devices" name="devices" list={DevicesList} />);
    }
    return out;
  },
  routes: () => [],
  data: usersData,
  menu: [
    { to: '/users', label: 'portal.users.menu.users', icon: <PeopleIcon />, permission: 'users.read' },
    { to: '/devices', label: 'portal.users.menu.devices', icon: <DevicesIcon />, permission: 'devices.read' },
  ],
  messages: usersMessages,
};
