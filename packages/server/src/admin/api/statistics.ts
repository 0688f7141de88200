/**
 * Usage statistics in the admin API (`stats.read`, R35): the daily series of a bounded range of
 * UTC days, the monthly figures, and a CSV export of the daily series. Every figure is aggregated
 * and suppressed below {@link STATISTICS_MIN_PEOPLE} people (`null`, "<5" in the CSV) by the
 * rule of `spec/statistics.md` §3; the files stored are the tenant's blob figure now (the usage
 * ledger).
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import type { TenantId } from '@cloister/protocol';
import { z } from 'zod';
import type { ServerContext } from '../../context.js';
import { type PeriodFigures, periodsAt, STATISTICS_MIN_PEOPLE } from '../../store/statistics.js';
import { defineAdminOperation } from './operation.js';

/**
 * Most days one daily request or CSV export covers.
 *
 * @example
 * ```ts
 * console.log(MAX_STATISTICS_DAYS); // 366
 * ```
 */
export const MAX_STATISTICS_DAYS = 366;

/**
 * Most months one monthly request covers.
 *
 * @example
 * ```ts
 * console.log(MAX_STATISTICS_MONTHS); // 24
 * ```
 */
export const MAX_STATISTICS_MONTHS = 24;

/**
 * The columns of the CSV export, in order.
 *
 * @example
 * ```ts
 * const header = STATISTICS_CSV_COLUMNS.join(','); // the CSV's first line
 * ```
 */
export const STATISTICS_CSV_COLUMNS = [
  'day',
  'scope',
  'pool',
  'active_users',
  'active_devices',
  'messages',
  'enrolments',
  'peak_connections',
] as const;

const DAY_MS = 86_400_000;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const MONTH = /^\d{4}-\d{2}$/;

const dayText = (index: number) => new Date(index * DAY_MS).toISOString().slice(0, 10);
const monthText = (index: number) => `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;

function dayIndex(text: string, field: string): number {
  const t = Date.parse(`${text}T00:00:00Z`);
  if (!DAY.test(text) || Number.isNaN(t) || dayText(t / DAY_MS) !== text) {
    throw new ValidationError(field, 'a UTC day YYYY-MM-DD');
  }
  return t / DAY_MS;
}

function monthIndex(text: string, field: string): number {
  const [y, m] = text.split('-').map(Number);
  if (!MONTH.test(text) || y === undefined || m === undefined || m < 1 || m > 12 || y < 1970) {
    throw new ValidationError(field, 'a UTC month YYYY-MM');
  }
  return y * 12 + m - 1;
}

/** The day range of a query: default the 30 days up to today; at most {@link MAX_STATISTICS_DAYS}; not past today. */
function dayRange(now: number, query: { from?: string | undefined; to?: string | undefined }) {
  const today = periodsAt(now).day.index;
  const to = query.to === undefined ? today : dayIndex(query.to, 'to');
  const from = query.from === undefined ? to - 29 : dayIndex(query.from, 'from');
  if (to > today) throw new ValidationError('to', 'a day not after today');
  if (from > to) throw new ValidationError('from', 'a day not after to');
  if (to - from + 1 > MAX_STATISTICS_DAYS)
    throw new ValidationError('from', `a range of at most ${MAX_STATISTICS_DAYS} days`);
  return { from, to };
}

const nullableCount = z.number().int().nullable();

const poolFigure = z
  .object({ pool: z.string(), messages: nullableCount })
  .strict()
  .describe('Envelopes delivered to the pool’s members; null when suppressed.');

const dayView = z
  .object({
    day: z.string().describe('UTC day, YYYY-MM-DD.'),
    closed: z.boolean().describe('Whether the day has ended (its figures are final).'),
    activeUsers: nullableCount,
    activeDevices: nullableCount,
    messages: nullableCount.describe('Envelopes delivered to the tenant’s devices.'),
    enrolments: nullableCount,
    peakConnections: nullableCount.describe('Sum of each instance’s peak of concurrent WebSockets.'),
    pools: z.array(poolFigure),
  })
  .strict();

const point = z.object({ day: z.string(), value: nullableCount }).strict();

const filesView = z
  .object({ bytes: z.number().int(), count: z.number().int() })
  .strict()
  .describe('Files stored now: the tenant’s blobs as the usage ledger counts them.');

async function days(
  ctx: ServerContext,
  tenant: TenantId,
  from: number,
  to: number,
): Promise<PeriodFigures[]> {
  const now = ctx.now();
  const out: PeriodFigures[] = [];
  for (let d = from; d <= to; d++)
    out.push(await ctx.stores.statistics.figures(tenant, { kind: 'day', index: d }, now));
  return out;
}

function viewOfDay(f: PeriodFigures) {
  return {
    day: dayText(f.period.index),
    closed: f.closed,
    activeUsers: f.activeUsers,
    activeDevices: f.activeDevices,
    messages: f.messages,
    enrolments: f.enrolments,
    peakConnections: f.peakConnections,
    pools: f.pools.map((p) => ({ pool: p.pool, messages: p.messages })),
  };
}

const rangeQuery = z
  .object({
    from: z.string().optional().describe('First UTC day, YYYY-MM-DD (default: 29 days before `to`).'),
    to: z.string().optional().describe('Last UTC day, YYYY-MM-DD (default: today).'),
  })
  .strict();

/**
 * `GET /admin/v1/statistics/daily?from&to` (`stats.read`): one entry per day and, for charts, a
 * series of `{ day, value }` per figure.
 *
 * @example
 * ```ts
 * const { series } = await (await fetch(`${url}/admin/v1/statistics/daily?from=2026-11-01&to=2026-11-30`, { headers })).json();
 * ```
 */
export const dailyStatisticsOperation = defineAdminOperation({
  id: 'getDailyStatistics',
  method: 'GET',
  path: '/admin/v1/statistics/daily',
  tag: 'statistics',
  summary: 'Usage statistics per UTC day (aggregated; figures under 5 people suppressed)',
  access: { permission: 'stats.read' },
  query: rangeQuery,
  status: 200,
  response: z
    .object({
      from: z.string(),
      to: z.string(),
      minPeople: z
        .number()
        .int()
        .describe('The suppression threshold: a figure standing for fewer people is null.'),
      days: z.array(dayView),
      series: z
        .object({
          activeUsers: z.array(point),
          activeDevices: z.array(point),
          messages: z.array(point),
          enrolments: z.array(point),
          peakConnections: z.array(point),
        })
        .strict()
        .describe('The same figures as chart series.'),
      files: filesView,
    })
    .strict(),
  handle: async (ctx, { me, query }) => {
    const { from, to } = dayRange(ctx.now(), query);
    const list = (await days(ctx, me.tenant, from, to)).map(viewOfDay);
    const series = (k: 'activeUsers' | 'activeDevices' | 'messages' | 'enrolments' | 'peakConnections') =>
      list.map((d) => ({ day: d.day, value: d[k] }));
    const blobs = await ctx.stores.usage.read({ kind: 'tenant-blobs', tenant: me.tenant });
    return {
      from: dayText(from),
      to: dayText(to),
      minPeople: STATISTICS_MIN_PEOPLE,
      days: list,
      series: {
        activeUsers: series('activeUsers'),
        activeDevices: series('activeDevices'),
        messages: series('messages'),
        enrolments: series('enrolments'),
        peakConnections: series('peakConnections'),
      },
      files: { bytes: blobs.bytes, count: blobs.count },
    };
  },
});

/**
 * `GET /admin/v1/statistics/monthly?from&to` (`stats.read`): monthly active users and devices
 * (distinct over the month), envelopes and enrolments, per UTC month.
 *
 * @example
 * ```ts
 * const { months } = await (await fetch(`${url}/admin/v1/statistics/monthly?from=2026-01&to=2026-12`, { headers })).json();
 * ```
 */
export const monthlyStatisticsOperation = defineAdminOperation({
  id: 'getMonthlyStatistics',
  method: 'GET',
  path: '/admin/v1/statistics/monthly',
  tag: 'statistics',
  summary: 'Usage statistics per UTC month (aggregated; figures under 5 people suppressed)',
  access: { permission: 'stats.read' },
  query: z
    .object({
      from: z.string().optional().describe('First UTC month, YYYY-MM (default: 11 months before `to`).'),
      to: z.string().optional().describe('Last UTC month, YYYY-MM (default: this month).'),
    })
    .strict(),
  status: 200,
  response: z
    .object({
      from: z.string(),
      to: z.string(),
      minPeople: z.number().int(),
      months: z.array(
        z
          .object({
            month: z.string().describe('UTC month, YYYY-MM.'),
            closed: z.boolean(),
            activeUsers: nullableCount,
            activeDevices: nullableCount,
            messages: nullableCount,
            enrolments: nullableCount,
            pools: z.array(poolFigure),
          })
          .strict(),
      ),
      files: filesView,
    })
    .strict(),
  handle: async (ctx, { me, query }) => {
    const now = ctx.now();
    const current = periodsAt(now).month.index;
    const to = query.to === undefined ? current : monthIndex(query.to, 'to');
    const from = query.from === undefined ? to - 11 : monthIndex(query.from, 'from');
    if (to > current) throw new ValidationError('to', 'a month not after this one');
    if (from > to) throw new ValidationError('from', 'a month not after to');
    if (to - from + 1 > MAX_STATISTICS_MONTHS)
      throw new ValidationError('from', `a range of at most ${MAX_STATISTICS_MONTHS} months`);
    const months = [];
    for (let m = from; m <= to; m++) {
      const f = await ctx.stores.statistics.figures(me.tenant, { kind: 'month', index: m }, now);
      months.push({
        month: monthText(m),
        closed: f.closed,
        activeUsers: f.activeUsers,
        activeDevices: f.activeDevices,
        messages: f.messages,
        enrolments: f.enrolments,
        pools: f.pools.map((p) => ({ pool: p.pool, messages: p.messages })),
      });
    }
    const blobs = await ctx.stores.usage.read({ kind: 'tenant-blobs', tenant: me.tenant });
    return {
      from: monthText(from),
      to: monthText(to),
      minPeople: STATISTICS_MIN_PEOPLE,
      months,
      files: { bytes: blobs.bytes, count: blobs.count },
    };
  },
});

const cell = (v: number | null) => (v === null ? `<${STATISTICS_MIN_PEOPLE}` : String(v));
/** A CSV field: pool ids are identifiers (no comma or quote), quoted anyway against formula injection. */
const text = (v: string) => `"${v.replace(/"/g, '""')}"`;

/**
 * `GET /admin/v1/statistics/export?from&to` (`stats.read`): the daily series as `text/csv`
 * (columns {@link STATISTICS_CSV_COLUMNS}; a `tenant` row per day, then a `pool` row per pool; a
 * suppressed figure is `<5`, a figure that does not apply is empty). Audited `statistics.export`.
 *
 * @example
 * ```ts
 * const csv = await (await fetch(`${url}/admin/v1/statistics/export?from=2026-11-01&to=2026-11-30`, { headers })).text();
 * ```
 */
export const exportStatisticsOperation = defineAdminOperation({
  id: 'exportStatistics',
  method: 'GET',
  path: '/admin/v1/statistics/export',
  tag: 'statistics',
  summary: 'The daily usage statistics as CSV',
  description: `text/csv with the columns ${STATISTICS_CSV_COLUMNS.join(', ')}; a suppressed figure is \`<5\`.`,
  access: { permission: 'stats.read' },
  query: rangeQuery,
  status: 200,
  response: z.string().describe('text/csv'),
  handle: async (ctx, { me, query, reply }) => {
    const { from, to } = dayRange(ctx.now(), query);
    const list = await days(ctx, me.tenant, from, to);
    await ctx.stores.audit.append(me.tenant, {
      actor: me.admin.id,
      action: 'statistics.export',
      target: me.tenant,
      outcome: 'success',
      details: { from: dayText(from), to: dayText(to) },
    });
    const lines = [STATISTICS_CSV_COLUMNS.join(',')];
    for (const f of list) {
      const day = dayText(f.period.index);
      lines.push(
        [
          day,
          'tenant',
          '',
          cell(f.activeUsers),
          cell(f.activeDevices),
          cell(f.messages),
          cell(f.enrolments),
          cell(f.peakConnections),
        ].join(','),
      );
      for (const p of f.pools)
        lines.push([day, 'pool', text(p.pool), '', '', cell(p.messages), '', ''].join(','));
    }
    void reply.type('text/csv; charset=utf-8');
    return `${lines.join('\r\n')}\r\n`;
  },
});

/**
 * The statistics operations.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, STATISTICS_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const STATISTICS_OPERATIONS = [
  dailyStatisticsOperation,
  monthlyStatisticsOperation,
  exportStatisticsOperation,
] as const;
