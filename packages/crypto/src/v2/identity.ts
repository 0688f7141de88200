/**
 * Device identities and prekeys of suite `v2`: generation, public views, and the canonical
 * bytes every signature covers.
 *
 * ```
 * identity DH key signature = Ed25519(IK_sig, "cloister/v2/identity-dh-key" || IK_dh)
 * signed prekey signature   = Ed25519(IK_sig, "cloister/v2/signed-prekey" || u32(id) || SPK)
 * KEM prekey signature      = Ed25519(IK_sig, "cloister/v2/kem-prekey" || u32(id) || u8(lastResort) || PQPK)
 * suites signature          = Ed25519(IK_sig, "cloister/v2/suites/2" || u32(signedPreKeyId) ||
 *                             u64(issuedAt) || u8(count) || u32(code)*)
 * ```
 *
 * @module
 */
import { checkBytes } from '../bytes.js';
import { InvalidKeyError, ValidationError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';
import {
  identityDhKeySignedBytes,
  kemPreKeySignedBytes,
  signedPreKeySignedBytes,
  suitesSignedBytes,
} from './_signed.js';
import {
  checkBoolean,
  checkDeviceIdentity,
  checkKemPreKey,
  checkObject,
  checkOneTimePreKey,
  checkPublicIdentity,
  checkSignedPreKey,
  checkSuiteNames,
  checkSuitesIssuedAt,
  checkUint32,
} from './_validate.js';
import {
  type DeviceIdentity,
  type KemPreKey,
  type KemPreKeyId,
  type KemPreKeyPublic,
  kemPreKeyId,
  type OneTimePreKey,
  type OneTimePreKeyId,
  type OneTimePreKeyPublic,
  oneTimePreKeyId,
  type PublicIdentity,
  type SignedPreKey,
  type SignedPreKeyId,
  type SignedPreKeyPublic,
  type SuiteName,
  signedPreKeyId,
} from './types.js';

/** Most one-time prekeys one call generates. */
const MAX_ONE_TIME_BATCH = 1000;

/**
 * Generates a new device identity: an Ed25519 signing key pair and an X25519 identity key pair
 * whose public key the signing key signs.
 *
 * @example
 * ```ts
 * import { createNobleProvider, generateDeviceIdentity } from '@cloister/crypto';
 * const identity = await generateDeviceIdentity(createNobleProvider());
 * ```
 */
export async function generateDeviceIdentity(provider: CryptoProvider): Promise<DeviceIdentity> {
  const signingKeyPair = await provider.ed25519.generateKeyPair();
  const dhKeyPair = await provider.x25519.generateKeyPair();
  const dhKeySignature = await provider.ed25519.sign(
    signingKeyPair.privateKey,
    identityDhKeySignedBytes(dhKeyPair.publicKey),
  );
  return { signingKeyPair, dhKeyPair, dhKeySignature };
}

/**
 * The public half of a device identity, as published and pinned by others.
 *
 * @example
 * ```ts
 * const mine = toPublicIdentity(identity);
 * ```
 */
export function toPublicIdentity(identity: DeviceIdentity): PublicIdentity {
  checkDeviceIdentity(identity, 'identity');
  return {
    signingKey: identity.signingKeyPair.publicKey,
    dhKey: identity.dhKeyPair.publicKey,
    dhKeySignature: identity.dhKeySignature,
  };
}

/**
 * Checks that the identity DH key is signed by the identity signing key. Throws
 * `InvalidKeyError` (`ERR_INVALID_KEY`) naming `field` when it is not.
 *
 * @example
 * ```ts
 * await verifyPublicIdentity(provider, bundle.identity);
 * ```
 */
export async function verifyPublicIdentity(
  provider: CryptoProvider,
  identity: PublicIdentity,
  field = 'identity',
): Promise<void> {
  checkPublicIdentity(identity, field);
  const ok = await provider.ed25519.verify(
    identity.signingKey,
    identityDhKeySignedBytes(identity.dhKey),
    identity.dhKeySignature,
  );
  if (!ok) throw new InvalidKeyError(`${field}.dhKeySignature`, 'signature does not verify');
}

/**
 * Verifies the signature of a published ML-KEM prekey (one-time or last-resort) by the device's
 * identity signing key; throws `InvalidKeyError` naming `field` when it does not verify. A server
 * checks uploads with it before storing them.
 *
 * @example
 * ```ts
 * await verifyKemPreKeyPublic(provider, bundle.identity.signingKey, bundle.kemPreKey, 'bundle.kemPreKey');
 * ```
 */
export async function verifyKemPreKeyPublic(
  provider: CryptoProvider,
  signingKey: Uint8Array,
  preKey: KemPreKeyPublic,
  field = 'kemPreKey',
): Promise<void> {
  checkBytes(signingKey, 'signingKey', 32);
  const ok = await provider.ed25519.verify(
    signingKey,
    kemPreKeySignedBytes(preKey.id, preKey.lastResort, preKey.publicKey),
    preKey.signature,
  );
  if (!ok) throw new InvalidKeyError(`${field}.signature`, 'signature does not verify');
}

/**
 * Generates a signed X25519 prekey with the given id.
 *
 * @example
 * ```ts
 * const spk = await generateSignedPreKey(provider, identity, signedPreKeyId(1));
 * ```
 */
export async function generateSignedPreKey(
  provider: CryptoProvider,
  identity: DeviceIdentity,
  id: SignedPreKeyId,
): Promise<SignedPreKey> {
  checkDeviceIdentity(identity, 'identity');
  checkUint32(id, 'id');
  const keyPair = await provider.x25519.generateKeyPair();
  const signature = await provider.ed25519.sign(
    identity.signingKeyPair.privateKey,
    signedPreKeySignedBytes(id, keyPair.publicKey),
  );
  return { id, keyPair, signature };
}

/**
 * Generates `count` one-time X25519 prekeys with ids `firstId`, `firstId + 1`, ... (at most 1000
 * per call; ids must stay below 2^32).
 *
 * @example
 * ```ts
 * const opks = await generateOneTimePreKeys(provider, oneTimePreKeyId(100), 50);
 * ```
 */
export async function generateOneTimePreKeys(
  provider: CryptoProvider,
  firstId: OneTimePreKeyId,
  count: number,
): Promise<OneTimePreKey[]> {
  checkUint32(firstId, 'firstId');
  checkUint32(count, 'count');
  if (count > MAX_ONE_TIME_BATCH) throw new ValidationError('count', `at most ${MAX_ONE_TIME_BATCH}`);
  if (firstId + count - 1 > 0xffff_ffff)
    throw new ValidationError('firstId', 'ids below 2^32 for the whole batch');
  const out: OneTimePreKey[] = [];
  for (let i = 0; i < count; i++) {
    out.push({ id: oneTimePreKeyId(firstId + i), keyPair: await provider.x25519.generateKeyPair() });
  }
  return out;
}

/**
 * Generates a signed ML-KEM-768 prekey: a one-time key, or the last-resort key when
 * `options.lastResort` is true.
 *
 * @example
 * ```ts
 * const lastResort = await generateKemPreKey(provider, identity, kemPreKeyId(1), { lastResort: true });
 * ```
 */
export async function generateKemPreKey(
  provider: CryptoProvider,
  identity: DeviceIdentity,
  id: KemPreKeyId,
  options: { readonly lastResort: boolean },
): Promise<KemPreKey> {
  checkDeviceIdentity(identity, 'identity');
  checkUint32(id, 'id');
  const lastResort = checkBoolean(checkObject(options, 'options').lastResort, 'options.lastResort');
  const keyPair = await provider.mlkem768.generateKeyPair();
  const signature = await provider.ed25519.sign(
    identity.signingKeyPair.privateKey,
    kemPreKeySignedBytes(id, lastResort, keyPair.publicKey),
  );
  return { id, keyPair, lastResort, signature };
}

/**
 * The public part of a signed prekey, for a bundle.
 *
 * @example
 * ```ts
 * const published = toSignedPreKeyPublic(spk);
 * ```
 */
export function toSignedPreKeyPublic(preKey: SignedPreKey): SignedPreKeyPublic {
  checkSignedPreKey(preKey, 'preKey');
  return { id: signedPreKeyId(preKey.id), publicKey: preKey.keyPair.publicKey, signature: preKey.signature };
}

/**
 * The public part of a one-time prekey, for a bundle.
 *
 * @example
 * ```ts
 * const published = opks.map(toOneTimePreKeyPublic);
 * ```
 */
export function toOneTimePreKeyPublic(preKey: OneTimePreKey): OneTimePreKeyPublic {
  checkOneTimePreKey(preKey, 'preKey');
  return { id: oneTimePreKeyId(preKey.id), publicKey: preKey.keyPair.publicKey };
}

/**
 * The public part of a KEM prekey, for a bundle.
 *
 * @example
 * ```ts
 * const published = toKemPreKeyPublic(lastResort);
 * ```
 */
export function toKemPreKeyPublic(preKey: KemPreKey): KemPreKeyPublic {
  checkKemPreKey(preKey, 'preKey');
  return {
    id: kemPreKeyId(preKey.id),
    publicKey: preKey.keyPair.publicKey,
    lastResort: preKey.lastResort,
    signature: preKey.signature,
  };
}

/**
 * What a suite list is bound to by {@link signSuites}.
 *
 * @example
 * ```ts
 * const binding: SuiteListBinding = { signedPreKeyId: spk.id, issuedAt: Date.now() };
 * const suitesSignature = await signSuites(provider, identity, ['v2'], binding);
 * ```
 */
export interface SuiteListBinding {
  /** Id of the signed prekey published with the list (`PreKeyBundle.signedPreKey.id`). */
  readonly signedPreKeyId: SignedPreKeyId;
  /**
   * The signing time from the caller's clock, milliseconds since the Unix epoch (an integer in
   * 1 .. 2^53 - 1), published as `PreKeyBundle.suitesIssuedAt`. Each new signature must carry a
   * later time than the last one: peers refuse lists older than the newest they have seen.
   */
  readonly issuedAt: number;
}

/**
 * Signs the list of suites this device supports, for `PreKeyBundle.suitesSignature`. The
 * signature covers
 * `"cloister/v2/suites/2" || u32(signedPreKeyId) || u64(issuedAt) || u8(count) || u32(code)*`
 * with the codes of `SUITE_CODES` in ascending order, so the order of `suites` does not matter.
 * Publish it in a bundle with that signed prekey and `suitesIssuedAt: issuedAt`; sign again, with
 * the current time, whenever the list or the signed prekey changes. A list without `v2` makes
 * initiators fall back to `static-v1`: sign one only for a device that really cannot run `v2`.
 *
 * @example
 * ```ts
 * const issuedAt = Date.now();
 * const suitesSignature = await signSuites(provider, identity, ['v2', 'static-v1'], {
 *   signedPreKeyId: spk.id,
 *   issuedAt,
 * });
 * ```
 */
export async function signSuites(
  provider: CryptoProvider,
  identity: DeviceIdentity,
  suites: readonly SuiteName[],
  binding: SuiteListBinding,
): Promise<Uint8Array> {
  checkDeviceIdentity(identity, 'identity');
  checkSuiteNames(suites, 'suites');
  const b = checkObject(binding, 'binding');
  const id = checkUint32(b.signedPreKeyId, 'binding.signedPreKeyId');
  const issuedAt = checkSuitesIssuedAt(b.issuedAt, 'binding.issuedAt');
  return provider.ed25519.sign(identity.signingKeyPair.privateKey, suitesSignedBytes(id, issuedAt, suites));
}
