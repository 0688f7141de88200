/**
 * Usage statistics (R35): per tenant and UTC day, counters that name nobody (envelopes delivered
 * to each pool's members, enrolments, each instance's peak of concurrent connections) and, for
 * the distinct counts (active users and devices, the recipients behind each pool's figure), sets
 * of keyed hashes under a key of the tenant and period that is destroyed, with the sets, when the
 * period is aggregated. A closed period is aggregated once into its published figures, with the
 * small-count suppression of {@link suppressFigures} applied. Layout, lifetimes and the rule:
 * `spec/statistics.md`.
 *
 * @module
 */
import { type CryptoProvider, DecodeError, ValidationError } from '@cloister/crypto';
import { type TenantId, tenantId } from '@cloister/protocol';
import type { Executor, StorageTx } from '@cloister/storage';
import { checkId, checkInteger, key, read, readUint, T, u32, u64, write } from './_util.js';

/**
 * The smallest number of people a published figure may stand for (`null` below it).
 *
 * @example
 * ```ts
 * const shown = (people: number, value: number) => (people >= STATISTICS_MIN_PEOPLE ? value : null);
 * ```
 */
export const STATISTICS_MIN_PEOPLE = 5;

/**
 * Days the membership sets and their keys outlive their period at most (a backstop: aggregation
 * deletes them as soon as a closed period is read or the recorder moves on).
 *
 * @example
 * ```ts
 * const expiresAt = periodEnd({ kind: 'day', index: 20_400 }) + STATISTICS_SET_GRACE_DAYS * 86_400_000;
 * ```
 */
export const STATISTICS_SET_GRACE_DAYS = 40;

/**
 * The label of the keyed hashes of the membership sets.
 *
 * @example
 * ```ts
 * console.log(STATISTICS_MEMBER_LABEL); // 'cloister/server/v1/statistics-member'
 * ```
 */
export const STATISTICS_MEMBER_LABEL = 'cloister/server/v1/statistics-member';

const DAY_MS = 86_400_000;
const HASH_BYTES = 16;
const PAGE = 1000;
const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * A period: a UTC day (`{ kind: 'day', index }`, days since 1970-01-01) or a UTC month
 * (`{ kind: 'month', index }`, `year × 12 + month − 1`).
 *
 * @example
 * ```ts
 * const today: StatisticsPeriod = { kind: 'day', index: Math.floor(Date.now() / 86_400_000) };
 * ```
 */
export interface StatisticsPeriod {
  /** Day or month. */
  readonly kind: 'day' | 'month';
  /** Days since the epoch, or `year × 12 + month − 1`. */
  readonly index: number;
}

/**
 * When `period` ends (ms since the epoch, exclusive).
 *
 * @example
 * ```ts
 * periodEnd({ kind: 'day', index: 0 }); // 86400000
 * ```
 */
export function periodEnd(period: StatisticsPeriod): number {
  if (period.kind === 'day') return (period.index + 1) * DAY_MS;
  const next = period.index + 1;
  return Date.UTC(Math.floor(next / 12), next % 12, 1);
}

/**
 * The day and the month `time` falls in (UTC).
 *
 * @example
 * ```ts
 * const { day, month } = periodsAt(Date.now());
 * ```
 */
export function periodsAt(time: number): {
  readonly day: StatisticsPeriod;
  readonly month: StatisticsPeriod;
} {
  const d = new Date(time);
  return {
    day: { kind: 'day', index: Math.floor(time / DAY_MS) },
    month: { kind: 'month', index: d.getUTCFullYear() * 12 + d.getUTCMonth() },
  };
}

const label = (p: StatisticsPeriod): string => `${p.kind === 'day' ? 'd' : 'm'}${p.index}`;

/**
 * What one instance counted since its last flush, for one tenant.
 *
 * @example
 * ```ts
 * const batch: StatisticsBatch = {
 *   tenant, at: Date.now(), instance: 'i-1',
 *   active: [{ user: 'alice', device: 1 }], delivered: [{ user: 'bob', pools: ['ward'], envelopes: 3 }],
 *   enrolments: 1, peakConnections: 4,
 * };
 * ```
 */
export interface StatisticsBatch {
  /** The tenant. */
  readonly tenant: TenantId;
  /** When the batch was counted (its day and month). */
  readonly at: number;
  /** The instance's id (its peak row). */
  readonly instance: string;
  /** Devices seen (authenticated or connected). */
  readonly active: readonly { readonly user: string; readonly device: number }[];
  /** Envelopes delivered, by recipient user, with the recipient's pools. */
  readonly delivered: readonly {
    readonly user: string;
    readonly pools: readonly string[];
    readonly envelopes: number;
    /** Whether this instance already put the user in the period's sets with these pools (skipped). */
    readonly known?: boolean;
  }[];
  /** Devices enrolled. */
  readonly enrolments: number;
  /** The instance's peak of concurrent connections of the tenant in the day so far. */
  readonly peakConnections: number;
}

/**
 * One pool's published figure of a period.
 *
 * @example
 * ```ts
 * const row: PoolFigure = { pool: 'ward', messages: null }; // fewer than 5 recipients: suppressed
 * ```
 */
export interface PoolFigure {
  /** The pool id. */
  readonly pool: string;
  /** Envelopes delivered to the pool's members, or null when suppressed. */
  readonly messages: number | null;
}

/**
 * The published figures of a day or a month; `null` is a suppressed figure ("< 5").
 *
 * @example
 * ```ts
 * const f: PeriodFigures = await stores.statistics.figures(tenant, { kind: 'day', index: Math.floor(Date.now() / 86_400_000) - 1 }, Date.now());
 * console.log(f.activeUsers ?? '<5');
 * ```
 */
export interface PeriodFigures {
  /** The period. */
  readonly period: StatisticsPeriod;
  /** Whether the period has ended (its figures are final). */
  readonly closed: boolean;
  /** Distinct users seen. */
  readonly activeUsers: number | null;
  /** Distinct devices seen. */
  readonly activeDevices: number | null;
  /** Envelopes delivered to the tenant's devices. */
  readonly messages: number | null;
  /** Per pool that received something. */
  readonly pools: readonly PoolFigure[];
  /** Devices enrolled. */
  readonly enrolments: number | null;
  /** Peak of concurrent connections (the sum of each instance's peak: an upper bound). Days only. */
  readonly peakConnections: number | null;
}

/**
 * The statistics store.
 *
 * @example
 * ```ts
 * await stores.statistics.record([
 *   { tenant, at: Date.now(), instance: 'i-1', active: [], delivered: [], enrolments: 1, peakConnections: 0 },
 * ]);
 * const today = await stores.statistics.figures(tenant, periodsAt(Date.now()).day, Date.now());
 * ```
 */
export interface StatisticsStore {
  /**
   * Adds what instances counted (one transaction for the whole list).
   *
   * @example
   * ```ts
   * await stores.statistics.record([{ tenant, at: Date.now(), instance: 'i-1', active: [], delivered: [], enrolments: 1, peakConnections: 0 }]);
   * ```
   */
  record(batches: readonly StatisticsBatch[]): Promise<void>;
  /**
   * The published figures of `period` as of `now`: a period that has ended is aggregated once
   * (its figures stored, its sets and key deleted); an open one is computed from its sets.
   *
   * @example
   * ```ts
   * const f = await stores.statistics.figures(tenant, { kind: 'month', index: 2026 * 12 + 11 }, Date.now());
   * ```
   */
  figures(tenant: TenantId, period: StatisticsPeriod, now: number): Promise<PeriodFigures>;
}

// ---------------------------------------------------------------- suppression

/**
 * The people behind one figure (keyed hashes as hex) and its value.
 *
 * @example
 * ```ts
 * const f: CountedFigure = { value: 12, people: new Set(['a1', 'b2']) };
 * ```
 */
export interface CountedFigure {
  /** The figure. */
  readonly value: number;
  /** Who it counts (pseudonymous). */
  readonly people: ReadonlySet<string>;
}

const minus = (a: ReadonlySet<string>, b: ReadonlySet<string>): number => {
  let n = 0;
  for (const x of a) if (!b.has(x)) n++;
  return n;
};

/**
 * The suppression rule (`spec/statistics.md` §3): the total is published when it stands for at
 * least `k` people; a pool's figure when its recipients are at least `k`, unless subtracting it
 * from another published figure isolates 1..k−1 people: two published pools whose recipient sets
 * differ by 1..k−1 people (the smaller is suppressed), the total minus a pool (the pool is
 * suppressed), or the total minus every published pool (the smallest published pool is suppressed
 * until the rest is empty or at least `k`). Repeats until nothing changes.
 *
 * @example
 * ```ts
 * const ward: CountedFigure = { value: 17, people: new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']) };
 * const { total, pools } = suppressFigures(5, { value: 20, people: new Set([...ward.people, 'h7']) }, new Map([['ward', ward]]));
 * // total 20; pools.get('ward') → null: 20 − 17 would be h7's messages
 * ```
 */
export function suppressFigures(
  k: number,
  total: CountedFigure,
  pools: ReadonlyMap<string, CountedFigure>,
): { readonly total: number | null; readonly pools: Map<string, number | null> } {
  const totalShown = total.people.size >= k;
  const shown = new Set([...pools].filter(([, f]) => f.people.size >= k).map(([p]) => p));
  const size = (p: string) => pools.get(p)?.people.size ?? 0;
  // The smaller one first; ties by id, the later one dropped.
  const weaker = (a: string, b: string) => (size(a) < size(b) || (size(a) === size(b) && a > b) ? a : b);
  for (let changed = true; changed; ) {
    changed = false;
    const list = [...shown].sort();
    pairs: for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i] as string;
        const b = list[j] as string;
        if (Math.abs(size(a) - size(b)) >= k) continue;
        const pa = pools.get(a)?.people ?? new Set<string>();
        const pb = pools.get(b)?.people ?? new Set<string>();
        const d = minus(pa, pb) + minus(pb, pa);
        if (d > 0 && d < k) {
          shown.delete(weaker(a, b));
          changed = true;
          break pairs;
        }
      }
    }
    if (changed || !totalShown) continue;
    for (const p of [...shown].sort()) {
      const rest = minus(total.people, pools.get(p)?.people ?? new Set());
      if (rest > 0 && rest < k) {
        shown.delete(p);
        changed = true;
        break;
      }
    }
    if (changed || shown.size === 0) continue;
    const covered = new Set<string>();
    for (const p of shown) for (const x of pools.get(p)?.people ?? []) covered.add(x);
    const rest = minus(total.people, covered);
    if (rest > 0 && rest < k) {
      const smallest = [...shown].sort().reduce((a, b) => weaker(a, b));
      shown.delete(smallest);
      changed = true;
    }
  }
  const out = new Map<string, number | null>();
  for (const [p, f] of pools) out.set(p, shown.has(p) ? f.value : null);
  return { total: totalShown ? total.value : null, pools: out };
}

// ---------------------------------------------------------------- rows

const counterPartition = (tenant: TenantId, day: number) => key(tenant, 'c', u32(day));
const setPartition = (tenant: TenantId, p: StatisticsPeriod, set: string) => key(tenant, label(p), set);
const keyPartition = (tenant: TenantId) => key(tenant);
const AGG = enc.encode('agg');

async function addCounter(
  tx: StorageTx,
  partition: Uint8Array,
  name: string,
  delta: number,
  expiresAt: number,
) {
  const sort = enc.encode(name);
  for (let attempt = 0; ; attempt++) {
    const held = await tx.get(T.statsCounters, partition, sort, { forUpdate: true });
    const next = (held === undefined ? 0 : readUint(held.value, 0, 8)) + delta;
    const ok = await tx.put(
      T.statsCounters,
      { partition, sort, value: u64(next), expiresAt },
      held === undefined ? { ifAbsent: true } : undefined,
    );
    if (ok || attempt > 0) return;
  }
}

async function maxCounter(
  tx: StorageTx,
  partition: Uint8Array,
  name: string,
  value: number,
  expiresAt: number,
) {
  const sort = enc.encode(name);
  const held = await tx.get(T.statsCounters, partition, sort, { forUpdate: true });
  if (held !== undefined && readUint(held.value, 0, 8) >= value) return;
  await tx.put(T.statsCounters, { partition, sort, value: u64(value), expiresAt });
}

/** The period's hashing key, created on first use (`create`), or undefined. */
async function periodKey(
  tx: StorageTx,
  provider: Pick<CryptoProvider, 'randomBytes'>,
  tenant: TenantId,
  p: StatisticsPeriod,
  create: boolean,
): Promise<Uint8Array | undefined> {
  const sort = enc.encode(label(p));
  const held = await tx.get(T.statsKeys, keyPartition(tenant), sort);
  if (held !== undefined || !create) return held?.value;
  const candidate = provider.randomBytes(32);
  const expiresAt = periodEnd(p) + STATISTICS_SET_GRACE_DAYS * DAY_MS;
  await tx.put(
    T.statsKeys,
    { partition: keyPartition(tenant), sort, value: candidate, expiresAt },
    { ifAbsent: true },
  );
  return (await tx.get(T.statsKeys, keyPartition(tenant), sort))?.value;
}

/**
 * A member's keyed hash: `HMAC-SHA256(K_period, "cloister/server/v1/statistics-member" ‖ label
 * 0x00 id)[0..16]`. The same person has the same hash in every set of the period (so the
 * suppression rule can compare the people behind two figures) and unrelated hashes in other
 * periods and tenants.
 */
async function member(
  provider: Pick<CryptoProvider, 'hmacSha256'>,
  k: Uint8Array,
  p: StatisticsPeriod,
  id: string,
): Promise<Uint8Array> {
  const mac = await provider.hmacSha256(k, [enc.encode(STATISTICS_MEMBER_LABEL), key(label(p), id)]);
  return mac.slice(0, HASH_BYTES);
}

async function readSet(tx: StorageTx, partition: Uint8Array): Promise<Set<string>> {
  const out = new Set<string>();
  let after: Uint8Array | undefined;
  for (;;) {
    const rows = await tx.list(T.statsMembers, partition, {
      limit: PAGE,
      ...(after === undefined ? {} : { after }),
    });
    for (const r of rows) out.add(Buffer.from(r.sort).toString('hex'));
    const last = rows[rows.length - 1];
    if (rows.length < PAGE || last === undefined) return out;
    after = last.sort;
  }
}

async function readCounters(tx: StorageTx, tenant: TenantId, day: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const rows = await tx.list(T.statsCounters, counterPartition(tenant, day), { limit: PAGE });
  for (const r of rows) {
    const name = dec.decode(r.sort);
    if (name !== 'agg') out.set(name, readUint(r.value, 0, 8));
  }
  return out;
}

function daysOf(p: StatisticsPeriod): number[] {
  if (p.kind === 'day') return [p.index];
  const start = Date.UTC(Math.floor(p.index / 12), p.index % 12, 1) / DAY_MS;
  const end = periodEnd(p) / DAY_MS;
  return Array.from({ length: end - start }, (_, i) => start + i);
}

async function compute(
  tx: StorageTx,
  tenant: TenantId,
  p: StatisticsPeriod,
  closed: boolean,
): Promise<PeriodFigures> {
  const k = STATISTICS_MIN_PEOPLE;
  let messages = 0;
  let enrolments = 0;
  let peak = 0;
  const poolMessages = new Map<string, number>();
  for (const day of daysOf(p)) {
    for (const [name, value] of await readCounters(tx, tenant, day)) {
      if (name === 'msg') messages += value;
      else if (name === 'enrol') enrolments += value;
      else if (name.startsWith('peak/')) peak += value;
      else if (name.startsWith('msg/')) {
        const pool = name.slice(4);
        poolMessages.set(pool, (poolMessages.get(pool) ?? 0) + value);
      }
    }
  }
  const users = await readSet(tx, setPartition(tenant, p, 'u'));
  const devices = await readSet(tx, setPartition(tenant, p, 'd'));
  const recipients = await readSet(tx, setPartition(tenant, p, 'r'));
  const pools = new Map<string, CountedFigure>();
  for (const [pool, value] of [...poolMessages].sort(([a], [b]) => (a < b ? -1 : 1))) {
    pools.set(pool, { value, people: await readSet(tx, setPartition(tenant, p, `p/${pool}`)) });
  }
  const published = suppressFigures(k, { value: messages, people: recipients }, pools);
  return {
    period: p,
    closed,
    activeUsers: users.size >= k ? users.size : null,
    activeDevices: devices.size >= k ? devices.size : null,
    messages: published.total,
    pools: [...published.pools].map(([pool, messages]) => ({ pool, messages })),
    enrolments: enrolments >= k ? enrolments : null,
    peakConnections: p.kind === 'day' && peak >= k ? peak : null,
  };
}

function encodeFigures(f: PeriodFigures): Uint8Array {
  return write({
    activeUsers: f.activeUsers,
    activeDevices: f.activeDevices,
    messages: f.messages,
    pools: f.pools.map((x) => ({ pool: x.pool, messages: x.messages })),
    enrolments: f.enrolments,
    peakConnections: f.peakConnections,
  });
}

function decodeFigures(p: StatisticsPeriod, bytes: Uint8Array): PeriodFigures {
  const r = read(bytes, T.statsCounters);
  const n = (k: string): number | null => (r.has(k) ? r.int(k) : null);
  const pools = r.arr('pools').map((x) => {
    if (typeof x !== 'object' || x === null) throw new DecodeError(T.statsCounters, 'pools');
    const o = x as Record<string, unknown>;
    if (typeof o.pool !== 'string' || !(o.messages === null || typeof o.messages === 'number'))
      throw new DecodeError(T.statsCounters, 'pools');
    return { pool: o.pool, messages: o.messages };
  });
  return {
    period: p,
    closed: true,
    activeUsers: n('activeUsers'),
    activeDevices: n('activeDevices'),
    messages: n('messages'),
    pools,
    enrolments: n('enrolments'),
    peakConnections: n('peakConnections'),
  };
}

/** Where a period's final figures live: the counter partition of its first day, sort `agg`/`aggm`. */
function aggAddress(tenant: TenantId, p: StatisticsPeriod) {
  const days = daysOf(p);
  return {
    partition: counterPartition(tenant, days[0] ?? 0),
    sort: p.kind === 'day' ? AGG : enc.encode('aggm'),
  };
}

async function aggregate(tx: StorageTx, tenant: TenantId, p: StatisticsPeriod): Promise<PeriodFigures> {
  const at = aggAddress(tenant, p);
  const done = await tx.get(T.statsCounters, at.partition, at.sort);
  if (done !== undefined) return decodeFigures(p, done.value);
  // The key row is the lock: two instances aggregating the same period run one after the other.
  const sort = enc.encode(label(p));
  await tx.get(T.statsKeys, keyPartition(tenant), sort, { forUpdate: true });
  const again = await tx.get(T.statsCounters, at.partition, at.sort);
  if (again !== undefined) return decodeFigures(p, again.value);
  const figures = await compute(tx, tenant, p, true);
  // Final figures outlive the counters: a year past the period (the daily series' bound).
  await tx.put(T.statsCounters, {
    partition: at.partition,
    sort: at.sort,
    value: encodeFigures(figures),
    expiresAt: periodEnd(p) + 400 * DAY_MS,
  });
  for (const set of ['u', 'd', 'r', ...figures.pools.map((x) => `p/${x.pool}`)]) {
    await tx.deletePartition(T.statsMembers, setPartition(tenant, p, set));
  }
  await tx.delete(T.statsKeys, keyPartition(tenant), sort);
  return figures;
}

/**
 * Creates the statistics store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const statistics = createStatisticsStore(adapterExecutor(adapter), provider);
 * ```
 */
export function createStatisticsStore(
  run: Executor,
  provider: Pick<CryptoProvider, 'randomBytes' | 'hmacSha256'>,
): StatisticsStore {
  return {
    async record(batches) {
      if (batches.length === 0) return;
      await run(async (tx) => {
        for (const b of batches) {
          const tenant = checkId(b.tenant, 'tenant', tenantId);
          checkInteger(b.at, 'at', 0, Number.MAX_SAFE_INTEGER);
          const { day, month } = periodsAt(b.at);
          const counters = counterPartition(tenant, day.index);
          const counterExpiry = periodEnd(day) + 400 * DAY_MS;
          const keys = new Map<StatisticsPeriod, Uint8Array>();
          const keyOf = async (p: StatisticsPeriod) => {
            let k = keys.get(p);
            if (k === undefined) {
              k = await periodKey(tx, provider, tenant, p, true);
              if (k === undefined) throw new ValidationError('statistics', 'a period key');
              keys.set(p, k);
            }
            return k;
          };
          const add = async (p: StatisticsPeriod, set: string, id: string) => {
            const sort = await member(provider, await keyOf(p), p, id);
            await tx.put(
              T.statsMembers,
              {
                partition: setPartition(tenant, p, set),
                sort,
                value: Uint8Array.of(1),
                expiresAt: periodEnd(p) + STATISTICS_SET_GRACE_DAYS * DAY_MS,
              },
              { ifAbsent: true },
            );
          };
          for (const a of b.active) {
            for (const p of [day, month]) {
              await add(p, 'u', a.user);
              await add(p, 'd', `${a.user}\u0000${a.device}`);
            }
          }
          let total = 0;
          const perPool = new Map<string, number>();
          for (const d of b.delivered) {
            total += d.envelopes;
            if (d.known !== true)
              for (const p of [day, month]) {
                await add(p, 'r', d.user);
                for (const pool of d.pools) await add(p, `p/${pool}`, d.user);
              }
            for (const pool of d.pools) perPool.set(pool, (perPool.get(pool) ?? 0) + d.envelopes);
          }
          if (total > 0) await addCounter(tx, counters, 'msg', total, counterExpiry);
          for (const [pool, n] of perPool) await addCounter(tx, counters, `msg/${pool}`, n, counterExpiry);
          if (b.enrolments > 0) await addCounter(tx, counters, 'enrol', b.enrolments, counterExpiry);
          if (b.peakConnections > 0)
            await maxCounter(tx, counters, `peak/${b.instance}`, b.peakConnections, counterExpiry);
        }
      });
    },

    async figures(tenant, period, now) {
      const tid = checkId(tenant, 'tenant', tenantId);
      if (period.kind !== 'day' && period.kind !== 'month')
        throw new ValidationError('period.kind', 'day or month');
      checkInteger(period.index, 'period.index', 0, 1_000_000);
      const closed = periodEnd(period) <= now;
      return run(async (tx) => (closed ? aggregate(tx, tid, period) : compute(tx, tid, period, false)));
    },
  };
}
