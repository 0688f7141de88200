/**
 * Usage statistics (R35) through the admin API, on a real server: devices authenticate, sealed
 * envelopes are delivered, the recorder writes its batch, and the published figures are checked,
 * including the differencing attack (a pool of 6 and a pool of the same people but one: their
 * difference would be that one person's messages) and the total-minus-pool attack.
 */
import { randomBytes } from 'node:crypto';
import { type TenantId, tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizationHeader } from '../src/auth.js';
import { statisticsOf } from '../src/statistics.js';
import { key } from '../src/store/_util.js';
import { SERVER_TABLES } from '../src/store/index.js';
import { type CountedFigure, suppressFigures } from '../src/store/statistics.js';
import {
  type AdminTestServer,
  createTenantAsOperator,
  login,
  PASSWORD,
  secretOf,
  startAdminServer,
} from './helpers/admin-api.js';
import { setUpDevice, type TestDevice } from './helpers/device-client.js';
import { postSealed, sealTo, testSenderCertificate } from './helpers/sealed-delivery.js';

const figure = (value: number, ...people: string[]): CountedFigure => ({ value, people: new Set(people) });
const people = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

describe('the suppression rule', () => {
  it('publishes nothing that stands for fewer than 5 people', () => {
    const r = suppressFigures(
      5,
      figure(9, ...people('u', 4)),
      new Map([['p', figure(9, ...people('u', 4))]]),
    );
    expect(r.total).toBeNull();
    expect(r.pools.get('p')).toBeNull();
  });

  it('suppresses one of two pools whose members differ by 1..4 people (the differencing attack)', () => {
    const ward = people('u', 6);
    const wardMinusTarget = ward.slice(0, 5);
    const east = people('e', 5);
    const total = figure(40, ...ward, ...east);
    const r = suppressFigures(
      5,
      total,
      new Map([
        ['ward', figure(17, ...ward)],
        ['ward-b', figure(10, ...wardMinusTarget)],
        ['east', figure(23, ...east)],
      ]),
    );
    // The threshold alone would publish both (6 and 5 people) and 17 − 10 = the target's 7.
    expect(r.pools.get('ward')).toBe(17);
    expect(r.pools.get('ward-b')).toBeNull();
    expect(r.pools.get('east')).toBe(23);
    expect(r.total).toBe(40);
  });

  it('suppresses a pool that the total minus it would isolate 1..4 people against', () => {
    const ward = people('u', 6);
    const r = suppressFigures(5, figure(20, ...ward, 'x'), new Map([['ward', figure(17, ...ward)]]));
    expect(r.total).toBe(20);
    expect(r.pools.get('ward')).toBeNull();
  });

  it('suppresses until the people outside every published pool are none or at least 5 (complementary)', () => {
    const a = people('a', 6);
    const b = people('b', 6);
    const c = people('c', 2); // a pool of 2: suppressed, and total − a − b would give it away
    const r = suppressFigures(
      5,
      figure(30, ...a, ...b, ...c),
      new Map([
        ['a', figure(12, ...a)],
        ['b', figure(14, ...b)],
        ['c', figure(4, ...c)],
      ]),
    );
    expect(r.pools.get('c')).toBeNull();
    // 30 − a − b would be c's 4: one of a and b goes too (then the rest is 8 people).
    expect([r.pools.get('a'), r.pools.get('b')].filter((v) => v === null)).toHaveLength(1);
  });
});

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 10, 12, 0, 0);

describe('statistics through the admin API', () => {
  let t: AdminTestServer;
  let tenant: TenantId;
  let session: string;
  let relogin: () => Promise<void>;
  const devices = new Map<string, TestDevice>();

  beforeAll(async () => {
    t = await startAdminServer(T0);
    const a = await createTenantAsOperator(t, 'st');
    tenant = tenantId(a.id);
    relogin = async () => {
      t.time += 30_000; // a TOTP code is accepted once
      session = await login(t, a.id, a.owner.email, a.owner.secret);
    };
    await relogin();
    const ctx = t.server.context;
    for (const p of ['ward', 'ward-b', 'east']) await ctx.stores.pools.put(tenant, p as never, { name: p });
    // ward: u1..u6; ward-b: the same but u6 (the attacker's pool); east: e1..e5; x1: in no pool.
    for (let i = 1; i <= 6; i++) {
      const pools = i < 6 ? ['ward', 'ward-b'] : ['ward'];
      await ctx.stores.users.create(tenant, userId(`u${i}`), { displayName: `U${i}`, pools: pools as never });
    }
    for (let i = 1; i <= 5; i++) {
      await ctx.stores.users.create(tenant, userId(`e${i}`), {
        displayName: `E${i}`,
        pools: ['east' as never],
      });
    }
    for (const u of [...people('u', 6), ...people('e', 5)])
      devices.set(u, await setUpDevice(ctx, tenant, u, 1));
  }, 120_000);
  afterAll(async () => {
    await t?.close();
  });

  const get = async (path: string) => {
    const res = await t.as({ session }, 'GET', path);
    expect(res.status, res.body.toString()).toBe(200);
    return res;
  };

  it('counts active users, deliveries per pool by recipient, and suppresses what could single someone out', async () => {
    const ctx = t.server.context;
    // Every device authenticates once (the last-seen hook counts it).
    for (const d of devices.values()) {
      const res = await t.request('GET', '/v1/messages', {
        headers: { authorization: authorizationHeader(d.credential) },
      });
      expect(res.status).toBe(200);
    }
    const certificate = await testSenderCertificate();
    const send = async (to: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const res = await postSealed(
          t,
          await sealTo(ctx, certificate, devices.get(to) as TestDevice, randomBytes(40)),
        );
        expect(res.status, res.body.toString()).toBeLessThan(300);
      }
    };
    // What the relay pays: statements during the deliveries, then the recorder's one batch.
    const s0 = t.server.storageStatistics();
    for (const u of people('u', 5)) await send(u, 2);
    await send('u6', 7); // the target
    for (const u of people('e', 5)) await send(u, 3);
    const s1 = t.server.storageStatistics();
    await statisticsOf(ctx).flush();
    const s2 = t.server.storageStatistics();
    if (s0 && s1 && s2) {
      console.info(
        `statistics: 32 deliveries took ${s1.statements - s0.statements} statements; the recorder's batch ${s2.statements - s1.statements} statements in ${s2.transactions - s1.transactions} transaction(s)`,
      );
    }

    const res = await get('/admin/v1/statistics/daily?from=2026-11-10&to=2026-11-10');
    const [day] = res.json.days;
    expect(day.day).toBe('2026-11-10');
    expect(day.closed).toBe(false);
    expect(day.activeUsers).toBe(11);
    expect(day.activeDevices).toBe(11);
    expect(day.messages).toBe(32);
    const pool = (id: string) => day.pools.find((p: { pool: string }) => p.pool === id)?.messages;
    expect(pool('ward')).toBe(17);
    expect(pool('east')).toBe(15);
    // The attack: ward − ward-b would be u6's 7 messages. ward-b has 5 recipients, enough for the
    // threshold alone, but differs from ward by one person: it is suppressed.
    expect(pool('ward-b'), JSON.stringify(day)).toBeNull();
    expect(day.enrolments).toBeNull(); // devices made in the stores, none through /v1/enrol
    expect(res.json.series.activeUsers).toEqual([{ day: '2026-11-10', value: 11 }]);
    expect(res.json.minPeople).toBe(5);

    // Moving the target out of ward-b's complement changes nothing a subtraction could use:
    // u6 goes to east (6 people now); after the pools' cache time, more deliveries to u6.
    await ctx.stores.users.update(tenant, userId('u6'), { pools: ['east' as never] });
    t.time += 61_000;
    await send('u6', 4);
    await statisticsOf(ctx).flush();
    const after = (await get('/admin/v1/statistics/daily?from=2026-11-10&to=2026-11-10')).json.days[0];
    const published = [
      after.messages,
      ...after.pools.map((p: { messages: number | null }) => p.messages),
    ].filter((v): v is number => v !== null);
    // No two published figures differ by u6's messages (7, 4 or 11).
    for (const x of published) for (const y of published) expect([7, 4, 11]).not.toContain(x - y);
  });

  it('aggregates a closed day once, then deletes its sets and key; answers CSV', async () => {
    const ctx = t.server.context;
    t.time = T0 + DAY; // the next day
    await relogin();
    const members = () =>
      ctx.adapter.transaction(async (tx) => ({
        users: await tx.count(SERVER_TABLES.statsMembers, key(tenant, `d${Math.floor(T0 / DAY)}`, 'u')),
        key: await tx.get(
          SERVER_TABLES.statsKeys,
          key(tenant),
          new TextEncoder().encode(`d${Math.floor(T0 / DAY)}`),
        ),
      }));
    expect((await members()).users).toBe(11);
    const first = (await get('/admin/v1/statistics/daily?from=2026-11-10&to=2026-11-11')).json.days;
    expect(first[0].closed).toBe(true);
    expect(first[0].activeUsers).toBe(11);
    const gone = await members();
    expect(gone.users).toBe(0);
    expect(gone.key).toBeUndefined();
    // Read again: the stored aggregate, the same figures.
    const second = (await get('/admin/v1/statistics/daily?from=2026-11-10&to=2026-11-11')).json.days;
    expect(second[0]).toEqual(first[0]);
    // The new day has nobody yet: every people-based figure is suppressed.
    expect(second[1].activeUsers).toBeNull();

    const csv = await get('/admin/v1/statistics/export?from=2026-11-10&to=2026-11-11');
    expect(csv.headers['content-type']).toContain('text/csv');
    const lines = csv.body.toString().trim().split('\r\n');
    expect(lines[0]).toBe('day,scope,pool,active_users,active_devices,messages,enrolments,peak_connections');
    expect(lines[1]).toMatch(/^2026-11-10,tenant,,11,11,\d+,<5,<5$/);
    expect(lines).toContain('2026-11-10,pool,"ward-b",,,<5,,');
    expect(lines).toContain('2026-11-11,tenant,,<5,<5,<5,<5,<5');

    const monthly = await get('/admin/v1/statistics/monthly?from=2026-11&to=2026-11');
    expect(monthly.json.months[0]).toMatchObject({ month: '2026-11', closed: false, activeUsers: 11 });
  });

  it('refuses an unbounded or malformed range and changes nothing', async () => {
    for (const q of [
      'from=2024-01-01&to=2026-11-11',
      'from=2026-11-12&to=2026-11-11',
      'to=2027-01-01',
      'from=2026-13-01',
    ]) {
      const res = await t.as({ session }, 'GET', `/admin/v1/statistics/daily?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.json.error.code).toBe('ERR_VALIDATION');
    }
    const res = await t.as({ session }, 'GET', '/admin/v1/statistics/monthly?from=2020-01&to=2026-11');
    expect(res.status).toBe(400);
  });

  it('lets an auditor read the figures; a user-manager is refused', async () => {
    await relogin();
    const owner = { session };
    const make = async (role: string) => {
      const email = `${role}@st.example`;
      const created = await t.as(owner, 'POST', '/admin/v1/administrators', {
        json: { email, name: role, role, password: PASSWORD },
      });
      expect(created.status).toBe(201);
      return login(t, 'st', email, secretOf(created.json.totpUri));
    };
    const auditor = await make('auditor');
    expect((await t.as({ session: auditor }, 'GET', '/admin/v1/statistics/daily')).status).toBe(200);
    const manager = await make('user-manager');
    expect((await t.as({ session: manager }, 'GET', '/admin/v1/statistics/daily')).status).toBe(403);
  });
});
