/**
 * The byte layout of an encrypted file (`spec/files.md`): constants, the header, the per-chunk
 * nonce and the per-file subkey. Shared by the stream code and the test-vector generator.
 *
 * @module
 */
import { checkInt, concatBytes, utf8 } from '../bytes.js';
import type { CryptoProvider } from '../provider.js';

/**
 * The four ASCII bytes `CLFS` that start every encrypted file.
 *
 * @example
 * ```ts
 * const looksEncrypted = equalBytes(ciphertext.subarray(0, 4), utf8(FILE_STREAM_MAGIC));
 * ```
 */
export const FILE_STREAM_MAGIC = 'CLFS';
/**
 * The format version in the header (byte 4); this code writes and reads version 1 only.
 *
 * @example
 * ```ts
 * const supported = ciphertext[4] === FILE_STREAM_VERSION;
 * ```
 */
export const FILE_STREAM_VERSION = 1;
/**
 * HKDF-SHA256 info prefix of the per-file subkey; the 45-byte header follows it.
 *
 * @example
 * ```ts
 * const header = ciphertext.subarray(0, FILE_STREAM_HEADER_LENGTH);
 * const info = concatBytes(utf8(FILE_STREAM_INFO_LABEL), header);
 * ```
 */
export const FILE_STREAM_INFO_LABEL = 'cloister/v1/file/stream';
/**
 * Length of a file key: 32 bytes.
 *
 * @example
 * ```ts
 * const { ciphertext } = await encryptFile(provider, bytes, { fileKey: provider.randomBytes(FILE_KEY_LENGTH) });
 * ```
 */
export const FILE_KEY_LENGTH = 32;
/**
 * Length of the random HKDF salt stored in the header: 32 bytes.
 *
 * @example
 * ```ts
 * const salt = provider.randomBytes(FILE_STREAM_SALT_LENGTH);
 * ```
 */
export const FILE_STREAM_SALT_LENGTH = 32;
/**
 * Length of the random nonce prefix stored in the header: 7 bytes.
 *
 * @example
 * ```ts
 * const noncePrefix = provider.randomBytes(FILE_STREAM_NONCE_PREFIX_LENGTH);
 * ```
 */
export const FILE_STREAM_NONCE_PREFIX_LENGTH = 7;
/**
 * Header length: magic (4), version (1), log2 chunk size (1), salt (32), nonce prefix (7) = 45.
 *
 * @example
 * ```ts
 * const header = parseFileStreamHeader(ciphertext.subarray(0, FILE_STREAM_HEADER_LENGTH));
 * ```
 */
export const FILE_STREAM_HEADER_LENGTH = 45;
/**
 * AES-256-GCM tag length appended to every chunk: 16 bytes.
 *
 * @example
 * ```ts
 * const sealedChunk = FILE_STREAM_DEFAULT_CHUNK_SIZE + FILE_STREAM_TAG_LENGTH; // 65552 bytes
 * ```
 */
export const FILE_STREAM_TAG_LENGTH = 16;
/**
 * The default plaintext chunk size: 64 KiB.
 *
 * @example
 * ```ts
 * const size = fileCiphertextLength(bytes.length, FILE_STREAM_DEFAULT_CHUNK_SIZE);
 * ```
 */
export const FILE_STREAM_DEFAULT_CHUNK_SIZE = 65536;
/**
 * Smallest accepted log2 of the chunk size: 6 (64 bytes; small sizes exist for tests and vectors).
 *
 * @example
 * ```ts
 * const { ciphertext } = await encryptFile(provider, bytes, { chunkSize: 2 ** FILE_STREAM_MIN_CHUNK_LOG2 });
 * ```
 */
export const FILE_STREAM_MIN_CHUNK_LOG2 = 6;
/**
 * Largest accepted log2 of the chunk size: 20 (1 MiB), which bounds a reader's memory.
 *
 * @example
 * ```ts
 * const { ciphertext } = await encryptFile(provider, bytes, { chunkSize: 2 ** FILE_STREAM_MAX_CHUNK_LOG2 });
 * ```
 */
export const FILE_STREAM_MAX_CHUNK_LOG2 = 20;
/**
 * Most chunks one file may have: the counter is 32 bits (2^32).
 *
 * @example
 * ```ts
 * const largestFile = FILE_STREAM_MAX_CHUNKS * FILE_STREAM_DEFAULT_CHUNK_SIZE; // 256 TiB at 64 KiB chunks
 * ```
 */
export const FILE_STREAM_MAX_CHUNKS = 2 ** 32;

const MAGIC = utf8(FILE_STREAM_MAGIC);
const LABEL = utf8(FILE_STREAM_INFO_LABEL);

/**
 * The fields of a parsed header.
 *
 * @example
 * ```ts
 * const header: FileStreamHeader | undefined = parseFileStreamHeader(ciphertext.subarray(0, FILE_STREAM_HEADER_LENGTH));
 * if (header !== undefined) console.log(2 ** header.chunkLog2); // plaintext chunk size
 * ```
 */
export interface FileStreamHeader {
  /** log2 of the plaintext chunk size, 6 to 20. */
  readonly chunkLog2: number;
  /** The random HKDF salt (32 bytes). */
  readonly salt: Uint8Array;
  /** The random nonce prefix of every chunk nonce (7 bytes). */
  readonly noncePrefix: Uint8Array;
}

/**
 * Encodes the 45-byte header.
 *
 * @example
 * ```ts
 * const header = encodeFileStreamHeader({
 *   chunkLog2: 16,
 *   salt: provider.randomBytes(FILE_STREAM_SALT_LENGTH),
 *   noncePrefix: provider.randomBytes(FILE_STREAM_NONCE_PREFIX_LENGTH),
 * }); // 45 bytes
 * ```
 */
export function encodeFileStreamHeader(h: FileStreamHeader): Uint8Array {
  return concatBytes(MAGIC, Uint8Array.of(FILE_STREAM_VERSION, h.chunkLog2), h.salt, h.noncePrefix);
}

/**
 * Parses a 45-byte header; `undefined` when the magic, version or chunk size is not one this code
 * reads (the caller turns that into `DecryptionFailed`).
 *
 * @example
 * ```ts
 * const h = parseFileStreamHeader(ciphertext.subarray(0, FILE_STREAM_HEADER_LENGTH));
 * ```
 */
export function parseFileStreamHeader(header: Uint8Array): FileStreamHeader | undefined {
  if (header.length !== FILE_STREAM_HEADER_LENGTH) return undefined;
  for (let i = 0; i < MAGIC.length; i++) if (header[i] !== MAGIC[i]) return undefined;
  if (header[4] !== FILE_STREAM_VERSION) return undefined;
  const chunkLog2 = header[5]!;
  if (chunkLog2 < FILE_STREAM_MIN_CHUNK_LOG2 || chunkLog2 > FILE_STREAM_MAX_CHUNK_LOG2) return undefined;
  return {
    chunkLog2,
    salt: header.slice(6, 6 + FILE_STREAM_SALT_LENGTH),
    noncePrefix: header.slice(6 + FILE_STREAM_SALT_LENGTH),
  };
}

/**
 * The 12-byte nonce of chunk `counter`: nonce prefix (7) || counter as uint32 big-endian (4) ||
 * 0x01 on the last chunk, else 0x00 (1).
 *
 * @example
 * ```ts
 * const nonce = fileChunkNonce(provider.randomBytes(FILE_STREAM_NONCE_PREFIX_LENGTH), 0, true); // a file of one chunk
 * ```
 */
export function fileChunkNonce(noncePrefix: Uint8Array, counter: number, last: boolean): Uint8Array {
  const nonce = new Uint8Array(12);
  nonce.set(noncePrefix, 0);
  new DataView(nonce.buffer).setUint32(7, counter, false);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/**
 * The per-file AES-256-GCM key: HKDF-SHA256(ikm = fileKey, salt = header salt,
 * info = {@link FILE_STREAM_INFO_LABEL} || header, 32).
 *
 * @example
 * ```ts
 * const subkey = await deriveFileSubkey(provider, fileKey, ciphertext.subarray(0, FILE_STREAM_HEADER_LENGTH));
 * ```
 */
export function deriveFileSubkey(
  provider: CryptoProvider,
  fileKey: Uint8Array,
  header: Uint8Array,
): Promise<Uint8Array> {
  const salt = header.subarray(6, 6 + FILE_STREAM_SALT_LENGTH);
  return provider.hkdfSha256(fileKey, salt, concatBytes(LABEL, header), 32);
}

/**
 * Length of the encrypted file for a plaintext of `size` bytes: header, then one tag per chunk
 * (an empty file still has one empty chunk).
 *
 * @example
 * ```ts
 * fileCiphertextLength(0); // 45 + 16 = 61
 * ```
 */
export function fileCiphertextLength(size: number, chunkSize = FILE_STREAM_DEFAULT_CHUNK_SIZE): number {
  checkInt(size, 'size', 0, Number.MAX_SAFE_INTEGER);
  checkInt(chunkSize, 'chunkSize', 2 ** FILE_STREAM_MIN_CHUNK_LOG2, 2 ** FILE_STREAM_MAX_CHUNK_LOG2);
  const chunks = Math.max(1, Math.ceil(size / chunkSize));
  return FILE_STREAM_HEADER_LENGTH + size + chunks * FILE_STREAM_TAG_LENGTH;
}
