/**
 * Suite `v2`: identities and prekeys, the hybrid (X25519 + ML-KEM-768) handshake and the Double
 * Ratchet. See `spec/v2-sessions.md`.
 *
 * @module
 */
export * from './types.js';
