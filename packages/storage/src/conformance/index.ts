/**
 * `@cloister/storage/conformance`: the adapter conformance suite. One set of named cases that
 * checks a {@link StorageAdapter} against the contract in `adapter.ts` (binary keys, order,
 * expiry, purge, atomicity, isolation, concurrency, validation, copying, close). It needs no test
 * framework and runs in Node.js and browsers; see `spec/storage-conformance.md`.
 *
 * @module @cloister/storage/conformance
 */
import type { StorageAdapter } from '../adapter.js';
import { show } from './_expect.js';
import { ConformanceFailure } from './_failure.js';
import { claimCases } from './cases-claims.js';
import { expiryCases } from './cases-expiry.js';
import { listCases } from './cases-list.js';
import { manyCases } from './cases-many.js';
import { modelCases } from './cases-model.js';
import { rowCases } from './cases-rows.js';
import { txCases } from './cases-tx.js';
import { usageCases } from './cases-usage.js';
import { validationCases } from './cases-validation.js';

export { ConformanceFailure } from './_failure.js';

/**
 * An adapter under test: how to open a fresh one and how to release it.
 *
 * @example
 * ```ts
 * import { createMemoryAdapter } from '@cloister/storage';
 * import type { ConformanceTarget } from '@cloister/storage/conformance';
 * const target: ConformanceTarget = {
 *   name: 'memory',
 *   open: async ({ now }) => createMemoryAdapter({ now }),
 * };
 * ```
 */
export interface ConformanceTarget {
  /** A name for reports, such as `postgres`. */
  readonly name: string;
  /**
   * Opens an adapter with no rows in any table the suite uses (tables named `conf_*`); `now` is
   * the clock the suite controls and the adapter must use for expiry and `tx.now`.
   *
   * @example
   * ```ts
   * let clock = 1_700_000_000_000;
   * const adapter = await target.open({ now: () => clock });
   * clock += 60_000; // a row written with `expiresAt: 1_700_000_030_000` has now expired
   * ```
   */
  open(options: { readonly now: () => number }): Promise<StorageAdapter>;
  /**
   * Releases it (default: `adapter.close()`). Also called after the case that closes the adapter itself.
   *
   * @example
   * ```ts
   * const adapter = await target.open({ now: () => Date.now() });
   * // after a case, the suite releases the adapter this way:
   * await (target.close ? target.close(adapter) : adapter.close());
   * ```
   */
  close?(adapter: StorageAdapter): Promise<void>;
  /**
   * True when read-write transactions really run in parallel (PostgreSQL); false or absent when
   * the adapter serializes them.
   */
  readonly parallelTransactions?: boolean;
}

/**
 * One named check. `run` opens its own adapter through the target, closes it again, and
 * rejects with {@link ConformanceFailure} when the adapter does not conform.
 *
 * @example
 * ```ts
 * import { conformanceCases } from '@cloister/storage/conformance';
 * import { test } from 'vitest';
 * for (const c of conformanceCases()) test(c.name, () => c.run(target));
 * ```
 */
export interface ConformanceCase {
  /** A stable name such as `list: after`; the part before `:` is the area. */
  readonly name: string;
  /**
   * Runs the case against `target`: opens and closes its own adapter, rejects with
   * {@link ConformanceFailure} when the adapter does not conform.
   *
   * @example
   * ```ts
   * const [first] = conformanceCases();
   * if (first !== undefined) await first.run(target);
   * ```
   */
  run(target: ConformanceTarget): Promise<void>;
}

/**
 * The outcome of one case in a {@link ConformanceReport}.
 *
 * @example
 * ```ts
 * const report = await runConformance(target, { onResult: (r) => console.log(r.ok ? 'ok' : r.message) });
 * ```
 */
export interface ConformanceResult {
  /** The case name. */
  readonly name: string;
  /** Whether the case passed. */
  readonly ok: boolean;
  /** Wall time of the case in milliseconds. */
  readonly durationMs: number;
  /** For a failed case: the failure message (case, expectation, what happened). */
  readonly message?: string;
  /** For a failed case: the error it rejected with. */
  readonly error?: unknown;
}

/**
 * What {@link runConformance} found.
 *
 * @example
 * ```ts
 * const report = await runConformance(target);
 * if (report.failed > 0) throw new Error(report.results.filter((r) => !r.ok).map((r) => r.message).join('\n'));
 * ```
 */
export interface ConformanceReport {
  /** The target's name. */
  readonly target: string;
  /** One result per case that ran, in suite order. */
  readonly results: readonly ConformanceResult[];
  /** How many cases passed. */
  readonly passed: number;
  /** How many cases failed. */
  readonly failed: number;
}

/**
 * Options of {@link runConformance}.
 *
 * @example
 * ```ts
 * await runConformance(target, { filter: /^purge:/, timeoutMs: 30_000 });
 * ```
 */
export interface RunConformanceOptions {
  /** Runs only the cases whose name matches. */
  readonly filter?: RegExp;
  /** Called after each case. */
  readonly onResult?: (result: ConformanceResult) => void;
  /** A case that has not finished after this many milliseconds fails (default 120 000). */
  readonly timeoutMs?: number;
}

/**
 * Every case of the suite, in a stable order. Each call returns fresh case objects.
 *
 * @example
 * ```ts
 * import { conformanceCases } from '@cloister/storage/conformance';
 * import { describe, test } from 'vitest';
 * describe('my adapter', () => {
 *   for (const c of conformanceCases()) test(c.name, () => c.run(target));
 * });
 * ```
 */
export function conformanceCases(): readonly ConformanceCase[] {
  return [
    ...rowCases(),
    ...manyCases(),
    ...claimCases(),
    ...listCases(),
    ...usageCases(),
    ...expiryCases(),
    ...txCases(),
    ...validationCases(),
    ...modelCases(),
  ];
}

/**
 * Runs the cases (all, or those matching `filter`) one after another against `target` and
 * collects each pass or failure; it never throws for a failing case.
 *
 * @example
 * ```ts
 * import { createMemoryAdapter } from '@cloister/storage';
 * import { runConformance } from '@cloister/storage/conformance';
 * const report = await runConformance({ name: 'memory', open: async ({ now }) => createMemoryAdapter({ now }) });
 * console.log(`${report.passed} passed, ${report.failed} failed`);
 * ```
 */
export async function runConformance(
  target: ConformanceTarget,
  options: RunConformanceOptions = {},
): Promise<ConformanceReport> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const results: ConformanceResult[] = [];
  for (const c of conformanceCases()) {
    if (
      options.filter !== undefined &&
      !new RegExp(options.filter.source, options.filter.flags.replace(/[gy]/g, '')).test(c.name)
    ) {
      continue;
    }
    const started = Date.now();
    let result: ConformanceResult;
    try {
      await runWithTimeout(c, target, timeoutMs);
      result = { name: c.name, ok: true, durationMs: Date.now() - started };
    } catch (e) {
      const message = e instanceof ConformanceFailure ? e.message : `${c.name}: unexpected error: ${show(e)}`;
      result = { name: c.name, ok: false, durationMs: Date.now() - started, message, error: e };
    }
    results.push(result);
    options.onResult?.(result);
  }
  const passed = results.filter((r) => r.ok).length;
  return { target: target.name, results, passed, failed: results.length - passed };
}

async function runWithTimeout(c: ConformanceCase, target: ConformanceTarget, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConformanceFailure(c.name, `did not finish within ${ms} ms`)), ms);
  });
  const run = c.run(target);
  run.catch(() => undefined);
  try {
    await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
