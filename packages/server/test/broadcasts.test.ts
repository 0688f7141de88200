/**
 * The broadcast routes on the server (spec/broadcast.md §4, §6): what `POST /admin/v1/broadcasts`
 * refuses and writes nothing for (no root, an object of another root, forged, of another kind, of
 * another administrator's certificate, an old sequence, other bytes under a known id), what it
 * refuses per envelope (not an organisation envelope, a delivery token, another device's mailbox,
 * a blocked device, a user outside the audience, a device of another tenant), that a resent batch
 * is a duplicate, the audience page, and receipts counted once per device and state.
 */
import { openOrganisationEnvelope, sealOrganisationEnvelopes } from '@cloister/crypto';
import {
  type BroadcastAudience,
  generateOrganisationRoot,
  poolId,
  type TenantId,
  tenantId,
  userId,
} from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminAuthRoutes } from '../src/admin/index.js';
import { broadcastRoutes } from '../src/routes/broadcasts.js';
import { createTenant } from '../src/tenants.js';
import { setUpDevice, type TestDevice } from './helpers/device-client.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import {
  asAdmin,
  b64,
  certify,
  organisation,
  organisationRoutes,
  setRoot,
  sign,
  type TestOrganisation,
} from './organisation-helpers.js';

const acme: TenantId = tenantId('acme');
const globex: TenantId = tenantId('globex');
let t: TestServer;
const clock = 1_800_000_000_000;
let org: TestOrganisation;
let devices: Record<'alice' | 'bob' | 'carol', TestDevice>;
let foreign: TestDevice;

const ctx = () => t.server.context;

async function broadcast(sequence: number, audience: BroadcastAudience, id = sequence): Promise<Uint8Array> {
  return sign(ctx().provider, org.admin, {
    kind: 'broadcast',
    tenant: acme,
    issuedAtMs: clock,
    sequence,
    payload: { broadcastId: new Uint8Array(16).fill(id), audience, text: 'Fire drill at 10:00' },
  });
}

async function envelopeFor(object: Uint8Array, to: TestDevice, mailbox = to.mailbox, token = 0) {
  const [e] = await sealOrganisationEnvelopes(ctx().provider, {
    recipients: [
      {
        publicKey: to.dh.publicKey,
        mailbox: new TextEncoder().encode(mailbox),
        deliveryToken: new Uint8Array(token),
      },
    ],
    object,
  });
  return b64(e as Uint8Array);
}

const send = (object: Uint8Array, envelopes: { user: string; device: number; envelope: string }[]) =>
  asAdmin(t, org.admin, 'POST', '/admin/v1/broadcasts', { object: b64(object), envelopes });

beforeAll(async () => {
  t = await startTestServer({
    now: () => clock,
    extraRoutes: [
      createAdminAuthRoutes({ loginsPerAccount: 1000, loginsPerAddress: 10_000 }),
      organisationRoutes,
      broadcastRoutes,
    ],
  });
  await createTenant(ctx(), { id: acme, name: 'ACME' });
  await createTenant(ctx(), { id: globex, name: 'Globex' });
  await ctx().stores.pools.put(acme, poolId('icu'), { name: 'ICU' });
  org = await organisation(t, acme, clock);
  await ctx().stores.users.create(acme, userId('alice'), { displayName: 'Alice', pools: [poolId('icu')] });
  devices = {
    alice: await setUpDevice(ctx(), acme, 'alice', 1),
    bob: await setUpDevice(ctx(), acme, 'bob', 1),
    carol: await setUpDevice(ctx(), acme, 'carol', 1),
  };
  foreign = await setUpDevice(ctx(), globex, 'alice', 7);
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('POST /admin/v1/broadcasts', () => {
  it('refuses, writing nothing, without a root, under another root, another kind or certificate', async () => {
    const object = await broadcast(1, { kind: 'tenant' });
    const early = await send(object, []);
    expect([early.status, early.json.error.code]).toEqual([409, 'ERR_CONFLICT']);
    expect((await setRoot(t, org)).status).toBe(201);
    // An object under the operator's own root and certificate.
    const root = await generateOrganisationRoot(ctx().provider);
    const key = await ctx().provider.ed25519.generateKeyPair();
    const operatorCert = await certify(
      ctx().provider,
      root.privateKey,
      acme,
      org.admin.id,
      key.publicKey,
      'admin',
      clock,
      9,
    );
    const { signOrganisationObject } = await import('@cloister/protocol');
    const forged = await signOrganisationObject(ctx().provider, key.privateKey, operatorCert, {
      kind: 'broadcast',
      tenant: acme,
      issuedAtMs: clock,
      sequence: 1,
      payload: { broadcastId: new Uint8Array(16).fill(9), audience: { kind: 'tenant' }, text: 'evil' },
    });
    const refused = await send(forged, [
      { user: 'alice', device: 1, envelope: await envelopeFor(forged, devices.alice) },
    ]);
    expect([refused.status, refused.json.error.code]).toEqual([400, 'ERR_INVALID_KEY']);
    // The owner's broadcast sent by the admin: not the caller's certificate.
    const owners = await sign(ctx().provider, org.owner, {
      kind: 'broadcast',
      tenant: acme,
      issuedAtMs: clock,
      sequence: 1,
      payload: { broadcastId: new Uint8Array(16).fill(8), audience: { kind: 'tenant' }, text: 'x' },
    });
    expect((await send(owners, [])).status).toBe(403);
    // Another kind.
    const layer = await sign(ctx().provider, org.admin, {
      kind: 'policy-layer',
      tenant: acme,
      issuedAtMs: clock,
      sequence: 1,
      payload: { layer: 'tenant', target: null, document: {} },
    });
    expect((await send(layer, [])).json.error).toMatchObject({ code: 'ERR_VALIDATION' });
    expect(await ctx().stores.organisation.sequence(acme, 'broadcast')).toBe(0);
    expect(await ctx().stores.mailboxes.list(devices.alice.mailbox)).toMatchObject({ items: [] });
  });

  it('queues envelopes for devices of the audience, refuses the rest one by one, and a resent batch is a duplicate', async () => {
    const object = await broadcast(1, { kind: 'pools', pools: [poolId('icu')] });
    const answer = await send(object, [
      { user: 'alice', device: 1, envelope: await envelopeFor(object, devices.alice) },
      { user: 'bob', device: 1, envelope: await envelopeFor(object, devices.bob) }, // not in icu
      { user: 'alice', device: 1, envelope: await envelopeFor(object, devices.alice, devices.bob.mailbox) },
      {
        user: 'alice',
        device: 1,
        envelope: await envelopeFor(object, devices.alice, devices.alice.mailbox, 57),
      },
      { user: 'alice', device: 7, envelope: await envelopeFor(object, foreign) }, // another tenant's device
    ]);
    expect(answer.status).toBe(200);
    expect(answer.json.results.map((r: { status: string; reason?: string }) => r.reason ?? r.status)).toEqual(
      ['queued', 'audience', 'envelope', 'envelope', 'device'],
    );
    const id = answer.json.broadcastId as string;
    // The envelope in Alice's mailbox opens to the signed object.
    const page = await ctx().stores.mailboxes.list(devices.alice.mailbox);
    expect(page.items).toHaveLength(1);
    const opened = await openOrganisationEnvelope(ctx().provider, {
      recipientPrivateKey: devices.alice.dh.privateKey,
      bytes: page.items[0]!.envelope,
    });
    expect(opened.object).toEqual(object);
    // Sent again: a duplicate, nothing more queued, no more devices counted.
    const again = await send(object, [
      { user: 'alice', device: 1, envelope: await envelopeFor(object, devices.alice) },
    ]);
    expect(again.json.results).toEqual([{ user: 'alice', device: 1, status: 'duplicate' }]);
    expect((await ctx().stores.mailboxes.list(devices.alice.mailbox)).items).toHaveLength(1);
    // Other bytes under the same id: refused. An older sequence: refused.
    const other = await sign(ctx().provider, org.admin, {
      kind: 'broadcast',
      tenant: acme,
      issuedAtMs: clock + 1,
      sequence: 1,
      payload: { broadcastId: new Uint8Array(16).fill(1), audience: { kind: 'tenant' }, text: 'changed' },
    });
    expect((await send(other, [])).json.error).toMatchObject({ code: 'ERR_CONFLICT' });
    expect((await send(await broadcast(1, { kind: 'tenant' }, 2), [])).json.error).toMatchObject({
      code: 'ERR_CONFLICT',
    });
    const counts = await asAdmin(t, org.admin, 'GET', `/admin/v1/broadcasts/${id}`);
    expect(counts.json).toMatchObject({ devices: 1, delivered: 0, read: 0, sequence: 1 });
    // A blocked device is refused.
    const next = await broadcast(2, { kind: 'tenant' });
    await ctx().stores.devices.update(acme, userId('carol'), devices.carol.device as never, {
      blocked: true,
    });
    const blocked = await send(next, [
      { user: 'carol', device: 1, envelope: await envelopeFor(next, devices.carol) },
    ]);
    expect(blocked.json.results).toEqual([{ user: 'carol', device: 1, status: 'refused', reason: 'device' }]);
    await ctx().stores.devices.update(acme, userId('carol'), devices.carol.device as never, {
      blocked: false,
    });
    // The audit log names the broadcast and counts devices, nothing else.
    const records = (await ctx().stores.audit.list(acme)).filter((r) => r.action === 'broadcast.send');
    expect(records.map((r) => [r.target, r.details])).toContainEqual([id, { devices: 1 }]);

    // Receipts: counted once per device and state, only for a device the broadcast was queued for.
    const receipt = (d: TestDevice, state: string, broadcastId = id) =>
      t.request('POST', '/v1/broadcasts/receipts', {
        credential: d.credential,
        json: { broadcastId, state },
      });
    expect((await receipt(devices.alice, 'delivered')).status).toBe(204);
    expect((await receipt(devices.alice, 'delivered')).status).toBe(204);
    expect((await receipt(devices.bob, 'read')).status).toBe(404);
    expect((await receipt(devices.alice, 'read')).status).toBe(204);
    expect((await receipt(devices.alice, 'read')).status).toBe(204);
    expect((await receipt(devices.alice, 'opened')).status).toBe(400);
    const after = await asAdmin(t, org.admin, 'GET', `/admin/v1/broadcasts/${id}`);
    expect(after.json).toMatchObject({ devices: 1, delivered: 1, read: 1 });
  });

  it('lists the audience with keys and signed lists; another tenant’s broadcast is 404', async () => {
    const page = await asAdmin(t, org.admin, 'GET', '/admin/v1/broadcasts/audience?pools=icu');
    expect(page.status).toBe(200);
    expect(page.json.users.map((u: { user: string }) => u.user)).toEqual(['alice']);
    expect(page.json.users[0]).toMatchObject({
      deviceList: null,
      devices: [{ device: 1, mailbox: devices.alice.mailbox, dhKey: b64(devices.alice.dh.publicKey) }],
    });
    const all = await asAdmin(t, org.admin, 'GET', '/admin/v1/broadcasts/audience');
    expect(all.json.users.map((u: { user: string }) => u.user).sort()).toEqual(['alice', 'bob', 'carol']);
    expect(
      (await asAdmin(t, org.admin, 'GET', '/admin/v1/broadcasts/audience?pools=icu&users=bob')).status,
    ).toBe(400);
    await ctx().stores.broadcasts.create(globex, {
      id: 'R2xvYmV4R2xvYmV4R2xvYg',
      sequence: 1,
      objectHash: new Uint8Array(32),
      admin: 'adm_globex',
      issuedAtMs: clock,
      createdAt: clock,
    });
    expect((await asAdmin(t, org.admin, 'GET', '/admin/v1/broadcasts/R2xvYmV4R2xvYmV4R2xvYg')).status).toBe(
      404,
    );
  });
});
