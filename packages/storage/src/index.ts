/**
 * `@cloister/storage`: a storage engine. The adapter contract every backend implements (rows of
 * bytes in named tables, ordered binary keys, expiry, purge, transactions), the in-memory
 * reference adapter, encryption at rest, crypto-shredding, the record codec and the executors
 * that let stores written once over the contract run in their own or a caller's transaction.
 * Backends: `@cloister/storage/sql` (PGlite, PostgreSQL), `@cloister/storage/indexeddb`; the
 * conformance suite: `@cloister/storage/conformance`. See `spec/storage.md`.
 *
 * @module @cloister/storage
 */

export { compareBytes } from './_check.js';
export * from './adapter.js';
export * from './encrypted/index.js';
export * from './executor.js';
export { createMemoryAdapter, type MemoryAdapterOptions } from './memory.js';
export * from './records.js';
export * from './shred/index.js';
