/**
 * `cloister admin scim token …` and `cloister admin users detach` against a running server: a
 * token is created (printed once), listed without its secret and revoked; a bad source is refused
 * before anything is sent; detaching a user no directory manages is refused.
 */
import { describe, expect, it } from 'vitest';
import { EXIT } from '../src/index.js';
import { useAdminServer } from './helpers.js';

describe('cloister admin scim', () => {
  const { as, json } = useAdminServer();

  it('creates, lists and revokes a SCIM token', async () => {
    const made = await json(
      'admin',
      'scim',
      'token',
      'create',
      '--name',
      'Corp AD',
      '--source',
      'ldap:corp',
      '--ttl-days',
      '30',
    );
    expect(made.token).toMatch(/^scim_[A-Za-z0-9_-]{43}$/);
    expect(made).toMatchObject({ name: 'Corp AD', source: 'ldap:corp' });
    const listed = await as('admin', 'scim', 'token', 'list');
    expect(listed.stdout).toContain(made.id);
    expect(listed.stdout).toContain('ldap:corp');
    expect(listed.stdout).not.toContain(made.token);
    expect(await json('admin', 'scim', 'token', 'revoke', made.id)).toEqual({ revoked: made.id });
    expect((await json('admin', 'scim', 'token', 'list')).items).toEqual([]);
    const bad = await as('admin', 'scim', 'token', 'create', '--name', 'x', '--source', 'ldap:CORP');
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toMatch(/ldap:<name>/);
  }, 120_000);

  it('refuses to detach a user no directory manages', async () => {
    await json('admin', 'users', 'invite', 'walter');
    const res = await as('admin', 'users', 'detach', 'walter');
    expect(res.code).toBe(EXIT.failure);
    expect(res.stderr).toMatch(/directory/);
  }, 120_000);
});
