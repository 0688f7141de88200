/**
 * Compliance seal (R12), version 3: sign-then-encrypt in one step. The sender's device signs a
 * record of the message (bindings, content type, content, the delivery it travels with and its
 * certificate) together with the archive public key, and seals record and signature with HPKE
 * mode base to the archive key. Only the version, the archive key id and the delivery id stay
 * readable, so whoever files a seal learns neither who sent it nor anything the bindings say.
 * Layout and reasoning in `spec/compliance-seal.md` §7.
 *
 * Auditors open and classify version-3 seals with `openArchived` and `inspectArchived`
 * (`inspect.ts`); `peekArchiveSeal` reads the outer header (`peek.ts`).
 *
 * @module
 */
import { checkBytes, concatBytes, equalBytes, isAllZero, uintBE, utf8, wipe } from '../bytes.js';
import {
  decodeSenderCertificate,
  encodeSenderCertificate,
  type SenderCertificate,
} from '../envelope/certificate.js';
import { CloisterError, DecodeError, ValidationError } from '../errors.js';
import { openHpke, sealHpke } from '../hpke/single-shot.js';
import type { CryptoProvider } from '../provider.js';
import type { ArchiveInspection } from './inspect.js';
import {
  ARCHIVE_MAX_CONTENT_TYPE,
  ARCHIVE_MAX_USER_ID,
  ARCHIVE_MESSAGE_ID_LENGTH,
  type ArchiveBindings,
  type ArchiveChecks,
  checkArchiveText,
  checkSignedArchive,
  decodeArchiveBindings,
  encodeArchiveBindings,
} from './seal.js';

/**
 * Format version 3, the first byte of every seal {@link sealArchived} makes.
 *
 * @example
 * ```ts
 * const hidden = peekArchiveSeal(sealed).version === ARCHIVE_SEAL_V3_VERSION; // bindings inside the ciphertext
 * ```
 */
export const ARCHIVE_SEAL_V3_VERSION = 3;
/**
 * HPKE `info` of every version-3 seal (ASCII).
 *
 * @example
 * ```ts
 * const info = utf8(ARCHIVE_SEAL_V3_INFO_LABEL); // for an independent implementation or test vector
 * ```
 */
export const ARCHIVE_SEAL_V3_INFO_LABEL = 'cloister/v3/compliance/archive-seal';
/**
 * Prefix of the HPKE `aad` of a version-3 seal; the outer header (version, key id, delivery id)
 * follows (ASCII).
 *
 * @example
 * ```ts
 * const aad = concatBytes(utf8(ARCHIVE_SEAL_V3_AAD_LABEL), sealed.subarray(0, ARCHIVE_SEAL_V3_HEADER_LENGTH));
 * ```
 */
export const ARCHIVE_SEAL_V3_AAD_LABEL = 'cloister/v3/compliance/archive-outer';
/**
 * Prefix of the sender's Ed25519 signature input in a version-3 seal; the archive public key (32
 * bytes) and every byte of the inner record before the signature follow (ASCII).
 *
 * @example
 * ```ts
 * const prefix = concatBytes(utf8(ARCHIVE_SEAL_V3_SIGNATURE_LABEL), archive.publicKey); // then the inner record
 * ```
 */
export const ARCHIVE_SEAL_V3_SIGNATURE_LABEL = 'cloister/v3/compliance/archive-seal-signature';
/**
 * Prefix of the archive key id hash: the id is the first 8 bytes of SHA-256 of this label and the
 * archive public key (ASCII).
 *
 * @example
 * ```ts
 * const digest = await provider.sha256(concatBytes(utf8(ARCHIVE_KEY_ID_LABEL), archive.publicKey));
 * const keyId = digest.subarray(0, ARCHIVE_KEY_ID_LENGTH); // = await archiveKeyId(provider, archive.publicKey)
 * ```
 */
export const ARCHIVE_KEY_ID_LABEL = 'cloister/v3/compliance/archive-key-id';
/**
 * Length of an archive key id: 8 bytes.
 *
 * @example
 * ```ts
 * const keyId = sealed.subarray(1, 1 + ARCHIVE_KEY_ID_LENGTH); // of a version-3 seal
 * ```
 */
export const ARCHIVE_KEY_ID_LENGTH = 8;
/**
 * Length of the outer header of a version-3 seal (version, key id, delivery id): 25 bytes. The
 * HPKE `enc` (32 bytes) and the ciphertext follow.
 *
 * @example
 * ```ts
 * const header = sealed.subarray(0, ARCHIVE_SEAL_V3_HEADER_LENGTH);
 * ```
 */
export const ARCHIVE_SEAL_V3_HEADER_LENGTH = 1 + 8 + 16;
/**
 * The padding bucket of a version-3 seal: the HPKE plaintext (record, signature and zero padding)
 * is a multiple of 256 bytes, so a seal's size tells only that bucket.
 *
 * @example
 * ```ts
 * const plaintextLength = sealed.length - ARCHIVE_SEAL_V3_HEADER_LENGTH - 32 - 16; // a multiple of ARCHIVE_SEAL_V3_PADDING
 * ```
 */
export const ARCHIVE_SEAL_V3_PADDING = 256;

const INFO = utf8(ARCHIVE_SEAL_V3_INFO_LABEL);
const AAD_LABEL = utf8(ARCHIVE_SEAL_V3_AAD_LABEL);
const SIGNATURE_LABEL = utf8(ARCHIVE_SEAL_V3_SIGNATURE_LABEL);
const KEY_ID_LABEL = utf8(ARCHIVE_KEY_ID_LABEL);
const ENC_LENGTH = 32;
const TAG_LENGTH = 16;
const SIGNATURE_LENGTH = 64;
const MAX_CONTENT = 0xffff_ffff;

/**
 * Options of {@link sealArchived}: the message, the delivery it travels with, the sender's
 * certificate and identity signing key.
 *
 * @example
 * ```ts
 * const options: SealArchivedOptions = {
 *   archivePublicKey: archive.publicKey,
 *   messageId: provider.randomBytes(16),
 *   conversationId: utf8('conv-42'),
 *   sender: { userId: certificate.userId, deviceId: certificate.deviceId },
 *   sentAt: Date.now(),
 *   recipient: 'bob@example.org', // a 1:1 message; omitted for a group message
 *   contentType: 'text/plain',
 *   content: utf8('hello'),
 *   deliveryId: provider.randomBytes(16), // the SealedDelivery's message id
 *   certificate,
 *   identitySigningKey: identity.signingKeyPair.privateKey,
 * };
 * const seal = await sealArchived(provider, options);
 * ```
 */
export interface SealArchivedOptions {
  /** The tenant's 32-byte X25519 archive public key. */
  readonly archivePublicKey: Uint8Array;
  /** 16-byte message id. */
  readonly messageId: Uint8Array;
  /** Opaque conversation (or group) id, at most 64 bytes. */
  readonly conversationId: Uint8Array;
  /** The sending user (1–255 UTF-8 bytes) and device (unsigned 32-bit); the certificate's. */
  readonly sender: { readonly userId: string; readonly deviceId: number };
  /** Send time in milliseconds since the Unix epoch (0 to 2^53 − 1). */
  readonly sentAt: number;
  /**
   * The recipient user of a 1:1 message (1–255 UTF-8 bytes, well-formed), so auditors find what a
   * user received; absent for a group message, whose `conversationId` names the group.
   */
  readonly recipient?: string;
  /** What `content` is, such as `text/plain` or `cloister/file-key`; 1 to 255 UTF-8 bytes. */
  readonly contentType: string;
  /** The content to archive: the message plaintext, or a file key. */
  readonly content: Uint8Array;
  /** The 16-byte id of the delivery (`SealedDelivery.messageId`) the seal travels with. */
  readonly deliveryId: Uint8Array;
  /** The sender's certificate; its user and device must be `sender`. */
  readonly certificate: SenderCertificate;
  /** The 32-byte Ed25519 identity signing key (seed) the certificate lists. */
  readonly identitySigningKey: Uint8Array;
}

/**
 * The archive key id of a public key: the first 8 bytes of SHA-256({@link ARCHIVE_KEY_ID_LABEL}
 * || `archivePublicKey`). A version-3 seal carries it, so a tenant that rotates keys (and its
 * auditors) can tell which key a seal needs without trying each.
 *
 * @example
 * ```ts
 * const keyId = await archiveKeyId(provider, archive.publicKey);
 * const forThisKey = equalBytes(peekArchiveSeal(sealed).keyId ?? new Uint8Array(0), keyId);
 * ```
 */
export async function archiveKeyId(
  provider: CryptoProvider,
  archivePublicKey: Uint8Array,
): Promise<Uint8Array> {
  const key = checkBytes(archivePublicKey, 'archivePublicKey', 32);
  return (await provider.sha256(concatBytes(KEY_ID_LABEL, key))).slice(0, ARCHIVE_KEY_ID_LENGTH);
}

/** The padded plaintext length of a record of `length` bytes (signature included). */
function paddedLength(length: number): number {
  return Math.ceil(length / ARCHIVE_SEAL_V3_PADDING) * ARCHIVE_SEAL_V3_PADDING;
}

/**
 * Seals a message for the archive in one step (version 3): builds the inner record `bindings |
 * u8 len, recipient (0 = none) | u8 len, contentType | u32 len, content | deliveryId (16) | u16
 * len, certificate`, signs
 * {@link ARCHIVE_SEAL_V3_SIGNATURE_LABEL} || `archivePublicKey` || record with the identity key,
 * pads record and signature with zero bytes to a multiple of {@link ARCHIVE_SEAL_V3_PADDING} and
 * seals that with HPKE to the archive key. Returns `0x03 | keyId (8) | deliveryId (16) | enc
 * (32) | ciphertext`. Throws `ValidationError` naming the field for a bad argument, a certificate
 * for another user or device than `sender`, or a key that is not the certificate's.
 *
 * @example
 * ```ts
 * import { sealArchived, utf8 } from '@cloister/crypto';
 * const seal = await sealArchived(provider, {
 *   archivePublicKey: archive.publicKey,
 *   messageId: provider.randomBytes(16),
 *   conversationId: utf8('conv-42'),
 *   sender: { userId: certificate.userId, deviceId: certificate.deviceId },
 *   sentAt: Date.now(),
 *   contentType: 'text/plain',
 *   content: utf8('hello'),
 *   deliveryId: provider.randomBytes(16),
 *   certificate,
 *   identitySigningKey: identity.signingKeyPair.privateKey,
 * });
 * ```
 */
export async function sealArchived(
  provider: CryptoProvider,
  options: SealArchivedOptions,
): Promise<Uint8Array> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const archivePublicKey = checkBytes(options.archivePublicKey, 'archivePublicKey', 32);
  const bindings = encodeArchiveBindings(options);
  const recipient =
    options.recipient === undefined
      ? new Uint8Array(0)
      : checkArchiveText(options.recipient, 'recipient', ARCHIVE_MAX_USER_ID);
  const contentType = checkArchiveText(options.contentType, 'contentType', ARCHIVE_MAX_CONTENT_TYPE);
  const content = checkBytes(options.content, 'content');
  if (content.length > MAX_CONTENT) throw new ValidationError('content', 'at most 2^32 - 1 bytes');
  const deliveryId = checkBytes(options.deliveryId, 'deliveryId', ARCHIVE_MESSAGE_ID_LENGTH);
  const signingKey = checkBytes(options.identitySigningKey, 'identitySigningKey', 32);
  if (typeof options.certificate !== 'object' || options.certificate === null) {
    throw new ValidationError('certificate', 'a sender certificate');
  }
  const certificate = encodeSenderCertificate(options.certificate);
  if (
    options.certificate.userId !== options.sender.userId ||
    options.certificate.deviceId !== options.sender.deviceId
  ) {
    throw new ValidationError('certificate', "the sealing device's certificate");
  }
  if (!equalBytes(await provider.ed25519.publicKey(signingKey), options.certificate.identitySigningKey)) {
    throw new ValidationError('identitySigningKey', 'the key the certificate lists');
  }
  const record = concatBytes(
    bindings,
    Uint8Array.of(recipient.length),
    recipient,
    Uint8Array.of(contentType.length),
    contentType,
    uintBE(content.length, 4),
    content,
    deliveryId,
    uintBE(certificate.length, 2),
    certificate,
  );
  const signature = await provider.ed25519.sign(
    signingKey,
    concatBytes(SIGNATURE_LABEL, archivePublicKey, record),
  );
  const plaintext = new Uint8Array(paddedLength(record.length + SIGNATURE_LENGTH));
  plaintext.set(record, 0);
  plaintext.set(signature, record.length);
  wipe(record);
  const header = concatBytes(
    Uint8Array.of(ARCHIVE_SEAL_V3_VERSION),
    await archiveKeyId(provider, archivePublicKey),
    deliveryId,
  );
  try {
    const { enc, ciphertext } = await sealHpke(provider, {
      aead: 'aes-256-gcm',
      recipientPublicKey: archivePublicKey,
      info: INFO,
      plaintext,
      aad: concatBytes(AAD_LABEL, header),
    });
    return concatBytes(header, enc, ciphertext);
  } finally {
    wipe(plaintext);
  }
}

/** The readable outer part of a version-3 seal. */
export interface OuterV3 {
  readonly header: Uint8Array;
  readonly keyId: Uint8Array;
  readonly deliveryId: Uint8Array;
  readonly enc: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/**
 * Parses the outer layer of a version-3 seal: version 3, key id, delivery id, `enc` and a
 * ciphertext whose plaintext is a positive multiple of the padding bucket. Throws `DecodeError`
 * naming the field.
 */
export function parseArchiveSealV3(bytes: Uint8Array): OuterV3 {
  if (bytes.length < 1) throw new DecodeError('archive.version', 'truncated');
  if (bytes[0] !== ARCHIVE_SEAL_V3_VERSION) throw new DecodeError('archive.version', 'unknown version');
  if (bytes.length < ARCHIVE_SEAL_V3_HEADER_LENGTH) throw new DecodeError('archive.deliveryId', 'truncated');
  if (bytes.length < ARCHIVE_SEAL_V3_HEADER_LENGTH + ENC_LENGTH)
    throw new DecodeError('archive.enc', 'truncated');
  const ctLength = bytes.length - ARCHIVE_SEAL_V3_HEADER_LENGTH - ENC_LENGTH;
  if (ctLength < TAG_LENGTH + ARCHIVE_SEAL_V3_PADDING)
    throw new DecodeError('archive.ciphertext', 'truncated');
  if ((ctLength - TAG_LENGTH) % ARCHIVE_SEAL_V3_PADDING !== 0) {
    throw new DecodeError('archive.ciphertext', 'not a padded length');
  }
  return {
    header: bytes.slice(0, ARCHIVE_SEAL_V3_HEADER_LENGTH),
    keyId: bytes.slice(1, 1 + ARCHIVE_KEY_ID_LENGTH),
    deliveryId: bytes.slice(1 + ARCHIVE_KEY_ID_LENGTH, ARCHIVE_SEAL_V3_HEADER_LENGTH),
    enc: bytes.slice(ARCHIVE_SEAL_V3_HEADER_LENGTH, ARCHIVE_SEAL_V3_HEADER_LENGTH + ENC_LENGTH),
    ciphertext: bytes.slice(ARCHIVE_SEAL_V3_HEADER_LENGTH + ENC_LENGTH),
  };
}

interface InnerV3 {
  readonly bindings: ArchiveBindings;
  readonly contentType: string;
  readonly content: Uint8Array;
  readonly deliveryId: Uint8Array;
  readonly certificate: SenderCertificate;
  /** The record: every byte before the signature. */
  readonly record: Uint8Array;
  readonly signature: Uint8Array;
}

/** Parses the padded inner record; `DecodeError` naming the field on anything non-canonical. */
function parseInner(plaintext: Uint8Array): InnerV3 {
  const view = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
  const decoded = decodeArchiveBindings(plaintext, 0);
  let o = decoded.end;
  const need = (n: number, path: string): void => {
    if (plaintext.length - o < n) throw new DecodeError(path, 'truncated');
  };
  need(1, 'archive.recipient.length');
  const recipientLength = plaintext[o++] as number;
  need(recipientLength, 'archive.recipient');
  let bindings: ArchiveBindings = decoded.bindings;
  if (recipientLength > 0) {
    let recipient: string;
    try {
      // ignoreBOM: a leading U+FEFF is part of the id, as sealArchived encoded it.
      recipient = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(
        plaintext.subarray(o, o + recipientLength),
      );
    } catch {
      throw new DecodeError('archive.recipient', 'not UTF-8');
    }
    bindings = { ...bindings, recipient };
    o += recipientLength;
  }
  need(1, 'archive.contentType');
  const typeLength = plaintext[o++] as number;
  if (typeLength === 0) throw new DecodeError('archive.contentType', 'empty');
  need(typeLength, 'archive.contentType');
  let contentType: string;
  try {
    contentType = new TextDecoder('utf-8', { fatal: true }).decode(plaintext.subarray(o, o + typeLength));
  } catch {
    throw new DecodeError('archive.contentType', 'not UTF-8');
  }
  o += typeLength;
  need(4, 'archive.content.length');
  const contentLength = view.getUint32(o);
  o += 4;
  need(contentLength, 'archive.content');
  const content = plaintext.slice(o, o + contentLength);
  o += contentLength;
  need(ARCHIVE_MESSAGE_ID_LENGTH, 'archive.deliveryId');
  const deliveryId = plaintext.slice(o, o + ARCHIVE_MESSAGE_ID_LENGTH);
  o += ARCHIVE_MESSAGE_ID_LENGTH;
  need(2, 'archive.certificate.length');
  const certLength = view.getUint16(o);
  o += 2;
  need(certLength, 'archive.certificate');
  const certificate = decodeSenderCertificate(plaintext.slice(o, o + certLength));
  o += certLength;
  need(SIGNATURE_LENGTH, 'archive.signature');
  const record = plaintext.slice(0, o);
  const signature = plaintext.slice(o, o + SIGNATURE_LENGTH);
  o += SIGNATURE_LENGTH;
  if (plaintext.length !== paddedLength(o) || !isAllZero(plaintext.subarray(o))) {
    throw new DecodeError('archive.padding', 'not canonical');
  }
  return { bindings, contentType, content, deliveryId, certificate, record, signature };
}

/**
 * Classifies a seal whose first byte is 3 (auditor side, `inspectArchived`): outer layout and key
 * id, then HPKE Open (`undecryptable` on any failure); an inner record that does not parse is
 * `forged`/`signature` without bindings; then the signed-record checks over the label, the
 * archive public key and the record; then the delivery (the signed one must be the outer one and,
 * when asked, the expected one: `misbound`).
 */
export async function inspectArchiveSealV3(
  provider: CryptoProvider,
  bytes: Uint8Array,
  checks: ArchiveChecks & { readonly deliveryId?: Uint8Array | undefined },
  archivePrivateKey: Uint8Array,
): Promise<ArchiveInspection> {
  let outer: OuterV3;
  try {
    outer = parseArchiveSealV3(bytes);
  } catch (e) {
    if (e instanceof CloisterError) return { status: 'undecryptable' };
    throw e;
  }
  let archivePublicKey: Uint8Array;
  try {
    archivePublicKey = await provider.x25519.publicKey(archivePrivateKey);
  } catch (e) {
    if (e instanceof CloisterError) return { status: 'undecryptable' };
    throw e;
  }
  if (!equalBytes(await archiveKeyId(provider, archivePublicKey), outer.keyId))
    return { status: 'undecryptable' };
  let plaintext: Uint8Array;
  try {
    plaintext = await openHpke(provider, {
      aead: 'aes-256-gcm',
      enc: outer.enc,
      recipientPrivateKey: archivePrivateKey,
      info: INFO,
      ciphertext: outer.ciphertext,
      aad: concatBytes(AAD_LABEL, outer.header),
    });
  } catch (e) {
    if (e instanceof CloisterError) return { status: 'undecryptable' };
    throw e;
  }
  let inner: InnerV3;
  try {
    inner = parseInner(plaintext);
  } catch (e) {
    if (e instanceof CloisterError) return { status: 'forged', reason: 'signature' };
    throw e;
  } finally {
    wipe(plaintext);
  }
  const { bindings } = inner;
  const forgery = await checkSignedArchive(provider, checks, {
    bindings,
    certificate: inner.certificate,
    signatureInput: concatBytes(SIGNATURE_LABEL, archivePublicKey, inner.record),
    signature: inner.signature,
  });
  wipe(inner.record);
  if (forgery !== undefined) {
    wipe(inner.content);
    return { status: 'forged', reason: forgery, bindings };
  }
  const archive = {
    version: ARCHIVE_SEAL_V3_VERSION,
    bindings,
    deliveryId: inner.deliveryId,
    certificate: inner.certificate,
    contentType: inner.contentType,
    content: inner.content,
  };
  const moved = !equalBytes(inner.deliveryId, outer.deliveryId);
  const elsewhere = checks.deliveryId !== undefined && !equalBytes(checks.deliveryId, inner.deliveryId);
  if (moved || elsewhere) return { status: 'misbound', reason: 'delivery', archive };
  return { status: 'valid', archive };
}
