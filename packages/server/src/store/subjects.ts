/**
 * Per-person keys for erasure by crypto-shredding (R38). Every row that holds a person's personal
 * fields — the user record (display name, e-mail, pools, roles) and each device record (client
 * version, last seen, identity key) — is sealed, under the at-rest encryption, with a random
 * 256-bit key of that person kept in its own table (`s_subject_keys`). Erasing the person deletes
 * the key: every copy of those rows, in a backup of the data taken before, is then noise. The key
 * table is the keyring of `spec/retention.md` §7.4: it must not be kept in long-lived backups
 * (`spec/data-subject.md` §3 says how).
 *
 * The sealing is a wrapper over the adapter under the typed stores ({@link subjectSealingAdapter}):
 * the stores write and read plain records; a row of `s_users` (partition `tenant`, sort `user`) or
 * `s_devices` (partition `tenant 0x00 user`, sort `u32(device)`) is stored as
 * `0x00 ‖ 0x01 ‖ nonce[12] ‖ AES-256-GCM(K_user, nonce, value, aad)` with
 * `aad = "cloister/server/v1/subject-row" ‖ lp(table) ‖ lp(partition) ‖ lp(sort)`. A row whose key
 * is gone reads as absent. Keys are cached per instance (at most {@link SUBJECT_KEY_CACHE}
 * entries); a cached key that no longer opens a row is read again.
 *
 * @module
 */
import {
  type CryptoProvider,
  concatBytes,
  DecryptionFailed,
  uintBE,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import type { TenantId, UserId } from '@cloister/protocol';
import type { Row, RowInput, StorageAdapter, StorageTx } from '@cloister/storage';
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
const SEALED_TABLES = new Set<string>([T.users, T.devices]);

const EMPTY = new Uint8Array(0);

/**
 * The person a row of a sealed table belongs to, as their key-table partition `tenant 0x00 user`:
 * a user row is at (`tenant`, `user`), a device row at (`tenant 0x00 user`, `u32(device)`).
 */
function subjectPartition(table: string, partition: Uint8Array, sort: Uint8Array): Uint8Array {
  return table === T.users ? concatBytes(partition, Uint8Array.of(0), sort) : partition;
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
 * Wraps `adapter` so that the rows of `s_users` and `s_devices` are sealed under their person's
 * key (created on the first write), and read back through it; rows of other tables, and stored
 * values that are not sealed (written before), pass through unchanged.
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
  const loadKey = async (tx: StorageTx, sp: Uint8Array, create: boolean, fresh = false) => {
    const id = hex(sp);
    if (!fresh) {
      const hit = cache.get(id);
      if (hit !== undefined) return hit;
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
    if (!SEALED_TABLES.has(table)) return row;
    const sp = subjectPartition(table, row.partition, row.sort);
    const k = (await loadKey(tx, sp, true)) as Uint8Array;
    const nonce = provider.randomBytes(NONCE);
    const ct = await provider.aes256gcm.encrypt(k, nonce, row.value, aadOf(table, row.partition, row.sort));
    return { ...row, value: concatBytes(Uint8Array.of(MARK, VERSION), nonce, ct) };
  };
  const open = async (tx: StorageTx, table: string, row: Row | undefined): Promise<Row | undefined> => {
    if (row === undefined || !SEALED_TABLES.has(table) || row.value[0] !== MARK) return row;
    if (row.value[1] !== VERSION || row.value.length < 2 + NONCE + 16) throw new DecryptionFailed();
    const sp = subjectPartition(table, row.partition, row.sort);
    const nonce = row.value.subarray(2, 2 + NONCE);
    const ct = row.value.subarray(2 + NONCE);
    const aad = aadOf(table, row.partition, row.sort);
    for (const fresh of [false, true]) {
      const k = await loadKey(tx, sp, false, fresh);
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
  const openAll = async (tx: StorageTx, table: string, rows: readonly Row[]): Promise<Row[]> => {
    const out: Row[] = [];
    for (const r of rows) {
      const o = await open(tx, table, r);
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
      if (!SEALED_TABLES.has(table)) return rows;
      return Promise.all(rows.map((r) => open(tx, table, r)));
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
        const sp = subjectPartition(table, partition, sort);
        await tx.delete(T.subjectKeys, sp, EMPTY);
        forgetEverywhere(hex(sp));
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
