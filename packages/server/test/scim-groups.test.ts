/**
 * The SCIM service provider's Groups (pools; PGlite, PostgreSQL with `DATABASE_URL`): create a
 * pool, add and remove members (Entra's `add` of a present member, `members[value eq "…"]`
 * removes), all-or-nothing PATCH, If-Match, members excluded by default and paged on a
 * 450-member group, and a token that may not move another source's users.
 */
import { randomBytes } from 'node:crypto';
import { poolId, tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminTestServer, startAdminServer } from './helpers/admin-api.js';
import { GROUP, PATCH, type ScimTenant, scim, scimTenant, scimToken } from './helpers/scim.js';

const T0 = 1_760_000_000_000 - (1_760_000_000_000 % 30_000) + 5_000;

describe('SCIM Groups', () => {
  let t: AdminTestServer;
  let acme: ScimTenant;
  let token: string;
  const ids: string[] = [];

  beforeAll(async () => {
    t = await startAdminServer(T0, { postgresSchema: `scim_groups_${randomBytes(4).toString('hex')}` });
    acme = await scimTenant(t, 'acme');
    ({ token } = await scimToken(t, acme, { name: 'Entra' }));
    // 450 directory users, written straight to the store (the SCIM create path is covered elsewhere).
    for (let i = 0; i < 450; i++) ids.push(`usr_${String(i).padStart(4, '0')}`);
    // One transaction (it may run again after a deadlock: it only writes).
    await t.server.context.stores.transaction(async (s) => {
      for (const [i, id] of ids.entries()) {
        await s.users.create(tenantId('acme'), userId(id), {
          displayName: `User ${i}`,
          email: `user${i}@acme.example`,
          directory: {
            source: 'scim',
            externalId: `ext-${i}`,
            state: 'active',
            since: T0,
            reenableRequested: false,
          },
        });
      }
    });
  }, 180_000);
  afterAll(async () => t?.close());

  it('creates a pool with members and adds and removes members as Entra sends them', async () => {
    const created = await scim(t, token, 'POST', '/Groups', {
      schemas: [GROUP],
      displayName: 'Ward 3',
      externalId: 'grp-guid-1',
      members: [{ value: ids[0] }, { value: ids[1] }],
    });
    expect(created.status, created.body.toString()).toBe(201);
    expect(created.json.members).toBeUndefined();
    const id = created.json.id as string;
    expect((await t.server.context.stores.pools.get(tenantId('acme'), poolId(id)))?.name).toBe('Ward 3');

    const add = await scim(t, token, 'PATCH', `/Groups/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'Add', path: 'members', value: [{ value: ids[1] }, { value: ids[2] }] }],
    });
    expect(add.status, add.body.toString()).toBe(200);
    const remove = await scim(t, token, 'PATCH', `/Groups/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'Remove', path: `members[value eq "${ids[0]}"]` }],
    });
    expect(remove.status).toBe(200);
    const members = await scim(t, token, 'GET', `/Groups/${id}?attributes=members`);
    expect(members.json.members.map((m: { value: string }) => m.value).sort()).toEqual([ids[1], ids[2]]);
    const user = await scim(t, token, 'GET', `/Users/${ids[1]}`);
    expect(user.json.groups).toEqual([expect.objectContaining({ value: id, display: 'Ward 3' })]);
    const renamed = await scim(t, token, 'PATCH', `/Users/${ids[1]}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', path: 'displayName', value: 'Member One' }],
    });
    expect(renamed.status).toBe(200);
    expect(renamed.json.groups.map((g: { value: string }) => g.value)).toEqual([id]);

    const byExt = await scim(
      t,
      token,
      'GET',
      `/Groups?filter=${encodeURIComponent('externalId eq "grp-guid-1"')}`,
    );
    expect(byExt.json.Resources.map((g: { id: string }) => g.id)).toEqual([id]);
    const rename = await scim(t, token, 'PATCH', `/Groups/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'Replace', value: { displayName: 'Ward 3 East' } }],
    });
    expect(rename.json.displayName).toBe('Ward 3 East');
  });

  it('PATCH is all or nothing and honours If-Match', async () => {
    const created = await scim(t, token, 'POST', '/Groups', { schemas: [GROUP], displayName: 'Atomic' });
    const id = created.json.id as string;
    const etag = created.headers.etag as string;
    const bad = await scim(t, token, 'PATCH', `/Groups/${id}`, {
      schemas: [PATCH],
      Operations: [
        { op: 'add', path: 'members', value: [{ value: ids[10] }] },
        { op: 'add', path: 'members', value: [{ value: 'nobody-here' }] },
      ],
    });
    expect(bad.status).toBe(400);
    const after = await scim(t, token, 'GET', `/Groups/${id}?attributes=members`);
    expect(after.json.members).toEqual([]);
    expect(after.headers.etag).toBe(etag);
    const stale = await scim(
      t,
      token,
      'PATCH',
      `/Groups/${id}`,
      { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: ids[10] }] }] },
      { 'if-match': 'W/"999"' },
    );
    expect(stale.status).toBe(412);
    const ok = await scim(
      t,
      token,
      'PATCH',
      `/Groups/${id}`,
      { schemas: [PATCH], Operations: [{ op: 'add', path: 'members', value: [{ value: ids[10] }] }] },
      { 'if-match': etag },
    );
    expect(ok.status).toBe(200);
    expect(ok.headers.etag).not.toBe(etag);
  });

  it('pages the members of a 450-member group', async () => {
    const created = await scim(t, token, 'POST', '/Groups', {
      schemas: [GROUP],
      displayName: 'Everyone',
      members: ids.map((value) => ({ value })),
    });
    expect(created.status, created.body.toString()).toBe(201);
    const id = created.json.id as string;
    const plain = await scim(t, token, 'GET', `/Groups/${id}?excludedAttributes=members`);
    expect(plain.json.members).toBeUndefined();
    const seen: string[] = [];
    for (let start = 1; start <= 450; start += 200) {
      const page = await scim(
        t,
        token,
        'GET',
        `/Groups/${id}?attributes=members&startIndex=${start}&count=200`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.json.members.map((m: { value: string }) => m.value));
    }
    expect(seen).toHaveLength(450);
    expect([...seen].sort()).toEqual(ids);
    const capped = await scim(t, token, 'GET', `/Groups/${id}?attributes=members&count=1000`);
    expect(capped.json.members).toHaveLength(200);
  }, 60_000);

  it("does not move another source's users", async () => {
    const ldap = await scimToken(t, acme, { name: 'bridge', source: 'ldap:corp' });
    const created = await scim(t, ldap.token, 'POST', '/Groups', {
      schemas: [GROUP],
      displayName: 'LDAP group',
      members: [{ value: ids[5] }],
    });
    expect(created.status).toBe(409);
    expect(created.json.scimType).toBe('mutability');
    const list = await scim(
      t,
      ldap.token,
      'GET',
      `/Groups?filter=${encodeURIComponent('displayName eq "LDAP group"')}`,
    );
    expect(list.json.totalResults).toBe(0);
  });
});
