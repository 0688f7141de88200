/**
 * Tenants and their signing keys. A tenant is created together with an Ed25519 key pair: the
 * public key lives in the tenant record (`s_tenants`, what clients pin to verify sender
 * certificates and admin commands), the private key in the server table `srv_tenant_keys`,
 * which the shell's encryption at rest seals under the organisation's key. Both, and the
 * tenant's domains, are written in one transaction.
 *
 * @module
 */
import { equalBytes, StorageError, ValidationError } from '@cloister/crypto';
import { type PoolId, type TenantId, tenantId, type UserId } from '@cloister/protocol';
import { decodeRecord, encodeRecord, txExecutor } from '@cloister/storage';
import type { ServerContext } from './context.js';
import {
  createDomainStore,
  createTenantStore,
  createUserStore,
  normalizeDomain,
  type Tenant,
  type User,
} from './store/index.js';

/**
 * The server table holding each tenant's signing private key (one row per tenant, keyed by the
 * tenant id in UTF-8); read it with {@link getTenantSigningKey}.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * const exists = await ctx.adapter.transaction(async (tx) => (await tx.get(TENANT_KEYS_TABLE, utf8(tenant), new Uint8Array(0))) !== undefined);
 * ```
 */
export const TENANT_KEYS_TABLE = 'srv_tenant_keys';

const NO_SORT = new Uint8Array(0);
const enc = new TextEncoder();

/**
 * What {@link createTenant} needs.
 *
 * @example
 * ```ts
 * import { tenantId } from '@cloister/protocol';
 * const input: CreateTenantInput = { id: tenantId('acme'), name: 'ACME', domains: ['acme.example'] };
 * const { tenant: created } = await createTenant(server.context, input);
 * ```
 */
export interface CreateTenantInput {
  /** The new tenant's id (must not be taken). */
  readonly id: TenantId;
  /** The tenant's display name. */
  readonly name: string;
  /** E-mail domains the tenant owns (each at most one tenant's). */
  readonly domains?: readonly string[];
}

/**
 * What {@link createUser} needs.
 *
 * @example
 * ```ts
 * import { poolId, userId } from '@cloister/protocol';
 * const input: CreateUserInput = { tenant, id: userId('alice'), displayName: 'Alice', pools: [poolId('ward-3')] };
 * const alice = await createUser(server.context, input);
 * ```
 */
export interface CreateUserInput {
  /** The tenant the user joins (must exist). */
  readonly tenant: TenantId;
  /** The new user's id, unique within the tenant. */
  readonly id: UserId;
  /** The name other users see. */
  readonly displayName: string;
  /** The pools the user belongs to (each must exist; default none: the open area). */
  readonly pools?: readonly PoolId[];
}

/**
 * The part of the server context the tenant functions use: the storage adapter and the crypto
 * provider.
 *
 * @example
 * ```ts
 * const tenants: TenantContext = server.context; // or { adapter, provider } of an operator's tool
 * const privateKey = await getTenantSigningKey(tenants, tenant);
 * privateKey.fill(0);
 * ```
 */
export type TenantContext = Pick<ServerContext, 'adapter' | 'provider'>;

function keyRecord(privateKey: Uint8Array, publicKey: Uint8Array, createdAt: number): Uint8Array {
  return encodeRecord(1, { privateKey, publicKey, createdAt });
}

/**
 * Creates a tenant with a new Ed25519 signing key pair and its domains, in one transaction.
 * `ConflictError('tenant')` when the id is taken, `ConflictError('domain')` when another tenant
 * owns a domain, `ValidationError` for a bad id, name or domain; nothing is written on error.
 *
 * @example
 * ```ts
 * import { tenantId } from '@cloister/protocol';
 * const { tenant, signingPublicKey } = await createTenant(server.context, {
 *   id: tenantId('acme'),
 *   name: 'ACME',
 *   domains: ['acme.example'],
 * });
 * ```
 */
export async function createTenant(
  ctx: TenantContext,
  input: CreateTenantInput,
): Promise<{ tenant: Tenant; signingPublicKey: Uint8Array }> {
  if (typeof input !== 'object' || input === null) throw new ValidationError('input', 'an object');
  const id = tenantId(input.id);
  const domainsIn = input.domains ?? [];
  if (!Array.isArray(domainsIn)) throw new ValidationError('domains', 'an array of domain names');
  const domains = domainsIn.map((d) => normalizeDomain(d));
  if (new Set(domains).size !== domains.length) throw new ValidationError('domains', 'no duplicates');
  const pair = await ctx.provider.ed25519.generateKeyPair();
  try {
    const tenant = await ctx.adapter.transaction(async (tx) => {
      const run = txExecutor(tx);
      const created = await createTenantStore(run).create(id, {
        name: input.name,
        signingKey: pair.publicKey,
      });
      const domainStore = createDomainStore(run);
      for (const d of domains) await domainStore.add(id, d);
      await tx.put(TENANT_KEYS_TABLE, {
        partition: enc.encode(id),
        sort: NO_SORT,
        value: keyRecord(pair.privateKey, pair.publicKey, tx.now),
      });
      return created;
    });
    return { tenant, signingPublicKey: pair.publicKey.slice() };
  } finally {
    pair.privateKey.fill(0);
  }
}

/**
 * The tenant's Ed25519 signing private key (32 bytes); the caller wipes it after use. An unknown
 * tenant, a missing key, or a stored key whose public half differs from the tenant record is a
 * `StorageError`.
 *
 * @example
 * ```ts
 * import { tenantId } from '@cloister/protocol';
 * const privateKey = await getTenantSigningKey(ctx, tenantId('acme'));
 * try {
 *   const signature = await ctx.provider.ed25519.sign(privateKey, bytes);
 * } finally {
 *   privateKey.fill(0);
 * }
 * ```
 */
export async function getTenantSigningKey(ctx: TenantContext, tenant: TenantId): Promise<Uint8Array> {
  const id = tenantId(tenant);
  return ctx.adapter.transaction(
    async (tx) => {
      const record = await createTenantStore(txExecutor(tx)).get(id);
      const row = await tx.get(TENANT_KEYS_TABLE, enc.encode(id), NO_SORT);
      if (record === undefined || row === undefined) throw new StorageError('tenant signing key missing');
      const { v, d } = decodeRecord(row.value, TENANT_KEYS_TABLE);
      const data = d as { privateKey?: unknown; publicKey?: unknown } | null;
      if (
        v !== 1 ||
        typeof data !== 'object' ||
        data === null ||
        !(data.privateKey instanceof Uint8Array) ||
        data.privateKey.length !== 32 ||
        !(data.publicKey instanceof Uint8Array) ||
        !equalBytes(data.publicKey, record.signingKey)
      ) {
        throw new StorageError('tenant signing key damaged or out of date');
      }
      return data.privateKey;
    },
    { readOnly: true },
  );
}

/**
 * Creates a user of a tenant (a convenience over `stores.users.create`).
 * `NotFoundError('tenant' | 'pool')`, `ConflictError('user')`, `ValidationError`.
 *
 * @example
 * ```ts
 * import { tenantId, userId } from '@cloister/protocol';
 * await createUser(server.context, { tenant: tenantId('acme'), id: userId('alice'), displayName: 'Alice' });
 * ```
 */
export async function createUser(ctx: TenantContext, input: CreateUserInput): Promise<User> {
  if (typeof input !== 'object' || input === null) throw new ValidationError('input', 'an object');
  return ctx.adapter.transaction((tx) =>
    createUserStore(txExecutor(tx)).create(input.tenant, input.id, {
      displayName: input.displayName,
      ...(input.pools === undefined ? {} : { pools: input.pools }),
    }),
  );
}
