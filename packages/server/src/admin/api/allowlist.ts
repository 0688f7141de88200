/**
 * The tenant's allowlist in the admin API (R26, `spec/allowlist.md`): read it (`tenant.read`);
 * replace it whole, add entries, remove entries (`allowlist.write`), each write and its audit
 * record in one transaction. While it is on, an invite of a user outside it is refused, and so is
 * an enrolment (checked again when the token is redeemed): 403 `ERR_NOT_ALLOWLISTED`.
 *
 * @module
 */
import { userId } from '@cloister/protocol';
import { z } from 'zod';
import { type Allowlist, MAX_ALLOWLIST_ENTRIES } from '../../store/index.js';
import { defineAdminOperation } from './operation.js';
import { ADMIN_SCHEMAS, identifier } from './schemas.js';
import { adminTransaction } from './transaction.js';

const entries = {
  domains: z.array(z.string().max(253)).max(MAX_ALLOWLIST_ENTRIES).optional().describe('E-mail domains.'),
  users: z.array(identifier).max(MAX_ALLOWLIST_ENTRIES).optional().describe('User ids.'),
  emails: z.array(z.string().max(254)).max(MAX_ALLOWLIST_ENTRIES).optional().describe('E-mail addresses.'),
};

/**
 * The allowlist as the admin API shows it.
 *
 * @example
 * ```ts
 * const list = allowlistView.parse(await (await fetch(`${url}/admin/v1/allowlist`, { headers })).json());
 * console.log(list.enabled, list.domains);
 * ```
 */
export const allowlistView = z
  .object({
    enabled: z.boolean(),
    tenantDomains: z.boolean().describe("Whether the tenant's own domains count as listed."),
    domains: z.array(z.string()),
    users: z.array(identifier),
    emails: z.array(z.string()),
  })
  .strict();
ADMIN_SCHEMAS.add(allowlistView, {
  id: 'Allowlist',
  description: 'Who may be invited and enrol: e-mail domains, user ids and addresses, and the switch.',
});

const entriesBody = z.object(entries).strict();

function viewOf(a: Allowlist) {
  return {
    enabled: a.enabled,
    tenantDomains: a.tenantDomains,
    domains: [...a.domains],
    users: [...a.users],
    emails: [...a.emails],
  };
}

function withUserIds<B extends { users?: string[] | undefined }>(b: B) {
  const { users, ...rest } = b;
  return { ...rest, ...(users === undefined ? {} : { users: users.map((u) => userId(u)) }) };
}

const sizes = (b: {
  domains?: string[] | undefined;
  users?: string[] | undefined;
  emails?: string[] | undefined;
}) => ({
  domains: b.domains?.length ?? 0,
  users: b.users?.length ?? 0,
  emails: b.emails?.length ?? 0,
});

/**
 * `GET /admin/v1/allowlist` (`tenant.read`).
 *
 * @example
 * ```ts
 * const { enabled, domains } = await (await fetch(`${url}/admin/v1/allowlist`, { headers })).json();
 * ```
 */
export const getAllowlistOperation = defineAdminOperation({
  id: 'getAllowlist',
  method: 'GET',
  path: '/admin/v1/allowlist',
  tag: 'allowlist',
  summary: 'Read the allowlist',
  access: { permission: 'tenant.read' },
  status: 200,
  response: allowlistView,
  handle: async (ctx, { me }) => viewOf(await ctx.stores.allowlist.get(me.tenant)),
});

/**
 * `PUT /admin/v1/allowlist` (`allowlist.write`): replaces the whole list and its switch. Audited
 * `allowlist.replace` with the switch and the entry counts (not the entries).
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/allowlist`, { method: 'PUT', headers, body: JSON.stringify({ enabled: true, domains: ['acme.example'] }) });
 * ```
 */
export const replaceAllowlistOperation = defineAdminOperation({
  id: 'replaceAllowlist',
  method: 'PUT',
  path: '/admin/v1/allowlist',
  tag: 'allowlist',
  summary: 'Replace the allowlist (and turn it on or off)',
  access: { permission: 'allowlist.write' },
  body: z.object({ enabled: z.boolean(), tenantDomains: z.boolean().optional(), ...entries }).strict(),
  status: 200,
  response: allowlistView,
  handle: async (ctx, { me, body }) =>
    adminTransaction(ctx, async ({ stores }) => {
      const after = await stores.allowlist.replace(me.tenant, withUserIds(body));
      await stores.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'allowlist.replace',
        target: me.tenant,
        outcome: 'success',
        details: { enabled: after.enabled, tenantDomains: after.tenantDomains, ...sizes(body) },
      });
      return viewOf(after);
    }),
});

function entriesOperation(add: boolean) {
  return defineAdminOperation({
    id: add ? 'addAllowlistEntries' : 'removeAllowlistEntries',
    method: 'POST',
    path: add ? '/admin/v1/allowlist/entries' : '/admin/v1/allowlist/entries/remove',
    tag: 'allowlist',
    summary: add ? 'Add allowlist entries' : 'Remove allowlist entries',
    description: add
      ? `The switch stays as it is; at most ${MAX_ALLOWLIST_ENTRIES} entries in all (else 400).`
      : 'The switch stays as it is; entries not listed are ignored.',
    access: { permission: 'allowlist.write' },
    body: entriesBody,
    status: 200,
    response: allowlistView,
    handle: async (ctx, { me, body }) =>
      adminTransaction(ctx, async ({ stores }) => {
        const after = add
          ? await stores.allowlist.add(me.tenant, withUserIds(body))
          : await stores.allowlist.remove(me.tenant, withUserIds(body));
        await stores.audit.append(me.tenant, {
          actor: me.admin.id,
          action: add ? 'allowlist.add' : 'allowlist.remove',
          target: me.tenant,
          outcome: 'success',
          details: sizes(body),
        });
        return viewOf(after);
      }),
  });
}

/**
 * `POST /admin/v1/allowlist/entries` (`allowlist.write`): adds entries. Audited `allowlist.add`.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/allowlist/entries`, { method: 'POST', headers, body: JSON.stringify({ emails: ['carol@partner.example'] }) });
 * ```
 */
export const addAllowlistEntriesOperation = entriesOperation(true);

/**
 * `POST /admin/v1/allowlist/entries/remove` (`allowlist.write`): removes entries. Audited
 * `allowlist.remove`.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/allowlist/entries/remove`, { method: 'POST', headers, body: JSON.stringify({ domains: ['partner.example'] }) });
 * ```
 */
export const removeAllowlistEntriesOperation = entriesOperation(false);

/**
 * The allowlist operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, ALLOWLIST_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const ALLOWLIST_OPERATIONS = [
  getAllowlistOperation,
  replaceAllowlistOperation,
  addAllowlistEntriesOperation,
  removeAllowlistEntriesOperation,
] as const;
