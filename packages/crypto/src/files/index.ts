/**
 * Encrypted files (chunked streaming AEAD, `stream.ts`) and size hiding (Padmé padding,
 * `padding.ts`). Specification: `spec/files.md`.
 *
 * @module
 */
export {
  deriveFileSubkey,
  encodeFileStreamHeader,
  FILE_KEY_LENGTH,
  FILE_STREAM_DEFAULT_CHUNK_SIZE,
  FILE_STREAM_HEADER_LENGTH,
  FILE_STREAM_INFO_LABEL,
  FILE_STREAM_MAGIC,
  FILE_STREAM_MAX_CHUNK_LOG2,
  FILE_STREAM_MAX_CHUNKS,
  FILE_STREAM_MIN_CHUNK_LOG2,
  FILE_STREAM_NONCE_PREFIX_LENGTH,
  FILE_STREAM_SALT_LENGTH,
  FILE_STREAM_TAG_LENGTH,
  FILE_STREAM_VERSION,
  type FileStreamHeader,
  fileChunkNonce,
  fileCiphertextLength,
  parseFileStreamHeader,
} from './format.js';
export { PADME_MAX_LENGTH, padmeLength, padToBucket, unpad } from './padding.js';
export {
  type DecryptFileStreamOptions,
  decryptFile,
  decryptFileStream,
  type EncryptedFile,
  type EncryptFileStreamOptions,
  encryptFile,
  encryptFileStream,
  type FileEncryption,
  type FileEncryptionResult,
} from './stream.js';
