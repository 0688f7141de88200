/**
 * Option parsers shared by the commands. Each one checks a single argument and throws commander's
 * `InvalidArgumentError` with a message saying what was expected (never echoing a secret), which
 * the program reports with exit code 2.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { CloisterError, fromHex } from '@cloister/crypto';
import { type PoolId, poolId, type TenantId, tenantId, type UserId, userId } from '@cloister/protocol';
import { normalizeDomain } from '@cloister/server';
import { InvalidArgumentError } from 'commander';
import { parseDuration } from './duration.js';
import { UsageFailure } from './io.js';

/**
 * The log levels of the server.
 *
 * @example
 * ```ts
 * console.log(LOG_LEVELS.includes('info')); // true
 * ```
 */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/**
 * A server log level.
 *
 * @example
 * ```ts
 * const level: LogLevel = 'warn';
 * ```
 */
export type LogLevel = (typeof LOG_LEVELS)[number];

function reason(error: unknown): string {
  if (error instanceof CloisterError) return error.message.replace(/^[^:]*: (?:expected )?/, '');
  return 'a valid value';
}

/**
 * A TCP port, 0 (any free port) to 65535.
 *
 * @example
 * ```ts
 * parsePort('8443'); // 8443
 * ```
 */
export function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) {
    throw new InvalidArgumentError('expected a port number from 0 to 65535 (0: any free port).');
  }
  return Number(value);
}

/**
 * A connection cap: a whole number from 1 to 1,000,000 (`createServer`'s `connections` bounds).
 *
 * @example
 * ```ts
 * parseConnectionCap('512'); // 512
 * ```
 */
export function parseConnectionCap(value: string): number {
  if (!/^[1-9]\d{0,6}$/.test(value) || Number(value) > 1_000_000) {
    throw new InvalidArgumentError('expected a whole number from 1 to 1000000.');
  }
  return Number(value);
}

const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|[0-9A-Fa-f:.]{2,45})$/;

/**
 * A host name or IP address to listen on.
 *
 * @example
 * ```ts
 * parseHost('0.0.0.0'); // '0.0.0.0'
 * ```
 */
export function parseHost(value: string): string {
  if (value.length > 253 || !HOST.test(value)) {
    throw new InvalidArgumentError('expected a host name or an IP address such as 127.0.0.1, :: or 0.0.0.0.');
  }
  return value;
}

/**
 * One of {@link LOG_LEVELS}.
 *
 * @example
 * ```ts
 * parseLogLevel('debug'); // 'debug'
 * ```
 */
export function parseLogLevel(value: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === value);
  if (level === undefined) throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}.`);
  return level;
}

/**
 * A `postgres://` or `postgresql://` URL.
 *
 * @example
 * ```ts
 * parseDatabaseUrl('postgres://postgres@127.0.0.1:5432/cloister');
 * ```
 */
export function parseDatabaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected a postgres://user@host:port/database URL.');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new InvalidArgumentError('expected a postgres://user@host:port/database URL.');
  }
  return value;
}

/**
 * A PostgreSQL schema name.
 *
 * @example
 * ```ts
 * parseSchema('cloister_a'); // 'cloister_a'
 * ```
 */
export function parseSchema(value: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(value)) {
    throw new InvalidArgumentError('expected a schema name of lower-case letters, digits and _.');
  }
  return value;
}

/**
 * A non-empty path.
 *
 * @example
 * ```ts
 * parsePath('./cloister-data');
 * ```
 */
export function parsePath(value: string): string {
  if (value.length === 0 || value.includes('\0')) throw new InvalidArgumentError('expected a path.');
  return value;
}

/**
 * A tenant id (1..128 characters from A-Z a-z 0-9 . _ - : @ +).
 *
 * @example
 * ```ts
 * parseTenantId('acme'); // TenantId 'acme'
 * ```
 */
export function parseTenantId(value: string): TenantId {
  try {
    return tenantId(value);
  } catch (error) {
    throw new InvalidArgumentError(`expected ${reason(error)}.`);
  }
}

/**
 * A user id.
 *
 * @example
 * ```ts
 * parseUserId('alice'); // UserId 'alice'
 * ```
 */
export function parseUserId(value: string): UserId {
  try {
    return userId(value);
  } catch (error) {
    throw new InvalidArgumentError(`expected ${reason(error)}.`);
  }
}

/**
 * A pool id.
 *
 * @example
 * ```ts
 * parsePoolId('ward-3'); // PoolId 'ward-3'
 * ```
 */
export function parsePoolId(value: string): PoolId {
  try {
    return poolId(value);
  } catch (error) {
    throw new InvalidArgumentError(`expected ${reason(error)}.`);
  }
}

/**
 * A display name: 1..256 characters, no control characters.
 *
 * @example
 * ```ts
 * parseName(' ACME Hospital '); // 'ACME Hospital'
 * ```
 */
export function parseName(value: string): string {
  const trimmed = value.trim();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (trimmed.length === 0 || [...trimmed].length > 256 || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw new InvalidArgumentError('expected a name of 1 to 256 characters without control characters.');
  }
  return trimmed;
}

/**
 * Collects repeated `--domain` options, normalised to lower case; duplicates are refused.
 *
 * @example
 * ```ts
 * collectDomain('B.example', ['a.example']); // ['a.example', 'b.example']
 * ```
 */
export function collectDomain(value: string, previous: readonly string[] = []): string[] {
  let domain: string;
  try {
    domain = normalizeDomain(value);
  } catch (error) {
    throw new InvalidArgumentError(`expected ${reason(error)}.`);
  }
  if (previous.includes(domain)) throw new InvalidArgumentError('the domain is given twice.');
  return [...previous, domain];
}

/**
 * A positive integer up to `max`.
 *
 * @example
 * ```ts
 * positiveInteger(10)('3'); // 3
 * ```
 */
export function positiveInteger(max: number): (value: string) => number {
  return (value) => {
    if (!/^\d{1,9}$/.test(value) || Number(value) < 1 || Number(value) > max) {
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}.`);
    }
    return Number(value);
  };
}

/**
 * A duration such as `7d` (see `parseDuration`), in milliseconds.
 *
 * @example
 * ```ts
 * parseDurationOption('12h'); // 43200000
 * ```
 */
export function parseDurationOption(value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new InvalidArgumentError(`expected ${reason(error)}.`);
  }
}

/**
 * Reads a text file given on the command line; unreadable: a usage failure naming the option.
 *
 * @example
 * ```ts
 * const pem = readTextFile('server.crt', '--tls-cert');
 * ```
 */
export function readTextFile(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    throw new UsageFailure(`${option}: cannot read the file ${path}`);
  }
}

/**
 * Reads a storage key file: hex (at least 64 hex digits, i.e. 32 bytes), surrounding white space
 * ignored; the format the server writes to `<data-dir>/storage.key`.
 *
 * @example
 * ```ts
 * const key = readStorageKeyFile('./cloister-data/storage.key'); // 32 bytes
 * ```
 */
export function readStorageKeyFile(path: string): Uint8Array {
  const text = readTextFile(path, '--storage-key-file').trim();
  if (!/^(?:[0-9a-fA-F]{2}){32,}$/.test(text)) {
    throw new UsageFailure('--storage-key-file: expected at least 64 hex digits (32 bytes)');
  }
  return fromHex(text.toLowerCase(), 'storage key');
}
