/**
 * The benchmark harness: case definitions, budgets, the tinybench wrapper that measures groups
 * of cases in interleaved rounds, the ratios and targets computed between cases of the same run,
 * and the JSON report. The machine description is in `machine.ts`.
 *
 * Benchmarks report; they never fail on speed. A missed target is listed in the summary; only a
 * case that throws (a crash) makes the run exit non-zero.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Bench, hrtimeNowTimestampProvider } from 'tinybench';
import type { MachineDescription } from './machine.js';
import { sampleStats } from './stats.js';

/**
 * How much time a case gets. `light` cases take microseconds to a few milliseconds per
 * operation; `heavy` ones (1 MiB payloads) up to tens of milliseconds; `huge` ones (16 MiB
 * payloads, scrypt at the PIN cost) up to seconds, so they run a fixed, small number of times.
 */
export type Tier = 'light' | 'heavy' | 'huge';

/** The run profile: `full` for figures worth recording, `quick` for a smoke run. */
export type Mode = 'full' | 'quick';

/**
 * Limits for one case. The case runs in `rounds` rounds, interleaved with the other cases of
 * its comparison group (see {@link runGroup}), so that load from other processes falls on a
 * case and its baseline alike. In each round tinybench iterates until both `time / rounds` ms
 * and `iterations / rounds` iterations are reached; the warm-up runs in the first round only.
 */
export interface Budget {
  readonly time: number;
  readonly iterations: number;
  readonly warmupTime: number;
  readonly warmupIterations: number;
  readonly rounds: number;
}

/** The budgets of each tier, per mode; chosen so a full run takes 2 to 3 minutes on 2 cores. */
export const BUDGETS: Readonly<Record<Mode, Readonly<Record<Tier, Budget>>>> = {
  full: {
    light: { time: 1000, iterations: 32, warmupTime: 200, warmupIterations: 8, rounds: 4 },
    heavy: { time: 500, iterations: 8, warmupTime: 50, warmupIterations: 2, rounds: 4 },
    huge: { time: 0, iterations: 5, warmupTime: 0, warmupIterations: 1, rounds: 5 },
  },
  quick: {
    light: { time: 25, iterations: 5, warmupTime: 5, warmupIterations: 2, rounds: 1 },
    heavy: { time: 10, iterations: 2, warmupTime: 0, warmupIterations: 1, rounds: 1 },
    huge: { time: 0, iterations: 1, warmupTime: 0, warmupIterations: 0, rounds: 1 },
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

function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Runs one round of a case in tinybench and returns its latency samples (ms). */
async function measureRound(c: BenchCase, m: Measured, budget: Budget, first: boolean): Promise<number[]> {
  const warmup = first && (budget.warmupIterations > 0 || budget.warmupTime > 0);
  const bench = new Bench({
    time: budget.time / budget.rounds,
    iterations: Math.ceil(budget.iterations / budget.rounds),
    warmup,
    warmupTime: budget.warmupTime,
    warmupIterations: budget.warmupIterations,
    timestampProvider: hrtimeNowTimestampProvider,
    retainSamples: true,
    throws: true,
  });
  const hooks = m.beforeEach ? { beforeEach: m.beforeEach } : {};
  if (m.kind === 'sync') bench.add(c.name, m.fn, { async: false, ...hooks });
  else bench.add(c.name, m.fn, { async: true, ...hooks });
  const [task] = await bench.run();
  const result = task?.result;
  if (result === undefined) throw new Error('tinybench returned no task');
  if (result.state === 'errored') throw result.error;
  if (result.state !== 'completed') throw new Error(`tinybench ended the task as ${result.state}`);
  const samples = result.latency.samples;
  if (samples === undefined) throw new Error('tinybench kept no samples');
  return [...samples];
}

function measurementOf(c: BenchCase, samples: readonly number[]): Measurement {
  const stats = sampleStats(samples);
  const opsPerSecond = stats.mean > 0 ? 1000 / stats.mean : Number.POSITIVE_INFINITY;
  return {
    opsPerSecond,
    bytesPerSecond: c.bytes === undefined ? null : opsPerSecond * c.bytes,
    latencyMs: { mean: stats.mean, p50: stats.p50, p99: stats.p99, min: stats.min, max: stats.max },
    rmePercent: stats.rmePercent,
    samples: stats.count,
  };
}

function resultOf(
  c: BenchCase,
  status: CaseResult['status'],
  detail: string | null,
  m: Measurement,
): CaseResult {
  return {
    name: c.name,
    area: c.area,
    op: c.op,
    size: c.size ?? null,
    impl: c.impl,
    bytes: c.bytes ?? null,
    tier: c.tier ?? 'light',
    status,
    detail,
    ...m,
    comparison: c.baseline === undefined ? null : { baseline: c.baseline, ratio: null, p50Ratio: null },
    target: c.target === undefined ? null : { ...c.target, ratio: null, met: null },
  };
}

/**
 * Splits cases into comparison groups: a baseline and the cases compared with it (keyed by
 * `baseline`, or the case's own name when it has none), in order of first appearance.
 */
export function groupCases(cases: readonly BenchCase[]): BenchCase[][] {
  const groups = new Map<string, BenchCase[]>();
  for (const c of cases) {
    const key = c.baseline ?? c.name;
    const group = groups.get(key);
    if (group) group.push(c);
    else groups.set(key, [c]);
  }
  return [...groups.values()];
}

interface GroupEntry {
  readonly c: BenchCase;
  readonly budget: Budget;
  measured?: Measured;
  samples: number[];
  failure?: { readonly status: 'skipped' | 'error'; readonly detail: string };
}

/**
 * Prepares the cases of one comparison group, then measures them round-robin (round 1 of every
 * case, then round 2, ...), and returns their results in group order. Never throws: a case that
 * cannot run is `skipped`, one that throws is an `error`, and the others carry on.
 */
export async function runGroup(group: readonly BenchCase[], mode: Mode): Promise<CaseResult[]> {
  const entries: GroupEntry[] = group.map((c) => ({
    c,
    budget: BUDGETS[mode][c.tier ?? 'light'],
    samples: [],
  }));
  for (const e of entries) {
    try {
      e.measured = await e.c.prepare();
    } catch (err) {
      e.failure =
        err instanceof CaseSkipped
          ? { status: 'skipped', detail: err.message }
          : { status: 'error', detail: errorText(err) };
    }
  }
  const rounds = Math.max(...entries.map((e) => e.budget.rounds));
  for (let round = 0; round < rounds; round++) {
    for (const e of entries) {
      if (e.measured === undefined || e.failure !== undefined || round >= e.budget.rounds) continue;
      try {
        e.samples = e.samples.concat(await measureRound(e.c, e.measured, e.budget, round === 0));
      } catch (err) {
        e.failure = { status: 'error', detail: errorText(err) };
      }
    }
  }
  return entries.map((e) =>
    e.failure !== undefined
      ? resultOf(e.c, e.failure.status, e.failure.detail, NO_MEASUREMENT)
      : resultOf(e.c, 'ok', null, measurementOf(e.c, e.samples)),
  );
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
