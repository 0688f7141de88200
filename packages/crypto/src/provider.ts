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

/**
 * A source of random bytes. The default is the platform CSPRNG; tests inject a seeded one with
 * {@link CryptoProvider.withRandom}.
 *
 * @example
 * ```ts
 * console.log(provider.random.name); // "csprng"
 * const nonce = provider.random.fill(new Uint8Array(12));
 * ```
 */
export interface RandomSource {
  /**
   * Fills `out` with random bytes and returns it.
   *
   * @example
   * ```ts
   * const salt = provider.random.fill(new Uint8Array(16));
   * ```
   */
  fill(out: Uint8Array): Uint8Array;
  /** Human-readable name, such as `csprng` or `insecure-seeded`. */
  readonly name: string;
}

/**
 * A Diffie-Hellman or signature key pair of raw 32-byte keys.
 *
 * @example
 * ```ts
 * const pair: KeyPair = await provider.x25519.generateKeyPair();
 * console.log(pair.publicKey.length); // 32
 * ```
 */
export interface KeyPair {
  /** The 32-byte private key (an Ed25519 seed or an X25519 scalar); keep secret, wipe when done. */
  readonly privateKey: Uint8Array;
  /** The 32-byte public key. */
  readonly publicKey: Uint8Array;
}

/**
 * An ML-KEM key pair: `publicKey` is the encapsulation key, `secretKey` the decapsulation key.
 *
 * @example
 * ```ts
 * const { publicKey, secretKey } = await provider.mlkem768.generateKeyPair();
 * ```
 */
export interface KemKeyPair {
  /** The encapsulation key (1184 bytes for ML-KEM-768). */
  readonly publicKey: Uint8Array;
  /** The decapsulation key (2400 bytes for ML-KEM-768); keep secret. */
  readonly secretKey: Uint8Array;
}

/**
 * The result of an ML-KEM encapsulation.
 *
 * @example
 * ```ts
 * const { publicKey } = await provider.mlkem768.generateKeyPair();
 * const { ciphertext, sharedSecret } = await provider.mlkem768.encapsulate(publicKey);
 * ```
 */
export interface KemEncapsulation {
  /** The ciphertext to send to the key's owner (1088 bytes for ML-KEM-768). */
  readonly ciphertext: Uint8Array;
  /** The 32-byte shared secret; the owner recovers it with `decapsulate`. */
  readonly sharedSecret: Uint8Array;
}

/**
 * An incremental SHA-256, for data that arrives in pieces (file streams). `update` may be called
 * any number of times before `digest`; after `digest` the object is finished and throws
 * `UsageError` on further use.
 *
 * @example
 * ```ts
 * const hash = provider.createSha256();
 * hash.update(utf8('hello ')).update(utf8('world'));
 * const digest = hash.digest(); // 32 bytes, as provider.sha256(utf8('hello world'))
 * ```
 */
export interface IncrementalHash {
  /**
   * Feeds the next piece of data; returns the same object for chaining.
   *
   * @example
   * ```ts
   * const hash = provider.createSha256().update(bytes);
   * ```
   */
  update(data: Uint8Array): IncrementalHash;
  /**
   * The 32-byte SHA-256 of everything fed so far; finishes the object.
   *
   * @example
   * ```ts
   * const digest = provider.createSha256().update(bytes).digest();
   * ```
   */
  digest(): Uint8Array;
}

/**
 * scrypt cost parameters (RFC 7914).
 *
 * @example
 * ```ts
 * const params: ScryptParams = { N: 2 ** 15, r: 8, p: 1, dkLen: 32 };
 * const key = await provider.scrypt(utf8('correct horse'), provider.randomBytes(16), params);
 * ```
 */
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
 *
 * @example
 * ```ts
 * const aead = provider.aes256gcm;
 * const key = provider.randomBytes(aead.keyLength);
 * const nonce = provider.randomBytes(aead.nonceLength);
 * const sealed = await aead.encrypt(key, nonce, utf8('hello'), utf8('header'));
 * const opened = await aead.decrypt(key, nonce, sealed, utf8('header'));
 * ```
 */
export interface Aead {
  /** Key length in bytes (32 for every AEAD Cloister uses). */
  readonly keyLength: number;
  /** Nonce length in bytes: 12, or 24 for XChaCha20-Poly1305. */
  readonly nonceLength: number;
  /** Tag length in bytes (16). */
  readonly tagLength: number;
  /**
   * Encrypts `plaintext`, authenticating `aad` (empty when absent); returns the ciphertext with
   * the tag appended. Never reuse a nonce with the same key.
   *
   * @example
   * ```ts
   * const nonce = provider.randomBytes(12); // never reuse one with the same key
   * const sealed = await provider.chacha20poly1305.encrypt(fileKey, nonce, utf8('hi'));
   * ```
   */
  encrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
  /**
   * Checks the tag over `ciphertext` and `aad`, then returns the plaintext; throws
   * `DecryptionFailed` for every failure (wrong key, nonce or aad, altered or short ciphertext).
   *
   * @example
   * ```ts
   * const nonce = ciphertext.subarray(0, 12); // sent in front of the sealed bytes
   * const plaintext = await provider.chacha20poly1305.decrypt(fileKey, nonce, ciphertext.subarray(12));
   * ```
   */
  decrypt(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad?: Uint8Array): Promise<Uint8Array>;
}

/**
 * AES-256-CBC with PKCS#7 padding. Unauthenticated: only ever used inside encrypt-then-MAC.
 *
 * @example
 * ```ts
 * const iv = provider.randomBytes(16);
 * const ct = await provider.aes256cbc.encrypt(fileKey, iv, utf8('hello')); // 16 bytes
 * const tag = await provider.hmacSha256(provider.randomBytes(32), [iv, ct]); // then MAC it
 * ```
 */
export interface CbcCipher {
  /**
   * Encrypts with a 32-byte key and a 16-byte IV; the result is padded to whole 16-byte blocks.
   *
   * @example
   * ```ts
   * const ct = await provider.aes256cbc.encrypt(fileKey, provider.randomBytes(16), bytes);
   * ```
   */
  encrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /**
   * Decrypts with a 32-byte key and a 16-byte IV and removes the padding. Throws
   * `DecryptionFailed` on bad length or bad padding; check a MAC first.
   *
   * @example
   * ```ts
   * const plaintext = await provider.aes256cbc.decrypt(fileKey, ciphertext.subarray(0, 16), ciphertext.subarray(16));
   * ```
   */
  decrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
}

/**
 * X25519 (RFC 7748).
 *
 * @example
 * ```ts
 * const ours = await provider.x25519.generateKeyPair();
 * const shared = await provider.x25519.sharedSecret(ours.privateKey, bob.publicKey); // 32 bytes
 * ```
 */
export interface X25519 {
  /**
   * A new key pair from the provider's random source.
   *
   * @example
   * ```ts
   * const ephemeral = await provider.x25519.generateKeyPair();
   * ```
   */
  generateKeyPair(): Promise<KeyPair>;
  /**
   * The public key of a 32-byte private key.
   *
   * @example
   * ```ts
   * const publicKey = await provider.x25519.publicKey(identity.dhKeyPair.privateKey); // = identity.dhKeyPair.publicKey
   * ```
   */
  publicKey(privateKey: Uint8Array): Promise<Uint8Array>;
  /**
   * The 32-byte shared secret. Throws `InvalidKeyError` when it is all zero (the peer key is of
   * low order), as RFC 7748 section 6.1 allows and Cloister requires.
   *
   * @example
   * ```ts
   * const shared = await provider.x25519.sharedSecret(alice.privateKey, bob.publicKey);
   * ```
   */
  sharedSecret(privateKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array>;
}

/**
 * Ed25519 (RFC 8032) with strict verification.
 *
 * @example
 * ```ts
 * const { privateKey, publicKey } = await provider.ed25519.generateKeyPair();
 * const signature = await provider.ed25519.sign(privateKey, utf8('statement'));
 * await provider.ed25519.verify(publicKey, utf8('statement'), signature); // true
 * ```
 */
export interface Ed25519 {
  /**
   * A new key pair (32-byte seed and 32-byte public key) from the provider's random source.
   *
   * @example
   * ```ts
   * const tenantKey = await provider.ed25519.generateKeyPair();
   * ```
   */
  generateKeyPair(): Promise<KeyPair>;
  /**
   * The public key of a 32-byte private key (seed).
   *
   * @example
   * ```ts
   * const publicKey = await provider.ed25519.publicKey(identity.signingKeyPair.privateKey);
   * ```
   */
  publicKey(privateKey: Uint8Array): Promise<Uint8Array>;
  /**
   * The deterministic 64-byte signature of `message` by the 32-byte private key (seed).
   *
   * @example
   * ```ts
   * const signature = await provider.ed25519.sign(tenant.privateKey, bytes);
   * ```
   */
  sign(privateKey: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
  /**
   * Strict verification: rejects non-canonical encodings of R, A and S (S >= L) and public
   * keys of small order. Returns `false` for any invalid signature; never throws on bad
   * signature bytes of the right length.
   *
   * @example
   * ```ts
   * const valid = await provider.ed25519.verify(tenant.publicKey, bytes, certificate.signature);
   * ```
   */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/**
 * ML-KEM-768 (FIPS 203).
 *
 * @example
 * ```ts
 * const { publicKey, secretKey } = await provider.mlkem768.generateKeyPair();
 * const { ciphertext, sharedSecret } = await provider.mlkem768.encapsulate(publicKey);
 * const same = await provider.mlkem768.decapsulate(ciphertext, secretKey); // equals sharedSecret
 * ```
 */
export interface MlKem768 {
  /** Length of an encapsulation (public) key: 1184 bytes. */
  readonly publicKeyLength: 1184;
  /** Length of a decapsulation (secret) key: 2400 bytes. */
  readonly secretKeyLength: 2400;
  /** Length of a ciphertext: 1088 bytes. */
  readonly ciphertextLength: 1088;
  /**
   * A new key pair from the provider's random source.
   *
   * @example
   * ```ts
   * const { publicKey, secretKey } = await provider.mlkem768.generateKeyPair();
   * ```
   */
  generateKeyPair(): Promise<KemKeyPair>;
  /**
   * Deterministic key generation from a 64-byte seed (d || z).
   *
   * @example
   * ```ts
   * const pair = await provider.mlkem768.keyPairFromSeed(provider.randomBytes(64));
   * ```
   */
  keyPairFromSeed(seed: Uint8Array): Promise<KemKeyPair>;
  /**
   * A fresh 32-byte shared secret and its 1088-byte ciphertext to the 1184-byte `publicKey`.
   *
   * @example
   * ```ts
   * const { ciphertext, sharedSecret } = await provider.mlkem768.encapsulate(bundle.kemPreKey.publicKey);
   * ```
   */
  encapsulate(publicKey: Uint8Array): Promise<KemEncapsulation>;
  /**
   * The 32-byte shared secret of `ciphertext` under the 2400-byte `secretKey`. Implicit
   * rejection: a bad ciphertext yields a pseudorandom secret, never an error.
   *
   * @example
   * ```ts
   * const shared = await provider.mlkem768.decapsulate(initial.kemCiphertext, lastResort.keyPair.secretKey);
   * ```
   */
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
  /**
   * `noble`, `node` or `webcrypto`, followed by `+` and the random source's name when another
   * source than the CSPRNG is injected (such as `node+insecure-seeded`).
   */
  readonly name: string;
  /** The random source this provider draws from. */
  readonly random: RandomSource;
  /**
   * `length` fresh random bytes from {@link CryptoProvider.random} (synchronous).
   *
   * @example
   * ```ts
   * const key = provider.randomBytes(32);
   * ```
   */
  randomBytes(length: number): Uint8Array;
  /**
   * The 32-byte SHA-256 digest of `data`.
   *
   * @example
   * ```ts
   * const digest = await provider.sha256(utf8('abc'));
   * ```
   */
  sha256(data: Uint8Array): Promise<Uint8Array>;
  /**
   * The 64-byte SHA-512 digest of `data`.
   *
   * @example
   * ```ts
   * const digest = await provider.sha512(utf8('abc'));
   * ```
   */
  sha512(data: Uint8Array): Promise<Uint8Array>;
  /**
   * A new incremental SHA-256 (synchronous, so a stream can feed it chunk by chunk).
   *
   * @example
   * ```ts
   * const hash = provider.createSha256();
   * for (const piece of [bytes, ciphertext]) hash.update(piece);
   * const digest = hash.digest();
   * ```
   */
  createSha256(): IncrementalHash;
  /**
   * The 32-byte HMAC-SHA256 over the concatenation of `data` (given as one array or as parts).
   *
   * @example
   * ```ts
   * const tag = await provider.hmacSha256(fileKey, [utf8('cloister/example'), bytes]);
   * ```
   */
  hmacSha256(key: Uint8Array, data: Uint8Array | readonly Uint8Array[]): Promise<Uint8Array>;
  /**
   * HMAC-SHA512 (64 bytes) over the concatenation of `data` (given as one array or as parts).
   *
   * @example
   * ```ts
   * const tag = await provider.hmacSha512(fileKey, bytes);
   * ```
   */
  hmacSha512(key: Uint8Array, data: Uint8Array | readonly Uint8Array[]): Promise<Uint8Array>;
  /**
   * HKDF-SHA256 (RFC 5869): `length` (1..8160) bytes from `ikm`; an empty salt means HashLen
   * zero bytes.
   *
   * @example
   * ```ts
   * const key = await provider.hkdfSha256(fileKey, new Uint8Array(0), utf8('cloister/example/key'), 32);
   * ```
   */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;
  /**
   * HKDF-Extract with SHA-256 (RFC 5869 section 2.2): the 32-byte PRK; an empty salt means 32
   * zero bytes.
   *
   * @example
   * ```ts
   * const prk = await provider.hkdfExtractSha256(new Uint8Array(0), fileKey);
   * ```
   */
  hkdfExtractSha256(salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array>;
  /**
   * HKDF-Expand with SHA-256 (RFC 5869 section 2.3): `length` (1..8160) bytes from a PRK of at
   * least 32 bytes.
   *
   * @example
   * ```ts
   * const prk = await provider.hkdfExtractSha256(new Uint8Array(0), fileKey);
   * const okm = await provider.hkdfExpandSha256(prk, utf8('cloister/example/key'), 32);
   * ```
   */
  hkdfExpandSha256(prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;
  /**
   * scrypt (RFC 7914): `params.dkLen` bytes derived from `password` and `salt`.
   *
   * @example
   * ```ts
   * const key = await provider.scrypt(utf8('482916'), provider.randomBytes(32), { N: 2 ** 17, r: 8, p: 1, dkLen: 32 });
   * ```
   */
  scrypt(password: Uint8Array, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array>;
  /** X25519 key agreement. */
  readonly x25519: X25519;
  /** Ed25519 signatures with strict verification. */
  readonly ed25519: Ed25519;
  /** ML-KEM-768 key encapsulation. */
  readonly mlkem768: MlKem768;
  /** AES-256-GCM: 32-byte key, 12-byte nonce, 16-byte tag. */
  readonly aes256gcm: Aead;
  /** ChaCha20-Poly1305 (RFC 8439): 32-byte key, 12-byte nonce, 16-byte tag. */
  readonly chacha20poly1305: Aead;
  /** XChaCha20-Poly1305: 32-byte key, 24-byte nonce, 16-byte tag. */
  readonly xchacha20poly1305: Aead;
  /** AES-256-CBC with PKCS#7 padding (unauthenticated; static-v1 and PIN wrapping only). */
  readonly aes256cbc: CbcCipher;
  /**
   * A provider identical to this one but drawing randomness from `random` (its `name` gains
   * `+` and the source's name, such as `noble+insecure-seeded`, unless the source is `csprng`).
   *
   * @example
   * ```ts
   * import { INSECURE_seededRandomForTestsOnly } from '@cloister/crypto/testing';
   * const deterministic = provider.withRandom(INSECURE_seededRandomForTestsOnly(new Uint8Array(32))); // tests only
   * ```
   */
  withRandom(random: RandomSource): CryptoProvider;
}
