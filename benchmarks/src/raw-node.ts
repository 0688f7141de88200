/**
 * What a caller holding raw key bytes must do to use `node:crypto` directly: wrap the bytes in
 * DER (PKCS#8 for private keys, SPKI for public keys) and import them as KeyObjects. The
 * `raw-node` baseline cases call these in every iteration, as such a caller would.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';

// DER headers of PKCS#8 private keys and SPKI public keys for X25519 (OID 1.3.101.110) and
// Ed25519 (OID 1.3.101.112); the 32 raw key bytes follow.
const PKCS8_HEADER = {
  x25519: '302e020100300506032b656e04220420',
  ed25519: '302e020100300506032b657004220420',
};
const SPKI_HEADER = { x25519: '302a300506032b656e032100', ed25519: '302a300506032b6570032100' };

/** A curve `node:crypto` imports from DER. */
export type Curve = keyof typeof PKCS8_HEADER;

const pkcs8 = {
  x25519: Buffer.from(PKCS8_HEADER.x25519, 'hex'),
  ed25519: Buffer.from(PKCS8_HEADER.ed25519, 'hex'),
};
const spki = {
  x25519: Buffer.from(SPKI_HEADER.x25519, 'hex'),
  ed25519: Buffer.from(SPKI_HEADER.ed25519, 'hex'),
};

/** A private KeyObject from 32 raw private key bytes. */
export function privateKeyObject(curve: Curve, raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([pkcs8[curve], raw]), format: 'der', type: 'pkcs8' });
}

/** A public KeyObject from 32 raw public key bytes. */
export function publicKeyObject(curve: Curve, raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([spki[curve], raw]), format: 'der', type: 'spki' });
}

/** The raw 32-byte public key of a raw private key. */
export function rawPublicKey(curve: Curve, privateKey: Uint8Array): Uint8Array<ArrayBuffer> {
  const der = createPublicKey(privateKeyObject(curve, privateKey)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}
