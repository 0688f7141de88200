/**
 * HPKE (RFC 9180): DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM / ChaCha20-Poly1305 /
 * export-only, modes base and auth. See spec/hpke.md.
 *
 * @module
 */
export type { HpkeRecipientContext, HpkeSenderContext } from './context.js';
export { HPKE_SEQ_LIMIT } from './context.js';
export { deriveHpkeKeyPair, generateHpkeKeyPair } from './dhkem-x25519.js';
export {
  type HpkeRecipientOptions,
  type HpkeSender,
  type HpkeSenderOptions,
  setupHpkeRecipient,
  setupHpkeSender,
} from './setup.js';
export { type HpkeSealed, openHpke, sealHpke } from './single-shot.js';
export {
  HPKE_AEAD_IDS,
  HPKE_KDF_HKDF_SHA256,
  HPKE_KEM_X25519_HKDF_SHA256,
  HPKE_MODE_AUTH,
  HPKE_MODE_BASE,
  type HpkeAead,
} from './suite.js';
