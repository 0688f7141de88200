/**
 * `@cloister/storage/indexeddb`: the storage adapter for browsers, on IndexedDB. The layout,
 * upgrade steps and transaction design are specified in `spec/storage-indexeddb.md`.
 *
 * @module @cloister/storage/indexeddb
 */
import { StorageError, UnsupportedError, ValidationError } from '@cloister/crypto';
import type { StorageAdapter } from '../adapter.js';
import { IndexedDbAdapter } from './_adapter.js';
import { openDatabase } from './_idb.js';
import { Rows } from './_rows.js';

export {
  INDEXEDDB_MIGRATIONS,
  INDEXEDDB_SCHEMA_VERSION,
  type IndexedDbMigration,
} from './_schema.js';

/**
 * Options of {@link createIndexedDbAdapter}.
 *
 * @example
 * ```ts
 * import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
 * const options: IndexedDbAdapterOptions = { name: 'test', indexedDB: new IDBFactory(), IDBKeyRange };
 * ```
 */
export interface IndexedDbAdapterOptions {
  /** The database name (1..256 characters); one name is one store. */
  readonly name: string;
  /** The IndexedDB factory (default `globalThis.indexedDB`). */
  readonly indexedDB?: IDBFactory;
  /**
   * The key-range class of the same implementation as `indexedDB` (default
   * `globalThis.IDBKeyRange`). Needed when `indexedDB` comes from a library or another realm.
   */
  readonly IDBKeyRange?: typeof IDBKeyRange;
  /** The clock for expiry (default `Date.now`). */
  readonly now?: () => number;
  /**
   * The Web Locks manager that serializes transactions across tabs (default
   * `globalThis.navigator.locks` when present); `null` turns cross-tab locking off.
   */
  readonly locks?: LockManager | null;
}

/**
 * The adapter returned by {@link createIndexedDbAdapter}.
 *
 * @example
 * ```ts
 * const db: IndexedDbStorageAdapter = await createIndexedDbAdapter({ name: 'cloister-alice' });
 * console.log(db.kind); // 'indexeddb'
 * ```
 */
export type IndexedDbStorageAdapter = StorageAdapter & { readonly kind: 'indexeddb' };

function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 256) {
    throw new ValidationError('name', 'a database name of 1..256 characters');
  }
  return name;
}

function defaultFactory(given: IDBFactory | undefined): IDBFactory {
  const factory = given ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (factory === undefined) throw new UnsupportedError('IndexedDB is not available in this environment');
  return factory;
}

/**
 * Opens (creating or upgrading) the IndexedDB database `name` and returns an adapter on it.
 * Transactions run one at a time, also across tabs where Web Locks exist; each commits all of its
 * writes in one IndexedDB transaction. When another tab upgrades or deletes the database, this
 * connection closes and later calls reject with `StorageError`.
 *
 * @throws UnsupportedError when IndexedDB is absent or the database has a newer schema version.
 * @throws StorageError when opening fails or an upgrade is blocked by a connection that does not close.
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * import { createIndexedDbAdapter } from '@cloister/storage/indexeddb';
 * const db = await createIndexedDbAdapter({ name: 'cloister-alice' });
 * await db.transaction(async (tx) => {
 *   await tx.put('settings', { partition: new Uint8Array(), sort: utf8('theme'), value: utf8('dark') });
 * });
 * await db.close();
 * ```
 */
export async function createIndexedDbAdapter(
  options: IndexedDbAdapterOptions,
): Promise<IndexedDbStorageAdapter> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const name = checkName(options.name);
  const factory = defaultFactory(options.indexedDB);
  const keyRange = options.IDBKeyRange ?? (globalThis as { IDBKeyRange?: typeof IDBKeyRange }).IDBKeyRange;
  if (keyRange === undefined) throw new UnsupportedError('IDBKeyRange is not available in this environment');
  const locks =
    options.locks === null
      ? undefined
      : (options.locks ?? (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks);
  const db = await openDatabase({ name, factory });
  const adapter = new IndexedDbAdapter(
    new Rows(db, factory, keyRange),
    options.now ?? Date.now,
    locks,
    `cloister-storage-indexeddb:${name}`,
  );
  db.onversionchange = () => {
    db.close();
    adapter.connectionLost();
  };
  db.onclose = () => adapter.connectionLost();
  return adapter;
}

/**
 * Deletes the IndexedDB database `name` and everything in it. Open adapters on it close (their
 * later calls reject with `StorageError`); the promise settles once the deletion has happened.
 *
 * @throws UnsupportedError when IndexedDB is absent.
 * @throws StorageError when the deletion fails.
 * @example
 * ```ts
 * import { deleteIndexedDbDatabase } from '@cloister/storage/indexeddb';
 * await deleteIndexedDbDatabase('cloister-alice'); // on sign-out
 * ```
 */
export async function deleteIndexedDbDatabase(name: string, indexedDB?: IDBFactory): Promise<void> {
  const checked = checkName(name);
  const factory = defaultFactory(indexedDB);
  await new Promise<void>((resolve, reject) => {
    let request: IDBOpenDBRequest;
    try {
      request = factory.deleteDatabase(checked);
    } catch (error) {
      reject(new StorageError('indexeddb: delete failed', { cause: error }));
      return;
    }
    request.onsuccess = () => resolve();
    request.onerror = (event) => {
      event.preventDefault();
      reject(new StorageError('indexeddb: delete failed', { cause: request.error }));
    };
  });
}
