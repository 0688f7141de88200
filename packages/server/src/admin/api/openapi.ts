/**
 * The OpenAPI 3.1 document of the admin API, generated from the operation declarations
 * (`ADMIN_OPERATIONS`) and the session routes described as data (`ADMIN_SESSION_ROUTES`): paths,
 * parameters, request and answer bodies from the same zod schemas the routes parse with
 * (`z.toJSONSchema`, JSON Schema 2020-12, which OpenAPI 3.1 uses as is), one component per named
 * schema, the three security schemes, and the error answers with their body. Served without
 * authentication at `GET /admin/v1/openapi.json`.
 *
 * @module
 */
import { z } from 'zod';
import type { AdminAccess, AdminRouteDescription, AnyAdminOperation } from './operation.js';
import { errorBodySchema, namedAdminSchemas } from './schemas.js';

/**
 * The path the document is served at.
 *
 * @example
 * ```ts
 * const doc = await (await fetch(`${url}${OPENAPI_PATH}`)).json();
 * ```
 */
export const OPENAPI_PATH = '/admin/v1/openapi.json';

/**
 * The OpenAPI document (a plain JSON object).
 *
 * @example
 * ```ts
 * const doc: OpenApiDocument = buildOpenApiDocument(ADMIN_OPERATIONS, ADMIN_SESSION_ROUTES);
 * console.log(doc.openapi, Object.keys(doc.paths).length); // '3.1.0' and the number of paths
 * ```
 */
export interface OpenApiDocument {
  /** The OpenAPI version, `3.1.0`. */
  readonly openapi: string;
  /** The API's title, version and description. */
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  /** One tag per resource, with its description. */
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  /** The operations by OpenAPI path (`/admin/v1/users/{user}`), then by lower-case method. */
  readonly paths: Record<string, Record<string, OpenApiOperation>>;
  /** The named schemas, the shared error answers and the three security schemes. */
  readonly components: {
    readonly schemas: Record<string, unknown>;
    readonly responses: Record<string, unknown>;
    readonly securitySchemes: Record<string, unknown>;
  };
}

/**
 * One operation of an {@link OpenApiDocument}.
 *
 * @example
 * ```ts
 * const doc = buildOpenApiDocument(ADMIN_OPERATIONS, ADMIN_SESSION_ROUTES);
 * const op: OpenApiOperation | undefined = doc.paths['/admin/v1/users']?.['get'];
 * console.log(op?.operationId, op?.['x-cloister-permission']); // 'listUsers' 'users.read'
 * ```
 */
export interface OpenApiOperation {
  /** The operation's id, unique in the document (lowerCamelCase). */
  readonly operationId: string;
  /** One-line summary. */
  readonly summary: string;
  /** Longer description (Markdown). */
  readonly description?: string;
  /** The operation's tag (one). */
  readonly tags: readonly string[];
  /** The accepted security schemes (empty: no authentication). */
  readonly security: readonly Record<string, readonly string[]>[];
  /** The path and query parameters. */
  readonly parameters?: readonly {
    readonly name: string;
    readonly in: 'path' | 'query';
    readonly required: boolean;
    readonly schema: unknown;
    readonly description?: string;
  }[];
  /** The JSON request body, if the operation takes one. */
  readonly requestBody?: unknown;
  /** The answers by status code: the success answer and the error answers. */
  readonly responses: Record<string, unknown>;
  /** The permission the operation needs (absent for operator and session routes). */
  readonly 'x-cloister-permission'?: string;
  /** `true` when the operation needs a fresh second factor (step-up). */
  readonly 'x-cloister-fresh-factor'?: boolean;
}

const TAGS: Readonly<Record<string, string>> = {
  session: 'Administrator login, the session and step-up (spec/admin-auth.md).',
  tenants: "Tenants (operator), the caller's tenant and its e-mail domains.",
  administrators: 'Administrators: people with a role and TOTP, and integrations with a scoped key.',
  users: 'Users: invite (an enrolment token shown once), block, unblock, delete.',
  devices: 'Devices of users: list, block, unblock, wipe.',
  activity: 'What the server knows of a user and their devices: times and versions, no content, no contacts.',
  audit:
    'The hash-chained audit log: search, verify, export (JSON lines, CEF, OCSF), C2SP signed checkpoints and Merkle proofs (spec/audit-log.md).',
  archive:
    "The compliance archive: the auditors' key sets (wrapped shares the server cannot open) and the sealed items, for auditors only (spec/archive-server.md).",
  'legal-holds': 'Legal holds on named users: their deletion and the archive’s shredding wait until lifted.',
  organisation: 'The organisation trust chain: the root and the objects it certifies (spec/organisation.md).',
  broadcasts: 'Broadcasts signed by administrators.',
  meta: 'This document.',
};

const ERRORS: Readonly<Record<string, readonly [string, string]>> = {
  '400': ['BadRequest', 'ERR_VALIDATION (or ERR_DECODE, ERR_INVALID_KEY): the named field is malformed.'],
  '401': ['Unauthenticated', 'ERR_UNAUTHENTICATED: no, an unknown, an expired or a wrong credential.'],
  '403': [
    'Forbidden',
    'ERR_FORBIDDEN: the role (or key scope) lacks the permission, or a fresh second factor is needed.',
  ],
  '404': ['NotFound', "ERR_NOT_FOUND: no such object in the caller's tenant (another tenant's is 404 too)."],
  '409': ['Conflict', 'ERR_CONFLICT: the change conflicts with the stored state (the constraint is named).'],
  '429': ['RateLimited', 'ERR_RATE_LIMITED: too many requests; retry after the retry-after header.'],
};

const pascal = (id: string): string => id.charAt(0).toUpperCase() + id.slice(1);
const openApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

function strip(schema: unknown): unknown {
  if (typeof schema !== 'object' || schema === null) return schema;
  const { $schema: _s, $id: _i, ...rest } = schema as Record<string, unknown>;
  return rest;
}

function fieldSchema(field: z.ZodType): unknown {
  return strip(z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' }));
}

type Shape = Record<string, z.ZodType>;
function shapeOf(schema: z.ZodType | undefined): Shape {
  if (schema === undefined) return {};
  const shape = (schema as unknown as { shape?: Shape }).shape;
  return shape ?? {};
}

function security(access: AdminAccess | AdminRouteDescription['security']) {
  if (access === 'none') return [];
  if (access === 'operator') return [{ operatorToken: [] }];
  if (access === 'session') return [{ adminSession: [] }];
  if (access === 'session-or-key') return [{ adminSession: [] }, { integrationKey: [] }];
  return access.allowKey === false || access.freshFactor === true
    ? [{ adminSession: [] }]
    : [{ adminSession: [] }, { integrationKey: [] }];
}

function errorRefs(codes: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of codes) {
    const e = ERRORS[c];
    if (e !== undefined) out[c] = { $ref: `#/components/responses/${e[0]}` };
  }
  return out;
}

interface Declared {
  readonly id: string;
  readonly method: string;
  readonly path: string;
  readonly tag: string;
  readonly summary: string;
  readonly description?: string | undefined;
  readonly access: AdminAccess | AdminRouteDescription['security'];
  readonly params?: z.ZodType | undefined;
  readonly query?: z.ZodType | undefined;
  readonly body?: z.ZodType | undefined;
  readonly status: number;
  readonly response?: z.ZodType | 'jsonl' | 'text' | undefined;
}

/**
 * Builds the document from `operations` and the other `routes`.
 *
 * @example
 * ```ts
 * const doc = buildOpenApiDocument(ADMIN_OPERATIONS, ADMIN_SESSION_ROUTES);
 * console.log(Object.keys(doc.components.schemas).length);
 * ```
 */
export function buildOpenApiDocument(
  operations: readonly AnyAdminOperation[],
  routes: readonly AdminRouteDescription[] = [],
): OpenApiDocument {
  const registry = z.registry<{ id: string; description?: string }>();
  const names = new Map<z.ZodType, string>();
  const name = (schema: z.ZodType, id: string, description?: string): string => {
    const known = names.get(schema);
    if (known !== undefined) return known;
    let unique = id;
    for (let i = 2; [...names.values()].includes(unique); i++) unique = `${id}${i}`;
    registry.add(schema, description === undefined ? { id: unique } : { id: unique, description });
    names.set(schema, unique);
    return unique;
  };
  for (const n of namedAdminSchemas()) name(n.schema, n.id, n.description);

  const declared: Declared[] = [
    ...routes.map((r) => ({ ...r, access: r.security })),
    ...operations.map((o) => ({ ...o })),
    {
      id: 'getOpenApi',
      method: 'GET',
      path: OPENAPI_PATH,
      tag: 'meta',
      summary: 'This OpenAPI document',
      access: 'none' as const,
      status: 200,
    },
  ];

  const paths: Record<string, Record<string, OpenApiOperation>> = {};
  const tags = new Set<string>();
  for (const d of declared) {
    tags.add(d.tag);
    const parameters: NonNullable<OpenApiOperation['parameters']>[number][] = [];
    for (const [key, field] of Object.entries(shapeOf(d.params))) {
      parameters.push({ name: key, in: 'path', required: true, schema: fieldSchema(field) });
    }
    for (const [key, field] of Object.entries(shapeOf(d.query))) {
      const description = field.description;
      parameters.push({
        name: key,
        in: 'query',
        required: !field.safeParse(undefined).success,
        schema: fieldSchema(field),
        ...(description === undefined ? {} : { description }),
      });
    }
    const responses: Record<string, unknown> = {};
    if (d.response === 'jsonl') {
      responses[String(d.status)] = {
        description:
          'A stream of lines, one record per line, as the operation describes (JSON lines unless a format says otherwise).',
        content: { 'application/x-ndjson': { schema: { type: 'string' } } },
      };
    } else if (d.response === 'text') {
      responses[String(d.status)] = {
        description: 'Plain text, as the operation describes.',
        content: { 'text/plain': { schema: { type: 'string' } } },
      };
    } else if (d.response !== undefined && d.status !== 204) {
      responses[String(d.status)] = {
        description: 'Success.',
        content: { 'application/json': { schema: ref(name(d.response, `${pascal(d.id)}Response`)) } },
      };
    } else if (d.id === 'getOpenApi') {
      responses['200'] = {
        description: 'This document.',
        content: { 'application/json': { schema: { type: 'object' } } },
      };
    } else {
      responses[String(d.status)] = { description: 'Done; no body.' };
    }
    const codes = ['400', '401', '403', '404', '409', '429'].filter((c) => {
      if (d.access === 'none') return c === '400' || c === '429' || (d.id === 'login' && c === '401');
      if (d.access === 'operator' || d.access === 'session' || d.access === 'session-or-key') {
        return c !== '403' || d.id === 'stepUp';
      }
      return true;
    });
    Object.assign(responses, errorRefs(d.id === 'getOpenApi' ? ['429'] : codes));
    const op: OpenApiOperation = {
      operationId: d.id,
      summary: d.summary,
      ...(d.description === undefined ? {} : { description: d.description }),
      tags: [d.tag],
      security: security(d.access),
      ...(parameters.length === 0 ? {} : { parameters }),
      ...(d.body === undefined
        ? {}
        : {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: ref(name(d.body, `${pascal(d.id)}Request`)) } },
            },
          }),
      responses,
      ...(typeof d.access === 'object'
        ? {
            'x-cloister-permission': d.access.permission,
            ...(d.access.freshFactor === true ? { 'x-cloister-fresh-factor': true } : {}),
          }
        : {}),
    };
    const p = openApiPath(d.path);
    paths[p] ??= {};
    (paths[p] as Record<string, OpenApiOperation>)[d.method.toLowerCase()] = op;
  }

  const generated = z.toJSONSchema(registry, {
    io: 'input',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }).schemas as Record<string, unknown>;
  const schemas: Record<string, unknown> = {};
  for (const [id, schema] of Object.entries(generated)) schemas[id] = strip(schema);

  const responses: Record<string, unknown> = {};
  const errorName = names.get(errorBodySchema) ?? 'Error';
  for (const [, [id, description]] of Object.entries(ERRORS)) {
    responses[id] = { description, content: { 'application/json': { schema: ref(errorName) } } };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Cloister admin API',
      version: '1',
      description:
        'Administration of a Cloister server: tenants, administrators, users, devices, activity, the audit log ' +
        'and the organisation trust chain. Every action is authorised by role and tenant and audited in the ' +
        'transaction that performs it (spec/admin-api.md).',
    },
    tags: [...tags].map((t) => ({ name: t, description: TAGS[t] ?? t })),
    paths,
    components: {
      schemas,
      responses,
      securitySchemes: {
        adminSession: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: '`Cloister-Admin <session token>` from POST /admin/v1/session.',
        },
        integrationKey: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: "`Cloister-Admin-Key <API key>`: an integration's key, limited to its scopes.",
        },
        operatorToken: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            "`Cloister-Operator <token>`: the server operator's token (createServer's operatorToken).",
        },
      },
    },
  };
}
