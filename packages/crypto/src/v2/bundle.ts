/**
 * Checking a prekey bundle before it is used.
 *
 * @module
 */
import { equalBytes } from '../bytes.js';
import { InvalidKeyError, UnsupportedError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';
import { identityDhKeySignedBytes, kemPreKeySignedBytes, signedPreKeySignedBytes } from './_signed.js';
import { checkBundle, checkObject, checkPublicIdentity } from './_validate.js';
import type { PreKeyBundle, PublicIdentity } from './types.js';

/** Options of {@link verifyPreKeyBundle}. */
export interface VerifyBundleOptions {
  /**
   * The identity the caller already trusts for this device (pinned or verified by safety
   * number). When given, a bundle for any other identity is rejected.
   */
  readonly expectedIdentity?: PublicIdentity;
}

/**
 * Checks a prekey bundle: its shape and lengths (`ValidationError`), that it offers suite `v2`
 * (`UnsupportedError`), that the identity DH key, the signed prekey and the KEM prekey are all
 * signed by the bundle's identity signing key over their labelled canonical bytes, and, when
 * `expectedIdentity` is given, that the identity is that one (`InvalidKeyError` naming the field
 * in both cases). `initiateSession` calls it itself.
 *
 * @example
 * ```ts
 * await verifyPreKeyBundle(provider, bundle, { expectedIdentity: pinned });
 * ```
 */
export async function verifyPreKeyBundle(
  provider: CryptoProvider,
  bundle: PreKeyBundle,
  options: VerifyBundleOptions = {},
): Promise<void> {
  checkBundle(bundle, 'bundle');
  const rawExpected = checkObject(options, 'options').expectedIdentity;
  const expected =
    rawExpected === undefined ? undefined : checkPublicIdentity(rawExpected, 'options.expectedIdentity');
  if (!bundle.suites.includes('v2'))
    throw new UnsupportedError('bundle.suites: the device does not offer suite v2');
  const { identity, signedPreKey, kemPreKey } = bundle;
  if (
    expected !== undefined &&
    !(equalBytes(expected.signingKey, identity.signingKey) && equalBytes(expected.dhKey, identity.dhKey))
  ) {
    throw new InvalidKeyError('bundle.identity', 'not the expected identity');
  }
  const [identityOk, signedOk, kemOk] = await Promise.all([
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
  ]);
  if (!identityOk) throw new InvalidKeyError('bundle.identity.dhKeySignature', 'signature does not verify');
  if (!signedOk) throw new InvalidKeyError('bundle.signedPreKey.signature', 'signature does not verify');
  if (!kemOk) throw new InvalidKeyError('bundle.kemPreKey.signature', 'signature does not verify');
}
