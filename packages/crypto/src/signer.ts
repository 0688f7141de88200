/**
 * Ed25519 signing keys that never hand out their private key: a WebCrypto `CryptoKey` created
 * non-extractable, a hardware module, a remote signing service. Whatever signs with an
 * administrator's key accepts either the 32-byte seed or such a signer
 * ({@link ed25519SignWith}).
 *
 * @module
 */
import { InvalidKeyError, ValidationError } from './errors.js';
import type { CryptoProvider } from './provider.js';

/**
 * An Ed25519 key that signs without handing out its private key (a WebCrypto key, an HSM…).
 * `sign` must return a pure Ed25519 (RFC 8032) signature: the same 64 bytes the provider's
 * `ed25519.sign` makes with the seed, so everything it signs verifies exactly as before.
 *
 * @example
 * ```ts
 * import type { Ed25519Signer } from '@cloister/crypto';
 * const pair = await provider.ed25519.generateKeyPair();
 * const signer: Ed25519Signer = {
 *   publicKey: pair.publicKey,
 *   sign: (message) => provider.ed25519.sign(pair.privateKey, message),
 * };
 * ```
 */
export interface Ed25519Signer {
  /**
   * The Ed25519 public key (32 bytes).
   *
   * @example
   * ```ts
   * import type { Ed25519Signer } from '@cloister/crypto';
   * const pair = await provider.ed25519.generateKeyPair();
   * const signer: Ed25519Signer = { publicKey: pair.publicKey, sign: (m) => provider.ed25519.sign(pair.privateKey, m) };
   * console.log(signer.publicKey.length); // 32
   * ```
   */
  readonly publicKey: Uint8Array;
  /**
   * A pure Ed25519 (RFC 8032) signature of `message` (64 bytes).
   *
   * @example
   * ```ts
   * import type { Ed25519Signer } from '@cloister/crypto';
   * const pair = await provider.ed25519.generateKeyPair();
   * const signer: Ed25519Signer = { publicKey: pair.publicKey, sign: (m) => provider.ed25519.sign(pair.privateKey, m) };
   * const signature = await signer.sign(bytes);
   * await provider.ed25519.verify(signer.publicKey, bytes, signature); // true
   * ```
   */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/**
 * Whether `value` is an {@link Ed25519Signer}: an object (not bytes) with a 32-byte `publicKey`
 * and a `sign` function.
 *
 * @example
 * ```ts
 * import { isEd25519Signer } from '@cloister/crypto';
 * const { privateKey, publicKey } = identity.signingKeyPair;
 * isEd25519Signer(privateKey); // false: the key's bytes
 * isEd25519Signer({ publicKey, sign: (m: Uint8Array) => provider.ed25519.sign(privateKey, m) }); // true
 * ```
 */
export function isEd25519Signer(value: unknown): value is Ed25519Signer {
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return false;
  const candidate = value as { publicKey?: unknown; sign?: unknown };
  return (
    candidate.publicKey instanceof Uint8Array &&
    candidate.publicKey.length === 32 &&
    typeof candidate.sign === 'function'
  );
}

/**
 * Signs `message` with `key`: a 32-byte Ed25519 seed (through `provider.ed25519.sign`) or an
 * {@link Ed25519Signer} (its `sign`). Anything else is a `ValidationError` (field `key`); a
 * result that is not 64 bytes is an `InvalidKeyError` (field `signature`). Whether the signature
 * verifies is the caller's check (a signer is not trusted to sign with the key it names).
 *
 * @example
 * ```ts
 * import { ed25519SignWith, utf8 } from '@cloister/crypto';
 * const pair = await provider.ed25519.generateKeyPair();
 * const a = await ed25519SignWith(provider, pair.privateKey, utf8('statement'));
 * const b = await ed25519SignWith(
 *   provider,
 *   { publicKey: pair.publicKey, sign: (m) => provider.ed25519.sign(pair.privateKey, m) },
 *   utf8('statement'),
 * ); // the same 64 bytes as `a`
 * ```
 */
export async function ed25519SignWith(
  provider: CryptoProvider,
  key: Uint8Array | Ed25519Signer,
  message: Uint8Array,
): Promise<Uint8Array> {
  let signature: unknown;
  if (key instanceof Uint8Array) {
    if (key.length !== 32)
      throw new ValidationError('key', 'a 32-byte Ed25519 private key or an Ed25519Signer');
    signature = await provider.ed25519.sign(key, message);
  } else if (isEd25519Signer(key)) {
    signature = await key.sign(message);
  } else {
    throw new ValidationError('key', 'a 32-byte Ed25519 private key or an Ed25519Signer');
  }
  if (!(signature instanceof Uint8Array) || signature.length !== 64) {
    throw new InvalidKeyError('signature', 'the signer did not return a 64-byte Ed25519 signature');
  }
  return signature;
}
