/**
 * `cloister admin tenant …`: creating and listing tenants with the operator token (the server's
 * `--operator-token-file`), and the caller's own tenant and e-mail domains with a session; and
 * `cloister admin usage`: what the own tenant's blobs and archive hold, against the quotas.
 *
 * @module
 */
import { type Command, Option } from 'commander';
import {
  type AdminOptionValues,
  addAdminOptions,
  cryptoProvider,
  explainAdminError,
  openAdminSession,
  output,
  readSecret,
} from '../_admin.js';
import { parseServerPin, parseServerUrl } from '../_client.js';
import { collectDomain, parseName, parsePath, parseTenantId } from '../_options.js';
import type { ResolvedIO } from '../io.js';
import { parseEmail } from './admin.js';

interface OperatorOptions extends AdminOptionValues {
  readonly server: string;
  readonly serverPin: string;
  readonly operatorTokenFile: string;
}

interface CreateOptions extends OperatorOptions {
  readonly name: string;
  readonly domain?: readonly string[];
  readonly ownerEmail: string;
  readonly ownerName: string;
  readonly ownerPasswordFile?: string;
}

/**
 * What `admin tenant create --json` prints: the owner's TOTP URI and recovery codes, once.
 *
 * @example
 * ```ts
 * const { owner } = JSON.parse(stdout) as TenantCreateJson;
 * ```
 */
export interface TenantCreateJson {
  /** The new tenant's id. */
  readonly tenant: string;
  /** Its display name. */
  readonly name: string;
  /** Its e-mail domains. */
  readonly domains: readonly string[];
  /** The first owner: their id, TOTP URI (for a QR code) and recovery codes, printed once. */
  readonly owner: {
    readonly admin: string;
    readonly totpUri: string;
    readonly recoveryCodes: readonly string[];
  };
}

async function operatorClient(options: OperatorOptions, io: ResolvedIO) {
  const token = await readSecret(
    { file: options.operatorTokenFile, option: '--operator-token-file', prompt: '' },
    io,
  );
  const [{ AdminClient }, { pinnedTransport }] = await Promise.all([
    import('@cloister/admin'),
    import('@cloister/admin/node'),
  ]);
  return new AdminClient({
    transport: pinnedTransport({ url: options.server, pin: options.serverPin }),
    credential: { kind: 'operator', token },
    provider: await cryptoProvider(),
  });
}

async function create(id: string, options: CreateOptions, io: ResolvedIO): Promise<void> {
  const password = await readSecret(
    {
      file: options.ownerPasswordFile,
      option: '--owner-password-file',
      prompt: "the owner's first password: ",
    },
    io,
  );
  const client = await operatorClient(options, io);
  const created = await client
    .createTenant({
      id,
      name: options.name,
      domains: options.domain ?? [],
      owner: { email: options.ownerEmail, name: options.ownerName, password },
    })
    .catch(explainAdminError);
  const out: TenantCreateJson = {
    tenant: created.tenant.id,
    name: created.tenant.name,
    domains: created.tenant.domains,
    owner: created.owner,
  };
  io.stderr(
    "warning: the owner's TOTP URI and recovery codes are shown only this once; hand them over through a secure channel\n",
  );
  output(
    io,
    options,
    out,
    (o) =>
      `created tenant ${o.tenant} (${o.name}); domains: ${o.domains.length === 0 ? 'none' : o.domains.join(', ')}\n` +
      `owner: ${o.owner.admin}\n` +
      `TOTP (add to an authenticator app): ${o.owner.totpUri}\n` +
      `recovery codes:\n${o.owner.recoveryCodes.map((c) => `  ${c}\n`).join('')}` +
      `next: the owner logs in (cloister admin login) and creates the organisation root (cloister org init, cloister org register)\n`,
  );
}

function addOperatorOptions(command: Command): Command {
  return command
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
    .addOption(
      new Option(
        '--operator-token-file <file>',
        'the operator token (server start writes it to <data-dir>/operator.token)',
      )
        .argParser(parsePath)
        .makeOptionMandatory(),
    );
}

const bytes = (n: number): string => {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]}`;
};

/**
 * Adds `cloister admin tenant …` and `cloister admin usage` to the `admin` group.
 *
 * @example
 * ```ts
 * registerAdminTenantCommands(program.command('admin'), resolveIO());
 * ```
 */
export function registerAdminTenantCommands(admin: Command, io: ResolvedIO): Command {
  const tenant = admin.command('tenant').description('tenants (operator) and your own tenant');
  addAdminOptions(
    addOperatorOptions(
      tenant
        .command('create')
        .description(
          "create a tenant and its first owner (operator); prints the owner's TOTP URI and recovery codes once",
        )
        .argument('<id>', 'tenant id: 1 to 128 characters from A-Z a-z 0-9 . _ - : @ +', parseTenantId)
        .addOption(new Option('--name <name>', 'display name').argParser(parseName).makeOptionMandatory())
        .addOption(
          new Option('--domain <domain>', 'an e-mail domain the tenant owns (repeatable)').argParser(
            collectDomain,
          ),
        )
        .addOption(
          new Option('--owner-email <email>', "the owner's e-mail")
            .argParser(parseEmail)
            .makeOptionMandatory(),
        )
        .addOption(
          new Option('--owner-name <name>', "the owner's name").argParser(parseName).makeOptionMandatory(),
        )
        .addOption(
          new Option(
            '--owner-password-file <file>',
            "the owner's first password (12+ characters; else a prompt)",
          ).argParser(parsePath),
        ),
    ),
    'print one JSON line {"tenant","name","domains","owner":{"admin","totpUri","recoveryCodes"}}',
  ).action((id: string, options: CreateOptions) => create(id, options, io));
  addAdminOptions(addOperatorOptions(tenant.command('list').description('list tenants (operator)'))).action(
    async (options: OperatorOptions) => {
      const client = await operatorClient(options, io);
      const page = await client.listTenants().catch(explainAdminError);
      output(io, options, page, (p) =>
        p.items.map((t) => `${t.id}\t${t.name}\troot ${t.rootFingerprint ?? 'none'}\n`).join(''),
      );
    },
  );
  addAdminOptions(tenant.command('show').description('your tenant: name, domains, root fingerprint')).action(
    async (options: AdminOptionValues) => {
      const { client } = await openAdminSession(options, io);
      const t = await client.getTenant().catch(explainAdminError);
      output(
        io,
        options,
        t,
        (v) =>
          `${v.id} (${v.name})\ndomains: ${v.domains.length === 0 ? 'none' : v.domains.join(', ')}\n` +
          `organisation root: ${v.rootFingerprint ?? 'none (cloister org init, cloister org register)'}\n`,
      );
    },
  );
  addAdminOptions(
    tenant
      .command('add-domain')
      .description('add an e-mail domain')
      .argument('<domain>', 'the domain', (v: string) => collectDomain(v)[0] as string),
  ).action(async (domain: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    const r = await client.addDomain(domain).catch(explainAdminError);
    output(io, options, r, (v) => `domains: ${v.domains.join(', ')}\n`);
  });
  addAdminOptions(
    tenant
      .command('remove-domain')
      .description('remove an e-mail domain')
      .argument('<domain>', 'the domain', (v: string) => collectDomain(v)[0] as string),
  ).action(async (domain: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    await client.removeDomain(domain).catch(explainAdminError);
    output(io, options, { removed: domain }, (v) => `removed ${v.removed}\n`);
  });
  addAdminOptions(
    admin
      .command('usage')
      .description(
        "what your tenant's blobs and compliance archive hold on the server, against the storage quotas",
      ),
  ).action(async (options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    const u = await client.usage().catch(explainAdminError);
    output(
      io,
      options,
      u,
      (v) =>
        `blobs: ${v.blobs.count} (${bytes(v.blobs.bytes)}); archive: ${v.archive.count} item(s) (${bytes(v.archive.bytes)})\n` +
        `tenant quota: ${bytes(v.blobs.bytes + v.archive.bytes)} of ${bytes(v.quotas.tenantMaxBytes)} (blobs and archive)\n` +
        `per device: ${v.quotas.blobMaxCountPerDevice} blobs, ${bytes(v.quotas.blobMaxBytesPerDevice)}; ` +
        `per mailbox: ${v.quotas.mailboxMaxEnvelopes} envelopes, ${bytes(v.quotas.mailboxMaxBytes)}\n`,
    );
  });
  return tenant;
}
