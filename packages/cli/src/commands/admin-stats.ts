/**
 * `cloister admin stats`: the tenant's usage statistics (spec/statistics.md). Daily figures of a
 * range of UTC days (default the last 30), `--monthly` for months, `--csv` for the CSV export
 * (to stdout or `--out`). A figure that would stand for fewer than 5 people prints as `<5`.
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import type { DailyStatistics, MonthlyStatistics } from '@cloister/admin';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  type AdminOptionValues,
  addAdminOptions,
  explainAdminError,
  openAdminSession,
  output,
} from '../_admin.js';
import { parsePath } from '../_options.js';
import type { ResolvedIO } from '../io.js';

/**
 * `YYYY-MM-DD` or `YYYY-MM` (with `--monthly`), checked for form only (the server checks the rest).
 *
 * @example
 * ```ts
 * parseStatsDate('2026-11-01'); // '2026-11-01'
 * ```
 */
export function parseStatsDate(value: string): string {
  if (!/^\d{4}-\d{2}(-\d{2})?$/.test(value)) {
    throw new InvalidArgumentError('expected a UTC day YYYY-MM-DD (or a month YYYY-MM with --monthly).');
  }
  return value;
}

interface StatsOptions extends AdminOptionValues {
  readonly from?: string;
  readonly to?: string;
  readonly monthly?: boolean;
  readonly csv?: boolean;
  readonly out?: string;
}

const cell = (v: number | null) => (v === null ? '<5' : String(v));

function dailyText(d: DailyStatistics): string {
  const lines = [`day         users devices messages enrolments peak-connections   (${d.from} .. ${d.to})`];
  for (const x of d.days) {
    lines.push(
      `${x.day}  ${cell(x.activeUsers).padStart(5)} ${cell(x.activeDevices).padStart(7)} ${cell(x.messages).padStart(8)} ${cell(x.enrolments).padStart(10)} ${cell(x.peakConnections).padStart(16)}${x.closed ? '' : '   (today, open)'}`,
    );
    for (const p of x.pools) lines.push(`            pool ${p.pool}: ${cell(p.messages)} messages`);
  }
  lines.push(
    `files stored now: ${d.files.count} (${d.files.bytes} bytes); figures under ${d.minPeople} people show as <${d.minPeople}`,
  );
  return `${lines.join('\n')}\n`;
}

function monthlyText(m: MonthlyStatistics): string {
  const lines = [`month     users devices messages enrolments   (${m.from} .. ${m.to})`];
  for (const x of m.months) {
    lines.push(
      `${x.month}  ${cell(x.activeUsers).padStart(5)} ${cell(x.activeDevices).padStart(7)} ${cell(x.messages).padStart(8)} ${cell(x.enrolments).padStart(10)}${x.closed ? '' : '   (open)'}`,
    );
  }
  lines.push(`files stored now: ${m.files.count} (${m.files.bytes} bytes)`);
  return `${lines.join('\n')}\n`;
}

/**
 * Adds `cloister admin stats` to the `admin` group.
 *
 * @example
 * ```ts
 * registerAdminStatsCommands(program.command('admin'), resolveIO());
 * ```
 */
export function registerAdminStatsCommands(admin: Command, io: ResolvedIO): Command {
  const stats = addAdminOptions(
    admin
      .command('stats')
      .description('usage statistics: daily (default), --monthly, or --csv (figures under 5 people are <5)')
      .addOption(
        new Option('--from <date>', 'first UTC day YYYY-MM-DD (month YYYY-MM with --monthly)').argParser(
          parseStatsDate,
        ),
      )
      .addOption(
        new Option('--to <date>', 'last UTC day (or month); default today').argParser(parseStatsDate),
      )
      .addOption(new Option('--monthly', 'monthly figures').conflicts('csv'))
      .addOption(new Option('--csv', 'the daily figures as CSV'))
      .addOption(new Option('--out <file>', 'write the CSV to this file (mode 0600)').argParser(parsePath)),
    'print one JSON line (the API answer)',
  );
  stats.action(async (options: StatsOptions) => {
    const { client } = await openAdminSession(options, io);
    const range = {
      ...(options.from === undefined ? {} : { from: options.from }),
      ...(options.to === undefined ? {} : { to: options.to }),
    };
    if (options.csv === true) {
      const csv = await client.statistics.csv(range).catch(explainAdminError);
      if (options.out === undefined) io.stdout(csv);
      else {
        writeFileSync(options.out, csv, { mode: 0o600, flag: 'wx' });
        io.stderr(`wrote ${options.out}\n`);
      }
      return;
    }
    if (options.monthly === true) {
      const m = await client.statistics.monthly(range).catch(explainAdminError);
      output(io, options, m, monthlyText);
      return;
    }
    const d = await client.statistics.daily(range).catch(explainAdminError);
    output(io, options, d, dailyText);
  });
  return stats;
}
