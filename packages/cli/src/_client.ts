/**
 * What the `cloister client …` commands share: the client directory (`client.json` with the
 * server's URL and key pin, the embedded database in `db/`, the lock), reading the PIN without
 * echoing it, opening a client over the directory, and transfer progress on stderr.
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CloisterClient, TransferProgress } from '@cloister/client';
import type { PinWrapOptions } from '@cloister/crypto';
import { InvalidArgumentError } from 'commander';
import { lockDataDir } from './_lock.js';
import { promptHidden, type ResolvedIO, UsageFailure } from './io.js';

/**
 * The name of the file in a client directory that says which server the client talks to. It
 * holds no secret: the URL and the server's public-key pin only.
 *
 * @example
 * ```ts
 * console.log(CLIENT_CONFIG_FILE); // 'client.json'
 * ```
 */
export const CLIENT_CONFIG_FILE = 'client.json';

/**
 * The environment variable a PIN may come from when no `--pin-file` is given.
 *
 * @example
 * ```ts
 * process.env[PIN_ENV] = '2468-1357';
 * ```
 */
export const PIN_ENV = 'CLOISTER_PIN';

/**
 * What `client.json` holds.
 *
 * @example
 * ```ts
 * const config: ClientConfig = { version: 1, server: { url: 'https://relay.example:8443', pin: 'sha256/…' } };
 * ```
 */
export interface ClientConfig {
  readonly version: 1;
  readonly server: { readonly url: string; readonly pin: string };
}

const PIN_FORMAT = /^sha256\/[A-Za-z0-9+/]{43}=$/;

/**
 * An `https://` URL of a Cloister server (no credentials, query or fragment).
 *
 * @example
 * ```ts
 * parseServerUrl('https://relay.example:8443'); // 'https://relay.example:8443'
 * ```
 */
export function parseServerUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected an https:// URL such as https://relay.example:8443.');
  }
  if (
    url.protocol !== 'https:' ||
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw new InvalidArgumentError('expected an https:// URL without credentials, query or fragment.');
  }
  return url.origin + (url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, ''));
}

/**
 * The server's public-key pin: `sha256/` and the base64 of 32 bytes (what `server start` prints).
 *
 * @example
 * ```ts
 * parseServerPin('sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
 * ```
 */
export function parseServerPin(value: string): string {
  if (!PIN_FORMAT.test(value) || Buffer.from(value.slice(7), 'base64').length !== 32) {
    throw new InvalidArgumentError(
      'expected sha256/ and the base64 of 32 bytes (the pin `server start` prints).',
    );
  }
  return value;
}

/**
 * Reads `<dir>/client.json`; a directory without one is a usage failure naming `client enroll`.
 *
 * @example
 * ```ts
 * const { server } = readClientConfig('./alice');
 * ```
 */
export function readClientConfig(dir: string): ClientConfig {
  const path = join(dir, CLIENT_CONFIG_FILE);
  if (!existsSync(path)) {
    throw new UsageFailure(
      `--data-dir: ${dir} holds no enrolled client (no ${CLIENT_CONFIG_FILE}): run cloister client enroll first`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new Error(`${path} is not valid JSON`);
  }
  const p = parsed as Partial<ClientConfig> | null;
  if (
    typeof p !== 'object' ||
    p === null ||
    p.version !== 1 ||
    typeof p.server?.url !== 'string' ||
    typeof p.server.pin !== 'string'
  ) {
    throw new Error(`${path} is not a client configuration (expected {"version":1,"server":{"url","pin"}})`);
  }
  try {
    return { version: 1, server: { url: parseServerUrl(p.server.url), pin: parseServerPin(p.server.pin) } };
  } catch (error) {
    throw new Error(`${path}: the server ${p.server.url === undefined ? 'url' : 'url or pin'} is invalid`, {
      cause: error,
    });
  }
}

/**
 * Writes `<dir>/client.json` (mode 0600; it holds no secret but says where the client connects).
 *
 * @example
 * ```ts
 * writeClientConfig('./alice', { version: 1, server: { url, pin } });
 * ```
 */
export function writeClientConfig(dir: string, config: ClientConfig): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, CLIENT_CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

/**
 * Where the PIN comes from, as commander parsed the options.
 *
 * @example
 * ```ts
 * const pin = await readPin({ pinFile: './pin.txt' }, io);
 * ```
 */
export interface PinOptionValues {
  readonly pinFile?: string;
}

/**
 * The device PIN: the first line of `--pin-file`, else the `CLOISTER_PIN` environment variable,
 * else a prompt without echo when standard input is a terminal. Never logged or printed.
 *
 * @example
 * ```ts
 * const pin = await readPin(options, io); // UsageFailure when there is no way to get one
 * ```
 */
export async function readPin(options: PinOptionValues, io: ResolvedIO, prompt = 'PIN: '): Promise<string> {
  let pin: string;
  if (options.pinFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.pinFile, 'utf8');
    } catch {
      throw new UsageFailure(`--pin-file: cannot read the file ${options.pinFile}`);
    }
    pin = (text.split(/\r?\n/, 1)[0] ?? '').trim();
    if (pin.length === 0) throw new UsageFailure('--pin-file: the first line of the file is empty');
  } else if (process.env[PIN_ENV] !== undefined && process.env[PIN_ENV] !== '') {
    pin = process.env[PIN_ENV];
  } else if (process.stdin.isTTY === true) {
    pin = await promptHidden(prompt, io);
    if (pin.length === 0) throw new UsageFailure('no PIN was entered');
  } else {
    throw new UsageFailure(
      `a PIN is needed: give --pin-file <file>, set ${PIN_ENV}, or run in a terminal to be asked`,
    );
  }
  return pin;
}

/**
 * Where {@link readPin} takes the PIN from with these options, for messages: `--pin-file <file>`,
 * `$CLOISTER_PIN` or `the prompt`.
 *
 * @example
 * ```ts
 * throw new UsageFailure(`the device PIN from ${pinSource(options)} is too short`);
 * ```
 */
export function pinSource(options: PinOptionValues): string {
  if (options.pinFile !== undefined) return `--pin-file ${options.pinFile}`;
  if (process.env[PIN_ENV] !== undefined && process.env[PIN_ENV] !== '') return `$${PIN_ENV}`;
  return 'the prompt';
}

/**
 * What the help of every command that needs the device PIN says about where it comes from.
 *
 * @example
 * ```ts
 * command.addHelpText('after', PIN_HELP);
 * ```
 */
export const PIN_HELP = `
The device PIN comes from the first line of --pin-file <file>, else $${PIN_ENV}, else a
prompt without echo when stdin is a terminal; without any of them the command stops (exit 2).
A new PIN (client enroll) has at least 6 characters.`;

/**
 * Opens the client of directory `dir` (taking its lock, opening `<dir>/db`) and runs `fn` on it;
 * the client is closed and the lock released whatever happens.
 *
 * @example
 * ```ts
 * await withClientDir('./alice', config, (client) => client.wipeStatus());
 * ```
 */
export async function withClientDir<T>(
  dir: string,
  config: ClientConfig,
  fn: (client: CloisterClient) => Promise<T>,
  pinWrap?: PinWrapOptions,
): Promise<T> {
  const lock = lockDataDir(dir, 'client');
  try {
    const [{ createPGliteAdapter }, { createClient }] = await Promise.all([
      import('@cloister/storage/sql'),
      import('@cloister/client'),
    ]);
    const storage = await createPGliteAdapter({ dataDir: join(dir, 'db') });
    let client: CloisterClient;
    try {
      client = await createClient({
        server: config.server,
        storage,
        ...(pinWrap === undefined ? {} : { pinWrap }),
      });
    } catch (error) {
      await storage.close().catch(() => undefined);
      throw error;
    }
    try {
      return await fn(client);
    } finally {
      await client.close().catch(() => undefined);
    }
  } finally {
    lock.release();
  }
}

/**
 * Resolves a `--data-dir` value to an absolute path.
 *
 * @example
 * ```ts
 * clientDir('./alice'); // '/home/me/alice'
 * ```
 */
export function clientDir(value: string): string {
  return resolve(value);
}

/**
 * Unlocks `client` with `pin`; a wiped client is reported as a failure saying so.
 *
 * @example
 * ```ts
 * await unlockClient(client, pin);
 * ```
 */
export async function unlockClient(client: CloisterClient, pin: string): Promise<void> {
  if (client.status === 'unenrolled') {
    throw new Error('the client in this directory is not enrolled: run cloister client enroll');
  }
  if (client.status === 'wiped') await failWiped(client);
  try {
    await client.unlock(pin);
  } catch (error) {
    // After too many wrong PINs in a row the local data is destroyed: say so, not just "wrong PIN".
    if (client.status === 'wiped') await failWiped(client);
    throw error;
  }
}

/**
 * Throws the failure a command reports when its client was wiped (with the command id and time).
 *
 * @example
 * ```ts
 * if (client.status === 'wiped') await failWiped(client);
 * ```
 */
export async function failWiped(client: CloisterClient): Promise<never> {
  const status = await client.wipeStatus();
  const detail = status.wiped
    ? ` at ${new Date(status.wipedAt).toISOString()} (command ${status.commandId})`
    : '';
  throw new Error(`this client was wiped${detail}: its local data is gone; enrol the device again`);
}

/**
 * Progress of one transfer on stderr: a bar (cli-progress) when stderr is a terminal, otherwise
 * one plain line per phase once it completes.
 *
 * @example
 * ```ts
 * const progress = transferProgress(io, 'report.pdf');
 * await client.sendFile(to, file, { onProgress: progress.update });
 * progress.stop();
 * ```
 */
export interface ProgressReporter {
  readonly update: (progress: TransferProgress) => void;
  stop(): void;
}

/**
 * Creates a {@link ProgressReporter} for the transfer of `label`.
 *
 * @example
 * ```ts
 * const progress = await transferProgress(io, 'scan.png');
 * ```
 */
export async function transferProgress(io: ResolvedIO, label: string): Promise<ProgressReporter> {
  const safe = printable(label);
  if (process.stderr.isTTY !== true) {
    const reported = new Set<string>();
    return {
      update(p) {
        if (p.bytes < p.total || reported.has(p.phase)) return;
        reported.add(p.phase);
        io.stderr(`${p.phase} ${safe}: ${p.total} bytes\n`);
      },
      stop() {},
    };
  }
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      format: '{phase} {label} [{bar}] {percentage}% {value}/{total} bytes',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let phase: string | undefined;
  return {
    update(p) {
      if (phase !== p.phase) {
        if (phase !== undefined) bar.stop();
        phase = p.phase;
        bar.start(p.total, 0, { phase: p.phase, label: safe });
      }
      bar.update(Math.min(p.bytes, p.total));
    },
    stop() {
      if (phase !== undefined) bar.stop();
    },
  };
}

/**
 * `text` with control characters replaced, safe to print on a terminal (names and texts come from
 * other users).
 *
 * @example
 * ```ts
 * printable('a\u001b[2Jb'); // 'a?[2Jb'
 * ```
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '?');
}
