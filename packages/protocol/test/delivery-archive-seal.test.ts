/**
 * The wire's check of a delivery's archive seal (spec/wire.md, `SealedDelivery`): its header must
 * parse with `peekArchiveSeal`, so a version-3 seal (whose bindings are inside the ciphertext,
 * where `peekArchivedBindings` cannot read them) travels, and a cut one is refused naming the field.
 */
import {
  DecodeError,
  getProvider,
  issueSenderCertificate,
  peekArchivedBindings,
  sealArchived,
  sealEnvelope,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import { describe, expect, it } from 'vitest';
import { decodeSealedDelivery, encodeSealedDelivery } from '../src/index.js';

describe('archive seals on the wire', () => {
  it('carries a version-3 seal, and refuses a truncated one at sealedDelivery.archiveSeal', async () => {
    const provider = await getProvider();
    const archive = await provider.x25519.generateKeyPair();
    const tenant = await provider.ed25519.generateKeyPair();
    const identity = await provider.ed25519.generateKeyPair();
    const certificate = await issueSenderCertificate(provider, tenant.privateKey, {
      userId: 'alice',
      deviceId: 1,
      identitySigningKey: identity.publicKey,
      identityDhKey: (await provider.x25519.generateKeyPair()).publicKey,
      tenantId: 'acme',
      pools: [],
      expiresAt: Date.now() + 60_000,
    });
    const messageId = provider.randomBytes(16);
    const seal = await sealArchived(provider, {
      archivePublicKey: archive.publicKey,
      messageId: provider.randomBytes(16),
      conversationId: utf8('c'),
      sender: { userId: 'alice', deviceId: 1 },
      sentAt: 1,
      contentType: 'text/plain',
      content: utf8('hi'),
      deliveryId: messageId,
      certificate,
      identitySigningKey: identity.privateKey,
    });
    // The bindings are not readable: the old check would have refused it.
    expect(() => peekArchivedBindings(seal)).toThrow(DecodeError);
    const envelope = await envelopeBytes();
    const frame = encodeSealedDelivery({ messageId, envelope, archiveSeal: seal });
    expect(Buffer.from(decodeSealedDelivery(frame).archiveSeal!)).toEqual(Buffer.from(seal));
    let error: unknown;
    try {
      encodeSealedDelivery({ messageId, envelope, archiveSeal: seal.slice(0, 30) });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toMatch(/^sealedDelivery\.archiveSeal:/);
  });
});

/** A sealed envelope to some device (any outer header that parses). */
async function envelopeBytes(): Promise<Uint8Array> {
  const provider = await getProvider();
  const tenant = await provider.ed25519.generateKeyPair();
  const recipient = await provider.x25519.generateKeyPair();
  const certificate = await issueSenderCertificate(provider, tenant.privateKey, {
    userId: 'alice',
    deviceId: 1,
    identitySigningKey: (await provider.ed25519.generateKeyPair()).publicKey,
    identityDhKey: (await provider.x25519.generateKeyPair()).publicKey,
    tenantId: 'acme',
    pools: [],
    expiresAt: Date.now() + 60_000,
  });
  return sealEnvelope(provider, {
    recipientPublicKey: recipient.publicKey,
    mailbox: utf8('mbx_bob_000000000000'),
    deliveryToken: new Uint8Array(57),
    certificate,
    contentType: 1,
    body: utf8('x'),
  });
}
