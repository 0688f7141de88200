/** The readable table a run prints on stdout, one row per case as it finishes. */
import type { BenchReport, CaseResult } from './harness.js';

const NAME_WIDTH = 44;
const COLUMNS: readonly (readonly [title: string, width: number])[] = [
  ['ops/s', 13],
  ['mean', 10],
  ['p50', 10],
  ['p99', 10],
  ['throughput', 13],
  ['samples', 9],
];

/** About three significant digits, never in exponent notation. */
function short(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** A duration given in milliseconds, in the unit that suits it. */
export function formatDuration(ms: number): string {
  if (ms < 0.001) return `${(ms * 1e6).toFixed(0)} ns`;
  if (ms < 1) return `${short(ms * 1e3)} µs`;
  if (ms < 1000) return `${short(ms)} ms`;
  return `${short(ms / 1000)} s`;
}

function formatOps(ops: number): string {
  return ops.toLocaleString('en-US', { maximumFractionDigits: ops < 100 ? 2 : 0 });
}

function formatRate(bytesPerSecond: number): string {
  const units = ['B/s', 'KiB/s', 'MiB/s', 'GiB/s'];
  let value = bytesPerSecond;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${short(value)} ${units[unit]}`;
}

/** The header line and its underline. */
export function tableHeader(): string {
  const head = `${'case'.padEnd(NAME_WIDTH)}${COLUMNS.map(([t, w]) => t.padStart(w)).join('')}  vs baseline`;
  return `${head}\n${'-'.repeat(head.length + 14)}`;
}

function comparisonText(r: CaseResult): string {
  const parts: string[] = [];
  if (r.comparison !== null && r.comparison.ratio !== null) {
    const impl = r.comparison.baseline.split('/').at(-1);
    const p50 = r.comparison.p50Ratio === null ? '' : ` (p50 ${r.comparison.p50Ratio.toFixed(2)}x)`;
    parts.push(`${r.comparison.ratio.toFixed(2)}x ${impl}${p50}`);
  }
  if (r.target !== null) {
    const verdict = r.target.met === null ? 'not measured' : r.target.met ? 'met' : 'MISSED';
    parts.push(`target >= ${r.target.minRatio.toFixed(2)}: ${verdict}`);
  }
  return parts.join(' ');
}

/** One row; `r` should already carry its ratios. */
export function tableRow(r: CaseResult): string {
  const name = r.name.padEnd(NAME_WIDTH);
  if (r.status !== 'ok' || r.opsPerSecond === null || r.latencyMs === null) {
    return `${name}${r.status === 'skipped' ? 'skipped' : 'ERROR'}: ${r.detail ?? ''}`;
  }
  const cells = [
    formatOps(r.opsPerSecond),
    formatDuration(r.latencyMs.mean),
    formatDuration(r.latencyMs.p50),
    formatDuration(r.latencyMs.p99),
    r.bytesPerSecond === null ? '-' : formatRate(r.bytesPerSecond),
    String(r.samples ?? '-'),
  ];
  const row = cells.map((c, i) => c.padStart(COLUMNS[i]?.[1] ?? 0)).join('');
  return `${name}${row}  ${comparisonText(r)}`.trimEnd();
}

/** The lines after the table: targets, counts. */
export function tableSummary(report: BenchReport): string {
  const lines: string[] = [''];
  if (report.targets.length > 0) {
    lines.push(
      'Targets (ops/s of the case / ops/s of its baseline in this run; see the JSON for full names):',
    );
    for (const t of report.targets) {
      const ratio = t.ratio === null ? 'n/a' : t.ratio.toFixed(2);
      const verdict = t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED';
      const comparison = report.cases.find((c) => c.name === t.case)?.comparison;
      const p50 =
        comparison?.baseline === t.baseline && comparison.p50Ratio !== null
          ? ` (p50 ratio ${comparison.p50Ratio.toFixed(2)})`
          : '';
      const against = t.baseline.split('/').at(-1);
      lines.push(
        `  ${t.case.padEnd(NAME_WIDTH)} ${ratio} >= ${t.minRatio.toFixed(2)} vs ${against}: ${verdict}${p50}`,
      );
    }
    lines.push('');
  }
  const s = report.summary;
  lines.push(
    `${s.cases} cases: ${s.ok} ok, ${s.skipped} skipped, ${s.errors} errors; ` +
      `targets ${s.targetsMet} met, ${s.targetsMissed} missed, ${s.targetsNotMeasured} not measured; ` +
      `${report.durationSeconds.toFixed(0)} s`,
  );
  return lines.join('\n');
}
