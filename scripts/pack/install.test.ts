/**
 * A fresh npm project installs the seven tarballs as a user would, on the Node.js that runs the
 * tests, with no npm warning (an `EBADENGINE` would be one), and runs the READMEs' quick starts as
 * they stand: the client's against a real server with a real peer (spec/packaging.md).
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
  it(`installs the seven tarballs on Node.js ${process.version} with no npm warning`, () => {
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
