/**
 * The server's organisation plane (spec/organisation.md §10), played through the admin routes
 * with real sessions: the root is set once, by the owner it certifies, with a fresh factor;
 * publishing refuses what the operator can make (an object under its own root, a key without a
 * genuine certificate, the tenant's server key) and what an administrator may not (another
 * administrator's certificate, an old sequence, a user-layer archive, an archive without
 * archive.key); `GET /v1/policy` serves only the objects that concern the caller; effects follow
 * the signed objects (policy store, pool rules). With `DATABASE_URL` the server runs on
 * PostgreSQL, else on PGlite.
 */
import { randomBytes } from 'node:crypto';
import { generateDeviceIdentity, InvalidKeyError, signWipeCommand, toPublicIdentity } from '@cloister/crypto';
import {
  type BroadcastAudience,
  decodeOrganisationObject,
  type OrganisationObjectBody,
  poolId,
  rootFingerprint,
  type TenantId,
  tenantId,
  userId,
  verifyOrganisationObject,
} from '@cloister/protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminAuthRoutes, totpCode } from '../src/admin/index.js';
import { createEnrolmentToken, signEnrolmentProof } from '../src/enrolment.js';
import { publishOrganisationObject } from '../src/organisation/objects.js';
import { createEnrolmentRoutes } from '../src/routes/enrolment.js';
import { policyRoutes } from '../src/routes/policy.js';
import { createTenant, getTenantSigningKey } from '../src/tenants.js';
import { setUpDevice } from './helpers/device-client.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import {
  asAdmin,
  b64,
  certify,
  DAY,
  forge,
  fromB64,
  login,
  organisation,
  organisationRoutes,
  sign,
  type TestOrganisation,
} from './organisation-helpers.js';

const DATABASE_URL = process.env.DATABASE_URL || undefined;
const schema = `t_organisation_${randomBytes(8).toString('hex')}`;
const acme: TenantId = tenantId('acme');
const globex: TenantId = tenantId('globex');
const ward = poolId('ward');
const lab = poolId('lab');

let t: TestServer;
let clock = 1_800_000_000_000;
let org: TestOrganisation;
let other: TestOrganisation;
let tenantKey: Uint8Array;

const provider = () => t.server.context.provider;

beforeAll(async () => {
  t = await startTestServer({
    now: () => clock,
    extraRoutes: [
      createAdminAuthRoutes({ loginsPerAccount: 1000, loginsPerAddress: 10_000 }),
      organisationRoutes,
      policyRoutes,
      createEnrolmentRoutes(),
    ],
    ...(DATABASE_URL === undefined ? {} : { database: DATABASE_URL, databaseSchema: schema }),
  });
  const ctx = t.server.context;
  tenantKey = (await createTenant(ctx, { id: acme, name: 'ACME' })).signingPublicKey;
  await createTenant(ctx, { id: globex, name: 'Globex' });
  await ctx.stores.pools.put(acme, ward, { name: 'Ward' });
  await ctx.stores.pools.put(acme, lab, { name: 'Lab' });
  org = await organisation(t, acme, clock);
  other = await organisation(t, globex, clock);
}, 60_000);

afterAll(async () => {
  await t?.close();
  if (DATABASE_URL === undefined) return;
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});

/** Moves the clock past the fresh-factor window and steps `who` up again. */
async function stepUp(who: TestOrganisation['owner']) {
  clock += 31_000;
  const res = await asAdmin(t, who, 'POST', '/admin/v1/session/step-up', {
    totp: totpCode(who.secret, clock),
  });
  expect(res.status).toBe(200);
}

const layer = (
  sequence: number,
  payload: Extract<OrganisationObjectBody, { kind: 'policy-layer' }>['payload'],
): OrganisationObjectBody => ({ kind: 'policy-layer', tenant: acme, issuedAtMs: clock, sequence, payload });

async function auditCount(tenant: TenantId): Promise<number> {
  return (await t.server.context.stores.audit.list(tenant, { fromSeq: 1, limit: 1000 })).length;
}

describe(`the organisation plane on ${DATABASE_URL === undefined ? 'PGlite' : 'PostgreSQL'}`, () => {
  it('sets the root once, only with a genuine owner certificate of the calling owner and a fresh factor', async () => {
    const before = await asAdmin(t, org.owner, 'GET', '/admin/v1/organisation');
    expect(before.status).toBe(200);
    expect(before.json).toEqual({
      rootFingerprint: null,
      serverSigningKey: b64(tenantKey),
      sequences: {
        'policy-layer': 1,
        wipe: 1,
        broadcast: 1,
        'pool-rules': 1,
        'device-admission': 1,
        'certificate-delegation': 1,
      },
      delegation: null,
    });
    // Nothing can be published before the root is set.
    const early = await sign(provider(), org.owner, {
      kind: 'broadcast',
      tenant: acme,
      issuedAtMs: clock,
      sequence: 1,
      payload: { broadcastId: new Uint8Array(16).fill(1), audience: { kind: 'tenant' }, text: 'hi' },
    });
    expect(
      (await asAdmin(t, org.owner, 'POST', '/admin/v1/broadcasts', { object: b64(early), envelopes: [] }))
        .status,
    ).toBe(409);

    const put = (rootPublicKey: Uint8Array, ownerCertificate: Uint8Array, who = org.owner) =>
      asAdmin(t, who, 'PUT', '/admin/v1/organisation/root', {
        rootPublicKey: b64(rootPublicKey),
        ownerCertificate: b64(ownerCertificate),
      });
    // A certificate another root signed, presented with the real root's key.
    const stranger = await provider().ed25519.generateKeyPair();
    const foreign = await certify(
      provider(),
      stranger.privateKey,
      acme,
      org.owner.id,
      org.owner.key.publicKey,
      'owner',
      clock,
    );
    const r1 = await put(org.root.publicKey, foreign);
    expect([r1.status, r1.json.error.code]).toEqual([400, 'ERR_INVALID_KEY']);
    // A genuine owner certificate, but for another administrator than the caller.
    const forAdmin = await certify(
      provider(),
      org.root.privateKey,
      acme,
      org.admin.id,
      org.admin.key.publicKey,
      'owner',
      clock,
    );
    expect((await put(org.root.publicKey, forAdmin)).status).toBe(403);
    // A genuine certificate of the role admin.
    const notOwner = await certify(
      provider(),
      org.root.privateKey,
      acme,
      org.owner.id,
      org.owner.key.publicKey,
      'admin',
      clock,
    );
    expect((await put(org.root.publicKey, notOwner)).status).toBe(400);
    // Another tenant's certificate.
    expect((await put(other.root.publicKey, other.owner.certificate)).status).toBe(400);
    // The admin role may not operate the root.
    expect((await put(org.root.publicKey, org.owner.certificate, org.admin)).status).toBe(403);
    // A second factor older than five minutes.
    clock += 6 * 60_000;
    expect((await put(org.root.publicKey, org.owner.certificate)).status).toBe(403);
    await stepUp(org.owner);
    const ok = await put(org.root.publicKey, org.owner.certificate);
    expect(ok.status).toBe(201);
    expect(ok.json.fingerprint).toBe(await rootFingerprint(provider(), org.root.publicKey));
    // Once.
    const again = await put(org.root.publicKey, org.owner.certificate);
    expect([again.status, again.json.error.code]).toEqual([409, 'ERR_CONFLICT']);
    expect((await asAdmin(t, org.owner, 'GET', '/admin/v1/organisation')).json.rootFingerprint).toBe(
      ok.json.fingerprint,
    );
    const audit = await t.server.context.stores.audit.list(acme, { fromSeq: 1, limit: 1000 });
    expect(audit.filter((r) => r.action === 'organisation.root')).toHaveLength(1);
    // The other tenant's owner sets its own root.
    await stepUp(other.owner);
    const globexRoot = await asAdmin(t, other.owner, 'PUT', '/admin/v1/organisation/root', {
      rootPublicKey: b64(other.root.publicKey),
      ownerCertificate: b64(other.owner.certificate),
    });
    expect(globexRoot.status).toBe(201);
  });

  it('hands the root to enrolling devices of a tenant that has one', async () => {
    const enrol = async (tenant: TenantId) => {
      const { token } = await createEnrolmentToken(t.server.context, { tenant });
      const identity = await generateDeviceIdentity(provider());
      const pub = toPublicIdentity(identity);
      const proof = await signEnrolmentProof(provider(), identity.signingKeyPair.privateKey, token, pub);
      return t.request('POST', '/v1/enrol', {
        json: {
          token,
          user: { id: `u${clock}` },
          device: {
            identity: {
              signingKey: b64(pub.signingKey),
              dhKey: b64(pub.dhKey),
              dhKeySignature: b64(pub.dhKeySignature),
            },
            registrationId: 7,
            proof: b64(proof),
          },
        },
      });
    };
    const res = await enrol(acme);
    expect(res.status).toBe(201);
    expect(res.json.organisationRoot).toBe(b64(org.root.publicKey));
    await t.server.context.stores.tenants.create(tenantId('rootless'), {
      name: 'R',
      signingKey: new Uint8Array(32).fill(3),
    });
    const none = await enrol(tenantId('rootless'));
    expect(none.status).toBe(201);
    expect(none.json.organisationRoot).toBeUndefined();
  });

  it('refuses every object the operator can make, writing nothing', async () => {
    const ctx = t.server.context;
    const auditBefore = await auditCount(acme);
    const body = layer(1, {
      layer: 'user',
      target: 'alice',
      document: { 'files.send': { enabled: false, locked: true } },
    });
    // 1. The operator's own root, with a certificate that names the real owner's id and key.
    const opRoot = await provider().ed25519.generateKeyPair();
    const opKey = await provider().ed25519.generateKeyPair();
    const opCert = await certify(
      provider(),
      opRoot.privateKey,
      acme,
      org.owner.id,
      opKey.publicKey,
      'owner',
      clock,
    );
    const underOwnRoot = await forge(provider(), opKey.privateKey, opCert, body);
    const r1 = await asAdmin(t, org.owner, 'POST', '/admin/v1/organisation/policy-layers', {
      object: b64(underOwnRoot),
    });
    expect([r1.status, r1.json.error.code]).toEqual([400, 'ERR_INVALID_KEY']);
    // Straight into the server's code, as an operator with the database would.
    await expect(publishOrganisationObject(ctx, acme, underOwnRoot, { actor: 'operator' })).rejects.toThrow(
      InvalidKeyError,
    );
    // 2. The owner's genuine certificate, but the operator's key signs.
    const borrowed = await forge(provider(), opKey.privateKey, org.owner.certificate, body);
    const r2 = await asAdmin(t, org.owner, 'POST', '/admin/v1/organisation/policy-layers', {
      object: b64(borrowed),
    });
    expect([r2.status, r2.json.error.code]).toEqual([400, 'ERR_INVALID_KEY']);
    // 3. The tenant's server signing key (which the operator holds), certified by the operator.
    const serverKey = await getTenantSigningKey(ctx, acme);
    const serverCert = await certify(
      provider(),
      opRoot.privateKey,
      acme,
      org.owner.id,
      tenantKey,
      'owner',
      clock,
    );
    const withServerKey = await forge(provider(), serverKey, serverCert, {
      kind: 'wipe',
      tenant: acme,
      issuedAtMs: clock,
      sequence: 1,
      payload: { user: userId('alice'), deviceId: 1 as never, commandId: new Uint8Array(16).fill(5) },
    });
    await expect(publishOrganisationObject(ctx, acme, withServerKey, { actor: 'operator' })).rejects.toThrow(
      InvalidKeyError,
    );
    // 4. A wipe in the old format, signed with the tenant key.
    const legacy = await signWipeCommand(provider(), serverKey, {
      commandId: new Uint8Array(16).fill(6),
      tenant: acme,
      userId: userId('alice'),
      deviceId: 1 as never,
      issuedAt: clock,
    });
    serverKey.fill(0);
    await expect(publishOrganisationObject(ctx, acme, legacy, { actor: 'operator' })).rejects.toMatchObject({
      code: 'ERR_DECODE',
    });
    // 5. A genuine administrator's user layer naming archive (only the tenant layer may).
    const archiveForAlice = await forge(
      provider(),
      org.owner.key.privateKey,
      org.owner.certificate,
      layer(1, {
        layer: 'user',
        target: 'alice',
        document: {
          archive: { enabled: true, locked: true, config: { publicKey: b64(new Uint8Array(32).fill(9)) } },
        },
      }),
    );
    const r5 = await asAdmin(t, org.owner, 'POST', '/admin/v1/organisation/policy-layers', {
      object: b64(archiveForAlice),
    });
    expect([r5.status, r5.json.error.code]).toEqual([403, 'ERR_FORBIDDEN']);
    // 6. Another tenant's genuine object.
    const globexLayer = await sign(provider(), other.owner, { ...body, tenant: globex });
    const r6 = await asAdmin(t, org.owner, 'POST', '/admin/v1/organisation/policy-layers', {
      object: b64(globexLayer),
    });
    expect(r6.status).toBe(400);

    expect(
      await ctx.stores.policies.get({ kind: 'user', tenant: acme, user: userId('alice') }),
    ).toBeUndefined();
    expect(await ctx.stores.organisation.sequence(acme, 'policy-layer')).toBe(0);
    expect(await ctx.stores.organisation.sequence(acme, 'wipe')).toBe(0);
    expect(await auditCount(acme)).toBe(auditBefore);
  });

  it("requires the caller's own certificate, a growing sequence, the route's kind and archive.key for the archive", async () => {
    const ctx = t.server.context;
    const tenantLayer = (sequence: number, enabled: boolean) =>
      layer(sequence, {
        layer: 'tenant',
        target: null,
        document: { 'files.send': { enabled, locked: false } },
      });
    const mine = await sign(provider(), org.admin, tenantLayer(5, false));
    // The owner presents the admin's object: refused.
    const wrong = await asAdmin(t, org.owner, 'POST', '/admin/v1/organisation/policy-layers', {
      object: b64(mine),
    });
    expect([wrong.status, wrong.json.error.code]).toEqual([403, 'ERR_FORBIDDEN']);
    // A broadcast on the policy route: refused.
    const broadcast = await sign(provider(), org.admin, {
      kind: 'broadcast',
      tenant: acme,
      issuedAtMs: clock,
      sequence: 1,
      payload: { broadcastId: new Uint8Array(16).fill(2), audience: { kind: 'tenant' }, text: 'x' },
    });
    expect(
      (
        await asAdmin(t, org.admin, 'POST', '/admin/v1/organisation/policy-layers', {
          object: b64(broadcast),
        })
      ).status,
    ).toBe(400);
    const ok = await asAdmin(t, org.admin, 'POST', '/admin/v1/organisation/policy-layers', {
      object: b64(mine),
    });
    expect(ok.status).toBe(201);
    expect(ok.json).toEqual({ kind: 'policy-layer', sequence: 5, scope: 'policy-layer/tenant' });
    expect((await ctx.stores.policies.get({ kind: 'tenant', tenant: acme }))?.document).toEqual({
      'files.send': { enabled: false, locked: false },
    });
    // The same object again, an older one, an equal sequence: refused.
    for (const sequence of [5, 4]) {
      const old = await sign(provider(), org.admin, tenantLayer(sequence, true));
      const res = await asAdmin(t, org.admin, 'POST', '/admin/v1/organisation/policy-layers', {
        object: b64(old),
      });
      expect([res.status, res.json.error.code]).toEqual([409, 'ERR_CONFLICT']);
    }
    expect(
      (await asAdmin(t, org.admin, 'POST', '/admin/v1/organisation/policy-layers', { object: b64(mine) }))
        .status,
    ).toBe(409);
    expect(
      (await asAdmin(t, org.owner, 'GET', '/admin/v1/organisation')).json.sequences['policy-layer'],
    ).toBe(6);

    // The archive key: the admin role signs it validly but lacks archive.key.
    const archive = (sequence: number, who = org.admin) =>
      sign(
        provider(),
        who,
        layer(sequence, {
          layer: 'tenant',
          target: null,
          document: {
            archive: { enabled: true, locked: true, config: { publicKey: b64(new Uint8Array(32).fill(4)) } },
          },
        }),
      );
    const byAdmin = await asAdmin(t, org.admin, 'POST', '/admin/v1/organisation/policy-layers', {
      object: b64(await archive(6)),
    });
    expect(byAdmin.status).toBe(403);
    clock += 6 * 60_000;
    await login(t, acme, `admin@${acme}.example`, org.admin, clock);
    const stale = await asAdmin(t, org.owner, 'POST', '/admin/v1/organisation/policy-layers', {
      object: b64(await archive(6, org.owner)),
    });
    expect(stale.status).toBe(403);
    await stepUp(org.owner);
    const byOwner = await asAdmin(t, org.owner, 'POST', '/admin/v1/organisation/policy-layers', {
      object: b64(await archive(6, org.owner)),
    });
    expect(byOwner.status).toBe(201);
    expect((await ctx.stores.policies.get({ kind: 'tenant', tenant: acme }))?.document.archive?.enabled).toBe(
      true,
    );
    const audit = await ctx.stores.audit.list(acme, { fromSeq: 1, limit: 1000 });
    expect(
      audit.filter((r) => r.action === 'organisation.policy-layer').map((r) => r.details.sequence),
    ).toEqual([5, 6]);

    const listed = await asAdmin(t, org.owner, 'GET', '/admin/v1/organisation/policy-layers');
    expect(listed.status).toBe(200);
    expect(listed.json.layers).toHaveLength(1);
    expect(listed.json.layers[0]).toMatchObject({ layer: 'tenant', target: null, sequence: 6 });
  });

  it('serves each device the layers and live delegations that concern it (no broadcasts: they travel end to end), and applies pool rules', async () => {
    const ctx = t.server.context;
    await ctx.stores.users.create(acme, userId('alice'), { displayName: 'Alice', pools: [ward] });
    await ctx.stores.users.create(acme, userId('bob'), { displayName: 'Bob', pools: [lab] });
    const alice = await setUpDevice(ctx, acme, 'alice', 1);
    const bob = await setUpDevice(ctx, acme, 'bob', 1);
    const doc = (enabled: boolean) => ({ 'files.send': { enabled, locked: false } });
    let seq = 10;
    const publish = async (payload: Parameters<typeof layer>[1]) => {
      const bytes = await sign(provider(), org.admin, layer(seq++, payload));
      const res = await asAdmin(t, org.admin, 'POST', '/admin/v1/organisation/policy-layers', {
        object: b64(bytes),
      });
      expect(res.status).toBe(201);
      return b64(bytes);
    };
    const wardLayer = await publish({ layer: 'pool', target: 'ward', document: doc(true) });
    const labLayer = await publish({ layer: 'pool', target: 'lab', document: doc(false) });
    const aliceLayer = await publish({ layer: 'user', target: 'alice', document: doc(true) });
    const bobLayer = await publish({ layer: 'user', target: 'bob', document: doc(true) });
    const tenantLayer = (await ctx.stores.organisation.get(acme, 'policy-layer', 'policy-layer/tenant'))
      ?.bytes;

    const broadcastOf = async (sequence: number, audience: BroadcastAudience, text: string) => {
      const bytes = await sign(provider(), org.admin, {
        kind: 'broadcast',
        tenant: acme,
        issuedAtMs: clock,
        sequence,
        payload: { broadcastId: new Uint8Array(16).fill(sequence), audience, text },
      });
      const res = await asAdmin(t, org.admin, 'POST', '/admin/v1/broadcasts', {
        object: b64(bytes),
        envelopes: [],
      });
      expect(res.status).toBe(200);
      return res.json.broadcastId as string;
    };
    const all = await broadcastOf(1, { kind: 'tenant' }, 'to everyone');
    const labOnly = await broadcastOf(2, { kind: 'pools', pools: [lab] }, 'to the lab');
    const aliceOnly = await broadcastOf(3, { kind: 'users', users: [userId('alice')] }, 'to alice');

    // A delegation to another key than the tenant's server key is refused; one to it is served.
    const delegation = (sequence: number, key: Uint8Array, notAfterMs: number) =>
      sign(provider(), org.owner, {
        kind: 'certificate-delegation',
        tenant: acme,
        issuedAtMs: clock,
        sequence,
        payload: { serverSigningPublicKey: key, notBeforeMs: clock - 1000, notAfterMs },
      });
    await stepUp(org.owner);
    const wrongKey = await asAdmin(t, org.owner, 'POST', '/admin/v1/organisation/delegations', {
      object: b64(await delegation(1, new Uint8Array(32).fill(8), clock + DAY)),
    });
    expect([wrongKey.status, wrongKey.json.error.code]).toEqual([400, 'ERR_VALIDATION']);
    const short = await delegation(1, tenantKey, clock + 10 * 60_000);
    expect(
      (await asAdmin(t, org.owner, 'POST', '/admin/v1/organisation/delegations', { object: b64(short) }))
        .status,
    ).toBe(201);
    const long = await delegation(2, tenantKey, clock + 2 * DAY);
    expect(
      (await asAdmin(t, org.owner, 'POST', '/admin/v1/organisation/delegations', { object: b64(long) }))
        .status,
    ).toBe(201);

    const policyOf = async (credential: Uint8Array) => {
      const res = await t.request('GET', '/v1/policy', { credential });
      expect(res.status).toBe(200);
      return res.json;
    };
    const a = await policyOf(alice.credential);
    expect(a.organisation.layers).toEqual([b64(tenantLayer as Uint8Array), wardLayer, aliceLayer]);
    expect(a.organisation.broadcasts).toEqual([]);
    expect(a.organisation.delegations).toEqual([b64(long), b64(short)]);
    expect(a.features['files.send']).toEqual({ enabled: true });
    const b = await policyOf(bob.credential);
    expect(b.organisation.layers).toEqual([b64(tenantLayer as Uint8Array), labLayer, bobLayer]);
    expect(b.organisation.broadcasts).toEqual([]);
    // What is served verifies against the root a device pinned.
    for (const object of [
      ...a.organisation.layers,
      ...a.organisation.broadcasts,
      ...a.organisation.delegations,
    ]) {
      await verifyOrganisationObject(provider(), fromB64(object), {
        rootPublicKey: org.root.publicKey,
        tenant: acme,
        now: clock,
      });
    }
    // The server keeps no broadcast object (only ids and counts) and the old publish path refuses one.
    expect((await ctx.stores.organisation.list(acme, 'broadcast')).items).toEqual([]);
    for (const id of [all, labOnly, aliceOnly]) {
      const counts = await asAdmin(t, org.admin, 'GET', `/admin/v1/broadcasts/${id}`);
      expect(counts.json).toMatchObject({ broadcastId: id, devices: 0, delivered: 0, read: 0 });
    }

    // An expired delegation is no longer served, nor reported.
    clock += 11 * 60_000;
    expect((await policyOf(alice.credential)).organisation.delegations).toEqual([b64(long)]);
    await login(t, acme, `owner@${acme}.example`, org.owner, clock);
    const view = await asAdmin(t, org.owner, 'GET', '/admin/v1/organisation');
    expect(view.json.delegation).toEqual(decodeDelegationWindow(b64(long)));

    // Pool rules: the ward may reach the lab; the lab nobody.
    const rules = await sign(provider(), org.admin, {
      kind: 'pool-rules',
      tenant: acme,
      issuedAtMs: clock,
      sequence: 1,
      payload: { rules: [{ pool: ward, mayContact: [lab] }] },
    });
    await login(t, acme, `admin@${acme}.example`, org.admin, clock);
    expect(
      (await asAdmin(t, org.admin, 'PUT', '/admin/v1/organisation/pool-rules', { object: b64(rules) }))
        .status,
    ).toBe(201);
    expect((await ctx.stores.pools.get(acme, ward))?.mayContact).toEqual([lab]);
    expect((await ctx.stores.pools.get(acme, lab))?.mayContact).toEqual([]);

    // A tenant without a root gets no organisation field.
    const rootless = await setUpDevice(ctx, tenantId('rootless'), 'zed', 1);
    expect((await policyOf(rootless.credential)).organisation).toBeUndefined();
  });

  it('admits devices for users of the tenant only, through integrations too', async () => {
    const ctx = t.server.context;
    const identity = await generateDeviceIdentity(provider());
    const pub = toPublicIdentity(identity);
    const admission = (user: string, sequence: number) =>
      sign(provider(), org.admin, {
        kind: 'device-admission',
        tenant: acme,
        issuedAtMs: clock,
        sequence,
        payload: { user: userId(user), deviceId: 4 as never, identity: pub },
      });
    const ok = await asAdmin(t, org.admin, 'POST', '/admin/v1/organisation/admissions', {
      object: b64(await admission('alice', 1)),
    });
    expect(ok.status).toBe(201);
    expect(ok.json.scope).toBe('device-admission/alice');
    const nobody = await asAdmin(t, org.admin, 'POST', '/admin/v1/organisation/admissions', {
      object: b64(await admission('nobody', 2)),
    });
    expect(nobody.status).toBe(404);
    const stored = await ctx.stores.organisation.get(acme, 'device-admission', 'device-admission/alice');
    expect(decodeOrganisationObject(stored?.bytes as Uint8Array).sequence).toBe(1);
  });
});

function decodeDelegationWindow(object: string) {
  const o = decodeOrganisationObject(fromB64(object));
  if (o.kind !== 'certificate-delegation') throw new Error('not a delegation');
  return { notBeforeMs: o.payload.notBeforeMs, notAfterMs: o.payload.notAfterMs };
}
