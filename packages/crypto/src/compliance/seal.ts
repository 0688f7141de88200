/**
 * Compliance seal (R12), version 2: a copy of a message's content, or of a file key, sealed with
 * HPKE mode base to the tenant's archive X25519 public key, bound to who sent what, where and
 * when, and signed by the sender device's Ed25519 identity key over the whole seal and the id of
 * the delivery it travels with. The seal carries the sender certificate that lists that identity
 * key. Layout and reasoning in `spec/compliance-seal.md`.
 *
 * Sealing is two steps, because the content is fixed when a message is composed but the delivery
 * that carries the seal (and the certificate) only when the message is sent: {@link sealForArchive}
 * makes the unsigned body, {@link signArchiveSeal} binds it to a delivery and signs it. Auditors
 * check a seal with `verifyArchived` (no archive key needed) or open it with `openArchived`,
 * which verifies first (`inspect.ts`). Version 3 (`seal-v3.ts`) seals in one step and hides the
 * bindings; this module also holds the bindings codec and the signed-record checks both share.
 *
 * @module
 */
import { checkBytes, checkInt, concatBytes, equalBytes, uintBE, utf8, wipe } from '../bytes.js';
import {
  decodeSenderCertificate,
  encodeSenderCertificate,
  type SenderCertificate,
  SenderCertificateError,
  verifySenderCertificate,
} from '../envelope/certificate.js';
import { CloisterError, DecodeError, ValidationError } from '../errors.js';
import { openHpke, sealHpke } from '../hpke/single-shot.js';
import type { CryptoProvider } from '../provider.js';
import type { ArchiveCertificateCache } from './certificate-cache.js';
import type { ArchiveInspection } from './inspect.js';

/**
 * Format version 2, the first byte of every seal {@link signArchiveSeal} makes (version 3 is
 * `ARCHIVE_SEAL_V3_VERSION`).
 *
 * @example
 * ```ts
 * const twoStep = peekArchiveSeal(sealed).version === ARCHIVE_SEAL_VERSION; // false for v1 and v3 seals
 * ```
 */
export const ARCHIVE_SEAL_VERSION = 2;
/**
 * HPKE `info` of every archive seal (ASCII).
 *
 * @example
 * ```ts
 * const info = utf8(ARCHIVE_SEAL_INFO_LABEL); // for an independent implementation or test vector
 * ```
 */
export const ARCHIVE_SEAL_INFO_LABEL = 'cloister/v2/compliance/archive-seal';
/**
 * Prefix of the HPKE `aad`; the version byte and the encoded bindings follow (ASCII).
 *
 * @example
 * ```ts
 * const aadPrefix = utf8(ARCHIVE_SEAL_AAD_LABEL); // then u8 version | bindings
 * ```
 */
export const ARCHIVE_SEAL_AAD_LABEL = 'cloister/v2/compliance/archive-bindings';
/**
 * Prefix of the sender's Ed25519 signature input; every byte of the seal before the signature
 * follows (ASCII).
 *
 * @example
 * ```ts
 * const signedBytes = concatBytes(utf8(ARCHIVE_SEAL_SIGNATURE_LABEL), sealed.subarray(0, sealed.length - 64));
 * ```
 */
export const ARCHIVE_SEAL_SIGNATURE_LABEL = 'cloister/v2/compliance/archive-seal-signature';
/**
 * Length of a message id, and of the delivery id a seal is bound to: 16 bytes.
 *
 * @example
 * ```ts
 * const messageId = provider.randomBytes(ARCHIVE_MESSAGE_ID_LENGTH);
 * ```
 */
export const ARCHIVE_MESSAGE_ID_LENGTH = 16;
/**
 * Longest conversation id, in bytes: 64.
 *
 * @example
 * ```ts
 * const conversationId = utf8('conv-42');
 * const archivable = conversationId.length <= ARCHIVE_MAX_CONVERSATION_ID;
 * ```
 */
export const ARCHIVE_MAX_CONVERSATION_ID = 64;
/**
 * Longest sender user id, in UTF-8 bytes: 255.
 *
 * @example
 * ```ts
 * const archivable = utf8(certificate.userId).length <= ARCHIVE_MAX_USER_ID;
 * ```
 */
export const ARCHIVE_MAX_USER_ID = 255;
/**
 * Longest content type, in UTF-8 bytes: 255.
 *
 * @example
 * ```ts
 * const fits = (contentType: string) => contentType !== '' && utf8(contentType).length <= ARCHIVE_MAX_CONTENT_TYPE;
 * ```
 */
export const ARCHIVE_MAX_CONTENT_TYPE = 255;

const INFO = utf8(ARCHIVE_SEAL_INFO_LABEL);
const AAD_LABEL = utf8(ARCHIVE_SEAL_AAD_LABEL);
const SIGNATURE_LABEL = utf8(ARCHIVE_SEAL_SIGNATURE_LABEL);
const ENC_LENGTH = 32;
const TAG_LENGTH = 16;
const SIGNATURE_LENGTH = 64;
const MAX_DEVICE_ID = 0xffff_ffff;
/** Version 1 (unsigned, `cloister/v1/...` labels): its header is still parsed, never accepted. */
const LEGACY_VERSION = 1;

/**
 * What an archive seal is bound to; readable without the archive key (see the spec).
 *
 * @example
 * ```ts
 * const bindings: ArchiveBindings = peekArchivedBindings(sealed); // not authenticated yet
 * console.log(bindings.sender.userId, new Date(bindings.sentAt).toISOString());
 * ```
 */
export interface ArchiveBindings {
  /** 16-byte message id. */
  readonly messageId: Uint8Array;
  /** Opaque conversation (or group) id, at most 64 bytes. */
  readonly conversationId: Uint8Array;
  /** The sending user (1–255 UTF-8 bytes) and device (unsigned 32-bit). */
  readonly sender: { readonly userId: string; readonly deviceId: number };
  /** Send time in milliseconds since the Unix epoch, as the sender's client stated it. */
  readonly sentAt: number;
  /**
   * Version 3 only: the recipient user of a 1:1 message (1–255 UTF-8 bytes), signed with the
   * rest of the record. Absent for a group message (whose `conversationId` names the group) and
   * for every version-2 seal, which has no field for it.
   */
  readonly recipient?: string;
}

/**
 * Options of {@link sealForArchive}.
 *
 * @example
 * ```ts
 * const options: SealForArchiveOptions = {
 *   archivePublicKey: archive.publicKey,
 *   messageId: provider.randomBytes(ARCHIVE_MESSAGE_ID_LENGTH),
 *   conversationId: utf8('conv-42'),
 *   sender: { userId: certificate.userId, deviceId: certificate.deviceId },
 *   sentAt: Date.now(),
 *   contentType: 'text/plain',
 *   content: utf8('hello'),
 * };
 * const body = await sealForArchive(provider, options);
 * ```
 */
export interface SealForArchiveOptions extends Omit<ArchiveBindings, 'recipient'> {
  /** The tenant's 32-byte X25519 archive public key. */
  readonly archivePublicKey: Uint8Array;
  /** What `content` is, such as `text/plain` or `cloister/file-key`; 1 to 255 UTF-8 bytes. */
  readonly contentType: string;
  /** The content to archive: the message plaintext, or a file key. */
  readonly content: Uint8Array;
}

/**
 * Options of {@link signArchiveSeal}.
 *
 * @example
 * ```ts
 * const options: SignArchiveSealOptions = {
 *   body: bytes, // from sealForArchive
 *   deliveryId: provider.randomBytes(ARCHIVE_MESSAGE_ID_LENGTH),
 *   certificate,
 *   identitySigningKey: identity.signingKeyPair.privateKey,
 * };
 * const seal = await signArchiveSeal(provider, options);
 * ```
 */
export interface SignArchiveSealOptions {
  /** {@link sealForArchive} output. */
  readonly body: Uint8Array;
  /** The 16-byte id of the delivery (`SealedDelivery.messageId`) the seal travels with. */
  readonly deliveryId: Uint8Array;
  /** The sender's certificate; its user and device must be the body's sender. */
  readonly certificate: SenderCertificate;
  /** The 32-byte Ed25519 identity signing key (seed) the certificate lists. */
  readonly identitySigningKey: Uint8Array;
}

/**
 * Options of {@link verifyArchived}.
 *
 * @example
 * ```ts
 * const options: VerifyArchivedOptions = { bytes: sealed, tenantPublicKey: tenant.publicKey, tenantId: 'acme' };
 * const { bindings } = await verifyArchived(provider, options);
 * ```
 */
export interface VerifyArchivedOptions {
  /** The archive seal as stored (version 2 or 3). */
  readonly bytes: Uint8Array;
  /** The tenant's 32-byte Ed25519 sender-certificate key. */
  readonly tenantPublicKey: Uint8Array;
  /** When given, the certificate's tenant must be this one. */
  readonly tenantId?: string;
  /** When given (the delivery the archive recorded), the seal's delivery id must be this one. */
  readonly deliveryId?: Uint8Array;
  /**
   * Certificates already verified under `tenantPublicKey`, for a run over many seals: each
   * distinct certificate's tenant signature is then checked once (`spec/compliance-seal.md` §4).
   */
  readonly certificateCache?: ArchiveCertificateCache;
  /**
   * The tenant's 32-byte X25519 archive private key. A version-3 seal hides its signed record
   * inside the ciphertext: without this key `verifyArchived` refuses it (`DecryptionFailed`).
   * Version-2 seals are verified without it.
   */
  readonly archivePrivateKey?: Uint8Array;
}

/**
 * Options of {@link openArchived}: {@link VerifyArchivedOptions} and the archive private key.
 *
 * @example
 * ```ts
 * const options: OpenArchivedOptions = { bytes: sealed, tenantPublicKey: tenant.publicKey, archivePrivateKey: archive.privateKey };
 * const { contentType, content } = await openArchived(provider, options);
 * ```
 */
export interface OpenArchivedOptions extends VerifyArchivedOptions {
  /** The tenant's 32-byte X25519 archive private key. */
  readonly archivePrivateKey: Uint8Array;
}

/**
 * What {@link verifyArchived} returns: the authenticated bindings and who signed them.
 *
 * @example
 * ```ts
 * const verified: VerifiedArchive = await verifyArchived(provider, { bytes: sealed, tenantPublicKey: tenant.publicKey });
 * console.log(verified.certificate.tenantId, verified.bindings.sentAt);
 * ```
 */
export interface VerifiedArchive {
  /** The seal's format version: 2 or 3. */
  readonly version: number;
  /** The seal's bindings, authenticated by the sender's signature. */
  readonly bindings: ArchiveBindings;
  /** The id of the delivery the sender bound the seal to. */
  readonly deliveryId: Uint8Array;
  /** The sender's certificate; its identity signing key made the seal's signature. */
  readonly certificate: SenderCertificate;
}

/**
 * What {@link openArchived} returns.
 *
 * @example
 * ```ts
 * const opened: OpenedArchive = await openArchived(provider, {
 *   bytes: sealed,
 *   tenantPublicKey: tenant.publicKey,
 *   archivePrivateKey: archive.privateKey,
 * });
 * if (opened.contentType === 'text/plain') console.log(new TextDecoder().decode(opened.content));
 * ```
 */
export interface OpenedArchive extends VerifiedArchive {
  /** What `content` is, as the sender stated it (such as `text/plain`). */
  readonly contentType: string;
  /** The archived content. */
  readonly content: Uint8Array;
}

/**
 * A non-empty, well-formed string of at most `max` UTF-8 bytes, as bytes; `ValidationError`
 * naming `field` otherwise. Shared with version 3.
 */
export function checkArchiveText(value: unknown, field: string, max: number): Uint8Array {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError(field, 'a non-empty string');
  const bytes = utf8(value);
  if (new TextDecoder().decode(bytes) !== value) throw new ValidationError(field, 'a well-formed string');
  if (bytes.length > max) throw new ValidationError(field, `at most ${max} UTF-8 bytes`);
  return bytes;
}

/**
 * Validates bindings and encodes them: `messageId (16) | u8 len, conversationId | u8 len, userId
 * | u32 deviceId | u64 sentAt`. Throws `ValidationError` naming the field. Shared with version 3.
 */
export function encodeArchiveBindings(b: ArchiveBindings): Uint8Array {
  const messageId = checkBytes(b.messageId, 'messageId', ARCHIVE_MESSAGE_ID_LENGTH);
  const conversationId = checkBytes(b.conversationId, 'conversationId');
  if (conversationId.length > ARCHIVE_MAX_CONVERSATION_ID) {
    throw new ValidationError('conversationId', `at most ${ARCHIVE_MAX_CONVERSATION_ID} bytes`);
  }
  if (typeof b.sender !== 'object' || b.sender === null) throw new ValidationError('sender', 'an object');
  const userId = checkArchiveText(b.sender.userId, 'sender.userId', ARCHIVE_MAX_USER_ID);
  const deviceId = checkInt(b.sender.deviceId, 'sender.deviceId', 0, MAX_DEVICE_ID);
  if (!Number.isSafeInteger(b.sentAt) || b.sentAt < 0) {
    throw new ValidationError('sentAt', 'a non-negative safe integer (milliseconds)');
  }
  const out = new Uint8Array(16 + 1 + conversationId.length + 1 + userId.length + 4 + 8);
  const view = new DataView(out.buffer);
  let o = 0;
  out.set(messageId, o);
  o += 16;
  out[o++] = conversationId.length;
  out.set(conversationId, o);
  o += conversationId.length;
  out[o++] = userId.length;
  out.set(userId, o);
  o += userId.length;
  view.setUint32(o, deviceId);
  view.setUint32(o + 4, Math.floor(b.sentAt / 2 ** 32));
  view.setUint32(o + 8, b.sentAt >>> 0);
  return out;
}

/**
 * Reads bindings encoded by {@link encodeArchiveBindings} at `offset`; returns them and the offset
 * after them. Throws `DecodeError` naming the field (`archive.` prefixed). Shared with version 3.
 */
export function decodeArchiveBindings(
  bytes: Uint8Array,
  offset: number,
): { readonly bindings: ArchiveBindings; readonly end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = offset;
  const need = (n: number, path: string): void => {
    if (bytes.length - o < n) throw new DecodeError(path, 'truncated');
  };
  need(17, 'archive.messageId');
  const messageId = bytes.slice(o, o + 16);
  o += 16;
  const convLength = bytes[o++] as number;
  if (convLength > ARCHIVE_MAX_CONVERSATION_ID) throw new DecodeError('archive.conversationId', 'too long');
  need(convLength + 1, 'archive.conversationId');
  const conversationId = bytes.slice(o, o + convLength);
  o += convLength;
  const userLength = bytes[o++] as number;
  need(userLength, 'archive.sender.userId');
  let userId: string;
  try {
    userId = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(o, o + userLength));
  } catch {
    throw new DecodeError('archive.sender.userId', 'not UTF-8');
  }
  if (userLength === 0) throw new DecodeError('archive.sender.userId', 'empty');
  o += userLength;
  need(12, 'archive.sentAt');
  const deviceId = view.getUint32(o);
  const high = view.getUint32(o + 4);
  const low = view.getUint32(o + 8);
  if (high >= 2 ** 21) throw new DecodeError('archive.sentAt', 'above 2^53 - 1');
  o += 12;
  return {
    bindings: { messageId, conversationId, sender: { userId, deviceId }, sentAt: high * 2 ** 32 + low },
    end: o,
  };
}

/** Why a decrypted or readable signed record is not valid (see `ArchiveInspection`). */
export type ArchiveForgery = 'signature' | 'certificate' | 'sender' | 'tenant' | 'expired';

/** The auditor's inputs every signed record is checked against. */
export interface ArchiveChecks {
  readonly tenantPublicKey: Uint8Array;
  readonly tenantId?: string | undefined;
  /** Certificates already verified under `tenantPublicKey` (their signature is not checked again). */
  readonly certificateCache?: ArchiveCertificateCache | undefined;
}

/**
 * The checks of a signed record, in the order of `spec/compliance-seal.md`: the certificate
 * verifies under the tenant key (`certificate`) and had not expired at `sentAt` (`expired`); it
 * names the record's sender (`sender`) and, when asked, the tenant (`tenant`); the sender's
 * signature verifies (`signature`). Returns the first failure, or `undefined`.
 */
export async function checkSignedArchive(
  provider: CryptoProvider,
  checks: ArchiveChecks,
  record: {
    readonly bindings: ArchiveBindings;
    readonly certificate: SenderCertificate;
    readonly signatureInput: Uint8Array;
    readonly signature: Uint8Array;
  },
): Promise<ArchiveForgery | undefined> {
  const { certificate } = record;
  const { sender, sentAt } = record.bindings;
  const cache = checks.certificateCache;
  if (cache?.has(checks.tenantPublicKey, certificate) === true) {
    // The tenant's signature over these exact bytes verified before; the expiry is per seal.
    if (sentAt > certificate.expiresAt) return 'expired';
  } else {
    try {
      await verifySenderCertificate(provider, certificate, {
        tenantPublicKey: checks.tenantPublicKey,
        now: sentAt,
      });
    } catch (e) {
      if (e instanceof SenderCertificateError && e.problem === 'expired') return 'expired';
      if (e instanceof CloisterError) return 'certificate';
      throw e;
    }
    cache?.add(checks.tenantPublicKey, certificate);
  }
  if (certificate.userId !== sender.userId || certificate.deviceId !== sender.deviceId) return 'sender';
  if (checks.tenantId !== undefined && certificate.tenantId !== checks.tenantId) return 'tenant';
  const valid = await provider.ed25519.verify(
    certificate.identitySigningKey,
    record.signatureInput,
    record.signature,
  );
  return valid ? undefined : 'signature';
}

interface Parsed {
  readonly version: number;
  readonly bindings: ArchiveBindings;
  /** Version byte and bindings exactly as they appear on the wire. */
  readonly header: Uint8Array;
  readonly enc: Uint8Array;
  readonly ciphertext: Uint8Array;
  /** Length of the unsigned body (header, enc, ciphertext length and ciphertext). */
  readonly bodyLength: number;
  /** Present for a complete version-2 seal. */
  readonly signed?: {
    readonly deliveryId: Uint8Array;
    readonly certificate: SenderCertificate;
    /** Every byte before the signature. */
    readonly signedBytes: Uint8Array;
    readonly signature: Uint8Array;
  };
}

/**
 * Parses a version-2 seal or unsigned body (`unsigned`), or the header of a legacy version-1
 * seal (`legacy`). Throws `DecodeError` naming the field.
 */
export function parseArchiveSealV2(
  bytes: Uint8Array,
  accept: { unsigned: boolean; legacy: boolean },
): Parsed {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 1) throw new DecodeError('archive.version', 'truncated');
  const version = bytes[0] as number;
  if (version !== ARCHIVE_SEAL_VERSION && !(accept.legacy && version === LEGACY_VERSION)) {
    throw new DecodeError('archive.version', 'unknown version');
  }
  const { bindings, end } = decodeArchiveBindings(bytes, 1);
  let o = end;
  const need = (n: number, path: string): void => {
    if (bytes.length - o < n) throw new DecodeError(path, 'truncated');
  };
  const header = bytes.slice(0, o);
  if (version === LEGACY_VERSION) {
    // Legacy layout: enc and the rest of the bytes as ciphertext. Only the header is used.
    need(ENC_LENGTH + TAG_LENGTH + 1, 'archive.ciphertext');
    const enc = bytes.slice(o, o + ENC_LENGTH);
    return {
      version,
      bindings,
      header,
      enc,
      ciphertext: bytes.slice(o + ENC_LENGTH),
      bodyLength: bytes.length,
    };
  }
  need(ENC_LENGTH, 'archive.enc');
  const enc = bytes.slice(o, o + ENC_LENGTH);
  o += ENC_LENGTH;
  need(4, 'archive.ciphertext.length');
  const ctLength = view.getUint32(o);
  o += 4;
  if (ctLength < TAG_LENGTH + 1) throw new DecodeError('archive.ciphertext', 'too short');
  need(ctLength, 'archive.ciphertext');
  const ciphertext = bytes.slice(o, o + ctLength);
  o += ctLength;
  const bodyLength = o;
  if (o === bytes.length) {
    if (!accept.unsigned) throw new DecodeError('archive.deliveryId', 'truncated');
    return { version, bindings, header, enc, ciphertext, bodyLength };
  }
  need(ARCHIVE_MESSAGE_ID_LENGTH, 'archive.deliveryId');
  const deliveryId = bytes.slice(o, o + ARCHIVE_MESSAGE_ID_LENGTH);
  o += ARCHIVE_MESSAGE_ID_LENGTH;
  need(2, 'archive.certificate.length');
  const certLength = view.getUint16(o);
  o += 2;
  need(certLength, 'archive.certificate');
  const certificate = decodeSenderCertificate(bytes.slice(o, o + certLength));
  o += certLength;
  need(SIGNATURE_LENGTH, 'archive.signature');
  const signedBytes = bytes.slice(0, o);
  const signature = bytes.slice(o, o + SIGNATURE_LENGTH);
  o += SIGNATURE_LENGTH;
  if (o !== bytes.length) throw new DecodeError('archive', 'trailing bytes');
  return {
    version,
    bindings,
    header,
    enc,
    ciphertext,
    bodyLength,
    signed: { deliveryId, certificate, signedBytes, signature },
  };
}

/**
 * Classifies a seal whose first byte is 1 or 2 (auditor side, `inspectArchived`). Version 1 is
 * `forged`/`legacy`; an unsigned body `forged`/`signature`; then the signed-record checks; then,
 * with `decrypt`, HPKE Open (`undecryptable` on failure); then the delivery (`misbound`). Without
 * `decrypt` a valid seal comes back with an empty content type and content.
 */
export async function inspectArchiveSealV2(
  provider: CryptoProvider,
  bytes: Uint8Array,
  checks: ArchiveChecks & { readonly deliveryId?: Uint8Array | undefined },
  archivePrivateKey: Uint8Array | undefined,
): Promise<ArchiveInspection> {
  let parsed: Parsed;
  try {
    parsed = parseArchiveSealV2(bytes, { unsigned: true, legacy: true });
  } catch (e) {
    if (e instanceof CloisterError) return { status: 'undecryptable' };
    throw e;
  }
  const { bindings } = parsed;
  if (parsed.version === LEGACY_VERSION) return { status: 'forged', reason: 'legacy', bindings };
  const signed = parsed.signed;
  if (signed === undefined) return { status: 'forged', reason: 'signature', bindings };
  const forgery = await checkSignedArchive(provider, checks, {
    bindings,
    certificate: signed.certificate,
    signatureInput: concatBytes(SIGNATURE_LABEL, signed.signedBytes),
    signature: signed.signature,
  });
  if (forgery !== undefined) return { status: 'forged', reason: forgery, bindings };
  let contentType = '';
  let content = new Uint8Array(0);
  if (archivePrivateKey !== undefined) {
    let plaintext: Uint8Array;
    try {
      plaintext = await openHpke(provider, {
        aead: 'aes-256-gcm',
        enc: parsed.enc,
        recipientPrivateKey: archivePrivateKey,
        info: INFO,
        ciphertext: parsed.ciphertext,
        aad: concatBytes(AAD_LABEL, parsed.header),
      });
    } catch (e) {
      if (e instanceof CloisterError) return { status: 'undecryptable' };
      throw e;
    }
    try {
      const typeLength = plaintext[0] ?? 0;
      if (typeLength === 0 || plaintext.length < 1 + typeLength) return { status: 'undecryptable' };
      try {
        contentType = new TextDecoder('utf-8', { fatal: true }).decode(plaintext.subarray(1, 1 + typeLength));
      } catch {
        return { status: 'undecryptable' };
      }
      content = plaintext.slice(1 + typeLength);
    } finally {
      wipe(plaintext);
    }
  }
  const archive = {
    version: ARCHIVE_SEAL_VERSION,
    bindings,
    deliveryId: signed.deliveryId,
    certificate: signed.certificate,
    contentType,
    content,
  };
  if (checks.deliveryId !== undefined && !equalBytes(checks.deliveryId, signed.deliveryId)) {
    return { status: 'misbound', reason: 'delivery', archive };
  }
  return { status: 'valid', archive };
}

/**
 * Seals `content` to the tenant's archive key: the first, unsigned step. The result is the
 * body `version (2) | bindings | enc (32) | u32 length, ciphertext (with its 16-byte tag)`;
 * the HPKE `info` is {@link ARCHIVE_SEAL_INFO_LABEL} and the `aad` is
 * {@link ARCHIVE_SEAL_AAD_LABEL} followed by the version byte and the bindings, so a changed
 * binding fails to open. A body is not a seal: {@link signArchiveSeal} makes it one. Version 2
 * has no recipient: a `recipient` is refused (`ValidationError`); `sealArchived` carries one.
 *
 * @example
 * ```ts
 * import { createNobleProvider, generateHpkeKeyPair, sealForArchive, utf8 } from '@cloister/crypto';
 * const provider = createNobleProvider();
 * const archive = await generateHpkeKeyPair(provider);
 * const body = await sealForArchive(provider, {
 *   archivePublicKey: archive.publicKey,
 *   messageId: provider.randomBytes(16),
 *   conversationId: utf8('conv-42'),
 *   sender: { userId: 'alice@example.org', deviceId: 1 },
 *   sentAt: 1_767_225_600_000,
 *   contentType: 'text/plain',
 *   content: utf8('hello'),
 * });
 * ```
 */
export async function sealForArchive(
  provider: CryptoProvider,
  options: SealForArchiveOptions,
): Promise<Uint8Array> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  if ((options as { readonly recipient?: unknown }).recipient !== undefined) {
    // Version 2 has no field for it: refuse rather than drop it (sealArchived carries it).
    throw new ValidationError('recipient', 'absent (a version-2 seal has no recipient)');
  }
  const header = concatBytes(Uint8Array.of(ARCHIVE_SEAL_VERSION), encodeArchiveBindings(options));
  const archivePublicKey = checkBytes(options.archivePublicKey, 'archivePublicKey', 32);
  const contentType = checkArchiveText(options.contentType, 'contentType', ARCHIVE_MAX_CONTENT_TYPE);
  const content = checkBytes(options.content, 'content');
  const plaintext = concatBytes(Uint8Array.of(contentType.length), contentType, content);
  const { enc, ciphertext } = await sealHpke(provider, {
    aead: 'aes-256-gcm',
    recipientPublicKey: archivePublicKey,
    info: INFO,
    plaintext,
    aad: concatBytes(AAD_LABEL, header),
  });
  wipe(plaintext);
  return concatBytes(header, enc, uintBE(ciphertext.length, 4), ciphertext);
}

/**
 * Binds an unsigned body ({@link sealForArchive}) to the delivery it travels with and signs it
 * with the sender device's identity key: appends `deliveryId (16) | u16 length, certificate |
 * signature (64)`, the signature by `identitySigningKey` over {@link ARCHIVE_SEAL_SIGNATURE_LABEL}
 * and every byte before it. Throws `ValidationError` when the body is not an unsigned version-2
 * body, the certificate names another user or device than the body, or the key is not the
 * certificate's.
 *
 * @example
 * ```ts
 * const body = await sealForArchive(provider, {
 *   archivePublicKey: archive.publicKey,
 *   messageId: provider.randomBytes(ARCHIVE_MESSAGE_ID_LENGTH),
 *   conversationId: utf8('conv-42'),
 *   sender: { userId: certificate.userId, deviceId: certificate.deviceId },
 *   sentAt: Date.now(),
 *   contentType: 'text/plain',
 *   content: utf8('hello'),
 * });
 * const seal = await signArchiveSeal(provider, {
 *   body,
 *   deliveryId: provider.randomBytes(ARCHIVE_MESSAGE_ID_LENGTH), // the delivery's message id
 *   certificate,
 *   identitySigningKey: identity.signingKeyPair.privateKey,
 * });
 * ```
 */
export async function signArchiveSeal(
  provider: CryptoProvider,
  options: SignArchiveSealOptions,
): Promise<Uint8Array> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const body = checkBytes(options.body, 'body');
  const deliveryId = checkBytes(options.deliveryId, 'deliveryId', ARCHIVE_MESSAGE_ID_LENGTH);
  const signingKey = checkBytes(options.identitySigningKey, 'identitySigningKey', 32);
  let parsed: Parsed;
  try {
    parsed = parseArchiveSealV2(body, { unsigned: true, legacy: false });
  } catch (e) {
    if (e instanceof DecodeError)
      throw new ValidationError('body', 'an unsigned version-2 archive seal body');
    throw e;
  }
  if (parsed.signed !== undefined)
    throw new ValidationError('body', 'an unsigned version-2 archive seal body');
  const certificate = encodeSenderCertificate(options.certificate);
  const { sender } = parsed.bindings;
  if (options.certificate.userId !== sender.userId || options.certificate.deviceId !== sender.deviceId) {
    throw new ValidationError('certificate', "the sealing device's certificate");
  }
  if (!equalBytes(await provider.ed25519.publicKey(signingKey), options.certificate.identitySigningKey)) {
    throw new ValidationError('identitySigningKey', 'the key the certificate lists');
  }
  const signed = concatBytes(body, deliveryId, uintBE(certificate.length, 2), certificate);
  const signature = await provider.ed25519.sign(signingKey, concatBytes(SIGNATURE_LABEL, signed));
  return concatBytes(signed, signature);
}
