/**
 * Erasure by crypto-shredding (R38): a person's user and device rows, their devices' compliance
 * reports and key bundles, their pool memberships and their signed device lists are sealed under
 * their own key; deleting the user deletes the key. The attack: the operator holds a copy of the
 * database taken before the erasure AND the storage key (encryption at rest opens), and reads it
 * with the keyring as it stands after the erasure: the personal fields cannot be read.
 */
import {
  deviceId,
  getProvider,
  kemPreKeyId,
  oneTimePreKeyId,
  registrationId,
  signedPreKeyId,
  toHex,
  uintBE,
  utf8,
} from '@cloister/crypto';
import { mailboxId, poolId, tenantId, userId } from '@cloister/protocol';
import {
  createEncryptedAdapter,
  createMemoryAdapter,
  type Row,
  type StorageAdapter,
  type StorageTx,
} from '@cloister/storage';
import { describe, expect, it } from 'vitest';
import {
  createServerStores,
  SERVER_ORDERED_TABLES,
  SERVER_TABLES,
  type SignedPreKeys,
} from '../src/store/index.js';
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

/** `n` bytes of `label` repeated: a value that can be looked for in a stored row. */
function canary(label: string, n: number): Uint8Array {
  const text = utf8(label);
  return Uint8Array.from({ length: n }, (_, i) => text[i % text.length] ?? 0);
}
/** Whether `hay` holds `bytes` as they are or as the records spell them (base64). */
const holds = (hay: Uint8Array, bytes: Uint8Array) =>
  Buffer.from(hay).includes(Buffer.from(bytes)) || has(hay, Buffer.from(bytes).toString('base64'));

/** The canary values of one person: prekeys, a device list, a compliance report's SDK. */
function canariesOf(tag: string) {
  return {
    signedPreKey: canary(`${tag}-SIGNED-PREKEY/`, 32),
    lastResortKem: canary(`${tag}-LAST-RESORT-KEM/`, 1184),
    oneTime: canary(`${tag}-ONE-TIME-PREKEY/`, 32),
    oneTimeKem: canary(`${tag}-ONE-TIME-KEM/`, 1184),
    deviceList: canary(`${tag}-DEVICE-LIST/`, 300),
    sdk: `${tag}-SDK/4.2.1`,
  };
}

/** A partition of the server stores: identifiers joined with 0x00. */
const k = (...parts: (string | Uint8Array)[]) =>
  Buffer.concat(parts.flatMap((p, i) => [...(i > 0 ? [Buffer.of(0)] : []), Buffer.from(p)]));

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
      const c = canariesOf(u === alice ? 'ALICE' : 'BOB');
      const signed: SignedPreKeys = {
        signedPreKey: { id: signedPreKeyId(1), publicKey: c.signedPreKey, signature: new Uint8Array(64) },
        lastResortKemPreKey: {
          id: kemPreKeyId(1),
          publicKey: c.lastResortKem,
          lastResort: true,
          signature: new Uint8Array(64),
        },
        suites: ['v2'],
        suitesIssuedAt: time,
        suitesSignature: new Uint8Array(64),
      };
      await stores.bundles.setSigned(acme, u, deviceId(1), signed);
      await stores.bundles.addOneTime(acme, u, deviceId(1), {
        preKeys: [{ id: oneTimePreKeyId(7), publicKey: c.oneTime }],
        kemPreKeys: [
          { id: kemPreKeyId(8), publicKey: c.oneTimeKem, lastResort: false, signature: new Uint8Array(64) },
        ],
      });
      await stores.deviceLists.append(acme, u, c.deviceList, 1);
      await stores.compliance.put(acme, u, deviceId(1), {
        revision: 'r1',
        sdk: c.sdk,
        enforced: [],
        appEnforced: [],
      });
    }
    const aliceC = canariesOf('ALICE');
    const bobC = canariesOf('BOB');
    const aliceBytes = [
      aliceC.signedPreKey,
      aliceC.lastResortKem,
      aliceC.oneTime,
      aliceC.oneTimeKem,
      aliceC.deviceList,
      utf8(aliceC.sdk),
    ];
    // Where alice's rows are, by table: what the holder of the storage key would look up.
    const aliceDevice = k(acme, alice, uintBE(1, 4));
    const aliceRows: [string, Uint8Array][] = [
      [SERVER_TABLES.users, k(acme)],
      [SERVER_TABLES.devices, k(acme, alice)],
      [SERVER_TABLES.compliance, k(acme, alice)],
      [SERVER_TABLES.poolMembers, k(acme, 'ward')],
      [SERVER_TABLES.deviceLists, k(acme, alice)],
      [SERVER_TABLES.bundleSigned, aliceDevice],
      [SERVER_TABLES.bundleOneTime, aliceDevice],
      [SERVER_TABLES.bundleKem, aliceDevice],
    ];
    /** Every row at those addresses, opened at rest (and, over `wrap`, under the person's key). */
    const rowsAt = (db: StorageAdapter) =>
      db.transaction(async (tx) => {
        const out: [string, Row][] = [];
        for (const [t, p] of aliceRows) for (const r of await tx.list(t, p, { limit: 100 })) out.push([t, r]);
        return out;
      });

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
    expect((await before.users.listByPool(acme, poolId('ward'))).items.sort()).toEqual([alice, bob]);
    expect((await before.bundles.peekBundle(acme, alice, deviceId(1)))?.signedPreKey.publicKey).toEqual(
      aliceC.signedPreKey,
    );
    expect((await before.deviceLists.chain(acme, alice))[0]?.bytes).toEqual(aliceC.deviceList);
    expect((await before.compliance.get(acme, alice, deviceId(1)))?.sdk).toBe(aliceC.sdk);
    // The canaries are found in the rows once opened under alice's key (the search below can fail).
    const openedBefore = await rowsAt(
      subjectSealingAdapter(
        atRest(
          await restore(
            flat(backup, () => true),
            now,
          ),
        ),
        provider,
      ),
    );
    for (const canaryBytes of aliceBytes)
      expect(openedBefore.some(([, r]) => holds(r.value, canaryBytes))).toBe(true);

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

    // Her pool membership, compliance report, key bundle and device lists: in the copy, at the
    // same addresses, every one still sealed under her key, none of her values in clear.
    const copied = await rowsAt(atRest(restored));
    for (const [t] of aliceRows.filter(([t]) => t !== SERVER_TABLES.users))
      expect(copied.some(([ct]) => ct === t)).toBe(true);
    for (const [, r] of copied) {
      expect(r.value[0]).toBe(0x00);
      for (const canaryBytes of aliceBytes) expect(holds(r.value, canaryBytes)).toBe(false);
    }
    // The limit, stated in the spec: a membership row's address is (tenant 0x00 pool, user), so the
    // copy still tells that the id was in the pool.
    expect(
      copied.some(
        ([t, r]) => t === SERVER_TABLES.poolMembers && Buffer.from(r.sort).equals(Buffer.from(alice)),
      ),
    ).toBe(true);
    // Through the stores they read as absent; bob's read as before.
    expect((await attacker.users.listByPool(acme, poolId('ward'))).items).toEqual([bob]);
    expect(await attacker.compliance.get(acme, alice, deviceId(1))).toBeUndefined();
    expect((await attacker.compliance.get(acme, bob, deviceId(1)))?.sdk).toBe(bobC.sdk);
    expect(await attacker.deviceLists.chain(acme, alice)).toEqual([]);
    expect(await attacker.deviceLists.newest(acme, alice)).toBeUndefined();
    expect((await attacker.deviceLists.chain(acme, bob)).map((l) => l.bytes)).toEqual([bobC.deviceList]);
    expect(await attacker.bundles.peekBundle(acme, alice, deviceId(1))).toBeUndefined();
    expect(await attacker.bundles.takeBundle(acme, alice, deviceId(1))).toBeUndefined();
    const bobs = await attacker.bundles.takeBundle(acme, bob, deviceId(1));
    expect(bobs?.signedPreKey.publicKey).toEqual(bobC.signedPreKey);
    expect(bobs?.oneTimePreKey?.publicKey).toEqual(bobC.oneTime);
    expect(bobs?.kemPreKey.publicKey).toEqual(bobC.oneTimeKem);
    // Writing for her fails with the stores' typed errors, and writes nothing.
    await expect(attacker.deviceLists.append(acme, alice, aliceC.deviceList, 2)).rejects.toMatchObject({
      name: 'NotFoundError',
      what: 'user',
    });
    await expect(
      attacker.bundles.addOneTime(acme, alice, deviceId(1), {
        preKeys: [{ id: oneTimePreKeyId(9), publicKey: aliceC.oneTime }],
      }),
    ).rejects.toMatchObject({ name: 'NotFoundError', what: 'device' });
    expect(await restored.transaction((tx) => hasSubjectKey(tx, acme, alice))).toBe(false);

    // The limit, stated in the spec: a keyring copy from before the erasure brings her back.
    const wholeOldCopy = open(
      await restore(
        flat(backup, () => true),
        now,
      ),
    );
    expect((await wholeOldCopy.users.get(acme, alice))?.displayName).toBe('Alice Liddell');
    expect((await wholeOldCopy.deviceLists.chain(acme, alice))[0]?.bytes).toEqual(aliceC.deviceList);
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

  it('refuses a pool membership, prekey or device list moved to another person', async () => {
    const provider = await getProvider();
    const db = createMemoryAdapter();
    const stores = createServerStores(db, { provider });
    const acme = tenantId('acme');
    const [a, b] = [userId('a'), userId('b')];
    await stores.tenants.create(acme, { name: 'ACME', signingKey: new Uint8Array(32).fill(7) });
    await stores.pools.put(acme, poolId('ward'), { name: 'Ward' });
    await stores.pools.put(acme, poolId('lab'), { name: 'Lab' });
    await stores.users.create(acme, a, { displayName: 'A', pools: [poolId('ward')] });
    await stores.users.create(acme, b, { displayName: 'B', pools: [poolId('lab')] });
    for (const [u, n] of [
      [a, 1],
      [b, 2],
    ] as const) {
      await stores.devices.add(acme, u, deviceId(n), {
        identity: {
          signingKey: provider.randomBytes(32),
          dhKey: provider.randomBytes(32),
          dhKeySignature: new Uint8Array(64),
        },
        registrationId: registrationId(n),
        mailbox: mailboxId(`mbx_${u}`),
        credentialHash: provider.randomBytes(32),
      });
      await stores.bundles.setSigned(acme, u, deviceId(n), {
        signedPreKey: {
          id: signedPreKeyId(1),
          publicKey: new Uint8Array(32).fill(n),
          signature: new Uint8Array(64),
        },
        lastResortKemPreKey: {
          id: kemPreKeyId(1),
          publicKey: new Uint8Array(1184).fill(n),
          lastResort: true,
          signature: new Uint8Array(64),
        },
        suites: ['v2'],
        suitesIssuedAt: 1,
        suitesSignature: new Uint8Array(64),
      });
      await stores.deviceLists.append(acme, u, new Uint8Array(40).fill(n), 1);
    }
    await stores.bundles.addOneTime(acme, a, deviceId(1), {
      preKeys: [{ id: oneTimePreKeyId(5), publicKey: new Uint8Array(32).fill(9) }],
    });
    const move = (table: string, from: [Uint8Array, Uint8Array], to: [Uint8Array, Uint8Array]) =>
      db.transaction(async (tx) => {
        const row = await tx.get(table, from[0], from[1]);
        if (row === undefined) throw new Error('no row');
        expect(row.value[0]).toBe(0x00);
        await tx.put(table, { partition: to[0], sort: to[1], value: row.value });
      });
    // a's membership of ward, put at b's membership of lab: the listing of lab refuses it.
    await move(SERVER_TABLES.poolMembers, [k(acme, 'ward'), utf8(a)], [k(acme, 'lab'), utf8(b)]);
    await expect(stores.users.listByPool(acme, poolId('lab'))).rejects.toMatchObject({
      code: 'ERR_DECRYPTION_FAILED',
    });
    // a's one-time prekey, put in b's device's partition: the fetch refuses it rather than hand it out.
    await move(
      SERVER_TABLES.bundleOneTime,
      [k(acme, a, uintBE(1, 4)), uintBE(5, 4)],
      [k(acme, b, uintBE(2, 4)), uintBE(5, 4)],
    );
    await expect(stores.bundles.takeBundle(acme, b, deviceId(2))).rejects.toMatchObject({
      code: 'ERR_DECRYPTION_FAILED',
    });
    // a's device list over b's: refused.
    await move(SERVER_TABLES.deviceLists, [k(acme, a), uintBE(1, 8)], [k(acme, b), uintBE(1, 8)]);
    await expect(stores.deviceLists.chain(acme, b)).rejects.toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
    // a's own rows still read.
    expect((await stores.users.listByPool(acme, poolId('ward'))).items).toEqual([a]);
    expect((await stores.deviceLists.chain(acme, a))[0]?.bytes).toEqual(new Uint8Array(40).fill(1));
    expect((await stores.bundles.takeBundle(acme, a, deviceId(1)))?.oneTimePreKey?.publicKey).toEqual(
      new Uint8Array(32).fill(9),
    );
  });
});
