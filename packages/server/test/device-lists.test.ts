/**
 * `GET /v1/users/:userId/device-lists` and `PUT /v1/device-list` (spec/device-lists.md, issue 13
 * attack 2 "a ghost device") against a real server, with devices enrolled through
 * `POST /v1/enrol` with real identities: the first device starts the chain, a device the operator
 * enrolled with a token of its own cannot put itself on the list, a listed device links the next
 * one, readers follow the chain from the list they pinned, two concurrent successors cannot both
 * win, and a user who lost every listed device starts a new chain that peers see as a reset.
 */
import {
  type CryptoProvider,
  type DeviceIdentity,
  deviceId,
  generateDeviceIdentity,
  getProvider,
  toPublicIdentity,
} from '@cloister/crypto';
import {
  type DeviceListBody,
  decodeDeviceList,
  deviceListHash,
  followDeviceLists,
  type PoolId,
  poolId,
  signDeviceList,
  type TenantId,
  tenantId,
  userId,
} from '@cloister/protocol';
import { dropSchema, uniqueSchemaName } from '@cloister/storage/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerContext } from '../src/context.js';
import { createEnrolmentToken, signEnrolmentProof } from '../src/enrolment.js';
import { deviceListRoutes } from '../src/routes/device-lists.js';
import { createEnrolmentRoutes } from '../src/routes/enrolment.js';
import { MAX_DEVICE_LIST_BYTES } from '../src/store/index.js';
import { createTenant } from '../src/tenants.js';
import { startTestServer, type TestResponse, type TestServer } from './helpers/server.js';

const DATABASE_URL = process.env.DATABASE_URL || undefined;
const schema = uniqueSchemaName('device_lists_http');
let t: TestServer;
/** A second instance on the same PostgreSQL schema with `DATABASE_URL`, else the same server. */
let t2: TestServer;
let ctx: ServerContext;
let provider: CryptoProvider;
let acme: TenantId;
let other: TenantId;
const mkt = poolId('marketing');
const ops = poolId('operations');
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const bytesOf = (text: string) => new Uint8Array(Buffer.from(text, 'base64url'));

interface Dev {
  readonly tenant: TenantId;
  readonly user: string;
  readonly id: number;
  readonly identity: DeviceIdentity;
  readonly credential: Uint8Array;
  /** When a device of the user admitted it (kept the same on every later list). */
  readonly addedAtMs: number;
}

let nextAdded = 1_700_000_000_000;

/** Enrols a device of `user` through `POST /v1/enrol` with a token the operator minted. */
async function enrol(tenant: TenantId, user: string): Promise<Dev> {
  const { token } = await createEnrolmentToken(ctx, { tenant, user: userId(user) });
  const identity = await generateDeviceIdentity(provider);
  const pub = toPublicIdentity(identity);
  const proof = await signEnrolmentProof(provider, identity.signingKeyPair.privateKey, token, pub);
  const res = await t.request('POST', '/v1/enrol', {
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
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return {
    tenant,
    user,
    id: res.json.deviceId,
    identity,
    credential: bytesOf(res.json.credential),
    addedAtMs: nextAdded++,
  };
}

const entry = (d: Dev) => ({
  deviceId: deviceId(d.id),
  identity: toPublicIdentity(d.identity),
  addedAtMs: d.addedAtMs,
});

/** A signed list: the first of a chain (no `previous`) or the successor of `previous`. */
async function sign(
  signer: Dev,
  devices: readonly Dev[],
  previous?: Uint8Array,
  change: Partial<DeviceListBody> = {},
): Promise<Uint8Array> {
  let chain: Pick<DeviceListBody, 'epoch' | 'previous' | 'root'> = {
    epoch: 1,
    previous: new Uint8Array(32),
    root: new Uint8Array(32),
  };
  if (previous !== undefined) {
    const before = decodeDeviceList(previous);
    const hash = await deviceListHash(provider, previous);
    chain = { epoch: before.epoch + 1, previous: hash, root: before.epoch === 1 ? hash : before.root };
  }
  const body: DeviceListBody = {
    tenant: signer.tenant,
    user: userId(signer.user),
    issuedAtMs: Date.now(),
    ...chain,
    signer: { kind: 'device', deviceId: deviceId(signer.id) },
    devices: [...devices].sort((a, b) => a.id - b.id).map(entry),
    ...change,
  };
  return signDeviceList(provider, body, signer.identity.signingKeyPair.privateKey);
}

const put = (
  caller: Dev,
  list: Uint8Array | string,
  extra: Record<string, unknown> = {},
  server: TestServer = t,
): Promise<TestResponse> =>
  server.request('PUT', '/v1/device-list', {
    json: { list: typeof list === 'string' ? list : b64(list), ...extra },
    credential: caller.credential,
  });

const get = (caller: Dev, user: string, query = ''): Promise<TestResponse> =>
  t.request('GET', `/v1/users/${encodeURIComponent(user)}/device-lists${query}`, {
    credential: caller.credential,
  });

async function lists(caller: Dev, user: string, query = ''): Promise<Uint8Array[]> {
  const res = await get(caller, user, query);
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return (res.json.lists as string[]).map(bytesOf);
}

const after = async (list: Uint8Array) => `?after=${b64(await deviceListHash(provider, list))}`;

function expectError(res: TestResponse, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.json)).toBe(status);
  expect(res.json.error.code).toBe(code);
}

async function auditCount(tenant: TenantId): Promise<number> {
  return (await ctx.stores.audit.head(tenant))?.seq ?? 0;
}

let alice1: Dev;
let alice2: Dev;
let ghost: Dev;
let bob: Dev;
let mia: Dev; // marketing, may contact operations
let oscar: Dev; // operations
let carol: Dev; // another tenant
let e1: Uint8Array; // alice's lists, epoch by epoch
let e2: Uint8Array;
let e3: Uint8Array;

beforeAll(async () => {
  provider = await getProvider();
  const extraRoutes = [createEnrolmentRoutes(), deviceListRoutes];
  if (DATABASE_URL !== undefined) {
    const storageKey = await provider.randomBytes(32);
    const shared = { database: DATABASE_URL, databaseSchema: schema, storageKey, extraRoutes };
    t = await startTestServer(shared);
    t2 = await startTestServer(shared);
  } else {
    t = await startTestServer({ extraRoutes });
    t2 = t;
  }
  ctx = t.server.context;
  acme = (await createTenant(ctx, { id: tenantId('acme'), name: 'ACME' })).tenant.id;
  other = (await createTenant(ctx, { id: tenantId('other'), name: 'Other' })).tenant.id;
  await ctx.stores.pools.put(acme, mkt, { name: 'Marketing', mayContact: [ops] });
  await ctx.stores.pools.put(acme, ops, { name: 'Operations' });
  const user = async (tenant: TenantId, id: string, pools: PoolId[] = []) =>
    ctx.stores.users.create(tenant, userId(id), { displayName: id, pools });
  await user(acme, 'mia', [mkt]);
  await user(acme, 'oscar', [ops]);
  alice1 = await enrol(acme, 'alice');
  bob = await enrol(acme, 'bob');
  mia = await enrol(acme, 'mia');
  oscar = await enrol(acme, 'oscar');
  carol = await enrol(other, 'carol');
}, 60_000);

afterAll(async () => {
  await t?.close();
  if (t2 !== t) await t2?.close();
  if (DATABASE_URL !== undefined) await dropSchema(DATABASE_URL, schema);
});

describe(`device lists on ${DATABASE_URL === undefined ? 'PGlite' : 'PostgreSQL (two instances)'}`, () => {
  it('the first device publishes epoch 1, and the user and their contacts read it', async () => {
    expect(await lists(bob, 'alice')).toEqual([]);
    const audits = await auditCount(acme);
    e1 = await sign(alice1, [alice1]);
    const res = await put(alice1, e1);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json).toEqual({ epoch: 1 });
    expect(await lists(alice1, 'alice')).toEqual([e1]);
    expect(await lists(bob, 'alice')).toEqual([e1]);
    const update = await followDeviceLists(provider, undefined, await lists(bob, 'alice'), {
      tenant: acme,
      user: userId('alice'),
    });
    expect(update.trust).toBe('first');
    // One audit record in the same transaction, naming the device and the user, holding no key.
    const [record] = await ctx.stores.audit.list(acme, { fromSeq: audits + 1 });
    expect(record).toMatchObject({
      actor: `alice/${alice1.id}`,
      action: 'device-list.update',
      target: 'alice',
      outcome: 'success',
      details: { epoch: 1 },
    });
    expect(JSON.stringify(record?.details)).not.toContain(b64(toPublicIdentity(alice1.identity).signingKey));
  });

  it('the ghost: a device the operator enrolled cannot put itself on the list', async () => {
    ghost = await enrol(acme, 'alice');
    const audits = await auditCount(acme);
    // Signed by itself as the successor of the pinned list: it is on no list a reader trusts.
    const self2 = await sign(ghost, [alice1, ghost], e1);
    const r1 = await put(ghost, self2);
    expectError(r1, 409, 'ERR_CONFLICT');
    // A new chain of its own while alice's device is still enrolled: refused, with what to do.
    const r2 = await put(ghost, await sign(ghost, [ghost]));
    expectError(r2, 409, 'ERR_CONFLICT');
    expect(r2.json.error.message).toContain('an existing device must link this one');
    const r3 = await put(ghost, await sign(ghost, [alice1, ghost]));
    expectError(r3, 409, 'ERR_CONFLICT');
    // A list another device signed (here alice's own epoch 1, replayed) is not the caller's.
    expectError(await put(ghost, e1), 403, 'ERR_FORBIDDEN');
    // Nothing changed, nothing was audited, and a reader who pinned epoch 1 refuses the forgery.
    expect(await lists(bob, 'alice')).toEqual([e1]);
    expect(await auditCount(acme)).toBe(audits);
    await expect(
      followDeviceLists(provider, decodeDeviceList(e1), [self2], { tenant: acme, user: userId('alice') }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
  });

  it('a second device is on the list only once a listed device signs it on', async () => {
    alice2 = await enrol(acme, 'alice');
    expect(
      decodeDeviceList((await lists(bob, 'alice'))[0] as Uint8Array).devices.map((d) => d.deviceId),
    ).toEqual([alice1.id]);
    // The new device cannot do it itself ...
    expectError(await put(alice2, await sign(alice2, [alice1, alice2], e1)), 409, 'ERR_CONFLICT');
    // ... the listed one can.
    e2 = await sign(alice1, [alice1, alice2], e1);
    const res = await put(alice1, e2);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json).toEqual({ epoch: 2 });
    const update = await followDeviceLists(
      provider,
      decodeDeviceList(e1),
      await lists(bob, 'alice', await after(e1)),
      {
        tenant: acme,
        user: userId('alice'),
      },
    );
    expect(update.trust).toBe('chained');
    expect(update.added.map((d) => d.deviceId)).toEqual([alice2.id]);
    // Now the second device signs successors too (and removes the ghost's chance: it was never on).
    e3 = await sign(alice2, [alice1, alice2], e2);
    expect((await put(alice2, e3)).json).toEqual({ epoch: 3 });
  });

  it('refuses new entries that are not enrolled devices of the user with their enrolled keys', async () => {
    const stranger: Dev = {
      ...alice2,
      id: 77,
      identity: await generateDeviceIdentity(provider),
      addedAtMs: nextAdded++,
    };
    const r1 = await put(alice1, await sign(alice1, [alice1, alice2, stranger], e3));
    expectError(r1, 400, 'ERR_VALIDATION');
    expect(r1.json.error.field).toBe('list.devices[2]');
    // The ghost's device id with keys that are not its enrolled ones.
    const impostor: Dev = { ...ghost, identity: await generateDeviceIdentity(provider) };
    const r2 = await put(alice1, await sign(alice1, [alice1, alice2, impostor], e3));
    expectError(r2, 400, 'ERR_VALIDATION');
    expect(r2.json.error.field).toBe(
      `list.devices[${[alice1, alice2, impostor].sort((a, b) => a.id - b.id).indexOf(impostor)}]`,
    );
    // Bob's device is not alice's.
    const bobs: Dev = { ...bob, id: 90, addedAtMs: nextAdded++ };
    expectError(await put(alice1, await sign(alice1, [alice1, alice2, bobs], e3)), 400, 'ERR_VALIDATION');
    expect(await lists(alice1, 'alice')).toEqual([e1, e2, e3]);
  });

  it('GET after= answers from the named list to the newest, else the whole chain', async () => {
    expect(await lists(bob, 'alice', await after(e1))).toEqual([e1, e2, e3]);
    expect(await lists(bob, 'alice', await after(e2))).toEqual([e2, e3]);
    expect(await lists(bob, 'alice', await after(e3))).toEqual([e3]);
    expect(await lists(bob, 'alice', `?after=${b64(new Uint8Array(32).fill(5))}`)).toEqual([e1, e2, e3]);
    expect(await lists(bob, 'alice', '')).toEqual([e1, e2, e3]);
    // A pinned list of another user's chain names nothing here.
    expect(await lists(alice1, 'bob', await after(e2))).toEqual([]);
  });

  it('of two concurrent successors exactly one wins', async () => {
    const a = await sign(alice1, [alice1, alice2], e3, { issuedAtMs: 1 });
    const b = await sign(alice2, [alice1, alice2], e3, { issuedAtMs: 2 });
    // On PostgreSQL through two server instances at once.
    const results = await Promise.all([
      put(alice1, a, {}, t),
      put(alice2, b, {}, t2),
      put(alice1, a, {}, t2),
      put(alice2, b, {}, t),
    ]);
    const ok = results.filter((r) => r.status === 200);
    expect(ok.length, JSON.stringify(results.map((r) => r.json))).toBe(1);
    for (const r of results) if (r.status !== 200) expectError(r, 409, 'ERR_CONFLICT');
    const chain = await lists(bob, 'alice');
    expect(chain.length).toBe(4);
    expect(
      [a, b].some((l) => Buffer.compare(Buffer.from(l), Buffer.from(chain[3] as Uint8Array)) === 0),
    ).toBe(true);
    // An epoch that is not the next one, or the current one again, is a conflict.
    const e4 = chain[3] as Uint8Array;
    const aWon = Buffer.from(a).equals(Buffer.from(e4));
    expectError(await put(aWon ? alice1 : alice2, e4), 409, 'ERR_CONFLICT');
    expectError(await put(aWon ? alice2 : alice1, aWon ? b : a), 409, 'ERR_CONFLICT');
    const gap = await sign(alice1, [alice1, alice2], e4, { epoch: 6 });
    expectError(await put(alice1, gap), 409, 'ERR_CONFLICT');
  });

  it('reading follows the devices route: own user, pool rules, tenants, credentials', async () => {
    expect((await get(mia, 'oscar')).status).toBe(200);
    expectError(await get(oscar, 'mia'), 403, 'ERR_FORBIDDEN');
    expectError(await get(bob, 'mia'), 403, 'ERR_FORBIDDEN');
    expectError(await get(carol, 'alice'), 404, 'ERR_NOT_FOUND');
    expectError(await get(bob, 'nobody'), 404, 'ERR_NOT_FOUND');
    expect((await get(mia, 'mia')).json).toEqual({ lists: [] });
    expectError(await t.request('GET', '/v1/users/alice/device-lists'), 401, 'ERR_UNAUTHENTICATED');
    expectError(
      await t.request('PUT', '/v1/device-list', { json: { list: b64(e1) } }),
      401,
      'ERR_UNAUTHENTICATED',
    );
  });

  it('refuses malformed queries and lists with typed 400s', async () => {
    for (const query of [
      '?after=abc',
      `?after=${'A'.repeat(44)}`,
      `?after=${'A'.repeat(42)}.`,
      `?after=${'A'.repeat(43)}&after=${'A'.repeat(43)}`,
      '?limit=1',
      `?after=${'A'.repeat(43)}&x=1`,
    ]) {
      expectError(await get(bob, 'alice', query), 400, 'ERR_VALIDATION');
    }
    const good = await sign(bob, [bob]);
    const signerKind = 1 + 1 + 'acme'.length + 1 + 'bob'.length + 8 + 8 + 32 + 32;
    const organisation = good.slice();
    organisation[signerKind] = 2;
    const alteredSignature = good.slice();
    alteredSignature[alteredSignature.length - 1] = (alteredSignature[alteredSignature.length - 1] ?? 0) ^ 1;
    const bodies: [unknown, string][] = [
      [{}, 'list'],
      [{ list: '' }, 'list'],
      [{ list: 'not base64!' }, 'list'],
      [{ list: 'A'.repeat(Math.ceil((MAX_DEVICE_LIST_BYTES * 4) / 3) + 1) }, 'list'],
      [{ list: b64(good), extra: 1 }, ''],
      [{ list: 7 }, 'list'],
      [{ list: b64(good.slice(0, -1)) }, 'list'], // ends early
      [{ list: b64(new Uint8Array([...good, 0])) }, 'list'], // bytes after the signature
      [{ list: `${b64(good.slice(0, 10))}B` }, 'list'], // not canonical base64url
      [{ list: b64(alteredSignature) }, 'list'],
      [{ list: b64(organisation) }, 'list'], // organisation admission is not configured
      [{ list: b64(await sign({ ...bob, tenant: acme, user: 'alice' }, [bob])) }, 'list'], // another user
    ];
    for (const [json, field] of bodies) {
      const res = await t.request('PUT', '/v1/device-list', { json, credential: bob.credential });
      expectError(res, 400, 'ERR_VALIDATION');
      if (field !== '') expect(res.json.error.field, JSON.stringify(json).slice(0, 80)).toBe(field);
    }
    expectError(
      await t.request('PUT', '/v1/device-list', {
        body: good,
        contentType: 'application/octet-stream',
        credential: bob.credential,
      }),
      400,
      'ERR_VALIDATION',
    );
    // None of it stored anything; the good list is still accepted.
    expect(await lists(bob, 'bob')).toEqual([]);
    expect((await put(bob, good)).json).toEqual({ epoch: 1 });
    // A first list must have epoch 1.
    const carolNext = await sign(carol, [carol], await sign(carol, [carol]));
    expectError(await put(carol, carolNext), 409, 'ERR_CONFLICT');
  });

  it('a user who lost every listed device starts a new chain, which readers see as a reset', async () => {
    // dora: her only device is blocked (lost), a new one is enrolled and restarts.
    const dora1 = await enrol(acme, 'dora');
    const old1 = await sign(dora1, [dora1]);
    expect((await put(dora1, old1)).status).toBe(200);
    const dora2 = await enrol(acme, 'dora');
    const fresh = await sign(dora2, [dora2]);
    expectError(await put(dora2, fresh), 409, 'ERR_CONFLICT');
    await ctx.stores.devices.update(acme, userId('dora'), deviceId(dora1.id), { blocked: true });
    expectError(await put(dora1, await sign(dora1, [dora1], old1)), 403, 'ERR_FORBIDDEN');
    const audits = await auditCount(acme);
    const res = await put(dora2, fresh);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json).toEqual({ epoch: 1 });
    const [record] = await ctx.stores.audit.list(acme, { fromSeq: audits + 1 });
    expect(record).toMatchObject({
      action: 'device-list.restart',
      actor: `dora/${dora2.id}`,
      target: 'dora',
    });
    // The old chain is gone: after= naming it answers the new chain from its start.
    expect(await lists(bob, 'dora', await after(old1))).toEqual([fresh]);
    const update = await followDeviceLists(
      provider,
      decodeDeviceList(old1),
      await lists(bob, 'dora', await after(old1)),
      {
        tenant: acme,
        user: userId('dora'),
      },
    );
    expect(update.trust).toBe('reset');
    // The new chain goes on as any other.
    const dora3 = await enrol(acme, 'dora');
    expect((await put(dora2, await sign(dora2, [dora2, dora3], fresh))).json).toEqual({ epoch: 2 });

    // erik: his only listed device was deleted; the restart needs no device of the old list.
    const erik1 = await enrol(acme, 'erik');
    const erikOld = await sign(erik1, [erik1]);
    expect((await put(erik1, erikOld)).status).toBe(200);
    const erik2 = await enrol(acme, 'erik');
    const erikSecond = await sign(erik1, [erik1, erik2], erikOld);
    expect((await put(erik1, erikSecond)).status).toBe(200);
    // Deleting one listed device is not enough while another is enrolled ...
    await ctx.stores.devices.remove(acme, userId('erik'), deviceId(erik1.id));
    const erik3 = await enrol(acme, 'erik');
    expectError(await put(erik3, await sign(erik3, [erik3])), 409, 'ERR_CONFLICT');
    // ... and a restart may not name a device it does not own as enrolled.
    await ctx.stores.devices.remove(acme, userId('erik'), deviceId(erik2.id));
    const withGone = await sign(erik3, [erik2, erik3]);
    expectError(await put(erik3, withGone), 400, 'ERR_VALIDATION');
    expect((await put(erik3, await sign(erik3, [erik3]))).json).toEqual({ epoch: 1 });
    expect((await lists(erik3, 'erik')).length).toBe(1);
  });
});
