/**
 * The server load benchmark.
 *
 *   tsx --conditions=@cloister/source benchmarks/src/load/server.ts [--quick] [--seconds N]
 *       [--devices 100,1000] [--senders K] [--backend pglite] [--backend postgres] [--out FILE]
 *
 * For each device count N and each backend (embedded PGlite in a temporary directory; PostgreSQL in
 * a scratch schema, dropped afterwards, when `DATABASE_URL` is set) it starts one Cloister server
 * in this process on loopback with TLS 1.3, creates N devices directly in its stores, and starts a
 * child process (`server-clients.ts`) that checks the server's key pin once, opens one delivery
 * WebSocket per device (acknowledging every envelope on receipt) and runs K concurrent HTTPS
 * POSTs (keep-alive) of sealed deliveries to random devices in a closed loop. It measures:
 * - `server/deliver/d<N>/<backend>`: envelopes received on the sockets per second, and the
 *   end-to-end latency (POST sent → envelope frame received) p50/p99;
 * - memory per connected device: the server process's RSS, V8 heap and external memory after the
 *   N sockets are connected and idle, minus before, divided by N (after a forced GC both times);
 * and, in the same run with the same TLS, sockets, senders and payload sizes, the ceiling
 * `server/ceiling/d<N>/fastify-ws`: a bare Fastify relay (`server-ceiling.ts`) that forwards each
 * POSTed body to the device's socket; and once per backend, before the device cases,
 * `database/durable-write/<backend>`: the database's own durable enqueue + dequeue rate
 * (`durable-write.ts`), which each Cloister case is also divided by. Writes a JSON report (default
 * `benchmarks/results/server-<timestamp>.json`).
 *
 * Each simulated device gets one real HPKE-sealed envelope (sealed once, for its own key, mailbox
 * and delivery token); every message to it reuses that envelope under a fresh 16-byte message id.
 * The server reads only the envelope's outer header (mailbox and delivery token) and the message
 * id, so its work per message is the same as with a freshly sealed envelope.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  type CryptoProvider,
  deviceId,
  getProvider,
  issueSenderCertificate,
  registrationId,
  type SenderCertificate,
  sealEnvelope,
  utf8,
} from '@cloister/crypto';
import { type MailboxId, tenantId, userId } from '@cloister/protocol';
import {
  authorizationHeader,
  type CloisterServer,
  createDeliveryTokens,
  createServer,
  credentialHash,
  generateSelfSigned,
  mailboxWriterOf,
  newMailboxId,
  senderClassOf,
  spkiPin,
  type TlsMaterial,
} from '@cloister/server';
import { describeMachine, loadAverage, PACKAGE_DIR } from '../machine.js';
import { dropSchema, timestamp, writeJson } from '../report-files.js';
import type { LoadResult } from './closed-loop.js';
import { type DurableWriteResult, measureDurableWrites } from './durable-write.js';
import { startCeiling } from './server-ceiling.js';
import type { ClientDevice, ClientResult, ClientSetup, WindowEdge } from './server-clients.js';

const USAGE = `Usage: server.ts [options]
  --quick               short smoke run (20 devices, 1 s per case)
  --seconds N           measured seconds per case (default 5; a 1 s warm-up precedes it)
  --devices LIST        comma-separated connected device counts (default 100,1000)
  --senders K           concurrent HTTPS senders (default 32)
  --backend NAME        pglite or postgres; repeatable (default: pglite, and postgres when DATABASE_URL is set)
  --out FILE            JSON report path (default benchmarks/results/server-<timestamp>.json)
  --help                this text`;

const TENANT = tenantId('bench');
/** Bytes of the (encrypted) message body in each envelope: a typical short chat message. */
const BODY_BYTES = 200;
const CLIENT_SCRIPT = fileURLToPath(new URL('./server-clients.ts', import.meta.url));
/** Messages per statement of the database's grouped durable-write figure. */
const DURABLE_GROUP = 16;
/** Most measured seconds of each durable-write variant. */
const DURABLE_SECONDS = 3;

/** One simulated device, independent of any server instance. */
interface SimDevice {
  readonly mailbox: MailboxId;
  readonly credential: Uint8Array;
  readonly dhPublicKey: Uint8Array;
  readonly envelope: Uint8Array;
}

interface MemorySample {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
}

interface CaseReport {
  readonly name: string;
  readonly kind: 'cloister' | 'ceiling';
  readonly backend: string;
  readonly devices: number;
  readonly senders: number;
  readonly seconds: number;
  readonly deliveredPerSecond: number;
  readonly delivered: number;
  readonly latencyMs: ClientResult['latencyMs'];
  readonly latencySamples: number;
  /** The HTTP POSTs: accepted per second and round-trip latency. */
  readonly post: Pick<LoadResult, 'opsPerSecond' | 'operations' | 'latencyMs'>;
  readonly undelivered: number;
  readonly unexpected: number;
  readonly connectSeconds: number;
  readonly envelopeBytes: number;
  readonly postBodyBytes: number;
  readonly memory: {
    readonly before: MemorySample;
    readonly connected: MemorySample;
    readonly perDevice: MemorySample;
  };
  /**
   * Per envelope delivered in the measured window: the server process's CPU time (ms; with PGlite
   * this includes the embedded database), the SQL statements and transactions its storage sent to
   * the driver (absent when the backend cannot count them), and the relay's mean group size.
   */
  readonly perMessage: {
    readonly cpuMs: number;
    readonly statements: number | null;
    readonly transactions: number | null;
    readonly meanGroupItems: number | null;
  } | null;
  /** This case divided by the ceiling with the same device count, same run. */
  readonly ratioToCeiling: {
    readonly deliveredPerSecond: number;
    readonly latencyP50: number;
    readonly latencyP99: number;
  } | null;
  /**
   * This case's delivered/s divided by the grouped durable-write rate of its backend's database,
   * same run (null for the ceiling).
   */
  readonly ratioToDurableWrites: number | null;
}

// Warnings (deprecations in dependencies, listener counts) are collected into the report instead
// of interleaving with the table.
const warnings = new Set<string>();
process.removeAllListeners('warning');
process.on('warning', (w) => warnings.add(`${w.name}: ${w.message}`));

// A forced GC before each memory sample makes the heap figures comparable.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function memory(): Promise<MemorySample> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 100));
  }
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, externalBytes: m.external };
}

async function simulatedDevices(
  provider: CryptoProvider,
  organisationKey: Uint8Array,
  certificate: SenderCertificate,
  n: number,
): Promise<SimDevice[]> {
  const tokens = await createDeliveryTokens(provider, organisationKey);
  const body = new Uint8Array(randomBytes(BODY_BYTES));
  const out: SimDevice[] = [];
  for (let i = 0; i < n; i++) {
    const dh = await provider.x25519.generateKeyPair();
    const mailbox = await newMailboxId(provider);
    const envelope = await sealEnvelope(provider, {
      recipientPublicKey: dh.publicKey,
      mailbox: utf8(mailbox),
      // Seeding bumps no epoch: the tokens of the open area at epoch 0 are current.
      deliveryToken: await tokens.issue({
        tenant: TENANT,
        user: userId(`u${i}`),
        mailbox,
        senderClass: senderClassOf(TENANT, []),
        epochs: { tenant: 0, user: 0, senderClass: 0 },
      }),
      certificate,
      contentType: 1,
      body,
    });
    out.push({ mailbox, credential: new Uint8Array(randomBytes(32)), dhPublicKey: dh.publicKey, envelope });
  }
  return out;
}

/** Creates the tenant, one user per device and the devices, straight in the stores. */
async function seed(
  server: CloisterServer,
  devices: readonly SimDevice[],
  tenantKey: Uint8Array,
): Promise<void> {
  const ctx = server.context;
  await ctx.stores.tenants.create(TENANT, { name: 'Bench', signingKey: tenantKey });
  const hashes = await Promise.all(devices.map((d) => credentialHash(ctx, d.credential)));
  for (let i = 0; i < devices.length; i += 100) {
    await ctx.stores.transaction(async (s) => {
      for (let k = i; k < Math.min(devices.length, i + 100); k++) {
        const d = devices[k] as SimDevice;
        const user = userId(`u${k}`);
        await s.users.create(TENANT, user, { displayName: `User ${k}` });
        await s.devices.add(TENANT, user, deviceId(1), {
          identity: {
            signingKey: new Uint8Array(32).fill(1),
            dhKey: d.dhPublicKey,
            dhKeySignature: new Uint8Array(64),
          },
          registrationId: registrationId(k + 1),
          mailbox: d.mailbox,
          credentialHash: hashes[k] as Uint8Array,
        });
      }
    });
  }
}

type ChildMessage =
  | ClientResult
  | WindowEdge
  | { readonly type: 'connected'; readonly connectSeconds: number }
  | { readonly type: 'error'; readonly message: string };

/** The load-generating child process and a way to wait for its next message. */
class Clients {
  private readonly child: ChildProcess;
  private readonly inbox: ChildMessage[] = [];
  private waiter: (() => void) | undefined;
  private exited = false;
  private readonly exit: Promise<void>;

  constructor(onWindow?: (edge: WindowEdge['edge']) => void) {
    this.child = fork(CLIENT_SCRIPT, [], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: ChildMessage) => {
      if (m.type === 'window') {
        onWindow?.(m.edge);
        return;
      }
      this.inbox.push(m);
      this.waiter?.();
    });
    this.exit = new Promise((resolve) =>
      // 'close' follows 'exit' once the IPC channel is closed too.
      this.child.once('close', () => {
        this.exited = true;
        this.waiter?.();
        resolve();
      }),
    );
  }

  send(message: ClientSetup | { readonly type: 'run' | 'close' }): void {
    this.child.send(message);
  }

  async next<T extends ChildMessage['type']>(type: T): Promise<Extract<ChildMessage, { type: T }>> {
    for (;;) {
      const m = this.inbox.shift();
      if (m !== undefined) {
        if (m.type === 'error') throw new Error(`load generator: ${m.message}`);
        if (m.type === type) return m as Extract<ChildMessage, { type: T }>;
        continue;
      }
      if (this.exited) throw new Error('load generator exited early');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
      this.waiter = undefined;
    }
  }

  /** Asks the child to close its sockets and exit; kills it if it has not after 10 s. */
  async close(): Promise<void> {
    if (!this.exited && this.child.connected) this.child.send({ type: 'close' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exit;
    clearTimeout(timer);
  }
}

/** The server's own counters, sampled at the edges of the measured window. */
interface Counters {
  /** CPU time of this process (the server, and PGlite when embedded), µs. */
  readonly cpuMicros: number;
  /** SQL statements and transactions the storage adapter sent to its driver. */
  readonly statements?: number;
  readonly transactions?: number;
  /** Group commits of the relay and the items they carried. */
  readonly groups?: number;
  readonly groupItems?: number;
}

interface Measured {
  readonly client: ClientResult;
  readonly before: MemorySample;
  readonly connected: MemorySample;
  /** Counters at the start and at the end of the measured window. */
  readonly window?: { readonly start: Counters; readonly end: Counters };
}

/** Runs the child against a listening server: connect, sample memory, load, close. */
async function drive(setup: Omit<ClientSetup, 'type'>, counters?: () => Counters): Promise<Measured> {
  const before = await memory();
  const edges: Partial<Record<WindowEdge['edge'], Counters>> = {};
  const clients = new Clients((edge) => {
    if (counters !== undefined) edges[edge] = counters();
  });
  try {
    clients.send({ type: 'setup', ...setup });
    await clients.next('connected');
    await new Promise((r) => setTimeout(r, 500));
    const connected = await memory();
    clients.send({ type: 'run' });
    const client = await clients.next('result');
    const { start, end } = edges;
    return start !== undefined && end !== undefined
      ? { client, before, connected, window: { start, end } }
      : { client, before, connected };
  } finally {
    await clients.close();
  }
}

function report(
  name: string,
  kind: CaseReport['kind'],
  backend: string,
  n: number,
  senders: number,
  seconds: number,
  m: Measured,
  ceiling: CaseReport | undefined,
  durable: DurableWriteResult | undefined,
): CaseReport {
  const c = m.client;
  const perDevice = (k: keyof MemorySample) => Math.round((m.connected[k] - m.before[k]) / n);
  return {
    name,
    kind,
    backend,
    devices: n,
    senders,
    seconds,
    deliveredPerSecond: c.deliveredPerSecond,
    delivered: c.delivered,
    latencyMs: c.latencyMs,
    latencySamples: c.latencySamples,
    post: { opsPerSecond: c.post.opsPerSecond, operations: c.post.operations, latencyMs: c.post.latencyMs },
    undelivered: c.undelivered,
    unexpected: c.unexpected,
    connectSeconds: c.connectSeconds,
    envelopeBytes: c.envelopeBytes,
    postBodyBytes: c.postBodyBytes,
    memory: {
      before: m.before,
      connected: m.connected,
      perDevice: {
        rssBytes: perDevice('rssBytes'),
        heapUsedBytes: perDevice('heapUsedBytes'),
        externalBytes: perDevice('externalBytes'),
      },
    },
    perMessage: perMessage(m),
    ratioToCeiling:
      ceiling === undefined
        ? null
        : {
            deliveredPerSecond: c.deliveredPerSecond / ceiling.deliveredPerSecond,
            latencyP50: c.latencyMs.p50 / ceiling.latencyMs.p50,
            latencyP99: c.latencyMs.p99 / ceiling.latencyMs.p99,
          },
    ratioToDurableWrites: durable === undefined ? null : c.deliveredPerSecond / durable.messagesPerSecond,
  };
}

function cpuCounters(): Counters {
  const cpu = process.cpuUsage();
  return { cpuMicros: cpu.user + cpu.system };
}

function serverCounters(server: CloisterServer): Counters {
  const relay = mailboxWriterOf(server.context).statistics();
  const storage = server.storageStatistics?.();
  return {
    ...cpuCounters(),
    groups: relay.groups,
    groupItems: relay.items,
    ...(storage === undefined ? {} : { statements: storage.statements, transactions: storage.transactions }),
  };
}

function perMessage(m: Measured): CaseReport['perMessage'] {
  const w = m.window;
  const n = m.client.delivered;
  if (w === undefined || n === 0) return null;
  const per = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? null : (b - a) / n;
  const groups = per(w.start.groups, w.end.groups);
  const items = per(w.start.groupItems, w.end.groupItems);
  return {
    cpuMs: (w.end.cpuMicros - w.start.cpuMicros) / 1000 / n,
    statements: per(w.start.statements, w.end.statements),
    transactions: per(w.start.transactions, w.end.transactions),
    meanGroupItems: groups === null || items === null || groups === 0 ? null : items / groups,
  };
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)}`;
}

const HEADER = `${'case'.padEnd(32)} ${'deliv/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'POST/s'.padStart(8)} ${'heap KiB/dev'.padStart(12)} ${'rss KiB/dev'.padStart(11)}  vs ceiling`;

function row(c: CaseReport): string {
  const ratio =
    c.ratioToCeiling === null
      ? '(ceiling)'
      : `${(c.ratioToCeiling.deliveredPerSecond * 100).toFixed(1)}% of deliv/s, p50 ×${c.ratioToCeiling.latencyP50.toFixed(1)}, p99 ×${c.ratioToCeiling.latencyP99.toFixed(1)}`;
  const lost =
    c.undelivered + c.unexpected > 0 ? `  [${c.undelivered} undelivered, ${c.unexpected} unexpected]` : '';
  const durable =
    c.ratioToDurableWrites === null
      ? ''
      : `; ${(c.ratioToDurableWrites * 100).toFixed(1)}% of the database's durable rate`;
  const p = c.perMessage;
  const cost =
    p === null
      ? ''
      : `; ${p.cpuMs.toFixed(2)} ms CPU${p.statements === null ? '' : `, ${p.statements.toFixed(2)} stmts`}${p.meanGroupItems === null ? '' : `, group ${p.meanGroupItems.toFixed(1)}`} /msg`;
  return `${c.name.padEnd(32)} ${c.deliveredPerSecond.toFixed(0).padStart(8)} ${c.latencyMs.p50.toFixed(2).padStart(8)} ${c.latencyMs.p99.toFixed(2).padStart(8)} ${c.post.opsPerSecond.toFixed(0).padStart(8)} ${kib(c.memory.perDevice.heapUsedBytes).padStart(12)} ${kib(c.memory.perDevice.rssBytes).padStart(11)}  ${ratio}${durable}${cost}${lost}`;
}

const count = (x: number) => Math.round(x).toLocaleString('en-US');

function durableRow(d: DurableWriteResult): string {
  return `${`database/durable-write/${d.backend}`.padEnd(32)} ${count(d.messagesPerSecond).padStart(8)} msg/s in groups of ${d.group}; ${count(d.singleRowPerSecond)} msg/s single-row (${d.clients} clients, ${d.seconds} s, fsync ${d.fsync})`;
}

async function main(argv: readonly string[]): Promise<number> {
  let values: {
    quick?: boolean;
    seconds?: string;
    devices?: string;
    senders?: string;
    backend?: string[];
    out?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv[0] === '--' ? argv.slice(1) : [...argv],
      options: {
        quick: { type: 'boolean' },
        seconds: { type: 'string' },
        devices: { type: 'string' },
        senders: { type: 'string' },
        backend: { type: 'string', multiple: true },
        out: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const seconds = Number(values.seconds ?? (values.quick ? '1' : '5'));
  const warmupSeconds = values.quick ? 0.5 : 1;
  const counts = (values.devices ?? (values.quick ? '20' : '100,1000')).split(',').map(Number);
  const senders = Number(values.senders ?? '32');
  const backends = values.backend ?? (databaseUrl === undefined ? ['pglite'] : ['pglite', 'postgres']);
  if (
    !(seconds > 0 && seconds <= 600) ||
    counts.some((n) => !Number.isInteger(n) || n < 1 || n > 10_000) ||
    !Number.isInteger(senders) ||
    senders < 1 ||
    senders > 1024 ||
    backends.some((b) => b !== 'pglite' && b !== 'postgres')
  ) {
    console.error(`bad arguments\n\n${USAGE}`);
    return 2;
  }
  if (backends.includes('postgres') && databaseUrl === undefined) {
    console.error('--backend postgres needs DATABASE_URL');
    return 2;
  }

  const baseline = process.getActiveResourcesInfo();
  const started = new Date();
  const machine = describeMachine();
  console.log(
    `Cloister server load: ${backends.join(', ')}; ${counts.join(', ')} devices; ${senders} senders; ${seconds} s per case\n`,
  );
  const provider = await getProvider();
  const tls: TlsMaterial = await generateSelfSigned();
  const pin = spkiPin(tls.cert);
  // One organisation key for every instance of the run: the delivery tokens of the simulated
  // devices, computed before any server starts, are then valid on all of them.
  const organisationKey = new Uint8Array(randomBytes(32));
  const tenantKey = await provider.ed25519.generateKeyPair();
  const certificate = await issueSenderCertificate(provider, tenantKey.privateKey, {
    userId: 'sender',
    deviceId: 1,
    identitySigningKey: (await provider.ed25519.generateKeyPair()).publicKey,
    identityDhKey: (await provider.x25519.generateKeyPair()).publicKey,
    tenantId: TENANT,
    pools: [],
    expiresAt: Date.now() + 3_600_000,
  });
  const cases: CaseReport[] = [];

  // What each backend's database can do at all, measured once per backend before the cases so
  // that nothing else of the run competes with it.
  const durableWrites: DurableWriteResult[] = [];
  for (const backend of backends as Array<DurableWriteResult['backend']>) {
    const d = await measureDurableWrites(backend, {
      ...(backend === 'postgres' ? { connectionString: databaseUrl as string } : {}),
      seconds: Math.min(seconds, DURABLE_SECONDS),
      warmupSeconds,
      clients: senders,
      group: DURABLE_GROUP,
    });
    durableWrites.push(d);
    console.log(durableRow(d));
  }
  console.log(`\n${HEADER}`);

  for (const n of counts) {
    const devices = await simulatedDevices(provider, organisationKey, certificate, n);
    const common = { pin, senders, seconds, warmupSeconds, connectBatch: 50 } as const;

    const relay = await startCeiling(tls);
    let ceiling: CaseReport;
    try {
      const measured = await drive(
        {
          ...common,
          mode: 'ceiling',
          url: relay.url,
          devices: devices.map(
            (d, i): ClientDevice => ({
              wsPath: `/ws/${i}`,
              postPath: `/relay/${i}`,
              envelope: Buffer.from(d.envelope).toString('base64'),
            }),
          ),
        },
        cpuCounters,
      );
      ceiling = report(
        `server/ceiling/d${n}/fastify-ws`,
        'ceiling',
        'none',
        n,
        senders,
        seconds,
        measured,
        undefined,
        undefined,
      );
    } finally {
      await relay.close();
    }
    cases.push(ceiling);
    console.log(row(ceiling));

    for (const backend of backends) {
      const dataDir = mkdtempSync(join(tmpdir(), 'cloister-bench-server-'));
      const schema = `bench_server_${process.pid}_${Date.now()}`;
      let server: CloisterServer | undefined;
      try {
        server = await createServer({
          dataDir,
          ...(backend === 'postgres' ? { database: databaseUrl as string, databaseSchema: schema } : {}),
          tls,
          storageKey: organisationKey,
          logLevel: 'silent',
          rateLimitPerMinute: 100_000_000,
          // Every load-generator socket comes from loopback: lift the per-address cap.
          connections: { perAddress: 100_000, max: 100_000 },
        });
        await seed(server, devices, tenantKey.publicKey);
        const url = await server.listen({ port: 0 });
        const measured = await drive(
          {
            ...common,
            mode: 'cloister',
            url,
            devices: devices.map(
              (d): ClientDevice => ({
                authorization: authorizationHeader(d.credential),
                wsPath: '/v1/ws',
                postPath: '/v1/messages',
                envelope: Buffer.from(d.envelope).toString('base64'),
              }),
            ),
          },
          () => serverCounters(server as CloisterServer),
        );
        const c = report(
          `server/deliver/d${n}/${backend}`,
          'cloister',
          backend,
          n,
          senders,
          seconds,
          measured,
          ceiling,
          durableWrites.find((d) => d.backend === backend),
        );
        cases.push(c);
        console.log(row(c));
      } finally {
        await server?.close();
        rmSync(dataDir, { recursive: true, force: true });
        if (backend === 'postgres') await dropSchema(databaseUrl as string, schema);
      }
    }
  }

  const finished = new Date();
  const out = values.out
    ? resolve(values.out)
    : join(PACKAGE_DIR, 'results', `server-${timestamp(started)}${values.quick ? '-quick' : ''}.json`);
  const result = {
    format: 'cloister-server-load/1',
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - started.getTime()) / 1000,
    args: [...argv],
    settings: { senders, seconds, warmupSeconds, bodyBytes: BODY_BYTES, devices: counts, backends },
    machine,
    loadAverageAtEnd: loadAverage(),
    warnings: [...warnings],
    durableWrites,
    cases,
  };
  writeJson(out, result);
  if (warnings.size > 0) console.log(`\nwarnings:\n  ${[...warnings].join('\n  ')}`);
  console.log(`\nreport: ${out}`);
  // Everything this run opened is closed by now; what is left beyond the handles present at the
  // start (stdio) is named, so that a leak shows up here instead of being hidden by the exit.
  await new Promise((r) => setTimeout(r, 100));
  const left = process.getActiveResourcesInfo();
  for (const r of baseline) {
    const i = left.indexOf(r);
    if (i >= 0) left.splice(i, 1);
  }
  if (left.length > 0) console.log(`open handles at exit: ${left.join(', ')}`);
  // A lost or unexpected envelope is a wrong answer, not a slow one: the run fails.
  const wrong = cases.filter((c) => c.undelivered > 0 || c.unexpected > 0);
  if (wrong.length > 0) {
    console.error(`envelopes lost or unexpected in: ${wrong.map((c) => c.name).join(', ')}`);
    return 1;
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  },
);
