import { UnsupportedError } from '@cloister/crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSuite, negotiateSuite, SUITES, type Suite } from '../src/index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('negotiateSuite', () => {
  it('lists v2 first: it is preferred', () => {
    expect(SUITES).toEqual(['v2', 'static-v1']);
    expect(Object.isFrozen(SUITES)).toBe(true);
  });

  it.each<[string, Suite[], Suite[], Suite]>([
    ['both support both', ['v2', 'static-v1'], ['v2', 'static-v1'], 'v2'],
    ['order of the lists does not matter', ['static-v1', 'v2'], ['static-v1', 'v2'], 'v2'],
    ['peer supports only v2', ['v2', 'static-v1'], ['v2'], 'v2'],
    ['peer supports only static-v1', ['v2', 'static-v1'], ['static-v1'], 'static-v1'],
    ['we support only static-v1', ['static-v1'], ['v2', 'static-v1'], 'static-v1'],
    ['both only v2', ['v2'], ['v2'], 'v2'],
  ])('%s', (_name, ours, theirs, expected) => {
    expect(negotiateSuite(ours, theirs)).toBe(expected);
  });

  it.each<[string, Suite[], Suite[]]>([
    ['we only v2, peer only static-v1', ['v2'], ['static-v1']],
    ['we only static-v1, peer only v2', ['static-v1'], ['v2']],
    ['peer lists nothing', ['v2', 'static-v1'], []],
  ])('throws UnsupportedError when there is no common suite: %s', (_name, ours, theirs) => {
    expect(() => negotiateSuite(ours, theirs)).toThrow(UnsupportedError);
    expect(codeOf(() => negotiateSuite(ours, theirs))).toBe('ERR_UNSUPPORTED');
  });

  it.each<[string, unknown, unknown]>([
    ['unknown suite of ours', ['v3'], ['v2']],
    ['unknown suite of theirs', ['v2'], ['v2', 'V2']],
    ['not an array', 'v2', ['v2']],
  ])('rejects arguments that are not suite lists: %s', (_name, ours, theirs) => {
    expect(codeOf(() => negotiateSuite(ours as Suite[], theirs as Suite[]))).toBe('ERR_VALIDATION');
  });

  it('picks v2 exactly when both support it, static-v1 when only that is shared', () => {
    const list = fc.subarray([...SUITES]);
    fc.assert(
      fc.property(list, list, (ours, theirs) => {
        const common = ours.filter((s) => theirs.includes(s));
        if (common.length === 0) {
          expect(codeOf(() => negotiateSuite(ours, theirs))).toBe('ERR_UNSUPPORTED');
        } else {
          expect(negotiateSuite(ours, theirs)).toBe(common.includes('v2') ? 'v2' : 'static-v1');
        }
      }),
    );
  });

  it('isSuite knows exactly the suites', () => {
    expect(SUITES.every(isSuite)).toBe(true);
    expect([undefined, 'v1', 'static-v2', 2, null].some(isSuite)).toBe(false);
  });
});
