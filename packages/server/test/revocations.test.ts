/**
 * The signed revocation list and reach statement of `GET /v1/policy` (spec/revocations.md; issue
 * 13, attack 4, the recipient's half): built from the stores, signed with the tenant key, a
 * version that grows with every change and only then, entries that keep the time they first
 * appeared, deleted users kept until their certificates cannot be valid any more, and the pools
 * that may reach the caller under the tenant's rules. With `DATABASE_URL` set the server runs on
 * PostgreSQL (a schema unique to this file, dropped afterwards), else on PGlite.
 */
import { randomBytes } from 'node:crypto';
import { deviceId } from '@cloister/crypto';
import {
  decodeReachStatement,
  decodeRevocationList,
  type PoolId,
  poolId,
  type SignedRevocationList,
  type TenantId,
  tenantId,
  userId,
  verifyReachStatement,
  verifyRevocationList,
} from '@cloister/protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CERTIFICATE_TTL_MS } from '../src/certificates.js';
import { currentRevocationList } from '../src/revocations.js';
import { policyRoutes } from '../src/routes/policy.js';
import { createTenant } from '../src/tenants.js';
import { setUpDevice } from './helpers/device-client.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const DATABASE_URL = process.env.DATABASE_URL || undefined;
const schema = `t_revocations_${randomBytes(8).toString('hex')}`;
const revo: TenantId = tenantId('revo');
const ward = poolId('ward');
const lab = poolId('lab');
const shop = poolId('shop');

let t: TestServer;
let clock = 1_800_000_000_000;
let tenantPublicKey: Uint8Array;

beforeAll(async () => {
  t = await startTestServer({
    extraRoutes: [policyRoutes],
    now: () => clock,
    ...(DATABASE_URL === undefined ? {} : { database: DATABASE_URL, databaseSchema: schema }),
  });
  const ctx = t.server.context;
  tenantPublicKey = (await createTenant(ctx, { id: revo, name: 'Revo' })).signingPublicKey;
  await ctx.stores.pools.put(revo, ward, { name: 'Ward' });
  await ctx.stores.pools.put(revo, lab, { name: 'Lab', mayContact: [ward] });
  await ctx.stores.pools.put(revo, shop, { name: 'Shop' });
}, 60_000);

afterAll(async () => {
  await t?.close();
  if (DATABASE_URL === undefined) return;
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});

async function member(name: string, pools: PoolId[] = []) {
  await t.server.context.stores.users.create(revo, userId(name), { displayName: name, pools });
  return setUpDevice(t.server.context, revo, name, 1);
}

async function policyOf(credential: Uint8Array) {
  const res = await t.request('GET', '/v1/policy', { credential });
  expect(res.status).toBe(200);
  return res.json as { revocations: string; reach: string };
}

async function listOf(credential: Uint8Array): Promise<SignedRevocationList> {
  const list = decodeRevocationList(Buffer.from((await policyOf(credential)).revocations, 'base64url'));
  await verifyRevocationList(t.server.context.provider, list, { tenant: revo, tenantPublicKey });
  return list;
}

const shown = (l: SignedRevocationList) => l.entries.map((e) => [e.userId, e.deviceId ?? '*', e.revokedAtMs]);

describe('the signed revocation list of GET /v1/policy', () => {
  it('grows its version with every change of blocks, only then, and keeps each entry’s time', async () => {
    const ctx = t.server.context;
    const ann = await member('ann');
    await member('bob');
    await member('cid');
    await setUpDevice(ctx, revo, 'cid', 2);

    const first = await listOf(ann.credential);
    expect(first.entries).toEqual([]);
    expect((await listOf(ann.credential)).bytes).toEqual(first.bytes); // unchanged: the same bytes

    clock += 1000;
    const t1 = clock;
    await ctx.stores.users.update(revo, userId('bob'), { blocked: true });
    const second = await listOf(ann.credential);
    expect(second.version).toBe(first.version + 1);
    expect(shown(second)).toEqual([['bob', '*', t1]]);

    clock += 1000;
    const t2 = clock;
    expect(t2).toBeGreaterThan(t1);
    await ctx.stores.devices.update(revo, userId('cid'), deviceId(2), { blocked: true });
    const third = await listOf(ann.credential);
    expect(third.version).toBe(second.version + 1);
    expect(shown(third)).toEqual([
      ['bob', '*', t1],
      ['cid', 2, t2],
    ]);

    // A device entry of a user blocked as a whole is left out; the user's own entry stands for it.
    clock += 1000;
    await ctx.stores.users.update(revo, userId('cid'), { blocked: true });
    expect(shown(await listOf(ann.credential))).toEqual([
      ['bob', '*', t1],
      ['cid', '*', clock],
    ]);
    await ctx.stores.users.update(revo, userId('cid'), { blocked: false });

    clock += 1000;
    await ctx.stores.users.update(revo, userId('bob'), { blocked: false });
    const fifth = await listOf(ann.credential);
    // The blocked device comes back on its own; its time is that of the list that shows it again
    // (the entry folded into the user's was not kept).
    expect(shown(fifth)).toEqual([['cid', 2, clock]]);
    expect(fifth.version).toBeGreaterThan(third.version);
  });

  it('keeps a deleted blocked user until no certificate from before the block can be valid', async () => {
    const ctx = t.server.context;
    const dee = await member('dee');
    await member('eve');
    clock += 1000;
    const at = clock;
    await ctx.stores.users.update(revo, userId('eve'), { blocked: true });
    expect(shown(await listOf(dee.credential))).toContainEqual(['eve', '*', at]);
    await ctx.stores.users.delete(revo, userId('eve'));
    clock += MAX_CERTIFICATE_TTL_MS;
    expect(shown(await listOf(dee.credential))).toContainEqual(['eve', '*', at]);
    clock += 1;
    expect(shown(await listOf(dee.credential)).map((e) => e[0])).not.toContain('eve');
  });

  it('serialises concurrent rebuilds: versions are distinct and the newest lists the newest state', async () => {
    const ctx = t.server.context;
    await member('fay');
    const before = (await currentRevocationList(ctx, revo)) as Uint8Array;
    await ctx.stores.users.update(revo, userId('fay'), { blocked: true });
    const lists = (await Promise.all([1, 2, 3].map(() => currentRevocationList(ctx, revo)))).map((b) =>
      decodeRevocationList(b as Uint8Array),
    );
    // One rebuild signs the change; the others answer with its bytes.
    expect(new Set(lists.map((l) => l.version))).toEqual(new Set([decodeRevocationList(before).version + 1]));
    expect(lists.every((l) => l.entries.some((e) => e.userId === 'fay'))).toBe(true);
  });
});

describe('the signed reach statement of GET /v1/policy', () => {
  it('names the caller’s pools and the pools that may reach them, versioned by the epochs', async () => {
    const ctx = t.server.context;
    const wes = await member('wes', [ward]);
    const lea = await member('lea', [lab]);
    const ola = await member('ola');
    const reachOf = async (credential: Uint8Array, user: string) => {
      const reach = decodeReachStatement(Buffer.from((await policyOf(credential)).reach, 'base64url'));
      await verifyReachStatement(ctx.provider, reach, { tenant: revo, user, tenantPublicKey });
      return reach;
    };
    const w1 = await reachOf(wes.credential, 'wes');
    expect([w1.pools, w1.reachedBy]).toEqual([[ward], [lab, ward]]);
    const l1 = await reachOf(lea.credential, 'lea');
    expect([l1.pools, l1.reachedBy]).toEqual([[lab], [lab]]); // mayContact is one-way
    const o1 = await reachOf(ola.credential, 'ola');
    expect([o1.pools, o1.reachedBy]).toEqual([[], []]);

    // The rule changes: shop may reach ward too; the version grows.
    await ctx.stores.pools.put(revo, shop, { name: 'Shop', mayContact: [ward] });
    const w2 = await reachOf(wes.credential, 'wes');
    expect(w2.reachedBy).toEqual([lab, shop, ward]);
    expect(w2.version).toBeGreaterThan(w1.version);

    // The user moves: the version grows again, and is never below an earlier one.
    await ctx.stores.users.update(revo, userId('wes'), { pools: [shop] });
    const w3 = await reachOf(wes.credential, 'wes');
    expect([w3.pools, w3.reachedBy]).toEqual([[shop], [shop]]);
    expect(w3.version).toBeGreaterThan(w2.version);
  });
});
