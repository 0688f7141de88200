/**
 * How typed stores run their reads and writes: either each call in its own transaction (over an
 * adapter) or every call inside one caller's transaction (over a {@link StorageTx}), so that, for
 * example, a client commits new ratchet state and the message it decrypted together.
 *
 * @module
 */
import type { StorageAdapter, StorageTx, TransactionOptions } from './adapter.js';

/**
 * Runs a unit of store work in a transaction: the signature of
 * {@link StorageAdapter.transaction}, made by {@link adapterExecutor} or {@link txExecutor}.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * async function saveTheme(run: Executor, theme: string): Promise<void> {
 *   await run((tx) => tx.put('c_settings', { partition: mailbox, sort: utf8('theme'), value: utf8(theme) }));
 * }
 * await saveTheme(adapterExecutor(adapter), 'dark');
 * ```
 */
export type Executor = <T>(fn: (tx: StorageTx) => Promise<T>, options?: TransactionOptions) => Promise<T>;

/**
 * An executor that runs each call in a new transaction of `adapter`.
 *
 * @example
 * ```ts
 * const run = adapterExecutor(createMemoryAdapter());
 * await run(async (tx) => tx.count('settings', new Uint8Array()));
 * ```
 */
export function adapterExecutor(adapter: StorageAdapter): Executor {
  return (fn, options) => adapter.transaction(fn, options);
}

/**
 * An executor that runs every call inside the already open transaction `tx`.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * await adapter.transaction(async (tx) => {
 *   const run = txExecutor(tx);
 *   await run(async (t) => t.delete('settings', new Uint8Array(), utf8('theme')));
 * });
 * ```
 */
export function txExecutor(tx: StorageTx): Executor {
  return (fn) => fn(tx);
}
