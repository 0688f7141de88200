/**
 * Data-subject requests through the admin API on a real server: the export names the person's
 * devices, keys, mailbox counts, invites and audit records and is itself audited; it needs a fresh
 * second factor and refuses integration keys; the erasure destroys the person's key, and its audit
 * record (naming only the id) survives.
 */
import { type TenantId, tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasSubjectKey } from '../src/store/subjects.js';
import {
  type AdminTestServer,
  createTenantAsOperator,
  login,
  startAdminServer,
} from './helpers/admin-api.js';
import { setUpDevice } from './helpers/device-client.js';

const T0 = Date.UTC(2026, 10, 10, 12, 0, 0);

describe('data-subject requests', () => {
  let t: AdminTestServer;
  let tenant: TenantId;
  let session: string;
  let relogin: () => Promise<void>;

  beforeAll(async () => {
    t = await startAdminServer(T0);
    const a = await createTenantAsOperator(t, 'ds');
    tenant = tenantId(a.id);
    relogin = async () => {
      t.time += 30_000;
      session = await login(t, a.id, a.owner.email, a.owner.secret);
    };
    await relogin();
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  it('exports everything held about a person, audited; erasure shreds their key and keeps the audit', async () => {
    const ctx = t.server.context;
    const invite = await t.as({ session }, 'POST', '/admin/v1/users/invite', {
      json: { user: 'u-7f3a', displayName: 'Alice Liddell' },
    });
    expect(invite.status).toBe(201);
    await setUpDevice(ctx, tenant, 'u-7f3a', 1);
    await setUpDevice(ctx, tenant, 'u-7f3a', 2);
    expect((await t.as({ session }, 'POST', '/admin/v1/users/u-7f3a/block')).status).toBe(200);

    const res = await t.as({ session }, 'GET', '/admin/v1/users/u-7f3a/export');
    expect(res.status, res.body.toString()).toBe(200);
    const doc = res.json;
    expect(doc.schema).toBe('cloister/subject-export/v1');
    expect(doc.user).toMatchObject({
      id: 'u-7f3a',
      displayName: 'Alice Liddell',
      blocked: true,
      personalDataSealed: true,
    });
    expect(doc.devices.map((d: { id: number }) => d.id).sort()).toEqual([1, 2]);
    expect(doc.devices[0].publicKeys.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(doc.devices[0].mailbox).toEqual({ envelopes: 0, bytes: 0 });
    expect(doc.invites).toHaveLength(1);
    expect(doc.audit.records.map((r: { action: string }) => r.action)).toEqual(['user.block', 'user.invite']);
    expect(doc.statistics.personal).toBe(false);
    const head = await ctx.stores.audit.head(tenant);
    const [last] = await ctx.stores.audit.list(tenant, { fromSeq: head?.seq ?? 1 });
    expect(last).toMatchObject({ action: 'subject.export', target: 'u-7f3a' });
    // An unknown person: 404, nothing audited.
    const missing = await t.as({ session }, 'GET', '/admin/v1/users/nobody/export');
    expect(missing.status).toBe(404);
    expect((await ctx.stores.audit.head(tenant))?.seq).toBe(head?.seq);

    // Without a fresh second factor (5 minutes later): refused.
    t.time += 6 * 60_000;
    expect((await t.as({ session }, 'GET', '/admin/v1/users/u-7f3a/export')).status).toBe(403);
    await relogin();

    // Erasure: the key goes with the rows; the audit records keep the id only.
    expect(await ctx.adapter.transaction((tx) => hasSubjectKey(tx, tenant, userId('u-7f3a')))).toBe(true);
    expect((await t.as({ session }, 'DELETE', '/admin/v1/users/u-7f3a')).status).toBe(204);
    expect(await ctx.adapter.transaction((tx) => hasSubjectKey(tx, tenant, userId('u-7f3a')))).toBe(false);
    const records = await ctx.stores.audit.list(tenant, { fromSeq: 1, limit: 1000 });
    const erased = records.find((r) => r.action === 'user.delete');
    expect(erased?.target).toBe('u-7f3a');
    expect(JSON.stringify(records)).not.toContain('Alice');
    expect((await ctx.stores.audit.verifyChain(tenant)).ok).toBe(true);
    expect((await t.as({ session }, 'GET', '/admin/v1/users/u-7f3a/export')).status).toBe(404);
  });
});
