/**
 * The filter model and its cursor: the predicates over stored users and devices (status, pool,
 * domain from the address or the id, text, role, last seen with "never seen" counting as before,
 * version prefixes), refusals of unknown criteria; and paging over a store that changes between
 * pages (users added and deleted): every user present throughout is answered exactly once, a
 * cursor of another filter or a forged one is refused, and a request reads at most its budget.
 */
import { randomBytes } from 'node:crypto';
import { createNobleProvider } from '@cloister/crypto';
import { poolId, tenantId, userId } from '@cloister/protocol';
import { createMemoryAdapter } from '@cloister/storage';
import { beforeEach, describe, expect, it } from 'vitest';
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
