/**
 * What the admin API's operations do, through HTTP on a running server (PGlite; PostgreSQL too
 * with `DATABASE_URL`): the operator creates a tenant and its owner in one transaction (a
 * refused owner leaves no tenant behind); an invite's token enrols the user and its code carries
 * the root fingerprint; a block takes effect on the device's very next request; a delete leaves
 * nothing of the user readable (devices, credentials, queued mail, tokens, user layer) while the
 * audit log keeps its records; administrators cannot raise themselves or remove the last owner;
 * the audit log is searched page by page, verified and exported as JSON lines; activity shows
 * last-seen times and client versions and nothing else; no secret reaches a log line.
 */
import { randomBytes } from 'node:crypto';
import { generateDeviceIdentity, toPublicIdentity } from '@cloister/crypto';
import {
  generateOrganisationRoot,
  issueAdminCertificate,
  ROOT_FINGERPRINT_PREFIX,
  tenantId,
  userId,
} from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_VERSION_HEADER } from '../src/admin/api/last-seen.js';
import { createTenantOperation } from '../src/admin/api/tenants.js';
import { totpCode } from '../src/admin/totp.js';
import { enrolDevice, signEnrolmentProof } from '../src/enrolment.js';
import { TENANT_KEYS_TABLE } from '../src/tenants.js';
import {
  type AdminTestServer,
  type CreatedTenant,
  createTenantAsOperator,
  login,
  OPERATOR_TOKEN,
  PASSWORD,
  secretOf,
  startAdminServer,
} from './helpers/admin-api.js';
import { setUpDevice } from './helpers/device-client.js';
import { startTestServer } from './helpers/server.js';

const T0 = 1_760_000_000_000 - (1_760_000_000_000 % 30_000) + 5_000;
const operator = { operator: OPERATOR_TOKEN };

describe('admin API operations', () => {
  let t: AdminTestServer;
  let acme: CreatedTenant;
  let owner: { session: string };
  const logs: string[] = [];
  const secrets: string[] = [OPERATOR_TOKEN, PASSWORD];

  beforeAll(async () => {
    t = await startAdminServer(T0, {
      logLevel: 'trace',
      logStream: { write: (line: string) => void logs.push(line) },
      postgresSchema: `adm_api_${randomBytes(4).toString('hex')}`,
    });
    acme = await createTenantAsOperator(t, 'acme');
    secrets.push(acme.answer.json.owner.totpUri, ...acme.recoveryCodes);
    owner = { session: await login(t, 'acme', acme.owner.email, acme.owner.secret) };
    secrets.push(owner.session);
  }, 60_000);
  afterAll(async () => t?.close());

  describe('tenants (operator)', () => {
    it('creates the tenant, its domains and its owner once, audited by the operator', async () => {
      expect(acme.answer.json.tenant).toMatchObject({
        id: 'acme',
        name: 'ACME',
        domains: ['acme.example'],
        rootFingerprint: null,
      });
      expect(acme.answer.json.owner.totpUri).toMatch(/^otpauth:\/\/totp\//);
      expect(acme.recoveryCodes).toHaveLength(10);
      const audit = await t.server.context.stores.audit.list(tenantId('acme'));
      expect(audit.slice(0, 2).map((r) => [r.actor, r.action])).toEqual([
        ['operator', 'tenant.create'],
        ['operator', 'admin.bootstrap'],
      ]);
      const again = await t.as(operator, 'POST', '/admin/v1/tenants', {
        json: {
          id: 'acme',
          name: 'Again',
          owner: { email: 'x@acme.example', name: 'X', password: PASSWORD },
        },
      });
      expect(again.status).toBe(409);
      const admins = await t.server.context.stores.administrators.list(tenantId('acme'));
      expect(admins.items).toHaveLength(1);
    });

    it('writes nothing when the owner or a domain is refused (one transaction)', async () => {
      const weak = await t.as(operator, 'POST', '/admin/v1/tenants', {
        json: { id: 'weak', name: 'Weak', owner: { email: 'o@weak.example', name: 'O', password: 'short' } },
      });
      expect(weak.status).toBe(400);
      const taken = await t.as(operator, 'POST', '/admin/v1/tenants', {
        json: {
          id: 'taken',
          name: 'Taken',
          domains: ['acme.example'],
          owner: { email: 'o@taken.example', name: 'O', password: PASSWORD },
        },
      });
      expect(taken.status).toBe(409);
      expect(taken.json.error.message).toBe('conflict: domain');
      for (const id of ['weak', 'taken']) {
        expect(await t.server.context.stores.tenants.get(tenantId(id))).toBeUndefined();
        expect(await t.server.context.stores.audit.head(tenantId(id))).toBeUndefined();
      }
      // The owner is refused inside the transaction, after the tenant and its key were written:
      // nothing of either stays.
      await expect(
        createTenantOperation.handle(t.server.context, {
          body: {
            id: 'late',
            name: 'Late',
            owner: { email: 'o@late.example', name: 'O', password: 'short' },
          },
        } as never),
      ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
      expect(await t.server.context.stores.tenants.get(tenantId('late'))).toBeUndefined();
      expect(
        await t.server.context.adapter.transaction((tx) =>
          tx.get(TENANT_KEYS_TABLE, new TextEncoder().encode('late'), new Uint8Array(0)),
        ),
      ).toBeUndefined();
      const list = await t.as(operator, 'GET', '/admin/v1/tenants');
      expect(list.json.items.map((x: { id: string }) => x.id)).toEqual(['acme']);
    });

    it('answers 401 to every operator call on a server without an operator token', async () => {
      const bare = await startTestServer({
        extraRoutes: [(await import('../src/admin/api/routes.js')).adminApiRoutes],
      });
      try {
        for (const auth of [undefined, `Cloister-Operator ${OPERATOR_TOKEN}`]) {
          const res = await bare.request('GET', '/admin/v1/tenants', {
            headers: auth === undefined ? {} : { authorization: auth },
          });
          expect(res.status).toBe(401);
        }
      } finally {
        await bare.close();
      }
    }, 30_000);
  });

  describe('domains', () => {
    it('adds, refuses another tenant’s, and removes a domain', async () => {
      await createTenantAsOperator(t, 'globex');
      const added = await t.as(owner, 'POST', '/admin/v1/tenant/domains', { json: { domain: 'ACME.test' } });
      expect(added.status).toBe(201);
      expect(added.json.domains).toEqual(['acme.example', 'acme.test']);
      const theirs = await t.as(owner, 'POST', '/admin/v1/tenant/domains', {
        json: { domain: 'globex.example' },
      });
      expect(theirs.status).toBe(409);
      expect((await t.as(owner, 'DELETE', '/admin/v1/tenant/domains/acme.test')).status).toBe(204);
      expect((await t.as(owner, 'DELETE', '/admin/v1/tenant/domains/acme.test')).status).toBe(404);
      expect((await t.as(owner, 'DELETE', '/admin/v1/tenant/domains/globex.example')).status).toBe(404);
      expect(await t.server.context.stores.domains.tenantOf('globex.example')).toBe('globex');
    });
  });

  describe('users and devices', () => {
    async function enrol(token: string, user: string) {
      const ctx = t.server.context;
      const identity = await generateDeviceIdentity(ctx.provider);
      const pub = toPublicIdentity(identity);
      const proof = await signEnrolmentProof(ctx.provider, identity.signingKeyPair.privateKey, token, pub);
      return enrolDevice(ctx, { token, user: { id: userId(user) }, identity: pub, registrationId: 7, proof });
    }

    it('invites a user: a token shown once that enrols them; with a root, the code carries its fingerprint', async () => {
      const first = await t.as(owner, 'POST', '/admin/v1/users/invite', {
        json: { user: 'alice', displayName: 'Alice', uses: 2 },
      });
      expect(first.status).toBe(201);
      expect(first.json).toMatchObject({ rootFingerprint: null, enrolmentCode: null });
      expect(first.json.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      secrets.push(first.json.token);
      expect((await t.as(owner, 'GET', '/admin/v1/users/alice')).json).toMatchObject({
        id: 'alice',
        displayName: 'Alice',
        blocked: false,
      });
      const device = await enrol(first.json.token, 'alice');
      expect(device.user).toBe('alice');

      // The owner sets the root (signed on their machine); invites now carry its fingerprint.
      const ctx = t.server.context;
      const root = await generateOrganisationRoot(ctx.provider);
      const key = await ctx.provider.ed25519.generateKeyPair();
      const certificate = await issueAdminCertificate(ctx.provider, root.privateKey, {
        tenant: tenantId('acme'),
        admin: acme.owner.admin,
        adminPublicKey: key.publicKey,
        role: 'owner',
        issuedAtMs: t.time - 1000,
        expiresAtMs: t.time + 86_400_000,
        serial: 1,
      });
      const set = await t.as(owner, 'PUT', '/admin/v1/organisation/root', {
        json: {
          rootPublicKey: Buffer.from(root.publicKey).toString('base64url'),
          ownerCertificate: Buffer.from(certificate).toString('base64url'),
        },
      });
      expect(set.status).toBe(201);
      const second = await t.as(owner, 'POST', '/admin/v1/users/invite', { json: { user: 'bob' } });
      expect(second.status).toBe(201);
      expect(second.json.rootFingerprint).toBe(set.json.fingerprint);
      expect(second.json.enrolmentCode).toHaveLength(87);
      expect(second.json.enrolmentCode).toBe(
        `${second.json.token}.${set.json.fingerprint.slice(ROOT_FINGERPRINT_PREFIX.length)}`,
      );
      expect((await t.as(owner, 'GET', '/admin/v1/tenant')).json.rootFingerprint).toBe(set.json.fingerprint);
      const audit = await ctx.stores.audit.list(tenantId('acme'), { limit: 1000 });
      const invite = audit.find((r) => r.action === 'user.invite' && r.target === 'bob');
      expect(invite?.details).toMatchObject({ uses: 1, created: true });
      expect(JSON.stringify(audit)).not.toContain(second.json.token);
    });

    it('blocks a user and a device: the next device request is refused; unblock restores it', async () => {
      const ctx = t.server.context;
      const d = await setUpDevice(ctx, tenantId('acme'), 'carol', 1);
      const policy = () => t.request('GET', '/v1/policy', { credential: d.credential });
      expect((await policy()).status).toBe(200);
      expect((await t.as(owner, 'POST', '/admin/v1/users/carol/block')).json.blocked).toBe(true);
      expect((await policy()).status).toBe(403);
      expect((await t.as(owner, 'POST', '/admin/v1/users/carol/unblock')).json.blocked).toBe(false);
      expect((await policy()).status).toBe(200);
      const blocked = await t.as(owner, 'POST', '/admin/v1/users/carol/devices/1/block');
      expect(blocked.json).toMatchObject({ id: 1, blocked: true });
      expect((await policy()).status).toBe(403);
      expect((await t.as(owner, 'POST', '/admin/v1/users/carol/devices/1/unblock')).status).toBe(200);
      expect((await policy()).status).toBe(200);
      expect((await t.as(owner, 'POST', '/admin/v1/users/carol/devices/9/block')).status).toBe(404);
      const actions = (await ctx.stores.audit.list(tenantId('acme'), { limit: 1000 }))
        .filter((r) => r.target.startsWith('carol'))
        .map((r) => r.action);
      expect(actions).toEqual(['user.block', 'user.unblock', 'device.block', 'device.unblock']);
    });

    it('shows activity: enrolment, last seen and the reported client version, nothing else', async () => {
      const ctx = t.server.context;
      const d = await setUpDevice(ctx, tenantId('acme'), 'dora', 1);
      const before = await t.as(owner, 'GET', '/admin/v1/users/dora/activity');
      expect(before.json).toMatchObject({ user: 'dora', deviceCount: 1, lastSeenAt: null });
      await t.request('GET', '/v1/policy', {
        credential: d.credential,
        headers: { [CLIENT_VERSION_HEADER]: '@cloister/client/0.1.0' },
      });
      // The hook runs after the answer: wait for it.
      let after = before;
      for (let i = 0; i < 50 && after.json.lastSeenAt === null; i++) {
        await new Promise((r) => setTimeout(r, 20));
        after = await t.as(owner, 'GET', '/admin/v1/users/dora/activity');
      }
      expect(after.json.lastSeenAt).toBe(t.time);
      expect(after.json.devices).toEqual([
        {
          id: 1,
          createdAt: after.json.enrolledAt,
          lastSeenAt: t.time,
          blocked: false,
          clientVersion: '@cloister/client/0.1.0',
          pending: { envelopes: 0, bytes: 0 },
        },
      ]);
      expect(Object.keys(after.json).sort()).toEqual(
        [
          'blocked',
          'createdAt',
          'deviceCount',
          'devices',
          'enrolledAt',
          'lastSeenAt',
          'pending',
          'user',
        ].sort(),
      );
      const listed = await t.as(owner, 'GET', '/admin/v1/users/dora/devices');
      expect(listed.json.items[0]).toMatchObject({ id: 1, clientVersion: '@cloister/client/0.1.0' });
      expect(Object.keys(listed.json.items[0])).not.toContain('credentialHash');
    });

    it('deletes a user: devices, credentials, queued envelopes, tokens and the user layer go; the audit stays', async () => {
      const ctx = t.server.context;
      const acmeId = tenantId('acme');
      const invite = await t.as(owner, 'POST', '/admin/v1/users/invite', { json: { user: 'erin', uses: 3 } });
      const token = invite.json.token as string;
      secrets.push(token);
      const enrolled = await enrol(token, 'erin');
      expect(
        await ctx.stores.mailboxes.enqueue(enrolled.mailbox, {
          messageId: 'm-1' as never,
          envelope: new Uint8Array([1, 2, 3]),
          expiresAt: t.time + 86_400_000,
        }),
      ).toBe(true);
      expect(
        await ctx.adapter.transaction((tx) =>
          tx.count('s_mailbox', new TextEncoder().encode(enrolled.mailbox)),
        ),
      ).toBe(1);
      await ctx.stores.policies.set(
        { kind: 'user', tenant: acmeId, user: userId('erin') },
        {
          'files.send': { enabled: false, locked: true },
        },
      );
      // Signed objects that name erin alone (stored as published; the store does not re-verify).
      const signed = { sequence: 1, issuedAtMs: t.time, admin: acme.owner.admin, bytes: new Uint8Array([1]) };
      await ctx.stores.organisation.put(acmeId, {
        ...signed,
        kind: 'policy-layer',
        scope: 'policy-layer/user/erin',
      });
      await ctx.stores.organisation.put(acmeId, {
        ...signed,
        kind: 'device-admission',
        scope: 'device-admission/erin',
      });
      await ctx.stores.organisation.put(acmeId, {
        ...signed,
        kind: 'policy-layer',
        scope: 'policy-layer/user/frank',
      });
      const credential = enrolled.credential;
      expect((await t.request('GET', '/v1/policy', { credential })).status).toBe(200);

      expect((await t.as(owner, 'DELETE', '/admin/v1/users/erin')).status).toBe(204);
      expect((await t.request('GET', '/v1/policy', { credential })).status).toBe(401);
      expect((await t.as(owner, 'GET', '/admin/v1/users/erin')).status).toBe(404);
      expect(await ctx.stores.devices.list(acmeId, userId('erin'))).toEqual([]);
      expect(await ctx.stores.devices.byMailbox(enrolled.mailbox)).toBeUndefined();
      expect(
        await ctx.stores.policies.get({ kind: 'user', tenant: acmeId, user: userId('erin') }),
      ).toBeUndefined();
      expect(
        await ctx.adapter.transaction((tx) =>
          tx.count('s_mailbox', new TextEncoder().encode(enrolled.mailbox)),
        ),
      ).toBe(0);
      expect(
        await ctx.stores.organisation.get(acmeId, 'policy-layer', 'policy-layer/user/erin'),
      ).toBeUndefined();
      expect(
        await ctx.stores.organisation.get(acmeId, 'device-admission', 'device-admission/erin'),
      ).toBeUndefined();
      expect(
        await ctx.stores.organisation.get(acmeId, 'policy-layer', 'policy-layer/user/frank'),
      ).toBeDefined();
      // The invite's remaining uses cannot bring the user back.
      await expect(enrol(token, 'erin')).rejects.toMatchObject({ code: 'ERR_UNAUTHENTICATED' });
      expect(await ctx.stores.users.get(acmeId, userId('erin'))).toBeUndefined();
      const record = (await ctx.stores.audit.list(acmeId, { limit: 1000 })).find(
        (r) => r.action === 'user.delete',
      );
      expect(record).toMatchObject({ target: 'erin', details: { devices: 1, enrolmentTokens: 1 } });
      expect((await t.as(owner, 'DELETE', '/admin/v1/users/erin')).status).toBe(404);
    });
  });

  describe('administrators', () => {
    it('lets no admin appoint or touch an owner, keeps the last owner, and ends a removed admin’s session', async () => {
      const created = await t.as(owner, 'POST', '/admin/v1/administrators', {
        json: { email: 'admin@acme.example', name: 'Admin', role: 'admin', password: PASSWORD },
      });
      expect(created.status).toBe(201);
      expect(created.json.admin).toMatchObject({ role: 'admin', totp: 'pending', disabled: false });
      expect(Object.keys(created.json.admin)).not.toContain('passwordHash');
      secrets.push(created.json.totpUri, ...created.json.recoveryCodes);
      const admin = { session: await login(t, 'acme', 'admin@acme.example', secretOf(created.json.totpUri)) };
      secrets.push(admin.session);

      const appoint = await t.as(admin, 'POST', '/admin/v1/administrators', {
        json: { email: 'o2@acme.example', name: 'O2', role: 'owner', password: PASSWORD },
      });
      expect(appoint.status).toBe(403);
      const raise = await t.as(admin, 'PATCH', `/admin/v1/administrators/${created.json.admin.id}`, {
        json: { role: 'owner' },
      });
      expect(raise.status).toBe(403);
      const demoteOwner = await t.as(admin, 'PATCH', `/admin/v1/administrators/${acme.owner.admin}`, {
        json: { role: 'auditor' },
      });
      expect(demoteOwner.status).toBe(403);
      const lastOwner = await t.as(owner, 'PATCH', `/admin/v1/administrators/${acme.owner.admin}`, {
        json: { role: 'admin' },
      });
      expect(lastOwner.status).toBe(409);
      expect((await t.as(owner, 'DELETE', `/admin/v1/administrators/${acme.owner.admin}`)).status).toBe(409);

      const integration = await t.as(owner, 'POST', '/admin/v1/administrators', {
        json: {
          email: 'hr@acme.example',
          name: 'HR',
          role: 'integration',
          scopes: ['users.read', 'users.block'],
        },
      });
      expect(integration.status).toBe(201);
      secrets.push(integration.json.apiKey);
      const key = { key: integration.json.apiKey as string };
      expect((await t.as(key, 'GET', '/admin/v1/users')).status).toBe(200);
      expect((await t.as(key, 'POST', '/admin/v1/users/invite', { json: { user: 'zed' } })).status).toBe(403);
      const wide = await t.as(owner, 'POST', '/admin/v1/administrators', {
        json: { email: 'hr2@acme.example', name: 'HR', role: 'integration', scopes: ['admins.manage'] },
      });
      expect(wide.status).toBe(400);

      const role = await t.as(owner, 'PATCH', `/admin/v1/administrators/${created.json.admin.id}`, {
        json: { role: 'auditor' },
      });
      expect(role.json.role).toBe('auditor');
      expect((await t.as(admin, 'POST', '/admin/v1/users/zed/block')).status).toBe(403);
      expect((await t.as(owner, 'DELETE', `/admin/v1/administrators/${created.json.admin.id}`)).status).toBe(
        204,
      );
      expect((await t.as(admin, 'GET', '/admin/v1/users')).status).toBe(401);
      const listed = await t.as(owner, 'GET', '/admin/v1/administrators');
      const removed = listed.json.items.find((a: { id: string }) => a.id === created.json.admin.id);
      expect(removed.disabled).toBe(true);
      expect((await t.as(owner, 'DELETE', `/admin/v1/administrators/${created.json.admin.id}`)).status).toBe(
        404,
      );
    });
  });

  describe('audit', () => {
    it('searches by action, actor, target and time, page by page without gaps or repeats', async () => {
      const all = await t.server.context.stores.audit.list(tenantId('acme'), { limit: 1000 });
      const seen: number[] = [];
      let after: string | undefined;
      for (let i = 0; i < 100; i++) {
        const res = await t.as(
          owner,
          'GET',
          `/admin/v1/audit?limit=3${after === undefined ? '' : `&after=${after}`}`,
        );
        expect(res.status).toBe(200);
        seen.push(...res.json.items.map((r: { seq: number }) => r.seq));
        after = res.json.next;
        if (after === undefined) break;
      }
      expect(seen).toEqual(all.map((r) => r.seq).filter((s) => s <= Math.max(...seen)));
      expect(seen.length).toBeGreaterThanOrEqual(all.length);

      const blocks = await t.as(owner, 'GET', '/admin/v1/audit?action=user.&target=carol');
      expect(blocks.json.items.map((r: { action: string }) => r.action)).toEqual([
        'user.block',
        'user.unblock',
      ]);
      const byOperator = await t.as(owner, 'GET', '/admin/v1/audit?actor=operator');
      expect(byOperator.json.items.map((r: { action: string }) => r.action)).toEqual([
        'tenant.create',
        'admin.bootstrap',
      ]);
      const none = await t.as(owner, 'GET', `/admin/v1/audit?from=${T0 + 1}`);
      expect(none.json.items).toEqual([]);
      const bad = await t.as(owner, 'GET', '/admin/v1/audit?limit=0');
      expect(bad.status).toBe(400);
      const unknown = await t.as(owner, 'GET', '/admin/v1/audit?nope=1');
      expect(unknown.status).toBe(400);
    });

    it('verifies the chain and exports it as JSON lines, the export itself audited', async () => {
      const verify = await t.as(owner, 'GET', '/admin/v1/audit/verify');
      expect(verify.json).toMatchObject({ ok: true });
      const exported = await t.as(owner, 'GET', '/admin/v1/audit/export');
      expect(exported.status).toBe(200);
      expect(exported.headers['content-type']).toMatch(/^application\/x-ndjson/);
      const lines = exported.body
        .toString('utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.length).toBe(verify.json.count + 1);
      expect(lines.map((l) => l.seq)).toEqual(lines.map((_l, i) => i + 1));
      expect(lines.at(-1)).toMatchObject({ action: 'audit.export', actor: acme.owner.admin });
      const verifyAfter = await t.as(owner, 'GET', '/admin/v1/audit/verify');
      expect(verifyAfter.json.head).toBe(lines.at(-1).hash);
    });
  });

  it('keeps every password, TOTP secret, recovery code, token and key out of the logs', () => {
    expect(logs.length).toBeGreaterThan(20);
    const text = logs.join('\n');
    for (const secret of secrets) {
      const needle = secret.startsWith('otpauth:')
        ? (new URL(secret).searchParams.get('secret') ?? secret)
        : secret;
      expect(text.includes(needle), 'a secret reached the logs').toBe(false);
    }
  });

  it('answers a fresh-factor route after a step-up only', async () => {
    t.time = T0 + 10 * 60_000;
    const res = await t.as(owner, 'POST', '/admin/v1/administrators', {
      json: { email: 'late@acme.example', name: 'Late', role: 'auditor', password: PASSWORD },
    });
    expect(res.status).toBe(403);
    const up = await t.as(owner, 'POST', '/admin/v1/session/step-up', {
      json: { totp: totpCode(acme.owner.secret, t.time) },
    });
    expect(up.status).toBe(200);
    const again = await t.as(owner, 'POST', '/admin/v1/administrators', {
      json: { email: 'late@acme.example', name: 'Late', role: 'auditor', password: PASSWORD },
    });
    expect(again.status).toBe(201);
  });
});
