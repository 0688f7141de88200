import { ValidationError } from '@cloister/crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, MAX_DURATION_MS, parseDuration } from '../src/index.js';

const UNIT_MS = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;
const ORDER = ['w', 'd', 'h', 'm', 's'] as const;

describe('parseDuration', () => {
  it('reads the documented examples', () => {
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('30m')).toBe(30 * 60_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1d12h')).toBe(36 * 3_600_000);
    expect(parseDuration('3650d')).toBe(MAX_DURATION_MS);
  });

  it.each([
    '',
    '7',
    'd',
    '7D',
    ' 7d',
    '7d ',
    '7 d',
    '-1d',
    '+1d',
    '1.5h',
    '1y',
    '10ms',
    '30m1h',
    '1h1h',
    '1d1d',
    '0s',
    '0d0h',
    '3651d',
    '99999999999d',
    '1h30',
    'soon',
    `${'1'.repeat(70)}s`,
  ])('refuses %j with ValidationError', (text) => {
    expect(() => parseDuration(text)).toThrow(ValidationError);
  });

  it('names the field it was given', () => {
    expect(() => parseDuration('x', '--ttl')).toThrow(/^--ttl: expected/);
  });

  it('sums its groups, largest unit first (property)', () => {
    const groups = fc
      .subarray([...ORDER], { minLength: 1 })
      .chain((units) =>
        fc.tuple(...units.map((u) => fc.tuple(fc.constant(u), fc.integer({ min: 0, max: 500 })))),
      );
    fc.assert(
      fc.property(groups, (parts) => {
        const text = parts.map(([u, n]) => `${n}${u}`).join('');
        const expected = parts.reduce((sum, [u, n]) => sum + n * UNIT_MS[u], 0);
        if (expected === 0 || expected > MAX_DURATION_MS) {
          expect(() => parseDuration(text)).toThrow(ValidationError);
        } else {
          expect(parseDuration(text)).toBe(expected);
        }
      }),
    );
  });

  it('refuses units out of order (property)', () => {
    const pair = fc
      .tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 }))
      .filter(([a, b]) => a >= b);
    fc.assert(
      fc.property(pair, fc.integer({ min: 1, max: 99 }), fc.integer({ min: 1, max: 99 }), ([a, b], x, y) => {
        // the second group's unit is not smaller than the first's
        expect(() => parseDuration(`${x}${ORDER[a]}${y}${ORDER[b]}`)).toThrow(ValidationError);
      }),
    );
  });

  it('never accepts text outside the grammar (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (text) => {
        const grammar = /^(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?$/;
        if (!grammar.test(text) || text === '') expect(() => parseDuration(text)).toThrow(ValidationError);
      }),
    );
  });
});

describe('formatDuration', () => {
  it('writes largest units first', () => {
    expect(formatDuration(604_800_000)).toBe('1w');
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(90_061_000)).toBe('1d1h1m1s');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(1999)).toBe('1s');
    expect(() => formatDuration(-1)).toThrow(ValidationError);
    expect(() => formatDuration(1.5)).toThrow(ValidationError);
  });

  it('round-trips through parseDuration for whole seconds (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_DURATION_MS / 1000 }), (seconds) => {
        const ms = seconds * 1000;
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });
});
