/**
 * The client benchmark: the client SDK end to end against a real server in a separate process.
 *
 *   tsx --conditions=@cloister/source benchmarks/src/load/client.ts [--quick] [--runs N] [--seconds N]
 *       [--window W] [--idle N] [--backend pglite|postgres] [--no-baseline] [--out FILE]
 *
 * The server (`client-server-entry.ts`) runs in a child process on loopback; the clients run in
 * this process over memory adapters. Cases (see `spec/benchmarks-client.md`):
 * - `client/enroll-to-first-message/<cost>/<direction>`: from `enroll(token)` on a fresh client to
 *   the first message between it and an already running peer arriving (`peer-to-new`: the peer
 *   sends, the new client's `message` event; `new-to-peer`: the other way), with the PIN wrap at
 *   the scrypt floor and at the default cost; p50/p95 over `--runs` runs.
 * - `client/messages-per-second/window<W>` and `client/messages-per-second/serial`: one client
 *   sending texts to another, with W messages in flight or one at a time; delivered messages per
 *   second and end-to-end latency (`sendText` called → the receiver's `message` event).
 * - `client/memory-per-idle-client/n<N>`: N enrolled, started, idle clients in one process (a
 *   child with `--expose-gc`); memory per client.
 * The baseline is the server load benchmark (`server.ts`) run as a child on the same backend with
 * one sender: the relay's rate for pre-sealed envelopes POSTed one at a time.
 * Writes a JSON report (default `benchmarks/results/client-<timestamp>.json`) and prints a table.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type CloisterClient, createClient } from '@cloister/client';
import { PIN_SCRYPT_DEFAULT, PIN_SCRYPT_FLOOR, type PinScryptParams } from '@cloister/crypto';
import { createMemoryAdapter } from '@cloister/storage';
import { describeMachine, loadAverage, PACKAGE_DIR } from '../machine.js';
import { timestamp, writeJson } from '../report-files.js';
import { quantile } from '../stats.js';
import type { IdleMemory, IdleResult, IdleSetup } from './client-idle.js';
import type { EntryAnswer, EntryReady } from './client-server-entry.js';

const USAGE = `Usage: client.ts [options]
  --quick               short smoke run (3 runs, 1 s per rate case, 10 idle clients, short baseline)
  --runs N              enrolment runs per enroll-to-first-message case (default 10)
  --seconds N           measured seconds per rate case (default 5; a warm-up precedes it)
  --window W            messages in flight in the windowed rate case (default 64)
  --idle N              idle clients in the memory case (default 50)
  --backend NAME        pglite or postgres (default: postgres when DATABASE_URL is set, else pglite)
  --no-baseline         skip the server-benchmark baseline
  --out FILE            JSON report path (default benchmarks/results/client-<timestamp>.json)
  --help                this text`;

const ENTRY = fileURLToPath(new URL('./client-server-entry.ts', import.meta.url));
const IDLE = fileURLToPath(new URL('./client-idle.ts', import.meta.url));
const SERVER_BENCH = fileURLToPath(new URL('./server.ts', import.meta.url));
/** Node flags that load TypeScript sources in a child process. */
const TS_FLAGS = ['--import', 'tsx', '--conditions=@cloister/source'];
const PIN = '2468-1357';
/** Longest wait for one message before a run counts as failed. */
const MESSAGE_TIMEOUT_MS = 30_000;

/** Latency figures in milliseconds. */
interface Latency {
  readonly p50: number;
  readonly p95: number;
  readonly mean: number;
  readonly max: number;
  readonly samples: number;
}

function latency(samples: readonly number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  return {
    p50: n === 0 ? Number.NaN : quantile(sorted, 0.5),
    p95: n === 0 ? Number.NaN : quantile(sorted, 0.95),
    mean: n === 0 ? Number.NaN : sorted.reduce((s, x) => s + x, 0) / n,
    max: sorted[n - 1] ?? Number.NaN,
    samples: n,
  };
}

// ---- the server process ------------------------------------------------------------------------

/** The server child: its ready line and a way to ask it for enrolment tokens. */
class ServerProcess {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, (a: EntryAnswer) => void>();
  private nextId = 1;
  private readonly exit: Promise<number | null>;
  private closing: Promise<void> | undefined;
  readonly ready: Promise<EntryReady>;

  constructor(backend: string) {
    this.child = spawn(process.execPath, [...TS_FLAGS, ENTRY, '--backend', backend], {
      cwd: PACKAGE_DIR,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.exit = new Promise((r) => this.child.once('close', (code) => r(code)));
    const lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
    this.ready = new Promise((resolveReady, reject) => {
      this.exit.then((code) => reject(new Error(`the server process exited (${code}) before it was ready`)));
      lines.on('line', (line) => {
        const m = JSON.parse(line) as EntryReady | EntryAnswer;
        if (m.type === 'ready') resolveReady(m);
        else this.pending.get(m.id)?.(m);
      });
    });
  }

  /** A single-use enrolment token for `user` in the bench tenant. */
  async token(user: string): Promise<string> {
    const id = this.nextId++;
    const answer = await new Promise<EntryAnswer>((r) => {
      this.pending.set(id, r);
      this.child.stdin?.write(`${JSON.stringify({ id, type: 'token', user })}\n`);
    });
    this.pending.delete(id);
    if (answer.type !== 'token')
      throw new Error(`token for ${user}: ${answer.type === 'error' ? answer.message : '?'}`);
    return answer.token;
  }

  /** Asks the server to close and waits for it; kills it after 15 s. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.child.stdin?.end(`${JSON.stringify({ type: 'close' })}\n`);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
      await this.exit;
      clearTimeout(timer);
    })();
    return this.closing;
  }
}

// ---- clients -----------------------------------------------------------------------------------

interface Connection {
  readonly url: string;
  readonly pin: string;
}

async function freshClient(server: Connection, scrypt: PinScryptParams): Promise<CloisterClient> {
  return createClient({
    server: { url: server.url, pin: server.pin },
    storage: createMemoryAdapter(),
    pinWrap: { scrypt },
  });
}

/** Resolves with the time of the first `message` event from `from` whose text is `text`. */
function arrival(client: CloisterClient, from: string, text: string): Promise<number> {
  return new Promise((resolveArrival, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`message "${text}" from ${from} not delivered within ${MESSAGE_TIMEOUT_MS} ms`));
    }, MESSAGE_TIMEOUT_MS);
    const off = client.on('message', (e) => {
      const body = e.message.content.body;
      if (e.message.from.userId !== from || body.type !== 'text' || body.text !== text) return;
      const at = performance.now();
      clearTimeout(timer);
      off();
      resolveArrival(at);
    });
  });
}

// ---- case 1: enroll-to-first-message -------------------------------------------------------------

interface EnrolCase {
  readonly name: string;
  readonly scrypt: PinScryptParams;
  readonly direction: 'peer-to-new' | 'new-to-peer';
  readonly runs: number;
  /** enroll() called → the message event. */
  readonly totalMs: Latency;
  /** The phases of the total: enroll(), start(), then send → message event. */
  readonly enrollMs: Latency;
  readonly startMs: Latency;
  readonly messageMs: Latency;
}

async function enrolCase(
  server: ServerProcess,
  conn: Connection,
  peer: { readonly client: CloisterClient; readonly user: string },
  label: string,
  scrypt: PinScryptParams,
  direction: EnrolCase['direction'],
  runs: number,
): Promise<EnrolCase> {
  const total: number[] = [];
  const enrol: number[] = [];
  const start: number[] = [];
  const message: number[] = [];
  for (let i = 0; i < runs; i++) {
    const user = `new-${label}-${direction}-${i}`;
    const token = await server.token(user);
    const client = await freshClient(conn, scrypt);
    try {
      const text = `hello ${user}`;
      const t0 = performance.now();
      await client.enroll(token, { pin: PIN });
      const t1 = performance.now();
      await client.start();
      const t2 = performance.now();
      let t3: number;
      if (direction === 'peer-to-new') {
        const got = arrival(client, peer.user, text);
        await peer.client.sendText({ user }, text);
        t3 = await got;
      } else {
        const got = arrival(peer.client, user, text);
        await client.sendText({ user: peer.user }, text);
        t3 = await got;
      }
      total.push(t3 - t0);
      enrol.push(t1 - t0);
      start.push(t2 - t1);
      message.push(t3 - t2);
      // Let the receipt go back before the client goes away.
      await client.idle();
    } finally {
      await client.close();
    }
  }
  return {
    name: `client/enroll-to-first-message/${label}/${direction}`,
    scrypt,
    direction,
    runs,
    totalMs: latency(total),
    enrollMs: latency(enrol),
    startMs: latency(start),
    messageMs: latency(message),
  };
}

// ---- case 2: messages-per-second ------------------------------------------------------------------

interface RateCase {
  readonly name: string;
  /** Messages in flight (sent, not yet received); 1 for the serial case. */
  readonly window: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Messages received within the measured window, per second. */
  readonly deliveredPerSecond: number;
  readonly delivered: number;
  /** `sendText` called → the receiver's `message` event, for messages sent in the window. */
  readonly latencyMs: Latency;
  /** Sent in the window, still not received 30 s after the sender stopped. */
  readonly undelivered: number;
  /** Received twice. */
  readonly duplicated: number;
  readonly ratioToBaseline: { readonly deliveredPerSecond: number; readonly latencyP50: number } | null;
}

async function rateCase(
  sender: { readonly client: CloisterClient; readonly user: string },
  receiver: { readonly client: CloisterClient; readonly user: string },
  window: number,
  seconds: number,
  warmupSeconds: number,
  tag: string,
): Promise<Omit<RateCase, 'ratioToBaseline'>> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let received = 0;
  let deliveredInWindow = 0;
  let duplicated = 0;
  const seen = new Set<string>();
  let wake: (() => void) | undefined;
  const begin = performance.now();
  const windowStart = begin + warmupSeconds * 1000;
  const windowEnd = windowStart + seconds * 1000;
  const off = receiver.client.on('message', (e) => {
    const body = e.message.content.body;
    if (e.message.from.userId !== sender.user || body.type !== 'text') return;
    const at = performance.now();
    const t = sentAt.get(body.text);
    if (t === undefined) return;
    if (seen.has(body.text)) {
      duplicated++;
      return;
    }
    seen.add(body.text);
    received++;
    if (at >= windowStart && at < windowEnd) deliveredInWindow++;
    if (t >= windowStart && t < windowEnd) latencies.push(at - t);
    wake?.();
  });
  try {
    let sent = 0;
    let sentInWindow = 0;
    while (performance.now() < windowEnd) {
      while (sent - received >= window) {
        const before = received;
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, MESSAGE_TIMEOUT_MS).unref();
        });
        wake = undefined;
        if (received === before) throw new Error(`no message delivered for ${MESSAGE_TIMEOUT_MS} ms`);
      }
      const text = `${tag}-${sent}`;
      const t = performance.now();
      if (t >= windowEnd) break;
      sentAt.set(text, t);
      if (t >= windowStart) sentInWindow++;
      sent++;
      await sender.client.sendText({ user: receiver.user }, text);
    }
    // Drain: wait until everything sent has arrived, or 30 s without progress.
    const deadline = performance.now() + MESSAGE_TIMEOUT_MS;
    while (received < sent && performance.now() < deadline) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200).unref();
      });
      wake = undefined;
    }
    return {
      name: window === 1 ? 'client/messages-per-second/serial' : `client/messages-per-second/window${window}`,
      window,
      seconds,
      warmupSeconds,
      deliveredPerSecond: deliveredInWindow / seconds,
      delivered: deliveredInWindow,
      latencyMs: latency(latencies),
      undelivered: sentInWindow - latencies.length,
      duplicated,
    };
  } finally {
    off();
  }
}

// ---- case 3: memory-per-idle-client --------------------------------------------------------------

interface MemoryCase {
  readonly name: string;
  readonly clients: number;
  readonly online: number;
  readonly setupSeconds: number;
  readonly before: IdleMemory;
  readonly after: IdleMemory;
  readonly perClient: {
    /**
     * heapUsed + external + arrayBuffers, the case's headline figure. Node counts ArrayBuffer
     * memory inside `external` as well, so this counts it twice; `heapPlusExternalBytes` does not.
     */
    readonly heapExternalArrayBuffersBytes: number;
    readonly heapPlusExternalBytes: number;
    readonly arrayBuffersBytes: number;
    readonly heapUsedBytes: number;
    readonly externalBytes: number;
    readonly rssBytes: number;
  };
}

async function memoryCase(server: ServerProcess, conn: Connection, n: number): Promise<MemoryCase> {
  const tokens: string[] = [];
  for (let i = 0; i <= n; i++) tokens.push(await server.token(`idle-${i}`));
  const child = fork(IDLE, [], {
    execArgv: [...process.execArgv, '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const result = await new Promise<IdleResult>((resolveResult, reject) => {
    child.once('message', (m: IdleResult) => resolveResult(m));
    child.once('exit', (code) =>
      reject(new Error(`the idle-client process exited (${code}) without a result`)),
    );
    child.send({ type: 'setup', url: conn.url, pin: conn.pin, tokens } satisfies IdleSetup);
  });
  await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(undefined)));
  if (result.type === 'error') throw new Error(`idle clients: ${result.message}`);
  const d = (k: keyof IdleMemory) => Math.round((result.after[k] - result.before[k]) / result.clients);
  return {
    name: `client/memory-per-idle-client/n${result.clients}`,
    clients: result.clients,
    online: result.online,
    setupSeconds: result.setupSeconds,
    before: result.before,
    after: result.after,
    perClient: {
      heapExternalArrayBuffersBytes: d('heapUsedBytes') + d('externalBytes') + d('arrayBuffersBytes'),
      heapPlusExternalBytes: d('heapUsedBytes') + d('externalBytes'),
      arrayBuffersBytes: d('arrayBuffersBytes'),
      heapUsedBytes: d('heapUsedBytes'),
      externalBytes: d('externalBytes'),
      rssBytes: d('rssBytes'),
    },
  };
}

// ---- the baseline: the server load benchmark with one sender ------------------------------------

interface Baseline {
  readonly source: string;
  readonly command: string;
  readonly case: string;
  readonly deliveredPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number };
}

async function baseline(backend: string, quick: boolean, seconds: number): Promise<Baseline> {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-bench-client-baseline-'));
  const out = join(dir, 'server.json');
  const devices = quick ? 20 : 100;
  const args = [
    '--devices',
    String(devices),
    '--senders',
    '1',
    '--seconds',
    String(seconds),
    '--backend',
    backend,
    '--out',
    out,
  ];
  try {
    const code = await new Promise<number | null>((r) => {
      const child = spawn(process.execPath, [...TS_FLAGS, SERVER_BENCH, ...args], {
        cwd: PACKAGE_DIR,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      child.once('close', r);
    });
    if (code !== 0) throw new Error(`the server benchmark exited with ${code}`);
    const report = JSON.parse(readFileSync(out, 'utf8')) as {
      cases: { name: string; deliveredPerSecond: number; latencyMs: { p50: number; p99: number } }[];
    };
    const name = `server/deliver/d${devices}/${backend}`;
    const c = report.cases.find((x) => x.name === name);
    if (c === undefined) throw new Error(`the server benchmark has no case ${name}`);
    return {
      source:
        'benchmarks/src/load/server.ts (pre-sealed envelopes POSTed to /v1/messages by one closed-loop sender)',
      command: `server.ts ${args.filter((_, i) => args[i - 1] !== '--out' && args[i] !== '--out').join(' ')}`,
      case: name,
      deliveredPerSecond: c.deliveredPerSecond,
      latencyMs: { p50: c.latencyMs.p50, p99: c.latencyMs.p99 },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- output --------------------------------------------------------------------------------------

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const kib = (bytes: number) => (bytes / 1024).toFixed(1);

function enrolRow(c: EnrolCase): string {
  return `${c.name.padEnd(56)} p50 ${f(c.totalMs.p50, 0).padStart(6)} ms  p95 ${f(c.totalMs.p95, 0).padStart(6)} ms  (enroll ${f(c.enrollMs.p50, 0)}, start ${f(c.startMs.p50, 0)}, message ${f(c.messageMs.p50, 0)} ms p50; ${c.runs} runs)`;
}

function rateRow(c: RateCase): string {
  const ratio =
    c.ratioToBaseline === null
      ? ''
      : `  ${(c.ratioToBaseline.deliveredPerSecond * 100).toFixed(1)}% of the relay's msg/s, p50 ×${c.ratioToBaseline.latencyP50.toFixed(1)}`;
  const wrong =
    c.undelivered + c.duplicated > 0 ? `  [${c.undelivered} undelivered, ${c.duplicated} twice]` : '';
  return `${c.name.padEnd(56)} ${f(c.deliveredPerSecond).padStart(7)} msg/s  p50 ${f(c.latencyMs.p50).padStart(7)} ms  p95 ${f(c.latencyMs.p95).padStart(7)} ms${ratio}${wrong}`;
}

function memoryRow(c: MemoryCase): string {
  return `${c.name.padEnd(56)} heap+external+arrayBuffers ${kib(c.perClient.heapExternalArrayBuffersBytes)} KiB/client  (heap ${kib(c.perClient.heapUsedBytes)}, external ${kib(c.perClient.externalBytes)}, of it arrayBuffers ${kib(c.perClient.arrayBuffersBytes)})  RSS ${kib(c.perClient.rssBytes)} KiB/client  [${c.online}/${c.clients} online]`;
}

// ---- main ----------------------------------------------------------------------------------------

async function main(argv: readonly string[]): Promise<number> {
  let values: {
    quick?: boolean;
    runs?: string;
    seconds?: string;
    window?: string;
    idle?: string;
    backend?: string;
    'no-baseline'?: boolean;
    out?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv[0] === '--' ? argv.slice(1) : [...argv],
      options: {
        quick: { type: 'boolean' },
        runs: { type: 'string' },
        seconds: { type: 'string' },
        window: { type: 'string' },
        idle: { type: 'string' },
        backend: { type: 'string' },
        'no-baseline': { type: 'boolean' },
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
  const quick = values.quick === true;
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const runs = Number(values.runs ?? (quick ? '3' : '10'));
  const seconds = Number(values.seconds ?? (quick ? '1' : '5'));
  const warmupSeconds = quick ? 0.5 : 1;
  const window = Number(values.window ?? '64');
  const idle = Number(values.idle ?? (quick ? '10' : '50'));
  const backend = values.backend ?? (databaseUrl === undefined ? 'pglite' : 'postgres');
  const int = (n: number, lo: number, hi: number) => Number.isInteger(n) && n >= lo && n <= hi;
  if (
    !int(runs, 1, 1000) ||
    !(seconds > 0 && seconds <= 600) ||
    !int(window, 2, 4096) ||
    !int(idle, 1, 10_000) ||
    (backend !== 'pglite' && backend !== 'postgres')
  ) {
    console.error(`bad arguments\n\n${USAGE}`);
    return 2;
  }
  if (backend === 'postgres' && databaseUrl === undefined) {
    console.error('--backend postgres needs DATABASE_URL');
    return 2;
  }

  const started = new Date();
  const machine = describeMachine();
  console.log(
    `Cloister client benchmark: server in a child process on ${backend}; ${runs} enrolment runs per case; ` +
      `${seconds} s per rate case (window ${window}); ${idle} idle clients\n`,
  );
  const server = new ServerProcess(backend);
  const enrolCases: EnrolCase[] = [];
  const rateCases: RateCase[] = [];
  let memory: MemoryCase | undefined;
  let base: Baseline | null = null;
  const opened: CloisterClient[] = [];
  try {
    const ready = await server.ready;
    const conn: Connection = { url: ready.url, pin: ready.pin };
    const running = async (user: string) => {
      const client = await freshClient(conn, PIN_SCRYPT_FLOOR);
      opened.push(client);
      await client.enroll(await server.token(user), { pin: PIN });
      await client.start();
      return { client, user };
    };

    // 1. enroll-to-first-message, against a peer that is running before the first run.
    const peer = await running('peer');
    for (const [label, scrypt] of [
      ['floor', PIN_SCRYPT_FLOOR],
      ['default', PIN_SCRYPT_DEFAULT],
    ] as const) {
      for (const direction of ['peer-to-new', 'new-to-peer'] as const) {
        const c = await enrolCase(server, conn, peer, label, scrypt, direction, runs);
        enrolCases.push(c);
        console.log(enrolRow(c));
      }
    }

    // 2. messages-per-second between two running clients whose session exists already.
    const sender = await running('sender');
    const receiver = await running('receiver');
    const hello = arrival(receiver.client, sender.user, 'warm-up');
    await sender.client.sendText({ user: receiver.user }, 'warm-up');
    await hello;
    const back = arrival(sender.client, receiver.user, 'warm-up back');
    await receiver.client.sendText({ user: sender.user }, 'warm-up back');
    await back;
    const windowed = await rateCase(sender, receiver, window, seconds, warmupSeconds, 'w');
    await sender.client.idle();
    await receiver.client.idle();
    const serial = await rateCase(sender, receiver, 1, seconds, warmupSeconds, 's');
    await sender.client.idle();
    await receiver.client.idle();
    for (const c of opened.splice(0)) await c.close();

    // 3. memory-per-idle-client, in a process of its own.
    memory = await memoryCase(server, conn, idle);

    // The baseline, after this run's server has done its work (the two never run at once).
    await server.close();
    if (values['no-baseline'] !== true) base = await baseline(backend, quick, quick ? 1 : 3);
    for (const c of [windowed, serial]) {
      rateCases.push({
        ...c,
        ratioToBaseline:
          base === null
            ? null
            : {
                deliveredPerSecond: c.deliveredPerSecond / base.deliveredPerSecond,
                latencyP50: c.latencyMs.p50 / base.latencyMs.p50,
              },
      });
    }
    for (const c of rateCases) console.log(rateRow(c));
    if (base !== null) {
      console.log(
        `${`baseline ${base.case} (1 sender)`.padEnd(56)} ${f(base.deliveredPerSecond).padStart(7)} msg/s  p50 ${f(base.latencyMs.p50).padStart(7)} ms  p99 ${f(base.latencyMs.p99).padStart(7)} ms`,
      );
    } else console.log('(no baseline: --no-baseline)');
    console.log(memoryRow(memory));
  } finally {
    for (const c of opened) await c.close().catch(() => undefined);
    await server.close();
  }

  const finished = new Date();
  const out = values.out
    ? resolve(values.out)
    : join(PACKAGE_DIR, 'results', `client-${timestamp(started)}${quick ? '-quick' : ''}.json`);
  writeJson(out, {
    format: 'cloister-client-load/1',
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - started.getTime()) / 1000,
    args: [...argv],
    settings: { backend, runs, seconds, warmupSeconds, window, idleClients: idle, storage: 'memory' },
    machine,
    loadAverageAtEnd: loadAverage(),
    baseline: base,
    cases: [...enrolCases, ...rateCases, memory],
  });
  console.log(`\nreport: ${out}`);
  const wrong = rateCases.filter((c) => c.undelivered > 0 || c.duplicated > 0);
  if (wrong.length > 0 || (memory !== undefined && memory.online !== memory.clients)) {
    console.error(
      `lost or duplicated messages, or idle clients offline: ${wrong.map((c) => c.name).join(', ')}`,
    );
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
