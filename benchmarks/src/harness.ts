/**
 * The benchmark harness: case definitions, the tinybench wrapper that measures one case, the
 * ratios and targets computed between cases of the same run, the description of the machine,
 * and the JSON report.
 *
 * Benchmarks report; they never fail on speed. A missed target is listed in the summary; only a
 * case that throws (a crash) makes the run exit non-zero.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench, hrtimeNowTimestampProvider, type Statistics } from 'tinybench';

/** The benchmarks package folder (`benchmarks/`). */
export const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/**
 * How much time a case gets. `light` cases take microseconds to a few milliseconds per
 * operation; `heavy` ones (1 MiB payloads) up to tens of milliseconds; `huge` ones (16 MiB
 * payloads, scrypt at the PIN cost) up to seconds, so they run a fixed, small number of times.
 */
export type Tier = 'light' | 'heavy' | 'huge';

/** The run profile: `full` for figures worth recording, `quick` for a smoke run. */
export type Mode = 'full' | 'quick';

/** tinybench limits for one case: it runs until both `time` (ms) and `iterations` are reached. */
export interface Budget {
  readonly time: number;
  readonly iterations: number;
  readonly warmupTime: number;
  readonly warmupIterations: number;
}

/** The budgets of each tier, per mode; chosen so a full run takes about 3 minutes on 2 cores. */
export const BUDGETS: Readonly<Record<Mode, Readonly<Record<Tier, Budget>>>> = {
  full: {
    light: { time: 1000, iterations: 32, warmupTime: 200, warmupIterations: 8 },
    heavy: { time: 500, iterations: 8, warmupTime: 50, warmupIterations: 2 },
    huge: { time: 0, iterations: 5, warmupTime: 0, warmupIterations: 1 },
  },
  quick: {
    light: { time: 25, iterations: 5, warmupTime: 5, warmupIterations: 2 },
    heavy: { time: 10, iterations: 2, warmupTime: 0, warmupIterations: 1 },
    huge: { time: 0, iterations: 1, warmupTime: 0, warmupIterations: 0 },
  },
};

/**
 * The timed part of a case. `fn` is one operation; `beforeEach`, when given, runs before every
 * operation outside the timed window (for example to build a fresh handshake state).
 */
export type Measured =
  | { readonly kind: 'sync'; readonly fn: () => unknown; readonly beforeEach?: () => void }
  | {
      readonly kind: 'async';
      readonly fn: () => Promise<unknown>;
      readonly beforeEach?: () => void | Promise<void>;
    };

/** A speed goal: this case's ops/s divided by `baseline`'s ops/s should be at least `minRatio`. */
export interface Target {
  readonly baseline: string;
  readonly minRatio: number;
}

/** What an area file declares for one case. The name is `area/op/size/impl` (size optional). */
export interface CaseSpec {
  readonly area: string;
  readonly op: string;
  /** Payload size label such as `1MiB`, when the operation has a payload. */
  readonly size?: string;
  /** What runs the operation: a provider name, `raw-node`, `libsignal`, `cloister-node`, ... */
  readonly impl: string;
  /** Bytes of payload one operation processes; gives bytes/s in the report. */
  readonly bytes?: number;
  readonly tier?: Tier;
  /** The case this one is compared with (ratio = this ops/s / baseline ops/s). */
  readonly baseline?: string;
  readonly target?: Target;
  /**
   * Untimed set-up, run only when the case is selected: builds the inputs, checks once that the
   * operation gives the right answer, and returns the timed part. Throws {@link CaseSkipped}
   * when the case cannot run here.
   */
  prepare(): Promise<Measured>;
}

/** A declared case with its full name. */
export interface BenchCase extends CaseSpec {
  readonly name: string;
}

/** Builds the case name `area/op/size/impl` (without `size` when there is none). */
export function caseName(spec: Pick<CaseSpec, 'area' | 'op' | 'size' | 'impl'>): string {
  return [spec.area, spec.op, spec.size, spec.impl].filter((p) => p !== undefined).join('/');
}

/** Declares a case. */
export function defineCase(spec: CaseSpec): BenchCase {
  return { ...spec, name: caseName(spec) };
}

/** Thrown by `prepare` when a case cannot run on this machine; the case is reported as skipped. */
export class CaseSkipped extends Error {
  override readonly name = 'CaseSkipped';
}

/** Thrown by `prepare` when an operation returned a wrong answer: the case is a crash. */
export function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`self-check failed: ${what}`);
}

/** Latency figures in milliseconds. */
export interface Latency {
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

/** One case of the report. */
export interface CaseResult {
  readonly name: string;
  readonly area: string;
  readonly op: string;
  readonly size: string | null;
  readonly impl: string;
  readonly bytes: number | null;
  readonly tier: Tier;
  readonly status: 'ok' | 'skipped' | 'error';
  /** Why the case was skipped, or the error it threw. */
  readonly detail: string | null;
  /** Operations per second: runs divided by total measured time. */
  readonly opsPerSecond: number | null;
  readonly bytesPerSecond: number | null;
  readonly latencyMs: Latency | null;
  /** Relative margin of error of the mean latency, in percent (95% confidence). */
  readonly rmePercent: number | null;
  readonly samples: number | null;
  /** Ratios against the baseline case of the same run. */
  readonly comparison: Comparison | null;
  readonly target: TargetResult | null;
}

/**
 * This case against its baseline. `ratio` is ops/s of this case divided by ops/s of the
 * baseline (from mean latencies, so pauses such as garbage collection count); `p50Ratio` is the
 * same from median latencies (baseline p50 / case p50), less sensitive to interference from
 * other processes. `null` when either case did not run.
 */
export interface Comparison {
  readonly baseline: string;
  readonly ratio: number | null;
  readonly p50Ratio: number | null;
}

/** A target and whether this run met it (`null` when the case or its baseline did not run). */
export interface TargetResult {
  readonly baseline: string;
  readonly minRatio: number;
  readonly ratio: number | null;
  readonly met: boolean | null;
}

type Measurement = Pick<
  CaseResult,
  'opsPerSecond' | 'bytesPerSecond' | 'latencyMs' | 'rmePercent' | 'samples'
>;

const NO_MEASUREMENT: Measurement = {
  opsPerSecond: null,
  bytesPerSecond: null,
  latencyMs: null,
  rmePercent: null,
  samples: null,
};

function latencyOf(stats: Statistics): Latency {
  return { mean: stats.mean, p50: stats.p50, p99: stats.p99, min: stats.min, max: stats.max };
}

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

async function measure(c: BenchCase, m: Measured, budget: Budget): Promise<Measurement> {
  const bench = new Bench({
    time: budget.time,
    iterations: budget.iterations,
    warmup: budget.warmupIterations > 0 || budget.warmupTime > 0,
    warmupTime: budget.warmupTime,
    warmupIterations: budget.warmupIterations,
    timestampProvider: hrtimeNowTimestampProvider,
    throws: true,
  });
  if (m.kind === 'sync') {
    bench.add(c.name, m.fn, { async: false, ...(m.beforeEach ? { beforeEach: m.beforeEach } : {}) });
  } else {
    bench.add(c.name, m.fn, { async: true, ...(m.beforeEach ? { beforeEach: m.beforeEach } : {}) });
  }
  const [task] = await bench.run();
  const result = task?.result;
  if (result === undefined) throw new Error('tinybench returned no task');
  if (result.state === 'errored') throw result.error;
  if (result.state !== 'completed') throw new Error(`tinybench ended the task as ${result.state}`);
  const opsPerSecond = result.period > 0 ? 1000 / result.period : Number.POSITIVE_INFINITY;
  return {
    opsPerSecond,
    bytesPerSecond: c.bytes === undefined ? null : opsPerSecond * c.bytes,
    latencyMs: latencyOf(result.latency),
    rmePercent: result.latency.rme,
    samples: result.latency.samplesCount,
  };
}

/** Prepares and measures one case; never throws (a failure becomes an `error` result). */
export async function runCase(c: BenchCase, mode: Mode): Promise<CaseResult> {
  const tier = c.tier ?? 'light';
  const result = (status: CaseResult['status'], detail: string | null, m: Measurement): CaseResult => ({
    name: c.name,
    area: c.area,
    op: c.op,
    size: c.size ?? null,
    impl: c.impl,
    bytes: c.bytes ?? null,
    tier,
    status,
    detail,
    ...m,
    comparison: c.baseline === undefined ? null : { baseline: c.baseline, ratio: null, p50Ratio: null },
    target: c.target === undefined ? null : { ...c.target, ratio: null, met: null },
  });
  let measured: Measured;
  try {
    measured = await c.prepare();
  } catch (e) {
    if (e instanceof CaseSkipped) return result('skipped', e.message, NO_MEASUREMENT);
    return result('error', errorText(e), NO_MEASUREMENT);
  }
  try {
    return result('ok', null, await measure(c, measured, BUDGETS[mode][tier]));
  } catch (e) {
    return result('error', errorText(e), NO_MEASUREMENT);
  }
}

function ratioAgainst(result: CaseResult, baseline: CaseResult | undefined): number | null {
  if (result.opsPerSecond === null || baseline?.opsPerSecond == null) return null;
  return result.opsPerSecond / baseline.opsPerSecond;
}

function p50RatioAgainst(result: CaseResult, baseline: CaseResult | undefined): number | null {
  const ours = result.latencyMs?.p50;
  const theirs = baseline?.latencyMs?.p50;
  if (ours === undefined || theirs === undefined || ours <= 0) return null;
  return theirs / ours;
}

/** Fills in the ratio against the baseline (and the target verdict) from results of the run. */
export function withRatios(result: CaseResult, done: ReadonlyMap<string, CaseResult>): CaseResult {
  let comparison: Comparison | null = null;
  if (result.comparison !== null) {
    const baseline = done.get(result.comparison.baseline);
    comparison = {
      baseline: result.comparison.baseline,
      ratio: ratioAgainst(result, baseline),
      p50Ratio: p50RatioAgainst(result, baseline),
    };
  }
  let target: TargetResult | null = null;
  if (result.target !== null) {
    const ratio = ratioAgainst(result, done.get(result.target.baseline));
    target = { ...result.target, ratio, met: ratio === null ? null : ratio >= result.target.minRatio };
  }
  return { ...result, comparison, target };
}

/** A target line of the summary. */
export interface TargetSummary extends TargetResult {
  readonly case: string;
}

/** The JSON document a run writes. */
export interface BenchReport {
  readonly format: 'cloister-benchmarks/1';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationSeconds: number;
  readonly mode: Mode;
  readonly filters: readonly string[];
  /** The command-line arguments of the run. */
  readonly args: readonly string[];
  readonly machine: MachineDescription;
  /** 1, 5 and 15 minute load averages when the run ended. */
  readonly loadAverageAtEnd: readonly number[];
  readonly cases: readonly CaseResult[];
  readonly targets: readonly TargetSummary[];
  readonly summary: {
    readonly cases: number;
    readonly ok: number;
    readonly skipped: number;
    readonly errors: number;
    readonly targetsMet: number;
    readonly targetsMissed: number;
    readonly targetsNotMeasured: number;
  };
}

/** Collects the target lines and the counts of a finished run. */
export function summarize(cases: readonly CaseResult[]): Pick<BenchReport, 'targets' | 'summary'> {
  const targets = cases.flatMap((c) => (c.target === null ? [] : [{ case: c.name, ...c.target }]));
  return {
    targets,
    summary: {
      cases: cases.length,
      ok: cases.filter((c) => c.status === 'ok').length,
      skipped: cases.filter((c) => c.status === 'skipped').length,
      errors: cases.filter((c) => c.status === 'error').length,
      targetsMet: targets.filter((t) => t.met === true).length,
      targetsMissed: targets.filter((t) => t.met === false).length,
      targetsNotMeasured: targets.filter((t) => t.met === null).length,
    },
  };
}

/** Writes the report as indented JSON, creating the folder if needed. */
export function writeReport(path: string, report: BenchReport): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
}

/** The machine and software a run measured. */
export interface MachineDescription {
  readonly os: { readonly platform: string; readonly release: string; readonly arch: string };
  readonly cpu: {
    readonly model: string;
    /** Logical CPUs the OS reports. */
    readonly cores: number;
    /** CPUs this process may use (cgroup limits included). */
    readonly availableParallelism: number;
    readonly speedMHz: number | null;
  };
  readonly memory: { readonly totalBytes: number; readonly freeBytesAtStart: number };
  /** 1, 5 and 15 minute load averages when the run started: other work on a shared machine. */
  readonly loadAverageAtStart: readonly number[];
  readonly node: string;
  readonly v8: string;
  readonly openssl: string;
  /** Versions of the packages under test and of the tools measuring them (`null` if not found). */
  readonly packages: Readonly<Record<string, string | null>>;
  /** The commit of the checkout, when it is a git repository with a commit. */
  readonly gitCommit: string | null;
}

/** Packages whose versions a report records, and the folder their lookup starts from. */
const REPORTED_PACKAGES: readonly (readonly [name: string, from: 'benchmarks' | 'crypto'])[] = [
  ['@cloister/crypto', 'benchmarks'],
  ['@cloister/protocol', 'benchmarks'],
  ['@noble/curves', 'crypto'],
  ['@noble/hashes', 'crypto'],
  ['@noble/ciphers', 'crypto'],
  ['@noble/post-quantum', 'crypto'],
  ['@signalapp/libsignal-client', 'benchmarks'],
  ['tinybench', 'benchmarks'],
  ['tsx', 'benchmarks'],
];

/** Finds `node_modules/<name>/package.json` from `dir` upwards, as Node's resolution does. */
function findPackageJson(name: string, dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name, 'package.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(d) === d) return null;
  }
}

function packageVersion(name: string, dir: string): string | null {
  const path = findPackageJson(name, dir);
  if (path === null) return null;
  const version: unknown = JSON.parse(readFileSync(path, 'utf8')).version;
  return typeof version === 'string' ? version : null;
}

function packageVersions(): Record<string, string | null> {
  const cryptoJson = findPackageJson('@cloister/crypto', PACKAGE_DIR);
  const cryptoDir = cryptoJson === null ? PACKAGE_DIR : dirname(realpathSync(cryptoJson));
  const out: Record<string, string | null> = {};
  for (const [name, from] of REPORTED_PACKAGES) {
    out[name] = packageVersion(name, from === 'crypto' ? cryptoDir : PACKAGE_DIR);
  }
  return out;
}

function gitCommit(): string | null {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: PACKAGE_DIR,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.trim() || null;
  } catch {
    return null;
  }
}

/** The 1, 5 and 15 minute load averages, rounded to hundredths. */
export function loadAverage(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

/** Describes this machine and the software versions in play. */
export function describeMachine(): MachineDescription {
  const cpus = os.cpus();
  return {
    os: { platform: os.platform(), release: os.release(), arch: os.arch() },
    cpu: {
      model: cpus[0]?.model.trim() ?? 'unknown',
      cores: cpus.length,
      availableParallelism: os.availableParallelism(),
      speedMHz: cpus[0]?.speed || null,
    },
    memory: { totalBytes: os.totalmem(), freeBytesAtStart: os.freemem() },
    loadAverageAtStart: loadAverage(),
    node: process.versions.node,
    v8: process.versions.v8,
    openssl: process.versions.openssl ?? 'none',
    packages: packageVersions(),
    gitCommit: gitCommit(),
  };
}
