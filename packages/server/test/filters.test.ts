/**
 * The filter model and its cursor: the predicates over stored users and devices (status, pool,
 * domain from the address or the id, text, role, last seen with "never seen" counting as before,
 * version prefixes), refusals of unknown criteria; and paging over a store that changes between
 * pages (users added and deleted): every user present throughout is answered exactly once, a
 * cursor of another filter or a forged one is refused, and a request reads at most its budget.
 * The `compliant` criterion through HTTP: a device that applied an old policy revision, one that
 * never reported and one that reports the current revision are told apart on both searches, page
 * by page, with the cursor bound to the criterion, and a bulk job's filter selects by it.
 */
import { randomBytes } from 'node:crypto';
import { createNobleProvider } from '@cloister/crypto';
import { poolId, type TenantId, tenantId, userId } from '@cloister/protocol';
import { createMemoryAdapter } from '@cloister/storage';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeCursor,
  deviceFilterSchema,
  encodeCursor,
  filterDigest,
  matchesDevice,
  matchesUser,
  type ScanPosition,
  scanUsers,
  userFilterSchema,
} from '../src/admin/api/filters.js';
import { createServerStores, type Device, type ServerStores, type User } from '../src/store/index.js';
import {
  type AdminTestServer,
  createTenantAsOperator,
  login,
  startAdminServer,
} from './helpers/admin-api.js';
import { setUpDevice, type TestDevice } from './helpers/device-client.js';

const user = (over: Partial<User> = {}): User =>
  ({
    tenant: 't',
    id: 'alice@acme.example',
    displayName: 'Alice Example',
    email: null,
    pools: ['ward-3'],
    roles: [],
    blocked: false,
    createdAt: 0,
    ...over,
  }) as unknown as User;
const device = (over: Partial<Device> = {}): Device =>
  ({
    id: 1,
    blocked: false,
    lastSeenAt: 1000,
    clientVersion: '@cloister/client/0.3.1',
    ...over,
  }) as unknown as Device;

describe('filter predicates', () => {
  it('status: blocked wins, then never-enrolled without devices, else active', () => {
    expect(matchesUser({ status: 'blocked' }, user({ blocked: true }), [device()])).toBe(true);
    expect(matchesUser({ status: 'never-enrolled' }, user(), [])).toBe(true);
    expect(matchesUser({ status: 'never-enrolled' }, user({ blocked: true }), [])).toBe(false);
    expect(matchesUser({ status: 'active' }, user(), [device()])).toBe(true);
    expect(matchesUser({ status: 'active' }, user(), [])).toBe(false);
  });

  it('domain from the address, else from the id; text over name, address and id; pool; role', () => {
    expect(matchesUser({ domain: 'ACME.example' }, user(), [])).toBe(true);
    expect(matchesUser({ domain: 'acme.example' }, user({ email: 'a@other.example' } as never), [])).toBe(
      false,
    );
    expect(matchesUser({ domain: 'acme.example' }, user({ id: 'alice' } as never), [])).toBe(false);
    expect(matchesUser({ text: 'EXAMPLE' }, user(), [])).toBe(true);
    expect(matchesUser({ text: 'bob' }, user(), [])).toBe(false);
    expect(matchesUser({ pool: 'ward-3' }, user(), [])).toBe(true);
    expect(matchesUser({ pool: 'icu' }, user(), [])).toBe(false);
    expect(matchesUser({ role: 'auditor' }, user({ roles: ['auditor'] } as never), [])).toBe(true);
    expect(matchesUser({ role: 'auditor' }, user(), [])).toBe(false);
  });

  it('last seen: never seen counts as before any time; after needs a device seen since', () => {
    expect(matchesUser({ lastSeenBefore: 500 }, user(), [])).toBe(true);
    expect(matchesUser({ lastSeenBefore: 500 }, user(), [device({ lastSeenAt: null })])).toBe(true);
    expect(matchesUser({ lastSeenBefore: 2000 }, user(), [device(), device({ lastSeenAt: 3000 })])).toBe(
      false,
    );
    expect(matchesUser({ lastSeenAfter: 2000 }, user(), [device(), device({ lastSeenAt: 3000 })])).toBe(true);
    expect(matchesUser({ lastSeenAfter: 2000 }, user(), [])).toBe(false);
  });

  it('versions are case-insensitive prefixes; a device that reported none matches none', () => {
    expect(matchesUser({ clientVersion: '@CLOISTER/client/0.3' }, user(), [device()])).toBe(true);
    expect(matchesUser({ clientVersion: '@cloister/client/0.4' }, user(), [device()])).toBe(false);
    expect(matchesUser({ platform: 'iOS' }, user(), [device()])).toBe(false);
    expect(
      matchesDevice({ appVersion: 'ward/2' }, user(), device({ appVersion: 'Ward/2.4.1' } as never)),
    ).toBe(true);
    expect(matchesDevice({ status: 'blocked' }, user({ blocked: true }), device())).toBe(true);
    expect(matchesDevice({ status: 'active' }, user(), device({ blocked: true }))).toBe(false);
  });

  it('compliant: a user is compliant unless one of their active devices is not; it needs the check', () => {
    const two = [device(), device({ id: 2 } as never)];
    const oneBad = new Map([
      [1, true],
      [2, false],
    ]);
    expect(matchesUser({ compliant: false }, user(), two, oneBad)).toBe(true);
    expect(matchesUser({ compliant: true }, user(), two, oneBad)).toBe(false);
    // The non-compliant device is blocked: it does not count.
    const blockedBad = [device(), device({ id: 2, blocked: true } as never)];
    expect(matchesUser({ compliant: true }, user(), blockedBad, oneBad)).toBe(true);
    // A blocked user has no active device; one without devices neither.
    expect(matchesUser({ compliant: false }, user({ blocked: true }), two, oneBad)).toBe(false);
    expect(matchesUser({ compliant: true }, user(), [], new Map())).toBe(true);
    expect(matchesDevice({ compliant: false }, user(), device(), false)).toBe(true);
    expect(matchesDevice({ compliant: false }, user(), device(), true)).toBe(false);
    expect(() => matchesUser({ compliant: true }, user(), two)).toThrow(/compliant/);
    expect(() => matchesDevice({ compliant: true }, user(), device())).toThrow(/compliant/);
    expect(userFilterSchema.safeParse({ compliant: 'yes' }).success).toBe(false);
  });

  it('refuses unknown criteria and never-enrolled devices', () => {
    expect(userFilterSchema.safeParse({ colour: 'red' }).success).toBe(false);
    expect(userFilterSchema.safeParse({ text: 'a\u0000' }).success).toBe(false);
    expect(deviceFilterSchema.safeParse({ status: 'never-enrolled' }).success).toBe(false);
  });
});

describe('paging over a changing store', () => {
  const provider = createNobleProvider();
  const T = tenantId('t');
  let stores: ServerStores;

  beforeEach(async () => {
    stores = createServerStores(createMemoryAdapter(), { provider });
    await stores.tenants.create(T, { name: 'T', signingKey: new Uint8Array(randomBytes(32)) } as never);
    await stores.pools.put(T, poolId('p'), { name: 'P' });
    for (let i = 0; i < 60; i++) {
      await stores.users.create(T, userId(`u${String(i).padStart(3, '0')}`), {
        displayName: `U ${i}`,
        pools: [poolId('p')],
      });
    }
  });

  it('answers every user present throughout exactly once while others come and go', async () => {
    for (const filter of [{}, { pool: 'p' }]) {
      const f = await filterDigest({ provider }, 'users', filter);
      const seen: string[] = [];
      let position: ScanPosition | undefined = { f };
      let round = 0;
      const deleted = new Set<string>();
      while (position !== undefined) {
        const page = await scanUsers(stores, T, filter, decodeCursor(encodeCursor(position), f), {
          limit: 7,
        });
        seen.push(...page.items.map((i) => i.user.id));
        position = page.next;
        // Between pages: one user deleted, one added.
        round++;
        const gone = `u${String(round * 3).padStart(3, '0')}`;
        if (await stores.users.delete(T, userId(gone))) deleted.add(gone);
        await stores.users.create(T, userId(`new-${round}-${filter.pool ?? 'x'}`), {
          displayName: 'N',
          pools: [poolId('p')],
        });
      }
      expect(new Set(seen).size, 'no duplicate').toBe(seen.length);
      for (let i = 0; i < 60; i++) {
        const id = `u${String(i).padStart(3, '0')}`;
        if (!deleted.has(id)) expect(seen, `${id} was present throughout`).toContain(id);
      }
      for (const id of deleted)
        await stores.users.create(T, userId(id), { displayName: 'back', pools: [poolId('p')] });
    }
  });

  it('reads at most its budget and continues from where it stopped', async () => {
    const f = await filterDigest({ provider }, 'users', { text: 'nobody' });
    const page = await scanUsers(stores, T, { text: 'nobody' }, { f }, { limit: 10, budget: 25 });
    expect(page.items).toEqual([]);
    expect(page.scanned).toBe(25);
    expect(page.next).toBeDefined();
  });

  it('refuses a cursor of another filter, a forged or damaged one', async () => {
    const f = await filterDigest({ provider }, 'users', { pool: 'p' });
    const g = await filterDigest({ provider }, 'users', { pool: 'q' });
    const cursor = encodeCursor({ f, u: 'u010' });
    expect(() => decodeCursor(cursor, g)).toThrow(/after/);
    expect(() => decodeCursor(`${cursor}x`, f)).toThrow();
    expect(() => decodeCursor(encodeCursor({ f, u: 'bad id with spaces' }), f)).toThrow(/after/);
    expect(decodeCursor(cursor, f)).toEqual({ f, u: 'u010' });
  });
});

describe('the compliant criterion through HTTP', () => {
  let t: AdminTestServer;
  let tenant: TenantId;
  let owner: { session: string };
  let created: Awaited<ReturnType<typeof createTenantAsOperator>>;
  let old: TestDevice;
  let current: TestDevice;
  const SDK = '@cloister/client/0.1.0';
  const ALL_SDK = ['disappearing.timer', 'files.download', 'files.send', 'media.send', 'messages.forward'];

  const revisionOf = async (d: TestDevice) => {
    const res = await t.request('GET', '/v1/policy', { credential: d.credential });
    expect(res.status).toBe(200);
    return res.json.revision as string;
  };
  const report = async (d: TestDevice, revision: string) => {
    const res = await t.request('POST', '/v1/compliance', {
      credential: d.credential,
      json: { revision, sdk: SDK, enforced: ALL_SDK, appEnforced: [] },
    });
    expect(res.status).toBe(204);
  };

  /** Every item of a search, read page by page (one item per page) through the cursor. */
  async function all(path: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let after: string | undefined;
    for (let i = 0; i < 50; i++) {
      const res = await t.as(owner, 'GET', `${path}&limit=1${after === undefined ? '' : `&after=${after}`}`);
      expect(res.status, res.body.toString()).toBe(200);
      items.push(...res.json.items);
      after = res.json.next;
      if (after === undefined) return items;
    }
    throw new Error('the search did not end');
  }
  const deviceKeys = (items: Record<string, unknown>[]) =>
    items.map((i) => `${i.user}/${(i.device as { id: number }).id}`).sort();
  const userIds = (items: Record<string, unknown>[]) =>
    items.map((i) => (i.user as { id: string }).id).sort();

  beforeAll(async () => {
    t = await startAdminServer(Date.UTC(2026, 0, 5, 9));
    created = await createTenantAsOperator(t, 'cmpf');
    tenant = tenantId(created.id);
    owner = { session: await login(t, created.id, created.owner.email, created.owner.secret) };
    const ctx = t.server.context;
    // old: applied the policy before its user's policy changed; current: reports the revision in
    // force; silent: never reported. `both` has one current and one silent device.
    old = await setUpDevice(ctx, tenant, 'old', 1);
    const before = await revisionOf(old);
    await ctx.stores.policies.set(
      { kind: 'user', tenant, user: userId('old') },
      { 'files.download': { enabled: false, locked: false } },
    );
    expect(await revisionOf(old)).not.toBe(before);
    await report(old, before);
    current = await setUpDevice(ctx, tenant, 'current', 1);
    await report(current, await revisionOf(current));
    await setUpDevice(ctx, tenant, 'silent', 1);
    const both1 = await setUpDevice(ctx, tenant, 'both', 1);
    await setUpDevice(ctx, tenant, 'both', 2);
    await report(both1, await revisionOf(both1));
  }, 60_000);
  afterAll(async () => t?.close());

  it('finds a device with an old revision by compliant=false and a reporting up-to-date one by true', async () => {
    const bad = deviceKeys(await all('/admin/v1/search/devices?compliant=false'));
    const good = deviceKeys(await all('/admin/v1/search/devices?compliant=true'));
    expect(bad).toEqual(['both/2', 'old/1', 'silent/1']);
    expect(good).toEqual(['both/1', 'current/1']);
    expect(bad.length + good.length).toBe(deviceKeys(await all('/admin/v1/search/devices?')).length);
  });

  it('a user is non-compliant when one of their active devices is, and compliant again once it is blocked', async () => {
    expect(userIds(await all('/admin/v1/search/users?compliant=false'))).toEqual(['both', 'old', 'silent']);
    expect(userIds(await all('/admin/v1/search/users?compliant=true'))).toEqual(['current']);
    await t.server.context.stores.devices.update(tenant, userId('both'), 2 as never, { blocked: true });
    try {
      expect(userIds(await all('/admin/v1/search/users?compliant=true'))).toEqual(['both', 'current']);
      // The device itself stays non-compliant.
      expect(deviceKeys(await all('/admin/v1/search/devices?compliant=false'))).toContain('both/2');
    } finally {
      await t.server.context.stores.devices.update(tenant, userId('both'), 2 as never, { blocked: false });
    }
  });

  it('a report that goes stale makes a device non-compliant', async () => {
    const start = t.time;
    t.time += 86_400_000 + 1;
    try {
      const later = { session: await login(t, tenant, created.owner.email, created.owner.secret) };
      const res = await t.as(later, 'GET', '/admin/v1/search/devices?compliant=true');
      expect(res.status).toBe(200);
      expect(res.json.items).toEqual([]);
    } finally {
      t.time = start;
    }
  });

  it('binds the cursor to the criterion and refuses a value other than true or false', async () => {
    const first = await t.as(owner, 'GET', '/admin/v1/search/users?compliant=false&limit=1');
    expect(first.status).toBe(200);
    expect(first.json.next).toBeDefined();
    const swapped = await t.as(
      owner,
      'GET',
      `/admin/v1/search/users?compliant=true&after=${first.json.next}`,
    );
    expect(swapped.status).toBe(400);
    const dropped = await t.as(owner, 'GET', `/admin/v1/search/users?after=${first.json.next}`);
    expect(dropped.status).toBe(400);
    for (const bad of ['yes', '1', ''])
      expect((await t.as(owner, 'GET', `/admin/v1/search/devices?compliant=${bad}`)).status).toBe(400);
  });

  it('a bulk job selects its users by the criterion', async () => {
    const res = await t.as(owner, 'POST', '/admin/v1/bulk/block', {
      json: { filter: { compliant: false }, dryRun: true },
    });
    expect(res.status, res.body.toString()).toBe(201);
    const users = (res.json.items as { user: string }[]).map((i) => i.user).sort();
    expect(users).toEqual(['both', 'old', 'silent']);
    expect(res.json.items.every((i: { outcome: string }) => i.outcome === 'change')).toBe(true);
  });
});
