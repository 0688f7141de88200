/**
 * `cloister admin policy set` and `cloister admin broadcast`: organisation objects signed with the
 * administrator directory's signing key and published.
 *
 * @module
 */
import type { SignedPolicyFeature } from '@cloister/protocol';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  type AdminOptionValues,
  addAdminOptions,
  explainAdminError,
  openAdminSession,
  openAdminSigningKey,
  output,
} from '../_admin.js';
import { parsePath, parsePoolId, parseUserId, readTextFile } from '../_options.js';
import { type ResolvedIO, UsageFailure } from '../io.js';

type Layer = { layer: 'tenant' } | { layer: 'pool' | 'group' | 'user'; target: string };

function parseLayer(value: string): Layer {
  if (value === 'tenant') return { layer: 'tenant' };
  const m = /^(pool|group|user):(.+)$/.exec(value);
  if (m === null) throw new InvalidArgumentError('expected tenant, pool:<id>, group:<id> or user:<id>.');
  const target = m[2] as string;
  if (m[1] === 'user') parseUserId(target);
  else parsePoolId(target);
  return { layer: m[1] as 'pool' | 'group' | 'user', target };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * What the publish commands print with `--json`.
 *
 * @example
 * ```ts
 * const { sequence, scope } = JSON.parse(stdout) as PublishedJson;
 * ```
 */
export interface PublishedJson {
  /** The kind of the organisation object published (`policy-layer`, `broadcast`, …). */
  readonly kind: string;
  /** Its sequence number (per kind, from 1). */
  readonly sequence: number;
  /** The scope it replaces an older object in, e.g. `policy-layer/tenant`. */
  readonly scope: string;
}

async function signer(options: AdminOptionValues, io: ResolvedIO) {
  const { client, provider, dir, passphrase } = await openAdminSession(options, io);
  const key = await openAdminSigningKey(dir, provider, passphrase);
  return { client, provider, key };
}

/**
 * Adds `cloister admin policy …` and `cloister admin broadcast` to the `admin` group.
 *
 * @example
 * ```ts
 * registerAdminPolicyCommands(program.command('admin'), resolveIO());
 * ```
 */
export function registerAdminPolicyCommands(admin: Command, io: ResolvedIO): void {
  const policy = admin.command('policy').description('signed policy layers');
  addAdminOptions(
    policy
      .command('set')
      .description('sign a policy layer (a JSON file of features) and publish it')
      .addOption(
        new Option('--layer <layer>', 'tenant, pool:<id>, group:<id> or user:<id>')
          .argParser(parseLayer)
          .makeOptionMandatory(),
      )
      .addOption(
        new Option('--file <file>', 'JSON: {"<feature>": {"enabled", "locked", "config"?}, …}')
          .argParser(parsePath)
          .makeOptionMandatory(),
      ),
    'print one JSON line {"kind","sequence","scope"}',
  ).action(async (options: AdminOptionValues & { layer: Layer; file: string }) => {
    let document: { [feature: string]: SignedPolicyFeature };
    try {
      document = JSON.parse(readTextFile(options.file, '--file')) as typeof document;
    } catch (error) {
      if (error instanceof UsageFailure) throw error;
      throw new UsageFailure(`--file: ${options.file} is not valid JSON`);
    }
    const s = await signer(options, io);
    const { signPolicyLayer } = await import('@cloister/admin');
    const r = await signPolicyLayer(s, options.layer, document).catch(explainAdminError);
    const out: PublishedJson = { kind: r.kind, sequence: r.sequence, scope: r.scope };
    output(io, options, out, (o) => `published ${o.scope} (sequence ${o.sequence})\n`);
  });
  addAdminOptions(policy.command('list').description('the signed policy layers the server holds')).action(
    async (options: AdminOptionValues) => {
      const { client } = await openAdminSession(options, io);
      const layers = await client.listPolicyLayers().catch(explainAdminError);
      output(io, options, layers, (l) => `${JSON.stringify(l, null, 2)}\n`);
    },
  );
  addAdminOptions(
    admin
      .command('broadcast')
      .description('sign a broadcast and publish it (to the whole tenant, or to --pool / --user)')
      .addOption(new Option('--text <text>', 'the message (1 to 4096 UTF-8 bytes)').makeOptionMandatory())
      .addOption(new Option('--pool <id>', 'a pool of the audience (repeatable)').argParser(collect))
      .addOption(new Option('--user <id>', 'a user of the audience (repeatable)').argParser(collect)),
    'print one JSON line {"kind","sequence","scope"}',
  ).action(async (options: AdminOptionValues & { text: string; pool?: string[]; user?: string[] }) => {
    if (options.pool !== undefined && options.user !== undefined) {
      throw new UsageFailure('--pool and --user do not go together: one broadcast has one kind of audience');
    }
    const audience =
      options.pool !== undefined
        ? { kind: 'pools' as const, pools: options.pool }
        : options.user !== undefined
          ? { kind: 'users' as const, users: options.user }
          : { kind: 'tenant' as const };
    const s = await signer(options, io);
    const { signBroadcast } = await import('@cloister/admin');
    const r = await signBroadcast(s, { audience, text: options.text }).catch(explainAdminError);
    const out: PublishedJson = { kind: r.kind, sequence: r.sequence, scope: r.scope };
    output(io, options, out, (o) => `broadcast published (sequence ${o.sequence})\n`);
  });
}
