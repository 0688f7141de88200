/**
 * Pools (R22) and the allowlist (R26) through the admin API of a real server: pool membership
 * changes what a device may fetch at once; a pool with members is not deleted unless asked to
 * remove them; an add naming an unknown user changes nothing. The allowlist refuses invites of
 * users outside it, and the attack: an invite made before the list tightened, redeemed afterwards,
 * is refused with `ERR_NOT_ALLOWLISTED` and nothing is written but the audit record.
 */
import { randomBytes } from 'node:crypto';
import { generateDeviceIdentity, toPublicIdentity } from '@cloister/crypto';
import { poolId, tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnrolmentToken, signEnrolmentProof } from '../src/enrolment.js';
import {
  type AdminTestServer,
  createTenantAsOperator,
  login,
  startAdminServer,
} from './helpers/admin-api.js';
import { setUpDevice, type TestDevice } from './helpers/device-client.js';

const T0 = 1_770_000_000_000 - (1_770_000_000_000 % 30_000) + 5_000;
const acme = tenantId('acme');
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

let t: AdminTestServer;
let owner: { session: string };

beforeAll(async () => {
  t = await startAdminServer(T0, { postgresSchema: `pools_${randomBytes(4).toString('hex')}` });
  const created = await createTenantAsOperator(t, 'acme');
  owner = { session: await login(t, 'acme', created.owner.email, created.owner.secret) };
}, 60_000);
afterAll(async () => t?.close());

const as = (method: string, path: string, json?: unknown) =>
  t.as(owner, method, path, json === undefined ? {} : { json });

async function auditActions(after: number) {
  const records = await t.server.context.stores.audit.list(acme);
  return records.filter((r) => r.seq > after).map((r) => r.action);
}
const auditHead = async () => (await t.server.context.stores.audit.head(acme))?.seq ?? 0;

/** What the device may see of `user`'s devices: the HTTP status. */
async function lookUp(device: TestDevice, user: string): Promise<number> {
  return (await t.request('GET', `/v1/users/${user}/devices`, { credential: device.credential })).status;
}

describe('pools', () => {
  it('creates, reads with its member count, renames, pages members and deletes only when asked to empty it', async () => {
    const head = await auditHead();
    expect((await as('POST', '/admin/v1/pools', { id: 'ward-3', name: 'Ward 3' })).status).toBe(201);
    expect((await as('POST', '/admin/v1/pools', { id: 'ward-3', name: 'Again' })).json.error.code).toBe(
      'ERR_CONFLICT',
    );
    for (const u of ['ann', 'ben', 'cat'])
      await t.server.context.stores.users.create(acme, userId(u), { displayName: u });
    const added = await as('POST', '/admin/v1/pools/ward-3/members', { users: ['ann', 'ben', 'cat', 'ann'] });
    expect(added.json).toEqual({ pool: 'ward-3', changed: ['ann', 'ben', 'cat'] });
    expect((await as('GET', '/admin/v1/pools/ward-3')).json).toEqual({
      id: 'ward-3',
      name: 'Ward 3',
      mayContact: [],
      members: 3,
    });
    const first = await as('GET', '/admin/v1/pools/ward-3/members?limit=2');
    expect(first.json.items.map((u: { id: string }) => u.id)).toHaveLength(2);
    const second = await as('GET', `/admin/v1/pools/ward-3/members?limit=2&after=${first.json.next}`);
    expect([...first.json.items, ...second.json.items].map((u: { id: string }) => u.id).sort()).toEqual([
      'ann',
      'ben',
      'cat',
    ]);
    expect((await as('PATCH', '/admin/v1/pools/ward-3', { name: 'Ward 3 north' })).json.name).toBe(
      'Ward 3 north',
    );
    expect(
      (await as('POST', '/admin/v1/pools/ward-3/members/remove', { users: ['cat'] })).json.changed,
    ).toEqual(['cat']);

    const refused = await as('DELETE', '/admin/v1/pools/ward-3');
    expect([refused.status, refused.json.error.message]).toEqual([409, 'conflict: pool']);
    expect((await t.server.context.stores.pools.get(acme, poolId('ward-3')))?.name).toBe('Ward 3 north');
    expect((await as('DELETE', '/admin/v1/pools/ward-3?removeMembers=true')).status).toBe(204);
    expect(await t.server.context.stores.pools.get(acme, poolId('ward-3'))).toBeUndefined();
    expect((await t.server.context.stores.users.get(acme, userId('ann')))?.pools).toEqual([]);
    expect(await auditActions(head)).toEqual([
      'pool.create',
      'pool.members.add',
      'pool.rename',
      'pool.members.remove',
      'pool.delete',
    ]);
  });

  it('changes nothing when one named user is unknown or in too many pools; refuses an unknown pool', async () => {
    await as('POST', '/admin/v1/pools', { id: 'lab', name: 'Lab' });
    await t.server.context.stores.users.create(acme, userId('dan'), { displayName: 'dan' });
    const head = await auditHead();
    const res = await as('POST', '/admin/v1/pools/lab/members', { users: ['dan', 'nobody'] });
    expect([res.status, res.json.error.code]).toEqual([404, 'ERR_NOT_FOUND']);
    expect((await t.server.context.stores.users.get(acme, userId('dan')))?.pools).toEqual([]);
    expect((await as('POST', '/admin/v1/pools/nowhere/members', { users: ['dan'] })).status).toBe(404);
    // A user already in the most pools allowed.
    const many = Array.from({ length: 64 }, (_, i) => poolId(`p${String(i).padStart(2, '0')}`));
    for (const p of many) await t.server.context.stores.pools.put(acme, p, { name: p });
    await t.server.context.stores.users.create(acme, userId('eve'), { displayName: 'eve', pools: many });
    const full = await as('POST', '/admin/v1/pools/lab/members', { users: ['dan', 'eve'] });
    expect([full.status, full.json.error.message]).toEqual([409, 'conflict: user.pools']);
    expect((await t.server.context.stores.users.get(acme, userId('dan')))?.pools).toEqual([]);
    expect(await auditHead()).toBe(head);
  });

  it('a move takes effect at once: a device may look up a user of a reachable pool only', async () => {
    await as('POST', '/admin/v1/pools', { id: 'north', name: 'North' });
    await as('POST', '/admin/v1/pools', { id: 'south', name: 'South' });
    const fay = await setUpDevice(t.server.context, acme, 'fay', 1);
    await setUpDevice(t.server.context, acme, 'gus', 1);
    await as('PUT', '/admin/v1/users/fay/pools', { pools: ['north'] });
    await as('PUT', '/admin/v1/users/gus/pools', { pools: ['north'] });
    expect(await lookUp(fay, 'gus')).toBe(200);
    const moved = await as('PUT', '/admin/v1/users/gus/pools', { pools: ['south'] });
    expect(moved.json.pools).toEqual(['south']);
    expect(await lookUp(fay, 'gus')).toBe(403);
    await as('POST', '/admin/v1/pools/north/members', { users: ['gus'] });
    expect(await lookUp(fay, 'gus')).toBe(200);
    await as('POST', '/admin/v1/pools/north/members/remove', { users: ['gus'] });
    expect(await lookUp(fay, 'gus')).toBe(403);
  });
});

async function enrol(token: string, user?: string) {
  const provider = t.server.context.provider;
  const identity = await generateDeviceIdentity(provider);
  const pub = toPublicIdentity(identity);
  const proof = await signEnrolmentProof(provider, identity.signingKeyPair.privateKey, token, pub);
  return t.request('POST', '/v1/enrol', {
    json: {
      token,
      ...(user === undefined ? {} : { user: { id: user } }),
      device: {
        identity: {
          signingKey: b64(pub.signingKey),
          dhKey: b64(pub.dhKey),
          dhKeySignature: b64(pub.dhKeySignature),
        },
        registrationId: 7,
        proof: b64(proof),
      },
    },
  });
}

describe('allowlist', () => {
  it('is off until set; replaces, adds and removes entries (checked, lower-cased), audited', async () => {
    expect((await as('GET', '/admin/v1/allowlist')).json).toEqual({
      enabled: false,
      tenantDomains: false,
      domains: [],
      users: [],
      emails: [],
    });
    const head = await auditHead();
    const bad = await as('PUT', '/admin/v1/allowlist', { enabled: true, domains: ['not a domain'] });
    expect(bad.status).toBe(400);
    expect((await as('GET', '/admin/v1/allowlist')).json.enabled).toBe(false);
    await as('PUT', '/admin/v1/allowlist', { enabled: false, domains: ['Partner.EXAMPLE'] });
    await as('POST', '/admin/v1/allowlist/entries', {
      users: ['root-admin'],
      emails: ['Ivy@Elsewhere.example'],
    });
    const after = await as('POST', '/admin/v1/allowlist/entries/remove', { users: ['root-admin'] });
    expect(after.json).toEqual({
      enabled: false,
      tenantDomains: false,
      domains: ['partner.example'],
      users: [],
      emails: ['ivy@elsewhere.example'],
    });
    expect(await auditActions(head)).toEqual(['allowlist.replace', 'allowlist.add', 'allowlist.remove']);
  });

  it('refuses an invite of a user outside it, and writes nothing', async () => {
    await as('PUT', '/admin/v1/allowlist', {
      enabled: true,
      tenantDomains: true,
      domains: ['partner.example'],
    });
    const head = await auditHead();
    const res = await as('POST', '/admin/v1/users/invite', { user: 'hal', email: 'hal@outside.example' });
    expect([res.status, res.json.error.code]).toEqual([403, 'ERR_NOT_ALLOWLISTED']);
    expect(await t.server.context.stores.users.get(acme, userId('hal'))).toBeUndefined();
    expect(await auditHead()).toBe(head);
    for (const [user, email] of [
      ['ida', 'ida@partner.example'],
      ['jon', 'jon@acme.example'], // the tenant's own domain, with tenantDomains
    ]) {
      expect((await as('POST', '/admin/v1/users/invite', { user, email })).status).toBe(201);
    }
  });

  it('attack: an invite made before the list tightened is refused at redemption; only the audit record is written', async () => {
    await as('PUT', '/admin/v1/allowlist', { enabled: false });
    const invite = await as('POST', '/admin/v1/users/invite', { user: 'kim', email: 'kim@outside.example' });
    expect(invite.status).toBe(201);
    await as('PUT', '/admin/v1/allowlist', { enabled: true, domains: ['partner.example'] });
    const kimBefore = await t.server.context.stores.users.get(acme, userId('kim'));
    const head = await auditHead();

    const refused = await enrol(invite.json.token);
    expect([refused.status, refused.json.error.code]).toEqual([403, 'ERR_NOT_ALLOWLISTED']);
    expect(JSON.stringify(refused.json)).not.toContain('kim');
    expect(await t.server.context.stores.devices.list(acme, userId('kim'))).toEqual([]);
    expect(await t.server.context.stores.users.get(acme, userId('kim'))).toEqual(kimBefore);
    const records = (await t.server.context.stores.audit.list(acme)).filter((r) => r.seq > head);
    expect(records.map((r) => [r.action, r.target, r.outcome, r.details])).toEqual([
      ['enrolment.refused', 'kim', 'failure', { reason: 'allowlist' }],
    ]);

    // A token that names no user creates none either.
    const open = await createEnrolmentToken(t.server.context, { tenant: acme });
    const stranger = await enrol(open.token, 'stranger');
    expect(stranger.json.error.code).toBe('ERR_NOT_ALLOWLISTED');
    expect(await t.server.context.stores.users.get(acme, userId('stranger'))).toBeUndefined();

    // The refused redemption did not use the token up: once allowed, it enrols.
    await as('POST', '/admin/v1/allowlist/entries', { users: ['kim'] });
    expect((await enrol(invite.json.token)).status).toBe(201);
    await as('PUT', '/admin/v1/allowlist', { enabled: false });
  });
});
