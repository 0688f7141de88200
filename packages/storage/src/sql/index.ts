/**
 * `@cloister/storage/sql`: the storage adapter over SQL, one schema and one set of statements for
 * embedded PGlite and for PostgreSQL. The schema, its migrations and every statement are
 * described in `spec/storage-sql.md`.
 *
 * @module @cloister/storage/sql
 */

export type { SqlAdapterStatistics } from './client.js';
export { createPGliteAdapter, dumpPGlite, type PGliteAdapter, type PGliteAdapterOptions } from './pglite.js';
export { createPostgresAdapter, type PostgresAdapter, type PostgresAdapterOptions } from './postgres.js';
export { SQL_MIGRATIONS, SQL_SCHEMA_NAME_PATTERN, SQL_SCHEMA_VERSION, type SqlMigration } from './schema.js';
