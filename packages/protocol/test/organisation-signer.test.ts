/**
 * Signing organisation objects and device lists with an `Ed25519Signer` instead of the key's
 * bytes (spec/admin-sdk.md, "Keys held by the browser"): a non-extractable WebCrypto key signs
 * every kind to exactly the bytes the seed signs (Ed25519 is deterministic) and the result
 * verifies; a signer that names another public key is refused before it is asked to sign; a signer
 * that names the certified key but signs with another one, or returns a signature of the wrong
 * length, is refused before any bytes are returned.
 */
import {
  createNobleProvider,
  type DeviceIdentity,
  deviceId,
  type Ed25519Signer,
  generateDeviceIdentity,
  type KeyPair,
  toPublicIdentity,
} from '@cloister/crypto';
import { describe, expect, it } from 'vitest';
import {
  type DeviceListBody,
  decodeDeviceList,
  deviceListHash,
  followDeviceLists,
  generateOrganisationRoot,
  issueAdminCertificate,
  ORGANISATION_OBJECT_KINDS,
  type OrganisationObjectBody,
  type OrganisationObjectKind,
  organisationListVerifier,
  poolId,
  signDeviceList,
  signOrganisationObject,
  tenantId,
  userId,
  verifyOrganisationObject,
} from '../src/index.js';

const provider = createNobleProvider();
const subtle = globalThis.crypto.subtle;
const tenant = tenantId('acme');
const user = userId('alice');
const T0 = 1_780_000_000_000;
const DAY = 86_400_000;
const NOW = T0 + DAY;
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The seed moved into WebCrypto as a non-extractable key, behind the Ed25519Signer interface. */
async function webCryptoSignerOf(pair: KeyPair): Promise<Ed25519Signer & { readonly cryptoKey: CryptoKey }> {
  const der = new Uint8Array([...ED25519_PKCS8, ...pair.privateKey]);
  const cryptoKey = await subtle.importKey('pkcs8', der, { name: 'Ed25519' }, false, ['sign']);
  return {
    cryptoKey,
    publicKey: pair.publicKey.slice(),
    sign: async (message) =>
      new Uint8Array(await subtle.sign({ name: 'Ed25519' }, cryptoKey, new Uint8Array(message))),
  };
}

/** A signer that counts how often it was asked to sign. */
function counting(inner: Ed25519Signer, publicKey = inner.publicKey) {
  const calls = { count: 0 };
  const signer: Ed25519Signer = {
    publicKey,
    sign: (message) => {
      calls.count++;
      return inner.sign(message);
    },
  };
  return { signer, calls };
}

async function setup() {
  const root = await generateOrganisationRoot(provider);
  const key = await provider.ed25519.generateKeyPair();
  const certificate = await issueAdminCertificate(provider, root.privateKey, {
    tenant,
    admin: 'adm_owner',
    adminPublicKey: key.publicKey,
    role: 'owner',
    issuedAtMs: T0,
    expiresAtMs: T0 + 90 * DAY,
    serial: 1,
  });
  return { root, key, certificate, signer: await webCryptoSignerOf(key) };
}

async function bodyOf(kind: OrganisationObjectKind): Promise<OrganisationObjectBody> {
  const base = { tenant, issuedAtMs: NOW - 60_000, sequence: 3 };
  const identity = toPublicIdentity(await generateDeviceIdentity(provider));
  const bodies: { [K in OrganisationObjectKind]: OrganisationObjectBody } = {
    'policy-layer': {
      ...base,
      kind: 'policy-layer',
      payload: {
        layer: 'tenant',
        target: null,
        document: { 'files.send': { enabled: false, locked: true } },
      },
    },
    wipe: {
      ...base,
      kind: 'wipe',
      payload: { user, deviceId: deviceId(2), commandId: new Uint8Array(16).fill(7) },
    },
    broadcast: {
      ...base,
      kind: 'broadcast',
      payload: { broadcastId: new Uint8Array(16).fill(3), audience: { kind: 'tenant' }, text: 'Fire drill' },
    },
    'pool-rules': {
      ...base,
      kind: 'pool-rules',
      payload: { rules: [{ pool: poolId('staff'), mayContact: [] }] },
    },
    'device-admission': {
      ...base,
      kind: 'device-admission',
      payload: { user, deviceId: deviceId(4), identity },
    },
    'certificate-delegation': {
      ...base,
      kind: 'certificate-delegation',
      payload: {
        serverSigningPublicKey: new Uint8Array(32).fill(9),
        notBeforeMs: NOW - DAY,
        notAfterMs: NOW + DAY,
      },
    },
  };
  return bodies[kind];
}

describe('signOrganisationObject with an Ed25519Signer', () => {
  it('a non-extractable WebCrypto key signs every kind to the bytes the seed signs; each verifies', async () => {
    const { root, key, certificate, signer } = await setup();
    expect(signer.cryptoKey.extractable).toBe(false);
    await expect(subtle.exportKey('pkcs8', signer.cryptoKey)).rejects.toThrow();
    for (const kind of ORGANISATION_OBJECT_KINDS) {
      const body = await bodyOf(kind);
      const withBytes = await signOrganisationObject(provider, key.privateKey, certificate, body);
      const withSigner = await signOrganisationObject(provider, signer, certificate, body);
      expect(Buffer.from(withSigner).equals(Buffer.from(withBytes)), kind).toBe(true);
      const verified = await verifyOrganisationObject(provider, withSigner, {
        rootPublicKey: root.publicKey,
        tenant,
        now: NOW,
      });
      expect(verified.kind).toBe(kind);
    }
  });

  it('a signer that names another public key is refused before it is asked to sign', async () => {
    const { certificate } = await setup();
    const { signer, calls } = counting(await webCryptoSignerOf(await provider.ed25519.generateKeyPair()));
    await expect(
      signOrganisationObject(provider, signer, certificate, await bodyOf('wipe')),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY', message: expect.stringContaining('adminPrivateKey') });
    expect(calls.count).toBe(0);
  });

  it('a signer that names the certified key but signs with another one is refused', async () => {
    const { key, certificate } = await setup();
    const other = await webCryptoSignerOf(await provider.ed25519.generateKeyPair());
    const { signer, calls } = counting(other, key.publicKey);
    await expect(
      signOrganisationObject(provider, signer, certificate, await bodyOf('policy-layer')),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY', message: expect.stringContaining('certified key') });
    expect(calls.count).toBe(1);
  });

  it('a signature of the wrong length, or not bytes at all, is refused', async () => {
    const { key, certificate, signer } = await setup();
    const body = await bodyOf('wipe');
    for (const cut of [
      async (m: Uint8Array) => (await signer.sign(m)).subarray(0, 63),
      async (m: Uint8Array) => new Uint8Array([...(await signer.sign(m)), 0]),
      async () => new Uint8Array(0),
      async () => 'a signature' as unknown as Uint8Array,
    ]) {
      await expect(
        signOrganisationObject(provider, { publicKey: key.publicKey, sign: cut }, certificate, body),
      ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY', message: expect.stringContaining('64-byte') });
    }
  });

  it('the role and tenant rules apply to a signer as to bytes', async () => {
    const { root, key, certificate } = await setup();
    const auditorKey = await provider.ed25519.generateKeyPair();
    const auditor = await issueAdminCertificate(provider, root.privateKey, {
      tenant,
      admin: 'adm_auditor',
      adminPublicKey: auditorKey.publicKey,
      role: 'auditor',
      issuedAtMs: T0,
      expiresAtMs: T0 + 90 * DAY,
      serial: 2,
    });
    const { signer, calls } = counting(await webCryptoSignerOf(auditorKey));
    await expect(
      signOrganisationObject(provider, signer, auditor, await bodyOf('wipe')),
    ).rejects.toMatchObject({
      code: 'ERR_FORBIDDEN',
    });
    const owner = counting(await webCryptoSignerOf(key));
    await expect(
      signOrganisationObject(provider, owner.signer, certificate, {
        ...(await bodyOf('wipe')),
        tenant: tenantId('other'),
      }),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION', message: expect.stringContaining('object.tenant') });
    expect(calls.count + owner.calls.count).toBe(0);
  });
});

describe('signDeviceList with an Ed25519Signer', () => {
  let counter = 0;
  const entry = (id: number, who: DeviceIdentity) => ({
    deviceId: deviceId(id),
    identity: toPublicIdentity(who),
    addedAtMs: 1000 + counter++,
  });

  async function admission() {
    const root = await generateOrganisationRoot(provider);
    const key = await provider.ed25519.generateKeyPair();
    const certificate = await issueAdminCertificate(provider, root.privateKey, {
      tenant,
      admin: 'adm_int',
      adminPublicKey: key.publicKey,
      role: 'integration',
      issuedAtMs: 0,
      expiresAtMs: 300 * DAY,
      serial: 1,
    });
    const phone = await generateDeviceIdentity(provider);
    const managed = await generateDeviceIdentity(provider);
    const firstBody: DeviceListBody = {
      tenant,
      user,
      epoch: 1,
      issuedAtMs: 1000,
      previous: new Uint8Array(32),
      root: new Uint8Array(32),
      signer: { kind: 'device', deviceId: deviceId(1) },
      devices: [entry(1, phone)],
    };
    const first = decodeDeviceList(
      await signDeviceList(provider, firstBody, phone.signingKeyPair.privateKey),
    );
    const hash = await deviceListHash(provider, first.bytes);
    const next: DeviceListBody = {
      ...firstBody,
      epoch: 2,
      issuedAtMs: 2000,
      previous: hash,
      root: hash,
      signer: { kind: 'organisation', deviceId: deviceId(2), certificate },
      devices: [firstBody.devices[0]!, entry(2, managed)],
    };
    return { root, key, first, next, phone };
  }

  it('an administrator key held by WebCrypto admits a device: same bytes as the seed, followed by readers', async () => {
    const { root, key, first, next } = await admission();
    const signer = await webCryptoSignerOf(key);
    const withSigner = await signDeviceList(provider, next, signer);
    expect(
      Buffer.from(withSigner).equals(Buffer.from(await signDeviceList(provider, next, key.privateKey))),
    ).toBe(true);
    const organisation = organisationListVerifier(provider, {
      rootPublicKey: root.publicKey,
      tenant,
      now: () => 3000,
    });
    const update = await followDeviceLists(provider, first, [withSigner], { tenant, user, organisation });
    expect(update.trust).toBe('chained');
    expect(update.added.map((d) => d.deviceId)).toEqual([2]);
  });

  it('a device key held by a signer signs its own list', async () => {
    const { phone } = await admission();
    const body: DeviceListBody = {
      tenant,
      user,
      epoch: 1,
      issuedAtMs: 1000,
      previous: new Uint8Array(32),
      root: new Uint8Array(32),
      signer: { kind: 'device', deviceId: deviceId(1) },
      devices: [entry(1, phone)],
    };
    const signer = await webCryptoSignerOf(phone.signingKeyPair);
    const bytes = await signDeviceList(provider, body, signer);
    expect(
      Buffer.from(bytes).equals(
        Buffer.from(await signDeviceList(provider, body, phone.signingKeyPair.privateKey)),
      ),
    ).toBe(true);
  });

  it('a signer naming another key is refused before signing; one lying about its key after', async () => {
    const { key, next } = await admission();
    const other = await webCryptoSignerOf(await provider.ed25519.generateKeyPair());
    const named = counting(other);
    await expect(signDeviceList(provider, next, named.signer)).rejects.toMatchObject({
      code: 'ERR_INVALID_KEY',
    });
    expect(named.calls.count).toBe(0);
    const lying = counting(other, key.publicKey);
    await expect(signDeviceList(provider, next, lying.signer)).rejects.toMatchObject({
      code: 'ERR_INVALID_KEY',
    });
    expect(lying.calls.count).toBe(1);
    await expect(
      signDeviceList(provider, next, { publicKey: key.publicKey, sign: async () => new Uint8Array(65) }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
  });
});
