/**
 * Compliance seal, version 2: round trips under every provider, the forgeries of issue 14 attack
 * 3 (another member signing in the CEO's name, with the CEO's certificate or with its own),
 * altered bindings, a seal moved to another delivery, tampering of every byte, the wrong archive
 * or tenant key, hostile inputs with their error codes, and the vectors.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ARCHIVE_SEAL_SIGNATURE_LABEL,
  ARCHIVE_SEAL_VERSION,
  type ArchiveBindings,
  openArchived,
  peekArchivedBindings,
  peekArchiveSeal,
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
  const seal = async (
    bindings: ArchiveBindings,
    content: Uint8Array,
    signer: Member = ceo,
    deliveryId = DELIVERY,
  ) => {
    const body = await sealForArchive(p, {
      archivePublicKey: archive.publicKey,
      ...bindings,
      contentType: 'text/plain',
      content,
    });
    return signArchiveSeal(p, {
      body,
      deliveryId,
      certificate: signer.certificate,
      identitySigningKey: signer.signingKey,
    });
  };
  /** What a forger can build by hand: any body, any certificate, any key. */
  const forge = async (body: Uint8Array, certificate: SenderCertificate, signingKey: Uint8Array) => {
    const cert = encodeSenderCertificate(certificate);
    const signed = concatBytes(body, DELIVERY, uintBE(cert.length, 2), cert);
    return concatBytes(
      signed,
      await p.ed25519.sign(signingKey, concatBytes(utf8(ARCHIVE_SEAL_SIGNATURE_LABEL), signed)),
    );
  };
  const open = (bytes: Uint8Array, extra: { deliveryId?: Uint8Array; tenantId?: string } = {}) =>
    openArchived(p, {
      archivePrivateKey: archive.privateKey,
      tenantPublicKey: tenant.publicKey,
      bytes,
      ...extra,
    });
  return { archive, tenant, member, ceo, mallory, seal, forge, open };
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'compliance seal v2 (%s)',
  (name, p: CryptoProvider) => {
    const runs = name === 'noble' ? 4 : 12;

    it('round-trips content, bindings, delivery id and the sender certificate', async () => {
      const s = await setup(p);
      await fc.assert(
        fc.asyncProperty(
          fc.uint8Array({ maxLength: 300 }),
          fc.uint8Array({ minLength: 16, maxLength: 16 }),
          fc.uint8Array({ maxLength: 64 }),
          fc.integer({ min: 0, max: BINDINGS.sentAt }),
          async (content, messageId, conversationId, sentAt) => {
            const bindings = { ...BINDINGS, messageId, conversationId, sentAt };
            const bytes = await s.seal(bindings, content);
            expect(bytes[0]).toBe(ARCHIVE_SEAL_VERSION);
            expect(peekArchivedBindings(bytes)).toEqual(bindings);
            expect(peekArchiveSeal(bytes)).toEqual({
              version: 2,
              signed: true,
              bindings,
              deliveryId: DELIVERY,
            });
            const opened = await s.open(bytes, { deliveryId: DELIVERY, tenantId: 'acme' });
            expect(opened.bindings).toEqual(bindings);
            expect(opened.content).toEqual(content);
            expect(opened.contentType).toBe('text/plain');
            expect(opened.deliveryId).toEqual(DELIVERY);
            expect(opened.certificate.identitySigningKey).toEqual(s.ceo.certificate.identitySigningKey);
            const verified = await verifyArchived(p, { tenantPublicKey: s.tenant.publicKey, bytes });
            expect(verified.bindings).toEqual(bindings);
          },
        ),
        { numRuns: runs },
      );
    });

    it('attack 3: a member cannot seal in the CEO name', async () => {
      const s = await setup(p);
      const lie = utf8('Bob, approve the 250k transfer to Mallory Ltd');
      const body = await sealForArchive(p, {
        archivePublicKey: s.archive.publicKey,
        ...BINDINGS,
        contentType: 'text/plain',
        content: lie,
      });
      // The SDK will not sign a body for another sender.
      expect(
        await code(() =>
          signArchiveSeal(p, {
            body,
            deliveryId: DELIVERY,
            certificate: s.mallory.certificate,
            identitySigningKey: s.mallory.signingKey,
          }),
        ),
      ).toBe('ERR_VALIDATION');
      expect(
        await code(() =>
          signArchiveSeal(p, {
            body,
            deliveryId: DELIVERY,
            certificate: s.ceo.certificate,
            identitySigningKey: s.mallory.signingKey,
          }),
        ),
      ).toBe('ERR_VALIDATION');
      // By hand: the CEO's certificate (seen on a message from the CEO) with Mallory's signature,
      // Mallory's own certificate, or a certificate Mallory issued herself.
      const selfIssued = await issueSenderCertificate(p, s.mallory.signingKey, {
        ...s.ceo.certificate,
        identitySigningKey: await p.ed25519.publicKey(s.mallory.signingKey),
      });
      for (const [what, forged] of [
        ['ceo certificate', await s.forge(body, s.ceo.certificate, s.mallory.signingKey)],
        ['own certificate', await s.forge(body, s.mallory.certificate, s.mallory.signingKey)],
        ['self-issued certificate', await s.forge(body, selfIssued, s.mallory.signingKey)],
      ] as const) {
        expect(peekArchivedBindings(forged).sender.userId, what).toBe('ceo@example.org');
        expect(await code(() => s.open(forged)), what).toBe('ERR_DECRYPTION_FAILED');
        expect(
          await code(() => verifyArchived(p, { tenantPublicKey: s.tenant.publicKey, bytes: forged })),
          what,
        ).toBe('ERR_DECRYPTION_FAILED');
      }
      // Mallory sealing in her own name works, and says so.
      const honest = await s.seal(
        { ...BINDINGS, sender: { userId: 'mallory@example.org', deviceId: 1 } },
        lie,
        s.mallory,
      );
      expect((await s.open(honest)).certificate.userId).toBe('mallory@example.org');
    });

    it('refuses a seal moved to another delivery, another tenant, an expired certificate, a legacy or unsigned seal', async () => {
      const s = await setup(p);
      const bytes = await s.seal(BINDINGS, utf8('x'));
      expect(await code(() => s.open(bytes, { deliveryId: new Uint8Array(16) }))).toBe(
        'ERR_DECRYPTION_FAILED',
      );
      expect(await code(() => s.open(bytes, { tenantId: 'other' }))).toBe('ERR_DECRYPTION_FAILED');
      const other = await p.ed25519.generateKeyPair();
      expect(
        await code(() =>
          openArchived(p, {
            archivePrivateKey: s.archive.privateKey,
            tenantPublicKey: other.publicKey,
            bytes,
          }),
        ),
      ).toBe('ERR_DECRYPTION_FAILED');
      const stale = await s.member('ceo@example.org', 3, BINDINGS.sentAt - 1);
      const staleSeal = await s.seal(BINDINGS, utf8('x'), stale);
      expect(await code(() => s.open(staleSeal))).toBe('ERR_DECRYPTION_FAILED');
      const body = await sealForArchive(p, {
        archivePublicKey: s.archive.publicKey,
        ...BINDINGS,
        contentType: 't',
        content: utf8('x'),
      });
      expect(peekArchiveSeal(body).signed).toBe(false);
      expect(await code(() => s.open(body))).toBe('ERR_DECRYPTION_FAILED');
      const legacy = Uint8Array.from(bytes, (b, i) => (i === 0 ? 1 : b));
      expect(peekArchiveSeal(legacy).version).toBe(1);
      expect(await code(() => s.open(legacy))).toBe('ERR_DECRYPTION_FAILED');
    });

    it('fails on any flipped bit, truncation or extension, and with the wrong archive key', async () => {
      const s = await setup(p);
      const bytes = await s.seal(BINDINGS, utf8('quarterly numbers'));
      const step = name === 'noble' ? 13 : 3;
      for (let i = 0; i < bytes.length; i += step) {
        const altered = bytes.slice();
        altered[i] = (altered[i] as number) ^ 0x01;
        expect(await code(() => s.open(altered)), `byte ${i}`).toBe('ERR_DECRYPTION_FAILED');
      }
      for (const cut of [1, 64, bytes.length - 1]) {
        expect(await code(() => s.open(bytes.subarray(0, cut))), `cut ${cut}`).toBe('ERR_DECRYPTION_FAILED');
      }
      expect(await code(() => s.open(concatBytes(bytes, Uint8Array.of(0))))).toBe('ERR_DECRYPTION_FAILED');
      const wrong = await generateHpkeKeyPair(p);
      expect(
        await code(() =>
          openArchived(p, {
            archivePrivateKey: wrong.privateKey,
            tenantPublicKey: s.tenant.publicKey,
            bytes,
          }),
        ),
      ).toBe('ERR_DECRYPTION_FAILED');
    });
  },
);

describe('compliance seal: hostile inputs', () => {
  const p = PROVIDERS[0] as CryptoProvider;

  it('rejects bad seal arguments with ERR_VALIDATION naming the field', async () => {
    const archive = await generateHpkeKeyPair(p);
    const good = {
      archivePublicKey: archive.publicKey,
      ...BINDINGS,
      contentType: 'text/plain',
      content: utf8('x'),
    };
    const cases: [string, unknown][] = [
      ['archivePublicKey', { ...good, archivePublicKey: new Uint8Array(31) }],
      ['messageId', { ...good, messageId: new Uint8Array(15) }],
      ['conversationId', { ...good, conversationId: new Uint8Array(65) }],
      ['sender', { ...good, sender: null }],
      ['sender.userId', { ...good, sender: { userId: '', deviceId: 1 } }],
      ['sender.userId', { ...good, sender: { userId: 'x'.repeat(256), deviceId: 1 } }],
      ['sender.deviceId', { ...good, sender: { userId: 'a', deviceId: 2 ** 32 } }],
      ['sentAt', { ...good, sentAt: 2 ** 53 }],
      ['contentType', { ...good, contentType: '' }],
      ['content', { ...good, content: [1, 2] }],
      // Version 2 has no recipient field: refused rather than silently dropped.
      ['recipient', { ...good, recipient: 'cfo@example.org' }],
      ['options', null],
    ];
    for (const [field, options] of cases) {
      let err: unknown;
      try {
        await sealForArchive(p, options as Parameters<typeof sealForArchive>[1]);
      } catch (e) {
        err = e;
      }
      expect((err as { code?: string }).code, field).toBe('ERR_VALIDATION');
      expect((err as { field?: string }).field, field).toBe(field);
    }
    const s = await setup(p);
    const body = await sealForArchive(p, good);
    const sign = {
      body,
      deliveryId: DELIVERY,
      certificate: s.ceo.certificate,
      identitySigningKey: s.ceo.signingKey,
    };
    expect(await code(() => signArchiveSeal(p, { ...sign, deliveryId: new Uint8Array(15) }))).toBe(
      'ERR_VALIDATION',
    );
    const signed = await signArchiveSeal(p, sign);
    expect(await code(() => signArchiveSeal(p, { ...sign, body: signed }))).toBe('ERR_VALIDATION');
    expect(await code(() => signArchiveSeal(p, { ...sign, body: body.subarray(1) }))).toBe('ERR_VALIDATION');
  });

  it('rejects bad open arguments with ERR_VALIDATION and malformed peeks with ERR_DECODE', async () => {
    const key = new Uint8Array(32);
    expect(
      await code(() =>
        openArchived(p, {
          archivePrivateKey: new Uint8Array(3),
          tenantPublicKey: key,
          bytes: new Uint8Array(80),
        }),
      ),
    ).toBe('ERR_VALIDATION');
    expect(
      await code(() =>
        openArchived(p, {
          archivePrivateKey: key,
          tenantPublicKey: new Uint8Array(3),
          bytes: new Uint8Array(80),
        }),
      ),
    ).toBe('ERR_VALIDATION');
    const cases: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['version 3', Uint8Array.of(3, ...new Uint8Array(100))],
      ['conversation id too long', Uint8Array.of(2, ...new Uint8Array(16), 65, ...new Uint8Array(100))],
      ['empty user id', Uint8Array.of(2, ...new Uint8Array(16), 0, 0, ...new Uint8Array(100))],
      ['user id not UTF-8', Uint8Array.of(2, ...new Uint8Array(16), 0, 1, 0xff, ...new Uint8Array(100))],
      [
        'short ciphertext',
        Uint8Array.of(
          2,
          ...new Uint8Array(16),
          0,
          1,
          97,
          ...new Uint8Array(12 + 32),
          0,
          0,
          0,
          16,
          ...new Uint8Array(16),
        ),
      ],
    ];
    for (const [what, bytes] of cases) {
      expect(await code(() => peekArchivedBindings(bytes)), what).toBe('ERR_DECODE');
      expect(
        await code(() => openArchived(p, { archivePrivateKey: key, tenantPublicKey: key, bytes })),
        what,
      ).toBe('ERR_DECRYPTION_FAILED');
    }
  });
});

interface ArchiveVectors {
  valid: {
    name: string;
    archivePrivateKey: string;
    tenantPublicKey: string;
    tenantId: string;
    messageId: string;
    conversationId: string;
    senderUserId: string;
    senderDeviceId: number;
    sentAt: number;
    deliveryId: string;
    contentType: string;
    content: string;
    sealed: string;
  }[];
  invalid: { name: string; base: string; sealed: string; expectedDeliveryId?: string; error: string }[];
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('test-vectors/archive-seal.json (%s)', (_n, p) => {
  const vectors = JSON.parse(
    readFileSync(new URL('../../../test-vectors/archive-seal.json', import.meta.url), 'utf8'),
  ) as ArchiveVectors;

  it('opens every valid case to its content and bindings', async () => {
    expect(vectors.valid.length).toBeGreaterThan(0);
    for (const v of vectors.valid) {
      const bytes = fromHex(v.sealed);
      const opened = await openArchived(p, {
        archivePrivateKey: fromHex(v.archivePrivateKey),
        tenantPublicKey: fromHex(v.tenantPublicKey),
        tenantId: v.tenantId,
        deliveryId: fromHex(v.deliveryId),
        bytes,
      });
      expect(toHex(opened.content), v.name).toBe(v.content);
      expect(opened.contentType, v.name).toBe(v.contentType);
      expect(opened.bindings, v.name).toEqual({
        messageId: fromHex(v.messageId),
        conversationId: fromHex(v.conversationId),
        sender: { userId: v.senderUserId, deviceId: v.senderDeviceId },
        sentAt: v.sentAt,
      });
    }
  });

  it('rejects every invalid case with its error code', async () => {
    expect(vectors.invalid.map((v) => v.name)).toEqual(
      expect.arrayContaining([
        'resigned-by-another-member',
        'another-members-certificate',
        'moved-to-another-delivery',
        'message-id-changed',
      ]),
    );
    for (const v of vectors.invalid) {
      const base = vectors.valid.find((c) => c.name === v.base);
      expect(
        await code(() =>
          openArchived(p, {
            archivePrivateKey: fromHex(base?.archivePrivateKey ?? ''),
            tenantPublicKey: fromHex(base?.tenantPublicKey ?? ''),
            bytes: fromHex(v.sealed),
            ...(v.expectedDeliveryId === undefined ? {} : { deliveryId: fromHex(v.expectedDeliveryId) }),
          }),
        ),
        v.name,
      ).toBe(v.error);
    }
  });
});
