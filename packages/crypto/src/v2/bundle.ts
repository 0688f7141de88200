/**
 * Checking a prekey bundle before it is used: every signature it carries, including the one over
 * the device's suite list, before anything is decided from its contents.
 *
 * @module
 */
import { equalBytes } from '../bytes.js';
import { InvalidKeyError, UnsupportedError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';
import {
  identityDhKeySignedBytes,
  kemPreKeySignedBytes,
  signedPreKeySignedBytes,
  suitesSignedBytes,
} from './_signed.js';
import { checkBundle, checkObject, checkPublicIdentity, checkSuitesIssuedAt } from './_validate.js';
import type { PreKeyBundle, PublicIdentity, VerifiedSuites } from './types.js';

/**
 * Options of {@link verifyPreKeyBundle} and {@link verifyBundleSuites}.
 *
 * @example
 * ```ts
 * const options: VerifyBundleOptions = { expectedIdentity: pinned, newestSuitesIssuedAt: seen };
 * await verifyPreKeyBundle(provider, bundle, options);
 * seen = Math.max(seen, bundle.suitesIssuedAt);
 * ```
 */
export interface VerifyBundleOptions {
  /**
   * The identity the caller already trusts for this device (pinned or verified by safety
   * number). When given, a bundle for any other identity is rejected.
   */
  readonly expectedIdentity?: PublicIdentity;
  /**
   * The newest `suitesIssuedAt` the caller has already verified for this device identity. When
   * given, a bundle whose (correctly signed) `suitesIssuedAt` is older is rejected with
   * `InvalidKeyError` at `bundle.suitesIssuedAt`: it is a replayed list, such as one the device
   * signed before it offered `v2`. An equal time is accepted (the same list served again).
   * Callers keep the newest value they accepted per device identity and pass it here; without it
   * nothing stops a replayed older list.
   */
  readonly newestSuitesIssuedAt?: number;
}

/** Every list {@link verifyBundleSuites} returned; see {@link isVerifiedSuites}. */
const verified = new WeakSet<object>();

/**
 * Checks the shape, the expected identity, all four signatures of a bundle and, when asked, the
 * freshness of its suite list; returns the verified suite list (frozen, recorded in
 * {@link verified}).
 */
async function verifyAll(
  provider: CryptoProvider,
  bundle: PreKeyBundle,
  options: VerifyBundleOptions,
): Promise<VerifiedSuites> {
  checkBundle(bundle, 'bundle');
  const o = checkObject(options, 'options');
  const rawExpected = o.expectedIdentity;
  const expected =
    rawExpected === undefined ? undefined : checkPublicIdentity(rawExpected, 'options.expectedIdentity');
  const newest =
    o.newestSuitesIssuedAt === undefined
      ? undefined
      : checkSuitesIssuedAt(o.newestSuitesIssuedAt, 'options.newestSuitesIssuedAt');
  const { identity, signedPreKey, kemPreKey } = bundle;
  if (
    expected !== undefined &&
    !(equalBytes(expected.signingKey, identity.signingKey) && equalBytes(expected.dhKey, identity.dhKey))
  ) {
    throw new InvalidKeyError('bundle.identity', 'not the expected identity');
  }
  const suites = Object.freeze([...bundle.suites]);
  const unknownCodes = bundle.unknownSuiteCodes === undefined ? [] : [...bundle.unknownSuiteCodes];
  const [identityOk, signedOk, kemOk, suitesOk] = await Promise.all([
    provider.ed25519.verify(
      identity.signingKey,
      identityDhKeySignedBytes(identity.dhKey),
      identity.dhKeySignature,
    ),
    provider.ed25519.verify(
      identity.signingKey,
      signedPreKeySignedBytes(signedPreKey.id, signedPreKey.publicKey),
      signedPreKey.signature,
    ),
    provider.ed25519.verify(
      identity.signingKey,
      kemPreKeySignedBytes(kemPreKey.id, kemPreKey.lastResort, kemPreKey.publicKey),
      kemPreKey.signature,
    ),
    provider.ed25519.verify(
      identity.signingKey,
      suitesSignedBytes(signedPreKey.id, bundle.suitesIssuedAt, suites, unknownCodes),
      bundle.suitesSignature,
    ),
  ]);
  if (!identityOk) throw new InvalidKeyError('bundle.identity.dhKeySignature', 'signature does not verify');
  if (!signedOk) throw new InvalidKeyError('bundle.signedPreKey.signature', 'signature does not verify');
  if (!kemOk) throw new InvalidKeyError('bundle.kemPreKey.signature', 'signature does not verify');
  if (!suitesOk) throw new InvalidKeyError('bundle.suitesSignature', 'signature does not verify');
  if (newest !== undefined && bundle.suitesIssuedAt < newest) {
    throw new InvalidKeyError(
      'bundle.suitesIssuedAt',
      'older than the newest suite list seen for this device',
    );
  }
  verified.add(suites);
  return suites as VerifiedSuites;
}

/**
 * Checks a prekey bundle for starting a v2 session: its shape and lengths (`ValidationError`);
 * when `expectedIdentity` is given, that the identity is that one; that the identity DH key, the
 * signed prekey, the KEM prekey and the suite list are all signed by the bundle's identity
 * signing key over their labelled canonical bytes (`InvalidKeyError` naming the field), the suite
 * list together with this bundle's `signedPreKey.id` and `suitesIssuedAt`; when
 * `newestSuitesIssuedAt` is given, that the list is not older (`InvalidKeyError` at
 * `bundle.suitesIssuedAt`); and last, that the signed suite list offers `v2`
 * (`UnsupportedError`). Because the signatures are checked first, a list from which a server
 * removed `v2`, or a list moved onto another signed prekey, fails with `InvalidKeyError` at
 * `bundle.suitesSignature`, never with `UnsupportedError`. `initiateSession` calls it itself.
 *
 * A valid signature does not make a list current: a server can replay an older bundle the device
 * once signed. Callers must refuse a bundle whose `suitesIssuedAt` is older than the newest they
 * have verified for that device identity (pass it as `newestSuitesIssuedAt`) and record the
 * newest they accept.
 *
 * @example
 * ```ts
 * await verifyPreKeyBundle(provider, bundle, { expectedIdentity: pinned, newestSuitesIssuedAt: seen });
 * ```
 */
export async function verifyPreKeyBundle(
  provider: CryptoProvider,
  bundle: PreKeyBundle,
  options: VerifyBundleOptions = {},
): Promise<void> {
  const suites = await verifyAll(provider, bundle, options);
  if (!suites.includes('v2')) throw new UnsupportedError('bundle.suites: the device does not offer suite v2');
}

/**
 * Checks a bundle exactly as {@link verifyPreKeyBundle} does, except that it does not require
 * `v2`, and returns the suite list the device signed (frozen). This is the only way to obtain a
 * {@link VerifiedSuites}, the only suite list that suite negotiation accepts.
 *
 * The list is as fresh as `bundle.suitesIssuedAt`, which the signature covers. Callers must
 * refuse a bundle whose `suitesIssuedAt` is older than the newest they have verified for that
 * device identity (pass that as `newestSuitesIssuedAt`, or compare themselves after this call),
 * then remember `bundle.suitesIssuedAt` as the newest when it is later; and must refuse
 * `static-v1` from a device whose verified list once offered `v2`.
 *
 * @example
 * ```ts
 * import { negotiateSuite } from '@cloister/protocol';
 * const theirs = await verifyBundleSuites(provider, bundle, { newestSuitesIssuedAt: seen });
 * seen = Math.max(seen, bundle.suitesIssuedAt);
 * const suite = negotiateSuite(['v2', 'static-v1'], theirs); // "v2" when both offer it
 * ```
 */
export function verifyBundleSuites(
  provider: CryptoProvider,
  bundle: PreKeyBundle,
  options: VerifyBundleOptions = {},
): Promise<VerifiedSuites> {
  return verifyAll(provider, bundle, options);
}

/**
 * True when `value` is a list that {@link verifyBundleSuites} returned in this process: a run-time
 * check for code that cannot rely on the `VerifiedSuites` type alone (JavaScript callers, values
 * cast from elsewhere).
 *
 * @example
 * ```ts
 * const theirs: readonly SuiteName[] = bundle.suites;
 * console.log(isVerifiedSuites(theirs)); // false: only verifyBundleSuites makes a verified list
 * ```
 */
export function isVerifiedSuites(value: unknown): value is VerifiedSuites {
  return typeof value === 'object' && value !== null && verified.has(value);
}
