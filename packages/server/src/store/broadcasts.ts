/**
 * What the server keeps of a broadcast (spec/broadcast.md §6): never its text or its signed
 * object, only its id, sequence, signer, the SHA-256 of the signed object (so that later batches
 * of the same broadcast are recognised) and three counts; and, for deduplication only, one row per
 * device the broadcast was queued for, holding that device's receipt state, which expires with
 * {@link BROADCAST_DEDUP_MS}.
 *
 * - `s_broadcasts[k(tenant)][k(broadcastId)]` → `{ sequence, objectHash, admin, issuedAtMs, createdAt, devices, delivered, read }`
 * - `s_broadcast_devices[k(tenant, broadcastId)][deviceKey(user, device)]` → `{ state }` (0 queued, 1 delivered, 2 read)
 *
 * @module
 */
import { type DeviceId, ValidationError } from '@cloister/crypto';
import { type TenantId, tenantId, type UserId, userId } from '@cloister/protocol';
import type { Executor, StorageTx } from '@cloister/storage';
import { checkBytesIn, checkDeviceId, checkId, checkInteger, getRec, key, T, u32, write } from './_util.js';

/**
 * How long the server remembers which devices a broadcast was queued for (and their receipt
 * state), for deduplication: 90 days. After that only the counts remain, and a late receipt is
 * not counted.
 *
 * @example
 * ```ts
 * console.log(BROADCAST_DEDUP_MS / 86_400_000); // 90
 * ```
 */
export const BROADCAST_DEDUP_MS = 90 * 86_400_000;

/**
 * A broadcast as the server keeps it: no text, no audience, no object.
 *
 * @example
 * ```ts
 * const b: StoredBroadcast | undefined = await stores.broadcasts.get(tenant, 'IiIiIiIiIiIiIiIiIiIiIg');
 * if (b !== undefined) console.log(`${b.delivered}/${b.devices} delivered, ${b.read} read`);
 * ```
 */
export interface StoredBroadcast {
  /** base64url of the 16-byte broadcast id. */
  readonly id: string;
  /** The signed object's sequence (kind `broadcast`). */
  readonly sequence: number;
  /** SHA-256 of the signed object's bytes. */
  readonly objectHash: Uint8Array;
  /** The administrator whose certificate signed it. */
  readonly admin: string;
  /** The signer's `issuedAtMs`. */
  readonly issuedAtMs: number;
  /** When the first batch was accepted (server clock). */
  readonly createdAt: number;
  /** Devices it was queued for. */
  readonly devices: number;
  /** Devices that reported it delivered. */
  readonly delivered: number;
  /** Devices that reported it read. */
  readonly read: number;
}

/**
 * What a device's receipt did: `counted` (a count went up), `duplicate` (the state was reached
 * already), `unknown` (no broadcast with that id was queued for this device, or its row expired).
 *
 * @example
 * ```ts
 * const outcome: BroadcastReceiptOutcome = await stores.broadcasts.receipt(tenant, 'IiIiIiIiIiIiIiIiIiIiIg', user, device, 'read');
 * ```
 */
export type BroadcastReceiptOutcome = 'counted' | 'duplicate' | 'unknown';

/**
 * The broadcast store.
 *
 * @example
 * ```ts
 * const store: BroadcastStore = stores.broadcasts;
 * const b = await store.get(tenant, 'IiIiIiIiIiIiIiIiIiIiIg');
 * ```
 */
export interface BroadcastStore {
  /**
   * The broadcast with `id` (base64url) of `tenant`, or `undefined`.
   *
   * @example
   * ```ts
   * const b = await stores.broadcasts.get(tenant, 'IiIiIiIiIiIiIiIiIiIiIg');
   * ```
   */
  get(tenant: TenantId, id: string): Promise<StoredBroadcast | undefined>;
  /**
   * Creates the record with zero counts; `false` (nothing written) when one with `id` exists.
   *
   * @example
   * ```ts
   * await stores.broadcasts.create(tenant, { id: 'IiIiIiIiIiIiIiIiIiIiIg', sequence: 4, objectHash: new Uint8Array(32), admin: 'adm_1', issuedAtMs: Date.now(), createdAt: Date.now() });
   * ```
   */
  create(tenant: TenantId, record: Omit<StoredBroadcast, 'devices' | 'delivered' | 'read'>): Promise<boolean>;
  /**
   * Records that the broadcast is queued for each device (a dedup row expiring at `expiresAt`)
   * and adds the new ones to `devices`; answers, per device in order, whether it was new.
   *
   * @example
   * ```ts
   * const fresh = await stores.broadcasts.addDevices(tenant, 'IiIiIiIiIiIiIiIiIiIiIg', [{ user, device }], Date.now() + BROADCAST_DEDUP_MS);
   * ```
   */
  addDevices(
    tenant: TenantId,
    id: string,
    devices: readonly { readonly user: UserId; readonly device: DeviceId }[],
    expiresAt: number,
  ): Promise<boolean[]>;
  /**
   * Counts a device's receipt: `delivered` counts once; `read` counts once (and as delivered too
   * when no delivered receipt came first).
   *
   * @example
   * ```ts
   * await stores.broadcasts.receipt(tenant, 'IiIiIiIiIiIiIiIiIiIiIg', user, device, 'delivered');
   * ```
   */
  receipt(
    tenant: TenantId,
    id: string,
    user: UserId,
    device: DeviceId,
    state: 'delivered' | 'read',
  ): Promise<BroadcastReceiptOutcome>;
}

const ID_RE = /^[A-Za-z0-9_-]{22}$/;

function checkBroadcastId(id: unknown): string {
  if (typeof id !== 'string' || !ID_RE.test(id))
    throw new ValidationError('broadcastId', 'base64url of 16 bytes');
  return id;
}

const deviceSort = (user: UserId, device: DeviceId) => key(user, u32(device));

async function loadTx(tx: StorageTx, tid: TenantId, id: string, forUpdate: boolean) {
  const r = await getRec(tx, T.broadcasts, key(tid), key(id), forUpdate);
  if (r === undefined) return undefined;
  return {
    id,
    sequence: r.int('sequence', 1),
    objectHash: r.bytes('objectHash', 32, 32),
    admin: r.str('admin', 256),
    issuedAtMs: r.int('issuedAtMs'),
    createdAt: r.int('createdAt'),
    devices: r.int('devices'),
    delivered: r.int('delivered'),
    read: r.int('read'),
  } satisfies StoredBroadcast;
}

function saveTx(tx: StorageTx, tid: TenantId, b: StoredBroadcast, ifAbsent = false): Promise<boolean> {
  return tx.put(
    T.broadcasts,
    {
      partition: key(tid),
      sort: key(b.id),
      value: write({
        sequence: b.sequence,
        objectHash: b.objectHash,
        admin: b.admin,
        issuedAtMs: b.issuedAtMs,
        createdAt: b.createdAt,
        devices: b.devices,
        delivered: b.delivered,
        read: b.read,
      }),
    },
    ifAbsent ? { ifAbsent: true } : undefined,
  );
}

/**
 * Creates the broadcast store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const broadcasts = createBroadcastStore(adapterExecutor(adapter));
 * ```
 */
export function createBroadcastStore(run: Executor): BroadcastStore {
  return {
    get(tenant, id) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const bid = checkBroadcastId(id);
      return run((tx) => loadTx(tx, tid, bid, false), { readOnly: true });
    },
    async create(tenant, record) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const id = checkBroadcastId(record.id);
      checkInteger(record.sequence, 'sequence', 1, Number.MAX_SAFE_INTEGER);
      checkBytesIn(record.objectHash, 'objectHash', 32, 32);
      return run((tx) => saveTx(tx, tid, { ...record, id, devices: 0, delivered: 0, read: 0 }, true));
    },
    addDevices(tenant, id, devices, expiresAt) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const bid = checkBroadcastId(id);
      return run(async (tx) => {
        const record = await loadTx(tx, tid, bid, true);
        if (record === undefined) throw new ValidationError('broadcastId', 'a broadcast of the tenant');
        const out: boolean[] = [];
        for (const d of devices) {
          const user = checkId(d.user, 'user', userId);
          const device = checkDeviceId(d.device);
          out.push(
            await tx.put(
              T.broadcastDevices,
              {
                partition: key(tid, bid),
                sort: deviceSort(user, device),
                value: write({ state: 0 }),
                expiresAt,
              },
              { ifAbsent: true },
            ),
          );
        }
        const added = out.filter(Boolean).length;
        if (added > 0) await saveTx(tx, tid, { ...record, devices: record.devices + added });
        return out;
      });
    },
    receipt(tenant, id, user, device, state) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const bid = checkBroadcastId(id);
      const uid = checkId(user, 'user', userId);
      const did = checkDeviceId(device);
      if (state !== 'delivered' && state !== 'read') throw new ValidationError('state', 'delivered or read');
      return run(async (tx) => {
        const partition = key(tid, bid);
        const sort = deviceSort(uid, did);
        const row = await tx.get(T.broadcastDevices, partition, sort, { forUpdate: true });
        if (row === undefined) return 'unknown';
        const before = (await getRec(tx, T.broadcastDevices, partition, sort))?.int('state', 0, 2) ?? 0;
        const after = state === 'read' ? 2 : 1;
        if (before >= after) return 'duplicate';
        const record = await loadTx(tx, tid, bid, true);
        if (record === undefined) return 'unknown';
        await tx.put(T.broadcastDevices, {
          partition,
          sort,
          value: write({ state: after }),
          expiresAt: row.expiresAt,
        });
        await saveTx(tx, tid, {
          ...record,
          delivered: record.delivered + (before === 0 ? 1 : 0),
          read: record.read + (after === 2 ? 1 : 0),
        });
        return 'counted';
      });
    },
  };
}
