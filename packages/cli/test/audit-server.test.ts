/**
 * `cloister audit …` against a running server. As the owner (who may set and lift legal holds
 * but not read the archive): a hold is created, listed and lifted. As two auditors, each logged
 * in on their own administrator directory: key pairs made, the ceremony run (2 of 2), one share
 * released to the other, the archive searched and exported with the combined key (an empty
 * archive: nothing filed yet), and one auditor alone refused.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/index.js';
import { cli, tempDir, useAdminServer } from './helpers.js';
import { totpCode } from './totp.js';

describe('cloister audit on a server', () => {
  const { json, as, secret, connect } = useAdminServer();

  it('creates, lists and lifts a legal hold', async () => {
    await json('admin', 'users', 'invite', 'walter');
    const made = await json('audit', 'hold', 'create', '--user', 'walter', '--reason', 'case 2026-114');
    expect(made).toMatchObject({ users: ['walter'], reason: 'case 2026-114' });
    const listed = await as('audit', 'hold', 'list');
    expect(listed.stdout).toContain(made.id);
    expect(listed.stdout).toContain('case 2026-114');
    expect(await json('audit', 'hold', 'lift', made.id)).toEqual({ lifted: made.id });
    expect((await json('audit', 'hold', 'list')).items).toEqual([]);
  }, 120_000);

  it('runs the ceremony, releases a share, searches and exports as two auditors', async () => {
    const work = tempDir('cloister-cli-auditors-');
    const passphrase = secret('auditor-passphrase', 'auditor passphrase 1234');
    const people: Record<string, { dir: string; as: (...argv: string[]) => ReturnType<typeof cli> }> = {};
    for (const name of ['ada', 'bea']) {
      const password = secret(`${name}-password`, `${name} password 1234`);
      const invited = await json(
        'admin',
        'admins',
        'invite',
        '--email',
        `${name}@acme.example`,
        '--name',
        name,
        '--role',
        'auditor',
        '--password-file',
        password,
      );
      const dir = join(work, name);
      const adminPass = secret(`${name}-admin-pass`, `${name} admin passphrase 1234`);
      const run = (...argv: string[]) => cli([...argv, '--admin-dir', dir, '--passphrase-file', adminPass]);
      const login = await run(
        'admin',
        'login',
        ...connect(),
        '--tenant',
        'acme',
        '--email',
        `${name}@acme.example`,
        '--password-file',
        password,
        '--totp',
        totpCode(invited.totpUri),
      );
      expect(login.code, login.stderr).toBe(EXIT.ok);
      const key = await cli([
        'audit',
        'keygen',
        '--holder',
        name,
        '--out',
        join(work, name),
        '--auditor-passphrase-file',
        passphrase,
      ]);
      expect(key.code, key.stderr).toBe(EXIT.ok);
      people[name] = { dir, as: run };
    }
    const ada = people.ada!;
    const bea = people.bea!;
    const policy = join(work, 'policy.json');
    const created = await ada.as(
      'audit',
      'key-set',
      'create',
      '--threshold',
      '2',
      '--auditor',
      `ada=${join(work, 'ada.pub.json')}`,
      '--auditor',
      `bea=${join(work, 'bea.pub.json')}`,
      '--label',
      'cli',
      '--policy-out',
      policy,
      '--json',
    );
    expect(created.code, created.stderr).toBe(EXIT.ok);
    const made = JSON.parse(created.stdout);
    expect(made.fingerprint).toMatch(/^cloister-archive:v1:/);
    expect(JSON.parse(readFileSync(policy, 'utf8')).archive).toMatchObject({
      enabled: true,
      config: { keySetId: made.keySetId, auditors: { threshold: 2, holders: ['ada', 'bea'] } },
    });
    const listed = await bea.as('audit', 'key-set', 'list');
    expect(listed.stdout).toContain(made.fingerprint);

    const released = join(work, 'bea-to-ada.json');
    const release = await bea.as(
      'audit',
      'share',
      'release',
      '--key',
      join(work, 'bea.key.json'),
      '--auditor-passphrase-file',
      passphrase,
      '--to',
      join(work, 'ada.pub.json'),
      '--out',
      released,
    );
    expect(release.code, release.stderr).toBe(EXIT.ok);
    expect(statSync(released).mode & 0o777).toBe(0o600);

    const common = [
      '--key',
      join(work, 'ada.key.json'),
      '--auditor-passphrase-file',
      passphrase,
      '--from',
      '0',
      '--to',
      String(Date.now() + 60_000),
      '--purpose',
      'cli test',
    ];
    const search = await ada.as('audit', 'search', ...common, '--share', released, '--text', 'anything');
    expect(search.code, search.stderr).toBe(EXIT.ok);
    expect(search.stdout).toBe('');
    const out = join(work, 'out.xml');
    const exported = await ada.as(
      'audit',
      'export',
      '--format',
      'actiance',
      '--out',
      out,
      ...common,
      '--share',
      released,
      '--json',
    );
    expect(exported.code, exported.stderr).toBe(EXIT.ok);
    expect(JSON.parse(exported.stdout).counts.valid).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^<\?xml[\s\S]*<FileDump>[\s\S]*<\/FileDump>\n$/);
    // One auditor alone is below the threshold.
    const alone = await ada.as('audit', 'search', ...common);
    expect(alone.code).toBe(EXIT.failure);
    expect(alone.stderr).toMatch(/the shares do not open the archive key/);
    expect(existsSync(join(work, 'ada.key.json'))).toBe(true);
  }, 180_000);
});
