/**
 * `pnpm test:browser`: the client SDK in Debian's Chromium (headless, through `playwright-core`)
 * with real IndexedDB, against a real `@cloister/server` that serves the test page from its own
 * origin with a certificate of its local CA, which the browser trusts through its NSS database
 * and no certificate flag. The scenario and the reasons for every flag are in
 * `spec/browser-tests.md`.
 *
 * Without Chromium or `certutil` it says plainly that the browser tests did NOT run, and why; it
 * then fails only under `CI=true`, so that CI cannot skip them.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import test, { after, type TestContext } from 'node:test';
import type { ClientMessage, CloisterClient } from '@cloister/client';
import type { Browser, Page } from 'playwright-core';
import { PAGE_GLOBAL, type PageApi } from './app/page-api.js';
import { buildPackages, buildPage, packagesToBuild } from './lib/build.js';
import { createBrowserHome, findBrowserTools, launchChromium } from './lib/chromium.js';
import { findPlaintext, type Secret } from './lib/scan.js';

/** The whole scenario must finish within this time. */
const SCENARIO_TIMEOUT_MS = 120_000;
/** One step must finish within this time. */
const STEP_TIMEOUT_MS = 45_000;
/** How long a message may take to arrive. */
const DELIVERY_TIMEOUT_MS = 20_000;

/** The page's device PIN (six digits) and a wrong one. */
const PAGE_PIN = '482913';
const WRONG_PIN = '482914';

function line(text: string): void {
  process.stdout.write(`[browser] ${text}\n`);
}

const tools = findBrowserTools();
if (!tools.ok) {
  const ci = process.env.CI === 'true';
  line(`The browser tests did NOT run: ${tools.reason}.`);
  line(
    ci
      ? 'CI=true, so this is a failure: CI must run the browser tests.'
      : 'Not a failure outside CI (CI is not "true"); nothing was tested in a browser.',
  );
  process.exit(ci ? 1 : 0);
}

const stale = packagesToBuild();
if (stale.length > 0) {
  line(`packages whose dist/ is missing or older than their sources: ${stale.join(', ')}; building them`);
  buildPackages(stale);
}
// Loaded after the checks above, so that a run without a browser says so at once: the server, its
// database and the admin SDK take seconds to load.
const { startSystem } = await import('./lib/system.js');
type TestSystem = Awaited<ReturnType<typeof startSystem>>;

/** Calls `method` of the page's {@link PageApi} with `args` (JSON) inside the page. */
function call<K extends keyof PageApi>(
  page: Page,
  method: K,
  ...args: Parameters<PageApi[K]>
): Promise<Awaited<ReturnType<PageApi[K]>>> {
  return page.evaluate(
    ({ global, method, args }) => {
      const api = (globalThis as unknown as Record<string, Record<string, (...a: unknown[]) => unknown>>)[
        global
      ];
      if (api === undefined) throw new Error(`the page did not set window.${global}`);
      return api[method]!(...args);
    },
    { global: PAGE_GLOBAL, method, args: args as unknown[] },
  ) as Promise<Awaited<ReturnType<PageApi[K]>>>;
}

/** Resolves the first message `client` receives that `match` accepts; rejects after `ms`. */
function nextMessage(
  client: CloisterClient,
  what: string,
  match: (m: ClientMessage) => boolean,
  ms = DELIVERY_TIMEOUT_MS,
): Promise<ClientMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`the Node client did not receive ${what} within ${ms} ms`));
    }, ms);
    const off = client.on('message', (e) => {
      if (!match(e.message)) return;
      clearTimeout(timer);
      off();
      resolve(e.message);
    });
  });
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** Runs named steps in order as subtests; the first failure stops the scenario. */
class Steps {
  #count = 0;
  readonly #t: TestContext;
  readonly #afterEach: () => void;

  constructor(t: TestContext, afterEach: () => void) {
    this.#t = t;
    this.#afterEach = afterEach;
  }

  /** Runs `fn` as step `name`; it resolves the summary printed for the step. */
  async run(name: string, fn: () => Promise<string>): Promise<void> {
    this.#count += 1;
    const title = `${this.#count}. ${name}`;
    let passed = false;
    let reported = false;
    let ended = false;
    await this.#t.test(title, { timeout: STEP_TIMEOUT_MS }, async () => {
      const started = performance.now();
      try {
        const summary = await fn();
        this.#afterEach();
        // A step that ends after its time limit was already reported as failed.
        if (ended) return;
        passed = true;
        line(`ok   ${title} (${Math.round(performance.now() - started)} ms): ${summary}`);
      } catch (error) {
        if (ended) return;
        reported = true;
        line(`FAIL ${title}: ${error instanceof Error ? error.message : String(error)}`);
        throw error;
      }
    });
    ended = true;
    // A step that timed out is still running: it neither passed nor reported.
    if (!passed) {
      if (!reported) line(`FAIL ${title}: did not finish within ${STEP_TIMEOUT_MS / 1000} s`);
      throw new Error(`step "${title}" failed; the steps after it did not run`);
    }
  }

  get count(): number {
    return this.#count;
  }
}

// A step that timed out may leave something running (a browser, a socket): once every test has
// ended and the reporter has had time to print, nothing may keep the process from exiting.
after(() => {
  setTimeout(() => {
    line('something was still running after the tests; exiting');
    process.exit(process.exitCode ?? 0);
  }, 15_000).unref();
});

test('the client SDK in Chromium, with IndexedDB, against a real server', {
  timeout: SCENARIO_TIMEOUT_MS,
}, async (t) => {
  const started = performance.now();
  const temp = mkdtempSync(join(tmpdir(), 'cloister-browser-test-'));
  const homes: string[] = [];
  const browsers: Browser[] = [];
  let system: TestSystem | undefined;
  let bob: CloisterClient | undefined;
  let page: Page | undefined;
  const consoleErrors: string[] = [];
  let consoleErrorsSeen = 0;
  const steps = new Steps(t, () => {
    if (consoleErrors.length > consoleErrorsSeen) {
      const fresh = consoleErrors.slice(consoleErrorsSeen);
      consoleErrorsSeen = consoleErrors.length;
      throw new Error(`the page logged ${fresh.length} console error(s):\n  ${fresh.join('\n  ')}`);
    }
  });

  // What was sent, to search for in IndexedDB at the end.
  const nonce = randomBytes(6).toString('hex');
  const texts = {
    pageToNode: `page→node ${nonce}: the ward round moves to 14:30, Grüße`,
    nodeToPage: `node→page ${nonce}: noted, bed 7 is free again 🛏`,
    pageAfterReload: `page→node ${nonce}: back after the reload`,
    nodeAfterReload: `node→page ${nonce}: welcome back`,
  };
  const pageFile = { name: 'page-to-node.bin', bytes: new Uint8Array(randomBytes(300 * 1024 + 7)) };
  const nodeFile = { name: 'node-to-page.bin', bytes: new Uint8Array(randomBytes(200 * 1024 + 3)) };

  let wrongPinName = '';
  try {
    let pageRoot = '';
    await steps.run('build the page with Vite from the packages by name', async () => {
      const build = await buildPage(join(temp, 'app'));
      pageRoot = build.root;
      return `${build.files.length} files, JavaScript ${kib(build.scriptBytes)} (${kib(build.scriptGzipBytes)} gzipped), no Node module reached`;
    });

    await steps.run(
      'start the server (local CA, the page under /app/) and set up the organisation',
      async () => {
        system = await startSystem(pageRoot);
        return `${system.appUrl}, pin ${system.pin}, tenant and owner through the admin API, root ${system.rootFingerprint.slice(0, 32)}…`;
      },
    );
    const sys = system!;

    await steps.run('a browser without the local CA refuses the server', async () => {
      const home = createBrowserHome(tools.certutil);
      homes.push(home);
      const untrusting = await launchChromium(tools.chromium, home);
      browsers.push(untrusting);
      const probe = await untrusting.newPage();
      const refusal = await probe.goto(sys.appUrl).then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
      await untrusting.close();
      assert(refusal !== undefined, 'Chromium loaded the page without trusting the local CA');
      assert(
        /ERR_CERT_AUTHORITY_INVALID/.test(refusal),
        `Chromium refused the page for another reason than an unknown authority: ${refusal.split('\n')[0]}`,
      );
      return 'net::ERR_CERT_AUTHORITY_INVALID with an empty NSS database (no certificate flag anywhere)';
    });

    await steps.run('the browser trusts the local CA and loads the page from the server', async () => {
      const home = createBrowserHome(tools.certutil, sys.caPem);
      homes.push(home);
      const browser = await launchChromium(tools.chromium, home);
      browsers.push(browser);
      page = await browser.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(`console.error: ${message.text()}`);
      });
      page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
      const response = await page.goto(sys.appUrl);
      assert(
        response !== null && response.status() === 200,
        `GET ${sys.appUrl} answered ${response?.status()}`,
      );
      const policy = response.headers()['content-security-policy'] ?? '';
      assert(
        /connect-src 'self'/.test(policy),
        `the page's content security policy is not the web app's: ${policy}`,
      );
      await page.waitForFunction((global) => global in globalThis, PAGE_GLOBAL, { timeout: 10_000 });
      return `HTTP 200 over TLS trusted through the NSS database; CSP ${policy.split(';').length} directives`;
    });
    const p = page!;

    await steps.run('enrol the page (enrolment code, 6-digit PIN, IndexedDB) and a Node client', async () => {
      bob = await sys.nodeClient('bob');
      const status = await call(p, 'open', sys.pin);
      assert(status === 'unenrolled', `a fresh page's client is ${status}, expected unenrolled`);
      const enrolled = await call(p, 'enroll', await sys.invite('alice'), PAGE_PIN);
      assert(enrolled.userId === 'alice', `the page enrolled as ${enrolled.userId}, expected alice`);
      return `page: alice device ${enrolled.deviceId} in IndexedDB; Node: bob device ${bob.me.deviceId} in memory`;
    });
    const b = bob!;

    await steps.run('text from the page to the Node client', async () => {
      const arrived = nextMessage(
        b,
        'the page’s text',
        (m) => m.content.body.type === 'text' && m.content.body.text === texts.pageToNode,
      );
      await call(p, 'sendText', 'bob', texts.pageToNode);
      const m = await arrived;
      assert(m.from.userId === 'alice', `the text arrived from ${m.from.userId}, expected alice`);
      return `bob read it from alice/${m.from.deviceId}`;
    });

    await steps.run('text from the Node client to the page', async () => {
      const arrived = call(p, 'waitForMessage', { text: texts.nodeToPage }, DELIVERY_TIMEOUT_MS);
      await b.sendText({ user: 'alice' }, texts.nodeToPage);
      const m = await arrived;
      assert(
        m.from === 'bob' && !m.outgoing,
        `the page got the text from ${m.from} (outgoing ${m.outgoing})`,
      );
      return 'the page read it from bob';
    });

    await steps.run('file from the page, downloaded by the Node client', async () => {
      const arrived = nextMessage(
        b,
        'the page’s file',
        (m) => m.content.body.type === 'file' && m.content.body.file.fileName === pageFile.name,
      );
      await call(p, 'sendFile', 'bob', Buffer.from(pageFile.bytes).toString('base64'), pageFile.name);
      const m = await arrived;
      assert(m.content.body.type === 'file', 'not a file message');
      const bytes = await b.downloadFile(m.content.body.file);
      assert(
        Buffer.from(bytes).equals(Buffer.from(pageFile.bytes)),
        `bob downloaded ${bytes.length} bytes that differ from the ${pageFile.bytes.length} the page sent`,
      );
      return `${kib(bytes.length)} byte for byte`;
    });

    await steps.run('file from the Node client, downloaded and compared by the page', async () => {
      const arrived = call(p, 'waitForMessage', { fileName: nodeFile.name }, DELIVERY_TIMEOUT_MS);
      await b.sendFile({ user: 'alice' }, { data: nodeFile.bytes, name: nodeFile.name });
      const m = await arrived;
      const result = await call(
        p,
        'downloadAndCompare',
        m.id,
        Buffer.from(nodeFile.bytes).toString('base64'),
      );
      assert(
        result.size === nodeFile.bytes.length,
        `the page downloaded ${result.size} bytes, expected ${nodeFile.bytes.length}`,
      );
      assert(result.equal, 'the bytes the page downloaded differ from those bob sent');
      return `${kib(result.size)} byte for byte`;
    });

    await steps.run('reload the page: the client is locked', async () => {
      await call(p, 'flush');
      await p.reload();
      await p.waitForFunction((global) => global in globalThis, PAGE_GLOBAL, { timeout: 10_000 });
      const status = await call(p, 'open', sys.pin);
      assert(status === 'locked', `after the reload the client is ${status}, expected locked`);
      return 'status locked, read from IndexedDB';
    });

    await steps.run('a wrong PIN is refused with WrongPin', async () => {
      const result = await call(p, 'unlock', WRONG_PIN);
      assert(!result.ok, 'the wrong PIN unlocked the client');
      assert(
        result.wrongPin && result.error.code === 'ERR_WRONG_PIN',
        `the wrong PIN failed with ${result.error.name} (${result.error.code}): ${result.error.message}`,
      );
      assert(result.status === 'locked', `after a wrong PIN the client is ${result.status}, expected locked`);
      wrongPinName = result.error.name;
      return `instanceof WrongPin, ${result.error.code}, still locked`;
    });

    await steps.run('the right PIN unlocks and the history is intact', async () => {
      const result = await call(p, 'unlock', PAGE_PIN);
      assert(result.ok, `the right PIN was refused: ${result.ok ? '' : result.error.message}`);
      const history = await call(p, 'history', 'bob');
      const seen = history.map(
        (m) => `${m.outgoing ? 'out' : 'in'} ${m.kind} ${m.text ?? `${m.fileName} ${m.size}`}`,
      );
      const expected = [
        `out text ${texts.pageToNode}`,
        `in text ${texts.nodeToPage}`,
        `out file ${pageFile.name} ${pageFile.bytes.length}`,
        `in file ${nodeFile.name} ${nodeFile.bytes.length}`,
      ];
      assert(
        JSON.stringify(seen) === JSON.stringify(expected),
        `the history after the reload is\n  ${seen.join('\n  ')}\nexpected\n  ${expected.join('\n  ')}`,
      );
      return `${history.length} messages in order (2 texts, 2 files)`;
    });

    await steps.run('after the reload, messages flow both ways (sessions kept in IndexedDB)', async () => {
      const atBob = nextMessage(
        b,
        'the text sent after the reload',
        (m) => m.content.body.type === 'text' && m.content.body.text === texts.pageAfterReload,
      );
      await call(p, 'sendText', 'bob', texts.pageAfterReload);
      await atBob;
      const atPage = call(p, 'waitForMessage', { text: texts.nodeAfterReload }, DELIVERY_TIMEOUT_MS);
      await b.sendText({ user: 'alice' }, texts.nodeAfterReload);
      await atPage;
      return 'one text each way';
    });

    await steps.run('no plaintext in any IndexedDB database of the origin', async () => {
      await call(p, 'flush');
      await call(p, 'close');
      // A database written with no Cloister code: the dump must find its plaintext.
      const canary: Secret[] = [
        { label: 'canary text', value: `canary ${nonce}: plaintext written without Cloister` },
        { label: 'canary bytes', value: new Uint8Array(randomBytes(8192)) },
      ];
      await call(
        p,
        'writeCanary',
        'canary',
        canary[0]!.value as string,
        Buffer.from(canary[1]!.value).toString('base64'),
      );
      const dump = await call(p, 'dumpIndexedDb');
      const client = dump.databases.find((d) => d.name === 'cloister-page');
      const clientRecords = client?.stores.reduce((n, s) => n + s.records, 0) ?? 0;
      assert(
        clientRecords > 0,
        `the dump holds no record of the client's database: ${JSON.stringify(dump.databases)}`,
      );
      const canaryFound = new Set(findPlaintext(dump, canary).map((f) => f.label));
      assert(
        canaryFound.has('canary text') && canaryFound.has('canary bytes'),
        `the dump did not find the canary's plaintext (found: ${[...canaryFound].join(', ') || 'nothing'}): the search is blind`,
      );
      const secrets: Secret[] = [
        ...Object.entries(texts).map(([label, value]) => ({ label: `text ${label}`, value })),
        { label: `file ${pageFile.name}`, value: pageFile.bytes },
        { label: `file ${nodeFile.name}`, value: nodeFile.bytes },
      ];
      const findings = findPlaintext(dump, secrets);
      assert(
        findings.length === 0,
        `plaintext found in IndexedDB:\n  ${findings.map((f) => `${f.label} (${f.how})`).join('\n  ')}`,
      );
      return `${dump.databases.length} databases (${clientRecords} records in cloister-page, ${dump.strings.length} strings, ${dump.binaries.length} binaries): no text, no file bytes; the canary was found`;
    });

    await steps.run('typed errors keep their names in the bundled page', async () => {
      assert(
        wrongPinName === 'WrongPin',
        `the WrongPin error is named "${wrongPinName}" in the minified page, not "WrongPin": CloisterError takes its name from the class (new.target.name), which the minifier renames`,
      );
      return 'error.name is "WrongPin"';
    });

    line(`passed: ${steps.count} steps in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    for (const browser of browsers) await browser.close().catch(() => undefined);
    await system?.close().catch(() => undefined);
    for (const home of homes) rmSync(home, { recursive: true, force: true });
    rmSync(temp, { recursive: true, force: true });
  }
});
