/**
 * The command line at its edges: a server that cannot be reached is one line and exit 3 (client
 * and admin commands alike, no raw system error, no stack); a recipient nobody knows is exit 1
 * naming the user; the device PIN comes from `--pin-file` or `$CLOISTER_PIN`, and a new one that
 * is too short is exit 2 naming where it came from; help marks required options and says where
 * the PIN comes from; both ends of `admin users invite --uses` name one maximum.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tenantId, userId } from '@cloister/protocol';
import { type CloisterServer, createEnrolmentToken, createServer, createTenant } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_INVITE_USES } from '../src/commands/admin-people.js';
import { EXIT } from '../src/index.js';
import { cli, removeTempDirs, tempDir } from './helpers.js';

const TENANT = tenantId('acme');
const DEVICE_PIN = '2468-1357';

/**
 * A port on 127.0.0.1 nobody listens on: port 2, below the ephemeral range that port 0 draws from
 * and not on fetch's list of blocked ports. A port freed by a probe is not safe: a server of
 * another test file running at the same time may be given it.
 */
async function closedPort(): Promise<number> {
  return 2;
}

/** Runs `fn` with `CLOISTER_PIN` set to `value` (or unset), restoring it afterwards. */
async function withPinEnv<T>(value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.CLOISTER_PIN;
  if (value === undefined) delete process.env.CLOISTER_PIN;
  else process.env.CLOISTER_PIN = value;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.CLOISTER_PIN;
    else process.env.CLOISTER_PIN = saved;
  }
}

const unreachable = (port: number) =>
  `error: cannot reach https://127.0.0.1:${port}: connection refused (is the server running?)\n`;

describe('cloister at its edges', () => {
  const serverDir = tempDir();
  const aliceDir = tempDir();
  const bobDir = tempDir();
  const pinFile = join(tempDir(), 'pin');
  const shortPinFile = join(tempDir(), 'short-pin');
  let server: CloisterServer | undefined;
  let url: string;
  let pin: string;

  const enroll = (dir: string, token: string, extra: string[] = []) =>
    cli([
      'client',
      'enroll',
      '--data-dir',
      dir,
      '--server',
      url,
      '--server-pin',
      pin,
      '--token',
      token,
      ...extra,
    ]);
  const token = async (user: string) =>
    (await createEnrolmentToken((server as CloisterServer).context, { tenant: TENANT, user: userId(user) }))
      .token;

  beforeAll(async () => {
    writeFileSync(pinFile, `${DEVICE_PIN}\n`);
    writeFileSync(shortPinFile, '12\n');
    server = await createServer({ dataDir: serverDir, logLevel: 'silent' });
    url = await server.listen({ port: 0, host: '127.0.0.1' });
    pin = server.pin;
    await createTenant(server.context, { id: TENANT, name: 'ACME' });
    const alice = await enroll(aliceDir, await token('alice'), ['--pin-file', pinFile]);
    expect(alice.stderr).toBe('');
    // The PIN from the environment works as well as a file.
    const bob = await withPinEnv(DEVICE_PIN, async () => enroll(bobDir, await token('bob')));
    expect(bob.stderr).toBe('');
    expect([alice.code, bob.code]).toEqual([EXIT.ok, EXIT.ok]);
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    removeTempDirs();
  });

  it('a new PIN that is too short is exit 2 naming where it came from; nothing is written', async () => {
    const dir = join(tempDir(), 'short');
    const fromFile = await enroll(dir, await token('carol'), ['--pin-file', shortPinFile]);
    expect(fromFile.code).toBe(EXIT.usage);
    expect(fromFile.stderr).toContain(
      `error: the device PIN from --pin-file ${shortPinFile} is too short: it needs at least 6 characters`,
    );
    const fromEnv = await withPinEnv('12', async () => enroll(dir, await token('carol')));
    expect(fromEnv.code).toBe(EXIT.usage);
    expect(fromEnv.stderr).toContain('error: the device PIN from $CLOISTER_PIN is too short');
    expect(existsSync(dir)).toBe(false);
  });

  it('sending to a user nobody knows is exit 1 naming the user; nothing waits for a timeout', async () => {
    const started = Date.now();
    const r = await withPinEnv(DEVICE_PIN, () =>
      cli(['client', 'send', '--data-dir', aliceDir, '--to', 'nobody', 'hello?']),
    );
    expect(r.code).toBe(EXIT.failure);
    expect(r.stderr).toBe('error: nobody is not a user of this organisation: nothing was sent\n');
    expect(Date.now() - started).toBeLessThan(25_000);
  }, 60_000);

  it('a server that cannot be reached is one line and exit 3 (client enroll, send, listen; admin login)', async () => {
    const port = await closedPort();
    const dir = join(tempDir(), 'nowhere');
    const enrolled = await cli([
      'client',
      'enroll',
      '--data-dir',
      dir,
      '--server',
      `https://127.0.0.1:${port}`,
      '--server-pin',
      pin,
      '--token',
      'A'.repeat(43),
      '--pin-file',
      pinFile,
    ]);
    expect(enrolled.code).toBe(EXIT.network);
    expect(enrolled.stderr).toBe(unreachable(port));
    expect(existsSync(join(dir, 'client.json'))).toBe(false);

    const passwordFile = join(tempDir(), 'password');
    writeFileSync(passwordFile, 'correct horse battery staple\n');
    const passphraseFile = join(tempDir(), 'passphrase');
    writeFileSync(passphraseFile, 'admin passphrase of the test\n');
    const login = await cli([
      'admin',
      'login',
      '--server',
      `https://127.0.0.1:${port}`,
      '--server-pin',
      pin,
      '--tenant',
      'acme',
      '--email',
      'owner@acme.example',
      '--password-file',
      passwordFile,
      '--totp',
      '123456',
      '--admin-dir',
      tempDir(),
      '--passphrase-file',
      passphraseFile,
    ]);
    expect(login.code).toBe(EXIT.network);
    expect(login.stderr).toBe(unreachable(port));

    // The server goes away: the enrolled clients cannot reach it either.
    const serverPort = Number(new URL(url).port);
    await server?.close();
    server = undefined;
    for (const argv of [
      ['client', 'send', '--data-dir', aliceDir, '--pin-file', pinFile, '--to', 'bob', 'hi'],
      ['client', 'listen', '--data-dir', bobDir, '--pin-file', pinFile, '--count', '1'],
    ]) {
      const r = await cli(argv);
      expect({ argv, code: r.code }).toEqual({ argv, code: EXIT.network });
      expect(r.stderr).toBe(unreachable(serverPort));
      expect(r.stderr).not.toMatch(/ECONNREFUSED|\n\s+at /);
    }
  }, 120_000);
});

describe('help', () => {
  it('marks required options and says where the device PIN comes from', async () => {
    /** Each option's help entry (its lines joined), by its flags. */
    const entries = (help: string) =>
      new Map(
        help
          .split(/\n(?=\s{2}-)/)
          .map((e) => e.trim().replace(/\s+/g, ' '))
          .filter((e) => e.startsWith('-'))
          .map((e) => [e.split(' ').slice(0, 2).join(' '), e] as const),
      );
    const r = await cli(['client', 'enroll', '--help']);
    expect(r.code).toBe(EXIT.ok);
    const options = entries(r.stdout.split('\n\n').find((part) => part.startsWith('Options:')) ?? '');
    for (const option of ['--data-dir <dir>', '--server <url>', '--server-pin <pin>', '--token <code>']) {
      expect(options.get(option), option).toMatch(/\(required\)$/);
    }
    expect(options.get('--pin-file <file>')).not.toContain('(required)');
    expect(options.get('--user <id>')).not.toContain('(required)');
    expect(r.stdout).toContain(
      'The device PIN comes from the first line of --pin-file <file>, else $CLOISTER_PIN',
    );
    const send = await cli(['client', 'send', '--help']);
    expect(send.stdout).toContain('The device PIN comes from');
    const login = await cli(['admin', 'login', '--help']);
    expect(entries(login.stdout).get('--email <email>')).toMatch(/\(required\)$/);
  });

  it('admin users invite --uses: the help and the error name the same maximum', async () => {
    const help = await cli(['admin', 'users', 'invite', '--help']);
    expect(help.stdout).toContain(`devices the code may enrol, 1 to ${MAX_INVITE_USES}`);
    const r = await cli(['admin', 'users', 'invite', 'alice', '--uses', String(MAX_INVITE_USES + 1)]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toContain(`expected a whole number from 1 to ${MAX_INVITE_USES}`);
  });
});
