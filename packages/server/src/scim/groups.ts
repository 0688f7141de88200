/**
 * SCIM `Groups` mapped to pools (`spec/directory.md` §2): `id` = the pool id (`grp_…` for pools
 * SCIM creates), `displayName` = the pool's name, `externalId` stored on the pool, `members` =
 * the pool's users. Members are excluded unless asked for (`attributes=members`), and then paged
 * with `startIndex`/`count` (at most 200 per page), in the store's stable order of members. PATCH adds and removes
 * members (`add` of a present member and `remove` of an absent one change nothing;
 * `members[value eq "…"]` paths; `replace` of `members` sets them), all in one transaction with
 * the pool's revision (its ETag). A token changes the membership of its own source's users only.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { type PoolId, poolId, type UserId } from '@cloister/protocol';
import { checkExternalId, MAX_DISPLAY_NAME, type Pool, type ServerStoreSet } from '../store/index.js';
import { ScimError } from './errors.js';
import { matchesScimFilter, parseScimFilter } from './filter.js';
import { normalisePatch, type PatchOp } from './patch.js';
import {
  actorOf,
  checkIfMatch,
  etagOf,
  GROUP_SCHEMA,
  SCIM_MAX_RESULTS,
  type ScimScope,
} from './resources.js';
import { checkMemberWritable, scimUserId } from './users.js';

/**
 * A group (pool) as SCIM serves it.
 *
 * @example
 * ```ts
 * const g: ScimGroup = await scimGroupOf(scope, pool);
 * ```
 */
export interface ScimGroup {
  /** The schema URNs. */
  readonly schemas: string[];
  /** The pool id. */
  readonly id: string;
  /** The pool's name. */
  readonly displayName: string;
  /** The directory's id of the group, when one was set. */
  readonly externalId?: string;
  /** One page of members, when asked for. */
  readonly members?: { readonly value: string; readonly $ref: string }[];
  /** Resource metadata. */
  readonly meta: { readonly resourceType: 'Group'; readonly version: string; readonly location: string };
}

/** Most members one POST, PUT or PATCH may name. */
const MAX_MEMBERS_PER_REQUEST = 1000;

/**
 * The resource of a pool, with the members page `[startIndex, startIndex + count)` when `members`
 * is given.
 *
 * @example
 * ```ts
 * const g = await scimGroupOf(scope, pool, { startIndex: 1, count: 200 });
 * ```
 */
export async function scimGroupOf(
  scope: ScimScope,
  pool: Pool,
  members?: { readonly startIndex: number; readonly count: number },
): Promise<ScimGroup> {
  const out: ScimGroup = {
    schemas: [GROUP_SCHEMA],
    id: pool.id,
    displayName: pool.name,
    ...(pool.externalId === undefined ? {} : { externalId: pool.externalId }),
    meta: {
      resourceType: 'Group',
      version: etagOf(pool.revision ?? 1),
      location: `${scope.baseUrl}/Groups/${encodeURIComponent(pool.id)}`,
    },
  };
  if (members === undefined) return out;
  const ids = await memberPage(scope, pool.id, members.startIndex, Math.min(members.count, SCIM_MAX_RESULTS));
  return {
    ...out,
    members: ids.map((u) => ({ value: u, $ref: `${scope.baseUrl}/Users/${encodeURIComponent(u)}` })),
  };
}

async function memberPage(
  scope: ScimScope,
  pool: PoolId,
  startIndex: number,
  count: number,
): Promise<UserId[]> {
  const out: UserId[] = [];
  let skip = startIndex - 1;
  let after: string | undefined;
  while (out.length < count) {
    const page = await scope.ctx.stores.users.listByPool(scope.token.tenant, pool, {
      limit: 1000,
      ...(after === undefined ? {} : { after }),
    });
    for (const u of page.items) {
      if (skip > 0) {
        skip -= 1;
        continue;
      }
      if (out.length < count) out.push(u);
    }
    if (page.next === undefined) break;
    after = page.next;
  }
  return out;
}

/**
 * A SCIM id as a pool id; 404 when it cannot be one.
 *
 * @example
 * ```ts
 * const pid = scimPoolId('grp_x');
 * ```
 */
export function scimPoolId(id: string): PoolId {
  try {
    return poolId(id);
  } catch {
    throw new ScimError(404, undefined, 'no such group');
  }
}

/**
 * Reads a pool of the token's tenant; 404 when absent.
 *
 * @example
 * ```ts
 * const pool = await getScimGroup(scope, 'grp_x');
 * ```
 */
export async function getScimGroup(scope: ScimScope, id: string): Promise<Pool> {
  const pool = await scope.ctx.stores.pools.get(scope.token.tenant, scimPoolId(id));
  if (pool === undefined) throw new ScimError(404, undefined, 'no such group');
  return pool;
}

/**
 * `GET /Groups?filter&startIndex&count` (members excluded), read from `stores` (inside a
 * transaction, its stores).
 *
 * @example
 * ```ts
 * const { total, items } = await listScimGroups(scope, 'displayName eq "Ward 3"', 1, 100);
 * ```
 */
export async function listScimGroups(
  scope: ScimScope,
  filter: string | undefined,
  startIndex: number,
  count: number,
  stores: ServerStoreSet = scope.ctx.stores,
): Promise<{ total: number; items: Pool[] }> {
  const f = filter === undefined ? undefined : parseScimFilter(filter, 'Group');
  const items: Pool[] = [];
  let total = 0;
  let after: string | undefined;
  for (;;) {
    const page = await stores.pools.list(scope.token.tenant, {
      limit: 1000,
      ...(after === undefined ? {} : { after }),
    });
    for (const p of page.items) {
      const subject = {
        displayname: [p.name],
        externalid: p.externalId === undefined ? [] : [p.externalId],
        id: [p.id],
      };
      if (f !== undefined && !matchesScimFilter(f, subject)) continue;
      total += 1;
      if (total >= startIndex && items.length < count) items.push(p);
    }
    if (page.next === undefined) break;
    after = page.next;
  }
  return { total, items };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nameOf(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_DISPLAY_NAME)
    throw new ScimError(400, 'invalidValue', 'displayName is not valid');
  return v;
}

function externalIdOf(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  try {
    return checkExternalId(v);
  } catch {
    throw new ScimError(400, 'invalidValue', 'externalId is not valid');
  }
}

function memberIds(v: unknown): UserId[] {
  const list = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  if (list.length > MAX_MEMBERS_PER_REQUEST)
    throw new ScimError(400, 'tooMany', 'too many members in one request');
  return list.map((m) => {
    if (!isObject(m) || typeof m.value !== 'string')
      throw new ScimError(400, 'invalidValue', 'a member is not valid');
    try {
      return scimUserId(m.value);
    } catch {
      throw new ScimError(400, 'invalidValue', 'a member is not a user of the tenant');
    }
  });
}

/** Adds or removes `user` to/from `pool` (a user of the token's source); false when nothing changed. */
async function setMember(
  s: ServerStoreSet,
  scope: ScimScope,
  pool: PoolId,
  user: UserId,
  member: boolean,
): Promise<boolean> {
  const u = await s.users.get(scope.token.tenant, user);
  if (u === undefined) throw new ScimError(400, 'invalidValue', 'a member is not a user of the tenant');
  if (u.pools.includes(pool) === member) return false;
  checkMemberWritable(scope, u);
  const pools = member ? [...u.pools, pool] : u.pools.filter((p) => p !== pool);
  await s.users.update(scope.token.tenant, user, { pools });
  return true;
}

async function allMembers(s: ServerStoreSet, scope: ScimScope, pool: PoolId): Promise<UserId[]> {
  const out: UserId[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await s.users.listByPool(scope.token.tenant, pool, {
      limit: 1000,
      ...(after === undefined ? {} : { after }),
    });
    out.push(...page.items);
    if (page.next === undefined) return out;
    after = page.next;
  }
}

async function audit(
  s: ServerStoreSet,
  scope: ScimScope,
  action: string,
  pool: PoolId,
  added: number,
  removed: number,
) {
  await s.audit.append(scope.token.tenant, {
    actor: actorOf(scope.token),
    action,
    target: pool,
    outcome: 'success',
    details: { added, removed },
  });
}

/**
 * `POST /Groups`: a new pool (`grp_<random>`) with its name, external id and members.
 *
 * @example
 * ```ts
 * const pool = await createScimGroup(scope, { schemas: [GROUP_SCHEMA], displayName: 'Ward 3' });
 * ```
 */
export async function createScimGroup(scope: ScimScope, body: unknown): Promise<Pool> {
  if (!isObject(body)) throw new ScimError(400, 'invalidValue', 'a Group resource is expected');
  const name = nameOf(body.displayName);
  const externalId = externalIdOf(body.externalId);
  const members = memberIds(body.members);
  const id = poolId(`grp_${randomBytes(16).toString('base64url')}`);
  return scope.ctx.stores.transaction(async (s) => {
    if (externalId !== null) {
      const page = await listScimGroups(scope, `externalId eq ${JSON.stringify(externalId)}`, 1, 1, s);
      if (page.total > 0) throw new ScimError(409, 'uniqueness', 'externalId is taken');
    }
    await s.pools.put(scope.token.tenant, id, { name, ...(externalId === null ? {} : { externalId }) });
    let added = 0;
    for (const m of members) if (await setMember(s, scope, id, m, true)) added += 1;
    await audit(s, scope, 'directory.group.create', id, added, 0);
    return (await s.pools.get(scope.token.tenant, id)) as Pool;
  });
}

const MEMBER_FILTER = /^members\[\s*value\s+eq\s+"((?:[^"\\]|\\.)*)"\s*\]$/i;

/**
 * `PATCH /Groups/:id` (and, with `replace` semantics, `PUT`): name, external id and members in
 * one transaction; the pool's revision is bumped.
 *
 * @example
 * ```ts
 * await patchScimGroup(scope, 'grp_x', { schemas: [PATCH_OP_SCHEMA], Operations: [{ op: 'add', path: 'members', value: [{ value: 'usr_y' }] }] }, undefined);
 * ```
 */
export async function patchScimGroup(
  scope: ScimScope,
  id: string,
  body: unknown,
  ifMatch: unknown,
): Promise<Pool> {
  return changeGroup(scope, id, normalisePatch(body), ifMatch);
}

/**
 * `PUT /Groups/:id`: replaces name, external id and (when given) the members.
 *
 * @example
 * ```ts
 * await replaceScimGroup(scope, 'grp_x', { schemas: [GROUP_SCHEMA], displayName: 'Ward 3', members: [] }, undefined);
 * ```
 */
export async function replaceScimGroup(
  scope: ScimScope,
  id: string,
  body: unknown,
  ifMatch: unknown,
): Promise<Pool> {
  if (!isObject(body)) throw new ScimError(400, 'invalidValue', 'a Group resource is expected');
  const ops: PatchOp[] = [
    { op: 'replace', path: 'displayName', value: body.displayName },
    { op: 'replace', path: 'externalId', value: body.externalId ?? null },
  ];
  if (body.members !== undefined) ops.push({ op: 'replace', path: 'members', value: body.members });
  return changeGroup(scope, id, ops, ifMatch);
}

async function changeGroup(
  scope: ScimScope,
  id: string,
  ops: readonly PatchOp[],
  ifMatch: unknown,
): Promise<Pool> {
  const pid = scimPoolId(id);
  const tenant = scope.token.tenant;
  return scope.ctx.stores.transaction(async (s) => {
    const before = await s.pools.get(tenant, pid);
    if (before === undefined) throw new ScimError(404, undefined, 'no such group');
    checkIfMatch(ifMatch, before.revision ?? 1);
    let name = before.name;
    let externalId: string | null | undefined;
    let added = 0;
    let removed = 0;
    for (const op of ops) {
      const path = (op.path ?? '').trim();
      const lower = path.toLowerCase();
      if (lower === 'displayname') {
        if (op.op === 'remove') throw new ScimError(400, 'mutability', 'displayName is required');
        name = nameOf(op.value);
      } else if (lower === 'externalid') {
        externalId = op.op === 'remove' ? null : externalIdOf(op.value);
      } else if (lower === 'members') {
        if (op.op === 'add') {
          for (const m of memberIds(op.value)) if (await setMember(s, scope, pid, m, true)) added += 1;
        } else if (op.op === 'remove' && op.value !== undefined) {
          for (const m of memberIds(op.value)) if (await setMember(s, scope, pid, m, false)) removed += 1;
        } else {
          const wanted = op.op === 'replace' ? memberIds(op.value) : [];
          const current = await allMembers(s, scope, pid);
          for (const m of current)
            if (!wanted.includes(m) && (await setMember(s, scope, pid, m, false))) removed += 1;
          for (const m of wanted) if (await setMember(s, scope, pid, m, true)) added += 1;
        }
      } else {
        const m = MEMBER_FILTER.exec(path);
        if (m === null || op.op !== 'remove')
          throw new ScimError(400, 'invalidPath', 'the path is not a supported Group attribute');
        let value: string;
        try {
          value = JSON.parse(`"${m[1]}"`) as string;
        } catch {
          throw new ScimError(400, 'invalidPath', 'the member filter is not valid');
        }
        let uid: UserId;
        try {
          uid = scimUserId(value);
        } catch {
          continue;
        }
        const u = await s.users.get(tenant, uid);
        if (u !== undefined && (await setMember(s, scope, pid, uid, false))) removed += 1;
      }
    }
    if (externalId !== undefined && externalId !== null && externalId !== before.externalId) {
      const page = await listScimGroups(scope, `externalId eq ${JSON.stringify(externalId)}`, 1, 1, s);
      if (page.items.some((p) => p.id !== pid)) throw new ScimError(409, 'uniqueness', 'externalId is taken');
    }
    const changedAttrs =
      name !== before.name || (externalId !== undefined && externalId !== (before.externalId ?? null));
    let after: Pool;
    if (changedAttrs) {
      after = await s.pools.put(tenant, pid, {
        name,
        mayContact: before.mayContact,
        ...(externalId === undefined ? {} : { externalId }),
      });
    } else {
      after = await s.pools.touch(tenant, pid);
    }
    await audit(s, scope, 'directory.group.update', pid, added, removed);
    return after;
  });
}

/**
 * `DELETE /Groups/:id`: removes the members (all of the token's source; 409 `mutability`
 * otherwise) and deletes the pool.
 *
 * @example
 * ```ts
 * await deleteScimGroup(scope, 'grp_x', undefined);
 * ```
 */
export async function deleteScimGroup(scope: ScimScope, id: string, ifMatch: unknown): Promise<void> {
  const pid = scimPoolId(id);
  await scope.ctx.stores.transaction(async (s) => {
    const before = await s.pools.get(scope.token.tenant, pid);
    if (before === undefined) throw new ScimError(404, undefined, 'no such group');
    checkIfMatch(ifMatch, before.revision ?? 1);
    let removed = 0;
    for (const m of await allMembers(s, scope, pid))
      if (await setMember(s, scope, pid, m, false)) removed += 1;
    await s.pools.delete(scope.token.tenant, pid);
    await audit(s, scope, 'directory.group.delete', pid, 0, removed);
  });
}
