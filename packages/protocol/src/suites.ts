/**
 * Cipher suites and their negotiation. A device lists the suites it supports in its prekey
 * bundle; a sender picks the most preferred suite both sides support.
 *
 * @module
 */
import { UnsupportedError, ValidationError } from '@cloister/crypto';

/**
 * Every suite this version knows, most preferred first: `v2` (hybrid post-quantum handshake and
 * Double Ratchet, the default) and `static-v1` (the product sheet's static construction, no
 * forward secrecy; only for peers that support nothing else).
 *
 * @example
 * ```ts
 * import { SUITES } from '@cloister/protocol';
 * const bundleSuites = [...SUITES]; // this device supports both
 * ```
 */
export const SUITES = Object.freeze(['v2', 'static-v1'] as const);

/**
 * The name of a suite; the same strings as `SuiteName` in `@cloister/crypto`.
 *
 * @example
 * ```ts
 * const suite: Suite = 'v2';
 * ```
 */
export type Suite = (typeof SUITES)[number];

/**
 * True when `value` is the name of a suite this version knows.
 *
 * @example
 * ```ts
 * isSuite('v2'); // true
 * isSuite('v3'); // false
 * ```
 */
export function isSuite(value: unknown): value is Suite {
  return typeof value === 'string' && (SUITES as readonly string[]).includes(value);
}

function checkSuites(value: unknown, field: string): readonly Suite[] {
  if (!Array.isArray(value)) throw new ValidationError(field, 'an array of suite names');
  value.forEach((s, i) => {
    if (!isSuite(s))
      throw new ValidationError(`${field}[${i}]`, `one of ${SUITES.map((x) => `'${x}'`).join(', ')}`);
  });
  return value as readonly Suite[];
}

/**
 * Picks the suite for a new session: the first entry of {@link SUITES} (so `v2` before
 * `static-v1`) that both `ours` and `theirs` contain. `v2` is chosen whenever both support it;
 * `static-v1` only when one side supports nothing else. Order within the arguments does not
 * matter.
 *
 * Throws `ValidationError` when either argument is not an array of known suite names (decoded
 * bundles never contain unknown names), and `UnsupportedError` when there is no common suite.
 *
 * @example
 * ```ts
 * import { negotiateSuite } from '@cloister/protocol';
 * negotiateSuite(['v2', 'static-v1'], bundle.suites); // 'v2' unless the peer lists only 'static-v1'
 * negotiateSuite(['v2', 'static-v1'], ['static-v1']); // 'static-v1'
 * negotiateSuite(['v2'], ['static-v1']);              // throws UnsupportedError
 * ```
 */
export function negotiateSuite(ours: readonly Suite[], theirs: readonly Suite[]): Suite {
  const a = checkSuites(ours, 'ours');
  const b = checkSuites(theirs, 'theirs');
  const common = SUITES.find((s) => a.includes(s) && b.includes(s));
  if (common === undefined) throw new UnsupportedError('no cipher suite in common with the peer');
  return common;
}
