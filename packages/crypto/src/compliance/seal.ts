/**
 * Compliance seal (R12): a copy of a message's content, or of a file key, sealed with HPKE mode
 * base to the tenant's archive X25519 public key and bound to who sent what, where and when.
 * Layout and reasoning in `spec/compliance-seal.md`.
 */
import { checkBytes, checkInt, concatBytes, utf8, wipe } from '../bytes.js';
import { CloisterError, DecodeError, DecryptionFailed, ValidationError } from '../errors.js';
import { openHpke, sealHpke } from '../hpke/single-shot.js';
import type { CryptoProvider } from '../provider.js';

/** Format version, the first byte of every archive seal. */
export const ARCHIVE_SEAL_VERSION = 1;
/** HPKE `info` of every archive seal (ASCII). */
export const ARCHIVE_SEAL_INFO_LABEL = 'cloister/v1/compliance/archive-seal';
/** Prefix of the HPKE `aad`; the version byte and the encoded bindings follow (ASCII). */
export const ARCHIVE_SEAL_AAD_LABEL = 'cloister/v1/compliance/archive-bindings';
/** Length of a message id. */
export const ARCHIVE_MESSAGE_ID_LENGTH = 16;
/** Longest conversation id, in bytes. */
export const ARCHIVE_MAX_CONVERSATION_ID = 64;
/** Longest sender user id, in UTF-8 bytes. */
export const ARCHIVE_MAX_USER_ID = 255;
/** Longest content type, in UTF-8 bytes. */
export const ARCHIVE_MAX_CONTENT_TYPE = 255;

const INFO = utf8(ARCHIVE_SEAL_INFO_LABEL);
const AAD_LABEL = utf8(ARCHIVE_SEAL_AAD_LABEL);
const ENC_LENGTH = 32;
const TAG_LENGTH = 16;
const MAX_DEVICE_ID = 0xffff_ffff;

/** What an archive seal is bound to; readable without the archive key (see the spec). */
export interface ArchiveBindings {
  /** 16-byte message id. */
  readonly messageId: Uint8Array;
  /** Opaque conversation (or group) id, at most 64 bytes. */
  readonly conversationId: Uint8Array;
  readonly sender: { readonly userId: string; readonly deviceId: number };
  /** Send time in milliseconds since the Unix epoch, as the sender's client stated it. */
  readonly sentAt: number;
}

/** Options of {@link sealForArchive}. */
export interface SealForArchiveOptions extends ArchiveBindings {
  /** The tenant's 32-byte X25519 archive public key. */
  readonly archivePublicKey: Uint8Array;
  /** What `content` is, such as `text/plain` or `cloister/file-key`; 1 to 255 UTF-8 bytes. */
  readonly contentType: string;
  readonly content: Uint8Array;
}

/** What {@link openArchived} returns. */
export interface OpenedArchive {
  readonly bindings: ArchiveBindings;
  readonly contentType: string;
  readonly content: Uint8Array;
}

function checkUtf8(value: unknown, field: string, max: number): Uint8Array {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError(field, 'a non-empty string');
  const bytes = utf8(value);
  if (new TextDecoder().decode(bytes) !== value) throw new ValidationError(field, 'a well-formed string');
  if (bytes.length > max) throw new ValidationError(field, `at most ${max} UTF-8 bytes`);
  return bytes;
}

function checkBindings(b: ArchiveBindings): Uint8Array {
  const messageId = checkBytes(b.messageId, 'messageId', ARCHIVE_MESSAGE_ID_LENGTH);
  const conversationId = checkBytes(b.conversationId, 'conversationId');
  if (conversationId.length > ARCHIVE_MAX_CONVERSATION_ID) {
    throw new ValidationError('conversationId', `at most ${ARCHIVE_MAX_CONVERSATION_ID} bytes`);
  }
  if (typeof b.sender !== 'object' || b.sender === null) throw new ValidationError('sender', 'an object');
  const userId = checkUtf8(b.sender.userId, 'sender.userId', ARCHIVE_MAX_USER_ID);
  const deviceId = checkInt(b.sender.deviceId, 'sender.deviceId', 0, MAX_DEVICE_ID);
  if (!Number.isSafeInteger(b.sentAt) || b.sentAt < 0) {
    throw new ValidationError('sentAt', 'a non-negative safe integer (milliseconds)');
  }
  return encodeBindings(messageId, conversationId, userId, deviceId, b.sentAt);
}

/** version | messageId | u8 len, conversationId | u8 len, userId | u32 deviceId | u64 sentAt */
function encodeBindings(
  messageId: Uint8Array,
  conversationId: Uint8Array,
  userId: Uint8Array,
  deviceId: number,
  sentAt: number,
): Uint8Array {
  const out = new Uint8Array(1 + 16 + 1 + conversationId.length + 1 + userId.length + 4 + 8);
  const view = new DataView(out.buffer);
  let o = 0;
  out[o++] = ARCHIVE_SEAL_VERSION;
  out.set(messageId, o);
  o += 16;
  out[o++] = conversationId.length;
  out.set(conversationId, o);
  o += conversationId.length;
  out[o++] = userId.length;
  out.set(userId, o);
  o += userId.length;
  view.setUint32(o, deviceId);
  view.setUint32(o + 4, Math.floor(sentAt / 2 ** 32));
  view.setUint32(o + 8, sentAt >>> 0);
  return out;
}

interface Parsed {
  readonly bindings: ArchiveBindings;
  /** Version byte and bindings exactly as they appear on the wire. */
  readonly header: Uint8Array;
  readonly enc: Uint8Array;
  readonly ciphertext: Uint8Array;
}

function parse(bytes: Uint8Array): Parsed {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 0;
  const need = (n: number, path: string): void => {
    if (bytes.length - o < n) throw new DecodeError(path, 'truncated');
  };
  need(1, 'archive.version');
  if (bytes[o++] !== ARCHIVE_SEAL_VERSION) throw new DecodeError('archive.version', 'unknown version');
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
  const header = bytes.slice(0, o);
  need(ENC_LENGTH + TAG_LENGTH + 1, 'archive.ciphertext');
  const enc = bytes.slice(o, o + ENC_LENGTH);
  const ciphertext = bytes.slice(o + ENC_LENGTH);
  return {
    bindings: { messageId, conversationId, sender: { userId, deviceId }, sentAt: high * 2 ** 32 + low },
    header,
    enc,
    ciphertext,
  };
}

/**
 * Seals `content` to the tenant's archive key. The result is
 * `version (1) | bindings | enc (32) | ciphertext (with its 16-byte tag)`; the HPKE `info` is
 * {@link ARCHIVE_SEAL_INFO_LABEL} and the `aad` is {@link ARCHIVE_SEAL_AAD_LABEL} followed by
 * the version byte and the bindings, so a changed binding fails to open.
 *
 * @example
 * ```ts
 * import { createNobleProvider, generateHpkeKeyPair, sealForArchive, utf8 } from '@cloister/crypto';
 * const provider = createNobleProvider();
 * const archive = await generateHpkeKeyPair(provider);
 * const sealed = await sealForArchive(provider, {
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
  const header = checkBindings(options);
  const archivePublicKey = checkBytes(options.archivePublicKey, 'archivePublicKey', 32);
  const contentType = checkUtf8(options.contentType, 'contentType', ARCHIVE_MAX_CONTENT_TYPE);
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
  return concatBytes(header, enc, ciphertext);
}

/**
 * Opens an archive seal with the archive private key. Every failure (altered or truncated bytes,
 * a changed binding, the wrong key, an unknown version) is the same `DecryptionFailed`.
 *
 * @example
 * ```ts
 * import { openArchived } from '@cloister/crypto';
 * const { bindings, contentType, content } = await openArchived(provider, {
 *   archivePrivateKey: archive.privateKey,
 *   bytes: sealed,
 * });
 * ```
 */
export async function openArchived(
  provider: CryptoProvider,
  options: { readonly archivePrivateKey: Uint8Array; readonly bytes: Uint8Array },
): Promise<OpenedArchive> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const archivePrivateKey = checkBytes(options.archivePrivateKey, 'archivePrivateKey', 32);
  const bytes = checkBytes(options.bytes, 'bytes');
  let parsed: Parsed;
  try {
    parsed = parse(bytes);
  } catch (e) {
    if (e instanceof DecodeError) throw new DecryptionFailed();
    throw e;
  }
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
    if (e instanceof CloisterError) throw new DecryptionFailed();
    throw e;
  }
  try {
    const typeLength = plaintext[0] ?? 0;
    if (typeLength === 0 || plaintext.length < 1 + typeLength) throw new DecryptionFailed();
    let contentType: string;
    try {
      contentType = new TextDecoder('utf-8', { fatal: true }).decode(plaintext.subarray(1, 1 + typeLength));
    } catch {
      throw new DecryptionFailed();
    }
    return { bindings: parsed.bindings, contentType, content: plaintext.slice(1 + typeLength) };
  } finally {
    wipe(plaintext);
  }
}

/**
 * Reads the bindings of an archive seal without opening it, for an auditor's local search index.
 * They are **not authenticated** until {@link openArchived} succeeds. Throws `DecodeError`
 * (`ERR_DECODE`, naming the field) on malformed bytes.
 *
 * @example
 * ```ts
 * import { peekArchivedBindings } from '@cloister/crypto';
 * const { sender, sentAt } = peekArchivedBindings(sealed);
 * ```
 */
export function peekArchivedBindings(bytes: Uint8Array): ArchiveBindings {
  return parse(checkBytes(bytes, 'bytes')).bindings;
}
