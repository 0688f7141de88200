/**
 * `@cloister/crypto`: the cryptographic core of Cloister. Every primitive goes through a
 * {@link CryptoProvider}; suites and key wrapping compose them.
 *
 * @module @cloister/crypto
 */
export * from './admin/index.js';
export * from './bytes.js';
export * from './compliance/index.js';
export * from './envelope/index.js';
export * from './errors.js';
export * from './files/index.js';
export * from './groups/index.js';
export * from './hpke/index.js';
export {
  changePin,
  decodeWrappedKey,
  encodeWrappedKey,
  normalizePin,
  PIN_MAX_BYTES,
  PIN_SCRYPT_CEILING,
  PIN_SCRYPT_DEFAULT,
  PIN_SCRYPT_FLOOR,
  PIN_WRAP_ALGORITHM_IDS,
  PIN_WRAP_DATA_KEY_LENGTH,
  PIN_WRAP_DEFAULT_ALGORITHM,
  PIN_WRAP_MAGIC,
  type PinScryptParams,
  type PinWrapAlgorithm,
  type PinWrapOptions,
  unwrapDataKey,
  type WrappedKeyRecord,
  wrapDataKey,
} from './pin-wrap.js';
export type * from './provider.js';
export { createNobleProvider } from './providers/noble.js';
export { getProvider, type ProviderName } from './providers/select.js';
export { createWebCryptoProvider } from './providers/webcrypto.js';
export { type Ed25519Signer, ed25519SignWith, isEd25519Signer } from './signer.js';
export {
  openStaticV1Channel,
  STATIC_V1_DEFAULTS,
  STATIC_V1_INFO_LABEL,
  STATIC_V1_IV_LENGTH,
  STATIC_V1_MAC_LENGTH,
  STATIC_V1_MAX_PLAINTEXT,
  STATIC_V1_MIN_MESSAGE,
  STATIC_V1_OVERHEAD,
  STATIC_V1_VERSION,
  type StaticV1Channel,
  type StaticV1Keys,
  type StaticV1Params,
  staticV1Decrypt,
  staticV1DeriveKeys,
  staticV1Encrypt,
  staticV1EncryptForRecipients,
  staticV1MessageLength,
} from './suites/static-v1.js';
export { computeDeviceSetSafetyNumber, type DeviceSetParty } from './v2/fingerprint.js';
export * from './v2/index.js';
