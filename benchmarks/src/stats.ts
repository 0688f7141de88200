/**
 * Statistics over latency samples merged from several rounds of one case (tinybench computes
 * its own per round; the harness needs them over the union).
 */

/** Two-sided 95% critical values of Student's t for 1..30 degrees of freedom. */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** Summary of a set of latency samples (milliseconds). */
export interface SampleStats {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
  /** Relative margin of error of the mean at 95% confidence, in percent (0 for one sample). */
  readonly rmePercent: number;
}

/** Quantile `q` of ascending `sorted` by linear interpolation between closest ranks. */
export function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const below = sorted[lo] ?? Number.NaN;
  const above = sorted[Math.min(lo + 1, sorted.length - 1)] ?? below;
  return below + (above - below) * (pos - lo);
}

/** Statistics of `samples`; throws on an empty set. */
export function sampleStats(samples: readonly number[]): SampleStats {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = sorted.reduce((s, x) => s + x, 0) / n;
  const variance = n > 1 ? sorted.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1) : 0;
  const t = T95[n - 2] ?? 1.96;
  const moe = n > 1 ? (t * Math.sqrt(variance)) / Math.sqrt(n) : 0;
  return {
    count: n,
    mean,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    min: sorted[0] ?? Number.NaN,
    max: sorted[n - 1] ?? Number.NaN,
    rmePercent: mean > 0 ? (100 * moe) / mean : 0,
  };
}
