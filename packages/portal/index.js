/**
 * `@cloister/portal`: the admin portal, a static web app built into `dist/`. A server serves it
 * with `createServer({ portal: { root: portalRoot() } })` or `cloister server start --portal`.
 * Reference: `spec/portal.md`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The absolute path of the built portal (the directory holding `index.html`). Throws an `Error`
 * that says how to build it when it is missing.
 */
export function portalRoot() {
  const root = fileURLToPath(new URL('./dist/', import.meta.url));
  if (!existsSync(`${root}index.html`)) {
    throw new Error(
      `the admin portal is not built (${root}index.html is missing): run "pnpm --filter @cloister/portal build"`,
    );
  }
  return root;
}
