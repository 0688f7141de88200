/**
 * The server stores under encryption at rest (with `SERVER_ORDERED_TABLES` as the ordered
 * tables): every store works unchanged, and what reaches the database holds no tenant, user,
 * domain, mailbox or message id in clear.
 */
import { type CryptoProvider, deviceId, getProvider, registrationId, utf8 } from '@cloister/crypto';
import { blobId, mailboxId, messageId, poolId, tenantId, userId } from '@cloister/protocol';
import type { StorageAdapter, StorageTx } from '@cloister/storage';
import { createEncryptedAdapter, createMemoryAdapter } from '@cloister/storage';
import { beforeAll, describe, expect, it } from 'vitest';
import { createServerStores, SERVER_ORDERED_TABLES, type ServerStores } from '../src/store/index.js';

interface RawWrite {
  readonly table: string;
  readonly partition: Uint8Array;
  readonly sort: Uint8Array;
  readonly value: Uint8Array;
}

/** Wraps an adapter so that every row written to it is recorded as the database receives it. */
function recording(inner: StorageAdapter, log: RawWrite[]): StorageAdapter {
  return {
    kind: inner.kind,
    now: inner.now,
    purgeExpired: (o) => inner.purgeExpired(o),
    close: () => inner.close(),
    transaction: (fn, options) =>
      inner.transaction(async (tx) => {
        const spy: StorageTx = {
          now: tx.now,
          get: (t, p, s, o) => tx.get(t, p, s, o),
          put: (t, row, o) => {
            log.push({ table: t, partition: row.partition, sort: row.sort, value: row.value });
            return tx.put(t, row, o);
          },
          putMany: (t, rows, o) => {
            for (const row of rows) {
              log.push({ table: t, partition: row.partition, sort: row.sort, value: row.value });
            }
            return tx.putMany(t, rows, o);
          },
          claimMany: (t, claims, behind) => {
            for (const row of claims) {
              log.push({ table: t, partition: row.partition, sort: row.sort, value: row.value });
            }
            for (const row of behind.rows) {
              log.push({ table: behind.table, partition: row.partition, sort: row.sort, value: row.value });
            }
            return tx.claimMany(t, claims, behind);
          },
          getMany: (t, keys) => tx.getMany(t, keys),
          deleteMany: (t, keys) => tx.deleteMany(t, keys),
          delete: (t, p, s) => tx.delete(t, p, s),
          list: (t, p, o) => tx.list(t, p, o),
          take: (t, p, o) => tx.take(t, p, o),
          count: (t, p, o) => tx.count(t, p, o),
          usage: (t, p) => tx.usage(t, p),
          deletePartition: (t, p) => tx.deletePartition(t, p),
        };
        return fn(spy);
      }, options),
  };
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const acme = tenantId('acme-hospital');
const alice = userId('alice.liddell');
const bob = userId('bob.builder');
const fill = (n: number, v: number) => new Uint8Array(n).fill(v);

let provider: CryptoProvider;
let log: RawWrite[];
let stores: ServerStores;
let time = 50_000;

beforeAll(async () => {
  provider = await getProvider();
  log = [];
  const inner = recording(createMemoryAdapter({ now: () => time }), log);
  const db = createEncryptedAdapter(inner, {
    dataKey: fill(32, 9),
    provider,
    orderedTables: SERVER_ORDERED_TABLES,
  });
  stores = createServerStores(db, { provider });
});

describe('server stores under encryption at rest', () => {
  it('run every store and leak no identifier to the database', async () => {
    await stores.tenants.create(acme, { name: 'ACME Hospital', signingKey: fill(32, 1) });
    await stores.domains.add(acme, 'acme-hospital.example');
    await stores.pools.put(acme, poolId('ward-three'), { name: 'Ward' });
    await stores.users.create(acme, alice, { displayName: 'Alice', pools: [poolId('ward-three')] });
    await stores.users.create(acme, bob, { displayName: 'Bob' });
    for (const [user, n] of [
      [alice, 1],
      [bob, 2],
    ] as const) {
      await stores.devices.add(acme, user, deviceId(n), {
        identity: { signingKey: fill(32, n), dhKey: fill(32, n), dhKeySignature: fill(64, n) },
        registrationId: registrationId(n),
        mailbox: mailboxId(`mailbox-of-${user}`),
        credentialHash: fill(32, 40 + n),
      });
    }

    // Listings page in hash order, but page through everything exactly once.
    const first = await stores.users.list(acme, { limit: 1 });
    const second = await stores.users.list(acme, { after: first.next as string });
    expect([...first.items, ...second.items].map((u) => u.id).sort()).toEqual([alice, bob]);
    expect((await stores.users.listByPool(acme, poolId('ward-three'))).items).toEqual([alice]);
    expect((await stores.devices.byCredentialHash(fill(32, 42)))?.user).toBe(bob);
    expect(await stores.domains.tenantOf('acme-hospital.example')).toBe(acme);

    // Key bundles: one-time keys are taken once each.
    await stores.bundles.setSigned(acme, alice, deviceId(1), {
      signedPreKey: { id: 1 as never, publicKey: fill(32, 3), signature: fill(64, 3) },
      lastResortKemPreKey: {
        id: 9 as never,
        publicKey: fill(1184, 4),
        lastResort: true,
        signature: fill(64, 4),
      },
      suites: ['v2'],
      suitesIssuedAt: 1_700_000_000_000,
      suitesSignature: fill(64, 5),
    });
    await stores.bundles.addOneTime(acme, alice, deviceId(1), {
      preKeys: Array.from({ length: 3 }, (_, i) => ({ id: i as never, publicKey: fill(32, 10 + i) })),
    });
    const taken = await Promise.all(
      Array.from({ length: 5 }, () => stores.bundles.takeBundle(acme, alice, deviceId(1))),
    );
    expect(new Set(taken.map((b) => b?.oneTimePreKey?.id)).size).toBe(4); // 0, 1, 2 and undefined

    // Mailbox order survives (its sort keys are times and random bytes in clear).
    const box = mailboxId(`mailbox-of-${alice}`);
    for (let i = 0; i < 5; i++) {
      time += 1;
      await stores.mailboxes.enqueue(box, {
        messageId: messageId(`secret-msg-${i}`),
        envelope: fill(50, i),
        expiresAt: time + 1e6,
      });
    }
    const page = await stores.mailboxes.list(box, { limit: 3 });
    const rest = await stores.mailboxes.list(box, { after: page.next as string });
    expect([...page.items, ...rest.items].map((e) => e.messageId)).toEqual(
      Array.from({ length: 5 }, (_, i) => `secret-msg-${i}`),
    );
    expect(await stores.mailboxes.ack(box, [messageId('secret-msg-0')])).toBe(1);

    // Blobs, policies, audit and archive.
    const blob = blobId('blob-of-alice');
    await stores.blobs.begin(blob, 5000, time + 1e6, { chunkSize: 4096 });
    await stores.blobs.putChunk(blob, 1, fill(904, 2));
    await stores.blobs.putChunk(blob, 0, fill(4096, 1));
    expect((await stores.blobs.finish(blob)).present).toEqual([0, 1]);
    expect((await stores.blobs.read(blob, 4090, 10))[9]).toBe(2);
    await stores.policies.set(
      { kind: 'user', tenant: acme, user: alice },
      { 'files.send': { enabled: false, locked: true } },
    );
    expect((await stores.policies.list(acme)).items).toHaveLength(1);
    for (let i = 0; i < 5; i++) {
      await stores.audit.append(acme, {
        actor: 'admin',
        action: 'user.block',
        target: bob,
        outcome: 'success',
      });
    }
    expect(await stores.audit.verifyChain(acme)).toMatchObject({ ok: true, count: 5 });
    await stores.archive.append(acme, { sealed: fill(200, 7), expiresAt: null });
    expect((await stores.archive.list(acme, { from: 0, to: time + 1 })).items).toHaveLength(1);

    // Nothing identifying reached the database in clear.
    expect(log.length).toBeGreaterThan(40);
    const secrets = [
      acme,
      alice,
      bob,
      'acme-hospital.example',
      'mailbox-of',
      'secret-msg',
      'blob-of-alice',
      'ward-three',
    ];
    for (const w of log) {
      for (const s of secrets) {
        for (const part of [w.partition, w.sort, w.value]) {
          expect(contains(part, utf8(s)), `${s} in ${w.table}`).toBe(false);
        }
      }
      if (SERVER_ORDERED_TABLES.includes(w.table)) expect([8, 16]).toContain(w.sort.length);
    }
  });
});
