/**
 * The portal shell: react-admin's `<Admin>` with the auth, data and i18n providers, the layout,
 * the login page and the areas' resources and routes. (Skeleton: the shell's owner replaces it.)
 *
 * @module
 */
export function PortalApp() {
  return <p>Cloister admin portal</p>;
}
