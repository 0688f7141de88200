/**
 * The administrator store (spec/admin-auth.md, spec/storage-server.md): humans and integrations,
 * unique e-mail and key claims that write nothing when refused, a TOTP step accepted once and
 * only forwards, single-use recovery code hashes, and sessions that expire at their absolute end.
 * Runs on memory, on memory under encryption at rest, on PGlite and, with `DATABASE_URL`, on
 * PostgreSQL.
 */
import { type CloisterError, getProvider } from '@cloister/crypto';
import { tenantId } from '@cloister/protocol';
import { createEncryptedAdapter, createMemoryAdapter, type StorageAdapter } from '@cloister/storage';
import { sqlTestTargets } from '@cloister/storage/testing';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createServerStores, SERVER_ORDERED_TABLES, type ServerStores } from '../src/store/index.js';

const acme = tenantId('acme');
const other = tenantId('other');
const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
const id = (c: string) => `adm_${c.repeat(22)}`;
const human = (email: string) => ({
  email,
  name: 'Ops',
  role: 'owner' as const,
  passwordHash: '$scrypt$v=1$ln=17,r=8,p=1$xxxx$yyyy',
  totpSecret: fill(20, 7),
  recoveryCodeHashes: [fill(32, 1), fill(32, 2)],
});

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (e) {
    const err = e as CloisterError & { constraint?: string; what?: string };
    return [err.code, err.constraint ?? err.what].filter(Boolean).join(':');
  }
  return undefined;
}

interface Target {
  readonly name: string;
  open(now: () => number): Promise<StorageAdapter>;
  cleanup(): Promise<void>;
}
const sql = sqlTestTargets('administrators', { databaseUrl: process.env.DATABASE_URL || undefined });
const targets: Target[] = [
  { name: 'memory', open: async (now) => createMemoryAdapter({ now }), cleanup: async () => {} },
  {
    name: 'memory, encrypted at rest',
    open: async (now) =>
      createEncryptedAdapter(createMemoryAdapter({ now }), {
        dataKey: fill(32, 9),
        provider: await getProvider(),
        orderedTables: SERVER_ORDERED_TABLES,
      }),
    cleanup: async () => {},
  },
  ...sql.map((t) => ({
    name: t.name,
    open: (now: () => number) => t.open(now, 8),
    cleanup: () => t.cleanup(),
  })),
];

describe.each(targets.map((t) => [t.name, t] as const))('administrator store on %s', (_name, target) => {
  let time = 1_000;
  let db: StorageAdapter | undefined;
  let stores: ServerStores;

  beforeEach(async () => {
    await db?.close();
    time = 1_000;
    db = await target.open(() => time);
    stores = createServerStores(db);
    await stores.tenants.create(acme, { name: 'ACME', signingKey: fill(32, 1) });
    await stores.tenants.create(other, { name: 'Other', signingKey: fill(32, 2) });
  });

  afterAll(async () => {
    await db?.close();
    db = undefined;
    await target.cleanup();
  });

  it('creates humans and integrations, finds them by id, e-mail and key hash, per tenant', async () => {
    const a = await stores.administrators.create(acme, id('a'), human('Ops@Acme.Example'));
    expect(a).toMatchObject({
      id: id('a'),
      tenant: acme,
      email: 'ops@acme.example',
      role: 'owner',
      disabled: false,
    });
    expect(a.totp).toEqual({ secret: fill(20, 7), state: 'pending', lastStep: 0 });
    expect(await stores.administrators.get(acme, id('a'))).toEqual(a);
    expect(await stores.administrators.byEmail(acme, ' OPS@acme.example ')).toEqual(a);
    expect(await stores.administrators.byEmail(other, 'ops@acme.example')).toBeUndefined();
    const k = await stores.administrators.create(acme, id('k'), {
      email: 'hr@acme.example',
      name: 'HR sync',
      role: 'integration',
      keyHash: fill(32, 5),
      scopes: ['users.read', 'audit.read'],
    });
    expect(k.scopes).toEqual(['audit.read', 'users.read']);
    expect(k.passwordHash).toBeUndefined();
    expect(await stores.administrators.byKeyHash(fill(32, 5))).toEqual(k);
    expect(await stores.administrators.byKeyHash(fill(32, 6))).toBeUndefined();
    expect((await stores.administrators.list(acme)).items.map((x) => x.id).sort()).toEqual([
      id('a'),
      id('k'),
    ]);
    expect((await stores.administrators.list(other)).items).toEqual([]);
  });

  it('refuses duplicates, unknown tenants and bad arguments, writing nothing', async () => {
    await stores.administrators.create(acme, id('a'), human('ops@acme.example'));
    expect(await code(stores.administrators.create(acme, id('a'), human('x@acme.example')))).toBe(
      'ERR_STORAGE:admin',
    );
    expect(await code(stores.administrators.create(acme, id('b'), human('OPS@acme.example')))).toBe(
      'ERR_STORAGE:admin.email',
    );
    expect(await stores.administrators.get(acme, id('b'))).toBeUndefined();
    const integration = {
      email: 'k@acme.example',
      name: 'K',
      role: 'integration' as const,
      keyHash: fill(32, 5),
    };
    await stores.administrators.create(acme, id('k'), integration);
    expect(
      await code(stores.administrators.create(other, id('l'), { ...integration, email: 'l@other.example' })),
    ).toBe('ERR_STORAGE:admin.key');
    expect(await stores.administrators.get(other, id('l'))).toBeUndefined();
    expect(await stores.administrators.byEmail(other, 'l@other.example')).toBeUndefined();
    expect(await code(stores.administrators.create(tenantId('nope'), id('c'), human('c@x.example')))).toBe(
      'ERR_STORAGE:tenant',
    );
    // Humans need a password and TOTP, integrations a key and neither.
    const { totpSecret: _, ...noTotp } = human('d@acme.example');
    expect(await code(stores.administrators.create(acme, id('d'), noTotp))).toBe('ERR_VALIDATION');
    expect(
      await code(
        stores.administrators.create(acme, id('d'), { ...integration, passwordHash: 'x'.repeat(20) }),
      ),
    ).toBe('ERR_VALIDATION');
    expect(await code(stores.administrators.create(acme, 'admin-1', human('e@acme.example')))).toBe(
      'ERR_VALIDATION',
    );
    expect(
      await code(stores.administrators.create(acme, id('e'), { ...human('nomail'), email: 'nomail' })),
    ).toBe('ERR_VALIDATION');
  });

  it('accepts a TOTP step once and only forwards, activating a pending TOTP', async () => {
    await stores.administrators.create(acme, id('a'), human('ops@acme.example'));
    expect(await stores.administrators.acceptTotpStep(acme, id('a'), 100)).toBe(true);
    expect((await stores.administrators.get(acme, id('a')))?.totp).toMatchObject({
      state: 'active',
      lastStep: 100,
    });
    expect(await stores.administrators.acceptTotpStep(acme, id('a'), 100)).toBe(false);
    expect(await stores.administrators.acceptTotpStep(acme, id('a'), 99)).toBe(false);
    expect(await stores.administrators.acceptTotpStep(acme, id('a'), 101)).toBe(true);
    // Two concurrent acceptances of one step: exactly one wins.
    const both = await Promise.all([
      stores.administrators.acceptTotpStep(acme, id('a'), 105),
      stores.administrators.acceptTotpStep(acme, id('a'), 105),
    ]);
    expect(both.filter(Boolean)).toHaveLength(1);
    expect(await code(stores.administrators.acceptTotpStep(acme, id('z'), 1))).toBe('ERR_STORAGE:admin');
    await stores.administrators.replaceSecondFactor(acme, id('a'), fill(20, 8), [fill(32, 3)]);
    expect((await stores.administrators.get(acme, id('a')))?.totp).toEqual({
      secret: fill(20, 8),
      state: 'pending',
      lastStep: 0,
    });
  });

  it('uses each recovery code hash once', async () => {
    await stores.administrators.create(acme, id('a'), human('ops@acme.example'));
    expect(await stores.administrators.useRecoveryCode(acme, id('a'), fill(32, 1))).toBe(true);
    expect(await stores.administrators.useRecoveryCode(acme, id('a'), fill(32, 1))).toBe(false);
    expect(await stores.administrators.useRecoveryCode(acme, id('a'), fill(32, 9))).toBe(false);
    expect((await stores.administrators.get(acme, id('a')))?.recoveryCodeHashes).toEqual([fill(32, 2)]);
  });

  it('updates name, role and the disabled flag', async () => {
    await stores.administrators.create(acme, id('a'), human('ops@acme.example'));
    const u = await stores.administrators.update(acme, id('a'), {
      role: 'auditor',
      disabled: true,
      name: 'Audit',
    });
    expect(u).toMatchObject({ role: 'auditor', disabled: true, name: 'Audit' });
    expect(await code(stores.administrators.update(acme, id('a'), { role: 'integration' }))).toBe(
      'ERR_VALIDATION',
    );
    expect(await code(stores.administrators.update(acme, id('z'), { disabled: true }))).toBe(
      'ERR_STORAGE:admin',
    );
  });

  it('keeps sessions by token hash until their absolute end', async () => {
    await stores.administrators.create(acme, id('a'), human('ops@acme.example'));
    const s = {
      tenant: acme,
      admin: id('a'),
      createdAt: 1_000,
      lastUsedAt: 1_000,
      freshFactorAt: 1_000,
      expiresAt: 5_000,
    };
    await stores.administrators.createSession(fill(32, 4), s);
    expect(await code(stores.administrators.createSession(fill(32, 4), s))).toBe('ERR_STORAGE:admin.session');
    expect(await stores.administrators.session(fill(32, 4))).toEqual(s);
    time = 2_000;
    expect(await stores.administrators.touchSession(fill(32, 4), { lastUsedAt: 2_000 })).toEqual({
      ...s,
      lastUsedAt: 2_000,
    });
    time = 5_000;
    expect(await stores.administrators.session(fill(32, 4))).toBeUndefined();
    expect(await code(stores.administrators.touchSession(fill(32, 4), { lastUsedAt: 5_000 }))).toBe(
      'ERR_STORAGE:admin.session',
    );
    time = 1_000;
    await stores.administrators.createSession(fill(32, 6), { ...s, expiresAt: 9_000 });
    expect(await stores.administrators.deleteSession(fill(32, 6))).toBe(true);
    expect(await stores.administrators.session(fill(32, 6))).toBeUndefined();
  });
});
