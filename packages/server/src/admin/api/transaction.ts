/**
 * One database transaction for an admin operation that combines functions written against an
 * adapter or a store set of their own (`createTenant`, `createEnrolmentToken`,
 * `createHumanAdministrator`): inside {@link adminTransaction} each of them gets a view whose
 * `transaction` runs in the open transaction instead of starting another, so the whole
 * operation, its audit record included, commits together or not at all.
 *
 * @module
 */
import { StorageError } from '@cloister/crypto';
import type { StorageAdapter, StorageTx } from '@cloister/storage';
import type { ServerContext } from '../../context.js';
import { createServerStores, type ServerStores } from '../../store/index.js';

/**
 * What an {@link adminTransaction} callback gets: every store, and an adapter and context for
 * the functions that take one, all bound to the same transaction.
 *
 * @example
 * ```ts
 * await adminTransaction(ctx, async ({ stores, scope }) => {
 *   await createTenant(scope, { id, name });
 *   await stores.audit.append(id, { actor: OPERATOR_ACTOR, action: 'tenant.create', target: id, outcome: 'success' });
 * });
 * ```
 */
export interface AdminTransaction {
  readonly tx: StorageTx;
  /** Every store; `stores.transaction(fn)` runs `fn` in this same transaction. */
  readonly stores: ServerStores;
  /** For functions that take `Pick<ServerContext, 'adapter' | 'provider'>`. */
  readonly scope: Pick<ServerContext, 'adapter' | 'provider'>;
}

function boundAdapter(outer: StorageAdapter, tx: StorageTx): StorageAdapter {
  return {
    kind: outer.kind,
    now: () => tx.now,
    transaction: (fn) => fn(tx),
    purgeExpired: () => Promise.reject(new StorageError('not inside an admin transaction')),
    close: () => Promise.reject(new StorageError('not inside an admin transaction')),
  };
}

/**
 * Runs `fn` in one transaction of `ctx.adapter` (retried as a whole when the adapter retries, so
 * `fn` must have no effect outside the stores).
 *
 * @example
 * ```ts
 * const token = await adminTransaction(ctx, ({ scope }) => createEnrolmentToken(scope, { tenant, user }));
 * ```
 */
export function adminTransaction<T>(
  ctx: Pick<ServerContext, 'adapter' | 'provider'>,
  fn: (t: AdminTransaction) => Promise<T>,
): Promise<T> {
  return ctx.adapter.transaction(async (tx) => {
    const adapter = boundAdapter(ctx.adapter, tx);
    const stores = createServerStores(adapter, { provider: ctx.provider });
    return fn({ tx, stores, scope: { adapter, provider: ctx.provider } });
  });
}
