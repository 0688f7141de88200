/**
 * Administrator keys held by the browser (spec/admin-sdk.md, "Keys held by the browser"): a key
 * generated in WebCrypto (`generateWebCryptoSigner`) and a byte key moved there
 * (`importSigningKeyToWebCrypto`) are non-extractable CryptoKeys (`exportKey` rejects), the moved
 * bytes are zero afterwards, and the objects they sign verify exactly like byte-key signatures
 * (for the moved key, the same bytes). A signer whose public key is not the certified one, or
 * that returns a signature of the wrong length, is refused before anything is published; a key
 * store refuses to write out a signer. End to end against a running server: a policy layer, a
 * wipe, a bulk wipe, a zero-touch admission and a broadcast signed by WebCrypto keys are accepted.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CloisterClient, createClient } from '@cloister/client';
import {
  createNobleProvider,
  deviceId,
  type Ed25519Signer,
  generateDeviceIdentity,
  InvalidKeyError,
  isEd25519Signer,
  PIN_SCRYPT_FLOOR,
  type PublicIdentity,
  registrationId,
  toPublicIdentity,
  UsageError,
  ValidationError,
} from '@cloister/crypto';
import { INSECURE_seededRandomForTestsOnly } from '@cloister/crypto/testing';
import { decodeOrganisationObject, tenantId, userId, verifyOrganisationObject } from '@cloister/protocol';
import { type CloisterServer, newMailboxId } from '@cloister/server';
import { createMemoryAdapter } from '@cloister/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminClient,
  type AdminSigningKey,
  adminSigningKey,
  certifyAdministrator,
  type GeneratedOrganisation,
  generateOrganisation,
  generateWebCryptoSigner,
  importSigningKeyToWebCrypto,
  installAdminCertificate,
  type OrganisationSigner,
  sealKeyRequest,
  sealSigningKey,
  signBroadcast,
  signDelegation,
  signDeviceAdmission,
  signPolicyLayer,
  signPoolRules,
  signWipe,
  type WebCryptoSigner,
  webCryptoSigner,
} from '../src/index.js';
import { fakeServer } from './fake-server.js';
import { startTenant } from './helpers/tenant.js';

const provider = createNobleProvider();
const subtle = globalThis.crypto.subtle;
const tenant = tenantId('acme');
const NOW = 1_790_000_000_000;
const passphrase = 'a long enough passphrase';
const fast = { scrypt: PIN_SCRYPT_FLOOR };

const isZero = (bytes: Uint8Array) => bytes.every((b) => b === 0);

function signerOn(key: AdminSigningKey) {
  const server = fakeServer();
  const client = new AdminClient({
    transport: server.transport,
    credential: { kind: 'session', token: 't' },
    provider,
  });
  const signer: OrganisationSigner = { provider, key, client, now: () => NOW };
  return { server, signer };
}

/** Signs one object of every kind through the SDK; returns the published bytes, in order. */
async function signEveryKind(signer: OrganisationSigner, identity: PublicIdentity): Promise<Uint8Array[]> {
  return [
    (
      await signPolicyLayer(
        signer,
        { layer: 'user', target: 'alice' },
        { files: { enabled: false, locked: true } },
      )
    ).object,
    (await signWipe(signer, { user: 'alice', device: 2 })).object,
    (await signBroadcast(signer, { audience: { kind: 'tenant' }, text: 'Fire drill at 10:00' })).object,
    (await signPoolRules(signer, { 'ward-3': ['pharmacy'] })).object,
    (await signDeviceAdmission(signer, { user: 'alice', device: 3, identity })).object,
    (await signDelegation(signer, { notBeforeMs: NOW })).object,
  ];
}

const verifyUnder = (org: GeneratedOrganisation) => (object: Uint8Array) =>
  verifyOrganisationObject(provider, object, { rootPublicKey: org.root.publicKey, tenant, now: NOW });

describe('importSigningKeyToWebCrypto', () => {
  it('moves the key into a non-extractable CryptoKey, zeroes the bytes, and signs the same bytes', async () => {
    const org = await generateOrganisation(provider, { tenant: 'acme', admin: 'adm_owner', now: NOW - 1000 });
    const source = org.owner.privateKey as Uint8Array;
    const copy: AdminSigningKey = { ...org.owner, privateKey: source.slice() };
    const held = await importSigningKeyToWebCrypto(org.owner);

    expect(isZero(source)).toBe(true);
    expect(isEd25519Signer(held.privateKey)).toBe(true);
    const { cryptoKey } = held.privateKey as WebCryptoSigner;
    expect(cryptoKey.extractable).toBe(false);
    expect(cryptoKey.type).toBe('private');
    expect(cryptoKey.usages).toEqual(['sign']);
    await expect(subtle.exportKey('pkcs8', cryptoKey)).rejects.toThrow();
    await expect(subtle.exportKey('jwk', cryptoKey)).rejects.toThrow();
    expect({ ...held, privateKey: undefined }).toEqual({ ...org.owner, privateKey: undefined });

    // Random ids come from the provider; the same seeded random source on both sides makes the
    // objects comparable byte for byte (Ed25519 is deterministic).
    const seeded = () => provider.withRandom(INSECURE_seededRandomForTestsOnly(new Uint8Array(32).fill(4)));
    const identity = toPublicIdentity(await generateDeviceIdentity(provider));
    const viaBytes = await signEveryKind({ ...signerOn(copy).signer, provider: seeded() }, identity);
    const viaWebCrypto = await signEveryKind({ ...signerOn(held).signer, provider: seeded() }, identity);
    const verify = verifyUnder(org);
    for (const [i, object] of viaWebCrypto.entries()) {
      const expected = viaBytes[i] as Uint8Array;
      expect(Buffer.from(object).equals(Buffer.from(expected)), `object ${i}`).toBe(true);
      const [a, b] = [await verify(object), await verify(expected)];
      expect(a.kind).toBe(b.kind);
      expect(a.certificate.admin).toBe('adm_owner');
    }
  });

  it('refuses a key that is already a signer; a wrong public key leaves the bytes alone', async () => {
    const org = await generateOrganisation(provider, { tenant: 'acme', admin: 'adm_owner' });
    const held = await importSigningKeyToWebCrypto(org.owner);
    const again = await importSigningKeyToWebCrypto(held).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(UsageError);

    const other = await generateOrganisation(provider, { tenant: 'acme', admin: 'adm_owner' });
    const source = other.owner.privateKey as Uint8Array;
    const before = source.slice();
    const mismatched: AdminSigningKey = { ...other.owner, publicKey: org.owner.publicKey };
    await expect(importSigningKeyToWebCrypto(mismatched)).rejects.toBeInstanceOf(InvalidKeyError);
    expect(Buffer.from(source).equals(Buffer.from(before))).toBe(true);
    expect(isZero(source)).toBe(false);
  });
});

describe('generateWebCryptoSigner and webCryptoSigner', () => {
  it('a key generated in WebCrypto is certified, installed and signs every kind; each verifies', async () => {
    const org = await generateOrganisation(provider, { tenant: 'acme', admin: 'adm_owner', now: NOW - 1000 });
    const generated = await generateWebCryptoSigner();
    expect(generated.cryptoKey.extractable).toBe(false);
    await expect(subtle.exportKey('pkcs8', generated.cryptoKey)).rejects.toThrow();
    expect(generated.publicKey.length).toBe(32);
    const certificate = await certifyAdministrator(provider, org.root.privateKey, {
      tenant: 'acme',
      admin: 'adm_browser',
      role: 'owner',
      adminPublicKey: generated.publicKey,
      now: NOW - 1000,
    });
    const key = await installAdminCertificate(provider, generated, certificate, org.root.publicKey, NOW);
    expect(key.privateKey).toBe(generated);
    const { signer } = signerOn(key);
    const verify = verifyUnder(org);
    const kinds = [];
    const identity = toPublicIdentity(await generateDeviceIdentity(provider));
    for (const object of await signEveryKind(signer, identity)) {
      const o = await verify(object);
      expect(o.certificate.admin).toBe('adm_browser');
      kinds.push(o.kind);
    }
    expect(kinds).toEqual([
      'policy-layer',
      'wipe',
      'broadcast',
      'pool-rules',
      'device-admission',
      'certificate-delegation',
    ]);
  });

  it('webCryptoSigner wraps a stored key after one signature; refuses an extractable key and a wrong public key', async () => {
    const generated = await generateWebCryptoSigner();
    const wrapped = await webCryptoSigner(generated.cryptoKey, generated.publicKey);
    const message = new Uint8Array(randomBytes(40));
    expect(await provider.ed25519.verify(wrapped.publicKey, message, await wrapped.sign(message))).toBe(true);

    const other = await provider.ed25519.generateKeyPair();
    await expect(webCryptoSigner(generated.cryptoKey, other.publicKey)).rejects.toBeInstanceOf(
      InvalidKeyError,
    );
    await expect(webCryptoSigner(generated.cryptoKey, other.publicKey.subarray(1))).rejects.toBeInstanceOf(
      ValidationError,
    );
    const extractable = (await subtle.generateKey({ name: 'Ed25519' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const raw = new Uint8Array(await subtle.exportKey('raw', extractable.publicKey));
    await expect(webCryptoSigner(extractable.privateKey, raw)).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
      field: 'cryptoKey.extractable',
    });
    await expect(webCryptoSigner(extractable.publicKey, raw)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('what the SDK refuses', () => {
  it('a signer whose public key is not the certified one: InvalidKeyError, nothing published', async () => {
    const org = await generateOrganisation(provider, { tenant: 'acme', admin: 'adm_owner' });
    const stranger = await generateWebCryptoSigner();
    // adminSigningKey compares the signer's key with the certificate, as for bytes.
    await expect(
      adminSigningKey(provider, stranger, org.owner.certificate, org.root.publicKey),
    ).rejects.toBeInstanceOf(ValidationError);
    const { server, signer } = signerOn({ ...org.owner, privateKey: stranger });
    await expect(signPolicyLayer(signer, { layer: 'tenant' }, {})).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(signWipe(signer, { user: 'alice', device: 2 })).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(signBroadcast(signer, { audience: { kind: 'tenant' }, text: 'x' })).rejects.toBeInstanceOf(
      InvalidKeyError,
    );
    // A signer that names the certified key but holds another one.
    const lying: Ed25519Signer = { publicKey: org.owner.publicKey, sign: (m) => stranger.sign(m) };
    const second = signerOn({ ...org.owner, privateKey: lying });
    await expect(signPoolRules(second.signer, { a: [] })).rejects.toBeInstanceOf(InvalidKeyError);
    expect(server.published).toEqual([]);
    expect(second.server.published).toEqual([]);
  });

  it('a signer returning a signature of the wrong length: InvalidKeyError, nothing published', async () => {
    const org = await generateOrganisation(provider, { tenant: 'acme', admin: 'adm_owner' });
    const held = (await importSigningKeyToWebCrypto(org.owner)).privateKey as WebCryptoSigner;
    for (const sign of [
      async (m: Uint8Array) => (await held.sign(m)).subarray(0, 63),
      async (m: Uint8Array) => new Uint8Array([...(await held.sign(m)), 0]),
    ]) {
      const { server, signer } = signerOn({ ...org.owner, privateKey: { publicKey: held.publicKey, sign } });
      await expect(signWipe(signer, { user: 'alice', device: 2 })).rejects.toBeInstanceOf(InvalidKeyError);
      expect(server.published).toEqual([]);
    }
  });

  it('key stores refuse to write out a signer (UsageError naming the browser, no secret echoed)', async () => {
    const org = await generateOrganisation(provider, { tenant: 'acme', admin: 'adm_owner' });
    const held = await importSigningKeyToWebCrypto(org.owner);
    const failure = await sealSigningKey(provider, held, passphrase, fast).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(UsageError);
    expect((failure as Error).message).toMatch(/browser \(WebCrypto\).*cannot be written out/);
    const generated = await generateWebCryptoSigner();
    await expect(
      sealKeyRequest(
        provider,
        {
          tenant: 'acme',
          admin: 'adm_x',
          publicKey: generated.publicKey,
          privateKey: generated as unknown as Uint8Array,
        },
        passphrase,
        fast,
      ),
    ).rejects.toBeInstanceOf(UsageError);
  });
});

describe('keys held by WebCrypto against a running server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-admin-webcrypto-'));
  let server: CloisterServer;
  let admin: AdminClient;
  let url: string;
  let org: GeneratedOrganisation;
  let signer: OrganisationSigner;
  let started: Awaited<ReturnType<typeof startTenant>>;
  const clients: CloisterClient[] = [];

  beforeAll(async () => {
    started = await startTenant(dir);
    ({ server, admin } = started);
    url = `https://127.0.0.1:${(server.app.server.address() as { port: number }).port}`;
    org = await generateOrganisation(started.provider, { tenant: 'acme', admin: started.owner.admin });
    await admin.setOrganisationRoot(org.root.publicKey, org.owner.certificate);
    const source = org.owner.privateKey as Uint8Array;
    signer = { provider: started.provider, key: await importSigningKeyToWebCrypto(org.owner), client: admin };
    expect(isZero(source)).toBe(true);
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function addDevice(user: string, id: number) {
    const stores = server.context.stores;
    const T = tenantId('acme');
    if ((await stores.users.get(T, userId(user))) === undefined)
      await stores.users.create(T, userId(user), { displayName: user });
    await stores.devices.add(T, userId(user), deviceId(id), {
      identity: {
        signingKey: new Uint8Array(randomBytes(32)),
        dhKey: new Uint8Array(randomBytes(32)),
        dhKeySignature: new Uint8Array(64),
      },
      registrationId: registrationId(id),
      mailbox: await newMailboxId(server.context.provider),
      credentialHash: new Uint8Array(randomBytes(32)),
    });
  }

  it('the server accepts a policy layer and a wipe signed by a non-extractable WebCrypto key', async () => {
    const before = await admin.getOrganisation();
    const layer = await signPolicyLayer(
      signer,
      { layer: 'tenant' },
      { 'files.send': { enabled: false, locked: true } },
    );
    expect(layer.sequence).toBe(before.sequences['policy-layer']);
    const verified = await verifyOrganisationObject(started.provider, layer.object, {
      rootPublicKey: org.root.publicKey,
      tenant,
      now: Date.now(),
    });
    expect(verified.kind).toBe('policy-layer');
    expect((await admin.getOrganisation()).sequences['policy-layer']).toBe(layer.sequence + 1);

    await addDevice('dora', 1);
    const wipe = await signWipe(signer, { user: 'dora', device: 1 });
    expect(decodeOrganisationObject(wipe.object).kind).toBe('wipe');
    expect(await admin.getWipe('dora', 1)).toMatchObject({ state: 'pending', commandId: wipe.commandId });
    expect((await admin.getOrganisation()).sequences.wipe).toBe(wipe.sequence + 1);
  }, 60_000);

  it('a key generated in WebCrypto and certified by the root publishes too', async () => {
    const generated = await generateWebCryptoSigner();
    const certificate = await certifyAdministrator(started.provider, org.root.privateKey, {
      tenant: 'acme',
      admin: started.owner.admin,
      role: 'owner',
      adminPublicKey: generated.publicKey,
    });
    const key = await installAdminCertificate(started.provider, generated, certificate, org.root.publicKey);
    const published = await signPoolRules({ ...signer, key }, { 'ward-3': [] });
    const o = await verifyOrganisationObject(started.provider, published.object, {
      rootPublicKey: org.root.publicKey,
      tenant,
      now: Date.now(),
    });
    expect(o.certificate.adminPublicKey).toEqual(generated.publicKey);
  }, 60_000);

  it('a bulk wipe signed by the WebCrypto key runs to the end', async () => {
    await addDevice('erin', 1);
    await addDevice('erin', 2);
    const job = await admin.bulk.wipe(signer, [
      { user: 'erin', device: 1 },
      { user: 'erin', device: 2 },
    ]);
    expect('id' in job).toBe(true);
    const done = await admin.bulk.wait((job as { id: string }).id, { intervalMs: 100 });
    expect(done).toMatchObject({ state: 'done', total: 2, ok: 2, failed: 0 });
    expect((await admin.getWipe('erin', 2)).state).toBe('pending');
  }, 60_000);

  it('admits a managed device and broadcasts to its user with the WebCrypto key', async () => {
    const device = async () => {
      const invite = await admin.inviteUser({ user: 'alice' });
      const client = await createClient({
        server: { url, pin: server.pin },
        storage: createMemoryAdapter(),
        pinWrap: { scrypt: PIN_SCRYPT_FLOOR },
      });
      await client.enroll(invite.enrolmentCode as string, { pin: '2468-1357' });
      await client.start();
      clients.push(client);
      return client;
    };
    await device();
    const tablet = await device();
    expect((await tablet.linkStatus()).linked).toBe(false);
    const report = await admin.devices.admitManaged(signer, {
      users: ['alice'],
      accept: (c) => c.device === tablet.me.deviceId,
    });
    expect(report.admitted).toEqual([{ user: 'alice', device: tablet.me.deviceId, epoch: 2 }]);
    expect((await tablet.linkStatus()).linked).toBe(true);

    const sent = await admin.broadcasts.send(
      { text: 'Signed in the browser', audience: { kind: 'users', users: ['alice'] } },
      signer,
    );
    expect(sent.queued).toBe(2);
    expect(sent.refused).toEqual([]);
  }, 120_000);
});
