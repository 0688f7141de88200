/**
 * The archive admin API on a real server (issue 19, `spec/archive-server.md`): the key-set
 * registry (an auditor registers, the server checks lengths and uniqueness; shares only for an
 * auditor with a fresh factor), reading the items with their filing sequence numbers and delivery
 * ids (gaps visible), the streamed export, each audited; owner and admin are refused every
 * `archive.audit` route (403) — the attack of an administrator reading the archive.
 */
import { randomBytes } from 'node:crypto';
import { archiveKeyFingerprint, type TenantId, tenantId } from '@cloister/protocol';
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

const T0 = Date.UTC(2026, 10, 10, 12, 0, 0);
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

describe('archive admin routes', () => {
  let t: AdminTestServer;
  let tenant: TenantId;
  const sessions = new Map<Role, string>();
  let relogin: () => Promise<void>;

  beforeAll(async () => {
    t = await startAdminServer(T0);
    const a = await createTenantAsOperator(t, 'arc');
    tenant = tenantId(a.id);
    const people: { role: Role; email: string; secret: Uint8Array }[] = [
      { role: 'owner', email: a.owner.email, secret: a.owner.secret },
    ];
    for (const role of ['admin', 'auditor'] as const) {
      const email = `${role}@arc.example`;
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

  function keySetBody() {
    return {
      setId: randomBytes(16).toString('hex'),
      publicKey: b64(randomBytes(32)),
      threshold: 2,
      holders: [
        { holder: 'dpo', share: b64(randomBytes(120)) },
        { holder: 'internal-audit', share: b64(randomBytes(120)) },
        { holder: 'works-council', share: b64(randomBytes(120)) },
      ],
      label: '2027',
    };
  }

  it('refuses owner and admin every archive.audit route (403), and changes nothing', async () => {
    const body = keySetBody();
    for (const role of ['owner', 'admin'] as const) {
      expect((await as(role, 'POST', '/admin/v1/archive/key-sets', body)).status).toBe(403);
      expect((await as(role, 'GET', '/admin/v1/archive/items')).status).toBe(403);
      expect((await as(role, 'GET', '/admin/v1/archive/export')).status).toBe(403);
    }
    expect(await t.server.context.stores.archiveKeySets.list(tenant)).toEqual([]);
  });

  it('registers a key set for an auditor; shares only for the auditor', async () => {
    const body = keySetBody();
    const created = await as('auditor', 'POST', '/admin/v1/archive/key-sets', body);
    expect(created.status, created.body.toString()).toBe(201);
    const fingerprint = await archiveKeyFingerprint(
      t.server.context.provider,
      new Uint8Array(Buffer.from(body.publicKey, 'base64url')),
    );
    expect(created.json).toMatchObject({ id: body.setId, fingerprint, createdAt: t.time });
    // The same set id again: 409; malformed sets: 400.
    expect((await as('auditor', 'POST', '/admin/v1/archive/key-sets', body)).status).toBe(409);
    const bad = [
      { ...keySetBody(), threshold: 4 },
      { ...keySetBody(), threshold: 1 },
      { ...keySetBody(), holders: [body.holders[0], body.holders[0]] },
      { ...keySetBody(), holders: [body.holders[0]] },
      { ...keySetBody(), publicKey: b64(randomBytes(31)) },
      { ...keySetBody(), setId: 'XYZ' },
      { ...keySetBody(), holders: [{ holder: 'a', share: b64(randomBytes(4097)) }, body.holders[1]] },
    ];
    for (const b of bad)
      expect((await as('auditor', 'POST', '/admin/v1/archive/key-sets', b)).status).toBe(400);

    const forOwner = await as('owner', 'GET', '/admin/v1/archive/key-sets');
    expect(forOwner.status).toBe(200);
    expect(forOwner.json.items).toHaveLength(1);
    expect(forOwner.json.items[0]).toMatchObject({
      id: body.setId,
      fingerprint,
      threshold: 2,
      holders: ['dpo', 'internal-audit', 'works-council'],
      label: '2027',
    });
    expect(forOwner.json.items[0].shares).toBeUndefined();
    const forAuditor = await as('auditor', 'GET', '/admin/v1/archive/key-sets');
    expect(forAuditor.json.items[0].shares).toEqual(body.holders);
    // Without a fresh second factor the auditor sees the metadata only.
    t.time += 6 * 60_000;
    const stale = await as('auditor', 'GET', '/admin/v1/archive/key-sets');
    expect(stale.status).toBe(200);
    expect(stale.json.items[0].shares).toBeUndefined();
    await relogin();
  });

  it('reads the items with sequence numbers and delivery ids, gaps visible, each read audited', async () => {
    const ctx = t.server.context;
    const filed = [];
    for (let i = 0; i < 5; i++) {
      t.time += 1000;
      filed.push(
        await ctx.stores.archive.append(tenant, {
          sealed: randomBytes(100 + i),
          expiresAt: t.time + 86_400_000 * 30,
          deliveryId: randomBytes(16),
        }),
      );
    }
    expect(filed.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5]);
    await ctx.stores.archive.delete(tenant, filed[2]?.id as string);
    const res = await as('auditor', 'GET', '/admin/v1/archive/items?limit=2&purpose=case%202026-114');
    expect(res.status, res.body.toString()).toBe(200);
    expect(res.json.items.map((i: { seq: number }) => i.seq)).toEqual([1, 2]);
    expect(res.json.range).toEqual({ firstSeq: 1, lastSeq: 2 });
    expect(res.json.items[0]).toEqual({
      id: filed[0]?.id,
      seq: 1,
      receivedAt: filed[0]?.receivedAt,
      deliveryId: b64(filed[0]?.deliveryId as Uint8Array),
      size: 100,
      sealed: b64(filed[0]?.sealed as Uint8Array),
      expiresAt: filed[0]?.expiresAt,
    });
    const next = await as('auditor', 'GET', `/admin/v1/archive/items?after=${res.json.next}`);
    expect(next.json.items.map((i: { seq: number }) => i.seq)).toEqual([4, 5]); // 3 is a gap
    expect(next.json.next).toBeUndefined();
    const head = await ctx.stores.audit.head(tenant);
    const [last] = await ctx.stores.audit.list(tenant, { fromSeq: head?.seq ?? 1 });
    expect(last).toMatchObject({ action: 'archive.read', details: { count: 2, firstSeq: 4, lastSeq: 5 } });
    const [before] = await ctx.stores.audit.list(tenant, { fromSeq: (head?.seq ?? 2) - 1, limit: 1 });
    expect(before).toMatchObject({ action: 'archive.read', details: { purpose: 'case 2026-114' } });

    // The export: the same objects as JSON lines, one audit record.
    const exported = await as('auditor', 'GET', '/admin/v1/archive/export?purpose=export');
    expect(exported.status).toBe(200);
    expect(String(exported.headers['content-type'])).toMatch(/ndjson/);
    const lines = exported.body
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 4, 5]);
    expect(lines[0]).toEqual(res.json.items[0]);
    const after = await ctx.stores.audit.head(tenant);
    expect(after?.seq).toBe((head?.seq ?? 0) + 1);
    const [exportRecord] = await ctx.stores.audit.list(tenant, { fromSeq: after?.seq ?? 1 });
    expect(exportRecord).toMatchObject({
      action: 'archive.export',
      details: { purpose: 'export', lastSeq: 5 },
    });

    // Bad queries: 400.
    expect((await as('auditor', 'GET', '/admin/v1/archive/items?limit=0')).status).toBe(400);
    expect((await as('auditor', 'GET', '/admin/v1/archive/items?after=zz')).status).toBe(400);
    expect((await as('auditor', 'GET', `/admin/v1/archive/items?purpose=${'x'.repeat(201)}`)).status).toBe(
      400,
    );
  });
});
