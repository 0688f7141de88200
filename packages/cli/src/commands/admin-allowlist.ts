/**
 * `cloister admin allowlist …`: who may be invited and enrol (`spec/allowlist.md`): show the list,
 * turn it on or off, add and remove e-mail domains, user ids and addresses, and replace it whole.
 *
 * @module
 */
import type { AllowlistEntries, AllowlistView } from '@cloister/admin';
import { type Command, Option } from 'commander';
import {
  type AdminOptionValues,
  addAdminOptions,
  explainAdminError,
  openAdminSession,
  output,
} from '../_admin.js';
import type { ResolvedIO } from '../io.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

const describe = (a: AllowlistView): string =>
  [
    `allowlist ${a.enabled ? 'on' : 'off'}${a.tenantDomains ? " (the tenant's own domains count)" : ''}`,
    `domains: ${a.domains.join(', ') || 'none'}`,
    `users: ${a.users.join(', ') || 'none'}`,
    `e-mail addresses: ${a.emails.join(', ') || 'none'}`,
    '',
  ].join('\n');

interface EntryOptions extends AdminOptionValues {
  readonly domain?: string[];
  readonly user?: string[];
  readonly email?: string[];
}

const entryOptions = (c: Command) =>
  c
    .addOption(new Option('--domain <domain>', 'an e-mail domain (repeatable)').argParser(collect))
    .addOption(new Option('--user <id>', 'a user id (repeatable)').argParser(collect))
    .addOption(new Option('--email <address>', 'an e-mail address (repeatable)').argParser(collect));

const entriesOf = (o: EntryOptions): AllowlistEntries => ({
  ...(o.domain === undefined ? {} : { domains: o.domain }),
  ...(o.user === undefined ? {} : { users: o.user }),
  ...(o.email === undefined ? {} : { emails: o.email }),
});

/**
 * Adds `cloister admin allowlist …` to the `admin` group.
 *
 * @example
 * ```ts
 * registerAdminAllowlistCommands(program.command('admin'), resolveIO());
 * ```
 */
export function registerAdminAllowlistCommands(admin: Command, io: ResolvedIO): Command {
  const allowlist = admin.command('allowlist').description('who may be invited and enrol');
  addAdminOptions(allowlist.command('show').description('show the allowlist')).action(
    async (options: AdminOptionValues) => {
      const { client } = await openAdminSession(options, io);
      output(io, options, await client.allowlist.get().catch(explainAdminError), describe);
    },
  );
  for (const name of ['on', 'off'] as const) {
    addAdminOptions(
      allowlist.command(name).description(`turn the allowlist ${name} (its entries stay)`),
    ).action(async (options: AdminOptionValues) => {
      const { client } = await openAdminSession(options, io);
      output(
        io,
        options,
        await client.allowlist.setEnabled(name === 'on').catch(explainAdminError),
        describe,
      );
    });
  }
  for (const name of ['add', 'remove'] as const) {
    addAdminOptions(entryOptions(allowlist.command(name).description(`${name} entries`))).action(
      async (options: EntryOptions) => {
        const { client } = await openAdminSession(options, io);
        const entries = entriesOf(options);
        const after = await (name === 'add'
          ? client.allowlist.add(entries)
          : client.allowlist.remove(entries)
        ).catch(explainAdminError);
        output(io, options, after, describe);
      },
    );
  }
  addAdminOptions(
    entryOptions(
      allowlist
        .command('replace')
        .description('replace the whole list (entries not given are removed)')
        .option('--enabled', 'turn it on (else off)')
        .option('--tenant-domains', "the tenant's own e-mail domains count as listed"),
    ),
  ).action(async (options: EntryOptions & { enabled?: boolean; tenantDomains?: boolean }) => {
    const { client } = await openAdminSession(options, io);
    const after = await client.allowlist
      .replace({
        enabled: options.enabled === true,
        tenantDomains: options.tenantDomains === true,
        ...entriesOf(options),
      })
      .catch(explainAdminError);
    output(io, options, after, describe);
  });
  return allowlist;
}
