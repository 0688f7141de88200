/**
 * The guard of a `single` transaction ({@link TransactionOptions.single}) on backends without
 * statements: the callback's first call goes through, a second one rejects with `StorageError`.
 *
 * @module
 */
import { StorageError } from '@cloister/crypto';
import type { StorageTx, TransactionOptions } from './adapter.js';

const SECOND_CALL = 'a single-call transaction made a second call';

/** `tx` as the callback of a transaction with `options` sees it. */
export function singleCallGuard(tx: StorageTx, options: TransactionOptions | undefined): StorageTx {
  if (options?.single !== true) return tx;
  let calls = 0;
  const guarded =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      calls++;
      if (calls > 1) throw new StorageError(SECOND_CALL);
      return call(...args);
    };
  return {
    now: tx.now,
    get: guarded(tx.get.bind(tx)),
    put: guarded(tx.put.bind(tx)),
    delete: guarded(tx.delete.bind(tx)),
    list: guarded(tx.list.bind(tx)),
    take: guarded(tx.take.bind(tx)),
    putMany: guarded(tx.putMany.bind(tx)),
    getMany: guarded(tx.getMany.bind(tx)),
    deleteMany: guarded(tx.deleteMany.bind(tx)),
    claimMany: guarded(tx.claimMany.bind(tx)),
    count: guarded(tx.count.bind(tx)),
    usage: guarded(tx.usage.bind(tx)),
    deletePartition: guarded(tx.deletePartition.bind(tx)),
  };
}

/** The error a second call of a single-call transaction rejects with. */
export function secondCallError(): StorageError {
  return new StorageError(SECOND_CALL);
}
