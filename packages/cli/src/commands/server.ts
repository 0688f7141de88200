/**
 * `cloister server start`: runs a relay until SIGINT or SIGTERM, printing the URL and the
 * public-key pin clients must be configured with. The operator token that authorises the admin
 * API's operator operations (creating tenants) is read from `--operator-token-file` (default
 * `<data-dir>/operator.token`), generated there (32 random bytes, base64url, mode 0600) when absent.
 * `--local-ca` serves a leaf signed by a local certificate authority (the CA file to import is
 * printed), `--web-app <dir>` serves a static web app on the server's origin, `--portal` the admin
 * portal of `@cloister/portal` at `/portal/` (`/admin` redirects there). Logs go to standard
 * error, as one readable line each (`--log-format text`, the default) or as pino's JSON lines
 * (`--log-format json`, the default with `--json`), so standard output holds only the result.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ValidationError } from '@cloister/crypto';
import type {
  CloisterServer,
  LocalCaServerOptions,
  ServerOptions,
  TlsMaterial,
  WebAppOptions,
} from '@cloister/server';
import { type Command, InvalidArgumentError, Option } from 'commander';
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
  readonly localCa?: boolean;
  readonly certName?: readonly string[];
  readonly webApp?: string;
  readonly webAppPrefix?: string;
  readonly webAppSpa?: boolean;
  readonly portal?: boolean;
  readonly logFormat?: LogFormat;
}

/** How `server start` writes its logs to standard error. */
type LogFormat = 'text' | 'json';

/**
 * The web app prefix of `server start --web-app` when `--web-app-prefix` is not given.
 *
 * @example
 * ```ts
 * console.log(DEFAULT_WEB_APP_PREFIX); // '/app/'
 * ```
 */
export const DEFAULT_WEB_APP_PREFIX = '/app/';

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
  /** True when this start generated the certificate: a self-signed one, or with `--local-ca` a leaf the local CA signed (first start, renewal, a new name). */
  readonly generatedCertificate: boolean;
  /** Where the operator token is (the token itself is never printed). */
  readonly operatorTokenFile: string;
  /** With `--local-ca`: the CA certificate to import into browsers and OS stores. */
  readonly caFile?: string;
  /** With `--web-app`: the web app's address (the listening URL and the prefix). */
  readonly webAppUrl?: string;
  /**
   * With `--portal`: the admin portal's address, `<url>/admin` (which redirects to `/portal/`).
   *
   * @example
   * ```ts
   * const first: StartJsonLine = JSON.parse(stdoutLine);
   * console.log(first.portalUrl); // 'https://127.0.0.1:8443/admin'
   * ```
   */
  readonly portalUrl?: string;
}

const LEVELS: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

function logValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function logFields(prefix: string, value: unknown, out: string[]): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) {
      if (key !== 'stack') logFields(prefix === '' ? key : `${prefix}.${key}`, inner, out);
    }
  } else if (value !== undefined) {
    out.push(`${prefix}=${logValue(value)}`);
  }
}

/**
 * One pino JSON line as one readable line: `<ISO time> <LEVEL> <message> key=value …` (nested
 * fields dotted, stacks left out); a line that is not JSON is passed through.
 */
function textLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const { level, time, msg, pid: _pid, hostname: _hostname, ...rest } = entry;
  const fields: string[] = [];
  logFields('', rest, fields);
  const when = typeof time === 'number' ? new Date(time).toISOString() : new Date().toISOString();
  const name = (typeof level === 'number' ? LEVELS[level] : undefined) ?? String(level);
  return `${when} ${name} ${typeof msg === 'string' ? msg : ''}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}\n`;
}

function parseLogFormat(value: string): LogFormat {
  if (value !== 'text' && value !== 'json') throw new InvalidArgumentError('expected text or json.');
  return value;
}

function collectName(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}

/** The built admin portal's directory for `--portal`; a usage failure when it is not built. */
async function portalDirectory(): Promise<string> {
  const { portalRoot } = await import('@cloister/portal');
  try {
    return portalRoot();
  } catch (error) {
    throw new UsageFailure(
      `--portal: ${error instanceof Error ? error.message : 'the admin portal is not built'}`,
    );
  }
}

/** The server's options for `--local-ca`, `--cert-name`, `--web-app…` and `--portal`, checked. */
async function certificateAndWebApps(
  options: StartOptions,
): Promise<Pick<ServerOptions, 'localCa' | 'webApps' | 'portal'>> {
  if (options.localCa === true && (options.tlsCert !== undefined || options.tlsKey !== undefined)) {
    throw new UsageFailure('--local-ca cannot be used with --tls-cert and --tls-key');
  }
  if (options.certName !== undefined && options.localCa !== true) {
    throw new UsageFailure('--cert-name needs --local-ca');
  }
  if (options.webApp === undefined && (options.webAppPrefix !== undefined || options.webAppSpa === true)) {
    throw new UsageFailure('--web-app-prefix and --web-app-spa need --web-app <dir>');
  }
  const { checkWebApps, localCaNames } = await import('@cloister/server');
  const result: { localCa?: LocalCaServerOptions; webApps?: WebAppOptions[]; portal?: { root: string } } = {};
  if (options.portal === true) result.portal = { root: await portalDirectory() };
  if (options.localCa === true) {
    try {
      result.localCa = { hostNames: localCaNames(options.certName) };
    } catch (error) {
      throw new UsageFailure(`--cert-name: ${reasonOf(error)}`);
    }
  }
  if (result.portal !== undefined && options.webApp === undefined) {
    try {
      checkWebApps([], result.portal);
    } catch (error) {
      throw new UsageFailure(`--portal: ${reasonOf(error)}`);
    }
  }
  if (options.webApp !== undefined) {
    const dir = resolve(options.webApp);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new UsageFailure(`--web-app: ${dir} is not a directory`);
    }
    const app = {
      prefix: options.webAppPrefix ?? DEFAULT_WEB_APP_PREFIX,
      root: dir,
      ...(options.webAppSpa === true ? { spaFallback: true } : {}),
    };
    try {
      checkWebApps([app], result.portal);
    } catch (error) {
      const option =
        error instanceof ValidationError && error.field.endsWith('.root') ? '--web-app' : '--web-app-prefix';
      throw new UsageFailure(`${option}: ${reasonOf(error)}`);
    }
    result.webApps = [app];
  }
  return result;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message.replace(/^[^:]*: /, '') : 'invalid';
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
  const logFormat = options.logFormat ?? (options.json === true ? 'json' : 'text');
  // Logs go to standard error: standard output holds the result (the JSON line or the lines below).
  const logStream = {
    write: (line: string) => io.stderr(logFormat === 'json' ? line : textLogLine(line)),
  };
  const served = await certificateAndWebApps(options);
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
        logStream,
        ...served,
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
    const webApp = served.webApps?.[0];
    const webAppUrl = webApp === undefined ? undefined : `${url}${webApp.prefix}`;
    const portalUrl = served.portal === undefined ? undefined : `${url}/admin`;
    const localCa = server.localCa;
    if (options.json === true) {
      const line: StartJsonLine = {
        url,
        pin: server.pin,
        generatedCertificate: server.generatedCertificate,
        operatorTokenFile: tokenFile,
        ...(localCa === undefined ? {} : { caFile: localCa.caFile }),
        ...(webAppUrl === undefined ? {} : { webAppUrl }),
        ...(portalUrl === undefined ? {} : { portalUrl }),
      };
      io.stdout(`${JSON.stringify(line)}\n`);
    } else {
      const certificate =
        localCa !== undefined
          ? `${server.generatedCertificate ? 'issued' : 'using'} a certificate for ${localCa.names.join(', ')} signed by the local CA, valid until ${localCa.leafNotAfter.toISOString().slice(0, 10)}`
          : tls !== undefined
            ? `using the certificate from ${options.tlsCert}`
            : server.generatedCertificate
              ? `generated a self-signed certificate in ${join(config.dataDir, 'tls')}`
              : `using the self-signed certificate in ${join(config.dataDir, 'tls')}`;
      const storage = config.embedded
        ? `embedded database in ${join(config.dataDir, 'db')}`
        : 'PostgreSQL database';
      const trust =
        localCa === undefined
          ? ''
          : `local CA (${localCa.createdCa ? 'made now' : 'kept'}): ${localCa.caFile}\n` +
            `trust it once, as a certificate authority: Chromium on Linux: certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "Cloister local CA" -i ${localCa.caFile}; Node: NODE_EXTRA_CA_CERTS=${localCa.caFile}; other browsers and OS stores: spec/server-web.md\n`;
      io.stdout(
        `cloister server listening on ${url}\n` +
          `pin: ${server.pin}\n` +
          `${certificate}; clients must be configured with the pin above\n` +
          trust +
          (webApp === undefined ? '' : `web app: ${webAppUrl} (files from ${webApp.root})\n`) +
          (portalUrl === undefined
            ? ''
            : `admin portal: ${portalUrl} (redirects to ${url}/portal/; files from ${served.portal?.root})` +
              (localCa === undefined && tls === undefined
                ? '; browsers warn about the self-signed certificate: start with --local-ca and import the CA\n'
                : '\n')) +
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
      '--local-ca',
      'serve a certificate signed by a local certificate authority kept in <data-dir>/tls (prints the CA file to import into browsers and OS stores); not with --tls-cert',
    )
    .addOption(
      new Option(
        '--cert-name <host>',
        'a further DNS name or IP address for the local CA and its certificate (repeatable; with --local-ca)',
      ).argParser(collectName),
    )
    .addOption(
      new Option('--web-app <dir>', "serve the static web app in <dir> on the server's origin").argParser(
        parsePath,
      ),
    )
    .addOption(
      new Option(
        '--web-app-prefix <path>',
        `the path the web app is served under (default ${DEFAULT_WEB_APP_PREFIX}; not /v1/, /admin/, /scim/)`,
      ),
    )
    .option(
      '--web-app-spa',
      'answer index.html for unknown extension-less paths under the prefix (client-side routing)',
    )
    .option(
      '--portal',
      'serve the admin portal (@cloister/portal) at /portal/, with /admin redirecting there; use with --local-ca so that browsers trust the server',
    )
    .addOption(
      new Option(
        '--log-format <format>',
        'text (one readable line per entry; the default) or json (pino JSON lines; the default with --json); logs go to standard error',
      ).argParser(parseLogFormat),
    )
    .option(
      '--json',
      'print one JSON line {"url","pin","generatedCertificate","operatorTokenFile","caFile"?,"webAppUrl"?,"portalUrl"?} first (logs default to warn)',
    );
  addStorageOptions(startCommand);
  startCommand.action((options: StartOptions) => start(options, io));
  return server;
}
