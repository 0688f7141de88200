/**
 * The archive store's filing sequence numbers, crypto-shredding at rest and legal-hold freeze
 * (issue 19, `spec/archive-server.md`, `spec/retention.md` §8), on memory (plain and encrypted at
 * rest), PGlite and PostgreSQL (with DATABASE_URL): sequence numbers are consecutive per tenant,
 * also under concurrent filings; the stored row never holds the seal in plain; after the retention
 * (a controlled clock) the item is gone from reads and its raw row, and a copy of the database taken
 * before, cannot be opened once the period key is destroyed — the attack of someone holding a
 * backup; a hold keeps everything readable past its expiry, and lifting it deletes what expired.
 */
import { getProvider } from '@cloister/crypto';
import { tenantId } from '@cloister/protocol';
import {
  createEncryptedAdapter,
  createMemoryAdapter,
  createShreddingKeyring,
  type Row,
  ShreddedError,
  type StorageAdapter,
} from '@cloister/storage';
import { sqlTestTargets } from '@cloister/storage/testing';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createServerStores,
  SERVER_ORDERED_TABLES,
  SERVER_TABLES,
  type ServerStores,
} from '../src/store/index.js';

const acme = tenantId('acme');
const other = tenantId('other');
const DAY = 86_400_000;
const PERIOD = 60_000;
const T0 = Date.UTC(2026, 10, 10);
const seal = (n: number) => new Uint8Array(200).fill(n);
const partition = new TextEncoder().encode('acme');

interface Target {
  name: string;
  open(now: () => number): Promise<StorageAdapter>;
  cleanup(): Promise<void>;
}
const sql = sqlTestTargets('archive', { databaseUrl: process.env.DATABASE_URL || undefined });
const targets: Target[] = [
  { name: 'memory', open: async (now) => createMemoryAdapter({ now }), cleanup: async () => {} },
  {
    name: 'memory, encrypted at rest',
    open: async (now) =>
      createEncryptedAdapter(createMemoryAdapter({ now }), {
        dataKey: new Uint8Array(32).fill(9),
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

describe.each(targets.map((t) => [t.name, t] as const))('archive store on %s', (_name, target) => {
  let time = T0;
  let db: StorageAdapter | undefined;
  let stores: ServerStores;

  beforeEach(async () => {
    await db?.close();
    time = T0;
    db = await target.open(() => time);
    stores = createServerStores(db, { archiveShredPeriodMs: PERIOD });
    await stores.tenants.create(acme, { name: 'ACME', signingKey: new Uint8Array(32) });
    await stores.tenants.create(other, { name: 'Other', signingKey: new Uint8Array(32) });
  });

  afterAll(async () => {
    await db?.close();
    db = undefined;
    await target.cleanup();
  });

  const raw = (id: string) =>
    (db as StorageAdapter).transaction((tx) =>
      tx.get(SERVER_TABLES.archive, partition, new Uint8Array(Buffer.from(id, 'hex'))),
    );
  const contains = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay).includes(Buffer.from(needle));

  it('numbers filings per tenant, consecutively, also when they race; keeps the delivery id', async () => {
    const deliveryId = new Uint8Array(16).fill(7);
    const first = await stores.archive.append(acme, { sealed: seal(1), expiresAt: time + DAY, deliveryId });
    expect(first).toMatchObject({ seq: 1, deliveryId, heldExpiresAt: null, expiresAt: time + DAY });
    expect((await stores.archive.append(other, { sealed: seal(2), expiresAt: null })).seq).toBe(1);
    const raced = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        stores.archive.append(acme, { sealed: seal(i + 3), expiresAt: time + DAY }),
      ),
    );
    expect(raced.map((r) => r.seq).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
      Array.from({ length: 12 }, (_, i) => i + 2),
    );
    expect(await stores.archive.state(acme)).toEqual({ lastSeq: 13, held: false });
    const got = await stores.archive.get(acme, first.id);
    expect(got).toEqual(first);
    await expect(
      stores.archive.append(acme, { sealed: seal(1), expiresAt: null, deliveryId: new Uint8Array(15) }),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION', field: 'deliveryId' });
  });

  it('reads rows filed before numbering and shredding (the seal in plain) as seq null', async () => {
    const sort = new Uint8Array(16).fill(1);
    const { encodeRecord } = await import('@cloister/storage');
    await (db as StorageAdapter).transaction((tx) =>
      tx.put(SERVER_TABLES.archive, {
        partition,
        sort,
        value: encodeRecord(1, { sealed: seal(5), receivedAt: 5, size: 200, counted: true }),
        expiresAt: time + DAY,
      }),
    );
    const old = await stores.archive.get(acme, Buffer.from(sort).toString('hex'));
    expect(old).toMatchObject({ seq: null, deliveryId: null, sealed: seal(5), receivedAt: 5 });
    await stores.archive.hold(acme);
    time += 2 * DAY;
    expect((await stores.archive.get(acme, Buffer.from(sort).toString('hex')))?.sealed).toEqual(seal(5));
    expect(await stores.archive.release(acme)).toEqual({ restored: 0, deleted: 1 });
    expect(await stores.archive.get(acme, Buffer.from(sort).toString('hex'))).toBeUndefined();
  });

  it('stores the seal shredded; after the retention the row, and a copy taken before, cannot be opened', async () => {
    const secret = new Uint8Array(200).map((_, i) => (i * 7 + 3) % 251);
    const item = await stores.archive.append(acme, { sealed: secret, expiresAt: time + 5 * PERIOD });
    const row = (await raw(item.id)) as Row;
    // The attacker's copy of the database (the archive table) before the expiry.
    const copy: Row[] = await (db as StorageAdapter).transaction((tx) =>
      tx.list(SERVER_TABLES.archive, partition, { limit: 100 }),
    );
    expect(contains(row.value, secret)).toBe(false);
    expect((await stores.archive.get(acme, item.id))?.sealed).toEqual(secret);

    time += 5 * PERIOD + 1;
    expect(await stores.archive.get(acme, item.id)).toBeUndefined();
    expect((await stores.archive.list(acme)).items).toEqual([]);
    await (db as StorageAdapter).purgeExpired({ tables: [SERVER_TABLES.archive, SERVER_TABLES.archiveKeys] });
    expect(await raw(item.id)).toBeUndefined();

    // The copy, put back into a database with the live key table: noise.
    const restored = createMemoryAdapter({ now: () => time });
    const keys = await (db as StorageAdapter).transaction((tx) =>
      tx.list(SERVER_TABLES.archiveKeys, partition, { limit: 100 }),
    );
    await restored.transaction(async (tx) => {
      for (const r of copy) await tx.put(SERVER_TABLES.archive, { ...r, expiresAt: null });
      for (const k of keys) await tx.put(SERVER_TABLES.archiveKeys, { ...k, expiresAt: null });
    });
    const restoredStores = createServerStores(restored);
    await expect(restoredStores.archive.get(acme, item.id)).resolves.toBeUndefined();
    expect((await restoredStores.archive.list(acme)).items).toEqual([]);
    const { decodeRecord } = await import('@cloister/storage');
    const box = (decodeRecord((copy[0] as Row).value, 'x').d as { box: Uint8Array }).box;
    const keyring = createShreddingKeyring({
      adapter: db as StorageAdapter,
      provider: await getProvider(),
      periodMs: PERIOD,
      table: SERVER_TABLES.archiveKeys,
      scope: 'acme',
    });
    await expect(keyring.open(box)).rejects.toBeInstanceOf(ShreddedError);
  });

  it('a row moved to another tenant or id does not open (the ciphertext is bound to both)', async () => {
    const item = await stores.archive.append(acme, { sealed: seal(9), expiresAt: time + DAY });
    const row = (await raw(item.id)) as Row;
    const otherSort = new Uint8Array(16).fill(2);
    await (db as StorageAdapter).transaction(async (tx) => {
      await tx.put(SERVER_TABLES.archive, { ...row, partition: new TextEncoder().encode('other') });
      await tx.put(SERVER_TABLES.archive, { ...row, sort: otherSort });
    });
    // Under another tenant: that tenant's keyring has no key of the period (not shredded: altered).
    await expect(stores.archive.get(other, item.id)).rejects.toMatchObject({ code: 'ERR_DECODE' });
    await expect(stores.archive.get(acme, Buffer.from(otherSort).toString('hex'))).rejects.toMatchObject({
      code: 'ERR_DECODE',
    });
    expect((await stores.archive.get(acme, item.id))?.sealed).toEqual(seal(9));
    // Listings leave them out (a gap), and one bad row blocks no read.
    expect((await stores.archive.list(other)).items).toEqual([]);
    expect((await stores.archive.list(acme)).items.map((i) => i.id)).toEqual([item.id]);
  });

  it('a hold racing filings leaves no item and no key that can still expire', async () => {
    const filings = Array.from({ length: 16 }, (_, i) =>
      stores.archive.append(acme, { sealed: seal(i), expiresAt: time + (i + 1) * PERIOD }),
    );
    await Promise.all([...filings.slice(0, 8), stores.archive.hold(acme), ...filings.slice(8)]);
    const all = await stores.archive.list(acme, { limit: 100 });
    expect(all.items).toHaveLength(16);
    expect(all.items.every((i) => i.expiresAt === null && i.heldExpiresAt !== null)).toBe(true);
    const keys = await (db as StorageAdapter).transaction((tx) =>
      tx.list(SERVER_TABLES.archiveKeys, partition, { limit: 100 }),
    );
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((k) => k.expiresAt === null)).toBe(true);
    time += 100 * PERIOD;
    await (db as StorageAdapter).purgeExpired();
    expect((await stores.archive.list(acme, { limit: 100 })).items).toHaveLength(16);
  });

  it('a hold keeps the archive readable past its expiry; lifting it deletes what expired', async () => {
    const early = await stores.archive.append(acme, { sealed: seal(1), expiresAt: time + 2 * PERIOD });
    time += 1;
    const late = await stores.archive.append(acme, { sealed: seal(2), expiresAt: time + 100 * PERIOD });
    time += 1;
    const forever = await stores.archive.append(acme, { sealed: seal(3), expiresAt: null });
    const elsewhere = await stores.archive.append(other, { sealed: seal(4), expiresAt: time + 2 * PERIOD });
    expect(await stores.archive.hold(acme)).toBe(2);
    expect(await stores.archive.hold(acme)).toBe(0);
    time += PERIOD;
    // Filed during the hold: frozen as filed.
    const during = await stores.archive.append(acme, { sealed: seal(5), expiresAt: time + PERIOD });
    expect(during).toMatchObject({ expiresAt: null, heldExpiresAt: time + PERIOD });

    time += 10 * PERIOD;
    await (db as StorageAdapter).purgeExpired();
    const held = await stores.archive.list(acme);
    expect(held.items.map((i) => i.seq)).toEqual([1, 2, 3, 4]);
    expect(held.items[0]).toMatchObject({ sealed: seal(1), expiresAt: null, heldExpiresAt: early.expiresAt });
    expect(await stores.archive.get(other, elsewhere.id)).toBeUndefined();
    expect(await stores.usage.read({ kind: 'tenant-archive', tenant: acme })).toMatchObject({ count: 4 });

    expect(await stores.archive.release(acme)).toEqual({ restored: 1, deleted: 2 });
    expect(await stores.archive.state(acme)).toEqual({ lastSeq: 4, held: false });
    const after = await stores.archive.list(acme);
    expect(after.items.map((i) => i.id)).toEqual([late.id, forever.id]);
    expect(after.items[0]).toMatchObject({ expiresAt: late.expiresAt, heldExpiresAt: null, sealed: seal(2) });
    expect(await raw(early.id)).toBeUndefined();
    expect(await raw(during.id)).toBeUndefined();
    expect(await stores.usage.read({ kind: 'tenant-archive', tenant: acme })).toMatchObject({ count: 2 });
    // The ended periods' keys are gone: nothing of the deleted items can be opened again.
    const keys = await (db as StorageAdapter).transaction((tx) =>
      tx.list(SERVER_TABLES.archiveKeys, partition, { limit: 100 }),
    );
    expect(keys.every((k) => k.expiresAt !== null && k.expiresAt > time)).toBe(true);
    // The kept item expires as before.
    time = (late.expiresAt as number) + 1;
    expect(await stores.archive.get(acme, late.id)).toBeUndefined();
  });
});
