/**
 * `cloister admin integrations …`: integrations' API keys (create, list, revoke) and signed
 * webhook subscriptions (create, list, delete, rotate-secret, deliveries, redeliver),
 * `spec/integrations.md`. A new key and a new webhook secret are printed once; creating either
 * and rotating a secret need a fresh second factor.
 *
 * @module
 */
import type { IntegrationKeyView, WebhookDeliveryView, WebhookView } from '@cloister/admin';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  type AdminOptionValues,
  addAdminOptions,
  explainAdminError,
  openAdminSession,
  output,
} from '../_admin.js';
import { parseDurationOption, parsePoolId, positiveInteger } from '../_options.js';
import type { ResolvedIO } from '../io.js';

function pattern(re: RegExp, what: string): (value: string) => string {
  return (value) => {
    if (!re.test(value)) throw new InvalidArgumentError(`expected ${what}.`);
    return value;
  };
}

function collect<T>(parse: (v: string) => T): (value: string, previous?: T[]) => T[] {
  return (value, previous = []) => [...previous, parse(value)];
}

const adminId = pattern(/^adm_[A-Za-z0-9_-]{22}$/, 'an administrator id (adm_…)');
const keyId = pattern(/^key_[A-Za-z0-9_-]{22}$/, 'a key id (key_…)');
const webhookId = pattern(/^whk_[A-Za-z0-9_-]{22}$/, 'a webhook id (whk_…)');
const eventId = pattern(/^msg_[A-Za-z0-9_-]{22}$/, 'an event id (msg_…)');

/** The longest overlap of a secret rotation: 7 days. */
const MAX_OVERLAP_MS = 7 * 86_400_000;

/** `--overlap`: `0`, or a duration in whole seconds of at most 7 days (`24h`, `90m`, `7d`). */
function overlap(value: string): number {
  const ms = value === '0' ? 0 : parseDurationOption(value);
  if (ms % 1000 !== 0 || ms > MAX_OVERLAP_MS) {
    throw new InvalidArgumentError('expected 0 or a duration in whole seconds of at most 7d.');
  }
  return ms;
}
const scope = pattern(/^[a-z]+(:read)?$/, 'a route family such as users, devices, audit or users:read');
const event = pattern(
  /^(\*|[a-z][a-z0-9_.:-]{0,63}(\.\*)?)$/,
  'an audit action such as user.block, user.* or *',
);
const when = (ms: number | null): string => (ms === null ? 'never' : new Date(ms).toISOString());

const describeKey = (k: IntegrationKeyView): string =>
  `${k.id}\t${k.integration}\t${k.name}\tscopes ${k.scopes.join(',')}\tpools ${
    k.pools === null ? 'all' : k.pools.join(',')
  }\texpires ${when(k.expiresAt)}\tlast used ${when(k.lastUsedAt)}${k.revokedAt === null ? '' : '\trevoked'}\n`;

const describeWebhook = (w: WebhookView): string => `${w.id}\t${w.url}\t${w.events.join(',')}\n`;

const describeDelivery = (d: WebhookDeliveryView): string =>
  `${d.event}\t${d.type}\t${d.status}\tattempts ${d.attempts}\tlast ${d.lastResult ?? '-'}${
    d.nextAttemptAt === null ? '' : `\tnext ${when(d.nextAttemptAt)}`
  }\n`;

interface CreateKeyOptions extends AdminOptionValues {
  readonly name: string;
  readonly scope: string[];
  readonly pool?: string[];
  readonly ttl?: number;
}

/**
 * Adds `cloister admin integrations …` to the `admin` group.
 *
 * @example
 * ```ts
 * registerAdminIntegrationsCommands(program.command('admin'), resolveIO());
 * ```
 */
export function registerAdminIntegrationsCommands(admin: Command, io: ResolvedIO): Command {
  const integrations = admin
    .command('integrations')
    .description("integrations' API keys and signed webhooks");
  const keys = integrations.command('keys').description("integrations' API keys");
  addAdminOptions(
    keys
      .command('create')
      .description('make an API key for an integration, printed once (fresh second factor)')
      .argument('<integration>', "the integration's administrator id", adminId)
      .addOption(new Option('--name <name>', 'a label').makeOptionMandatory())
      .addOption(
        new Option('--scope <family>', 'a route family, or <family>:read (repeatable)')
          .argParser(collect(scope))
          .makeOptionMandatory(),
      )
      .addOption(
        new Option('--pool <pool>', 'bind the key to this pool (repeatable)').argParser(
          collect((v: string) => parsePoolId(v) as string),
        ),
      )
      .addOption(
        new Option('--ttl <duration>', 'lifetime such as 90d (default 90 days)').argParser(
          parseDurationOption,
        ),
      ),
    'print one JSON line {"key","apiKey"}',
  ).action(async (integration: string, options: CreateKeyOptions) => {
    const { client } = await openAdminSession(options, io);
    const made = await client.integrations
      .createKey(integration, {
        name: options.name,
        scopes: options.scope,
        ...(options.pool === undefined ? {} : { pools: options.pool }),
        ...(options.ttl === undefined ? {} : { ttlMs: options.ttl }),
      })
      .catch(explainAdminError);
    output(
      io,
      options,
      made,
      (v) => `created key ${v.key.id}, expires ${when(v.key.expiresAt)}\nAPI key (shown once): ${v.apiKey}\n`,
    );
  });
  addAdminOptions(
    keys
      .command('list')
      .description("list the integrations' keys, revoked ones too")
      .addOption(new Option('--integration <id>', 'only this integration').argParser(adminId)),
  ).action(async (options: AdminOptionValues & { readonly integration?: string }) => {
    const { client } = await openAdminSession(options, io);
    const list = await client.integrations.keys(options.integration).catch(explainAdminError);
    output(io, options, { items: list }, (l) => l.items.map(describeKey).join(''));
  });
  addAdminOptions(
    keys
      .command('revoke')
      .description('revoke a key: its next request is refused')
      .argument('<key>', 'the key id', keyId),
  ).action(async (key: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    await client.integrations.revokeKey(key).catch(explainAdminError);
    output(io, options, { revoked: key }, (v) => `revoked ${v.revoked}\n`);
  });

  const webhooks = integrations.command('webhooks').description('signed webhook subscriptions');
  addAdminOptions(
    webhooks
      .command('create')
      .description(
        'subscribe an https URL to audit actions; the signing secret is printed once (fresh second factor)',
      )
      .argument('<url>', 'the https URL')
      .addOption(
        new Option('--event <action>', 'an audit action, a prefix such as user.*, or * (repeatable)')
          .argParser(collect(event))
          .makeOptionMandatory(),
      ),
    'print one JSON line {"webhook","secret"}',
  ).action(async (url: string, options: AdminOptionValues & { readonly event: string[] }) => {
    const { client } = await openAdminSession(options, io);
    const made = await client.integrations.createWebhook(url, options.event).catch(explainAdminError);
    output(
      io,
      options,
      made,
      (v) => `created webhook ${v.webhook.id}\nsigning secret (shown once): ${v.secret}\n`,
    );
  });
  addAdminOptions(webhooks.command('list').description('list webhook subscriptions')).action(
    async (options: AdminOptionValues) => {
      const { client } = await openAdminSession(options, io);
      const list = await client.integrations.webhooks().catch(explainAdminError);
      output(io, options, { items: list }, (l) => l.items.map(describeWebhook).join(''));
    },
  );
  addAdminOptions(
    webhooks
      .command('delete')
      .description('delete a webhook subscription')
      .argument('<webhook>', 'the webhook id', webhookId),
  ).action(async (webhook: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    await client.integrations.deleteWebhook(webhook).catch(explainAdminError);
    output(io, options, { deleted: webhook }, (v) => `deleted ${v.deleted}\n`);
  });
  addAdminOptions(
    webhooks
      .command('rotate-secret')
      .description(
        'replace the signing secret, printed once; the previous one also signs during the overlap, then is deleted (fresh second factor)',
      )
      .argument('<webhook>', 'the webhook id', webhookId)
      .addOption(
        new Option(
          '--overlap <duration>',
          'how long the previous secret still signs: 0 .. 7d (default 24h)',
        ).argParser(overlap),
      ),
    'print one JSON line {"webhook","secret","previousSecretUntil"}',
  ).action(async (webhook: string, options: AdminOptionValues & { readonly overlap?: number }) => {
    const { client } = await openAdminSession(options, io);
    const rotated = await client.integrations
      .rotateWebhookSecret(
        webhook,
        options.overlap === undefined ? {} : { overlapSeconds: options.overlap / 1000 },
      )
      .catch(explainAdminError);
    output(
      io,
      options,
      rotated,
      (v) =>
        `rotated the secret of webhook ${v.webhook.id}; ${
          v.previousSecretUntil === null
            ? 'the previous secret is deleted'
            : `the previous secret also signs until ${when(v.previousSecretUntil)}`
        }\nsigning secret (shown once): ${v.secret}\n`,
    );
  });
  addAdminOptions(
    webhooks
      .command('redeliver')
      .description('queue a failed event again, with the same webhook-id and fresh attempts')
      .argument('<webhook>', 'the webhook id', webhookId)
      .argument('<event>', 'the event id (msg_…) from deliveries', eventId),
  ).action(async (webhook: string, event: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    const delivery = await client.integrations.redeliver(webhook, event).catch(explainAdminError);
    output(io, options, { delivery }, (v) => `queued ${v.delivery.event} again\n`);
  });
  addAdminOptions(
    webhooks
      .command('deliveries')
      .description("a webhook's deliveries, newest first (pending, delivered, failed)")
      .argument('<webhook>', 'the webhook id', webhookId)
      .addOption(new Option('--limit <n>', 'at most this many (1..1000)').argParser(positiveInteger(1000)))
      .addOption(new Option('--after <cursor>', "where the page starts (the previous page's next)")),
  ).action(
    async (
      webhook: string,
      options: AdminOptionValues & { readonly limit?: number; readonly after?: string },
    ) => {
      const { client } = await openAdminSession(options, io);
      const page = await client.integrations
        .deliveries(webhook, {
          ...(options.limit === undefined ? {} : { limit: options.limit }),
          ...(options.after === undefined ? {} : { after: options.after }),
        })
        .catch(explainAdminError);
      output(
        io,
        options,
        page,
        (p) => p.items.map(describeDelivery).join('') + (p.next === undefined ? '' : `next: ${p.next}\n`),
      );
    },
  );
  return integrations;
}
