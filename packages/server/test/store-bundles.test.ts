import {
  type CloisterError,
  type CryptoProvider,
  type DeviceIdentity,
  deviceId,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  getProvider,
  type KemPreKeyPublic,
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
import { mailboxId, tenantId, userId } from '@cloister/protocol';
import { createMemoryAdapter } from '@cloister/storage';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ConflictError,
  createServerStores,
  MAX_ONE_TIME_PREKEYS,
  type ServerStores,
  type SignedPreKeys,
} from '../src/store/index.js';

async function rejectsWith(promise: Promise<unknown>, code: string, field?: string): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${code}`).toBeDefined();
  expect((error as CloisterError).code).toBe(code);
  if (field !== undefined) expect((error as { field?: string }).field).toBe(field);
}

const acme = tenantId('acme');
const alice = userId('alice');
const dev = deviceId(1);

let provider: CryptoProvider;
let identity: DeviceIdentity;
let signed: SignedPreKeys;
let kemOneTime: KemPreKeyPublic[];
let stores: ServerStores;

beforeAll(async () => {
  provider = await getProvider();
  identity = await generateDeviceIdentity(provider);
  const spk = await generateSignedPreKey(provider, identity, signedPreKeyId(1));
  const lastResort = await generateKemPreKey(provider, identity, kemPreKeyId(1000), { lastResort: true });
  signed = {
    signedPreKey: toSignedPreKeyPublic(spk),
    lastResortKemPreKey: toKemPreKeyPublic(lastResort),
    suites: ['v2'],
    suitesIssuedAt: 1_700_000_000_000,
    suitesSignature: await signSuites(provider, identity, ['v2'], {
      signedPreKeyId: spk.id,
      issuedAt: 1_700_000_000_000,
    }),
  };
  kemOneTime = [];
  for (let i = 0; i < 10; i++) {
    kemOneTime.push(
      toKemPreKeyPublic(await generateKemPreKey(provider, identity, kemPreKeyId(i), { lastResort: false })),
    );
  }
});

beforeEach(async () => {
  stores = createServerStores(createMemoryAdapter(), { provider });
  await stores.tenants.create(acme, { name: 'ACME', signingKey: new Uint8Array(32) });
  await stores.users.create(acme, alice, { displayName: 'Alice' });
  await stores.devices.add(acme, alice, dev, {
    identity: toPublicIdentity(identity),
    registrationId: registrationId(77),
    mailbox: mailboxId('mbx_a1'),
    credentialHash: new Uint8Array(32).fill(1),
  });
});

async function uploadTen(): Promise<void> {
  const pre = (await generateOneTimePreKeys(provider, oneTimePreKeyId(1), 10)).map(toOneTimePreKeyPublic);
  await stores.bundles.setSigned(acme, alice, dev, signed);
  expect(await stores.bundles.addOneTime(acme, alice, dev, { preKeys: pre, kemPreKeys: kemOneTime })).toEqual(
    {
      preKeys: 10,
      kemPreKeys: 10,
    },
  );
}

describe('key bundles', () => {
  it('hands out a bundle that verifies against the device identity', async () => {
    await uploadTen();
    const bundle = await stores.bundles.takeBundle(acme, alice, dev);
    if (bundle === undefined) throw new Error('no bundle');
    expect(bundle.registrationId).toBe(77);
    expect(bundle.deviceId).toBe(1);
    expect(bundle.oneTimePreKey).toBeDefined();
    expect(bundle.kemPreKey.lastResort).toBe(false);
    await verifyPreKeyBundle(provider, bundle, { expectedIdentity: toPublicIdentity(identity) });
    expect(await stores.bundles.countOneTime(acme, alice, dev)).toEqual({ preKeys: 9, kemPreKeys: 9 });
  });

  it('peeks at the published bundle without taking a one-time prekey', async () => {
    expect(await stores.bundles.peekBundle(acme, alice, dev)).toBeUndefined();
    await uploadTen();
    const bundle = await stores.bundles.peekBundle(acme, alice, dev);
    if (bundle === undefined) throw new Error('no bundle');
    expect(bundle.oneTimePreKey).toBeUndefined();
    expect(bundle.kemPreKey).toMatchObject({ id: 1000, lastResort: true });
    await verifyPreKeyBundle(provider, bundle, { expectedIdentity: toPublicIdentity(identity) });
    expect(await stores.bundles.countOneTime(acme, alice, dev)).toEqual({ preKeys: 10, kemPreKeys: 10 });
    expect(await stores.bundles.peekBundle(acme, alice, deviceId(2))).toBeUndefined();
  });

  it('16 concurrent fetches over 10 one-time keys: 10 distinct keys, then the last resort', async () => {
    await uploadTen();
    const bundles = await Promise.all(
      Array.from({ length: 16 }, () => stores.bundles.takeBundle(acme, alice, dev)),
    );
    const otp = bundles.flatMap((b) => (b?.oneTimePreKey === undefined ? [] : [b.oneTimePreKey.id]));
    const kem = bundles.flatMap((b) => (b === undefined || b.kemPreKey.lastResort ? [] : [b.kemPreKey.id]));
    expect(otp).toHaveLength(10);
    expect(new Set(otp).size).toBe(10);
    expect(kem).toHaveLength(10);
    expect(new Set(kem).size).toBe(10);
    const fallbacks = bundles.filter((b) => b?.kemPreKey.lastResort === true);
    expect(fallbacks).toHaveLength(6);
    for (const b of fallbacks) {
      expect(b?.kemPreKey.id).toBe(1000);
      expect(b?.oneTimePreKey).toBeUndefined();
      if (b !== undefined) await verifyPreKeyBundle(provider, b);
    }
    expect(await stores.bundles.countOneTime(acme, alice, dev)).toEqual({ preKeys: 0, kemPreKeys: 0 });
  });

  it('has no bundle for an unknown device or before the signed part is uploaded', async () => {
    expect(await stores.bundles.takeBundle(acme, alice, dev)).toBeUndefined();
    expect(await stores.bundles.takeBundle(acme, alice, deviceId(2))).toBeUndefined();
    await rejectsWith(stores.bundles.setSigned(acme, alice, deviceId(2), signed), 'ERR_STORAGE');
    await stores.bundles.setSigned(acme, alice, dev, signed);
    const b = await stores.bundles.takeBundle(acme, alice, dev);
    expect(b?.oneTimePreKey).toBeUndefined();
    expect(b?.kemPreKey.lastResort).toBe(true);
  });

  it('skips ids it already has and enforces the per-device limit atomically', async () => {
    const first = (await generateOneTimePreKeys(provider, oneTimePreKeyId(1), 5)).map(toOneTimePreKeyPublic);
    expect(await stores.bundles.addOneTime(acme, alice, dev, { preKeys: first })).toEqual({
      preKeys: 5,
      kemPreKeys: 0,
    });
    expect(await stores.bundles.addOneTime(acme, alice, dev, { preKeys: first.slice(0, 3) })).toEqual({
      preKeys: 0,
      kemPreKeys: 0,
    });
    const key = first[0];
    if (key === undefined) throw new Error('no key');
    const many = Array.from({ length: MAX_ONE_TIME_PREKEYS }, (_, i) => ({
      id: oneTimePreKeyId(100 + i),
      publicKey: key.publicKey,
    }));
    await rejectsWith(stores.bundles.addOneTime(acme, alice, dev, { preKeys: many }), 'ERR_LIMIT');
    expect(await stores.bundles.countOneTime(acme, alice, dev)).toEqual({ preKeys: 5, kemPreKeys: 0 });
  });

  it('refuses a signed part whose suite list is older than the stored one, writing nothing', async () => {
    await stores.bundles.setSigned(acme, alice, dev, signed);
    const older = stores.bundles.setSigned(acme, alice, dev, {
      ...signed,
      suites: ['static-v1'],
      suitesIssuedAt: signed.suitesIssuedAt - 1,
    });
    await expect(older).rejects.toBeInstanceOf(ConflictError);
    await expect(older).rejects.toMatchObject({ constraint: 'suitesIssuedAt' });
    const kept = await stores.bundles.peekBundle(acme, alice, dev);
    expect(kept?.suites).toEqual(['v2']);
    expect(kept?.suitesIssuedAt).toBe(signed.suitesIssuedAt);
    // The same time again (a retried upload) and a later one are accepted.
    await stores.bundles.setSigned(acme, alice, dev, signed);
    await stores.bundles.setSigned(acme, alice, dev, {
      ...signed,
      suitesIssuedAt: signed.suitesIssuedAt + 1,
    });
    expect((await stores.bundles.takeBundle(acme, alice, dev))?.suitesIssuedAt).toBe(
      signed.suitesIssuedAt + 1,
    );
  });

  it('validates what it stores', async () => {
    for (const bad of [0, -1, 1.5, 2 ** 53]) {
      await rejectsWith(
        stores.bundles.setSigned(acme, alice, dev, { ...signed, suitesIssuedAt: bad }),
        'ERR_VALIDATION',
        'keys.suitesIssuedAt',
      );
    }
    await rejectsWith(
      stores.bundles.setSigned(acme, alice, dev, {
        ...signed,
        lastResortKemPreKey: { ...signed.lastResortKemPreKey, lastResort: false },
      }),
      'ERR_VALIDATION',
      'keys.lastResortKemPreKey.lastResort',
    );
    await rejectsWith(
      stores.bundles.setSigned(acme, alice, dev, { ...signed, suites: ['v3' as never] }),
      'ERR_VALIDATION',
      'keys.suites[0]',
    );
    await rejectsWith(
      stores.bundles.setSigned(acme, alice, dev, { ...signed, unknownSuiteCodes: [1] }),
      'ERR_VALIDATION',
      'keys.unknownSuiteCodes[0]',
    );
    await rejectsWith(
      stores.bundles.setSigned(acme, alice, dev, {
        ...signed,
        signedPreKey: { ...signed.signedPreKey, publicKey: new Uint8Array(33) },
      }),
      'ERR_VALIDATION',
      'keys.signedPreKey.publicKey',
    );
    const k = kemOneTime[0] as KemPreKeyPublic;
    await rejectsWith(
      stores.bundles.addOneTime(acme, alice, dev, { kemPreKeys: [{ ...k, lastResort: true }] }),
      'ERR_VALIDATION',
      'keys.kemPreKeys[0].lastResort',
    );
    await rejectsWith(
      stores.bundles.addOneTime(acme, alice, dev, { kemPreKeys: [k, k] }),
      'ERR_VALIDATION',
      'keys.kemPreKeys',
    );
    expect(await stores.bundles.countOneTime(acme, alice, dev)).toEqual({ preKeys: 0, kemPreKeys: 0 });
    // Unknown suite codes from newer versions are kept, because the signature covers them.
    await stores.bundles.setSigned(acme, alice, dev, { ...signed, unknownSuiteCodes: [99] });
    expect((await stores.bundles.takeBundle(acme, alice, dev))?.unknownSuiteCodes).toEqual([99]);
  });

  it('removing the device removes its prekeys', async () => {
    await uploadTen();
    await stores.devices.remove(acme, alice, dev);
    expect(await stores.bundles.countOneTime(acme, alice, dev)).toEqual({ preKeys: 0, kemPreKeys: 0 });
    expect(await stores.bundles.takeBundle(acme, alice, dev)).toBeUndefined();
  });
});
