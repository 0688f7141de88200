/**
 * An adapter wrapper that tells its owner when a transaction that wrote to one of a set of tables
 * has committed: the hook the server's caches use to forget what a write made stale. The callback
 * runs after the commit and before the transaction's caller continues; a transaction that threw
 * (rolled back) calls nothing. Reads, and writes to other tables, cost one set lookup each.
 *
 * @module
 */
import type { StorageAdapter, StorageTx } from '@cloister/storage';

/**
 * Wraps `adapter`: after each committed transaction that put or deleted rows of a table in
 * `tables`, calls `onCommit` (exceptions it throws are swallowed: the write has committed).
 *
 * @example
 * ```ts
 * const cache = new Map<string, unknown>();
 * const watched = watchWrites(adapter, [SERVER_TABLES.devices, SERVER_TABLES.users], () => cache.clear());
 * const serverStores = createServerStores(watched);
 * ```
 */
export function watchWrites(
  adapter: StorageAdapter,
  tables: readonly string[],
  onCommit: () => void,
): StorageAdapter {
  const watched = new Set(tables);
  const wrap = (tx: StorageTx, touched: () => void): StorageTx => {
    const mark = (table: string) => {
      if (watched.has(table)) touched();
    };
    return {
      get now() {
        return tx.now;
      },
      get: (table, partition, sort, options) => tx.get(table, partition, sort, options),
      getMany: (table, keys) => tx.getMany(table, keys),
      list: (table, partition, options) => tx.list(table, partition, options),
      count: (table, partition, options) => tx.count(table, partition, options),
      usage: (table, partition) => tx.usage(table, partition),
      put: (table, row, options) => {
        mark(table);
        return tx.put(table, row, options);
      },
      putMany: (table, rows, options) => {
        mark(table);
        return tx.putMany(table, rows, options);
      },
      delete: (table, partition, sort) => {
        mark(table);
        return tx.delete(table, partition, sort);
      },
      claimMany: (table, claims, behind) => {
        mark(table);
        mark(behind.table);
        return tx.claimMany(table, claims, behind);
      },
      deleteMany: (table, keys) => {
        mark(table);
        return tx.deleteMany(table, keys);
      },
      take: (table, partition, options) => {
        mark(table);
        return tx.take(table, partition, options);
      },
      deletePartition: (table, partition) => {
        mark(table);
        return tx.deletePartition(table, partition);
      },
    };
  };
  return {
    get kind() {
      return adapter.kind;
    },
    now: adapter.now,
    async transaction(fn, options) {
      let touched = false;
      const result = await adapter.transaction((tx) => {
        // A retried attempt starts clean: only the attempt that commits counts.
        touched = false;
        return fn(
          wrap(tx, () => {
            touched = true;
          }),
        );
      }, options);
      if (touched) {
        try {
          onCommit();
        } catch {
          // the write has committed; a failing listener must not turn it into an error
        }
      }
      return result;
    },
    purgeExpired: (options) => adapter.purgeExpired(options),
    close: () => adapter.close(),
  };
}
