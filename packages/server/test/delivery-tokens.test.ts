/**
 * Delivery tokens v2 (issue 13, attack 4; spec/server-delivery.md §1a): tokens expire, name the
 * sender's class and not the sender, and stop working at once when what allowed them changes.
 * Each attack runs against a real server: tokens fetched through `GET /v1/users/:id/devices`
 * with the sender's credential, sealed envelopes submitted anonymously to `POST /v1/messages`.
 * With `DATABASE_URL` set the server runs on PostgreSQL (a schema unique to this file, dropped
 * afterwards), else on PGlite.
 */
import { randomBytes } from 'node:crypto';
import {
  deviceId,
  issueSenderCertificate,
  type SenderCertificate,
  sealEnvelope,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import {
  encodeSealedDelivery,
  type PoolId,
  poolId,
  type TenantId,
  tenantId,
  userId,
} from '@cloister/protocol';
import { createMemoryAdapter } from '@cloister/storage';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_DELIVERY_TOKEN_LIFETIME_MS,
  DELIVERY_TOKEN_BYTES,
  DELIVERY_TOKEN_EXPIRY_STEP_MS,
  MAX_DELIVERY_TOKEN_LIFETIME_MS,
  MIN_DELIVERY_TOKEN_LIFETIME_MS,
} from '../src/delivery-token.js';
import { createServer } from '../src/server.js';
import { createServerStores, type SignedPreKeys, senderClassOf } from '../src/store/index.js';
import { setUpDevice, type TestDevice } from './helpers/device-client.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const DATABASE_URL = process.env.DATABASE_URL || undefined;
const schema = `t_tokens_${randomBytes(8).toString('hex')}`;
const acme: TenantId = tenantId('acme');
const ward = poolId('ward');
const lab = poolId('lab');
const shop = poolId('shop');

let t: TestServer;
let clock: number;
let certificate: SenderCertificate;
let counter = 0;

const fill = (n: number, v: number) => new Uint8Array(n).fill(v);

/** A user (in `pools`) with one device whose (unverified, test-only) signed prekeys are published. */
async function member(name: string, pools: PoolId[] = []): Promise<TestDevice> {
  const ctx = t.server.context;
  await ctx.stores.users.create(acme, userId(name), { displayName: name, pools });
  const device = await setUpDevice(ctx, acme, name, 1);
  // Only the directory listing needs a published part; nothing here opens a session.
  const signed = {
    signedPreKey: { id: 1 as never, publicKey: fill(32, 3), signature: fill(64, 3) },
    lastResortKemPreKey: {
      id: 9 as never,
      publicKey: fill(1184, 4),
      lastResort: true,
      signature: fill(64, 4),
    },
    suites: ['v2'],
    suitesIssuedAt: 1_700_000_000_000,
    suitesSignature: fill(64, 5),
  };
  await ctx.stores.bundles.setSigned(acme, userId(name), deviceId(1), signed as unknown as SignedPreKeys);
  return device;
}

/** `caller`'s fetch of `target`'s directory: the HTTP status and the first device's token. */
async function fetchToken(
  caller: TestDevice,
  target: TestDevice,
): Promise<{ status: number; token?: Uint8Array }> {
  const res = await t.request('GET', `/v1/users/${target.user}/devices`, { credential: caller.credential });
  if (res.status !== 200) return { status: res.status };
  const entry = (res.json.devices as { mailbox: string; deliveryToken: string }[]).find(
    (d) => d.mailbox === target.mailbox,
  );
  if (entry === undefined) throw new Error('no entry for the target device');
  return { status: 200, token: new Uint8Array(Buffer.from(entry.deliveryToken, 'base64url')) };
}

async function tokenFor(caller: TestDevice, target: TestDevice): Promise<Uint8Array> {
  const { status, token } = await fetchToken(caller, target);
  expect(status).toBe(200);
  return token as Uint8Array;
}

/** Submits one sealed envelope to `to` carrying `token`, anonymously; the delivery's result. */
async function submit(to: TestDevice, token: Uint8Array): Promise<{ status: string; reason?: string }> {
  const envelope = await sealEnvelope(t.server.context.provider, {
    recipientPublicKey: to.dh.publicKey,
    mailbox: utf8(to.mailbox),
    deliveryToken: token,
    certificate,
    contentType: 1,
    body: utf8(`message ${counter++}`),
  });
  const res = await t.request('POST', '/v1/messages', {
    body: encodeSealedDelivery({ messageId: new Uint8Array(randomBytes(16)), envelope }),
  });
  expect(res.status).toBe(200);
  const [result] = res.json.results as { status: string; reason?: string }[];
  return { status: result?.status ?? '', ...(result?.reason === undefined ? {} : { reason: result.reason }) };
}

const REFUSED = { status: 'refused', reason: 'token' };
const ACCEPTED = { status: 'accepted' };

beforeAll(async () => {
  // A clock the tests move; it starts one minute into an expiry step.
  clock = Math.ceil(Date.now() / DELIVERY_TOKEN_EXPIRY_STEP_MS) * DELIVERY_TOKEN_EXPIRY_STEP_MS + 60_000;
  t = await startTestServer({
    now: () => clock,
    ...(DATABASE_URL === undefined ? {} : { database: DATABASE_URL, databaseSchema: schema }),
  });
  const ctx = t.server.context;
  const tenantKey = await ctx.provider.ed25519.generateKeyPair();
  await ctx.stores.tenants.create(acme, { name: 'ACME', signingKey: tenantKey.publicKey });
  // lab may reach ward; shop may reach nobody but itself.
  await ctx.stores.pools.put(acme, ward, { name: 'Ward' });
  await ctx.stores.pools.put(acme, lab, { name: 'Lab', mayContact: [ward] });
  await ctx.stores.pools.put(acme, shop, { name: 'Shop' });
  // The sender certificate does not matter to the server (it is sealed); it stays valid throughout.
  certificate = await issueSenderCertificate(ctx.provider, tenantKey.privateKey, {
    userId: 'whoever',
    deviceId: 1,
    identitySigningKey: (await ctx.provider.ed25519.generateKeyPair()).publicKey,
    identityDhKey: (await ctx.provider.x25519.generateKeyPair()).publicKey,
    tenantId: 'acme',
    pools: [],
    expiresAt: clock + 10 * 3_600_000,
  });
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

describe('attack 4: blocked and separated users keep delivering', () => {
  it('(1) a blocked user’s already-fetched token stops working at once, long before its certificate expires', async () => {
    const ctx = t.server.context;
    const alice = await member('alice1');
    const bob = await member('bob1');
    const token = await tokenFor(alice, bob);
    expect(await submit(bob, token)).toEqual(ACCEPTED);

    await ctx.stores.users.update(acme, userId('alice1'), { blocked: true });
    expect(await submit(bob, token)).toEqual(REFUSED);
    expect(await ctx.stores.mailboxes.count(bob.mailbox)).toBe(1);
    // And she gets no new one.
    expect((await fetchToken(alice, bob)).status).toBe(403);

    // Blocking only her device (a lost phone) has the same effect on the tokens it holds.
    await ctx.stores.users.update(acme, userId('alice1'), { blocked: false });
    const again = await tokenFor(alice, bob);
    expect(await submit(bob, again)).toEqual(ACCEPTED);
    await ctx.stores.devices.update(acme, userId('alice1'), deviceId(1), { blocked: true });
    expect(await submit(bob, again)).toEqual(REFUSED);
    expect(await ctx.stores.mailboxes.count(bob.mailbox)).toBe(2);
    expect(clock).toBeLessThan(certificate.expiresAt);
  });

  it('(2) a user moved into a pool that may not reach the recipient can no longer deliver with tokens fetched before', async () => {
    const ctx = t.server.context;
    const carl = await member('carl2', [lab]);
    const rita = await member('rita2', [ward]);
    const token = await tokenFor(carl, rita);
    expect(await submit(rita, token)).toEqual(ACCEPTED);

    await ctx.stores.users.update(acme, userId('carl2'), { pools: [shop] });
    expect(await submit(rita, token)).toEqual(REFUSED);
    expect((await fetchToken(carl, rita)).status).toBe(403);

    // The recipient moving away has the same effect on the tokens others hold for her.
    const lena = await member('lena2', [lab]);
    const forRita = await tokenFor(lena, rita);
    await ctx.stores.users.update(acme, userId('rita2'), { pools: [shop] });
    expect(await submit(rita, forRita)).toEqual(REFUSED);
    expect((await fetchToken(lena, rita)).status).toBe(403);
    expect(await ctx.stores.mailboxes.count(rita.mailbox)).toBe(1);
  });

  it('(2) a change of the pool rules makes every token of the tenant stale', async () => {
    const ctx = t.server.context;
    const lars = await member('lars2', [lab]);
    const wren = await member('wren2', [ward]);
    const token = await tokenFor(lars, wren);
    await ctx.stores.pools.put(acme, lab, { name: 'Lab' }); // lab may no longer reach ward
    try {
      expect(await submit(wren, token)).toEqual(REFUSED);
      expect((await fetchToken(lars, wren)).status).toBe(403);
    } finally {
      await ctx.stores.pools.put(acme, lab, { name: 'Lab', mayContact: [ward] });
    }
  });

  it('(3) a token of a pool-A member is refused to a pool-B member who re-labels it, and dies with the giver’s access', async () => {
    const ctx = t.server.context;
    const amy = await member('amy3', [lab]); // lab may reach ward
    const bea = await member('bea3', [shop]); // shop may not
    const rob = await member('rob3', [ward]);
    expect((await fetchToken(bea, rob)).status).toBe(403);
    const amys = await tokenFor(amy, rob);

    // Bea cannot make a token of her own class out of Amy's: the class is under the MAC.
    const relabelled = amys.slice();
    relabelled.set(senderClassOf(acme, [shop]), 9);
    expect(await submit(rob, relabelled)).toEqual(REFUSED);
    // Nor forge one: any changed byte is refused.
    for (const at of [0, 1, 8, 9, 24, 25, DELIVERY_TOKEN_BYTES - 1]) {
      const forged = amys.slice();
      forged[at] = (forged[at] as number) ^ 1;
      expect(await submit(rob, forged), `byte ${at}`).toEqual(REFUSED);
    }
    expect(await ctx.stores.mailboxes.count(rob.mailbox)).toBe(0);

    // What the design cannot stop (spec/server-delivery.md §1a, SECURITY.md): a token Amy gives
    // away works for whoever holds it — the server never learns who submits — until it expires or
    // Amy's class loses its access. Amy could as well relay Bea's messages herself.
    expect(await submit(rob, amys)).toEqual(ACCEPTED);
    await ctx.stores.users.update(acme, userId('amy3'), { blocked: true });
    expect(await submit(rob, amys)).toEqual(REFUSED);
    expect(await ctx.stores.mailboxes.count(rob.mailbox)).toBe(1);
  });

  it('(4) an expired token is refused, and its expiry cannot be extended', async () => {
    const ctx = t.server.context;
    const dora = await member('dora4');
    const eli = await member('eli4');
    const token = await tokenFor(dora, eli);
    const expiresAt = Number(Buffer.from(token.subarray(1, 9)).readBigUInt64BE());
    // Expiry: a multiple of the step, between lifetime − step and lifetime from now.
    expect(expiresAt % DELIVERY_TOKEN_EXPIRY_STEP_MS).toBe(0);
    expect(expiresAt).toBeLessThanOrEqual(clock + DEFAULT_DELIVERY_TOKEN_LIFETIME_MS);
    expect(expiresAt).toBeGreaterThan(
      clock + DEFAULT_DELIVERY_TOKEN_LIFETIME_MS - DELIVERY_TOKEN_EXPIRY_STEP_MS,
    );

    const extended = token.slice();
    Buffer.from(extended.buffer, extended.byteOffset).writeBigUInt64BE(
      BigInt(expiresAt + DEFAULT_DELIVERY_TOKEN_LIFETIME_MS),
      1,
    );
    const saved = clock;
    try {
      clock = expiresAt - 1;
      expect(await submit(eli, token)).toEqual(ACCEPTED);
      clock = expiresAt;
      expect(await submit(eli, token)).toEqual(REFUSED);
      expect(await submit(eli, extended)).toEqual(REFUSED);
      // A fresh fetch works again.
      expect(await submit(eli, await tokenFor(dora, eli))).toEqual(ACCEPTED);
    } finally {
      clock = saved;
    }
    expect(await ctx.stores.mailboxes.count(eli.mailbox)).toBe(2);
  });

  it('(5) an unrelated change makes a token stale; the sender refreshes and delivers', async () => {
    const ctx = t.server.context;
    const fay = await member('fay5');
    const gus = await member('gus5');
    await member('zed5');
    const token = await tokenFor(fay, gus);
    // Zed, in Fay's class (the open area), is blocked: every token of the class goes stale.
    await ctx.stores.users.update(acme, userId('zed5'), { blocked: true });
    expect(await submit(gus, token)).toEqual(REFUSED);
    expect(await submit(gus, await tokenFor(fay, gus))).toEqual(ACCEPTED);
  });
});

describe('what a token tells the server', () => {
  it('names the class, not the sender: two members of a class get the same bytes in one expiry step', async () => {
    const hal = await member('hal6', [lab]);
    const ida = await member('ida6', [lab]);
    const jon = await member('jon6', [ward]);
    const kai = await member('kai6', [lab, ward]);
    const a = await tokenFor(hal, jon);
    const b = await tokenFor(ida, jon);
    expect(a).toHaveLength(DELIVERY_TOKEN_BYTES);
    expect(a[0]).toBe(2);
    expect(Buffer.from(a)).toEqual(Buffer.from(b));
    expect(Buffer.from(a.subarray(9, 25))).toEqual(Buffer.from(senderClassOf(acme, [lab])));
    // Another class, another token.
    const c = await tokenFor(kai, jon);
    expect(Buffer.from(c.subarray(9, 25))).toEqual(Buffer.from(senderClassOf(acme, [lab, ward])));
    expect(Buffer.from(c)).not.toEqual(Buffer.from(a));
  });

  it('counts concurrent bumps of one class on the server’s database (no token survives either change)', async () => {
    const ctx = t.server.context;
    const cls = senderClassOf(acme, [shop]);
    const before = await ctx.stores.deliveryEpochs.get(acme, userId('nobody'), cls);
    await ctx.stores.users.create(acme, userId('sam7'), { displayName: 'Sam', pools: [shop] });
    await ctx.stores.users.create(acme, userId('sue7'), { displayName: 'Sue', pools: [shop] });
    await Promise.all([
      ctx.stores.users.update(acme, userId('sam7'), { blocked: true }),
      ctx.stores.users.update(acme, userId('sue7'), { blocked: true }),
    ]);
    const after = await ctx.stores.deliveryEpochs.get(acme, userId('nobody'), cls);
    expect(after.senderClass).toBe(before.senderClass + 2);
  });

  it('keeps the lifetime within bounds', async () => {
    for (const bad of [
      MIN_DELIVERY_TOKEN_LIFETIME_MS - 1,
      MAX_DELIVERY_TOKEN_LIFETIME_MS + 1,
      1.5,
      Number.NaN,
    ]) {
      await expect(createServer({ deliveryTokenLifetimeMs: bad, logLevel: 'silent' })).rejects.toBeInstanceOf(
        ValidationError,
      );
    }
  });
});

describe('epoch bumps in the stores', () => {
  let stores: ReturnType<typeof createServerStores>;
  const open = senderClassOf(acme, []);
  const wardClass = senderClassOf(acme, [ward]);
  const epochs = (user: string, cls: Uint8Array) => stores.deliveryEpochs.get(acme, userId(user), cls);

  beforeEach(async () => {
    stores = createServerStores(createMemoryAdapter());
    await stores.tenants.create(acme, { name: 'ACME', signingKey: fill(32, 7) });
    await stores.pools.put(acme, ward, { name: 'Ward' });
    await stores.users.create(acme, userId('u'), { displayName: 'U' });
    await setUpStoreDevice();
  });

  async function setUpStoreDevice() {
    await stores.devices.add(acme, userId('u'), deviceId(1), {
      identity: { signingKey: fill(32, 1), dhKey: fill(32, 2), dhKeySignature: fill(64, 3) },
      registrationId: 1 as never,
      mailbox: 'mbx_AAAAAAAAAAAAAAAAAAAAAA' as never,
      credentialHash: fill(32, 9),
    });
  }

  it('bumps the user and the class left behind when pools or blocks change, and nothing else', async () => {
    const start = await epochs('u', open);
    await stores.users.update(acme, userId('u'), { displayName: 'Renamed' });
    expect(await epochs('u', open)).toEqual(start);
    await stores.users.update(acme, userId('u'), { pools: [ward] });
    const moved = await epochs('u', open);
    expect(moved).toEqual({ tenant: start.tenant, user: start.user + 1, senderClass: start.senderClass + 1 });
    // Leaving ward bumps ward's class; the open area's stays.
    await stores.users.update(acme, userId('u'), { pools: [] });
    expect((await epochs('u', wardClass)).senderClass).toBe(1);
    expect((await epochs('u', open)).senderClass).toBe(moved.senderClass);
    await stores.users.update(acme, userId('u'), { blocked: true });
    await stores.users.update(acme, userId('u'), { blocked: true }); // no change, no bump
    expect(await epochs('u', open)).toEqual({
      tenant: start.tenant,
      user: moved.user + 2,
      senderClass: moved.senderClass + 1,
    });
  });

  it('bumps the class when a device is blocked, unblocked or removed, and the tenant when pools change', async () => {
    const start = await epochs('u', open);
    await stores.devices.update(acme, userId('u'), deviceId(1), { blocked: true });
    await stores.devices.update(acme, userId('u'), deviceId(1), { blocked: false });
    await stores.devices.update(acme, userId('u'), deviceId(1), { credentialHash: fill(32, 10) });
    expect((await epochs('u', open)).senderClass).toBe(start.senderClass + 2);
    await stores.devices.remove(acme, userId('u'), deviceId(1));
    expect((await epochs('u', open)).senderClass).toBe(start.senderClass + 3);
    await stores.pools.put(acme, lab, { name: 'Lab', mayContact: [ward] });
    await stores.pools.delete(acme, lab);
    expect((await epochs('u', open)).tenant).toBe(start.tenant + 2);
    await stores.deliveryEpochs.bumpTenant(acme);
    expect((await epochs('u', open)).tenant).toBe(start.tenant + 3);
    await stores.users.delete(acme, userId('u'));
    expect(await epochs('u', open)).toEqual({
      tenant: start.tenant + 3,
      user: start.user + 1,
      senderClass: start.senderClass + 4,
    });
  });

  it('a concurrent pair of bumps of a new row counts twice', async () => {
    await stores.users.create(acme, userId('v'), { displayName: 'V', pools: [ward] });
    await stores.users.create(acme, userId('w'), { displayName: 'W', pools: [ward] });
    await Promise.all([
      stores.users.update(acme, userId('v'), { blocked: true }),
      stores.users.update(acme, userId('w'), { blocked: true }),
    ]);
    expect((await epochs('v', wardClass)).senderClass).toBe(2);
  });
});
