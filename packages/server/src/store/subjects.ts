/**
 * Per-person keys for erasure by crypto-shredding (R38). Every row that holds a person's personal
 * data is sealed, under the at-rest encryption, with a random 256-bit key of that person kept in
 * its own table (`s_subject_keys`): the user record (display name, e-mail, pools, roles), each
 * device record (client version, last seen, identity key) and its compliance report, the person's
 * pool memberships, each device's published prekeys (signed, last-resort and one-time) and the
 * person's signed device lists. Erasing the person deletes the key: every copy of those rows, in a
 * backup of the data taken before, is then noise. The key table is the keyring of
 * `spec/retention.md` §7.4: it must not be kept in long-lived backups (`spec/data-subject.md` §3
 * says how).
 *
 * The sealing is a wrapper over the adapter under the typed stores ({@link subjectSealingAdapter}):
 * the stores write and read plain records; the value of a row of a sealed table is stored as
 * `0x00 ‖ 0x01 ‖ nonce[12] ‖ AES-256-GCM(K_user, nonce, value, aad)` with
 * `aad = "cloister/server/v1/subject-row" ‖ lp(table) ‖ lp(partition) ‖ lp(sort)`. The row's
 * address names its person (`spec/data-subject.md` §3 lists the tables and how); the address
 * itself stays as it is, so every lookup, listing and count works as before. A row whose key is
 * gone reads as absent. Keys are cached per instance (at most {@link SUBJECT_KEY_CACHE} entries);
 * a cached key that no longer opens a row is read again; a listing reads the keys it lacks in
 * batches.
 *
 * @module
 */
import {
  type CryptoProvider,
  concatBytes,
  DecodeError,
  DecryptionFailed,
  uintBE,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import type { TenantId, UserId } from '@cloister/protocol';
import {
  MAX_BATCH_ROWS,
  type Row,
  type RowInput,
  type StorageAdapter,
  type StorageTx,
} from '@cloister/storage';
import { key, T } from './_util.js';

/**
 * The label of the associated data of a sealed subject row.
 *
 * @example
 * ```ts
 * console.log(SUBJECT_ROW_LABEL); // 'cloister/server/v1/subject-row'
 * ```
 */
export const SUBJECT_ROW_LABEL = 'cloister/server/v1/subject-row';

/**
 * How many per-person keys one instance keeps in memory.
 *
 * @example
 * ```ts
 * console.log(SUBJECT_KEY_CACHE); // 10000
 * ```
 */
export const SUBJECT_KEY_CACHE = 10_000;

const MARK = 0x00;
const VERSION = 0x01;
const NONCE = 12;

const EMPTY = new Uint8Array(0);

/** Where a sealed table's row names its person. */
type Owner =
  /** `(tenant, user)`: the person is `partition 0x00 sort` (`s_users`). */
  | 'partition+sort'
  /** `(tenant 0x00 pool, user)`: the person is `tenant 0x00 sort` (`s_pool_members`). */
  | 'tenant+sort'
  /** `(tenant 0x00 user, …)`: the person is the partition (`s_devices`, `s_compliance`, `s_device_lists`). */
  | 'partition'
  /** `(tenant 0x00 user 0x00 u32(device), …)`: the person is the partition less its last 5 bytes (the bundles). */
  | 'device-partition';

const SEALED_TABLES = new Map<string, Owner>([
  [T.users, 'partition+sort'],
  [T.devices, 'partition'],
  [T.compliance, 'partition'],
  [T.poolMembers, 'tenant+sort'],
  [T.deviceLists, 'partition'],
  [T.bundleSigned, 'device-partition'],
  [T.bundleOneTime, 'device-partition'],
  [T.bundleKem, 'device-partition'],
]);

/**
 * The person a row of a sealed table belongs to, as their key-table partition `tenant 0x00 user`,
 * or undefined when the address does not have the shape of its table (the stores never write one).
 * Identifiers never contain 0x00; a device id is a fixed-width u32 that may.
 */
function subjectPartition(owner: Owner, partition: Uint8Array, sort: Uint8Array): Uint8Array | undefined {
  switch (owner) {
    case 'partition+sort':
      return partition.length > 0 && sort.length > 0
        ? concatBytes(partition, Uint8Array.of(0), sort)
        : undefined;
    case 'tenant+sort': {
      const end = partition.indexOf(0);
      return end > 0 && sort.length > 0
        ? concatBytes(partition.subarray(0, end), Uint8Array.of(0), sort)
        : undefined;
    }
    case 'partition':
      return partition.indexOf(0) > 0 ? partition : undefined;
    case 'device-partition': {
      const end = partition.length - 5;
      return end > 0 && partition[end] === 0 && partition.subarray(0, end).indexOf(0) > 0
        ? partition.subarray(0, end)
        : undefined;
    }
  }
}

/**
 * The key-table partition of a person (`tenant 0x00 user`).
 *
 * @example
 * ```ts
 * const partition = subjectKeyPartition(tenant, user);
 * ```
 */
export function subjectKeyPartition(tenant: TenantId, user: UserId): Uint8Array {
  return key(tenant, user);
}

const lp = (b: Uint8Array) => concatBytes(uintBE(b.length, 2), b);
const aadOf = (table: string, partition: Uint8Array, sort: Uint8Array) =>
  concatBytes(utf8(SUBJECT_ROW_LABEL), lp(utf8(table)), lp(partition), lp(sort));

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Deletes a person's key inside `tx` (the erasure): from the commit on, their sealed rows, here
 * and in every copy, cannot be opened. Resolves whether a key existed.
 *
 * @example
 * ```ts
 * await adapter.transaction((tx) => destroySubjectKey(tx, tenant, user));
 * ```
 */
export async function destroySubjectKey(tx: StorageTx, tenant: TenantId, user: UserId): Promise<boolean> {
  const partition = subjectKeyPartition(tenant, user);
  const gone = await tx.delete(T.subjectKeys, partition, EMPTY);
  forgetEverywhere(hex(partition));
  return gone;
}

/**
 * Whether a person has a key (their personal rows are sealed under it).
 *
 * @example
 * ```ts
 * const sealed = await adapter.transaction((tx) => hasSubjectKey(tx, tenant, user));
 * ```
 */
export async function hasSubjectKey(tx: StorageTx, tenant: TenantId, user: UserId): Promise<boolean> {
  return (await tx.get(T.subjectKeys, subjectKeyPartition(tenant, user), EMPTY)) !== undefined;
}

const SEALED: unique symbol = Symbol('cloister.subject-sealed');

const CACHES = new Set<Map<string, Uint8Array>>();
function forgetEverywhere(id: string) {
  for (const c of CACHES) c.delete(id);
}

/**
 * Wraps `adapter` so that the rows of the tables that hold a person's data (`s_users`,
 * `s_devices`, `s_compliance`, `s_pool_members`, `s_device_lists` and the three key-bundle tables)
 * are sealed under their person's key (created on the first write), and read back through it; rows
 * of other tables, and stored values that are not sealed (written before), pass through unchanged.
 * A sealed row whose person's key is gone reads as absent; one that does not open under its
 * person's key (moved, altered) is a `DecryptionFailed`.
 *
 * @example
 * ```ts
 * const sealed = subjectSealingAdapter(adapter, provider);
 * const serverStores = createServerStores(sealed, { provider });
 * ```
 */
export function subjectSealingAdapter(adapter: StorageAdapter, provider: CryptoProvider): StorageAdapter {
  if (typeof provider?.aes256gcm?.encrypt !== 'function')
    throw new ValidationError('provider', 'a CryptoProvider');
  const cache = new Map<string, Uint8Array>();
  CACHES.add(cache);
  const remember = (id: string, k: Uint8Array) => {
    cache.delete(id);
    cache.set(id, k);
    if (cache.size > SUBJECT_KEY_CACHE) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
  };
  /**
   * The person's key; `gone` holds the persons a batch read of this call found without one (so
   * that a listing does not ask again for each of their rows).
   */
  const loadKey = async (
    tx: StorageTx,
    sp: Uint8Array,
    create: boolean,
    fresh = false,
    gone?: ReadonlySet<string>,
  ) => {
    const id = hex(sp);
    if (!fresh) {
      const hit = cache.get(id);
      if (hit !== undefined) return hit;
      if (gone?.has(id) === true) return undefined;
    }
    let row = await tx.get(T.subjectKeys, sp, EMPTY);
    if (row === undefined && create) {
      // Two writers racing: one insert wins, both use what is stored.
      await tx.put(
        T.subjectKeys,
        { partition: sp, sort: EMPTY, value: provider.randomBytes(32) },
        { ifAbsent: true },
      );
      row = await tx.get(T.subjectKeys, sp, EMPTY);
    }
    if (row === undefined) {
      cache.delete(id);
      return undefined;
    }
    remember(id, row.value);
    return row.value;
  };
  const seal = async (tx: StorageTx, table: string, row: RowInput): Promise<RowInput> => {
    const owner = SEALED_TABLES.get(table);
    if (owner === undefined) return row;
    const sp = subjectPartition(owner, row.partition, row.sort);
    if (sp === undefined)
      throw new ValidationError('partition', `a row address of ${table} that names its person`);
    const k = (await loadKey(tx, sp, true)) as Uint8Array;
    const nonce = provider.randomBytes(NONCE);
    const ct = await provider.aes256gcm.encrypt(k, nonce, row.value, aadOf(table, row.partition, row.sort));
    return { ...row, value: concatBytes(Uint8Array.of(MARK, VERSION), nonce, ct) };
  };
  const open = async (
    tx: StorageTx,
    table: string,
    row: Row | undefined,
    gone?: ReadonlySet<string>,
  ): Promise<Row | undefined> => {
    const owner = SEALED_TABLES.get(table);
    if (row === undefined || owner === undefined || row.value[0] !== MARK) return row;
    if (row.value[1] !== VERSION || row.value.length < 2 + NONCE + 16) throw new DecryptionFailed();
    const sp = subjectPartition(owner, row.partition, row.sort);
    if (sp === undefined) throw new DecodeError(table, 'a row address that names no person');
    const nonce = row.value.subarray(2, 2 + NONCE);
    const ct = row.value.subarray(2 + NONCE);
    const aad = aadOf(table, row.partition, row.sort);
    for (const fresh of [false, true]) {
      const k = await loadKey(tx, sp, false, fresh, gone);
      // The person's key is gone: the row is erased, here and in every copy.
      if (k === undefined) return undefined;
      try {
        return { ...row, value: await provider.aes256gcm.decrypt(k, nonce, ct, aad) };
      } catch (error) {
        if (fresh) throw error;
      }
    }
    return undefined;
  };
  /**
   * Reads, in batches, the keys of the persons of `rows` that the cache lacks (a pool's members
   * are many persons); resolves the persons found without a key.
   */
  const prefetch = async (tx: StorageTx, owner: Owner, rows: readonly Row[]): Promise<Set<string>> => {
    const gone = new Set<string>();
    const missing = new Map<string, Uint8Array>();
    for (const r of rows) {
      if (r.value[0] !== MARK) continue;
      const sp = subjectPartition(owner, r.partition, r.sort);
      if (sp === undefined) continue;
      const id = hex(sp);
      if (!cache.has(id)) missing.set(id, sp);
    }
    // One missing key is read by `open` as before.
    if (missing.size < 2) return gone;
    const wanted = [...missing];
    for (let i = 0; i < wanted.length; i += MAX_BATCH_ROWS) {
      const chunk = wanted.slice(i, i + MAX_BATCH_ROWS);
      const found = await tx.getMany(
        T.subjectKeys,
        chunk.map(([, sp]) => ({ partition: sp, sort: EMPTY })),
      );
      chunk.forEach(([id], j) => {
        const row = found[j];
        if (row === undefined) gone.add(id);
        else remember(id, row.value);
      });
    }
    return gone;
  };
  const openAll = async (tx: StorageTx, table: string, rows: readonly Row[]): Promise<Row[]> => {
    const owner = SEALED_TABLES.get(table);
    if (owner === undefined) return [...rows];
    const gone = await prefetch(tx, owner, rows);
    const out: Row[] = [];
    for (const r of rows) {
      const o = await open(tx, table, r, gone);
      if (o !== undefined) out.push(o);
    }
    return out;
  };
  const wrap = (tx: StorageTx): StorageTx => {
    // A transaction of an adapter already wrapped (the server's, handed on to stores built over
    // it) is sealed once.
    if ((tx as { [SEALED]?: true })[SEALED] === true) return tx;
    return Object.assign(wrapped(tx), { [SEALED]: true as const });
  };
  const wrapped = (tx: StorageTx): StorageTx => ({
    get now() {
      return tx.now;
    },
    get: async (table, partition, sort, options) =>
      open(tx, table, await tx.get(table, partition, sort, options)),
    getMany: async (table, keys) => {
      const rows = await tx.getMany(table, keys);
      const owner = SEALED_TABLES.get(table);
      if (owner === undefined) return rows;
      const gone = await prefetch(
        tx,
        owner,
        rows.filter((r): r is Row => r !== undefined),
      );
      const out: (Row | undefined)[] = [];
      for (const r of rows) out.push(await open(tx, table, r, gone));
      return out;
    },
    list: async (table, partition, options) => {
      const rows = await tx.list(table, partition, options);
      return SEALED_TABLES.has(table) ? openAll(tx, table, rows) : rows;
    },
    count: (table, partition, options) => tx.count(table, partition, options),
    usage: (table, partition) => tx.usage(table, partition),
    put: async (table, row, options) => tx.put(table, await seal(tx, table, row), options),
    putMany: async (table, rows, options) => {
      if (!SEALED_TABLES.has(table)) return tx.putMany(table, rows, options);
      const sealed: RowInput[] = [];
      for (const r of rows) sealed.push(await seal(tx, table, r));
      return tx.putMany(table, sealed, options);
    },
    delete: async (table, partition, sort) => {
      const gone = await tx.delete(table, partition, sort);
      // Deleting a user erases the person: their key goes in the same transaction.
      if (table === T.users) {
        const sp = subjectPartition('partition+sort', partition, sort);
        if (sp !== undefined) {
          await tx.delete(T.subjectKeys, sp, EMPTY);
          forgetEverywhere(hex(sp));
        }
      }
      return gone;
    },
    claimMany: (table, claims, behind) => tx.claimMany(table, claims, behind),
    deleteMany: (table, keys) => tx.deleteMany(table, keys),
    take: async (table, partition, options) => {
      const rows = await tx.take(table, partition, options);
      return SEALED_TABLES.has(table) ? openAll(tx, table, rows) : rows;
    },
    deletePartition: (table, partition) => tx.deletePartition(table, partition),
  });
  return {
    get kind() {
      return adapter.kind;
    },
    now: adapter.now,
    transaction: (fn, options) => adapter.transaction((tx) => fn(wrap(tx)), options),
    purgeExpired: (options) => adapter.purgeExpired(options),
    close: () => {
      CACHES.delete(cache);
      return adapter.close();
    },
  };
}
