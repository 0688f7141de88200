/**
 * The contract between the portal scenario's runner (`browser-tests/portal/run.ts`) and the flows
 * each area of the portal contributes (`browser-tests/portal/flows/<area>.ts`): a flow gets the
 * signed-in page and the running system, and resolves with a one-line detail; a screen names a
 * hash route the runner visits for the accessibility check and the screenshots in both languages.
 *
 * @module
 */
import type { Browser, Page } from 'playwright-core';
import type { LocalSystem } from '../../../examples/demo-system.js';

/**
 * What a flow gets.
 *
 * @example
 * ```ts
 * async function run(ctx: PortalTestContext): Promise<string> {
 *   await ctx.page.goto(`${ctx.portalUrl}#/users`);
 *   return 'the users list shows';
 * }
 * ```
 */
export interface PortalTestContext {
  /** Signed in as the owner (English UI), the owner's signing key already imported. */
  readonly page: Page;
  readonly browser: Browser;
  /** The running system: `system.client(user, { token })` enrols a Node client; `system.owner` is the owner's Node signer/AdminClient; `system.url`. */
  readonly system: LocalSystem;
  /** The portal's base URL, e.g. https://localhost:PORT/portal/ */
  readonly portalUrl: string;
  /** State flows share (e.g. a user invited by one flow, a Node client). */
  readonly shared: Map<string, unknown>;
}

/**
 * One named step of the scenario; the first failure stops it.
 *
 * @example
 * ```ts
 * const flow: PortalFlow = { name: 'the users list shows', run: async (ctx) => 'ok' };
 * ```
 */
export interface PortalFlow {
  /** E.g. 'invite a user whose device enrols'. */
  readonly name: string;
  /** Resolves with a one-line detail; throws on failure. */
  run(ctx: PortalTestContext): Promise<string>;
}

/**
 * A screen the closing flows visit: axe-core, then screenshots in English and German.
 *
 * @example
 * ```ts
 * const screen: PortalScreen = { name: 'users-list', path: '#/users' };
 * ```
 */
export interface PortalScreen {
  /** File-name safe, e.g. 'users-list'. */
  readonly name: string;
  /** The hash route after the portal URL, e.g. '#/users'. */
  readonly path: string;
  /** Optional: wait until the screen shows its content (a heading, a row). */
  ready?(page: Page): Promise<void>;
}
