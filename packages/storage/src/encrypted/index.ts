/**
 * Encryption at rest for any `StorageAdapter`: the wrapper and the helpers that obtain its
 * data key (`spec/storage-encryption.md`).
 *
 * @module
 */
export {
  createEncryptedAdapter,
  DEFAULT_KEY_CHECK_TABLE,
  type EncryptedAdapterHandle,
  type EncryptedAdapterOptions,
  type OpenEncryptedAdapterOptions,
  openEncryptedAdapter,
  STORAGE_DATA_KEY_LENGTH,
} from './adapter.js';
export { deriveServerDataKey, openClientDataKey } from './keys.js';
