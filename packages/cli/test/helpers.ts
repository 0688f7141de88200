/**
 * Test helpers: an in-process `cloister` with captured output, a pinned HTTPS GET, and a running
 * server with a tenant whose owner is logged in on an administrator profile.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { PIN_SCRYPT_FLOOR } from '@cloister/crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import { EXIT, run, type StartJsonLine, type TenantCreateJson } from '../src/index.js';
import { totpCode } from './totp.js';

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
    // The lowest scrypt cost the key stores and the PIN wrap accept: every command opens a wrapped
    // secret, and at the default cost (128 MiB) that is most of a command's CPU time. The default
    // cost itself is tested in the crypto and admin packages.
    pinWrap: { scrypt: PIN_SCRYPT_FLOOR },
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
  emptyDatabase = undefined;
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

let emptyDatabase: Promise<string> | undefined;

/**
 * Puts a new, empty, migrated embedded database at `<dir>/db`, where `cloister client enroll`
 * and `cloister server start` open theirs (a database without rows: what either command creates
 * when the directory has none, before it writes anything). The database is made once per test
 * file and copied, which skips PostgreSQL's initialisation, the larger part of creating one.
 */
export async function seedDatabase(dir: string): Promise<void> {
  const target = join(dir, 'db');
  if (existsSync(target)) throw new Error(`seedDatabase: ${target} exists`);
  emptyDatabase ??= (async () => {
    const path = join(tempDir('cloister-cli-db-'), 'db');
    const { createPGliteAdapter } = await import('@cloister/storage/sql');
    const adapter = await createPGliteAdapter({ dataDir: path });
    await adapter.close();
    return path;
  })();
  cpSync(await emptyDatabase, target, { recursive: true });
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

/** The owner's password and the administrator profile's passphrase {@link useAdminServer} sets. */
export const ADMIN_SECRETS = {
  password: 'owner password 1234',
  passphrase: 'admin passphrase 5678',
} as const;

/** What {@link useAdminServer} gives a test file; the getters work once its `beforeAll` ran. */
export interface AdminServer {
  /** The line `server start --json` printed (URL, pin, operator token file). */
  readonly line: StartJsonLine;
  /** The tenant owner `admin tenant create` made (TOTP URI, recovery codes). */
  readonly owner: TenantCreateJson['owner'];
  /** The administrator directory the owner is logged in on. */
  readonly adminDir: string;
  /** A private temporary directory for secret files and command output. */
  readonly secrets: string;
  /** The files holding the owner's password and the profile's passphrase. */
  readonly files: { readonly password: string; readonly passphrase: string };
  /** `--server <url> --server-pin <pin>`. */
  connect(): string[];
  /** Writes `text` and a newline to `name` in {@link AdminServer.secrets}; returns its path. */
  secret(name: string, text: string): string;
  /** Runs `cloister argv --admin-dir <dir> --passphrase-file <file>`. */
  as(...argv: string[]): Promise<Captured>;
  /** {@link AdminServer.as} with `--json`: expects exit 0 and returns the parsed output. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read the commands' JSON fields directly
  json(...argv: string[]): Promise<any>;
}

/**
 * Registers the hooks of a test file that drives `cloister admin …` against a running server:
 * `beforeAll` starts `cloister server start` on a new data directory, creates tenant `acme`
 * (domain `acme.example`) with owner `olivia@acme.example`, and logs her in with password and TOTP
 * on a new administrator directory; `afterAll` stops the server and removes the temporary
 * directories. Hooks the file registers after this call run after the set-up.
 */
export function useAdminServer(options: { readonly timeoutMs?: number } = {}): AdminServer {
  const serverDir = tempDir();
  const adminDir = tempDir();
  const secrets = tempDir();
  const files = { password: join(secrets, 'password'), passphrase: join(secrets, 'passphrase') };
  let server: Running | undefined;
  let started: { line: StartJsonLine; owner: TenantCreateJson['owner'] } | undefined;
  const state = () => {
    if (started === undefined) throw new Error('useAdminServer: the server is not set up yet');
    return started;
  };
  const connect = () => ['--server', state().line.url, '--server-pin', state().line.pin];
  const as = (...argv: string[]) =>
    cli([...argv, '--admin-dir', adminDir, '--passphrase-file', files.passphrase]);
  const secret = (name: string, text: string) => {
    const path = join(secrets, name);
    writeFileSync(path, `${text}\n`, { mode: 0o600 });
    return path;
  };

  beforeAll(async () => {
    secret('password', ADMIN_SECRETS.password);
    secret('passphrase', ADMIN_SECRETS.passphrase);
    server = start([
      'server',
      'start',
      '--json',
      '--port',
      '0',
      '--data-dir',
      serverDir,
      '--log-level',
      'silent',
    ]);
    const line = JSON.parse(await server.firstLine()) as StartJsonLine;
    const created = await cli([
      'admin',
      'tenant',
      'create',
      'acme',
      '--name',
      'ACME',
      '--domain',
      'acme.example',
      '--owner-email',
      'olivia@acme.example',
      '--owner-name',
      'Olivia',
      '--owner-password-file',
      files.password,
      '--operator-token-file',
      line.operatorTokenFile,
      '--server',
      line.url,
      '--server-pin',
      line.pin,
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(EXIT.ok);
    const owner = (JSON.parse(created.stdout) as TenantCreateJson).owner;
    const login = await as(
      'admin',
      'login',
      '--server',
      line.url,
      '--server-pin',
      line.pin,
      '--tenant',
      'acme',
      '--email',
      'olivia@acme.example',
      '--password-file',
      files.password,
      '--totp',
      totpCode(owner.totpUri),
    );
    expect(login.code, login.stderr).toBe(EXIT.ok);
    started = { line, owner };
  }, options.timeoutMs ?? 60_000);

  afterAll(async () => {
    if (server !== undefined) {
      server.signal('SIGTERM');
      await server.done;
    }
    removeTempDirs();
  });

  return {
    get line() {
      return state().line;
    },
    get owner() {
      return state().owner;
    },
    adminDir,
    secrets,
    files,
    connect,
    secret,
    as,
    async json(...argv: string[]) {
      const r = await as(...argv, '--json');
      expect(r.code, r.stderr).toBe(EXIT.ok);
      return JSON.parse(r.stdout);
    },
  };
}

/** An HTTPS answer read by {@link trustedGet}. */
export interface TrustedAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The `Content-Security-Policy` header. */
  readonly csp: string | undefined;
}

/** GET trusting only `ca` (as a browser that imported it would). */
export function trustedGet(url: string, ca: string): Promise<TrustedAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: [ca], minVersion: 'TLSv1.3', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body,
          headers: res.headers,
          csp: res.headers['content-security-policy'] as string | undefined,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves once `server start` has printed its whole human block (up to "press Ctrl-C to stop"). */
export async function humanBlock(running: Running): Promise<string> {
  await running.firstLine();
  for (let i = 0; i < 100 && !running.stdout().includes('press Ctrl-C to stop\n'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return running.stdout();
}
