import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import type { StartJsonLine } from '../src/index.js';
import { pinnedGet, removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'packages/cli/src/bin.ts');

/** Runs the real executable from source, as `pnpm cloister` does. */
function spawnCli(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, ['--conditions=@cloister/source', '--import', 'tsx', BIN, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolveLine, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      lines.close();
      resolveLine(line);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before printing a line`)));
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolveExit({ code: child.exitCode, signal: child.signalCode });
    } else {
      child.once('exit', (code, signal) => resolveExit({ code, signal }));
    }
  });
}

describe('the cloister executable', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('server start --json prints {url, pin} first and exits 0 after a graceful SIGTERM', async () => {
    const dir = tempDir();
    const child = spawnCli(['server', 'start', '--json', '--port', '0', '--data-dir', dir]);
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const line = JSON.parse(await firstLine(child)) as StartJsonLine;
    expect(line.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(line.pin).toMatch(/^sha256\//);
    expect((await pinnedGet(line.url, line.pin, '/health')).status).toBe(200);
    expect(existsSync(join(dir, 'cloister.lock'))).toBe(true);
    child.kill('SIGTERM');
    expect(await exited(child)).toEqual({ code: 0, signal: null });
    expect(stderr).toMatch(/server stopped/);
    expect(existsSync(join(dir, 'cloister.lock'))).toBe(false);
  });

  it('exits 2 on a usage error', async () => {
    const child = spawnCli(['server', 'start', '--port', 'http']);
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    expect(await exited(child)).toEqual({ code: 2, signal: null });
    expect(stderr).toMatch(/--port <n>/);
  });
});
