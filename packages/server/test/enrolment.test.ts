import {
  type CryptoProvider,
  type DeviceIdentity,
  decodeSenderCertificate,
  generateDeviceIdentity,
  getProvider,
  type PublicIdentity,
  toPublicIdentity,
  utf8,
  verifySenderCertificate,
} from '@cloister/crypto';
import { poolId, type TenantId, tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { credentialHash } from '../src/auth.js';
import { issueCertificateFor } from '../src/certificates.js';
import {
  createEnrolmentToken,
  ENROL_TOKENS_TABLE,
  type EnrolmentTokenInput,
  signEnrolmentProof,
} from '../src/enrolment.js';
import { certificateRoutes } from '../src/routes/certificates.js';
import { createEnrolmentRoutes } from '../src/routes/enrolment.js';
import { ConflictError } from '../src/store/index.js';
import { createTenant, getTenantSigningKey } from '../src/tenants.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const WINDOW = 15 * 60_000;
let clock = Date.UTC(2026, 0, 1);
let t: TestServer;
let provider: CryptoProvider;
let tenant: TenantId;
let tenantKey: Uint8Array;
const logs: string[] = [];
/** Every token and credential the tests saw: none may reach the log. */
const secrets: string[] = [];

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64url');

async function token(input: Partial<EnrolmentTokenInput> = {}): Promise<string> {
  const { token: tok } = await createEnrolmentToken(t.server.context, { tenant, ...input });
  secrets.push(tok);
  return tok;
}

async function device(): Promise<{ identity: DeviceIdentity; pub: PublicIdentity }> {
  const identity = await generateDeviceIdentity(provider);
  return { identity, pub: toPublicIdentity(identity) };
}

async function body(
  tok: string,
  d: { identity: DeviceIdentity; pub: PublicIdentity },
  extra: {
    user?: { id: string; displayName?: string };
    proof?: Uint8Array;
    dhKeySignature?: Uint8Array;
  } = {},
) {
  const proof =
    extra.proof ?? (await signEnrolmentProof(provider, d.identity.signingKeyPair.privateKey, tok, d.pub));
  return {
    token: tok,
    ...(extra.user === undefined ? {} : { user: extra.user }),
    device: {
      identity: {
        signingKey: b64(d.pub.signingKey),
        dhKey: b64(d.pub.dhKey),
        dhKeySignature: b64(extra.dhKeySignature ?? d.pub.dhKeySignature),
      },
      registrationId: 4711,
      proof: b64(proof),
    },
  };
}

async function enrol(tok: string, user?: { id: string; displayName?: string }) {
  const d = await device();
  const res = await t.request('POST', '/v1/enrol', {
    json: await body(tok, d, user === undefined ? {} : { user }),
  });
  if (res.status === 201) secrets.push(res.json.credential);
  return { res, device: d };
}

const credentialOf = (res: { json: { credential: string } }) =>
  new Uint8Array(Buffer.from(res.json.credential, 'base64url'));

beforeAll(async () => {
  provider = await getProvider();
  t = await startTestServer({
    now: () => clock,
    logLevel: 'trace',
    extraRoutes: [createEnrolmentRoutes(), certificateRoutes],
  });
  // Capture every log line (the pino destination shared by all child loggers).
  const log = t.server.app.log as unknown as Record<symbol, { write: (s: string) => boolean }>;
  const sym = Object.getOwnPropertySymbols(log).find((s) => s.description === 'pino.stream');
  if (sym === undefined) throw new Error('no pino stream');
  const stream = log[sym]!;
  stream.write = (s: string) => {
    logs.push(s);
    return true;
  };
  tenant = tenantId('acme');
  const created = await createTenant(t.server.context, {
    id: tenant,
    name: 'ACME',
    domains: ['acme.example'],
  });
  tenantKey = created.signingPublicKey;
  expect(created.tenant.signingKey).toEqual(tenantKey);
}, 30_000);

afterAll(async () => {
  await t?.close();
});

beforeEach(() => {
  // A fresh brute-force window for every test (all requests come from 127.0.0.1).
  clock += WINDOW + 1000;
});

describe('tenants', () => {
  it('keeps the signing key pair: the private key signs what the public key verifies', async () => {
    const sk = await getTenantSigningKey(t.server.context, tenant);
    const sig = await provider.ed25519.sign(sk, utf8('x'));
    sk.fill(0);
    expect(await provider.ed25519.verify(tenantKey, utf8('x'), sig)).toBe(true);
    expect(await t.server.context.stores.domains.tenantOf('acme.example')).toBe(tenant);
  });

  it('refuses a taken id or domain and writes nothing', async () => {
    await expect(createTenant(t.server.context, { id: tenant, name: 'Other' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    const sk = await getTenantSigningKey(t.server.context, tenant);
    const sig = await provider.ed25519.sign(sk, utf8('y'));
    sk.fill(0);
    expect(await provider.ed25519.verify(tenantKey, utf8('y'), sig)).toBe(true);
    await expect(
      createTenant(t.server.context, { id: tenantId('globex'), name: 'Globex', domains: ['acme.example'] }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(await t.server.context.stores.tenants.get(tenantId('globex'))).toBeUndefined();
    await expect(getTenantSigningKey(t.server.context, tenantId('globex'))).rejects.toThrow();
    await expect(createTenant(t.server.context, { id: 'bad id' as TenantId, name: 'x' })).rejects.toThrow(
      /expected/,
    );
  });
});

describe('enrolment', () => {
  it('enrols a device with a token and answers /v1/me with its credential', async () => {
    const tok = await token();
    // The token is stored only as a hash.
    const { res, device: d } = await enrol(tok, { id: 'u-alice-71', displayName: 'Alice' });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ tenant: 'acme', user: 'u-alice-71', deviceId: 1 });
    expect(res.json.mailbox).toMatch(/^mbx_[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(res.json.tenantSigningKey, 'base64url')).toEqual(Buffer.from(tenantKey));
    const credential = credentialOf(res);
    expect(credential.length).toBe(32);

    const me = await t.request('GET', '/v1/me', { credential });
    expect(me.status).toBe(200);
    expect(me.json).toEqual({ tenant: 'acme', user: 'u-alice-71', deviceId: 1, mailbox: res.json.mailbox });

    const stored = await t.server.context.stores.devices.get(tenant, userId('u-alice-71'), 1 as never);
    expect(stored?.identity.signingKey).toEqual(d.pub.signingKey);
    expect(stored?.registrationId).toBe(4711);
    expect(stored?.credentialHash).toEqual(await credentialHash(t.server.context, credential));
    expect((await t.server.context.stores.users.get(tenant, userId('u-alice-71')))?.displayName).toBe(
      'Alice',
    );

    expect((await t.request('GET', '/v1/me')).status).toBe(401);
    expect((await t.request('GET', '/v1/me', { credential: new Uint8Array(32) })).json.error.code).toBe(
      'ERR_UNAUTHENTICATED',
    );
  });

  it('refuses a single-use token the second time, with the same answer as an unknown token', async () => {
    const tok = await token();
    expect((await enrol(tok, { id: 'u-single-1' })).res.status).toBe(201);
    const again = await enrol(tok, { id: 'u-single-2' });
    expect(again.res.status).toBe(401);
    const unknown = await enrol(b64(await provider.randomBytes(32)), { id: 'u-single-3' });
    expect(unknown.res.status).toBe(401);
    expect(again.res.json).toEqual(unknown.res.json);
    expect(again.res.json.error.code).toBe('ERR_UNAUTHENTICATED');
    expect(await t.server.context.stores.users.get(tenant, userId('u-single-2'))).toBeUndefined();
  });

  it('never exceeds the uses of a limited token under concurrent redemption', async () => {
    const tok = await token({ maxUses: 3 });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => enrol(tok, { id: `u-conc-${i}` })));
    const statuses = results.map((r) => r.res.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    let users = 0;
    for (let i = 0; i < 8; i++) {
      if (await t.server.context.stores.users.get(tenant, userId(`u-conc-${i}`))) users++;
    }
    expect(users).toBe(3);
  });

  it('refuses an expired token', async () => {
    const tok = await token({ ttlMs: 60_000 });
    clock += 60_001;
    const { res } = await enrol(tok, { id: 'u-expired' });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('ERR_UNAUTHENTICATED');
  });

  it('binds a token to a user and a pool', async () => {
    await t.server.context.stores.pools.put(tenant, poolId('ward-3'), { name: 'Ward 3' });
    const tok = await token({ user: userId('u-bob-9'), pool: poolId('ward-3'), maxUses: 2 });
    const other = await enrol(tok, { id: 'u-carol-9' });
    expect(other.res.status).toBe(403);
    expect(await t.server.context.stores.users.get(tenant, userId('u-carol-9'))).toBeUndefined();
    const first = await enrol(tok);
    expect(first.res.status).toBe(201);
    expect(first.res.json.user).toBe('u-bob-9');
    const bob = await t.server.context.stores.users.get(tenant, userId('u-bob-9'));
    expect(bob?.pools).toEqual(['ward-3']);
    const second = await enrol(tok, { id: 'u-bob-9' });
    expect(second.res.status).toBe(201);
    expect(second.res.json.deviceId).toBe(2);
    expect((await enrol(tok)).res.status).toBe(401);
  });

  it('creates only new users unless the token allows existing ones', async () => {
    const tok = await token();
    expect((await enrol(tok, { id: 'u-dave-3' })).res.status).toBe(201);
    const plain = await token();
    expect((await enrol(plain, { id: 'u-dave-3' })).res.status).toBe(409);
    const unnamed = await enrol(plain);
    expect(unnamed.res.status).toBe(400);
    const wide = await token({ existingUsers: true });
    const second = await enrol(wide, { id: 'u-dave-3' });
    expect(second.res.status).toBe(201);
    expect(second.res.json.deviceId).toBe(2);
    // The refused attempts did not use up the plain token.
    expect((await enrol(plain, { id: 'u-erin-3' })).res.status).toBe(201);
  });

  it('refuses a wrong proof or identity signature and writes nothing', async () => {
    const tok = await token();
    const d = await device();
    const otherToken = b64(await provider.randomBytes(32));
    const wrongProof = await signEnrolmentProof(
      provider,
      d.identity.signingKeyPair.privateKey,
      otherToken,
      d.pub,
    );
    const r1 = await t.request('POST', '/v1/enrol', {
      json: await body(tok, d, { user: { id: 'u-proof-1' }, proof: wrongProof }),
    });
    expect(r1.status).toBe(400);
    expect(r1.json.error.code).toBe('ERR_INVALID_KEY');
    const badSig = d.pub.dhKeySignature.slice();
    badSig[0] = (badSig[0] ?? 0) ^ 1;
    const r2 = await t.request('POST', '/v1/enrol', {
      json: await body(tok, d, { user: { id: 'u-proof-1' }, dhKeySignature: badSig }),
    });
    expect(r2.status).toBe(400);
    expect(r2.json.error.code).toBe('ERR_INVALID_KEY');
    // A proof by another key over the right token.
    const e = await device();
    const foreign = await signEnrolmentProof(provider, e.identity.signingKeyPair.privateKey, tok, d.pub);
    const r3 = await t.request('POST', '/v1/enrol', {
      json: await body(tok, d, { user: { id: 'u-proof-1' }, proof: foreign }),
    });
    expect(r3.status).toBe(400);
    expect(await t.server.context.stores.users.get(tenant, userId('u-proof-1'))).toBeUndefined();
    expect((await enrol(tok, { id: 'u-proof-1' })).res.status).toBe(201);
  });

  it('refuses an identity whose signing key is a small-order point in a "negative zero" encoding', async () => {
    // Signing key 01 00..00 80 (the identity point with the sign bit set) and the signature
    // R = [7]B, S = 7 satisfy [S]B = R + [k]A for every message under a lenient verifier: the
    // dhKey signature and the enrolment proof would both "verify" for a key nobody holds.
    const tok = await token();
    const d = await device();
    const forged = Buffer.from(
      `b862409fb5c4c4123df2abf7462b88f041ad36dd6864ce872fd5472be363c5b107${'00'.repeat(31)}`,
      'hex',
    );
    const negativeZero = Buffer.from(`01${'00'.repeat(30)}80`, 'hex');
    const json = await body(tok, d, { user: { id: 'u-negzero' }, proof: forged, dhKeySignature: forged });
    json.device.identity.signingKey = b64(negativeZero);
    const res = await t.request('POST', '/v1/enrol', { json });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('ERR_INVALID_KEY');
    expect(await t.server.context.stores.users.get(tenant, userId('u-negzero'))).toBeUndefined();
  });

  it('answers malformed bodies with a typed 400 and writes nothing', async () => {
    const tok = await token();
    const d = await device();
    const good = await body(tok, d, { user: { id: 'u-malformed' } });
    const variants: unknown[] = [
      {},
      { ...good, extra: 1 },
      { ...good, token: 'short' },
      { ...good, token: 42 },
      { ...good, user: { id: 'bad id' } },
      { ...good, user: { id: 'u-x', displayName: 'a\u0007b' } },
      { ...good, user: { id: 'u-x', role: 'admin' } },
      { ...good, device: { ...good.device, registrationId: -1 } },
      { ...good, device: { ...good.device, registrationId: 2 ** 32 } },
      { ...good, device: { ...good.device, proof: good.device.proof.slice(1) } },
      { ...good, device: { ...good.device, identity: { ...good.device.identity, dhKey: '!'.repeat(43) } } },
      { ...good, device: { ...good.device, identity: { ...good.device.identity, extra: 'x' } } },
      { ...good, device: { identity: good.device.identity, registrationId: 1 } },
      [good],
      null,
    ];
    for (const v of variants) {
      const res = await t.request('POST', '/v1/enrol', { json: v });
      expect(res.status, JSON.stringify(v)).toBe(400);
      expect(res.json.error.code).toBe('ERR_VALIDATION');
    }
    const notJson = await t.request('POST', '/v1/enrol', {
      body: utf8('{"token":'),
      contentType: 'application/json',
    });
    expect(notJson.status).toBe(400);
    expect(await t.server.context.stores.users.get(tenant, userId('u-malformed'))).toBeUndefined();
    expect((await t.request('POST', '/v1/enrol', { json: good })).status).toBe(201);
    secrets.push(good.token);
  });

  it('locks out an address after too many wrong tokens, even with a valid token, until the window passes', async () => {
    const tok = await token();
    for (let i = 0; i < 10; i++) {
      const wrong = await enrol(b64(await provider.randomBytes(32)), { id: 'u-brute' });
      expect(wrong.res.status).toBe(401);
    }
    const locked = await enrol(tok, { id: 'u-brute' });
    expect(locked.res.status).toBe(429);
    expect(locked.res.json.error.code).toBe('ERR_RATE_LIMITED');
    expect(Number(locked.res.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(locked.res.headers['retry-after'])).toBeLessThanOrEqual(WINDOW / 1000);
    expect(await t.server.context.stores.users.get(tenant, userId('u-brute'))).toBeUndefined();
    clock += WINDOW;
    expect((await enrol(tok, { id: 'u-brute' })).res.status).toBe(201);
  });

  it('counts failures per token-hash bucket as well (a valid token in a hammered bucket waits)', async () => {
    const routes = createEnrolmentRoutes({ limits: { maxFailures: 3, tokenBucketBytes: 1 } });
    expect(typeof routes).toBe('function');
    // Service level: no address, so only the bucket counts.
    const { enrolDevice } = await import('../src/enrolment.js');
    const tok = await token();
    const bucket = (
      await provider.sha256(
        new Uint8Array([...utf8('cloister/server/v1/enrol-token'), ...Buffer.from(tok, 'base64url')]),
      )
    )[0];
    const limits = { maxFailures: 3, tokenBucketBytes: 1 };
    let wrongInBucket = 0;
    while (wrongInBucket < 3) {
      const guess = b64(await provider.randomBytes(32));
      const h = await provider.sha256(
        new Uint8Array([...utf8('cloister/server/v1/enrol-token'), ...Buffer.from(guess, 'base64url')]),
      );
      if (h[0] !== bucket) continue;
      const d = await device();
      const input = {
        token: guess,
        user: { id: userId('u-bucket') },
        identity: d.pub,
        registrationId: 1,
        proof: await signEnrolmentProof(provider, d.identity.signingKeyPair.privateKey, guess, d.pub),
      };
      await expect(enrolDevice(t.server.context, input, { limits })).rejects.toMatchObject({
        code: 'ERR_UNAUTHENTICATED',
      });
      wrongInBucket++;
    }
    const d = await device();
    const valid = {
      token: tok,
      user: { id: userId('u-bucket') },
      identity: d.pub,
      registrationId: 1,
      proof: await signEnrolmentProof(provider, d.identity.signingKeyPair.privateKey, tok, d.pub),
    };
    await expect(enrolDevice(t.server.context, valid, { limits })).rejects.toMatchObject({
      code: 'ERR_RATE_LIMITED',
    });
    clock += WINDOW;
    const ok = await enrolDevice(t.server.context, valid, { limits });
    expect(ok.user).toBe('u-bucket');
  });

  it('refuses a blocked user or device everywhere, and enrolling for a blocked user', async () => {
    const tok = await token();
    const { res } = await enrol(tok, { id: 'u-frank-5' });
    const credential = credentialOf(res);
    expect((await t.request('POST', '/v1/certificate', { credential })).status).toBe(200);
    await t.server.context.stores.users.update(tenant, userId('u-frank-5'), { blocked: true });
    for (const [method, path] of [
      ['GET', '/v1/me'],
      ['POST', '/v1/certificate'],
    ] as const) {
      const r = await t.request(method, path, { credential });
      expect(r.status).toBe(403);
      expect(r.json.error.code).toBe('ERR_FORBIDDEN');
    }
    const wide = await token({ existingUsers: true });
    expect((await enrol(wide, { id: 'u-frank-5' })).res.status).toBe(403);
    expect(await t.server.context.stores.devices.list(tenant, userId('u-frank-5'))).toHaveLength(1);
    await t.server.context.stores.users.update(tenant, userId('u-frank-5'), { blocked: false });
    await t.server.context.stores.devices.update(tenant, userId('u-frank-5'), 1 as never, { blocked: true });
    expect((await t.request('GET', '/v1/me', { credential })).status).toBe(403);
    expect((await t.request('POST', '/v1/certificate', { credential })).status).toBe(403);
    // The refused enrolment did not use the token.
    expect((await enrol(wide, { id: 'u-frank-5' })).res.status).toBe(201);
  });
});

describe('sender certificates', () => {
  it('issues a certificate that verifies under the tenant key for the caller’s own identity', async () => {
    await t.server.context.stores.pools.put(tenant, poolId('pharmacy'), { name: 'Pharmacy' });
    const tok = await token({ pool: poolId('pharmacy') });
    const { res, device: d } = await enrol(tok, { id: 'u-gina-2' });
    const credential = credentialOf(res);
    const r = await t.request('POST', '/v1/certificate', { credential });
    expect(r.status).toBe(200);
    // Four hours by default: a blocked user's certificates stop working soon (issue 13, attack 4).
    expect(r.json.expiresAt).toBe(clock + 4 * 3_600_000);
    const certificate = decodeSenderCertificate(new Uint8Array(Buffer.from(r.json.certificate, 'base64url')));
    expect(certificate).toMatchObject({
      userId: 'u-gina-2',
      deviceId: 1,
      tenantId: 'acme',
      pools: ['pharmacy'],
    });
    await verifySenderCertificate(provider, certificate, {
      tenantPublicKey: tenantKey,
      now: clock,
      expectedIdentity: { signingKey: d.pub.signingKey, dhKey: d.pub.dhKey },
    });
    await expect(
      verifySenderCertificate(provider, certificate, { tenantPublicKey: tenantKey, now: clock + 86_400_001 }),
    ).rejects.toMatchObject({ problem: 'expired' });
    const other = await provider.ed25519.generateKeyPair();
    await expect(
      verifySenderCertificate(provider, certificate, { tenantPublicKey: other.publicKey, now: clock }),
    ).rejects.toMatchObject({ problem: 'signature' });

    // A configured lifetime.
    const me = { tenant, user: userId('u-gina-2'), device: 1 as never, mailbox: res.json.mailbox };
    const short = await issueCertificateFor(t.server.context, me, { ttlMs: 3_600_000 });
    expect(short.certificate.expiresAt).toBe(clock + 3_600_000);
    await expect(issueCertificateFor(t.server.context, me, { ttlMs: 10 })).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
    });
  });

  it('requires authentication and an empty body', async () => {
    expect((await t.request('POST', '/v1/certificate')).status).toBe(401);
    const tok = await token();
    const { res } = await enrol(tok, { id: 'u-hank-4' });
    const credential = credentialOf(res);
    const bad = await t.request('POST', '/v1/certificate', { credential, json: { userId: 'u-gina-2' } });
    expect(bad.status).toBe(400);
    expect((await t.request('POST', '/v1/certificate', { credential, json: {} })).status).toBe(200);
  });
});

describe('tokens at rest and logs', () => {
  it('stores no token, and logs no token, credential or user id', async () => {
    const tok = await token();
    const hash = await provider.sha256(
      new Uint8Array([...utf8('cloister/server/v1/enrol-token'), ...Buffer.from(tok, 'base64url')]),
    );
    const row = await t.server.context.adapter.transaction((tx) =>
      tx.get(ENROL_TOKENS_TABLE, hash, new Uint8Array(0)),
    );
    expect(row).toBeDefined();
    expect(Buffer.from(row!.value).toString('latin1')).not.toContain(tok);
    expect(Buffer.from(row!.value).includes(Buffer.from(tok, 'base64url'))).toBe(false);
    await expect(
      createEnrolmentToken(t.server.context, { tenant: tenantId('nobody') }),
    ).rejects.toMatchObject({
      what: 'tenant',
    });

    expect(logs.length).toBeGreaterThan(10);
    const text = logs.join('\n');
    expect(text).toContain('device enrolled');
    expect(secrets.length).toBeGreaterThan(10);
    for (const s of secrets) expect(text).not.toContain(s);
    for (const u of ['u-alice-71', 'u-bob-9', 'u-gina-2', 'Alice']) expect(text).not.toContain(u);
  });
});
