/**
 * What a caller holding raw key bytes must do to use `node:crypto` directly: import them as
 * KeyObjects in every iteration, as such a caller would. Import uses JWK, the fastest documented
 * path (on OpenSSL 3.0 a PKCS#8 DER import costs ~500 µs, a JWK import ~50 µs). A JWK private key
 * carries its public half `x`; a caller holding a key pair knows it, so it is derived once per key
 * outside the timed loop.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

// DER headers of PKCS#8 private keys for X25519 (OID 1.3.101.110) and
// Ed25519 (OID 1.3.101.112); the 32 raw key bytes follow.
const PKCS8_HEADER = {
  x25519: '302e020100300506032b656e04220420',
  ed25519: '302e020100300506032b657004220420',
};

/** A curve `node:crypto` imports from DER. */
export type Curve = keyof typeof PKCS8_HEADER;

const pkcs8 = {
  x25519: Buffer.from(PKCS8_HEADER.x25519, 'hex'),
  ed25519: Buffer.from(PKCS8_HEADER.ed25519, 'hex'),
};

const JWK_CURVE = { x25519: 'X25519', ed25519: 'Ed25519' } as const;
const knownPublic = new Map<string, string>();

function b64url(raw: Uint8Array): string {
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
}

/** A private KeyObject from 32 raw private key bytes. */
export function privateKeyObject(curve: Curve, raw: Uint8Array): KeyObject {
  const d = b64url(raw);
  let x = knownPublic.get(`${curve}:${d}`);
  if (x === undefined) {
    x = b64url(rawPublicKey(curve, raw));
    knownPublic.set(`${curve}:${d}`, x);
  }
  return createPrivateKey({ key: { kty: 'OKP', crv: JWK_CURVE[curve], d, x }, format: 'jwk' });
}

/** A public KeyObject from 32 raw public key bytes. */
export function publicKeyObject(curve: Curve, raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: JWK_CURVE[curve], x: b64url(raw) }, format: 'jwk' });
}

/** The raw 32-byte public key of a raw private key. */
export function rawPublicKey(curve: Curve, privateKey: Uint8Array): Uint8Array<ArrayBuffer> {
  const key = createPrivateKey({
    key: Buffer.concat([pkcs8[curve], privateKey]),
    format: 'der',
    type: 'pkcs8',
  });
  const der = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}
