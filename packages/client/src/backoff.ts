/**
 * Exponential backoff with jitter, shared by reconnection and the outbox. No I/O: usable in any
 * environment.
 *
 * @module
 */

/**
 * Retry timing: reconnection of a transport connection, resending from the outbox.
 *
 * @example
 * ```ts
 * transport.connect('/v1/ws', { backoff: { initialMs: 500, maxMs: 60_000 } });
 * ```
 */
export interface BackoffOptions {
  /** First delay (default 250 ms). */
  readonly initialMs?: number;
  /** Largest delay (default 30 s). */
  readonly maxMs?: number;
  /** A connection open this long resets the delay to `initialMs` (default 60 s). */
  readonly stableMs?: number;
  /** Source of jitter in [0, 1) (default `Math.random`). */
  readonly random?: () => number;
}

/**
 * The delay before reconnection attempt `attempt` (1-based): exponential from `initialMs`, capped
 * at `maxMs`, with "equal jitter" (half fixed, half random) so that many clients restarted at once
 * spread out but none retries immediately.
 *
 * @example
 * ```ts
 * backoffDelay(1, { initialMs: 250, maxMs: 30_000, random: () => 0.5 }); // 187.5
 * ```
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 250;
  const max = options.maxMs ?? 30_000;
  const random = options.random ?? Math.random;
  const base = Math.min(max, initial * 2 ** Math.min(Math.max(attempt - 1, 0), 52));
  return base / 2 + (base / 2) * random();
}
