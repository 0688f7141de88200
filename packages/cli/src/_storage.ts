/**
 * Where the server keeps its state, as given on the command line: the storage options of
 * `server start`, their checks, the data-directory lock and the messages of a failure to open.
 *
 * @module
 */
import { resolve } from 'node:path';
import { CloisterError } from '@cloister/crypto';
import type { ServerOptions } from '@cloister/server';
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
