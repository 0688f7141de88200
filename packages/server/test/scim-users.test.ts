/**
 * The SCIM service provider's Users (PGlite; PostgreSQL with `DATABASE_URL`): Okta's validator
 * sequence (create, get, filter, patch, deactivate with the device refused at once, get), Entra
 * ID's quirks, the leaver rules (a directory takes away, never gives back) and the attacks: no,
 * wrong, revoked or expired token; another tenant; another source; a bad PATCH operation or
 * filter; a stale If-Match.
 */
import { randomBytes } from 'node:crypto';
import { tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureScimTokens, DEFAULT_SCIM_TOKEN_LIMIT } from '../src/scim/index.js';
import { type AdminTestServer, startAdminServer } from './helpers/admin-api.js';
import { setUpDevice } from './helpers/device-client.js';
import { EXT, PATCH, type ScimTenant, scim, scimTenant, scimToken, USER } from './helpers/scim.js';

const T0 = 1_760_000_000_000 - (1_760_000_000_000 % 30_000) + 5_000;

describe('SCIM Users', () => {
  let t: AdminTestServer;
  let acme: ScimTenant;
  let beta: ScimTenant;
  let token: string;
  let tokenId: string;

  async function audit(action: string) {
    const res = await t.as(acme.owner, 'GET', `/admin/v1/audit?action=${action}`);
    expect(res.status).toBe(200);
    return res.json.items as { actor: string; target: string; details: Record<string, unknown> }[];
  }

  async function createUser(name: string, extra: Record<string, unknown> = {}, as = token) {
    const res = await scim(t, as, 'POST', '/Users', {
      schemas: [USER],
      userName: `${name}@acme.example`,
      name: { givenName: name, familyName: 'Test' },
      emails: [{ value: `${name}@acme.example`, primary: true }],
      active: true,
      ...extra,
    });
    expect(res.status, res.body.toString()).toBe(201);
    return res.json;
  }

  beforeAll(async () => {
    t = await startAdminServer(T0, { postgresSchema: `scim_users_${randomBytes(4).toString('hex')}` });
    acme = await scimTenant(t, 'acme');
    beta = await scimTenant(t, 'beta');
    ({ token, id: tokenId } = await scimToken(t, acme, { name: 'Okta' }));
  }, 180_000);
  afterAll(async () => t?.close());

  it("passes Okta's validator sequence; a deactivation refuses the user's device at once", async () => {
    const created = await createUser('okta.one', { externalId: '00u1' });
    expect(created.schemas).toContain(USER);
    expect(created.userName).toBe('okta.one@acme.example');
    expect(created.displayName).toBe('okta.one Test');
    expect(created.active).toBe(true);
    expect(created.externalId).toBe('00u1');
    expect(created[EXT]).toEqual({
      source: 'scim',
      directoryState: 'active',
      blocked: false,
      reenableRequested: false,
    });
    expect(created.meta.version).toBe('W/"1"');
    const id = created.id as string;

    const got = await scim(t, token, 'GET', `/Users/${id}`);
    expect(got.status).toBe(200);
    expect(got.headers['content-type']).toContain('application/scim+json');
    expect(got.headers.etag).toBe('W/"1"');
    expect(got.json.userName).toBe('okta.one@acme.example');

    const byName = await scim(
      t,
      token,
      'GET',
      `/Users?filter=${encodeURIComponent('userName eq "OKTA.ONE@acme.example"')}`,
    );
    expect(byName.status).toBe(200);
    expect(byName.json.totalResults).toBe(1);
    expect(byName.json.Resources[0].id).toBe(id);

    const unknown = await scim(
      t,
      token,
      'GET',
      `/Users?filter=${encodeURIComponent('userName eq "nobody@acme.example"')}`,
    );
    expect(unknown.status).toBe(200);
    expect(unknown.json).toMatchObject({ totalResults: 0, Resources: [] });

    const patched = await scim(t, token, 'PATCH', `/Users/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', path: 'displayName', value: 'Okta One' }],
    });
    expect(patched.status, patched.body.toString()).toBe(200);
    expect(patched.json.displayName).toBe('Okta One');
    expect(patched.headers.etag).toBe('W/"2"');

    // A device of the user works, then is refused from the very next request.
    const device = await setUpDevice(t.server.context, tenantId('acme'), id, 1);
    const before = await t.request('GET', '/v1/messages', { credential: device.credential });
    expect(before.status).toBe(200);
    const off = await scim(t, token, 'PATCH', `/Users/${id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });
    expect(off.status, off.body.toString()).toBe(200);
    expect(off.json.active).toBe(false);
    expect(off.json[EXT]).toMatchObject({ directoryState: 'disabled', blocked: true });
    const after = await t.request('GET', '/v1/messages', { credential: device.credential });
    expect([401, 403]).toContain(after.status);
    const blocks = (await audit('user.block')).filter((r) => r.target === id);
    expect(blocks).toHaveLength(1);
    expect(blocks[0]?.actor).toBe('directory:scim');
    expect(blocks[0]?.details).toEqual({ reason: 'directory-disabled' });

    const again = await scim(t, token, 'GET', `/Users/${id}`);
    expect(again.json.active).toBe(false);
    const view = await t.as(acme.owner, 'GET', `/admin/v1/users/${id}`);
    expect(view.json.blocked).toBe(true);
    expect(view.json.directory).toMatchObject({ source: 'scim', externalId: '00u1', state: 'disabled' });
    // The token's last use is kept to the minute; the token never appears in a listing.
    const tokens = await t.as(acme.owner, 'GET', '/admin/v1/scim/tokens');
    const listed = tokens.json.items.find((x: { id: string }) => x.id === tokenId);
    expect(listed.lastUsedAt).toBe(T0 - (T0 % 60_000));
    expect(tokens.body.toString()).not.toContain(token);
  });

  it("accepts Entra ID's quirks: string booleans, path-less replace, externalId filter", async () => {
    const u = await createUser('entra.one', { externalId: 'e1-guid' });
    const found = await scim(
      t,
      token,
      'GET',
      `/Users?filter=${encodeURIComponent('externalId eq "e1-guid"')}`,
    );
    expect(found.json.totalResults).toBe(1);
    expect(found.json.Resources[0].id).toBe(u.id);
    const pathless = await scim(t, token, 'PATCH', `/Users/${u.id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'Replace', value: { displayName: 'Entra One', 'name.formatted': 'Entra One' } }],
    });
    expect(pathless.status, pathless.body.toString()).toBe(200);
    expect(pathless.json.displayName).toBe('Entra One');
    const off = await scim(t, token, 'PATCH', `/Users/${u.id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
    });
    expect(off.status, off.body.toString()).toBe(200);
    expect(off.json.active).toBe(false);
    expect(off.json[EXT].blocked).toBe(true);
  });

  it('never unblocks: active:true after a directory disable or a manual block is only recorded', async () => {
    const u = await createUser('leaver.one', { externalId: 'l1' });
    const off = { schemas: [PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] };
    const on = { schemas: [PATCH], Operations: [{ op: 'replace', value: { active: 'True' } }] };
    expect((await scim(t, token, 'PATCH', `/Users/${u.id}`, off)).status).toBe(200);
    const back = await scim(t, token, 'PATCH', `/Users/${u.id}`, on);
    expect(back.status).toBe(200);
    expect(back.json.active).toBe(true);
    expect(back.json[EXT]).toMatchObject({
      blocked: true,
      reenableRequested: true,
      directoryState: 'active',
    });
    expect((await audit('directory.reenable-requested')).map((r) => r.target)).toContain(u.id);
    expect((await t.as(acme.owner, 'GET', `/admin/v1/users/${u.id}`)).json.blocked).toBe(true);

    const m = await createUser('manual.one');
    expect((await t.as(acme.owner, 'POST', `/admin/v1/users/${m.id}/block`)).status).toBe(200);
    const still = await scim(t, token, 'PATCH', `/Users/${m.id}`, on);
    expect(still.status).toBe(200);
    expect(still.json[EXT].blocked).toBe(true);
    expect((await t.as(acme.owner, 'GET', `/admin/v1/users/${m.id}`)).json.blocked).toBe(true);
  });

  it('DELETE is the left rule: blocked, not erased; unblocking a left user is 409 until detached', async () => {
    const u = await createUser('gone.one', { externalId: 'g1' });
    const del = await scim(t, token, 'DELETE', `/Users/${u.id}`);
    expect(del.status).toBe(204);
    const got = await scim(t, token, 'GET', `/Users/${u.id}`);
    expect(got.json[EXT]).toMatchObject({ directoryState: 'left', blocked: true });
    const blocks = (await audit('user.block')).filter((r) => r.target === u.id);
    expect(blocks[0]?.details).toEqual({ reason: 'directory-left' });
    const unblock = await t.as(acme.owner, 'POST', `/admin/v1/users/${u.id}/unblock`);
    expect(unblock.status).toBe(409);
    const bulk = await t.as(acme.owner, 'POST', '/admin/v1/bulk/unblock', {
      json: { users: [u.id], dryRun: true, idempotencyKey: 'left' },
    });
    expect(bulk.status, bulk.body.toString()).toBe(201);
    expect(bulk.json.items[0]).toMatchObject({ outcome: 'failed', reason: 'left-directory' });
    expect((await t.as(acme.owner, 'GET', `/admin/v1/users/${u.id}`)).json.blocked).toBe(true);
    const detach = await t.as(acme.owner, 'POST', `/admin/v1/users/${u.id}/detach`);
    expect(detach.status, detach.body.toString()).toBe(200);
    expect(detach.json.directory).toBeUndefined();
    expect((await audit('user.detach')).map((r) => r.target)).toContain(u.id);
    expect((await t.as(acme.owner, 'POST', `/admin/v1/users/${u.id}/unblock`)).status).toBe(200);
  });

  it('refuses no, wrong, revoked and expired tokens with 401 and changes nothing', async () => {
    const u = await createUser('auth.one');
    const patch = { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'X' }] };
    const wrong = `scim_${randomBytes(32).toString('base64url')}`;
    const revoked = await scimToken(t, acme, { name: 'to revoke' });
    expect((await t.as(acme.owner, 'DELETE', `/admin/v1/scim/tokens/${revoked.id}`)).status).toBe(204);
    const expiring = await scimToken(t, acme, { name: 'short', ttlDays: 1 });
    t.time += 2 * 86_400_000;
    try {
      for (const bad of [undefined, wrong, 'not-a-token', revoked.token, expiring.token]) {
        const res = await scim(t, bad, 'PATCH', `/Users/${u.id}`, patch);
        expect(res.status).toBe(401);
        expect(res.json.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
        expect((await scim(t, bad, 'GET', '/Users')).status).toBe(401);
      }
    } finally {
      t.time -= 2 * 86_400_000;
    }
    expect((await scim(t, token, 'GET', `/Users/${u.id}`)).json.displayName).toBe('auth.one Test');
    const refused = (await audit('scim.token.refused')).map((r) => [r.target, r.details.reason]);
    expect(refused).toContainEqual([revoked.id, 'revoked']);
    expect(refused).toContainEqual([expiring.id, 'expired']);
    expect((await t.as(acme.owner, 'DELETE', `/admin/v1/scim/tokens/${expiring.id}`)).status).toBe(204);
  });

  it("keeps tenants apart and a source's writes to its own users", async () => {
    const u = await createUser('tenant.one', { externalId: 't1' });
    const other = await scimToken(t, beta, { name: 'beta idp' });
    expect((await scim(t, other.token, 'GET', `/Users/${u.id}`)).status).toBe(404);
    const f = await scim(
      t,
      other.token,
      'GET',
      `/Users?filter=${encodeURIComponent('userName eq "tenant.one@acme.example"')}`,
    );
    expect(f.json.totalResults).toBe(0);
    expect((await scim(t, other.token, 'GET', '/Users')).json.totalResults).toBe(0);
    expect((await scim(t, other.token, 'DELETE', `/Users/${u.id}`)).status).toBe(404);

    const ldap = await scimToken(t, acme, { name: 'bridge', source: 'ldap:corp' });
    const read = await scim(t, ldap.token, 'GET', `/Users/${u.id}`);
    expect(read.status).toBe(200);
    const write = await scim(t, ldap.token, 'PATCH', `/Users/${u.id}`, {
      schemas: [PATCH],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });
    expect(write.status).toBe(409);
    expect(write.json.scimType).toBe('mutability');
    expect((await scim(t, ldap.token, 'DELETE', `/Users/${u.id}`)).status).toBe(409);
    expect((await scim(t, token, 'GET', `/Users/${u.id}`)).json.active).toBe(true);
    // externalId filters stay within the token's source.
    const viaLdap = await scim(
      t,
      ldap.token,
      'GET',
      `/Users?filter=${encodeURIComponent('externalId eq "t1"')}`,
    );
    expect(viaLdap.json.totalResults).toBe(0);
    const prLdap = await scim(t, ldap.token, 'GET', `/Users?filter=${encodeURIComponent('externalId pr')}`);
    expect(prLdap.json.totalResults).toBe(0);
    const prScim = await scim(t, token, 'GET', `/Users?filter=${encodeURIComponent('externalId pr')}`);
    expect(prScim.json.Resources.map((r: { id: string }) => r.id)).toContain(u.id);
    for (const id of [other.id]) await t.as(beta.owner, 'DELETE', `/admin/v1/scim/tokens/${id}`);
    await t.as(acme.owner, 'DELETE', `/admin/v1/scim/tokens/${ldap.id}`);
  });

  it('a PATCH with one bad operation changes nothing; a stale If-Match is 412; a bad filter 400', async () => {
    const u = await createUser('atomic.one');
    const bad = await scim(t, token, 'PATCH', `/Users/${u.id}`, {
      schemas: [PATCH],
      Operations: [
        { op: 'replace', path: 'displayName', value: 'Changed' },
        { op: 'replace', path: 'active', value: 'perhaps' },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.json.detail).not.toContain('perhaps');
    const ro = await scim(t, token, 'PATCH', `/Users/${u.id}`, {
      schemas: [PATCH],
      Operations: [
        { op: 'replace', path: 'displayName', value: 'Changed' },
        { op: 'replace', path: 'id', value: 'other' },
      ],
    });
    expect(ro.status).toBe(400);
    expect(ro.json.scimType).toBe('mutability');
    const now = await scim(t, token, 'GET', `/Users/${u.id}`);
    expect(now.json.displayName).toBe('atomic.one Test');
    expect(now.headers.etag).toBe('W/"1"');

    const stale = await scim(
      t,
      token,
      'PATCH',
      `/Users/${u.id}`,
      { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'Changed' }] },
      { 'if-match': 'W/"7"' },
    );
    expect(stale.status).toBe(412);
    const fresh = await scim(
      t,
      token,
      'PATCH',
      `/Users/${u.id}`,
      { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'Changed' }] },
      { 'if-match': 'W/"1"' },
    );
    expect(fresh.status).toBe(200);

    for (const f of ['userName eq', 'title eq "x"', 'userName gt "a"', 'active eq "yes"', '((']) {
      const res = await scim(t, token, 'GET', `/Users?filter=${encodeURIComponent(f)}`);
      expect(res.status, f).toBe(400);
      expect(res.json.scimType).toBe('invalidFilter');
      expect(res.json.detail).not.toContain('title');
    }
    const complex = await scim(
      t,
      token,
      'GET',
      `/Users?filter=${encodeURIComponent('(userName sw "atomic" or displayName co "zzz") and not (active eq false) and meta.lastModified gt "2000-01-01T00:00:00Z"')}`,
    );
    expect(complex.status).toBe(200);
    expect(complex.json.Resources.map((r: { id: string }) => r.id)).toEqual([u.id]);
  });

  it('409 on a taken userName or externalId; a 6th live token is 409', async () => {
    await createUser('unique.one', { externalId: 'u1' });
    const dupName = await scim(t, token, 'POST', '/Users', {
      schemas: [USER],
      userName: 'Unique.One@acme.example',
    });
    expect(dupName.status).toBe(409);
    expect(dupName.json.scimType).toBe('uniqueness');
    const dupExt = await scim(t, token, 'POST', '/Users', {
      schemas: [USER],
      userName: 'unique.two@acme.example',
      externalId: 'u1',
    });
    expect(dupExt.status).toBe(409);
    const live = (await t.as(acme.owner, 'GET', '/admin/v1/scim/tokens')).json.items.length as number;
    const made: string[] = [];
    for (let i = live; i < 5; i++) made.push((await scimToken(t, acme, { name: `extra ${i}` })).id);
    const sixth = await t.as(acme.owner, 'POST', '/admin/v1/scim/tokens', { json: { name: 'sixth' } });
    expect(sixth.status).toBe(409);
    for (const id of made)
      expect((await t.as(acme.owner, 'DELETE', `/admin/v1/scim/tokens/${id}`)).status).toBe(204);
    expect(userId('a')).toBe('a');
  });

  it('limits each token on its own: 429 with retry-after, another token goes on', async () => {
    const ctx = t.server.context;
    const other = await scimToken(t, acme, { name: 'second' });
    configureScimTokens(ctx, { requestsPerWindow: 3, windowMs: 60_000 });
    try {
      for (let i = 0; i < 3; i++)
        expect((await scim(t, token, 'GET', '/ServiceProviderConfig')).status).toBe(200);
      const over = await scim(t, token, 'GET', '/ServiceProviderConfig');
      expect(over.status).toBe(429);
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
      expect((await scim(t, other.token, 'GET', '/ServiceProviderConfig')).status).toBe(200);
    } finally {
      configureScimTokens(ctx, DEFAULT_SCIM_TOKEN_LIMIT);
      await t.as(acme.owner, 'DELETE', `/admin/v1/scim/tokens/${other.id}`);
    }
    // The default allows Entra's floor of 25 requests/s with room: 50/s, bursts of 100.
    expect(DEFAULT_SCIM_TOKEN_LIMIT.requestsPerWindow / (DEFAULT_SCIM_TOKEN_LIMIT.windowMs / 1000)).toBe(50);
  });

  it('serves the discovery documents', async () => {
    const spc = await scim(t, token, 'GET', '/ServiceProviderConfig');
    expect(spc.json).toMatchObject({
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: 200 },
      etag: { supported: true },
      sort: { supported: false },
      changePassword: { supported: false },
    });
    expect((await scim(t, token, 'GET', '/ResourceTypes')).json.totalResults).toBe(2);
    expect(
      (await scim(t, token, 'GET', '/Schemas')).json.Resources.map((s: { id: string }) => s.id),
    ).toContain(EXT);
    expect((await scim(t, undefined, 'GET', '/ServiceProviderConfig')).status).toBe(401);
  });
});
