/**
 * `admin.statistics`: the tenant's usage statistics (`stats.read`, spec/statistics.md): daily and
 * monthly figures, the chart series, and the CSV export. Every figure is aggregated on the server;
 * a figure that would stand for fewer than 5 people is `null` (`<5` in the CSV).
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import { type AdminCaller, queryParams } from './caller.js';

/**
 * A range of UTC days (`YYYY-MM-DD`, both included; default: the 30 days up to today; at most 366).
 *
 * @example
 * ```ts
 * const range: StatisticsDayRange = { from: '2026-11-01', to: '2026-11-30' };
 * const { days } = await admin.statistics.daily(range);
 * ```
 */
export interface StatisticsDayRange {
  /** First UTC day, `YYYY-MM-DD`. */
  readonly from?: string;
  /** Last UTC day, `YYYY-MM-DD` (not after today). */
  readonly to?: string;
}

/**
 * A range of UTC months (`YYYY-MM`, both included; default: the 12 months up to this one; at most 24).
 *
 * @example
 * ```ts
 * const range: StatisticsMonthRange = { from: '2026-01', to: '2026-12' };
 * const { months } = await admin.statistics.monthly(range);
 * ```
 */
export interface StatisticsMonthRange {
  /** First UTC month, `YYYY-MM`. */
  readonly from?: string;
  /** Last UTC month, `YYYY-MM` (not after this one). */
  readonly to?: string;
}

/**
 * One pool's figure: envelopes delivered to its members, or `null` when suppressed.
 *
 * @example
 * ```ts
 * const row: PoolStatistics = { pool: 'ward', messages: null };
 * ```
 */
export interface PoolStatistics {
  /** The pool id. */
  readonly pool: string;
  /** Envelopes delivered to the pool's members, or null (suppressed). */
  readonly messages: number | null;
}

/**
 * One UTC day's figures (`null`: suppressed, fewer than 5 people).
 *
 * @example
 * ```ts
 * const { days } = await admin.statistics.daily();
 * const today: DayStatistics | undefined = days.at(-1);
 * console.log(today?.activeUsers ?? '<5');
 * ```
 */
export interface DayStatistics {
  /** The UTC day, `YYYY-MM-DD`. */
  readonly day: string;
  /** Whether the day has ended (its figures are final). */
  readonly closed: boolean;
  /** Distinct users seen. */
  readonly activeUsers: number | null;
  /** Distinct devices seen. */
  readonly activeDevices: number | null;
  /** Envelopes delivered to the tenant's devices. */
  readonly messages: number | null;
  /** Devices enrolled. */
  readonly enrolments: number | null;
  /** Peak of concurrent WebSocket connections (the sum of each instance's peak). */
  readonly peakConnections: number | null;
  /** Per pool that received something. */
  readonly pools: readonly PoolStatistics[];
}

/**
 * One point of a chart series.
 *
 * @example
 * ```ts
 * const point: StatisticsPoint = { day: '2026-11-10', value: 42 };
 * ```
 */
export interface StatisticsPoint {
  /** The UTC day, `YYYY-MM-DD`. */
  readonly day: string;
  /** The figure, or null (suppressed: draw a gap). */
  readonly value: number | null;
}

/**
 * The answer of {@link StatisticsApi.daily}.
 *
 * @example
 * ```ts
 * const daily: DailyStatistics = await admin.statistics.daily({ from: '2026-11-01' });
 * ```
 */
export interface DailyStatistics {
  /** First day. */
  readonly from: string;
  /** Last day. */
  readonly to: string;
  /** The suppression threshold (5). */
  readonly minPeople: number;
  /** One entry per day. */
  readonly days: readonly DayStatistics[];
  /** The same figures as chart series. */
  readonly series: {
    /** Distinct users seen, per day. */
    readonly activeUsers: readonly StatisticsPoint[];
    /** Distinct devices seen, per day. */
    readonly activeDevices: readonly StatisticsPoint[];
    /** Envelopes delivered, per day. */
    readonly messages: readonly StatisticsPoint[];
    /** Devices enrolled, per day. */
    readonly enrolments: readonly StatisticsPoint[];
    /** Peak of concurrent connections, per day. */
    readonly peakConnections: readonly StatisticsPoint[];
  };
  /** Files stored now (the tenant's blobs). */
  readonly files: { readonly bytes: number; readonly count: number };
}

/**
 * One UTC month's figures.
 *
 * @example
 * ```ts
 * const { months } = await admin.statistics.monthly();
 * const m: MonthStatistics | undefined = months[0];
 * ```
 */
export interface MonthStatistics {
  /** The UTC month, `YYYY-MM`. */
  readonly month: string;
  /** Whether the month has ended. */
  readonly closed: boolean;
  /** Distinct users seen in the month. */
  readonly activeUsers: number | null;
  /** Distinct devices seen in the month. */
  readonly activeDevices: number | null;
  /** Envelopes delivered in the month. */
  readonly messages: number | null;
  /** Devices enrolled in the month. */
  readonly enrolments: number | null;
  /** Per pool that received something. */
  readonly pools: readonly PoolStatistics[];
}

/**
 * The answer of {@link StatisticsApi.monthly}.
 *
 * @example
 * ```ts
 * const monthly: MonthlyStatistics = await admin.statistics.monthly({ from: '2026-01' });
 * ```
 */
export interface MonthlyStatistics {
  /** First month. */
  readonly from: string;
  /** Last month. */
  readonly to: string;
  /** The suppression threshold (5). */
  readonly minPeople: number;
  /** One entry per month. */
  readonly months: readonly MonthStatistics[];
  /** Files stored now (the tenant's blobs). */
  readonly files: { readonly bytes: number; readonly count: number };
}

/** Largest CSV answer read (a year of days with a few hundred pools fits). */
const MAX_CSV_BYTES = 16 * 1024 * 1024;

/**
 * The statistics area of the admin SDK (`admin.statistics`).
 *
 * @example
 * ```ts
 * const { series } = await admin.statistics.daily({ from: '2026-11-01', to: '2026-11-30' });
 * ```
 */
export class StatisticsApi {
  readonly #caller: AdminCaller;

  /**
   * Built by `AdminClient` (`admin.statistics`).
   *
   * @example
   * ```ts
   * const statistics = admin.statistics; // a StatisticsApi
   * ```
   */
  constructor(caller: AdminCaller) {
    this.#caller = caller;
  }

  /**
   * The daily figures of a range of UTC days, with chart series.
   *
   * @example
   * ```ts
   * const { days, series } = await admin.statistics.daily({ from: '2026-11-01', to: '2026-11-30' });
   * ```
   */
  daily(range: StatisticsDayRange = {}): Promise<DailyStatistics> {
    return this.#caller.call('GET', '/admin/v1/statistics/daily', { query: queryParams({ ...range }) });
  }

  /**
   * The monthly figures of a range of UTC months.
   *
   * @example
   * ```ts
   * const { months } = await admin.statistics.monthly({ from: '2026-01', to: '2026-12' });
   * ```
   */
  monthly(range: StatisticsMonthRange = {}): Promise<MonthlyStatistics> {
    return this.#caller.call('GET', '/admin/v1/statistics/monthly', { query: queryParams({ ...range }) });
  }

  /**
   * The daily figures as CSV text (columns `day,scope,pool,active_users,active_devices,messages,
   * enrolments,peak_connections`; a suppressed figure is `<5`). Audited `statistics.export`.
   *
   * @example
   * ```ts
   * const csv = await admin.statistics.csv({ from: '2026-11-01', to: '2026-11-30' });
   * ```
   */
  async csv(range: StatisticsDayRange = {}): Promise<string> {
    const response = await this.#caller.send('GET', '/admin/v1/statistics/export', {
      query: queryParams({ ...range }),
    });
    const decoder = new TextDecoder();
    let text = '';
    for await (const chunk of response.body) {
      text += decoder.decode(chunk, { stream: true });
      if (text.length > MAX_CSV_BYTES) throw new ValidationError('response', 'a CSV of at most 16 MiB');
    }
    return text + decoder.decode();
  }
}
