/**
 * The portal shell: react-admin's `<Admin>` (hash router) with the auth provider over the
 * session, the data provider composed from the areas' handlers and the shell's, the i18n provider
 * (English and German), the signed-in layout, the login page, the areas' resources and routes and
 * the shell's screens (dashboard, administrators, my signing key). Routes a role may not use show
 * {@link NotAllowed}. `spec/portal.md`.
 *
 * @module
 */
import { useMemo } from 'react';
import {
  Admin,
  CustomRoutes,
  localStorageStore,
  NotFound,
  Resource,
  reactRouterProvider,
  useLocation,
  usePermissions,
} from 'react-admin';
import { ADMINISTRATORS_DATA, AdministratorsList } from '../admins/index.js';
import { AREAS } from '../areas/index.js';
import { Dashboard } from '../dashboard/dashboard.js';
import { createI18nProvider } from '../i18n/index.js';
import { MyKeyPage } from '../keys/screen.js';
import { portalController } from '../session/instance.js';
import { createAuthProvider } from './auth-provider.js';
import { composeDataProvider } from './data-provider.js';
import { allMenuEntries, PortalLayout } from './layout.js';
import { LoginPage } from './login-page.js';
import { NotAllowed } from './not-allowed.js';

const { Route } = reactRouterProvider;

/** Not found, or not allowed when the path is a screen of the menu the role may not see. */
function CatchAll() {
  const location = useLocation();
  const { permissions } = usePermissions<readonly string[]>();
  const held = new Set(permissions ?? []);
  const segment = `/${location.pathname.split('/').filter(Boolean)[0] ?? ''}`;
  const entry = allMenuEntries().find((e) => e.to === segment || e.to.startsWith(`${segment}/`));
  if (entry !== undefined && !held.has(entry.permission)) return <NotAllowed />;
  return <NotFound />;
}

/** An area's route element (anything with `path` and `element` props) as a router route. */
function asRoute(element: React.ReactElement, key: string) {
  const props = element.props as { path?: string; element?: React.ReactNode };
  return <Route key={key} path={props.path ?? '*'} element={props.element} />;
}

function PortalLogin() {
  return <LoginPage controller={portalController()} />;
}

/** The portal. */
export function PortalApp() {
  const { authProvider, dataProvider, i18nProvider } = useMemo(() => {
    const controller = portalController();
    return {
      authProvider: createAuthProvider(controller),
      dataProvider: composeDataProvider(
        [...AREAS.map((a) => a.data), { administrators: ADMINISTRATORS_DATA }],
        () => controller.session(),
      ),
      i18nProvider: createI18nProvider(AREAS.map((a) => a.messages)),
    };
  }, []);
  return (
    <Admin
      title="Cloister"
      authProvider={authProvider}
      dataProvider={dataProvider}
      i18nProvider={i18nProvider}
      layout={PortalLayout}
      loginPage={PortalLogin}
      dashboard={Dashboard}
      catchAll={CatchAll}
      store={localStorageStore(undefined, 'cloister-portal')}
      requireAuth
      disableTelemetry
    >
      {(permissions: readonly string[] | undefined) => {
        const held = permissions ?? [];
        return [
          ...AREAS.flatMap((area) => area.resources(held)),
          ...(held.includes('admins.manage')
            ? [<Resource key="administrators" name="administrators" list={AdministratorsList} />]
            : []),
          <CustomRoutes key="routes">
            {[
              ...AREAS.flatMap((area) => area.routes(held).map((r, i) => asRoute(r, `${area.id}-${i}`))),
              <Route key="my-key" path="/my-key" element={<MyKeyPage />} />,
            ]}
          </CustomRoutes>,
        ];
      }}
    </Admin>
  );
}
