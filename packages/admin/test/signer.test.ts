/**
 * The signer of @cloister/admin against the protocol's verifier: every kind signed through the SDK
 * verifies under the root `generateOrganisation` made (and under no other root), with the sequence
 * the server named; a sequence conflict is retried exactly once; the protocol's rules are applied
 * before anything is sent.
 */
import {
  createNobleProvider,
  deviceId,
  ForbiddenError,
  generateDeviceIdentity,
  toPublicIdentity,
} from '@cloister/crypto';
import {
  decodeAdminCertificate,
  generateOrganisationRoot,
  tenantId,
  verifyAdminCertificate,
  verifyOrganisationObject,
} from '@cloister/protocol';
import { describe, expect, it } from 'vitest';
import {
  AdminClient,
  adminSigningKey,
  ConflictError,
  certifyAdministrator,
  generateOrganisation,
  type OrganisationSigner,
  signBroadcast,
  signDelegation,
  signDeviceAdmission,
  signPolicyLayer,
  signPoolRules,
  signWipe,
} from '../src/index.js';
import { fakeServer } from './fake-server.js';

const provider = createNobleProvider();
const tenant = tenantId('acme');
const ARCHIVE_KEY = Buffer.alloc(32, 9).toString('base64url');

async function setUp() {
  const org = await generateOrganisation(provider, { tenant: 'acme', admin: 'adm_owner' });
  const server = fakeServer();
  const client = new AdminClient({
    transport: server.transport,
    credential: { kind: 'session', token: 't' },
    provider,
  });
  const signer: OrganisationSigner = { provider, key: org.owner, client };
  const verify = (object: Uint8Array) =>
    verifyOrganisationObject(provider, object, {
      rootPublicKey: org.root.publicKey,
      tenant,
      now: Date.now(),
    });
  return { org, server, client, signer, verify };
}

describe('generateOrganisation', () => {
  it('certifies a separate owner key under the new root, valid now, with a random serial', async () => {
    const { org } = await setUp();
    const cert = decodeAdminCertificate(org.owner.certificate);
    await verifyAdminCertificate(provider, cert, {
      rootPublicKey: org.root.publicKey,
      tenant,
      validAt: [Date.now()],
    });
    expect(cert.role).toBe('owner');
    expect(cert.admin).toBe('adm_owner');
    expect(Buffer.from(cert.adminPublicKey).equals(Buffer.from(org.root.publicKey))).toBe(false);
    expect(cert.serial).toBeGreaterThan(0);
    expect(org.rootFingerprint).toMatch(/^cloister-root:v1:[A-Za-z0-9_-]{43}$/);
  });

  it('certifies another administrator; adminSigningKey refuses a certificate of another key', async () => {
    const { org } = await setUp();
    const carol = await provider.ed25519.generateKeyPair();
    const certificate = await certifyAdministrator(provider, org.root.privateKey, {
      tenant: 'acme',
      admin: 'adm_carol',
      role: 'admin',
      adminPublicKey: carol.publicKey,
      validityMs: 86_400_000,
    });
    const key = await adminSigningKey(provider, carol.privateKey, certificate, org.root.publicKey);
    expect(key.role).toBe('admin');
    const other = await provider.ed25519.generateKeyPair();
    await expect(
      adminSigningKey(provider, other.privateKey, certificate, org.root.publicKey),
    ).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
    });
    await expect(
      certifyAdministrator(provider, org.root.privateKey, {
        tenant: 'acme',
        admin: 'adm_carol',
        role: 'admin',
        adminPublicKey: carol.publicKey,
        validityMs: 401 * 86_400_000,
      }),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
  });
});

describe('signing every kind', () => {
  it('signs each kind with the next sequence; each verifies under the root and refuses under another', async () => {
    const { org, server, signer, verify } = await setUp();
    server.sequences.wipe = 41;
    const identity = toPublicIdentity(await generateDeviceIdentity(provider));
    const results = [
      await signPolicyLayer(
        signer,
        { layer: 'tenant' },
        {
          archive: { enabled: true, locked: true, config: { publicKey: ARCHIVE_KEY } },
        },
      ),
      await signPolicyLayer(
        signer,
        { layer: 'user', target: 'alice' },
        { files: { enabled: false, locked: true } },
      ),
      await signWipe(signer, { user: 'alice', device: 2 }),
      await signPoolRules(signer, { 'ward-3': ['pharmacy'], pharmacy: ['ward-3'] }),
      await signDeviceAdmission(signer, { user: 'alice', device: 3, identity }),
      await signDelegation(signer),
    ];
    expect(results.map((r) => r.kind)).toEqual([
      'policy-layer',
      'policy-layer',
      'wipe',
      'pool-rules',
      'device-admission',
      'certificate-delegation',
    ]);
    expect(results[2]?.sequence).toBe(41);
    const other = await generateOrganisationRoot(provider);
    for (const r of results) {
      const o = await verify(r.object);
      expect(o.sequence).toBe(r.sequence);
      expect(o.certificate.admin).toBe('adm_owner');
      await expect(
        verifyOrganisationObject(provider, r.object, {
          rootPublicKey: other.publicKey,
          tenant,
          now: Date.now(),
        }),
      ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    }
    const wipe = await verify(results[2]?.object as Uint8Array);
    if (wipe.kind !== 'wipe') throw new Error('kind');
    expect(wipe.payload).toMatchObject({ user: 'alice', deviceId: deviceId(2) });
    expect(Buffer.from(wipe.payload.commandId).toString('base64url')).toBe(
      (results[2] as unknown as { commandId: string }).commandId,
    );
    expect(server.published[2]?.path).toBe('/admin/v1/users/alice/devices/2/wipe');
    // A broadcast is only signed here (it travels end to end: admin.broadcasts.send).
    const signed = await signBroadcast(signer, {
      audience: { kind: 'users', users: ['bob', 'alice', 'bob'] },
      text: 'Hello',
    });
    const broadcast = await verify(signed.object);
    if (broadcast.kind !== 'broadcast') throw new Error('kind');
    expect(broadcast.payload.audience).toEqual({ kind: 'users', users: ['alice', 'bob'] });
    expect(Buffer.from(broadcast.payload.broadcastId).toString('base64url')).toBe(signed.broadcastId);
    expect(broadcast.sequence).toBe(signed.sequence);
    expect(server.published.some((p) => p.path === '/admin/v1/broadcasts')).toBe(false);
    const delegation = await verify(results[5]?.object as Uint8Array);
    if (delegation.kind !== 'certificate-delegation') throw new Error('kind');
    expect(Buffer.from(delegation.payload.serverSigningPublicKey).toString('base64url')).toBe(
      server.serverSigningKey,
    );
    expect(delegation.payload.notAfterMs - delegation.payload.notBeforeMs).toBe(7 * 86_400_000);
    expect(org.owner.tenant).toBe('acme');
  });

  it('retries once with a new sequence after a 409, and gives up after a second', async () => {
    const { server, signer, verify } = await setUp();
    server.conflictOnce = true;
    const r = await signPoolRules(signer, { 'ward-3': [] });
    expect(r.sequence).toBe(2);
    expect((await verify(r.object)).sequence).toBe(2);
    const gets = server.requests.filter((q) => q.path === '/admin/v1/organisation').length;
    expect(gets).toBe(2);
    // Two conflicts in a row: the second is thrown.
    const stubborn = fakeServer();
    const always = new AdminClient({
      transport: async (request) => {
        const response = await stubborn.transport(request);
        if (request.method !== 'GET') stubborn.conflictOnce = true;
        return response;
      },
      provider,
    });
    stubborn.conflictOnce = true;
    await expect(signPoolRules({ ...signer, client: always }, {})).rejects.toBeInstanceOf(ConflictError);
    expect(stubborn.published).toHaveLength(0);
  });

  it('refuses before sending: a user-layer archive, a kind the role may not sign', async () => {
    const { org, server, signer } = await setUp();
    await expect(
      signPolicyLayer(
        signer,
        { layer: 'user', target: 'alice' },
        {
          archive: { enabled: true, locked: true, config: { publicKey: ARCHIVE_KEY } },
        },
      ),
    ).rejects.toBeInstanceOf(ForbiddenError);
    const manager = await provider.ed25519.generateKeyPair();
    const certificate = await certifyAdministrator(provider, org.root.privateKey, {
      tenant: 'acme',
      admin: 'adm_manager',
      role: 'user-manager',
      adminPublicKey: manager.publicKey,
    });
    const key = await adminSigningKey(provider, manager.privateKey, certificate, org.root.publicKey);
    await expect(signWipe({ ...signer, key }, { user: 'alice', device: 2 })).rejects.toBeInstanceOf(
      ForbiddenError,
    );
    await expect(signDelegation({ ...signer, key })).rejects.toBeInstanceOf(ForbiddenError);
    expect(server.published).toHaveLength(0);
  });
});
