/**
 * The portal scenario of `pnpm test:browser`: the admin portal (`packages/portal`, built with
 * Vite when its `dist/` is older than its sources) in Debian's Chromium against a real server that
 * serves it at `/portal/` with its local CA and a strict content security policy. The owner signs
 * in with password and TOTP and imports their signing key; then the shell's flows, the users',
 * organisation's and compliance areas' flows (`flows/<area>.ts`), and the closing flows: a
 * user-manager invited in the portal cannot reach owner screens, axe-core finds no serious or
 * critical violation on any screen, and every screen is photographed in English and German
 * (`browser-tests/portal/artifacts/<lang>/<name>.png`). `spec/browser-tests.md`.
 *
 * Without Chromium or `certutil` it says plainly that the portal scenario did NOT run; it then
 * fails only under `CI=true`.
 *
 * @module
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import test, { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { createBrowserHome, findBrowserTools, launchChromium } from '../lib/chromium.js';
import type { PortalFlow, PortalScreen, PortalTestContext } from './lib/context.js';
import { printer, Steps } from './lib/steps.js';

/** The whole scenario must finish within this time (it takes about 2.5 minutes on an idle machine). */
const SCENARIO_TIMEOUT_MS = 420_000;
/** A flow should finish within this time; one that takes longer is reported as slow. */
const FLOW_BUDGET_MS = 20_000;
/** A flow fails when it takes longer than this (a loaded machine is slower, not broken). */
const FLOW_TIMEOUT_MS = 45_000;
/** Building the portal and starting the system may take longer than a flow. */
const SETUP_TIMEOUT_MS = 180_000;

/** Where the screenshots go (gitignored). */
const ARTIFACTS_DIR = fileURLToPath(new URL('./artifacts/', import.meta.url));

const line = printer('portal');

const tools = findBrowserTools();
if (!tools.ok) {
  const ci = process.env.CI === 'true';
  line(`The portal browser tests did NOT run: ${tools.reason}.`);
  line(
    ci
      ? 'CI=true, so this is a failure: CI must run the browser tests.'
      : 'Not a failure outside CI (CI is not "true"); nothing was tested in a browser.',
  );
  process.exit(ci ? 1 : 0);
}

// Loaded after the checks above: the server, its database and the SDK take seconds to load.
const { preparePortal } = await import('./lib/build.js');
const { startPortalSystem } = await import('./lib/system.js');
const shell = await import('./flows/shell.js');
const users = await import('./flows/users.js');
const organisation = await import('./flows/organisation.js');
const compliance = await import('./flows/compliance.js');

after(() => {
  setTimeout(() => {
    line('something was still running after the tests; exiting');
    process.exit(process.exitCode ?? 0);
  }, 15_000).unref();
});

test('the admin portal in Chromium against a real server', { timeout: SCENARIO_TIMEOUT_MS }, async (t) => {
  const started = performance.now();
  const homes: string[] = [];
  const browsers: Browser[] = [];
  let started_: Awaited<ReturnType<typeof startPortalSystem>> | undefined;
  const consoleErrors: string[] = [];
  let seen = 0;
  let failurePage: Page | undefined;
  const steps = new Steps(
    t,
    line,
    FLOW_TIMEOUT_MS,
    () => {
      if (consoleErrors.length > seen) {
        const fresh = consoleErrors.slice(seen);
        seen = consoleErrors.length;
        throw new Error(`the portal logged ${fresh.length} console error(s):\n  ${fresh.join('\n  ')}`);
      }
    },
    async (title) => {
      if (failurePage === undefined) return;
      const path = join(ARTIFACTS_DIR, 'failure.png');
      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      await failurePage.screenshot({ path, fullPage: true });
      line(`the page when "${title}" failed: ${path} (at ${failurePage.url()})`);
    },
  );
  const watch = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') {
        const where = message.location().url;
        // The browser asks for /favicon.ico on its own; the portal has none.
        const path = new URL(where || 'about:blank').pathname;
        if (path === '/favicon.ico') return;
        // The browser logs every 4xx answer; the admin API's refusals are expected answers (a
        // wrong password, a forbidden call) that the flows check on the page.
        if (path.startsWith('/admin/v1/') && /status of 4\d\d/.test(message.text())) return;
        consoleErrors.push(`console.error: ${message.text()}${where === '' ? '' : ` (${where})`}`);
      }
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  };

  try {
    let root = '';
    await steps.run(
      'build the portal with Vite (when older than its sources)',
      async () => {
        const build = await preparePortal();
        root = build.root;
        return `${build.built ? 'built' : 'up to date'}: ${root}`;
      },
      SETUP_TIMEOUT_MS,
    );

    await steps.run(
      'start the server (local CA, the portal at /portal/) and set up the organisation',
      async () => {
        started_ = await startPortalSystem(root);
        return `${started_.portalUrl}, tenant ${started_.owner.tenant}, owner ${started_.owner.email}`;
      },
      SETUP_TIMEOUT_MS,
    );
    const sys = started_!;

    let page: Page | undefined;
    let browser: Browser | undefined;
    await steps.run('the browser trusts the local CA and loads the portal under its CSP', async () => {
      const home = createBrowserHome(tools.certutil, sys.caPem);
      homes.push(home);
      browser = await launchChromium(tools.chromium, home);
      browsers.push(browser);
      const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 900 } });
      page = await context.newPage();
      failurePage = page;
      watch(page);
      return shell.loadPortal(page, sys.portalUrl);
    });

    const shared = new Map<string, unknown>();
    shared.set('owner', sys.owner);
    shared.set('totp', () => sys.ownerTotp.next());
    shared.set('tools', tools);
    shared.set('homes', homes);
    shared.set('watch', watch);
    shared.set('caPem', sys.caPem);
    const ctx: PortalTestContext = {
      page: page!,
      browser: browser!,
      system: sys.system,
      portalUrl: sys.portalUrl,
      shared,
    };

    shared.set('artifacts', ARTIFACTS_DIR);
    rmSync(ARTIFACTS_DIR, { recursive: true, force: true });
    for (const lang of ['en', 'de']) mkdirSync(join(ARTIFACTS_DIR, lang), { recursive: true });

    // CLOISTER_PORTAL_AREAS=users,compliance runs only those areas' flows and screens (while
    // working on one area); the shell's flows and the closing flows always run.
    const only = (process.env.CLOISTER_PORTAL_AREAS ?? '').split(',').filter((a) => a !== '');
    const area = <T>(name: string, list: readonly T[]): readonly T[] =>
      only.length === 0 || only.includes(name) ? list : [];
    if (only.length > 0) line(`only the flows of: ${only.join(', ')} (CLOISTER_PORTAL_AREAS)`);
    const screens: PortalScreen[] = [
      ...shell.screens,
      ...area('users', users.screens),
      ...area('organisation', organisation.screens),
      ...area('compliance', compliance.screens),
    ];
    shared.set('screens', screens);
    const flows: PortalFlow[] = [
      ...shell.flows,
      ...area('users', users.flows),
      ...area('organisation', organisation.flows),
      ...area('compliance', compliance.flows),
      ...shell.closingFlows(screens),
    ];
    const slow: string[] = [];
    for (const flow of flows) {
      const began = performance.now();
      await steps.run(flow.name, () => flow.run(ctx));
      const ms = performance.now() - began;
      if (ms > FLOW_BUDGET_MS) slow.push(`${flow.name} (${(ms / 1000).toFixed(1)} s)`);
    }
    if (slow.length > 0) line(`slower than ${FLOW_BUDGET_MS / 1000} s: ${slow.join('; ')}`);

    line(`passed: ${steps.count} steps in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    for (const browser of browsers) await browser.close().catch(() => undefined);
    await started_?.system.close().catch(() => undefined);
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  }
});
