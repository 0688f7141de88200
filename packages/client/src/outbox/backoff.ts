/**
 * The outbox's backoff between attempts: capped exponential with equal jitter.
 *
 * @module
 */
import { backoffDelay } from '../backoff.js';

/**
 * Backoff between attempts: `min(maxMs, initialMs · 2^(attempts − 1))`, with jitter.
 *
 * @example
 * ```ts
 * const backoff: OutboxBackoff = { initialMs: 500, maxMs: 60_000 };
 * const delayMs = outboxBackoffDelay(4, backoff, Math.random); // in [2000, 4000)
 * ```
 */
export interface OutboxBackoff {
  /** Delay after the first failure, before jitter (ms, default 1 000). */
  readonly initialMs: number;
  /** Longest delay before jitter (ms, default 300 000). */
  readonly maxMs: number;
}

/**
 * Computes the delay before the next attempt after `attempts` failed ones: the capped exponential
 * `base = min(maxMs, initialMs · 2^(attempts − 1))`, then "equal jitter", a delay uniform in
 * `[base/2, base)`. Rounded up to whole milliseconds.
 *
 * @example
 * ```ts
 * outboxBackoffDelay(3, { initialMs: 1000, maxMs: 60_000 }, () => 0); // 2000
 * ```
 */
export function outboxBackoffDelay(attempts: number, backoff: OutboxBackoff, random: () => number): number {
  const r = Math.min(Math.max(random(), 0), 1);
  const delay = backoffDelay(attempts, {
    initialMs: backoff.initialMs,
    maxMs: backoff.maxMs,
    random: () => r,
  });
  return Math.max(1, Math.ceil(delay));
}
