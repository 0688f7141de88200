/**
 * The auditors' cache of verified sender certificates (`ArchiveCertificateCache`), under every
 * provider: with and without it every seal gets the same verdict; what depends on the seal (the
 * expiry at its send time) is checked each time (the forgery table of `compliance-seal-v3.test.ts`
 * runs with a primed cache too: the sender's own signature); a certificate whose
 * tenant signature fails is never remembered; an entry counts only for the tenant key it was
 * verified under; the bound holds.
 */
import { describe, expect, it } from 'vitest';
import {
  ArchiveCertificateCache,
  type ArchiveInspection,
  inspectArchived,
  sealArchived,
} from '../src/compliance/index.js';
import {
  type CryptoProvider,
  generateHpkeKeyPair,
  issueSenderCertificate,
  type SenderCertificate,
  utf8,
  ValidationError,
} from '../src/index.js';
import { PROVIDERS } from './providers.js';

const SENT = 1_767_225_600_000;
const DAY = 86_400_000;

function verdict(i: ArchiveInspection): string {
  return 'reason' in i ? `${i.status}/${i.reason}` : i.status;
}

async function setup(p: CryptoProvider) {
  const archive = await generateHpkeKeyPair(p);
  const tenant = await p.ed25519.generateKeyPair();
  const otherTenant = await p.ed25519.generateKeyPair();
  const member = async (userId: string, issuer = tenant.privateKey) => {
    const signing = await p.ed25519.generateKeyPair();
    const dh = await p.x25519.generateKeyPair();
    const certificate = await issueSenderCertificate(p, issuer, {
      userId,
      deviceId: 1,
      identitySigningKey: signing.publicKey,
      identityDhKey: dh.publicKey,
      tenantId: 'acme',
      pools: [],
      expiresAt: SENT + DAY,
    });
    return { signingKey: signing.privateKey, certificate };
  };
  const seal = (
    who: { signingKey: Uint8Array; certificate: SenderCertificate },
    sentAt = SENT,
    userId = who.certificate.userId,
  ) =>
    sealArchived(p, {
      archivePublicKey: archive.publicKey,
      messageId: p.randomBytes(16),
      conversationId: utf8('c'),
      sender: { userId, deviceId: 1 },
      sentAt,
      contentType: 'text/plain',
      content: utf8('hello'),
      deliveryId: new Uint8Array(16).fill(7),
      certificate: who.certificate,
      identitySigningKey: who.signingKey,
    });
  const inspect = async (
    bytes: Uint8Array,
    cache?: ArchiveCertificateCache,
    tenantPublicKey = tenant.publicKey,
  ) =>
    verdict(
      await inspectArchived(p, {
        bytes,
        archivePrivateKey: archive.privateKey,
        tenantPublicKey,
        ...(cache === undefined ? {} : { certificateCache: cache }),
      }),
    );
  return { tenant, otherTenant, member, seal, inspect };
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('archive certificate cache (%s)', (_name, p) => {
  it('gives every seal the verdict it gets without the cache, and checks each seal’s expiry', async () => {
    const s = await setup(p);
    const ceo = await s.member('ceo');
    const outsider = await s.member('ceo', s.otherTenant.privateKey); // a certificate the tenant never signed
    const valid = await s.seal(ceo);
    const late = await s.seal(ceo, SENT + 2 * DAY); // the same certificate, expired at send time
    const foreign = await s.seal(outsider);
    const cache = new ArchiveCertificateCache();
    for (const bytes of [valid, late, foreign, valid, late, foreign]) {
      expect(await s.inspect(bytes, cache)).toBe(await s.inspect(bytes));
    }
    expect(await s.inspect(valid, cache)).toBe('valid');
    expect(await s.inspect(late, cache)).toBe('forged/expired');
    expect(await s.inspect(foreign, cache)).toBe('forged/certificate');
    // Only the certificate whose tenant signature verified is remembered.
    expect(cache.size).toBe(1);
    expect(cache.has(s.tenant.publicKey, ceo.certificate)).toBe(true);
    expect(cache.has(s.tenant.publicKey, outsider.certificate)).toBe(false);
  });

  it('counts an entry only for the tenant key it was verified under, and stays within its bound', async () => {
    const s = await setup(p);
    const ceo = await s.member('ceo');
    const bytes = await s.seal(ceo);
    const cache = new ArchiveCertificateCache(2);
    expect(await s.inspect(bytes, cache)).toBe('valid');
    expect(await s.inspect(bytes, cache, s.otherTenant.publicKey)).toBe('forged/certificate');
    for (const name of ['a', 'b', 'c', 'd']) await s.inspect(await s.seal(await s.member(name)), cache);
    expect(cache.size).toBe(2);
    expect(() => new ArchiveCertificateCache(0)).toThrow(ValidationError);
    await expect(
      inspectArchived(p, {
        bytes,
        archivePrivateKey: new Uint8Array(32),
        tenantPublicKey: s.tenant.publicKey,
        certificateCache: new Set() as never,
      }),
    ).rejects.toBeInstanceOf(ValidationError);
  });
});
