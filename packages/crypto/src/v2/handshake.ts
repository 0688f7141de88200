/**
 * The hybrid handshake of suite `v2`: X25519 (three or four DH) and ML-KEM-768, PQXDH-style.
 * The byte-level definition is in `_handshake.ts` and `spec/v2-sessions.md`.
 *
 * @module
 */
import { equalBytes } from '../bytes.js';
import { InvalidKeyError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';
import { accept, initiate } from './_handshake.js';
import { checkDeviceIdentity, checkInitialMessage, checkObject, checkPreKeyStore } from './_validate.js';
import { verifyPreKeyBundle } from './bundle.js';
import type { PreKeyStore } from './stores.js';
import type {
  DeviceIdentity,
  InitialMessage,
  PendingInitial,
  PreKeyBundle,
  PublicIdentity,
  SessionState,
} from './types.js';

/**
 * Options of {@link initiateSession}.
 *
 * @example
 * ```ts
 * const options: InitiateSessionOptions = { ourIdentity: identity, theirBundle: bundle, expectedIdentity: pinned };
 * const { session } = await initiateSession(provider, options);
 * ```
 */
export interface InitiateSessionOptions {
  /** Our device identity (the initiator). */
  readonly ourIdentity: DeviceIdentity;
  /** The responder device's prekey bundle, as the server handed it out (verified here). */
  readonly theirBundle: PreKeyBundle;
  /** The identity already trusted for this device; any other is refused (`ERR_INVALID_KEY`). */
  readonly expectedIdentity?: PublicIdentity;
}

/**
 * The result of {@link initiateSession}.
 *
 * @example
 * ```ts
 * const started: InitiatedSession = await initiateSession(provider, { ourIdentity: identity, theirBundle: bundle });
 * const next = addSession(record, started.session);
 * ```
 */
export interface InitiatedSession {
  /** The new session. Its messages carry the handshake until the responder answers. */
  readonly session: SessionState;
  /** The handshake fields every message repeats until answered (also in `session.pending`). */
  readonly pending: PendingInitial;
}

/**
 * Options of {@link acceptSession}.
 *
 * @example
 * ```ts
 * const options: AcceptSessionOptions = { ourIdentity: identity, preKeys, initialMessage: initial };
 * const { session, plaintext } = await acceptSession(provider, options);
 * ```
 */
export interface AcceptSessionOptions {
  /** Our device identity (the responder). */
  readonly ourIdentity: DeviceIdentity;
  /** Our prekeys; used ones are deleted, last-resort KEM uses recorded. */
  readonly preKeys: PreKeyStore;
  /** The initial message the initiator sent. */
  readonly initialMessage: InitialMessage;
}

/**
 * The result of {@link acceptSession}.
 *
 * @example
 * ```ts
 * const accepted: AcceptedSession = await acceptSession(provider, { ourIdentity: identity, preKeys, initialMessage: initial });
 * const next = addSession(record, accepted.session);
 * ```
 */
export interface AcceptedSession {
  /** The new session (responder side); store it with `addSession`. */
  readonly session: SessionState;
  /** The plaintext of the ratchet message the initial message carried. */
  readonly plaintext: Uint8Array;
}

/**
 * Starts a session with the owner of `theirBundle`. Verifies the bundle first (see
 * `verifyPreKeyBundle`), runs the initiator side of the handshake and returns the session;
 * encrypt with `encryptRecord` or a `SessionCipher` to produce the initial message.
 *
 * Errors: `ValidationError` (shape), `InvalidKeyError` (bad signature, the suite signature of an
 * altered suite list included; unexpected or own identity; low-order or invalid public key; the
 * field is named), `UnsupportedError` (the device's correctly signed suite list lacks `v2`).
 *
 * @example
 * ```ts
 * const { session } = await initiateSession(provider, { ourIdentity: identity, theirBundle: bundle });
 * ```
 */
export async function initiateSession(
  provider: CryptoProvider,
  options: InitiateSessionOptions,
): Promise<InitiatedSession> {
  const o = checkObject(options, 'options');
  const ours = checkDeviceIdentity(o.ourIdentity, 'options.ourIdentity');
  const bundle = options.theirBundle;
  await verifyPreKeyBundle(
    provider,
    bundle,
    options.expectedIdentity === undefined ? {} : { expectedIdentity: options.expectedIdentity },
  );
  if (
    equalBytes(bundle.identity.signingKey, ours.signingKeyPair.publicKey) ||
    equalBytes(bundle.identity.dhKey, ours.dhKeyPair.publicKey)
  ) {
    throw new InvalidKeyError('bundle.identity', 'is our own identity');
  }
  return initiate(provider, ours, bundle);
}

/**
 * Accepts a session from an initial message: checks the initiator's identity signature, looks
 * up the prekeys it names, runs the responder side of the handshake and decrypts the ratchet
 * message it carries. Only when that succeeds are the prekeys consumed: a one-time X25519 or
 * KEM prekey is deleted, a last-resort KEM use is recorded (a second use of the same KEM
 * prekey, signed prekey and base key is refused with `ReplayError`).
 *
 * Errors: `ValidationError` (shape), `InvalidKeyError` (bad identity signature, own identity,
 * unknown or used prekey id, low-order key), `DecryptionFailed` (the message does not
 * authenticate), `LimitError` (message number above `V2_MAX_SKIP`), `ReplayError`.
 *
 * @example
 * ```ts
 * const { session, plaintext } = await acceptSession(provider, {
 *   ourIdentity: identity,
 *   preKeys,
 *   initialMessage: initial,
 * });
 * ```
 */
export async function acceptSession(
  provider: CryptoProvider,
  options: AcceptSessionOptions,
): Promise<AcceptedSession> {
  const o = checkObject(options, 'options');
  const ours = checkDeviceIdentity(o.ourIdentity, 'options.ourIdentity');
  const preKeys = checkPreKeyStore(o.preKeys, 'options.preKeys');
  const m = checkInitialMessage(o.initialMessage, 'options.initialMessage');
  return accept(provider, ours, preKeys, m);
}
