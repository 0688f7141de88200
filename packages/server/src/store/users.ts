/**
 * Users of a tenant and the pools (closed areas, R22) they belong to. Pool membership is kept
 * twice in one transaction: in the user's record and as index rows per pool, so that both
 * "pools of a user" and "users of a pool" are single reads.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import { type PoolId, poolId, type TenantId, tenantId, type UserId, userId } from '@cloister/protocol';
import type { Executor, StorageTx } from '@cloister/storage';
import {
  checkBool,
  checkId,
  checkIdList,
  checkObject,
  checkPage,
  checkText,
  getRec,
  idFromKey,
  key,
  type Rec,
  read,
  T,
  write,
} from './_util.js';
import type { ServerPage, ServerPageOptions } from './common.js';
import { bumpClassEpoch, bumpTenantEpoch, bumpUserEpoch } from './delivery-epochs.js';
import { purgeDevice } from './devices.js';
import { ConflictError, NotFoundError } from './errors.js';
import { loadTenant } from './tenants.js';

/**
 * Administrative roles (DESIGN "Enterprise model"); ordinary users have none.
 *
 * @example
 * ```ts
 * const role: Role = 'auditor';
 * const found = await stores.users.get(tenant, user);
 * const canAudit = found?.roles.includes(role) ?? false;
 * ```
 */
export type Role = 'owner' | 'admin' | 'user-manager' | 'auditor' | 'integration';

/** Every {@link Role}. @example `ROLES.includes('auditor'); // true` */
export const ROLES: readonly Role[] = Object.freeze([
  'owner',
  'admin',
  'user-manager',
  'auditor',
  'integration',
]);

/**
 * Longest user or pool display name, in characters.
 *
 * @example
 * ```ts
 * console.log(MAX_DISPLAY_NAME); // 256
 * ```
 */
export const MAX_DISPLAY_NAME = 256;
/**
 * Most pools one user belongs to, and most pools one pool rule names.
 *
 * @example
 * ```ts
 * console.log(MAX_POOLS_PER_USER); // 64
 * ```
 */
export const MAX_POOLS_PER_USER = 64;

/**
 * Longest e-mail address, in characters (RFC 5321's path limit less its angle brackets).
 *
 * @example
 * ```ts
 * console.log(MAX_EMAIL); // 254
 * ```
 */
export const MAX_EMAIL = 254;

const EMAIL_LOCAL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$/;
const EMAIL_DOMAIN =
  /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/**
 * Checks an e-mail address and returns its canonical form: `local@domain` with the domain
 * lower-cased (the local part is kept as given), at most {@link MAX_EMAIL} characters, the local
 * part of 1..64 characters from RFC 5322's `atext` and dots (no leading, trailing or double
 * dot), the domain of at least two DNS labels. Anything else is a `ValidationError(field)`.
 *
 * @example
 * ```ts
 * normaliseEmail('Alice@Example.ORG'); // 'Alice@example.org'
 * ```
 */
export function normaliseEmail(value: unknown, field = 'email'): string {
  const fail = (): never => {
    throw new ValidationError(field, `an e-mail address of at most ${MAX_EMAIL} characters`);
  };
  if (typeof value !== 'string' || value.length > MAX_EMAIL) return fail();
  const at = value.lastIndexOf('@');
  if (at <= 0) return fail();
  const local = value.slice(0, at);
  const domain = value.slice(at + 1).toLowerCase();
  if (!EMAIL_LOCAL.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..'))
    fail();
  if (!EMAIL_DOMAIN.test(domain)) fail();
  return `${local}@${domain}`;
}

/**
 * The domain of an e-mail address that {@link normaliseEmail} accepted (lower-case).
 *
 * @example
 * ```ts
 * emailDomain('alice@example.org'); // 'example.org'
 * ```
 */
export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}

/**
 * A user as stored.
 *
 * @example
 * ```ts
 * import { userId } from '@cloister/protocol';
 *
 * const alice: User | undefined = await stores.users.get(tenant, userId('alice'));
 * if (alice?.blocked) console.log(`${alice.displayName} is blocked`);
 * ```
 */
export interface User {
  /** The tenant the user belongs to. */
  readonly tenant: TenantId;
  /** The user's id, unique in the tenant. */
  readonly id: UserId;
  /** Display name (at most {@link MAX_DISPLAY_NAME} characters). */
  readonly displayName: string;
  /** Sorted, distinct. */
  readonly pools: readonly PoolId[];
  /** Sorted, distinct. */
  readonly roles: readonly Role[];
  /** Whether the user is blocked: its devices can neither connect nor be delivered to. */
  readonly blocked: boolean;
  /** The user's e-mail address (domain lower-cased, see `normaliseEmail`), or `null`. */
  readonly email: string | null;
  /** When the user was created, in Unix milliseconds. */
  readonly createdAt: number;
}

/**
 * What {@link UserStore.create} needs.
 *
 * @example
 * ```ts
 * import { poolId, userId } from '@cloister/protocol';
 *
 * const input: UserInput = { displayName: 'Alice', pools: [poolId('ward-3')], roles: ['auditor'] };
 * await stores.users.create(tenant, userId('alice'), input);
 * ```
 */
export interface UserInput {
  /** Display name (at most {@link MAX_DISPLAY_NAME} characters). */
  readonly displayName: string;
  /** The pools the user belongs to, each existing (at most {@link MAX_POOLS_PER_USER}; default none). */
  readonly pools?: readonly PoolId[];
  /** Administrative roles (default none: an ordinary user). */
  readonly roles?: readonly Role[];
  /** Whether the user starts blocked (default `false`). */
  readonly blocked?: boolean;
  /** An e-mail address (checked by `normaliseEmail`); `null` or left out: none (a patch's `null` removes it). */
  readonly email?: string | null;
}

/**
 * A change to a user: fields left out stay as they are.
 *
 * @example
 * ```ts
 * const patch: UserPatch = { blocked: true };
 * const updated = await stores.users.update(tenant, user, patch); // other fields stay as they are
 * ```
 */
export type UserPatch = Partial<UserInput>;

/**
 * The users of each tenant.
 *
 * @example
 * ```ts
 * import { poolId, userId } from '@cloister/protocol';
 *
 * await stores.users.create(tenant, userId('alice'), { displayName: 'Alice', pools: [poolId('ward-3')] });
 * await stores.users.update(tenant, userId('alice'), { blocked: true });
 * ```
 */
export interface UserStore {
  /**
   * `NotFoundError('tenant' | 'pool')`, `ConflictError('user')` when the id is taken.
   *
   * @example
   * ```ts
   * import { userId } from '@cloister/protocol';
   *
   * const alice = await stores.users.create(tenant, userId('alice'), { displayName: 'Alice' });
   * ```
   */
  create(tenant: TenantId, id: UserId, input: UserInput): Promise<User>;
  /**
   * The user `id` of `tenant`, or `undefined`.
   *
   * @example
   * ```ts
   * const found = await stores.users.get(tenant, user);
   * if (found?.blocked) console.log(`${found.displayName} is blocked`);
   * ```
   */
  get(tenant: TenantId, id: UserId): Promise<User | undefined>;
  /**
   * `NotFoundError('user' | 'pool')`.
   *
   * @example
   * ```ts
   * const blocked = await stores.users.update(tenant, user, { blocked: true });
   * ```
   */
  update(tenant: TenantId, id: UserId, patch: UserPatch): Promise<User>;
  /**
   * Deletes the user with all its devices, their key bundles and mailboxes, and the user's signed
   * device lists; `false` when absent.
   *
   * @example
   * ```ts
   * const deleted = await stores.users.delete(tenant, user); // false when there was no such user
   * ```
   */
  delete(tenant: TenantId, id: UserId): Promise<boolean>;
  /**
   * Users of the tenant, in id order (in a stable hashed order under encryption at rest).
   *
   * @example
   * ```ts
   * const page = await stores.users.list(tenant, { limit: 100 });
   * for (const u of page.items) console.log(u.id, u.displayName);
   * ```
   */
  list(tenant: TenantId, options?: ServerPageOptions): Promise<ServerPage<User>>;
  /**
   * Ids of the users of one pool, in id order (hashed order under encryption at rest).
   *
   * @example
   * ```ts
   * import { poolId } from '@cloister/protocol';
   *
   * const { items: members } = await stores.users.listByPool(tenant, poolId('ward-3'));
   * ```
   */
  listByPool(tenant: TenantId, pool: PoolId, options?: ServerPageOptions): Promise<ServerPage<UserId>>;
}

/**
 * A pool as stored.
 *
 * @example
 * ```ts
 * import { poolId } from '@cloister/protocol';
 *
 * const pool: Pool | undefined = await stores.pools.get(tenant, poolId('ward-3'));
 * console.log(pool?.name, pool?.mayContact);
 * ```
 */
export interface Pool {
  /** The tenant the pool belongs to. */
  readonly tenant: TenantId;
  /** The pool's id, unique in the tenant. */
  readonly id: PoolId;
  /** Display name (at most {@link MAX_DISPLAY_NAME} characters). */
  readonly name: string;
  /** Other pools whose users this pool's users may contact (sorted, distinct). */
  readonly mayContact: readonly PoolId[];
}

/**
 * What {@link PoolStore.put} needs.
 *
 * @example
 * ```ts
 * import { poolId } from '@cloister/protocol';
 *
 * const input: PoolInput = { name: 'Ward 3', mayContact: [poolId('pharmacy')] };
 * await stores.pools.put(tenant, poolId('ward-3'), input);
 * ```
 */
export interface PoolInput {
  /** Display name (at most {@link MAX_DISPLAY_NAME} characters). */
  readonly name: string;
  /** Other pools whose users this pool's users may contact (at most {@link MAX_POOLS_PER_USER}; default none). */
  readonly mayContact?: readonly PoolId[];
}

/**
 * The pools of each tenant.
 *
 * @example
 * ```ts
 * import { poolId } from '@cloister/protocol';
 *
 * await stores.pools.put(tenant, poolId('ward-3'), { name: 'Ward 3', mayContact: [poolId('pharmacy')] });
 * ```
 */
export interface PoolStore {
  /**
   * Creates or replaces a pool; `NotFoundError('tenant')`.
   *
   * @example
   * ```ts
   * import { poolId } from '@cloister/protocol';
   *
   * await stores.pools.put(tenant, poolId('pharmacy'), { name: 'Pharmacy' });
   * ```
   */
  put(tenant: TenantId, id: PoolId, input: PoolInput): Promise<Pool>;
  /**
   * The pool `id` of `tenant`, or `undefined`.
   *
   * @example
   * ```ts
   * import { poolId } from '@cloister/protocol';
   *
   * const ward = await stores.pools.get(tenant, poolId('ward-3'));
   * console.log(ward?.name, ward?.mayContact); // → 'Ward 3' ['pharmacy']
   * ```
   */
  get(tenant: TenantId, id: PoolId): Promise<Pool | undefined>;
  /**
   * Pools of the tenant, in id order (in a stable hashed order under encryption at rest).
   *
   * @example
   * ```ts
   * const page = await stores.pools.list(tenant, { limit: 100 });
   * for (const pool of page.items) console.log(pool.id, pool.name);
   * ```
   */
  list(tenant: TenantId, options?: ServerPageOptions): Promise<ServerPage<Pool>>;
  /**
   * Deletes an empty pool; `ConflictError('pool')` while it has members, `false` when absent.
   *
   * @example
   * ```ts
   * import { poolId } from '@cloister/protocol';
   *
   * await stores.pools.delete(tenant, poolId('ward-3')); // ConflictError('pool') while it has members
   * ```
   */
  delete(tenant: TenantId, id: PoolId): Promise<boolean>;
}

function checkRoles(value: unknown): Role[] {
  return checkIdList(value, 'roles', ROLES.length, (v) => {
    if (!ROLES.includes(v as Role)) throw new ValidationError('roles', 'known roles');
    return v as Role;
  });
}

const enc = new TextEncoder();

const samePools = (a: readonly PoolId[], b: readonly PoolId[]): boolean =>
  a.length === b.length && a.every((p, i) => p === b[i]);

function userFrom(tenant: TenantId, id: UserId, r: Rec): User {
  return {
    tenant,
    id,
    displayName: r.str('displayName', MAX_DISPLAY_NAME),
    pools: r.strs('pools', poolId) as PoolId[],
    roles: r.strs('roles', (v) => {
      if (!ROLES.includes(v as Role)) throw new Error();
      return v as string;
    }) as Role[],
    blocked: r.bool('blocked'),
    email: r.has('email') ? r.str('email', MAX_EMAIL) : null,
    createdAt: r.int('createdAt'),
  };
}

function userRecord(u: User): Uint8Array {
  return write({
    displayName: u.displayName,
    pools: [...u.pools],
    roles: [...u.roles],
    blocked: u.blocked,
    ...(u.email === null ? {} : { email: u.email }),
    createdAt: u.createdAt,
  });
}

/** @internal Reads a user inside a transaction. */
export async function loadUser(
  tx: StorageTx,
  tenant: TenantId,
  id: UserId,
  forUpdate = false,
): Promise<User | undefined> {
  const r = await getRec(tx, T.users, key(tenant), enc.encode(id), forUpdate);
  return r === undefined ? undefined : userFrom(tenant, id, r);
}

async function checkPoolsExist(tx: StorageTx, tenant: TenantId, pools: readonly PoolId[]): Promise<void> {
  for (const p of pools) {
    // Locking the pool row orders this against a concurrent delete of the pool.
    const row = await tx.get(T.pools, key(tenant), enc.encode(p), { forUpdate: true });
    if (row === undefined) throw new NotFoundError('pool');
  }
}

function checkUserFields(i: Record<string, unknown>) {
  return {
    displayName:
      i.displayName === undefined ? undefined : checkText(i.displayName, 'displayName', MAX_DISPLAY_NAME),
    pools: i.pools === undefined ? undefined : checkIdList(i.pools, 'pools', MAX_POOLS_PER_USER, poolId),
    roles: i.roles === undefined ? undefined : checkRoles(i.roles),
    blocked: i.blocked === undefined ? undefined : checkBool(i.blocked, 'blocked'),
    email: i.email === undefined ? undefined : i.email === null ? null : normaliseEmail(i.email, 'email'),
  };
}

/**
 * Creates the user store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const users = createUserStore(adapterExecutor(adapter));
 * const found = await users.get(tenant, user);
 * ```
 */
export function createUserStore(run: Executor): UserStore {
  return {
    async create(tenant, id, input) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(id, 'id', userId);
      const f = checkUserFields(checkObject(input, 'input'));
      if (f.displayName === undefined) throw new ValidationError('displayName', 'a string');
      const displayName = f.displayName;
      return run(async (tx) => {
        if ((await loadTenant(tx, tid)) === undefined) throw new NotFoundError('tenant');
        const user: User = {
          tenant: tid,
          id: uid,
          displayName,
          pools: f.pools ?? [],
          roles: f.roles ?? [],
          blocked: f.blocked ?? false,
          email: f.email ?? null,
          createdAt: tx.now,
        };
        await checkPoolsExist(tx, tid, user.pools);
        const ok = await tx.put(
          T.users,
          { partition: key(tid), sort: enc.encode(uid), value: userRecord(user) },
          { ifAbsent: true },
        );
        if (!ok) throw new ConflictError('user', 'the id is taken');
        for (const p of user.pools) {
          await tx.put(T.poolMembers, { partition: key(tid, p), sort: enc.encode(uid), value: write({}) });
        }
        return user;
      });
    },

    async get(tenant, id) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(id, 'id', userId);
      return run((tx) => loadUser(tx, tid, uid), { readOnly: true });
    },

    async update(tenant, id, patch) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(id, 'id', userId);
      const f = checkUserFields(checkObject(patch, 'patch'));
      return run(async (tx) => {
        const before = await loadUser(tx, tid, uid, true);
        if (before === undefined) throw new NotFoundError('user');
        const after: User = {
          ...before,
          ...(f.displayName === undefined ? {} : { displayName: f.displayName }),
          ...(f.pools === undefined ? {} : { pools: f.pools }),
          ...(f.roles === undefined ? {} : { roles: f.roles }),
          ...(f.blocked === undefined ? {} : { blocked: f.blocked }),
          ...(f.email === undefined ? {} : { email: f.email }),
        };
        if (f.pools !== undefined) {
          const added = f.pools.filter((p) => !before.pools.includes(p));
          await checkPoolsExist(tx, tid, added);
          for (const p of before.pools) {
            if (!f.pools.includes(p)) await tx.delete(T.poolMembers, key(tid, p), enc.encode(uid));
          }
          for (const p of added) {
            await tx.put(T.poolMembers, { partition: key(tid, p), sort: enc.encode(uid), value: write({}) });
          }
        }
        await tx.put(T.users, { partition: key(tid), sort: enc.encode(uid), value: userRecord(after) });
        // Reachability changed: tokens to this user's devices, and tokens held by the class the
        // user was in, stop working (in this transaction, so no token outlives the change).
        const moved = f.pools !== undefined && !samePools(before.pools, f.pools);
        if (moved || (f.blocked !== undefined && f.blocked !== before.blocked)) {
          await bumpUserEpoch(tx, tid, uid);
          await bumpClassEpoch(tx, tid, before.pools);
        }
        return after;
      });
    },

    async delete(tenant, id) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const uid = checkId(id, 'id', userId);
      return run(async (tx) => {
        const user = await loadUser(tx, tid, uid, true);
        if (user === undefined) return false;
        for (;;) {
          const rows = await tx.list(T.devices, key(tid, uid), { limit: 100 });
          for (const row of rows) await purgeDevice(tx, row);
          if (rows.length < 100) break;
        }
        for (const p of user.pools) await tx.delete(T.poolMembers, key(tid, p), enc.encode(uid));
        await tx.deletePartition(T.deviceLists, key(tid, uid));
        await tx.delete(T.users, key(tid), enc.encode(uid));
        // The user's devices may still hold tokens of their class: those stop working.
        await bumpUserEpoch(tx, tid, uid);
        await bumpClassEpoch(tx, tid, user.pools);
        return true;
      });
    },

    async list(tenant, options) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const { after, limit } = checkPage(options);
      const afterId = after === undefined ? undefined : checkId(after, 'after', userId);
      return run(
        async (tx) => {
          const rows = await tx.list(T.users, key(tid), {
            limit,
            ...(afterId === undefined ? {} : { after: enc.encode(afterId) }),
          });
          const items = rows.map((row) =>
            userFrom(tid, idFromKey(row.sort, T.users, userId), read(row.value, T.users)),
          );
          const last = items[items.length - 1];
          return rows.length === limit && last !== undefined ? { items, next: last.id } : { items };
        },
        { readOnly: true },
      );
    },

    async listByPool(tenant, pool, options) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const pid = checkId(pool, 'pool', poolId);
      const { after, limit } = checkPage(options);
      const afterId = after === undefined ? undefined : checkId(after, 'after', userId);
      return run(
        async (tx) => {
          const rows = await tx.list(T.poolMembers, key(tid, pid), {
            limit,
            ...(afterId === undefined ? {} : { after: enc.encode(afterId) }),
          });
          const items = rows.map((row) => idFromKey(row.sort, T.poolMembers, userId));
          const last = items[items.length - 1];
          return rows.length === limit && last !== undefined ? { items, next: last } : { items };
        },
        { readOnly: true },
      );
    },
  };
}

function poolFrom(tenant: TenantId, id: PoolId, r: Rec): Pool {
  return {
    tenant,
    id,
    name: r.str('name', MAX_DISPLAY_NAME),
    mayContact: r.strs('mayContact', poolId) as PoolId[],
  };
}

/**
 * Creates the pool store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const pools = createPoolStore(adapterExecutor(adapter));
 * const page = await pools.list(tenant, { limit: 50 });
 * ```
 */
export function createPoolStore(run: Executor): PoolStore {
  return {
    async put(tenant, id, input) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const pid = checkId(id, 'id', poolId);
      const i = checkObject(input, 'input');
      const name = checkText(i.name, 'name', MAX_DISPLAY_NAME);
      const mayContact =
        i.mayContact === undefined ? [] : checkIdList(i.mayContact, 'mayContact', MAX_POOLS_PER_USER, poolId);
      return run(async (tx) => {
        if ((await loadTenant(tx, tid)) === undefined) throw new NotFoundError('tenant');
        const pool: Pool = { tenant: tid, id: pid, name, mayContact };
        await tx.put(T.pools, {
          partition: key(tid),
          sort: enc.encode(pid),
          value: write({ name, mayContact }),
        });
        // A pool rule may have changed: every delivery token of the tenant stops working.
        await bumpTenantEpoch(tx, tid);
        return pool;
      });
    },

    async get(tenant, id) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const pid = checkId(id, 'id', poolId);
      return run(
        async (tx) => {
          const r = await getRec(tx, T.pools, key(tid), enc.encode(pid));
          return r === undefined ? undefined : poolFrom(tid, pid, r);
        },
        { readOnly: true },
      );
    },

    async list(tenant, options) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const { after, limit } = checkPage(options);
      const afterId = after === undefined ? undefined : checkId(after, 'after', poolId);
      return run(
        async (tx) => {
          const rows = await tx.list(T.pools, key(tid), {
            limit,
            ...(afterId === undefined ? {} : { after: enc.encode(afterId) }),
          });
          const items = rows.map((row) =>
            poolFrom(tid, idFromKey(row.sort, T.pools, poolId), read(row.value, T.pools)),
          );
          const last = items[items.length - 1];
          return rows.length === limit && last !== undefined ? { items, next: last.id } : { items };
        },
        { readOnly: true },
      );
    },

    async delete(tenant, id) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const pid = checkId(id, 'id', poolId);
      return run(async (tx) => {
        if ((await tx.get(T.pools, key(tid), enc.encode(pid), { forUpdate: true })) === undefined)
          return false;
        if ((await tx.count(T.poolMembers, key(tid, pid))) > 0)
          throw new ConflictError('pool', 'the pool has members');
        await tx.delete(T.pools, key(tid), enc.encode(pid));
        await bumpTenantEpoch(tx, tid);
        return true;
      });
    },
  };
}
