/**
 * Administrator authentication (spec/admin-auth.md): the RFC 6238 and RFC 4226 vectors through
 * `otpauth` as configured; the offline bootstrap of a first owner; login with password and TOTP,
 * a TOTP step refused a second time, ±1 step accepted and ±2 refused; recovery codes single use;
 * limits per account and per address; idle and absolute session expiry on the server's clock;
 * step-up for actions that need a fresh second factor; roles and integration API keys; one
 * answer for an unknown account, a wrong password and a wrong code; and no secret in any log line.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tenantId } from '@cloister/protocol';
import { HOTP, Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  authenticateAdmin,
  bootstrapOwner,
  createAdminAuthRoutes,
  createHumanAdministrator,
  createIntegration,
  matchTotp,
  totpCode,
} from '../src/admin/index.js';
import type { RouteModule } from '../src/context.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const VECTORS = join(__dirname, '../../../../shared/vectors/otp');
const PASSWORD = 'correct horse battery staple';
const T0 = 1_750_000_000_000 - (1_750_000_000_000 % 30_000) + 10_000; // 10 s into a step

// The two servers of this file (their routes differ) run one after the other on one data
// directory: the second opens the database the first made instead of creating another. They
// share nothing else (the login limits live in the routes); the tenants do not overlap.
const dataDir = mkdtempSync(join(tmpdir(), 'cloister-admin-auth-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

interface TotpVectors {
  readonly digits: number;
  readonly step: number;
  readonly secrets_ascii: Record<string, string>;
  readonly tests: readonly {
    readonly time: number;
    readonly mode: 'SHA1' | 'SHA256' | 'SHA512';
    readonly totp: string;
  }[];
}
interface HotpVectors {
  readonly secret_ascii: string;
  readonly digits: number;
  readonly tests: readonly { readonly counter: number; readonly hotp: string }[];
}

describe('TOTP and HOTP vectors through otpauth', () => {
  const totp = JSON.parse(readFileSync(join(VECTORS, 'totp-rfc6238.json'), 'utf8')) as TotpVectors;
  const hotp = JSON.parse(readFileSync(join(VECTORS, 'hotp-rfc4226.json'), 'utf8')) as HotpVectors;

  it('reproduces every RFC 6238 Appendix B value with the seed of its mode', () => {
    expect(totp.tests.length).toBeGreaterThanOrEqual(18);
    for (const t of totp.tests) {
      const secret = Secret.fromLatin1(totp.secrets_ascii[t.mode] ?? '');
      const args = { secret, algorithm: t.mode, digits: totp.digits, period: totp.step };
      expect(TOTP.generate({ ...args, timestamp: t.time * 1000 }), `${t.mode} at ${t.time}`).toBe(t.totp);
      expect(TOTP.validate({ ...args, token: t.totp, timestamp: t.time * 1000, window: 0 })).toBe(0);
    }
  });

  it('reproduces every RFC 4226 Appendix D value', () => {
    const secret = Secret.fromLatin1(hotp.secret_ascii);
    for (const t of hotp.tests) {
      expect(HOTP.generate({ secret, algorithm: 'SHA1', digits: hotp.digits, counter: t.counter })).toBe(
        t.hotp,
      );
    }
  });

  it('matches the SHA-1 vectors in the administrators configuration (6 digits, ±1 step)', () => {
    const seed = new TextEncoder().encode(totp.secrets_ascii.SHA1);
    for (const t of totp.tests.filter((x) => x.mode === 'SHA1')) {
      const six = t.totp.slice(-6); // HOTP truncation: the 6-digit code is the 8-digit one mod 10^6
      const step = Math.floor(t.time / 30);
      expect(totpCode(seed, t.time * 1000)).toBe(six);
      expect(matchTotp(seed, six, t.time * 1000)).toBe(step);
      expect(matchTotp(seed, six, t.time * 1000 + 30_000)).toBe(step);
      expect(matchTotp(seed, six, t.time * 1000 - 30_000)).toBe(step);
      expect(matchTotp(seed, six, t.time * 1000 + 60_000)).toBeUndefined();
    }
  });
});

const secretOf = (uri: string) => {
  const base32 = new URL(uri).searchParams.get('secret') ?? '';
  return new Uint8Array(Secret.fromBase32(base32).buffer);
};

/** A test-only route that needs `devices.wipe` with a fresh second factor, and one that needs `users.read`. */
const probeRoutes: RouteModule = (app, ctx) => {
  app.post('/admin/v1/test/wipe', async (request) => {
    const me = await authenticateAdmin(ctx, request, { permission: 'devices.wipe', freshFactor: true });
    return { ok: me.admin.id };
  });
  app.get('/admin/v1/test/users', async (request) => {
    const me = await authenticateAdmin(ctx, request, { permission: 'users.read' });
    return { ok: me.admin.id };
  });
  app.post('/admin/v1/test/block', async (request) => {
    const me = await authenticateAdmin(ctx, request, { permission: 'users.block' });
    return { ok: me.admin.id };
  });
};

describe('administrator login and sessions', () => {
  let time = T0;
  let t: TestServer;
  const logs: string[] = [];
  let n = 0;

  beforeAll(async () => {
    t = await startTestServer({
      dataDir,
      now: () => time,
      logLevel: 'trace',
      logStream: { write: (line) => void logs.push(line) },
      extraRoutes: [createAdminAuthRoutes({ loginsPerAddress: 10_000, loginsPerAccount: 1000 }), probeRoutes],
    });
  }, 60_000);
  afterAll(async () => t?.close());
  beforeEach(() => {
    time = T0 + n * 3_600_000;
    n += 1;
  });

  async function tenantWithOwner(role: 'owner' | 'auditor' = 'owner') {
    const tenant = tenantId(`t${n}`);
    await t.server.context.stores.tenants.create(tenant, {
      name: 'T',
      signingKey: new Uint8Array(32).fill(1),
    });
    const email = `owner@t${n}.example`;
    const owner = await bootstrapOwner(t.server.context.stores, tenant, {
      email,
      name: 'Owner',
      password: PASSWORD,
    });
    let result = owner;
    if (role !== 'owner') {
      result = await createHumanAdministrator(
        t.server.context.stores,
        tenant,
        role,
        { email: `${role}@t${n}.example`, name: role, password: PASSWORD },
        { actor: owner.admin },
      );
    }
    return {
      tenant,
      email: role === 'owner' ? email : `${role}@t${n}.example`,
      ...result,
      secret: secretOf(result.totpUri),
    };
  }

  const login = (body: Record<string, unknown>) => t.request('POST', '/admin/v1/session', { json: body });
  const bearer = (token: string) => ({ headers: { authorization: `Cloister-Admin ${token}` } });

  it('bootstraps an owner once, with a TOTP URI and ten recovery codes, audited', async () => {
    const o = await tenantWithOwner();
    expect(o.totpUri).toMatch(/^otpauth:\/\/totp\/.*secret=[A-Z2-7]+.*algorithm=SHA1.*digits=6.*period=30/);
    expect(o.recoveryCodes).toHaveLength(10);
    expect(new Set(o.recoveryCodes).size).toBe(10);
    await expect(
      bootstrapOwner(t.server.context.stores, o.tenant, {
        email: 'b@x.example',
        name: 'B',
        password: PASSWORD,
      }),
    ).rejects.toMatchObject({ constraint: 'admin.owner' });
    const audit = await t.server.context.stores.audit.list(o.tenant);
    expect(audit.map((r) => [r.action, r.outcome, r.actor])).toEqual([
      ['admin.bootstrap', 'success', 'system'],
    ]);
    await expect(
      bootstrapOwner(t.server.context.stores, tenantId('nope'), {
        email: 'b@x.example',
        name: 'B',
        password: PASSWORD,
      }),
    ).rejects.toMatchObject({ what: 'tenant' });
  });

  it('logs in with password and TOTP; the same step is refused a second time; logout ends the session', async () => {
    const o = await tenantWithOwner();
    const body = { tenant: o.tenant, email: o.email, password: PASSWORD, totp: totpCode(o.secret, time) };
    const res = await login(body);
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      tenant: o.tenant,
      admin: o.admin,
      role: 'owner',
      idleTimeoutMs: 900_000,
    });
    expect(res.json.expiresAt).toBe(time + 8 * 3_600_000);
    expect(res.json.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await t.server.context.stores.administrators.get(o.tenant, o.admin))?.totp?.state).toBe('active');
    // The same code again, within its step: refused.
    time += 5_000;
    const replay = await login(body);
    expect(replay.status).toBe(401);
    expect(replay.json.error.code).toBe('ERR_UNAUTHENTICATED');
    const me = await t.request('GET', '/admin/v1/session', bearer(res.json.token));
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ admin: o.admin, role: 'owner', via: 'session' });
    expect(me.json.permissions).toContain('devices.wipe');
    expect((await t.request('DELETE', '/admin/v1/session', bearer(res.json.token))).status).toBe(204);
    expect((await t.request('GET', '/admin/v1/session', bearer(res.json.token))).status).toBe(401);
    const audit = await t.server.context.stores.audit.list(o.tenant);
    expect(audit.map((r) => [r.action, r.outcome, r.details.reason ?? r.details.method ?? null])).toEqual([
      ['admin.bootstrap', 'success', null],
      ['admin.login', 'success', 'totp'],
      ['admin.login', 'failure', 'totp-replay'],
      ['admin.logout', 'success', null],
    ]);
  });

  it('accepts a code one step early or late and refuses two steps', async () => {
    const o = await tenantWithOwner();
    const at = (dt: number) =>
      login({ tenant: o.tenant, email: o.email, password: PASSWORD, totp: totpCode(o.secret, time + dt) });
    expect((await at(-60_000)).status).toBe(401);
    expect((await at(60_000)).status).toBe(401);
    expect((await at(-30_000)).status).toBe(201);
    expect((await at(30_000)).status).toBe(201);
    // The current step is now behind the last accepted one: refused too.
    expect((await at(0)).status).toBe(401);
  });

  it('uses each recovery code once, and only after the TOTP is active', async () => {
    const o = await tenantWithOwner();
    const [first, second] = o.recoveryCodes as [string, string];
    const withCode = (recoveryCode: string) =>
      login({ tenant: o.tenant, email: o.email, password: PASSWORD, recoveryCode });
    expect((await withCode(first)).status).toBe(401); // TOTP still pending
    expect(
      (await login({ tenant: o.tenant, email: o.email, password: PASSWORD, totp: totpCode(o.secret, time) }))
        .status,
    ).toBe(201);
    const ok = await withCode(first.toUpperCase());
    expect(ok.status).toBe(201);
    expect(ok.json.recoveryCodesLeft).toBe(9);
    expect((await withCode(first)).status).toBe(401);
    expect((await withCode('aaaa-bbbb-cccc-dddd')).status).toBe(401);
    expect((await withCode(second)).status).toBe(201);
    // Both at once is a validation error, naming the field.
    const both = await login({
      tenant: o.tenant,
      email: o.email,
      password: PASSWORD,
      totp: '123456',
      recoveryCode: second,
    });
    expect(both.status).toBe(400);
  });

  it('answers an unknown account, a wrong password, a wrong code and an integration alike', async () => {
    const o = await tenantWithOwner();
    await createIntegration(
      t.server.context.stores,
      o.tenant,
      { email: 'k@x.example', name: 'K', scopes: [] },
      { actor: o.admin },
    );
    const code = totpCode(o.secret, time);
    const answers = await Promise.all([
      login({ tenant: o.tenant, email: 'nobody@x.example', password: PASSWORD, totp: code }),
      login({ tenant: o.tenant, email: o.email, password: `${PASSWORD}!`, totp: code }),
      login({ tenant: 'no-such-tenant', email: o.email, password: PASSWORD, totp: code }),
      login({ tenant: o.tenant, email: 'k@x.example', password: PASSWORD, totp: code }),
      login({
        tenant: o.tenant,
        email: o.email,
        password: PASSWORD,
        totp: code === '000000' ? '111111' : '000000',
      }),
    ]);
    for (const a of answers) {
      expect(a.status).toBe(401);
      expect(a.json).toEqual({
        error: { code: 'ERR_UNAUTHENTICATED', message: answers[0]?.json.error.message },
      });
      expect(a.body.equals(answers[0]?.body ?? Buffer.alloc(0))).toBe(true);
    }
    const reasons = (await t.server.context.stores.audit.list(o.tenant))
      .filter((r) => r.outcome === 'failure')
      .map((r) => r.details.reason)
      .sort();
    expect(reasons).toEqual(['not-a-person', 'password', 'totp', 'unknown-account']);
    // A disabled administrator: refused too, and an open session ends.
    const s = await login({ tenant: o.tenant, email: o.email, password: PASSWORD, totp: code });
    expect(s.status).toBe(201);
    await t.server.context.stores.administrators.update(o.tenant, o.admin, { disabled: true });
    expect((await t.request('GET', '/admin/v1/session', bearer(s.json.token))).status).toBe(401);
    time += 30_000;
    expect(
      (await login({ tenant: o.tenant, email: o.email, password: PASSWORD, totp: totpCode(o.secret, time) }))
        .status,
    ).toBe(401);
  });

  it('ends a session after 15 minutes idle and after 8 hours in any case', async () => {
    const o = await tenantWithOwner();
    const s = await login({
      tenant: o.tenant,
      email: o.email,
      password: PASSWORD,
      totp: totpCode(o.secret, time),
    });
    const token = s.json.token as string;
    time += 14 * 60_000;
    expect((await t.request('GET', '/admin/v1/session', bearer(token))).status).toBe(200);
    time += 14 * 60_000; // 14 minutes since the last use
    expect((await t.request('GET', '/admin/v1/session', bearer(token))).status).toBe(200);
    time += 15 * 60_000;
    expect((await t.request('GET', '/admin/v1/session', bearer(token))).status).toBe(401);

    time += 60_000;
    const s2 = await login({
      tenant: o.tenant,
      email: o.email,
      password: PASSWORD,
      totp: totpCode(o.secret, time),
    });
    const start = time;
    while (time + 10 * 60_000 < start + 8 * 3_600_000) {
      time += 10 * 60_000;
      expect((await t.request('GET', '/admin/v1/session', bearer(s2.json.token))).status).toBe(200);
    }
    time = start + 8 * 3_600_000;
    expect((await t.request('GET', '/admin/v1/session', bearer(s2.json.token))).status).toBe(401);
  }, 60_000);

  it('needs a fresh second factor for a wipe, refreshed by step-up with a new code', async () => {
    const o = await tenantWithOwner();
    const s = await login({
      tenant: o.tenant,
      email: o.email,
      password: PASSWORD,
      totp: totpCode(o.secret, time),
    });
    const auth = bearer(s.json.token);
    expect((await t.request('POST', '/admin/v1/test/wipe', auth)).status).toBe(200);
    time += 6 * 60_000;
    const stale = await t.request('POST', '/admin/v1/test/wipe', auth);
    expect(stale.status).toBe(403);
    expect(stale.json.error.code).toBe('ERR_FORBIDDEN');
    const code = totpCode(o.secret, time);
    const up = await t.request('POST', '/admin/v1/session/step-up', { ...auth, json: { totp: code } });
    expect(up.status).toBe(200);
    expect(up.json.freshFactorUntil).toBe(time + 5 * 60_000);
    expect((await t.request('POST', '/admin/v1/test/wipe', auth)).status).toBe(200);
    // The same code again is refused; a wrong one too.
    expect(
      (await t.request('POST', '/admin/v1/session/step-up', { ...auth, json: { totp: code } })).status,
    ).toBe(403);
    expect(
      (await t.request('POST', '/admin/v1/session/step-up', { ...auth, json: { totp: 'abc' } })).status,
    ).toBe(400);
  });

  it('checks the role: an auditor may not wipe', async () => {
    const o = await tenantWithOwner('auditor');
    const s = await login({
      tenant: o.tenant,
      email: o.email,
      password: PASSWORD,
      totp: totpCode(o.secret, time),
    });
    expect(s.json.role).toBe('auditor');
    expect((await t.request('POST', '/admin/v1/test/wipe', bearer(s.json.token))).status).toBe(403);
    expect((await t.request('GET', '/admin/v1/test/users', bearer(s.json.token))).status).toBe(200);
  });

  it('authenticates an integration by its API key, within its scopes, without sessions or step-up', async () => {
    const o = await tenantWithOwner();
    const k = await createIntegration(
      t.server.context.stores,
      o.tenant,
      { email: 'hr@x.example', name: 'HR', scopes: ['users.read'] },
      { actor: o.admin },
    );
    const auth = { headers: { authorization: `Cloister-Admin-Key ${k.apiKey}` } };
    const me = await t.request('GET', '/admin/v1/session', auth);
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({
      admin: k.admin,
      role: 'integration',
      via: 'key',
      permissions: ['users.read'],
    });
    expect((await t.request('GET', '/admin/v1/test/users', auth)).status).toBe(200);
    expect((await t.request('POST', '/admin/v1/test/block', auth)).status).toBe(403); // the role has it, the key not
    expect((await t.request('POST', '/admin/v1/test/wipe', auth)).status).toBe(403);
    expect((await t.request('DELETE', '/admin/v1/session', auth)).status).toBe(403); // a person's route
    const wrong = { headers: { authorization: `Cloister-Admin-Key ${'A'.repeat(43)}` } };
    expect((await t.request('GET', '/admin/v1/session', wrong)).status).toBe(401);
    // A session token is not a key, nor the other way round.
    expect((await t.request('GET', '/admin/v1/session', bearer(k.apiKey))).status).toBe(401);
    await expect(
      createIntegration(
        t.server.context.stores,
        o.tenant,
        { email: 'x@x.example', name: 'X', scopes: ['devices.wipe'] },
        { actor: o.admin },
      ),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
  });

  it('writes no password, code, TOTP secret, token or key into any log line', async () => {
    const o = await tenantWithOwner();
    const k = await createIntegration(
      t.server.context.stores,
      o.tenant,
      { email: 'k@x.example', name: 'K', scopes: ['users.read'] },
      { actor: o.admin },
    );
    const before = logs.length;
    const code = totpCode(o.secret, time);
    await login({ tenant: o.tenant, email: o.email, password: 'wrong password 12345', totp: code });
    await login({ tenant: o.tenant, email: 'nobody@x.example', password: PASSWORD, totp: code });
    await login({ tenant: o.tenant, email: o.email, password: PASSWORD, totp: 'x'.repeat(7) });
    const ok = await login({ tenant: o.tenant, email: o.email, password: PASSWORD, totp: code });
    expect(ok.status).toBe(201);
    await login({ tenant: o.tenant, email: o.email, password: PASSWORD, recoveryCode: o.recoveryCodes[0] });
    await t.request('POST', '/admin/v1/session/step-up', { ...bearer(ok.json.token), json: { totp: code } });
    await t.request('GET', '/admin/v1/session', {
      headers: { authorization: `Cloister-Admin-Key ${k.apiKey}` },
    });
    await t.request('DELETE', '/admin/v1/session', bearer(ok.json.token));
    const text = logs.slice(before).join('');
    expect(logs.length).toBeGreaterThan(before); // the capture works
    const base32 = new URL(o.totpUri).searchParams.get('secret') ?? '';
    for (const secret of [
      PASSWORD,
      'wrong password 12345',
      code,
      base32,
      ok.json.token,
      k.apiKey,
      o.recoveryCodes[0],
    ]) {
      expect(text.includes(String(secret)), 'a secret in the log').toBe(false);
    }
    // Nor in the error answers.
    const bad = await login({ tenant: o.tenant, email: o.email, password: PASSWORD, totp: 'x'.repeat(7) });
    expect(bad.body.toString()).not.toContain('xxxxxxx');
  });
});

describe('login limits', () => {
  let time = T0;
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      dataDir,
      now: () => time,
      extraRoutes: [
        createAdminAuthRoutes({ loginsPerAccount: 3, loginsPerAddress: 6, loginWindowMs: 60_000 }),
      ],
    });
    await t.server.context.stores.tenants.create(tenantId('acme'), {
      name: 'A',
      signingKey: new Uint8Array(32),
    });
  }, 60_000);
  afterAll(async () => t?.close());

  it('refuses attempts over the limit per account, then per address, with retry-after', async () => {
    const o = await bootstrapOwner(t.server.context.stores, tenantId('acme'), {
      email: 'o@acme.example',
      name: 'O',
      password: PASSWORD,
    });
    const secret = secretOf(o.totpUri);
    const attempt = (email: string, password = 'nope nope nope') =>
      t.request('POST', '/admin/v1/session', {
        json: { tenant: 'acme', email, password, totp: totpCode(secret, time) },
      });
    for (let i = 0; i < 3; i++) expect((await attempt('o@acme.example')).status).toBe(401);
    const limited = await attempt('O@acme.example', PASSWORD); // right password, but over the limit
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe('ERR_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Other accounts from the same address, until the address limit.
    expect((await attempt('a@acme.example')).status).toBe(401);
    expect((await attempt('b@acme.example')).status).toBe(401); // the 6th from this address
    expect((await attempt('c@acme.example')).status).toBe(429);
    // A new window: the right password and code get through.
    time += 61_000;
    expect((await attempt('o@acme.example', PASSWORD)).status).toBe(201);
  });
});
