/**
 * Raw primitive implementations, before argument checks. A provider is a `RawPrimitives`
 * passed through `makeProvider`, which owns every length, range and error-mapping rule so that
 * all providers check inputs identically.
 */
import type { KemEncapsulation, KemKeyPair, ScryptParams } from '../provider.js';

type MaybePromise<T> = T | Promise<T>;

/** Raw AEAD: `encrypt` returns ciphertext||tag; `decrypt` may throw anything on failure. */
export interface RawAead {
  encrypt(
    key: Uint8Array,
    nonce: Uint8Array,
    plaintext: Uint8Array,
    aad: Uint8Array,
  ): MaybePromise<Uint8Array>;
  decrypt(
    key: Uint8Array,
    nonce: Uint8Array,
    ciphertext: Uint8Array,
    aad: Uint8Array,
  ): MaybePromise<Uint8Array>;
}

export interface RawPrimitives {
  sha256(data: Uint8Array): MaybePromise<Uint8Array>;
  sha512(data: Uint8Array): MaybePromise<Uint8Array>;
  /** An incremental SHA-256: `update` any number of times, then `digest` once. */
  createSha256(): { update(data: Uint8Array): void; digest(): Uint8Array };
  hmacSha256(key: Uint8Array, parts: readonly Uint8Array[]): MaybePromise<Uint8Array>;
  hmacSha512(key: Uint8Array, parts: readonly Uint8Array[]): MaybePromise<Uint8Array>;
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): MaybePromise<Uint8Array>;
  hkdfExtractSha256(salt: Uint8Array, ikm: Uint8Array): MaybePromise<Uint8Array>;
  hkdfExpandSha256(prk: Uint8Array, info: Uint8Array, length: number): MaybePromise<Uint8Array>;
  scrypt(password: Uint8Array, salt: Uint8Array, params: ScryptParams): MaybePromise<Uint8Array>;
  /** Public key of a private key; clamping per RFC 7748. */
  x25519PublicKey(privateKey: Uint8Array): MaybePromise<Uint8Array>;
  /** Raw X25519 output; may be all zero (the wrapper rejects it) or throw for low-order input. */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array): MaybePromise<Uint8Array>;
  ed25519PublicKey(privateKey: Uint8Array): MaybePromise<Uint8Array>;
  ed25519Sign(privateKey: Uint8Array, message: Uint8Array): MaybePromise<Uint8Array>;
  /** Cofactorless RFC 8032 verification; the wrapper adds the strictness pre-checks. */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): MaybePromise<boolean>;
  mlkem768FromSeed(seed: Uint8Array): MaybePromise<KemKeyPair>;
  mlkem768Encapsulate(publicKey: Uint8Array, message: Uint8Array): MaybePromise<KemEncapsulation>;
  mlkem768Decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): MaybePromise<Uint8Array>;
  aes256gcm: RawAead;
  chacha20poly1305: RawAead;
  xchacha20poly1305: RawAead;
  aes256cbcEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): MaybePromise<Uint8Array>;
  aes256cbcDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): MaybePromise<Uint8Array>;
}
