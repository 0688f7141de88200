/** Test helpers: an in-process `cloister` with captured output, and a pinned HTTPS GET. */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { run } from '../src/index.js';

export interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Output captured so far, and a way to send the command a stop signal. */
export interface Running {
  readonly done: Promise<Captured>;
  stdout(): string;
  stderr(): string;
  signal(name?: string): void;
  /** Codes passed to the injected `exit` (a forced stop). */
  readonly exits: readonly number[];
  /** Resolves the first stdout line once it is complete. */
  firstLine(): Promise<string>;
}

/** Starts `cloister argv` in-process. */
export function start(argv: readonly string[]): Running {
  let out = '';
  let err = '';
  const handlers = new Set<(signal: string) => void>();
  let waiters: (() => void)[] = [];
  const exits: number[] = [];
  const notify = () => {
    for (const w of waiters) w();
    waiters = [];
  };
  const done = run(argv, {
    stdout: (text) => {
      out += text;
      notify();
    },
    stderr: (text) => {
      err += text;
    },
    onSignal: (handler) => {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    exit: (code) => {
      exits.push(code);
    },
  }).then((code) => {
    notify();
    return { code, stdout: out, stderr: err };
  });
  return {
    done,
    exits,
    stdout: () => out,
    stderr: () => err,
    signal(name = 'SIGTERM') {
      for (const handler of [...handlers]) handler(name);
    },
    async firstLine() {
      let finished = false;
      void done.then(() => {
        finished = true;
      });
      while (!out.includes('\n')) {
        if (finished) throw new Error(`the command ended before printing a line: ${err}`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      return out.slice(0, out.indexOf('\n'));
    },
  };
}

/** Runs `cloister argv` in-process to completion. */
export function cli(argv: readonly string[]): Promise<Captured> {
  return start(argv).done;
}

const created: string[] = [];

/** A new temporary directory, removed by {@link removeTempDirs}. */
export function tempDir(prefix = 'cloister-cli-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Removes the temporary directories this test file created (call in `afterAll`). */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** GET `path` from `url`, refusing the connection unless the server's key matches `pin`. */
export function pinnedGet(url: string, pin: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, url),
      { method: 'GET', rejectUnauthorized: false, minVersion: 'TLSv1.3', agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('socket', (socket) => {
      socket.on('secureConnect', () => {
        const cert = (socket as TLSSocket).getPeerX509Certificate();
        const spki = cert?.publicKey.export({ type: 'spki', format: 'der' });
        const actual =
          spki === undefined ? '' : `sha256/${createHash('sha256').update(spki).digest('base64')}`;
        if (actual !== pin) req.destroy(new Error('server key does not match the pin'));
      });
    });
    req.on('error', reject);
    req.end();
  });
}
