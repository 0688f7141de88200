/**
 * A fresh npm project installs the eight tarballs as a user would, on the Node.js that runs the
 * tests, with no npm warning (an `EBADENGINE` would be one), and runs the READMEs' quick starts as
 * they stand: the client's against a real server with a real peer, the portal's serving the
 * shipped app with its redirect (spec/packaging.md).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloisterClient } from '@cloister/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalSystem, startLocalSystem } from '../../examples/demo-system.js';
import {
  type FreshProject,
  freshProject,
  npmWarnings,
  PUBLISHED,
  packAll,
  ROOT,
  runnableBlocks,
  sh,
} from './tarballs.js';

let project: FreshProject;

beforeAll(async () => {
  const tarballs = await packAll();
  project = await freshProject(
    'all',
    PUBLISHED.map((p) => tarballs[p]),
  );
}, 900_000);

/** Runs a package README's runnable blocks in the fresh project; resolves their output. */
async function runReadme(pkg: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const readme = readFileSync(join(ROOT, 'packages', pkg, 'README.md'), 'utf8');
  const blocks = runnableBlocks(readme);
  expect(blocks.length).toBeGreaterThan(0);
  let out = '';
  const fullEnv = {
    ...process.env,
    ...env,
    PATH: `${join(project.dir, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`,
    // The project's own packages, not the workspace's source condition.
    NODE_OPTIONS: '',
  };
  for (const [i, block] of blocks.entries()) {
    if (block.lang === 'js') {
      const file = join(project.dir, `readme-${pkg}-${i}.mjs`);
      writeFileSync(file, block.code);
      out += (await sh(process.execPath, [file], { cwd: project.dir, env: fullEnv, timeoutMs: 120_000 }))
        .stdout;
    } else if (block.lang === 'sh') {
      for (const line of block.code.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))) {
        out += (await sh('bash', ['-c', line], { cwd: project.dir, env: fullEnv, timeoutMs: 120_000 }))
          .stdout;
      }
    } else {
      throw new Error(`README of ${pkg}: a runnable block in ${block.lang}`);
    }
  }
  return out;
}

describe('a fresh npm project', () => {
  it(`installs the ${PUBLISHED.length} tarballs on Node.js ${process.version} with no npm warning`, () => {
    expect(npmWarnings(project.install)).toEqual([]);
  });

  it('runs the crypto quick start', async () => {
    expect(await runReadme('crypto')).toMatch(/^node 32 true$/m);
  }, 120_000);

  it('runs the protocol quick start', async () => {
    expect(await runReadme('protocol')).toMatch(/^hello$/m);
  }, 120_000);

  it('runs the storage quick start', async () => {
    expect(await runReadme('storage')).toMatch(/^hello$/m);
  }, 120_000);

  it('runs the server quick start', async () => {
    expect(await runReadme('server')).toMatch(
      /^listening on https:\/\/127\.0\.0\.1:8443; clients pin sha256\/\S+$/m,
    );
  }, 120_000);

  it('runs the CLI quick start', async () => {
    const version = JSON.parse(readFileSync(join(ROOT, 'packages', 'cli', 'package.json'), 'utf8')).version;
    const out = await runReadme('cli');
    expect(out).toContain(version);
    expect(out).toContain('--data-dir');
  }, 120_000);

  it('ships the built portal with the CLI and serves it with the portal quick start', async () => {
    // The CLI depends on the portal: npm installed it beside the CLI, with the built app.
    const cli = JSON.parse(
      readFileSync(join(project.dir, 'node_modules', '@cloister', 'cli', 'package.json'), 'utf8'),
    ) as { dependencies: Record<string, string> };
    expect(Object.keys(cli.dependencies)).toContain('@cloister/portal');
    const found = await sh(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "import { portalRoot } from '@cloister/portal'; console.log(portalRoot());",
      ],
      { cwd: project.dir, env: { ...process.env, NODE_OPTIONS: '' } },
    );
    const root = found.stdout.trim();
    expect(root).toBe(join(project.dir, 'node_modules', '@cloister', 'portal', 'dist/'));
    expect(readFileSync(join(root, 'index.html'), 'utf8')).toContain('__CLOISTER_CSP_NONCE__');
    // The installed server serves the installed portal: /admin redirects, the page gets its nonce.
    const check = `
      import { readFileSync } from 'node:fs';
      import { get } from 'node:https';
      import { portalRoot } from '@cloister/portal';
      import { createServer } from '@cloister/server';
      const server = await createServer({ dataDir: './portal-check', localCa: true, portal: { root: portalRoot() }, logLevel: 'warn' });
      const url = await server.listen({ host: '127.0.0.1', port: 0 });
      const ca = readFileSync(server.localCa.caFile, 'utf8');
      const fetched = (path) => new Promise((resolve, reject) => {
        get(url + path, { ca: [ca] }, (res) => {
          let body = '';
          res.on('data', (c) => { body += c; });
          res.on('end', () => resolve({ status: res.statusCode, location: res.headers.location, csp: res.headers['content-security-policy'], body }));
        }).on('error', reject);
      });
      const admin = await fetched('/admin');
      const page = await fetched('/portal/');
      const nonce = /'nonce-([^']+)'/.exec(page.csp)?.[1];
      console.log(admin.status, admin.location, page.status, nonce !== undefined && page.body.includes('nonce="' + nonce + '"'));
      await server.close();
    `;
    writeFileSync(join(project.dir, 'portal-check.mjs'), check);
    const served = await sh(process.execPath, ['portal-check.mjs'], {
      cwd: project.dir,
      env: { ...process.env, NODE_OPTIONS: '' },
      timeoutMs: 120_000,
    });
    expect(served.stdout.trim()).toBe('302 /portal/ 200 true');
    expect(await runReadme('portal')).toMatch(
      /^admin portal: https:\/\/127\.0\.0\.1:8443\/admin \(trust \S+ca\.pem as a certificate authority\)$/m,
    );
  }, 120_000);

  describe('the client quick start, against a real server', () => {
    let system: LocalSystem;
    let bob: CloisterClient;

    beforeAll(async () => {
      system = await startLocalSystem();
      bob = await system.client('bob');
    }, 120_000);

    afterAll(async () => {
      await system?.close();
    });

    it('enrols alice, sends Bob a message, and Bob reads it', async () => {
      const received = new Promise<string>((resolve) => {
        bob.on('message', ({ message }) => {
          if (message.content.body.type === 'text') resolve(message.content.body.text);
        });
      });
      await runReadme('client', {
        CLOISTER_URL: system.url,
        CLOISTER_SERVER_PIN: system.server.pin,
        CLOISTER_ENROLMENT_CODE: await system.token('alice'),
        CLOISTER_DEVICE_PIN: '482913',
      });
      expect(await received).toBe('Ward 3 handover at 18:00');
    }, 180_000);
  });
});
