/**
 * `cloister admin …`: the admin API from the command line (`spec/cli.md`). This module holds the
 * group and the session commands (`login`, `logout`, `whoami`, `step-up`); the resources have
 * their own modules (`admin-tenant.ts`, `admin-people.ts`, `admin-devices.ts`, `admin-policy.ts`,
 * `admin-audit.ts`, `admin-key.ts`). Every command talks to a running server over HTTPS with the server's key
 * pinned; the session is kept in `<admin-dir>/session.json`, its token wrapped under the
 * administrator's passphrase.
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
  adminDir,
  adminPassphrase,
  cryptoProvider,
  explainAdminError,
  localRoot,
  openAdminSession,
  output,
  readSecret,
} from '../_admin.js';
import { parseServerPin, parseServerUrl } from '../_client.js';
import { parsePath, parseTenantId } from '../_options.js';
import { keyStoreOptions, type ResolvedIO, UsageFailure } from '../io.js';
import { registerAdminAllowlistCommands } from './admin-allowlist.js';
import { registerAdminAuditCommands } from './admin-audit.js';
import { registerAdminBroadcastCommands } from './admin-broadcast.js';
import { registerAdminBulkCommands } from './admin-bulk.js';
import { registerAdminDeviceCommands } from './admin-devices.js';
import { registerAdminIntegrationsCommands } from './admin-integrations.js';
import { registerAdminKeyCommands } from './admin-key.js';
import { registerAdminPeopleCommands } from './admin-people.js';
import { registerAdminPolicyCommands } from './admin-policy.js';
import { registerAdminPoolsCommands } from './admin-pools.js';
import { registerAdminRestrictionsCommands } from './admin-restrictions.js';
import { registerAdminScimCommands } from './admin-scim.js';
import { registerAdminStatsCommands } from './admin-stats.js';
import { registerAdminSubjectCommands } from './admin-subjects.js';
import { registerAdminTenantCommands } from './admin-tenant.js';

/**
 * A TOTP code: six digits.
 *
 * @example
 * ```ts
 * parseTotp('123456'); // '123456'
 * ```
 */
export function parseTotp(value: string): string {
  if (!/^[0-9]{6}$/.test(value)) throw new InvalidArgumentError('expected a TOTP code of six digits.');
  return value;
}

/**
 * An e-mail address (checked loosely; the server decides).
 *
 * @example
 * ```ts
 * parseEmail('olivia@acme.example');
 * ```
 */
export function parseEmail(value: string): string {
  const v = value.trim();
  if (v.length < 3 || v.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(v)) {
    throw new InvalidArgumentError('expected an e-mail address.');
  }
  return v;
}

/**
 * What `admin login --json` and `admin whoami --json` print.
 *
 * @example
 * ```ts
 * const me: AdminSessionJson = JSON.parse(stdout);
 * ```
 */
export interface AdminSessionJson {
  /** The tenant id. */
  readonly tenant: string;
  /** The administrator's id (`adm_…`). */
  readonly admin: string;
  /** The administrator's role (`owner`, `admin`, `user-manager`, `auditor`, `integration`). */
  readonly role: string;
  /** The session's hard end, ISO 8601. */
  readonly expiresAt: string;
  /** Until when the second factor counts as fresh, ISO 8601, or null. */
  readonly freshFactorUntil: string | null;
}

interface LoginOptions extends AdminOptionValues {
  readonly server: string;
  readonly serverPin: string;
  readonly tenant: string;
  readonly email: string;
  readonly passwordFile?: string;
  readonly totp?: string;
  readonly recoveryCodeFile?: string;
}

const iso = (ms: number | undefined | null): string | null =>
  ms === undefined || ms === null ? null : new Date(ms).toISOString();

async function login(options: LoginOptions, io: ResolvedIO): Promise<void> {
  if ((options.totp === undefined) === (options.recoveryCodeFile === undefined)) {
    throw new UsageFailure('give exactly one of --totp and --recovery-code-file');
  }
  const dir = adminDir(options, true);
  const password = await readSecret(
    { file: options.passwordFile, option: '--password-file', prompt: 'password: ' },
    io,
  );
  const recoveryCode =
    options.recoveryCodeFile === undefined
      ? undefined
      : await readSecret({ file: options.recoveryCodeFile, option: '--recovery-code-file', prompt: '' }, io);
  const passphrase = await adminPassphrase(options, io);
  const provider = await cryptoProvider();
  const [{ AdminClient, sealSession }, { pinnedTransport, writeKeyStoreFile }] = await Promise.all([
    import('@cloister/admin'),
    import('@cloister/admin/node'),
  ]);
  const server = { url: options.server, pin: options.serverPin };
  const root = await localRoot(dir);
  const { session } = await AdminClient.login(
    {
      transport: pinnedTransport(server),
      provider,
      ...(root === undefined ? {} : { organisationRoot: root }),
    },
    {
      tenant: options.tenant,
      email: options.email,
      password,
      ...(options.totp === undefined ? {} : { totp: options.totp }),
      ...(recoveryCode === undefined ? {} : { recoveryCode }),
    },
  ).catch(explainAdminError);
  const text = await sealSession(
    provider,
    {
      server,
      tenant: session.tenant,
      admin: session.admin,
      role: session.role,
      token: session.token,
      expiresAt: session.expiresAt,
    },
    passphrase,
    keyStoreOptions(io),
  );
  writeKeyStoreFile(join(dir, ADMIN_FILES.session), text);
  const out: AdminSessionJson = {
    tenant: session.tenant,
    admin: session.admin,
    role: session.role,
    expiresAt: iso(session.expiresAt) as string,
    freshFactorUntil: iso(session.freshFactorUntil),
  };
  if (session.recoveryCodesLeft <= 3 && options.recoveryCodeFile !== undefined) {
    io.stderr(`warning: ${session.recoveryCodesLeft} recovery codes left\n`);
  }
  output(
    io,
    options,
    out,
    (o) => `logged in to ${o.tenant} as ${o.admin} (${o.role}); the session ends at ${o.expiresAt}\n`,
  );
}

async function logout(options: AdminOptionValues, io: ResolvedIO): Promise<void> {
  const { client, dir } = await openAdminSession(options, io);
  try {
    await client.logout();
  } catch (error) {
    // A session the server already ended is logged out all the same.
    if (!(error instanceof Error && 'code' in error && error.code === 'ERR_UNAUTHENTICATED'))
      explainAdminError(error);
  } finally {
    const path = join(dir, ADMIN_FILES.session);
    if (existsSync(path)) rmSync(path);
  }
  output(io, options, { loggedOut: true }, () => 'logged out; the stored session is removed\n');
}

async function whoami(options: AdminOptionValues, io: ResolvedIO): Promise<void> {
  const { client } = await openAdminSession(options, io);
  const me = await client.whoami().catch(explainAdminError);
  const out: AdminSessionJson & { readonly email: string; readonly permissions: readonly string[] } = {
    tenant: me.tenant,
    admin: me.admin,
    role: me.role,
    email: me.email,
    permissions: me.permissions,
    expiresAt: iso(me.expiresAt) as string,
    freshFactorUntil: iso(me.freshFactorUntil),
  };
  output(
    io,
    options,
    out,
    (o) =>
      `${o.admin} <${o.email}> in ${o.tenant}, role ${o.role}\n` +
      `permissions: ${o.permissions.join(', ')}\n` +
      `session ends: ${o.expiresAt}; fresh second factor until: ${o.freshFactorUntil ?? 'not fresh'}\n`,
  );
}

async function stepUp(options: AdminOptionValues & { readonly totp: string }, io: ResolvedIO): Promise<void> {
  const { client } = await openAdminSession(options, io);
  const { freshFactorUntil } = await client.stepUp(options.totp).catch(explainAdminError);
  output(
    io,
    options,
    { freshFactorUntil: iso(freshFactorUntil) },
    (o) => `second factor fresh until ${o.freshFactorUntil}\n`,
  );
}

/**
 * Adds `cloister admin …` to `program`.
 *
 * @example
 * ```ts
 * const program = new Command('cloister');
 * registerAdminCommands(program, resolveIO());
 * ```
 */
export function registerAdminCommands(program: Command, io: ResolvedIO): Command {
  const admin = program
    .command('admin')
    .description('administer a tenant through the admin API of a running server');
  addAdminOptions(
    admin
      .command('login')
      .description('log in with password and TOTP; the session is stored encrypted in the admin directory')
      .addOption(
        new Option('--server <url>', "the server's https:// URL")
          .argParser(parseServerUrl)
          .makeOptionMandatory(),
      )
      .addOption(
        new Option('--server-pin <pin>', "the server's public-key pin, sha256/<base64>")
          .argParser(parseServerPin)
          .makeOptionMandatory(),
      )
      .addOption(new Option('--tenant <id>', 'your tenant').argParser(parseTenantId).makeOptionMandatory())
      .addOption(
        new Option('--email <email>', 'your e-mail address').argParser(parseEmail).makeOptionMandatory(),
      )
      .addOption(new Option('--password-file <file>', 'your password (else a prompt)').argParser(parsePath))
      .addOption(new Option('--totp <code>', 'the current code of your authenticator').argParser(parseTotp))
      .addOption(
        new Option('--recovery-code-file <file>', 'a recovery code instead of --totp (single use)').argParser(
          parsePath,
        ),
      ),
    'print one JSON line {"tenant","admin","role","expiresAt","freshFactorUntil"}',
  ).action((options: LoginOptions) => login(options, io));
  addAdminOptions(admin.command('logout').description('end the session and remove it')).action(
    (options: AdminOptionValues) => logout(options, io),
  );
  addAdminOptions(
    admin.command('whoami').description('who the stored session is, with its permissions'),
  ).action((options: AdminOptionValues) => whoami(options, io));
  addAdminOptions(
    admin
      .command('step-up')
      .description(
        'present a fresh TOTP code (wipes, role changes, deletions and root operations ask for one)',
      )
      .addOption(new Option('--totp <code>', 'the current code').argParser(parseTotp).makeOptionMandatory()),
  ).action((options: AdminOptionValues & { totp: string }) => stepUp(options, io));
  registerAdminTenantCommands(admin, io);
  registerAdminPeopleCommands(admin, io);
  registerAdminDeviceCommands(admin, io);
  registerAdminIntegrationsCommands(admin, io);
  registerAdminKeyCommands(admin, io);
  registerAdminPolicyCommands(admin, io);
  registerAdminBroadcastCommands(admin, io);
  registerAdminAuditCommands(admin, io);
  registerAdminPoolsCommands(admin, io);
  registerAdminRestrictionsCommands(admin, io);
  registerAdminAllowlistCommands(admin, io);
  registerAdminBulkCommands(admin, io);
  registerAdminStatsCommands(admin, io);
  registerAdminSubjectCommands(admin, io);
  registerAdminScimCommands(admin, io);
  return admin;
}
