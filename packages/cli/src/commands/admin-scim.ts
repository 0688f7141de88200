/**
 * `cloister admin scim token create|list|revoke`: the tenant's SCIM tokens (`spec/directory.md`
 * §2), each for one directory source (`scim` or `ldap:<name>`). A new token is printed once;
 * creating and revoking need a fresh second factor.
 *
 * @module
 */
import type { ScimTokenView } from '@cloister/admin';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  type AdminOptionValues,
  addAdminOptions,
  explainAdminError,
  openAdminSession,
  output,
} from '../_admin.js';
import type { ResolvedIO } from '../io.js';

function pattern(re: RegExp, what: string): (value: string) => string {
  return (value) => {
    if (!re.test(value)) throw new InvalidArgumentError(`expected ${what}.`);
    return value;
  };
}

const tokenId = pattern(/^stk_[A-Za-z0-9_-]{22}$/, 'a SCIM token id (stk_…)');
const source = pattern(/^(scim|ldap:[a-z0-9-]{1,32})$/, "'scim' or 'ldap:<name>' (name: 1..32 of a-z 0-9 -)");
const name = pattern(/^.{1,64}$/u, 'a name of 1..64 characters');

function days(value: string): number {
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 730) {
    throw new InvalidArgumentError('expected a number of days from 1 to 730.');
  }
  return Number(value);
}

const when = (ms: number | null): string => (ms === null ? 'never' : new Date(ms).toISOString());

const describe = (t: ScimTokenView): string =>
  `${t.id}\t${t.name}\t${t.source}\texpires ${when(t.expiresAt)}\tlast used ${when(t.lastUsedAt)}\n`;

interface CreateOptions extends AdminOptionValues {
  readonly name: string;
  readonly source?: string;
  readonly ttlDays?: number;
}

/**
 * Adds `cloister admin scim …` to the `admin` group.
 *
 * @example
 * ```ts
 * registerAdminScimCommands(program.command('admin'), resolveIO());
 * ```
 */
export function registerAdminScimCommands(admin: Command, io: ResolvedIO): Command {
  const scim = admin
    .command('scim')
    .description('SCIM provisioning (identity providers, the LDAP/AD bridge)');
  const token = scim.command('token').description("the tenant's SCIM tokens (at most 5 live)");
  addAdminOptions(
    token
      .command('create')
      .description('make a SCIM token, printed once (fresh second factor)')
      .addOption(new Option('--name <name>', 'a label').argParser(name).makeOptionMandatory())
      .addOption(new Option('--source <source>', "'scim' (default) or 'ldap:<name>'").argParser(source))
      .addOption(
        new Option('--ttl-days <days>', 'lifetime in days, 1..730 (default: no expiry)').argParser(days),
      ),
    'print one JSON line {"id","name","source","token","createdAt","expiresAt"}',
  ).action(async (options: CreateOptions) => {
    const { client } = await openAdminSession(options, io);
    const made = await client.scim
      .createToken({
        name: options.name,
        ...(options.source === undefined ? {} : { source: options.source }),
        ...(options.ttlDays === undefined ? {} : { ttlDays: options.ttlDays }),
      })
      .catch(explainAdminError);
    output(
      io,
      options,
      made,
      (v) =>
        `created SCIM token ${v.id} for source ${v.source}, expires ${when(v.expiresAt)}\ntoken (shown once): ${v.token}\n`,
    );
  });
  addAdminOptions(token.command('list').description("list the tenant's SCIM tokens")).action(
    async (options: AdminOptionValues) => {
      const { client } = await openAdminSession(options, io);
      const items = await client.scim.listTokens().catch(explainAdminError);
      output(io, options, { items }, (l) => l.items.map(describe).join(''));
    },
  );
  addAdminOptions(
    token
      .command('revoke')
      .description('revoke a SCIM token: its next request is refused (fresh second factor)')
      .argument('<id>', 'the token id', tokenId),
  ).action(async (id: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    await client.scim.revokeToken(id).catch(explainAdminError);
    output(io, options, { revoked: id }, (v) => `revoked ${v.revoked}\n`);
  });
  return scim;
}
