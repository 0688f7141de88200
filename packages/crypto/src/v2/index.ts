/**
 * Suite `v2`: identities and prekeys, the hybrid (X25519 + ML-KEM-768) handshake, the Double
 * Ratchet, session records and safety numbers. See `spec/v2-sessions.md`.
 *
 * @module
 */
export {
  isVerifiedSuites,
  type VerifyBundleOptions,
  verifyBundleSuites,
  verifyPreKeyBundle,
} from './bundle.js';
export {
  canonicalInitialHandshakeBytes,
  canonicalRatchetHeaderBytes,
  V2_HEADER_LENGTH,
} from './canonical.js';
export { SessionCipher, type SessionCipherOptions } from './cipher.js';
export * from './constants.js';
export { computeSafetyNumber, type FingerprintParty, type SafetyNumber } from './fingerprint.js';
export {
  type AcceptedSession,
  type AcceptSessionOptions,
  acceptSession,
  type InitiatedSession,
  type InitiateSessionOptions,
  initiateSession,
} from './handshake.js';
export {
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  type SuiteListBinding,
  signSuites,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
  verifyKemPreKeyPublic,
  verifyPublicIdentity,
} from './identity.js';
export { deserializeSession, serializeSession } from './serialize.js';
export {
  addSession,
  archiveCurrentSession,
  type DecryptContext,
  decryptRecord,
  emptySessionRecord,
  encryptRecord,
  ratchetDecrypt,
  ratchetEncrypt,
} from './session.js';
export {
  addressKey,
  InMemoryPreKeyStore,
  InMemorySessionStore,
  type KemPreKeyReplayStore,
  type PreKeyStore,
  type SessionStore,
} from './stores.js';
export * from './types.js';
