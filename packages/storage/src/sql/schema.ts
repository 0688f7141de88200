/**
 * The SQL schema: one generic row table and a version table, created and upgraded by numbered
 * migrations that run when an adapter opens. The statements are the same on PGlite and
 * PostgreSQL.
 *
 * @module
 */
import { UnsupportedError, ValidationError } from '@cloister/crypto';
import { type SqlClient, type SqlSession, storageError } from './client.js';

/**
 * One schema migration: the statements that take a database from `version - 1` to `version`.
 *
 * @example
 * ```ts
 * import { SQL_MIGRATIONS } from '@cloister/storage/sql';
 * for (const m of SQL_MIGRATIONS) console.log(m.version, m.description, m.statements('public'));
 * ```
 */
export interface SqlMigration {
  /** The version the database has after this migration (1, 2, ...). */
  readonly version: number;
  /** What the migration changes, for humans. */
  readonly description: string;
  /**
   * The statements, for tables in the given (validated, unquoted) schema.
   *
   * @example
   * ```ts
   * import { SQL_MIGRATIONS } from '@cloister/storage/sql';
   * const ddl = SQL_MIGRATIONS[0]?.statements('app_42');
   * // → ['CREATE TABLE "app_42".cloister_schema_version (…)', …]
   * ```
   */
  statements(schema: string): readonly string[];
}

/**
 * PostgreSQL schema names the adapter accepts: lower-case, unquoted-identifier style, at most
 * 63 characters.
 *
 * @example
 * ```ts
 * import { SQL_SCHEMA_NAME_PATTERN } from '@cloister/storage/sql';
 * console.log(SQL_SCHEMA_NAME_PATTERN.test('app_42')); // true
 * ```
 */
export const SQL_SCHEMA_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** Checks a PostgreSQL schema name (`ValidationError` on field `schema`). */
export function checkSchemaName(schema: unknown): string {
  if (typeof schema !== 'string' || !SQL_SCHEMA_NAME_PATTERN.test(schema)) {
    throw new ValidationError('schema', 'a schema name matching /^[a-z_][a-z0-9_]{0,62}$/');
  }
  return schema;
}

/** The quoted, schema-qualified name of one of the adapter's tables. */
export function qualified(schema: string, table: string): string {
  return `"${checkSchemaName(schema)}".${table}`;
}

/**
 * Every migration, in order. A migration is never edited once released: a change of schema is a
 * new entry at the end.
 *
 * @example
 * ```ts
 * import { SQL_MIGRATIONS, SQL_SCHEMA_VERSION } from '@cloister/storage/sql';
 * console.log(SQL_MIGRATIONS.length === SQL_SCHEMA_VERSION); // true
 * ```
 */
export const SQL_MIGRATIONS: readonly SqlMigration[] = Object.freeze([
  {
    version: 1,
    description: 'the version table and the generic row table',
    statements: (schema: string) => [
      `CREATE TABLE ${qualified(schema, 'cloister_schema_version')} (
  version integer PRIMARY KEY,
  applied_at bigint NOT NULL
)`,
      `CREATE TABLE ${qualified(schema, 'cloister_rows')} (
  tbl text NOT NULL,
  part bytea NOT NULL,
  sort bytea NOT NULL,
  value bytea NOT NULL,
  expires_at bigint NULL,
  PRIMARY KEY (tbl, part, sort)
)`,
    ],
  },
  {
    version: 2,
    description: 'a partial index on expiry for the purge',
    statements: (schema: string) => [
      `CREATE INDEX cloister_rows_expires_at ON ${qualified(schema, 'cloister_rows')} (expires_at) WHERE expires_at IS NOT NULL`,
    ],
  },
  {
    version: 3,
    description: 'check constraints mirroring the adapter contract limits',
    statements: (schema: string) => [
      `ALTER TABLE ${qualified(schema, 'cloister_rows')}
  ADD CONSTRAINT cloister_rows_tbl_name CHECK (tbl ~ '^[a-z][a-z0-9_]{0,47}$'),
  ADD CONSTRAINT cloister_rows_key_size CHECK (octet_length(part) <= 512 AND octet_length(sort) <= 512),
  ADD CONSTRAINT cloister_rows_expires_at_range CHECK (expires_at IS NULL OR expires_at >= 0)`,
    ],
  },
]);

/**
 * The schema version this code writes and reads: the number of {@link SQL_MIGRATIONS}. A
 * database at a higher version is refused with `UnsupportedError`.
 *
 * @example
 * ```ts
 * import { SQL_SCHEMA_VERSION } from '@cloister/storage/sql';
 * console.log(SQL_SCHEMA_VERSION); // 3
 * ```
 */
export const SQL_SCHEMA_VERSION: number = SQL_MIGRATIONS.length;

/** Advisory-lock class id of the migration lock (the bytes `Clo1`); the schema hash is the key. */
const MIGRATION_LOCK_CLASS = 0x436c6f31;

/** The version of a database as seen from an open transaction: 0 when it has no tables yet. */
export async function readSchemaVersion(session: SqlSession, schema: string): Promise<number> {
  const present = await session.query('SELECT to_regclass($1) IS NOT NULL AS present', [
    qualified(schema, 'cloister_schema_version'),
  ]);
  if (present.rows[0]?.present !== true) return 0;
  const result = await session.query(
    `SELECT coalesce(max(version), 0) AS version FROM ${qualified(schema, 'cloister_schema_version')}`,
  );
  return Number(result.rows[0]?.version ?? 0);
}

/**
 * Brings the database to {@link SQL_SCHEMA_VERSION} in one transaction that holds an advisory
 * lock, so that concurrent openers apply each migration once. Creates the schema when missing.
 * Rejects with `UnsupportedError` when the database is newer than this code.
 */
export async function migrate(client: SqlClient, schema: string): Promise<number> {
  checkSchemaName(schema);
  return client.session(async (session) => {
    let version: number;
    try {
      await session.query('BEGIN ISOLATION LEVEL READ COMMITTED');
    } catch (error) {
      throw storageError('migration', error);
    }
    try {
      await session.query('SELECT pg_advisory_xact_lock($1::integer, hashtext($2::text))', [
        MIGRATION_LOCK_CLASS,
        schema,
      ]);
      const exists = await session.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (exists.rows.length === 0) await session.query(`CREATE SCHEMA "${schema}"`);
      version = await readSchemaVersion(session, schema);
      if (version > SQL_SCHEMA_VERSION) {
        throw new UnsupportedError('the database was written by a newer version of Cloister');
      }
      for (const migration of SQL_MIGRATIONS) {
        if (migration.version <= version) continue;
        for (const statement of migration.statements(schema)) await session.query(statement);
        await session.query(
          `INSERT INTO ${qualified(schema, 'cloister_schema_version')} (version, applied_at)
VALUES ($1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)`,
          [migration.version],
        );
      }
      await session.query('COMMIT');
    } catch (error) {
      try {
        await session.query('ROLLBACK');
      } catch {
        // The connection is gone; the server rolls back on its own.
      }
      if (error instanceof UnsupportedError) throw error;
      throw storageError('migration', error);
    }
    return SQL_SCHEMA_VERSION;
  });
}
