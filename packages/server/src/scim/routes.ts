/**
 * The SCIM 2.0 service provider's routes under `/scim/v2` (`spec/directory.md` §2): Users,
 * Groups, ServiceProviderConfig, ResourceTypes, Schemas. Every route authenticates a SCIM token
 * first (`auth.ts`); bodies are `application/scim+json` or `application/json`; every error is a
 * SCIM error body (`errors.ts`). The per-address limit of the server is raised for these routes
 * (an identity provider calls from few addresses); each token has its own limit instead.
 *
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteModule, ServerContext } from '../context.js';
import { authenticateScim } from './auth.js';
import { resourceTypes, schemas, serviceProviderConfig } from './discovery.js';
import { ScimError, sendScimError } from './errors.js';
import {
  createScimGroup,
  deleteScimGroup,
  getScimGroup,
  listScimGroups,
  patchScimGroup,
  replaceScimGroup,
  scimGroupOf,
} from './groups.js';
import {
  asksFor,
  baseUrlOf,
  listResponse,
  pageParams,
  project,
  queryOf,
  type ScimScope,
  SCIM_MAX_RESULTS,
  sendScim,
} from './resources.js';
import {
  createScimUser,
  deleteScimUser,
  getScimUser,
  listScimUsers,
  patchScimUser,
  replaceScimUser,
  scimUserId,
  scimUserOf,
} from './users.js';

/**
 * The base path of the SCIM routes.
 *
 * @example
 * ```ts
 * const users = await fetch(`${url}${SCIM_BASE_PATH}/Users`, { headers: { authorization: `Bearer ${token}` } });
 * ```
 */
export const SCIM_BASE_PATH = '/scim/v2';

/**
 * Whether a request URL (path and query, as Fastify reports it) is under {@link SCIM_BASE_PATH},
 * so that errors raised before routing are answered in the SCIM error format.
 *
 * @example
 * ```ts
 * isScimPath('/scim/v2/Users?filter=x'); // true
 * isScimPath('/scim/v20'); // false
 * ```
 */
export function isScimPath(url: string): boolean {
  return url === SCIM_BASE_PATH || /^\/scim\/v2[/?]/.test(url);
}

/** Requests per minute per address on the SCIM routes (the tokens' own limits are tighter). */
const PER_ADDRESS_PER_MINUTE = 12_000;

function filterOf(query: Readonly<Record<string, unknown>>): string | undefined {
  const f = query.filter;
  if (f === undefined) return undefined;
  if (typeof f !== 'string')
    throw new ScimError(400, 'invalidFilter', 'the filter is not valid or not supported');
  return f;
}

function idOf(request: FastifyRequest): string {
  const id = (request.params as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string') throw new ScimError(404, undefined, 'no such resource');
  return id;
}

async function scopeOf(ctx: ServerContext, request: FastifyRequest): Promise<ScimScope> {
  const token = await authenticateScim(ctx, request);
  const hasDomains = (await ctx.stores.domains.list(token.tenant)).length > 0;
  return { ctx, token, baseUrl: baseUrlOf(request), hasDomains };
}

type Handler = (scope: ScimScope, request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;

function register(scope: FastifyInstance, ctx: ServerContext): void {
  const config = { rateLimit: { max: PER_ADDRESS_PER_MINUTE, timeWindow: 60_000 } };
  const route = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, handler: Handler) =>
    scope.route({
      method,
      url,
      config,
      handler: async (request, reply) => handler(await scopeOf(ctx, request), request, reply),
    });

  route('GET', '/ServiceProviderConfig', async (s, _q, reply) =>
    sendScim(reply, 200, serviceProviderConfig(s.baseUrl)),
  );
  route('GET', '/ResourceTypes', async (s, _q, reply) => {
    const all = resourceTypes(s.baseUrl);
    return sendScim(reply, 200, listResponse(all, all.length, 1));
  });
  route('GET', '/ResourceTypes/:id', async (s, request, reply) => {
    const found = resourceTypes(s.baseUrl).find((r) => r.id === idOf(request));
    if (found === undefined) throw new ScimError(404, undefined, 'no such resource type');
    return sendScim(reply, 200, found);
  });
  route('GET', '/Schemas', async (s, _q, reply) => {
    const all = schemas(s.baseUrl);
    return sendScim(reply, 200, listResponse(all, all.length, 1));
  });
  route('GET', '/Schemas/:id', async (s, request, reply) => {
    const found = schemas(s.baseUrl).find((r) => r.id === idOf(request));
    if (found === undefined) throw new ScimError(404, undefined, 'no such schema');
    return sendScim(reply, 200, found);
  });

  route('GET', '/Users', async (s, request, reply) => {
    const query = queryOf(request);
    const { startIndex, count } = pageParams(query, 100);
    const { total, items } = await listScimUsers(s, filterOf(query), startIndex, count);
    const names = new Map<string, string>();
    const resources = [];
    for (const u of items) resources.push(project({ ...(await scimUserOf(s, u, names)) }, query));
    return sendScim(reply, 200, listResponse(resources, total, startIndex));
  });
  route('POST', '/Users', async (s, request, reply) => {
    const u = await createScimUser(s, request.body);
    return sendScim(reply, 201, await scimUserOf(s, u), u.revision);
  });
  route('GET', '/Users/:id', async (s, request, reply) => {
    const u = await getScimUser(s, idOf(request));
    return sendScim(reply, 200, project({ ...(await scimUserOf(s, u)) }, queryOf(request)), u.revision);
  });
  route('PUT', '/Users/:id', async (s, request, reply) => {
    const u = await replaceScimUser(s, scimUserId(idOf(request)), request.body, request.headers['if-match']);
    return sendScim(reply, 200, await scimUserOf(s, u), u.revision);
  });
  route('PATCH', '/Users/:id', async (s, request, reply) => {
    const u = await patchScimUser(s, scimUserId(idOf(request)), request.body, request.headers['if-match']);
    return sendScim(reply, 200, await scimUserOf(s, u), u.revision);
  });
  route('DELETE', '/Users/:id', async (s, request, reply) => {
    await deleteScimUser(s, scimUserId(idOf(request)), request.headers['if-match']);
    return sendScim(reply, 204, undefined);
  });

  route('GET', '/Groups', async (s, request, reply) => {
    const query = queryOf(request);
    const { startIndex, count } = pageParams(query, 100);
    const { total, items } = await listScimGroups(s, filterOf(query), startIndex, count);
    const resources = [];
    for (const p of items) resources.push(project({ ...(await scimGroupOf(s, p)) }, query));
    return sendScim(reply, 200, listResponse(resources, total, startIndex));
  });
  route('POST', '/Groups', async (s, request, reply) => {
    const p = await createScimGroup(s, request.body);
    return sendScim(reply, 201, await scimGroupOf(s, p), p.revision ?? 1);
  });
  route('GET', '/Groups/:id', async (s, request, reply) => {
    const query = queryOf(request);
    const p = await getScimGroup(s, idOf(request));
    const members = asksFor(query, 'members') ? pageParams(query, SCIM_MAX_RESULTS) : undefined;
    const g = await scimGroupOf(s, p, members);
    return sendScim(reply, 200, members === undefined ? project({ ...g }, query) : g, p.revision ?? 1);
  });
  route('PUT', '/Groups/:id', async (s, request, reply) => {
    const p = await replaceScimGroup(s, idOf(request), request.body, request.headers['if-match']);
    return sendScim(reply, 200, await scimGroupOf(s, p), p.revision ?? 1);
  });
  route('PATCH', '/Groups/:id', async (s, request, reply) => {
    const p = await patchScimGroup(s, idOf(request), request.body, request.headers['if-match']);
    return sendScim(reply, 200, await scimGroupOf(s, p), p.revision ?? 1);
  });
  route('DELETE', '/Groups/:id', async (s, request, reply) => {
    await deleteScimGroup(s, idOf(request), request.headers['if-match']);
    return sendScim(reply, 204, undefined);
  });
}

/**
 * Registers the SCIM routes under {@link SCIM_BASE_PATH}, with their own error and not-found
 * handlers and the `application/scim+json` body parser.
 *
 * @example
 * ```ts
 * const cloister = await createServer({ dataDir: './data', routes: [scimRoutes] });
 * ```
 */
export const scimRoutes: RouteModule = async (app, ctx) => {
  await app.register(
    async (scope) => {
      scope.addContentTypeParser(['application/scim+json'], { parseAs: 'string' }, (_request, body, done) => {
        try {
          done(null, body === '' ? undefined : JSON.parse(body as string));
        } catch {
          done(new ScimError(400, 'invalidSyntax', 'the body is not JSON'), undefined);
        }
      });
      scope.setErrorHandler((error, _request, reply) => sendScimError(reply, error));
      scope.setNotFoundHandler((_request, reply) =>
        sendScimError(reply, new ScimError(404, undefined, 'no such endpoint')),
      );
      register(scope, ctx);
    },
    { prefix: SCIM_BASE_PATH },
  );
};
