/** Raw primitives from the audited `@noble/*` libraries: the portable baseline. */
import { cbc, gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { expand, extract, hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { type KEMPrepared, ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { concatBytes } from '../bytes.js';
import { PublicLru } from './lru.js';
import type { RawAead, RawPrimitives } from './raw.js';

function nobleAead(
  make: (
    key: Uint8Array,
    nonce: Uint8Array,
    aad?: Uint8Array,
  ) => {
    encrypt(p: Uint8Array): Uint8Array;
    decrypt(c: Uint8Array): Uint8Array;
  },
): RawAead {
  return {
    encrypt: (key, nonce, plaintext, aad) => make(key, nonce, aad).encrypt(plaintext),
    decrypt: (key, nonce, ciphertext, aad) => make(key, nonce, aad).decrypt(ciphertext),
  };
}

/**
 * ML-KEM keys are used many times (a last-resort prekey for every handshake that finds no
 * one-time KEM prekey; a device's own KEM prekeys for every decapsulation). Expanding the public
 * matrix Â from an encapsulation key is most of the cost of encapsulation and of the
 * re-encryption inside decapsulation, so prepared keys are kept in a small LRU. They hold only
 * public data (the packed key, Â, t̂ and H(ek)); secret keys are decoded and wiped per call.
 */
const preparedKem = new PublicLru<KEMPrepared>(32);
const EK_OFFSET = 1152; // dk = dk_PKE (384·k bytes, k = 3) || ek || H(ek) || z
const EK_LENGTH = 1184;

/**
 * The same key usually arrives in the same array (a device's own decapsulation key from its
 * store), so a weak map by array object comes first; a hit still compares the bytes, because the
 * caller may have changed or wiped them. Otherwise the LRU, keyed by the bytes as a string of one
 * character per byte.
 */
const byArray = new WeakMap<Uint8Array, { readonly key: Uint8Array; readonly prepared: KEMPrepared }>();

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Prepared form of `publicKey`, which is `owner` or a part of it. Public data only. */
function prepared(publicKey: Uint8Array, owner: Uint8Array): KEMPrepared {
  const hit = byArray.get(owner);
  if (hit !== undefined && sameBytes(hit.key, publicKey)) return hit.prepared;
  const lruKey = String.fromCharCode.apply(null, publicKey as unknown as number[]);
  const value = preparedKem.get(lruKey, (): KEMPrepared => ml_kem768.prepare(publicKey));
  byArray.set(owner, { key: publicKey.slice(), prepared: value });
  return value;
}

export const nobleRaw: RawPrimitives = {
  createSha256: () => {
    const h = sha256.create();
    return { update: (data) => void h.update(data), digest: () => h.digest() };
  },
  sha256: (data) => sha256(data),
  sha512: (data) => sha512(data),
  hmacSha256: (key, parts) => {
    const h = hmac.create(sha256, key);
    for (const p of parts) h.update(p);
    return h.digest();
  },
  hmacSha512: (key, parts) => {
    const h = hmac.create(sha512, key);
    for (const p of parts) h.update(p);
    return h.digest();
  },
  hkdfSha256: (ikm, salt, info, length) => hkdf(sha256, ikm, salt, info, length),
  hkdfExtractSha256: (salt, ikm) => extract(sha256, ikm, salt),
  hkdfExpandSha256: (prk, info, length) => expand(sha256, prk, info, length),
  scrypt: (password, salt, { N, r, p, dkLen }) =>
    scryptAsync(password, salt, { N, r, p, dkLen, maxmem: 2 ** 32 }),
  x25519PublicKey: (privateKey) => x25519.getPublicKey(privateKey),
  x25519: (privateKey, publicKey) => x25519.getSharedSecret(privateKey, publicKey),
  ed25519PublicKey: (privateKey) => ed25519.getPublicKey(privateKey),
  ed25519Sign: (privateKey, message) => ed25519.sign(message, privateKey),
  ed25519Verify: (publicKey, message, signature) => {
    // Cofactorless check [S]B = R + [k]A, as OpenSSL and the other providers do. noble's own
    // `verify` checks the cofactored equation, which also accepts an R with a small-order
    // component, so the providers would disagree on such signatures.
    const { Point } = ed25519;
    const r = signature.subarray(0, 32);
    const R = Point.fromBytes(r);
    const A = Point.fromBytes(publicKey);
    const k = Point.Fn.create(bytesToNumberLE(sha512(concatBytes(r, publicKey, message))));
    return Point.BASE.multiplyUnsafe(bytesToNumberLE(signature.subarray(32))).equals(
      R.add(A.multiplyUnsafe(k)),
    );
  },
  mlkem768FromSeed: (seed) => ml_kem768.keygen(seed),
  mlkem768Encapsulate: (publicKey, message) => {
    const { cipherText, sharedSecret } = prepared(publicKey, publicKey).encapsulate(message);
    return { ciphertext: cipherText, sharedSecret };
  },
  mlkem768Decapsulate: (ciphertext, secretKey) =>
    prepared(secretKey.subarray(EK_OFFSET, EK_OFFSET + EK_LENGTH), secretKey).decapsulate(
      ciphertext,
      secretKey,
    ),
  aes256gcm: nobleAead((k, n, a) => gcm(k, n, a)),
  chacha20poly1305: nobleAead((k, n, a) => chacha20poly1305(k, n, a)),
  xchacha20poly1305: nobleAead((k, n, a) => xchacha20poly1305(k, n, a)),
  aes256cbcEncrypt: (key, iv, plaintext) => cbc(key, iv).encrypt(plaintext),
  aes256cbcDecrypt: (key, iv, ciphertext) => cbc(key, iv).decrypt(ciphertext),
};
