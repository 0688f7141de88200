/** Fixed lengths of the keys, signatures and ciphertexts that travel on the wire. */

/** X25519 public keys and Ed25519 public keys. */
export const KEY_LENGTH = 32;
/** Ed25519 signatures. */
export const SIGNATURE_LENGTH = 64;
/** ML-KEM-768 encapsulation keys. */
export const KEM_PUBLIC_KEY_LENGTH = 1184;
/** ML-KEM-768 ciphertexts. */
export const KEM_CIPHERTEXT_LENGTH = 1088;
/** The AES-256-GCM tag at the end of every ratchet ciphertext. */
export const TAG_LENGTH = 16;
