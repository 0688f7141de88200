/**
 * Erasure by crypto-shredding (R38): a person's user and device rows are sealed under their own
 * key; deleting the user deletes the key. The attack: the operator holds a copy of the database
 * taken before the erasure AND the storage key (encryption at rest opens), and reads it with the
 * keyring as it stands after the erasure: the personal fields cannot be read.
 */
import { deviceId, getProvider, registrationId, toHex, utf8 } from '@cloister/crypto';
import { mailboxId, poolId, tenantId, userId } from '@cloister/protocol';
import {
  createEncryptedAdapter,
  createMemoryAdapter,
  type Row,
  type StorageAdapter,
  type StorageTx,
} from '@cloister/storage';
import { describe, expect, it } from 'vitest';
import { createServerStores, SERVER_ORDERED_TABLES, SERVER_TABLES } from '../src/store/index.js';
import { hasSubjectKey, subjectSealingAdapter } from '../src/store/subjects.js';

type Mirror = Map<string, Map<string, Row>>;

/** A memory adapter whose every committed write is mirrored, so a "backup" can be copied from it. */
function mirrored(inner: StorageAdapter, mirror: Mirror): StorageAdapter {
  const at = (t: string) => {
    let m = mirror.get(t);
    if (m === undefined) {
      m = new Map();
      mirror.set(t, m);
    }
    return m;
  };
  const id = (p: Uint8Array, s: Uint8Array) => `${toHex(p)}:${toHex(s)}`;
  const wrap = (tx: StorageTx, log: (() => void)[]): StorageTx => ({
    get now() {
      return tx.now;
    },
    get: (t, p, s, o) => tx.get(t, p, s, o),
    getMany: (t, k) => tx.getMany(t, k),
    list: (t, p, o) => tx.list(t, p, o),
    count: (t, p, o) => tx.count(t, p, o),
    usage: (t, p) => tx.usage(t, p),
    put: async (t, row, o) => {
      const ok = await tx.put(t, row, o);
      if (ok) {
        const copy = { ...row, expiresAt: row.expiresAt ?? null } as Row;
        log.push(() => at(t).set(id(row.partition, row.sort), copy));
      }
      return ok;
    },
    putMany: async (t, rows, o) => {
      const oks = await tx.putMany(t, rows, o);
      rows.forEach((row, i) => {
        if (oks[i])
          log.push(() =>
            at(t).set(id(row.partition, row.sort), { ...row, expiresAt: row.expiresAt ?? null }),
          );
      });
      return oks;
    },
    delete: async (t, p, s) => {
      log.push(() => at(t).delete(id(p, s)));
      return tx.delete(t, p, s);
    },
    deleteMany: async (t, keys) => {
      for (const k of keys) log.push(() => at(t).delete(id(k.partition, k.sort)));
      return tx.deleteMany(t, keys);
    },
    deletePartition: async (t, p) => {
      const prefix = `${toHex(p)}:`;
      log.push(() => {
        for (const k of [...at(t).keys()]) if (k.startsWith(prefix)) at(t).delete(k);
      });
      return tx.deletePartition(t, p);
    },
    take: () => {
      throw new Error('not used');
    },
    claimMany: () => {
      throw new Error('not used');
    },
  });
  return {
    kind: inner.kind,
    now: inner.now,
    async transaction(fn, options) {
      let log: (() => void)[] = [];
      const result = await inner.transaction((tx) => {
        log = [];
        return fn(wrap(tx, log));
      }, options);
      for (const f of log) f();
      return result;
    },
    purgeExpired: (o) => inner.purgeExpired(o),
    close: () => inner.close(),
  };
}

/** A copy of every row: what a backup holds. */
const backupOf = (mirror: Mirror): Mirror => new Map([...mirror].map(([t, rows]) => [t, new Map(rows)]));

async function restore(rows: Iterable<[string, Row]>, now: () => number): Promise<StorageAdapter> {
  const db = createMemoryAdapter({ now });
  await db.transaction(async (tx) => {
    for (const [t, r] of rows) await tx.put(t, r);
  });
  return db;
}

const flat = (m: Mirror, filter: (t: string) => boolean): [string, Row][] =>
  [...m]
    .filter(([t]) => filter(t))
    .flatMap(([t, rows]) => [...rows.values()].map((r): [string, Row] => [t, r]));

const has = (hay: Uint8Array, needle: string) => Buffer.from(hay).includes(Buffer.from(needle));

describe('erasure by crypto-shredding', () => {
  it('leaves a backup taken before the erasure unreadable for the person, even to the holder of the storage key', async () => {
    const provider = await getProvider();
    const time = 1_800_000_000_000;
    const now = () => time;
    const storageKey = provider.randomBytes(32);
    const mirror: Mirror = new Map();
    const raw = mirrored(createMemoryAdapter({ now }), mirror);
    const atRest = (inner: StorageAdapter) =>
      createEncryptedAdapter(inner, {
        dataKey: storageKey.slice(),
        provider,
        orderedTables: SERVER_ORDERED_TABLES,
      });
    const open = (inner: StorageAdapter) => createServerStores(atRest(inner), { provider });
    const live = atRest(raw);
    const stores = createServerStores(live, { provider });
    const acme = tenantId('acme');
    const alice = userId('u-7f3a');
    const bob = userId('u-9c21');
    await stores.tenants.create(acme, { name: 'ACME', signingKey: new Uint8Array(32).fill(7) });
    await stores.pools.put(acme, poolId('ward'), { name: 'Ward' });
    for (const [u, name] of [
      [alice, 'Alice Liddell'],
      [bob, 'Bob Example'],
    ] as const) {
      await stores.users.create(acme, u, { displayName: name, pools: [poolId('ward')] });
      await stores.devices.add(acme, u, deviceId(1), {
        identity: {
          signingKey: provider.randomBytes(32),
          dhKey: provider.randomBytes(32),
          dhKeySignature: new Uint8Array(64),
        },
        registrationId: registrationId(1),
        mailbox: mailboxId(`mbx_${u}`),
        credentialHash: provider.randomBytes(32),
      });
      await stores.devices.touch(acme, u, deviceId(1), time, 'Ward-Phone/4.2.1');
    }

    // The backup: every stored row, as the database holds it (sealed at rest).
    const backup = backupOf(mirror);
    // Before the erasure, the holder of the backup and the storage key reads everything.
    const before = open(
      await restore(
        flat(backup, () => true),
        now,
      ),
    );
    expect((await before.users.get(acme, alice))?.displayName).toBe('Alice Liddell');
    expect((await before.devices.list(acme, alice))[0]?.clientVersion).toBe('Ward-Phone/4.2.1');

    // Erase alice.
    expect(await stores.users.delete(acme, alice)).toBe(true);
    expect(await live.transaction((tx) => hasSubjectKey(tx, acme, alice))).toBe(false);
    expect(await live.transaction((tx) => hasSubjectKey(tx, acme, bob))).toBe(true);

    // The attack: the old backup's data, the storage key, and the keyring as it stands now (the
    // keyring is restored only from a recent copy, spec/data-subject.md §3).
    const keyring = SERVER_TABLES.subjectKeys;
    const restored = await restore(
      [...flat(backup, (t) => t !== keyring), ...flat(mirror, (t) => t === keyring)],
      now,
    );
    const attacker = open(restored);
    // Alice's rows are in the copy…
    const rows = await atRest(restored).transaction((tx) =>
      tx.list(SERVER_TABLES.users, utf8(acme), { limit: 10 }),
    );
    expect(rows).toHaveLength(2);
    // …opened at rest, they are still sealed under the person's key: no name, no version in clear.
    for (const r of rows) {
      expect(r.value[0]).toBe(0x00);
      expect(has(r.value, 'Alice')).toBe(false);
      expect(has(r.value, 'Bob')).toBe(false);
    }
    // …and through the stores alice is gone, her device too; bob reads as before.
    expect(await attacker.users.get(acme, alice)).toBeUndefined();
    expect(await attacker.devices.list(acme, alice)).toEqual([]);
    expect((await attacker.users.get(acme, bob))?.displayName).toBe('Bob Example');
    expect((await attacker.devices.list(acme, bob))[0]?.clientVersion).toBe('Ward-Phone/4.2.1');
    const listed = (await attacker.users.list(acme)).items.map((u) => u.id);
    expect(listed).toEqual([bob]);

    // The limit, stated in the spec: a keyring copy from before the erasure brings her back.
    const wholeOldCopy = open(
      await restore(
        flat(backup, () => true),
        now,
      ),
    );
    expect((await wholeOldCopy.users.get(acme, alice))?.displayName).toBe('Alice Liddell');
  });

  it('refuses a sealed row moved to another person (the row address is authenticated)', async () => {
    const provider = await getProvider();
    const db = createMemoryAdapter();
    const stores = createServerStores(db, { provider });
    const acme = tenantId('acme');
    await stores.tenants.create(acme, { name: 'ACME', signingKey: new Uint8Array(32).fill(7) });
    await stores.users.create(acme, userId('a'), { displayName: 'A' });
    await stores.users.create(acme, userId('b'), { displayName: 'B' });
    // Copy a's sealed row over b's: opening it under b's key (and address) fails.
    await db.transaction(async (tx) => {
      const a = await tx.get(SERVER_TABLES.users, utf8(acme), utf8('a'));
      if (a === undefined) throw new Error('no row');
      await tx.put(SERVER_TABLES.users, { partition: utf8(acme), sort: utf8('b'), value: a.value });
    });
    await expect(stores.users.get(acme, userId('b'))).rejects.toMatchObject({
      code: 'ERR_DECRYPTION_FAILED',
    });
    // Sealing twice is avoided: an adapter already wrapped is not wrapped again per transaction.
    const twice = createServerStores(subjectSealingAdapter(db, provider), { provider });
    expect((await twice.users.get(acme, userId('a')))?.displayName).toBe('A');
  });
});
