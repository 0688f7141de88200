import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tenantId, userId } from '@cloister/protocol';
import { type CloisterServer, createEnrolmentToken, createServer, createTenant } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/index.js';
import { cli, removeTempDirs, tempDir } from './helpers.js';

const TENANT = tenantId('acme');

describe('cloister client … against a running server', () => {
  const serverDir = tempDir();
  const aliceDir = tempDir();
  const bobDir = tempDir();
  const downloads = tempDir();
  const pinFile = join(tempDir(), 'pin');
  const wrongPinFile = join(tempDir(), 'wrong-pin');
  let server: CloisterServer;
  let url: string;
  let pin: string;

  const startServer = async (port = 0) => {
    server = await createServer({ dataDir: serverDir, logLevel: 'silent' });
    url = await server.listen({ port, host: '127.0.0.1' });
    pin = server.pin;
  };
  const token = async (user: string) =>
    (await createEnrolmentToken(server.context, { tenant: TENANT, user: userId(user) })).token;

  beforeAll(async () => {
    writeFileSync(pinFile, '2468-1357\n');
    writeFileSync(wrongPinFile, '0000-0000\n');
    await startServer();
    await createTenant(server.context, { id: TENANT, name: 'ACME' });
    for (const [user, dir] of [
      ['alice', aliceDir],
      ['bob', bobDir],
    ] as const) {
      const t = await token(user);
      const r = await cli([
        'client',
        'enroll',
        '--data-dir',
        dir,
        '--server',
        url,
        '--server-pin',
        pin,
        '--token',
        t,
        '--pin-file',
        pinFile,
        '--json',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(EXIT.ok);
      const out = JSON.parse(r.stdout) as { user: string; device: number };
      expect(out.user).toBe(user);
      expect(out.device).toBeGreaterThan(0);
      // No secret lands in the directory's configuration or on stdout.
      const config = readFileSync(join(dir, 'client.json'), 'utf8');
      expect(JSON.parse(config)).toEqual({ version: 1, server: { url, pin } });
      expect(config + r.stdout).not.toContain(t);
      expect(config + r.stdout).not.toContain('2468-1357');
    }
  });

  afterAll(async () => {
    await server?.close();
    removeTempDirs();
  });

  it('sends a text from alice that bob sees with listen --count 1', async () => {
    const sent = await cli([
      'client',
      'send',
      '--data-dir',
      aliceDir,
      '--pin-file',
      pinFile,
      '--to',
      'bob',
      '--json',
      'hello',
      'bob',
    ]);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(EXIT.ok);
    const { id, devices } = JSON.parse(sent.stdout) as { id: string; devices: number };
    expect(id).toMatch(/^[0-9a-f]{32}@alice$/);
    expect(devices).toBeGreaterThan(0);

    const heard = await cli([
      'client',
      'listen',
      '--data-dir',
      bobDir,
      '--pin-file',
      pinFile,
      '--count',
      '1',
      '--timeout',
      '20000',
      '--json',
    ]);
    expect(heard.stderr).toBe('');
    expect(heard.code).toBe(EXIT.ok);
    const lines = heard.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      id,
      from: 'alice',
      type: 'text',
      text: 'hello bob',
      outgoing: false,
    });
  });

  it('sends a file streamed from disk and saves it with listen --download (R04)', async () => {
    const source = join(tempDir(), 'report.bin');
    const bytes = new Uint8Array(200_000).map((_, i) => (i * 31 + 7) & 0xff);
    writeFileSync(source, bytes);
    const sent = await cli([
      'client',
      'send-file',
      '--data-dir',
      aliceDir,
      '--pin-file',
      pinFile,
      '--to',
      'bob',
      '--media-type',
      'application/x-test',
      source,
    ]);
    expect(sent.code).toBe(EXIT.ok);
    expect(sent.stdout).toMatch(/^sent [0-9a-f]{32}@alice to \d+ devices?\n$/);
    // stderr is not a terminal here: one plain line per completed phase.
    expect(sent.stderr).toContain('upload report.bin:');

    const heard = await cli([
      'client',
      'listen',
      '--data-dir',
      bobDir,
      '--pin-file',
      pinFile,
      '--count',
      '1',
      '--download',
      downloads,
    ]);
    expect(heard.code).toBe(EXIT.ok);
    expect(heard.stdout).toContain(
      `[file report.bin 200000 bytes saved to ${join(downloads, 'report.bin')}]`,
    );
    expect(new Uint8Array(readFileSync(join(downloads, 'report.bin')))).toEqual(bytes);
  });

  it('refuses a wrong PIN with exit 1 and a clear message, without printing it', async () => {
    const r = await cli([
      'client',
      'send',
      '--data-dir',
      aliceDir,
      '--pin-file',
      wrongPinFile,
      '--to',
      'bob',
      'x',
    ]);
    expect(r.code).toBe(EXIT.failure);
    expect(r.stderr).toBe('error: the PIN is not correct\n');
    expect(r.stdout).toBe('');
  });

  it('reports usage errors with exit 2', async () => {
    const cases: [string[], string][] = [
      [['client', 'send', '--to', 'bob', 'x'], "required option '--data-dir <dir>' not specified"],
      [
        ['client', 'send', '--data-dir', aliceDir, '--pin-file', pinFile, 'x'],
        'give exactly one of --to <user> and --group <id>',
      ],
      [
        ['client', 'send', '--data-dir', aliceDir, '--to', 'bob', '--group', 'ab'.repeat(32), 'x'],
        'give exactly one of --to',
      ],
      [
        [
          'client',
          'enroll',
          '--data-dir',
          aliceDir,
          '--server',
          'http://x',
          '--server-pin',
          pin,
          '--token',
          'a'.repeat(43),
        ],
        'expected an https:// URL',
      ],
      [
        [
          'client',
          'enroll',
          '--data-dir',
          aliceDir,
          '--server',
          url,
          '--server-pin',
          'sha256/abc',
          '--token',
          'a'.repeat(43),
        ],
        'expected sha256/',
      ],
      [
        [
          'client',
          'enroll',
          '--data-dir',
          aliceDir,
          '--server',
          url,
          '--server-pin',
          pin,
          '--token',
          'short',
        ],
        'expected an enrolment code (87 characters: token.fingerprint) or a token',
      ],
      [
        [
          'client',
          'enroll',
          '--data-dir',
          aliceDir,
          '--server',
          url,
          '--server-pin',
          pin,
          '--token',
          'a'.repeat(43),
          '--pin-file',
          pinFile,
        ],
        'already holds an enrolled client',
      ],
      [['client', 'listen', '--data-dir', tempDir(), '--pin-file', pinFile], 'holds no enrolled client'],
      [
        ['client', 'listen', '--data-dir', bobDir, '--pin-file', pinFile, '--count', '0'],
        'expected a whole number',
      ],
      [
        [
          'client',
          'send-file',
          '--data-dir',
          aliceDir,
          '--pin-file',
          pinFile,
          '--to',
          'bob',
          join(downloads, 'missing'),
        ],
        'cannot read the file',
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(argv);
      expect({ argv, code: r.code }).toEqual({ argv, code: EXIT.usage });
      expect(r.stderr).toContain(message);
    }
    // Without --pin-file, CLOISTER_PIN or a terminal there is no PIN: a usage error, nothing opened.
    const saved = process.env.CLOISTER_PIN;
    delete process.env.CLOISTER_PIN;
    try {
      const r = await cli(['client', 'send', '--data-dir', aliceDir, '--to', 'bob', 'x']);
      expect(r.code).toBe(EXIT.usage);
      expect(r.stderr).toContain('a PIN is needed');
    } finally {
      if (saved !== undefined) process.env.CLOISTER_PIN = saved;
    }
  });
});
