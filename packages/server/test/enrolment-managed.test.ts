/**
 * Managed enrolment tokens (spec/managed-config.md §4) at the server: single-use only, 8 hours by
 * default and 72 at most (refused otherwise, nothing written); a device enrolled with one is
 * recorded `enrolledVia: 'managed'` with the audit record `enrolment.managed` in the same
 * transaction, any other device `token`; a managed token is spent after one device and refused
 * once its 8 hours have passed.
 */
import {
  type CryptoProvider,
  generateDeviceIdentity,
  getProvider,
  toPublicIdentity,
  ValidationError,
} from '@cloister/crypto';
import { type TenantId, tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEnrolmentToken,
  DEFAULT_MANAGED_TOKEN_TTL_MS,
  MAX_MANAGED_TOKEN_TTL_MS,
  signEnrolmentProof,
} from '../src/enrolment.js';
import { createEnrolmentRoutes } from '../src/routes/enrolment.js';
import { createTenant } from '../src/tenants.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let clock = Date.UTC(2026, 0, 1);
let t: TestServer;
let provider: CryptoProvider;
const tenant: TenantId = tenantId('acme');
const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64url');

beforeAll(async () => {
  provider = await getProvider();
  t = await startTestServer({ now: () => clock, extraRoutes: [createEnrolmentRoutes()] });
  await createTenant(t.server.context, { id: tenant, name: 'ACME' });
}, 60_000);
afterAll(async () => t?.close());

async function enrol(token: string) {
  const identity = await generateDeviceIdentity(provider);
  const pub = toPublicIdentity(identity);
  const proof = await signEnrolmentProof(provider, identity.signingKeyPair.privateKey, token, pub);
  return t.request('POST', '/v1/enrol', {
    json: {
      token,
      device: {
        identity: {
          signingKey: b64(pub.signingKey),
          dhKey: b64(pub.dhKey),
          dhKeySignature: b64(pub.dhKeySignature),
        },
        registrationId: 4711,
        proof: b64(proof),
      },
    },
  });
}

describe('managed enrolment tokens', () => {
  it('are single-use, 8 hours by default and 72 at most', async () => {
    const ctx = t.server.context;
    const ann = userId('ann');
    await expect(createEnrolmentToken(ctx, { tenant, user: ann, managed: true, maxUses: 2 })).rejects.toThrow(
      ValidationError,
    );
    await expect(
      createEnrolmentToken(ctx, { tenant, user: ann, managed: true, ttlMs: MAX_MANAGED_TOKEN_TTL_MS + 1 }),
    ).rejects.toMatchObject({ field: 'ttlMs' });
    const { expiresAt } = await createEnrolmentToken(ctx, { tenant, user: ann, managed: true });
    expect(expiresAt).toBe(clock + DEFAULT_MANAGED_TOKEN_TTL_MS);
    expect(DEFAULT_MANAGED_TOKEN_TTL_MS).toBe(8 * 3_600_000);
    const longest = await createEnrolmentToken(ctx, {
      tenant,
      user: ann,
      managed: true,
      ttlMs: MAX_MANAGED_TOKEN_TTL_MS,
    });
    expect(longest.expiresAt).toBe(clock + 72 * 3_600_000);
  });

  it('record the device as managed, audited; a reused or expired one is refused', async () => {
    const ctx = t.server.context;
    const { token } = await createEnrolmentToken(ctx, { tenant, user: userId('ben'), managed: true });
    expect((await enrol(token)).status).toBe(201);
    const [device] = await ctx.stores.devices.list(tenant, userId('ben'));
    expect(device?.enrolledVia).toBe('managed');
    const audit = await ctx.stores.audit.list(tenant);
    expect(audit.at(-1)).toMatchObject({
      actor: 'enrolment',
      action: 'enrolment.managed',
      target: 'ben',
      details: { device: device?.id },
    });
    expect((await enrol(token)).status).toBe(401);

    const plain = await createEnrolmentToken(ctx, { tenant, user: userId('cat') });
    expect((await enrol(plain.token)).status).toBe(201);
    expect((await ctx.stores.devices.list(tenant, userId('cat')))[0]?.enrolledVia).toBe('token');

    const late = await createEnrolmentToken(ctx, { tenant, user: userId('dan'), managed: true });
    clock += DEFAULT_MANAGED_TOKEN_TTL_MS + 1;
    expect((await enrol(late.token)).status).toBe(401);
    expect(await ctx.stores.devices.list(tenant, userId('dan'))).toEqual([]);
  });
});
