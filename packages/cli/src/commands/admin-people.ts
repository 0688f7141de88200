/**
 * `cloister admin admins …` (administrators: list, invite, role, remove) and
 * `cloister admin users …` (list, invite, block, unblock, delete, detach, activity).
 *
 * @module
 */
import { ADMIN_ROLES, type AdminRole, managedConfigAndroidXml, managedConfigPlist } from '@cloister/protocol';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  type AdminOptionValues,
  addAdminOptions,
  explainAdminError,
  openAdminSession,
  output,
  readSecret,
} from '../_admin.js';
import {
  parseDurationOption,
  parseName,
  parsePath,
  parsePoolId,
  parseUserId,
  positiveInteger,
} from '../_options.js';
import { type ResolvedIO, UsageFailure } from '../io.js';
import { parseEmail } from './admin.js';

function parseRole(value: string): AdminRole {
  const role = ADMIN_ROLES.find((r) => r === value);
  if (role === undefined) throw new InvalidArgumentError(`expected one of ${ADMIN_ROLES.join(', ')}.`);
  return role;
}

function parseAdminId(value: string): string {
  if (!/^adm_[A-Za-z0-9_-]{22}$/.test(value))
    throw new InvalidArgumentError('expected an administrator id (adm_…).');
  return value;
}

function collect<T>(parse: (v: string) => T): (value: string, previous?: T[]) => T[] {
  return (value, previous = []) => [...previous, parse(value)];
}

const when = (ms: number | null): string => (ms === null ? 'never' : new Date(ms).toISOString());

interface InviteAdminOptions extends AdminOptionValues {
  readonly email: string;
  readonly name: string;
  readonly role: AdminRole;
  readonly passwordFile?: string;
  readonly scope?: string[];
}

async function inviteAdmin(options: InviteAdminOptions, io: ResolvedIO): Promise<void> {
  const { client } = await openAdminSession(options, io);
  const input =
    options.role === 'integration'
      ? {
          email: options.email,
          name: options.name,
          role: 'integration' as const,
          scopes: options.scope ?? [],
        }
      : {
          email: options.email,
          name: options.name,
          role: options.role,
          password: await readSecret(
            {
              file: options.passwordFile,
              option: '--password-file',
              prompt: "the administrator's first password: ",
            },
            io,
          ),
        };
  const invited = await client.inviteAdministrator(input).catch(explainAdminError);
  io.stderr(
    'warning: the credentials below are shown only this once; hand them over through a secure channel\n',
  );
  output(io, options, invited, (v) =>
    'apiKey' in v
      ? `created integration ${v.admin.id}\nAPI key: ${v.apiKey}\n`
      : `invited ${v.admin.id} (${v.admin.role})\nTOTP: ${v.totpUri}\nrecovery codes:\n${v.recoveryCodes.map((c) => `  ${c}\n`).join('')}`,
  );
}

/**
 * The most devices one enrolment code from `admin users invite --uses` may enrol: the admin API's
 * limit on `uses` (`POST /admin/v1/users/invite`). The option's help and its error both name it.
 *
 * @example
 * ```ts
 * console.log(MAX_INVITE_USES); // 100
 * ```
 */
export const MAX_INVITE_USES = 100;

interface InviteUserOptions extends AdminOptionValues {
  readonly displayName?: string;
  readonly email?: string;
  readonly pool?: string[];
  readonly ttl?: number;
  readonly uses?: number;
  readonly managed?: boolean;
  readonly format?: ManagedConfigFormat;
}

/**
 * The forms `admin users invite --managed --format` prints the managed configuration in: the
 * flat JSON object, an XML property list (iOS consoles), or an Android `restrictions` document
 * with the values (`spec/managed-config.md` §5).
 *
 * @example
 * ```ts
 * const format: ManagedConfigFormat = 'plist';
 * ```
 */
export type ManagedConfigFormat = 'json' | 'plist' | 'android-xml';

const MANAGED_CONFIG_FORMATS: readonly ManagedConfigFormat[] = ['json', 'plist', 'android-xml'];

function parseManagedFormat(value: string): ManagedConfigFormat {
  if (!(MANAGED_CONFIG_FORMATS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected one of ${MANAGED_CONFIG_FORMATS.join(', ')}`);
  }
  return value as ManagedConfigFormat;
}

/**
 * What `admin users invite --json` prints.
 *
 * @example
 * ```ts
 * const { enrolmentCode, rootVerified } = JSON.parse(stdout) as UserInviteJson;
 * ```
 */
export interface UserInviteJson {
  /** The user id invited. */
  readonly user: string;
  /** The enrolment token (43 base64url characters), printed once: a secret. */
  readonly token: string;
  /** `<token>.<fingerprint digest>` (87 characters) to hand to the user, or null without a root. */
  readonly enrolmentCode: string | null;
  /** The organisation root's fingerprint (`cloister-root:v1:…`), or null without a root. */
  readonly rootFingerprint: string | null;
  /** Whether the fingerprint was checked against the root this administrator holds. */
  readonly rootVerified: boolean;
  /** When the token expires, ISO 8601. */
  readonly expiresAt: string;
}

async function inviteUser(user: string, options: InviteUserOptions, io: ResolvedIO): Promise<void> {
  if (options.format !== undefined && options.managed !== true)
    throw new UsageFailure('--format needs --managed');
  const { client } = await openAdminSession(options, io);
  const invite = await client
    .inviteUser({
      user,
      ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
      ...(options.email === undefined ? {} : { email: options.email }),
      ...(options.pool === undefined ? {} : { pools: options.pool }),
      ...(options.ttl === undefined ? {} : { ttlMs: options.ttl }),
      ...(options.uses === undefined ? {} : { uses: options.uses }),
      ...(options.managed === true ? { managed: true } : {}),
    })
    .catch(explainAdminError);
  if (options.managed === true) {
    const config = invite.managedConfig;
    if (config === undefined) throw new Error('the server did not answer a managed invite');
    io.stderr(
      'warning: the managed configuration holds a single-use enrolment token: push it with the MDM and keep it out of logs\n',
    );
    const format = options.format ?? 'json';
    io.stdout(
      format === 'plist'
        ? managedConfigPlist(config)
        : format === 'android-xml'
          ? managedConfigAndroidXml(config)
          : `${JSON.stringify(config)}\n`,
    );
    return;
  }
  const out: UserInviteJson = {
    user,
    token: invite.token,
    enrolmentCode: invite.enrolmentCode,
    rootFingerprint: invite.rootFingerprint,
    rootVerified: invite.rootVerified,
    expiresAt: new Date(invite.expiresAt).toISOString(),
  };
  io.stderr('warning: the enrolment code is shown only this once; hand it over through a secure channel\n');
  if (!invite.rootVerified && invite.rootFingerprint !== null) {
    io.stderr(
      'warning: this administrator directory holds no organisation root, so the fingerprint was not checked\n',
    );
  }
  if (invite.rootFingerprint === null) {
    io.stderr(
      'warning: the tenant has no organisation root: the device will accept no policy, wipe or broadcast\n',
    );
  }
  output(
    io,
    options,
    out,
    (o) =>
      `${o.enrolmentCode === null ? `enrolment token: ${o.token}` : `enrolment code: ${o.enrolmentCode}`}\n` +
      `user: ${o.user}; root: ${o.rootFingerprint ?? 'none'}; expires: ${o.expiresAt}\n`,
  );
}

/**
 * Adds `cloister admin admins …` and `cloister admin users …` to the `admin` group.
 *
 * @example
 * ```ts
 * registerAdminPeopleCommands(program.command('admin'), resolveIO());
 * ```
 */
export function registerAdminPeopleCommands(admin: Command, io: ResolvedIO): void {
  const admins = admin.command('admins').description("the tenant's administrators");
  addAdminOptions(admins.command('list').description('list administrators')).action(
    async (options: AdminOptionValues) => {
      const { client } = await openAdminSession(options, io);
      const page = await client.listAdministrators().catch(explainAdminError);
      output(io, options, page, (p) =>
        p.items
          .map((a) => `${a.id}\t${a.role}\t${a.email}\t${a.name}${a.disabled ? '\t(removed)' : ''}\n`)
          .join(''),
      );
    },
  );
  addAdminOptions(
    admins
      .command('invite')
      .description('invite an administrator (a person: password and TOTP; an integration: an API key)')
      .addOption(new Option('--email <email>', 'e-mail address').argParser(parseEmail).makeOptionMandatory())
      .addOption(new Option('--name <name>', 'name').argParser(parseName).makeOptionMandatory())
      .addOption(
        new Option('--role <role>', ADMIN_ROLES.join(', ')).argParser(parseRole).makeOptionMandatory(),
      )
      .addOption(
        new Option('--password-file <file>', "a person's first password (else a prompt)").argParser(
          parsePath,
        ),
      )
      .addOption(
        new Option('--scope <permission>', "an integration's permission (repeatable)").argParser(
          collect((v: string) => v),
        ),
      ),
  ).action((options: InviteAdminOptions) => inviteAdmin(options, io));
  addAdminOptions(
    admins
      .command('role')
      .description("change an administrator's role (fresh second factor)")
      .argument('<admin>', 'the administrator id', parseAdminId)
      .argument('<role>', ADMIN_ROLES.join(', '), parseRole),
  ).action(async (id: string, role: AdminRole, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    const a = await client.setAdministratorRole(id, role).catch(explainAdminError);
    output(io, options, a, (v) => `${v.id} is now ${v.role}\n`);
  });
  addAdminOptions(
    admins
      .command('remove')
      .description('remove an administrator (fresh second factor)')
      .argument('<admin>', 'the administrator id', parseAdminId),
  ).action(async (id: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    await client.removeAdministrator(id).catch(explainAdminError);
    output(io, options, { removed: id }, (v) => `removed ${v.removed}\n`);
  });

  const users = admin.command('users').description("the tenant's users");
  addAdminOptions(
    users
      .command('list')
      .description('list users')
      .addOption(new Option('--after <id>', 'continue after this user (the previous page’s next)'))
      .addOption(
        new Option('--limit <n>', 'at most this many (default the server’s)').argParser(
          positiveInteger(1000),
        ),
      ),
  ).action(async (options: AdminOptionValues & { after?: string; limit?: number }) => {
    const { client } = await openAdminSession(options, io);
    const page = await client
      .listUsers({
        ...(options.after === undefined ? {} : { after: options.after }),
        ...(options.limit === undefined ? {} : { limit: options.limit }),
      })
      .catch(explainAdminError);
    output(
      io,
      options,
      page,
      (p) =>
        p.items
          .map(
            (u) => `${u.id}\t${u.displayName}\t${u.pools.join(',') || '-'}${u.blocked ? '\tblocked' : ''}\n`,
          )
          .join('') + (p.next === undefined ? '' : `(more: --after ${p.next})\n`),
    );
  });
  addAdminOptions(
    users
      .command('invite')
      .description('invite a user: an enrolment code (token and root fingerprint), shown once')
      .argument('<user>', 'the user id (created when missing)', (v: string) => parseUserId(v) as string)
      .addOption(new Option('--display-name <name>', 'display name of a new user').argParser(parseName))
      .addOption(
        new Option(
          '--email <address>',
          "the user's e-mail address (checked against the allowlist)",
        ).argParser(parseEmail),
      )
      .addOption(
        new Option('--pool <id>', 'a pool of a new user (repeatable)').argParser(
          collect((v: string) => parsePoolId(v) as string),
        ),
      )
      .addOption(
        new Option('--ttl <duration>', 'lifetime such as 7d, 12h (default the server’s)').argParser(
          parseDurationOption,
        ),
      )
      .addOption(
        new Option('--uses <n>', `devices the code may enrol, 1 to ${MAX_INVITE_USES} (default 1)`).argParser(
          positiveInteger(MAX_INVITE_USES),
        ),
      )
      .addOption(
        new Option(
          '--managed',
          'a managed token for an MDM configuration (single-use, 8 hours unless --ttl, at most 72h); prints the configuration',
        ),
      )
      .addOption(
        new Option('--format <format>', 'with --managed: json (default), plist or android-xml').argParser(
          parseManagedFormat,
        ),
      ),
    'print one JSON line {"user","token","enrolmentCode","rootFingerprint","rootVerified","expiresAt"}',
  ).action((user: string, options: InviteUserOptions) => inviteUser(user, options, io));
  for (const [name, description] of [
    ['block', 'block a user at once (every device)'],
    ['unblock', 'unblock a user'],
  ] as const) {
    addAdminOptions(
      users
        .command(name)
        .description(description)
        .argument('<user>', 'the user id', (v: string) => parseUserId(v) as string),
    ).action(async (user: string, options: AdminOptionValues) => {
      const { client } = await openAdminSession(options, io);
      const u = await (name === 'block' ? client.blockUser(user) : client.unblockUser(user)).catch(
        explainAdminError,
      );
      output(io, options, u, (v) => `${v.id} is ${v.blocked ? 'blocked' : 'not blocked'}\n`);
    });
  }
  addAdminOptions(
    users
      .command('delete')
      .description("delete a user and the server's data of theirs (fresh second factor)")
      .argument('<user>', 'the user id', (v: string) => parseUserId(v) as string),
  ).action(async (user: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    await client.deleteUser(user).catch(explainAdminError);
    output(io, options, { deleted: user }, (v) => `deleted ${v.deleted}\n`);
  });
  addAdminOptions(
    users
      .command('detach')
      .description(
        'detach a user from their directory (SCIM or LDAP/AD), so a user who left may be unblocked (fresh second factor)',
      )
      .argument('<user>', 'the user id', (v: string) => parseUserId(v) as string),
  ).action(async (user: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    const u = await client.detachUser(user).catch(explainAdminError);
    output(io, options, u, (v) => `${v.id} is detached from its directory\n`);
  });
  addAdminOptions(
    users
      .command('activity')
      .description(
        "a user's activity: enrolled, last seen, devices, versions, what waits in their mailboxes (no content, no contacts)",
      )
      .argument('<user>', 'the user id', (v: string) => parseUserId(v) as string),
  ).action(async (user: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    const a = await client.userActivity(user).catch(explainAdminError);
    output(
      io,
      options,
      a,
      (v) =>
        `${v.user}${v.blocked ? ' (blocked)' : ''}: enrolled ${when(v.enrolledAt)}, last seen ${when(v.lastSeenAt)}, ${v.deviceCount} device(s), ${v.pending.envelopes} envelope(s) waiting (${v.pending.bytes} bytes)\n` +
        v.devices
          .map(
            (d) =>
              `  device ${d.id}: enrolled ${when(d.createdAt)}, last seen ${when(d.lastSeenAt)}, version ${d.clientVersion ?? 'unknown'}${d.blocked ? ', blocked' : ''}, ${d.pending.envelopes} waiting (${d.pending.bytes} of ${v.pending.maxBytesPerMailbox} bytes)\n`,
          )
          .join(''),
    );
  });
}
