/**
 * `cloister admin pools …` and `cloister admin allowlist …` against a running server: a pool is
 * created, filled, shown, a user moved out of it, and it is refused deletion while it has members
 * until `--remove-members`; the allowlist is turned on and an invite outside it fails (exit code
 * 1, the refusal on stderr) while a listed user is invited.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, type StartJsonLine, type TenantCreateJson } from '../src/index.js';
import { cli, type Running, removeTempDirs, start, tempDir } from './helpers.js';
import { totpCode } from './totp.js';

const PASSWORD = 'owner password 1234';
const PASSPHRASE = 'admin passphrase 5678';

describe('cloister admin pools and allowlist', () => {
  const serverDir = tempDir();
  const adminDir = tempDir();
  const secrets = tempDir();
  const files = { password: join(secrets, 'password'), passphrase: join(secrets, 'passphrase') };
  let server: Running;
  let line: StartJsonLine;
  const connect = () => ['--server', line.url, '--server-pin', line.pin];
  const as = (...argv: string[]) =>
    cli([...argv, '--admin-dir', adminDir, '--passphrase-file', files.passphrase]);
  const json = async (...argv: string[]) => {
    const r = await as(...argv, '--json');
    expect(r.code, r.stderr).toBe(EXIT.ok);
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    writeFileSync(files.password, `${PASSWORD}\n`);
    writeFileSync(files.passphrase, `${PASSPHRASE}\n`);
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
    line = JSON.parse(await server.firstLine()) as StartJsonLine;
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
      ...connect(),
      '--json',
    ]);
    const owner = (JSON.parse(created.stdout) as TenantCreateJson).owner;
    const login = await as(
      'admin',
      'login',
      ...connect(),
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
  }, 60_000);

  afterAll(async () => {
    server.signal('SIGTERM');
    await server.done;
    removeTempDirs();
  });

  it('creates a pool, adds and moves users, and deletes it only with --remove-members', async () => {
    for (const u of ['alice', 'bob']) expect((await as('admin', 'users', 'invite', u)).code).toBe(EXIT.ok);
    expect(await json('admin', 'pools', 'create', 'ward-3', 'Ward 3')).toMatchObject({
      id: 'ward-3',
      members: 0,
    });
    await json('admin', 'pools', 'create', 'pharmacy', 'Pharmacy');
    expect(await json('admin', 'pools', 'add', 'ward-3', 'alice', 'bob')).toEqual({
      pool: 'ward-3',
      changed: ['alice', 'bob'],
    });
    const shown = await as('admin', 'pools', 'show', 'ward-3');
    expect(shown.stdout).toBe('ward-3: Ward 3, 2 members, may reach only itself\n');
    expect((await json('admin', 'pools', 'move', 'bob', 'pharmacy')).pools).toEqual(['pharmacy']);
    expect(
      (await json('admin', 'pools', 'members', 'ward-3')).items.map((u: { id: string }) => u.id),
    ).toEqual(['alice']);
    expect((await json('admin', 'pools', 'list')).items.map((p: { id: string }) => p.id).sort()).toEqual([
      'pharmacy',
      'ward-3',
    ]);
    const refused = await as('admin', 'pools', 'delete', 'ward-3');
    expect(refused.code).toBe(EXIT.failure);
    expect(refused.stderr).toMatch(/pool/);
    expect((await as('admin', 'pools', 'delete', 'ward-3', '--remove-members')).stdout).toBe(
      'pool ward-3 deleted\n',
    );
    expect((await as('admin', 'pools', 'show', 'ward-3')).code).toBe(EXIT.failure);
  }, 120_000);

  it('turns the allowlist on; an invite outside it fails, a listed user is invited', async () => {
    const on = await json(
      'admin',
      'allowlist',
      'replace',
      '--enabled',
      '--domain',
      'partner.example',
      '--user',
      'carol',
    );
    expect(on).toEqual({
      enabled: true,
      tenantDomains: false,
      domains: ['partner.example'],
      users: ['carol'],
      emails: [],
    });
    const refused = await as('admin', 'users', 'invite', 'dave');
    expect(refused.code).toBe(EXIT.failure);
    expect(refused.stderr).toMatch(/allowlist/);
    expect((await as('admin', 'users', 'invite', 'carol')).code).toBe(EXIT.ok);
    // An address on an allowed domain admits a user the list does not name.
    expect((await as('admin', 'users', 'invite', 'erin', '--email', 'Erin@partner.example')).code).toBe(
      EXIT.ok,
    );
    expect((await as('admin', 'users', 'invite', 'frank', '--email', 'frank@elsewhere.example')).code).toBe(
      EXIT.failure,
    );
    await json('admin', 'allowlist', 'add', '--email', 'Dave@Elsewhere.example');
    const off = await json('admin', 'allowlist', 'off');
    expect([off.enabled, off.emails]).toEqual([false, ['dave@elsewhere.example']]);
    expect((await as('admin', 'allowlist', 'show')).stdout).toMatch(/^allowlist off\n/);
    expect((await as('admin', 'users', 'invite', 'dave')).code).toBe(EXIT.ok);
  }, 120_000);
});
