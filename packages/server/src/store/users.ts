/**
 * Users of a tenant and the pools (closed areas, R22) they belong to. Pool membership is kept
 * twice in one transaction: in the user's record and as index rows per pool, so that both
 * "pools of a user" and "users of a pool" are single reads.
 *
 * A user managed by a directory (SCIM or the LDAP/AD bridge, `spec/directory.md` §1) carries a
 * {@link DirectoryRecord}; `s_directory_ids[tenant ‖ source][externalId]` names the user of each
 * directory id (unique per tenant and source). `s_user_emails[tenant ‖ H(lower-cased e-mail)][user]`
 * finds users by e-mail (SCIM `userName eq`); the address is hashed so that no e-mail address
 * stands in a row's key. Every change of a user bumps its `revision` (the SCIM ETag).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '@cloister/crypto';
import { type PoolId, poolId, type TenantId, tenantId, type UserId, userId } from '@cloister/protocol';
import type { Executor, StorageTx } from '@cloister/storage';
import {
  checkBool,
  checkId,
  checkIdList,
  checkInteger,
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
 * Which directory manages a user: `scim` or `ldap:<name>` (`<name>` of 1..32 characters from
 * `a-z 0-9 -`).
 *
 * @example
 * ```ts
 * const source: DirectorySource = 'ldap:corp';
 * ```
 */
export type DirectorySource = 'scim' | `ldap:${string}`;

/**
 * The directory's view of a user: `active`, `disabled` (the directory disabled them) or `left`
 * (deleted in the directory or moved out of scope).
 *
 * @example
 * ```ts
 * const state: DirectoryState = 'disabled';
 * ```
 */
export type DirectoryState = 'active' | 'disabled' | 'left';

const DIRECTORY_SOURCE = /^(scim|ldap:[a-z0-9-]{1,32})$/;
/**
 * Longest directory id (`externalId`), in characters.
 *
 * @example
 * ```ts
 * console.log(MAX_EXTERNAL_ID); // 256
 * ```
 */
export const MAX_EXTERNAL_ID = 256;

/**
 * Checks a directory source name (`scim` or `ldap:<name>`); `ValidationError(field)` otherwise.
 *
 * @example
 * ```ts
 * checkDirectorySource('ldap:corp'); // 'ldap:corp'
 * ```
 */
export function checkDirectorySource(value: unknown, field = 'source'): DirectorySource {
  if (typeof value !== 'string' || !DIRECTORY_SOURCE.test(value)) {
    throw new ValidationError(field, "'scim' or 'ldap:<name>' with a name of 1..32 of a-z 0-9 -");
  }
  return value as DirectorySource;
}

function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * Checks a directory id: 1..{@link MAX_EXTERNAL_ID} characters, no control characters.
 *
 * @example
 * ```ts
 * checkExternalId('00u1abcd'); // '00u1abcd'
 * ```
 */
export function checkExternalId(value: unknown, field = 'externalId'): string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > MAX_EXTERNAL_ID ||
    hasControl(value)
  ) {
    throw new ValidationError(field, `1..${MAX_EXTERNAL_ID} characters without control characters`);
  }
  return value;
}

/**
 * The directory record of a directory-managed user (`spec/directory.md` §1).
 *
 * @example
 * ```ts
 * const u = await stores.users.get(tenant, user);
 * if (u?.directory?.state === 'left') console.log('left the directory');
 * ```
 */
export interface DirectoryRecord {
  /** Which directory manages the user. */
  readonly source: DirectorySource;
  /** The directory's immutable id of the user (unique per tenant and source), or `null` when it sent none. */
  readonly externalId: string | null;
  /** The directory's view of the user. */
  readonly state: DirectoryState;
  /** When `state` last changed, ms. */
  readonly since: number;
  /** Whether the directory re-enabled the user after a disable or leave (not applied: a person decides). */
  readonly reenableRequested: boolean;
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
  /** The directory record when a directory manages the user, else `null`. */
  readonly directory: DirectoryRecord | null;
  /** Bumped by every change of the user (the SCIM ETag `W/"<revision>"`); 1 when created. */
  readonly revision: number;
  /** When the user last changed, in Unix milliseconds (`createdAt` until then). */
  readonly updatedAt: number;
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
  /** The directory record (`null` or left out: none; a patch's `null` detaches the user). */
  readonly directory?: DirectoryRecord | null;
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
  /**
   * The user whose directory record has `source` and `externalId`, or `undefined`.
   *
   * @example
   * ```ts
   * const linked = await stores.users.byExternalId(tenant, 'scim', '00u1abcd');
   * ```
   */
  byExternalId(tenant: TenantId, source: DirectorySource, externalId: string): Promise<User | undefined>;
  /**
   * The users whose e-mail address is `email` (compared case-insensitively), at most 100.
   *
   * @example
   * ```ts
   * const found = await stores.users.byEmail(tenant, 'alice@acme.example');
   * ```
   */
  byEmail(tenant: TenantId, email: string): Promise<User[]>;
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
  /** The directory's id of the group the pool mirrors (SCIM `externalId`), when a directory set one. */
  readonly externalId?: string;
  /** Bumped by every `put` and {@link PoolStore.touch} of the pool (the SCIM ETag); 1 when created. */
  readonly revision?: number;
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
  /** The directory's id of the group (SCIM `externalId`); left out: the pool keeps the one it has. */
  readonly externalId?: string | null;
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
  /**
   * Bumps the pool's revision (its members changed); `NotFoundError('pool')`.
   *
   * @example
   * ```ts
   * import { poolId } from '@cloister/protocol';
   *
   * const pool = await stores.pools.touch(tenant, poolId('ward-3'));
   * ```
   */
  touch(tenant: TenantId, id: PoolId): Promise<Pool>;
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
    directory: r.has('directory') ? directoryFrom(r.obj('directory')) : null,
    revision: r.has('revision') ? r.int('revision', 1) : 1,
    updatedAt: r.has('updatedAt') ? r.int('updatedAt') : r.int('createdAt'),
  };
}

const STATES: readonly DirectoryState[] = ['active', 'disabled', 'left'];

function directoryFrom(r: Rec): DirectoryRecord {
  return {
    source: r.id('source', (v) => checkDirectorySource(v)),
    state: r.id('state', (v) => {
      if (!STATES.includes(v as DirectoryState)) throw new Error();
      return v as DirectoryState;
    }),
    externalId: r.has('externalId') ? r.str('externalId', MAX_EXTERNAL_ID) : null,
    since: r.int('since'),
    reenableRequested: r.bool('reenableRequested'),
  };
}

function checkDirectory(value: unknown): DirectoryRecord {
  const d = checkObject(value, 'directory');
  const state = d.state as DirectoryState;
  if (!STATES.includes(state)) throw new ValidationError('directory.state', "'active', 'disabled' or 'left'");
  return {
    source: checkDirectorySource(d.source, 'directory.source'),
    externalId: d.externalId === null ? null : checkExternalId(d.externalId, 'directory.externalId'),
    state,
    since: checkInteger(d.since, 'directory.since', 0, Number.MAX_SAFE_INTEGER),
    reenableRequested: checkBool(d.reenableRequested, 'directory.reenableRequested'),
  };
}

const directoryPartition = (tenant: TenantId, source: string): Uint8Array => key(tenant, source);

/** The hashed e-mail key of `s_user_emails` (lower-cased address). */
function emailPartition(tenant: TenantId, email: string): Uint8Array {
  const h = createHash('sha256').update(EMAIL_INDEX_LABEL).update(email.toLowerCase()).digest();
  return key(tenant, new Uint8Array(h));
}

/**
 * The label of the hash of an e-mail address in the e-mail index of users.
 *
 * @example
 * ```ts
 * console.log(EMAIL_INDEX_LABEL); // 'cloister/server/v1/user-email-index'
 * ```
 */
export const EMAIL_INDEX_LABEL = 'cloister/server/v1/user-email-index';

/** Writes the index rows of `after` that `before` lacked and removes the stale ones. */
async function reindex(
  tx: StorageTx,
  tenant: TenantId,
  id: UserId,
  before: User | undefined,
  after: User | undefined,
) {
  const uid = enc.encode(id);
  const b = before?.directory ?? null;
  const a = after?.directory ?? null;
  if (b?.externalId && (a === null || a.source !== b.source || a.externalId !== b.externalId)) {
    await tx.delete(T.directoryIds, directoryPartition(tenant, b.source), enc.encode(b.externalId));
  }
  if (a?.externalId && (b === null || a.source !== b.source || a.externalId !== b.externalId)) {
    const ok = await tx.put(
      T.directoryIds,
      {
        partition: directoryPartition(tenant, a.source),
        sort: enc.encode(a.externalId),
        value: write({ user: id }),
      },
      { ifAbsent: true },
    );
    if (!ok) throw new ConflictError('directory.externalId', 'the directory id is taken');
  }
  const be = before?.email ?? null;
  const ae = after?.email ?? null;
  if (be !== null && (ae === null || be.toLowerCase() !== ae.toLowerCase())) {
    await tx.delete(T.userEmails, emailPartition(tenant, be), uid);
  }
  if (ae !== null && (be === null || be.toLowerCase() !== ae.toLowerCase())) {
    await tx.put(T.userEmails, { partition: emailPartition(tenant, ae), sort: uid, value: write({}) });
  }
}

function userRecord(u: User): Uint8Array {
  return write({
    displayName: u.displayName,
    pools: [...u.pools],
    roles: [...u.roles],
    blocked: u.blocked,
    ...(u.email === null ? {} : { email: u.email }),
    createdAt: u.createdAt,
    ...(u.directory === null
      ? {}
      : {
          directory: {
            source: u.directory.source,
            ...(u.directory.externalId === null ? {} : { externalId: u.directory.externalId }),
            state: u.directory.state,
            since: u.directory.since,
            reenableRequested: u.directory.reenableRequested,
          },
        }),
    revision: u.revision,
    updatedAt: u.updatedAt,
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
    directory:
      i.directory === undefined ? undefined : i.directory === null ? null : checkDirectory(i.directory),
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
          directory: f.directory ?? null,
          revision: 1,
          updatedAt: tx.now,
        };
        await checkPoolsExist(tx, tid, user.pools);
        const ok = await tx.put(
          T.users,
          { partition: key(tid), sort: enc.encode(uid), value: userRecord(user) },
          { ifAbsent: true },
        );
        if (!ok) throw new ConflictError('user', 'the id is taken');
        await reindex(tx, tid, uid, undefined, user);
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
          ...(f.directory === undefined ? {} : { directory: f.directory }),
          revision: before.revision + 1,
          updatedAt: tx.now,
        };
        await reindex(tx, tid, uid, before, after);
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
        await reindex(tx, tid, uid, user, undefined);
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

    async byExternalId(tenant, source, externalId) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const src = checkDirectorySource(source);
      const ext = checkExternalId(externalId);
      return run(
        async (tx) => {
          const r = await getRec(tx, T.directoryIds, directoryPartition(tid, src), enc.encode(ext));
          if (r === undefined) return undefined;
          const user = await loadUser(tx, tid, r.id('user', userId));
          return user?.directory?.source === src && user.directory.externalId === ext ? user : undefined;
        },
        { readOnly: true },
      );
    },

    async byEmail(tenant, email) {
      const tid = checkId(tenant, 'tenant', tenantId);
      if (typeof email !== 'string' || email.length > MAX_EMAIL)
        throw new ValidationError('email', 'a string');
      return run(
        async (tx) => {
          const rows = await tx.list(T.userEmails, emailPartition(tid, email), { limit: 100 });
          const out: User[] = [];
          for (const row of rows) {
            const u = await loadUser(tx, tid, idFromKey(row.sort, T.userEmails, userId));
            if (u?.email !== null && u?.email !== undefined && u.email.toLowerCase() === email.toLowerCase())
              out.push(u);
          }
          return out;
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
    ...(r.has('externalId') ? { externalId: r.str('externalId', MAX_EXTERNAL_ID) } : {}),
    revision: r.has('revision') ? r.int('revision', 1) : 1,
  };
}

function poolRecord(p: Pool): Uint8Array {
  return write({
    name: p.name,
    mayContact: [...p.mayContact],
    ...(p.externalId === undefined ? {} : { externalId: p.externalId }),
    revision: p.revision ?? 1,
  });
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
      const externalId =
        i.externalId === undefined || i.externalId === null ? i.externalId : checkExternalId(i.externalId);
      return run(async (tx) => {
        if ((await loadTenant(tx, tid)) === undefined) throw new NotFoundError('tenant');
        const old = await getRec(tx, T.pools, key(tid), enc.encode(pid), true);
        const before = old === undefined ? undefined : poolFrom(tid, pid, old);
        const keptId = externalId === undefined ? before?.externalId : (externalId ?? undefined);
        const pool: Pool = {
          tenant: tid,
          id: pid,
          name,
          mayContact,
          ...(keptId === undefined ? {} : { externalId: keptId }),
          revision: (before?.revision ?? 0) + 1,
        };
        await tx.put(T.pools, { partition: key(tid), sort: enc.encode(pid), value: poolRecord(pool) });
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

    async touch(tenant, id) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const pid = checkId(id, 'id', poolId);
      return run(async (tx) => {
        const r = await getRec(tx, T.pools, key(tid), enc.encode(pid), true);
        if (r === undefined) throw new NotFoundError('pool');
        const before = poolFrom(tid, pid, r);
        const pool: Pool = { ...before, revision: (before.revision ?? 1) + 1 };
        await tx.put(T.pools, { partition: key(tid), sort: enc.encode(pid), value: poolRecord(pool) });
        return pool;
      });
    },
  };
}
