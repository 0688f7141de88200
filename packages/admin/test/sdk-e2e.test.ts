/**
 * The SDK end to end against a real server (createServer on an embedded PGlite database, HTTPS,
 * the pinned transport): the operator creates a tenant, the owner logs in with TOTP, generates and
 * registers the organisation root, delegates, publishes a tenant policy with an archive key,
 * broadcasts, invites a user with an enrolment code the SDK checked, reads the storage usage; the typed errors come from
 * the real answers; a client holding another root refuses the server's statements; a wrong pin
 * refuses the connection; the audit export streams.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { NetworkError } from '@cloister/client';
import {
  deviceId,
  ForbiddenError,
  getProvider,
  InvalidKeyError,
  UnauthenticatedError,
  ValidationError,
} from '@cloister/crypto';
import { blobId, tenantId, userId, verifyOrganisationObject } from '@cloister/protocol';
import { type CloisterServer, createServer, generateSelfSigned, spkiPin } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminClient,
  ConflictError,
  type CreateTenantAnswer,
  type GeneratedOrganisation,
  generateOrganisation,
  NotFoundError,
  parseEnrolmentCode,
  signBroadcast,
  signDelegation,
  signPolicyLayer,
} from '../src/index.js';
import { pinnedTransport } from '../src/node.js';
import { totpCode } from './totp.js';

const OPERATOR_TOKEN = randomBytes(32).toString('base64url');
const PASSWORD = 'owner password 1234';
const ARCHIVE_KEY = Buffer.alloc(32, 5).toString('base64url');

describe('@cloister/admin against a running server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-admin-e2e-'));
  let server: CloisterServer;
  let url: string;
  let created: CreateTenantAnswer;
  let owner: AdminClient;
  let token: string;
  let org: GeneratedOrganisation;
  const provider = getProvider();

  beforeAll(async () => {
    server = await createServer({ dataDir: dir, logLevel: 'silent', operatorToken: OPERATOR_TOKEN });
    url = await server.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const transport = () => pinnedTransport({ url, pin: server.pin });

  it('refuses a server whose key does not match the pin, before sending anything', async () => {
    const wrong = new AdminClient({
      transport: pinnedTransport({ url, pin: `sha256/${Buffer.alloc(32, 1).toString('base64')}` }),
      credential: { kind: 'operator', token: OPERATOR_TOKEN },
    });
    await expect(wrong.listTenants()).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
  });

  it('a pinned server that accepts the request and never answers is a NetworkError (ETIMEDOUT)', async () => {
    const { cert, key } = await generateSelfSigned();
    const held: TLSSocket[] = [];
    const silent = createTlsServer({ cert, key, ALPNProtocols: ['http/1.1'] }, (s) => held.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const admin = new AdminClient({
        transport: pinnedTransport({ url: `https://127.0.0.1:${port}`, pin: spkiPin(cert), timeoutMs: 300 }),
        credential: { kind: 'operator', token: OPERATOR_TOKEN },
      });
      const failure = await admin.listTenants().catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(NetworkError);
      expect(failure).toMatchObject({ code: 'ETIMEDOUT' });
    } finally {
      for (const s of held) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('the operator creates a tenant; a wrong operator token is UnauthenticatedError', async () => {
    const bad = new AdminClient({
      transport: transport(),
      credential: { kind: 'operator', token: 'A'.repeat(43) },
    });
    await expect(bad.listTenants()).rejects.toBeInstanceOf(UnauthenticatedError);
    const operator = new AdminClient({
      transport: transport(),
      credential: { kind: 'operator', token: OPERATOR_TOKEN },
    });
    created = await operator.createTenant({
      id: 'acme',
      name: 'ACME',
      owner: { email: 'olivia@acme.example', name: 'Olivia', password: PASSWORD },
    });
    expect(created.tenant).toMatchObject({ id: 'acme', rootFingerprint: null });
    await expect(
      operator.createTenant({
        id: 'acme',
        name: 'Again',
        owner: { email: 'x@acme.example', name: 'X', password: PASSWORD },
      }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect((await operator.listTenants()).items.map((t) => t.id)).toContain('acme');
  });

  it('the owner logs in with TOTP; a wrong code is UnauthenticatedError, a bad body ValidationError', async () => {
    const p = await provider;
    const login = (totp: string) =>
      AdminClient.login(
        { transport: transport(), provider: p },
        {
          tenant: 'acme',
          email: 'olivia@acme.example',
          password: PASSWORD,
          totp,
        },
      );
    await expect(login(totpCode(created.owner.totpUri, 4))).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(login('12')).rejects.toBeInstanceOf(ValidationError);
    const { client, session } = await login(totpCode(created.owner.totpUri));
    expect(session).toMatchObject({ tenant: 'acme', admin: created.owner.admin, role: 'owner' });
    expect((await client.whoami()).permissions).toContain('root.operate');
    owner = client;
    token = session.token;
  });

  it('generates the organisation, registers it once, and then checks every root statement', async () => {
    org = await generateOrganisation(await provider, { tenant: 'acme', admin: created.owner.admin });
    const { fingerprint } = await owner.setOrganisationRoot(org.root.publicKey, org.owner.certificate);
    expect(fingerprint).toBe(org.rootFingerprint);
    await expect(owner.setOrganisationRoot(org.root.publicKey, org.owner.certificate)).rejects.toMatchObject({
      constraint: 'organisation-root',
    });
    const checked = new AdminClient({
      transport: transport(),
      credential: { kind: 'session', token },
      organisationRoot: org.root.publicKey,
      provider: await provider,
    });
    expect((await checked.getOrganisation()).rootFingerprint).toBe(org.rootFingerprint);
    // An administrator holding another root sees that the server's root is not theirs.
    const other = await generateOrganisation(await provider, { tenant: 'acme', admin: created.owner.admin });
    const misled = new AdminClient({
      transport: transport(),
      credential: { kind: 'session', token },
      organisationRoot: other.root.publicKey,
      provider: await provider,
    });
    await expect(misled.getOrganisation()).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(misled.inviteUser({ user: 'mallory' })).rejects.toBeInstanceOf(InvalidKeyError);
    owner = checked;
  });

  it('signs and publishes a delegation and a tenant policy with an archive key, signs a broadcast; each verifies', async () => {
    const signer = { provider: await provider, key: org.owner, client: owner };
    const delegation = await signDelegation(signer);
    const results = [
      delegation,
      await signPolicyLayer(
        signer,
        { layer: 'tenant' },
        {
          archive: { enabled: true, locked: true, config: { publicKey: ARCHIVE_KEY } },
        },
      ),
      // A broadcast is signed here; admin.broadcasts.send seals and submits it (broadcast-e2e).
      await signBroadcast(signer, { audience: { kind: 'tenant' }, text: 'Welcome to ACME' }),
    ];
    for (const r of results) {
      const o = await verifyOrganisationObject(await provider, r.object, {
        rootPublicKey: org.root.publicKey,
        tenant: tenantId('acme'),
        now: Date.now(),
      });
      expect(o.sequence).toBe(r.sequence);
    }
    const state = await owner.getOrganisation();
    expect(state.sequences['certificate-delegation']).toBe(2);
    expect(state.delegation).toMatchObject({ notAfterMs: delegation.notAfterMs });
    // The user layer may not carry the archive: refused by the signer before anything is sent.
    await expect(
      signPolicyLayer(
        signer,
        { layer: 'user', target: 'alice' },
        {
          archive: { enabled: true, locked: true, config: { publicKey: ARCHIVE_KEY } },
        },
      ),
    ).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('invites a user with an enrolment code computed and checked locally', async () => {
    const invite = await owner.inviteUser({ user: 'alice', displayName: 'Alice' });
    expect(invite.rootVerified).toBe(true);
    expect(parseEnrolmentCode(invite.enrolmentCode as string)).toEqual({
      token: invite.token,
      rootFingerprint: org.rootFingerprint,
    });
    expect((await owner.getUser('alice')).displayName).toBe('Alice');
    await expect(owner.getUser('nobody')).rejects.toBeInstanceOf(NotFoundError);
  });

  it("reads the tenant's storage usage, which moves with a blob upload and its delete", async () => {
    const tenant = tenantId(created.tenant.id);
    const before = await owner.usage();
    expect(before.blobs).toEqual({ bytes: 0, count: 0 });
    expect(before.archive).toEqual({ bytes: 0, count: 0 });
    expect(before.quotas).toEqual({
      tenantMaxBytes: server.context.limits.tenantMaxBytes,
      blobMaxBytesPerDevice: server.context.limits.blobMaxBytesPerDevice,
      blobMaxCountPerDevice: server.context.limits.blobMaxCountPerDevice,
      mailboxMaxEnvelopes: server.context.limits.mailboxMaxEnvelopes,
      mailboxMaxBytes: server.context.limits.mailboxMaxBytes,
    });
    // A device's upload as the blob route makes it (the owner counted, never stored with the blob).
    const uploader = { tenant, user: userId('alice'), device: deviceId(1) };
    const id = blobId('b_sdk_usage');
    await server.context.stores.blobs.begin(id, 70_000, Date.now() + 3_600_000, { owner: uploader });
    expect((await owner.usage()).blobs).toEqual({ bytes: 70_000, count: 1 });
    await server.context.stores.blobs.delete(id, uploader);
    expect((await owner.usage()).blobs).toEqual({ bytes: 0, count: 0 });
  });

  it('streams the audit export and verifies the chain; logout ends the session', async () => {
    const actions: string[] = [];
    for await (const record of owner.exportAudit()) if ('action' in record) actions.push(record.action);
    expect(actions).toContain('organisation.root');
    expect(await owner.verifyAudit()).toMatchObject({ ok: true });
    await owner.logout();
    await expect(owner.whoami()).rejects.toBeInstanceOf(UnauthenticatedError);
  });
});
