/**
 * Storage quotas per device and per tenant (`spec/server-blobs.md` §1.4; security review: "one
 * delivery token holder can upload unbounded blobs"). The attack: one device POSTs blobs without
 * end, each reserving its declared size for up to the mailbox retention. Each device now holds at
 * most `limits.blobMaxBytesPerDevice` and `limits.blobMaxCountPerDevice`, each tenant's blobs and
 * archive together at most `limits.tenantMaxBytes`: past one, 507 `ERR_QUOTA` naming it and nothing
 * stored; a delete frees. An archive seal past the tenant quota is refused with `quota` while its
 * message is delivered. Administrators see the tenant's figures in `GET /admin/v1/usage`.
 */
import { randomBytes } from 'node:crypto';
import {
  getProvider,
  issueSenderCertificate,
  type SenderCertificate,
  sealForArchive,
  signArchiveSeal,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import { encodeSealedDelivery, tenantId } from '@cloister/protocol';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBlobRoutes } from '../src/routes/blobs.js';
import {
  type AdminTestServer,
  createTenantAsOperator,
  login,
  startAdminServer,
} from './helpers/admin-api.js';
import { setUpDevice, type TestDevice } from './helpers/device-client.js';
import { sealTo } from './helpers/sealed-delivery.js';

const KIB = 1024;
const acme = tenantId('acme');
const beta = tenantId('beta');
const LIMITS = {
  blobChunkBytes: 4096,
  blobBytes: 32 * KIB,
  blobMaxBytesPerDevice: 64 * KIB,
  blobMaxCountPerDevice: 6,
  tenantMaxBytes: 200 * KIB,
};

let t: AdminTestServer;
let acmeOwner: { session: string };
/** The last blob that filled tenant beta to its quota. */
let betaLast: { device: TestDevice; id: string } | undefined;

beforeAll(async () => {
  t = await startAdminServer(Date.now(), { limits: LIMITS });
  const created = await createTenantAsOperator(t, 'acme');
  acmeOwner = { session: await login(t, 'acme', created.owner.email, created.owner.secret) };
  await createTenantAsOperator(t, 'beta');
}, 60_000);
afterAll(async () => {
  await t?.close();
});

const post = (d: TestDevice, size: number) =>
  t.request('POST', '/v1/blobs', { json: { size }, credential: d.credential });
const remove = (d: TestDevice, id: string) =>
  t.request('DELETE', `/v1/blobs/${id}`, { credential: d.credential });
const quotaBody = (quota: string) => ({
  error: { code: 'ERR_QUOTA', message: `storage quota exceeded: ${quota}` },
});

describe('blob quotas on the routes', () => {
  it('stops one device that keeps uploading at its byte quota (507), and a delete lets it go on', async () => {
    const mallory = await setUpDevice(t.server.context, acme, 'mallory', 1);
    const ids: string[] = [];
    let refused: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 100 && refused === undefined; i++) {
      const res = await post(mallory, 16 * KIB);
      if (res.status === 201) ids.push(res.json.blobId);
      else refused = res;
    }
    expect(ids.length).toBe(4);
    expect(refused?.status).toBe(507);
    expect(refused?.json).toEqual(quotaBody('device.blobBytes'));
    // A single blob over the size limit is still 413, whatever the quotas.
    const tooBig = await post(mallory, LIMITS.blobBytes + 1);
    expect(tooBig.status).toBe(413);
    expect(tooBig.json.error.code).toBe('ERR_LIMIT');

    expect((await remove(mallory, ids[0] as string)).status).toBe(204);
    expect((await post(mallory, 16 * KIB)).status).toBe(201);
    expect((await post(mallory, 1)).status).toBe(507);
    // Another device of the same user is not affected.
    const tablet = await setUpDevice(t.server.context, acme, 'mallory', 2);
    expect((await post(tablet, 16 * KIB)).status).toBe(201);
  });

  it('stops a device at its blob count (507 device.blobs)', async () => {
    const dave = await setUpDevice(t.server.context, acme, 'dave', 1);
    for (let i = 0; i < LIMITS.blobMaxCountPerDevice; i++) expect((await post(dave, 10)).status).toBe(201);
    const over = await post(dave, 10);
    expect(over.status).toBe(507);
    expect(over.json).toEqual(quotaBody('device.blobs'));
  });

  it("holds a tenant's devices together to the tenant quota (507 tenant.bytes)", async () => {
    const ctx = t.server.context;
    const devices = await Promise.all(['a', 'b', 'c'].map((u) => setUpDevice(ctx, beta, u, 1)));
    const [a, b, c] = devices as [TestDevice, TestDevice, TestDevice];
    for (const d of [a, a, b, b, c, c]) expect((await post(d, 32 * KIB)).status).toBe(201);
    // 192 KiB of 200: another 16 KiB does not fit, from a device that holds nothing.
    const d = await setUpDevice(ctx, beta, 'd', 1);
    const over = await post(d, 16 * KIB);
    expect(over.status).toBe(507);
    expect(over.json).toEqual(quotaBody('tenant.bytes'));
    const last = await post(d, 8 * KIB);
    expect(last.status).toBe(201);
    betaLast = { device: d, id: last.json.blobId };
    expect((await post(d, 1)).status).toBe(507);
    // Another tenant is not affected.
    const other = await setUpDevice(ctx, acme, 'erin', 1);
    expect((await post(other, 16 * KIB)).status).toBe(201);
  });

  it('refuses an archive seal past the tenant quota with `quota`; the message itself is delivered', async () => {
    const ctx = t.server.context;
    const provider = await getProvider();
    const archiveKey = await provider.x25519.generateKeyPair();
    await ctx.stores.policies.set(
      { kind: 'tenant', tenant: beta },
      {
        archive: {
          enabled: true,
          locked: true,
          config: { publicKey: Buffer.from(archiveKey.publicKey).toString('base64url') },
        },
      },
    );
    const tenantKey = await provider.ed25519.generateKeyPair();
    const identity = await provider.ed25519.generateKeyPair();
    const certificate: SenderCertificate = await issueSenderCertificate(provider, tenantKey.privateKey, {
      userId: 'sender',
      deviceId: 1,
      identitySigningKey: identity.publicKey,
      identityDhKey: (await provider.x25519.generateKeyPair()).publicKey,
      tenantId: 'beta',
      pools: [],
      expiresAt: Date.now() + 3_600_000,
    });
    const to = await setUpDevice(ctx, beta, 'recipient', 1);
    async function sendWithSeal() {
      const messageId = new Uint8Array(randomBytes(16));
      const body = await sealForArchive(provider, {
        archivePublicKey: archiveKey.publicKey,
        messageId,
        conversationId: utf8('conv'),
        sender: { userId: 'sender', deviceId: 1 },
        sentAt: Date.now(),
        contentType: 'text/plain',
        content: utf8('for the archive'),
      });
      const archiveSeal = await signArchiveSeal(provider, {
        body,
        deliveryId: messageId,
        certificate,
        identitySigningKey: identity.privateKey,
      });
      const envelope = await sealTo(ctx, certificate, to, utf8('hello'));
      const res = await t.request('POST', '/v1/messages', {
        body: encodeSealedDelivery({ messageId, envelope, archiveSeal }),
      });
      return { res, size: archiveSeal.length };
    }
    // Tenant beta is full (previous test).
    const held = await ctx.stores.usage.tenant(beta);
    expect(held.blobs.bytes + held.archive.bytes).toBe(LIMITS.tenantMaxBytes);

    const refused = await sendWithSeal();
    expect(refused.res.status).toBe(200);
    expect(refused.res.json.results[0].status).toBe('accepted');
    expect(refused.res.json.archive).toEqual({ status: 'refused', reason: 'quota' });
    expect((await ctx.stores.archive.list(beta)).items).toEqual([]);
    expect(await ctx.stores.mailboxes.count(to.mailbox)).toBe(1);

    // A device deletes its blob: the next seal is filed, and counted.
    expect((await remove(betaLast?.device as TestDevice, betaLast?.id as string)).status).toBe(204);
    const filed = await sendWithSeal();
    expect(filed.res.json.results[0].status).toBe('accepted');
    expect(filed.res.json.archive.status).toBe('filed');
    expect((await ctx.stores.usage.tenant(beta)).archive).toEqual({ bytes: filed.size, count: 1 });
    expect(await ctx.stores.mailboxes.count(to.mailbox)).toBe(2);
  });

  it('refuses quota limits that are not integers of at least 0 when the routes are registered', async () => {
    const ctx = t.server.context;
    for (const name of ['blobMaxBytesPerDevice', 'blobMaxCountPerDevice', 'tenantMaxBytes'] as const) {
      const app = Fastify();
      const bad = { ...ctx, limits: { ...ctx.limits, [name]: -1 } };
      const error = await Promise.resolve(createBlobRoutes()(app, bad)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(`limits.${name}`);
      await app.close();
    }
  });
});

describe('GET /admin/v1/usage', () => {
  it("shows the tenant's blobs and archive, moving with an upload and a delete, and the quotas", async () => {
    const read = async () => {
      const res = await t.as(acmeOwner, 'GET', '/admin/v1/usage');
      expect(res.status).toBe(200);
      return res.json;
    };
    const before = await read();
    expect(before.quotas).toEqual({
      tenantMaxBytes: LIMITS.tenantMaxBytes,
      blobMaxBytesPerDevice: LIMITS.blobMaxBytesPerDevice,
      blobMaxCountPerDevice: LIMITS.blobMaxCountPerDevice,
      mailboxMaxEnvelopes: t.server.context.limits.mailboxMaxEnvelopes,
      mailboxMaxBytes: t.server.context.limits.mailboxMaxBytes,
    });
    expect(before.blobs).toEqual(await t.server.context.stores.usage.tenant(acme).then((u) => u.blobs));
    const uploader = await setUpDevice(t.server.context, acme, 'uploader', 1);
    const created = await post(uploader, 5000);
    expect(created.status).toBe(201);
    const after = await read();
    expect(after.blobs).toEqual({ bytes: before.blobs.bytes + 5000, count: before.blobs.count + 1 });
    expect(after.archive).toEqual(before.archive);
    expect((await remove(uploader, created.json.blobId)).status).toBe(204);
    expect((await read()).blobs).toEqual(before.blobs);
    // Another tenant's figures are not shown: beta holds blobs and an archive item.
    expect((await read()).archive).toEqual({ bytes: 0, count: 0 });
    expect((await t.as({ none: true }, 'GET', '/admin/v1/usage')).status).toBe(401);
  });
});
