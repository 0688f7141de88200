/** Test helper: tenant, sender and recipient keys and a certificate for the envelope tests. */
import {
  issueSenderCertificate,
  type SenderCertificate,
  type SenderCertificateFields,
} from '../src/envelope/index.js';
import type { CryptoProvider, KeyPair } from '../src/index.js';

export const NOW = 1_800_000_000_000;

export interface EnvelopeWorld {
  readonly tenant: KeyPair;
  readonly senderSigning: KeyPair;
  readonly senderDh: KeyPair;
  readonly fields: SenderCertificateFields;
  readonly certificate: SenderCertificate;
  readonly bob: KeyPair;
  readonly carol: KeyPair;
  readonly bobMailbox: Uint8Array;
  readonly carolMailbox: Uint8Array;
}

export async function makeWorld(provider: CryptoProvider): Promise<EnvelopeWorld> {
  const tenant = await provider.ed25519.generateKeyPair();
  const senderSigning = await provider.ed25519.generateKeyPair();
  const senderDh = await provider.x25519.generateKeyPair();
  const fields: SenderCertificateFields = {
    userId: 'u-alice-7',
    deviceId: 3,
    identitySigningKey: senderSigning.publicKey,
    identityDhKey: senderDh.publicKey,
    tenantId: 'acme',
    pools: ['engineering', 'berlin'],
    expiresAt: NOW + 3_600_000,
  };
  const certificate = await issueSenderCertificate(provider, tenant.privateKey, fields);
  return {
    tenant,
    senderSigning,
    senderDh,
    fields,
    certificate,
    bob: await provider.x25519.generateKeyPair(),
    carol: await provider.x25519.generateKeyPair(),
    bobMailbox: new Uint8Array(16).fill(0xb0),
    carolMailbox: new Uint8Array(32).fill(0xc0),
  };
}

export { errorCode as codeOf } from './error-code.js';

export function flipBit(data: Uint8Array, bit: number): Uint8Array {
  const out = data.slice();
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
}
