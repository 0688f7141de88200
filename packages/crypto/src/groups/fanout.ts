/**
 * Group key fan-out (R03): a group message is encrypted once under a fresh content key; each
 * member device then receives a small {@link GroupKeyWrap} over its pairwise v2 session.
 * See `spec/groups.md §2`.
 */
import { checkBytes, checkInt, concatBytes, equalBytes, utf8, wipe } from '../bytes.js';
import { DecodeError, DecryptionFailed, ValidationError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';

/**
 * Format version of the group content ciphertext and of a key wrap (their first byte).
 *
 * @example
 * ```ts
 * const supported = ciphertext[0] === GROUP_FANOUT_VERSION;
 * ```
 */
export const GROUP_FANOUT_VERSION = 1;
/**
 * Prefix of the AES-256-GCM associated data of group content (ASCII); the group id, version and
 * epoch follow.
 *
 * @example
 * ```ts
 * const adPrefix = utf8(GROUP_CONTENT_AD_LABEL); // for an independent implementation or test vector
 * ```
 */
export const GROUP_CONTENT_AD_LABEL = 'cloister/v1/group/content/ad';
/**
 * SHA-256 prefix of the content digest carried in a key wrap (ASCII).
 *
 * @example
 * ```ts
 * const digest = await provider.sha256(concatBytes(utf8(GROUP_CONTENT_DIGEST_LABEL), ciphertext));
 * // equals await groupContentDigest(provider, ciphertext)
 * ```
 */
export const GROUP_CONTENT_DIGEST_LABEL = 'cloister/v1/group/content/digest';
/**
 * Longest group id, in bytes: 64.
 *
 * @example
 * ```ts
 * const groupId = provider.randomBytes(16); // any 1..GROUP_MAX_ID_LENGTH bytes
 * console.log(groupId.length <= GROUP_MAX_ID_LENGTH); // true
 * ```
 */
export const GROUP_MAX_ID_LENGTH = 64;
/**
 * Length of a content key: 32 bytes (AES-256-GCM).
 *
 * @example
 * ```ts
 * console.log(wrap.contentKey.length === GROUP_CONTENT_KEY_LENGTH); // true
 * ```
 */
export const GROUP_CONTENT_KEY_LENGTH = 32;
/**
 * Length of an encoded content digest: 32 bytes (SHA-256).
 *
 * @example
 * ```ts
 * console.log(wrap.contentDigest.length === GROUP_DIGEST_LENGTH); // true
 * ```
 */
export const GROUP_DIGEST_LENGTH = 32;

const AD_LABEL = utf8(GROUP_CONTENT_AD_LABEL);
const DIGEST_LABEL = utf8(GROUP_CONTENT_DIGEST_LABEL);
const NONCE_LENGTH = 12;
const TAG_LENGTH = 16;
/** version (1) | epoch (4) | nonce (12) */
const HEADER_LENGTH = 1 + 4 + NONCE_LENGTH;

/**
 * The key-wrap payload sent to each member device over its `SessionCipher`.
 *
 * @example
 * ```ts
 * const { wrap }: { wrap: GroupKeyWrap } = await encryptForGroup(provider, { plaintext: utf8('hi all'), groupId });
 * const payload = encodeGroupKeyWrap(wrap);
 * ```
 */
export interface GroupKeyWrap {
  /** The id of the group the content belongs to (1 to 64 bytes). */
  readonly groupId: Uint8Array;
  /** The 32-byte AES-256-GCM content key. */
  readonly contentKey: Uint8Array;
  /** SHA-256 of {@link GROUP_CONTENT_DIGEST_LABEL} followed by the content ciphertext. */
  readonly contentDigest: Uint8Array;
}

/**
 * What {@link encryptForGroup} returns.
 *
 * @example
 * ```ts
 * const encrypted: GroupEncrypted = await encryptForGroup(provider, { plaintext: utf8('hi all'), groupId });
 * const sent = await cipher.encrypt(encodeGroupKeyWrap(encrypted.wrap)); // once per member device
 * wipeGroupKeyWrap(encrypted.wrap);
 * ```
 */
export interface GroupEncrypted {
  /** Fresh 32-byte content key; wipe it once every wrap is sent. */
  readonly contentKey: Uint8Array;
  /** `version (1) | epoch (u32) | nonce (12) | AES-256-GCM ciphertext and tag`. */
  readonly ciphertext: Uint8Array;
  /** The wrap to send to every member device (see {@link encodeGroupKeyWrap}). */
  readonly wrap: GroupKeyWrap;
}

function checkGroupId(value: unknown, field: string): Uint8Array {
  const id = checkBytes(value, field);
  if (id.length === 0 || id.length > GROUP_MAX_ID_LENGTH) {
    throw new ValidationError(field, `1 to ${GROUP_MAX_ID_LENGTH} bytes`);
  }
  return id;
}

function associatedData(groupId: Uint8Array, header: Uint8Array): Uint8Array {
  return concatBytes(AD_LABEL, Uint8Array.of(groupId.length), groupId, header);
}

/**
 * The digest a key wrap carries: SHA-256(`"cloister/v1/group/content/digest"` || ciphertext).
 *
 * @example
 * ```ts
 * import { groupContentDigest } from '@cloister/crypto';
 * const digest = await groupContentDigest(provider, ciphertext);
 * ```
 */
export async function groupContentDigest(
  provider: CryptoProvider,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  return provider.sha256(concatBytes(DIGEST_LABEL, checkBytes(ciphertext, 'ciphertext')));
}

/**
 * Encrypts group content once under a fresh random key and nonce. The associated data binds the
 * group id, the format version and the epoch.
 *
 * @example
 * ```ts
 * import { createNobleProvider, encodeGroupKeyWrap, encryptForGroup, utf8 } from '@cloister/crypto';
 * const provider = createNobleProvider();
 * const { ciphertext, wrap } = await encryptForGroup(provider, { plaintext: utf8('hi all'), groupId: utf8('g1') });
 * const payload = encodeGroupKeyWrap(wrap); // send with SessionCipher.encrypt to each member device
 * ```
 */
export async function encryptForGroup(
  provider: CryptoProvider,
  options: { readonly plaintext: Uint8Array; readonly groupId: Uint8Array; readonly epoch?: number },
): Promise<GroupEncrypted> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const plaintext = checkBytes(options.plaintext, 'plaintext');
  const groupId = checkGroupId(options.groupId, 'groupId');
  const epoch = options.epoch === undefined ? 0 : checkInt(options.epoch, 'epoch', 0, 0xffff_ffff);
  const contentKey = provider.randomBytes(GROUP_CONTENT_KEY_LENGTH);
  const header = new Uint8Array(HEADER_LENGTH);
  header[0] = GROUP_FANOUT_VERSION;
  new DataView(header.buffer).setUint32(1, epoch);
  header.set(provider.randomBytes(NONCE_LENGTH), 5);
  const sealed = await provider.aes256gcm.encrypt(
    contentKey,
    header.subarray(5),
    plaintext,
    associatedData(groupId, header),
  );
  const ciphertext = concatBytes(header, sealed);
  const contentDigest = await groupContentDigest(provider, ciphertext);
  return { contentKey, ciphertext, wrap: { groupId: groupId.slice(), contentKey, contentDigest } };
}

/**
 * Encodes a key wrap canonically: `version (1) | u8 length, groupId | contentKey (32) | digest (32)`.
 *
 * @example
 * ```ts
 * const payload = encodeGroupKeyWrap(wrap);
 * ```
 */
export function encodeGroupKeyWrap(wrap: GroupKeyWrap): Uint8Array {
  if (typeof wrap !== 'object' || wrap === null) throw new ValidationError('wrap', 'an object');
  const groupId = checkGroupId(wrap.groupId, 'wrap.groupId');
  const contentKey = checkBytes(wrap.contentKey, 'wrap.contentKey', GROUP_CONTENT_KEY_LENGTH);
  const digest = checkBytes(wrap.contentDigest, 'wrap.contentDigest', GROUP_DIGEST_LENGTH);
  return concatBytes(Uint8Array.of(GROUP_FANOUT_VERSION, groupId.length), groupId, contentKey, digest);
}

/**
 * Decodes a key wrap; throws `DecodeError` (`ERR_DECODE`, naming the field) on malformed bytes.
 *
 * @example
 * ```ts
 * const wrap = decodeGroupKeyWrap(await cipher.decrypt(incoming));
 * ```
 */
export function decodeGroupKeyWrap(bytes: Uint8Array): GroupKeyWrap {
  const b = checkBytes(bytes, 'bytes');
  if (b.length < 2) throw new DecodeError('wrap', 'truncated');
  if (b[0] !== GROUP_FANOUT_VERSION) throw new DecodeError('wrap.version', 'unknown version');
  const idLength = b[1] as number;
  if (idLength === 0 || idLength > GROUP_MAX_ID_LENGTH) throw new DecodeError('wrap.groupId', 'bad length');
  const expected = 2 + idLength + GROUP_CONTENT_KEY_LENGTH + GROUP_DIGEST_LENGTH;
  if (b.length < expected) throw new DecodeError('wrap', 'truncated');
  if (b.length > expected) throw new DecodeError('wrap', 'trailing bytes');
  const keyAt = 2 + idLength;
  return {
    groupId: b.slice(2, keyAt),
    contentKey: b.slice(keyAt, keyAt + GROUP_CONTENT_KEY_LENGTH),
    contentDigest: b.slice(keyAt + GROUP_CONTENT_KEY_LENGTH),
  };
}

/**
 * Decrypts group content with a received wrap: the digest is compared in constant time first,
 * then the AES-256-GCM tag (which binds the group id). Every failure is `DecryptionFailed`.
 *
 * @example
 * ```ts
 * import { decryptGroupContent } from '@cloister/crypto';
 * const { plaintext, epoch } = await decryptGroupContent(provider, { wrap, ciphertext });
 * ```
 */
export async function decryptGroupContent(
  provider: CryptoProvider,
  options: { readonly wrap: GroupKeyWrap | Uint8Array; readonly ciphertext: Uint8Array },
): Promise<{ readonly plaintext: Uint8Array; readonly epoch: number }> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const ciphertext = checkBytes(options.ciphertext, 'ciphertext');
  const wrap = options.wrap instanceof Uint8Array ? decodeGroupKeyWrap(options.wrap) : options.wrap;
  if (typeof wrap !== 'object' || wrap === null) throw new ValidationError('wrap', 'an object');
  const groupId = checkGroupId(wrap.groupId, 'wrap.groupId');
  const contentKey = checkBytes(wrap.contentKey, 'wrap.contentKey', GROUP_CONTENT_KEY_LENGTH);
  const expected = checkBytes(wrap.contentDigest, 'wrap.contentDigest', GROUP_DIGEST_LENGTH);
  const digest = await groupContentDigest(provider, ciphertext);
  if (!equalBytes(digest, expected)) throw new DecryptionFailed();
  if (ciphertext.length < HEADER_LENGTH + TAG_LENGTH || ciphertext[0] !== GROUP_FANOUT_VERSION) {
    throw new DecryptionFailed();
  }
  const header = ciphertext.subarray(0, HEADER_LENGTH);
  const epoch = new DataView(header.buffer, header.byteOffset, HEADER_LENGTH).getUint32(1);
  const plaintext = await provider.aes256gcm.decrypt(
    contentKey,
    header.subarray(5),
    ciphertext.subarray(HEADER_LENGTH),
    associatedData(groupId, header),
  );
  return { plaintext, epoch };
}

/**
 * Wipes the content key of a wrap (for the sender once every wrap is sent, for a receiver once
 * the content is decrypted).
 *
 * @example
 * ```ts
 * wipeGroupKeyWrap(wrap);
 * ```
 */
export function wipeGroupKeyWrap(wrap: GroupKeyWrap): void {
  wipe(wrap.contentKey);
}
