/**
 * The e-mail domains of the caller's tenant: list (`tenant.read`), add and remove
 * (`tenant.manage`). A domain belongs to at most one tenant: adding one another tenant owns is
 * 409 `conflict: domain`, and says nothing more about that tenant.
 *
 * @module
 */
import { z } from 'zod';
import { NotFoundError, normalizeDomain } from '../../store/index.js';
import { defineAdminOperation } from './operation.js';

const domainsAnswer = z.object({ domains: z.array(z.string()) }).strict();
const domainParam = z.object({ domain: z.string().min(1).max(253) }).strict();

/**
 * `GET /admin/v1/tenant/domains` (`tenant.read`).
 *
 * @example
 * ```ts
 * const { domains } = await (await fetch(`${url}/admin/v1/tenant/domains`, { headers })).json();
 * ```
 */
export const listDomainsOperation = defineAdminOperation({
  id: 'listDomains',
  method: 'GET',
  path: '/admin/v1/tenant/domains',
  tag: 'tenants',
  summary: "The tenant's e-mail domains",
  access: { permission: 'tenant.read' },
  status: 200,
  response: domainsAnswer,
  handle: async (ctx, { me }) => ({ domains: await ctx.stores.domains.list(me.tenant) }),
});

/**
 * `POST /admin/v1/tenant/domains` `{ domain }` (`tenant.manage`): audited `tenant.domain.add`.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/tenant/domains`, { method: 'POST', headers, body: JSON.stringify({ domain: 'acme.example' }) });
 * ```
 */
export const addDomainOperation = defineAdminOperation({
  id: 'addDomain',
  method: 'POST',
  path: '/admin/v1/tenant/domains',
  tag: 'tenants',
  summary: 'Add an e-mail domain to the tenant',
  access: { permission: 'tenant.manage' },
  body: z.object({ domain: z.string().min(1).max(253) }).strict(),
  status: 201,
  response: domainsAnswer,
  handle: async (ctx, { me, body }) => {
    const domain = normalizeDomain(body.domain);
    return ctx.stores.transaction(async (s) => {
      const added = await s.domains.add(me.tenant, domain);
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'tenant.domain.add',
        target: domain,
        outcome: 'success',
        details: { added },
      });
      return { domains: await s.domains.list(me.tenant) };
    });
  },
});

/**
 * `DELETE /admin/v1/tenant/domains/:domain` (`tenant.manage`): 404 when the tenant does not own
 * it; audited `tenant.domain.remove`.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/tenant/domains/acme.example`, { method: 'DELETE', headers });
 * ```
 */
export const removeDomainOperation = defineAdminOperation({
  id: 'removeDomain',
  method: 'DELETE',
  path: '/admin/v1/tenant/domains/:domain',
  tag: 'tenants',
  summary: 'Remove an e-mail domain from the tenant',
  access: { permission: 'tenant.manage' },
  params: domainParam,
  status: 204,
  handle: async (ctx, { me, params }) => {
    const domain = normalizeDomain(params.domain);
    await ctx.stores.transaction(async (s) => {
      if (!(await s.domains.remove(me.tenant, domain))) throw new NotFoundError('domain');
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'tenant.domain.remove',
        target: domain,
        outcome: 'success',
      });
    });
    return null;
  },
});

/**
 * The domain operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, DOMAIN_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const DOMAIN_OPERATIONS = [listDomainsOperation, addDomainOperation, removeDomainOperation] as const;
