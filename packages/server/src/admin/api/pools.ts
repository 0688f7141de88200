/**
 * Pools (closed areas, R22) in the admin API (`spec/pools.md`): list and read them with their
 * member count, and list a pool's members (`users.read`); create, rename and delete a pool, add
 * users to and remove users from a pool, and set one user's pools at once (`pools.write`). Each
 * write and its audit record share one transaction. Which pools may reach which stays the signed
 * `pool-rules` object (`PUT /admin/v1/organisation/pool-rules`); a new pool takes its rule from
 * the newest such object (none: it reaches only its own members).
 *
 * A change of membership takes effect at once: the user store bumps, in the same transaction, the
 * delivery-token epoch of the user and of the class (set of pools) the user was in, so every
 * delivery token to or from the user that the change makes stale is refused from the commit on,
 * and the next key or directory request is decided on the new pools. The recipient caches of
 * every instance are emptied by the commit (`recipients.ts`). Connected devices of a moved user
 * are woken (`recheck`) so that their sockets re-read the user.
 *
 * @module
 */
import {
  decodeOrganisationObject,
  type PoolId,
  poolId,
  type TenantId,
  type UserId,
  userId,
} from '@cloister/protocol';
import type { StorageTx } from '@cloister/storage';
import { z } from 'zod';
import type { ServerContext } from '../../context.js';
import { key, T } from '../../store/_util.js';
import {
  ConflictError,
  MAX_POOLS_PER_USER,
  NotFoundError,
  type Pool,
  type ServerStores,
  type User,
} from '../../store/index.js';
import { defineAdminOperation } from './operation.js';
import { ADMIN_SCHEMAS, displayName, identifier, pageQuery, userParams, userView } from './schemas.js';
import { adminTransaction } from './transaction.js';
import { userViewOf } from './views.js';

/**
 * Most users one add or remove call names.
 *
 * @example
 * ```ts
 * console.log(MAX_POOL_MEMBERS_PER_CALL); // 100
 * ```
 */
export const MAX_POOL_MEMBERS_PER_CALL = 100;

/**
 * Most members a pool may have for `DELETE /admin/v1/pools/:pool?removeMembers=true` to remove
 * them in its one transaction; a larger pool is emptied with the remove call first.
 *
 * @example
 * ```ts
 * console.log(MAX_POOL_DELETE_MEMBERS); // 10000
 * ```
 */
export const MAX_POOL_DELETE_MEMBERS = 10_000;

/**
 * A pool as the admin API shows it.
 *
 * @example
 * ```ts
 * const view = poolView.parse(await (await fetch(`${url}/admin/v1/pools/ward-3`, { headers })).json());
 * console.log(view.name, view.mayContact, view.members);
 * ```
 */
export const poolView = z
  .object({
    id: identifier,
    name: z.string(),
    mayContact: z.array(identifier).describe('Other pools this pool may reach (from the signed pool rules).'),
    members: z.number().int().optional().describe('How many users the pool has (one pool only).'),
  })
  .strict();
ADMIN_SCHEMAS.add(poolView, { id: 'Pool', description: 'A pool (closed area) of the tenant.' });

const poolParams = z.object({ pool: identifier }).strict();
const usersBody = z.object({ users: z.array(identifier).min(1).max(MAX_POOL_MEMBERS_PER_CALL) }).strict();
const membersAnswer = z
  .object({
    pool: identifier,
    changed: z
      .array(identifier)
      .describe('The users whose pools changed (the others were as asked already).'),
  })
  .strict();

function poolViewOf(p: Pool, members?: number) {
  return {
    id: p.id,
    name: p.name,
    mayContact: [...p.mayContact],
    ...(members === undefined ? {} : { members }),
  };
}

async function requirePool(s: Pick<ServerStores, 'pools'>, tenant: TenantId, pool: PoolId): Promise<Pool> {
  const p = await s.pools.get(tenant, pool);
  if (p === undefined) throw new NotFoundError('pool');
  return p;
}

async function requireUser(s: Pick<ServerStores, 'users'>, tenant: TenantId, user: UserId): Promise<User> {
  const u = await s.users.get(tenant, user);
  if (u === undefined) throw new NotFoundError('user');
  return u;
}

const memberCount = (tx: StorageTx, tenant: TenantId, pool: PoolId) =>
  tx.count(T.poolMembers, key(tenant, pool));

/** The rule the newest signed `pool-rules` object gives `pool` (none: an empty list). */
async function ruleOf(s: Pick<ServerStores, 'organisation'>, tenant: TenantId, pool: PoolId) {
  const stored = await s.organisation.get(tenant, 'pool-rules', 'pool-rules');
  if (stored === undefined) return [];
  const o = decodeOrganisationObject(stored.bytes);
  if (o.kind !== 'pool-rules') return [];
  return [...(o.payload.rules.find((r) => r.pool === pool)?.mayContact ?? [])];
}

/** Wakes the devices of `users` so that their sockets re-read the user (best effort). */
async function wake(ctx: ServerContext, tenant: TenantId, users: readonly UserId[]): Promise<void> {
  for (const user of users) {
    for (const d of await ctx.stores.devices.list(tenant, user).catch(() => [])) {
      await ctx.bus.notify(d.mailbox, 'recheck').catch(() => undefined);
    }
  }
}

/** Sets the pools of each user of `users` by `change`; the users whose pools changed. */
async function changeMembers(
  stores: ServerStores,
  tenant: TenantId,
  users: readonly UserId[],
  change: (pools: readonly PoolId[]) => readonly PoolId[],
): Promise<UserId[]> {
  const changed: UserId[] = [];
  for (const user of [...new Set(users)]) {
    const before = await requireUser(stores, tenant, user);
    const after = [...new Set(change(before.pools))].sort();
    if (after.length === before.pools.length && after.every((p, i) => p === before.pools[i])) continue;
    if (after.length > MAX_POOLS_PER_USER)
      throw new ConflictError('user.pools', 'too many pools for one user');
    await stores.users.update(tenant, user, { pools: after });
    changed.push(user);
  }
  return changed;
}

/**
 * `GET /admin/v1/pools` (`users.read`): the tenant's pools, paged.
 *
 * @example
 * ```ts
 * const { items, next } = await (await fetch(`${url}/admin/v1/pools?limit=100`, { headers })).json();
 * ```
 */
export const listPoolsOperation = defineAdminOperation({
  id: 'listPools',
  method: 'GET',
  path: '/admin/v1/pools',
  tag: 'pools',
  summary: 'List pools',
  access: { permission: 'users.read' },
  query: pageQuery,
  status: 200,
  response: z.object({ items: z.array(poolView), next: z.string().optional() }).strict(),
  handle: async (ctx, { me, query }) => {
    const page = await ctx.stores.pools.list(me.tenant, {
      ...(query.after === undefined ? {} : { after: identifier.parse(query.after) }),
      ...(query.limit === undefined ? {} : { limit: query.limit }),
    });
    return {
      items: page.items.map((p) => poolViewOf(p)),
      ...(page.next === undefined ? {} : { next: page.next }),
    };
  },
});

/**
 * `GET /admin/v1/pools/:pool` (`users.read`): one pool with its member count.
 *
 * @example
 * ```ts
 * const { members } = await (await fetch(`${url}/admin/v1/pools/ward-3`, { headers })).json();
 * ```
 */
export const getPoolOperation = defineAdminOperation({
  id: 'getPool',
  method: 'GET',
  path: '/admin/v1/pools/:pool',
  tag: 'pools',
  summary: 'Read a pool and its member count',
  access: { permission: 'users.read' },
  params: poolParams,
  status: 200,
  response: poolView,
  handle: async (ctx, { me, params }) => {
    const id = poolId(params.pool);
    return adminTransaction(ctx, async ({ tx, stores }) =>
      poolViewOf(await requirePool(stores, me.tenant, id), await memberCount(tx, me.tenant, id)),
    );
  },
});

/**
 * `POST /admin/v1/pools` (`pools.write`): creates a pool (its `mayContact` from the newest signed
 * pool rules); 409 `conflict: pool` when the id is taken. Audited `pool.create`.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/pools`, { method: 'POST', headers, body: JSON.stringify({ id: 'ward-3', name: 'Ward 3' }) });
 * ```
 */
export const createPoolOperation = defineAdminOperation({
  id: 'createPool',
  method: 'POST',
  path: '/admin/v1/pools',
  tag: 'pools',
  summary: 'Create a pool',
  access: { permission: 'pools.write' },
  body: z.object({ id: identifier, name: displayName }).strict(),
  status: 201,
  response: poolView,
  handle: async (ctx, { me, body }) => {
    const id = poolId(body.id);
    return adminTransaction(ctx, async ({ stores }) => {
      if ((await stores.pools.get(me.tenant, id)) !== undefined)
        throw new ConflictError('pool', 'the id is taken');
      const pool = await stores.pools.put(me.tenant, id, {
        name: body.name,
        mayContact: await ruleOf(stores, me.tenant, id),
      });
      await stores.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'pool.create',
        target: id,
        outcome: 'success',
      });
      return poolViewOf(pool, 0);
    });
  },
});

/**
 * `PATCH /admin/v1/pools/:pool` (`pools.write`): renames a pool (its id, members and rule stay).
 * Audited `pool.rename`.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/pools/ward-3`, { method: 'PATCH', headers, body: JSON.stringify({ name: 'Ward 3 (north)' }) });
 * ```
 */
export const renamePoolOperation = defineAdminOperation({
  id: 'renamePool',
  method: 'PATCH',
  path: '/admin/v1/pools/:pool',
  tag: 'pools',
  summary: 'Rename a pool',
  access: { permission: 'pools.write' },
  params: poolParams,
  body: z.object({ name: displayName }).strict(),
  status: 200,
  response: poolView,
  handle: async (ctx, { me, params, body }) => {
    const id = poolId(params.pool);
    return adminTransaction(ctx, async ({ tx, stores }) => {
      const before = await requirePool(stores, me.tenant, id);
      const after = await stores.pools.put(me.tenant, id, { name: body.name, mayContact: before.mayContact });
      await stores.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'pool.rename',
        target: id,
        outcome: 'success',
      });
      return poolViewOf(after, await memberCount(tx, me.tenant, id));
    });
  },
});

/**
 * `DELETE /admin/v1/pools/:pool` (`pools.write`): deletes a pool. While it has members the answer
 * is 409 `conflict: pool` and nothing changes, unless `removeMembers=true`: then every member
 * leaves the pool (at most {@link MAX_POOL_DELETE_MEMBERS}, else 409) and the pool goes, in one
 * transaction. Audited `pool.delete` with the number of members removed.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/pools/ward-3?removeMembers=true`, { method: 'DELETE', headers });
 * ```
 */
export const deletePoolOperation = defineAdminOperation({
  id: 'deletePool',
  method: 'DELETE',
  path: '/admin/v1/pools/:pool',
  tag: 'pools',
  summary: 'Delete a pool (its members first when asked)',
  access: { permission: 'pools.write' },
  params: poolParams,
  query: z
    .object({
      removeMembers: z
        .enum(['true', 'false'])
        .optional()
        .describe('`true`: the members leave the pool first; otherwise 409 while it has members.'),
    })
    .strict(),
  status: 204,
  handle: async (ctx, { me, params, query }) => {
    const id = poolId(params.pool);
    const removed = await adminTransaction(ctx, async ({ tx, stores }) => {
      await requirePool(stores, me.tenant, id);
      const count = await memberCount(tx, me.tenant, id);
      let members: UserId[] = [];
      if (count > 0) {
        if (query.removeMembers !== 'true') throw new ConflictError('pool', 'the pool has members');
        if (count > MAX_POOL_DELETE_MEMBERS)
          throw new ConflictError('pool', 'too many members to remove at once');
        let after: string | undefined;
        do {
          const page = await stores.users.listByPool(me.tenant, id, {
            limit: 1000,
            ...(after === undefined ? {} : { after }),
          });
          members.push(...page.items);
          after = page.next;
        } while (after !== undefined);
        members = await changeMembers(stores, me.tenant, members, (pools) => pools.filter((p) => p !== id));
      }
      await stores.pools.delete(me.tenant, id);
      await stores.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'pool.delete',
        target: id,
        outcome: 'success',
        details: { removedMembers: members.length },
      });
      return members;
    });
    await wake(ctx, me.tenant, removed);
    return null;
  },
});

/**
 * `GET /admin/v1/pools/:pool/members` (`users.read`): the pool's users, paged.
 *
 * @example
 * ```ts
 * const { items, next } = await (await fetch(`${url}/admin/v1/pools/ward-3/members?limit=100`, { headers })).json();
 * ```
 */
export const listPoolMembersOperation = defineAdminOperation({
  id: 'listPoolMembers',
  method: 'GET',
  path: '/admin/v1/pools/:pool/members',
  tag: 'pools',
  summary: "List a pool's members",
  access: { permission: 'users.read' },
  params: poolParams,
  query: pageQuery,
  status: 200,
  response: z.object({ items: z.array(userView), next: z.string().optional() }).strict(),
  handle: async (ctx, { me, params, query }) => {
    const id = poolId(params.pool);
    return adminTransaction(ctx, async ({ stores }) => {
      await requirePool(stores, me.tenant, id);
      const page = await stores.users.listByPool(me.tenant, id, {
        ...(query.after === undefined ? {} : { after: identifier.parse(query.after) }),
        ...(query.limit === undefined ? {} : { limit: query.limit }),
      });
      const items = [];
      for (const u of page.items) {
        const user = await stores.users.get(me.tenant, u);
        if (user !== undefined) items.push(userViewOf(user));
      }
      return { items, ...(page.next === undefined ? {} : { next: page.next }) };
    });
  },
});

function membersOperation(add: boolean) {
  return defineAdminOperation({
    id: add ? 'addPoolMembers' : 'removePoolMembers',
    method: 'POST',
    path: add ? '/admin/v1/pools/:pool/members' : '/admin/v1/pools/:pool/members/remove',
    tag: 'pools',
    summary: add ? 'Add users to a pool' : 'Remove users from a pool',
    description:
      `1..${MAX_POOL_MEMBERS_PER_CALL} users, all or none: an unknown user is 404 and nothing changes` +
      (add ? `; a user already in ${MAX_POOLS_PER_USER} pools is 409 \`conflict: user.pools\`.` : '.') +
      ' Tokens and bundles follow at once (delivery-token epochs bumped in the same transaction).',
    access: { permission: 'pools.write' },
    params: poolParams,
    body: usersBody,
    status: 200,
    response: membersAnswer,
    handle: async (ctx, { me, params, body }) => {
      const id = poolId(params.pool);
      const changed = await adminTransaction(ctx, async ({ stores }) => {
        await requirePool(stores, me.tenant, id);
        const users = body.users.map((u) => userId(u));
        const done = await changeMembers(stores, me.tenant, users, (pools) =>
          add ? [...pools, id] : pools.filter((p) => p !== id),
        );
        await stores.audit.append(me.tenant, {
          actor: me.admin.id,
          action: add ? 'pool.members.add' : 'pool.members.remove',
          target: id,
          outcome: 'success',
          details: { users: done },
        });
        return done;
      });
      await wake(ctx, me.tenant, changed);
      return { pool: id, changed };
    },
  });
}

/**
 * `POST /admin/v1/pools/:pool/members` (`pools.write`): adds users to a pool. Audited
 * `pool.members.add` with the users whose pools changed.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/pools/ward-3/members`, { method: 'POST', headers, body: JSON.stringify({ users: ['alice', 'bob'] }) });
 * ```
 */
export const addPoolMembersOperation = membersOperation(true);

/**
 * `POST /admin/v1/pools/:pool/members/remove` (`pools.write`): removes users from a pool.
 * Audited `pool.members.remove` with the users whose pools changed.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/pools/ward-3/members/remove`, { method: 'POST', headers, body: JSON.stringify({ users: ['bob'] }) });
 * ```
 */
export const removePoolMembersOperation = membersOperation(false);

/**
 * `PUT /admin/v1/users/:user/pools` (`pools.write`): sets a user's pools at once — a move from one
 * pool to another without a moment in both or in none. Every pool must exist (404 `pool`); at most
 * {@link MAX_POOLS_PER_USER}. Audited `pool.members.set` with the pools before and after.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/users/bob/pools`, { method: 'PUT', headers, body: JSON.stringify({ pools: ['pharmacy'] }) });
 * ```
 */
export const setUserPoolsOperation = defineAdminOperation({
  id: 'setUserPools',
  method: 'PUT',
  path: '/admin/v1/users/:user/pools',
  tag: 'pools',
  summary: "Set a user's pools (a move)",
  access: { permission: 'pools.write' },
  params: userParams,
  body: z.object({ pools: z.array(identifier).max(MAX_POOLS_PER_USER) }).strict(),
  status: 200,
  response: userView,
  handle: async (ctx, { me, params, body }) => {
    const user = userId(params.user);
    const pools = [...new Set(body.pools.map((p) => poolId(p)))].sort();
    const after = await adminTransaction(ctx, async ({ stores }) => {
      const before = await requireUser(stores, me.tenant, user);
      for (const p of pools) await requirePool(stores, me.tenant, p);
      const updated = await stores.users.update(me.tenant, user, { pools });
      await stores.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'pool.members.set',
        target: user,
        outcome: 'success',
        details: { before: [...before.pools], after: [...updated.pools] },
      });
      return updated;
    });
    await wake(ctx, me.tenant, [user]);
    return userViewOf(after);
  },
});

/**
 * The pool operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, POOL_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const POOL_OPERATIONS = [
  listPoolsOperation,
  getPoolOperation,
  createPoolOperation,
  renamePoolOperation,
  deletePoolOperation,
  listPoolMembersOperation,
  addPoolMembersOperation,
  removePoolMembersOperation,
  setUserPoolsOperation,
] as const;
