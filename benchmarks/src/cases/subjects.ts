/**
 * The cost of per-person sealing (erasure by crypto-shredding, `spec/data-subject.md` §3): the
 * server's user, pool and device stores over encryption at rest on the memory adapter, with the
 * per-person sealing wrapper (`subjectSealingAdapter`, impl `subject-key`) and without it (impl
 * `storage-key`, the baseline: rows sealed under the storage key only), measured in the same run.
 * One operation handles 32 people, each a user row in one pool and one device:
 *
 * - `write`: creates the 32 users (user row and pool membership) and adds a device to each, in a
 *   fresh database (built before the timed window); with per-person sealing this includes
 *   creating each person's key;
 * - `read`: reads each user and lists their devices, from a database filled once; the keys are in
 *   the wrapper's cache, as on a running server;
 * - `read-cold`: the same reads through a new wrapper each time, so every person's key is read
 *   from `s_subject_keys` first (after a restart, or for people not seen lately).
 *
 * The memory adapter has no I/O to hide the extra work behind, so these ratios are the least
 * favourable; on PostgreSQL each cold key is one more row read in the same transaction.
 */
import { deviceId, registrationId } from '@cloister/crypto';
import { mailboxId, poolId, tenantId, type UserId, userId } from '@cloister/protocol';
import {
  createDeviceStore,
  createPoolStore,
  createTenantStore,
  createUserStore,
  SERVER_ORDERED_TABLES,
  subjectSealingAdapter,
} from '@cloister/server';
import {
  adapterExecutor,
  createEncryptedAdapter,
  createMemoryAdapter,
  type StorageAdapter,
} from '@cloister/storage';
import { type BenchCase, caseName, check, defineCase } from '../harness.js';
import { once, randomInput } from '../inputs.js';
import { PROVIDERS } from '../providers.js';

const AREA = 'subjects';
/** People per operation. */
const PEOPLE = 32;
const SIZE = `${PEOPLE}people`;
const TENANT = tenantId('bench');
const POOL = poolId('ward');
const USERS: readonly UserId[] = Array.from({ length: PEOPLE }, (_, i) => userId(`u-${i.toString(16)}`));

const provider = once(async () => {
  const node = PROVIDERS.find((p) => p.id === 'node');
  if (node === undefined) throw new Error('no node provider');
  return node.load();
});
const storageKey = once(() => randomInput(32));

type Sealing = 'storage-key' | 'subject-key';

/** The adapter as the server's stores see it, over `db`, with or without per-person sealing. */
async function storesOver(db: StorageAdapter, sealing: Sealing) {
  const p = await provider();
  const atRest = createEncryptedAdapter(db, {
    dataKey: storageKey().slice(),
    provider: p,
    orderedTables: SERVER_ORDERED_TABLES,
  });
  const adapter = sealing === 'subject-key' ? subjectSealingAdapter(atRest, p) : atRest;
  const run = adapterExecutor(adapter);
  return {
    atRest,
    adapter,
    tenants: createTenantStore(run),
    pools: createPoolStore(run),
    users: createUserStore(run),
    devices: createDeviceStore(run),
  };
}

type Stores = Awaited<ReturnType<typeof storesOver>>;

/** A fresh database with the tenant and its pool. */
async function freshStores(sealing: Sealing): Promise<Stores> {
  const s = await storesOver(createMemoryAdapter(), sealing);
  await s.tenants.create(TENANT, { name: 'Bench', signingKey: new Uint8Array(32).fill(7) });
  await s.pools.put(TENANT, POOL, { name: 'Ward' });
  return s;
}

/** The timed write: every person's user row, pool membership and device. */
async function writePeople(s: Stores): Promise<void> {
  const p = await provider();
  for (const [i, u] of USERS.entries()) {
    await s.users.create(TENANT, u, {
      displayName: `Person ${i}`,
      email: `p${i}@example.org`,
      pools: [POOL],
    });
    await s.devices.add(TENANT, u, deviceId(1), {
      identity: {
        signingKey: p.randomBytes(32),
        dhKey: p.randomBytes(32),
        dhKeySignature: new Uint8Array(64),
      },
      registrationId: registrationId(i + 1),
      mailbox: mailboxId(`mbx_${u}`),
      credentialHash: p.randomBytes(32),
    });
  }
}

/** The timed read: every person's user row and device list; resolves how many were found. */
async function readPeople(s: Pick<Stores, 'users' | 'devices'>): Promise<number> {
  let found = 0;
  for (const u of USERS) {
    const user = await s.users.get(TENANT, u);
    const devices = await s.devices.list(TENANT, u);
    if (user !== undefined && devices.length === 1) found++;
  }
  return found;
}

function writeCase(sealing: Sealing, baseline?: string): BenchCase {
  return defineCase({
    area: AREA,
    op: 'write',
    size: SIZE,
    impl: sealing,
    tier: 'heavy',
    ...(baseline === undefined ? {} : { baseline }),
    async prepare() {
      const probe = await freshStores(sealing);
      await writePeople(probe);
      check((await readPeople(probe)) === PEOPLE, `${sealing} write then read`);
      await probe.adapter.close();
      let s: Stores | undefined;
      return {
        kind: 'async',
        beforeEach: async () => {
          // The previous database goes (closing a sealing wrapper also drops its key cache).
          await s?.adapter.close();
          s = await freshStores(sealing);
        },
        fn: async () => {
          if (s === undefined) throw new Error('no database');
          await writePeople(s);
        },
      };
    },
  });
}

/** A database filled once, shared by the read cases of one sealing. */
const filled = {
  'storage-key': once(async () => {
    const s = await freshStores('storage-key');
    await writePeople(s);
    return s;
  }),
  'subject-key': once(async () => {
    const s = await freshStores('subject-key');
    await writePeople(s);
    return s;
  }),
} as const;

function readCase(sealing: Sealing, baseline?: string): BenchCase {
  return defineCase({
    area: AREA,
    op: 'read',
    size: SIZE,
    impl: sealing,
    tier: 'heavy',
    ...(baseline === undefined ? {} : { baseline }),
    async prepare() {
      const s = await filled[sealing]();
      check((await readPeople(s)) === PEOPLE, `${sealing} read`);
      return { kind: 'async', fn: () => readPeople(s) };
    },
  });
}

function readColdCase(baseline: string): BenchCase {
  return defineCase({
    area: AREA,
    op: 'read-cold',
    size: SIZE,
    impl: 'subject-key',
    tier: 'heavy',
    baseline,
    async prepare() {
      const p = await provider();
      const s = await filled['subject-key']();
      // A new wrapper over the filled database's at-rest adapter starts with an empty key cache.
      // Closing it must not close the shared database, so it wraps a view whose `close` does
      // nothing.
      const shared = s.atRest;
      const view: StorageAdapter = {
        get kind() {
          return shared.kind;
        },
        now: shared.now,
        transaction: (fn, options) => shared.transaction(fn, options),
        purgeExpired: (options) => shared.purgeExpired(options),
        close: async () => {},
      };
      let cold: StorageAdapter | undefined;
      const coldStores = () => {
        if (cold === undefined) throw new Error('no wrapper');
        const run = adapterExecutor(cold);
        return { users: createUserStore(run), devices: createDeviceStore(run) };
      };
      const next = async () => {
        await cold?.close();
        cold = subjectSealingAdapter(view, p);
      };
      await next();
      check((await readPeople(coldStores())) === PEOPLE, 'subject-key cold read');
      return {
        kind: 'async',
        beforeEach: next,
        fn: () => readPeople(coldStores()),
      };
    },
  });
}

/** The cases of this area. */
export function subjectsCases(): BenchCase[] {
  const base = (op: string) => caseName({ area: AREA, op, size: SIZE, impl: 'storage-key' });
  return [
    writeCase('storage-key'),
    writeCase('subject-key', base('write')),
    readCase('storage-key'),
    readCase('subject-key', base('read')),
    readColdCase(base('read')),
  ];
}
