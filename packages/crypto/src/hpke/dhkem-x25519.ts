/**
 * DHKEM(X25519, HKDF-SHA256) (RFC 9180 sections 4.1 and 7.1): key derivation, Encap/Decap and
 * AuthEncap/AuthDecap. `enc` is the 32-byte ephemeral X25519 public key.
 */
import { checkBytes, concatBytes, wipe } from '../bytes.js';
import { DecryptionFailed, InvalidKeyError, ValidationError } from '../errors.js';
import type { CryptoProvider, KeyPair } from '../provider.js';
import { labeledExpand, labeledExtract } from './labeled.js';
import { KEM_SUITE_ID } from './suite.js';

const EMPTY = new Uint8Array(0);
/** Nsecret, Nenc, Npk and Nsk of DHKEM(X25519, HKDF-SHA256). */
export const X25519_KEY_LENGTH = 32;

/** The result of an encapsulation: the KEM shared secret and `enc` for the recipient. */
export interface KemEncap {
  readonly sharedSecret: Uint8Array;
  readonly enc: Uint8Array;
}

/**
 * DeriveKeyPair(ikm) for DHKEM(X25519) (RFC 9180 section 7.1.3): a deterministic X25519 key pair
 * from input keying material of at least 32 bytes.
 *
 * @example
 * ```ts
 * import { createNobleProvider, deriveHpkeKeyPair } from '@cloister/crypto';
 * const provider = createNobleProvider();
 * const { privateKey, publicKey } = await deriveHpkeKeyPair(provider, provider.randomBytes(32));
 * ```
 */
export async function deriveHpkeKeyPair(provider: CryptoProvider, ikm: Uint8Array): Promise<KeyPair> {
  checkBytes(ikm, 'ikm');
  if (ikm.length < X25519_KEY_LENGTH) throw new ValidationError('ikm', 'at least 32 bytes');
  const prk = await labeledExtract(provider, KEM_SUITE_ID, EMPTY, 'dkp_prk', ikm);
  try {
    const privateKey = await labeledExpand(provider, KEM_SUITE_ID, prk, 'sk', EMPTY, X25519_KEY_LENGTH);
    return { privateKey, publicKey: await provider.x25519.publicKey(privateKey) };
  } finally {
    wipe(prk);
  }
}

/**
 * GenerateKeyPair() for DHKEM(X25519): a new X25519 key pair from `provider.random`.
 *
 * @example
 * ```ts
 * import { createNobleProvider, generateHpkeKeyPair } from '@cloister/crypto';
 * const recipient = await generateHpkeKeyPair(createNobleProvider());
 * ```
 */
export function generateHpkeKeyPair(provider: CryptoProvider): Promise<KeyPair> {
  return provider.x25519.generateKeyPair();
}

/** ExtractAndExpand(dh, kem_context): the 32-byte KEM shared secret. */
async function extractAndExpand(
  provider: CryptoProvider,
  dh: Uint8Array,
  kemContext: Uint8Array,
): Promise<Uint8Array> {
  const prk = await labeledExtract(provider, KEM_SUITE_ID, EMPTY, 'eae_prk', dh);
  try {
    return await labeledExpand(provider, KEM_SUITE_ID, prk, 'shared_secret', kemContext, X25519_KEY_LENGTH);
  } finally {
    wipe(prk);
  }
}

/** DH on the sender side: a low-order recipient or sender key is the caller's key error. */
async function senderDh(
  provider: CryptoProvider,
  privateKey: Uint8Array,
  publicKey: Uint8Array,
  field: string,
): Promise<Uint8Array> {
  try {
    return await provider.x25519.sharedSecret(privateKey, publicKey);
  } catch (e) {
    if (e instanceof InvalidKeyError) throw new InvalidKeyError(field, 'low-order X25519 point');
    throw e;
  }
}

/** DH on the recipient side: every failure (a low-order `enc` or sender key) is DecryptionFailed. */
async function recipientDh(
  provider: CryptoProvider,
  privateKey: Uint8Array,
  publicKey: Uint8Array,
): Promise<Uint8Array> {
  try {
    return await provider.x25519.sharedSecret(privateKey, publicKey);
  } catch (e) {
    if (e instanceof InvalidKeyError) throw new DecryptionFailed();
    throw e;
  }
}

/**
 * Encap (mode base) or AuthEncap (mode auth, when `sender` is given) with the ephemeral key pair
 * `ephemeral`. Arguments are checked by the caller.
 */
export async function encap(
  provider: CryptoProvider,
  recipientPublicKey: Uint8Array,
  ephemeral: KeyPair,
  sender?: KeyPair,
): Promise<KemEncap> {
  const enc = ephemeral.publicKey.slice();
  const dhE = await senderDh(provider, ephemeral.privateKey, recipientPublicKey, 'recipientPublicKey');
  let dh = dhE;
  let kemContext = concatBytes(enc, recipientPublicKey);
  if (sender !== undefined) {
    let dhS: Uint8Array;
    try {
      dhS = await senderDh(provider, sender.privateKey, recipientPublicKey, 'recipientPublicKey');
    } catch (e) {
      wipe(dhE);
      throw e;
    }
    dh = concatBytes(dhE, dhS);
    wipe(dhE, dhS);
    kemContext = concatBytes(kemContext, sender.publicKey);
  }
  try {
    return { sharedSecret: await extractAndExpand(provider, dh, kemContext), enc };
  } finally {
    wipe(dh);
  }
}

/**
 * Decap (mode base) or AuthDecap (mode auth, when `senderPublicKey` is given). A low-order `enc`
 * or sender key is `DecryptionFailed`.
 */
export async function decap(
  provider: CryptoProvider,
  enc: Uint8Array,
  recipientPrivateKey: Uint8Array,
  senderPublicKey?: Uint8Array,
): Promise<Uint8Array> {
  const recipientPublicKey = await provider.x25519.publicKey(recipientPrivateKey);
  const dhE = await recipientDh(provider, recipientPrivateKey, enc);
  let dh = dhE;
  let kemContext = concatBytes(enc, recipientPublicKey);
  if (senderPublicKey !== undefined) {
    let dhS: Uint8Array;
    try {
      dhS = await recipientDh(provider, recipientPrivateKey, senderPublicKey);
    } catch (e) {
      wipe(dhE);
      throw e;
    }
    dh = concatBytes(dhE, dhS);
    wipe(dhE, dhS);
    kemContext = concatBytes(kemContext, senderPublicKey);
  }
  try {
    return await extractAndExpand(provider, dh, kemContext);
  } finally {
    wipe(dh);
  }
}
