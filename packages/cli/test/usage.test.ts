import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/index.js';
import { cli, removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

// A command that got past its checks by mistake would open ./cloister-data: keep that in a temporary directory.
beforeAll(() => {
  process.chdir(tempDir());
});

describe('cloister: help and version', () => {
  it('prints help with exit 0', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toMatch(/Usage: cloister/);
    expect(result.stdout).toMatch(/server/);
    expect(result.stdout).toMatch(/tenant/);
    expect(result.stdout).toMatch(/token/);
  });

  it('prints help of a subcommand with exit 0', async () => {
    const result = await cli(['server', 'start', '--help']);
    expect(result.code).toBe(EXIT.ok);
    for (const option of [
      '--data-dir',
      '--database',
      '--host',
      '--port',
      '--tls-cert',
      '--tls-key',
      '--storage-key-file',
      '--log-level',
      '--json',
    ]) {
      expect(result.stdout).toContain(option);
    }
  });

  it('prints the version with exit 0', async () => {
    const result = await cli(['--version']);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('cloister: usage errors exit 2 with a clear message', () => {
  const cases: [string, string[], RegExp][] = [
    ['no command', [], /Usage: cloister/],
    ['an unknown command', ['srever'], /unknown command 'srever'[\s\S]*Did you mean server/],
    ['a group without a subcommand', ['tenant'], /Usage: cloister tenant/],
    ['an unknown option', ['server', 'start', '--prot', '1'], /unknown option '--prot'/],
    [
      'a port out of range',
      ['server', 'start', '--port', '65536'],
      /'--port <n>'.*invalid.*port number from 0 to 65535/,
    ],
    ['a port that is not a number', ['server', 'start', '--port', '8443x'], /--port/],
    [
      'a bad host',
      ['server', 'start', '--host', 'exa mple'],
      /'--host <host>'.*invalid.*host name or an IP address/,
    ],
    [
      'a bad log level',
      ['server', 'start', '--log-level', 'loud'],
      /--log-level.*one of fatal, error, warn, info/,
    ],
    [
      'a database URL of another kind',
      ['server', 'start', '--database', 'mysql://x/y'],
      /--database.*postgres:\/\//,
    ],
    ['a database URL that is no URL', ['server', 'start', '--database', 'nope'], /--database.*postgres:\/\//],
    [
      'a bad schema',
      ['server', 'start', '--database-schema', 'Bad-Schema'],
      /--database-schema.*schema name/,
    ],
    [
      '--tls-cert without --tls-key',
      ['server', 'start', '--tls-cert', 'c.pem'],
      /--tls-cert and --tls-key must be given together/,
    ],
    [
      '--tls-key without --tls-cert',
      ['server', 'start', '--tls-key', 'k.pem'],
      /--tls-cert and --tls-key must be given together/,
    ],
    [
      'an unreadable certificate',
      ['server', 'start', '--tls-cert', '/nonexistent/c.pem', '--tls-key', '/nonexistent/k.pem'],
      /--tls-cert: cannot read the file/,
    ],
    [
      'an unreadable storage key',
      ['server', 'start', '--storage-key-file', '/nonexistent/key'],
      /--storage-key-file: cannot read the file/,
    ],
    [
      '--database-schema without --database',
      ['server', 'start', '--database-schema', 's1'],
      /--database-schema needs --database/,
    ],
    ['tenant create without an id', ['tenant', 'create', '--name', 'A'], /missing required argument 'id'/],
    [
      'tenant create without --name',
      ['tenant', 'create', 'acme'],
      /required option '--name <name>' not specified/,
    ],
    [
      'a bad tenant id',
      ['tenant', 'create', 'a b', '--name', 'A'],
      /invalid for argument 'id'.*identifier of 1\.\.128 characters/,
    ],
    ['an empty name', ['tenant', 'create', 'acme', '--name', '  '], /--name.*1 to 256 characters/],
    [
      'a name with control characters',
      ['tenant', 'create', 'acme', '--name', 'a\u0007b'],
      /--name.*without control characters/,
    ],
    [
      'a bad domain',
      ['tenant', 'create', 'acme', '--name', 'A', '--domain', 'localhost'],
      /--domain.*domain name such as acme\.example/,
    ],
    [
      'a repeated domain',
      ['tenant', 'create', 'acme', '--name', 'A', '--domain', 'a.example', '--domain', 'A.example'],
      /--domain.*given twice/,
    ],
    ['an excess argument', ['tenant', 'create', 'acme', 'extra', '--name', 'A'], /too many arguments/],
    ['token create without --tenant', ['token', 'create'], /required option '--tenant <id>' not specified/],
    ['a bad user id', ['token', 'create', '--tenant', 't', '--user', 'a/b'], /--user.*identifier/],
    ['a bad pool id', ['token', 'create', '--tenant', 't', '--pool', ''], /--pool.*identifier/],
    ['zero uses', ['token', 'create', '--tenant', 't', '--uses', '0'], /--uses.*whole number from 1/],
    ['fractional uses', ['token', 'create', '--tenant', 't', '--uses', '1.5'], /--uses.*whole number/],
    [
      'a bad ttl',
      ['token', 'create', '--tenant', 't', '--ttl', '5y'],
      /--ttl.*duration such as 7d, 12h, 30m/,
    ],
    ['a ttl under a minute', ['token', 'create', '--tenant', 't', '--ttl', '30s'], /--ttl.*at least 1m/],
    [
      'a ttl over the server maximum',
      ['token', 'create', '--tenant', 't', '--ttl', '367d'],
      /--ttl: at most 366d/,
    ],
    [
      'uses over the server maximum',
      ['token', 'create', '--tenant', 't', '--uses', '1000001'],
      /--uses: at most 1000000/,
    ],
    [
      '--existing-users with --user',
      ['token', 'create', '--tenant', 't', '--user', 'u', '--existing-users'],
      /--existing-users applies only to tokens not bound to a user/,
    ],
  ];

  it.each(cases)('%s', async (_name, argv, message) => {
    const result = await cli(argv);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('refuses a storage key file that is not at least 32 bytes of hex', async () => {
    const dir = tempDir();
    for (const content of ['00'.repeat(31), 'zz'.repeat(32), `${'0'.repeat(63)}`]) {
      const file = join(dir, 'key');
      writeFileSync(file, content);
      const result = await cli(['server', 'start', '--data-dir', dir, '--storage-key-file', file]);
      expect(result.code).toBe(EXIT.usage);
      expect(result.stderr).toMatch(/--storage-key-file: expected at least 64 hex digits/);
      // The key is never echoed.
      expect(result.stderr).not.toContain(content);
    }
  });

  it('fails with exit 1 and names the field when the TLS files are not PEM', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'c.pem'), 'not a certificate');
    writeFileSync(join(dir, 'k.pem'), 'not a key');
    const result = await cli([
      'server',
      'start',
      '--port',
      '0',
      '--log-level',
      'silent',
      '--data-dir',
      join(dir, 'data'),
      '--tls-cert',
      join(dir, 'c.pem'),
      '--tls-key',
      join(dir, 'k.pem'),
    ]);
    expect(result.code).toBe(EXIT.failure);
    expect(result.stderr).toBe('error: tls.cert: expected a PEM certificate\n');
  });

  it('with --database, refuses to open storage without a known storage key', async () => {
    const dir = tempDir();
    const result = await cli([
      'tenant',
      'create',
      'acme',
      '--name',
      'A',
      '--database',
      'postgres://127.0.0.1:1/x',
      '--data-dir',
      dir,
    ]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toMatch(/with --database, give the server's storage key/);
  });
});
