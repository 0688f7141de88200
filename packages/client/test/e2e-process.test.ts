/**
 * The client SDK against a real server process: `cloister server start` as a child process
 * (PGlite), the tenant, its owner and two invitations made through the admin API with
 * `cloister admin …`, and clients in this process talking to it over pinned HTTPS and WebSockets. The server is stopped and started again
 * on the same port: the clients reconnect by themselves, and a message sent while the server was
 * down leaves the outbox and arrives once it is back.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/** The current RFC 6238 code (SHA-1, 30 s, 6 digits) of the secret in an otpauth:// URI. */
function totp(uri: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bits = [...(new URL(uri).searchParams.get('secret') ?? '')]
    .map((c) => alphabet.indexOf(c).toString(2).padStart(5, '0'))
    .join('');
  const key = Buffer.from(bits.match(/.{8}/g)?.map((b) => Number.parseInt(b, 2)) ?? []);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const at = (mac[mac.length - 1] as number) & 0x0f;
  return ((mac.readUInt32BE(at) & 0x7fff_ffff) % 1_000_000).toString().padStart(6, '0');
}

function startServer(port: number): Promise<{ url: string; pin: string; operatorTokenFile: string }> {
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
      if (line !== undefined)
        resolve(JSON.parse(line) as { url: string; pin: string; operatorTokenFile: string });
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
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await stopServer();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('against `cloister server start` in its own process', () => {
  it('enrols, exchanges messages, survives a server restart and delivers what was queued meanwhile', async () => {
    const { url, pin, operatorTokenFile } = await startServer(0);
    const port = Number(new URL(url).port);
    // The operator creates the tenant and its owner; the owner logs in and invites two users.
    const secret = join(dataDir, 'secret');
    writeFileSync(secret, 'an owner password 2580\n');
    const server = ['--server', url, '--server-pin', pin];
    const admin = ['--admin-dir', join(dataDir, 'admin'), '--passphrase-file', secret];
    const created = await cli(
      'admin',
      'tenant',
      'create',
      'acme',
      '--name',
      'ACME',
      '--owner-email',
      'o@acme.example',
      '--owner-name',
      'Owner',
      '--owner-password-file',
      secret,
      '--operator-token-file',
      operatorTokenFile,
      ...server,
    );
    const { totpUri } = created.owner as { totpUri: string };
    await cli(
      'admin',
      'login',
      ...server,
      '--tenant',
      'acme',
      '--email',
      'o@acme.example',
      '--password-file',
      secret,
      '--totp',
      totp(totpUri),
      ...admin,
    );
    const tokens: Record<string, string> = {};
    for (const user of ['alice', 'bob']) {
      tokens[user] = (await cli('admin', 'users', 'invite', user, ...admin)).token as string;
    }
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
