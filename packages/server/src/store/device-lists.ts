/**
 * Signed device lists as the server keeps them (`spec/device-lists.md`): per user, the current
 * chain, every list of it by epoch, as the raw bytes a device of the user signed. The store does
 * not read the lists (the routes decode and check them, and clients check them again: the server
 * is not trusted with them); it keeps the chain contiguous from epoch 1 and lets exactly one of
 * two concurrent writers of the same epoch win.
 *
 * Rows of `s_device_lists` in the partition `k(tenant, user)`: one per list with sort key
 * `u64(epoch)` and value `{ epoch, list, storedAt }`, and the head with the empty sort key and
 * value `{ epoch }` (the newest epoch). Every write locks the user's row first (as adding a device
 * does), so appends, restarts and the deletion of the user are serialised per user on every
 * backend and across server instances.
 *
 * @module
 */
import { DecodeError, equalBytes, LimitError } from '@cloister/crypto';
import { type TenantId, tenantId, type UserId, userId } from '@cloister/protocol';
import type { Executor, StorageTx } from '@cloister/storage';
import {
  checkBytesIn,
  checkId,
  checkInteger,
  checkObject,
  getRec,
  key,
  NO_SORT,
  read,
  readUint,
  T,
  u64,
  write,
} from './_util.js';
import { ConflictError, NotFoundError } from './errors.js';
import { loadUser } from './users.js';

/**
 * Bytes of the largest device list the protocol encodes (64 devices, identifiers of 128 bytes,
 * signed by the organisation, so carrying an administrator certificate of at most 381 bytes):
 * `1 + 129 + 129 + 8 + 8 + 32 + 32 + 1 + 4 + 1 + 64 × 140 + 2 + 381 + 64`.
 *
 * @example
 * ```ts
 * console.log(MAX_DEVICE_LIST_BYTES); // 9752
 * ```
 */
export const MAX_DEVICE_LIST_BYTES = 1 + 129 + 129 + 8 + 8 + 32 + 32 + 1 + 4 + 1 + 64 * 140 + 2 + 381 + 64;

/**
 * Most lists one chain holds (the most a client follows in one answer): appending a later epoch is
 * a `LimitError`.
 *
 * @example
 * ```ts
 * console.log(MAX_DEVICE_LISTS_PER_CHAIN); // 1024
 * ```
 */
export const MAX_DEVICE_LISTS_PER_CHAIN = 1024;

/**
 * One stored list.
 *
 * @example
 * ```ts
 * const newest: StoredDeviceList | undefined = await stores.deviceLists.newest(tenant, user);
 * if (newest !== undefined) console.log(newest.epoch, newest.bytes.length, new Date(newest.storedAt));
 * ```
 */
export interface StoredDeviceList {
  /** 1 starts the chain; each later list has the epoch of the one before plus one. */
  readonly epoch: number;
  /** The list exactly as its signer encoded it (`decodeDeviceList` of `@cloister/protocol`). */
  readonly bytes: Uint8Array;
  /** When the server stored it (the store's clock). */
  readonly storedAt: number;
}

/**
 * Options of {@link DeviceListStore.append}.
 *
 * @example
 * ```ts
 * const newest = await stores.deviceLists.newest(tenant, user);
 * const options: AppendDeviceListOptions = newest === undefined ? {} : { previous: newest.bytes };
 * await stores.deviceLists.append(tenant, user, deviceList, (newest?.epoch ?? 0) + 1, options);
 * ```
 */
export interface AppendDeviceListOptions {
  /**
   * The bytes of the list this one follows, as the caller read and checked them: the append is
   * refused (`ConflictError('device-list')`) unless the stored list of the previous epoch is
   * exactly this one (it may have been replaced by a restart since).
   */
  readonly previous?: Uint8Array;
}

/**
 * Options of {@link DeviceListStore.restart}.
 *
 * @example
 * ```ts
 * const newest = await stores.deviceLists.newest(tenant, user);
 * const options: RestartDeviceListOptions = newest === undefined ? {} : { replacing: newest.bytes };
 * await stores.deviceLists.restart(tenant, user, deviceList, options); // deviceList becomes epoch 1
 * ```
 */
export interface RestartDeviceListOptions {
  /**
   * The newest list as the caller read it: the restart is refused (`ConflictError('device-list')`)
   * unless it is still the newest stored list.
   */
  readonly replacing?: Uint8Array;
}

/**
 * The users' device-list chains.
 *
 * @example
 * ```ts
 * await stores.deviceLists.append(tenant, user, deviceList, 1);
 * const lists = await stores.deviceLists.chain(tenant, user); // [{ epoch: 1, bytes, storedAt }]
 * ```
 */
export interface DeviceListStore {
  /**
   * The current chain in ascending epochs, from epoch 1; empty when the user has none.
   *
   * @example
   * ```ts
   * const chain = await stores.deviceLists.chain(tenant, user); // epochs 1, 2, 3, …
   * ```
   */
  chain(tenant: TenantId, user: UserId): Promise<StoredDeviceList[]>;
  /**
   * The newest list of the current chain, or `undefined`.
   *
   * @example
   * ```ts
   * import { decodeDeviceList } from '@cloister/protocol';
   *
   * const newest = await stores.deviceLists.newest(tenant, user);
   * const list = newest === undefined ? undefined : decodeDeviceList(newest.bytes);
   * ```
   */
  newest(tenant: TenantId, user: UserId): Promise<StoredDeviceList | undefined>;
  /**
   * Stores the list of `epoch` when the newest stored list has `epoch - 1` (no list at all for
   * epoch 1). `ConflictError('device-list')` when it has not (another writer came first, or the
   * chain is elsewhere), `NotFoundError('user')`, `LimitError` beyond
   * {@link MAX_DEVICE_LISTS_PER_CHAIN}. Nothing is written on error.
   *
   * @example
   * ```ts
   * const newest = await stores.deviceLists.newest(tenant, user);
   * const stored = await stores.deviceLists.append(tenant, user, deviceList, (newest?.epoch ?? 0) + 1, newest === undefined ? {} : { previous: newest.bytes });
   * ```
   */
  append(
    tenant: TenantId,
    user: UserId,
    bytes: Uint8Array,
    epoch: number,
    options?: AppendDeviceListOptions,
  ): Promise<StoredDeviceList>;
  /**
   * Deletes the current chain and stores `bytes` as epoch 1 of a new one, in one transaction.
   * `NotFoundError('user')`; `ConflictError('device-list')` when `options.replacing` is not the
   * newest stored list.
   *
   * @example
   * ```ts
   * const newest = await stores.deviceLists.newest(tenant, user);
   * // deviceList: a signed list of epoch 1 that starts a new chain
   * const restarted = await stores.deviceLists.restart(tenant, user, deviceList, newest === undefined ? {} : { replacing: newest.bytes });
   * // → { epoch: 1, bytes, storedAt }
   * ```
   */
  restart(
    tenant: TenantId,
    user: UserId,
    bytes: Uint8Array,
    options?: RestartDeviceListOptions,
  ): Promise<StoredDeviceList>;
}

function checkList(value: unknown, field: string): Uint8Array {
  return checkBytesIn(value, field, 1, MAX_DEVICE_LIST_BYTES).slice();
}

/** The head of the chain, or `undefined` when the user has no list. */
async function head(tx: StorageTx, partition: Uint8Array): Promise<number | undefined> {
  const r = await getRec(tx, T.deviceLists, partition, NO_SORT);
  return r === undefined ? undefined : r.int('epoch', 1, MAX_DEVICE_LISTS_PER_CHAIN);
}

async function load(tx: StorageTx, partition: Uint8Array, epoch: number): Promise<StoredDeviceList> {
  const r = await getRec(tx, T.deviceLists, partition, u64(epoch));
  if (r === undefined) throw new DecodeError(T.deviceLists, 'the chain has a gap');
  if (r.int('epoch', 1) !== epoch) throw new DecodeError(`${T.deviceLists}.epoch`, 'the epoch of its key');
  return { epoch, bytes: r.bytes('list', 1, MAX_DEVICE_LIST_BYTES), storedAt: r.int('storedAt') };
}

async function put(tx: StorageTx, partition: Uint8Array, epoch: number, bytes: Uint8Array) {
  const stored: StoredDeviceList = { epoch, bytes, storedAt: tx.now };
  const ok = await tx.put(
    T.deviceLists,
    { partition, sort: u64(epoch), value: write({ epoch, list: bytes, storedAt: tx.now }) },
    { ifAbsent: true },
  );
  if (!ok) throw new ConflictError('device-list', 'a list of this epoch is stored');
  await tx.put(T.deviceLists, { partition, sort: NO_SORT, value: write({ epoch }) });
  return stored;
}

async function lockUser(tx: StorageTx, tenant: TenantId, user: UserId): Promise<void> {
  if ((await loadUser(tx, tenant, user, true)) === undefined) throw new NotFoundError('user');
}

/**
 * Creates the device-list store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const deviceLists = createDeviceListStore(adapterExecutor(adapter));
 * const chain = await deviceLists.chain(tenant, user);
 * ```
 */
export function createDeviceListStore(run: Executor): DeviceListStore {
  return {
    async chain(tenant, user) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(user, 'user', userId);
      const partition = key(tid, uid);
      return run(
        async (tx) => {
          const newest = await head(tx, partition);
          if (newest === undefined) return [];
          const rows = await tx.list(T.deviceLists, partition, { limit: MAX_DEVICE_LISTS_PER_CHAIN + 1 });
          const lists: StoredDeviceList[] = [];
          for (const row of rows) {
            if (row.sort.length === 0) continue; // the head
            if (row.sort.length !== 8) throw new DecodeError(T.deviceLists, 'invalid key');
            const epoch = readUint(row.sort, 0, 8);
            const r = read(row.value, T.deviceLists);
            if (r.int('epoch', 1) !== epoch) {
              throw new DecodeError(`${T.deviceLists}.epoch`, 'the epoch of its key');
            }
            lists.push({
              epoch,
              bytes: r.bytes('list', 1, MAX_DEVICE_LIST_BYTES),
              storedAt: r.int('storedAt'),
            });
          }
          // Under encryption at rest the rows come in hashed order.
          lists.sort((a, b) => a.epoch - b.epoch);
          if (lists.length !== newest || lists.some((l, i) => l.epoch !== i + 1)) {
            throw new DecodeError(T.deviceLists, 'the chain has a gap');
          }
          return lists;
        },
        { readOnly: true },
      );
    },

    async newest(tenant, user) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(user, 'user', userId);
      const partition = key(tid, uid);
      return run(
        async (tx) => {
          const epoch = await head(tx, partition);
          return epoch === undefined ? undefined : load(tx, partition, epoch);
        },
        { readOnly: true },
      );
    },

    async append(tenant, user, bytes, epoch, options) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(user, 'user', userId);
      const list = checkList(bytes, 'bytes');
      const n = checkInteger(epoch, 'epoch', 1, Number.MAX_SAFE_INTEGER);
      const o = options === undefined ? {} : checkObject(options, 'options');
      const previous = o.previous === undefined ? undefined : checkList(o.previous, 'options.previous');
      if (n > MAX_DEVICE_LISTS_PER_CHAIN) {
        throw new LimitError(`a chain holds at most ${MAX_DEVICE_LISTS_PER_CHAIN} device lists`);
      }
      const partition = key(tid, uid);
      return run(async (tx) => {
        await lockUser(tx, tid, uid);
        const newest = await head(tx, partition);
        if ((newest ?? 0) !== n - 1) {
          throw new ConflictError('device-list', 'the newest stored list is not of the previous epoch');
        }
        if (previous !== undefined) {
          if (newest === undefined || !equalBytes((await load(tx, partition, newest)).bytes, previous)) {
            throw new ConflictError('device-list', 'the previous list is not the stored one');
          }
        }
        return put(tx, partition, n, list);
      });
    },

    async restart(tenant, user, bytes, options) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(user, 'user', userId);
      const list = checkList(bytes, 'bytes');
      const o = options === undefined ? {} : checkObject(options, 'options');
      const replacing = o.replacing === undefined ? undefined : checkList(o.replacing, 'options.replacing');
      const partition = key(tid, uid);
      return run(async (tx) => {
        await lockUser(tx, tid, uid);
        if (replacing !== undefined) {
          const newest = await head(tx, partition);
          if (newest === undefined || !equalBytes((await load(tx, partition, newest)).bytes, replacing)) {
            throw new ConflictError('device-list', 'the list to replace is not the newest stored one');
          }
        }
        await tx.deletePartition(T.deviceLists, partition);
        return put(tx, partition, 1, list);
      });
    },
  };
}
