/**
 * Administrator signing keys held by the browser (`spec/admin-sdk.md`, "Keys held by the
 * browser"): the Ed25519 private key lives in WebCrypto as a non-extractable `CryptoKey`, and the
 * SDK signs through it as an `Ed25519Signer` (`@cloister/crypto`). After import no byte of the
 * private key is in JavaScript memory: script running in the page can ask the key to sign while
 * the page is open, but cannot copy it out.
 *
 * Uses only `globalThis.crypto` (no Node.js import): this file runs in browsers. Node 20 and
 * current Chromium, Firefox and Safari implement Ed25519 in WebCrypto (`{ name: 'Ed25519' }`).
 *
 * @module
 */
import {
  type Ed25519Signer,
  fromHex,
  InvalidKeyError,
  isEd25519Signer,
  UnsupportedError,
  UsageError,
  ValidationError,
} from '@cloister/crypto';
import type { AdminSigningKey } from './organisation.js';

/**
 * A signer over a non-extractable WebCrypto Ed25519 private key.
 *
 * @example
 * ```ts
 * import { generateWebCryptoSigner, type WebCryptoSigner } from '@cloister/admin';
 * const signer: WebCryptoSigner = await generateWebCryptoSigner();
 * console.log(signer.cryptoKey.extractable); // false
 * ```
 */
export interface WebCryptoSigner extends Ed25519Signer {
  /**
   * The WebCrypto private key (algorithm `Ed25519`, usage `sign`, `extractable === false`); it
   * can be kept in IndexedDB (structured clone keeps it non-extractable).
   *
   * @example
   * ```ts
   * import { generateWebCryptoSigner } from '@cloister/admin';
   * const { cryptoKey } = await generateWebCryptoSigner();
   * console.log(cryptoKey.algorithm.name, cryptoKey.usages); // 'Ed25519' ['sign']
   * ```
   */
  readonly cryptoKey: CryptoKey;
}

// DER prefix of a PKCS#8 Ed25519 private key (RFC 8410, OID 1.3.101.112), followed by the 32-byte
// seed: the one form (beside JWK) in which WebCrypto imports an Ed25519 private key.
const ED25519_PKCS8_PREFIX = fromHex('302e020100300506032b657004220420');
const ED25519 = { name: 'Ed25519' } as const;

function defaultSubtle(subtle: SubtleCrypto | undefined): SubtleCrypto {
  const s = subtle ?? globalThis.crypto?.subtle;
  if (s === undefined) throw new UnsupportedError('this platform has no WebCrypto (crypto.subtle)');
  return s;
}

/** A view WebCrypto accepts (backed by an `ArrayBuffer`); copies only when it must. */
function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

function checkCryptoKey(cryptoKey: CryptoKey): void {
  const expected = 'a non-extractable WebCrypto Ed25519 private key with usage sign';
  if (
    typeof cryptoKey !== 'object' ||
    cryptoKey === null ||
    cryptoKey.type !== 'private' ||
    cryptoKey.algorithm?.name !== 'Ed25519' ||
    !Array.isArray(cryptoKey.usages) ||
    !cryptoKey.usages.includes('sign')
  ) {
    throw new ValidationError('cryptoKey', expected);
  }
  if (cryptoKey.extractable !== false) throw new ValidationError('cryptoKey.extractable', expected);
}

function makeSigner(cryptoKey: CryptoKey, publicKey: Uint8Array, subtle: SubtleCrypto): WebCryptoSigner {
  const key = publicKey.slice();
  return Object.freeze({
    cryptoKey,
    publicKey: key,
    async sign(message: Uint8Array): Promise<Uint8Array> {
      if (!(message instanceof Uint8Array)) throw new ValidationError('message', 'bytes');
      const signature = new Uint8Array(await subtle.sign(ED25519, cryptoKey, buf(message)));
      if (signature.length !== 64) {
        throw new InvalidKeyError('signature', 'WebCrypto did not return a 64-byte Ed25519 signature');
      }
      return signature;
    },
  });
}

/**
 * Wraps an existing WebCrypto Ed25519 private key (must be non-extractable, usage `sign`:
 * `ValidationError` otherwise); checks with one signature (over 32 random bytes, verified with
 * `publicKey`) that it matches `publicKey` (`InvalidKeyError` otherwise). `subtle` defaults to
 * `globalThis.crypto.subtle`.
 *
 * @example
 * ```ts
 * import { adminSigningKey, generateWebCryptoSigner, webCryptoSigner } from '@cloister/admin';
 * const { cryptoKey, publicKey } = await generateWebCryptoSigner(); // kept in IndexedDB, read back later
 * const held = await webCryptoSigner(cryptoKey, publicKey);
 * const key = await adminSigningKey(provider, held, certificate, rootPublicKey);
 * ```
 */
export async function webCryptoSigner(
  cryptoKey: CryptoKey,
  publicKey: Uint8Array,
  subtle?: SubtleCrypto,
): Promise<WebCryptoSigner> {
  const s = defaultSubtle(subtle);
  checkCryptoKey(cryptoKey);
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw new ValidationError('publicKey', '32 bytes (an Ed25519 public key)');
  }
  const signer = makeSigner(cryptoKey, publicKey, s);
  const challenge = globalThis.crypto.getRandomValues(new Uint8Array(32));
  const signature = await signer.sign(challenge);
  let verifyKey: CryptoKey;
  try {
    verifyKey = await s.importKey('raw', buf(signer.publicKey), ED25519, false, ['verify']);
  } catch {
    throw new InvalidKeyError('publicKey', 'not an Ed25519 public key');
  }
  if (!(await s.verify(ED25519, verifyKey, buf(signature), challenge))) {
    throw new InvalidKeyError('publicKey', 'not the public key of cryptoKey');
  }
  return signer;
}

/**
 * Generates a new non-extractable Ed25519 key pair in WebCrypto (for a key request in the
 * browser: send `publicKey` to an owner to certify, then `installAdminCertificate` with the
 * signer). `UnsupportedError` when the platform's WebCrypto has no Ed25519.
 *
 * @example
 * ```ts
 * import { generateWebCryptoSigner, installAdminCertificate } from '@cloister/admin';
 * const held = await generateWebCryptoSigner();
 * // … an owner certifies held.publicKey (certifyAdministrator) and sends the certificate back …
 * const key = await installAdminCertificate(provider, held, certificate, rootPublicKey);
 * ```
 */
export async function generateWebCryptoSigner(subtle?: SubtleCrypto): Promise<WebCryptoSigner> {
  const s = defaultSubtle(subtle);
  let pair: CryptoKeyPair;
  try {
    pair = (await s.generateKey(ED25519, false, ['sign', 'verify'])) as CryptoKeyPair;
  } catch {
    throw new UnsupportedError("this platform's WebCrypto cannot generate Ed25519 keys");
  }
  const publicKey = new Uint8Array(await s.exportKey('raw', pair.publicKey));
  checkCryptoKey(pair.privateKey);
  return makeSigner(pair.privateKey, publicKey, s);
}

/**
 * Moves a byte key into WebCrypto as non-extractable (PKCS#8 import of the seed), wipes the given
 * bytes (fills the caller's `key.privateKey` with zeros, and the PKCS#8 buffer), and returns the
 * same {@link AdminSigningKey} with `privateKey` the {@link WebCryptoSigner}. Refuses
 * (`UsageError`) a key that is already a signer. The imported key is checked against
 * `key.publicKey` with one signature before the bytes are wiped: on any failure
 * (`InvalidKeyError`, `UnsupportedError`) the caller's bytes are left as they were.
 *
 * @example
 * ```ts
 * import { importSigningKeyToWebCrypto, openSigningKey, signPolicyLayer } from '@cloister/admin';
 * const opened = await openSigningKey(provider, storeText, passphrase);
 * const key = await importSigningKeyToWebCrypto(opened); // opened.privateKey is now all zeros
 * await signPolicyLayer({ ...signer, key }, { layer: 'tenant' }, { 'files.send': { enabled: true, locked: false } });
 * ```
 */
export async function importSigningKeyToWebCrypto(
  key: AdminSigningKey,
  subtle?: SubtleCrypto,
): Promise<AdminSigningKey> {
  if (typeof key !== 'object' || key === null) throw new ValidationError('key', 'an AdminSigningKey');
  const seed = key.privateKey;
  if (isEd25519Signer(seed)) {
    throw new UsageError('the signing key is already held by a signer; there are no bytes to import');
  }
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new ValidationError('key.privateKey', 'a 32-byte Ed25519 private key');
  }
  const s = defaultSubtle(subtle);
  const der = new Uint8Array(ED25519_PKCS8_PREFIX.length + 32);
  der.set(ED25519_PKCS8_PREFIX, 0);
  der.set(seed, ED25519_PKCS8_PREFIX.length);
  let cryptoKey: CryptoKey;
  try {
    cryptoKey = await s.importKey('pkcs8', der, ED25519, false, ['sign']);
  } catch {
    throw new UnsupportedError("this platform's WebCrypto cannot import an Ed25519 private key");
  } finally {
    der.fill(0);
  }
  const signer = await webCryptoSigner(cryptoKey, key.publicKey, s);
  seed.fill(0);
  return { ...key, privateKey: signer };
}
