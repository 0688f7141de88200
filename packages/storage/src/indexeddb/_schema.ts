/**
 * The IndexedDB schema: store and index names, the key encoding, and the ordered list of
 * upgrade steps that bring a database of any earlier version to {@link INDEXEDDB_SCHEMA_VERSION}.
 * The layout is specified in `spec/storage-indexeddb.md`.
 *
 * @module
 */
import { fromHex, toHex } from '@cloister/crypto';

/** The object store of rows in the current layout. */
export const ROWS_STORE = 'rows';
/** The version-1 object store (hex string key parts), removed by step 2. */
export const ROWS_HEX_STORE = 'rows_hex';
/** The index of rows by expiry time; rows that never expire are absent from it. */
export const EXPIRY_INDEX = 'by_expiry';

/**
 * One byte-string part of a key: the bytes as an `ArrayBuffer`, except the empty string of bytes,
 * which is the empty string `''` (some engines refuse zero-length binary keys). Strings sort before
 * every binary key, so `''` keeps its place as the smallest byte string.
 */
export type KeyPart = ArrayBuffer | '';

/** The primary key of a row in the current layout: table name, partition bytes, sort bytes. */
export type RowKey = [string, KeyPart, KeyPart];

/** The stored value of a row. `expiresAt: null` keeps the row out of {@link EXPIRY_INDEX}. */
export interface StoredRow {
  readonly value: Uint8Array;
  readonly expiresAt: number | null;
}

/** Encodes bytes as a key part (a fresh, exactly sized `ArrayBuffer`, or `''` when empty). */
export function keyPart(bytes: Uint8Array): KeyPart {
  return bytes.length === 0 ? '' : bytes.slice().buffer;
}

/** Decodes a key part. */
export function keyPartBytes(part: KeyPart): Uint8Array {
  return typeof part === 'string' ? new Uint8Array(0) : new Uint8Array(part);
}

/** The primary key of one row. */
export function rowKey(table: string, partition: Uint8Array, sort: Uint8Array): RowKey {
  return [table, keyPart(partition), keyPart(sort)];
}

/**
 * A key greater than every row key of the partition and smaller than any key of the next one: an
 * array sorts after every string and binary key, so `[table, partition, []]` bounds all sort keys.
 */
export function partitionEnd(table: string, partition: Uint8Array): [string, KeyPart, never[]] {
  return [table, keyPart(partition), []];
}

/** Reads a stored value whatever form the structured clone gave back. */
export function storedRow(raw: unknown): StoredRow {
  const r = raw as { value: Uint8Array | ArrayBuffer; expiresAt?: number | null };
  const value = r.value instanceof Uint8Array ? r.value : new Uint8Array(r.value);
  return { value, expiresAt: typeof r.expiresAt === 'number' ? r.expiresAt : null };
}

/**
 * One schema upgrade step. `upgrade` runs inside the `versionchange` transaction, issues its
 * requests with callbacks (never `await`, so the transaction stays active) and calls `done`
 * once its last request has finished. A throw aborts the whole upgrade.
 *
 * @example
 * ```ts
 * import { INDEXEDDB_MIGRATIONS } from '@cloister/storage/indexeddb';
 * for (const step of INDEXEDDB_MIGRATIONS) console.log(step.version, step.description);
 * ```
 */
export interface IndexedDbMigration {
  /** The schema version this step produces; steps are numbered 1, 2, 3... without gaps. */
  readonly version: number;
  /** What the step changes, for logs and the spec. */
  readonly description: string;
  /** Applies the step to a database at `version - 1`. */
  readonly upgrade: (db: IDBDatabase, tx: IDBTransaction, done: () => void) => void;
}

/**
 * Every schema step, in order. A database at version `k` has had the first `k` steps applied;
 * opening it applies the rest, all in the one `versionchange` transaction (all or nothing).
 *
 * @example
 * ```ts
 * import { INDEXEDDB_MIGRATIONS, INDEXEDDB_SCHEMA_VERSION } from '@cloister/storage/indexeddb';
 * console.assert(INDEXEDDB_MIGRATIONS.length === INDEXEDDB_SCHEMA_VERSION);
 * ```
 */
export const INDEXEDDB_MIGRATIONS: readonly IndexedDbMigration[] = [
  {
    version: 1,
    description: 'store `rows_hex`: key [table, hex(partition), hex(sort)], value { value, expiresAt }',
    upgrade(db, _tx, done) {
      db.createObjectStore(ROWS_HEX_STORE);
      done();
    },
  },
  {
    version: 2,
    description: 'store `rows`: binary key parts [table, partition, sort]; copies and drops `rows_hex`',
    upgrade(db, tx, done) {
      const target = db.createObjectStore(ROWS_STORE);
      const source = tx.objectStore(ROWS_HEX_STORE);
      const cursorRequest = source.openCursor();
      cursorRequest.onsuccess = () => {
        const cursor = cursorRequest.result;
        if (cursor === null) {
          db.deleteObjectStore(ROWS_HEX_STORE);
          done();
          return;
        }
        const [table, partitionHex, sortHex] = cursor.primaryKey as [string, string, string];
        const row = storedRow(cursor.value);
        target.put(
          { value: row.value, expiresAt: row.expiresAt },
          rowKey(table, fromHex(partitionHex), fromHex(sortHex)),
        );
        cursor.continue();
      };
    },
  },
  {
    version: 3,
    description: 'index `by_expiry` on `rows.expiresAt` (rows that never expire are not indexed)',
    upgrade(_db, tx, done) {
      tx.objectStore(ROWS_STORE).createIndex(EXPIRY_INDEX, 'expiresAt', { unique: false });
      done();
    },
  },
];

/**
 * The schema version this build writes. A database with a higher version was written by a newer
 * build and is refused with `UnsupportedError`.
 *
 * @example
 * ```ts
 * import { INDEXEDDB_SCHEMA_VERSION } from '@cloister/storage/indexeddb';
 * console.log(`IndexedDB schema v${INDEXEDDB_SCHEMA_VERSION}`);
 * ```
 */
export const INDEXEDDB_SCHEMA_VERSION: number = INDEXEDDB_MIGRATIONS.length;

/**
 * Applies the steps after `fromVersion` up to `toVersion`, one after another, then calls `done`.
 * Used by the adapter's `onupgradeneeded` and by tests that build older databases.
 */
export function applyMigrations(
  db: IDBDatabase,
  tx: IDBTransaction,
  fromVersion: number,
  toVersion: number,
  done: () => void,
): void {
  const steps = INDEXEDDB_MIGRATIONS.filter((m) => m.version > fromVersion && m.version <= toVersion);
  const next = (i: number): void => {
    const step = steps[i];
    if (step === undefined) {
      done();
      return;
    }
    step.upgrade(db, tx, () => next(i + 1));
  };
  next(0);
}

/** The v1 primary key of a row (hex string parts), for tests that build v1 databases. */
export function rowKeyV1(table: string, partition: Uint8Array, sort: Uint8Array): [string, string, string] {
  return [table, toHex(partition), toHex(sort)];
}
