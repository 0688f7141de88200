/**
 * The admin portal part of the demo: a server with the portal (`@cloister/portal`, built first
 * when `packages/portal/dist` is missing) and a local certificate authority, an organisation with
 * a few users and devices, and what a person needs to sign in as its owner from a browser: the
 * URL, how to trust the CA, the tenant, e-mail, password, TOTP URI and a recovery code, and the
 * owner's signing key as a `signing-key.json` with its passphrase. The demo checks that `/admin`
 * redirects to the portal and that the page comes with a fresh style nonce.
 *
 *   npx tsx --conditions=@cloister/source examples/demo-portal.ts
 *
 * On a terminal the server keeps running until Ctrl-C; otherwise it stops at once.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { portalRoot } from '../packages/portal/index.js';
import { type LocalSystem, nextEvent, type Say, startLocalSystem } from './demo-system.js';

/** The portal package's directory in this repository. */
export const PORTAL_PACKAGE = fileURLToPath(new URL('../packages/portal/', import.meta.url));

/** What {@link runPortalDemo} set up and checked. */
export interface PortalDemoReport {
  /** The address to open: `https://localhost:<port>/admin`. */
  readonly url: string;
  /** The local CA's certificate file, to import as a certificate authority. */
  readonly caFile: string;
  /** The owner's signing key store written for the portal to import. */
  readonly signingKeyFile: string;
  /** `GET /admin`: status and `Location`. */
  readonly redirect: { readonly status: number; readonly location: string | undefined };
  /** `GET /portal/`: status, whether it is HTML, and whether its nonce is the policy's. */
  readonly page: { readonly status: number; readonly html: boolean; readonly nonceMatches: boolean };
  /** Whether the portal was built by this run. */
  readonly built: boolean;
}

/** Whether `/admin` redirected to the portal and its page came with a matching style nonce. */
export function portalServed(report: PortalDemoReport): boolean {
  return (
    report.redirect.status === 302 &&
    report.redirect.location === '/portal/' &&
    report.page.status === 200 &&
    report.page.html &&
    report.page.nonceMatches
  );
}

/** Options of {@link runPortalDemo}. */
export interface PortalDemoOptions {
  readonly say: Say;
  /** The built portal to serve (default: `packages/portal/dist`, built first when missing). */
  readonly portalRoot?: string;
  /** Called while the server runs, before it stops (the demo waits for Ctrl-C here). */
  readonly hold?: (report: PortalDemoReport, system: LocalSystem) => Promise<void>;
}

/** Builds the portal with its `build` script (`vite build`) unless `dist/index.html` exists. */
function ensurePortalBuilt(say: Say): boolean {
  if (existsSync(join(PORTAL_PACKAGE, 'dist', 'index.html'))) return false;
  say(
    'The admin portal is not built yet: building it now with its build script (vite build; once)',
    `in ${PORTAL_PACKAGE}`,
  );
  const started = performance.now();
  const built = spawnSync('npm', ['run', 'build', '--silent'], {
    cwd: PORTAL_PACKAGE,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (built.status !== 0) {
    throw new Error(
      `building the admin portal failed (exit ${built.status ?? built.signal}): run "npx --yes pnpm@10.34.9 --filter @cloister/portal build" to see why`,
    );
  }
  say('Admin portal built', `in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return true;
}

/** One GET through a client that trusts only the local CA (as a browser that imported it). */
function trustedGet(
  url: string,
  ca: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca: [ca], agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject);
  });
}

/**
 * Starts a server with the admin portal and a local CA, enrols a few users, writes the owner's
 * signing key next to the server's data, checks the redirect and the page's nonce, prints how to
 * sign in, then calls `hold` and stops the server.
 *
 * @example
 * ```ts
 * const report = await runPortalDemo({ say: (title, ...lines) => console.log(title, ...lines) });
 * console.log(report.redirect.location); // '/portal/'
 * ```
 */
export async function runPortalDemo(options: PortalDemoOptions): Promise<PortalDemoReport> {
  const { say } = options;
  const built = options.portalRoot === undefined && ensurePortalBuilt(say);
  const root = options.portalRoot ?? portalRoot();
  const system = await startLocalSystem({ server: { portal: { root }, localCa: true } });
  try {
    // Something to look at: alice on a phone and a laptop, bob, and carol invited but not enrolled.
    const aliceToken = await system.token('alice', 2);
    const alice = await system.client('alice', { token: aliceToken });
    await system.client('alice', { token: aliceToken });
    const bob = await system.client('bob');
    const hello = 'The portal shows who is here.';
    const received = nextEvent(bob, 'message', (e) => !e.message.outgoing);
    await alice.sendText({ user: 'bob' }, hello);
    await received;
    await system.token('carol');

    const localCa = system.server.localCa;
    if (localCa === undefined) throw new Error('the demo server runs with its local CA');
    const port = new URL(system.url).port;
    const url = `https://localhost:${port}/admin`;
    const keyDir = system.dir('portal');
    mkdirSync(keyDir, { recursive: true });
    const signingKeyFile = join(keyDir, 'signing-key.json');
    const signIn = system.ownerSignIn;
    writeFileSync(signingKeyFile, signIn.signingKeyJson, { mode: 0o600 });

    const ca = localCa.caCert;
    const admin = await trustedGet(`${system.url}/admin`, ca);
    const page = await trustedGet(`${system.url}/portal/`, ca);
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(String(page.headers['content-security-policy']))?.[1];
    const report: PortalDemoReport = {
      url,
      caFile: localCa.caFile,
      signingKeyFile,
      redirect: { status: admin.status, location: admin.headers.location as string | undefined },
      page: {
        status: page.status,
        html: /^text\/html/.test(String(page.headers['content-type'])),
        nonceMatches: nonce !== undefined && page.body.includes(`nonce="${nonce}"`),
      },
      built,
    };
    say(
      'The admin portal: served by the server at /portal/, with a strict content security policy',
      `GET /admin -> ${report.redirect.status} ${report.redirect.location ?? ''}; GET /portal/ -> ${report.page.status}, a fresh style nonce in the page and its policy: ${report.page.nonceMatches}`,
      'organisation "ACME Hospital": alice (2 devices), bob, and carol (invited, not enrolled yet)',
    );
    say(
      `Open the portal: ${url}`,
      `trust the server's local CA once (made for this run; its key stays in the temporary directory): ${localCa.caFile}`,
      `  Chromium/Chrome on Linux: certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "Cloister demo CA" -i ${localCa.caFile}`,
      '  (remove it afterwards: certutil -d sql:$HOME/.pki/nssdb -D -n "Cloister demo CA"; Firefox, macOS, Windows: spec/server-web.md §3)',
      `sign in: tenant ${signIn.tenant}, e-mail ${signIn.email}, password "${signIn.password}"`,
      `TOTP for an authenticator app (add it by URI, or type its secret): ${signIn.totpUri}`,
      `or, once, a recovery code: ${signIn.recoveryCodes[0] ?? '(none)'}`,
      `then import the owner's signing key: ${signingKeyFile}`,
      `  its passphrase: ${signIn.signingKeyPassphrase}`,
    );
    await options.hold?.(report, system);
    return report;
  } finally {
    await system.close();
  }
}

/** Resolves on the first SIGINT or SIGTERM. */
export function stopRequested(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let step = 0;
  await runPortalDemo({
    say: (title, ...lines) => {
      step += 1;
      console.log(`\n[${step}] ${title}`);
      for (const line of lines) console.log(`    ${line}`);
    },
    hold: async () => {
      if (!process.stdout.isTTY) return;
      console.log('\nThe server keeps running so that you can sign in; press Ctrl-C to stop.');
      await stopRequested();
    },
  });
}
