/**
 * Remote wipe on the server (R28, spec/remote-wipe.md §5, spec/organisation.md §10): an
 * administrator signs a wipe on their own machine and publishes it through the admin route with a
 * fresh second factor; the server verifies it against the organisation root, blocks the device
 * and stores the signed object; the blocked device can still fetch it and confirm it with a report
 * signed by its identity key; nothing else of the device works, its socket closes with 1008, and
 * no other device can fetch or confirm the wipe. Nothing the operator signs becomes a wipe.
 */
import {
  type CryptoProvider,
  type DeviceIdentity,
  deviceId,
  generateDeviceIdentity,
  registrationId,
  signWipeCommand,
  signWipeReport,
  toPublicIdentity,
} from '@cloister/crypto';
import { type TenantId, tenantId, userId, verifyOrganisationObject } from '@cloister/protocol';
import { Secret } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createAdminAuthRoutes, createHumanAdministrator, createIntegration } from '../src/admin/index.js';
import { authorizationHeader, credentialHash } from '../src/auth.js';
import type { ServerContext } from '../src/context.js';
import { newMailboxId } from '../src/delivery-token.js';
import { publishOrganisationObject } from '../src/organisation/objects.js';
import { keyRoutes } from '../src/routes/keys.js';
import { wipeRoutes } from '../src/routes/wipe.js';
import { createWsRoutes } from '../src/routes/ws.js';
import { createTenant, getTenantSigningKey } from '../src/tenants.js';
import { wipeStatus } from '../src/wipe.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import {
  asAdmin,
  b64,
  certify,
  forge,
  fromB64,
  login,
  organisation,
  organisationRoutes,
  PASSWORD,
  setRoot,
  sign,
  type TestOrganisation,
} from './organisation-helpers.js';

let t: TestServer;
let ctx: ServerContext;
let provider: CryptoProvider;
let org: TestOrganisation;
let globex: TestOrganisation;
let clock = 1_800_000_000_000;
let sequence = 0;
const acme: TenantId = tenantId('acme');

interface Dev {
  readonly tenant: TenantId;
  readonly user: string;
  readonly id: number;
  readonly identity: DeviceIdentity;
  readonly credential: Uint8Array;
}

async function addDevice(user: string, id: number, tenant: TenantId = acme): Promise<Dev> {
  if ((await ctx.stores.users.get(tenant, userId(user))) === undefined) {
    await ctx.stores.users.create(tenant, userId(user), { displayName: user });
  }
  const identity = await generateDeviceIdentity(provider);
  const credential = await provider.randomBytes(32);
  await ctx.stores.devices.add(tenant, userId(user), deviceId(id), {
    identity: toPublicIdentity(identity),
    registrationId: registrationId(id),
    mailbox: await newMailboxId(provider),
    credentialHash: await credentialHash(ctx, credential),
  });
  return { tenant, user, id, identity, credential };
}

const target = (d: Dev) => ({ tenant: d.tenant, user: userId(d.user), device: deviceId(d.id) });
const wipePath = (d: Dev) => `/admin/v1/users/${d.user}/devices/${d.id}/wipe`;

/** A wipe for `d` signed by the owner on "their machine". */
async function signedWipe(d: Dev, commandId = provider.randomBytes(16), who = org.owner) {
  sequence += 1;
  const bytes = await sign(provider, who, {
    kind: 'wipe',
    tenant: acme,
    issuedAtMs: clock,
    sequence,
    payload: { user: userId(d.user), deviceId: deviceId(d.id), commandId },
  });
  return { bytes, commandId: b64(commandId) };
}

/** Signs and publishes a wipe for `d` through the admin route; expects 201. */
async function wipe(d: Dev) {
  const w = await signedWipe(d);
  const res = await asAdmin(t, org.owner, 'POST', wipePath(d), { command: b64(w.bytes) });
  expect(res.status).toBe(201);
  expect(res.json).toEqual({ kind: 'wipe', sequence, scope: `wipe/${d.user}/${d.id}` });
  return w;
}

async function fetchCommand(d: Dev): Promise<string | null> {
  const res = await t.request('GET', '/v1/wipe', { credential: d.credential });
  expect(res.status).toBe(200);
  return res.json.command;
}

async function report(d: Dev, commandId: Uint8Array, signer = d.identity.signingKeyPair.privateKey) {
  const bytes = await signWipeReport(provider, signer, { commandId, wipedAt: 1_800_000_000_000 });
  return t.request('POST', '/v1/wipe/report', { json: { report: b64(bytes) }, credential: d.credential });
}

beforeAll(async () => {
  t = await startTestServer({
    now: () => clock,
    extraRoutes: [
      keyRoutes,
      wipeRoutes,
      createWsRoutes({ recheckMs: 1 }),
      createAdminAuthRoutes({ loginsPerAccount: 1000, loginsPerAddress: 10_000 }),
      organisationRoutes,
    ],
  });
  ctx = t.server.context;
  provider = ctx.provider;
  await createTenant(ctx, { id: acme, name: 'ACME' });
  await createTenant(ctx, { id: tenantId('globex'), name: 'Globex' });
  org = await organisation(t, acme, clock);
  globex = await organisation(t, tenantId('globex'), clock);
  expect((await setRoot(t, org)).status).toBe(201);
  expect((await setRoot(t, globex)).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('remote wipe', () => {
  it('blocks the device, hands it the command the administrator signed and accepts its report', async () => {
    const alice = await addDevice('alice', 1);
    expect((await t.request('GET', '/v1/keys/count', { credential: alice.credential })).status).toBe(200);
    expect(await fetchCommand(alice)).toBeNull();
    const none = await asAdmin(t, org.owner, 'GET', wipePath(alice));
    expect(none.json).toEqual({ state: 'none', commandId: null, issuedAt: null, confirmedAt: null });

    const issued = await wipe(alice);
    const status = await wipeStatus(ctx, target(alice));
    expect(status).toEqual({ state: 'pending', commandId: issued.commandId, issuedAt: clock });
    expect((await ctx.stores.devices.get(acme, userId('alice'), deviceId(1)))?.blocked).toBe(true);
    const normal = await t.request('GET', '/v1/keys/count', { credential: alice.credential });
    expect(normal.status).toBe(403);
    expect(normal.json.error.code).toBe('ERR_FORBIDDEN');

    // The device gets the signed object byte for byte, and it verifies against the pinned root.
    const fetched = await fetchCommand(alice);
    expect(fetched).toBe(b64(issued.bytes));
    const command = await verifyOrganisationObject(provider, fromB64(fetched as string), {
      rootPublicKey: org.root.publicKey,
      tenant: acme,
      now: clock,
    });
    if (command.kind !== 'wipe') throw new Error('not a wipe');
    expect(b64(command.payload.commandId)).toBe(issued.commandId);

    const audit = await ctx.stores.audit.list(acme, { fromSeq: 1, limit: 100 });
    const record = audit.find((r) => r.action === 'device.wipe');
    expect(record).toMatchObject({ actor: org.owner.id, target: 'alice/1', outcome: 'success' });
    expect(record?.details).toMatchObject({ commandId: issued.commandId, signer: org.owner.id });

    expect((await report(alice, command.payload.commandId)).status).toBe(204);
    const confirmed = await wipeStatus(ctx, target(alice));
    expect(confirmed).toMatchObject({ state: 'confirmed', commandId: issued.commandId, confirmedAt: clock });
    expect((await report(alice, command.payload.commandId)).status).toBe(204);
    expect(await wipeStatus(ctx, target(alice))).toEqual(confirmed);
    expect((await asAdmin(t, org.owner, 'GET', wipePath(alice))).json).toEqual({
      state: 'confirmed',
      commandId: issued.commandId,
      issuedAt: clock,
      confirmedAt: clock,
    });
    // A restarted client still learns it was wiped.
    expect(await fetchCommand(alice)).toBe(b64(issued.bytes));
  });

  it('needs a fresh factor, a person allowed to wipe, a device of the tenant and a wipe naming it', async () => {
    const frank = await addDevice('frank', 1);
    const stranger = await addDevice('sam', 1, tenantId('globex'));
    const w = await signedWipe(frank);
    // Another device in the body than in the path.
    const other = await signedWipe(await addDevice('gina', 1));
    const mismatch = await asAdmin(t, org.owner, 'POST', wipePath(frank), { command: b64(other.bytes) });
    expect([mismatch.status, mismatch.json.error.code]).toEqual([400, 'ERR_VALIDATION']);
    // Another tenant's device, and a device that does not exist: 404, never 403.
    expect((await asAdmin(t, org.owner, 'POST', wipePath(stranger), { command: b64(w.bytes) })).status).toBe(
      404,
    );
    expect((await asAdmin(t, org.owner, 'GET', wipePath(stranger))).status).toBe(404);
    expect(
      (await asAdmin(t, org.owner, 'POST', '/admin/v1/users/frank/devices/9/wipe', { command: b64(w.bytes) }))
        .status,
    ).toBe(404);
    // A user-manager may not wipe; an integration key may not either.
    const um = await createHumanAdministrator(
      ctx.stores,
      acme,
      'user-manager',
      { email: 'um@acme.example', name: 'UM', password: PASSWORD },
      { actor: org.owner.id },
    );
    const manager = { ...org.owner, id: um.admin, secret: secretOf(um.totpUri), token: '' };
    await login(t, acme, 'um@acme.example', manager, clock);
    expect((await asAdmin(t, manager, 'POST', wipePath(frank), { command: b64(w.bytes) })).status).toBe(403);
    const key = await createIntegration(
      ctx.stores,
      acme,
      { email: 'k@acme.example', name: 'K', scopes: ['devices.read'] },
      { actor: org.owner.id },
    );
    const byKey = await t.request('POST', wipePath(frank), {
      headers: { authorization: `Cloister-Admin-Key ${key.apiKey}` },
      json: { command: b64(w.bytes) },
    });
    expect(byKey.status).toBe(403); // a valid key, on a route only a person may call
    // A second factor older than five minutes.
    clock += 6 * 60_000;
    const stale = await asAdmin(t, org.owner, 'POST', wipePath(frank), { command: b64(w.bytes) });
    expect([stale.status, stale.json.error.code]).toEqual([403, 'ERR_FORBIDDEN']);
    expect((await wipeStatus(ctx, target(frank))).state).toBe('none');
    expect((await ctx.stores.devices.get(acme, userId('frank'), deviceId(1)))?.blocked).toBe(false);
    clock += 31_000;
    await login(t, acme, `owner@${acme}.example`, org.owner, clock);
    // Signed before the new login, still valid: published now.
    expect((await asAdmin(t, org.owner, 'POST', wipePath(frank), { command: b64(w.bytes) })).status).toBe(
      201,
    );
  });

  it('turns nothing the operator signs into a wipe', async () => {
    const hugo = await addDevice('hugo', 1);
    const serverKey = await getTenantSigningKey(ctx, acme);
    const opRoot = await provider.ed25519.generateKeyPair();
    try {
      // The old tenant-key command format.
      const legacy = await signWipeCommand(provider, serverKey, {
        commandId: provider.randomBytes(16),
        tenant: acme,
        userId: userId('hugo'),
        deviceId: deviceId(1),
        issuedAt: clock,
      });
      // An organisation object signed with the tenant key under a certificate of the operator's own root.
      const cert = await certify(
        provider,
        opRoot.privateKey,
        acme,
        org.owner.id,
        org.owner.key.publicKey,
        'owner',
        clock,
      );
      const opCert = await certify(
        provider,
        opRoot.privateKey,
        acme,
        org.owner.id,
        await provider.ed25519.publicKey(serverKey),
        'owner',
        clock,
      );
      const body = {
        kind: 'wipe' as const,
        tenant: acme,
        issuedAtMs: clock,
        sequence: 1_000_000,
        payload: { user: userId('hugo'), deviceId: deviceId(1), commandId: provider.randomBytes(16) },
      };
      const withServerKey = await forge(provider, serverKey, opCert, body);
      // The owner's genuine certificate carried by the operator's signature.
      const borrowed = await forge(provider, serverKey, org.owner.certificate, body);
      // A certificate of the operator's root for the owner's real key, signed by the server key.
      const mixed = await forge(provider, serverKey, cert, body);
      for (const bytes of [legacy, withServerKey, borrowed, mixed]) {
        const res = await asAdmin(t, org.owner, 'POST', wipePath(hugo), { command: b64(bytes) });
        expect(res.status).toBe(400);
        await expect(publishOrganisationObject(ctx, acme, bytes, { actor: 'operator' })).rejects.toThrow();
      }
    } finally {
      serverKey.fill(0);
    }
    expect(await fetchCommand(hugo)).toBeNull();
    expect((await wipeStatus(ctx, target(hugo))).state).toBe('none');
    expect((await ctx.stores.devices.get(acme, userId('hugo'), deviceId(1)))?.blocked).toBe(false);
  });

  it('refuses a tampered report, a report signed by another key or for another command, changing nothing', async () => {
    const bob = await addDevice('bob', 1);
    const issued = await wipe(bob);
    const commandId = fromB64(issued.commandId);
    const good = await signWipeReport(provider, bob.identity.signingKeyPair.privateKey, {
      commandId,
      wipedAt: 5,
    });
    const tampered = good.slice();
    tampered[tampered.length - 70] = (tampered[tampered.length - 70] ?? 0) ^ 1;
    const res = await t.request('POST', '/v1/wipe/report', {
      json: { report: b64(tampered) },
      credential: bob.credential,
    });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('ERR_FORBIDDEN');
    const stranger = await generateDeviceIdentity(provider);
    expect((await report(bob, commandId, stranger.signingKeyPair.privateKey)).status).toBe(403);
    const other = await report(bob, new Uint8Array(16).fill(3));
    expect(other.status).toBe(403);
    const malformed = await t.request('POST', '/v1/wipe/report', {
      json: { report: b64(good.subarray(1)) },
      credential: bob.credential,
    });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.code).toBe('ERR_DECODE');
    expect((await wipeStatus(ctx, target(bob))).state).toBe('pending');
  });

  it('keeps each device to its own wipe, refuses unknown credentials, and a newer wipe replaces the older', async () => {
    const carol = await addDevice('carol', 1);
    const dave = await addDevice('dave', 1);
    const issued = await wipe(carol);
    expect(await fetchCommand(dave)).toBeNull();
    const commandId = fromB64(issued.commandId);
    // Dave signs a report for Carol's command with his own key: there is no wipe for Dave.
    expect((await report(dave, commandId)).status).toBe(403);
    expect((await wipeStatus(ctx, target(carol))).state).toBe('pending');
    expect((await wipeStatus(ctx, target(dave))).state).toBe('none');
    expect((await t.request('GET', '/v1/keys/count', { credential: dave.credential })).status).toBe(200);
    const unknown = await t.request('GET', '/v1/wipe', { credential: new Uint8Array(32).fill(9) });
    expect(unknown.status).toBe(401);
    expect((await t.request('GET', '/v1/wipe')).status).toBe(401);
    // The same signed wipe again: an old sequence.
    const replay = await asAdmin(t, org.owner, 'POST', wipePath(carol), { command: b64(issued.bytes) });
    expect(replay.status).toBe(409);
    const newer = await wipe(carol);
    expect(await fetchCommand(carol)).toBe(b64(newer.bytes));
    expect(await wipeStatus(ctx, target(carol))).toMatchObject({
      state: 'pending',
      commandId: newer.commandId,
    });
    expect((await report(carol, commandId)).status).toBe(403);
    expect((await report(carol, fromB64(newer.commandId))).status).toBe(204);
  });

  it('closes an open delivery socket of the wiped device with 1008', async () => {
    const erin = await addDevice('erin', 1);
    const ws = new WebSocket(`${t.url.replace('https:', 'wss:')}/v1/ws`, {
      rejectUnauthorized: false,
      headers: { authorization: authorizationHeader(erin.credential) },
    });
    ws.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    });
    await wipe(erin);
    expect(await closed).toBe(1008);
  });
});

function secretOf(uri: string): Uint8Array {
  return new Uint8Array(Secret.fromBase32(new URL(uri).searchParams.get('secret') ?? '').buffer);
}
