/**
 * Static web apps on the server's origin: files, the index, the SPA fallback, every refused path
 * (traversal raw and encoded, backslashes, dotfiles, listings, other methods), the exact content
 * security policy of app answers next to the unchanged policy of the API, and the prefix checks
 * made before anything is created.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { ValidationError } from '@cloister/crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/server.js';
import { socketPin, startTestServer, type TestServer } from './helpers/server.js';

const INDEX = '<!doctype html><title>app</title><script type="module" src="app.js"></script>';
const SPA_INDEX = '<!doctype html><title>spa</title>';
const SECRET = 'SECRET-OUTSIDE-THE-ROOT';
const DOTFILE = 'SECRET-IN-A-DOTFILE';

const API_POLICY = "default-src 'none';frame-ancestors 'none'";
const appPolicy = (wss: string) =>
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; " +
  `connect-src 'self' ${wss}; manifest-src 'self'; worker-src 'self'; base-uri 'none'; ` +
  "form-action 'self'; frame-ancestors 'none'";

interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One request with `path` sent exactly as written (no URL normalisation), the pin checked. */
function raw(
  t: TestServer,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const url = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers,
        rejectUnauthorized: false,
        minVersion: 'TLSv1.3',
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('socket', (socket) => {
      socket.on('secureConnect', () => {
        if (socketPin(socket as TLSSocket) !== t.pin) req.destroy(new Error('pin mismatch'));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const scratch = mkdtempSync(join(tmpdir(), 'cloister-web-apps-'));
const site = join(scratch, 'site');
const spa = join(scratch, 'spa');
let t: TestServer;
let port: number;

beforeAll(async () => {
  // Outside the roots: what a traversal would reach.
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: SECRET }));
  writeFileSync(join(scratch, 'secret.txt'), SECRET);
  mkdirSync(join(site, 'sub'), { recursive: true });
  mkdirSync(join(site, 'nolist'), { recursive: true });
  mkdirSync(join(site, '.git'), { recursive: true });
  writeFileSync(join(site, 'index.html'), INDEX);
  writeFileSync(join(site, 'app.js'), 'console.log("app");\n');
  writeFileSync(join(site, 'style.css'), 'body { color: black }\n');
  writeFileSync(join(site, 'sub', 'index.html'), '<!doctype html><title>sub</title>');
  writeFileSync(join(site, 'sub', 'page.html'), '<!doctype html><title>page</title>');
  writeFileSync(join(site, 'nolist', 'file.txt'), 'listed?');
  writeFileSync(join(site, '.env'), DOTFILE);
  writeFileSync(join(site, '.git', 'config'), DOTFILE);
  mkdirSync(spa, { recursive: true });
  writeFileSync(join(spa, 'index.html'), SPA_INDEX);
  writeFileSync(join(spa, 'main.js'), 'export {};\n');
  writeFileSync(join(spa, '.env'), DOTFILE);
  t = await startTestServer({
    webApps: [
      { prefix: '/app/', root: site },
      { prefix: '/spa/', root: spa, spaFallback: true },
    ],
  });
  port = Number(new URL(t.url).port);
});

afterAll(async () => {
  await t.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('web apps: serving', () => {
  it('serves a file under the prefix with its type, no-cache and validators', async () => {
    const res = await raw(t, 'GET', '/app/app.js');
    expect(res.status).toBe(200);
    expect(res.body).toBe('console.log("app");\n');
    expect(res.headers['content-type']).toMatch(/^(text|application)\/javascript/);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers.etag).toBeDefined();
    const css = await raw(t, 'GET', '/app/style.css');
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    const nested = await raw(t, 'GET', '/app/sub/page.html');
    expect(nested.body).toContain('<title>page</title>');
    const again = await raw(t, 'GET', '/app/app.js', { 'if-none-match': String(res.headers.etag) });
    expect(again.status).toBe(304);
  });

  it('answers index.html for the prefix (and a directory), HEAD without a body, and redirects the bare prefix', async () => {
    const index = await raw(t, 'GET', '/app/');
    expect(index.status).toBe(200);
    expect(index.body).toBe(INDEX);
    expect(index.headers['content-type']).toMatch(/^text\/html/);
    expect(index.headers['cache-control']).toBe('no-cache');
    const head = await raw(t, 'HEAD', '/app/');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await raw(t, 'GET', '/app/sub/')).body).toContain('<title>sub</title>');
    const bare = await raw(t, 'GET', '/app');
    expect(bare.status).toBe(301);
    expect(bare.headers.location).toBe('/app/');
    // A query string is not carried into the redirect.
    expect((await raw(t, 'GET', '/app?x=//evil.example')).headers.location).toBe('/app/');
  });

  it('answers 404 for a missing file, a directory without index (no listing), another method', async () => {
    for (const path of ['/app/missing.js', '/app/no/such/page', '/app/nolist/', '/app/nolist']) {
      const res = await raw(t, 'GET', path);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.body), path).toEqual({
        error: { code: 'ERR_NOT_FOUND', message: 'no such route' },
      });
      expect(res.body, path).not.toContain('file.txt');
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const res = await raw(t, method, '/app/app.js');
      expect(res.status, method).toBe(404);
      expect(res.body, method).not.toContain('console.log');
    }
    // A path that only starts like the prefix is not the app's.
    const apple = await raw(t, 'GET', '/apple');
    expect(apple.status).toBe(404);
    expect(apple.headers['content-security-policy']).toBe(API_POLICY);
  });

  it('falls back to index.html under spaFallback for extension-less paths only, GET and HEAD only', async () => {
    for (const path of ['/spa/', '/spa/settings', '/spa/users/42/profile', '/spa/deep/route/']) {
      const res = await raw(t, 'GET', path);
      expect(res.status, path).toBe(200);
      expect(res.body, path).toBe(SPA_INDEX);
      expect(res.headers['content-type'], path).toMatch(/^text\/html/);
      expect(res.headers['content-security-policy'], path).toBe(appPolicy(`wss://127.0.0.1:${port}`));
    }
    expect((await raw(t, 'GET', '/spa/main.js')).body).toBe('export {};\n');
    expect((await raw(t, 'HEAD', '/spa/settings')).status).toBe(200);
    expect((await raw(t, 'GET', '/spa/missing.js')).status).toBe(404);
    expect((await raw(t, 'GET', '/spa/img/logo.png')).status).toBe(404);
    expect((await raw(t, 'POST', '/spa/settings')).status).toBe(404);
    // Without the option, an unknown extension-less path is a 404.
    expect((await raw(t, 'GET', '/app/settings')).status).toBe(404);
  });
});

describe('web apps: refused paths', () => {
  const traversals = [
    '/app/../package.json',
    '/app/../secret.txt',
    '/app/sub/../../secret.txt',
    '/app/%2e%2e/package.json',
    '/app/%2E%2E/secret.txt',
    '/app/.%2e/secret.txt',
    '/app/sub/%2e%2e/%2e%2e/secret.txt',
    '/app/..%2fsecret.txt',
    '/app/..%2Fpackage.json',
    '/app/%2e%2e%2fsecret.txt',
    '/app/..\\package.json',
    '/app/..\\secret.txt',
    '/app/sub\\..\\..\\secret.txt',
    '/app/%5c..%5csecret.txt',
    '/app/..%5csecret.txt',
    '/app/%252e%252e/secret.txt',
    '/app//secret.txt',
    '/app/./index.html',
    '/app/%00index.html',
    '/app/index.html%00.js',
    '/app/%zz',
    '/spa/../secret.txt',
    '/spa/%2e%2e/secret.txt',
    '/spa/..%5csecret.txt',
  ];

  it.each(traversals)('refuses %s and reveals nothing outside the root', async (path) => {
    const res = await raw(t, 'GET', path);
    expect([400, 404]).toContain(res.status);
    expect(res.body).not.toContain(SECRET);
    expect(res.body).not.toContain('<title>');
    expect(JSON.parse(res.body).error.code).toMatch(/^ERR_(NOT_FOUND|VALIDATION)$/);
  });

  const dotfiles = [
    '/app/.env',
    '/app/%2eenv',
    '/app/%2Eenv',
    '/app/.git/config',
    '/app/.git/',
    '/app/%2egit/config',
    '/spa/.env',
    '/spa/.git',
    '/spa/.well-known/thing',
  ];

  it.each(dotfiles)('refuses the dotfile path %s (no file, no SPA fallback)', async (path) => {
    const res = await raw(t, 'GET', path);
    expect(res.status).toBe(404);
    expect(res.body).not.toContain(DOTFILE);
    expect(res.body).not.toContain(SPA_INDEX);
  });
});

describe('web apps: content security policy', () => {
  it('gives app answers the exact web app policy (with the other helmet headers) and leaves the API policy unchanged', async () => {
    const app = await raw(t, 'GET', '/app/');
    expect(app.headers['content-security-policy']).toBe(appPolicy(`wss://127.0.0.1:${port}`));
    expect(app.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(app.headers['x-content-type-options']).toBe('nosniff');
    expect(app.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(app.headers['referrer-policy']).toBe('no-referrer');
    expect(app.headers['cross-origin-opener-policy']).toBe('same-origin');
    // Refusals and 404s of the app carry the app's policy too.
    expect((await raw(t, 'GET', '/app/missing.js')).headers['content-security-policy']).toBe(
      appPolicy(`wss://127.0.0.1:${port}`),
    );
    for (const path of ['/health', '/ready', '/v1/me', '/admin/v1/session', '/no/such/route']) {
      const res = await raw(t, 'GET', path);
      expect(res.headers['content-security-policy'], path).toBe(API_POLICY);
    }
  });

  it('names the WebSocket origin the browser used only when the certificate names it at the listening port', async () => {
    const policy = async (host: string) =>
      (await raw(t, 'GET', '/app/', { host })).headers['content-security-policy'];
    expect(await policy(`localhost:${port}`)).toBe(appPolicy(`wss://localhost:${port}`));
    expect(await policy(`LOCALHOST:${port}`)).toBe(appPolicy(`wss://localhost:${port}`));
    expect(await policy(`[::1]:${port}`)).toBe(appPolicy(`wss://[::1]:${port}`));
    expect(await policy(`[0:0:0:0:0:0:0:1]:${port}`)).toBe(appPolicy(`wss://[::1]:${port}`));
    // Anything else gets the certificate's first name: the header never reaches the policy.
    const fallback = appPolicy(`wss://localhost:${port}`);
    for (const host of [
      `evil.example:${port}`,
      `localhost:${port + 1}`,
      'localhost',
      `localhost.evil.example:${port}`,
      `evil.localhost:${port}`,
      `localhost:${port}; script-src *`,
      `x@localhost:${port}`,
      `127.0.0.1:${port}, wss://evil.example`,
    ]) {
      const value = await policy(host);
      expect(value, host).toBe(fallback);
      expect(value, host).not.toContain('evil');
    }
  });
});

describe('web apps: checked at start', () => {
  const bad: readonly [string, object, string][] = [
    ['the API prefix', { prefix: '/v1/' }, 'webApps[0].prefix'],
    ['a path under the API', { prefix: '/v1/app/' }, 'webApps[0].prefix'],
    ['the admin API', { prefix: '/admin/' }, 'webApps[0].prefix'],
    ['a path under the admin API', { prefix: '/admin/portal/' }, 'webApps[0].prefix'],
    ['SCIM', { prefix: '/scim/' }, 'webApps[0].prefix'],
    ['the health route as a prefix', { prefix: '/health/' }, 'webApps[0].prefix'],
    ['/healthz', { prefix: '/healthz/' }, 'webApps[0].prefix'],
    ['the whole origin', { prefix: '/' }, 'webApps[0].prefix'],
    ['the API in another case', { prefix: '/V1/' }, 'webApps[0].prefix'],
    ['no leading slash', { prefix: 'app/' }, 'webApps[0].prefix'],
    ['no trailing slash', { prefix: '/app' }, 'webApps[0].prefix'],
    ['an empty segment', { prefix: '/a//b/' }, 'webApps[0].prefix'],
    ['a dot segment', { prefix: '/../' }, 'webApps[0].prefix'],
    ['a dot-leading segment', { prefix: '/.app/' }, 'webApps[0].prefix'],
    ['a route parameter', { prefix: '/:id/' }, 'webApps[0].prefix'],
    ['a wildcard', { prefix: '/*/' }, 'webApps[0].prefix'],
    ['a space', { prefix: '/my app/' }, 'webApps[0].prefix'],
    ['a missing root', { prefix: '/app/', root: '/nonexistent/cloister-web' }, 'webApps[0].root'],
  ];

  it.each(bad)('refuses %s with a ValidationError and creates nothing', async (_name, app, field) => {
    const dataDir = join(scratch, `never-${Math.random().toString(36).slice(2)}`);
    const error = await createServer({
      dataDir,
      logLevel: 'silent',
      webApps: [{ root: site, ...app } as never],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('refuses two apps that overlap each other, and a root that is a file', async () => {
    const dataDir = join(scratch, 'never-overlap');
    const overlapping = await createServer({
      dataDir,
      logLevel: 'silent',
      webApps: [
        { prefix: '/app/', root: site },
        { prefix: '/app/admin/', root: spa },
      ],
    }).catch((e: unknown) => e);
    expect(overlapping).toBeInstanceOf(ValidationError);
    expect((overlapping as ValidationError).field).toBe('webApps[1].prefix');
    expect((overlapping as Error).message).toMatch(/overlap the web app at \/app\//);
    const same = await createServer({
      dataDir,
      logLevel: 'silent',
      webApps: [
        { prefix: '/app/', root: site },
        { prefix: '/APP/', root: spa },
      ],
    }).catch((e: unknown) => e);
    expect((same as ValidationError).field).toBe('webApps[1].prefix');
    const file = await createServer({
      dataDir,
      logLevel: 'silent',
      webApps: [{ prefix: '/app/', root: join(site, 'app.js') }],
    }).catch((e: unknown) => e);
    expect((file as ValidationError).field).toBe('webApps[0].root');
    expect((file as Error).message).toBe('webApps[0].root: expected an existing directory');
    expect(existsSync(dataDir)).toBe(false);
  });
});
