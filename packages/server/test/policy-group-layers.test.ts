/**
 * Group policy layers in `GET /v1/policy` (spec/server-policy.md §1, spec/restrictions.md §1.2):
 * the server cannot know who is in which conversation group, so every device of a tenant is
 * served every group layer of its tenant, byte for byte as signed, newest first, and none of
 * another tenant; a group layer is not part of a device's own resolved features; a new group
 * layer beyond `MAX_GROUP_LAYERS` is refused with 409 so that no device ever misses one, while
 * a new version of a held group layer is still accepted. With `DATABASE_URL` the server runs on
 * PostgreSQL, else on PGlite.
 */
import { randomBytes } from 'node:crypto';
import {
  groupLayerTarget,
  MAX_GROUP_LAYERS,
  type OrganisationObjectBody,
  type TenantId,
  tenantId,
  verifyOrganisationObject,
} from '@cloister/protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminAuthRoutes } from '../src/admin/index.js';
import { publishOrganisationObject } from '../src/organisation/objects.js';
import { policyRoutes } from '../src/routes/policy.js';
import { createTenant } from '../src/tenants.js';
import { setUpDevice } from './helpers/device-client.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import {
  asAdmin,
  b64,
  fromB64,
  organisation,
  organisationRoutes,
  setRoot,
  sign,
  type TestOrganisation,
} from './organisation-helpers.js';

const DATABASE_URL = process.env.DATABASE_URL || undefined;
const schema = `t_group_layers_${randomBytes(8).toString('hex')}`;
const acme: TenantId = tenantId('acme');
const globex: TenantId = tenantId('globex');

let t: TestServer;
const clock = 1_800_000_000_000;
let org: TestOrganisation;
let other: TestOrganisation;
const provider = () => t.server.context.provider;

beforeAll(async () => {
  t = await startTestServer({
    now: () => clock,
    extraRoutes: [
      createAdminAuthRoutes({ loginsPerAccount: 1000, loginsPerAddress: 10_000 }),
      organisationRoutes,
      policyRoutes,
    ],
    ...(DATABASE_URL === undefined ? {} : { database: DATABASE_URL, databaseSchema: schema }),
  });
  const ctx = t.server.context;
  await createTenant(ctx, { id: acme, name: 'ACME' });
  await createTenant(ctx, { id: globex, name: 'Globex' });
  org = await organisation(t, acme, clock);
  other = await organisation(t, globex, clock);
  expect((await setRoot(t, org)).status).toBe(201);
  expect((await setRoot(t, other)).status).toBe(201);
}, 240_000);

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

const groupTarget = (n: number) => groupLayerTarget(new Uint8Array(32).fill(n));
const noFiles = { 'files.send': { enabled: false, locked: true } } as const;

function groupLayer(
  tenant: TenantId,
  sequence: number,
  target: string,
  document: Record<string, { enabled: boolean; locked: boolean }> = noFiles,
): OrganisationObjectBody {
  return {
    kind: 'policy-layer',
    tenant,
    issuedAtMs: clock,
    sequence,
    payload: { layer: 'group', target, document },
  };
}

async function publish(who: TestOrganisation, body: OrganisationObjectBody) {
  const bytes = await sign(provider(), who.admin, body);
  const res = await asAdmin(t, who.admin, 'POST', '/admin/v1/organisation/policy-layers', {
    object: b64(bytes),
  });
  return { res, bytes };
}

describe(`group policy layers on ${DATABASE_URL === undefined ? 'PGlite' : 'PostgreSQL'}`, () => {
  it('serves every group layer of the tenant to every device of the tenant, none of another tenant', {
    timeout: 120_000,
  }, async () => {
    const ctx = t.server.context;
    const alice = await setUpDevice(ctx, acme, 'alice', 1);
    const alice2 = await setUpDevice(ctx, acme, 'alice', 2);
    const bob = await setUpDevice(ctx, acme, 'bob', 1);
    const zed = await setUpDevice(ctx, globex, 'zed', 1);

    const first = await publish(org, groupLayer(acme, 1, groupTarget(1)));
    expect(first.res.status).toBe(201);
    const second = await publish(org, groupLayer(acme, 2, groupTarget(2)));
    expect(second.res.status).toBe(201);
    const foreign = await publish(other, groupLayer(globex, 1, groupTarget(9)));
    expect(foreign.res.status).toBe(201);

    const policyOf = async (credential: Uint8Array) => {
      const res = await t.request('GET', '/v1/policy', { credential });
      expect(res.status).toBe(200);
      return res.json;
    };
    for (const device of [alice, alice2, bob]) {
      const answer = await policyOf(device.credential);
      // Newest first, byte for byte as signed.
      expect(answer.organisation.groupLayers).toEqual([b64(second.bytes), b64(first.bytes)]);
      // A group layer is not part of the device's own policy.
      expect(answer.organisation.layers).toEqual([]);
      expect(answer.features['files.send']).toBeUndefined();
      for (const object of answer.organisation.groupLayers) {
        await verifyOrganisationObject(provider(), fromB64(object), {
          rootPublicKey: org.root.publicKey,
          tenant: acme,
          now: clock,
        });
      }
    }
    expect((await policyOf(zed.credential)).organisation.groupLayers).toEqual([b64(foreign.bytes)]);

    // A new version of a group layer replaces the old one and changes every device's revision.
    const before = await policyOf(bob.credential);
    const third = await publish(org, groupLayer(acme, 3, groupTarget(1), {}));
    expect(third.res.status).toBe(201);
    const after = await policyOf(bob.credential);
    expect(after.organisation.groupLayers).toEqual([b64(third.bytes), b64(second.bytes)]);
    expect(after.revision).not.toBe(before.revision);
    expect((await policyOf(zed.credential)).organisation.groupLayers).toEqual([b64(foreign.bytes)]);
  });

  it(`refuses a new group layer beyond ${MAX_GROUP_LAYERS} (409, nothing stored) and still accepts a new version of one`, async () => {
    const ctx = t.server.context;
    const held = (await ctx.stores.organisation.groupLayers(acme, 1000)).length;
    let sequence = await ctx.stores.organisation.sequence(acme, 'policy-layer');
    for (let n = held; n < MAX_GROUP_LAYERS; n++) {
      sequence += 1;
      const target = groupLayerTarget(Uint8Array.of(1, n >> 8, n & 0xff));
      const bytes = await sign(provider(), org.admin, groupLayer(acme, sequence, target));
      await publishOrganisationObject(ctx, acme, bytes, { actor: org.admin.id });
    }
    expect(await ctx.stores.organisation.groupLayers(acme, 1000)).toHaveLength(MAX_GROUP_LAYERS);

    const tooMany = await publish(org, groupLayer(acme, sequence + 1, groupTarget(200)));
    expect([tooMany.res.status, tooMany.res.json.error]).toEqual([
      409,
      { code: 'ERR_CONFLICT', message: 'conflict: group-layers' },
    ]);
    expect(await ctx.stores.organisation.groupLayers(acme, 1000)).toHaveLength(MAX_GROUP_LAYERS);
    expect(await ctx.stores.organisation.sequence(acme, 'policy-layer')).toBe(sequence);

    // A new version of a held group layer, and a layer of another kind, are accepted.
    const again = await publish(org, groupLayer(acme, sequence + 1, groupTarget(2), {}));
    expect(again.res.status).toBe(201);
    const pool = await publish(org, {
      kind: 'policy-layer',
      tenant: acme,
      issuedAtMs: clock,
      sequence: sequence + 2,
      payload: { layer: 'pool', target: 'ward', document: noFiles },
    });
    expect(pool.res.status).toBe(201);

    const bob = await setUpDevice(ctx, acme, 'bob', 3);
    const answer = (await t.request('GET', '/v1/policy', { credential: bob.credential })).json;
    expect(answer.organisation.groupLayers).toHaveLength(MAX_GROUP_LAYERS);
    expect(answer.organisation.groupLayers[0]).toBe(b64(again.bytes));
    // Another tenant is not limited by this one's layers.
    expect((await publish(other, groupLayer(globex, 2, groupTarget(200)))).res.status).toBe(201);
  }, 300_000);
});
