/**
 * `cloister admin policy set|list`: signed policy layers, signed with the administrator directory's
 * signing key and published (broadcasts: `admin-broadcast.ts`).
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
 * Adds `cloister admin policy …` to the `admin` group.
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
}
