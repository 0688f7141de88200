/**
 * Integration API keys through HTTP on a running server (PGlite; PostgreSQL with
 * `DATABASE_URL`): a key is shown once, works within its route families, records its last use,
 * is refused from the very next request once revoked or expired (each refusal audited); a key
 * bound to pool A can neither see nor block a user of pool B (answered exactly like an unknown
 * user) and its listings hold pool A's users only; the per-key rate limit answers 429 with
 * `retry-after` to one key while another key goes on; an integration holds at most 10 live keys.
 */
import { randomBytes } from 'node:crypto';
import { poolId, type TenantId, tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AdminTestServer,
  type CreatedTenant,
  createTenantAsOperator,
  login,
  startAdminServer,
} from './helpers/admin-api.js';

const T0 = 1_760_000_000_000 - (1_760_000_000_000 % 30_000) + 5_000;

describe('integration API keys', () => {
  let t: AdminTestServer;
  let acme: CreatedTenant;
  let tenant: TenantId;
  let owner: { session: string };
  let integration: string;

  async function newKey(json: Record<string, unknown>) {
    const res = await t.as(owner, 'POST', `/admin/v1/integrations/${integration}/keys`, { json });
    expect(res.status, res.body.toString()).toBe(201);
    return { id: res.json.key.id as string, caller: { key: res.json.apiKey as string }, answer: res.json };
  }

  async function refusals(keyId: string): Promise<string[]> {
    const res = await t.as(owner, 'GET', '/admin/v1/audit?action=integration.key.refused');
    return (res.json.items as { target: string; details: { reason: string } }[])
      .filter((r) => r.target === keyId)
      .map((r) => r.details.reason);
  }

  beforeAll(async () => {
    t = await startAdminServer(T0, {
      postgresSchema: `int_keys_${randomBytes(4).toString('hex')}`,
      integrationKeyRequestsPerMinute: 1000,
    });
    acme = await createTenantAsOperator(t, 'acme');
    tenant = tenantId('acme');
    owner = { session: await login(t, 'acme', acme.owner.email, acme.owner.secret) };
    const made = await t.as(owner, 'POST', '/admin/v1/administrators', {
      json: {
        email: 'hr@acme.example',
        name: 'HR sync',
        role: 'integration',
        scopes: ['users.read', 'users.block', 'users.invite', 'devices.read', 'devices.block', 'audit.read'],
      },
    });
    expect(made.status).toBe(201);
    integration = made.json.admin.id;
    const s = t.server.context.stores;
    for (const p of ['ward-a', 'ward-b']) await s.pools.put(tenant, poolId(p), { name: p });
    await s.users.create(tenant, userId('alice'), { displayName: 'Alice', pools: [poolId('ward-a')] });
    await s.users.create(tenant, userId('bob'), { displayName: 'Bob', pools: [poolId('ward-b')] });
  }, 180_000);
  afterAll(async () => t?.close());

  it('is shown once, works within its scopes, records its last use, and is never listed with its secret', async () => {
    const { id, caller, answer } = await newKey({ name: 'reader', scopes: ['users:read'] });
    expect(answer.apiKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(answer.key.lastUsedAt).toBeNull();
    expect((await t.as(caller, 'GET', '/admin/v1/users')).status).toBe(200);
    // users:read grants no block, whatever the integration's own scopes: 403, audited.
    const block = await t.as(caller, 'POST', '/admin/v1/users/alice/block');
    expect(block.status).toBe(403);
    expect(await refusals(id)).toEqual(['scope']);
    const list = await t.as(owner, 'GET', `/admin/v1/integrations/keys?integration=${integration}`);
    const listed = list.json.items.find((k: { id: string }) => k.id === id);
    expect(listed.lastUsedAt).toBe(T0);
    expect(list.body.toString()).not.toContain(caller.key);
    expect(JSON.stringify(listed)).not.toMatch(/hash/i);
  });

  it('is refused from the very next request once revoked, and the refusal is audited', async () => {
    const { id, caller } = await newKey({ name: 'to revoke', scopes: ['users'] });
    expect((await t.as(caller, 'GET', '/admin/v1/users/alice')).status).toBe(200);
    expect((await t.as(owner, 'DELETE', `/admin/v1/integrations/keys/${id}`)).status).toBe(204);
    const after = await t.as(caller, 'GET', '/admin/v1/users/alice');
    expect(after.status).toBe(401);
    expect(after.json.error.code).toBe('ERR_UNAUTHENTICATED');
    expect(await refusals(id)).toEqual(['revoked']);
    // Revoking twice is 404; the audit log holds the creation and the revocation.
    expect((await t.as(owner, 'DELETE', `/admin/v1/integrations/keys/${id}`)).status).toBe(404);
    const audit = await t.as(owner, 'GET', `/admin/v1/audit?target=${id}`);
    expect(audit.json.items.map((r: { action: string }) => r.action)).toEqual([
      'integration.key.create',
      'integration.key.revoke',
      'integration.key.refused',
    ]);
  });

  it('is refused after its expiry', async () => {
    const { id, caller } = await newKey({ name: 'short', scopes: ['users:read'], ttlMs: 60_000 });
    expect((await t.as(caller, 'GET', '/admin/v1/users')).status).toBe(200);
    t.time += 60_000;
    try {
      expect((await t.as(caller, 'GET', '/admin/v1/users')).status).toBe(401);
      expect(await refusals(id)).toEqual(['expired']);
    } finally {
      t.time -= 60_000;
    }
  });

  it('bound to pool A, cannot see or block a user of pool B (the attack), and lists pool A only', async () => {
    const { id, caller } = await newKey({
      name: 'ward a',
      scopes: ['users', 'devices', 'audit'],
      pools: ['ward-a'],
    });
    const unknown = await t.as(caller, 'GET', '/admin/v1/users/nobody');
    const other = await t.as(caller, 'GET', '/admin/v1/users/bob');
    expect(other.status).toBe(404);
    expect(other.body.toString()).toBe(unknown.body.toString());
    const block = await t.as(caller, 'POST', '/admin/v1/users/bob/block');
    expect(block.status).toBe(404);
    expect(block.body.toString()).toBe(unknown.body.toString());
    expect((await t.server.context.stores.users.get(tenant, userId('bob')))?.blocked).toBe(false);
    expect((await t.as(caller, 'GET', '/admin/v1/users/bob/devices')).status).toBe(404);
    // Inviting into pool B, or anything tenant-wide that names users, is refused.
    const invite = await t.as(caller, 'POST', '/admin/v1/users/invite', {
      json: { user: 'carol', pools: ['ward-b'] },
    });
    expect(invite.status).toBe(403);
    expect((await t.server.context.stores.users.get(tenant, userId('carol'))) === undefined).toBe(true);
    expect((await t.as(caller, 'GET', '/admin/v1/audit')).status).toBe(403);
    // Its own pool works.
    expect((await t.as(caller, 'GET', '/admin/v1/users/alice')).status).toBe(200);
    const listed = await t.as(caller, 'GET', '/admin/v1/users');
    expect(listed.json.items.map((u: { id: string }) => u.id)).toEqual(['alice']);
    const blocked = await t.as(caller, 'POST', '/admin/v1/users/alice/block');
    expect(blocked.status).toBe(200);
    expect(blocked.json.blocked).toBe(true);
    expect((await t.as(caller, 'POST', '/admin/v1/users/alice/unblock')).status).toBe(200);
    expect((await refusals(id)).every((r) => r === 'pool')).toBe(true);
    expect((await refusals(id)).length).toBe(6); // the unknown user went the same way
  });

  it('needs a person with a fresh factor to be made, refuses unknown scopes and pools, holds at most 10 per integration', async () => {
    const { caller } = await newKey({ name: 'k', scopes: ['users'] });
    const byKey = await t.as(caller, 'POST', `/admin/v1/integrations/${integration}/keys`, {
      json: { name: 'x', scopes: ['users'] },
    });
    expect(byKey.status).toBe(403);
    const badScope = await t.as(owner, 'POST', `/admin/v1/integrations/${integration}/keys`, {
      json: { name: 'x', scopes: ['integrations'] },
    });
    expect(badScope.status).toBe(400);
    const badPool = await t.as(owner, 'POST', `/admin/v1/integrations/${integration}/keys`, {
      json: { name: 'x', scopes: ['users'], pools: ['nowhere'] },
    });
    expect(badPool.status).toBe(404);
    const person = await t.as(owner, 'POST', `/admin/v1/integrations/${acme.owner.admin}/keys`, {
      json: { name: 'x', scopes: ['users'] },
    });
    expect(person.status).toBe(404);
    const live = (await t.server.context.stores.integrations.listKeys(tenant, integration)).filter(
      (k) => k.revokedAt === null,
    ).length;
    for (let i = live; i < 10; i++) await newKey({ name: `k${i}`, scopes: ['users:read'] });
    const eleventh = await t.as(owner, 'POST', `/admin/v1/integrations/${integration}/keys`, {
      json: { name: 'one too many', scopes: ['users:read'] },
    });
    expect(eleventh.status).toBe(409);
  });
});

describe('integration API keys: rate limit per key', () => {
  it('answers 429 with retry-after to one key while another key goes on', async () => {
    const t = await startAdminServer(T0, { integrationKeyRequestsPerMinute: 5 });
    try {
      const acme = await createTenantAsOperator(t, 'acme');
      const owner = { session: await login(t, 'acme', acme.owner.email, acme.owner.secret) };
      const made = await t.as(owner, 'POST', '/admin/v1/administrators', {
        json: { email: 'hr@acme.example', name: 'HR', role: 'integration', scopes: ['users.read'] },
      });
      const keys = [];
      for (const name of ['one', 'two']) {
        const res = await t.as(owner, 'POST', `/admin/v1/integrations/${made.json.admin.id}/keys`, {
          json: { name, scopes: ['users:read'] },
        });
        keys.push({ key: res.json.apiKey as string });
      }
      const [one, two] = keys as [{ key: string }, { key: string }];
      for (let i = 0; i < 5; i++) expect((await t.as(one, 'GET', '/admin/v1/users')).status).toBe(200);
      const limited = await t.as(one, 'GET', '/admin/v1/users');
      expect(limited.status).toBe(429);
      expect(limited.json.error.code).toBe('ERR_RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect((await t.as(two, 'GET', '/admin/v1/users')).status).toBe(200);
      // A new window lets the first key in again.
      t.time += 60_000;
      expect((await t.as(one, 'GET', '/admin/v1/users')).status).toBe(200);
    } finally {
      await t.close();
    }
  }, 180_000);
});
