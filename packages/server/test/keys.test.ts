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
  type PreKeyBundle,
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
  negotiateSuiteForBundle,
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
const acc = poolId('accounting');

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
let nextReg = 1000;

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

/** When the test devices signed their suite lists. */
const ISSUED_AT = 1_700_000_000_000;

/** The protobuf body of `PUT /v1/keys/signed` for a device. */
async function signedBody(
  dev: Dev,
  options: {
    spkId?: number;
    signer?: DeviceIdentity;
    tamper?: 'spk' | 'kem' | 'suites';
    issuedAt?: number;
    suites?: readonly ('v2' | 'static-v1')[];
  } = {},
): Promise<Uint8Array> {
  const signer = options.signer ?? dev.identity;
  const spk = toSignedPreKeyPublic(
    await generateSignedPreKey(provider, signer, signedPreKeyId(options.spkId ?? 1)),
  );
  const kem = toKemPreKeyPublic(
    await generateKemPreKey(provider, signer, kemPreKeyId(900_000), { lastResort: true }),
  );
  const issuedAt = options.issuedAt ?? ISSUED_AT;
  const suites = options.suites ?? ['v2'];
  const suitesSignature = await signSuites(provider, signer, suites, { signedPreKeyId: spk.id, issuedAt });
  const flip = (sig: Uint8Array) => {
    const s = sig.slice();
    s[0] = (s[0] ?? 0) ^ 1;
    return s;
  };
  const bundle: PreKeyBundle = {
    registrationId: registrationId(dev.registrationId),
    deviceId: deviceId(dev.id),
    identity: toPublicIdentity(signer),
    signedPreKey: options.tamper === 'spk' ? { ...spk, signature: flip(spk.signature) } : spk,
    kemPreKey: options.tamper === 'kem' ? { ...kem, signature: flip(kem.signature) } : kem,
    suites,
    suitesIssuedAt: issuedAt,
    suitesSignature: options.tamper === 'suites' ? flip(suitesSignature) : suitesSignature,
  };
  return encodePreKeyBundle(bundle);
}

/** The JSON body of `POST /v1/keys/one-time`: `n` keys of each kind from id `first`. */
async function oneTimeBody(dev: Dev, first: number, n: number) {
  const pre = await generateOneTimePreKeys(provider, oneTimePreKeyId(first), n);
  const kem = [];
  for (let i = 0; i < n; i++) {
    kem.push(
      toKemPreKeyPublic(
        await generateKemPreKey(provider, dev.identity, kemPreKeyId(first + i), { lastResort: false }),
      ),
    );
  }
  return {
    preKeys: pre.map(toOneTimePreKeyPublic).map((k) => ({ id: k.id, publicKey: b64(k.publicKey) })),
    kemPreKeys: kem.map((k) => ({ id: k.id, publicKey: b64(k.publicKey), signature: b64(k.signature) })),
  };
}

async function publish(dev: Dev, oneTime = 0, first = 1): Promise<void> {
  const res = await t.request('PUT', '/v1/keys/signed', {
    body: await signedBody(dev),
    credential: dev.credential,
  });
  expect(res.status).toBe(204);
  if (oneTime > 0) {
    const up = await t.request('POST', '/v1/keys/one-time', {
      json: await oneTimeBody(dev, first, oneTime),
      credential: dev.credential,
    });
    expect(up.status).toBe(200);
  }
}

function fetchBundles(caller: Dev, user: string): Promise<TestResponse> {
  return t.request('GET', `/v1/users/${encodeURIComponent(user)}/devices/bundles`, {
    credential: caller.credential,
  });
}

async function count(dev: Dev): Promise<{ preKeys: number; kemPreKeys: number }> {
  const res = await t.request('GET', '/v1/keys/count', { credential: dev.credential });
  expect(res.status).toBe(200);
  return { preKeys: res.json.preKeys, kemPreKeys: res.json.kemPreKeys };
}

interface Entry {
  deviceId: number;
  registrationId: number;
  mailbox: string;
  deliveryToken: string;
  bundle: string;
}

// Devices.
let alice1: Dev; // acme, no pools, two devices
let alice2: Dev;
let bob: Dev; // acme, no pools
let mia: Dev; // marketing (may contact operations)
let oscar: Dev; // operations
let anna: Dev; // accounting
let pat: Dev; // accounting + operations
let carol: Dev; // tenant `other`
let quiet: Dev; // acme, no pools, never published keys

beforeAll(async () => {
  t = await startTestServer({ extraRoutes: [keyRoutes] });
  ctx = t.server.context;
  provider = ctx.provider;
  const s = ctx.stores;
  await s.tenants.create(acme, { name: 'ACME', signingKey: new Uint8Array(32).fill(7) });
  await s.tenants.create(other, { name: 'Other', signingKey: new Uint8Array(32).fill(8) });
  await s.pools.put(acme, mkt, { name: 'Marketing', mayContact: [ops] });
  await s.pools.put(acme, ops, { name: 'Operations' });
  await s.pools.put(acme, acc, { name: 'Accounting' });
  await addUser(acme, 'alice');
  await addUser(acme, 'bob');
  await addUser(acme, 'mia', [mkt]);
  await addUser(acme, 'oscar', [ops]);
  await addUser(acme, 'anna', [acc]);
  await addUser(acme, 'pat', [acc, ops]);
  await addUser(acme, 'quiet');
  await addUser(other, 'carol');
  alice1 = await addDevice(acme, 'alice', 1);
  alice2 = await addDevice(acme, 'alice', 2);
  bob = await addDevice(acme, 'bob', 1);
  mia = await addDevice(acme, 'mia', 1);
  oscar = await addDevice(acme, 'oscar', 1);
  anna = await addDevice(acme, 'anna', 1);
  pat = await addDevice(acme, 'pat', 1);
  quiet = await addDevice(acme, 'quiet', 1);
  carol = await addDevice(other, 'carol', 1);
  for (const d of [alice1, alice2, bob, mia, oscar, anna, pat, carol]) await publish(d);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('authentication', () => {
  it('answers 401 to every route without a valid credential', async () => {
    const bogus = new Uint8Array(32).fill(9);
    for (const credential of [undefined, bogus]) {
      const opts = credential === undefined ? {} : { credential };
      const results = [
        await t.request('PUT', '/v1/keys/signed', { ...opts, body: await signedBody(bob) }),
        await t.request('POST', '/v1/keys/one-time', { ...opts, json: await oneTimeBody(bob, 50, 1) }),
        await t.request('GET', '/v1/keys/count', opts),
        await t.request('GET', '/v1/users/alice/devices/bundles', opts),
      ];
      for (const res of results) {
        expect(res.status).toBe(401);
        expect(res.json.error.code).toBe('ERR_UNAUTHENTICATED');
      }
    }
    expect(await count(bob)).toEqual({ preKeys: 0, kemPreKeys: 0 });
  });
});

describe('upload and fetch', () => {
  it('hands out bundles that verify, with a delivery token for the mailbox', async () => {
    const up = await t.request('POST', '/v1/keys/one-time', {
      json: await oneTimeBody(oscar, 1, 3),
      credential: oscar.credential,
    });
    expect(up.status).toBe(200);
    expect(up.json).toEqual({
      added: { preKeys: 3, kemPreKeys: 3 },
      remaining: { preKeys: 3, kemPreKeys: 3, max: 1000 },
    });
    const res = await fetchBundles(mia, 'oscar');
    expect(res.status).toBe(200);
    const devices = res.json.devices as Entry[];
    expect(devices).toHaveLength(1);
    const [entry] = devices;
    if (entry === undefined) throw new Error('no entry');
    expect(entry.deviceId).toBe(oscar.id);
    expect(entry.registrationId).toBe(oscar.registrationId);
    expect(entry.mailbox).toBe(oscar.mailbox);
    const bundle = decodePreKeyBundle(Buffer.from(entry.bundle, 'base64url'));
    expect(await negotiateSuiteForBundle(provider, ['v2'], bundle)).toBe('v2');
    await verifyPreKeyBundle(provider, bundle, { expectedIdentity: toPublicIdentity(oscar.identity) });
    expect(bundle.oneTimePreKey).toBeDefined();
    expect(bundle.kemPreKey.lastResort).toBe(false);
    const token = new Uint8Array(Buffer.from(entry.deliveryToken, 'base64url'));
    expect(await deliveryTokenAdmits(ctx, oscar.mailbox, token)).toBe(true);
    expect(await deliveryTokenAdmits(ctx, mia.mailbox, token)).toBe(false);
    expect(await count(oscar)).toEqual({ preKeys: 2, kemPreKeys: 2 });
  });

  it('skips one-time ids the device already has', async () => {
    const body = await oneTimeBody(anna, 10, 2);
    const first = await t.request('POST', '/v1/keys/one-time', { json: body, credential: anna.credential });
    expect(first.json.added).toEqual({ preKeys: 2, kemPreKeys: 2 });
    const again = await t.request('POST', '/v1/keys/one-time', { json: body, credential: anna.credential });
    expect(again.status).toBe(200);
    expect(again.json).toEqual({
      added: { preKeys: 0, kemPreKeys: 0 },
      remaining: { preKeys: 2, kemPreKeys: 2, max: 1000 },
    });
  });

  it('refuses a batch that would exceed the per-device limit, adding nothing', async () => {
    const dev = await addDevice(acme, 'bob', 9);
    const keys = (await generateOneTimePreKeys(provider, oneTimePreKeyId(1), 1000)).map(
      toOneTimePreKeyPublic,
    );
    const json = (list: typeof keys) => ({
      preKeys: list.map((k) => ({ id: k.id, publicKey: b64(k.publicKey) })),
    });
    const first = await t.request('POST', '/v1/keys/one-time', {
      json: json(keys.slice(0, 990)),
      credential: dev.credential,
    });
    expect(first.status).toBe(200);
    const over = await t.request('POST', '/v1/keys/one-time', {
      json: json(keys.slice(989)),
      credential: dev.credential,
    });
    expect(over.status).toBe(413);
    expect(over.json.error.code).toBe('ERR_LIMIT');
    expect(await count(dev)).toEqual({ preKeys: 990, kemPreKeys: 0 });
    await ctx.stores.devices.remove(acme, userId('bob'), deviceId(9));
  });

  it('16 concurrent fetches over 10 one-time keys give each key once, then the last resort', async () => {
    const target = await addDevice(acme, 'oscar', 7);
    await publish(target, 10, 100);
    const all = await Promise.all(Array.from({ length: 16 }, () => fetchBundles(mia, 'oscar')));
    const bundles = all.map((res) => {
      expect(res.status).toBe(200);
      const entry = (res.json.devices as Entry[]).find((d) => d.deviceId === 7);
      if (entry === undefined) throw new Error('device 7 missing');
      return decodePreKeyBundle(Buffer.from(entry.bundle, 'base64url'));
    });
    const otp = bundles.flatMap((b) => (b.oneTimePreKey === undefined ? [] : [b.oneTimePreKey.id]));
    const kem = bundles.flatMap((b) => (b.kemPreKey.lastResort ? [] : [b.kemPreKey.id]));
    expect(otp).toHaveLength(10);
    expect(new Set(otp).size).toBe(10);
    expect(kem).toHaveLength(10);
    expect(new Set(kem).size).toBe(10);
    const fallbacks = bundles.filter((b) => b.kemPreKey.lastResort);
    expect(fallbacks).toHaveLength(6);
    for (const b of fallbacks) {
      expect(b.oneTimePreKey).toBeUndefined();
      await verifyPreKeyBundle(provider, b, { expectedIdentity: toPublicIdentity(target.identity) });
    }
    expect(await count(target)).toEqual({ preKeys: 0, kemPreKeys: 0 });
    await ctx.stores.devices.remove(acme, userId('oscar'), deviceId(7));
  });

  it('answers 200 with an empty list for a user with no published bundles', async () => {
    const res = await fetchBundles(bob, 'quiet');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ devices: [] });
    expect(await count(quiet)).toEqual({ preKeys: 0, kemPreKeys: 0 });
  });
});

describe('refused uploads change nothing', () => {
  async function signedPreKeyIdOf(dev: Dev, caller: Dev): Promise<number> {
    const res = await fetchBundles(caller, dev.user);
    const entry = (res.json.devices as Entry[]).find((d) => d.deviceId === dev.id);
    if (entry === undefined) throw new Error('no entry');
    return decodePreKeyBundle(Buffer.from(entry.bundle, 'base64url')).signedPreKey.id;
  }

  it('refuses a signed upload with any bad signature or a foreign identity', async () => {
    expect(await signedPreKeyIdOf(bob, alice1)).toBe(1);
    const stranger = await generateDeviceIdentity(provider);
    const cases: [Uint8Array, string][] = [
      [await signedBody(bob, { spkId: 2, tamper: 'spk' }), 'ERR_INVALID_KEY'],
      [await signedBody(bob, { spkId: 2, tamper: 'kem' }), 'ERR_INVALID_KEY'],
      [await signedBody(bob, { spkId: 2, tamper: 'suites' }), 'ERR_INVALID_KEY'],
      [await signedBody(bob, { spkId: 2, signer: stranger }), 'ERR_INVALID_KEY'],
      [await signedBody({ ...bob, id: 5 }, { spkId: 2 }), 'ERR_VALIDATION'],
      [await signedBody({ ...bob, registrationId: 1 }, { spkId: 2 }), 'ERR_VALIDATION'],
      [new Uint8Array([1, 2, 3]), 'ERR_DECODE'],
    ];
    for (const [body, code] of cases) {
      const res = await t.request('PUT', '/v1/keys/signed', { body, credential: bob.credential });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe(code);
    }
    const json = await t.request('PUT', '/v1/keys/signed', { json: {}, credential: bob.credential });
    expect(json.status).toBe(400);
    expect(await signedPreKeyIdOf(bob, alice1)).toBe(1);
    // A good upload replaces the signed part.
    const ok = await t.request('PUT', '/v1/keys/signed', {
      body: await signedBody(bob, { spkId: 2 }),
      credential: bob.credential,
    });
    expect(ok.status).toBe(204);
    expect(await signedPreKeyIdOf(bob, alice1)).toBe(2);
  });

  it('refuses a suite list older than the published one (409), keeping the newer one', async () => {
    await addUser(acme, 'rita');
    const rita = await addDevice(acme, 'rita', 1);
    const put = async (body: Uint8Array) =>
      t.request('PUT', '/v1/keys/signed', { body, credential: rita.credential });
    const published = async () => {
      const entry = (await fetchBundles(alice1, 'rita')).json.devices[0] as Entry;
      return decodePreKeyBundle(Buffer.from(entry.bundle, 'base64url'));
    };
    // The device once offered only static-v1 (signed prekey 1), then v2 (signed prekey 2).
    expect((await put(await signedBody(rita, { spkId: 1, suites: ['static-v1'] }))).status).toBe(204);
    const newer = ISSUED_AT + 60_000;
    expect((await put(await signedBody(rita, { spkId: 2, issuedAt: newer }))).status).toBe(204);
    // Replaying the older, correctly signed upload is refused and changes nothing.
    const replay = await put(await signedBody(rita, { spkId: 1, suites: ['static-v1'] }));
    expect(replay.status).toBe(409);
    expect(replay.json.error.code).toBe('ERR_CONFLICT');
    expect(replay.json.error.message).toContain('suitesIssuedAt');
    const kept = await published();
    expect(kept.signedPreKey.id).toBe(2);
    expect(kept.suites).toEqual(['v2']);
    expect(kept.suitesIssuedAt).toBe(newer);
    // The same time again is accepted (a retried upload), and so is a later one.
    expect((await put(await signedBody(rita, { spkId: 3, issuedAt: newer }))).status).toBe(204);
    expect((await put(await signedBody(rita, { spkId: 4, issuedAt: newer + 1 }))).status).toBe(204);
    expect((await published()).suitesIssuedAt).toBe(newer + 1);
  });

  it('refuses a signed upload that carries a one-time key or a non-last-resort KEM key', async () => {
    const spk = toSignedPreKeyPublic(await generateSignedPreKey(provider, bob.identity, signedPreKeyId(3)));
    const kem = toKemPreKeyPublic(
      await generateKemPreKey(provider, bob.identity, kemPreKeyId(5), { lastResort: false }),
    );
    const last = toKemPreKeyPublic(
      await generateKemPreKey(provider, bob.identity, kemPreKeyId(6), { lastResort: true }),
    );
    const [otp] = (await generateOneTimePreKeys(provider, oneTimePreKeyId(1), 1)).map(toOneTimePreKeyPublic);
    const base = {
      registrationId: registrationId(bob.registrationId),
      deviceId: deviceId(bob.id),
      identity: toPublicIdentity(bob.identity),
      signedPreKey: spk,
      suites: ['v2'] as const,
      suitesIssuedAt: ISSUED_AT,
      suitesSignature: await signSuites(provider, bob.identity, ['v2'], {
        signedPreKeyId: spk.id,
        issuedAt: ISSUED_AT,
      }),
    };
    for (const bundle of [
      { ...base, kemPreKey: kem },
      { ...base, kemPreKey: last, ...(otp === undefined ? {} : { oneTimePreKey: otp }) },
    ]) {
      const res = await t.request('PUT', '/v1/keys/signed', {
        body: encodePreKeyBundle(bundle),
        credential: bob.credential,
      });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('ERR_VALIDATION');
    }
    expect(await signedPreKeyIdOf(bob, alice1)).toBe(2);
  });

  it('refuses a one-time batch with one bad KEM signature, adding none of it', async () => {
    const before = await count(pat);
    const body = await oneTimeBody(pat, 200, 4);
    const kem = body.kemPreKeys[2];
    if (kem === undefined) throw new Error('no key');
    const sig = Buffer.from(kem.signature, 'base64url');
    sig[5] = (sig[5] ?? 0) ^ 0x10;
    body.kemPreKeys[2] = { ...kem, signature: sig.toString('base64url') };
    const res = await t.request('POST', '/v1/keys/one-time', { json: body, credential: pat.credential });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('ERR_INVALID_KEY');
    expect(res.json.error.message).toContain('kemPreKeys[2].signature');
    // KEM keys signed by another device's identity are refused too.
    const foreign = await oneTimeBody(anna, 300, 1);
    const res2 = await t.request('POST', '/v1/keys/one-time', { json: foreign, credential: pat.credential });
    expect(res2.status).toBe(400);
    expect(await count(pat)).toEqual(before);
  });

  it('refuses malformed one-time batches with a validation error', async () => {
    const good = await oneTimeBody(pat, 400, 1);
    const pre = good.preKeys[0];
    const kem = good.kemPreKeys[0];
    if (pre === undefined || kem === undefined) throw new Error('no key');
    const bad: unknown[] = [
      {},
      { preKeys: [] },
      { ...good, extra: 1 },
      { preKeys: [{ ...pre, publicKey: pre.publicKey.slice(0, 40) }] },
      { preKeys: [{ ...pre, publicKey: `${pre.publicKey.slice(0, 42)}B` }] }, // non-canonical tail bits
      { preKeys: [{ ...pre, id: -1 }] },
      { preKeys: [{ ...pre, id: 2 ** 32 }] },
      { kemPreKeys: [{ ...kem, lastResort: true }] },
      { kemPreKeys: [{ ...kem, signature: kem.signature.replace(/.$/, '+') }] },
      [],
    ];
    for (const json of bad) {
      const res = await t.request('POST', '/v1/keys/one-time', { json, credential: pat.credential });
      expect(res.status, JSON.stringify(json).slice(0, 80)).toBe(400);
      expect(res.json.error.code).toBe('ERR_VALIDATION');
    }
    expect(await count(pat)).toEqual({ preKeys: 0, kemPreKeys: 0 });
  });
});

describe('who may fetch whose bundles', () => {
  async function outcome(caller: Dev, user: string): Promise<number> {
    return (await fetchBundles(caller, user)).status;
  }

  it('answers a user of another tenant exactly like an unknown user', async () => {
    const foreign = await fetchBundles(bob, 'carol');
    const unknown = await fetchBundles(bob, 'nobody');
    expect(foreign.status).toBe(404);
    expect(foreign.json).toEqual({ error: { code: 'ERR_NOT_FOUND', message: 'user not found' } });
    expect(unknown.status).toBe(404);
    expect(foreign.body.equals(unknown.body)).toBe(true);
    // And the other way round: carol cannot see acme's alice.
    expect(await outcome(carol, 'alice')).toBe(404);
    // A malformed id can name no user in any tenant: a validation error.
    for (const bad of ['bad/id', 'bad id', '.dot', 'trailing.']) {
      const res = await fetchBundles(bob, bad);
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('ERR_VALIDATION');
    }
  });

  it('enforces pool rules in each direction as written', async () => {
    // marketing lists operations: one-way.
    expect(await outcome(mia, 'oscar')).toBe(200);
    const back = await fetchBundles(oscar, 'mia');
    expect(back.status).toBe(403);
    expect(back.json.error.code).toBe('ERR_FORBIDDEN');
    // Unrelated pools.
    expect(await outcome(mia, 'anna')).toBe(403);
    expect(await outcome(anna, 'mia')).toBe(403);
    // The open area and the pools do not meet.
    expect(await outcome(alice1, 'mia')).toBe(403);
    expect(await outcome(mia, 'alice')).toBe(403);
    expect(await outcome(alice1, 'bob')).toBe(200);
    expect(await outcome(bob, 'alice')).toBe(200);
    // A user in several pools: reachable through any of them, reaches through any of them.
    expect(await outcome(anna, 'pat')).toBe(200);
    expect(await outcome(mia, 'pat')).toBe(200);
    expect(await outcome(oscar, 'pat')).toBe(200);
    expect(await outcome(pat, 'anna')).toBe(200);
    expect(await outcome(pat, 'oscar')).toBe(200);
    expect(await outcome(pat, 'mia')).toBe(403);
  });

  it('follows a rule change at once', async () => {
    await ctx.stores.pools.put(acme, acc, { name: 'Accounting', mayContact: [mkt] });
    try {
      expect(await outcome(anna, 'mia')).toBe(200);
      expect(await outcome(mia, 'anna')).toBe(403);
    } finally {
      await ctx.stores.pools.put(acme, acc, { name: 'Accounting' });
    }
    expect(await outcome(anna, 'mia')).toBe(403);
  });

  it('gives a device the other devices of its own user, never itself', async () => {
    const res = await fetchBundles(alice1, 'alice');
    expect(res.status).toBe(200);
    expect((res.json.devices as Entry[]).map((d) => d.deviceId)).toEqual([2]);
    const res2 = await fetchBundles(alice2, 'alice');
    expect((res2.json.devices as Entry[]).map((d) => d.deviceId)).toEqual([1]);
    // Pools never stop a user reaching their own devices.
    const oscar2 = await addDevice(acme, 'oscar', 2);
    await publish(oscar2);
    const own = await fetchBundles(oscar2, 'oscar');
    expect((own.json.devices as Entry[]).map((d) => d.deviceId)).toEqual([1]);
    await ctx.stores.devices.remove(acme, userId('oscar'), deviceId(2));
  });

  it('leaves blocked devices out and refuses blocked users', async () => {
    const both = await fetchBundles(bob, 'alice');
    expect((both.json.devices as Entry[]).map((d) => d.deviceId)).toEqual([1, 2]);
    await ctx.stores.devices.update(acme, userId('alice'), deviceId(2), { blocked: true });
    const one = await fetchBundles(bob, 'alice');
    expect((one.json.devices as Entry[]).map((d) => d.deviceId)).toEqual([1]);
    await ctx.stores.devices.update(acme, userId('alice'), deviceId(2), { blocked: false });

    await ctx.stores.users.update(acme, userId('alice'), { blocked: true });
    try {
      const res = await fetchBundles(bob, 'alice');
      expect(res.status).toBe(403);
      expect(res.json.error.code).toBe('ERR_FORBIDDEN');
      // A blocked caller is refused by authentication.
      expect((await fetchBundles(alice1, 'bob')).status).toBe(403);
    } finally {
      await ctx.stores.users.update(acme, userId('alice'), { blocked: false });
    }
    expect((await fetchBundles(bob, 'alice')).status).toBe(200);
  });
});
