/**
 * `cloister admin restrictions show|set|compliance` (R27, `spec/restrictions.md`): the typed
 * restrictions of each signed policy layer; changing some restrictions of one layer (the layer's
 * other features kept), signed with the administrator directory's signing key and published; and
 * the devices whose compliance report is missing, old, or does not cover a restriction in force.
 *
 * `--set <name>=<value>` takes, per restriction: `on`/`off` for `files.send`, `files.download`,
 * `clipboard.copy`, `messages.forward`, `screenshots`; a comma list of media type patterns or
 * group names (`images`, `video`, `audio`, `documents`, `all`, `none`) for `media.send`;
 * `none`/`sender`/`full` for `notifications.preview`; a duration (`30d`) or `none` for
 * `messages.lifetime`; `<min>..<max>` durations (either side may be empty) for
 * `disappearing.timer`.
 *
 * `--group <id>` names a conversation group's layer instead of `--layer` (`spec/restrictions.md`
 * §1.2): the group id as canonical base64url, or as the group's conversation id `g:<hex>` that the
 * client SDK shows.
 *
 * @module
 */
import { groupTarget, type RestrictionChange, type RestrictionTarget } from '@cloister/admin';
import {
  MEDIA_TYPE_GROUPS,
  type NotificationPreview,
  RESTRICTION_NAMES,
  type RestrictionName,
} from '@cloister/protocol';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  type AdminOptionValues,
  addAdminOptions,
  explainAdminError,
  openAdminSession,
  openAdminSigningKey,
  output,
} from '../_admin.js';
import { parsePoolId, parseUserId } from '../_options.js';
import { formatDuration, parseDuration } from '../duration.js';
import type { ResolvedIO } from '../io.js';

function parseTarget(value: string): RestrictionTarget {
  if (value === 'tenant') return { layer: 'tenant' };
  const m = /^(pool|user):(.+)$/.exec(value);
  if (m === null) throw new InvalidArgumentError('expected tenant, pool:<id> or user:<id>.');
  const target = m[2] as string;
  if (m[1] === 'user') parseUserId(target);
  else parsePoolId(target);
  return { layer: m[1] as 'pool' | 'user', target };
}

function parseGroup(value: string): RestrictionTarget {
  try {
    return { layer: 'group', groupId: groupTarget(value) };
  } catch {
    throw new InvalidArgumentError(
      'expected a group id of 1..64 bytes as base64url (no padding) or as a conversation id g:<hex>.',
    );
  }
}

/** The layer of `--layer` or `--group` (exactly one of them). */
function chosenTarget(options: { layer?: RestrictionTarget; group?: RestrictionTarget }): RestrictionTarget {
  if (options.layer !== undefined && options.group !== undefined) {
    throw new InvalidArgumentError('give --layer or --group, not both.');
  }
  const target = options.layer ?? options.group;
  if (target === undefined) throw new InvalidArgumentError('give --layer or --group.');
  return target;
}

/** The target string a stored layer has for `t` (null for the tenant). */
function targetString(t: RestrictionTarget): string | null {
  if (t.layer === 'tenant') return null;
  return t.layer === 'group' ? groupTarget(t.groupId) : t.target;
}

const SETTABLE = RESTRICTION_NAMES.filter((n) => n !== 'archive');

function settable(name: string): Exclude<RestrictionName, 'archive'> {
  if (!(SETTABLE as readonly string[]).includes(name)) {
    throw new InvalidArgumentError(`expected one of ${SETTABLE.join(', ')}.`);
  }
  return name as Exclude<RestrictionName, 'archive'>;
}

function onOff(value: string): boolean {
  if (value === 'on' || value === 'true') return true;
  if (value === 'off' || value === 'false') return false;
  throw new InvalidArgumentError('expected on or off.');
}

function duration(value: string): number {
  try {
    return parseDuration(value);
  } catch {
    throw new InvalidArgumentError(
      `expected a duration such as 30d, 12h or 90s, not ${JSON.stringify(value)}.`,
    );
  }
}

function mediaTypes(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(',').map((p) => p.trim())) {
    if (part === 'none' || part === '') continue;
    const group = (MEDIA_TYPE_GROUPS as Record<string, readonly string[]>)[part];
    out.push(...(group ?? [part]));
  }
  return out;
}

/** One `--set name=value`: the restriction and its typed value. */
type Assignment = { readonly name: Exclude<RestrictionName, 'archive'>; readonly value: unknown };

function parseAssignment(text: string, previous: readonly Assignment[] = []): Assignment[] {
  const at = text.indexOf('=');
  if (at < 1) throw new InvalidArgumentError('expected <restriction>=<value>.');
  const name = settable(text.slice(0, at));
  const raw = text.slice(at + 1);
  let value: unknown;
  switch (name) {
    case 'media.send':
      value = mediaTypes(raw);
      break;
    case 'notifications.preview':
      if (!['none', 'sender', 'full'].includes(raw))
        throw new InvalidArgumentError('expected none, sender or full.');
      value = raw as NotificationPreview;
      break;
    case 'messages.lifetime':
      value = raw === 'none' ? null : duration(raw);
      break;
    case 'disappearing.timer': {
      const m = /^([^.]*)\.\.([^.]*)$/.exec(raw);
      if (m === null) throw new InvalidArgumentError('expected <min>..<max> durations, e.g. 1m..7d or ..1d.');
      value = {
        minMs: m[1] === '' ? 0 : duration(m[1] as string),
        maxMs: m[2] === '' ? null : duration(m[2] as string),
      };
      break;
    }
    default:
      value = onOff(raw);
  }
  return [...previous.filter((a) => a.name !== name), { name, value }];
}

function collectName(value: string, previous: readonly string[] = []): string[] {
  return [...previous, settable(value)];
}

function describeValue(name: string, value: unknown): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (value === null) return 'none';
  if (name === 'messages.lifetime' && typeof value === 'number') return formatDuration(value);
  if (name === 'disappearing.timer') {
    const b = value as { minMs: number; maxMs: number | null };
    return `${b.minMs === 0 ? '' : formatDuration(b.minMs)}..${b.maxMs === null ? '' : formatDuration(b.maxMs)}`;
  }
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(',');
  return String(value);
}

/**
 * What `show --json` prints: one entry per stored layer.
 *
 * @example
 * ```ts
 * const layers = JSON.parse(stdout) as RestrictionsShowJson;
 * ```
 */
export type RestrictionsShowJson = {
  readonly layer: string;
  readonly target: string | null;
  readonly sequence: number;
  readonly settings: { readonly [name: string]: { readonly value: unknown; readonly locked?: boolean } };
  readonly problems: readonly { readonly feature: string; readonly reason: string }[];
}[];

/**
 * Adds `cloister admin restrictions …` to the `admin` group.
 *
 * @example
 * ```ts
 * registerAdminRestrictionsCommands(program.command('admin'), resolveIO());
 * ```
 */
export function registerAdminRestrictionsCommands(admin: Command, io: ResolvedIO): void {
  const group = admin
    .command('restrictions')
    .description('restrictions per tenant, pool, conversation group and user (signed)');
  addAdminOptions(
    group
      .command('show')
      .description('the restrictions each signed policy layer sets')
      .addOption(new Option('--layer <layer>', 'only tenant, pool:<id> or user:<id>').argParser(parseTarget))
      .addOption(
        new Option(
          '--group <id>',
          'only the layer of this conversation group (base64url or g:<hex>)',
        ).argParser(parseGroup),
      ),
    'print one JSON array of layers',
  ).action(async (options: AdminOptionValues & { layer?: RestrictionTarget; group?: RestrictionTarget }) => {
    const only =
      options.layer === undefined && options.group === undefined ? undefined : chosenTarget(options);
    const { client } = await openAdminSession(options, io);
    const all = await client.restrictions.layers().catch(explainAdminError);
    const chosen =
      only === undefined ? all : all.filter((l) => l.layer === only.layer && l.target === targetString(only));
    const out: RestrictionsShowJson = chosen.map((l) => ({
      layer: l.layer,
      target: l.target,
      sequence: l.sequence,
      settings: l.settings as RestrictionsShowJson[number]['settings'],
      problems: l.problems.map((p) => ({ feature: p.feature, reason: p.reason })),
    }));
    output(io, options, out, (layers) => {
      if (layers.length === 0) return 'no restrictions set\n';
      return layers
        .map((l) => {
          const head = `${l.layer}${l.target === null ? '' : `:${l.target}`} (sequence ${l.sequence})`;
          const rows = Object.entries(l.settings).map(
            ([n, s]) => `  ${n} = ${describeValue(n, s.value)}${s.locked === true ? ' (locked)' : ''}`,
          );
          const bad = l.problems.map((p) => `  ! ${p.feature}: ${p.reason}`);
          return [head, ...rows, ...bad].join('\n');
        })
        .join('\n')
        .concat('\n');
    });
  });

  addAdminOptions(
    group
      .command('set')
      .description('change restrictions of one layer, sign the layer and publish it')
      .addOption(new Option('--layer <layer>', 'tenant, pool:<id> or user:<id>').argParser(parseTarget))
      .addOption(
        new Option('--group <id>', 'a conversation group by its id (base64url or g:<hex>)').argParser(
          parseGroup,
        ),
      )
      .addOption(
        new Option('--set <restriction=value>', 'set a restriction (repeatable)').argParser(parseAssignment),
      )
      .addOption(
        new Option('--lock <restriction>', 'lock it for more specific layers (repeatable)').argParser(
          collectName,
        ),
      )
      .addOption(
        new Option('--unset <restriction>', 'remove it from the layer (repeatable)').argParser(collectName),
      ),
    'print one JSON line {"kind","sequence","scope"}',
  ).action(
    async (
      options: AdminOptionValues & {
        layer?: RestrictionTarget;
        group?: RestrictionTarget;
        set?: Assignment[];
        lock?: string[];
        unset?: string[];
      },
    ) => {
      const target = chosenTarget(options);
      const change: Record<string, unknown> = {};
      const locks = new Set(options.lock ?? []);
      for (const a of options.set ?? []) change[a.name] = { value: a.value, locked: locks.has(a.name) };
      for (const n of locks) {
        if (!(n in change)) throw new InvalidArgumentError(`--lock ${n}: give its value with --set ${n}=…`);
      }
      for (const n of options.unset ?? []) change[n] = null;
      if (Object.keys(change).length === 0)
        throw new InvalidArgumentError('nothing to change: give --set or --unset.');
      const { client, provider, dir, passphrase } = await openAdminSession(options, io);
      const key = await openAdminSigningKey(dir, provider, passphrase);
      const r = await client.restrictions
        .set({ client, provider, key }, target, change as RestrictionChange)
        .catch(explainAdminError);
      output(io, options, { kind: r.kind, sequence: r.sequence, scope: r.scope }, (o) => {
        return `published ${o.scope} (sequence ${o.sequence})\n`;
      });
    },
  );

  addAdminOptions(
    group
      .command('compliance')
      .description(
        'devices whose compliance report is missing, old, or does not cover a restriction in force',
      )
      .addOption(
        new Option('--max-age <duration>', 'oldest acceptable report (default 1d)').argParser(duration),
      ),
    'print one JSON array of devices',
  ).action(async (options: AdminOptionValues & { maxAge?: number }) => {
    const { client } = await openAdminSession(options, io);
    const items = [];
    let after: string | undefined;
    do {
      const page = await client.restrictions
        .nonCompliant({
          limit: 200,
          ...(after === undefined ? {} : { after }),
          ...(options.maxAge === undefined ? {} : { maxAgeMs: options.maxAge }),
        })
        .catch(explainAdminError);
      items.push(...page.items);
      after = page.next;
    } while (after !== undefined);
    output(io, options, items, (list) =>
      list.length === 0
        ? 'every device is compliant\n'
        : `${list
            .map(
              (d) =>
                `${d.user}/${d.device}: ${d.reasons.join(', ')}${
                  d.notEnforced.length > 0 ? ` (not enforced: ${d.notEnforced.join(', ')})` : ''
                }`,
            )
            .join('\n')}\n`,
    );
  });
}
