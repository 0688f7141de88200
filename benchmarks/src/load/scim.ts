/**
 * The SCIM provisioning benchmark (`spec/directory.md` §2: Entra ID's floor is 25 requests/s per
 * tenant).
 *
 *   tsx --conditions=@cloister/source benchmarks/src/load/scim.ts [--seconds N] [--tenants T]
 *       [--concurrency C] [--backend pglite|postgres] [--out FILE]
 *
 * Starts one Cloister server in this process (PostgreSQL in a scratch schema when `DATABASE_URL`
 * is set, else embedded PGlite in a temporary directory) on loopback with TLS 1.3, makes T tenants
 * each with a SCIM token (written to the stores), raises the per-token rate limit out of the way,
 * and runs per tenant C closed loops of the identity provider's sequence over HTTPS keep-alive:
 * create a user, read it, filter `userName eq`, PATCH a replace, PATCH `active: false` (the user
 * and every device blocked), read it again. Measures requests per second per tenant and the
 * latency p50/p99 of each step; writes a JSON report (default
 * `benchmarks/results/scim-<timestamp>.json`).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type TenantId, tenantId } from '@cloister/protocol';
import { bearerHash, configureScimTokens, createServer } from '@cloister/server';
import { describeMachine, PACKAGE_DIR } from '../machine.js';
import { dropSchema, timestamp, writeJson } from '../report-files.js';

const USAGE = `Usage: scim.ts [options]
  --seconds N        measured seconds (default 10; a 1 s warm-up precedes it)
  --tenants T        tenants, each with its own token and loops (default 1)
  --concurrency C    concurrent sequences per tenant (default 4)
  --backend NAME     pglite or postgres (default: postgres when DATABASE_URL is set, else pglite)
  --out FILE         JSON report path (default benchmarks/results/scim-<timestamp>.json)
  --help             this text`;

const STEPS = ['create', 'get', 'filter', 'patch', 'deactivate', 'get-after'] as const;
type Step = (typeof STEPS)[number];

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      tenants: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '4' },
      backend: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const seconds = Number(values.seconds);
  const tenants = Number(values.tenants);
  const concurrency = Number(values.concurrency);
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const backend = values.backend ?? (databaseUrl === undefined ? 'pglite' : 'postgres');
  if (backend === 'postgres' && databaseUrl === undefined)
    throw new Error('--backend postgres needs DATABASE_URL');
  const dataDir = mkdtempSync(join(tmpdir(), 'cloister-bench-scim-'));
  const schema = `bench_scim_${randomBytes(4).toString('hex')}`;
  const server = await createServer({
    dataDir,
    logLevel: 'silent',
    rateLimitPerMinute: 10_000_000,
    ...(backend === 'postgres' && databaseUrl !== undefined
      ? { database: databaseUrl, databaseSchema: schema }
      : {}),
  });
  const url = await server.listen({ port: 0 });
  // The per-token limit (50/s, bursts of 100) would cap the loop; the server's capacity is measured.
  configureScimTokens(server.context, { requestsPerWindow: 1_000_000, windowMs: 1000 });
  const agent = new Agent({
    keepAlive: true,
    maxSockets: 256,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
  });

  const tokens: { tenant: TenantId; token: string }[] = [];
  for (let i = 0; i < tenants; i++) {
    const tenant = tenantId(`bench-${i}`);
    await server.context.stores.tenants.create(tenant, {
      name: `Bench ${i}`,
      signingKey: new Uint8Array(32).fill(7),
    });
    const token = `scim_${randomBytes(32).toString('base64url')}`;
    const now = Date.now();
    await server.context.stores.scimTokens.create(
      {
        tenant,
        id: `stk_${randomBytes(16).toString('base64url')}`,
        name: 'bench',
        source: 'scim',
        tokenHash: bearerHash('scim', token),
        createdAt: now,
        createdBy: 'bench',
        expiresAt: null,
        lastUsedAt: null,
        revokedAt: null,
      },
      now,
    );
    tokens.push({ tenant, token });
  }

  const call = (token: string, method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; json: Record<string, unknown> }>((done, fail) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = request(
        new URL(`/scim/v2${path}`, url),
        {
          method,
          agent,
          headers: {
            authorization: `Bearer ${token}`,
            ...(payload === undefined ? {} : { 'content-type': 'application/scim+json' }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            done({ status: res.statusCode ?? 0, json: text === '' ? {} : JSON.parse(text) });
          });
        },
      );
      req.on('error', fail);
      if (payload !== undefined) req.write(payload);
      req.end();
    });

  const latencies = new Map<Step, number[]>(STEPS.map((s) => [s, []]));
  const counts = new Map<string, number>(tokens.map((t) => [t.tenant, 0]));
  let measuring = false;
  let stop = false;
  let failures = 0;
  let serial = 0;

  async function loop(t: { tenant: TenantId; token: string }): Promise<void> {
    while (!stop) {
      const n = serial++;
      const timed = async (step: Step, method: string, path: string, body: unknown, want: number) => {
        const start = performance.now();
        const res = await call(t.token, method, path, body);
        const ms = performance.now() - start;
        if (res.status !== want) failures += 1;
        if (measuring) {
          latencies.get(step)?.push(ms);
          counts.set(t.tenant, (counts.get(t.tenant) ?? 0) + 1);
        }
        return res;
      };
      const name = `user${n}-${randomBytes(3).toString('hex')}`;
      const created = await timed(
        'create',
        'POST',
        '/Users',
        {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: name,
          externalId: `ext-${name}`,
          name: { givenName: 'Bench', familyName: String(n) },
          emails: [{ value: `${name}@bench.example`, primary: true }],
          active: true,
        },
        201,
      );
      const id = created.json.id as string;
      await timed('get', 'GET', `/Users/${id}`, undefined, 200);
      await timed(
        'filter',
        'GET',
        `/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`,
        undefined,
        200,
      );
      const patch = (value: unknown) => ({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [value],
      });
      await timed(
        'patch',
        'PATCH',
        `/Users/${id}`,
        patch({ op: 'replace', path: 'displayName', value: `Bench ${n}` }),
        200,
      );
      await timed(
        'deactivate',
        'PATCH',
        `/Users/${id}`,
        patch({ op: 'replace', path: 'active', value: false }),
        200,
      );
      await timed('get-after', 'GET', `/Users/${id}`, undefined, 200);
    }
  }

  const loops = tokens.flatMap((t) => Array.from({ length: concurrency }, () => loop(t)));
  await new Promise((r) => setTimeout(r, 1000));
  measuring = true;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  stop = true;
  await Promise.all(loops);
  agent.destroy();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (backend === 'postgres' && databaseUrl !== undefined) await dropSchema(databaseUrl, schema);

  const perTenant = [...counts.values()].map((c) => c / elapsed);
  const steps = Object.fromEntries(
    STEPS.map((s) => {
      const sorted = [...(latencies.get(s) ?? [])].sort((a, b) => a - b);
      return [s, { count: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) }];
    }),
  );
  const report = {
    name: `server/scim/${backend}`,
    backend,
    seconds: elapsed,
    tenants,
    concurrencyPerTenant: concurrency,
    requestsPerSecondPerTenant: perTenant,
    minRequestsPerSecondPerTenant: Math.min(...perTenant),
    entraFloorRequestsPerSecond: 25,
    failures,
    steps,
    machine: describeMachine(),
  };
  const out = values.out ?? resolve(PACKAGE_DIR, 'results', `scim-${timestamp(new Date())}.json`);
  writeJson(out, report);
  console.log(
    `server/scim/${backend}: ${perTenant.map((r) => r.toFixed(1)).join(', ')} requests/s per tenant ` +
      `(${tenants} tenant(s) × ${concurrency} loops, ${failures} failures); report ${out}`,
  );
  for (const s of STEPS) {
    const x = steps[s] as { p50Ms: number; p99Ms: number };
    console.log(`  ${s}: p50 ${x.p50Ms.toFixed(1)} ms, p99 ${x.p99Ms.toFixed(1)} ms`);
  }
}

await main();
