/**
 * Administrators in the admin API: list (`admins.read`); invite a person or create an
 * integration, change a role, remove (`admins.manage` with a fresh second factor). Rules beyond
 * the permission: only an owner creates, changes or removes an owner or makes someone one, and the
 * last active owner can be neither demoted nor removed (409 `conflict: admin.owner`). Removing
 * disables the administrator: every session and API key stops working at the next request, the
 * e-mail stays taken and the audit log keeps naming the id. Role changes take effect at once
 * (the role is read on every request); the root-signed certificate of an administrator is not
 * changed by the server (the organisation revokes it by letting it expire or by not renewing it).
 *
 * @module
 */
import { ForbiddenError } from '@cloister/crypto';
import type { TenantId } from '@cloister/protocol';
import { z } from 'zod';
import type { Administrator, Role, ServerStoreSet } from '../../store/index.js';
import { ConflictError, NotFoundError } from '../../store/index.js';
import { createHumanAdministrator, createIntegration } from '../enrolment.js';
import type { AdminPermission } from '../permissions.js';
import type { AdminAuth } from '../sessions.js';
import { defineAdminOperation } from './operation.js';
import {
  adminIdSchema,
  adminName,
  adminView,
  emailSchema,
  pageQuery,
  passwordSchema,
  permissionSchema,
} from './schemas.js';
import { adminTransaction } from './transaction.js';
import { adminViewOf } from './views.js';

const humanRole = z.enum(['owner', 'admin', 'user-manager', 'auditor']);
const inviteBody = z.discriminatedUnion('role', [
  z.object({ email: emailSchema, name: adminName, role: humanRole, password: passwordSchema }).strict(),
  z
    .object({
      email: emailSchema,
      name: adminName,
      role: z.literal('integration'),
      scopes: z.array(permissionSchema).max(64),
    })
    .strict(),
]);
const inviteAnswer = z.union([
  z
    .object({
      admin: adminView,
      totpUri: z.string().describe('otpauth:// URI holding the TOTP secret: shown once.'),
      recoveryCodes: z.array(z.string()).describe('Ten single-use recovery codes: shown once.'),
    })
    .strict(),
  z
    .object({ admin: adminView, apiKey: z.string().describe('The integration API key: shown once.') })
    .strict(),
]);
const adminParams = z.object({ admin: adminIdSchema }).strict();

function mayTouchOwner(me: AdminAuth, role: Role): void {
  if (role === 'owner' && me.admin.role !== 'owner') {
    throw new ForbiddenError('only an owner may appoint, change or remove an owner');
  }
}

async function activeOwners(s: ServerStoreSet, tenant: TenantId): Promise<Administrator[]> {
  const owners: Administrator[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await s.administrators.list(tenant, {
      limit: 1000,
      ...(after === undefined ? {} : { after }),
    });
    owners.push(...page.items.filter((a) => a.role === 'owner' && !a.disabled));
    if (page.next === undefined) return owners;
    after = page.next;
  }
}

async function existing(s: ServerStoreSet, tenant: TenantId, id: string): Promise<Administrator> {
  const a = await s.administrators.get(tenant, id);
  if (a === undefined || a.disabled) throw new NotFoundError('admin');
  return a;
}

/**
 * `GET /admin/v1/administrators` (`admins.read`): the tenant's administrators, paged, removed
 * ones included (`disabled: true`).
 *
 * @example
 * ```ts
 * const { items } = await (await fetch(`${url}/admin/v1/administrators`, { headers })).json();
 * ```
 */
export const listAdministratorsOperation = defineAdminOperation({
  id: 'listAdministrators',
  method: 'GET',
  path: '/admin/v1/administrators',
  tag: 'administrators',
  summary: 'List administrators',
  access: { permission: 'admins.read' },
  query: pageQuery,
  status: 200,
  response: z.object({ items: z.array(adminView), next: z.string().optional() }).strict(),
  handle: async (ctx, { me, query }) => {
    const page = await ctx.stores.administrators.list(me.tenant, {
      ...(query.after === undefined ? {} : { after: adminIdSchema.parse(query.after) }),
      ...(query.limit === undefined ? {} : { limit: query.limit }),
    });
    return { items: page.items.map(adminViewOf), ...(page.next === undefined ? {} : { next: page.next }) };
  },
});

/**
 * `POST /admin/v1/administrators` (`admins.manage`, fresh factor): invites a person (`role` a
 * human role, a first password; answers the TOTP URI and recovery codes once) or creates an
 * integration (`role: 'integration'`, `scopes`; answers the API key once). Audited `admin.create`.
 *
 * @example
 * ```ts
 * const res = await fetch(`${url}/admin/v1/administrators`, {
 *   method: 'POST',
 *   headers: { ...headers, 'content-type': 'application/json' },
 *   body: JSON.stringify({ email: 'audit@acme.example', name: 'Audit', role: 'auditor', password: 'correct horse battery staple' }),
 * });
 * ```
 */
export const createAdministratorOperation = defineAdminOperation({
  id: 'createAdministrator',
  method: 'POST',
  path: '/admin/v1/administrators',
  tag: 'administrators',
  summary: 'Invite an administrator or create an integration',
  access: { permission: 'admins.manage', freshFactor: true, allowKey: false },
  body: inviteBody,
  status: 201,
  response: inviteAnswer,
  handle: async (ctx, { me, body }) => {
    mayTouchOwner(me, body.role);
    return adminTransaction(ctx, async ({ stores }) => {
      if (body.role === 'integration') {
        const created = await createIntegration(
          stores,
          me.tenant,
          { email: body.email, name: body.name, scopes: body.scopes as AdminPermission[] },
          { actor: me.admin.id },
        );
        return {
          admin: adminViewOf(await existing(stores, me.tenant, created.admin)),
          apiKey: created.apiKey,
        };
      }
      const created = await createHumanAdministrator(
        stores,
        me.tenant,
        body.role,
        { email: body.email, name: body.name, password: body.password },
        { actor: me.admin.id },
      );
      return {
        admin: adminViewOf(await existing(stores, me.tenant, created.admin)),
        totpUri: created.totpUri,
        recoveryCodes: [...created.recoveryCodes],
      };
    });
  },
});

/**
 * `PATCH /admin/v1/administrators/:admin` `{ role }` (`admins.manage`, fresh factor). Audited
 * `admin.role` with the old and new role.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/administrators/${admin.id}`, {
 *   method: 'PATCH',
 *   headers: { ...headers, 'content-type': 'application/json' },
 *   body: JSON.stringify({ role: 'auditor' }),
 * });
 * ```
 */
export const updateAdministratorOperation = defineAdminOperation({
  id: 'updateAdministrator',
  method: 'PATCH',
  path: '/admin/v1/administrators/:admin',
  tag: 'administrators',
  summary: "Change an administrator's role",
  access: { permission: 'admins.manage', freshFactor: true, allowKey: false },
  params: adminParams,
  body: z.object({ role: humanRole.or(z.literal('integration')) }).strict(),
  status: 200,
  response: adminView,
  handle: async (ctx, { me, params, body }) =>
    ctx.stores.transaction(async (s) => {
      const before = await existing(s, me.tenant, params.admin);
      mayTouchOwner(me, before.role);
      mayTouchOwner(me, body.role);
      if (before.role === 'owner' && body.role !== 'owner') {
        if ((await activeOwners(s, me.tenant)).length <= 1) {
          throw new ConflictError('admin.owner', 'the last owner keeps the role');
        }
      }
      const after = await s.administrators.update(me.tenant, before.id, { role: body.role });
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'admin.role',
        target: before.id,
        outcome: 'success',
        details: { from: before.role, to: after.role },
      });
      return adminViewOf(after);
    }),
});

/**
 * `DELETE /admin/v1/administrators/:admin` (`admins.manage`, fresh factor): disables the
 * administrator (sessions and key stop working at once). Audited `admin.remove`.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/administrators/${admin.id}`, { method: 'DELETE', headers }); // 204
 * ```
 */
export const deleteAdministratorOperation = defineAdminOperation({
  id: 'deleteAdministrator',
  method: 'DELETE',
  path: '/admin/v1/administrators/:admin',
  tag: 'administrators',
  summary: 'Remove an administrator',
  access: { permission: 'admins.manage', freshFactor: true, allowKey: false },
  params: adminParams,
  status: 204,
  handle: async (ctx, { me, params }) => {
    await ctx.stores.transaction(async (s) => {
      const before = await existing(s, me.tenant, params.admin);
      mayTouchOwner(me, before.role);
      if (before.role === 'owner' && (await activeOwners(s, me.tenant)).length <= 1) {
        throw new ConflictError('admin.owner', 'the last owner cannot be removed');
      }
      await s.administrators.update(me.tenant, before.id, { disabled: true });
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'admin.remove',
        target: before.id,
        outcome: 'success',
        details: { role: before.role },
      });
    });
    return null;
  },
});

/**
 * The administrator operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, ADMINISTRATOR_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const ADMINISTRATOR_OPERATIONS = [
  listAdministratorsOperation,
  createAdministratorOperation,
  updateAdministratorOperation,
  deleteAdministratorOperation,
] as const;
