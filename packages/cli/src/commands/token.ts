/**
 * `cloister token create`: creates an enrolment token for a tenant (optionally bound to a user
 * and a pool) directly in the server's storage and prints it once; the server keeps only its hash.
 *
 * @module
 */

import type { PoolId, TenantId, UserId } from '@cloister/protocol';
import { NotFoundError } from '@cloister/server';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  parseDurationOption,
  parsePoolId,
  parseTenantId,
  parseUserId,
  positiveInteger,
} from '../_options.js';
import { addStorageOptions, type StorageOptionValues, withStoredServer } from '../_storage.js';
import { type ResolvedIO, UsageFailure } from '../io.js';

/**
 * Default lifetime of a token created on the command line.
 *
 * @example
 * ```ts
 * parseDuration(DEFAULT_TOKEN_TTL); // 604800000
 * ```
 */
export const DEFAULT_TOKEN_TTL = '7d';

interface CreateOptions extends StorageOptionValues {
  readonly tenant: TenantId;
  readonly user?: UserId;
  readonly pool?: PoolId;
  readonly uses?: number;
  readonly ttl?: number;
  readonly existingUsers?: boolean;
  readonly json?: boolean;
}

/**
 * What `token create --json` prints.
 *
 * @example
 * ```ts
 * const { token, expiresAt }: TokenJson = JSON.parse(stdout);
 * ```
 */
export interface TokenJson {
  /** The enrolment token (base64url), shown only this once. */
  readonly token: string;
  readonly tenant: string;
  readonly user: string | null;
  readonly pool: string | null;
  readonly uses: number;
  /** ISO 8601 expiry time. */
  readonly expiresAt: string;
}

function parseTtl(value: string): number {
  const ms = parseDurationOption(value);
  if (ms < 60_000) throw new InvalidArgumentError('expected a lifetime of at least 1m.');
  return ms;
}

async function create(options: CreateOptions, io: ResolvedIO): Promise<void> {
  if (options.existingUsers === true && options.user !== undefined) {
    throw new UsageFailure('--existing-users applies only to tokens not bound to a user (without --user)');
  }
  const uses = options.uses ?? 1;
  const ttlMs = options.ttl ?? parseTtl(DEFAULT_TOKEN_TTL);
  // Loaded on use: `--help` and the client commands need none of the server's modules.
  const { createEnrolmentToken, MAX_ENROL_TOKEN_TTL_MS, MAX_ENROL_TOKEN_USES } = await import(
    '@cloister/server'
  );
  if (uses > MAX_ENROL_TOKEN_USES) throw new UsageFailure(`--uses: at most ${MAX_ENROL_TOKEN_USES}`);
  if (ttlMs > MAX_ENROL_TOKEN_TTL_MS) {
    throw new UsageFailure(`--ttl: at most ${Math.floor(MAX_ENROL_TOKEN_TTL_MS / 86_400_000)}d`);
  }
  const result = await withStoredServer(options, 'token', async (context) => {
    try {
      return await createEnrolmentToken(context, {
        tenant: options.tenant,
        ...(options.user === undefined ? {} : { user: options.user }),
        ...(options.pool === undefined ? {} : { pool: options.pool }),
        maxUses: uses,
        ttlMs,
        existingUsers: options.existingUsers === true,
      });
    } catch (error) {
      if (error instanceof NotFoundError && (error.what === 'tenant' || error.what === 'pool')) {
        throw new Error(error.what === 'tenant' ? 'no such tenant' : 'no such pool in the tenant', {
          cause: error,
        });
      }
      throw error;
    }
  });
  const out: TokenJson = {
    token: result.token,
    tenant: options.tenant,
    user: options.user ?? null,
    pool: options.pool ?? null,
    uses,
    expiresAt: new Date(result.expiresAt).toISOString(),
  };
  io.stderr(
    'warning: the enrolment token is shown only this once (the server keeps only its hash); ' +
      'hand it over through a secure channel\n',
  );
  if (options.json === true) {
    io.stdout(`${JSON.stringify(out)}\n`);
    return;
  }
  io.stdout(
    `enrolment token: ${out.token}\n` +
      `tenant: ${out.tenant}, user: ${out.user ?? 'any (new users)'}, pool: ${out.pool ?? 'none'}, ` +
      `uses: ${out.uses}, expires: ${out.expiresAt}\n`,
  );
}

/**
 * Adds `cloister token …` to `program`.
 *
 * @example
 * ```ts
 * const program = new Command('cloister');
 * registerTokenCommands(program, resolveIO());
 * ```
 */
export function registerTokenCommands(program: Command, io: ResolvedIO): Command {
  const token = program.command('token').description('manage enrolment tokens');
  const createCommand = token
    .command('create')
    .description('create an enrolment token; it is printed once and stored only as a hash')
    .addOption(
      new Option('--tenant <id>', 'the tenant the token enrols into')
        .argParser(parseTenantId)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--user <id>', 'bind the token to this user (created on first use)').argParser(parseUserId),
    )
    .addOption(
      new Option('--pool <id>', 'put enrolled users in this pool (must exist)').argParser(parsePoolId),
    )
    .addOption(
      new Option('--uses <n>', 'how many devices the token may enrol (default 1, at most 1000000)').argParser(
        positiveInteger(999_999_999),
      ),
    )
    .addOption(
      new Option(
        '--ttl <duration>',
        `lifetime such as 7d, 12h, 30m (default ${DEFAULT_TOKEN_TTL}, at most 366d)`,
      ).argParser(parseTtl),
    )
    .option('--existing-users', 'without --user: the token may also add devices to users that already exist')
    .option('--json', 'print one JSON line {"token","tenant","user","pool","uses","expiresAt"}');
  addStorageOptions(createCommand);
  createCommand.action((options: CreateOptions) => create(options, io));
  return token;
}
