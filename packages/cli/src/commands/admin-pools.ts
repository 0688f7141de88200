/**
 * `cloister admin pools …`: the tenant's pools (closed areas, `spec/pools.md`): list, show,
 * create, rename, delete (`--remove-members` to empty it first), members, add and remove users
 * (any number: sent 100 at a time, with a progress bar on a terminal), and move a user (set their
 * pools at once). Which pools may reach which stays the signed pool rules.
 *
 * @module
 */
import type { PoolView, UserView } from '@cloister/admin';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  type AdminOptionValues,
  addAdminOptions,
  explainAdminError,
  openAdminSession,
  output,
} from '../_admin.js';
import { parseUserId } from '../_options.js';
import type { ResolvedIO } from '../io.js';

const id = (v: string) => parseUserId(v) as string;
const CHUNK = 100;

function parseLimit(value: string): number {
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > 1000) {
    throw new InvalidArgumentError('expected a whole number from 1 to 1000.');
  }
  return Number(value);
}

const describePool = (p: PoolView): string =>
  `${p.id}: ${p.name}${p.members === undefined ? '' : `, ${p.members} members`}, may reach ${
    p.mayContact.length === 0 ? 'only itself' : p.mayContact.join(', ')
  }\n`;

const describeUser = (u: UserView): string =>
  `${u.id}: ${u.displayName}${u.email === null ? '' : ` <${u.email}>`}, pools ${u.pools.join(', ') || 'none'}${u.blocked ? ', blocked' : ''}\n`;

/** Progress of a change of many users on stderr: a bar on a terminal, nothing otherwise. */
async function progress(total: number): Promise<{ update(done: number): void; stop(): void }> {
  if (process.stderr.isTTY !== true || total <= CHUNK) return { update() {}, stop() {} };
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    { format: 'users [{bar}] {value}/{total}', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { update: (done) => bar.update(done), stop: () => bar.stop() };
}

interface PageOptions extends AdminOptionValues {
  readonly limit?: number;
  readonly after?: string;
}

const pageOptions = (c: Command) =>
  c
    .addOption(new Option('--limit <n>', 'at most this many (1..1000)').argParser(parseLimit))
    .addOption(new Option('--after <cursor>', "where the page starts (the previous page's next)"));

/**
 * Adds `cloister admin pools …` to the `admin` group.
 *
 * @example
 * ```ts
 * registerAdminPoolsCommands(program.command('admin'), resolveIO());
 * ```
 */
export function registerAdminPoolsCommands(admin: Command, io: ResolvedIO): Command {
  const pools = admin.command('pools').description('pools (closed areas) and their members');
  const page = (o: PageOptions) => ({
    ...(o.limit === undefined ? {} : { limit: o.limit }),
    ...(o.after === undefined ? {} : { after: o.after }),
  });

  addAdminOptions(pageOptions(pools.command('list').description("list the tenant's pools"))).action(
    async (options: PageOptions) => {
      const { client } = await openAdminSession(options, io);
      const list = await client.pools.list(page(options)).catch(explainAdminError);
      output(
        io,
        options,
        list,
        (l) => l.items.map(describePool).join('') + (l.next ? `next: ${l.next}\n` : ''),
      );
    },
  );
  addAdminOptions(
    pools
      .command('show')
      .description('show one pool and its member count')
      .argument('<pool>', 'the pool id', id),
  ).action(async (pool: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    output(io, options, await client.pools.get(pool).catch(explainAdminError), describePool);
  });
  addAdminOptions(
    pools
      .command('create')
      .description('create a pool (it reaches what the signed pool rules say; none: only itself)')
      .argument('<pool>', 'the pool id', id)
      .argument('<name>', 'its display name'),
  ).action(async (pool: string, name: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    output(io, options, await client.pools.create(pool, name).catch(explainAdminError), describePool);
  });
  addAdminOptions(
    pools
      .command('rename')
      .description('rename a pool')
      .argument('<pool>', 'the pool id', id)
      .argument('<name>', 'its new display name'),
  ).action(async (pool: string, name: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    output(io, options, await client.pools.rename(pool, name).catch(explainAdminError), describePool);
  });
  addAdminOptions(
    pools
      .command('delete')
      .description('delete a pool (refused while it has members, unless --remove-members)')
      .argument('<pool>', 'the pool id', id)
      .option('--remove-members', 'its members leave the pool first, in the same transaction'),
  ).action(async (pool: string, options: AdminOptionValues & { removeMembers?: boolean }) => {
    const { client } = await openAdminSession(options, io);
    await client.pools
      .delete(pool, { removeMembers: options.removeMembers === true })
      .catch(explainAdminError);
    output(io, options, { pool, deleted: true }, () => `pool ${pool} deleted\n`);
  });
  addAdminOptions(
    pageOptions(
      pools.command('members').description("list a pool's members").argument('<pool>', 'the pool id', id),
    ),
  ).action(async (pool: string, options: PageOptions) => {
    const { client } = await openAdminSession(options, io);
    const list = await client.pools.members(pool, page(options)).catch(explainAdminError);
    output(
      io,
      options,
      list,
      (l) => l.items.map(describeUser).join('') + (l.next ? `next: ${l.next}\n` : ''),
    );
  });
  for (const name of ['add', 'remove'] as const) {
    addAdminOptions(
      pools
        .command(name)
        .description(`${name} users ${name === 'add' ? 'to' : 'from'} a pool (takes effect at once)`)
        .argument('<pool>', 'the pool id', id)
        .argument('<users...>', 'the user ids'),
      'print one JSON line {"pool","changed"}',
    ).action(async (pool: string, users: string[], options: AdminOptionValues) => {
      const list = [...new Set(users.map(id))];
      const { client } = await openAdminSession(options, io);
      const bar = await progress(list.length);
      const changed: string[] = [];
      try {
        for (let i = 0; i < list.length; i += CHUNK) {
          const chunk = list.slice(i, i + CHUNK);
          const answer = await (name === 'add'
            ? client.pools.add(pool, chunk)
            : client.pools.remove(pool, chunk)
          ).catch(explainAdminError);
          changed.push(...answer.changed);
          bar.update(Math.min(i + CHUNK, list.length));
        }
      } finally {
        bar.stop();
      }
      output(io, options, { pool, changed }, (v) =>
        v.changed.length === 0
          ? `no change: the users were ${name === 'add' ? 'in' : 'not in'} ${pool} already\n`
          : `${name === 'add' ? 'added to' : 'removed from'} ${pool}: ${v.changed.join(', ')}\n`,
      );
    });
  }
  addAdminOptions(
    pools
      .command('move')
      .description("set a user's pools at once (no pools: none)")
      .argument('<user>', 'the user id', id)
      .argument('[pools...]', 'the pool ids'),
  ).action(async (user: string, to: string[], options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    const u = await client.pools.setUserPools(user, to.map(id)).catch(explainAdminError);
    output(io, options, u, describeUser);
  });
  return pools;
}
