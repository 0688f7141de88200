/**
 * Users in the admin API: list and read (`users.read`); invite (`users.invite`): the user is
 * created when missing and an enrolment token bound to them is answered once, with the tenant's
 * root fingerprint and the enrolment code that carries both; block and unblock (`users.block`):
 * the flag, the delivery-token epochs of the user and of their class, and the audit record in
 * one transaction, then every connected device of the user is woken so that its socket re-reads
 * the flag; delete (`users.delete`, fresh factor): every row the server holds for the user goes
 * in one transaction (`spec/admin-api.md` §5).
 *
 * @module
 */
import { concatBytes, uintBE, utf8 } from '@cloister/crypto';
import {
  type MailboxId,
  poolId,
  ROOT_FINGERPRINT_PREFIX,
  type TenantId,
  type UserId,
  userId,
} from '@cloister/protocol';
import type { StorageTx } from '@cloister/storage';
import { z } from 'zod';
import type { ServerContext } from '../../context.js';
import {
  createEnrolmentToken,
  ENROL_TOKEN_HASH_LABEL,
  ENROL_TOKENS_TABLE,
  MAX_ENROL_TOKEN_TTL_MS,
  MAX_ENROL_TOKEN_USES,
  MAX_MANAGED_TOKEN_TTL_MS,
} from '../../enrolment.js';
import { key, NO_SORT } from '../../store/_util.js';
import {
  allowlistAllows,
  ConflictError,
  NotAllowlistedError,
  NotFoundError,
  type ServerStoreSet,
} from '../../store/index.js';
import { WIPES_TABLE } from '../../wipe.js';
import { setUserBlocked, wakeUserDevices } from './blocking.js';
import { refuseHeldUser } from './legal-holds.js';
import { defineAdminOperation } from './operation.js';
import { displayName, identifier, pageQuery, userParams, userView } from './schemas.js';
import { type AdminTransaction, adminTransaction } from './transaction.js';
import { rootFingerprintOf, userViewOf } from './views.js';

/**
 * The server table indexing the enrolment tokens an invite created, per user (partition
 * `tenant 0x00 user`, sort key the token's stored hash, expiring with the token), so that
 * deleting the user deletes the tokens that could otherwise create them again.
 *
 * @example
 * ```ts
 * import { concatBytes, utf8 } from '@cloister/crypto';
 *
 * const partition = concatBytes(utf8(tenant), new Uint8Array([0]), utf8(user));
 * const invites = await adapter.transaction((tx) => tx.list(INVITES_TABLE, partition)); // one row per live token
 * ```
 */
export const INVITES_TABLE = 'srv_admin_invites';

/**
 * `<token>.<digest>`: the enrolment code a user types or scans (87 characters), or null when the
 * tenant has no organisation root.
 *
 * @example
 * ```ts
 * enrolmentCodeOf(token, 'cloister-root:v1:…'); // 'AbC….XyZ…'
 * ```
 */
export function enrolmentCodeOf(token: string, fingerprint: string | null): string | null {
  if (fingerprint === null || !fingerprint.startsWith(ROOT_FINGERPRINT_PREFIX)) return null;
  return `${token}.${fingerprint.slice(ROOT_FINGERPRINT_PREFIX.length)}`;
}

async function requireUser(s: ServerStoreSet, tenant: TenantId, user: UserId) {
  const u = await s.users.get(tenant, user);
  if (u === undefined) throw new NotFoundError('user');
  return u;
}

/** Wakes the user's devices' sockets so that they re-read the user and device (and close if refused). */
async function wake(ctx: ServerContext, tenant: TenantId, user: UserId, mailboxes?: readonly MailboxId[]) {
  const list = mailboxes ?? (await ctx.stores.devices.list(tenant, user)).map((d) => d.mailbox);
  for (const m of list) await ctx.bus.notify(m, 'recheck').catch(() => undefined);
}

/**
 * `GET /admin/v1/users` (`users.read`): the tenant's users, paged.
 *
 * @example
 * ```ts
 * const { items, next } = await (await fetch(`${url}/admin/v1/users?limit=100`, { headers })).json();
 * ```
 */
export const listUsersOperation = defineAdminOperation({
  id: 'listUsers',
  method: 'GET',
  path: '/admin/v1/users',
  tag: 'users',
  summary: 'List users',
  access: { permission: 'users.read' },
  query: pageQuery,
  status: 200,
  response: z.object({ items: z.array(userView), next: z.string().optional() }).strict(),
  handle: async (ctx, { me, query }) => {
    const page = await ctx.stores.users.list(me.tenant, {
      ...(query.after === undefined ? {} : { after: identifier.parse(query.after) }),
      ...(query.limit === undefined ? {} : { limit: query.limit }),
    });
    return { items: page.items.map(userViewOf), ...(page.next === undefined ? {} : { next: page.next }) };
  },
});

/**
 * `GET /admin/v1/users/:user` (`users.read`).
 *
 * @example
 * ```ts
 * const user = await (await fetch(`${url}/admin/v1/users/alice`, { headers })).json();
 * ```
 */
export const getUserOperation = defineAdminOperation({
  id: 'getUser',
  method: 'GET',
  path: '/admin/v1/users/:user',
  tag: 'users',
  summary: 'Read a user',
  access: { permission: 'users.read' },
  params: userParams,
  status: 200,
  response: userView,
  handle: async (ctx, { me, params }) =>
    userViewOf(await requireUser(ctx.stores, me.tenant, userId(params.user))),
});

/**
 * Creates an enrolment token bound to `user` (`uses` devices, default 1; `ttlMs`, default 7
 * days; `managed`: single-use, default 8 hours, at most 72, `spec/managed-config.md` §4) and its
 * row in {@link INVITES_TABLE}, inside an open admin transaction; the caller writes the audit
 * record. Shared by the invite route and bulk invites.
 *
 * @example
 * ```ts
 * const { token, expiresAt } = await ctx.adapter.transaction((tx) =>
 *   issueInviteToken({ tx, scope: { adapter: ctx.adapter, provider: ctx.provider } }, tenant, user, { uses: 1 }),
 * );
 * ```
 */
export async function issueInviteToken(
  t: Pick<AdminTransaction, 'tx' | 'scope'>,
  tenant: TenantId,
  user: UserId,
  options: {
    readonly uses?: number | undefined;
    readonly ttlMs?: number | undefined;
    readonly managed?: boolean | undefined;
  },
): Promise<{ token: string; expiresAt: number }> {
  const { token, expiresAt } = await createEnrolmentToken(t.scope, {
    tenant,
    user,
    ...(options.uses === undefined ? {} : { maxUses: options.uses }),
    ...(options.ttlMs === undefined ? {} : { ttlMs: options.ttlMs }),
    ...(options.managed === true ? { managed: true } : {}),
  });
  const hash = await t.scope.provider.sha256(
    concatBytes(utf8(ENROL_TOKEN_HASH_LABEL), new Uint8Array(Buffer.from(token, 'base64url'))),
  );
  await t.tx.put(INVITES_TABLE, {
    partition: key(tenant, user),
    sort: hash,
    value: new Uint8Array([1]),
    expiresAt,
  });
  return { token, expiresAt };
}

const inviteBody = z
  .object({
    user: identifier,
    displayName: displayName.optional(),
    pools: z.array(identifier).max(64).optional(),
    email: z.string().max(254).optional().describe('E-mail address (domain lower-cased); a new user only.'),
    ttlMs: z.number().int().min(60_000).max(MAX_ENROL_TOKEN_TTL_MS).optional(),
    uses: z.number().int().min(1).max(Math.min(MAX_ENROL_TOKEN_USES, 100)).optional(),
    managed: z
      .boolean()
      .optional()
      .describe(
        'A managed enrolment token for an MDM configuration: single-use, `ttlMs` default 8 hours, at most 72 hours.',
      ),
  })
  .strict()
  .refine((b) => b.managed !== true || b.uses === undefined || b.uses === 1, {
    message: 'a managed token is single-use',
    path: ['uses'],
  })
  .refine((b) => b.managed !== true || b.ttlMs === undefined || b.ttlMs <= MAX_MANAGED_TOKEN_TTL_MS, {
    message: 'a managed token lives at most 72 hours',
    path: ['ttlMs'],
  });

/**
 * `POST /admin/v1/users/invite` (`users.invite`): creates the user when missing (with
 * `displayName` and `pools`; an existing user keeps theirs) and an enrolment token bound to them
 * (`uses` devices, default 1; `ttlMs`, default 7 days), in one transaction with the audit record
 * `user.invite`. The token is answered once; `enrolmentCode` is `<token>.<digest of the root
 * fingerprint>` (null while the tenant has no root). 409 `conflict: user` for a blocked user.
 * `managed: true` (`spec/managed-config.md` §4): a single-use token for an MDM configuration
 * (`ttlMs` default 8 hours, at most 72), which the tenant's organisation root must exist for (409
 * `conflict: organisationRoot`, nothing written); the answer adds `managed` and `tenant`, and the
 * audit record says `managed: true`.
 *
 * @example
 * ```ts
 * const { enrolmentCode } = await (await fetch(`${url}/admin/v1/users/invite`, { method: 'POST', headers, body: JSON.stringify({ user: 'alice' }) })).json();
 * ```
 */
export const inviteUserOperation = defineAdminOperation({
  id: 'inviteUser',
  method: 'POST',
  path: '/admin/v1/users/invite',
  tag: 'users',
  summary: 'Invite a user (an enrolment token, shown once)',
  access: { permission: 'users.invite' },
  body: inviteBody,
  status: 201,
  response: z
    .object({
      token: z.string().describe('The enrolment token (43 base64url characters): shown once.'),
      expiresAt: z.number().int(),
      rootFingerprint: z.string().nullable(),
      enrolmentCode: z.string().nullable().describe('`<token>.<fingerprint digest>`, 87 characters.'),
      managed: z.literal(true).optional().describe('Present for a managed token.'),
      tenant: z
        .string()
        .optional()
        .describe('The tenant id, for the managed configuration (managed tokens).'),
    })
    .strict(),
  handle: async (ctx, { me, body }) => {
    const user = userId(body.user);
    return adminTransaction(ctx, async ({ tx, stores, scope }) => {
      let existing = await stores.users.get(me.tenant, user);
      const created = existing === undefined;
      if (existing === undefined) {
        existing = await stores.users.create(me.tenant, user, {
          displayName: body.displayName ?? user,
          ...(body.pools === undefined ? {} : { pools: body.pools.map((p) => poolId(p)) }),
          ...(body.email === undefined ? {} : { email: body.email }),
        });
      } else if (existing.blocked) {
        throw new ConflictError('user', 'the user is blocked');
      }
      // The tenant's allowlist (spec/allowlist.md): a user outside it is not invited (nothing written).
      if (!(await allowlistAllows(tx, me.tenant, existing))) throw new NotAllowlistedError();
      const managed = body.managed === true;
      const rootFingerprint = await rootFingerprintOf({ stores }, me.tenant);
      // A managed configuration always pins the root: without one there is nothing to pin.
      if (managed && rootFingerprint === null) {
        throw new ConflictError('organisationRoot', 'a managed token needs the organisation root');
      }
      const { token, expiresAt } = await issueInviteToken({ tx, scope }, me.tenant, user, body);
      await stores.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'user.invite',
        target: user,
        outcome: 'success',
        details: { uses: body.uses ?? 1, expiresAt, created, ...(managed ? { managed: true } : {}) },
      });
      return {
        token,
        expiresAt,
        rootFingerprint,
        enrolmentCode: enrolmentCodeOf(token, rootFingerprint),
        ...(managed ? { managed: true as const, tenant: me.tenant } : {}),
      };
    });
  },
});

function setBlocked(blocked: boolean) {
  return defineAdminOperation({
    id: blocked ? 'blockUser' : 'unblockUser',
    method: 'POST',
    path: `/admin/v1/users/:user/${blocked ? 'block' : 'unblock'}`,
    tag: 'users',
    summary: blocked ? 'Block a user' : 'Unblock a user',
    description: blocked
      ? 'The user can no longer authenticate, fetch or be given keys, or deliver; delivery tokens to and from ' +
        'them stop working in the same transaction, and connected devices are disconnected.'
      : 'The user may authenticate, deliver and be reached again (pool rules permitting).',
    access: { permission: 'users.block' },
    params: userParams,
    status: 200,
    response: userView,
    handle: async (ctx, { me, params }) => {
      const user = userId(params.user);
      // The path the directory's disables take too (`blocking.ts`); a user who left the directory
      // is not unblocked (409 `conflict: left-directory`) until detached.
      const after = await ctx.stores.transaction((s) =>
        setUserBlocked(s, me.tenant, user, blocked, { actor: me.admin.id }),
      );
      if (blocked) await wakeUserDevices(ctx, me.tenant, user);
      return userViewOf(after);
    },
  });
}

/**
 * `POST /admin/v1/users/:user/block` (`users.block`): audited `user.block`.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/users/alice/block`, { method: 'POST', headers });
 * ```
 */
export const blockUserOperation = setBlocked(true);

/**
 * `POST /admin/v1/users/:user/unblock` (`users.block`): audited `user.unblock`.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/users/alice/unblock`, { method: 'POST', headers });
 * ```
 */
export const unblockUserOperation = setBlocked(false);

function wipesPartition(tenant: TenantId, user: UserId): Uint8Array {
  const t = utf8(tenant);
  const u = utf8(user);
  return concatBytes(uintBE(t.length, 2), t, uintBE(u.length, 2), u);
}

async function deleteInvites(tx: StorageTx, tenant: TenantId, user: UserId): Promise<number> {
  const partition = key(tenant, user);
  let count = 0;
  for (;;) {
    const rows = await tx.list(INVITES_TABLE, partition, { limit: 500 });
    for (const row of rows) {
      await tx.delete(ENROL_TOKENS_TABLE, row.sort, NO_SORT);
      await tx.delete(INVITES_TABLE, partition, row.sort);
    }
    count += rows.length;
    if (rows.length < 500) return count;
  }
}

/**
 * Deletes, inside an open admin transaction, every row the server holds for an existing `user`:
 * devices with their key bundles, one-time prekeys and mailboxes, signed device lists, pool
 * memberships, the user policy layer, pending wipes, the signed objects that name the user alone
 * and the enrolment tokens their invites created; the caller writes the audit record and wakes
 * the answered mailboxes after the commit. Shared by the delete route and bulk deletes. A user on
 * an active legal hold is refused with `ConflictError('legal-hold')` (409) before anything goes.
 *
 * @example
 * ```ts
 * const { mailboxes } = await ctx.adapter.transaction((tx) => deleteUserRows({ tx, stores }, tenant, user));
 * ```
 */
export async function deleteUserRows(
  t: Pick<AdminTransaction, 'tx' | 'stores'>,
  tenant: TenantId,
  user: UserId,
): Promise<{ mailboxes: MailboxId[]; devices: number; tokens: number }> {
  const { tx, stores } = t;
  // A user on a legal hold is kept (409 `conflict: legal-hold`): delete, bulk delete and erasure.
  await refuseHeldUser(stores, tenant, user);
  const devices = await stores.devices.list(tenant, user);
  await stores.users.delete(tenant, user);
  await stores.policies.delete({ kind: 'user', tenant, user });
  await tx.deletePartition(WIPES_TABLE, wipesPartition(tenant, user));
  // The signed objects that name the user alone (spec/organisation.md §7 scopes).
  await stores.organisation.remove(tenant, 'policy-layer', `policy-layer/user/${user}`);
  await stores.organisation.remove(tenant, 'device-admission', `device-admission/${user}`);
  for (const d of devices) await stores.organisation.remove(tenant, 'wipe', `wipe/${user}/${d.id}`);
  const tokens = await deleteInvites(tx, tenant, user);
  return { mailboxes: devices.map((d) => d.mailbox), devices: devices.length, tokens };
}

/**
 * `DELETE /admin/v1/users/:user` (`users.delete`, fresh factor): in one transaction, the user's
 * devices with their key bundles, one-time prekeys and mailboxes (queued envelopes included),
 * signed device lists, pool memberships, user policy layer, pending wipes and the enrolment
 * tokens their invites created, then the user; delivery-token epochs are bumped; audited
 * `user.delete`. What stays: the audit log's records that name the user id. A user on an active
 * legal hold is refused with 409 `conflict: legal-hold` (nothing is deleted).
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/users/alice`, { method: 'DELETE', headers });
 * ```
 */
export const deleteUserOperation = defineAdminOperation({
  id: 'deleteUser',
  method: 'DELETE',
  path: '/admin/v1/users/:user',
  tag: 'users',
  summary: 'Delete a user and everything the server holds for them',
  access: { permission: 'users.delete', freshFactor: true, allowKey: false },
  params: userParams,
  status: 204,
  handle: async (ctx, { me, params }) => {
    const user = userId(params.user);
    const mailboxes = await adminTransaction(ctx, async ({ tx, stores }) => {
      await requireUser(stores, me.tenant, user);
      const { mailboxes, devices, tokens } = await deleteUserRows({ tx, stores }, me.tenant, user);
      await stores.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'user.delete',
        target: user,
        outcome: 'success',
        details: { devices, enrolmentTokens: tokens },
      });
      return mailboxes;
    });
    await wake(ctx, me.tenant, user, mailboxes);
    return null;
  },
});

/**
 * The user operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, USER_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const USER_OPERATIONS = [
  listUsersOperation,
  getUserOperation,
  inviteUserOperation,
  blockUserOperation,
  unblockUserOperation,
  deleteUserOperation,
] as const;
