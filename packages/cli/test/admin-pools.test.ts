/**
 * `cloister admin pools …` and `cloister admin allowlist …` against a running server: a pool is
 * created, filled, shown, a user moved out of it, and it is refused deletion while it has members
 * until `--remove-members`; the allowlist is turned on and an invite outside it fails (exit code
 * 1, the refusal on stderr) while a listed user is invited.
 */
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/index.js';
import { useAdminServer } from './helpers.js';

describe('cloister admin pools and allowlist', () => {
  const { as, json } = useAdminServer();

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
