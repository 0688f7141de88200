/**
 * Test fixtures of the auditors' tool: a tenant, its archive key, members with certificates,
 * and archive items as the server would serve them (version-2 seals, signed per delivery), plus
 * what a forger can build by hand.
 */
import {
  ARCHIVE_SEAL_SIGNATURE_LABEL,
  type CryptoProvider,
  concatBytes,
  encodeSenderCertificate,
  generateHpkeKeyPair,
  getProvider,
  issueSenderCertificate,
  type SenderCertificate,
  sealArchived,
  sealForArchive,
  signArchiveSeal,
  toHex,
  uintBE,
  utf8,
} from '@cloister/crypto';
import { type ContentBody, encodeContent } from '@cloister/protocol';
import { ARCHIVED_MESSAGE_CONTENT_TYPE, type ArchiveItem } from '../src/index.js';

export const T0 = 1_796_000_000_000;

export interface Member {
  readonly userId: string;
  readonly deviceId: number;
  readonly signingKey: Uint8Array;
  readonly certificate: SenderCertificate;
}

export interface SealInput {
  readonly sender: Member;
  readonly body?: ContentBody;
  readonly messageId?: Uint8Array;
  readonly conversationId?: Uint8Array;
  readonly sentAt?: number;
  readonly deliveryId?: Uint8Array;
  readonly archivePublicKey?: Uint8Array;
}

export async function archiveFixture(given?: CryptoProvider) {
  const provider = given ?? (await getProvider());
  const archive = await generateHpkeKeyPair(provider);
  const tenant = await provider.ed25519.generateKeyPair();
  const member = async (
    userId: string,
    deviceId: number,
    pools: string[] = [],
    tenantKey: Uint8Array = tenant.privateKey,
  ): Promise<Member> => {
    const signing = await provider.ed25519.generateKeyPair();
    const dh = await provider.x25519.generateKeyPair();
    const certificate = await issueSenderCertificate(provider, tenantKey, {
      userId,
      deviceId,
      identitySigningKey: signing.publicKey,
      identityDhKey: dh.publicKey,
      tenantId: 'acme',
      pools,
      expiresAt: T0 + 365 * 86_400_000,
    });
    return { userId, deviceId, signingKey: signing.privateKey, certificate };
  };
  let counter = 0;
  const nextId = () => {
    counter++;
    return Uint8Array.from({ length: 16 }, (_, i) =>
      i === 15 ? counter & 0xff : i === 14 ? counter >> 8 : 7,
    );
  };
  const conversation = utf8('conversation-1');
  const body = async (input: SealInput) => {
    const messageId = input.messageId ?? nextId();
    const sentAt = input.sentAt ?? T0;
    return sealForArchive(provider, {
      archivePublicKey: input.archivePublicKey ?? archive.publicKey,
      messageId,
      conversationId: input.conversationId ?? conversation,
      sender: { userId: input.sender.userId, deviceId: input.sender.deviceId },
      sentAt,
      contentType: ARCHIVED_MESSAGE_CONTENT_TYPE,
      content: encodeContent({
        messageId,
        sentAtMs: sentAt,
        archived: true,
        body: input.body ?? { type: 'text', text: 'hello' },
      }),
    });
  };
  /** A seal as the sender's client makes it. */
  const seal = async (input: SealInput) => {
    const deliveryId = input.deliveryId ?? nextId();
    const bytes = await signArchiveSeal(provider, {
      body: await body(input),
      deliveryId,
      certificate: input.sender.certificate,
      identitySigningKey: input.sender.signingKey,
    });
    return { bytes, deliveryId };
  };
  /** A version-3 seal, as today's client makes it (`sealArchived`). */
  const sealV3 = async (input: SealInput) => {
    const deliveryId = input.deliveryId ?? nextId();
    const messageId = input.messageId ?? nextId();
    const sentAt = input.sentAt ?? T0;
    const bytes = await sealArchived(provider, {
      archivePublicKey: input.archivePublicKey ?? archive.publicKey,
      messageId,
      conversationId: input.conversationId ?? conversation,
      sender: { userId: input.sender.userId, deviceId: input.sender.deviceId },
      sentAt,
      contentType: ARCHIVED_MESSAGE_CONTENT_TYPE,
      content: encodeContent({
        messageId,
        sentAtMs: sentAt,
        archived: true,
        body: input.body ?? { type: 'text', text: 'hello' },
      }),
      deliveryId,
      certificate: input.sender.certificate,
      identitySigningKey: input.sender.signingKey,
    });
    return { bytes, deliveryId };
  };
  /** A seal a forger builds by hand: any body, any certificate, any key. */
  const forge = async (input: SealInput, certificate: SenderCertificate, signingKey: Uint8Array) => {
    const deliveryId = input.deliveryId ?? nextId();
    const cert = encodeSenderCertificate(certificate);
    const signed = concatBytes(await body(input), deliveryId, uintBE(cert.length, 2), cert);
    const bytes = concatBytes(
      signed,
      await provider.ed25519.sign(signingKey, concatBytes(utf8(ARCHIVE_SEAL_SIGNATURE_LABEL), signed)),
    );
    return { bytes, deliveryId };
  };
  let seq = 0;
  /** An item as the server serves it; the next sequence number unless given. */
  const item = (
    sealed: { bytes: Uint8Array; deliveryId: Uint8Array },
    extra: { seq?: number | null; receivedAt?: number; deliveryId?: Uint8Array | null } = {},
  ): ArchiveItem => {
    const s = extra.seq === undefined ? ++seq : extra.seq;
    if (typeof s === 'number') seq = Math.max(seq, s);
    const delivery = extra.deliveryId === undefined ? sealed.deliveryId : extra.deliveryId;
    return {
      id: toHex(nextId()),
      seq: s,
      receivedAt: extra.receivedAt ?? T0 + 1000 + seq,
      deliveryId: delivery,
      size: sealed.bytes.length,
      sealed: sealed.bytes,
      expiresAt: null,
    };
  };
  return { provider, archive, tenant, member, seal, sealV3, forge, item, conversation, nextId };
}

export async function* fromArray<T>(values: readonly T[]): AsyncGenerator<T> {
  for (const v of values) yield v;
}

export async function collect<T>(values: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of values) out.push(v);
  return out;
}
