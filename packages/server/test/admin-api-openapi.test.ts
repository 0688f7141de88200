/**
 * The admin API's OpenAPI 3.1 document: generated from `ADMIN_OPERATIONS` and the session routes,
 * checked for structure (every path parameter declared and every declared one in the path,
 * unique operation ids, every `$ref` resolving, a security requirement that matches the
 * operation's access, error answers with the error body), and served without authentication at
 * `GET /admin/v1/openapi.json` exactly as generated. Reports how many operations and schemas it has.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument, OPENAPI_PATH, type OpenApiDocument } from '../src/admin/api/openapi.js';
import { ADMIN_OPERATIONS } from '../src/admin/api/operations.js';
import { ADMIN_SESSION_ROUTES } from '../src/admin/routes.js';
import { type AdminTestServer, startAdminServer } from './helpers/admin-api.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

function operations(doc: OpenApiDocument) {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m] !== undefined).map((m) => ({
      path,
      method: m,
      // biome-ignore lint/suspicious/noExplicitAny: the test walks the generated JSON freely
      op: item[m] as never as Record<string, any>,
    })),
  );
}

function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

function resolve(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const part of ref.slice(2).split('/')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node;
}

describe('the admin API OpenAPI document', () => {
  const doc = buildOpenApiDocument(ADMIN_OPERATIONS, ADMIN_SESSION_ROUTES);
  const ops = operations(doc);

  it('is OpenAPI 3.1 with one operation per declared route and unique operation ids', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(ops.length).toBe(ADMIN_OPERATIONS.length + ADMIN_SESSION_ROUTES.length + 1);
    const ids = ops.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const op of ADMIN_OPERATIONS) expect(ids).toContain(op.id);
    const schemas = Object.keys(doc.components.schemas).length;
    console.info(
      `admin API OpenAPI document: ${ops.length} operations, ${schemas} schemas, ${Object.keys(doc.paths).length} paths, ${JSON.stringify(doc).length} bytes`,
    );
    expect(schemas).toBeGreaterThan(20);
  });

  it('declares every path parameter, and only those', () => {
    for (const { path, op } of ops) {
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const declared = (op.parameters ?? []).filter((p: { in: string }) => p.in === 'path');
      expect(declared.map((p: { name: string }) => p.name).sort(), `${op.operationId}`).toEqual(
        [...inPath].sort(),
      );
      for (const p of declared) expect(p.required).toBe(true);
      expect(path.includes(':'), `${op.operationId} path syntax`).toBe(false);
    }
  });

  it('resolves every $ref, and every component is used or named', () => {
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(50);
    for (const r of all) expect(resolve(doc, r), r).toBeDefined();
  });

  it('gives each operation a security requirement matching its access, and the error answers', () => {
    const schemes = Object.keys(doc.components.securitySchemes);
    expect(schemes.sort()).toEqual(['adminSession', 'integrationKey', 'operatorToken']);
    for (const declared of ADMIN_OPERATIONS) {
      const found = ops.find((o) => o.op.operationId === declared.id);
      expect(found, declared.id).toBeDefined();
      const op = found?.op ?? {};
      const names = (op.security as Record<string, unknown>[]).flatMap((s) => Object.keys(s));
      if (declared.access === 'operator') expect(names).toEqual(['operatorToken']);
      else {
        expect(names).toContain('adminSession');
        expect(op['x-cloister-permission']).toBe(declared.access.permission);
        const keyAllowed = declared.access.allowKey !== false && declared.access.freshFactor !== true;
        expect(names.includes('integrationKey'), declared.id).toBe(keyAllowed);
        expect(op.responses['403']).toBeDefined();
      }
      expect(op.responses[String(declared.status)], declared.id).toBeDefined();
      for (const code of ['400', '401', '404', '409', '429'])
        expect(op.responses[code], `${declared.id} ${code}`).toBeDefined();
    }
    const error = resolve(doc, '#/components/schemas/Error') as { properties?: Record<string, unknown> };
    expect(Object.keys(error.properties ?? {})).toEqual(['error']);
  });

  it('describes request bodies and answers from the zod schemas (named components reused)', () => {
    const user = resolve(doc, '#/components/schemas/User') as { required?: string[] };
    expect(user.required).toEqual(
      expect.arrayContaining(['id', 'displayName', 'pools', 'blocked', 'createdAt']),
    );
    const invite = ops.find((o) => o.op.operationId === 'inviteUser')?.op;
    const body = resolve(doc, invite?.requestBody.content['application/json'].schema.$ref) as {
      properties: Record<string, unknown>;
      required: string[];
    };
    expect(Object.keys(body.properties)).toEqual([
      'user',
      'displayName',
      'pools',
      'email',
      'ttlMs',
      'uses',
      'managed',
    ]);
    expect(body.required).toEqual(['user']);
    const getUser = ops.find((o) => o.op.operationId === 'getUser')?.op;
    expect(getUser?.responses['200'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/User',
    });
    const exported = ops.find((o) => o.op.operationId === 'exportAudit')?.op;
    expect(Object.keys(exported?.responses['200'].content)).toEqual(['application/x-ndjson']);
  });

  describe('served', () => {
    let t: AdminTestServer;
    beforeAll(async () => {
      t = await startAdminServer(Date.now());
    }, 60_000);
    afterAll(async () => t?.close());

    it('at GET /admin/v1/openapi.json without authentication, as generated', async () => {
      const res = await t.as({ none: true }, 'GET', OPENAPI_PATH);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.json).toEqual(JSON.parse(JSON.stringify(doc)));
    });
  });
});
