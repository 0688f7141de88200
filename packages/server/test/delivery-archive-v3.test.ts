/**
 * Filing version-3 archive seals (`spec/server-delivery.md` §2a): a seal made with `sealArchived`
 * (sign-then-encrypt: only the version, the key id and the delivery id are outside the
 * ciphertext) is filed on the delivery whose message id it names, with that delivery id recorded
 * in the archive; moved onto another delivery it is refused with `binding`; an unsigned version-2
 * body with `format`; a truncated one does not pass the wire codec. Version-2 signed seals are
 * still filed (`blob-quotas.test.ts`, the client's archive tests).
 */
import { randomBytes } from 'node:crypto';
import {
  type CryptoProvider,
  getProvider,
  issueSenderCertificate,
  openArchived,
  peekArchiveSeal,
  type SenderCertificate,
  sealArchived,
  sealForArchive,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import { encodeSealedDelivery, tenantId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminTestServer, createTenantAsOperator, startAdminServer } from './helpers/admin-api.js';
import { setUpDevice, type TestDevice } from './helpers/device-client.js';
import { sealTo } from './helpers/sealed-delivery.js';

const acme = tenantId('acme');
let t: AdminTestServer;
let provider: CryptoProvider;
let archiveKey: { publicKey: Uint8Array; privateKey: Uint8Array };
let tenantKey: { publicKey: Uint8Array; privateKey: Uint8Array };
let identity: { publicKey: Uint8Array; privateKey: Uint8Array };
let certificate: SenderCertificate;
let to: TestDevice;

beforeAll(async () => {
  t = await startAdminServer(Date.now());
  await createTenantAsOperator(t, 'acme');
  provider = await getProvider();
  archiveKey = await provider.x25519.generateKeyPair();
  await t.server.context.stores.policies.set(
    { kind: 'tenant', tenant: acme },
    {
      archive: {
        enabled: true,
        locked: true,
        config: { publicKey: Buffer.from(archiveKey.publicKey).toString('base64url') },
      },
    },
  );
  tenantKey = await provider.ed25519.generateKeyPair();
  identity = await provider.ed25519.generateKeyPair();
  certificate = await issueSenderCertificate(provider, tenantKey.privateKey, {
    userId: 'sender',
    deviceId: 1,
    identitySigningKey: identity.publicKey,
    identityDhKey: (await provider.x25519.generateKeyPair()).publicKey,
    tenantId: 'acme',
    pools: [],
    expiresAt: Date.now() + 3_600_000,
  });
  to = await setUpDevice(t.server.context, acme, 'recipient', 1);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

const fresh = () => new Uint8Array(randomBytes(16));

function seal(deliveryId: Uint8Array, text = 'for the archive'): Promise<Uint8Array> {
  return sealArchived(provider, {
    archivePublicKey: archiveKey.publicKey,
    messageId: fresh(),
    conversationId: utf8('conv'),
    sender: { userId: 'sender', deviceId: 1 },
    sentAt: Date.now(),
    contentType: 'text/plain',
    content: utf8(text),
    deliveryId,
    certificate,
    identitySigningKey: identity.privateKey,
  });
}

async function submit(messageId: Uint8Array, archiveSeal: Uint8Array) {
  const envelope = await sealTo(t.server.context, certificate, to, utf8('hello'));
  const res = await t.request('POST', '/v1/messages', {
    body: encodeSealedDelivery({ messageId, envelope, archiveSeal }),
  });
  expect(res.status).toBe(200);
  expect(res.json.results[0].status).toBe('accepted');
  return res.json.archive as { status: string; reason?: string };
}

const items = async () => (await t.server.context.stores.archive.list(acme, { limit: 1000 })).items;

describe('filing version-3 archive seals', () => {
  it('files a version-3 seal on the delivery it names, recording the delivery id; auditors open it', async () => {
    const before = (await items()).length;
    const id = fresh();
    const bytes = await seal(id);
    expect(peekArchiveSeal(bytes).version).toBe(3);
    expect((await submit(id, bytes)).status).toBe('filed');
    const filed = (await items()).slice(before);
    expect(filed.length).toBe(1);
    expect(Buffer.from(filed[0]!.sealed)).toEqual(Buffer.from(bytes));
    expect(Buffer.from(filed[0]!.deliveryId ?? [])).toEqual(Buffer.from(id));
    const opened = await openArchived(provider, {
      archivePrivateKey: archiveKey.privateKey,
      tenantPublicKey: tenantKey.publicKey,
      deliveryId: id,
      bytes: filed[0]!.sealed,
    });
    expect(opened.bindings.sender).toEqual({ userId: 'sender', deviceId: 1 });
  });

  it('refuses a version-3 seal moved onto another delivery (binding), and malformed or unsigned seals (format)', async () => {
    const before = (await items()).length;
    // The seal names one delivery and rides on another.
    expect(await submit(fresh(), await seal(fresh()))).toEqual({ status: 'refused', reason: 'binding' });
    // A truncated version-3 seal does not even encode (nor decode): the wire refuses it.
    const truncated = (await seal(fresh())).slice(0, 40);
    const envelope = await sealTo(t.server.context, certificate, to, utf8('hello'));
    expect(() => encodeSealedDelivery({ messageId: fresh(), envelope, archiveSeal: truncated })).toThrow(
      ValidationError,
    );
    const unsigned = await sealForArchive(provider, {
      archivePublicKey: archiveKey.publicKey,
      messageId: fresh(),
      conversationId: utf8('conv'),
      sender: { userId: 'sender', deviceId: 1 },
      sentAt: Date.now(),
      contentType: 'text/plain',
      content: utf8('unsigned'),
    });
    expect(await submit(fresh(), unsigned)).toEqual({ status: 'refused', reason: 'format' });
    expect((await items()).length).toBe(before);
  });
});
