/**
 * `cloister tenant create`: creates a tenant with its Ed25519 signing key and domains directly in
 * the server's storage (the server must not be running on an embedded data directory; with
 * PostgreSQL it may be).
 *
 * @module
 */
import { toHex } from '@cloister/crypto';
import type { TenantId } from '@cloister/protocol';
import { ConflictError } from '@cloister/server';
import { type Command, Option } from 'commander';
import { collectDomain, parseName, parseTenantId } from '../_options.js';
import { addStorageOptions, type StorageOptionValues, withStoredServer } from '../_storage.js';
import type { ResolvedIO } from '../io.js';

interface CreateOptions extends StorageOptionValues {
  readonly name: string;
  readonly domain?: readonly string[];
  readonly json?: boolean;
}

/**
 * What `tenant create --json` prints.
 *
 * @example
 * ```ts
 * const created: TenantJson = JSON.parse(stdout);
 * console.log(created.signingPublicKey.length); // 64
 * ```
 */
export interface TenantJson {
  readonly tenant: string;
  readonly name: string;
  readonly domains: readonly string[];
  /** The tenant's Ed25519 public key, hex (64 digits). */
  readonly signingPublicKey: string;
}

async function create(id: TenantId, options: CreateOptions, io: ResolvedIO): Promise<void> {
  const domains = options.domain ?? [];
  const result = await withStoredServer(options, 'tenant', async (context) => {
    const { createTenant } = await import('@cloister/server');
    try {
      return await createTenant(context, { id, name: options.name, domains });
    } catch (error) {
      if (error instanceof ConflictError && error.constraint === 'tenant') {
        throw new Error('a tenant with this id already exists', { cause: error });
      }
      if (error instanceof ConflictError && error.constraint === 'domain') {
        throw new Error('a domain belongs to another tenant already', { cause: error });
      }
      throw error;
    }
  });
  const out: TenantJson = {
    tenant: result.tenant.id,
    name: result.tenant.name,
    domains,
    signingPublicKey: toHex(result.signingPublicKey),
  };
  if (options.json === true) {
    io.stdout(`${JSON.stringify(out)}\n`);
    return;
  }
  io.stdout(
    `created tenant ${out.tenant} (${out.name})\n` +
      `domains: ${domains.length === 0 ? 'none' : domains.join(', ')}\n` +
      `signing public key (Ed25519, hex): ${out.signingPublicKey}\n`,
  );
}

/**
 * Adds `cloister tenant …` to `program`.
 *
 * @example
 * ```ts
 * const program = new Command('cloister');
 * registerTenantCommands(program, resolveIO());
 * ```
 */
export function registerTenantCommands(program: Command, io: ResolvedIO): Command {
  const tenant = program
    .command('tenant')
    .description('manage tenants (organisations) in the server storage');
  const createCommand = tenant
    .command('create')
    .description('create a tenant with a new signing key; prints its id and signing public key')
    .argument('<id>', 'tenant id: 1 to 128 characters from A-Z a-z 0-9 . _ - : @ +', parseTenantId)
    .addOption(
      new Option('--name <name>', 'display name (1 to 256 characters)')
        .argParser(parseName)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--domain <domain>', 'an e-mail domain the tenant owns (repeatable)').argParser(
        collectDomain,
      ),
    )
    .option('--json', 'print one JSON line {"tenant","name","domains","signingPublicKey"}');
  addStorageOptions(createCommand);
  createCommand.action((id: TenantId, options: CreateOptions) => create(id, options, io));
  return tenant;
}
