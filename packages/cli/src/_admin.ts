/**
 * What the `cloister admin …` and `cloister org …` commands share: the administrator directory
 * (`--admin-dir`, default `./cloister-admin`) with its three key stores, reading a passphrase or
 * a password without echoing it, opening the stored session as an `AdminClient` over the pinned
 * transport, and turning the admin API's typed errors into messages with the next step.
 *
 * The directory holds (each mode 0600, formats in `spec/admin-sdk.md` §5):
 * `session.json` (the session token, wrapped under the administrator's passphrase),
 * `signing-key.json` (the administrator's signing key and certificate, same passphrase), on an
 * owner's machine `root-key.json` (the organisation root, under the root passphrase), and, once
 * a broadcast was sent, `device-list-pins.json` (the users' device lists pinned between
 * broadcasts: public, but only its owner may change it).
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AdminClient, AdminSigningKey, StoredSession } from '@cloister/admin';
import { CloisterError, type CryptoProvider } from '@cloister/crypto';
import { type Command, Option } from 'commander';
import { parsePath } from './_options.js';
import { promptHidden, type ResolvedIO, UsageFailure } from './io.js';

/**
 * Default administrator directory, relative to the working directory.
 *
 * @example
 * ```ts
 * console.log(DEFAULT_ADMIN_DIR); // './cloister-admin'
 * ```
 */
export const DEFAULT_ADMIN_DIR = './cloister-admin';

/**
 * File names inside the administrator directory.
 *
 * @example
 * ```ts
 * join(dir, ADMIN_FILES.session); // …/session.json
 * ```
 */
export const ADMIN_FILES = {
  session: 'session.json',
  signingKey: 'signing-key.json',
  root: 'root-key.json',
  deviceListPins: 'device-list-pins.json',
} as const;

/**
 * The environment variables a passphrase may come from when no file is given.
 *
 * @example
 * ```ts
 * process.env[PASSPHRASE_ENV.admin] = 'correct horse battery staple';
 * ```
 */
export const PASSPHRASE_ENV = {
  admin: 'CLOISTER_ADMIN_PASSPHRASE',
  root: 'CLOISTER_ROOT_PASSPHRASE',
} as const;

/**
 * The options every admin command has, as commander parsed them.
 *
 * @example
 * ```ts
 * const values: AdminOptionValues = { adminDir: './acme-admin', passphraseFile: './pass' };
 * ```
 */
export interface AdminOptionValues {
  readonly adminDir?: string;
  readonly passphraseFile?: string;
  readonly json?: boolean;
}

/**
 * Adds `--admin-dir`, `--passphrase-file` and `--json` to `command`.
 *
 * @example
 * ```ts
 * addAdminOptions(admin.command('whoami'));
 * ```
 */
export function addAdminOptions(command: Command, json = 'print one JSON line'): Command {
  return command
    .addOption(
      new Option(
        '--admin-dir <dir>',
        `the administrator directory: session, signing key, root key (default ${DEFAULT_ADMIN_DIR})`,
      ).argParser(parsePath),
    )
    .addOption(
      new Option(
        '--passphrase-file <file>',
        `the administrator passphrase's file (else ${PASSPHRASE_ENV.admin}, else a prompt)`,
      ).argParser(parsePath),
    )
    .option('--json', json);
}

/**
 * The administrator directory, created (mode 0700) when `create` is set.
 *
 * @example
 * ```ts
 * const dir = adminDir({ adminDir: './acme-admin' });
 * ```
 */
export function adminDir(values: AdminOptionValues, create = false): string {
  const dir = resolve(values.adminDir ?? DEFAULT_ADMIN_DIR);
  if (create) mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/**
 * A secret (passphrase, password): the first line of `file`, else the environment variable `env`,
 * else a prompt without echo when standard input is a terminal. Never printed.
 *
 * @example
 * ```ts
 * const passphrase = await readSecret({ file: options.passphraseFile, env: PASSPHRASE_ENV.admin, option: '--passphrase-file', prompt: 'passphrase: ' }, io);
 * ```
 */
export async function readSecret(
  source: {
    readonly file?: string | undefined;
    readonly env?: string;
    readonly option: string;
    readonly prompt: string;
  },
  io: ResolvedIO,
): Promise<string> {
  if (source.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(source.file, 'utf8');
    } catch {
      throw new UsageFailure(`${source.option}: cannot read the file ${source.file}`);
    }
    const line = (text.split(/\r?\n/, 1)[0] ?? '').trim();
    if (line.length === 0) throw new UsageFailure(`${source.option}: the first line of the file is empty`);
    return line;
  }
  const fromEnv = source.env === undefined ? undefined : process.env[source.env];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (process.stdin.isTTY === true) {
    const secret = await promptHidden(source.prompt, io);
    if (secret.length === 0) throw new UsageFailure('nothing was entered');
    return secret;
  }
  throw new UsageFailure(
    `a secret is needed: give ${source.option} <file>${source.env === undefined ? '' : `, set ${source.env}`}, or run in a terminal to be asked`,
  );
}

/**
 * The administrator passphrase (`--passphrase-file`, `CLOISTER_ADMIN_PASSPHRASE`, or a prompt).
 *
 * @example
 * ```ts
 * const passphrase = await adminPassphrase(options, io);
 * ```
 */
export function adminPassphrase(values: AdminOptionValues, io: ResolvedIO): Promise<string> {
  return readSecret(
    {
      file: values.passphraseFile,
      env: PASSPHRASE_ENV.admin,
      option: '--passphrase-file',
      prompt: 'administrator passphrase: ',
    },
    io,
  );
}

/**
 * The node crypto provider (loaded on use).
 *
 * @example
 * ```ts
 * const provider = await cryptoProvider();
 * ```
 */
export async function cryptoProvider(): Promise<CryptoProvider> {
  const { getProvider } = await import('@cloister/crypto');
  return getProvider();
}

/**
 * Reads a key store file of the directory (refusing one others may read); a missing file is a
 * usage failure naming the command that makes it.
 *
 * @example
 * ```ts
 * const text = await readStoreFile(dir, ADMIN_FILES.session, 'cloister admin login');
 * ```
 */
export async function readStoreFile(dir: string, name: string, makeWith: string): Promise<string> {
  const path = join(dir, name);
  if (!existsSync(path)) throw new UsageFailure(`${path} does not exist: run ${makeWith} first`);
  const { readKeyStoreFile } = await import('@cloister/admin/node');
  return readKeyStoreFile(path);
}

/**
 * The organisation root public key this administrator holds locally, from the public part of
 * `signing-key.json` or `root-key.json` (no passphrase needed); undefined when neither exists.
 *
 * @example
 * ```ts
 * const root = await localRoot(dir);
 * ```
 */
export async function localRoot(dir: string): Promise<Uint8Array | undefined> {
  const { describeKeyStore } = await import('@cloister/admin');
  for (const [name, field] of [
    [ADMIN_FILES.signingKey, 'rootPublicKey'],
    [ADMIN_FILES.root, 'publicKey'],
  ] as const) {
    if (!existsSync(join(dir, name))) continue;
    const value = describeKeyStore(await readStoreFile(dir, name, ''))[field];
    if (typeof value === 'string') return new Uint8Array(Buffer.from(value, 'base64url'));
  }
  return undefined;
}

/**
 * The stored session opened with the passphrase, as an `AdminClient` over the pinned transport
 * (holding the local root, when there is one, to check the server's root statements).
 *
 * @example
 * ```ts
 * const { client, session } = await openAdminSession(options, io);
 * ```
 */
export async function openAdminSession(
  values: AdminOptionValues,
  io: ResolvedIO,
): Promise<{
  client: AdminClient;
  session: StoredSession;
  provider: CryptoProvider;
  dir: string;
  passphrase: string;
}> {
  const dir = adminDir(values);
  const text = await readStoreFile(dir, ADMIN_FILES.session, 'cloister admin login');
  const passphrase = await adminPassphrase(values, io);
  const provider = await cryptoProvider();
  const [{ AdminClient, openSession }, { pinnedTransport }] = await Promise.all([
    import('@cloister/admin'),
    import('@cloister/admin/node'),
  ]);
  const session = await openSession(provider, text, passphrase).catch(wrongPassphrase);
  if (session.expiresAt <= Date.now()) {
    throw new Error('the stored session has ended: run cloister admin login');
  }
  const root = await localRoot(dir);
  const client = new AdminClient({
    transport: pinnedTransport(session.server),
    credential: { kind: 'session', token: session.token },
    provider,
    server: session.server,
    ...(root === undefined ? {} : { organisationRoot: root }),
  });
  return { client, session, provider, dir, passphrase };
}

/**
 * Opens the administrator's signing key (`signing-key.json`) with the passphrase.
 *
 * @example
 * ```ts
 * const key = await openAdminSigningKey(dir, provider, passphrase);
 * ```
 */
export async function openAdminSigningKey(
  dir: string,
  provider: CryptoProvider,
  passphrase: string,
): Promise<AdminSigningKey> {
  const text = await readStoreFile(
    dir,
    ADMIN_FILES.signingKey,
    'cloister org init (owners) or cloister admin key install',
  );
  const { openSigningKey } = await import('@cloister/admin');
  return openSigningKey(provider, text, passphrase).catch(wrongPassphrase);
}

/**
 * Rethrows a wrong passphrase as a message saying so.
 *
 * @example
 * ```ts
 * await openSession(provider, text, passphrase).catch(wrongPassphrase);
 * ```
 */
export function wrongPassphrase(error: unknown): never {
  if (error instanceof CloisterError && error.code === 'ERR_WRONG_PIN') {
    throw new Error('the passphrase does not open the key store', { cause: error });
  }
  throw error;
}

/**
 * The message of an admin-API failure with the next step where there is one (log in again, step
 * up, no such object); other errors pass through.
 *
 * @example
 * ```ts
 * await client.blockUser(user).catch(explainAdminError);
 * ```
 */
export function explainAdminError(error: unknown): never {
  if (error instanceof CloisterError) {
    switch (error.code) {
      case 'ERR_UNAUTHENTICATED':
        throw new Error(
          'not authenticated: the session has ended or the credentials are wrong (cloister admin login)',
          {
            cause: error,
          },
        );
      case 'ERR_FORBIDDEN':
        throw new Error(
          `forbidden: ${error.message} (your role lacks the permission, or the action needs a fresh second factor: cloister admin step-up)`,
          { cause: error },
        );
      case 'ERR_NOT_FOUND':
        throw new Error(`not found: ${error.message}`, { cause: error });
      case 'ERR_CONFLICT':
        throw new Error(error.message, { cause: error });
      case 'ERR_RATE_LIMITED':
        throw new Error(
          `too many attempts: try again in ${(error as { retryAfterSeconds?: number }).retryAfterSeconds ?? 60} seconds`,
          { cause: error },
        );
      default:
        throw error;
    }
  }
  throw error;
}

/**
 * Prints `value` as one JSON line with `--json`, else the text `human` gives.
 *
 * @example
 * ```ts
 * output(io, options, result, (r) => `blocked ${r.user}\n`);
 * ```
 */
export function output<T>(
  io: ResolvedIO,
  values: AdminOptionValues,
  value: T,
  human: (value: T) => string,
): void {
  io.stdout(values.json === true ? `${JSON.stringify(value)}\n` : human(value));
}
