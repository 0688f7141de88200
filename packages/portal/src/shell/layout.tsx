/**
 * The signed-in layout: react-admin's layout (with its skip-to-content link) around the session
 * provider; the app bar with the page heading (`<h1>`, focused after every navigation), the
 * language menu and the user menu; the menu with the areas' entries the role may see and the
 * shell's own (dashboard, administrators, my signing key).
 *
 * @module
 */

import type { OrganisationSigner } from '@cloister/admin';
import KeyIcon from '@mui/icons-material/Key';
import ManageAccountsIcon from '@mui/icons-material/ManageAccounts';
import type { ReactNode } from 'react';
import { useEffect, useRef } from 'react';
import {
  AppBar,
  Layout,
  LoadingIndicator,
  LocalesMenuButton,
  Menu,
  TitlePortal,
  UserMenu,
  useLocaleState,
  useLocation,
} from 'react-admin';
import type { MenuEntry } from '../areas/area.js';
import { AREAS } from '../areas/index.js';
import { KeyDialog } from '../keys/screen.js';
import { portalController } from '../session/instance.js';
import { PortalSessionProvider } from '../session/provider.js';
import { usePortal } from '../session/use-portal.js';

/** The shell's own menu entries after the dashboard. */
export const SHELL_MENU: readonly MenuEntry[] = [
  {
    to: '/administrators',
    label: 'portal.menu.administrators',
    icon: <ManageAccountsIcon />,
    permission: 'admins.manage',
  },
  { to: '/my-key', label: 'portal.menu.my_key', icon: <KeyIcon />, permission: 'tenant.read' },
];

/** Every menu entry: the areas' in their order, then the shell's. */
export function allMenuEntries(): readonly MenuEntry[] {
  return [...AREAS.flatMap((area) => area.menu), ...SHELL_MENU];
}

function PortalMenu() {
  const { can } = usePortal();
  return (
    <Menu>
      <Menu.DashboardItem />
      {allMenuEntries()
        .filter((entry) => can(entry.permission))
        .map((entry) => (
          <Menu.Item key={entry.to} to={entry.to} primaryText={entry.label} leftIcon={entry.icon} />
        ))}
    </Menu>
  );
}

function PortalAppBar() {
  const { identity } = usePortal();
  return (
    <AppBar
      // The primary blue: white text on it has a contrast of 4.6:1 (the default secondary has 3.1:1).
      color="primary"
      // The user menu's button is named by the person's name it shows (no "Profile" label that
      // differs from the visible text).
      userMenu={<UserMenu label={identity.name} />}
      toolbar={
        <>
          <LocalesMenuButton />
          <LoadingIndicator />
        </>
      }
    >
      <TitlePortal component="h1" variant="h6" tabIndex={-1} sx={{ outline: 'none', fontSize: '1.25rem' }} />
    </AppBar>
  );
}

/** Moves the focus to the page heading after a navigation; keeps `<html lang>` on the language. */
function FocusAndLanguage() {
  const location = useLocation();
  const [locale] = useLocaleState();
  const first = useRef(true);
  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the focus follows the path
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const timer = setTimeout(() => document.getElementById('react-admin-title')?.focus(), 80);
    return () => clearTimeout(timer);
  }, [location.pathname]);
  return null;
}

/** The layout component: the session of the tab's controller, with the key dialog. */
export function PortalLayout({ children }: { readonly children: ReactNode }) {
  return (
    <PortalSessionProvider controller={portalController()} keyDialog={renderKeyDialog}>
      <FocusAndLanguage />
      <Layout appBar={PortalAppBar} menu={PortalMenu}>
        {children}
      </Layout>
    </PortalSessionProvider>
  );
}

function renderKeyDialog(done: (signer: OrganisationSigner | undefined) => void): ReactNode {
  return <KeyDialog onDone={done} />;
}
