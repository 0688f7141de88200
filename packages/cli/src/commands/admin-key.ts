/**
 * `cloister admin key create|install`: a further administrator's signing key. The administrator
 * creates a key pair on their own machine (`key create`, the private key encrypted in
 * `<admin-dir>/key-request.json`) and hands the public key to an owner; the owner certifies it with
 * the root (`cloister org certify`); the administrator installs the certificate (`key install`),
 * which checks it against the root whose fingerprint the owner gave out of band, and against the
 * server's statement, before writing `signing-key.json`.
 *
 * @module
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  ADMIN_FILES,
  type AdminOptionValues,
  addAdminOptions,
  explainAdminError,
  openAdminSession,
  output,
  readStoreFile,
  wrongPassphrase,
} from '../_admin.js';
import { keyStoreOptions, type ResolvedIO, UsageFailure } from '../io.js';

/**
 * The file of a key request in the administrator directory.
 *
 * @example
 * ```ts
 * join(dir, KEY_REQUEST_FILE); // …/key-request.json
 * ```
 */
export const KEY_REQUEST_FILE = 'key-request.json';

/**
 * A base64url value of `bytes` bytes (an option parser).
 *
 * @example
 * ```ts
 * base64urlOf(32)('AAAA…'); // the text, checked
 * ```
 */
export function base64urlOf(min: number, max = min): (value: string) => string {
  return (value) => {
    const bytes = /^[A-Za-z0-9_-]+$/.test(value) ? Buffer.from(value, 'base64url') : undefined;
    if (
      bytes === undefined ||
      bytes.toString('base64url') !== value ||
      bytes.length < min ||
      bytes.length > max
    ) {
      throw new InvalidArgumentError(
        `expected base64url without padding of ${min === max ? min : `${min} to ${max}`} bytes.`,
      );
    }
    return value;
  };
}

function parseFingerprint(value: string): string {
  if (!/^cloister-root:v1:[A-Za-z0-9_-]{43}$/.test(value)) {
    throw new InvalidArgumentError('expected a root fingerprint cloister-root:v1:<43 base64url characters>.');
  }
  return value;
}

async function create(options: AdminOptionValues, io: ResolvedIO): Promise<void> {
  const { session, provider, dir, passphrase } = await openAdminSession(options, io);
  for (const name of [ADMIN_FILES.signingKey, KEY_REQUEST_FILE]) {
    if (existsSync(join(dir, name))) throw new UsageFailure(`${join(dir, name)} exists already`);
  }
  const [{ sealKeyRequest }, { writeKeyStoreFile }] = await Promise.all([
    import('@cloister/admin'),
    import('@cloister/admin/node'),
  ]);
  const keys = await provider.ed25519.generateKeyPair();
  writeKeyStoreFile(
    join(dir, KEY_REQUEST_FILE),
    await sealKeyRequest(
      provider,
      { tenant: session.tenant, admin: session.admin, ...keys },
      passphrase,
      keyStoreOptions(io),
    ),
  );
  const out = { admin: session.admin, publicKey: Buffer.from(keys.publicKey).toString('base64url') };
  output(
    io,
    options,
    out,
    (o) =>
      `signing public key of ${o.admin}: ${o.publicKey}\n` +
      `next: an owner runs cloister org certify --admin ${o.admin} --role <your role> --public-key ${o.publicKey}\n`,
  );
}

interface InstallOptions extends AdminOptionValues {
  readonly certificate: string;
  readonly rootPublicKey: string;
  readonly rootFingerprint: string;
}

async function install(options: InstallOptions, io: ResolvedIO): Promise<void> {
  const { client, provider, dir, passphrase } = await openAdminSession(options, io);
  const [{ installAdminCertificate, openKeyRequest, sealSigningKey }, { rootFingerprint }, node] =
    await Promise.all([
      import('@cloister/admin'),
      import('@cloister/protocol'),
      import('@cloister/admin/node'),
    ]);
  const rootPublicKey = new Uint8Array(Buffer.from(options.rootPublicKey, 'base64url'));
  if ((await rootFingerprint(provider, rootPublicKey)) !== options.rootFingerprint) {
    throw new Error('--root-public-key is not the key of --root-fingerprint: ask the owner again');
  }
  // The server must state the same root.
  const state = await client.getOrganisation().catch(explainAdminError);
  if (state.rootFingerprint !== options.rootFingerprint) {
    throw new Error('the server states another organisation root than --root-fingerprint');
  }
  const request = await openKeyRequest(
    provider,
    await readStoreFile(dir, KEY_REQUEST_FILE, 'cloister admin key create'),
    passphrase,
  ).catch(wrongPassphrase);
  const key = await installAdminCertificate(
    provider,
    request.privateKey,
    new Uint8Array(Buffer.from(options.certificate, 'base64url')),
    rootPublicKey,
  );
  if (key.admin !== request.admin) throw new Error('the certificate names another administrator');
  node.writeKeyStoreFile(
    join(dir, ADMIN_FILES.signingKey),
    await sealSigningKey(provider, key, passphrase, keyStoreOptions(io)),
  );
  rmSync(join(dir, KEY_REQUEST_FILE));
  output(
    io,
    options,
    { admin: key.admin, role: key.role },
    (o) => `installed the signing key of ${o.admin} (${o.role})\n`,
  );
}

/**
 * Adds `cloister admin key …` to the `admin` group.
 *
 * @example
 * ```ts
 * registerAdminKeyCommands(program.command('admin'), resolveIO());
 * ```
 */
export function registerAdminKeyCommands(admin: Command, io: ResolvedIO): Command {
  const key = admin
    .command('key')
    .description('your signing key (administrators other than the first owner)');
  addAdminOptions(
    key
      .command('create')
      .description('create your signing key pair; prints the public key an owner certifies'),
    'print one JSON line {"admin","publicKey"}',
  ).action((options: AdminOptionValues) => create(options, io));
  addAdminOptions(
    key
      .command('install')
      .description(
        'install the certificate an owner issued (cloister org certify) after checking it against the root',
      )
      .addOption(
        new Option('--certificate <base64url>', 'the certificate org certify printed')
          .argParser(base64urlOf(1, 381))
          .makeOptionMandatory(),
      )
      .addOption(
        new Option('--root-public-key <base64url>', "the organisation root's public key org certify printed")
          .argParser(base64urlOf(32))
          .makeOptionMandatory(),
      )
      .addOption(
        new Option(
          '--root-fingerprint <fingerprint>',
          "the root's fingerprint, from the owner by a channel you trust",
        )
          .argParser(parseFingerprint)
          .makeOptionMandatory(),
      ),
    'print one JSON line {"admin","role"}',
  ).action((options: InstallOptions) => install(options, io));
  return key;
}
