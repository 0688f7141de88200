/**
 * Legal holds in the admin API (`spec/archive-server.md` §5, `spec/admin-api.md`): `archive.hold`
 * (owner and auditor, fresh second factor, people only) sets, lists and lifts holds. While a user
 * is on any hold, deleting the user (the admin API's delete, bulk deletes, the data-subject
 * erasure) is refused with 409 `conflict: legal-hold`; while the tenant has any hold its whole
 * compliance archive is frozen (nothing expires or is shredded), because the server cannot tell
 * whose messages a seal holds. Each change, the archive's freeze or release and the audit record
 * (`legal-hold.create`, `legal-hold.lift`) commit in one transaction.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { type UserId, userId } from '@cloister/protocol';
import { z } from 'zod';
import {
  ConflictError,
  type LegalHold,
  MAX_LEGAL_HOLD_USERS,
  NotFoundError,
  type ServerStoreSet,
} from '../../store/index.js';
import { defineAdminOperation } from './operation.js';
import { ADMIN_SCHEMAS, identifier } from './schemas.js';

/**
 * A legal hold as the admin API answers it.
 *
 * @example
 * ```ts
 * const hold = legalHoldView.parse(await (await fetch(`${url}/admin/v1/legal-holds`, { method: 'POST', headers, body: '{"users":["alice"],"reason":"case"}' })).json());
 * ```
 */
export const legalHoldView = z
  .object({
    id: z.string().describe('`lh_` and 22 base64url characters.'),
    users: z.array(z.string()),
    reason: z.string(),
    createdAt: z.number().int(),
    createdBy: z.string(),
  })
  .strict();
ADMIN_SCHEMAS.add(legalHoldView, { id: 'LegalHold', description: 'A legal hold on users (and the archive)' });

const viewOf = (h: LegalHold): z.infer<typeof legalHoldView> => ({
  id: h.id,
  users: [...h.users],
  reason: h.reason,
  createdAt: h.createdAt,
  createdBy: h.createdBy,
});

/**
 * Refuses with `ConflictError('legal-hold')` (409 `conflict: legal-hold`) when `user` is on an
 * active legal hold; call it in the deleting transaction.
 *
 * @example
 * ```ts
 * await ctx.stores.transaction(async (s) => {
 *   await refuseHeldUser(s, tenant, user);
 *   await s.users.delete(tenant, user);
 * });
 * ```
 */
export async function refuseHeldUser(
  stores: Pick<ServerStoreSet, 'legalHolds'>,
  tenant: Parameters<ServerStoreSet['legalHolds']['holding']>[0],
  user: UserId,
): Promise<void> {
  if ((await stores.legalHolds.holding(tenant, user)).length > 0) {
    throw new ConflictError('legal-hold', 'the user is on a legal hold');
  }
}

/** How many held user ids an audit record lists (more are counted only; the hold lists them all). */
const AUDITED_USERS = 100;

/**
 * `POST /admin/v1/legal-holds` `{ users: string[] (1..1000), reason: string (1..500) }`
 * (`archive.hold`, fresh factor, people only) → 201 `{ id, users, reason, createdAt, createdBy }`.
 * Users must exist (404 `user`); at most 100 active holds per tenant (409 `conflict: legal-holds`).
 * The tenant's first hold freezes its archive. Audited `legal-hold.create`.
 *
 * @example
 * ```ts
 * const body = JSON.stringify({ users: ['alice'], reason: 'case 2026-114' });
 * const hold = await (await fetch(`${url}/admin/v1/legal-holds`, { method: 'POST', headers, body })).json();
 * ```
 */
export const createLegalHoldOperation = defineAdminOperation({
  id: 'createLegalHold',
  method: 'POST',
  path: '/admin/v1/legal-holds',
  tag: 'legal-holds',
  summary: 'Put users (and the archive) on a legal hold',
  access: { permission: 'archive.hold', freshFactor: true, allowKey: false },
  body: z
    .object({
      users: z
        .array(identifier)
        .min(1)
        .max(MAX_LEGAL_HOLD_USERS)
        .refine((u) => new Set(u).size === u.length, 'distinct users'),
      reason: z.string().min(1).max(500),
    })
    .strict(),
  status: 201,
  response: legalHoldView,
  handle: async (ctx, { me, body }) => {
    const users = body.users.map((u) => userId(u)).sort();
    const hold: LegalHold = {
      tenant: me.tenant,
      id: `lh_${randomBytes(16).toString('base64url')}`,
      users,
      reason: body.reason,
      createdAt: ctx.now(),
      createdBy: me.admin.id,
    };
    await ctx.stores.transaction(async (s) => {
      // The hold first (it locks the tenant row, as a deletion's check does), then the users: a user
      // deleted meanwhile is seen as gone.
      const active = await s.legalHolds.create(hold);
      for (const u of users)
        if ((await s.users.get(me.tenant, u)) === undefined) throw new NotFoundError('user');
      const frozen = active === 1 ? await s.archive.hold(me.tenant) : 0;
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'legal-hold.create',
        target: hold.id,
        outcome: 'success',
        details: {
          reason: hold.reason,
          userCount: users.length,
          ...(users.length <= AUDITED_USERS ? { users } : {}),
          activeHolds: active,
          archiveItemsFrozen: frozen,
        },
      });
    });
    return viewOf(hold);
  },
});

/**
 * `GET /admin/v1/legal-holds` (`archive.hold`, fresh factor, people only) → `{ items }`: the
 * tenant's active holds, oldest first.
 *
 * @example
 * ```ts
 * const { items } = await (await fetch(`${url}/admin/v1/legal-holds`, { headers })).json();
 * ```
 */
export const listLegalHoldsOperation = defineAdminOperation({
  id: 'listLegalHolds',
  method: 'GET',
  path: '/admin/v1/legal-holds',
  tag: 'legal-holds',
  summary: 'List the active legal holds',
  access: { permission: 'archive.hold', freshFactor: true, allowKey: false },
  status: 200,
  response: z.object({ items: z.array(legalHoldView) }).strict(),
  handle: async (ctx, { me }) => ({ items: (await ctx.stores.legalHolds.list(me.tenant)).map(viewOf) }),
});

/**
 * `DELETE /admin/v1/legal-holds/:id` (`archive.hold`, fresh factor, people only) → 204: lifts the
 * hold (404 `legal hold` when there is no such active hold). Lifting the tenant's last hold releases
 * its archive: each item gets its expiry back, items already past it are deleted. Audited
 * `legal-hold.lift`.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/legal-holds/lh_AAAAAAAAAAAAAAAAAAAAAA`, { method: 'DELETE', headers });
 * ```
 */
export const liftLegalHoldOperation = defineAdminOperation({
  id: 'liftLegalHold',
  method: 'DELETE',
  path: '/admin/v1/legal-holds/:id',
  tag: 'legal-holds',
  summary: 'Lift a legal hold',
  access: { permission: 'archive.hold', freshFactor: true, allowKey: false },
  params: z.object({ id: z.string().regex(/^lh_[A-Za-z0-9_-]{22}$/, 'a legal hold id') }).strict(),
  status: 204,
  handle: async (ctx, { me, params }) => {
    await ctx.stores.transaction(async (s) => {
      const { hold, remaining } = await s.legalHolds.lift(me.tenant, params.id);
      const released = remaining === 0 ? await s.archive.release(me.tenant) : { restored: 0, deleted: 0 };
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'legal-hold.lift',
        target: hold.id,
        outcome: 'success',
        details: {
          userCount: hold.users.length,
          activeHolds: remaining,
          archiveItemsRestored: released.restored,
          archiveItemsDeleted: released.deleted,
        },
      });
    });
    return null;
  },
});

/**
 * The legal-hold operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, LEGAL_HOLD_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const LEGAL_HOLD_OPERATIONS = [
  createLegalHoldOperation,
  listLegalHoldsOperation,
  liftLegalHoldOperation,
] as const;
