/**
 * Durations on the command line: one or more `<integer><unit>` groups such as `7d`, `12h`,
 * `1h30m` or `90s`, units `w` (weeks), `d` (days), `h` (hours), `m` (minutes) and `s` (seconds),
 * each unit at most once and from the largest to the smallest. No spaces, signs, fractions or
 * milliseconds: what an operator types for a token lifetime, not a general time library.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';

/** Milliseconds per unit, largest first (the order groups must appear in). */
const UNITS: readonly (readonly [DurationUnit, number])[] = [
  ['w', 7 * 86_400_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/**
 * A duration unit: `w` (7 days), `d`, `h`, `m` or `s`.
 *
 * @example
 * ```ts
 * const unit: DurationUnit = 'd';
 * ```
 */
export type DurationUnit = 'w' | 'd' | 'h' | 'm' | 's';

/**
 * The longest duration {@link parseDuration} accepts: 10 years of 365 days.
 *
 * @example
 * ```ts
 * console.log(MAX_DURATION_MS / 86_400_000); // 3650
 * ```
 */
export const MAX_DURATION_MS = 3650 * 86_400_000;

const MAX_TEXT = 64;
const GROUP = /(\d{1,10})([wdhms])/y;

/**
 * Parses a duration such as `7d`, `12h`, `30m` or `1d12h` into milliseconds. Throws
 * `ValidationError(field)` for anything else: an empty text, an unknown or repeated unit, units
 * out of order (`30m1h`), a zero total, or more than {@link MAX_DURATION_MS}.
 *
 * @example
 * ```ts
 * parseDuration('7d'); // 604800000
 * parseDuration('1h30m'); // 5400000
 * parseDuration('soon'); // throws ValidationError
 * ```
 */
export function parseDuration(text: string, field = 'duration'): number {
  const expected = 'a duration such as 7d, 12h, 30m or 1h30m (units w d h m s, largest first)';
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_TEXT) {
    throw new ValidationError(field, expected);
  }
  let total = 0;
  let position = 0;
  let lastUnit = -1;
  GROUP.lastIndex = 0;
  while (position < text.length) {
    GROUP.lastIndex = position;
    const match = GROUP.exec(text);
    if (match === null) throw new ValidationError(field, expected);
    const unitIndex = UNITS.findIndex(([unit]) => unit === match[2]);
    if (unitIndex <= lastUnit) throw new ValidationError(field, expected);
    lastUnit = unitIndex;
    total += Number(match[1]) * UNITS[unitIndex]![1];
    if (total > MAX_DURATION_MS) throw new ValidationError(field, 'a duration of at most 3650d');
    position = GROUP.lastIndex;
  }
  if (total === 0) throw new ValidationError(field, 'a duration longer than zero');
  return total;
}

/**
 * Writes a duration in milliseconds in the form {@link parseDuration} reads, largest units first
 * (`90061000` → `1d1h1m1s`). Milliseconds below a second are dropped; zero is `0s`.
 *
 * @example
 * ```ts
 * formatDuration(604_800_000); // '1w'
 * formatDuration(5_400_000); // '1h30m'
 * ```
 */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new ValidationError('ms', 'a non-negative integer');
  let rest = Math.floor(ms / 1000) * 1000;
  let out = '';
  for (const [unit, size] of UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) out += `${count}${unit}`;
    rest -= count * size;
  }
  return out === '' ? '0s' : out;
}
