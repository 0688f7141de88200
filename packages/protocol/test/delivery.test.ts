/**
 * SealedDelivery and SealedDeliveryBatch (envelopes and archive seals of `@cloister/crypto`
 * carried to the server), and the Content bodies for groups, file chunking and archiving:
 * real crypto output end to end, hostile field values with their paths, encoder checks.
 */
import {
  createNobleProvider,
  DecodeError,
  ENVELOPE_MAX_BYTES,
  encodeGroupChange,
  encodeGroupKeyWrap,
  encryptForGroup,
  generateDeviceIdentity,
  issueSenderCertificate,
  openArchived,
  openEnvelope,
  peekEnvelopeOuter,
  sealEnvelope,
  sealEnvelopeForMany,
  sealForArchive,
  signArchiveSeal,
  signGroupChange,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import { describe, expect, it } from 'vitest';
import { cloister } from '../src/generated/cloister.js';
import {
  type Content,
  decodeContent,
  decodeSealedDelivery,
  decodeSealedDeliveryBatch,
  encodeContent,
  encodeSealedDelivery,
  encodeSealedDeliveryBatch,
  FIELD_LIMITS,
  MAX_ENCODED_BYTES,
  type SealedDelivery,
} from '../src/index.js';
import { archiveSealBytes, envelopeBytes, plain } from './arbitraries.js';

const w = cloister.v1;
const b = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill);
const provider = createNobleProvider();

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

function expectDecodeError(fn: () => unknown, path: string): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(DecodeError);
  expect((e as DecodeError).code).toBe('ERR_DECODE');
  expect((e as DecodeError).path).toBe(path);
}

function expectValidationError(fn: () => unknown, field: string): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(ValidationError);
  expect((e as ValidationError).code).toBe('ERR_VALIDATION');
  expect((e as ValidationError).field).toBe(field);
}

const envelope = (kind: 1 | 2 = 1, sealed = kind === 1 ? 49 : 97): Uint8Array =>
  envelopeBytes(kind, b(16, 2), b(8, 6), b(sealed, 4));
const seal = (): Uint8Array => archiveSealBytes(b(8, 9), 'u-1', b(49, 4));
const delivery = (id = 3): SealedDelivery => ({ messageId: b(16, id), envelope: envelope() });
const rawDelivery = (over: Partial<cloister.v1.ISealedDelivery> = {}): Uint8Array =>
  w.SealedDelivery.encode({ messageId: b(16, 3), envelope: envelope(), ...over }).finish();
const rawBatch = (deliveries: cloister.v1.ISealedDelivery[]): Uint8Array =>
  w.SealedDeliveryBatch.encode({ deliveries }).finish();
const rawContent = (over: Partial<cloister.v1.IContent>): Uint8Array =>
  w.Content.encode({ messageId: b(16), sentAtMs: 1, ...over }).finish();

describe('sealed deliveries of real crypto output', () => {
  it('carry sealEnvelope and sealForArchive output byte for byte, and the envelope still opens', async () => {
    const tenant = await provider.ed25519.generateKeyPair();
    const sender = await provider.ed25519.generateKeyPair();
    const senderDh = await provider.x25519.generateKeyPair();
    const bob = await provider.x25519.generateKeyPair();
    const archive = await provider.x25519.generateKeyPair();
    const certificate = await issueSenderCertificate(provider, tenant.privateKey, {
      userId: 'u-alice',
      deviceId: 1,
      identitySigningKey: sender.publicKey,
      identityDhKey: senderDh.publicKey,
      tenantId: 'acme',
      pools: ['engineering'],
      expiresAt: 2_000,
    });
    const content: Content = {
      messageId: b(16, 8),
      sentAtMs: 1_000,
      archived: true,
      body: { type: 'text', text: 'hello' },
    };
    const plaintext = encodeContent(content);
    const mailbox = b(16, 7);
    const sealed = await sealEnvelope(provider, {
      recipientPublicKey: bob.publicKey,
      mailbox,
      deliveryToken: b(4, 1),
      certificate,
      contentType: 1,
      body: plaintext,
    });
    const archiveBody = await sealForArchive(provider, {
      archivePublicKey: archive.publicKey,
      messageId: content.messageId,
      conversationId: utf8('conv-1'),
      sender: { userId: 'u-alice', deviceId: 1 },
      sentAt: content.sentAtMs,
      contentType: 'cloister/content',
      content: plaintext,
    });
    const archiveSeal = await signArchiveSeal(provider, {
      body: archiveBody,
      deliveryId: b(16, 1),
      certificate,
      identitySigningKey: sender.privateKey,
    });
    const frame = encodeSealedDelivery({ messageId: b(16, 1), envelope: sealed, archiveSeal });
    const back = decodeSealedDelivery(frame);
    expect(plain(back)).toEqual(plain({ messageId: b(16, 1), envelope: sealed, archiveSeal }));

    // What the server reads, from the envelope bytes alone.
    const outer = peekEnvelopeOuter(back.envelope);
    expect(plain(outer.mailbox)).toEqual(plain(mailbox));
    expect(outer.kind).toBe(1);

    const opened = await openEnvelope(provider, {
      recipientPrivateKey: bob.privateKey,
      bytes: back.envelope,
      tenantPublicKey: tenant.publicKey,
      now: 1_500,
    });
    expect(decodeContent(opened.body)).toEqual(content);
    const archived = await openArchived(provider, {
      archivePrivateKey: archive.privateKey,
      tenantPublicKey: tenant.publicKey,
      deliveryId: back.messageId,
      bytes: back.archiveSeal!,
    });
    expect(plain(archived.content)).toEqual(plain(plaintext));
  });

  it('carry the envelopes of sealEnvelopeForMany as a batch', async () => {
    const tenant = await provider.ed25519.generateKeyPair();
    const sender = await provider.ed25519.generateKeyPair();
    const recipients = await Promise.all(
      [1, 2, 3].map(async (i) => ({ keys: await provider.x25519.generateKeyPair(), mailbox: b(20, i) })),
    );
    const certificate = await issueSenderCertificate(provider, tenant.privateKey, {
      userId: 'u-alice',
      deviceId: 1,
      identitySigningKey: sender.publicKey,
      identityDhKey: recipients[0]!.keys.publicKey,
      tenantId: 'acme',
      pools: [],
      expiresAt: 2_000,
    });
    const envelopes = await sealEnvelopeForMany(provider, {
      recipients: recipients.map((r) => ({
        publicKey: r.keys.publicKey,
        mailbox: r.mailbox,
        deliveryToken: b(0),
      })),
      certificate,
      contentType: 2,
      body: b(300, 5),
    });
    const deliveries = envelopes.map((e, i) => ({ messageId: b(16, 10 + i), envelope: e }));
    const back = decodeSealedDeliveryBatch(encodeSealedDeliveryBatch({ deliveries }));
    expect(plain(back)).toEqual(plain({ deliveries }));
    back.deliveries.forEach((d, i) => {
      expect(peekEnvelopeOuter(d.envelope).kind, `delivery ${i}`).toBe(2);
    });
  });
});

describe('content for groups, files and archiving, from real crypto output', () => {
  it('carries a signed group change and a group key wrap', async () => {
    const identity = await generateDeviceIdentity(provider);
    const change = {
      groupId: b(32, 1),
      version: 2,
      action: 'add' as const,
      members: [{ userId: 'u-carol', deviceIds: [1, 2] }],
    };
    const signature = await signGroupChange(provider, identity, change);
    const signed: Content = {
      messageId: b(16),
      sentAtMs: 5,
      groupId: b(32, 1),
      body: { type: 'group-change', change: encodeGroupChange(change), signature },
    };
    const back = decodeContent(encodeContent(signed));
    expect(back).toEqual(signed);
    expect(back.body.type === 'group-change').toBe(true);
    if (back.body.type === 'group-change') {
      expect(
        await provider.ed25519.verify(
          identity.signingKeyPair.publicKey,
          back.body.change,
          back.body.signature,
        ),
      ).toBe(true);
    }

    const encrypted = await encryptForGroup(provider, { plaintext: b(10), groupId: b(32, 1) });
    const wrap = encodeGroupKeyWrap(encrypted.wrap);
    const keyMessage: Content = { messageId: b(16), sentAtMs: 5, body: { type: 'group-key', wrap } };
    expect(decodeContent(encodeContent(keyMessage))).toEqual(keyMessage);
  });

  it('carries the largest group change and group key wrap', () => {
    const change = b(FIELD_LIMITS.groupChangeBytes);
    change.set(utf8('cloister/v1/group/change'));
    const c: Content = {
      messageId: b(16),
      sentAtMs: Number.MAX_SAFE_INTEGER,
      groupId: b(32),
      expireTimerSeconds: 0xffff_ffff,
      archived: true,
      body: { type: 'group-change', change, signature: b(64) },
    };
    const bytes = encodeContent(c);
    expect(bytes.length).toBeLessThanOrEqual(MAX_ENCODED_BYTES.content);
    expect(decodeContent(bytes)).toEqual(c);
  });

  it('reads archived as present only when true', () => {
    expect(decodeContent(rawContent({ archived: false, text: { body: 'x' } }))).not.toHaveProperty(
      'archived',
    );
    expect(decodeContent(rawContent({ archived: true, text: { body: 'x' } })).archived).toBe(true);
    const off = encodeContent({
      messageId: b(16),
      sentAtMs: 1,
      archived: false,
      body: { type: 'text', text: 'x' },
    });
    expect(decodeContent(off)).not.toHaveProperty('archived');
  });
});

const file = (over: Partial<cloister.v1.IFileReference>): cloister.v1.IFileReference => ({
  fileKey: b(32),
  digest: b(32),
  size: 10,
  mediaType: 'image/png',
  locator: 'blob/1',
  ...over,
});

describe('hostile field values', () => {
  const label = utf8('cloister/v1/group/change');
  const change = (n: number): Uint8Array => {
    const out = b(n);
    out.set(label.subarray(0, Math.min(n, label.length)));
    return out;
  };
  const rows: [string, (bytes: Uint8Array) => unknown, Uint8Array, string][] = [
    [
      'group change too short',
      decodeContent,
      rawContent({ groupChange: { change: change(32), signature: b(64) } }),
      'content.body.change',
    ],
    [
      'group change too long',
      decodeContent,
      rawContent({ groupChange: { change: change(FIELD_LIMITS.groupChangeBytes + 1), signature: b(64) } }),
      'content.body.change',
    ],
    [
      'group change without its label',
      decodeContent,
      rawContent({ groupChange: { change: b(40), signature: b(64) } }),
      'content.body.change',
    ],
    [
      'group change signature of 63 bytes',
      decodeContent,
      rawContent({ groupChange: { change: change(40), signature: b(63) } }),
      'content.body.signature',
    ],
    [
      'group change missing',
      decodeContent,
      rawContent({ groupChange: { signature: b(64) } }),
      'content.body.change',
    ],
    [
      'group key wrap of 66 bytes',
      decodeContent,
      rawContent({ groupKey: { wrap: b(66) } }),
      'content.body.wrap',
    ],
    [
      'group key wrap of 131 bytes',
      decodeContent,
      rawContent({ groupKey: { wrap: b(131) } }),
      'content.body.wrap',
    ],
    ['group key wrap missing', decodeContent, rawContent({ groupKey: {} }), 'content.body.wrap'],
    [
      'two bodies: text and group key',
      decodeContent,
      rawContent({ text: { body: 'x' }, groupKey: { wrap: b(70) } }),
      'content.body',
    ],
    [
      'chunk size not a power of two',
      decodeContent,
      rawContent({ file: file({ chunkSize: 65_000 }) }),
      'content.body.file.chunkSize',
    ],
    [
      'chunk size 32',
      decodeContent,
      rawContent({ file: file({ chunkSize: 32 }) }),
      'content.body.file.chunkSize',
    ],
    [
      'chunk size 2 MiB',
      decodeContent,
      rawContent({ file: file({ chunkSize: 2_097_152 }) }),
      'content.body.file.chunkSize',
    ],
    [
      'chunk size 0 (present)',
      decodeContent,
      rawContent({ file: file({ chunkSize: 0 }) }),
      'content.body.file.chunkSize',
    ],
    [
      'ciphertext size over 2^53 - 1',
      decodeContent,
      rawContent({ file: file({ ciphertextSize: 2 ** 53 }) }),
      'content.body.file.ciphertextSize',
    ],
    [
      'delivery message id missing',
      decodeSealedDelivery,
      rawDelivery({ messageId: new Uint8Array(0) }),
      'sealedDelivery.messageId',
    ],
    [
      'delivery message id of 15 bytes',
      decodeSealedDelivery,
      rawDelivery({ messageId: b(15) }),
      'sealedDelivery.messageId',
    ],
    [
      'envelope missing',
      decodeSealedDelivery,
      rawDelivery({ envelope: new Uint8Array(0) }),
      'sealedDelivery.envelope',
    ],
    [
      'envelope of an unknown version',
      decodeSealedDelivery,
      rawDelivery({ envelope: Uint8Array.from([2, ...envelope().subarray(1)]) }),
      'sealedDelivery.envelope',
    ],
    [
      'envelope of an unknown kind',
      decodeSealedDelivery,
      rawDelivery({ envelope: Uint8Array.from([1, 3, ...envelope().subarray(2)]) }),
      'sealedDelivery.envelope',
    ],
    [
      'envelope with a 15-byte mailbox',
      decodeSealedDelivery,
      rawDelivery({ envelope: envelopeBytes(1, b(15), b(0), b(49)) }),
      'sealedDelivery.envelope',
    ],
    [
      'envelope with a 65-byte delivery token',
      decodeSealedDelivery,
      rawDelivery({ envelope: envelopeBytes(1, b(16), b(65), b(49)) }),
      'sealedDelivery.envelope',
    ],
    [
      'single envelope with a truncated sealed part',
      decodeSealedDelivery,
      rawDelivery({ envelope: envelope(1, 48) }),
      'sealedDelivery.envelope',
    ],
    [
      'shared envelope with a truncated sealed part',
      decodeSealedDelivery,
      rawDelivery({ envelope: envelope(2, 96) }),
      'sealedDelivery.envelope',
    ],
    [
      'envelope over ENVELOPE_MAX_BYTES',
      decodeSealedDelivery,
      rawDelivery({ envelope: envelopeBytes(1, b(16), b(0), b(ENVELOPE_MAX_BYTES)) }),
      'sealedDelivery.envelope',
    ],
    [
      'archive seal of an unknown version',
      decodeSealedDelivery,
      rawDelivery({ archiveSeal: Uint8Array.from([2, ...seal().subarray(1)]) }),
      'sealedDelivery.archiveSeal',
    ],
    [
      'archive seal truncated',
      decodeSealedDelivery,
      rawDelivery({ archiveSeal: seal().subarray(0, 40) }),
      'sealedDelivery.archiveSeal',
    ],
    [
      'archive seal with an empty user id',
      decodeSealedDelivery,
      rawDelivery({ archiveSeal: Uint8Array.from([1, ...b(16), 0, 0, ...b(12, 0), ...b(49)]) }),
      'sealedDelivery.archiveSeal',
    ],
    [
      'archive seal present but empty',
      decodeSealedDelivery,
      rawDelivery({ archiveSeal: new Uint8Array(0) }),
      'sealedDelivery.archiveSeal',
    ],
    ['empty batch', decodeSealedDeliveryBatch, rawBatch([]), 'sealedDeliveryBatch.deliveries'],
    [
      'batch with a repeated message id',
      decodeSealedDeliveryBatch,
      rawBatch([delivery(3), delivery(4), delivery(3)]),
      'sealedDeliveryBatch.deliveries[2]',
    ],
    [
      'batch with two archive seals',
      decodeSealedDeliveryBatch,
      rawBatch([
        { ...delivery(1), archiveSeal: seal() },
        delivery(2),
        { ...delivery(3), archiveSeal: seal() },
      ]),
      'sealedDeliveryBatch.deliveries[2].archiveSeal',
    ],
    [
      'batch with a bad nested envelope',
      decodeSealedDeliveryBatch,
      rawBatch([delivery(1), { messageId: b(16, 2), envelope: envelope(1, 10) }]),
      'sealedDeliveryBatch.deliveries[1].envelope',
    ],
    [
      'batch of 1025 deliveries',
      decodeSealedDeliveryBatch,
      rawBatch(
        Array.from({ length: 1025 }, (_, i) => ({
          messageId: Uint8Array.from([i >> 8, i & 255, ...b(14)]),
          envelope: envelope(),
        })),
      ),
      'sealedDeliveryBatch.deliveries',
    ],
  ];
  it.each(rows)('%s', (_name, decode, bytes, path) => {
    expectDecodeError(() => decode(bytes), path);
  });
});

describe('encoders', () => {
  it('refuse what the decoders refuse, naming the field', () => {
    expectValidationError(
      () => encodeSealedDelivery({ messageId: b(16), envelope: envelope(1, 10) }),
      'sealedDelivery.envelope',
    );
    expectValidationError(
      () => encodeSealedDelivery({ messageId: b(16), envelope: envelope(), archiveSeal: b(90) }),
      'sealedDelivery.archiveSeal',
    );
    expectValidationError(
      () => encodeSealedDelivery({ messageId: b(12), envelope: envelope() }),
      'sealedDelivery.messageId',
    );
    expectValidationError(
      () => encodeSealedDeliveryBatch({ deliveries: [] }),
      'sealedDeliveryBatch.deliveries',
    );
    expectValidationError(
      () => encodeSealedDeliveryBatch({ deliveries: [delivery(1), delivery(1)] }),
      'sealedDeliveryBatch.deliveries[1]',
    );
    expectValidationError(
      () =>
        encodeContent({
          messageId: b(16),
          sentAtMs: 1,
          archived: 'yes' as never,
          body: { type: 'text', text: 'x' },
        }),
      'content.archived',
    );
    expectValidationError(
      () => encodeContent({ messageId: b(16), sentAtMs: 1, body: { type: 'group-key', wrap: b(10) } }),
      'content.body.wrap',
    );
  });

  it('carry the largest envelope with the largest archive seal within MAX_ENCODED_BYTES', () => {
    const big = envelopeBytes(2, b(32), b(64), b(ENVELOPE_MAX_BYTES - 100));
    const bigSeal = archiveSealBytes(b(64), 'u'.repeat(255), b(FIELD_LIMITS.archiveSealBytes - 350));
    expect(big.length).toBe(ENVELOPE_MAX_BYTES);
    expect(bigSeal.length).toBe(FIELD_LIMITS.archiveSealBytes);
    const frame = encodeSealedDelivery({ messageId: b(16), envelope: big, archiveSeal: bigSeal });
    expect(frame.length).toBeLessThanOrEqual(MAX_ENCODED_BYTES.sealedDelivery);
    expect(decodeSealedDelivery(frame).envelope.length).toBe(ENVELOPE_MAX_BYTES);
  });

  it('refuse a batch whose encoding exceeds its limit, so that the sender splits it', () => {
    const big = envelopeBytes(1, b(16), b(0), b(ENVELOPE_MAX_BYTES - 100));
    const deliveries = Array.from({ length: 16 }, (_, i) => ({ messageId: b(16, i), envelope: big }));
    expectValidationError(() => encodeSealedDeliveryBatch({ deliveries }), 'sealedDeliveryBatch');
  });
});
