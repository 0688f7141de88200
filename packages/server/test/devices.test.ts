/**
 * `GET /v1/users/:userId/devices` and `GET /v1/users/:userId/devices/:deviceId/bundle`
 * (spec/server-devices.md, R22): the listing hands out published bundles without taking a single
 * one-time prekey, the single-device fetch takes one of each atomically, and both follow the
 * bundles route's authorization (same tenant, not blocked, pool rules, own other devices).
 */
import {
  type CryptoProvider,
  type DeviceIdentity,
  deviceId,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  kemPreKeyId,
  oneTimePreKeyId,
  registrationId,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
  verifyPreKeyBundle,
} from '@cloister/crypto';
import {
  decodePreKeyBundle,
  encodePreKeyBundle,
  type MailboxId,
  type PoolId,
  poolId,
  type TenantId,
  tenantId,
  userId,
} from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialHash } from '../src/auth.js';
import type { ServerContext } from '../src/context.js';
import { deliveryTokenAdmits } from '../src/delivery-access.js';
import { newMailboxId } from '../src/delivery-token.js';
import { deviceRoutes } from '../src/routes/devices.js';
import { keyRoutes } from '../src/routes/keys.js';
import { startTestServer, type TestResponse, type TestServer } from './helpers/server.js';

let t: TestServer;
let ctx: ServerContext;
let provider: CryptoProvider;

interface Dev {
  readonly tenant: TenantId;
  readonly user: string;
  readonly id: number;
  readonly identity: DeviceIdentity;
  readonly credential: Uint8Array;
  readonly mailbox: MailboxId;
  readonly registrationId: number;
}

const acme = tenantId('acme');
const other = tenantId('other');
const mkt = poolId('marketing');
const ops = poolId('operations');
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
let nextReg = 2000;

async function addUser(tenant: TenantId, user: string, pools: PoolId[] = []): Promise<void> {
  await ctx.stores.users.create(tenant, userId(user), { displayName: user, pools });
}

async function addDevice(tenant: TenantId, user: string, id: number): Promise<Dev> {
  const identity = await generateDeviceIdentity(provider);
  const credential = await provider.randomBytes(32);
  const mailbox = await newMailboxId(provider);
  const reg = nextReg++;
  await ctx.stores.devices.add(tenant, userId(user), deviceId(id), {
    identity: toPublicIdentity(identity),
    registrationId: registrationId(reg),
    mailbox,
    credentialHash: await credentialHash(ctx, credential),
  });
  return { tenant, user, id, identity, credential, mailbox, registrationId: reg };
}

async function publish(dev: Dev, oneTime: number): Promise<void> {
  const spk = toSignedPreKeyPublic(await generateSignedPreKey(provider, dev.identity, signedPreKeyId(1)));
  const kem = toKemPreKeyPublic(
    await generateKemPreKey(provider, dev.identity, kemPreKeyId(900_000), { lastResort: true }),
  );
  const body = encodePreKeyBundle({
    registrationId: registrationId(dev.registrationId),
    deviceId: deviceId(dev.id),
    identity: toPublicIdentity(dev.identity),
    signedPreKey: spk,
    kemPreKey: kem,
    suites: ['v2'],
    suitesIssuedAt: 1_700_000_000_000,
    suitesSignature: await signSuites(provider, dev.identity, ['v2'], {
      signedPreKeyId: spk.id,
      issuedAt: 1_700_000_000_000,
    }),
  });
  const res = await t.request('PUT', '/v1/keys/signed', { body, credential: dev.credential });
  expect(res.status).toBe(204);
  if (oneTime === 0) return;
  const pre = await generateOneTimePreKeys(provider, oneTimePreKeyId(1), oneTime);
  const kems = [];
  for (let i = 0; i < oneTime; i++) {
    kems.push(
      toKemPreKeyPublic(
        await generateKemPreKey(provider, dev.identity, kemPreKeyId(1 + i), { lastResort: false }),
      ),
    );
  }
  const up = await t.request('POST', '/v1/keys/one-time', {
    json: {
      preKeys: pre.map(toOneTimePreKeyPublic).map((k) => ({ id: k.id, publicKey: b64(k.publicKey) })),
      kemPreKeys: kems.map((k) => ({ id: k.id, publicKey: b64(k.publicKey), signature: b64(k.signature) })),
    },
    credential: dev.credential,
  });
  expect(up.status).toBe(200);
}

async function count(dev: Dev): Promise<{ preKeys: number; kemPreKeys: number }> {
  const res = await t.request('GET', '/v1/keys/count', { credential: dev.credential });
  expect(res.status).toBe(200);
  return { preKeys: res.json.preKeys, kemPreKeys: res.json.kemPreKeys };
}

const list = (caller: Dev, user: string): Promise<TestResponse> =>
  t.request('GET', `/v1/users/${encodeURIComponent(user)}/devices`, { credential: caller.credential });
const one = (caller: Dev, user: string, id: number | string): Promise<TestResponse> =>
  t.request('GET', `/v1/users/${encodeURIComponent(user)}/devices/${id}/bundle`, {
    credential: caller.credential,
  });

let alice1: Dev;
let alice2: Dev;
let alice3: Dev; // blocked
let alice4: Dev; // never published
let bob: Dev;
let mia: Dev; // marketing, may contact operations
let oscar: Dev; // operations
let carol: Dev; // other tenant

beforeAll(async () => {
  t = await startTestServer({ extraRoutes: [keyRoutes, deviceRoutes] });
  ctx = t.server.context;
  provider = ctx.provider;
  const s = ctx.stores;
  await s.tenants.create(acme, { name: 'ACME', signingKey: new Uint8Array(32).fill(7) });
  await s.tenants.create(other, { name: 'Other', signingKey: new Uint8Array(32).fill(8) });
  await s.pools.put(acme, mkt, { name: 'Marketing', mayContact: [ops] });
  await s.pools.put(acme, ops, { name: 'Operations' });
  await addUser(acme, 'alice');
  await addUser(acme, 'bob');
  await addUser(acme, 'mia', [mkt]);
  await addUser(acme, 'oscar', [ops]);
  await addUser(other, 'carol');
  alice1 = await addDevice(acme, 'alice', 1);
  alice2 = await addDevice(acme, 'alice', 2);
  alice3 = await addDevice(acme, 'alice', 3);
  alice4 = await addDevice(acme, 'alice', 4);
  bob = await addDevice(acme, 'bob', 1);
  mia = await addDevice(acme, 'mia', 1);
  oscar = await addDevice(acme, 'oscar', 1);
  carol = await addDevice(other, 'carol', 1);
  await publish(alice1, 2);
  await publish(alice2, 2);
  await publish(alice3, 1);
  for (const d of [bob, mia, carol]) await publish(d, 0);
  await publish(oscar, 3);
  await s.devices.update(acme, userId('alice'), deviceId(3), { blocked: true });
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('GET /v1/users/:userId/devices', () => {
  it('lists published, unblocked devices with verifying bundles and takes no one-time prekey', async () => {
    const before = [await count(alice1), await count(alice2)];
    const res = await list(bob, 'alice');
    expect(res.status).toBe(200);
    const devices = res.json.devices as {
      deviceId: number;
      registrationId: number;
      mailbox: string;
      deliveryToken: string;
      bundle: string;
    }[];
    expect(devices.map((d) => d.deviceId)).toEqual([1, 2]);
    for (const [i, d] of devices.entries()) {
      const dev = [alice1, alice2][i] as Dev;
      expect(d.registrationId).toBe(dev.registrationId);
      expect(d.mailbox).toBe(dev.mailbox);
      expect(
        await deliveryTokenAdmits(
          ctx,
          dev.mailbox,
          new Uint8Array(Buffer.from(d.deliveryToken, 'base64url')),
        ),
      ).toBe(true);
      const bundle = decodePreKeyBundle(Buffer.from(d.bundle, 'base64url'));
      expect(bundle.oneTimePreKey).toBeUndefined();
      expect(bundle.kemPreKey.lastResort).toBe(true);
      await verifyPreKeyBundle(provider, bundle, { expectedIdentity: toPublicIdentity(dev.identity) });
    }
    // A second listing hands out the same bundles: nothing was taken.
    const again = (await list(bob, 'alice')).json.devices as { bundle: string }[];
    expect(again.map((d) => d.bundle)).toEqual(devices.map((d) => d.bundle));
    expect([await count(alice1), await count(alice2)]).toEqual(before);
    expect(before[0]).toEqual({ preKeys: 2, kemPreKeys: 2 });
  });

  it("leaves out the caller's own device but lists their other devices", async () => {
    const res = await list(alice1, 'alice');
    expect(res.status).toBe(200);
    expect(res.json.devices.map((d: { deviceId: number }) => d.deviceId)).toEqual([2]);
    expect(alice4.id).toBe(4); // alice4 never published: absent above
  });

  it('follows the pool rules, tenants and blocked users like the bundles route', async () => {
    expect((await list(mia, 'oscar')).status).toBe(200);
    const refused = await list(oscar, 'mia');
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe('ERR_FORBIDDEN');
    expect((await list(bob, 'mia')).status).toBe(403);
    expect((await list(mia, 'bob')).status).toBe(403);
    expect((await list(bob, 'carol')).status).toBe(404);
    expect((await list(carol, 'alice')).status).toBe(404);
    expect((await list(bob, 'nobody')).status).toBe(404);
    expect((await t.request('GET', '/v1/users/alice/devices')).status).toBe(401);
    expect(await count(oscar)).toEqual({ preKeys: 3, kemPreKeys: 3 });
  });
});

describe('GET /v1/users/:userId/devices/:deviceId/bundle', () => {
  it('takes one one-time prekey of each kind per fetch', async () => {
    const res = await one(mia, 'oscar', 1);
    expect(res.status).toBe(200);
    expect(res.json.deviceId).toBe(1);
    expect(res.json.mailbox).toBe(oscar.mailbox);
    const bundle = decodePreKeyBundle(Buffer.from(res.json.bundle, 'base64url'));
    expect(bundle.oneTimePreKey).toBeDefined();
    expect(bundle.kemPreKey.lastResort).toBe(false);
    await verifyPreKeyBundle(provider, bundle, { expectedIdentity: toPublicIdentity(oscar.identity) });
    expect(await count(oscar)).toEqual({ preKeys: 2, kemPreKeys: 2 });
    const second = decodePreKeyBundle(Buffer.from((await one(mia, 'oscar', 1)).json.bundle, 'base64url'));
    expect(second.oneTimePreKey?.id).not.toBe(bundle.oneTimePreKey?.id);
    expect(await count(oscar)).toEqual({ preKeys: 1, kemPreKeys: 1 });
  });

  it('answers 404 for an unknown, blocked, unpublished or own device and 403 across pools', async () => {
    for (const [caller, user, id] of [
      [bob, 'alice', 9],
      [bob, 'alice', 3],
      [bob, 'alice', 4],
      [alice1, 'alice', 1],
    ] as const) {
      const res = await one(caller, user, id);
      expect(res.status, `${user}/${id}`).toBe(404);
      expect(res.json.error.code).toBe('ERR_NOT_FOUND');
    }
    expect(await ctx.stores.bundles.countOneTime(acme, userId('alice'), deviceId(3))).toEqual({
      preKeys: 1,
      kemPreKeys: 1,
    });
    expect((await one(alice1, 'alice', 2)).status).toBe(200);
    expect((await one(oscar, 'mia', 1)).status).toBe(403);
    expect((await one(bob, 'alice', 'x')).status).toBe(400);
    expect((await one(bob, 'alice', '4294967296')).status).toBe(400);
  });
});
