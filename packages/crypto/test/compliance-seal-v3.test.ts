/**
 * Compliance seal, version 3 (sign-then-encrypt, one step) under every provider: round trips,
 * what the outer bytes reveal (nothing but version, key id, delivery id and a padded size), the
 * auditor's classification (`inspectArchived`) of every attack a member, the operator or anyone
 * holding the archive public key can try, version-2 and legacy seals through the same API, and
 * hostile inputs.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ARCHIVE_SEAL_V3_AAD_LABEL,
  ARCHIVE_SEAL_V3_INFO_LABEL,
  ARCHIVE_SEAL_V3_SIGNATURE_LABEL,
  type ArchiveBindings,
  ArchiveCertificateCache,
  type ArchiveInspection,
  archiveKeyId,
  inspectArchived,
  openArchived,
  peekArchivedBindings,
  peekArchiveSeal,
  sealArchived,
  sealForArchive,
  signArchiveSeal,
  verifyArchived,
} from '../src/compliance/index.js';
import {
  type CryptoProvider,
  concatBytes,
  encodeSenderCertificate,
  fromHex,
  generateHpkeKeyPair,
  issueSenderCertificate,
  type SenderCertificate,
  sealHpke,
  toHex,
  uintBE,
  utf8,
} from '../src/index.js';
import { errorCode as code } from './error-code.js';
import { PROVIDERS } from './providers.js';

const BINDINGS: ArchiveBindings = {
  messageId: Uint8Array.from({ length: 16 }, (_, i) => i + 1),
  conversationId: utf8('conversation-7'),
  sender: { userId: 'ceo@example.org', deviceId: 3 },
  sentAt: 1_767_225_600_123,
};
const DELIVERY = new Uint8Array(16).fill(0x42);

interface Member {
  signingKey: Uint8Array;
  certificate: SenderCertificate;
}

/** What anyone can build by hand with the archive public key: any record, any signer, any outer header. */
interface Forge {
  bindings?: ArchiveBindings;
  content?: Uint8Array;
  contentType?: string;
  /** The delivery id inside the signed record. */
  deliveryId?: Uint8Array;
  certificate: SenderCertificate;
  signingKey: Uint8Array;
  /** The archive public key the signature covers. */
  signedFor: Uint8Array;
  /** The archive public key the HPKE seal is made to. */
  sealTo: Uint8Array;
  /** The delivery id in the outer header. */
  outerDeliveryId?: Uint8Array;
  /** The key id in the outer header (default: that of `sealTo`). */
  keyId?: Uint8Array;
  /** Replaces the canonical padding. */
  padding?: (unpaddedLength: number) => Uint8Array;
  /** The recipient bytes after `recipLen` (default: none, `recipLen` 0). */
  recipient?: Uint8Array;
  /** Changes the record after it is signed (what anyone who saw a record can try). */
  tamper?: (record: Uint8Array) => Uint8Array;
}

async function setup(p: CryptoProvider) {
  const archive = await generateHpkeKeyPair(p);
  const tenant = await p.ed25519.generateKeyPair();
  const member = async (userId: string, deviceId: number, expiresAt = BINDINGS.sentAt + 86_400_000) => {
    const signing = await p.ed25519.generateKeyPair();
    const dh = await p.x25519.generateKeyPair();
    const certificate = await issueSenderCertificate(p, tenant.privateKey, {
      userId,
      deviceId,
      identitySigningKey: signing.publicKey,
      identityDhKey: dh.publicKey,
      tenantId: 'acme',
      pools: [],
      expiresAt,
    });
    return { signingKey: signing.privateKey, certificate } satisfies Member;
  };
  const ceo = await member('ceo@example.org', 3);
  const mallory = await member('mallory@example.org', 1);
  const seal = (
    content: Uint8Array,
    bindings: ArchiveBindings = BINDINGS,
    signer: Member = ceo,
    deliveryId = DELIVERY,
  ) =>
    sealArchived(p, {
      archivePublicKey: archive.publicKey,
      ...bindings,
      contentType: 'text/plain',
      content,
      deliveryId,
      certificate: signer.certificate,
      identitySigningKey: signer.signingKey,
    });
  const forge = async (f: Forge) => {
    const b = f.bindings ?? BINDINGS;
    const type = utf8(f.contentType ?? 'text/plain');
    const content = f.content ?? utf8('approve the transfer');
    const cert = encodeSenderCertificate(f.certificate);
    const recipient = f.recipient ?? new Uint8Array(0);
    const record = concatBytes(
      b.messageId,
      uintBE(b.conversationId.length, 1),
      b.conversationId,
      uintBE(utf8(b.sender.userId).length, 1),
      utf8(b.sender.userId),
      uintBE(b.sender.deviceId, 4),
      uintBE(b.sentAt, 8),
      uintBE(recipient.length, 1),
      recipient,
      uintBE(type.length, 1),
      type,
      uintBE(content.length, 4),
      content,
      f.deliveryId ?? DELIVERY,
      uintBE(cert.length, 2),
      cert,
    );
    const signature = await p.ed25519.sign(
      f.signingKey,
      concatBytes(utf8(ARCHIVE_SEAL_V3_SIGNATURE_LABEL), f.signedFor, record),
    );
    const unpadded = record.length + 64;
    const padding = f.padding?.(unpadded) ?? new Uint8Array(Math.ceil(unpadded / 256) * 256 - unpadded);
    const header = concatBytes(
      Uint8Array.of(3),
      f.keyId ?? (await archiveKeyId(p, f.sealTo)),
      f.outerDeliveryId ?? f.deliveryId ?? DELIVERY,
    );
    const { enc, ciphertext } = await sealHpke(p, {
      aead: 'aes-256-gcm',
      recipientPublicKey: f.sealTo,
      info: utf8(ARCHIVE_SEAL_V3_INFO_LABEL),
      aad: concatBytes(utf8(ARCHIVE_SEAL_V3_AAD_LABEL), header),
      plaintext: concatBytes(f.tamper?.(record) ?? record, signature, padding),
    });
    return concatBytes(header, enc, ciphertext);
  };
  const inspect = (
    bytes: Uint8Array,
    extra: {
      deliveryId?: Uint8Array;
      tenantId?: string;
      archivePrivateKey?: Uint8Array;
      certificateCache?: ArchiveCertificateCache;
    } = {},
  ) =>
    inspectArchived(p, {
      archivePrivateKey: archive.privateKey,
      tenantPublicKey: tenant.publicKey,
      bytes,
      ...extra,
    });
  const open = (bytes: Uint8Array, extra: { deliveryId?: Uint8Array; tenantId?: string } = {}) =>
    openArchived(p, {
      archivePrivateKey: archive.privateKey,
      tenantPublicKey: tenant.publicKey,
      bytes,
      ...extra,
    });
  return { archive, tenant, member, ceo, mallory, seal, forge, inspect, open };
}

/** The status and reason of an inspection, for compact assertions. */
function verdict(i: ArchiveInspection): string {
  return 'reason' in i ? `${i.status}/${i.reason}` : i.status;
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'compliance seal v3 (%s)',
  (name, p: CryptoProvider) => {
    const runs = name === 'noble' ? 4 : 12;

    it('round-trips content, bindings, delivery id and certificate; the outer bytes reveal only version, key id, delivery id and bucket', async () => {
      const s = await setup(p);
      const keyId = await archiveKeyId(p, s.archive.publicKey);
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ maxLength: 700 }),
          fc.uint8Array({ minLength: 16, maxLength: 16 }),
          fc.uint8Array({ maxLength: 64 }),
          fc.integer({ min: 0, max: BINDINGS.sentAt }),
          async (content, messageId, conversationId, sentAt) => {
            const bindings = { ...BINDINGS, messageId, conversationId, sentAt };
            const bytes = await s.seal(content, bindings);
            expect(bytes[0]).toBe(3);
            expect(peekArchiveSeal(bytes)).toEqual({ version: 3, signed: true, deliveryId: DELIVERY, keyId });
            expect(await code(() => peekArchivedBindings(bytes))).toBe('ERR_DECODE');
            expect((bytes.length - 25 - 32 - 16) % 256).toBe(0);
            const opened = await s.open(bytes, { deliveryId: DELIVERY, tenantId: 'acme' });
            expect(opened.version).toBe(3);
            expect(opened.bindings).toEqual(bindings);
            expect(opened.content).toEqual(content);
            expect(opened.contentType).toBe('text/plain');
            expect(opened.deliveryId).toEqual(DELIVERY);
            expect(opened.certificate).toEqual(s.ceo.certificate);
            const inspected = await s.inspect(bytes, { deliveryId: DELIVERY });
            expect(inspected).toEqual({ status: 'valid', archive: opened });
            const verified = await verifyArchived(p, {
              tenantPublicKey: s.tenant.publicKey,
              archivePrivateKey: s.archive.privateKey,
              bytes,
            });
            expect(verified).toEqual({
              version: 3,
              bindings,
              deliveryId: DELIVERY,
              certificate: s.ceo.certificate,
            });
          },
        ),
        { numRuns: runs },
      );
    });

    it('hides sender, bindings and certificate from whoever files the seal', async () => {
      const s = await setup(p);
      const bytes = toHex(await s.seal(utf8('x')));
      for (const secret of [
        utf8(BINDINGS.sender.userId),
        BINDINGS.messageId,
        BINDINGS.conversationId,
        s.ceo.certificate.identitySigningKey,
        s.ceo.certificate.signature,
      ]) {
        expect(bytes.includes(toHex(secret))).toBe(false);
      }
      // Two messages of different lengths in one bucket have the same size.
      expect((await s.seal(new Uint8Array(1))).length).toBe((await s.seal(new Uint8Array(100))).length);
      // A verifier without the archive key learns nothing: version 3 needs the key.
      expect(
        await code(() =>
          verifyArchived(p, { tenantPublicKey: s.tenant.publicKey, bytes: fromHexLocal(bytes) }),
        ),
      ).toBe('ERR_DECRYPTION_FAILED');
    });

    it('carries the recipient of a 1:1 message, signed and hidden; a group message has none', async () => {
      const s = await setup(p);
      const seal1to1 = (recipient: string, content = utf8('for you')) =>
        sealArchived(p, {
          archivePublicKey: s.archive.publicKey,
          ...BINDINGS,
          recipient,
          contentType: 'text/plain',
          content,
          deliveryId: DELIVERY,
          certificate: s.ceo.certificate,
          identitySigningKey: s.ceo.signingKey,
        });
      for (const recipient of ['cfo@example.org', 'Jürgen', `${'ä'.repeat(127)}x`]) {
        const bytes = await seal1to1(recipient);
        expect(toHex(bytes).includes(toHex(utf8(recipient))), recipient).toBe(false);
        expect(peekArchiveSeal(bytes), recipient).not.toHaveProperty('bindings');
        const opened = await s.open(bytes, { deliveryId: DELIVERY, tenantId: 'acme' });
        expect(opened.bindings, recipient).toEqual({ ...BINDINGS, recipient });
        const verified = await verifyArchived(p, {
          tenantPublicKey: s.tenant.publicKey,
          archivePrivateKey: s.archive.privateKey,
          bytes,
        });
        expect(verified.bindings.recipient, recipient).toBe(recipient);
      }
      // A group message (no recipient): the bindings have no recipient property at all.
      const group = await s.open(await s.seal(utf8('to the group')));
      expect('recipient' in group.bindings).toBe(false);
      expect(group.bindings).toStrictEqual(BINDINGS);
      // The recipient costs its bytes and one length byte, inside the padded plaintext.
      const short = await seal1to1('b', new Uint8Array(100));
      expect(short.length).toBe((await s.seal(new Uint8Array(100))).length);

      // It is signed: a record whose recipient is changed after signing (by whoever saw one and
      // re-encrypts it to the public archive key) is forged, and what it claims is not authenticated.
      const pk = s.archive.publicKey;
      const ceo = { certificate: s.ceo.certificate, signingKey: s.ceo.signingKey, signedFor: pk, sealTo: pk };
      const honest = await s.forge({ ...ceo, recipient: utf8('cfo@example.org') });
      expect(verdict(await s.inspect(honest))).toBe('valid');
      expect((await s.open(honest)).bindings.recipient).toBe('cfo@example.org');
      // Decoded byte for byte: a leading byte-order mark stays part of the id.
      const bom = await s.forge({ ...ceo, recipient: Uint8Array.of(0xef, 0xbb, 0xbf, 0x62) });
      expect((await s.open(bom)).bindings.recipient).toBe('\ufeffb');
      const swap = (from: string, to: string) => (record: Uint8Array) => {
        const at = toHex(record).indexOf(toHex(utf8(from))) / 2;
        const out = record.slice();
        out.set(utf8(to), at);
        return out;
      };
      const redirected = await s.forge({
        ...ceo,
        recipient: utf8('cfo@example.org'),
        tamper: swap('cfo@example.org', 'cto@example.org'),
      });
      const inspected = await s.inspect(redirected);
      expect(verdict(inspected)).toBe('forged/signature');
      expect(inspected.status === 'forged' && inspected.bindings?.recipient).toBe('cto@example.org');
      expect(await code(() => s.open(redirected))).toBe('ERR_DECRYPTION_FAILED');
      // The recipient removed after signing (recipLen set to 0): a 1:1 message passed off as a group's.
      const removed = await s.forge({
        ...ceo,
        recipient: utf8('cfo@example.org'),
        tamper: (record) => {
          const out = record.slice();
          out[16 + 1 + BINDINGS.conversationId.length + 1 + utf8(BINDINGS.sender.userId).length + 12] = 0;
          return out;
        },
      });
      expect(verdict(await s.inspect(removed))).toBe('forged/signature');
    });

    it('a recipient that is not well-formed UTF-8 or runs past the plaintext does not parse (forged, no bindings)', async () => {
      const s = await setup(p);
      const pk = s.archive.publicKey;
      const ceo = { certificate: s.ceo.certificate, signingKey: s.ceo.signingKey, signedFor: pk, sealTo: pk };
      for (const [what, recipient] of [
        ['0xff', Uint8Array.of(0xff)],
        ['overlong /', Uint8Array.of(0xc0, 0xaf)],
        ['encoded lone surrogate', Uint8Array.of(0xed, 0xa0, 0x80)],
        ['truncated sequence', Uint8Array.of(0x61, 0xc3)],
      ] as const) {
        const inspected = await s.inspect(await s.forge({ ...ceo, recipient }));
        expect(inspected, what).toEqual({ status: 'forged', reason: 'signature' });
      }
      // recipLen 255 with the record cut right after it: 255 bytes are not left in the plaintext.
      const idLength = utf8(BINDINGS.sender.userId).length;
      const cut = 16 + 1 + BINDINGS.conversationId.length + 1 + idLength + 12 + 1;
      const full = await s.forge({ ...ceo, recipient: new Uint8Array(255).fill(0x61) });
      expect(verdict(await s.inspect(full))).toBe('valid'); // 255 bytes that are there parse
      const pastEnd = await s.forge({
        ...ceo,
        recipient: new Uint8Array(255).fill(0x61),
        // Keep the length byte, drop what follows, pad canonically: fewer than 255 bytes remain.
        tamper: (record) => record.subarray(0, cut),
        padding: () => new Uint8Array(Math.ceil((cut + 64) / 256) * 256 - (cut + 64)),
      });
      expect((pastEnd.length - 25 - 32 - 16) % 256).toBe(0);
      expect(256 - cut).toBeLessThan(255);
      expect(await s.inspect(pastEnd)).toEqual({ status: 'forged', reason: 'signature' });
    });

    it('classifies every forgery by a member, the operator or anyone holding the archive public key', async () => {
      const s = await setup(p);
      const other = await generateHpkeKeyPair(p);
      const ceo = { certificate: s.ceo.certificate, signingKey: s.ceo.signingKey };
      const pk = s.archive.publicKey;
      const selfIssued = await issueSenderCertificate(p, s.mallory.signingKey, {
        ...s.ceo.certificate,
        identitySigningKey: await p.ed25519.publicKey(s.mallory.signingKey),
      });
      const stale = await s.member('ceo@example.org', 3, BINDINGS.sentAt - 1);
      const honest = await s.forge({ ...ceo, signedFor: pk, sealTo: pk });
      const cases: [string, Uint8Array, string, { deliveryId?: Uint8Array; tenantId?: string }?][] = [
        ['honest by hand (the layout)', honest, 'valid'],
        [
          "inner re-signed by Mallory under the CEO's certificate",
          await s.forge({
            certificate: s.ceo.certificate,
            signingKey: s.mallory.signingKey,
            signedFor: pk,
            sealTo: pk,
          }),
          'forged/signature',
        ],
        [
          "inner naming the CEO, under Mallory's own certificate",
          await s.forge({ ...s.mallory, signedFor: pk, sealTo: pk }),
          'forged/sender',
        ],
        [
          'a certificate Mallory issued herself',
          await s.forge({
            certificate: selfIssued,
            signingKey: s.mallory.signingKey,
            signedFor: pk,
            sealTo: pk,
          }),
          'forged/certificate',
        ],
        [
          'a certificate expired before sentAt',
          await s.forge({ ...stale, signedFor: pk, sealTo: pk }),
          'forged/expired',
        ],
        ['another tenant', honest, 'forged/tenant', { tenantId: 'globex' }],
        [
          'a valid inner signed for another archive key, re-encrypted to this one',
          await s.forge({ ...ceo, signedFor: other.publicKey, sealTo: pk }),
          'forged/signature',
        ],
        [
          'the outer delivery id swapped (inner re-encrypted under another outer header)',
          await s.forge({ ...ceo, signedFor: pk, sealTo: pk, outerDeliveryId: new Uint8Array(16).fill(7) }),
          'misbound/delivery',
        ],
        ['checked against another delivery', honest, 'misbound/delivery', { deliveryId: new Uint8Array(16) }],
        [
          'the key id of another key (aad consistent)',
          await s.forge({ ...ceo, signedFor: pk, sealTo: pk, keyId: await archiveKeyId(p, other.publicKey) }),
          'undecryptable',
        ],
        [
          'sealed to another archive key',
          await s.forge({ ...ceo, signedFor: pk, sealTo: other.publicKey }),
          'undecryptable',
        ],
        [
          "another key's seal claiming this key's id",
          await s.forge({ ...ceo, signedFor: pk, sealTo: other.publicKey, keyId: await archiveKeyId(p, pk) }),
          'undecryptable',
        ],
        [
          'non-zero padding',
          await s.forge({
            ...ceo,
            signedFor: pk,
            sealTo: pk,
            padding: (n) => Uint8Array.from({ length: Math.ceil(n / 256) * 256 - n }, () => 1),
          }),
          'forged/signature',
        ],
        [
          'a padding block too many',
          await s.forge({
            ...ceo,
            signedFor: pk,
            sealTo: pk,
            padding: (n) => new Uint8Array(Math.ceil(n / 256) * 256 - n + 256),
          }),
          'forged/signature',
        ],
        ['trailing byte', concatBytes(honest, Uint8Array.of(0)), 'undecryptable'],
        ['trailing block', concatBytes(honest, new Uint8Array(256)), 'undecryptable'],
        ['truncated block', honest.subarray(0, honest.length - 256), 'undecryptable'],
        ['empty', new Uint8Array(0), 'undecryptable'],
      ];
      // The same verdicts with a cache of verified certificates that already holds the CEO's
      // (an auditor's run over many seals): the cache skips nothing that depends on the seal.
      const certificateCache = new ArchiveCertificateCache();
      expect(verdict(await s.inspect(honest, { certificateCache }))).toBe('valid');
      expect(certificateCache.has(s.tenant.publicKey, s.ceo.certificate)).toBe(true);
      for (const [what, bytes, expected, extra] of cases) {
        const inspected = await s.inspect(bytes, extra);
        expect(verdict(inspected), what).toBe(expected);
        expect(verdict(await s.inspect(bytes, { ...extra, certificateCache })), `${what} (cached)`).toBe(
          expected,
        );
        if (inspected.status === 'forged' && inspected.bindings !== undefined) {
          expect(inspected.bindings.sender.userId, what).toBe('ceo@example.org');
        }
        if (expected !== 'valid')
          expect(await code(() => s.open(bytes, extra)), what).toBe('ERR_DECRYPTION_FAILED');
      }
    });

    it('a flipped bit anywhere in the outer header, enc or ciphertext is undecryptable', async () => {
      const s = await setup(p);
      const bytes = await s.seal(utf8('quarterly numbers'));
      const step = name === 'noble' ? 11 : 3;
      for (let i = 0; i < bytes.length; i += i < 57 ? 1 : step) {
        const altered = bytes.slice();
        altered[i] = (altered[i] as number) ^ 0x01;
        expect(verdict(await s.inspect(altered)), `byte ${i}`).toBe('undecryptable');
        if (i % 7 === 0) expect(await code(() => s.open(altered)), `byte ${i}`).toBe('ERR_DECRYPTION_FAILED');
      }
    });

    it('inspects version-2 and legacy seals through the same API', async () => {
      const s = await setup(p);
      const body = await sealForArchive(p, {
        archivePublicKey: s.archive.publicKey,
        ...BINDINGS,
        contentType: 'text/plain',
        content: utf8('v2'),
      });
      const v2 = await signArchiveSeal(p, {
        body,
        deliveryId: DELIVERY,
        certificate: s.ceo.certificate,
        identitySigningKey: s.ceo.signingKey,
      });
      const valid = await s.inspect(v2);
      expect(valid.status === 'valid' && valid.archive.version).toBe(2);
      expect((await s.open(v2)).version).toBe(2);
      expect(verdict(await s.inspect(v2, { deliveryId: new Uint8Array(16) }))).toBe('misbound/delivery');
      expect(verdict(await s.inspect(v2, { tenantId: 'globex' }))).toBe('forged/tenant');
      expect(verdict(await s.inspect(body))).toBe('forged/signature');
      const legacy = Uint8Array.from(v2, (b, i) => (i === 0 ? 1 : b));
      const inspected = await s.inspect(legacy);
      expect(verdict(inspected)).toBe('forged/legacy');
      expect(inspected.status === 'forged' && inspected.bindings).toEqual(BINDINGS);
      const wrong = await generateHpkeKeyPair(p);
      expect(verdict(await s.inspect(v2, { archivePrivateKey: wrong.privateKey }))).toBe('undecryptable');
      const flipped = v2.slice();
      flipped[5] = (flipped[5] as number) ^ 1;
      expect(verdict(await s.inspect(flipped))).toBe('forged/signature');
    });
  },
);

function fromHexLocal(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
}

describe('compliance seal v3: hostile inputs', () => {
  const p = PROVIDERS[0] as CryptoProvider;

  it('peeks and inspects arbitrary bytes without throwing anything but DecodeError (peek)', async () => {
    const s = await setup(p);
    const valid = await s.seal(utf8('x'));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 700 }).map((b) => concatBytes(Uint8Array.of(3), b)),
          fc
            .tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 1, max: 255 }))
            .map(([at, x]) => Uint8Array.from(valid, (b, i) => (i === at ? b ^ x : b))),
        ),
        async (bytes) => {
          const peeked = await code(() => peekArchiveSeal(bytes));
          expect(['accepted', 'ERR_DECODE']).toContain(peeked);
          const inspected = await s.inspect(bytes);
          expect(inspected.status).not.toBe('valid');
          expect(await code(() => s.open(bytes))).toBe('ERR_DECRYPTION_FAILED');
        },
      ),
      { numRuns: 60 },
    );
  });

  it('verifyArchived checks a version-3 seal only with a well-formed archive key', async () => {
    const s = await setup(p);
    const bytes = await s.seal(utf8('x'));
    expect(
      await code(() =>
        verifyArchived(p, {
          tenantPublicKey: s.tenant.publicKey,
          archivePrivateKey: new Uint8Array(31),
          bytes,
        }),
      ),
    ).toBe('ERR_VALIDATION');
    const wrong = await generateHpkeKeyPair(p);
    expect(
      await code(() =>
        verifyArchived(p, {
          tenantPublicKey: s.tenant.publicKey,
          archivePrivateKey: wrong.privateKey,
          bytes,
        }),
      ),
    ).toBe('ERR_DECRYPTION_FAILED');
    expect(
      await code(() =>
        verifyArchived(p, {
          tenantPublicKey: s.tenant.publicKey,
          archivePrivateKey: s.archive.privateKey,
          deliveryId: new Uint8Array(16),
          bytes,
        }),
      ),
    ).toBe('ERR_DECRYPTION_FAILED');
  });

  it('rejects bad seal arguments with ERR_VALIDATION naming the field', async () => {
    const s = await setup(p);
    const good = {
      archivePublicKey: s.archive.publicKey,
      ...BINDINGS,
      contentType: 'text/plain',
      content: utf8('x'),
      deliveryId: DELIVERY,
      certificate: s.ceo.certificate,
      identitySigningKey: s.ceo.signingKey,
    };
    const cases: [string, unknown][] = [
      ['archivePublicKey', { ...good, archivePublicKey: new Uint8Array(31) }],
      ['messageId', { ...good, messageId: new Uint8Array(15) }],
      ['conversationId', { ...good, conversationId: new Uint8Array(65) }],
      ['sender.userId', { ...good, sender: { userId: '', deviceId: 3 } }],
      ['sentAt', { ...good, sentAt: -1 }],
      ['recipient', { ...good, recipient: '' }],
      ['recipient', { ...good, recipient: 'x'.repeat(256) }],
      ['recipient', { ...good, recipient: `${'ä'.repeat(127)}xy` }],
      ['recipient', { ...good, recipient: '\ud800' }],
      ['recipient', { ...good, recipient: 5 }],
      ['contentType', { ...good, contentType: 'x'.repeat(256) }],
      ['content', { ...good, content: 'x' }],
      ['deliveryId', { ...good, deliveryId: new Uint8Array(17) }],
      ['identitySigningKey', { ...good, identitySigningKey: new Uint8Array(31) }],
      ['certificate', { ...good, certificate: null }],
      ['certificate', { ...good, sender: { userId: 'ceo@example.org', deviceId: 4 } }],
      ['certificate', { ...good, certificate: s.mallory.certificate }],
      ['identitySigningKey', { ...good, identitySigningKey: s.mallory.signingKey }],
      ['options', null],
    ];
    for (const [field, options] of cases) {
      let err: unknown;
      try {
        await sealArchived(p, options as Parameters<typeof sealArchived>[1]);
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string }).code, field).toBe('ERR_VALIDATION');
      expect((err as { field?: string }).field, field).toBe(field);
    }
  });

  it('rejects bad inspect arguments with ERR_VALIDATION and malformed v3 peeks with ERR_DECODE', async () => {
    const key = new Uint8Array(32).fill(9);
    const bytes = new Uint8Array(25 + 32 + 16 + 256);
    bytes[0] = 3;
    for (const options of [
      { archivePrivateKey: new Uint8Array(3), tenantPublicKey: key, bytes },
      { archivePrivateKey: key, tenantPublicKey: new Uint8Array(3), bytes },
      { archivePrivateKey: key, tenantPublicKey: key, bytes: [3] },
      { archivePrivateKey: key, tenantPublicKey: key, bytes, deliveryId: new Uint8Array(3) },
      { archivePrivateKey: undefined, tenantPublicKey: key, bytes },
    ]) {
      expect(await code(() => inspectArchived(p, options as never))).toBe('ERR_VALIDATION');
    }
    expect(peekArchiveSeal(bytes).version).toBe(3);
    for (const [what, b] of [
      ['header only', bytes.subarray(0, 25)],
      ['no ciphertext', bytes.subarray(0, 57)],
      ['short ciphertext', bytes.subarray(0, bytes.length - 1)],
      ['unpadded ciphertext', concatBytes(bytes, new Uint8Array(17))],
    ] as const) {
      expect(await code(() => peekArchiveSeal(b)), what).toBe('ERR_DECODE');
      expect(await code(() => peekArchivedBindings(b)), what).toBe('ERR_DECODE');
      expect(
        verdict(await inspectArchived(p, { archivePrivateKey: key, tenantPublicKey: key, bytes: b })),
        what,
      ).toBe('undecryptable');
    }
  });
});

interface V3Vectors {
  version3: {
    valid: {
      name: string;
      archivePrivateKey: string;
      archivePublicKey: string;
      tenantPublicKey: string;
      tenantId: string;
      identitySigningKey: string;
      messageId: string;
      conversationId: string;
      senderUserId: string;
      senderDeviceId: number;
      sentAt: number;
      recipient?: string;
      deliveryId: string;
      contentType: string;
      content: string;
      intermediates: { keyId: string; certificate: string };
      sealed: string;
    }[];
    invalid: {
      name: string;
      base: string;
      sealed: string;
      expectedDeliveryId?: string;
      expectedTenantId?: string;
      status: string;
      reason?: string;
      error: string;
    }[];
  };
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'test-vectors/archive-seal.json version3 (%s)',
  (_n, p) => {
    const { version3: vectors } = JSON.parse(
      readFileSync(new URL('../../../test-vectors/archive-seal.json', import.meta.url), 'utf8'),
    ) as V3Vectors;

    it('opens every valid case to its content, bindings and certificate', async () => {
      expect(vectors.valid.length).toBe(3);
      expect(vectors.valid.map((v) => v.recipient)).toEqual([
        'cfo@example.org',
        undefined,
        expect.any(String),
      ]);
      for (const v of vectors.valid) {
        const bytes = fromHex(v.sealed);
        expect(peekArchiveSeal(bytes), v.name).toEqual({
          version: 3,
          signed: true,
          deliveryId: fromHex(v.deliveryId),
          keyId: fromHex(v.intermediates.keyId),
        });
        expect(toHex(await archiveKeyId(p, fromHex(v.archivePublicKey))), v.name).toBe(v.intermediates.keyId);
        const opened = await openArchived(p, {
          archivePrivateKey: fromHex(v.archivePrivateKey),
          tenantPublicKey: fromHex(v.tenantPublicKey),
          tenantId: v.tenantId,
          deliveryId: fromHex(v.deliveryId),
          bytes,
        });
        expect(opened.version, v.name).toBe(3);
        expect(toHex(opened.content), v.name).toBe(v.content);
        expect(opened.contentType, v.name).toBe(v.contentType);
        expect(toHex(encodeSenderCertificate(opened.certificate)), v.name).toBe(v.intermediates.certificate);
        expect(toHex(opened.certificate.identitySigningKey), v.name).toBe(v.identitySigningKey);
        expect(opened.bindings, v.name).toEqual({
          messageId: fromHex(v.messageId),
          conversationId: fromHex(v.conversationId),
          sender: { userId: v.senderUserId, deviceId: v.senderDeviceId },
          sentAt: v.sentAt,
          ...(v.recipient === undefined ? {} : { recipient: v.recipient }),
        });
        expect('recipient' in opened.bindings, v.name).toBe(v.recipient !== undefined);
      }
    });

    it('classifies every invalid case as recorded and refuses it to openArchived', async () => {
      expect(vectors.invalid.map((v) => v.name)).toEqual(
        expect.arrayContaining([
          'outer-header-changed',
          'outer-delivery-id-swapped',
          'resigned-by-another-member',
          'another-members-certificate',
          'key-id-mismatch',
          'trailing-byte',
          'wrong-archive-key',
          'recipient-length-past-record',
          'recipient-not-utf8',
        ]),
      );
      for (const v of vectors.invalid) {
        const base = vectors.valid.find((c) => c.name === v.base);
        const options = {
          archivePrivateKey: fromHex(base?.archivePrivateKey ?? ''),
          tenantPublicKey: fromHex(base?.tenantPublicKey ?? ''),
          bytes: fromHex(v.sealed),
          ...(v.expectedDeliveryId === undefined ? {} : { deliveryId: fromHex(v.expectedDeliveryId) }),
          ...(v.expectedTenantId === undefined ? {} : { tenantId: v.expectedTenantId }),
        };
        expect(verdict(await inspectArchived(p, options)), v.name).toBe(
          v.reason === undefined ? v.status : `${v.status}/${v.reason}`,
        );
        expect(await code(() => openArchived(p, options)), v.name).toBe(v.error);
      }
    });
  },
);
