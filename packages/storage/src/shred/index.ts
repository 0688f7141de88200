/**
 * Crypto-shredding: data sealed under per-period keys that are destroyed when the period ends.
 * See `spec/retention.md` §7.
 *
 * @module
 */
export {
  MAX_SHRED_AAD_BYTES,
  MAX_SHRED_PLAINTEXT_BYTES,
  SHRED_HEADER_LENGTH,
  SHRED_LABEL,
  SHRED_OVERHEAD,
  SHRED_SALT_LENGTH,
  SHRED_VERSION,
  shredPeriodEnd,
} from './format.js';
export {
  createShreddingKeyring,
  DEFAULT_SHRED_TABLE,
  MAX_SHRED_PERIOD_MS,
  MIN_SHRED_PERIOD_MS,
  ShreddedError,
  type ShreddingKeyring,
  type ShreddingKeyringOptions,
  type ShredOpenOptions,
  type ShredSealOptions,
} from './keyring.js';
