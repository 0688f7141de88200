/**
 * `GET /v1/policy` (R27, R29; spec/server-policy.md): the effective features of the caller's user
 * across server → tenant → pools → user with locks and the most restrictive pool, its retention,
 * and a revision that changes whenever a contributing layer changes.
 */
import {
  type CryptoProvider,
  deviceId,
  generateDeviceIdentity,
  registrationId,
  toPublicIdentity,
} from '@cloister/crypto';
import { type PoolId, poolId, type TenantId, tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialHash } from '../src/auth.js';
import type { ServerContext } from '../src/context.js';
import { newMailboxId } from '../src/delivery-token.js';
import { POLICY_FEATURES, policyRoutes, resolveFeatures } from '../src/routes/policy.js';
import type { PolicyLayer } from '../src/store/index.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let t: TestServer;
let ctx: ServerContext;
let provider: CryptoProvider;
const acme: TenantId = tenantId('acme');
const ward = poolId('ward');
const lab = poolId('lab');
const DAY = 86_400_000;

async function addUser(user: string, pools: PoolId[] = []): Promise<Uint8Array> {
  await ctx.stores.users.create(acme, userId(user), { displayName: user, pools });
  const credential = await provider.randomBytes(32);
  await ctx.stores.devices.add(acme, userId(user), deviceId(1), {
    identity: toPublicIdentity(await generateDeviceIdentity(provider)),
    registrationId: registrationId(1),
    mailbox: await newMailboxId(provider),
    credentialHash: await credentialHash(ctx, credential),
  });
  return credential;
}

async function policy(credential: Uint8Array) {
  const res = await t.request('GET', '/v1/policy', { credential });
  expect(res.status).toBe(200);
  return res.json;
}

const f = (enabled: boolean, locked = false, config?: unknown) =>
  // biome-ignore lint/suspicious/noExplicitAny: test documents
  ({ enabled, locked, ...(config === undefined ? {} : { config }) }) as any;

beforeAll(async () => {
  t = await startTestServer({ extraRoutes: [policyRoutes] });
  ctx = t.server.context;
  provider = ctx.provider;
  await ctx.stores.tenants.create(acme, { name: 'ACME', signingKey: new Uint8Array(32).fill(7) });
  await ctx.stores.pools.put(acme, ward, { name: 'Ward' });
  await ctx.stores.pools.put(acme, lab, { name: 'Lab' });
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('resolveFeatures', () => {
  it('lets a more specific layer set a feature unless a less specific one locked it', () => {
    expect(resolveFeatures({ pools: [] })).toEqual({});
    expect(
      resolveFeatures({
        server: { 'files.send': f(true), 'clipboard.copy': f(false, true) },
        tenant: { 'files.send': f(false), 'clipboard.copy': f(true) },
        pools: [],
        user: { 'files.send': f(true, false, { maxBytes: 10 }) },
      }),
    ).toEqual({
      'clipboard.copy': { enabled: false },
      'files.send': { enabled: true, config: { maxBytes: 10 } },
    });
    expect(
      resolveFeatures({
        tenant: { 'files.send': f(false, true) },
        pools: [],
        user: { 'files.send': f(true) },
      }),
    ).toEqual({ 'files.send': { enabled: false } });
  });

  it('takes the most restrictive of several pools, and a pool lock binds the user', () => {
    const pools = [{ 'files.send': f(true) }, { 'files.send': f(false, false, { why: 'lab' }) }];
    expect(resolveFeatures({ pools })).toEqual({ 'files.send': { enabled: false, config: { why: 'lab' } } });
    expect(resolveFeatures({ pools: [...pools].reverse() })).toEqual(resolveFeatures({ pools }));
    expect(resolveFeatures({ pools: [{ x: f(true, true) }, { x: f(true) }], user: { x: f(false) } })).toEqual(
      { x: { enabled: true } },
    );
    expect(resolveFeatures({ pools: [{ x: f(true) }], user: { x: f(false) } })).toEqual({
      x: { enabled: false },
    });
  });
});

describe('GET /v1/policy', () => {
  it('answers the resolved features, retention and a revision that follows every layer', async () => {
    const nurse = await addUser('nurse', [ward, lab]);
    const empty = await policy(nurse);
    expect(empty.features).toEqual({});
    expect(empty.retention).toEqual({ messageLifetimeMs: null });
    expect(typeof empty.revision).toBe('string');
    expect((await policy(nurse)).revision).toBe(empty.revision);

    const revisions = new Set<string>([empty.revision]);
    const change = async (layer: PolicyLayer, doc: Record<string, unknown>) => {
      // biome-ignore lint/suspicious/noExplicitAny: test documents
      await ctx.stores.policies.set(layer, doc as any);
      const p = await policy(nurse);
      expect(revisions.has(p.revision), JSON.stringify(layer)).toBe(false);
      revisions.add(p.revision);
      return p;
    };

    await change({ kind: 'server' }, { [POLICY_FEATURES.clipboardCopy]: f(true) });
    await change({ kind: 'tenant', tenant: acme }, { [POLICY_FEATURES.filesSend]: f(true) });
    await change({ kind: 'pool', tenant: acme, pool: ward }, { [POLICY_FEATURES.filesSend]: f(true) });
    let p = await change(
      { kind: 'pool', tenant: acme, pool: lab },
      { [POLICY_FEATURES.filesSend]: f(false) },
    );
    expect(p.features).toEqual({ 'clipboard.copy': { enabled: true }, 'files.send': { enabled: false } });
    p = await change(
      { kind: 'user', tenant: acme, user: userId('nurse') },
      {
        [POLICY_FEATURES.filesSend]: f(true),
        retention: f(true, false, { rules: { 'message.device': { maxLifetimeMs: 30 * DAY } } }),
      },
    );
    expect(p.features['files.send']).toEqual({ enabled: true });
    expect(p.features.retention).toBeUndefined();
    expect(p.retention).toEqual({ messageLifetimeMs: 30 * DAY });
    p = await change(
      { kind: 'tenant', tenant: acme },
      {
        [POLICY_FEATURES.filesSend]: f(false, true),
        retention: f(true, true, { rules: { 'message.device': { maxLifetimeMs: 7 * DAY } } }),
      },
    );
    expect(p.features['files.send']).toEqual({ enabled: false });
    expect(p.retention).toEqual({ messageLifetimeMs: 7 * DAY });

    // Leaving a pool changes the revision too.
    await ctx.stores.users.update(acme, userId('nurse'), { pools: [ward] });
    expect(revisions.has((await policy(nurse)).revision)).toBe(false);
  });

  it('needs a device credential', async () => {
    expect((await t.request('GET', '/v1/policy')).status).toBe(401);
  });
});
