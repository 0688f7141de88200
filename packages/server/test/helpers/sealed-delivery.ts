/**
 * Sealed deliveries for tests that post to a running server: one sender certificate (the server
 * never opens it) and a delivery to a test device with a token the server issues now.
 */
import { randomBytes } from 'node:crypto';
import {
  getProvider,
  issueSenderCertificate,
  type SenderCertificate,
  sealEnvelope,
  utf8,
} from '@cloister/crypto';
import { encodeSealedDelivery } from '@cloister/protocol';
import type { ServerContext } from '../../src/context.js';
import { deliveryTokenFor } from '../../src/delivery-access.js';
import type { TestDevice } from './device-client.js';
import type { TestResponse } from './server.js';

/** A sender certificate of tenant `acme` under a throwaway key. */
export async function testSenderCertificate(): Promise<SenderCertificate> {
  const provider = await getProvider();
  const key = await provider.ed25519.generateKeyPair();
  return issueSenderCertificate(provider, key.privateKey, {
    userId: 'sender',
    deviceId: 1,
    identitySigningKey: (await provider.ed25519.generateKeyPair()).publicKey,
    identityDhKey: (await provider.x25519.generateKeyPair()).publicKey,
    tenantId: 'acme',
    pools: [],
    expiresAt: Date.now() + 3_600_000,
  });
}

/** An envelope sealed to `to` with a delivery token `ctx` issues now. */
export async function sealTo(
  ctx: ServerContext,
  certificate: SenderCertificate,
  to: TestDevice,
  body: Uint8Array,
): Promise<Uint8Array> {
  return sealEnvelope(ctx.provider, {
    recipientPublicKey: to.dh.publicKey,
    mailbox: utf8(to.mailbox),
    deliveryToken: await deliveryTokenFor(ctx, to.mailbox),
    certificate,
    contentType: 1,
    body,
  });
}

/** Posts `envelope` as one sealed delivery under a fresh message id. */
export function postSealed(
  t: { request(method: string, path: string, options?: { body?: Uint8Array }): Promise<TestResponse> },
  envelope: Uint8Array,
): Promise<TestResponse> {
  return t.request('POST', '/v1/messages', {
    body: encodeSealedDelivery({ messageId: new Uint8Array(randomBytes(16)), envelope }),
  });
}
