/**
 * Delivery epochs: counters that decide whether a delivery token (`delivery-token.ts`) still
 * works. A token's MAC covers the epochs current when it was issued; the server bumps an epoch in
 * the same transaction as every change that decides who may reach whom, so every token issued
 * before the change stops working at once:
 *
 * - the **tenant** epoch, when a pool (and so a pool rule) is created, changed or deleted;
 * - a **user** epoch, when that user's pools or blocked flag change, or the user is deleted
 *   (tokens *to* the user's devices);
 * - a **sender-class** epoch, when a member leaves the class (moved to other pools, blocked,
 *   deleted) or one of a member's devices is blocked, unblocked or removed (tokens *held by* the
 *   class's members).
 *
 * A sender class is the set of pools a sender belongs to, named by a 16-byte digest
 * ({@link senderClassOf}); the open area (no pools) is one class per tenant. The server learns
 * the class of a sealed delivery's sender, never the sender.
 *
 * Rows live in `s_delivery_epochs`: partition `k(tenant)`, sort `k("tenant")`, `k("user", user)`
 * or `k("class", class)`, value `{ epoch }`. A missing row is epoch 0.
 *
 * A change over many users in one transaction (a batch of a bulk job) runs inside
 * {@link withBatchedEpochBumps}: each epoch row is then bumped once, at the end, the user rows
 * with one multi-row read and one multi-row write.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { concatBytes, uintBE } from '@cloister/crypto';
import { type PoolId, type TenantId, tenantId, type UserId, userId } from '@cloister/protocol';
import type { Executor, RowInput, StorageTx } from '@cloister/storage';
import { checkBytesIn, checkId, getRec, key, read, T, write } from './_util.js';
import { NotFoundError } from './errors.js';
import { loadTenant } from './tenants.js';

/**
 * SHA-256 prefix of a sender class (then `u16be(len) ‖ tenant`, `u16be(count)` and each pool id
 * as `u16be(len) ‖ id`, in sorted order).
 *
 * @example
 * ```ts
 * console.log(SENDER_CLASS_LABEL); // 'cloister/server/v1/sender-class'
 * ```
 */
export const SENDER_CLASS_LABEL = 'cloister/server/v1/sender-class';
/**
 * Bytes of a sender class (a truncated SHA-256).
 *
 * @example
 * ```ts
 * const found = await stores.users.get(tenant, user);
 * senderClassOf(tenant, found?.pools ?? []).length === SENDER_CLASS_BYTES; // true
 * ```
 */
export const SENDER_CLASS_BYTES = 16;

/**
 * The epochs a delivery token is bound to.
 *
 * @example
 * ```ts
 * const epochs: DeliveryEpochs = await stores.deliveryEpochs.get(tenant, user, senderClassOf(tenant, []));
 * console.log(epochs.tenant, epochs.user, epochs.senderClass);
 * ```
 */
export interface DeliveryEpochs {
  /** Bumped when the tenant's pools or pool rules change. */
  readonly tenant: number;
  /** Bumped when the recipient user's pools or blocked flag change. */
  readonly user: number;
  /** Bumped when a member leaves the sender class or a member's device is blocked or removed. */
  readonly senderClass: number;
}

/**
 * Reads the delivery epochs. The bumps happen inside the user, device and pool stores, in the
 * transaction of the change that causes them; {@link DeliveryEpochStore.bumpTenant} is for an
 * operator who wants every token of a tenant to stop working now.
 *
 * @example
 * ```ts
 * import { poolId } from '@cloister/protocol';
 *
 * const epochs = await stores.deliveryEpochs.get(tenant, user, senderClassOf(tenant, [poolId('ward-3')]));
 * await stores.deliveryEpochs.bumpTenant(tenant); // every delivery token of the tenant stops working
 * ```
 */
export interface DeliveryEpochStore {
  /**
   * The epochs of the tenant, of the recipient user `user` and of the sender class.
   *
   * @example
   * ```ts
   * const epochs = await stores.deliveryEpochs.get(tenant, user, senderClassOf(tenant, []));
   * ```
   */
  get(tenant: TenantId, user: UserId, senderClass: Uint8Array): Promise<DeliveryEpochs>;
  /**
   * Bumps the tenant epoch: every delivery token of the tenant stops working. `NotFoundError('tenant')`.
   *
   * @example
   * ```ts
   * const epoch = await stores.deliveryEpochs.bumpTenant(tenant); // every delivery token of the tenant stops working
   * ```
   */
  bumpTenant(tenant: TenantId): Promise<number>;
}

const enc = new TextEncoder();
const lp = (bytes: Uint8Array): Uint8Array => concatBytes(uintBE(bytes.length, 2), bytes);

/**
 * The sender class of a user in `pools` (sorted, distinct, as a user record keeps them) of
 * `tenant`: the first 16 bytes of SHA-256 over {@link SENDER_CLASS_LABEL}, the tenant and the
 * pools. Every user of the tenant with the same pools has the same class; the open area (no
 * pools) is one class.
 *
 * @example
 * ```ts
 * import { poolId, tenantId } from '@cloister/protocol';
 *
 * const open = senderClassOf(tenantId('acme'), []);
 * const ward = senderClassOf(tenantId('acme'), [poolId('ward-3')]); // 16 bytes
 * ```
 */
export function senderClassOf(tenant: TenantId, pools: readonly PoolId[]): Uint8Array {
  const sorted = [...new Set(pools)].sort();
  const input = concatBytes(
    enc.encode(SENDER_CLASS_LABEL),
    lp(enc.encode(tenant)),
    uintBE(sorted.length, 2),
    ...sorted.map((p) => lp(enc.encode(p))),
  );
  const digest = createHash('sha256').update(input).digest();
  return new Uint8Array(digest.subarray(0, SENDER_CLASS_BYTES));
}

const tenantSort = () => key('tenant');
const userSort = (user: UserId) => key('user', user);
const classSort = (senderClass: Uint8Array) => key('class', senderClass);

async function readEpoch(tx: StorageTx, tenant: TenantId, sort: Uint8Array): Promise<number> {
  const r = await getRec(tx, T.deliveryEpochs, key(tenant), sort);
  return r === undefined ? 0 : r.int('epoch');
}

/** Adds one to an epoch row, creating it at 1; concurrent bumps of one row serialise on its lock. */
async function bump(tx: StorageTx, tenant: TenantId, sort: Uint8Array): Promise<number> {
  const partition = key(tenant);
  let current = await getRec(tx, T.deliveryEpochs, partition, sort, true);
  if (current === undefined) {
    const created = await tx.put(
      T.deliveryEpochs,
      { partition, sort, value: write({ epoch: 1 }) },
      { ifAbsent: true },
    );
    if (created) return 1;
    // A concurrent transaction created the row first: bump what it wrote.
    current = await getRec(tx, T.deliveryEpochs, partition, sort, true);
  }
  const next = (current?.int('epoch') ?? 0) + 1;
  await tx.put(T.deliveryEpochs, { partition, sort, value: write({ epoch: next }) });
  return next;
}

/** The bumps a transaction deferred (see {@link withBatchedEpochBumps}), by row. */
interface Deferred {
  /** User rows: the caller holds each user's row lock. */
  readonly users: Map<string, { readonly tenant: TenantId; readonly sort: Uint8Array }>;
  /** Tenant and class rows. */
  readonly others: Map<string, { readonly tenant: TenantId; readonly sort: Uint8Array }>;
}

const deferredOf = new WeakMap<StorageTx, Deferred>();
const rowId = (tenant: TenantId, sort: Uint8Array) => `${tenant}\u0000${Buffer.from(sort).toString('hex')}`;

/** Bumps now, or records the bump when `tx` defers them; the epoch, or 0 when deferred. */
function bumpOrDefer(tx: StorageTx, tenant: TenantId, sort: Uint8Array, user: boolean): Promise<number> {
  const deferred = deferredOf.get(tx);
  if (deferred === undefined) return bump(tx, tenant, sort);
  (user ? deferred.users : deferred.others).set(rowId(tenant, sort), { tenant, sort });
  return Promise.resolve(0);
}

/** Bumps user epoch rows with one multi-row read and one multi-row write per 1000 rows. */
async function bumpUserRows(
  tx: StorageTx,
  rows: readonly { readonly tenant: TenantId; readonly sort: Uint8Array }[],
): Promise<void> {
  for (let from = 0; from < rows.length; from += 1000) {
    const chunk = rows.slice(from, from + 1000);
    const keys = chunk.map((r) => ({ partition: key(r.tenant), sort: r.sort }));
    const current = await tx.getMany(T.deliveryEpochs, keys);
    const existing: RowInput[] = [];
    const missing: RowInput[] = [];
    const missingOf: { readonly tenant: TenantId; readonly sort: Uint8Array }[] = [];
    current.forEach((row, i) => {
      const k = keys[i] as { partition: Uint8Array; sort: Uint8Array };
      if (row === undefined) {
        missing.push({ ...k, value: write({ epoch: 1 }) });
        missingOf.push(chunk[i] as { tenant: TenantId; sort: Uint8Array });
      } else {
        const epoch = read(row.value, T.deliveryEpochs).int('epoch');
        existing.push({ ...k, value: write({ epoch: epoch + 1 }) });
      }
    });
    if (existing.length > 0) await tx.putMany(T.deliveryEpochs, existing);
    if (missing.length === 0) continue;
    const created = await tx.putMany(T.deliveryEpochs, missing, { ifAbsent: true });
    // Created meanwhile by a transaction that did not hold the user's lock: bump what it wrote.
    for (const [i, ok] of created.entries()) {
      const r = missingOf[i];
      if (!ok && r !== undefined) await bump(tx, r.tenant, r.sort);
    }
  }
}

/**
 * Runs `fn` with the delivery-epoch bumps it makes through `tx` (the user and device stores make
 * them) deferred, then bumps each epoch row named once, still in `tx`: the user epochs with one
 * multi-row read and one multi-row write (every change that bumps a user epoch holds that user's
 * row lock, so no concurrent bump is lost), the tenant and sender-class epochs each with its
 * locked read and write. One bump per row and transaction is enough: a token issued by another
 * transaction before this one commits is bound to the epoch before it, so it stops working at
 * the commit all the same. Reads of the epochs inside `fn` see the values before the bumps;
 * bumps through another transaction are not deferred. Nested calls defer to the outermost.
 *
 * @example
 * ```ts
 * await ctx.adapter.transaction((tx) =>
 *   withBatchedEpochBumps(tx, async () => {
 *     // block many users through stores bound to `tx`: each user epoch and their class bumped once, at the end
 *   }),
 * );
 * ```
 */
export async function withBatchedEpochBumps<R>(tx: StorageTx, fn: () => Promise<R>): Promise<R> {
  if (deferredOf.has(tx)) return fn();
  const deferred: Deferred = { users: new Map(), others: new Map() };
  deferredOf.set(tx, deferred);
  let result: R;
  try {
    result = await fn();
  } finally {
    deferredOf.delete(tx);
  }
  await bumpUserRows(tx, [...deferred.users.values()]);
  for (const { tenant, sort } of deferred.others.values()) await bump(tx, tenant, sort);
  return result;
}

/** @internal Bumps the tenant epoch (pools or pool rules changed), inside the caller's transaction. */
export function bumpTenantEpoch(tx: StorageTx, tenant: TenantId): Promise<number> {
  return bumpOrDefer(tx, tenant, tenantSort(), false);
}

/**
 * @internal Bumps the epoch of the recipient `user` (their pools or blocked flag changed); the
 * caller holds the user's row lock (deferred bumps rely on it). Answers 0 when deferred.
 */
export function bumpUserEpoch(tx: StorageTx, tenant: TenantId, user: UserId): Promise<number> {
  return bumpOrDefer(tx, tenant, userSort(user), true);
}

/** @internal Bumps the epoch of the sender class of users in `pools` (a member left or was blocked). */
export function bumpClassEpoch(tx: StorageTx, tenant: TenantId, pools: readonly PoolId[]): Promise<number> {
  return bumpOrDefer(tx, tenant, classSort(senderClassOf(tenant, pools)), false);
}

/**
 * Creates the delivery epoch store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const epochs = createDeliveryEpochStore(adapterExecutor(adapter));
 * const current = await epochs.get(tenant, user, senderClassOf(tenant, []));
 * ```
 */
export function createDeliveryEpochStore(run: Executor): DeliveryEpochStore {
  return {
    async get(tenant, user, senderClass) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(user, 'user', userId);
      const cls = checkBytesIn(senderClass, 'senderClass', SENDER_CLASS_BYTES, SENDER_CLASS_BYTES);
      return run(
        async (tx) => ({
          tenant: await readEpoch(tx, tid, tenantSort()),
          user: await readEpoch(tx, tid, userSort(uid)),
          senderClass: await readEpoch(tx, tid, classSort(cls)),
        }),
        { readOnly: true },
      );
    },

    async bumpTenant(tenant) {
      const tid = checkId(tenant, 'tenant', tenantId);
      return run(async (tx) => {
        if ((await loadTenant(tx, tid)) === undefined) throw new NotFoundError('tenant');
        return bumpTenantEpoch(tx, tid);
      });
    },
  };
}
