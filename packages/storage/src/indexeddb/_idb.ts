/**
 * Small promise wrappers over IndexedDB requests and transactions. Every IndexedDB failure
 * becomes a `StorageError` whose message names the operation and the DOM error name only; the
 * original error is kept as `cause`.
 *
 * @module
 */
import { StorageError, UnsupportedError } from '@cloister/crypto';
import { applyMigrations, INDEXEDDB_SCHEMA_VERSION, ROWS_STORE } from './_schema.js';

function errorName(cause: unknown): string | undefined {
  const name = (cause as { name?: unknown } | null)?.name;
  return typeof name === 'string' && /^[A-Za-z]{1,64}$/.test(name) ? name : undefined;
}

/** A `StorageError` for a failed IndexedDB operation; the message carries no values. */
export function idbError(operation: string, cause: unknown): StorageError {
  const name = errorName(cause);
  return new StorageError(`indexeddb: ${operation} failed${name === undefined ? '' : ` (${name})`}`, {
    cause,
  });
}

/**
 * Runs one IndexedDB transaction on the rows store. `body` issues requests synchronously and
 * wraps every request callback in `guard`, so that a throw aborts the transaction; it returns a
 * function read after `complete`. Resolves only once the transaction has committed.
 */
export function runTransaction<T>(
  db: IDBDatabase,
  mode: IDBTransactionMode,
  operation: string,
  body: (
    store: IDBObjectStore,
    guard: <A extends unknown[]>(fn: (...args: A) => void) => (...args: A) => void,
  ) => () => T,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let failure: unknown;
    let tx: IDBTransaction;
    try {
      // A commit must survive a crash once it resolves (session state depends on it).
      tx = db.transaction(ROWS_STORE, mode, { durability: mode === 'readwrite' ? 'strict' : 'default' });
    } catch (error) {
      reject(idbError(operation, error));
      return;
    }
    const guard =
      <A extends unknown[]>(fn: (...args: A) => void) =>
      (...args: A): void => {
        try {
          fn(...args);
        } catch (error) {
          failure ??= error;
          try {
            tx.abort();
          } catch {
            // already finished; `onabort`/`oncomplete` reports
          }
        }
      };
    let result: (() => T) | undefined;
    tx.oncomplete = () => {
      if (failure !== undefined) reject(idbError(operation, failure));
      else resolve((result as () => T)());
    };
    tx.onabort = () => reject(idbError(operation, failure ?? tx.error));
    guard(() => {
      result = body(tx.objectStore(ROWS_STORE), guard);
    })();
  });
}

/** Options of {@link openDatabase}. */
export interface OpenOptions {
  readonly name: string;
  readonly factory: IDBFactory;
  readonly version?: number;
}

/**
 * Opens (creating or upgrading) the database. Upgrades apply every missing step in one
 * `versionchange` transaction. A database newer than this build → `UnsupportedError`; an upgrade
 * blocked by another connection that does not close → `StorageError`, and the upgrade is
 * abandoned if it is unblocked later.
 */
export function openDatabase(options: OpenOptions): Promise<IDBDatabase> {
  const version = options.version ?? INDEXEDDB_SCHEMA_VERSION;
  return new Promise<IDBDatabase>((resolve, reject) => {
    let settled = false;
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      reject(error);
    };
    let request: IDBOpenDBRequest;
    try {
      request = options.factory.open(options.name, version);
    } catch (error) {
      fail(idbError('open', error));
      return;
    }
    request.onupgradeneeded = (event) => {
      const tx = request.transaction as IDBTransaction;
      if (settled) {
        tx.abort();
        return;
      }
      try {
        applyMigrations(request.result, tx, event.oldVersion, version, () => undefined);
      } catch (error) {
        fail(idbError('upgrade', error));
        tx.abort();
      }
    };
    request.onblocked = () => {
      fail(new StorageError('indexeddb: upgrade blocked by another connection that does not close'));
    };
    request.onsuccess = () => {
      const db = request.result;
      if (settled) {
        db.close();
        return;
      }
      settled = true;
      resolve(db);
    };
    request.onerror = (event) => {
      event.preventDefault();
      const error = request.error;
      if (error?.name === 'VersionError') {
        fail(new UnsupportedError('indexeddb: the database was written by a newer schema version'));
      } else {
        fail(idbError('open', error));
      }
    };
  });
}
