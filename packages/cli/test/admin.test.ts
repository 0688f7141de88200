import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '@cloister/crypto';
import { tenantId } from '@cloister/protocol';
import { createServer } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, type TenantJson, type TokenJson } from '../src/index.js';
import { cli, removeTempDirs, tempDir } from './helpers.js';

afterAll(removeTempDirs);

describe('cloister tenant create / token create (embedded data directory)', () => {
  const dir = tempDir();
  let acme: TenantJson;

  beforeAll(async () => {
    const result = await cli([
      'tenant',
      'create',
      'acme',
      '--name',
      'ACME Hospital',
      '--domain',
      'ACME.example',
      '--domain',
      'acme.test',
      '--data-dir',
      dir,
      '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(EXIT.ok);
    acme = JSON.parse(result.stdout) as TenantJson;
  });

  it('prints the tenant and its Ed25519 signing public key', () => {
    expect(acme).toEqual({
      tenant: 'acme',
      name: 'ACME Hospital',
      domains: ['acme.example', 'acme.test'],
      signingPublicKey: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('refuses a taken id and a domain of another tenant with exit 1, writing nothing', async () => {
    const again = await cli(['tenant', 'create', 'acme', '--name', 'Other', '--data-dir', dir]);
    expect(again.code).toBe(EXIT.failure);
    expect(again.stderr).toBe('error: a tenant with this id already exists\n');
    const clash = await cli([
      'tenant',
      'create',
      'beta',
      '--name',
      'Beta',
      '--domain',
      'acme.test',
      '--data-dir',
      dir,
    ]);
    expect(clash.code).toBe(EXIT.failure);
    expect(clash.stderr).toBe('error: a domain belongs to another tenant already\n');
  });

  it('creates a token once, with a warning that it is shown only once', async () => {
    const before = Date.now();
    const result = await cli([
      'token',
      'create',
      '--tenant',
      'acme',
      '--uses',
      '5',
      '--ttl',
      '12h',
      '--data-dir',
      dir,
      '--json',
    ]);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stderr).toMatch(/^warning: the enrolment token is shown only this once/);
    const token = JSON.parse(result.stdout) as TokenJson;
    expect(token).toMatchObject({ tenant: 'acme', user: null, pool: null, uses: 5 });
    expect(token.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const expires = Date.parse(token.expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 12 * 3_600_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 12 * 3_600_000);
  });

  it('prints a user-bound token for people, each time a new one', async () => {
    const one = await cli(['token', 'create', '--tenant', 'acme', '--user', 'alice', '--data-dir', dir]);
    const two = await cli(['token', 'create', '--tenant', 'acme', '--user', 'alice', '--data-dir', dir]);
    for (const result of [one, two]) {
      expect(result.code).toBe(EXIT.ok);
      expect(result.stdout).toMatch(
        /^enrolment token: [A-Za-z0-9_-]{43}\ntenant: acme, user: alice, pool: none, uses: 1, expires: \S+Z\n$/,
      );
    }
    expect(one.stdout).not.toBe(two.stdout);
  });

  it('refuses an unknown tenant or pool with exit 1', async () => {
    const tenant = await cli(['token', 'create', '--tenant', 'nobody', '--data-dir', dir]);
    expect(tenant.code).toBe(EXIT.failure);
    expect(tenant.stderr).toBe('error: no such tenant\n');
    const pool = await cli(['token', 'create', '--tenant', 'acme', '--pool', 'ward-9', '--data-dir', dir]);
    expect(pool.code).toBe(EXIT.failure);
    expect(pool.stderr).toBe('error: no such pool in the tenant\n');
  });

  it('wrote to the storage the server opens, under its storage key', async () => {
    const server = await createServer({ dataDir: dir, logLevel: 'silent' });
    try {
      const tenant = await server.context.stores.tenants.get(tenantId('acme'));
      expect(tenant?.name).toBe('ACME Hospital');
      expect(toHex(tenant?.signingKey ?? new Uint8Array())).toBe(acme.signingPublicKey);
      expect(await server.context.stores.domains.tenantOf('acme.test')).toBe('acme');
    } finally {
      await server.close();
    }
  });

  it('opens the same storage through --storage-key-file', async () => {
    const keyFile = join(tempDir(), 'org.key');
    writeFileSync(keyFile, readFileSync(join(dir, 'storage.key')));
    const result = await cli([
      'tenant',
      'create',
      'beta',
      '--name',
      'Beta',
      '--data-dir',
      dir,
      '--storage-key-file',
      keyFile,
    ]);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toMatch(
      /^created tenant beta \(Beta\)\ndomains: none\nsigning public key \(Ed25519, hex\): [0-9a-f]{64}\n$/,
    );
  });

  it('refuses a storage key that does not open the data directory, writing nothing', async () => {
    const wrongKey = join(tempDir(), 'wrong.key');
    writeFileSync(wrongKey, '11'.repeat(32));
    const result = await cli([
      'tenant',
      'create',
      'delta',
      '--name',
      'D',
      '--data-dir',
      dir,
      '--storage-key-file',
      wrongKey,
    ]);
    // Needs the server to open its storage with the key check (openEncryptedAdapter).
    expect(result.code).toBe(EXIT.failure);
    expect(result.stderr).toBe(
      'error: the storage key does not open this data directory (check --storage-key-file or <data-dir>/storage.key)\n',
    );
  });

  it('refuses a database whose storage key is missing', async () => {
    renameSync(join(dir, 'storage.key'), join(dir, 'storage.key.moved'));
    try {
      const result = await cli(['tenant', 'create', 'gamma', '--name', 'Gamma', '--data-dir', dir]);
      expect(result.code).toBe(EXIT.usage);
      expect(result.stderr).toMatch(/holds a database but no storage\.key/);
    } finally {
      rmSync(join(dir, 'storage.key'), { force: true });
      renameSync(join(dir, 'storage.key.moved'), join(dir, 'storage.key'));
    }
  });
});
