/**
 * Raw primitives from WebCrypto (`globalThis.crypto.subtle`): SHA-2, HMAC, HKDF, AES-256-GCM and
 * AES-256-CBC everywhere it exists; X25519 and Ed25519 where the platform implements them
 * (detected once, lazily). Everything WebCrypto lacks (scrypt, ML-KEM-768, ChaCha20-Poly1305,
 * XChaCha20-Poly1305), and any primitive the platform turns out not to support, comes from
 * `@noble/*`. No Node.js imports: this file runs in browsers.
 */
import { fromHex, toHex } from '../bytes.js';
import { nobleRaw } from './noble.js';
import type { RawAead, RawPrimitives } from './raw.js';

// DER prefix of a PKCS#8 private key for X25519 (OID 1.3.101.110) and Ed25519 (OID 1.3.101.112),
// followed by the 32 raw key bytes. WebCrypto imports private keys of these curves only as PKCS#8
// or JWK.
const X25519_PKCS8 = fromHex('302e020100300506032b656e04220420');
const ED25519_PKCS8 = fromHex('302e020100300506032b657004220420');
// The X25519 base point (u = 9): X25519(k, 9) is the public key of k.
const X25519_BASE = new Uint8Array(32);
X25519_BASE[0] = 9;
// HMAC pads keys with zeros to the block size (64 bytes for SHA-256, 128 for SHA-512), so an empty
// key and 64 zero bytes are the same key; WebCrypto refuses zero-length HMAC keys, so the empty
// key is passed in this form.
const HMAC_EMPTY_KEY = new Uint8Array(64);

/** A view WebCrypto accepts (backed by an `ArrayBuffer`); copies only when it must. */
function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

function withPrefix(prefix: Uint8Array, raw: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(prefix.length + raw.length);
  out.set(prefix, 0);
  out.set(raw, prefix.length);
  return out;
}

function fromBase64Url(s: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const out = new Uint8Array(Math.floor((s.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const ch of s) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error('bad base64url');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** The platform's SubtleCrypto; only called after `hasSubtle()` or a probe said it exists. */
function s(): SubtleCrypto {
  return globalThis.crypto.subtle;
}

/** WebCrypto is missing outside secure contexts in browsers; then everything comes from noble. */
function hasSubtle(): boolean {
  return globalThis.crypto?.subtle !== undefined;
}

/** Runs `probe` once, on first use; a throw or `false` means "not supported here". */
function feature(probe: () => Promise<boolean>): () => Promise<boolean> {
  let result: Promise<boolean> | undefined;
  return () => {
    result ??= hasSubtle() ? probe().catch(() => false) : Promise.resolve(false);
    return result;
  };
}

async function importPkcs8(
  prefix: Uint8Array,
  raw: Uint8Array,
  name: string,
  usages: KeyUsage[],
  extractable = false,
) {
  const der = withPrefix(prefix, raw);
  try {
    return await s().importKey('pkcs8', der, { name }, extractable, usages);
  } finally {
    der.fill(0);
  }
}

async function x25519Derive(privateKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
  const priv = await importPkcs8(X25519_PKCS8, privateKey, 'X25519', ['deriveBits']);
  const pub = await s().importKey('raw', buf(publicKey), { name: 'X25519' }, true, []);
  return new Uint8Array(await s().deriveBits({ name: 'X25519', public: pub }, priv, 256));
}

async function ed25519Public(privateKey: Uint8Array): Promise<Uint8Array> {
  // WebCrypto hands out the public half of an Ed25519 private key only through its JWK (`x`).
  // The JWK also holds the seed (`d`) as a string, which JavaScript cannot wipe.
  const priv = await importPkcs8(ED25519_PKCS8, privateKey, 'Ed25519', ['sign'], true);
  const jwk = await s().exportKey('jwk', priv);
  if (typeof jwk.x !== 'string') throw new Error('Ed25519 JWK without a public key');
  return fromBase64Url(jwk.x);
}

const hasX25519 = feature(async () => {
  // RFC 7748 section 6.1: Alice's private key gives Alice's public key.
  const priv = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
  const out = await x25519Derive(priv, X25519_BASE);
  return toHex(out) === '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
});

const hasEd25519 = feature(async () => {
  // RFC 8032 section 7.1, test 1: the seed gives its public key, and a signature verifies.
  const seed = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
  const pub = await ed25519Public(seed);
  if (toHex(pub) !== 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a') return false;
  const priv = await importPkcs8(ED25519_PKCS8, seed, 'Ed25519', ['sign']);
  const message = new Uint8Array(0);
  const sig = await s().sign({ name: 'Ed25519' }, priv, message);
  const key = await s().importKey('raw', buf(pub), { name: 'Ed25519' }, true, ['verify']);
  return s().verify({ name: 'Ed25519' }, key, sig, message);
});

/**
 * Probe for the verification equation: a signature on the empty message whose R is [r]B plus a
 * point of order 8, with S = r + k * a. The cofactored equation accepts it; the cofactorless one,
 * which every Cloister provider uses, rejects it. Exported for the test that checks it.
 */
export const MIXED_ORDER_R_PROBE = {
  publicKey: '197f6b23e16c8532c6abc838facd5ea789be0c76b2920334039bfa8b3d368d61',
  signature:
    'd63c01223147541df4e170763e9e2788a8bf5971f52a93c5829dbe6f5ff6bba9' +
    '5b891abe1884ae7fa604dce01b888dee81941e538ef21f6387a64ae87c64e500',
} as const;

/** Platform verification is used only when it is cofactorless, like the other providers. */
const hasCofactorlessVerify = feature(async () => {
  if (!(await hasEd25519())) return false;
  const key = await s().importKey(
    'raw',
    buf(fromHex(MIXED_ORDER_R_PROBE.publicKey)),
    { name: 'Ed25519' },
    true,
    ['verify'],
  );
  const accepted = await s().verify(
    { name: 'Ed25519' },
    key,
    buf(fromHex(MIXED_ORDER_R_PROBE.signature)),
    new Uint8Array(0),
  );
  return !accepted;
});

function aesGcm(): RawAead {
  const key = (k: Uint8Array, usage: KeyUsage) => s().importKey('raw', buf(k), 'AES-GCM', false, [usage]);
  return {
    async encrypt(k, nonce, plaintext, aad) {
      if (!hasSubtle()) return nobleRaw.aes256gcm.encrypt(k, nonce, plaintext, aad);
      const params: AesGcmParams = {
        name: 'AES-GCM',
        iv: buf(nonce),
        additionalData: buf(aad),
        tagLength: 128,
      };
      return new Uint8Array(await s().encrypt(params, await key(k, 'encrypt'), buf(plaintext)));
    },
    async decrypt(k, nonce, ciphertext, aad) {
      if (!hasSubtle()) return nobleRaw.aes256gcm.decrypt(k, nonce, ciphertext, aad);
      const params: AesGcmParams = {
        name: 'AES-GCM',
        iv: buf(nonce),
        additionalData: buf(aad),
        tagLength: 128,
      };
      // WebCrypto checks the tag before it releases any plaintext.
      return new Uint8Array(await s().decrypt(params, await key(k, 'decrypt'), buf(ciphertext)));
    },
  };
}

async function hmacKey(key: Uint8Array, hash: 'SHA-256' | 'SHA-512'): Promise<CryptoKey> {
  const raw = key.length === 0 ? HMAC_EMPTY_KEY : buf(key);
  return s().importKey('raw', raw, { name: 'HMAC', hash }, false, ['sign']);
}

/** WebCrypto has no streaming interface: MAC the concatenation, then wipe it. */
async function webHmac(hash: 'SHA-256' | 'SHA-512', key: Uint8Array, parts: readonly Uint8Array[]) {
  let length = 0;
  for (const p of parts) length += p.length;
  const data = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    data.set(p, offset);
    offset += p.length;
  }
  try {
    return new Uint8Array(await s().sign('HMAC', await hmacKey(key, hash), data));
  } finally {
    data.fill(0);
  }
}

export const webcryptoRaw: RawPrimitives = {
  ...nobleRaw,
  async sha256(data) {
    if (!hasSubtle()) return nobleRaw.sha256(data);
    return new Uint8Array(await s().digest('SHA-256', buf(data)));
  },
  async sha512(data) {
    if (!hasSubtle()) return nobleRaw.sha512(data);
    return new Uint8Array(await s().digest('SHA-512', buf(data)));
  },
  async hmacSha256(key, parts) {
    if (!hasSubtle()) return nobleRaw.hmacSha256(key, parts);
    return webHmac('SHA-256', key, parts);
  },
  async hmacSha512(key, parts) {
    if (!hasSubtle()) return nobleRaw.hmacSha512(key, parts);
    return webHmac('SHA-512', key, parts);
  },
  async hkdfSha256(ikm, salt, info, length) {
    if (!hasSubtle()) return nobleRaw.hkdfSha256(ikm, salt, info, length);
    const key = await s().importKey('raw', buf(ikm), 'HKDF', false, ['deriveBits']);
    const params: HkdfParams = { name: 'HKDF', hash: 'SHA-256', salt: buf(salt), info: buf(info) };
    return new Uint8Array(await s().deriveBits(params, key, length * 8));
  },
  // WebCrypto has no separate HKDF-Extract/Expand: noble's serve every provider.
  hkdfExtractSha256: nobleRaw.hkdfExtractSha256,
  hkdfExpandSha256: nobleRaw.hkdfExpandSha256,
  async x25519PublicKey(privateKey) {
    if (!(await hasX25519())) return nobleRaw.x25519PublicKey(privateKey);
    return x25519Derive(privateKey, X25519_BASE);
  },
  async x25519(privateKey, publicKey) {
    if (!(await hasX25519())) return nobleRaw.x25519(privateKey, publicKey);
    try {
      return await x25519Derive(privateKey, publicKey);
    } catch {
      // Platforms differ on refusing unusual public keys (u >= p, low order). noble gives the
      // RFC 7748 answer, or throws for a low-order key, so every provider agrees.
      return nobleRaw.x25519(privateKey, publicKey);
    }
  },
  async ed25519PublicKey(privateKey) {
    if (!(await hasEd25519())) return nobleRaw.ed25519PublicKey(privateKey);
    return ed25519Public(privateKey);
  },
  async ed25519Sign(privateKey, message) {
    if (!(await hasEd25519())) return nobleRaw.ed25519Sign(privateKey, message);
    const key = await importPkcs8(ED25519_PKCS8, privateKey, 'Ed25519', ['sign']);
    return new Uint8Array(await s().sign({ name: 'Ed25519' }, key, buf(message)));
  },
  async ed25519Verify(publicKey, message, signature) {
    if (!(await hasCofactorlessVerify())) return nobleRaw.ed25519Verify(publicKey, message, signature);
    let key: CryptoKey;
    try {
      key = await s().importKey('raw', buf(publicKey), { name: 'Ed25519' }, true, ['verify']);
    } catch {
      // A platform may refuse a key noble decodes; let noble give the common answer.
      return nobleRaw.ed25519Verify(publicKey, message, signature);
    }
    return s().verify({ name: 'Ed25519' }, key, buf(signature), buf(message));
  },
  aes256gcm: aesGcm(),
  async aes256cbcEncrypt(key, iv, plaintext) {
    if (!hasSubtle()) return nobleRaw.aes256cbcEncrypt(key, iv, plaintext);
    const k = await s().importKey('raw', buf(key), 'AES-CBC', false, ['encrypt']);
    // WebCrypto's AES-CBC always applies PKCS#7 padding, as our interface requires.
    return new Uint8Array(await s().encrypt({ name: 'AES-CBC', iv: buf(iv) }, k, buf(plaintext)));
  },
  async aes256cbcDecrypt(key, iv, ciphertext) {
    if (!hasSubtle()) return nobleRaw.aes256cbcDecrypt(key, iv, ciphertext);
    const k = await s().importKey('raw', buf(key), 'AES-CBC', false, ['decrypt']);
    return new Uint8Array(await s().decrypt({ name: 'AES-CBC', iv: buf(iv) }, k, buf(ciphertext)));
  },
};
