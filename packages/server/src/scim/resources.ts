/**
 * What SCIM requests share: the schema URNs, the request scope (token, tenant, base URL, whether
 * the tenant has e-mail domains), `If-Match` and ETag handling, list responses, paging
 * parameters, attribute projection and `application/scim+json` answers.
 *
 * @module
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import type { ScimToken } from '../store/index.js';
import { ScimError } from './errors.js';

/**
 * The core User schema URN.
 *
 * @example
 * ```ts
 * const isUser = (await response.json()).schemas.includes(USER_SCHEMA);
 * ```
 */
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
/**
 * The core Group schema URN.
 *
 * @example
 * ```ts
 * const isGroup = (await response.json()).schemas.includes(GROUP_SCHEMA);
 * ```
 */
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
/**
 * Cloister's User extension (read-only: `source`, `directoryState`, `blocked`, `reenableRequested`).
 *
 * @example
 * ```ts
 * const blocked = (await response.json())[CLOISTER_USER_SCHEMA]?.blocked;
 * ```
 */
export const CLOISTER_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:cloister:2.0:User';
/**
 * The list response URN.
 *
 * @example
 * ```ts
 * const isList = (await response.json()).schemas.includes(LIST_SCHEMA);
 * ```
 */
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
/**
 * Largest page of a listing (`count`) and of a group's members: 200.
 *
 * @example
 * ```ts
 * console.log(SCIM_MAX_RESULTS); // 200
 * ```
 */
export const SCIM_MAX_RESULTS = 200;

/**
 * One SCIM request's scope.
 *
 * @example
 * ```ts
 * const scope: ScimScope = { ctx, token, baseUrl: 'https://chat.acme.example/scim/v2', hasDomains: true };
 * ```
 */
export interface ScimScope {
  /** The server context. */
  readonly ctx: ServerContext;
  /** The authenticated token (tenant and source). */
  readonly token: ScimToken;
  /** `https://<host>/scim/v2`, for `meta.location`. */
  readonly baseUrl: string;
  /** Whether the tenant has e-mail domains (then `userName` is the e-mail address). */
  readonly hasDomains: boolean;
}

/**
 * The audit actor of a token's changes: `directory:<source>`.
 *
 * @example
 * ```ts
 * actorOf(token); // 'directory:scim'
 * ```
 */
export function actorOf(token: ScimToken): string {
  return `directory:${token.source}`;
}

/**
 * The weak ETag of a revision: `W/"<revision>"`.
 *
 * @example
 * ```ts
 * etagOf(3); // 'W/"3"'
 * ```
 */
export function etagOf(revision: number): string {
  return `W/"${revision}"`;
}

/**
 * Checks `If-Match` against the current revision: absent or `*` passes; otherwise one of the
 * listed ETags (weak or strong spelling) must name the revision, else 412.
 *
 * @example
 * ```ts
 * checkIfMatch(request.headers['if-match'], user.revision);
 * ```
 */
export function checkIfMatch(header: unknown, revision: number): void {
  if (header === undefined) return;
  const text = Array.isArray(header) ? header.join(',') : String(header);
  const tags = text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (tags.includes('*')) return;
  const want = `"${revision}"`;
  if (tags.some((t) => t === want || t === `W/${want}`)) return;
  throw new ScimError(412, undefined, 'the resource changed (If-Match)');
}

function intParam(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^-?\d{1,9}$/.test(value))
    throw new ScimError(400, 'invalidValue', `${field} must be an integer`);
  return Number(value);
}

/**
 * `startIndex` (1-based; less than 1 counts as 1) and `count` (0..{@link SCIM_MAX_RESULTS}; more
 * is capped; default `fallback`).
 *
 * @example
 * ```ts
 * const { startIndex, count } = pageParams(request.query as Record<string, unknown>, 100);
 * ```
 */
export function pageParams(
  query: Readonly<Record<string, unknown>>,
  fallback: number,
): { startIndex: number; count: number } {
  const startIndex = Math.max(1, intParam(query.startIndex, 'startIndex', 1));
  const count = Math.min(SCIM_MAX_RESULTS, Math.max(0, intParam(query.count, 'count', fallback)));
  return { startIndex, count };
}

function attrList(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > 1024)
    throw new ScimError(400, 'invalidValue', 'attributes must be a list');
  return value
    .split(',')
    .map((a) => a.trim().toLowerCase())
    .filter((a) => a !== '')
    .map((a) => a.replace(/^urn:ietf:params:scim:schemas:core:2\.0:(user|group):/, ''))
    .map((a) => a.split('.')[0] ?? a);
}

/**
 * Projects a resource on `attributes` / `excludedAttributes` (top-level names; `id`, `schemas`
 * and `meta` are always returned).
 *
 * @example
 * ```ts
 * const shown = project(resource, { attributes: 'userName,active' });
 * ```
 */
export function project<T extends Record<string, unknown>>(
  resource: T,
  query: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const only = attrList(query.attributes);
  const without = attrList(query.excludedAttributes);
  if (only === undefined && without === undefined) return resource;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(resource)) {
    const name = k.toLowerCase();
    const always = name === 'id' || name === 'schemas' || name === 'meta';
    if (!always && only !== undefined && !only.includes(name)) continue;
    if (!always && without?.includes(name)) continue;
    out[k] = v;
  }
  return out;
}

/**
 * Whether the query asks for an attribute by name in `attributes`.
 *
 * @example
 * ```ts
 * const withMembers = asksFor(request.query as Record<string, unknown>, 'members');
 * ```
 */
export function asksFor(query: Readonly<Record<string, unknown>>, attribute: string): boolean {
  return attrList(query.attributes)?.includes(attribute.toLowerCase()) === true;
}

/**
 * Sends a SCIM answer with its content type and, when given, its ETag.
 *
 * @example
 * ```ts
 * return sendScim(reply, 200, resource, user.revision);
 * ```
 */
export function sendScim(
  reply: FastifyReply,
  status: number,
  body: unknown,
  revision?: number,
): FastifyReply {
  void reply.code(status).header('content-type', 'application/scim+json; charset=utf-8');
  if (revision !== undefined) void reply.header('etag', etagOf(revision));
  return status === 204 ? reply.send() : reply.send(body);
}

/**
 * A list response.
 *
 * @example
 * ```ts
 * return sendScim(reply, 200, listResponse(items, total, startIndex));
 * ```
 */
export function listResponse(resources: readonly unknown[], totalResults: number, startIndex: number) {
  return {
    schemas: [LIST_SCHEMA],
    totalResults,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

/**
 * The base URL of SCIM resources as the client reached them.
 *
 * @example
 * ```ts
 * const base = baseUrlOf(request); // 'https://chat.acme.example/scim/v2'
 * ```
 */
export function baseUrlOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}/scim/v2`;
}

/**
 * The query of a request as a record.
 *
 * @example
 * ```ts
 * const q = queryOf(request);
 * ```
 */
export function queryOf(request: FastifyRequest): Readonly<Record<string, unknown>> {
  const q = request.query;
  return typeof q === 'object' && q !== null ? (q as Record<string, unknown>) : {};
}
