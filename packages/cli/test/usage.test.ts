import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/index.js';
import { cli, removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const PIN = `sha256/${'A'.repeat(43)}=`;
const TENANT_CREATE = ['admin', 'tenant', 'create'];
const TENANT_OPTIONS = [
  '--owner-email',
  'o@a.example',
  '--owner-name',
  'O',
  '--operator-token-file',
  'f',
  '--server',
  'https://127.0.0.1:1',
  '--server-pin',
  PIN,
];

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
    expect(result.stdout).toMatch(/admin/);
    expect(result.stdout).toMatch(/org/);
    expect(result.stdout).not.toMatch(/^\s+(tenant|token|device)\b/m);
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
      '--operator-token-file',
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
    ['a group without a subcommand', ['admin'], /Usage: cloister admin/],
    ['the removed offline tenant command', ['tenant', 'create', 'acme'], /unknown command 'tenant'/],
    ['the removed offline token command', ['token', 'create'], /unknown command 'token'/],
    ['the removed offline device command', ['device', 'wipe'], /unknown command 'device'/],
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
    [
      'tenant create without an id',
      [...TENANT_CREATE, '--name', 'A', ...TENANT_OPTIONS],
      /missing required argument 'id'/,
    ],
    [
      'tenant create without --name',
      [...TENANT_CREATE, 'acme', ...TENANT_OPTIONS],
      /required option '--name <name>' not specified/,
    ],
    [
      'tenant create without the operator token',
      [
        ...TENANT_CREATE,
        'acme',
        '--name',
        'A',
        '--owner-email',
        'o@a.example',
        '--owner-name',
        'O',
        '--server',
        'https://127.0.0.1:1',
        '--server-pin',
        PIN,
      ],
      /required option '--operator-token-file <file>' not specified/,
    ],
    [
      'a bad tenant id',
      [...TENANT_CREATE, 'a b', '--name', 'A', ...TENANT_OPTIONS],
      /invalid for argument 'id'.*identifier of 1\.\.128 characters/,
    ],
    [
      'an empty name',
      [...TENANT_CREATE, 'acme', '--name', '  ', ...TENANT_OPTIONS],
      /--name.*1 to 256 characters/,
    ],
    [
      'a name with control characters',
      [...TENANT_CREATE, 'acme', '--name', 'a\u0007b', ...TENANT_OPTIONS],
      /--name.*without control characters/,
    ],
    [
      'a bad domain',
      [...TENANT_CREATE, 'acme', '--name', 'A', '--domain', 'localhost', ...TENANT_OPTIONS],
      /--domain.*domain name such as acme\.example/,
    ],
    [
      'a repeated domain',
      [
        ...TENANT_CREATE,
        'acme',
        '--name',
        'A',
        '--domain',
        'a.example',
        '--domain',
        'A.example',
        ...TENANT_OPTIONS,
      ],
      /--domain.*given twice/,
    ],
    [
      'a bad owner e-mail',
      [...TENANT_CREATE, 'acme', '--name', 'A', ...TENANT_OPTIONS, '--owner-email', 'nobody'],
      /--owner-email.*e-mail address/,
    ],
    [
      'an excess argument',
      [...TENANT_CREATE, 'acme', 'extra', '--name', 'A', ...TENANT_OPTIONS],
      /too many arguments/,
    ],
    [
      'a server URL that is not https',
      [
        'admin',
        'login',
        '--server',
        'http://x',
        '--server-pin',
        PIN,
        '--tenant',
        't',
        '--email',
        'a@b.example',
        '--totp',
        '123456',
      ],
      /--server.*https:\/\//,
    ],
    [
      'a TOTP code that is not six digits',
      [
        'admin',
        'login',
        '--server',
        'https://x',
        '--server-pin',
        PIN,
        '--tenant',
        't',
        '--email',
        'a@b.example',
        '--totp',
        '12345',
      ],
      /--totp.*six digits/,
    ],
    [
      'login without --totp or a recovery code',
      [
        'admin',
        'login',
        '--server',
        'https://x',
        '--server-pin',
        PIN,
        '--tenant',
        't',
        '--email',
        'a@b.example',
      ],
      /exactly one of --totp and --recovery-code-file/,
    ],
    ['a bad user id', ['admin', 'users', 'invite', 'a/b'], /identifier/],
    ['a bad pool id', ['admin', 'users', 'invite', 'alice', '--pool', ''], /--pool.*identifier/],
    ['zero uses', ['admin', 'users', 'invite', 'alice', '--uses', '0'], /--uses.*whole number from 1/],
    [
      'a bad ttl',
      ['admin', 'users', 'invite', 'alice', '--ttl', '5y'],
      /--ttl.*duration such as 7d, 12h, 30m/,
    ],
    ['a bad device id', ['admin', 'devices', 'wipe', 'alice', '0'], /expected a device id/],
    [
      'a bad policy layer',
      ['admin', 'policy', 'set', '--layer', 'everyone', '--file', 'p.json'],
      /--layer.*tenant, pool:<id>/,
    ],
    [
      'a broadcast to pools and users at once',
      [
        'admin',
        'broadcast',
        'send',
        '--text',
        'x',
        '--pool',
        'p',
        '--user',
        'u',
        '--passphrase-file',
        'none',
      ],
      /--pool and --user do not go together/,
    ],
    [
      'a bad role',
      ['admin', 'admins', 'role', 'adm_AAAAAAAAAAAAAAAAAAAAAA', 'king'],
      /expected one of owner/,
    ],
    ['a delegation too long', ['org', 'delegate', '--days', '8'], /--days.*from 1 to 7/],
    [
      'an admin command before login',
      ['admin', 'whoami', '--admin-dir', 'nowhere'],
      /session\.json does not exist: run cloister admin login/,
    ],
    [
      'an enrolment code of the wrong shape',
      ['client', 'enroll', '--server', 'https://x', '--server-pin', PIN, '--token', 'abc'],
      /--token.*enrolment code \(87 characters/,
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
});
