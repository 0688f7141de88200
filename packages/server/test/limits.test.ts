/**
 * Rate limits of R45 beyond the per-address one: per device credential on every authenticated
 * request, and per delivery token (mailbox) on sealed delivery; a refusal is a typed 429 with
 * `retry-after` and stores nothing.
 */
import { randomBytes } from 'node:crypto';
import { issueSenderCertificate, type SenderCertificate, sealEnvelope, utf8 } from '@cloister/crypto';
import { encodeSealedDelivery, tenantId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryTokenFor } from '../src/delivery-access.js';
import { setUpDevice, type TestDevice } from './helpers/device-client.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const acme = tenantId('acme');
let t: TestServer;
let certificate: SenderCertificate;
let alice: TestDevice;
let bob: TestDevice;
let carol: TestDevice;

beforeAll(async () => {
  t = await startTestServer({ limits: { deviceRequestsPerMinute: 5, deliveriesPerMailboxPerMinute: 3 } });
  const ctx = t.server.context;
  const tenantKey = await ctx.provider.ed25519.generateKeyPair();
  await ctx.stores.tenants.create(acme, { name: 'ACME', signingKey: tenantKey.publicKey });
  alice = await setUpDevice(ctx, acme, 'alice', 1);
  bob = await setUpDevice(ctx, acme, 'bob', 1);
  carol = await setUpDevice(ctx, acme, 'carol', 1);
  certificate = await issueSenderCertificate(ctx.provider, tenantKey.privateKey, {
    userId: 'alice',
    deviceId: 1,
    identitySigningKey: (await ctx.provider.ed25519.generateKeyPair()).publicKey,
    identityDhKey: alice.dh.publicKey,
    tenantId: 'acme',
    pools: [],
    expiresAt: Date.now() + 3_600_000,
  });
});

afterAll(async () => {
  await t?.close();
});

async function send(to: TestDevice) {
  const ctx = t.server.context;
  const envelope = await sealEnvelope(ctx.provider, {
    recipientPublicKey: to.dh.publicKey,
    mailbox: utf8(to.mailbox),
    deliveryToken: await deliveryTokenFor(ctx, to.mailbox),
    certificate,
    contentType: 1,
    body: utf8('hello'),
  });
  return t.request('POST', '/v1/messages', {
    body: encodeSealedDelivery({ messageId: new Uint8Array(randomBytes(16)), envelope }),
  });
}

describe('rate limits', () => {
  it('limits each device credential on every authenticated route, and only that device', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await t.request('GET', '/v1/keys/count', { credential: alice.credential })).status).toBe(200);
    }
    for (const path of ['/v1/keys/count', '/v1/messages']) {
      const refused = await t.request('GET', path, { credential: alice.credential });
      expect(refused.status).toBe(429);
      expect(refused.json).toEqual({ error: { code: 'ERR_RATE_LIMITED', message: 'too many requests' } });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect((await t.request('GET', '/v1/keys/count', { credential: bob.credential })).status).toBe(200);
  });

  it('limits deliveries per mailbox token, refusing the whole submission and storing nothing', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await send(carol);
      expect(res.status).toBe(200);
      expect(res.json.results[0].status).toBe('accepted');
    }
    const refused = await send(carol);
    expect(refused.status).toBe(429);
    expect(refused.json.error.code).toBe('ERR_RATE_LIMITED');
    expect(await t.server.context.stores.mailboxes.count(carol.mailbox)).toBe(3);
    // Another mailbox has its own budget.
    expect((await send(bob)).json.results[0].status).toBe('accepted');
  });
});
