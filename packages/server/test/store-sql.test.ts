/**
 * The server stores on SQL: on PostgreSQL when `DATABASE_URL` is set, as two server instances
 * (two adapters with their own connection pools) sharing one schema that is unique to this file
 * and dropped afterwards; otherwise on PGlite (which runs one transaction at a time, so the
 * same assertions hold trivially there).
 */
import { deviceId, registrationId } from '@cloister/crypto';
import { mailboxId, messageId, tenantId, userId } from '@cloister/protocol';
import type { StorageAdapter } from '@cloister/storage';
import { createPGliteAdapter, createPostgresAdapter } from '@cloister/storage/sql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, createServerStores, type ServerStores } from '../src/store/index.js';

const DATABASE_URL = process.env.DATABASE_URL || undefined;
const schema = `t_server_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
const acme = tenantId('acme');
const alice = userId('alice');

let adapters: StorageAdapter[] = [];
let instances: ServerStores[] = [];

async function dropSchema(): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  if (DATABASE_URL !== undefined) {
    const first = await createPostgresAdapter({ connectionString: DATABASE_URL, schema, poolSize: 8 });
    const second = await createPostgresAdapter({ connectionString: DATABASE_URL, schema, poolSize: 8 });
    adapters = [first, second];
  } else {
    adapters = [await createPGliteAdapter()];
  }
  instances = adapters.map((a) => createServerStores(a));
  const s = instances[0] as ServerStores;
  await s.tenants.create(acme, { name: 'ACME', signingKey: fill(32, 1) });
  await s.users.create(acme, alice, { displayName: 'Alice' });
  await s.devices.add(acme, alice, deviceId(1), {
    identity: { signingKey: fill(32, 2), dhKey: fill(32, 3), dhKeySignature: fill(64, 4) },
    registrationId: registrationId(5),
    mailbox: mailboxId('mbx_1'),
    credentialHash: fill(32, 6),
  });
});

afterAll(async () => {
  for (const a of adapters) await a.close();
  if (DATABASE_URL !== undefined) await dropSchema();
});

const on = (i: number): ServerStores => instances[i % instances.length] as ServerStores;

describe(`server stores on ${DATABASE_URL === undefined ? 'PGlite' : 'PostgreSQL (two instances)'}`, () => {
  it('16 concurrent bundle fetches over 10 one-time keys hand out each key once', async () => {
    await on(0).bundles.setSigned(acme, alice, deviceId(1), {
      signedPreKey: { id: 1 as never, publicKey: fill(32, 7), signature: fill(64, 8) },
      lastResortKemPreKey: {
        id: 500 as never,
        publicKey: fill(1184, 9),
        lastResort: true,
        signature: fill(64, 10),
      },
      suites: ['v2'],
      suitesIssuedAt: 1_700_000_000_000,
      suitesSignature: fill(64, 11),
    });
    await on(0).bundles.addOneTime(acme, alice, deviceId(1), {
      preKeys: Array.from({ length: 10 }, (_, i) => ({ id: i as never, publicKey: fill(32, i) })),
      kemPreKeys: Array.from({ length: 10 }, (_, i) => ({
        id: i as never,
        publicKey: fill(1184, i),
        lastResort: false,
        signature: fill(64, i),
      })),
    });
    const bundles = await Promise.all(
      Array.from({ length: 16 }, (_, i) => on(i).bundles.takeBundle(acme, alice, deviceId(1))),
    );
    const otp = bundles.flatMap((b) => (b?.oneTimePreKey === undefined ? [] : [b.oneTimePreKey.id]));
    const kem = bundles.flatMap((b) => (b === undefined || b.kemPreKey.lastResort ? [] : [b.kemPreKey.id]));
    expect(otp.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(kem.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(bundles.filter((b) => b?.kemPreKey.id === 500)).toHaveLength(6);
  });

  it('50 concurrent audit appends from both instances form one verifiable chain', async () => {
    const records = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        on(i).audit.append(acme, {
          actor: `admin-${i % 4}`,
          action: 'user.update',
          target: `u${i}`,
          outcome: 'success',
        }),
      ),
    );
    expect(records.map((r) => r.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    expect(await on(1).audit.verifyChain(acme)).toMatchObject({ ok: true, count: 50 });
  });

  it('concurrent duplicates: one enqueue and one device per credential hash win', async () => {
    const enqueued = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        on(i).mailboxes.enqueue(mailboxId('mbx_1'), {
          messageId: messageId('m-dup'),
          envelope: fill(40, i),
          expiresAt: Date.now() + 60_000,
        }),
      ),
    );
    expect(enqueued.filter(Boolean)).toHaveLength(1);
    expect(await on(0).mailboxes.count(mailboxId('mbx_1'))).toBe(1);

    const added = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        on(i).devices.add(acme, alice, deviceId(10 + i), {
          identity: { signingKey: fill(32, 2), dhKey: fill(32, 3), dhKeySignature: fill(64, 4) },
          registrationId: registrationId(5),
          mailbox: mailboxId(`mbx_new_${i}`),
          credentialHash: fill(32, 99),
        }),
      ),
    );
    expect(added.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of added) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
    expect(await on(1).devices.list(acme, alice)).toHaveLength(2);
  });
});
