/**
 * Raw primitives from `node:crypto` (OpenSSL) wherever Node offers them; `@noble/*` for the
 * rest (ML-KEM-768 and the HChaCha20 subkey step of XChaCha20-Poly1305).
 */

import * as nodeCrypto from 'node:crypto';
import {
  type CipherChaCha20Poly1305,
  type CipherGCM,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  type DecipherChaCha20Poly1305,
  type DecipherGCM,
  diffieHellman,
  hkdfSync,
  type KeyObject,
  scrypt as nodeScrypt,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';
import { equalBytes } from '../bytes.js';
import { PublicLru } from './lru.js';
import { nobleRaw } from './noble.js';
import type { RawAead, RawPrimitives } from './raw.js';
import { onWipe } from './wipe-hooks.js';

// DER prefixes of PKCS#8 private keys and SPKI public keys for X25519 (OID 1.3.101.110) and
// Ed25519 (OID 1.3.101.112), followed by the 32 raw key bytes.
const PKCS8: Record<OkpCurve, Buffer> = {
  X25519: Buffer.from('302e020100300506032b656e04220420', 'hex'),
  Ed25519: Buffer.from('302e020100300506032b657004220420', 'hex'),
};

type OkpCurve = 'X25519' | 'Ed25519';

function b64url(raw: Uint8Array): string {
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
}

/**
 * Key import is most of the cost of one X25519 or Ed25519 operation: on OpenSSL 3.0 a PKCS#8 DER
 * import takes ~500 µs, a JWK import ~50 µs (the operation itself ~45 µs). JWK requires an `x`
 * member in a private key, but Node builds the key from `d` alone and OpenSSL derives the public
 * half. Because that is not documented, a self-test on first use compares a JWK import carrying a
 * placeholder `x` with the DER import of the same key; if they ever differ, every import takes
 * the DER path. Correctness never depends on the shortcut, only speed.
 */
const PLACEHOLDER_X = b64url(new Uint8Array(32));
const jwkPrivateWorks: Partial<Record<OkpCurve, boolean>> = {};

function derPrivate(curve: OkpCurve, raw: Uint8Array): KeyObject {
  const der = Buffer.concat([PKCS8[curve], raw]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

function jwkPrivate(curve: OkpCurve, raw: Uint8Array): KeyObject {
  return createPrivateKey({
    key: { kty: 'OKP', crv: curve, d: b64url(raw), x: PLACEHOLDER_X },
    format: 'jwk',
  });
}

function selfTestJwk(curve: OkpCurve): boolean {
  const probe = new Uint8Array(32).map((_, i) => i + 1);
  try {
    const viaJwk = rawPublic(createPublicKey(jwkPrivate(curve, probe)));
    const viaDer = rawPublic(createPublicKey(derPrivate(curve, probe)));
    return Buffer.compare(viaJwk, viaDer) === 0;
  } catch {
    return false;
  }
}

function importPrivate(curve: OkpCurve, raw: Uint8Array): KeyObject {
  jwkPrivateWorks[curve] ??= selfTestJwk(curve);
  return jwkPrivateWorks[curve] ? jwkPrivate(curve, raw) : derPrivate(curve, raw);
}

/**
 * Importing a private key also derives its public key (a scalar multiplication), so a key used
 * several times (an ephemeral key in three handshake DHs, a ratchet key in keygen and DH, an
 * identity key signing) is imported once. The handle is tied to the caller's array object: it is
 * found only through that object, used only while the array still holds the same bytes (checked
 * in constant time against a snapshot), and dropped, with its snapshot wiped, when the array is
 * wiped with `wipe()` or garbage collected. No handle outlives the caller's own copy of the key.
 */
interface PrivateHandle {
  readonly curve: OkpCurve;
  readonly snapshot: Uint8Array;
  readonly key: KeyObject;
}
const privateHandles = new WeakMap<Uint8Array, PrivateHandle>();

onWipe((array) => {
  const handle = privateHandles.get(array);
  if (handle !== undefined) {
    handle.snapshot.fill(0);
    privateHandles.delete(array);
  }
});

function privateKey(curve: OkpCurve, raw: Uint8Array): KeyObject {
  const handle = privateHandles.get(raw);
  if (handle !== undefined && handle.curve === curve && equalBytes(handle.snapshot, raw)) return handle.key;
  handle?.snapshot.fill(0);
  const key = importPrivate(curve, raw);
  privateHandles.set(raw, { curve, snapshot: raw.slice(), key });
  return key;
}

/** Imported public keys, by curve and key: public data only, so safe to keep. */
const publicKeys = new PublicLru<KeyObject>(256);

function publicKey(curve: OkpCurve, raw: Uint8Array): KeyObject {
  const x = b64url(raw);
  return publicKeys.get(`${curve}:${x}`, () =>
    createPublicKey({ key: { kty: 'OKP', crv: curve, x }, format: 'jwk' }),
  );
}

function rawPublic(key: KeyObject): Uint8Array {
  const { x } = key.export({ format: 'jwk' });
  return new Uint8Array(Buffer.from(x ?? '', 'base64url'));
}

function toU8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

interface AeadCiphers {
  cipher(key: Uint8Array, nonce: Uint8Array): CipherGCM | CipherChaCha20Poly1305;
  decipher(key: Uint8Array, nonce: Uint8Array): DecipherGCM | DecipherChaCha20Poly1305;
}

const GCM: AeadCiphers = {
  cipher: (key, nonce) => createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 }),
  decipher: (key, nonce) => createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 }),
};

const CHACHA: AeadCiphers = {
  cipher: (key, nonce) => createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 }),
  decipher: (key, nonce) => createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 }),
};

function nodeAead(ciphers: AeadCiphers): RawAead {
  return {
    encrypt(key, nonce, plaintext, aad) {
      const c = ciphers.cipher(key, nonce);
      c.setAAD(aad, { plaintextLength: plaintext.length });
      const body = c.update(plaintext);
      const final = c.final();
      const tag = c.getAuthTag();
      const out = new Uint8Array(body.length + final.length + 16);
      out.set(body, 0);
      out.set(final, body.length);
      out.set(tag, body.length + final.length);
      return out;
    },
    decrypt(key, nonce, ciphertext, aad) {
      const split = ciphertext.length - 16;
      const d = ciphers.decipher(key, nonce);
      d.setAuthTag(ciphertext.subarray(split));
      d.setAAD(aad, { plaintextLength: split });
      // OpenSSL releases no plaintext to us before final() has checked the tag: we hold the
      // output of update() and discard it if final() throws.
      const body = d.update(ciphertext.subarray(0, split));
      try {
        const final = d.final();
        return final.length === 0 ? toU8(body) : toU8(Buffer.concat([body, final]));
      } catch (e) {
        body.fill(0);
        throw e;
      }
    },
  };
}

const chachaNode = nodeAead(CHACHA);
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

/** XChaCha20-Poly1305 = ChaCha20-Poly1305 under the HChaCha20 subkey (draft-irtf-cfrg-xchacha). */
function xchachaSubkey(key: Uint8Array, nonce: Uint8Array): { subkey: Uint8Array; nonce12: Uint8Array } {
  const k32 = new Uint32Array(8);
  const n32 = new Uint32Array(4);
  const dv = new DataView(key.buffer, key.byteOffset, 32);
  for (let i = 0; i < 8; i++) k32[i] = dv.getUint32(i * 4, true);
  const nv = new DataView(nonce.buffer, nonce.byteOffset, 16);
  for (let i = 0; i < 4; i++) n32[i] = nv.getUint32(i * 4, true);
  const out32 = new Uint32Array(8);
  hchacha(SIGMA, k32, n32, out32);
  const subkey = new Uint8Array(32);
  const sv = new DataView(subkey.buffer);
  for (let i = 0; i < 8; i++) sv.setUint32(i * 4, out32[i]!, true);
  out32.fill(0);
  k32.fill(0);
  const nonce12 = new Uint8Array(12);
  nonce12.set(nonce.subarray(16, 24), 4);
  return { subkey, nonce12 };
}

const xchachaNode: RawAead = {
  encrypt(key, nonce, plaintext, aad) {
    const { subkey, nonce12 } = xchachaSubkey(key, nonce);
    try {
      return chachaNode.encrypt(subkey, nonce12, plaintext, aad);
    } finally {
      subkey.fill(0);
    }
  },
  decrypt(key, nonce, ciphertext, aad) {
    const { subkey, nonce12 } = xchachaSubkey(key, nonce);
    try {
      return chachaNode.decrypt(subkey, nonce12, ciphertext, aad);
    } finally {
      subkey.fill(0);
    }
  },
};

function nodeHmac(hash: 'sha256' | 'sha512', key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
  const h = createHmac(hash, key);
  for (const p of parts) h.update(p);
  return toU8(h.digest());
}

/**
 * `crypto.hash` (Node >= 20.12) digests in one call without building a Hash object, about twice
 * as fast for the short inputs of the v2 ratchet; older versions use `createHash`.
 */
const oneShotHash = typeof nodeCrypto.hash === 'function' ? nodeCrypto.hash : undefined;

function digest(algorithm: 'sha256' | 'sha512', data: Uint8Array): Uint8Array {
  return toU8(
    oneShotHash === undefined
      ? createHash(algorithm).update(data).digest()
      : oneShotHash(algorithm, data, 'buffer'),
  );
}

export const nodeRaw: RawPrimitives = {
  ...nobleRaw,
  createSha256: () => {
    const h = createHash('sha256');
    return { update: (data) => void h.update(data), digest: () => toU8(h.digest()) };
  },
  sha256: (data) => digest('sha256', data),
  sha512: (data) => digest('sha512', data),
  hmacSha256: (key, parts) => nodeHmac('sha256', key, parts),
  hmacSha512: (key, parts) => nodeHmac('sha512', key, parts),
  hkdfSha256: (ikm, salt, info, length) => new Uint8Array(hkdfSync('sha256', ikm, salt, info, length)),
  // node:crypto has no separate HKDF-Extract/Expand: noble's (nobleRaw) serve every provider.
  hkdfExtractSha256: nobleRaw.hkdfExtractSha256,
  hkdfExpandSha256: nobleRaw.hkdfExpandSha256,
  scrypt: (password, salt, { N, r, p, dkLen }) =>
    new Promise((resolve, reject) => {
      nodeScrypt(password, salt, dkLen, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
        err ? reject(err) : resolve(toU8(key)),
      );
    }),
  x25519PublicKey: (priv) => rawPublic(createPublicKey(privateKey('X25519', priv))),
  x25519: (priv, pub) =>
    toU8(diffieHellman({ privateKey: privateKey('X25519', priv), publicKey: publicKey('X25519', pub) })),
  ed25519PublicKey: (priv) => rawPublic(createPublicKey(privateKey('Ed25519', priv))),
  ed25519Sign: (priv, message) => toU8(nodeSign(null, message, privateKey('Ed25519', priv))),
  ed25519Verify: (pub, message, signature) => nodeVerify(null, message, publicKey('Ed25519', pub), signature),
  aes256gcm: nodeAead(GCM),
  chacha20poly1305: chachaNode,
  xchacha20poly1305: xchachaNode,
  aes256cbcEncrypt: (key, iv, plaintext) => {
    const c = createCipheriv('aes-256-cbc', key, iv);
    return toU8(Buffer.concat([c.update(plaintext), c.final()]));
  },
  aes256cbcDecrypt: (key, iv, ciphertext) => {
    const d = createDecipheriv('aes-256-cbc', key, iv);
    return toU8(Buffer.concat([d.update(ciphertext), d.final()]));
  },
};
