/**
 * Where the server keeps its state, as given on the command line, and opening that state without
 * serving (for `tenant create`, `token create` and later admin commands).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CloisterError } from '@cloister/crypto';
import type { CloisterServer, ServerContext, ServerOptions } from '@cloister/server';
import { type Command, Option } from 'commander';
import { DataDirBusy, type DataDirLock, lockDataDir } from './_lock.js';
import { parseDatabaseUrl, parsePath, parseSchema, readStorageKeyFile } from './_options.js';
import { UsageFailure } from './io.js';

/**
 * The default data directory, relative to the working directory.
 *
 * @example
 * ```ts
 * console.log(DEFAULT_DATA_DIR); // './cloister-data'
 * ```
 */
export const DEFAULT_DATA_DIR = './cloister-data';

/**
 * The storage options as commander parsed them.
 *
 * @example
 * ```ts
 * const values: StorageOptionValues = { dataDir: './data' };
 * ```
 */
export interface StorageOptionValues {
  readonly dataDir?: string;
  readonly database?: string;
  readonly databaseSchema?: string;
  readonly storageKeyFile?: string;
}

/**
 * Adds `--data-dir`, `--database`, `--database-schema` and `--storage-key-file` to `command`.
 *
 * @example
 * ```ts
 * addStorageOptions(program.command('tenant').command('list'));
 * ```
 */
export function addStorageOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--data-dir <dir>',
        `the server's data directory: embedded database, TLS material, storage key (default ${DEFAULT_DATA_DIR})`,
      ).argParser(parsePath),
    )
    .addOption(
      new Option(
        '--database <url>',
        'use PostgreSQL at this postgres:// URL instead of the embedded database',
      ).argParser(parseDatabaseUrl),
    )
    .addOption(
      new Option(
        '--database-schema <name>',
        'PostgreSQL schema (default public); only with --database',
      ).argParser(parseSchema),
    )
    .addOption(
      new Option(
        '--storage-key-file <file>',
        'the storage key (hex, at least 32 bytes) instead of <data-dir>/storage.key',
      ).argParser(parsePath),
    );
}

/**
 * The resolved storage configuration.
 *
 * @example
 * ```ts
 * const config: StorageConfig = storageConfig({ dataDir: './data' });
 * ```
 */
export interface StorageConfig {
  readonly dataDir: string;
  /** Embedded PGlite (true) or PostgreSQL (false). */
  readonly embedded: boolean;
  readonly options: Pick<ServerOptions, 'dataDir' | 'database' | 'databaseSchema' | 'storageKey'>;
}

/**
 * Checks the combination of storage options and reads the key file.
 *
 * @example
 * ```ts
 * const { dataDir, embedded } = storageConfig({ database: 'postgres://db/cloister' });
 * ```
 */
export function storageConfig(values: StorageOptionValues): StorageConfig {
  if (values.databaseSchema !== undefined && values.database === undefined) {
    throw new UsageFailure('--database-schema needs --database');
  }
  const dataDir = resolve(values.dataDir ?? DEFAULT_DATA_DIR);
  const storageKey =
    values.storageKeyFile === undefined ? undefined : readStorageKeyFile(values.storageKeyFile);
  return {
    dataDir,
    embedded: values.database === undefined,
    options: {
      dataDir,
      ...(values.database === undefined ? {} : { database: values.database }),
      ...(values.databaseSchema === undefined ? {} : { databaseSchema: values.databaseSchema }),
      ...(storageKey === undefined ? {} : { storageKey }),
    },
  };
}

/**
 * Takes the data-directory lock when the embedded database is used (PostgreSQL needs none).
 *
 * @example
 * ```ts
 * const lock = lockIfEmbedded(storageConfig({}), 'server');
 * lock?.release();
 * ```
 */
export function lockIfEmbedded(config: StorageConfig, command: string): DataDirLock | undefined {
  return config.embedded ? lockDataDir(config.dataDir, command) : undefined;
}

/**
 * Turns a failure to open the database into a message an operator can act on.
 *
 * @example
 * ```ts
 * throw openFailure(config, error);
 * ```
 */
export function openFailure(config: StorageConfig, error: unknown): Error {
  if (error instanceof DataDirBusy || error instanceof UsageFailure) return error;
  if (error instanceof CloisterError && error.code === 'ERR_DECRYPTION_FAILED') {
    return new Error(
      `the storage key does not open this ${config.embedded ? 'data directory' : 'database'} (check --storage-key-file or <data-dir>/storage.key)`,
      { cause: error },
    );
  }
  // A typed error other than a storage failure (bad TLS material, a bad option) speaks for itself.
  if (error instanceof CloisterError && error.code !== 'ERR_STORAGE') return error;
  const detail = error instanceof Error ? error.message : 'unknown error';
  if (config.embedded) {
    return new Error(
      `cannot open the embedded database in ${config.dataDir} (${detail}); if a server is running on this data directory, stop the server or use the admin API`,
      { cause: error },
    );
  }
  return new Error(`cannot open the PostgreSQL database (${detail})`, { cause: error });
}

/**
 * Opens the server's storage without listening, runs `fn` on its context and closes it again,
 * holding the data-directory lock throughout. An existing database is never opened with a freshly
 * generated storage key: the key must be given or already be in the data directory.
 *
 * @example
 * ```ts
 * const tenant = await withStoredServer({ dataDir: './data' }, 'tenant', (ctx) => ctx.stores.tenants.get(id));
 * ```
 */
export async function withStoredServer<T>(
  values: StorageOptionValues,
  command: string,
  fn: (context: ServerContext) => Promise<T>,
): Promise<T> {
  const config = storageConfig(values);
  const keyKnown = config.options.storageKey !== undefined || existsSync(join(config.dataDir, 'storage.key'));
  const databaseExists = !config.embedded || existsSync(join(config.dataDir, 'db'));
  if (databaseExists && !keyKnown) {
    throw new UsageFailure(
      config.embedded
        ? `${config.dataDir} holds a database but no storage.key: give the server's key with --storage-key-file`
        : "with --database, give the server's storage key: --storage-key-file FILE, or --data-dir DIR holding its storage.key",
    );
  }
  const lock = lockIfEmbedded(config, command);
  try {
    let server: CloisterServer;
    try {
      const { createServer } = await import('@cloister/server');
      server = await createServer({ ...config.options, logLevel: 'silent' });
    } catch (error) {
      throw openFailure(config, error);
    }
    try {
      return await fn(server.context);
    } finally {
      await server.close();
    }
  } finally {
    lock?.release();
  }
}

/**
 * Whether `error` is one of the project's typed errors (its message is safe to show).
 *
 * @example
 * ```ts
 * if (isTypedError(error)) console.error(error.code);
 * ```
 */
export function isTypedError(error: unknown): error is CloisterError {
  return error instanceof CloisterError;
}
