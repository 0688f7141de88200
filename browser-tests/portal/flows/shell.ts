/**
 * The shell's flows of the portal scenario: loading the portal under its content security
 * policy, the owner's sign-in with TOTP (after a refused one), importing the owner's signing key,
 * the dashboard's charts; and the closing flows: a user-manager invited in the Administrators
 * screen signs in in a second browser context and cannot reach owner screens; axe-core on every
 * screen; screenshots of every screen in English and German. `spec/browser-tests.md`.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { PortalFlow, PortalScreen, PortalTestContext } from '../lib/context.js';
import { answerStepUp } from '../lib/step-up.js';
import type { OwnerSignIn } from '../lib/system.js';
import { TotpDevice } from '../lib/totp.js';

const require = createRequire(import.meta.url);

/** The page heading (`<h1>`) with `name`. */
function heading(page: Page, name: string | RegExp) {
  return page.getByRole('heading', { level: 1, name });
}

/** Loads the portal; checks the answer's policy allows styles only with a nonce and no inline script. */
export async function loadPortal(page: Page, portalUrl: string): Promise<string> {
  const response = await page.goto(portalUrl);
  if (response === null || response.status() !== 200)
    throw new Error(`GET ${portalUrl} answered ${response?.status()}`);
  const policy = response.headers()['content-security-policy'] ?? '';
  if (!/script-src 'self'(;|$)/.test(policy))
    throw new Error(`the portal's scripts are not limited to 'self': ${policy}`);
  if (/unsafe-inline|unsafe-eval/.test(policy))
    throw new Error(`the portal's policy allows unsafe sources: ${policy}`);
  const style = /style-src ([^;]*)/.exec(policy)?.[1] ?? '';
  if (!/'nonce-[A-Za-z0-9+/=_-]+'/.test(style))
    throw new Error(`the portal's style-src has no nonce: ${style}`);
  await heading(page, 'Sign in to the Cloister administration').waitFor({ timeout: 15_000 });
  // The old address: the server redirects /admin to the portal (followed by the page's own fetch).
  const landed = await page.evaluate(async () => {
    const answer = await fetch('/admin');
    return { url: answer.url, redirected: answer.redirected };
  });
  if (!landed.redirected || new URL(landed.url).pathname !== '/portal/') {
    throw new Error(`GET /admin did not redirect to /portal/ (ended at ${landed.url})`);
  }
  const styled = await page.evaluate(() => document.querySelectorAll('style[data-emotion]').length);
  if (styled === 0)
    throw new Error('no style element of the portal was applied (the nonce did not reach the style cache)');
  return `the login page under style-src ${style.replace(/'nonce-[^']+'/, "'nonce-…'")}, ${styled} nonce-carrying style elements; /admin redirects to /portal/`;
}

/** Fills the login form and submits it. */
export async function submitSignIn(
  page: Page,
  who: { readonly tenant: string; readonly email: string; readonly password: string },
  code: string,
): Promise<void> {
  await page.getByLabel('Organisation (tenant id)').fill(who.tenant);
  await page.getByLabel('E-mail address').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByLabel('Code from your authenticator app').fill(code);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

function owner(ctx: PortalTestContext): OwnerSignIn {
  const value = ctx.shared.get('owner');
  if (value === undefined) throw new Error('the runner did not share the owner sign-in');
  return value as OwnerSignIn;
}

async function totp(ctx: PortalTestContext): Promise<string> {
  const next = ctx.shared.get('totp') as (() => Promise<string>) | undefined;
  if (next === undefined) throw new Error('the runner did not share the TOTP generator');
  return next();
}

const signIn: PortalFlow = {
  name: 'the owner signs in with password and TOTP (a wrong password is refused first)',
  async run(ctx) {
    const { page } = ctx;
    const who = owner(ctx);
    await submitSignIn(page, { ...who, password: `${who.password} (wrong)` }, '000000');
    const alert = page.getByRole('alert').filter({ hasText: 'Sign-in failed' });
    await alert.waitFor({ timeout: 15_000 });
    await submitSignIn(page, who, await totp(ctx));
    await heading(page, 'Dashboard').waitFor({ timeout: 15_000 });
    const stored = await page.evaluate(() => ({
      session: Object.keys(sessionStorage).filter((k) => k.startsWith('cloister-portal')),
      local: Object.keys(localStorage).filter((k) => /session|token/i.test(k)),
    }));
    if (stored.session.length !== 1)
      throw new Error(`the session is not in sessionStorage: ${stored.session}`);
    if (stored.local.length > 0) throw new Error(`localStorage holds session data: ${stored.local}`);
    return `"Sign-in failed" for the wrong password, then the dashboard; the token only in sessionStorage`;
  },
};

const importKey: PortalFlow = {
  name: "import the owner's signing key (non-extractable WebCrypto key in IndexedDB)",
  async run(ctx) {
    const { page } = ctx;
    const who = owner(ctx);
    await page.goto(`${ctx.portalUrl}#/my-key`);
    await heading(page, 'My signing key').waitFor({ timeout: 15_000 });
    await page.getByLabel('Contents of signing-key.json').fill(who.signingKeyJson);
    await page.getByLabel('Passphrase of the key file').fill(who.signingKeyPassphrase);
    await page.getByRole('button', { name: 'Import key' }).click();
    const fingerprint = page.getByLabel('Fingerprint of the public key');
    await fingerprint.waitFor({ timeout: 15_000 });
    const kept = await page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open('cloister-portal-keys');
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const records = await new Promise<unknown[]>((resolve, reject) => {
        const request = db.transaction('keys').objectStore('keys').getAll();
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      db.close();
      const found = records as { cryptoKey?: CryptoKey }[];
      const key = found[0]?.cryptoKey;
      let exported = 'refused';
      if (key !== undefined) {
        exported = await crypto.subtle.exportKey('pkcs8', key).then(
          () => 'EXPORTED',
          () => 'refused',
        );
      }
      return {
        count: found.length,
        type: key?.type,
        extractable: key?.extractable,
        exported,
        bytes: found.map((r) => Object.values(r).filter((v) => v instanceof Uint8Array).length),
      };
    });
    if (kept.count !== 1 || kept.type !== 'private')
      throw new Error(`IndexedDB keeps ${JSON.stringify(kept)}`);
    if (kept.extractable !== false || kept.exported !== 'refused') {
      throw new Error(`the kept private key is extractable: ${JSON.stringify(kept)}`);
    }
    return `fingerprint ${(await fingerprint.inputValue()).slice(0, 19)}…; IndexedDB holds a private CryptoKey, extractable false, exportKey refused`;
  },
};

const dashboardChart: PortalFlow = {
  name: 'the dashboard draws its charts (with table alternatives)',
  async run(ctx) {
    const { page } = ctx;
    await page.goto(`${ctx.portalUrl}#/`);
    await heading(page, 'Dashboard').waitFor({ timeout: 15_000 });
    await page.getByRole('table', { name: 'Storage used and quota' }).waitFor({ timeout: 15_000 });
    await page.getByRole('img', { name: /Line chart of active users/ }).waitFor({ timeout: 15_000 });
    const drawn = await page.evaluate(() =>
      Array.from(document.querySelectorAll('canvas')).map((canvas) => {
        const context = canvas.getContext('2d');
        if (context === null || canvas.width === 0 || canvas.height === 0) return 0;
        const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
        let painted = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) painted += 1;
        return painted;
      }),
    );
    if (drawn.length < 2) throw new Error(`the dashboard shows ${drawn.length} canvases, expected 2`);
    if (drawn.some((n) => n === 0))
      throw new Error(`a chart canvas is blank (painted pixels: ${drawn.join(', ')})`);
    return `${drawn.length} charts drawn (${drawn.join(', ')} painted pixels), storage table shown`;
  },
};

/** The shell's flows after the sign-in: run before the areas'. */
export const flows: readonly PortalFlow[] = [signIn, importKey, dashboardChart];

/** The shell's screens. */
export const screens: readonly PortalScreen[] = [
  {
    name: 'dashboard',
    path: '#/',
    ready: (page) => page.getByRole('table', { name: 'Storage used and quota' }).waitFor(),
  },
  {
    name: 'administrators',
    path: '#/administrators',
    ready: (page) => page.getByRole('button', { name: 'Invite administrator' }).waitFor(),
  },
  {
    name: 'my-key',
    path: '#/my-key',
    ready: (page) => page.getByLabel('Fingerprint of the public key').waitFor(),
  },
];

/**
 * Screens a user-manager must not reach, by name (an area's screens carry the area's prefix, e.g.
 * `organisation-policies`): administrators, policies, archive settings, integrations, SCIM
 * tokens, the audit log.
 */
const OWNER_SCREEN = /(^|-)(administrators|polic|archive|integrations|scim|audit)/;

async function userManagerFlow(ctx: PortalTestContext, screens: readonly PortalScreen[]): Promise<string> {
  const { page } = ctx;
  const email = `uma.${Date.now().toString(36)}@acme.example`;
  const password = 'user manager password 4711';
  await page.goto(`${ctx.portalUrl}#/administrators`);
  await page.getByRole('button', { name: 'Invite administrator' }).click();
  const dialog = page.getByRole('dialog', { name: 'Invite an administrator' });
  await dialog.getByLabel('Name').fill('Uma (user manager)');
  await dialog.getByLabel('E-mail address').fill(email);
  await dialog.getByLabel('Role').click();
  await page.getByRole('option', { name: 'User manager' }).click();
  await dialog.getByLabel('Initial password').fill(password);
  await dialog.getByRole('button', { name: 'Invite' }).click();
  await answerStepUp(ctx);
  const handover = page.getByRole('dialog', { name: 'Hand these over to Uma (user manager)' });
  await handover.getByRole('img', { name: /QR code for the authenticator app/ }).waitFor({ timeout: 15_000 });
  const uri = await handover.getByLabel('Authenticator setup link').inputValue();
  const codes = await handover.getByRole('listitem').allTextContents();
  if (codes.length < 5) throw new Error(`the handover shows ${codes.length} recovery codes`);
  await handover.getByRole('button', { name: 'I have handed these over' }).click();
  await handover.waitFor({ state: 'hidden' });
  await page.getByRole('cell', { name: email }).waitFor({ timeout: 15_000 });

  // A second browser context: Uma signs in on her own.
  const browser = ctx.browser as Browser;
  const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  try {
    const uma = await context.newPage();
    (ctx.shared.get('watch') as ((p: Page) => void) | undefined)?.(uma);
    await uma.goto(ctx.portalUrl);
    await submitSignIn(uma, { tenant: owner(ctx).tenant, email, password }, await new TotpDevice(uri).next());
    await heading(uma, 'Dashboard').waitFor({ timeout: 15_000 });
    const menuLinks = uma.locator('.RaSidebar-fixed [role="menuitem"], .RaSidebar-fixed a');
    const menu = (await menuLinks.allTextContents()).map((s) => s.trim()).filter((s) => s !== '');
    const hrefs = (
      await menuLinks.evaluateAll((links) => links.map((l) => l.getAttribute('href') ?? ''))
    ).filter((h) => h !== '');
    const owned = screens.filter((s) => OWNER_SCREEN.test(s.name));
    const listed = owned.filter((s) => hrefs.some((h) => h === s.path || h === s.path.replace(/^#/, '')));
    if (listed.length > 0) {
      throw new Error(
        `the user-manager's menu lists owner screens: ${listed.map((s) => s.name).join(', ')} (menu: ${menu.join(', ')})`,
      );
    }
    const refused: string[] = [];
    for (const screen of owned) {
      await uma.goto(`${ctx.portalUrl}${screen.path}`);
      const notAllowed = await heading(uma, 'Not allowed')
        .waitFor({ timeout: 8_000 })
        .then(
          () => true,
          () => false,
        );
      if (!notAllowed) {
        throw new Error(`the user-manager reached ${screen.name} (${screen.path}) without "Not allowed"`);
      }
      refused.push(screen.name);
    }
    if (!refused.includes('administrators')) throw new Error('the administrators screen was not checked');
    return `invited with QR code, setup link and ${codes.length} recovery codes; signed in in a second context; menu: ${menu.join(', ')}; not allowed: ${refused.join(', ')}`;
  } finally {
    await context.close();
  }
}

interface AxeResult {
  readonly violations: readonly {
    id: string;
    impact: string | null;
    nodes: readonly { readonly target: readonly unknown[] }[];
    help: string;
  }[];
}

let axeWay: 'script tag' | 'evaluate' | undefined;

/**
 * Whether the portal's policy lets `page.addScriptTag` inject axe-core: tried once on a page of
 * its own (not watched for console errors: the policy's refusal is logged there, as it should be).
 */
async function scriptTagAllowed(ctx: PortalTestContext, path: string): Promise<boolean> {
  const probe = await ctx.page.context().newPage();
  try {
    await probe.goto(ctx.portalUrl);
    await probe.getByRole('heading', { level: 1 }).first().waitFor({ timeout: 15_000 });
    return await probe
      .addScriptTag({ path })
      .then(() => probe.evaluate(() => 'axe' in globalThis))
      .catch(() => false);
  } finally {
    await probe.close();
  }
}

/**
 * Puts axe-core into the page: a script tag when the policy allows it (it does not: `script-src
 * 'self'` refuses inline scripts), else the source evaluated through the DevTools protocol, which
 * the page's policy does not govern (only the test does this).
 */
async function injectAxe(ctx: PortalTestContext): Promise<'script tag' | 'evaluate'> {
  const path = require.resolve('axe-core/axe.min.js');
  axeWay ??= (await scriptTagAllowed(ctx, path)) ? 'script tag' : 'evaluate';
  if (await ctx.page.evaluate(() => 'axe' in globalThis)) return axeWay;
  if (axeWay === 'script tag') await ctx.page.addScriptTag({ path });
  else {
    const { readFileSync } = await import('node:fs');
    await ctx.page.evaluate(readFileSync(path, 'utf8'));
  }
  if (!(await ctx.page.evaluate(() => 'axe' in globalThis)))
    throw new Error('axe-core did not load into the page');
  return axeWay;
}

/**
 * Opens `screen` and waits for it: its `<h1>`, then its `ready` (written against the English
 * texts, so only in English; in German the network settling and a moment stand in for it).
 */
async function visit(page: Page, portalUrl: string, screen: PortalScreen, english = true): Promise<void> {
  await page.goto(`${portalUrl}${screen.path}`);
  await page.getByRole('heading', { level: 1 }).first().waitFor({ timeout: 8_000 });
  if (english && screen.ready !== undefined) await screen.ready(page);
  await page.waitForLoadState('networkidle', { timeout: 3_000 }).catch(() => undefined);
  if (!english) await page.waitForTimeout(400);
}

function axeFlow(group: string, screens: readonly PortalScreen[]): PortalFlow {
  return {
    name: `axe-core: no serious or critical violation on the ${group} screens`,
    async run(ctx) {
      const minor: string[] = [];
      const serious: string[] = [];
      let how = '';
      for (const screen of screens) {
        await visit(ctx.page, ctx.portalUrl, screen);
        how = await injectAxe(ctx);
        const result = (await ctx.page.evaluate(() =>
          (globalThis as unknown as { axe: { run(c: unknown, o: unknown): Promise<unknown> } }).axe.run(
            document,
            {
              resultTypes: ['violations'],
            },
          ),
        )) as AxeResult;
        for (const v of result.violations) {
          const text = `${screen.name}: ${v.id} (${v.impact}, ${v.nodes.length}×)`;
          const where = v.nodes
            .slice(0, 3)
            .map((n) => JSON.stringify(n.target))
            .join(' ');
          if (v.impact === 'serious' || v.impact === 'critical')
            serious.push(`${text}: ${v.help} at ${where}`);
          else minor.push(text);
        }
      }
      if (serious.length > 0) throw new Error(`axe-core found:\n  ${serious.join('\n  ')}`);
      return `${screens.length} screens, axe injected by ${how === 'evaluate' ? 'evaluate (the CSP refuses addScriptTag)' : how}; minor: ${minor.length === 0 ? 'none' : minor.join('; ')}`;
    },
  };
}

async function chooseLanguage(
  page: Page,
  portalUrl: string,
  name: 'English' | 'Deutsch',
  lang: string,
): Promise<void> {
  await page.goto(`${portalUrl}#/`);
  await page.getByRole('heading', { level: 1 }).first().waitFor({ timeout: 8_000 });
  const button = page.getByRole('button', { name: /^(Language|Sprache|English|Deutsch)/ }).first();
  await button.click();
  await page.getByRole('menuitem', { name }).click();
  await page.waitForFunction((l) => document.documentElement.lang === l, lang, { timeout: 5_000 });
}

function screenshotFlow(
  lang: 'en' | 'de',
  group: string,
  screens: readonly PortalScreen[],
  first: boolean,
  last: boolean,
): PortalFlow {
  return {
    name: `screenshots of the ${group} screens in ${lang === 'en' ? 'English' : 'German'}`,
    async run(ctx) {
      const dir = join(ctx.shared.get('artifacts') as string, lang);
      if (first) await chooseLanguage(ctx.page, ctx.portalUrl, lang === 'de' ? 'Deutsch' : 'English', lang);
      for (const screen of screens) {
        await visit(ctx.page, ctx.portalUrl, screen, lang === 'en');
        await ctx.page.screenshot({ path: join(dir, `${screen.name}.png`), fullPage: true });
      }
      const htmlLang = await ctx.page.evaluate(() => document.documentElement.lang);
      if (htmlLang !== lang) throw new Error(`<html lang> is "${htmlLang}", expected "${lang}"`);
      if (last && lang === 'de') await chooseLanguage(ctx.page, ctx.portalUrl, 'English', 'en');
      return `${screens.length} screens to artifacts/${lang}/ (<html lang="${htmlLang}">)`;
    },
  };
}

/** The closing flows over every screen of every area. */
export function closingFlows(all: readonly PortalScreen[]): PortalFlow[] {
  const groups: [string, PortalScreen[]][] = [];
  // At most 6 screens per flow, so that each stays within its time.
  for (let i = 0; i < all.length; i += 6)
    groups.push([`${i + 1}–${Math.min(all.length, i + 6)}`, all.slice(i, i + 6)]);
  return [
    {
      name: 'a user-manager invited in the portal cannot reach owner screens',
      run: (ctx) => userManagerFlow(ctx, all),
    },
    ...groups.map(([name, screens]) => axeFlow(name, screens)),
    ...(['en', 'de'] as const).flatMap((lang) =>
      groups.map(([name, screens], i) =>
        screenshotFlow(lang, name, screens, i === 0, i === groups.length - 1),
      ),
    ),
  ];
}
