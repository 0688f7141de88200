/**
 * SCIM bearer tokens (`spec/directory.md` §2): per tenant, each bound to one directory source.
 *
 * - `s_scim_tokens[tenant][token id]`: the token's record (name, source, expiry, last use,
 *   revocation, its stored hash); never the token itself.
 * - `s_scim_token_hashes[hash][ε]`: the stored hash → tenant and token id (the lookup by hash is
 *   the authentication).
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import { type TenantId, tenantId } from '@cloister/protocol';
import type { Executor, StorageTx } from '@cloister/storage';
import { checkText, getRec, key, NO_SORT, read, T, write } from './_util.js';
import { ConflictError, NotFoundError } from './errors.js';
import { checkDirectorySource, type DirectorySource } from './users.js';

/**
 * At most this many live (unrevoked, unexpired) SCIM tokens per tenant.
 *
 * @example
 * ```ts
 * console.log(MAX_SCIM_TOKENS); // 5
 * ```
 */
export const MAX_SCIM_TOKENS = 5;

/**
 * A SCIM token as stored (never the token itself).
 *
 * @example
 * ```ts
 * const t: ScimToken | undefined = await stores.scimTokens.get(tenant, 'scim_tok_abc');
 * if (t?.revokedAt !== null) console.log('revoked');
 * ```
 */
export interface ScimToken {
  /** The tenant whose `/scim/v2` the token reaches. */
  readonly tenant: TenantId;
  /** The token's id (`stk_…`), not secret. */
  readonly id: string;
  /** A label for people (1..64 characters). */
  readonly name: string;
  /** The directory source of every user the token creates and may change. */
  readonly source: DirectorySource;
  /** The stored hash of the token (32 bytes). */
  readonly tokenHash: Uint8Array;
  /** When it was made, ms. */
  readonly createdAt: number;
  /** The administrator who made it. */
  readonly createdBy: string;
  /** When it stops working, ms (null: never). */
  readonly expiresAt: number | null;
  /** When it was last accepted (null: never), to within a minute. */
  readonly lastUsedAt: number | null;
  /** When it was revoked (null: it was not). */
  readonly revokedAt: number | null;
}

/**
 * The SCIM tokens of each tenant.
 *
 * @example
 * ```ts
 * const live = await stores.scimTokens.list(tenant);
 * ```
 */
export interface ScimTokenStore {
  /**
   * Stores a new token; `ConflictError('scim.tokens')` when the tenant already has
   * {@link MAX_SCIM_TOKENS} live ones (checked at `now`).
   *
   * @example
   * ```ts
   * const now = Date.now();
   * await stores.scimTokens.create({
   *   tenant, id: 'stk_AAAAAAAAAAAAAAAAAAAAAA', name: 'Entra ID', source: 'scim',
   *   tokenHash: new Uint8Array(32), createdAt: now, createdBy: 'adm_x', expiresAt: null, lastUsedAt: null, revokedAt: null,
   * }, now);
   * ```
   */
  create(token: ScimToken, now: number): Promise<void>;
  /**
   * A token by id, or undefined.
   *
   * @example
   * ```ts
   * const t = await stores.scimTokens.get(tenant, 'stk_AAAAAAAAAAAAAAAAAAAAAA');
   * ```
   */
  get(tenant: TenantId, id: string): Promise<ScimToken | undefined>;
  /**
   * A token by its stored hash, or undefined.
   *
   * @example
   * ```ts
   * const t = await stores.scimTokens.byHash(bearerHash('scim', token));
   * ```
   */
  byHash(hash: Uint8Array): Promise<ScimToken | undefined>;
  /**
   * The tenant's unrevoked tokens (expired ones too), oldest first.
   *
   * @example
   * ```ts
   * const tokens = await stores.scimTokens.list(tenant);
   * ```
   */
  list(tenant: TenantId): Promise<ScimToken[]>;
  /**
   * Marks a token revoked at `at`; `NotFoundError('token')` for an unknown or revoked one.
   *
   * @example
   * ```ts
   * await stores.scimTokens.revoke(tenant, 'stk_AAAAAAAAAAAAAAAAAAAAAA', Date.now());
   * ```
   */
  revoke(tenant: TenantId, id: string, at: number): Promise<ScimToken>;
  /**
   * Records a use of the token (callers throttle it to once a minute).
   *
   * @example
   * ```ts
   * await stores.scimTokens.touch(tenant, 'stk_AAAAAAAAAAAAAAAAAAAAAA', Date.now());
   * ```
   */
  touch(tenant: TenantId, id: string, at: number): Promise<void>;
}

function encode(t: ScimToken): Uint8Array {
  return write({
    id: t.id,
    name: t.name,
    source: t.source,
    tokenHash: t.tokenHash,
    createdAt: t.createdAt,
    createdBy: t.createdBy,
    expiresAt: t.expiresAt,
    lastUsedAt: t.lastUsedAt,
    revokedAt: t.revokedAt,
  });
}

function decode(tenant: TenantId, bytes: Uint8Array): ScimToken {
  const r = read(bytes, T.scimTokens);
  return {
    tenant,
    id: r.str('id', 64),
    name: r.str('name', 64),
    source: r.id('source', (v) => checkDirectorySource(v)),
    tokenHash: r.bytes('tokenHash', 32, 32),
    createdAt: r.int('createdAt'),
    createdBy: r.str('createdBy', 128),
    expiresAt: r.has('expiresAt') ? r.int('expiresAt') : null,
    lastUsedAt: r.has('lastUsedAt') ? r.int('lastUsedAt') : null,
    revokedAt: r.has('revokedAt') ? r.int('revokedAt') : null,
  };
}

/**
 * Whether a token is live at `now`: not revoked and not expired.
 *
 * @example
 * ```ts
 * const usable = (await stores.scimTokens.list(tenant)).filter((t) => scimTokenLive(t, Date.now()));
 * ```
 */
export function scimTokenLive(t: ScimToken, now: number): boolean {
  return t.revokedAt === null && (t.expiresAt === null || now < t.expiresAt);
}

/**
 * Creates the SCIM token store over an executor.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const tokens = createScimTokenStore(adapterExecutor(adapter));
 * ```
 */
export function createScimTokenStore(run: Executor): ScimTokenStore {
  const listTx = async (tx: StorageTx, tenant: TenantId): Promise<ScimToken[]> => {
    const rows = await tx.list(T.scimTokens, key(tenant), { limit: 1000 });
    return rows.map((row) => decode(tenant, row.value)).sort((a, b) => a.createdAt - b.createdAt);
  };
  return {
    async create(t, now) {
      checkText(t.name, 'name', 64);
      checkDirectorySource(t.source);
      if (!(t.tokenHash instanceof Uint8Array) || t.tokenHash.length !== 32)
        throw new ValidationError('tokenHash', '32 bytes');
      await run(async (tx) => {
        // Locks the tenant's token rows so that two creations cannot both pass the count.
        const tenantRow = await tx.get(T.tenants, NO_SORT, key(t.tenant), { forUpdate: true });
        if (tenantRow === undefined) throw new NotFoundError('tenant');
        const all = await listTx(tx, t.tenant);
        if (all.filter((x) => scimTokenLive(x, now)).length >= MAX_SCIM_TOKENS) {
          throw new ConflictError('scim.tokens', 'too many live SCIM tokens');
        }
        const claim = { partition: t.tokenHash, sort: NO_SORT, value: write({ tenant: t.tenant, id: t.id }) };
        if (!(await tx.put(T.scimTokenHashes, claim, { ifAbsent: true }))) {
          throw new ConflictError('scim.token', 'this token is taken');
        }
        await tx.put(T.scimTokens, { partition: key(t.tenant), sort: key(t.id), value: encode(t) });
      });
    },
    async get(tenant, id) {
      return run(
        async (tx) => {
          const row = await tx.get(T.scimTokens, key(tenant), key(id));
          return row === undefined ? undefined : decode(tenant, row.value);
        },
        { readOnly: true },
      );
    },
    async byHash(hash) {
      if (!(hash instanceof Uint8Array) || hash.length !== 32) throw new ValidationError('hash', '32 bytes');
      return run(
        async (tx) => {
          const claim = await getRec(tx, T.scimTokenHashes, hash, NO_SORT);
          if (claim === undefined) return undefined;
          const tenant = claim.id('tenant', tenantId);
          const row = await tx.get(T.scimTokens, key(tenant), key(claim.str('id', 64)));
          return row === undefined ? undefined : decode(tenant, row.value);
        },
        { readOnly: true },
      );
    },
    async list(tenant) {
      const all = await run((tx) => listTx(tx, tenant), { readOnly: true });
      return all.filter((t) => t.revokedAt === null);
    },
    async revoke(tenant, id, at) {
      return run(async (tx) => {
        const row = await tx.get(T.scimTokens, key(tenant), key(id), { forUpdate: true });
        if (row === undefined) throw new NotFoundError('token');
        const t = decode(tenant, row.value);
        if (t.revokedAt !== null) throw new NotFoundError('token');
        const revoked = { ...t, revokedAt: at };
        await tx.put(T.scimTokens, { partition: key(tenant), sort: key(id), value: encode(revoked) });
        return revoked;
      });
    },
    async touch(tenant, id, at) {
      await run(async (tx) => {
        const row = await tx.get(T.scimTokens, key(tenant), key(id), { forUpdate: true });
        if (row === undefined) return;
        const t = decode(tenant, row.value);
        await tx.put(T.scimTokens, {
          partition: key(tenant),
          sort: key(id),
          value: encode({ ...t, lastUsedAt: at }),
        });
      });
    },
  };
}
