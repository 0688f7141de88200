/**
 * `cloister org …`: the organisation's trust chain on an owner's machine.
 *
 * - `org init` generates the organisation root and the owner's signing key certified by it, and
 *   stores both encrypted in the administrator directory (`root-key.json` under the root
 *   passphrase, `signing-key.json` under the administrator passphrase); prints the fingerprint.
 * - `org register` registers the root with the server (`PUT /admin/v1/organisation/root`).
 * - `org delegate` signs and publishes the delegation that lets the server issue sender
 *   certificates with its key for at most 7 days (run it again before it ends).
 * - `org certify` certifies a further administrator's public key with the root (offline).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_ROLES, type AdminRole } from '@cloister/protocol';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  ADMIN_FILES,
  type AdminOptionValues,
  addAdminOptions,
  adminDir,
  adminPassphrase,
  cryptoProvider,
  explainAdminError,
  openAdminSession,
  openAdminSigningKey,
  output,
  PASSPHRASE_ENV,
  readSecret,
  readStoreFile,
  wrongPassphrase,
} from '../_admin.js';
import { parsePath, parseTenantId } from '../_options.js';
import { keyStoreOptions, type ResolvedIO, UsageFailure } from '../io.js';
import { base64urlOf } from './admin-key.js';

interface InitOptions extends AdminOptionValues {
  readonly tenant?: string;
  readonly admin?: string;
  readonly rootPassphraseFile?: string;
  readonly validityDays?: number;
}

/**
 * What `org init --json` prints.
 *
 * @example
 * ```ts
 * const { fingerprint } = JSON.parse(stdout) as OrgInitJson;
 * ```
 */
export interface OrgInitJson {
  /** The tenant id. */
  readonly tenant: string;
  /** The owner's administrator id (`adm_…`). */
  readonly admin: string;
  /** The new root's fingerprint, `cloister-root:v1:…`. */
  readonly fingerprint: string;
  /** Path of the root key store written. */
  readonly rootKeyFile: string;
  /** Path of the owner's signing key store written. */
  readonly signingKeyFile: string;
}

function parseDays(max: number): (value: string) => number {
  return (value) => {
    if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > max) {
      throw new InvalidArgumentError(`expected a whole number of days from 1 to ${max}.`);
    }
    return Number(value);
  };
}

async function init(options: InitOptions, io: ResolvedIO): Promise<void> {
  const dir = adminDir(options, true);
  const rootFile = join(dir, ADMIN_FILES.root);
  const keyFile = join(dir, ADMIN_FILES.signingKey);
  for (const f of [rootFile, keyFile]) {
    if (existsSync(f)) throw new UsageFailure(`${f} exists already: this directory holds an organisation`);
  }
  const { describeKeyStore, generateOrganisation, sealRootKey, sealSigningKey } = await import(
    '@cloister/admin'
  );
  let tenant = options.tenant;
  let admin = options.admin;
  if (tenant === undefined || admin === undefined) {
    if (!existsSync(join(dir, ADMIN_FILES.session))) {
      throw new UsageFailure('give --tenant and --admin, or log in first (cloister admin login)');
    }
    const session = describeKeyStore(await readStoreFile(dir, ADMIN_FILES.session, 'cloister admin login'));
    tenant ??= session.tenant as string;
    admin ??= session.admin as string;
  }
  const rootPassphrase = await readSecret(
    {
      file: options.rootPassphraseFile,
      env: PASSPHRASE_ENV.root,
      option: '--root-passphrase-file',
      prompt: 'choose a passphrase for the organisation root: ',
    },
    io,
  );
  const passphrase = await adminPassphrase(options, io);
  if (rootPassphrase === passphrase) {
    io.stderr(
      'warning: the root passphrase is the administrator passphrase; a separate one keeps the root safer\n',
    );
  }
  const provider = await cryptoProvider();
  const org = await generateOrganisation(provider, {
    tenant,
    admin,
    ...(options.validityDays === undefined ? {} : { validityMs: options.validityDays * 86_400_000 }),
  });
  const { writeKeyStoreFile } = await import('@cloister/admin/node');
  writeKeyStoreFile(
    rootFile,
    await sealRootKey(provider, { tenant, ...org.root }, rootPassphrase, keyStoreOptions(io)),
  );
  writeKeyStoreFile(keyFile, await sealSigningKey(provider, org.owner, passphrase, keyStoreOptions(io)));
  const out: OrgInitJson = {
    tenant,
    admin,
    fingerprint: org.rootFingerprint,
    rootKeyFile: rootFile,
    signingKeyFile: keyFile,
  };
  output(
    io,
    options,
    out,
    (o) =>
      `organisation root for ${o.tenant}: ${o.fingerprint}\n` +
      `root key (encrypted): ${o.rootKeyFile}\nyour signing key (encrypted): ${o.signingKeyFile}\n` +
      'next: cloister org register, then cloister org delegate; put the fingerprint in your MDM configuration\n',
  );
}

async function register(options: AdminOptionValues, io: ResolvedIO): Promise<void> {
  const { client, provider, dir } = await openAdminSession(options, io);
  const [{ describeKeyStore }, { rootFingerprint }] = await Promise.all([
    import('@cloister/admin'),
    import('@cloister/protocol'),
  ]);
  const key = describeKeyStore(await readStoreFile(dir, ADMIN_FILES.signingKey, 'cloister org init'));
  const rootPublicKey = new Uint8Array(Buffer.from(String(key.rootPublicKey), 'base64url'));
  const certificate = new Uint8Array(Buffer.from(String(key.certificate), 'base64url'));
  const ours = await rootFingerprint(provider, rootPublicKey);
  const { fingerprint } = await client
    .setOrganisationRoot(rootPublicKey, certificate)
    .catch(explainAdminError);
  if (fingerprint !== ours)
    throw new Error('the server registered another root fingerprint than this directory holds');
  output(io, options, { fingerprint }, (o) => `registered the organisation root ${o.fingerprint}\n`);
}

async function delegate(options: AdminOptionValues & { days?: number }, io: ResolvedIO): Promise<void> {
  const { client, provider, dir, passphrase } = await openAdminSession(options, io);
  const key = await openAdminSigningKey(dir, provider, passphrase);
  const { signDelegation } = await import('@cloister/admin');
  const r = await signDelegation(
    { provider, key, client },
    options.days === undefined ? {} : { validityMs: options.days * 86_400_000 },
  ).catch(explainAdminError);
  const out = {
    sequence: r.sequence,
    notBefore: new Date(r.notBeforeMs).toISOString(),
    notAfter: new Date(r.notAfterMs).toISOString(),
  };
  output(
    io,
    options,
    out,
    (o) =>
      `the server may issue sender certificates from ${o.notBefore} until ${o.notAfter}; delegate again before then\n`,
  );
}

interface CertifyOptions extends AdminOptionValues {
  readonly admin: string;
  readonly role: AdminRole;
  readonly publicKey: string;
  readonly rootPassphraseFile?: string;
  readonly validityDays?: number;
}

/**
 * What `org certify --json` prints: everything the administrator needs for `admin key install`
 * (the fingerprint should reach them by a channel of its own).
 *
 * @example
 * ```ts
 * const { certificate, rootPublicKey, rootFingerprint } = JSON.parse(stdout) as OrgCertifyJson;
 * ```
 */
export interface OrgCertifyJson {
  /** The certified administrator's id (`adm_…`). */
  readonly admin: string;
  /** The role the certificate grants. */
  readonly role: AdminRole;
  /** The administrator certificate (base64url). */
  readonly certificate: string;
  /** The organisation root's public key (base64url, 32 bytes). */
  readonly rootPublicKey: string;
  /** The root's fingerprint, `cloister-root:v1:…`. */
  readonly rootFingerprint: string;
  /** When the certificate expires, ISO 8601. */
  readonly expiresAt: string;
}

async function certify(options: CertifyOptions, io: ResolvedIO): Promise<void> {
  const dir = adminDir(options);
  const text = await readStoreFile(dir, ADMIN_FILES.root, 'cloister org init');
  const rootPassphrase = await readSecret(
    {
      file: options.rootPassphraseFile,
      env: PASSPHRASE_ENV.root,
      option: '--root-passphrase-file',
      prompt: 'root passphrase: ',
    },
    io,
  );
  const provider = await cryptoProvider();
  const [{ certifyAdministrator, openRootKey }, { decodeAdminCertificate }] = await Promise.all([
    import('@cloister/admin'),
    import('@cloister/protocol'),
  ]);
  const root = await openRootKey(provider, text, rootPassphrase).catch(wrongPassphrase);
  const certificate = await certifyAdministrator(provider, root.privateKey, {
    tenant: root.tenant,
    admin: options.admin,
    role: options.role,
    adminPublicKey: new Uint8Array(Buffer.from(options.publicKey, 'base64url')),
    ...(options.validityDays === undefined ? {} : { validityMs: options.validityDays * 86_400_000 }),
  });
  const out: OrgCertifyJson = {
    admin: options.admin,
    role: options.role,
    certificate: Buffer.from(certificate).toString('base64url'),
    rootPublicKey: Buffer.from(root.publicKey).toString('base64url'),
    rootFingerprint: root.fingerprint,
    expiresAt: new Date(decodeAdminCertificate(certificate).expiresAtMs).toISOString(),
  };
  output(
    io,
    options,
    out,
    (o) =>
      `certified ${o.admin} as ${o.role} until ${o.expiresAt}
` +
      `next: the administrator runs cloister admin key install --certificate ${o.certificate} --root-public-key ${o.rootPublicKey} --root-fingerprint ${o.rootFingerprint}
` +
      'tell them the fingerprint by a channel of its own (in person, by phone)\n',
  );
}

function parseRole(value: string): AdminRole {
  const role = ADMIN_ROLES.find((r) => r === value);
  if (role === undefined) throw new InvalidArgumentError(`expected one of ${ADMIN_ROLES.join(', ')}.`);
  return role;
}

/**
 * Adds `cloister org …` to `program`.
 *
 * @example
 * ```ts
 * const program = new Command('cloister');
 * registerOrgCommands(program, resolveIO());
 * ```
 */
export function registerOrgCommands(program: Command, io: ResolvedIO): Command {
  const org = program.command('org').description("the organisation's root key and what it signs (owners)");
  addAdminOptions(
    org
      .command('init')
      .description(
        'create the organisation root and your certified signing key, encrypted in the admin directory',
      )
      .addOption(
        new Option('--tenant <id>', 'the tenant (default: the logged-in session’s)').argParser(parseTenantId),
      )
      .addOption(new Option('--admin <id>', 'your administrator id (default: the logged-in session’s)'))
      .addOption(
        new Option(
          '--root-passphrase-file <file>',
          `the root passphrase's file (else ${PASSPHRASE_ENV.root}, else a prompt)`,
        ).argParser(parsePath),
      )
      .addOption(
        new Option(
          '--validity-days <n>',
          'validity of your owner certificate (default 365, at most 400)',
        ).argParser(parseDays(400)),
      ),
    'print one JSON line {"tenant","admin","fingerprint","rootKeyFile","signingKeyFile"}',
  ).action((options: InitOptions) => init(options, io));
  addAdminOptions(
    org.command('register').description('register the root with the server (owner, fresh second factor)'),
    'print one JSON line {"fingerprint"}',
  ).action((options: AdminOptionValues) => register(options, io));
  addAdminOptions(
    org
      .command('delegate')
      .description(
        "sign and publish the delegation for the server's certificate key (owner, fresh second factor)",
      )
      .addOption(
        new Option('--days <n>', 'length of the delegation (default and at most 7)').argParser(parseDays(7)),
      ),
    'print one JSON line {"sequence","notBefore","notAfter"}',
  ).action((options: AdminOptionValues & { days?: number }) => delegate(options, io));
  addAdminOptions(
    org
      .command('certify')
      .description(
        "certify another administrator's signing public key with the root (offline, root passphrase)",
      )
      .addOption(new Option('--admin <id>', 'the administrator id (adm_…)').makeOptionMandatory())
      .addOption(
        new Option('--role <role>', ADMIN_ROLES.join(', ')).argParser(parseRole).makeOptionMandatory(),
      )
      .addOption(
        new Option('--public-key <base64url>', 'the public key admin key create printed')
          .argParser(base64urlOf(32))
          .makeOptionMandatory(),
      )
      .addOption(
        new Option(
          '--root-passphrase-file <file>',
          `the root passphrase's file (else ${PASSPHRASE_ENV.root}, else a prompt)`,
        ).argParser(parsePath),
      )
      .addOption(
        new Option('--validity-days <n>', 'validity of the certificate (default 365, at most 400)').argParser(
          parseDays(400),
        ),
      ),
    'print one JSON line {"admin","role","certificate","rootPublicKey","rootFingerprint","expiresAt"}',
  ).action((options: CertifyOptions) => certify(options, io));
  return org;
}
