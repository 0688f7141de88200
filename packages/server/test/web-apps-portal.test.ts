/**
 * The style nonce of web apps (`WebAppOptions.styleNonce`) and the admin portal
 * (`ServerOptions.portal`): every HTML answer carries a fresh nonce that the policy's `style-src`
 * names and the page's placeholder receives, never a cached one; scripts never get a nonce; other
 * files keep the plain policy and their validators; `/admin` redirects to `/portal/` while
 * `/admin/v1/…` stays the API; bad portal options are refused before anything is created.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '@cloister/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/server.js';
import { startTestServer, type TestResponse, type TestServer } from './helpers/server.js';

const PLACEHOLDER = '__CLOISTER_CSP_NONCE__';
/** What Vite writes with `html.cspNonce`: the placeholder on the meta the style cache reads and on tags. */
const INDEX =
  '<!doctype html><html><head>' +
  `<meta property="csp-nonce" nonce="${PLACEHOLDER}">` +
  `<script type="module" crossorigin src="./assets/main.js" nonce="${PLACEHOLDER}"></script>` +
  `<link rel="stylesheet" href="./assets/main.css" nonce="${PLACEHOLDER}">` +
  '</head><body><div id="root"></div></body></html>';
const NONCE = /^[A-Za-z0-9+/]{22}==$/;

const scratch = mkdtempSync(join(tmpdir(), 'cloister-web-nonce-'));
const portalDir = join(scratch, 'portal');
const plainDir = join(scratch, 'plain');
let t: TestServer;
let port: number;

function policyOf(res: TestResponse): string {
  return String(res.headers['content-security-policy']);
}

/** The directives of a policy, by name. */
function directives(policy: string): Map<string, string> {
  return new Map(
    policy.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name as string, values.join(' ')];
    }),
  );
}

/** The nonce of an HTML answer: the one its policy names, checked against every one in its body. */
function nonceOf(res: TestResponse): string {
  const styles = directives(policyOf(res)).get('style-src') ?? '';
  const match = /^'self' 'nonce-([^']+)'$/.exec(styles);
  expect(match, styles).not.toBeNull();
  const nonce = (match as RegExpExecArray)[1] as string;
  expect(nonce).toMatch(NONCE);
  const body = res.body.toString('utf8');
  expect(body).not.toContain(PLACEHOLDER);
  const inBody = [...body.matchAll(/nonce="([^"]*)"/g)].map((m) => m[1]);
  expect(inBody).toEqual([nonce, nonce, nonce]);
  return nonce;
}

beforeAll(async () => {
  mkdirSync(join(portalDir, 'assets'), { recursive: true });
  mkdirSync(join(portalDir, 'help'), { recursive: true });
  writeFileSync(join(portalDir, 'index.html'), INDEX);
  writeFileSync(join(portalDir, 'help', 'index.html'), INDEX.replace('root', 'help'));
  writeFileSync(join(portalDir, 'assets', 'main.js'), `console.log(${JSON.stringify(PLACEHOLDER)});\n`);
  writeFileSync(join(portalDir, 'assets', 'main.css'), 'body { margin: 0 }\n');
  mkdirSync(plainDir, { recursive: true });
  writeFileSync(join(plainDir, 'index.html'), INDEX);
  t = await startTestServer({
    portal: { root: portalDir },
    webApps: [
      { prefix: '/nonce/', root: portalDir, styleNonce: true },
      { prefix: '/plain/', root: plainDir, spaFallback: true },
    ],
  });
  port = Number(new URL(t.url).port);
});

afterAll(async () => {
  await t.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('web apps: the style nonce', () => {
  it('gives every HTML answer its own nonce, equal in the header and the page, with no placeholder left', async () => {
    const first = await t.request('GET', '/nonce/');
    const second = await t.request('GET', '/nonce/');
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    const a = nonceOf(first);
    const b = nonceOf(second);
    expect(a).not.toBe(b);
    expect(first.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(first.headers['cache-control']).toBe('no-store');
  });

  it('keeps scripts on the origin only: no nonce, no inline, no eval, in the nonced policy', async () => {
    const res = await t.request('GET', '/nonce/');
    const nonce = nonceOf(res);
    const policy = policyOf(res);
    expect(policy).toBe(
      "default-src 'none'; script-src 'self'; " +
        `style-src 'self' 'nonce-${nonce}'; img-src 'self' data: blob:; font-src 'self'; ` +
        `connect-src 'self' wss://127.0.0.1:${port}; manifest-src 'self'; worker-src 'self'; ` +
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    expect(directives(policy).get('script-src')).toBe("'self'");
    expect(policy).not.toContain('unsafe');
    // The helmet headers stay.
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });

  it('nonces a directory index, a named .html file and HEAD, but not other files', async () => {
    const help = await t.request('GET', '/nonce/help/');
    expect(help.body.toString()).toContain('id="help"');
    nonceOf(help);
    const helpBare = await t.request('GET', '/nonce/help');
    expect(helpBare.status).toBe(200);
    nonceOf(helpBare);
    nonceOf(await t.request('GET', '/nonce/index.html'));
    const head = await t.request('HEAD', '/nonce/');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(directives(policyOf(head)).get('style-src')).toMatch(/^'self' 'nonce-[A-Za-z0-9+/]{22}=='$/);
    // A script or stylesheet: served as it is (the placeholder in a script is not replaced), with
    // the plain policy, its validators and no-cache.
    const js = await t.request('GET', '/nonce/assets/main.js');
    expect(js.status).toBe(200);
    expect(js.body.toString()).toContain(PLACEHOLDER);
    expect(directives(policyOf(js)).get('style-src')).toBe("'self'");
    expect(js.headers.etag).toBeDefined();
    expect(js.headers['cache-control']).toBe('no-cache');
    const again = await t.request('GET', '/nonce/assets/main.js', {
      headers: { 'if-none-match': String(js.headers.etag) },
    });
    expect(again.status).toBe(304);
    const css = await t.request('GET', '/nonce/assets/main.css');
    expect(directives(policyOf(css)).get('style-src')).toBe("'self'");
    // A 404 under the app: the plain policy.
    const missing = await t.request('GET', '/nonce/missing.js');
    expect(missing.status).toBe(404);
    expect(directives(policyOf(missing)).get('style-src')).toBe("'self'");
  });

  it('never answers 304 or a range for an HTML page, so a cached page never meets a new nonce', async () => {
    const first = await t.request('GET', '/nonce/');
    expect(first.headers.etag).toBeUndefined();
    expect(first.headers['last-modified']).toBeUndefined();
    // Validators a browser could hold from an earlier build or a plain app: still a full answer.
    const etag = (await t.request('GET', '/plain/')).headers.etag;
    expect(etag).toBeDefined();
    for (const headers of [
      { 'if-none-match': String(etag) },
      { 'if-none-match': '*' },
      { 'if-modified-since': new Date(Date.now() + 86_400_000).toUTCString() },
      { range: 'bytes=0-10' },
    ]) {
      const res = await t.request('GET', '/nonce/', { headers });
      expect(res.status, JSON.stringify(headers)).toBe(200);
      const nonce = nonceOf(res);
      expect(nonce).not.toBe(nonceOf(first));
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });

  it('leaves an app without styleNonce as it was: the placeholder untouched, the plain policy', async () => {
    const res = await t.request('GET', '/plain/');
    expect(res.body.toString()).toBe(INDEX);
    expect(directives(policyOf(res)).get('style-src')).toBe("'self'");
    expect(res.headers['cache-control']).toBe('no-cache');
    const fallback = await t.request('GET', '/plain/some/route');
    expect(fallback.body.toString()).toBe(INDEX);
    expect(directives(policyOf(fallback)).get('style-src')).toBe("'self'");
  });

  it('refuses a styleNonce that is not a boolean', async () => {
    const dataDir = join(scratch, 'never-nonce');
    const error = await createServer({
      dataDir,
      logLevel: 'silent',
      webApps: [{ prefix: '/app/', root: plainDir, styleNonce: 'yes' as never }],
    }).catch((e: unknown) => e);
    expect((error as ValidationError).field).toBe('webApps[0].styleNonce');
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('the admin portal', () => {
  it('is served at /portal/ with the SPA fallback and a fresh nonce on every HTML answer', async () => {
    const index = await t.request('GET', '/portal/');
    expect(index.status).toBe(200);
    const nonce = nonceOf(index);
    for (const path of ['/portal/users', '/portal/users/alice/show', '/portal/deep/route/']) {
      const res = await t.request('GET', path);
      expect(res.status, path).toBe(200);
      expect(nonceOf(res), path).not.toBe(nonce);
    }
    const js = await t.request('GET', '/portal/assets/main.js');
    expect(js.status).toBe(200);
    expect(directives(policyOf(js)).get('style-src')).toBe("'self'");
    expect((await t.request('GET', '/portal/missing.js')).status).toBe(404);
    const bare = await t.request('GET', '/portal');
    expect(bare.status).toBe(301);
    expect(bare.headers.location).toBe('/portal/');
  });

  it('redirects /admin and /admin/ (GET and HEAD) to /portal/, and leaves the admin API where it is', async () => {
    for (const method of ['GET', 'HEAD']) {
      for (const path of ['/admin', '/admin/', '/admin?next=//evil.example']) {
        const res = await t.request(method, path);
        expect(res.status, `${method} ${path}`).toBe(302);
        expect(res.headers.location, `${method} ${path}`).toBe('/portal/');
      }
    }
    expect((await t.request('POST', '/admin')).status).toBe(404);
    const openapi = await t.request('GET', '/admin/v1/openapi.json');
    expect(openapi.status).toBe(200);
    expect(openapi.json.openapi).toMatch(/^3\.1/);
    // The redirect is no admin operation.
    expect(Object.keys(openapi.json.paths)).not.toContain('/admin');
    expect(Object.keys(openapi.json.paths)).not.toContain('/admin/');
    const unknown = await t.request('GET', '/admin/v1/no-such-thing');
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'");
  });

  it('without the portal, /admin stays a 404', async () => {
    const plain = await startTestServer({});
    try {
      for (const path of ['/admin', '/admin/', '/portal/']) {
        const res = await plain.request('GET', path);
        expect(res.status, path).toBe(404);
        expect(res.json, path).toEqual({ error: { code: 'ERR_NOT_FOUND', message: 'no such route' } });
      }
    } finally {
      await plain.close();
    }
  });

  const bad: readonly [string, () => object, string][] = [
    ['a missing root', () => ({ portal: { root: join(scratch, 'nonexistent') } }), 'portal.root'],
    ['a file as root', () => ({ portal: { root: join(portalDir, 'index.html') } }), 'portal.root'],
    [
      'a directory without index.html (not built)',
      () => ({ portal: { root: join(portalDir, 'assets') } }),
      'portal.root',
    ],
    ['a root that is no string', () => ({ portal: { root: 42 } }), 'portal.root'],
    ['no object', () => ({ portal: 'dist' }), 'portal'],
    [
      'a web app at /portal/',
      () => ({ portal: { root: portalDir }, webApps: [{ prefix: '/portal/', root: plainDir }] }),
      'webApps[0].prefix',
    ],
    [
      'a web app under /portal/',
      () => ({ portal: { root: portalDir }, webApps: [{ prefix: '/Portal/v2/', root: plainDir }] }),
      'webApps[0].prefix',
    ],
  ];

  let refusals = 0;
  it.each(bad)('refuses %s with a ValidationError and creates nothing', async (_name, options, field) => {
    refusals += 1;
    const dataDir = join(scratch, `never-${refusals}-${field}`);
    const error = await createServer({ dataDir, logLevel: 'silent', ...options() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    if (field === 'portal.root') {
      expect((error as Error).message).toBe(
        'portal.root: expected an existing directory holding index.html (the built portal)',
      );
    }
    if (field === 'webApps[0].prefix') expect((error as Error).message).toMatch(/the web app at \/portal\//);
    expect(existsSync(dataDir)).toBe(false);
  });
});
