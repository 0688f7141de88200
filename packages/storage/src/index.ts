/**
 * `@cloister/storage`: the store contract every Cloister backend implements, the in-memory
 * reference adapter, and the typed stores, encryption at rest and retention built on them.
 *
 * @packageDocumentation
 */

export { compareBytes } from './_check.js';
export * from './adapter.js';
export * from './client/index.js';
export * from './encrypted/index.js';
export * from './executor.js';
export { createMemoryAdapter, type MemoryAdapterOptions } from './memory.js';
export * from './records.js';
export * from './retention/index.js';
export * from './server/index.js';
export * from './shred/index.js';
export * from './types.js';
