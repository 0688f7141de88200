/**
 * The admin API's route module: registers every operation of `ADMIN_OPERATIONS` (authentication
 * and the permission first, then validation, then the handler) with the operator check of the
 * server's `operatorToken`, and serves the OpenAPI document at `GET /admin/v1/openapi.json`
 * (no authentication: it describes the API, it holds no data).
 *
 * @module
 */
import type { RouteModule } from '../../context.js';
import { ADMIN_SESSION_ROUTES } from '../routes.js';
import { buildOpenApiDocument, OPENAPI_PATH, type OpenApiDocument } from './openapi.js';
import { type AnyAdminOperation, registerAdminOperations } from './operation.js';
import { ADMIN_OPERATIONS } from './operations.js';
import { operatorCheck } from './operator.js';

/**
 * The admin-API routes over `operations`.
 *
 * @example
 * ```ts
 * // an admin-only server: login and session routes, and the user operations of the admin API
 * const adminServer = await createServer({ dataDir: './cloister-data', routes: [adminAuthRoutes, createAdminApiRoutes(USER_OPERATIONS)] });
 * ```
 */
export function createAdminApiRoutes(ops: readonly AnyAdminOperation[]): RouteModule {
  return (app, ctx) => {
    registerAdminOperations(app, ctx, ops, operatorCheck(ctx));
    let document: OpenApiDocument | undefined;
    app.get(OPENAPI_PATH, async (_request, reply) => {
      document ??= buildOpenApiDocument(ops, ADMIN_SESSION_ROUTES);
      return reply.header('cache-control', 'no-cache').send(document);
    });
  };
}

/**
 * The admin-API routes with every operation (registered by `createServer` after the admin
 * authentication routes).
 *
 * @example
 * ```ts
 * const adminServer = await createServer({ dataDir: './cloister-data', routes: [adminAuthRoutes, adminApiRoutes] });
 * ```
 */
export const adminApiRoutes: RouteModule = createAdminApiRoutes(ADMIN_OPERATIONS);
