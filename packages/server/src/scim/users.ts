/**
 * SCIM `Users` (`spec/directory.md` §1–§2) over the same user store and block path as the admin
 * API. `id` is the Cloister user id; `userName` is the e-mail address when the tenant has domains
 * (the id is then generated), else the user id itself (immutable); `externalId` is the
 * directory's immutable id, unique per tenant and source. `active` is the directory's view
 * (`directoryState === 'active'`); `active: false` and DELETE block the user and every device at
 * once through `setUserBlocked` (audited `user.block`, actor `directory:<source>`); `active: true`
 * after a disable or leave records `directory.reenable-requested` and unblocks nothing. A token
 * writes only users of its own source (409 `mutability` otherwise); every user is readable.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { type TenantId, type UserId, userId } from '@cloister/protocol';
import { setUserBlocked, wakeUserDevices } from '../admin/api/blocking.js';
import {
  checkExternalId,
  type DirectoryRecord,
  MAX_DISPLAY_NAME,
  type ServerStoreSet,
  type User,
} from '../store/index.js';
import { normaliseEmail } from '../store/users.js';
import { ScimError } from './errors.js';
import { type FilterSubject, indexHint, matchesScimFilter, parseScimFilter } from './filter.js';
import { applyPatch, normalisePatch } from './patch.js';
import {
  actorOf,
  CLOISTER_USER_SCHEMA,
  checkIfMatch,
  etagOf,
  type ScimScope,
  USER_SCHEMA,
} from './resources.js';

/**
 * A user as SCIM serves it.
 *
 * @example
 * ```ts
 * const resource: ScimUser = await scimUserOf(scope, user);
 * console.log(resource.userName, resource.active);
 * ```
 */
export interface ScimUser {
  /** The schema URNs. */
  readonly schemas: string[];
  /** The Cloister user id. */
  readonly id: string;
  /** The directory's id, when it sent one. */
  readonly externalId?: string;
  /** E-mail address (tenants with domains) or the user id. */
  readonly userName: string;
  /** The name (`formatted` only). */
  readonly name: { readonly formatted: string };
  /** The display name. */
  readonly displayName: string;
  /** The primary e-mail address, when the user has one. */
  readonly emails?: { readonly value: string; readonly primary: boolean; readonly type: string }[];
  /** The directory's view (or, for users no directory manages, not blocked). */
  readonly active: boolean;
  /** The pools the user is in (read-only). */
  readonly groups: { readonly value: string; readonly display: string; readonly $ref: string }[];
  /** Cloister's read-only extension. */
  readonly [CLOISTER_USER_SCHEMA]: {
    readonly source?: string;
    readonly directoryState?: string;
    readonly blocked: boolean;
    readonly reenableRequested: boolean;
  };
  /** Resource metadata. */
  readonly meta: {
    readonly resourceType: 'User';
    readonly created: string;
    readonly lastModified: string;
    readonly version: string;
    readonly location: string;
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The user's `userName`: its e-mail address when the tenant has domains and the user has one,
 * else its id.
 *
 * @example
 * ```ts
 * userNameOf(user, true); // 'alice@acme.example'
 * ```
 */
export function userNameOf(u: User, hasDomains: boolean): string {
  return hasDomains && u.email !== null ? u.email : u.id;
}

/**
 * The SCIM resource of a user (pool names read through `poolNames`, a per-request cache, from
 * `stores`: inside a transaction, its stores).
 *
 * @example
 * ```ts
 * const resource = await scimUserOf(scope, user, new Map());
 * ```
 */
export async function scimUserOf(
  scope: ScimScope,
  u: User,
  poolNames: Map<string, string> = new Map(),
  stores: ServerStoreSet = scope.ctx.stores,
): Promise<ScimUser> {
  const groups: ScimUser['groups'] = [];
  for (const p of u.pools) {
    let name = poolNames.get(p);
    if (name === undefined) {
      name = (await stores.pools.get(u.tenant, p))?.name ?? p;
      poolNames.set(p, name);
    }
    groups.push({ value: p, display: name, $ref: `${scope.baseUrl}/Groups/${encodeURIComponent(p)}` });
  }
  const d = u.directory;
  return {
    schemas: [USER_SCHEMA, CLOISTER_USER_SCHEMA],
    id: u.id,
    ...(d?.externalId ? { externalId: d.externalId } : {}),
    userName: userNameOf(u, scope.hasDomains),
    name: { formatted: u.displayName },
    displayName: u.displayName,
    ...(u.email === null ? {} : { emails: [{ value: u.email, primary: true, type: 'work' }] }),
    active: d === null ? !u.blocked : d.state === 'active',
    groups,
    [CLOISTER_USER_SCHEMA]: {
      ...(d === null ? {} : { source: d.source, directoryState: d.state }),
      blocked: u.blocked,
      reenableRequested: d?.reenableRequested ?? false,
    },
    meta: {
      resourceType: 'User',
      created: iso(u.createdAt),
      lastModified: iso(u.updatedAt),
      version: etagOf(u.revision),
      location: `${scope.baseUrl}/Users/${encodeURIComponent(u.id)}`,
    },
  };
}

/**
 * What the filter sees of a user: `externalId` only when the user's source is `source` (the
 * token's), so that `externalId` filters search the token's own directory.
 *
 * @example
 * ```ts
 * const subject = filterSubjectOf(user, true, 'scim');
 * ```
 */
export function filterSubjectOf(u: User, hasDomains: boolean, source: string): FilterSubject {
  return {
    username: [userNameOf(u, hasDomains)],
    externalid: u.directory?.externalId && u.directory.source === source ? [u.directory.externalId] : [],
    displayname: [u.displayName],
    'emails.value': u.email === null ? [] : [u.email],
    active: [u.directory === null ? !u.blocked : u.directory.state === 'active'],
    id: [u.id],
    'meta.lastmodified': [u.updatedAt],
  };
}

/** What a client asks a user to be (after PUT or PATCH), checked. */
interface Desired {
  readonly userName: string;
  readonly externalId: string | null;
  readonly displayName: string;
  readonly email: string | null;
  readonly active: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const invalidValue = (what: string): never => {
  throw new ScimError(400, 'invalidValue', what);
};

function booleanOf(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && (v.toLowerCase() === 'true' || v.toLowerCase() === 'false'))
    return v.toLowerCase() === 'true';
  return invalidValue('active must be a boolean');
}

function textOf(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_DISPLAY_NAME) return invalidValue(what);
  return v;
}

/**
 * Reads the writable attributes of a User body (POST, PUT, or the result of a PATCH).
 * `previous`, for an update, supplies the name when only `name.givenName`/`familyName` changed.
 */
function desiredOf(body: unknown, hasDomains: boolean, previous?: ScimUser): Desired {
  if (!isObject(body)) return invalidValue('a User resource is expected');
  const userName = body.userName;
  if (typeof userName !== 'string' || userName.length === 0 || userName.length > 254)
    return invalidValue('userName is required');
  let externalId: string | null = null;
  if (body.externalId !== undefined && body.externalId !== null) {
    try {
      externalId = checkExternalId(body.externalId);
    } catch {
      return invalidValue('externalId is not valid');
    }
  }
  const name = isObject(body.name) ? body.name : {};
  const given = textOf(name.givenName, 'name.givenName is not valid');
  const family = textOf(name.familyName, 'name.familyName is not valid');
  const formatted = textOf(name.formatted, 'name.formatted is not valid');
  const display = textOf(body.displayName, 'displayName is not valid');
  const fromParts = [given, family].filter((x) => x !== undefined).join(' ');
  const parts = fromParts === '' ? undefined : fromParts;
  let displayName: string;
  if (previous === undefined) displayName = display ?? formatted ?? parts ?? userName;
  else if (display !== undefined && display !== previous.displayName) displayName = display;
  else if (formatted !== undefined && formatted !== previous.name.formatted) displayName = formatted;
  else displayName = parts ?? display ?? formatted ?? previous.displayName;
  if (displayName.length > MAX_DISPLAY_NAME) return invalidValue('displayName is too long');
  const active = body.active === undefined ? true : booleanOf(body.active);
  let email: string | null = null;
  if (hasDomains) {
    try {
      email = normaliseEmail(userName, 'userName');
    } catch {
      return invalidValue('userName must be an e-mail address');
    }
  } else {
    try {
      userId(userName);
    } catch {
      return invalidValue('userName must be a user id (1..128 of A-Z a-z 0-9 . _ - : @ +)');
    }
    const emails = body.emails;
    if (emails !== undefined && emails !== null) {
      if (!Array.isArray(emails) || emails.length > 20) return invalidValue('emails is not valid');
      const primary = emails.find((e) => isObject(e) && booleanish(e.primary)) ?? emails[0];
      if (primary !== undefined) {
        if (!isObject(primary) || typeof primary.value !== 'string')
          return invalidValue('emails is not valid');
        try {
          email = normaliseEmail(primary.value, 'emails');
        } catch {
          return invalidValue('emails.value must be an e-mail address');
        }
      }
    }
  }
  return { userName, externalId, displayName, email, active };
}

function booleanish(v: unknown): boolean {
  return v === true || (typeof v === 'string' && v.toLowerCase() === 'true');
}

/** 409 unless the token's source manages the user. */
function checkWritable(scope: ScimScope, u: User): DirectoryRecord {
  if (u.directory === null || u.directory.source !== scope.token.source) {
    throw new ScimError(409, 'mutability', 'the user is managed by another source or by administrators');
  }
  return u.directory;
}

async function checkUserNameFree(
  s: ServerStoreSet,
  tenant: TenantId,
  hasDomains: boolean,
  desired: Desired,
  self: UserId | undefined,
): Promise<void> {
  if (hasDomains) {
    const taken = (await s.users.byEmail(tenant, desired.email as string)).some((u) => u.id !== self);
    if (taken) throw new ScimError(409, 'uniqueness', 'userName is taken');
    return;
  }
  if (self === undefined && (await s.users.get(tenant, userId(desired.userName))) !== undefined) {
    throw new ScimError(409, 'uniqueness', 'userName is taken');
  }
}

async function checkExternalIdFree(
  s: ServerStoreSet,
  scope: ScimScope,
  externalId: string | null,
  self: UserId | undefined,
): Promise<void> {
  if (externalId === null) return;
  const other = await s.users.byExternalId(scope.token.tenant, scope.token.source, externalId);
  if (other !== undefined && other.id !== self) throw new ScimError(409, 'uniqueness', 'externalId is taken');
}

/**
 * `POST /Users`: creates a user managed by the token's source (`active: false` creates it
 * blocked, state `disabled`). 409 `uniqueness` for a taken `userName` or `externalId`.
 *
 * @example
 * ```ts
 * const created = await createScimUser(scope, { schemas: [USER_SCHEMA], userName: 'alice@acme.example' });
 * ```
 */
export async function createScimUser(scope: ScimScope, body: unknown): Promise<User> {
  const desired = desiredOf(body, scope.hasDomains);
  const { token, ctx } = scope;
  const id = scope.hasDomains
    ? userId(`usr_${randomBytes(16).toString('base64url')}`)
    : userId(desired.userName);
  const now = ctx.now();
  const created = await ctx.stores.transaction(async (s) => {
    await checkUserNameFree(s, token.tenant, scope.hasDomains, desired, undefined);
    await checkExternalIdFree(s, scope, desired.externalId, undefined);
    const directory: DirectoryRecord = {
      source: token.source,
      externalId: desired.externalId,
      state: 'active',
      since: now,
      reenableRequested: false,
    };
    let user = await s.users.create(token.tenant, id, {
      displayName: desired.displayName,
      email: desired.email,
      directory,
    });
    await s.audit.append(token.tenant, {
      actor: actorOf(token),
      action: 'directory.user.create',
      target: id,
      outcome: 'success',
    });
    if (!desired.active) {
      user = await setUserBlocked(
        s,
        token.tenant,
        id,
        true,
        { actor: actorOf(token), details: { reason: 'directory-disabled' } },
        { directory: { ...directory, state: 'disabled' } },
      );
    }
    return user;
  });
  return created;
}

/**
 * Applies a desired state to an existing user of the token's source, in one transaction: the
 * attributes, then the leaver rules of `spec/directory.md` §1.1. Answers the user after the
 * change and whether it was newly blocked (the caller wakes the devices).
 */
async function writeScimUser(
  scope: ScimScope,
  id: UserId,
  ifMatch: unknown,
  desiredFor: (before: User, served: ScimUser) => Desired,
): Promise<User> {
  const { token, ctx } = scope;
  const now = ctx.now();
  const result = await ctx.stores.transaction(async (s) => {
    const before = await s.users.get(token.tenant, id);
    if (before === undefined) throw new ScimError(404, undefined, 'no such user');
    checkIfMatch(ifMatch, before.revision);
    const directory = checkWritable(scope, before);
    const served = await scimUserOf(scope, before, new Map(), s);
    const desired = desiredFor(before, served);
    if (!scope.hasDomains && desired.userName !== before.id) {
      throw new ScimError(400, 'mutability', 'userName is the user id and cannot change');
    }
    if (scope.hasDomains) await checkUserNameFree(s, token.tenant, true, desired, id);
    await checkExternalIdFree(s, scope, desired.externalId, id);
    let next: DirectoryRecord = { ...directory, externalId: desired.externalId };
    let block: 'directory-disabled' | undefined;
    if (directory.state === 'active' && !desired.active) {
      next = { ...next, state: 'disabled', since: now };
      block = 'directory-disabled';
    } else if (directory.state !== 'active' && desired.active) {
      // A directory may take away, never give back: recorded, reported, not applied.
      next = { ...next, state: 'active', since: now, reenableRequested: before.blocked };
      if (before.blocked) {
        await s.audit.append(token.tenant, {
          actor: actorOf(token),
          action: 'directory.reenable-requested',
          target: id,
          outcome: 'success',
          details: { from: directory.state },
        });
      }
    }
    const changed: string[] = [];
    if (desired.displayName !== before.displayName) changed.push('displayName');
    if (desired.email !== before.email) changed.push('email');
    if (desired.externalId !== directory.externalId) changed.push('externalId');
    let after = await s.users.update(token.tenant, id, {
      ...(desired.displayName === before.displayName ? {} : { displayName: desired.displayName }),
      ...(desired.email === before.email ? {} : { email: desired.email }),
      directory: next,
    });
    if (changed.length > 0) {
      await s.audit.append(token.tenant, {
        actor: actorOf(token),
        action: 'directory.user.update',
        target: id,
        outcome: 'success',
        details: { fields: changed },
      });
    }
    if (block !== undefined) {
      after = await setUserBlocked(s, token.tenant, id, true, {
        actor: actorOf(token),
        details: { reason: block },
      });
    }
    return { after, blocked: block !== undefined };
  });
  if (result.blocked) await wakeUserDevices(ctx, token.tenant, id);
  return result.after;
}

/**
 * `PUT /Users/:id`: replaces the writable attributes.
 *
 * @example
 * ```ts
 * const user = await replaceScimUser(scope, userId('usr_x'), body, request.headers['if-match']);
 * ```
 */
export function replaceScimUser(
  scope: ScimScope,
  id: UserId,
  body: unknown,
  ifMatch: unknown,
): Promise<User> {
  return writeScimUser(scope, id, ifMatch, (_before, served) => desiredOf(body, scope.hasDomains, served));
}

const READ_ONLY = ['id', 'meta', 'groups', CLOISTER_USER_SCHEMA.toLowerCase(), 'schemas'];

/**
 * `PATCH /Users/:id`: the operations applied to the resource as served, then written as one
 * change; an operation on a read-only attribute is 400 `mutability`.
 *
 * @example
 * ```ts
 * const user = await patchScimUser(scope, userId('usr_x'), { schemas: [PATCH_OP_SCHEMA], Operations: [] }, undefined);
 * ```
 */
export function patchScimUser(scope: ScimScope, id: UserId, body: unknown, ifMatch: unknown): Promise<User> {
  const ops = normalisePatch(body);
  for (const op of ops) {
    const head = (op.path ?? '').toLowerCase().split(/[.[]/)[0] ?? '';
    if (
      READ_ONLY.includes(head) ||
      (op.path ?? '').toLowerCase().startsWith(CLOISTER_USER_SCHEMA.toLowerCase())
    ) {
      throw new ScimError(400, 'mutability', 'an operation names a read-only attribute');
    }
  }
  return writeScimUser(scope, id, ifMatch, (_before, served) =>
    desiredOf(applyPatch(served, ops), scope.hasDomains, served),
  );
}

/**
 * `DELETE /Users/:id`: the `left` rule (the user is blocked with every device, not erased).
 *
 * @example
 * ```ts
 * await deleteScimUser(scope, userId('usr_x'), undefined);
 * ```
 */
export async function deleteScimUser(scope: ScimScope, id: UserId, ifMatch: unknown): Promise<void> {
  const { token, ctx } = scope;
  const now = ctx.now();
  const blocked = await ctx.stores.transaction(async (s) => {
    const before = await s.users.get(token.tenant, id);
    if (before === undefined) throw new ScimError(404, undefined, 'no such user');
    checkIfMatch(ifMatch, before.revision);
    const directory = checkWritable(scope, before);
    if (directory.state === 'left') return false;
    await setUserBlocked(
      s,
      token.tenant,
      id,
      true,
      { actor: actorOf(token), details: { reason: 'directory-left' } },
      { directory: { ...directory, state: 'left', since: now, reenableRequested: false } },
    );
    return true;
  });
  if (blocked) await wakeUserDevices(ctx, token.tenant, id);
}

/**
 * `GET /Users?filter&startIndex&count`: the tenant's users that match, in id order. An
 * `externalId eq` (within the token's source), `id eq` or `userName eq` term is answered from an
 * index; any other filter is evaluated over every page.
 *
 * @example
 * ```ts
 * const { total, items } = await listScimUsers(scope, 'userName eq "alice@acme.example"', 1, 100);
 * ```
 */
export async function listScimUsers(
  scope: ScimScope,
  filter: string | undefined,
  startIndex: number,
  count: number,
): Promise<{ total: number; items: User[] }> {
  const f = filter === undefined ? undefined : parseScimFilter(filter, 'User');
  const tenant = scope.token.tenant;
  const matches = (u: User) =>
    f === undefined || matchesScimFilter(f, filterSubjectOf(u, scope.hasDomains, scope.token.source));
  const hint = f === undefined ? undefined : indexHint(f);
  if (hint !== undefined) {
    const found = new Map<string, User>();
    const add = (u: User | undefined) => {
      if (u !== undefined && matches(u)) found.set(u.id, u);
    };
    if (hint.attribute === 'externalid') {
      let ext: string | undefined;
      try {
        ext = checkExternalId(hint.value);
      } catch {
        ext = undefined;
      }
      if (ext !== undefined) add(await scope.ctx.stores.users.byExternalId(tenant, scope.token.source, ext));
    } else {
      let asId: UserId | undefined;
      try {
        asId = userId(hint.value);
      } catch {
        asId = undefined;
      }
      if (asId !== undefined) add(await scope.ctx.stores.users.get(tenant, asId));
      if (hint.attribute === 'username' && hint.value.length <= 254) {
        for (const u of await scope.ctx.stores.users.byEmail(tenant, hint.value)) add(u);
      }
    }
    const all = [...found.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { total: all.length, items: all.slice(startIndex - 1, startIndex - 1 + count) };
  }
  const items: User[] = [];
  let total = 0;
  let after: string | undefined;
  for (;;) {
    const page = await scope.ctx.stores.users.list(tenant, {
      limit: 1000,
      ...(after === undefined ? {} : { after }),
    });
    for (const u of page.items) {
      if (!matches(u)) continue;
      total += 1;
      if (total >= startIndex && items.length < count) items.push(u);
    }
    if (page.next === undefined) break;
    after = page.next;
  }
  return { total, items };
}

/**
 * Reads a user of the token's tenant by SCIM id; 404 when absent or not a valid id.
 *
 * @example
 * ```ts
 * const user = await getScimUser(scope, 'usr_x');
 * ```
 */
export async function getScimUser(scope: ScimScope, id: string): Promise<User> {
  const uid = scimUserId(id);
  const u = await scope.ctx.stores.users.get(scope.token.tenant, uid);
  if (u === undefined) throw new ScimError(404, undefined, 'no such user');
  return u;
}

/**
 * A SCIM id as a user id; 404 when it cannot be one.
 *
 * @example
 * ```ts
 * const uid = scimUserId('usr_x');
 * ```
 */
export function scimUserId(id: string): UserId {
  try {
    return userId(id);
  } catch {
    throw new ScimError(404, undefined, 'no such user');
  }
}

/** @internal For groups: whether the token may change this user's pools. */
export function checkMemberWritable(scope: ScimScope, u: User): void {
  checkWritable(scope, u);
}
