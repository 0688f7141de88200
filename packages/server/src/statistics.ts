/**
 * The statistics recorder of one server instance (R35): the relay's hooks tell it, in memory, that
 * a device was seen, an envelope was delivered to a user's mailbox, a device enrolled or a
 * WebSocket opened or closed; every {@link STATISTICS_FLUSH_MS} (and when the server shuts down)
 * it writes what it gathered to the statistics store in one transaction. A hook costs a few map
 * operations and never waits for the database; a delivery pays no extra statement. What is
 * counted, and how little is kept: `spec/statistics.md`.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { TenantId, UserId } from '@cloister/protocol';
import type { ServerContext } from './context.js';
import { periodsAt, type StatisticsBatch } from './store/statistics.js';

/**
 * How often an instance writes what it counted (ms).
 *
 * @example
 * ```ts
 * console.log(STATISTICS_FLUSH_MS); // 10000
 * ```
 */
export const STATISTICS_FLUSH_MS = 10_000;

/**
 * How long the recorder trusts the pools it read for a recipient (ms): a pool change shows in the
 * per-pool figures at most this late.
 *
 * @example
 * ```ts
 * console.log(STATISTICS_POOLS_TTL_MS); // 60000
 * ```
 */
export const STATISTICS_POOLS_TTL_MS = 60_000;

/** Most entries of the recorder's per-day memory of what it already wrote (then it starts over). */
const SEEN_LIMIT = 200_000;

/**
 * The recorder ({@link statisticsOf}).
 *
 * @example
 * ```ts
 * const stats: StatisticsRecorder = statisticsOf(ctx);
 * stats.delivered(tenant, user);
 * await stats.flush();
 * ```
 */
export interface StatisticsRecorder {
  /**
   * A device authenticated or connected.
   *
   * @example
   * ```ts
   * statisticsOf(ctx).active(me.tenant, me.user, me.device);
   * ```
   */
  active(tenant: TenantId, user: UserId, device: number): void;
  /**
   * An envelope was queued in a mailbox of `user` (counted by the recipient, never the sender).
   *
   * @example
   * ```ts
   * statisticsOf(ctx).delivered(recipient.tenant, recipient.user);
   * ```
   */
  delivered(tenant: TenantId, user: UserId): void;
  /**
   * A device enrolled.
   *
   * @example
   * ```ts
   * statisticsOf(ctx).enrolled(enrolment.tenant);
   * ```
   */
  enrolled(tenant: TenantId): void;
  /**
   * A WebSocket of the tenant opened (`+1`) or closed (`-1`).
   *
   * @example
   * ```ts
   * statisticsOf(ctx).connections(me.tenant, 1);
   * ```
   */
  connections(tenant: TenantId, delta: 1 | -1): void;
  /**
   * Writes what was gathered (one transaction); resolves when it is stored.
   *
   * @example
   * ```ts
   * await statisticsOf(ctx).flush();
   * ```
   */
  flush(): Promise<void>;
}

interface Pending {
  active: Map<string, { user: string; device: number }>;
  delivered: Map<string, number>;
  enrolments: number;
  peakChanged: boolean;
}

const RECORDERS = new WeakMap<ServerContext, StatisticsRecorder>();

/**
 * The recorder of the instance `ctx` belongs to (created on first use, with its flush timer).
 *
 * @example
 * ```ts
 * statisticsOf(ctx).enrolled(tenant);
 * ```
 */
export function statisticsOf(ctx: ServerContext): StatisticsRecorder {
  const existing = RECORDERS.get(ctx);
  if (existing !== undefined) return existing;
  const instance = randomBytes(8).toString('hex');
  const pending = new Map<TenantId, Pending>();
  const open = new Map<TenantId, number>();
  const peak = new Map<TenantId, number>();
  let day = periodsAt(ctx.now()).day.index;
  /** What this instance wrote today: `tenant 0 user 0 device` and `tenant 0 user 0 pools`. */
  let seen = new Set<string>();
  const pools = new Map<string, { pools: readonly string[]; at: number }>();
  let flushing: Promise<void> | undefined;

  const of = (tenant: TenantId): Pending => {
    let p = pending.get(tenant);
    if (p === undefined) {
      p = { active: new Map(), delivered: new Map(), enrolments: 0, peakChanged: false };
      pending.set(tenant, p);
    }
    return p;
  };
  const rollover = () => {
    const today = periodsAt(ctx.now()).day.index;
    if (today === day) return;
    day = today;
    seen = new Set();
    peak.clear();
    for (const [tenant, n] of open) {
      peak.set(tenant, n);
      if (n > 0) of(tenant).peakChanged = true;
    }
  };

  const poolsOf = async (tenant: TenantId, user: string, now: number): Promise<readonly string[]> => {
    const id = `${tenant}\u0000${user}`;
    const hit = pools.get(id);
    if (hit !== undefined && now - hit.at < STATISTICS_POOLS_TTL_MS) return hit.pools;
    const u = await ctx.stores.users.get(tenant, user as UserId).catch(() => undefined);
    const list = u?.pools ?? [];
    pools.set(id, { pools: list, at: now });
    if (pools.size > SEEN_LIMIT) pools.clear();
    return list;
  };

  const write = async () => {
    rollover();
    const now = ctx.now();
    const taken = [...pending];
    pending.clear();
    const batches: StatisticsBatch[] = [];
    for (const [tenant, p] of taken) {
      const delivered: { user: string; pools: readonly string[]; envelopes: number; known: boolean }[] = [];
      for (const [user, envelopes] of p.delivered) {
        const list = await poolsOf(tenant, user, now);
        const id = `${tenant}\u0000${user}\u0000${list.join(',')}`;
        delivered.push({ user, pools: list, envelopes, known: seen.has(id) });
        seen.add(id);
      }
      batches.push({
        tenant,
        at: now,
        instance,
        active: [...p.active.values()],
        delivered,
        enrolments: p.enrolments,
        peakConnections: p.peakChanged ? (peak.get(tenant) ?? 0) : 0,
      });
    }
    if (seen.size > SEEN_LIMIT) seen = new Set();
    if (batches.length === 0) return;
    try {
      await ctx.stores.statistics.record(batches);
    } catch (error) {
      // Statistics never stand in the way of the relay: a failed write loses its counts.
      ctx.log.warn({ err: error }, 'statistics not recorded');
    }
  };

  const recorder: StatisticsRecorder = {
    active(tenant, user, device) {
      rollover();
      const id = `${tenant}\u0000${user}\u0000${device}`;
      if (seen.has(id)) return;
      seen.add(id);
      of(tenant).active.set(id, { user, device });
    },
    delivered(tenant, user) {
      const p = of(tenant);
      p.delivered.set(user, (p.delivered.get(user) ?? 0) + 1);
    },
    enrolled(tenant) {
      of(tenant).enrolments += 1;
    },
    connections(tenant, delta) {
      rollover();
      const n = Math.max(0, (open.get(tenant) ?? 0) + delta);
      open.set(tenant, n);
      if (n > (peak.get(tenant) ?? 0)) {
        peak.set(tenant, n);
        of(tenant).peakChanged = true;
      }
    },
    flush() {
      const run = (flushing ?? Promise.resolve()).then(write);
      flushing = run.finally(() => {
        if (flushing === run) flushing = undefined;
      });
      return run;
    },
  };
  const timer = setInterval(() => void recorder.flush(), STATISTICS_FLUSH_MS);
  timer.unref();
  ctx.shutdown.addEventListener('abort', () => clearInterval(timer), { once: true });
  RECORDERS.set(ctx, recorder);
  return recorder;
}
