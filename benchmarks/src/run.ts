/**
 * The benchmark command.
 *
 *   tsx --conditions=@cloister/source benchmarks/src/run.ts [--quick] [--filter RE]... [--out FILE] [--list]
 *
 * Runs the selected cases one after another, prints a table row per case, and writes a JSON
 * report (default `benchmarks/results/<timestamp>.json`). Exits 0 whether or not targets are
 * met; exits 1 when a case crashes and 2 on bad arguments.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { allCases } from './cases/index.js';
import {
  type BenchCase,
  type BenchReport,
  type CaseResult,
  groupCases,
  type Mode,
  runGroup,
  summarize,
  withRatios,
  writeReport,
} from './harness.js';
import { describeMachine, loadAverage, PACKAGE_DIR } from './machine.js';
import { timestamp } from './report-files.js';
import { tableHeader, tableRow, tableSummary } from './table.js';

const USAGE = `Usage: run.ts [options]
  --quick          short smoke run (every case, tiny budgets; under a minute)
  --filter RE      run the cases whose name matches RE (a regular expression, or /RE/flags;
                   a string that is not a valid expression is matched literally); repeatable;
                   the baselines of the selected cases always run too
  --out FILE       JSON report path (default benchmarks/results/<timestamp>.json)
  --list           print the case names and exit
  --help           this text`;

/** A case-name matcher from one `--filter` value. */
export function parseFilter(value: string): (name: string) => boolean {
  const literal = value.match(/^\/(.+)\/([a-z]*)$/);
  try {
    const re = literal ? new RegExp(literal[1] ?? '', literal[2]) : new RegExp(value);
    return (name) => re.test(name);
  } catch {
    return (name) => name.includes(value);
  }
}

/** The cases matching any filter, plus the baselines they need, in declaration order. */
export function selectCases(cases: readonly BenchCase[], filters: readonly string[]): BenchCase[] {
  if (filters.length === 0) return [...cases];
  const matchers = filters.map(parseFilter);
  const byName = new Map(cases.map((c) => [c.name, c]));
  const wanted = new Set<string>();
  const add = (c: BenchCase): void => {
    if (wanted.has(c.name)) return;
    wanted.add(c.name);
    for (const ref of [c.baseline, c.target?.baseline]) {
      const base = ref === undefined ? undefined : byName.get(ref);
      if (base !== undefined) add(base);
    }
  };
  for (const c of cases) if (matchers.some((m) => m(c.name))) add(c);
  return cases.filter((c) => wanted.has(c.name));
}

async function main(argv: readonly string[]): Promise<number> {
  let values: { quick?: boolean; filter?: string[]; out?: string; list?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv[0] === '--' ? argv.slice(1) : [...argv],
      options: {
        quick: { type: 'boolean' },
        filter: { type: 'string', short: 'f', multiple: true },
        out: { type: 'string', short: 'o' },
        list: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const filters = values.filter ?? [];
  const selected = selectCases(allCases(), filters);
  if (values.list) {
    for (const c of selected) {
      const extra = [c.baseline && `baseline ${c.baseline}`, c.target && `target >= ${c.target.minRatio}`];
      console.log([c.name, ...extra.filter(Boolean)].join('  '));
    }
    return 0;
  }
  if (selected.length === 0) {
    console.error(`no case matches ${filters.join(', ')} (try --list)`);
    return 2;
  }

  const mode: Mode = values.quick ? 'quick' : 'full';
  const started = new Date();
  const machine = describeMachine();
  console.log(
    `Cloister benchmarks (${mode}): ${selected.length} cases on ${machine.cpu.model}, ` +
      `${machine.cpu.availableParallelism} CPUs, Node ${machine.node}, OpenSSL ${machine.openssl}\n`,
  );
  console.log(tableHeader());
  const done = new Map<string, CaseResult>();
  for (const group of groupCases(selected)) {
    for (const measured of await runGroup(group, mode)) {
      const result = withRatios(measured, done);
      done.set(result.name, result);
      console.log(tableRow(result));
    }
  }
  // Fill in ratios whose baseline ran after the case.
  const cases = [...done.values()].map((r) => withRatios(r, done));
  const finished = new Date();
  const report: BenchReport = {
    format: 'cloister-benchmarks/1',
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - started.getTime()) / 1000,
    mode,
    filters,
    args: [...argv],
    machine,
    loadAverageAtEnd: loadAverage(),
    cases,
    ...summarize(cases),
  };
  const out = values.out
    ? resolve(values.out)
    : join(PACKAGE_DIR, 'results', `${timestamp(started)}${mode === 'quick' ? '-quick' : ''}.json`);
  writeReport(out, report);
  console.log(tableSummary(report));
  console.log(`Report: ${out}`);
  return report.summary.errors > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
