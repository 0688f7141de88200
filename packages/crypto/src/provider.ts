/**
 * The `CryptoProvider` interface: every primitive Cloister uses, behind one object.
 *
 * Providers are interchangeable: for the same inputs (and the same random source) every
 * provider returns byte-identical outputs and rejects the same inputs. Suites and protocols
 * take a provider as their first argument and never import a primitive directly.
 *
 * All operations except {@link CryptoProvider.randomBytes} are asynchronous so that WebCrypto
 * can implement them; the Node provider resolves at once.
 *
 * @module
 */

/** A source of random bytes. The default is the platform CSPRNG. */
export interface RandomSource {
  /** Fills `out` with random bytes and returns it. */
  fill(out: Uint8Array): Uint8Array;
  /** Human-readable name, such as `csprng` or `insecure-seeded`. */
  readonly name: string;
}

/** A Diffie-Hellman or signature key pair of raw 32-byte keys. */
export interface KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** An ML-KEM key pair: `publicKey` is the encapsulation key, `secretKey` the decapsulation key. */
export interface KemKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** The result of an ML-KEM encapsulation. */
export interface KemEncapsulation {
  readonly ciphertext: Uint8Array;
  readonly sharedSecret: Uint8Array;
}

/**
 * An incremental SHA-256, for data that arrives in pieces (file streams). `update` may be called
 * any number of times before `digest`; after `digest` the object is finished and throws
 * `UsageError` on further use.
 */
export interface IncrementalHash {
  update(data: Uint8Array): IncrementalHash;
  digest(): Uint8Array;
}

/** scrypt cost parameters (RFC 7914). */
export interface ScryptParams {
  /** CPU/memory cost, a power of two greater than 1. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelisation. */
  readonly p: number;
  /** Output length in bytes. */
  readonly dkLen: number;
}

/**
 * An authenticated cipher with a fixed key and nonce size. `encrypt` returns ciphertext with
 * the 16-byte tag appended; `decrypt` checks the tag before it returns any plaintext and throws
 * `DecryptionFailed` on every failure.
 */
export interface Aead {
  readonly keyLength: number;
  readonly nonceLength: number;
  readonly tagLength: number;
  encrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
  decrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
}

/** AES-256-CBC with PKCS#7 padding. Unauthenticated: only ever used inside encrypt-then-MAC. */
export interface CbcCipher {
  encrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** Throws `DecryptionFailed` on bad length or bad padding. */
  decrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
}

/** X25519 (RFC 7748). */
export interface X25519 {
  /** A new key pair from the provider's random source. */
  generateKeyPair(): Promise<KeyPair>;
  /** The public key of a 32-byte private key. */
  publicKey(privateKey: Uint8Array): Promise<Uint8Array>;
  /**
   * The shared secret. Throws `InvalidKeyError` when it is all zero (the peer key is of low
   * order), as RFC 7748 section 6.1 allows and Cloister requires.
   */
  sharedSecret(privateKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array>;
}

/** Ed25519 (RFC 8032) with strict verification. */
export interface Ed25519 {
  generateKeyPair(): Promise<KeyPair>;
  /** The public key of a 32-byte private key (seed). */
  publicKey(privateKey: Uint8Array): Promise<Uint8Array>;
  sign(privateKey: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
  /**
   * Strict verification: rejects non-canonical encodings of R, A and S (S >= L) and public
   * keys of small order. Returns `false` for any invalid signature; never throws on bad
   * signature bytes of the right length.
   */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/** ML-KEM-768 (FIPS 203). */
export interface MlKem768 {
  readonly publicKeyLength: 1184;
  readonly secretKeyLength: 2400;
  readonly ciphertextLength: 1088;
  generateKeyPair(): Promise<KemKeyPair>;
  /** Deterministic key generation from a 64-byte seed (d || z). */
  keyPairFromSeed(seed: Uint8Array): Promise<KemKeyPair>;
  encapsulate(publicKey: Uint8Array): Promise<KemEncapsulation>;
  /** Implicit rejection: a bad ciphertext yields a pseudorandom secret, never an error. */
  decapsulate(ciphertext: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array>;
}

/**
 * Every primitive Cloister uses.
 *
 * @example
 * ```ts
 * import { getProvider } from '@cloister/crypto';
 * const provider = await getProvider();
 * console.log(provider.name); // "node" on Node.js
 * const digest = await provider.sha256(new TextEncoder().encode('abc'));
 * ```
 */
export interface CryptoProvider {
  /** `noble`, `node` or `webcrypto` (with `+seeded` when a test random source is injected). */
  readonly name: string;
  /** The random source this provider draws from. */
  readonly random: RandomSource;
  randomBytes(length: number): Uint8Array;
  sha256(data: Uint8Array): Promise<Uint8Array>;
  sha512(data: Uint8Array): Promise<Uint8Array>;
  /** A new incremental SHA-256 (synchronous, so a stream can feed it chunk by chunk). */
  createSha256(): IncrementalHash;
  /** HMAC-SHA256 over the concatenation of `data` (given as one array or as parts). */
  hmacSha256(key: Uint8Array, data: Uint8Array | readonly Uint8Array[]): Promise<Uint8Array>;
  /** HMAC-SHA512 (64 bytes) over the concatenation of `data` (given as one array or as parts). */
  hmacSha512(key: Uint8Array, data: Uint8Array | readonly Uint8Array[]): Promise<Uint8Array>;
  /** HKDF-SHA256 (RFC 5869); an empty salt means HashLen zero bytes. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;
  /** HKDF-Extract with SHA-256 (RFC 5869 section 2.2): the 32-byte PRK; an empty salt means 32 zero bytes. */
  hkdfExtractSha256(salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array>;
  /** HKDF-Expand with SHA-256 (RFC 5869 section 2.3): `length` (1..8160) bytes from a PRK of at least 32 bytes. */
  hkdfExpandSha256(prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;
  scrypt(password: Uint8Array, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array>;
  readonly x25519: X25519;
  readonly ed25519: Ed25519;
  readonly mlkem768: MlKem768;
  readonly aes256gcm: Aead;
  readonly chacha20poly1305: Aead;
  readonly xchacha20poly1305: Aead;
  readonly aes256cbc: CbcCipher;
  /** A provider identical to this one but drawing randomness from `random`. */
  withRandom(random: RandomSource): CryptoProvider;
}
