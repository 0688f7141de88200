/**
 * Chromium for the browser tests: finding the executable and NSS's `certutil`, a temporary home
 * whose NSS database trusts the server's local certificate authority, and the launch itself.
 * There is no certificate flag: the browser trusts the server only through that CA.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/** Where Debian's `chromium` package installs the browser. */
const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/** The nickname of the local CA in the NSS database. */
const CA_NICKNAME = 'cloister-local-ca';

/**
 * The flags the browser runs with; `spec/browser-tests.md` says why each is there. None of them
 * touches certificate checking.
 *
 * @example
 * ```ts
 * CHROMIUM_ARGS.includes('--ignore-certificate-errors'); // false
 * ```
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * The tools the browser tests need, or why they cannot run.
 *
 * @example
 * ```ts
 * const tools: BrowserTools = { ok: false, reason: 'Chromium is not installed' };
 * ```
 */
export type BrowserTools =
  | { readonly ok: true; readonly chromium: string; readonly certutil: string }
  | { readonly ok: false; readonly reason: string };

function isExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable called `name` on `PATH`, if any. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Finds Chromium (`CLOISTER_CHROMIUM`, else `/usr/bin/chromium`, else `chromium` on `PATH`) and
 * `certutil` (Debian's `libnss3-tools`), or says plainly which is missing and how to get it.
 *
 * @example
 * ```ts
 * const tools = findBrowserTools();
 * if (!tools.ok) console.log(`not run: ${tools.reason}`);
 * ```
 */
export function findBrowserTools(env: NodeJS.ProcessEnv = process.env): BrowserTools {
  let browser: string | undefined;
  const given = env.CLOISTER_CHROMIUM;
  if (given !== undefined && given !== '') {
    if (!isExecutable(given)) {
      return { ok: false, reason: `CLOISTER_CHROMIUM=${given} is not an executable file` };
    }
    browser = given;
  } else {
    browser = isExecutable(DEBIAN_CHROMIUM) ? DEBIAN_CHROMIUM : onPath('chromium');
  }
  if (browser === undefined) {
    return {
      ok: false,
      reason:
        'Chromium is not installed (no /usr/bin/chromium, no chromium on PATH, CLOISTER_CHROMIUM not set); ' +
        'install it with `apt-get install -y chromium libnss3-tools` or set CLOISTER_CHROMIUM=/path/to/chromium',
    };
  }
  const certutil = onPath('certutil');
  if (certutil === undefined) {
    return {
      ok: false,
      reason:
        'certutil (NSS tools) is not installed, so the local CA cannot be trusted; ' +
        'install it with `apt-get install -y libnss3-tools`',
    };
  }
  return { ok: true, chromium: browser, certutil };
}

/**
 * Creates a temporary home directory for the browser whose NSS database
 * (`$HOME/.pki/nssdb`, where Chromium on Linux reads locally trusted certificates) is new and
 * empty, and, when `caPem` is given, trusts that CA for TLS servers (`-t "C,,"`).
 *
 * @example
 * ```ts
 * const home = createBrowserHome('/usr/bin/certutil', server.localCa.caCert);
 * ```
 */
export function createBrowserHome(certutil: string, caPem?: string): string {
  const home = mkdtempSync(join(tmpdir(), 'cloister-browser-home-'));
  const nssdb = join(home, '.pki', 'nssdb');
  mkdirSync(nssdb, { recursive: true, mode: 0o700 });
  const db = `sql:${nssdb}`;
  execFileSync(certutil, ['-d', db, '-N', '--empty-password'], { stdio: 'pipe' });
  if (caPem !== undefined) {
    const caFile = join(home, 'ca.pem');
    writeFileSync(caFile, caPem);
    execFileSync(certutil, ['-d', db, '-A', '-t', 'C,,', '-n', CA_NICKNAME, '-i', caFile], { stdio: 'pipe' });
  }
  return home;
}

/**
 * Launches headless Chromium with {@link CHROMIUM_ARGS} and `HOME` (and the XDG directories)
 * inside `home`, so it reads that home's NSS database and writes nowhere else.
 *
 * @example
 * ```ts
 * const browser = await launchChromium('/usr/bin/chromium', home);
 * const page = await browser.newPage();
 * ```
 */
export function launchChromium(executablePath: string, home: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS],
    env: {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_CACHE_HOME: join(home, '.cache'),
      XDG_DATA_HOME: join(home, '.local', 'share'),
    },
    timeout: 30_000,
  });
}
