/**
 * The organisation area of the portal (`spec/portal-organisation.md`): pools and their rules,
 * policies per layer with locks, and the broadcast composer with delivery and read counts. Every
 * organisation object (pool rules, policy layers, broadcasts) is signed in the browser with the
 * session's signer. The screens are custom routes; each checks its permission and shows the
 * shell's "not allowed" page without it. Policies are an owner's and administrator's screen
 * (`policy.write`): a user-manager or an auditor does not reach it.
 *
 * @module
 */
import CampaignIcon from '@mui/icons-material/Campaign';
import GroupWorkIcon from '@mui/icons-material/GroupWork';
import PolicyIcon from '@mui/icons-material/Policy';
import ShareIcon from '@mui/icons-material/Share';
import { reactRouterProvider } from 'react-admin';
import type { Area } from '../area.js';
import { BroadcastsScreen } from './broadcasts.js';
import { Gate } from './common.js';
import { organisationMessages } from './messages.js';
import { PoliciesScreen } from './policies.js';
import { PoolRulesScreen } from './pool-rules.js';
import { PoolsScreen } from './pools.js';

const { Route } = reactRouterProvider;

/** The routes of the area and the permission each needs to be seen. */
export const ORGANISATION_ROUTES = [
  { path: '/pools', permission: 'users.read' },
  { path: '/pool-rules', permission: 'users.read' },
  { path: '/policies', permission: 'policy.write' },
  { path: '/broadcasts', permission: 'broadcast.send' },
] as const;

export const organisationArea: Area = {
  id: 'organisation',
  resources: () => [],
  routes: () => [
    <Route
      key="pools"
      path="/pools"
      element={
        <Gate permission="users.read">
          <PoolsScreen />
        </Gate>
      }
    />,
    <Route
      key="pool-rules"
      path="/pool-rules"
      element={
        <Gate permission="users.read">
          <PoolRulesScreen />
        </Gate>
      }
    />,
    <Route
      key="policies"
      path="/policies"
      element={
        <Gate permission="policy.write">
          <PoliciesScreen />
        </Gate>
      }
    />,
    <Route
      key="broadcasts"
      path="/broadcasts"
      element={
        <Gate permission="broadcast.send">
          <BroadcastsScreen />
        </Gate>
      }
    />,
  ],
  data: {},
  menu: [
    {
      to: '/pools',
      label: 'portal.organisation.menu.pools',
      icon: <GroupWorkIcon />,
      permission: 'users.read',
    },
    {
      to: '/pool-rules',
      label: 'portal.organisation.menu.pool_rules',
      icon: <ShareIcon />,
      permission: 'users.read',
    },
    {
      to: '/policies',
      label: 'portal.organisation.menu.policies',
      icon: <PolicyIcon />,
      permission: 'policy.write',
    },
    {
      to: '/broadcasts',
      label: 'portal.organisation.menu.broadcasts',
      icon: <CampaignIcon />,
      permission: 'broadcast.send',
    },
  ],
  messages: organisationMessages,
};
