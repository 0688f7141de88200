/**
 * One admin-API operation, declared once: its method and path, who may call it, its zod schemas
 * and its handler. `registerAdminOperations` turns a list of them into Fastify routes that
 * authenticate first (so a role without the permission gets 403 whatever it sends), then parse
 * the path, query and body with the schemas (400 `ERR_VALIDATION` naming the field), then run the
 * handler; the OpenAPI document (`openapi.ts`) is generated from the same declarations, so the
 * document and the routes cannot drift apart.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { ServerContext } from '../../context.js';
import { checkKeyPools, filterKeyPools } from '../integration-keys.js';
import type { AdminPermission } from '../permissions.js';
import { type AdminAuth, authenticateAdmin } from '../sessions.js';

/**
 * Who may call an operation:
 *
 * - `{ permission }`: an administrator session (or, unless `allowKey` is false, an integration
 *   key) whose role grants `permission`; `freshFactor` asks for a second factor presented within
 *   the session's fresh-factor window (step-up).
 * - `'operator'`: the server's operator (`Authorization: Cloister-Operator <token>`), for what
 *   exists before any tenant: creating tenants.
 *
 * @example
 * ```ts
 * const access: AdminAccess = { permission: 'devices.wipe', freshFactor: true, allowKey: false };
 * ```
 */
export type AdminAccess =
  | {
      /** The permission the caller's role (or an integration key's scopes) must grant. */
      readonly permission: AdminPermission;
      /** Whether a second factor presented within the fresh-factor window is required (default `false`). */
      readonly freshFactor?: boolean;
      /** Whether an integration key may call the operation (default `true`). */
      readonly allowKey?: boolean;
    }
  | 'operator';

/**
 * What a handler receives: the caller (undefined for operator operations) and the parsed input.
 *
 * @example
 * ```ts
 * import { userId } from '@cloister/protocol';
 *
 * const handle = async (c: ServerContext, input: AdminOperationInput<{ user: string }, undefined, undefined>) =>
 *   c.stores.users.get(input.me.tenant, userId(input.params.user));
 * ```
 */
export interface AdminOperationInput<P, Q, B> {
  /** The caller; undefined (despite the type) in an `'operator'` operation. */
  readonly me: AdminAuth;
  /** The path parameters, parsed by the operation's `params` schema (`undefined` without one). */
  readonly params: P;
  /** The query string, parsed by the operation's `query` schema (`undefined` without one). */
  readonly query: Q;
  /** The JSON body, parsed by the operation's `body` schema (`undefined` without one). */
  readonly body: B;
  /** The Fastify request. */
  readonly request: FastifyRequest;
  /** The Fastify reply; a handler that sends it itself (a stream) bypasses the success status. */
  readonly reply: FastifyReply;
}

/**
 * One operation of the admin API.
 *
 * @example
 * ```ts
 * import { userId } from '@cloister/protocol';
 * import { z } from 'zod';
 *
 * const blockUser: AdminOperation<{ user: string }, undefined, undefined> = defineAdminOperation({
 *   id: 'blockUser', method: 'POST', path: '/admin/v1/users/:user/block', tag: 'users',
 *   summary: 'Block a user', access: { permission: 'users.block' },
 *   params: z.object({ user: z.string() }).strict(), status: 204,
 *   handle: async (c, { me, params }) => c.stores.users.update(me.tenant, userId(params.user), { blocked: true }),
 * });
 * ```
 */
export interface AdminOperation<P = unknown, Q = unknown, B = unknown> {
  /** The OpenAPI `operationId`: unique, lowerCamelCase. */
  readonly id: string;
  /** The HTTP method. */
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Fastify path syntax (`/admin/v1/users/:user`); every `:name` has a member in `params`. */
  readonly path: string;
  /** The OpenAPI tag (one per resource: `tenants`, `users`, `devices`, …). */
  readonly tag: string;
  /** One-line OpenAPI summary. */
  readonly summary: string;
  /** Longer OpenAPI description (Markdown). */
  readonly description?: string;
  /** Who may call the operation. */
  readonly access: AdminAccess;
  /** Schema of the path parameters (400 `ERR_VALIDATION` when they do not parse). */
  readonly params?: z.ZodType<P>;
  /** Schema of the query string (400 `ERR_VALIDATION` when it does not parse). */
  readonly query?: z.ZodType<Q>;
  /** Schema of the JSON body (400 `ERR_VALIDATION` when it does not parse; an absent body is `{}`). */
  readonly body?: z.ZodType<B>;
  /** The success status (200, 201 or 204). */
  readonly status: 200 | 201 | 204;
  /**
   * The success body's schema (none for 204; `'jsonl'` for a stream of lines, each a JSON object or
   * a line of the format the operation names; `'text'` for a `text/plain` body such as a signed note).
   */
  readonly response?: z.ZodType | 'jsonl' | 'text';
  /** Runs the operation after authentication and parsing; resolves the success body (ignored for 204). */
  readonly handle: (ctx: ServerContext, input: AdminOperationInput<P, Q, B>) => Promise<unknown>;
}

/**
 * An operation whatever its input types, for lists of operations (each is type-checked where it
 * is declared).
 *
 * @example
 * ```ts
 * const ops: readonly AnyAdminOperation[] = [getTenantOperation, blockUserOperation];
 * registerAdminOperations(app, ctx, ops, operatorCheck(ctx));
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: a list holds operations of different input types
export type AnyAdminOperation = AdminOperation<any, any, any>;

/**
 * Declares an operation with its types inferred from the schemas.
 *
 * @example
 * ```ts
 * const whoami = defineAdminOperation({
 *   id: 'whoami', method: 'GET', path: '/admin/v1/whoami', tag: 'session', summary: 'Who am I',
 *   access: { permission: 'users.read' }, status: 200,
 *   handle: async (_c, { me }) => ({ admin: me.admin.id, role: me.admin.role }),
 * });
 * ```
 */
export function defineAdminOperation<P = undefined, Q = undefined, B = undefined>(
  op: AdminOperation<P, Q, B>,
): AdminOperation<P, Q, B> {
  return op;
}

/**
 * Checks the operator's bearer token for an `'operator'` operation; `UnauthenticatedError` when it
 * is missing or wrong (constant-time comparison of SHA-256 digests), or when the server has no
 * operator token configured.
 *
 * @example
 * ```ts
 * const check: OperatorCheck = operatorCheck(ctx);
 * check(request); // throws UnauthenticatedError unless `Authorization: Cloister-Operator <token>` matches
 * ```
 */
export type OperatorCheck = (request: FastifyRequest) => void;

/**
 * The audit actor of an operator operation (which has no administrator behind it, and whose `me`
 * is therefore undefined).
 *
 * @example
 * ```ts
 * await stores.audit.append(tenant, { actor: OPERATOR_ACTOR, action: 'tenant.create', target: tenant, outcome: 'success' });
 * ```
 */
export const OPERATOR_ACTOR = 'operator';

/**
 * Registers `operations` on `app`: authentication first, then validation, then the handler.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, USER_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export function registerAdminOperations(
  app: FastifyInstance,
  ctx: ServerContext,
  operations: readonly AnyAdminOperation[],
  checkOperator: OperatorCheck,
): void {
  for (const op of operations) {
    app.route({
      method: op.method,
      url: op.path,
      handler: async (request, reply) => {
        let me: AdminAuth;
        if (op.access === 'operator') {
          checkOperator(request);
          me = undefined as unknown as AdminAuth;
        } else {
          me = await authenticateAdmin(ctx, request, {
            permission: op.access.permission,
            ...(op.access.freshFactor === undefined ? {} : { freshFactor: op.access.freshFactor }),
            ...(op.access.allowKey === undefined ? {} : { allowKey: op.access.allowKey }),
          });
        }
        const params = op.params === undefined ? undefined : op.params.parse(request.params);
        const query = op.query === undefined ? undefined : op.query.parse(request.query);
        const body = op.body === undefined ? undefined : op.body.parse(request.body ?? {});
        // An integration key bound to pools sees and acts on the users of those pools only.
        if (me?.key?.pools) await checkKeyPools(ctx, op, me, params, body);
        const handled = await op.handle(ctx, { me, params, query, body, request, reply });
        const result = me?.key?.pools ? filterKeyPools(op, me, handled) : handled;
        if (reply.sent) return reply;
        if (op.status === 204) return reply.code(204).send();
        if (result === undefined) throw new Error(`admin operation ${op.id} answered nothing`);
        return reply.code(op.status).send(result);
      },
    });
  }
}

/**
 * A route of the admin plane that is not an {@link AdminOperation} (the session routes, which
 * authenticate in their own way, and the OpenAPI document itself), described as data for the
 * OpenAPI document.
 *
 * @example
 * ```ts
 * const logout: AdminRouteDescription = {
 *   id: 'logout', method: 'DELETE', path: '/admin/v1/session', tag: 'session',
 *   summary: 'End the session', security: 'session', status: 204,
 * };
 * ```
 */
export interface AdminRouteDescription {
  /** The OpenAPI `operationId`: unique, lowerCamelCase. */
  readonly id: string;
  /** The HTTP method. */
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Fastify path syntax (`/admin/v1/session`). */
  readonly path: string;
  /** The OpenAPI tag. */
  readonly tag: string;
  /** One-line OpenAPI summary. */
  readonly summary: string;
  /** Longer OpenAPI description (Markdown). */
  readonly description?: string;
  /** `none`: anyone; `session`: a person's session; `session-or-key`: a session or an integration key. */
  readonly security: 'none' | 'session' | 'session-or-key';
  /** Schema of the JSON body, if the route takes one. */
  readonly body?: z.ZodType;
  /** The success status (200, 201 or 204). */
  readonly status: 200 | 201 | 204;
  /** Schema of the success body (none for 204). */
  readonly response?: z.ZodType;
}
