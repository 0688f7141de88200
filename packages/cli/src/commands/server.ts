/**
 * `cloister server start`: runs a relay until SIGINT or SIGTERM, printing the URL and the
 * public-key pin clients must be configured with. The operator token that authorises the admin
 * API's operator operations (creating tenants) is read from `--operator-token-file` (default
 * `<data-dir>/operator.token`), generated there (32 random bytes, base64url, mode 0600) when absent.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { CloisterServer, TlsMaterial } from '@cloister/server';
import { type Command, Option } from 'commander';
import {
  type LogLevel,
  parseConnectionCap,
  parseHost,
  parseLogLevel,
  parsePath,
  parsePort,
  readTextFile,
} from '../_options.js';
import {
  addStorageOptions,
  lockIfEmbedded,
  openFailure,
  type StorageOptionValues,
  storageConfig,
} from '../_storage.js';
import { type ResolvedIO, UsageFailure } from '../io.js';

/**
 * Default listening address of `server start`.
 *
 * @example
 * ```ts
 * console.log(DEFAULT_HOST); // '127.0.0.1'
 * ```
 */
export const DEFAULT_HOST = '127.0.0.1';
/**
 * Default port of `server start`.
 *
 * @example
 * ```ts
 * console.log(DEFAULT_PORT); // 8443
 * ```
 */
export const DEFAULT_PORT = 8443;

interface StartOptions extends StorageOptionValues {
  readonly host?: string;
  readonly port?: number;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly logLevel?: LogLevel;
  readonly operatorTokenFile?: string;
  readonly maxConnections?: number;
  readonly maxConnectionsPerAddress?: number;
  readonly json?: boolean;
}

/**
 * The operator token file's name in the data directory (its default place).
 *
 * @example
 * ```ts
 * join(dataDir, OPERATOR_TOKEN_FILE); // …/operator.token
 * ```
 */
export const OPERATOR_TOKEN_FILE = 'operator.token';

/**
 * Reads the operator token from `path`, generating it there first (32 random bytes as 43 base64url
 * characters and a newline, mode 0600, never overwriting) when the file does not exist. A file
 * others may read, or one that does not hold such a token, is a usage failure; the token itself is
 * never printed.
 *
 * @example
 * ```ts
 * const { token, generated } = operatorToken('./cloister-data/operator.token');
 * ```
 */
export function operatorToken(path: string): { token: string; generated: boolean } {
  let generated = false;
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    generated = true;
  }
  if (process.platform !== 'win32' && (statSync(path).mode & 0o077) !== 0) {
    throw new UsageFailure(`--operator-token-file: ${path} may be read by others: chmod 600 it`);
  }
  const token = readFileSync(path, 'utf8').trim();
  if (!/^[A-Za-z0-9_-]{43}$/.test(token) || Buffer.from(token, 'base64url').toString('base64url') !== token) {
    throw new UsageFailure(`--operator-token-file: ${path} does not hold 43 base64url characters`);
  }
  return { token, generated };
}

/**
 * What `server start --json` prints as its first line.
 *
 * @example
 * ```ts
 * const first: StartJsonLine = JSON.parse(stdoutLine); // the first line printed
 * const client = { url: first.url, pin: first.pin };
 * ```
 */
export interface StartJsonLine {
  /** The URL the server listens on, `https://host:port`. */
  readonly url: string;
  /** The server's public-key pin, `sha256/<base64>`, for clients and admin tools. */
  readonly pin: string;
  /** True when the server generated a self-signed certificate (no `--tls-cert`). */
  readonly generatedCertificate: boolean;
  /** Where the operator token is (the token itself is never printed). */
  readonly operatorTokenFile: string;
}

function tlsFrom(options: StartOptions): TlsMaterial | undefined {
  if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) {
    throw new UsageFailure('--tls-cert and --tls-key must be given together');
  }
  if (options.tlsCert === undefined || options.tlsKey === undefined) return undefined;
  return {
    cert: readTextFile(options.tlsCert, '--tls-cert'),
    key: readTextFile(options.tlsKey, '--tls-key'),
  };
}

/** Resolves when a stop signal arrives; a second signal exits at once with code 1. */
function stopSignal(io: ResolvedIO): { readonly stopped: Promise<string>; dispose(): void } {
  let resolveStop: (signal: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => {
    resolveStop = resolve;
  });
  let received = 0;
  const dispose = io.onSignal((signal) => {
    received++;
    if (received === 1) {
      resolveStop(signal);
    } else {
      io.stderr(`received ${signal} again: stopping now without waiting for requests in flight\n`);
      io.exit(1);
    }
  });
  return { stopped, dispose };
}

async function start(options: StartOptions, io: ResolvedIO): Promise<void> {
  const tls = tlsFrom(options);
  const config = storageConfig(options);
  const logLevel = options.logLevel ?? (options.json === true ? 'warn' : 'info');
  const lock = lockIfEmbedded(config, 'server');
  const tokenFile = resolve(options.operatorTokenFile ?? join(config.dataDir, OPERATOR_TOKEN_FILE));
  // Listen for signals before the (slow) start, so that a stop asked for during it is honoured.
  const signal = stopSignal(io);
  try {
    let server: CloisterServer;
    try {
      // Loaded on use: `--help` and the client commands need none of the server's modules.
      const { createServer } = await import('@cloister/server');
      const { token } = operatorToken(tokenFile);
      server = await createServer({
        ...config.options,
        ...(tls === undefined ? {} : { tls }),
        logLevel,
        operatorToken: token,
        ...(options.maxConnections === undefined && options.maxConnectionsPerAddress === undefined
          ? {}
          : {
              connections: {
                ...(options.maxConnections === undefined ? {} : { max: options.maxConnections }),
                ...(options.maxConnectionsPerAddress === undefined
                  ? {}
                  : { perAddress: options.maxConnectionsPerAddress }),
              },
            }),
      });
    } catch (error) {
      throw openFailure(config, error);
    }
    let url: string;
    try {
      url = await server.listen({ host: options.host ?? DEFAULT_HOST, port: options.port ?? DEFAULT_PORT });
    } catch (error) {
      await server.close();
      throw error;
    }
    if (options.json === true) {
      const line: StartJsonLine = {
        url,
        pin: server.pin,
        generatedCertificate: server.generatedCertificate,
        operatorTokenFile: tokenFile,
      };
      io.stdout(`${JSON.stringify(line)}\n`);
    } else {
      const certificate =
        tls !== undefined
          ? `using the certificate from ${options.tlsCert}`
          : server.generatedCertificate
            ? `generated a self-signed certificate in ${join(config.dataDir, 'tls')}`
            : `using the self-signed certificate in ${join(config.dataDir, 'tls')}`;
      const storage = config.embedded
        ? `embedded database in ${join(config.dataDir, 'db')}`
        : 'PostgreSQL database';
      io.stdout(
        `cloister server listening on ${url}\n` +
          `pin: ${server.pin}\n` +
          `${certificate}; clients must be configured with the pin above\n` +
          `storage: ${storage}\n` +
          `operator token (creates tenants: cloister admin tenant create): ${tokenFile}\n` +
          'press Ctrl-C to stop\n',
      );
    }
    const received = await signal.stopped;
    io.stderr(`received ${received}: finishing requests in flight, then stopping\n`);
    await server.close();
    io.stderr('server stopped\n');
  } finally {
    signal.dispose();
    lock?.release();
  }
}

/**
 * Adds `cloister server …` to `program`.
 *
 * @example
 * ```ts
 * const program = new Command('cloister');
 * registerServerCommands(program, resolveIO());
 * ```
 */
export function registerServerCommands(program: Command, io: ResolvedIO): Command {
  const server = program.command('server').description('run a Cloister relay');
  const startCommand = server
    .command('start')
    .description('start a relay and print its URL and the public-key pin clients must use')
    .addOption(
      new Option('--host <host>', `address to listen on (default ${DEFAULT_HOST})`).argParser(parseHost),
    )
    .addOption(
      new Option('--port <n>', `TCP port, 0 for any free port (default ${DEFAULT_PORT})`).argParser(
        parsePort,
      ),
    )
    .addOption(new Option('--tls-cert <file>', 'PEM certificate chain (with --tls-key)').argParser(parsePath))
    .addOption(new Option('--tls-key <file>', 'PEM private key (with --tls-cert)').argParser(parsePath))
    .addOption(
      new Option(
        '--log-level <level>',
        'fatal, error, warn, info (default), debug, trace or silent',
      ).argParser(parseLogLevel),
    )
    .addOption(
      new Option(
        '--operator-token-file <file>',
        `the operator token for creating tenants over the admin API (default <data-dir>/${OPERATOR_TOKEN_FILE}, generated when absent)`,
      ).argParser(parsePath),
    )
    .addOption(
      new Option(
        '--max-connections <n>',
        'open connections (WebSockets included) the relay accepts at once (default 10000)',
      ).argParser(parseConnectionCap),
    )
    .addOption(
      new Option(
        '--max-connections-per-address <n>',
        'open connections one client address may hold (an IPv6 /64 counts as one; default 128; raise it behind a reverse proxy)',
      ).argParser(parseConnectionCap),
    )
    .option(
      '--json',
      'print one JSON line {"url","pin","generatedCertificate","operatorTokenFile"} first (logs default to warn)',
    );
  addStorageOptions(startCommand);
  startCommand.action((options: StartOptions) => start(options, io));
  return server;
}
