/**
 * Legal holds through the admin API (issue 19, `spec/archive-server.md` §5): owner and auditor set
 * and lift holds (admin is refused); a held user cannot be deleted (409 `conflict: legal-hold`,
 * nothing deleted) — the attack of an administrator destroying evidence under a hold; the
 * tenant's archive stays readable past its expiry while any hold lasts, and lifting the last hold
 * deletes what expired. Each change is audited.
 */
import { randomBytes } from 'node:crypto';
import { type TenantId, tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHumanAdministrator } from '../src/admin/enrolment.js';
import type { Role } from '../src/store/index.js';
import {
  type AdminTestServer,
  createTenantAsOperator,
  login,
  PASSWORD,
  secretOf,
  startAdminServer,
} from './helpers/admin-api.js';
import { setUpDevice } from './helpers/device-client.js';

const T0 = Date.UTC(2026, 10, 10, 12, 0, 0);
const DAY = 86_400_000;

describe('legal holds', () => {
  let t: AdminTestServer;
  let tenant: TenantId;
  const sessions = new Map<Role, string>();
  let relogin: () => Promise<void>;

  beforeAll(async () => {
    t = await startAdminServer(T0, {
      postgresSchema: `legal_hold_${randomBytes(4).toString('hex')}`,
    });
    const a = await createTenantAsOperator(t, 'lh');
    tenant = tenantId(a.id);
    const people: { role: Role; email: string; secret: Uint8Array }[] = [
      { role: 'owner', email: a.owner.email, secret: a.owner.secret },
    ];
    for (const role of ['admin', 'auditor'] as const) {
      const email = `${role}@lh.example`;
      const made = await createHumanAdministrator(
        t.server.context.stores,
        tenant,
        role,
        { email, name: role, password: PASSWORD },
        { actor: 'system' },
      );
      people.push({ role, email, secret: secretOf(made.totpUri) });
    }
    relogin = async () => {
      t.time += 30_000;
      for (const p of people) sessions.set(p.role, await login(t, a.id, p.email, p.secret));
    };
    await relogin();
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  const as = (role: Role, method: string, path: string, json?: unknown) =>
    t.as({ session: sessions.get(role) as string }, method, path, json === undefined ? {} : { json });
  const lastAudit = async () => {
    const s = t.server.context.stores;
    const head = await s.audit.head(tenant);
    return (await s.audit.list(tenant, { fromSeq: head?.seq ?? 1 }))[0];
  };

  it('freezes deletion of held users and the archive until the last hold is lifted', async () => {
    const ctx = t.server.context;
    await setUpDevice(ctx, tenant, 'held', 1);
    await setUpDevice(ctx, tenant, 'free', 1);
    const soon = await ctx.stores.archive.append(tenant, {
      sealed: randomBytes(64),
      expiresAt: t.time + 2 * DAY,
    });
    t.time += 1;
    const later = await ctx.stores.archive.append(tenant, {
      sealed: randomBytes(64),
      expiresAt: t.time + 30 * DAY,
    });

    // Admin may not set holds; a malformed or unknown user is refused, nothing stored.
    expect(
      (await as('admin', 'POST', '/admin/v1/legal-holds', { users: ['held'], reason: 'x' })).status,
    ).toBe(403);
    expect(
      (await as('owner', 'POST', '/admin/v1/legal-holds', { users: ['nobody'], reason: 'x' })).status,
    ).toBe(404);
    expect((await as('owner', 'POST', '/admin/v1/legal-holds', { users: [], reason: 'x' })).status).toBe(400);
    expect((await as('owner', 'POST', '/admin/v1/legal-holds', { users: ['held'], reason: '' })).status).toBe(
      400,
    );
    expect(await ctx.stores.legalHolds.list(tenant)).toEqual([]);

    const first = await as('owner', 'POST', '/admin/v1/legal-holds', {
      users: ['held'],
      reason: 'case 2026-114',
    });
    expect(first.status, first.body.toString()).toBe(201);
    expect(first.json).toMatchObject({ users: ['held'], reason: 'case 2026-114', createdAt: t.time });
    expect(first.json.id).toMatch(/^lh_[A-Za-z0-9_-]{22}$/);
    expect(await lastAudit()).toMatchObject({
      action: 'legal-hold.create',
      target: first.json.id,
      details: { users: ['held'], activeHolds: 1, archiveItemsFrozen: 2 },
    });
    t.time += 1000;
    const second = await as('auditor', 'POST', '/admin/v1/legal-holds', {
      users: ['held', 'free'],
      reason: 'audit',
    });
    expect(second.status).toBe(201);
    const listed = await as('auditor', 'GET', '/admin/v1/legal-holds');
    expect(listed.json.items.map((h: { id: string }) => h.id)).toEqual([first.json.id, second.json.id]);
    expect((await as('admin', 'GET', '/admin/v1/legal-holds')).status).toBe(403);

    // The attack: deleting a held user. Refused, nothing deleted.
    const refused = await as('owner', 'DELETE', '/admin/v1/users/held');
    expect(refused.status).toBe(409);
    expect(refused.json.error.message).toBe('conflict: legal-hold');
    expect(await ctx.stores.users.get(tenant, userId('held'))).toBeDefined();
    expect(await ctx.stores.devices.list(tenant, userId('held'))).toHaveLength(1);
    // The same through a bulk delete: the held user's item fails, nothing of them is deleted.
    const bulk = await as('owner', 'POST', '/admin/v1/bulk/delete', { users: ['held'] });
    expect(bulk.status, bulk.body.toString()).toBe(201);
    let job = bulk.json;
    for (let i = 0; i < 400 && job.state === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      job = (await as('owner', 'GET', `/admin/v1/jobs/${bulk.json.id}`)).json;
    }
    expect(job).toMatchObject({ state: 'done', ok: 0, failed: 1 });
    expect(await ctx.stores.users.get(tenant, userId('held'))).toBeDefined();

    // Time passes past the first item's expiry (and its key's period): still readable.
    t.time += 5 * DAY;
    await relogin();
    await ctx.adapter.purgeExpired();
    const during = await as('auditor', 'GET', '/admin/v1/archive/items');
    expect(during.json.items.map((i: { id: string }) => i.id)).toEqual([soon.id, later.id]);
    expect(during.json.items.every((i: { expiresAt: number | null }) => i.expiresAt === null)).toBe(true);

    // Lifting one hold leaves the other: still frozen; 'free' is still held by the second.
    expect((await as('owner', 'DELETE', `/admin/v1/legal-holds/${first.json.id}`)).status).toBe(204);
    expect(await lastAudit()).toMatchObject({ action: 'legal-hold.lift', details: { activeHolds: 1 } });
    expect((await as('owner', 'DELETE', `/admin/v1/legal-holds/${first.json.id}`)).status).toBe(404);
    expect((await as('owner', 'DELETE', '/admin/v1/users/free')).status).toBe(409);
    expect((await ctx.stores.archive.list(tenant)).items).toHaveLength(2);

    // The last lift: the expired item goes, the other gets its expiry back; deletion works again.
    expect((await as('auditor', 'DELETE', `/admin/v1/legal-holds/${second.json.id}`)).status).toBe(204);
    expect(await lastAudit()).toMatchObject({
      action: 'legal-hold.lift',
      details: { activeHolds: 0, archiveItemsRestored: 1, archiveItemsDeleted: 1 },
    });
    const after = await as('auditor', 'GET', '/admin/v1/archive/items');
    expect(after.json.items.map((i: { id: string; expiresAt: number }) => [i.id, i.expiresAt])).toEqual([
      [later.id, later.expiresAt],
    ]);
    expect(await ctx.stores.archive.get(tenant, soon.id)).toBeUndefined();
    expect((await as('owner', 'DELETE', '/admin/v1/users/held')).status).toBe(204);
    expect((await as('owner', 'DELETE', '/admin/v1/users/free')).status).toBe(204);
  });
});
