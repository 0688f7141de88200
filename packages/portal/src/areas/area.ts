/**
 * What an area of the portal (users, organisation, compliance) hands the shell: its react-admin
 * resources and custom routes, the data handlers behind its resources, its menu entries and its
 * messages in both languages. The shell (`src/shell/`) composes the areas; an area never imports
 * another area's modules.
 *
 * @module
 */
import type { ReactElement } from 'react';
import type { DataProvider } from 'react-admin';

/** A menu entry: shown only to roles whose permissions include `permission`. */
export interface MenuEntry {
  /** The route, e.g. `/users` or `/policies`. */
  readonly to: string;
  /** The i18n key of its label, e.g. `portal.menu.users`. */
  readonly label: string;
  /** An icon element (from `@mui/icons-material`). */
  readonly icon: ReactElement;
  /** The admin-API permission needed to see it (`spec/admin-auth.md` §6), e.g. `users.read`. */
  readonly permission: string;
}

/** Messages of one area: the same keys in both languages (a test checks they match). */
export interface AreaMessages {
  readonly en: Record<string, unknown>;
  readonly de: Record<string, unknown>;
}

/**
 * One area of the portal.
 *
 * - `resources(permissions)`: `<Resource>` elements for the permissions the session has (an
 *   auditor gets no users resource, say); react-admin renders the list, show and edit views.
 * - `routes(permissions)`: `<Route>` elements for screens that are not a resource list (the
 *   dashboard, a composer), rendered inside the layout.
 * - `data`: per resource name, the data-provider methods that resource supports, written with
 *   the portal's `AdminClient` (`usePortal().client` is not reachable here, so each handler gets
 *   the session's `PortalSession` as its first argument through `bindData`).
 */
export interface Area {
  readonly id: 'users' | 'organisation' | 'compliance';
  readonly resources: (permissions: readonly string[]) => ReactElement[];
  readonly routes: (permissions: readonly string[]) => ReactElement[];
  readonly data: Record<string, AreaData>;
  readonly menu: readonly MenuEntry[];
  readonly messages: AreaMessages;
}

/** The data-provider methods a resource may serve (`DataProvider`'s own, without its index signature). */
export type DataMethod =
  | 'getList'
  | 'getOne'
  | 'getMany'
  | 'getManyReference'
  | 'update'
  | 'updateMany'
  | 'create'
  | 'delete'
  | 'deleteMany';

/**
 * Data-provider methods of one resource, given the portal session. Only the methods the resource
 * supports; the shell answers the others with a typed "not supported" error.
 */
export type AreaData = {
  readonly [K in DataMethod]?: (
    session: import('../session/portal-context.js').PortalSession,
    ...args: Parameters<DataProvider[K]>
  ) => ReturnType<DataProvider[K]>;
};
