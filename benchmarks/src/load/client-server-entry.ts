/**
 * The server process of the client benchmark (`client.ts`): one Cloister server in a process of
 * its own, so that the clients measured in the runner's process do not share its event loop.
 *
 *   node --import tsx --conditions=@cloister/source benchmarks/src/load/client-server-entry.ts [--backend pglite|postgres]
 *
 * It starts `createServer` on loopback (PGlite in a temporary directory; with `--backend postgres`
 * PostgreSQL at `DATABASE_URL` in a scratch schema, dropped on exit), with a self-signed
 * certificate and the rate limits raised out of the way, creates one tenant and prints one JSON
 * line on stdout:
 *
 *   {"type":"ready","url":"https://127.0.0.1:…","pin":"sha256/…","tenant":"bench","backend":"pglite"}
 *
 * Then it reads JSON lines on stdin and answers each on stdout:
 *
 *   {"id":1,"type":"token","user":"u1"}  →  {"id":1,"type":"token","token":"…"}   (single use)
 *   {"type":"close"}, or stdin closing   →  closes the server, removes its data, exits 0
 *
 * Errors are answered as `{"id":…,"type":"error","message":"…"}`; nothing else is written on stdout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { tenantId, userId } from '@cloister/protocol';
import { type CloisterServer, createEnrolmentToken, createServer, createTenant } from '@cloister/server';
import { dropSchema } from '../report-files.js';

/** The tenant the benchmark's clients enrol into. */
const BENCH_TENANT = 'bench';

/** The first line the entry prints. */
export interface EntryReady {
  readonly type: 'ready';
  readonly url: string;
  readonly pin: string;
  readonly tenant: string;
  readonly backend: 'pglite' | 'postgres';
  readonly pid: number;
}

/** A request the entry answers, one JSON line each. */
export type EntryRequest =
  | { readonly id: number; readonly type: 'token'; readonly user: string }
  | { readonly type: 'close' };

/** An answer of the entry. */
export type EntryAnswer =
  | { readonly id: number; readonly type: 'token'; readonly token: string }
  | { readonly id: number; readonly type: 'error'; readonly message: string };

/** Every rate limit at its highest accepted value: out of the way of one benchmark run. */
const HIGH = 1_000_000;

function print(line: EntryReady | EntryAnswer): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { backend: { type: 'string' } },
    strict: true,
  });
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const backend = values.backend ?? 'pglite';
  if (backend !== 'pglite' && backend !== 'postgres') throw new Error('--backend: pglite or postgres');
  if (backend === 'postgres' && databaseUrl === undefined)
    throw new Error('--backend postgres needs DATABASE_URL');
  const dataDir = mkdtempSync(join(tmpdir(), 'cloister-bench-client-'));
  const schema = `bench_client_${process.pid}_${Date.now()}`;
  let server: CloisterServer | undefined;
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      try {
        await server?.close();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
        if (backend === 'postgres') await dropSchema(databaseUrl as string, schema);
      }
    })();
    return closing;
  };
  try {
    server = await createServer({
      dataDir,
      ...(backend === 'postgres' ? { database: databaseUrl as string, databaseSchema: schema } : {}),
      logLevel: 'silent',
      rateLimitPerMinute: HIGH,
      // Every load-generator socket comes from loopback: lift the per-address cap.
      connections: { perAddress: 100_000, max: 100_000 },
      limits: { deviceRequestsPerMinute: HIGH, deliveriesPerMailboxPerMinute: HIGH },
    });
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    await createTenant(server.context, { id: tenantId(BENCH_TENANT), name: 'Bench' });
    print({ type: 'ready', url, pin: server.pin, tenant: BENCH_TENANT, backend, pid: process.pid });
  } catch (e) {
    await close();
    throw e;
  }
  const ctx = server.context;
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let request: EntryRequest;
    try {
      request = JSON.parse(line) as EntryRequest;
    } catch {
      continue;
    }
    if (request.type === 'close') break;
    try {
      if (request.type === 'token') {
        const { token } = await createEnrolmentToken(ctx, {
          tenant: tenantId(BENCH_TENANT),
          user: userId(request.user),
        });
        print({ id: request.id, type: 'token', token });
      }
    } catch (e) {
      print({ id: request.id, type: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  }
  lines.close();
  await close();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
