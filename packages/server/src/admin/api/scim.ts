/**
 * SCIM tokens and directory detachment in the admin API (`spec/directory.md` §2,
 * `spec/admin-api.md`): `scim.manage` (owner, admin; people only) creates (fresh factor), lists
 * and revokes (fresh factor) the tenant's SCIM bearer tokens, each bound to one directory source;
 * `users.block` (fresh factor) detaches a user from their directory. Each change and its audit
 * record commit in one transaction.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { userId } from '@cloister/protocol';
import { z } from 'zod';
import { checkDirectorySource, NotFoundError, type ScimToken } from '../../store/index.js';
import { bearerHash, newBearerSecret } from '../secrets.js';
import { defineAdminOperation } from './operation.js';
import { ADMIN_SCHEMAS, userParams, userView } from './schemas.js';
import { userViewOf } from './views.js';

/**
 * The prefix of every SCIM token: `scim_<base64url of 32 bytes>`.
 *
 * @example
 * ```ts
 * const looksLikeOne = token.startsWith(SCIM_TOKEN_PREFIX);
 * ```
 */
export const SCIM_TOKEN_PREFIX = 'scim_';

const tokenIdSchema = z.string().regex(/^stk_[A-Za-z0-9_-]{22}$/, 'a SCIM token id');
const sourceSchema = z
  .string()
  .regex(/^(scim|ldap:[a-z0-9-]{1,32})$/, "'scim' or 'ldap:<name>'")
  .describe("The directory source: 'scim' or 'ldap:<name>' (name of 1..32 of a-z 0-9 -).");

/**
 * A SCIM token as the admin API lists it: never the token or its hash.
 *
 * @example
 * ```ts
 * const listed = scimTokenView.array().parse((await response.json()).items);
 * ```
 */
export const scimTokenView = z
  .object({
    id: z.string(),
    name: z.string(),
    source: z.string(),
    createdAt: z.number().int(),
    expiresAt: z.number().int().nullable(),
    lastUsedAt: z.number().int().nullable().describe('To within a minute; null: never used.'),
  })
  .strict();
ADMIN_SCHEMAS.add(scimTokenView, { id: 'ScimToken', description: 'A SCIM token (never the token itself)' });

const viewOf = (t: ScimToken) => ({
  id: t.id,
  name: t.name,
  source: t.source,
  createdAt: t.createdAt,
  expiresAt: t.expiresAt,
  lastUsedAt: t.lastUsedAt,
});

/**
 * `POST /admin/v1/scim/tokens` `{ name, source?, ttlDays? }` (`scim.manage`, fresh factor, people
 * only) → 201 `{ id, name, source, token, createdAt, expiresAt }`: the token is shown once. At
 * most 5 live tokens per tenant (409 `conflict: scim.tokens`). Audited `scim.token.create`.
 *
 * @example
 * ```ts
 * const body = JSON.stringify({ name: 'Entra ID', source: 'scim', ttlDays: 365 });
 * const { token } = await (await fetch(`${url}/admin/v1/scim/tokens`, { method: 'POST', headers, body })).json();
 * ```
 */
export const createScimTokenOperation = defineAdminOperation({
  id: 'createScimToken',
  method: 'POST',
  path: '/admin/v1/scim/tokens',
  tag: 'scim',
  summary: 'Create a SCIM token (shown once)',
  access: { permission: 'scim.manage', freshFactor: true, allowKey: false },
  body: z
    .object({
      name: z.string().min(1).max(64),
      source: sourceSchema.optional(),
      ttlDays: z.number().int().min(1).max(730).optional(),
    })
    .strict(),
  status: 201,
  response: scimTokenView
    .omit({ lastUsedAt: true })
    .extend({ token: z.string().describe('`scim_<base64url>`: shown once.') })
    .strict(),
  handle: async (ctx, { me, body }) => {
    const token = `${SCIM_TOKEN_PREFIX}${newBearerSecret()}`;
    const now = ctx.now();
    const t: ScimToken = {
      tenant: me.tenant,
      id: `stk_${randomBytes(16).toString('base64url')}`,
      name: body.name,
      source: checkDirectorySource(body.source ?? 'scim'),
      tokenHash: bearerHash('scim', token),
      createdAt: now,
      createdBy: me.admin.id,
      expiresAt: body.ttlDays === undefined ? null : now + body.ttlDays * 86_400_000,
      lastUsedAt: null,
      revokedAt: null,
    };
    await ctx.stores.transaction(async (s) => {
      await s.scimTokens.create(t, now);
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'scim.token.create',
        target: t.id,
        outcome: 'success',
        details: { source: t.source, expiresAt: t.expiresAt },
      });
    });
    return {
      id: t.id,
      name: t.name,
      source: t.source,
      token,
      createdAt: t.createdAt,
      expiresAt: t.expiresAt,
    };
  },
});

/**
 * `GET /admin/v1/scim/tokens` (`scim.manage`, people only): the tenant's unrevoked tokens.
 *
 * @example
 * ```ts
 * const { items } = await (await fetch(`${url}/admin/v1/scim/tokens`, { headers })).json();
 * ```
 */
export const listScimTokensOperation = defineAdminOperation({
  id: 'listScimTokens',
  method: 'GET',
  path: '/admin/v1/scim/tokens',
  tag: 'scim',
  summary: 'List the SCIM tokens',
  access: { permission: 'scim.manage', allowKey: false },
  status: 200,
  response: z.object({ items: z.array(scimTokenView) }).strict(),
  handle: async (ctx, { me }) => ({ items: (await ctx.stores.scimTokens.list(me.tenant)).map(viewOf) }),
});

/**
 * `DELETE /admin/v1/scim/tokens/:id` (`scim.manage`, fresh factor, people only): revokes the
 * token; its next request is 401. Audited `scim.token.revoke`.
 *
 * @example
 * ```ts
 * await fetch(`${url}/admin/v1/scim/tokens/stk_AAAAAAAAAAAAAAAAAAAAAA`, { method: 'DELETE', headers });
 * ```
 */
export const revokeScimTokenOperation = defineAdminOperation({
  id: 'revokeScimToken',
  method: 'DELETE',
  path: '/admin/v1/scim/tokens/:id',
  tag: 'scim',
  summary: 'Revoke a SCIM token',
  access: { permission: 'scim.manage', freshFactor: true, allowKey: false },
  params: z.object({ id: tokenIdSchema }).strict(),
  status: 204,
  handle: async (ctx, { me, params }) => {
    await ctx.stores.transaction(async (s) => {
      const t = await s.scimTokens.revoke(me.tenant, params.id, ctx.now());
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'scim.token.revoke',
        target: t.id,
        outcome: 'success',
        details: { source: t.source },
      });
    });
    return null;
  },
});

/**
 * `POST /admin/v1/users/:user/detach` (`users.block`, fresh factor, people only): removes the
 * user's directory record (the directory no longer manages the user; a `left` user may then be
 * unblocked). 404 `user` for an unknown user, 409 `conflict: directory` for a user no directory
 * manages. Audited `user.detach` with the former source.
 *
 * @example
 * ```ts
 * const user = await (await fetch(`${url}/admin/v1/users/alice/detach`, { method: 'POST', headers })).json();
 * ```
 */
export const detachUserOperation = defineAdminOperation({
  id: 'detachUser',
  method: 'POST',
  path: '/admin/v1/users/:user/detach',
  tag: 'users',
  summary: 'Detach a user from their directory',
  access: { permission: 'users.block', freshFactor: true, allowKey: false },
  params: userParams,
  status: 200,
  response: userView,
  handle: async (ctx, { me, params }) => {
    const user = userId(params.user);
    const after = await ctx.stores.transaction(async (s) => {
      const before = await s.users.get(me.tenant, user);
      if (before === undefined) throw new NotFoundError('user');
      if (before.directory === null) throw new NotFoundError('directory');
      const updated = await s.users.update(me.tenant, user, { directory: null });
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'user.detach',
        target: user,
        outcome: 'success',
        details: { source: before.directory.source, state: before.directory.state },
      });
      return updated;
    });
    return userViewOf(after);
  },
});

/**
 * The SCIM token and directory operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, SCIM_ADMIN_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const SCIM_ADMIN_OPERATIONS = [
  createScimTokenOperation,
  listScimTokensOperation,
  revokeScimTokenOperation,
  detachUserOperation,
] as const;
