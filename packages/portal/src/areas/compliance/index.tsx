/**
 * The compliance area of the portal (`spec/portal-compliance.md`): the audit log (search, chain
 * verification, export), the archive settings (key sets, scope, indicator preview), integrations
 * (API keys, webhooks), SCIM tokens and the directory sync status. Every screen is a custom
 * route; each checks its permission again (`Gate`), so a route reached by URL without it shows
 * the shell's "not allowed" page.
 *
 * @module
 */
import ArchiveIcon from '@mui/icons-material/Archive';
import HubIcon from '@mui/icons-material/Hub';
import KeyIcon from '@mui/icons-material/Key';
import ManageSearchIcon from '@mui/icons-material/ManageSearch';
import SyncIcon from '@mui/icons-material/Sync';
import type { ReactElement } from 'react';
import { reactRouterProvider } from 'react-admin';
import type { Area, MenuEntry } from '../area.js';
import { ArchiveSettingsPage } from './archive-settings.js';
import { AuditLogPage } from './audit-log.js';
import { DirectoryStatusPage } from './directory-status.js';
import { IntegrationsPage } from './integrations.js';
import { complianceMessages } from './messages.js';
import { ScimTokensPage } from './scim-tokens.js';
import { Gate } from './ui.js';

const { Route } = reactRouterProvider;

/** The area's screens: route, permission, page and menu entry. */
export const COMPLIANCE_SCREENS: readonly {
  readonly path: string;
  readonly permission: string;
  readonly page: () => ReactElement;
  readonly menu: Omit<MenuEntry, 'to' | 'permission'>;
}[] = [
  {
    path: '/audit',
    permission: 'audit.read',
    page: AuditLogPage,
    menu: { label: 'portal.compliance.menu.audit', icon: <ManageSearchIcon /> },
  },
  {
    path: '/archive',
    // The screen reads with `policy.read` (key sets, tenant layer); it is a compliance screen,
    // so it is shown to the roles that read the audit log too (owner, admin, auditor), not to a
    // user-manager.
    permission: 'audit.read',
    page: ArchiveSettingsPage,
    menu: { label: 'portal.compliance.menu.archive', icon: <ArchiveIcon /> },
  },
  {
    path: '/integrations',
    permission: 'integrations.manage',
    page: IntegrationsPage,
    menu: { label: 'portal.compliance.menu.integrations', icon: <HubIcon /> },
  },
  {
    path: '/scim-tokens',
    permission: 'scim.manage',
    page: ScimTokensPage,
    menu: { label: 'portal.compliance.menu.scim', icon: <KeyIcon /> },
  },
  {
    path: '/directory',
    permission: 'audit.read',
    page: DirectoryStatusPage,
    menu: { label: 'portal.compliance.menu.directory', icon: <SyncIcon /> },
  },
];

export const complianceArea: Area = {
  id: 'compliance',
  resources: () => [],
  // Every route is registered whatever the role: the page itself shows "not allowed" without
  // the permission, rather than the router's "not found".
  routes: () =>
    COMPLIANCE_SCREENS.map((s) => {
      const Screen = s.page;
      return (
        <Route
          key={s.path}
          path={s.path}
          element={
            <Gate permission={s.permission}>
              <Screen />
            </Gate>
          }
        />
      );
    }),
  data: {},
  menu: COMPLIANCE_SCREENS.map((s) => ({ to: s.path, permission: s.permission, ...s.menu })),
  messages: complianceMessages,
};
