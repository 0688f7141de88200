/**
 * Cipher suites and their negotiation. A device lists the suites it supports in its prekey
 * bundle and signs the list with its identity key; a sender verifies that signature and picks
 * the most preferred suite both sides support. An unverified list is never negotiated, so
 * whoever serves a bundle cannot remove `v2` from it to force `static-v1`.
 *
 * @module
 */
import {
  type CryptoProvider,
  isVerifiedSuites,
  type PreKeyBundle,
  type PublicIdentity,
  type SuiteName,
  UnsupportedError,
  ValidationError,
  type VerifiedSuites,
  verifyBundleSuites,
} from '@cloister/crypto';

/**
 * Every suite this version knows, most preferred first: `v2` (hybrid post-quantum handshake and
 * Double Ratchet, the default) and `static-v1` (the product sheet's static construction, no
 * forward secrecy; only for peers that support nothing else).
 *
 * @example
 * ```ts
 * import { SUITES } from '@cloister/protocol';
 * const ours = [...SUITES]; // this device supports both
 * ```
 */
export const SUITES = Object.freeze(['v2', 'static-v1'] as const satisfies readonly SuiteName[]);

/**
 * The name of a suite: `SuiteName` of `@cloister/crypto`.
 *
 * @example
 * ```ts
 * const suite: Suite = 'v2';
 * ```
 */
export type Suite = SuiteName;

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
 * `static-v1` only when the peer's signed list (or ours) has nothing else. Order within the
 * arguments does not matter.
 *
 * `theirs` must be a list returned by `verifyBundleSuites` of `@cloister/crypto` (checked at run
 * time too: anything else, such as `bundle.suites` straight from a decoded bundle, is a
 * `ValidationError` naming `theirs`). {@link negotiateSuiteForBundle} does both steps. Throws
 * `ValidationError` when `ours` is not an array of known suite names, and `UnsupportedError`
 * when there is no common suite.
 *
 * @example
 * ```ts
 * import { verifyBundleSuites } from '@cloister/crypto';
 * import { negotiateSuite } from '@cloister/protocol';
 * const theirs = await verifyBundleSuites(provider, bundle);
 * negotiateSuite(['v2', 'static-v1'], theirs); // 'v2' unless the peer signed only 'static-v1'
 * ```
 */
export function negotiateSuite(ours: readonly Suite[], theirs: VerifiedSuites): Suite {
  const a = checkSuites(ours, 'ours');
  if (!isVerifiedSuites(theirs)) {
    throw new ValidationError('theirs', 'a suite list returned by verifyBundleSuites');
  }
  const common = SUITES.find((s) => a.includes(s) && theirs.includes(s));
  if (common === undefined) throw new UnsupportedError('no cipher suite in common with the peer');
  return common;
}

/**
 * Options of {@link negotiateSuiteForBundle}.
 *
 * @example
 * ```ts
 * // peerIdentity: the identity pinned for this device; the newest suitesIssuedAt seen for it
 * const options: NegotiateOptions = { expectedIdentity: peerIdentity, newestSuitesIssuedAt: 1_767_225_600_000 };
 * const suite = await negotiateSuiteForBundle(provider, ['v2'], bundle, options);
 * ```
 */
export interface NegotiateOptions {
  /** The identity already pinned or verified for the peer device; any other is refused. */
  readonly expectedIdentity?: PublicIdentity;
  /**
   * The newest `suitesIssuedAt` already verified for the peer device; a bundle whose signed list
   * is older is refused (`InvalidKeyError` at `bundle.suitesIssuedAt`), as in `verifyBundleSuites`.
   */
  readonly newestSuitesIssuedAt?: number;
}

/**
 * Verifies a (decoded) prekey bundle with `verifyBundleSuites` of `@cloister/crypto`, then
 * negotiates with {@link negotiateSuite}: `v2` whenever the verified list contains it and `ours`
 * does, `static-v1` only when the peer's signed list lacks `v2`. A bundle whose suite list or any
 * other signature does not verify fails with `InvalidKeyError` (`ERR_INVALID_KEY`, for an altered
 * list at `bundle.suitesSignature`): never fall back to `static-v1` on an error. A correctly
 * signed but replayed older list is caught only by freshness: pass the newest `suitesIssuedAt`
 * seen for the device as `newestSuitesIssuedAt` and remember the bundle's when it is later.
 *
 * @example
 * ```ts
 * import { decodePreKeyBundle, negotiateSuiteForBundle } from '@cloister/protocol';
 * const bundle = decodePreKeyBundle(bytes);
 * if ((await negotiateSuiteForBundle(provider, ['v2'], bundle)) === 'v2') {
 *   await cipher.startSession(bundle);
 * }
 * ```
 */
export async function negotiateSuiteForBundle(
  provider: CryptoProvider,
  ours: readonly Suite[],
  bundle: PreKeyBundle,
  options: NegotiateOptions = {},
): Promise<Suite> {
  checkSuites(ours, 'ours');
  return negotiateSuite(ours, await verifyBundleSuites(provider, bundle, options));
}
