/**
 * Fuzz over every route the server registers (R45): malformed requests — random bytes, random
 * JSON, wrong content types, oversized bodies, bad path parameters, missing or garbage
 * credentials — must each get a 4xx with the typed error body, never a 5xx, never a dropped
 * process, and must change nothing.
 *
 * "Changed nothing" is checked at the storage boundary: the adapter's `transaction` is wrapped so
 * that every effective write (a `put` that wrote, a `delete` or `take` that removed something, a
 * `deletePartition` that removed rows) of a transaction that committed is counted; the count must
 * stay zero during the fuzz (a positive control at the end shows the counter sees real writes).
 * The fixture's tenant, users, devices and blob are also compared before and after.
 *
 * Routes that legitimately answer without credentials (`OPEN_ROUTES`) are only held to "never
 * 5xx, typed errors". A request carrying a valid credential is sent only in a form no route may
 * accept: path parameters that are no valid identifier, or (for routes without parameters) a
 * body that is unparsable, of a type no route takes, too large, or a JSON value with keys no
 * schema has. A route that reads no body and takes no parameters (so a valid credential makes
 * any such request legitimate) must be listed in `IGNORES_BODY`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceId } from '@cloister/crypto';
import { registrationId } from '@cloister/crypto';
import { blobId, tenantId, userId } from '@cloister/protocol';
import type { StorageTx } from '@cloister/storage';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialHash } from '../src/auth.js';
import { newMailboxId } from '../src/delivery-token.js';
import { blobRoutes } from '../src/routes/blobs.js';
import { healthRoutes } from '../src/routes/health.js';
import { ROUTES } from '../src/routes/index.js';
import { statisticsOf } from '../src/statistics.js';
import { createTenant } from '../src/tenants.js';
import { startTestServer, type TestResponse, type TestServer } from './helpers/server.js';

/**
 * Routes that answer unauthenticated requests positively by design: health, the OpenAPI document,
 * and with the portal configured its redirect (`/admin` → `/portal/`) and its static files.
 */
const OPEN_ROUTES = new Set([
  'GET /health',
  'GET /ready',
  'GET /admin/v1/openapi.json',
  'GET /admin',
  'GET /admin/',
  'GET /portal',
  'GET /portal*',
]);
/**
 * Authenticated routes that read no body: with a valid credential and real parameters any request
 * to them may be legitimate, so they get only malformed parameters or credentials.
 */
const IGNORES_BODY = new Set<string>(['POST /v1/blobs/:blobId/finish', 'POST /v1/certificate']);
/** Total random requests across all routes (the per-route count follows from it). */
const REQUEST_BUDGET = 1600;

interface RouteEntry {
  readonly method: string;
  readonly url: string;
}

/** Reads the route list out of `printRoutes({ commonPrefix: false })`'s tree. */
function parseRoutes(tree: string): RouteEntry[] {
  const out: RouteEntry[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line.trimEnd());
    if (m === null) continue;
    const depth = (m[1] ?? '').length / 4;
    stack.length = depth;
    stack.push(m[2] ?? '');
    const url = stack.join('');
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim())) {
      if (method !== '') out.push({ method, url });
    }
  }
  return out;
}

let t: TestServer;
let routes: RouteEntry[];
let credential: Uint8Array;
let publicBlob: string;
let committedWrites = 0;
let counting = false;
const knownBlob = blobId('b_fuzz_fixture');

function countingTx(tx: StorageTx, count: () => void): StorageTx {
  return {
    get now() {
      return tx.now;
    },
    get: (...a) => tx.get(...a),
    list: (...a) => tx.list(...a),
    count: (...a) => tx.count(...a),
    usage: (...a) => tx.usage(...a),
    async put(...a) {
      const wrote = await tx.put(...a);
      if (wrote) count();
      return wrote;
    },
    async delete(...a) {
      const removed = await tx.delete(...a);
      if (removed) count();
      return removed;
    },
    getMany: (...a) => tx.getMany(...a),
    async putMany(...a) {
      const wrote = await tx.putMany(...a);
      if (wrote.includes(true)) count();
      return wrote;
    },
    async claimMany(...a) {
      const wrote = await tx.claimMany(...a);
      if (wrote.includes(true)) count();
      return wrote;
    },
    async deleteMany(...a) {
      const removed = await tx.deleteMany(...a);
      if (removed.includes(true)) count();
      return removed;
    },
    async take(...a) {
      const rows = await tx.take(...a);
      if (rows.length > 0) count();
      return rows;
    },
    async deletePartition(...a) {
      const n = await tx.deletePartition(...a);
      if (n > 0) count();
      return n;
    },
  };
}

async function snapshot() {
  const s = t.server.context.stores;
  const tid = tenantId('fuzz');
  return {
    tenant: await s.tenants.get(tid),
    users: (await s.users.list(tid)).items,
    devices: await s.devices.list(tid, userId('alice')),
    blob: await s.blobs.status(knownBlob),
    publicBlob: (await t.request('GET', `/v1/blobs/${publicBlob}`, { credential })).json,
  };
}

/** A built portal's stand-in: the server serves it at /portal/ and redirects /admin there. */
const portalRoot = mkdtempSync(join(tmpdir(), 'cloister-fuzz-portal-'));
writeFileSync(
  join(portalRoot, 'index.html'),
  '<!doctype html><meta property="csp-nonce" nonce="__CLOISTER_CSP_NONCE__">',
);

beforeAll(async () => {
  t = await startTestServer({
    portal: { root: portalRoot },
    rateLimitPerMinute: 1_000_000,
    // The fixture's one device sends every request that carries a credential.
    limits: { deviceRequestsPerMinute: 1_000_000 },
    // Every module of ROUTES, plus the blob routes while they are not in the list yet (with
    // `extraRoutes` the helper serves the health routes and exactly the modules given).
    extraRoutes: ROUTES.includes(blobRoutes) ? [] : [...ROUTES.filter((r) => r !== healthRoutes), blobRoutes],
  });
  const ctx = t.server.context;
  const s = ctx.stores;
  const tid = tenantId('fuzz');
  // A complete tenant (with its signing key), so that routes behave as in production.
  await createTenant(ctx, { id: tid, name: 'fuzz' });
  await s.users.create(tid, userId('alice'), { displayName: 'alice' });
  credential = new Uint8Array(randomBytes(32));
  await s.devices.add(tid, userId('alice'), 1 as DeviceId, {
    identity: {
      signingKey: new Uint8Array(randomBytes(32)),
      dhKey: new Uint8Array(randomBytes(32)),
      dhKeySignature: new Uint8Array(randomBytes(64)),
    },
    registrationId: registrationId(1),
    mailbox: await newMailboxId(ctx.provider),
    credentialHash: await credentialHash(ctx, credential),
  });
  await s.blobs.begin(knownBlob, 5000, Date.now() + 3_600_000, { chunkSize: 4096 });
  await s.blobs.putChunk(knownBlob, 1, new Uint8Array(5000 - 4096));
  publicBlob = (await t.request('POST', '/v1/blobs', { json: { size: 5000 }, credential })).json.blobId;

  const adapter = ctx.adapter;
  const original = adapter.transaction.bind(adapter);
  (adapter as { transaction: typeof adapter.transaction }).transaction = async (fn, options) => {
    let writes = 0;
    const result = await original(async (tx) => {
      writes = 0;
      return fn(countingTx(tx, () => writes++));
    }, options);
    if (counting) committedWrites += writes;
    return result;
  };

  routes = parseRoutes(t.server.app.printRoutes({ commonPrefix: false })).filter((r) => r.method !== 'HEAD');
});
afterAll(async () => {
  await t?.close();
  rmSync(portalRoot, { recursive: true, force: true });
});

// --- generators -------------------------------------------------------------------------------

const printable = (maxLength: number) =>
  fc.array(fc.integer({ min: 0x20, max: 0x7e }), { maxLength }).map((codes) => String.fromCharCode(...codes));

/** A path segment that is no valid identifier of any kind (a character outside the id alphabet, or too long). */
const badParam = fc.oneof(
  printable(40).map((s) => encodeURIComponent(`${s}!`)),
  fc
    .uint8Array({ minLength: 1, maxLength: 24 })
    .map((b) => Array.from(b, (x) => `%${x.toString(16).padStart(2, '0')}`).join('')),
  fc.constantFrom('%00', '%2F..%2F', '%20', '..%2f', '%F0%9F%92%A5', 'A'.repeat(300)),
);
/** Any segment: bad ones, plus well-formed values that name nothing. */
const anyParam = fc.oneof(
  badParam,
  fc.constantFrom(`blb_${'A'.repeat(43)}`, '0', '-1', '1e999', '0x10', '4294967296', 'mbx_nothing', 'nobody'),
);

const authHeader = fc.oneof(
  fc.constant(undefined),
  printable(120),
  fc.constantFrom(
    'Cloister-Device',
    'Bearer abc',
    'Cloister-Device  ',
    `Cloister-Device ${'A'.repeat(43)} x`,
  ),
  fc
    .uint8Array({ minLength: 32, maxLength: 32 })
    .map((b) => `Cloister-Device ${Buffer.from(b).toString('base64url')}`),
  fc
    .uint8Array({ minLength: 0, maxLength: 48 })
    .map((b) => `Cloister-Device ${Buffer.from(b).toString('base64url')}`),
);

const jsonWithForeignKeys = fc
  .dictionary(
    printable(12).map((k) => `fuzz_${k}`),
    fc.jsonValue({ maxDepth: 2 }),
    { minKeys: 1, maxKeys: 4 },
  )
  .map((o) => JSON.stringify(o));

const unparsableJson = fc
  .oneof(
    fc.uint8Array({ minLength: 1, maxLength: 300 }),
    printable(200).map((s) => new TextEncoder().encode(s)),
  )
  .filter((b) => {
    try {
      JSON.parse(new TextDecoder().decode(b));
      return false;
    } catch {
      return true;
    }
  });

interface FuzzBody {
  readonly body?: Uint8Array;
  readonly contentType?: string;
  readonly chunked?: boolean;
}

/** Non-empty bodies no route accepts. */
const malformedBody: fc.Arbitrary<FuzzBody> = fc.oneof(
  unparsableJson.map((body) => ({ body, contentType: 'application/json' })),
  fc
    .uint8Array({ minLength: 1, maxLength: 300 })
    .map((body) => ({ body, contentType: 'application/x-fuzz' })),
  fc
    .uint8Array({ minLength: 1, maxLength: 100 })
    .map((body) => ({ body, contentType: 'multipart/form-data; boundary=x' })),
  jsonWithForeignKeys.map((s) => ({ body: new TextEncoder().encode(s), contentType: 'application/json' })),
  fc
    .jsonValue({ maxDepth: 3 })
    .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))
    .map((v) => ({
      body: new TextEncoder().encode(JSON.stringify(v)),
      contentType: 'application/json',
    })),
);

/** Any body: the malformed ones, plus random bytes and random JSON under real content types. */
const anyBody: fc.Arbitrary<FuzzBody> = fc.oneof(
  fc.constant({}),
  malformedBody,
  fc
    .tuple(
      fc.uint8Array({ maxLength: 500 }),
      fc.constantFrom('application/octet-stream', 'application/x-protobuf', 'text/plain', 'application/json'),
    )
    .map(([body, contentType]) => ({ body, contentType })),
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({
    body: new TextEncoder().encode(JSON.stringify(v)),
    contentType: 'application/json',
  })),
);

function fillPath(url: string, values: readonly string[]): string {
  let i = 0;
  return url.replace(/:[A-Za-z0-9_]+|\*/g, () => values[i++ % Math.max(1, values.length)] ?? 'x');
}

function paramCount(url: string): number {
  return (url.match(/:[A-Za-z0-9_]+|\*/g) ?? []).length;
}

/**
 * The SCIM routes answer errors as RFC 7644 §3.12 prescribes (`spec/directory.md` §2.6), not in
 * the admin API's shape: `application/scim+json`, the error schema, the status as a string equal
 * to the HTTP status, an optional `scimType` and a `detail`, nothing else.
 */
function scimViolation(res: TestResponse): string | undefined {
  if (!/^application\/scim\+json/.test(String(res.headers['content-type'])))
    return 'a SCIM error body that is not application/scim+json';
  const body = res.json as Record<string, unknown> | undefined;
  if (body === undefined) return 'a SCIM error body that is not JSON';
  const schemas = body.schemas;
  if (!Array.isArray(schemas) || schemas.join() !== 'urn:ietf:params:scim:api:messages:2.0:Error')
    return 'a SCIM error without the error schema';
  if (body.status !== String(res.status)) return 'a SCIM error whose status is not the HTTP status';
  if (typeof body.detail !== 'string') return 'a SCIM error without a detail';
  if (body.scimType !== undefined && typeof body.scimType !== 'string')
    return 'a SCIM error with a bad scimType';
  if (Object.keys(body).some((k) => !['schemas', 'status', 'scimType', 'detail'].includes(k)))
    return 'a SCIM error with a member RFC 7644 does not name';
  return undefined;
}

/** Answers that broke a rule, one per route and kind of answer (the fuzz goes on to find them all). */
const violations = new Map<string, string>();

function violates(route: RouteEntry, res: TestResponse): string | undefined {
  const key = `${route.method} ${route.url}`;
  if (res.status >= 500) return 'a 5xx answer';
  if (!OPEN_ROUTES.has(key) && res.status < 400) return 'accepted a malformed request';
  if (res.status < 400) return undefined;
  if (route.url.startsWith('/scim/v2')) return scimViolation(res);
  if (!/^application\/json/.test(String(res.headers['content-type'])))
    return 'an error body that is not JSON';
  const body = res.json as { error?: { code?: unknown; message?: unknown } } | undefined;
  if (body === undefined || Object.keys(body).join() !== 'error')
    return 'an error body not of the typed shape';
  const error = body.error ?? {};
  if (typeof error.code !== 'string' || !/^ERR_[A-Z_]+$/.test(error.code))
    return 'an error without an ERR_ code';
  if (typeof error.message !== 'string') return 'an error without a message';
  if (Object.keys(error).some((k) => !['code', 'message', 'field'].includes(k)))
    return 'an error with extra fields';
  return undefined;
}

function checkAnswer(route: RouteEntry, res: TestResponse, what: string): void {
  const rule = violates(route, res);
  if (rule === undefined) return;
  const id = `${route.method} ${route.url}: ${rule} (${res.status})`;
  if (!violations.has(id))
    violations.set(id, `${what.slice(0, 120)} -> ${res.body.subarray(0, 160).toString('utf8')}`);
}

async function send(
  route: RouteEntry,
  path: string,
  auth: string | 'valid' | undefined,
  body: FuzzBody,
): Promise<TestResponse> {
  const headers: Record<string, string> = {};
  if (auth !== undefined && auth !== 'valid') headers.authorization = auth;
  // Bodies go out with a content-length, or chunked (the client's default without one).
  if (body.body !== undefined && body.chunked !== true) headers['content-length'] = String(body.body.length);
  return t.request(route.method, path, {
    headers,
    ...(auth === 'valid' ? { credential } : {}),
    ...(body.body === undefined ? {} : { body: body.body }),
    ...(body.contentType === undefined ? {} : { contentType: body.contentType }),
  });
}

describe('fuzz over every route', () => {
  it('finds the routes (the parser is not blind)', () => {
    const keys = routes.map((r) => `${r.method} ${r.url}`);
    expect(keys).toContain('GET /health');
    expect(keys).toContain('POST /v1/blobs');
    expect(keys).toContain('PUT /v1/blobs/:blobId/chunks/:index');
    expect(keys).toContain('GET /v1/blobs/:blobId/chunks/:index');
    expect(keys).toContain('DELETE /v1/blobs/:blobId');
    // The portal's redirect and files are fuzzed too.
    expect(keys).toContain('GET /admin');
    expect(keys).toContain('GET /admin/');
    expect(keys).toContain('GET /portal*');
  });

  it('answers every malformed request with a typed 4xx and changes nothing', {
    timeout: 120_000,
  }, async () => {
    // The fixture's own requests were counted by the usage-statistics recorder; write them now, so
    // that its timer does not write them during the fuzz.
    await statisticsOf(t.server.context).flush();
    const before = await snapshot();
    const runs = Math.max(20, Math.min(100, Math.floor(REQUEST_BUDGET / Math.max(1, routes.length))));
    counting = true;
    for (const route of routes) {
      const key = `${route.method} ${route.url}`;
      const params = paramCount(route.url);
      const takesBody = ['POST', 'PUT', 'PATCH'].includes(route.method);
      // Real parameters (the fixture's ids) reach the handler's body checks.
      const realParam = fc.constantFrom(publicBlob, '0', '1', 'fuzz', 'alice');
      const withCredential: fc.Arbitrary<[string[], FuzzBody]>[] = [];
      if (params > 0) {
        withCredential.push(
          fc.tuple(
            fc.array(badParam, { minLength: params, maxLength: params }),
            takesBody ? anyBody : fc.constant({}),
          ),
        );
      }
      if (takesBody && !IGNORES_BODY.has(key)) {
        withCredential.push(
          fc.tuple(fc.array(realParam, { minLength: params, maxLength: params }), malformedBody),
        );
      }
      const cases = fc.tuple(
        fc.oneof(
          fc
            .tuple(fc.array(anyParam, { minLength: params, maxLength: params }), authHeader, anyBody)
            .map(([values, auth, body]) => ({ values, auth, body })),
          ...withCredential.map((a) =>
            a.map(([values, body]) => ({ values, auth: 'valid' as string | undefined, body })),
          ),
        ),
        fc.boolean(),
      );
      await fc.assert(
        fc.asyncProperty(cases, async ([{ values, auth, body }, chunked]) => {
          const path = fillPath(route.url, values);
          const res = await send(route, path, auth, { ...body, chunked });
          checkAnswer(
            route,
            res,
            `path ${path}, auth ${auth === 'valid' ? 'valid' : auth === undefined ? 'none' : 'garbage'}`,
          );
        }),
        { numRuns: runs },
      );
      // One oversized body per route, with and without a credential.
      const huge = new Uint8Array(
        Math.max(t.server.context.limits.bodyBytes, t.server.context.limits.blobChunkBytes) + 1,
      );
      const path = fillPath(route.url, Array(params).fill('%21'));
      for (const auth of ['valid', undefined] as const) {
        for (const contentType of ['application/json', 'application/octet-stream']) {
          if (auth === 'valid' && params === 0 && (!takesBody || IGNORES_BODY.has(key))) continue;
          // An open route that reads no body answers at once and the HTTP server drops the unread
          // megabyte with a reset; the random bodies above already hold it to its rules.
          if (!takesBody && OPEN_ROUTES.has(key)) continue;
          const res = await send(route, path, auth, { body: huge, contentType });
          checkAnswer(route, res, `huge ${contentType}, auth ${auth ?? 'none'}`);
        }
      }
    }
    counting = false;
    expect([...violations].map(([id, example]) => `${id}; e.g. ${example}`)).toEqual([]);
    expect(committedWrites).toBe(0);
    expect(await snapshot()).toEqual(before);
    const health = await t.request('GET', '/health');
    expect(health.status).toBe(200);

    // Positive control: a real request is seen by the write counter.
    counting = true;
    const created = await t.request('POST', '/v1/blobs', { json: { size: 10 }, credential });
    counting = false;
    expect(created.status).toBe(201);
    expect(committedWrites).toBeGreaterThan(0);
  });
});
