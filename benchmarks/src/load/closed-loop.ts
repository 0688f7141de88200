/**
 * A closed-loop load driver: `concurrency` callers each run `op` back to back until the time is
 * up, and the driver reports completed operations per second and the latency distribution. Used
 * by the storage load benchmark (and by the server's load generator).
 */
import { performance } from 'node:perf_hooks';

/** What one closed-loop run measured. */
export interface LoadResult {
  readonly concurrency: number;
  readonly operations: number;
  readonly seconds: number;
  readonly opsPerSecond: number;
  readonly latencyMs: {
    readonly p50: number;
    readonly p99: number;
    readonly mean: number;
    readonly max: number;
  };
  readonly errors: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/**
 * Runs `op(worker, i)` on `concurrency` workers for `durationMs` after a warm-up of `warmupMs`
 * (not counted). An operation that throws is counted as an error and stops the run, since a
 * benchmark of a failing operation means nothing; the error is rethrown.
 */
export async function closedLoop(options: {
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs?: number;
  readonly op: (worker: number, iteration: number) => Promise<void>;
}): Promise<LoadResult> {
  const { concurrency, durationMs, op } = options;
  // The phases are decided by reading the clock, not by timers: an operation that resolves through
  // microtasks only (an in-process database) would starve a timer forever.
  const measureStart = performance.now() + (options.warmupMs ?? 0);
  const end = measureStart + durationMs;
  const latencies: number[] = [];
  let failure: unknown;
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; failure === undefined; i++) {
      const t0 = performance.now();
      if (t0 >= end) return;
      try {
        await op(w, i);
      } catch (e) {
        failure ??= e;
        return;
      }
      const t1 = performance.now();
      if (t0 >= measureStart && t1 <= end) latencies.push(t1 - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  if (failure !== undefined) throw failure;
  const seconds = (end - measureStart) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  const mean = sorted.reduce((s, x) => s + x, 0) / Math.max(1, sorted.length);
  return {
    concurrency,
    operations: sorted.length,
    seconds,
    opsPerSecond: sorted.length / seconds,
    latencyMs: {
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      mean,
      max: sorted.at(-1) ?? Number.NaN,
    },
    errors: 0,
  };
}
