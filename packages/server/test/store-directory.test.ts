import { type CloisterError, DecodeError, deviceId, registrationId, utf8 } from '@cloister/crypto';
import { mailboxId, poolId, tenantId, userId } from '@cloister/protocol';
import type { StorageAdapter } from '@cloister/storage';
import { createMemoryAdapter, encodeRecord } from '@cloister/storage';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ConflictError,
  createServerStores,
  type DeviceInput,
  NotFoundError,
  SERVER_TABLES,
  type ServerStores,
} from '../src/store/index.js';

async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
  detail?: Record<string, string>,
): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${code}`).toBeDefined();
  expect((error as CloisterError).code).toBe(code);
  for (const [k, v] of Object.entries(detail ?? {}))
    expect((error as unknown as Record<string, unknown>)[k]).toBe(v);
}

const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
const identity = (v: number) => ({
  signingKey: fill(32, v),
  dhKey: fill(32, v + 1),
  dhKeySignature: fill(64, v + 2),
});
const deviceInput = (n: number): DeviceInput => ({
  identity: identity(n),
  registrationId: registrationId(1000 + n),
  mailbox: mailboxId(`mbx_${n}`),
  credentialHash: fill(32, n),
});

const acme = tenantId('acme');
const other = tenantId('other');
const alice = userId('alice');
const bob = userId('bob');
const ward = poolId('ward-3');
const pharmacy = poolId('pharmacy');

let time = 1_000_000;
let db: StorageAdapter;
let stores: ServerStores;

beforeEach(async () => {
  time = 1_000_000;
  db = createMemoryAdapter({ now: () => time });
  stores = createServerStores(db);
  await stores.tenants.create(acme, { name: 'ACME', signingKey: fill(32, 7) });
  await stores.tenants.create(other, { name: 'Other', signingKey: fill(32, 8), settings: { locale: 'de' } });
});

/** Every row of every server table, for "nothing was written" checks. */
async function snapshot(): Promise<string> {
  return db.transaction(async (tx) => {
    const out: string[] = [];
    for (const table of Object.values(SERVER_TABLES)) {
      // Partitions are not enumerable through the contract; count the ones the tests use.
      for (const p of ['', 'acme', 'other', 'acme\u0000alice', 'acme\u0000bob', 'acme\u0000ward-3']) {
        const rows = await tx.list(table, utf8(p), { limit: 1000 });
        out.push(`${table}/${p}:${rows.length}`);
      }
    }
    return out.join(',');
  });
}

describe('tenants and domains', () => {
  it('creates, reads, updates and lists tenants', async () => {
    const t = await stores.tenants.get(other);
    expect(t?.name).toBe('Other');
    expect(t?.settings).toEqual({ locale: 'de' });
    expect(t?.createdAt).toBe(1_000_000);
    const u = await stores.tenants.update(other, { name: 'Other GmbH' });
    expect(u.name).toBe('Other GmbH');
    expect(u.signingKey).toEqual(fill(32, 8));
    const page = await stores.tenants.list({ limit: 1 });
    expect(page.items).toHaveLength(1);
    expect(page.next).toBeDefined();
    const rest = await stores.tenants.list({ after: page.next as string });
    expect([...page.items, ...rest.items].map((x) => x.id).sort()).toEqual(['acme', 'other']);
    await rejectsWith(stores.tenants.create(acme, { name: 'x', signingKey: fill(32, 1) }), 'ERR_STORAGE', {
      constraint: 'tenant',
    });
    await rejectsWith(stores.tenants.update(tenantId('nope'), { name: 'x' }), 'ERR_STORAGE', {
      what: 'tenant',
    });
  });

  it('refuses bad tenant input with ValidationError naming the field', async () => {
    await rejectsWith(
      stores.tenants.create(tenantId('t2'), { name: '', signingKey: fill(32, 1) }),
      'ERR_VALIDATION',
      {
        field: 'name',
      },
    );
    await rejectsWith(
      stores.tenants.create(tenantId('t2'), { name: 'T', signingKey: fill(31, 1) }),
      'ERR_VALIDATION',
      {
        field: 'signingKey',
      },
    );
    await rejectsWith(
      stores.tenants.create('bad id' as never, { name: 'T', signingKey: fill(32, 1) }),
      'ERR_VALIDATION',
      {
        field: 'id',
      },
    );
    await rejectsWith(
      stores.tenants.create(tenantId('t2'), {
        name: 'T',
        signingKey: fill(32, 1),
        settings: { f: () => 1 } as never,
      }),
      'ERR_VALIDATION',
    );
    expect(await stores.tenants.get(tenantId('t2'))).toBeUndefined();
  });

  it('gives each domain to one tenant only', async () => {
    expect(await stores.domains.add(acme, 'ACME.example')).toBe(true);
    expect(await stores.domains.add(acme, 'acme.example')).toBe(false);
    const before = await snapshot();
    await rejectsWith(stores.domains.add(other, 'acme.example'), 'ERR_STORAGE', { constraint: 'domain' });
    expect(await snapshot()).toBe(before);
    expect(await stores.domains.tenantOf('acme.EXAMPLE')).toBe('acme');
    expect(await stores.domains.list(other)).toEqual([]);
    await stores.domains.add(acme, 'mail.acme.example');
    expect((await stores.domains.list(acme)).sort()).toEqual(['acme.example', 'mail.acme.example']);
    expect(await stores.domains.remove(other, 'acme.example')).toBe(false);
    expect(await stores.domains.remove(acme, 'acme.example')).toBe(true);
    expect(await stores.domains.add(other, 'acme.example')).toBe(true);
    await rejectsWith(stores.domains.add(tenantId('ghost'), 'ghost.example'), 'ERR_STORAGE', {
      what: 'tenant',
    });
    for (const bad of [
      '',
      'localhost',
      '-a.example',
      'a..example',
      'a_b.example',
      `${'x'.repeat(64)}.example`,
    ]) {
      await rejectsWith(stores.domains.add(acme, bad), 'ERR_VALIDATION', { field: 'domain' });
    }
  });
});

describe('users and pools', () => {
  beforeEach(async () => {
    await stores.pools.put(acme, ward, { name: 'Ward 3', mayContact: [pharmacy] });
    await stores.pools.put(acme, pharmacy, { name: 'Pharmacy' });
  });

  it('creates users with pools and roles, finds users of a pool, keeps the index in step', async () => {
    const a = await stores.users.create(acme, alice, {
      displayName: 'Alice',
      pools: [ward],
      roles: ['auditor', 'admin'],
    });
    expect(a.roles).toEqual(['admin', 'auditor']);
    await stores.users.create(acme, bob, { displayName: 'Bob', pools: [ward, pharmacy] });
    expect((await stores.users.listByPool(acme, ward)).items.sort()).toEqual(['alice', 'bob']);
    expect((await stores.users.listByPool(acme, pharmacy)).items).toEqual(['bob']);
    await stores.users.update(acme, bob, { pools: [pharmacy], blocked: true });
    expect((await stores.users.listByPool(acme, ward)).items).toEqual(['alice']);
    const b = await stores.users.get(acme, bob);
    expect(b?.blocked).toBe(true);
    expect(b?.pools).toEqual(['pharmacy']);
    expect(await stores.users.get(other, bob)).toBeUndefined();
    const page1 = await stores.users.list(acme, { limit: 1 });
    const page2 = await stores.users.list(acme, { after: page1.next as string });
    expect([...page1.items, ...page2.items].map((u) => u.id).sort()).toEqual(['alice', 'bob']);
    expect(page2.next).toBeUndefined();
  });

  it('refuses duplicates, unknown pools and unknown roles, writing nothing', async () => {
    await stores.users.create(acme, alice, { displayName: 'Alice' });
    const before = await snapshot();
    await rejectsWith(stores.users.create(acme, alice, { displayName: 'Alice 2' }), 'ERR_STORAGE', {
      constraint: 'user',
    });
    await rejectsWith(
      stores.users.create(acme, bob, { displayName: 'Bob', pools: [poolId('nope')] }),
      'ERR_STORAGE',
      {
        what: 'pool',
      },
    );
    await rejectsWith(
      stores.users.create(acme, bob, { displayName: 'Bob', roles: ['root' as never] }),
      'ERR_VALIDATION',
    );
    await rejectsWith(
      stores.users.create(acme, bob, { displayName: 'Bob', pools: [ward, ward] }),
      'ERR_VALIDATION',
      {
        field: 'pools',
      },
    );
    await rejectsWith(stores.users.create(acme, bob, { displayName: 'B\u0000b' }), 'ERR_VALIDATION', {
      field: 'displayName',
    });
    await rejectsWith(stores.users.update(acme, bob, { blocked: true }), 'ERR_STORAGE', { what: 'user' });
    await expect(stores.users.update(acme, bob, { blocked: true })).rejects.toBeInstanceOf(NotFoundError);
    expect(await snapshot()).toBe(before);
  });

  it('deletes pools only when empty', async () => {
    await stores.users.create(acme, alice, { displayName: 'Alice', pools: [ward] });
    await rejectsWith(stores.pools.delete(acme, ward), 'ERR_STORAGE', { constraint: 'pool' });
    await stores.users.update(acme, alice, { pools: [] });
    expect(await stores.pools.delete(acme, ward)).toBe(true);
    expect(await stores.pools.delete(acme, ward)).toBe(false);
    expect((await stores.pools.get(acme, pharmacy))?.mayContact).toEqual([]);
    expect((await stores.pools.list(acme)).items.map((p) => p.id)).toEqual(['pharmacy']);
  });
});

describe('devices', () => {
  beforeEach(async () => {
    await stores.users.create(acme, alice, { displayName: 'Alice' });
    await stores.users.create(acme, bob, { displayName: 'Bob' });
  });

  it('adds devices and finds them by user, mailbox and credential hash', async () => {
    const d = await stores.devices.add(acme, alice, deviceId(1), deviceInput(1));
    await stores.devices.add(acme, alice, deviceId(2), deviceInput(2));
    expect(d.lastSeenAt).toBeNull();
    expect((await stores.devices.list(acme, alice)).map((x) => x.id)).toEqual([1, 2]);
    expect((await stores.devices.byMailbox(mailboxId('mbx_2')))?.id).toBe(2);
    const byHash = await stores.devices.byCredentialHash(fill(32, 1));
    expect(byHash?.user).toBe('alice');
    expect(byHash?.identity).toEqual(identity(1));
    expect(await stores.devices.byCredentialHash(fill(32, 9))).toBeUndefined();
    time += 5000;
    expect(await stores.devices.touch(acme, alice, deviceId(1))).toBe(true);
    expect((await stores.devices.get(acme, alice, deviceId(1)))?.lastSeenAt).toBe(1_005_000);
    expect(await stores.devices.touch(acme, alice, deviceId(9))).toBe(false);
  });

  it('refuses a second device with the same credential hash or mailbox, writing nothing', async () => {
    await stores.devices.add(acme, alice, deviceId(1), deviceInput(1));
    const before = await snapshot();
    await rejectsWith(
      stores.devices.add(acme, bob, deviceId(1), { ...deviceInput(2), credentialHash: fill(32, 1) }),
      'ERR_STORAGE',
      { constraint: 'device.credential' },
    );
    await rejectsWith(
      stores.devices.add(acme, bob, deviceId(1), { ...deviceInput(2), mailbox: mailboxId('mbx_1') }),
      'ERR_STORAGE',
      { constraint: 'device.mailbox' },
    );
    await rejectsWith(stores.devices.add(acme, alice, deviceId(1), deviceInput(3)), 'ERR_STORAGE', {
      constraint: 'device',
    });
    await rejectsWith(stores.devices.add(acme, userId('ghost'), deviceId(1), deviceInput(4)), 'ERR_STORAGE', {
      what: 'user',
    });
    expect(await snapshot()).toBe(before);
    expect(await stores.devices.list(acme, bob)).toEqual([]);
    expect(await stores.devices.byMailbox(mailboxId('mbx_2'))).toBeUndefined();
    expect(await stores.devices.byCredentialHash(fill(32, 2))).toBeUndefined();
    const err = await stores.devices
      .add(acme, bob, deviceId(1), { ...deviceInput(2), credentialHash: fill(32, 1) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(String((err as Error).message)).not.toContain('bob');
  });

  it('rotates a credential hash and frees the old one', async () => {
    await stores.devices.add(acme, alice, deviceId(1), deviceInput(1));
    await stores.devices.add(acme, bob, deviceId(1), deviceInput(2));
    await rejectsWith(
      stores.devices.update(acme, alice, deviceId(1), { credentialHash: fill(32, 2) }),
      'ERR_STORAGE',
      {
        constraint: 'device.credential',
      },
    );
    await stores.devices.update(acme, alice, deviceId(1), { credentialHash: fill(32, 5), blocked: true });
    expect(await stores.devices.byCredentialHash(fill(32, 1))).toBeUndefined();
    expect((await stores.devices.byCredentialHash(fill(32, 5)))?.blocked).toBe(true);
  });

  it('removes a device with its index rows, and a user with all its devices', async () => {
    await stores.devices.add(acme, alice, deviceId(1), deviceInput(1));
    await stores.devices.add(acme, alice, deviceId(2), deviceInput(2));
    expect(await stores.devices.remove(acme, alice, deviceId(1))).toBe(true);
    expect(await stores.devices.remove(acme, alice, deviceId(1))).toBe(false);
    expect(await stores.devices.byMailbox(mailboxId('mbx_1'))).toBeUndefined();
    // The freed mailbox and hash can be used again.
    await stores.devices.add(acme, bob, deviceId(1), deviceInput(1));
    expect(await stores.users.delete(acme, alice)).toBe(true);
    expect(await stores.devices.byCredentialHash(fill(32, 2))).toBeUndefined();
    expect(await stores.users.get(acme, alice)).toBeUndefined();
    expect(await stores.users.delete(acme, alice)).toBe(false);
  });

  it('validates device input', async () => {
    const good = deviceInput(1);
    const cases: [unknown, string][] = [
      [{ ...good, identity: { ...good.identity, dhKey: fill(31, 1) } }, 'identity.dhKey'],
      [{ ...good, registrationId: -1 }, 'registrationId'],
      [{ ...good, mailbox: 'has space' }, 'mailbox'],
      [{ ...good, credentialHash: fill(8, 1) }, 'credentialHash'],
      [{ ...good, blocked: 'no' }, 'blocked'],
    ];
    for (const [input, field] of cases) {
      await rejectsWith(
        stores.devices.add(acme, alice, deviceId(1), input as DeviceInput),
        'ERR_VALIDATION',
        { field },
      );
    }
    await rejectsWith(stores.devices.add(acme, alice, (2 ** 32) as never, good), 'ERR_VALIDATION', {
      field: 'id',
    });
    expect(await stores.devices.list(acme, alice)).toEqual([]);
  });

  it('reports a corrupted record as DecodeError', async () => {
    await stores.devices.add(acme, alice, deviceId(1), deviceInput(1));
    await db.transaction(async (tx) => {
      const [row] = await tx.list(SERVER_TABLES.devices, utf8('acme\u0000alice'));
      if (row === undefined) throw new Error('missing row');
      await tx.put(SERVER_TABLES.devices, {
        ...row,
        value: encodeRecord(1, { tenant: 'acme', user: 'alice', device: 1 }),
      });
    });
    await expect(stores.devices.get(acme, alice, deviceId(1))).rejects.toBeInstanceOf(DecodeError);
    await db.transaction(async (tx) => {
      const [row] = await tx.list(SERVER_TABLES.devices, utf8('acme\u0000alice'));
      if (row === undefined) throw new Error('missing row');
      await tx.put(SERVER_TABLES.devices, { ...row, value: encodeRecord(2, {}) });
    });
    await expect(stores.devices.list(acme, alice)).rejects.toBeInstanceOf(DecodeError);
    await db.transaction(async (tx) => {
      await tx.put(SERVER_TABLES.users, {
        partition: utf8('acme'),
        sort: utf8('bob'),
        value: utf8('not json'),
      });
    });
    await expect(stores.users.get(acme, bob)).rejects.toBeInstanceOf(DecodeError);
  });
});

describe('createServerStores', () => {
  it('refuses a bad adapter, provider or blob limit', () => {
    expect(() => createServerStores({} as never)).toThrow(
      expect.objectContaining({ code: 'ERR_VALIDATION', field: 'adapter' }),
    );
    expect(() => createServerStores(db, { provider: {} as never })).toThrow(
      expect.objectContaining({ code: 'ERR_VALIDATION', field: 'provider' }),
    );
    expect(() => createServerStores(db, { maxBlobBytes: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_VALIDATION', field: 'maxBlobBytes' }),
    );
  });
});

describe('the bundle transaction', () => {
  it('commits every store together', async () => {
    await stores.transaction(async (s) => {
      await s.users.create(acme, alice, { displayName: 'Alice' });
      await s.devices.add(acme, alice, deviceId(1), deviceInput(1));
      await s.audit.append(acme, {
        actor: 'admin',
        action: 'user.create',
        target: 'alice',
        outcome: 'success',
      });
    });
    expect(await stores.users.get(acme, alice)).toBeDefined();
    expect((await stores.audit.head(acme))?.seq).toBe(1);
  });

  it('leaves nothing of a refused call behind when the caller catches the error and commits', async () => {
    await stores.users.create(acme, alice, { displayName: 'Alice' });
    await stores.users.create(acme, bob, { displayName: 'Bob' });
    await stores.devices.add(acme, bob, deviceId(1), deviceInput(1));
    await stores.domains.add(acme, 'acme.example');
    const before = await snapshot();
    const codes = await stores.transaction(async (s) => {
      const out: string[] = [];
      for (const attempt of [
        () => s.devices.add(acme, alice, deviceId(1), { ...deviceInput(2), credentialHash: fill(32, 1) }),
        () => s.devices.add(acme, alice, deviceId(1), { ...deviceInput(2), mailbox: mailboxId('mbx_1') }),
        () => s.domains.add(other, 'acme.example'),
      ]) {
        await attempt().catch((e: ConflictError) => out.push(e.constraint));
      }
      return out;
    });
    expect(codes).toEqual(['device.credential', 'device.mailbox', 'domain']);
    expect(await snapshot()).toBe(before);
    expect(await stores.devices.byMailbox(mailboxId('mbx_2'))).toBeUndefined();
    expect(await stores.devices.byCredentialHash(fill(32, 2))).toBeUndefined();
    expect(await stores.devices.list(acme, alice)).toEqual([]);
  });

  it('commits nothing when one step fails', async () => {
    await stores.users.create(acme, bob, { displayName: 'Bob' });
    await stores.devices.add(acme, bob, deviceId(1), deviceInput(1));
    const before = await snapshot();
    const failure = stores.transaction(async (s) => {
      await s.users.create(acme, alice, { displayName: 'Alice' });
      await s.audit.append(acme, {
        actor: 'admin',
        action: 'device.add',
        target: 'alice',
        outcome: 'success',
      });
      await s.mailboxes.enqueue(mailboxId('mbx_1'), {
        messageId: 'm1' as never,
        envelope: fill(10, 1),
        expiresAt: time + 1,
      });
      // Same credential hash as bob's device: the whole transaction must roll back.
      await s.devices.add(acme, alice, deviceId(1), { ...deviceInput(2), credentialHash: fill(32, 1) });
    });
    await expect(failure).rejects.toBeInstanceOf(ConflictError);
    expect(await snapshot()).toBe(before);
    expect(await stores.users.get(acme, alice)).toBeUndefined();
    expect(await stores.audit.head(acme)).toBeUndefined();
    expect(await stores.mailboxes.count(mailboxId('mbx_1'))).toBe(0);
  });
});
