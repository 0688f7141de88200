/**
 * Tenants in the admin API: the operator creates a tenant together with its first owner (one
 * transaction; the owner's TOTP URI and recovery codes are answered once) and lists tenants; an
 * administrator reads their own tenant.
 *
 * @module
 */
import { tenantId } from '@cloister/protocol';
import { z } from 'zod';
import { NotFoundError } from '../../store/index.js';
import { createTenant } from '../../tenants.js';
import { createHumanAdministrator } from '../enrolment.js';
import { defineAdminOperation, OPERATOR_ACTOR } from './operation.js';
import {
  adminName,
  displayName,
  emailSchema,
  identifier,
  pageQuery,
  passwordSchema,
  tenantView,
} from './schemas.js';
import { adminTransaction } from './transaction.js';
import { tenantViewOf } from './views.js';

const createTenantBody = z
  .object({
    id: identifier,
    name: displayName,
    domains: z.array(z.string().min(1).max(253)).max(100).optional(),
    owner: z.object({ email: emailSchema, name: adminName, password: passwordSchema }).strict(),
  })
  .strict();

const createTenantAnswer = z
  .object({
    tenant: tenantView,
    owner: z
      .object({
        admin: z.string(),
        totpUri: z.string().describe('otpauth:// URI holding the TOTP secret: shown once.'),
        recoveryCodes: z.array(z.string()).describe('Ten single-use recovery codes: shown once.'),
      })
      .strict(),
  })
  .strict();

/**
 * `POST /admin/v1/tenants` (operator): creates a tenant, its signing key, its domains and its first
 * owner in one transaction, audited as `tenant.create` and `admin.bootstrap` by `operator`.
 *
 * @example
 * ```ts
 * const operatorToken = process.env.CLOISTER_OPERATOR_TOKEN ?? '';
 * const res = await fetch(`${url}/admin/v1/tenants`, {
 *   method: 'POST',
 *   headers: { authorization: `${OPERATOR_SCHEME} ${operatorToken}`, 'content-type': 'application/json' },
 *   body: JSON.stringify({
 *     id: 'acme', name: 'ACME', domains: ['acme.example'],
 *     owner: { email: 'owner@acme.example', name: 'Owner', password: 'correct horse battery staple' },
 *   }),
 * });
 * const { tenant: created, owner } = await res.json(); // owner.totpUri and owner.recoveryCodes: shown once
 * ```
 */
export const createTenantOperation = defineAdminOperation({
  id: 'createTenant',
  method: 'POST',
  path: '/admin/v1/tenants',
  tag: 'tenants',
  summary: 'Create a tenant and its first owner',
  description:
    'The operator creates the tenant (its server signing key and e-mail domains) and its first owner in one ' +
    'transaction. The owner TOTP URI and recovery codes are answered once and never again.',
  access: 'operator',
  body: createTenantBody,
  status: 201,
  response: createTenantAnswer,
  handle: async (ctx, { body }) => {
    const id = tenantId(body.id);
    const { tenant, owner } = await adminTransaction(ctx, async ({ stores, scope }) => {
      const created = await createTenant(scope, { id, name: body.name, domains: body.domains ?? [] });
      await stores.audit.append(id, {
        actor: OPERATOR_ACTOR,
        action: 'tenant.create',
        target: id,
        outcome: 'success',
        details: { domains: (body.domains ?? []).length },
      });
      const enrolment = await createHumanAdministrator(stores, id, 'owner', body.owner, {
        actor: OPERATOR_ACTOR,
        onlyIfFirst: true,
      });
      return { tenant: await tenantViewOf({ stores }, created.tenant), owner: enrolment };
    });
    return {
      tenant,
      owner: { admin: owner.admin, totpUri: owner.totpUri, recoveryCodes: [...owner.recoveryCodes] },
    };
  },
});

/**
 * `GET /admin/v1/tenants` (operator): the tenants, paged.
 *
 * @example
 * ```ts
 * const { items, next } = await (await fetch(`${url}/admin/v1/tenants?limit=50`, { headers })).json();
 * ```
 */
export const listTenantsOperation = defineAdminOperation({
  id: 'listTenants',
  method: 'GET',
  path: '/admin/v1/tenants',
  tag: 'tenants',
  summary: 'List tenants',
  access: 'operator',
  query: pageQuery,
  status: 200,
  response: z.object({ items: z.array(tenantView), next: z.string().optional() }).strict(),
  handle: async (ctx, { query }) => {
    const page = await ctx.stores.tenants.list({
      ...(query.after === undefined ? {} : { after: query.after }),
      ...(query.limit === undefined ? {} : { limit: query.limit }),
    });
    const items = [];
    for (const t of page.items) items.push(await tenantViewOf(ctx, t));
    return { items, ...(page.next === undefined ? {} : { next: page.next }) };
  },
});

/**
 * `GET /admin/v1/tenant` (`tenant.read`): the caller's own tenant.
 *
 * @example
 * ```ts
 * const tenant = await (await fetch(`${url}/admin/v1/tenant`, { headers })).json();
 * ```
 */
export const getTenantOperation = defineAdminOperation({
  id: 'getTenant',
  method: 'GET',
  path: '/admin/v1/tenant',
  tag: 'tenants',
  summary: "The caller's tenant",
  access: { permission: 'tenant.read' },
  status: 200,
  response: tenantView,
  handle: async (ctx, { me }) => {
    const tenant = await ctx.stores.tenants.get(me.tenant);
    if (tenant === undefined) throw new NotFoundError('tenant');
    return tenantViewOf(ctx, tenant);
  },
});

/**
 * The tenant operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, TENANT_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const TENANT_OPERATIONS = [createTenantOperation, listTenantsOperation, getTenantOperation] as const;
