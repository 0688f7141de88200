/**
 * `server start` on PostgreSQL and `admin tenant create` through its admin API (the operator
 * token the server generated), and a second server with another storage key refused. Runs only
 * when DATABASE_URL is set; uses its own schema, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT, type StartJsonLine, type TenantCreateJson } from '../src/index.js';
import { cli, removeTempDirs, start, tempDir } from './helpers.js';

afterAll(removeTempDirs);

const DATABASE_URL = process.env.DATABASE_URL;

interface PgClient {
  connect(): Promise<void>;
  query(text: string): Promise<unknown>;
  end(): Promise<void>;
}

/** `pg` is a dependency of the server package, not of this one: load it from there. */
function pgClient(connectionString: string): PgClient {
  const fromServer = createRequire(createRequire(import.meta.url).resolve('@cloister/server/package.json'));
  const { Client } = fromServer('pg') as { Client: new (options: { connectionString: string }) => PgClient };
  return new Client({ connectionString });
}

describe.runIf(DATABASE_URL !== undefined)('cloister server and admin commands on PostgreSQL', () => {
  const url = DATABASE_URL ?? '';
  const schema = `cli_test_${randomBytes(6).toString('hex')}`;
  const keyFile = join(tempDir(), 'storage.key');
  writeFileSync(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const common = ['--database', url, '--database-schema', schema, '--storage-key-file', keyFile];

  afterAll(async () => {
    const client = pgClient(url);
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await client.end();
    }
  });

  it('creates a tenant through the admin API of a server on PostgreSQL', async () => {
    const server = start([
      'server',
      'start',
      '--json',
      '--port',
      '0',
      '--log-level',
      'silent',
      '--data-dir',
      tempDir(),
      ...common,
    ]);
    const line = JSON.parse(await server.firstLine()) as StartJsonLine;
    expect(line.pin).toMatch(/^sha256\//);
    try {
      const password = join(tempDir(), 'password');
      writeFileSync(password, 'a first password 123\n');
      const tenant = await cli([
        'admin',
        'tenant',
        'create',
        'pg-acme',
        '--name',
        'PG',
        '--owner-email',
        'owner@pg.example',
        '--owner-name',
        'Owner',
        '--owner-password-file',
        password,
        '--operator-token-file',
        line.operatorTokenFile,
        '--server',
        line.url,
        '--server-pin',
        line.pin,
        '--json',
      ]);
      expect(tenant.code).toBe(EXIT.ok);
      const created = JSON.parse(tenant.stdout) as TenantCreateJson;
      expect(created.tenant).toBe('pg-acme');
      expect(created.owner.recoveryCodes).toHaveLength(10);
    } finally {
      server.signal('SIGTERM');
      expect((await server.done).code).toBe(EXIT.ok);
    }
  });

  it('refuses a different storage key for the same database', async () => {
    const otherKey = join(tempDir(), 'other.key');
    writeFileSync(otherKey, randomBytes(32).toString('hex'));
    const result = await cli([
      'server',
      'start',
      '--port',
      '0',
      '--log-level',
      'silent',
      '--database',
      url,
      '--database-schema',
      schema,
      '--storage-key-file',
      otherKey,
      '--data-dir',
      tempDir(),
    ]);
    expect(result.code).toBe(EXIT.failure);
    // Needs the server to open its storage with the key check (openEncryptedAdapter).
    expect(result.stderr).toBe(
      'error: the storage key does not open this database (check --storage-key-file or <data-dir>/storage.key)\n',
    );
  });
});
