/**
 * The client SDK against a real server process: `cloister tenant create` and `token create` on a
 * data directory, then `cloister server start` as a child process (PGlite), and clients in this
 * process talking to it over pinned HTTPS and WebSockets. The server is stopped and started again
 * on the same port: the clients reconnect by themselves, and a message sent while the server was
 * down leaves the outbox and arrives once it is back.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PIN_SCRYPT_FLOOR } from '@cloister/crypto';
import { createMemoryAdapter } from '@cloister/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloisterClient, createClient } from '../src/index.js';
import { nextEvent } from './helpers/system.js';

const BIN = fileURLToPath(new URL('../../cli/src/bin.ts', import.meta.url));
const NODE_ARGS = ['--conditions=@cloister/source', '--import', 'tsx', BIN];
const run = promisify(execFile);
let dataDir: string;
let server: ChildProcess | undefined;
const clients: CloisterClient[] = [];

async function cli(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [...NODE_ARGS, ...args, '--json'], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

function startServer(port: number): Promise<{ url: string; pin: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...NODE_ARGS,
        'server',
        'start',
        '--data-dir',
        dataDir,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server = child;
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line) as { url: string; pin: string });
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
}

function stopServer(): Promise<void> {
  const child = server;
  server = undefined;
  if (child === undefined || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'cloister-e2e-process-'));
  await cli('tenant', 'create', 'acme', '--data-dir', dataDir, '--name', 'ACME');
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await stopServer();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('against `cloister server start` in its own process', () => {
  it('enrols, exchanges messages, survives a server restart and delivers what was queued meanwhile', async () => {
    const tokens: Record<string, string> = {};
    for (const user of ['alice', 'bob']) {
      tokens[user] = (await cli('token', 'create', '--data-dir', dataDir, '--tenant', 'acme', '--user', user))
        .token as string;
    }
    const { url, pin } = await startServer(0);
    const port = Number(new URL(url).port);
    const open = async (user: string) => {
      const client = await createClient({
        server: { url, pin },
        storage: createMemoryAdapter(),
        pinWrap: { scrypt: PIN_SCRYPT_FLOOR },
        outbox: { backoff: { initialMs: 200, maxMs: 1000 } },
      });
      clients.push(client);
      await client.enroll(tokens[user]!, { pin: '2580-1470' });
      await client.start();
      return client;
    };
    const alice = await open('alice');
    const bob = await open('bob');

    const first = nextEvent(alice, 'message');
    await bob.sendText({ user: 'alice' }, 'first message from a new device');
    expect((await first).message.content.body).toEqual({
      type: 'text',
      text: 'first message from a new device',
    });

    const offline = nextEvent(bob, 'connection', (e) => e.state === 'offline', 30_000);
    await stopServer();
    await offline;
    const queued = await alice.sendText({ user: 'bob' }, 'sent while the server was down');
    expect(queued.status).toBe('sent');

    const online = nextEvent(bob, 'connection', (e) => e.state === 'online', 60_000);
    const arrives = nextEvent(bob, 'message', (e) => !e.message.outgoing, 60_000);
    await startServer(port);
    await online;
    expect((await arrives).message.content.body).toEqual({
      type: 'text',
      text: 'sent while the server was down',
    });
  }, 180_000);
});
