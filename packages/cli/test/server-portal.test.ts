/**
 * `cloister server start --portal`: the admin portal of `@cloister/portal` served at `/portal/`
 * with `/admin` redirecting there, the portal's address printed (and in `--json`), a fresh style
 * nonce on its page; a portal that is not built, or a web app on its prefix, is a usage error
 * that creates nothing. `portalRoot()` is replaced by a stand-in so that the test does not depend
 * on the portal's build (the real function only locates `dist/`).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { EXIT, type StartJsonLine } from '../src/index.js';
import { cli, humanBlock, removeTempDirs, start, tempDir, trustedGet } from './helpers.js';

const portal = vi.hoisted(() => ({ root: undefined as string | undefined }));
vi.mock('@cloister/portal', () => ({
  portalRoot: () => {
    if (portal.root === undefined) {
      throw new Error(
        'the admin portal is not built (/x/node_modules/@cloister/portal/dist/index.html is missing): run "pnpm --filter @cloister/portal build"',
      );
    }
    return portal.root;
  },
}));

afterAll(removeTempDirs);

const built = tempDir('cloister-cli-portal-');
writeFileSync(
  join(built, 'index.html'),
  '<!doctype html><meta property="csp-nonce" nonce="__CLOISTER_CSP_NONCE__"><title>portal</title>',
);

beforeEach(() => {
  portal.root = built;
});

describe('cloister server start --portal', () => {
  it('serves the portal at /portal/, redirects /admin there and prints the address', async () => {
    const dataDir = tempDir();
    const running = start([
      'server',
      'start',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--local-ca',
      '--portal',
    ]);
    const out = await humanBlock(running);
    const url = /^cloister server listening on (https:\/\/127\.0\.0\.1:\d+)$/m.exec(out)?.[1] as string;
    expect(url).toBeDefined();
    expect(out).toContain(`admin portal: ${url}/admin (redirects to ${url}/portal/; files from ${built})\n`);
    expect(out).not.toContain('self-signed');
    const ca = readFileSync(join(dataDir, 'tls', 'ca.pem'), 'utf8');
    const admin = await trustedGet(`${url}/admin`, ca);
    expect(admin.status).toBe(302);
    expect(admin.headers.location).toBe('/portal/');
    const page = await trustedGet(`${url}/portal/users`, ca);
    expect(page.status).toBe(200);
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(String(page.headers['content-security-policy']))?.[1];
    expect(nonce).toBeDefined();
    expect(page.body).toContain(`nonce="${nonce}"`);
    expect(page.body).not.toContain('__CLOISTER_CSP_NONCE__');
    running.signal('SIGTERM');
    expect((await running.done).code).toBe(EXIT.ok);
  });

  it('names the portal in --json, and says to use --local-ca when the certificate is self-signed', async () => {
    const json = start(['server', 'start', '--json', '--port', '0', '--data-dir', tempDir(), '--portal']);
    const line = JSON.parse(await json.firstLine()) as StartJsonLine;
    expect(line.portalUrl).toBe(`${line.url}/admin`);
    json.signal('SIGTERM');
    expect((await json.done).code).toBe(EXIT.ok);
    const human = start(['server', 'start', '--port', '0', '--data-dir', tempDir(), '--portal']);
    const out = await humanBlock(human);
    expect(out).toMatch(
      /^admin portal: https:\/\/127\.0\.0\.1:\d+\/admin .*; browsers warn about the self-signed certificate: start with --local-ca and import the CA$/m,
    );
    human.signal('SIGTERM');
    expect((await human.done).code).toBe(EXIT.ok);
  });

  it('refuses a portal that is not built with exit 2, saying how to build it, and creates nothing', async () => {
    portal.root = undefined;
    const dataDir = join(tempDir(), 'never');
    const result = await cli(['server', 'start', '--port', '0', '--data-dir', dataDir, '--portal']);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(
      /^error: --portal: the admin portal is not built \(.*index\.html is missing\): run "pnpm --filter @cloister\/portal build"$/m,
    );
    expect(result.stdout).toBe('');
    expect(existsSync(dataDir)).toBe(false);
  });

  it('refuses a portal directory without index.html, and a web app on the portal prefix', async () => {
    portal.root = tempDir('cloister-cli-empty-portal-');
    const dataDir = join(tempDir(), 'never');
    const empty = await cli(['server', 'start', '--port', '0', '--data-dir', dataDir, '--portal']);
    expect(empty.code).toBe(EXIT.usage);
    expect(empty.stderr).toMatch(
      /^error: --portal: expected an existing directory holding index\.html \(the built portal\)$/m,
    );
    portal.root = built;
    const site = tempDir('cloister-cli-site-');
    const clash = await cli([
      'server',
      'start',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--portal',
      '--web-app',
      site,
      '--web-app-prefix',
      '/portal/',
    ]);
    expect(clash.code).toBe(EXIT.usage);
    expect(clash.stderr).toMatch(
      /^error: --web-app-prefix: expected a path that does not overlap the web app at \/portal\/$/m,
    );
    expect(existsSync(dataDir)).toBe(false);
  });
});
