/**
 * Typed errors shared by every Cloister package.
 *
 * Every error carries a stable string `code`. Subclasses say who is at fault: the peer
 * ({@link DecodeError}, {@link DecryptionFailed}), the caller ({@link ValidationError},
 * {@link UsageError}), the user ({@link WrongPin}) or the environment ({@link UnsupportedError},
 * {@link StorageError}). Messages never contain keys, plaintext or user identifiers.
 *
 * @module
 */

/**
 * Every error code a Cloister package throws: the `code` of a {@link CloisterError}.
 *
 * @example
 * ```ts
 * function isPeerFault(code: CloisterErrorCode): boolean {
 *   return code === 'ERR_DECODE' || code === 'ERR_DECRYPTION_FAILED' || code === 'ERR_REPLAY';
 * }
 * ```
 */
export type CloisterErrorCode =
  | 'ERR_VALIDATION'
  | 'ERR_USAGE'
  | 'ERR_DECODE'
  | 'ERR_DECRYPTION_FAILED'
  | 'ERR_INVALID_KEY'
  | 'ERR_WRONG_PIN'
  | 'ERR_UNSUPPORTED'
  | 'ERR_STORAGE'
  | 'ERR_REPLAY'
  | 'ERR_LIMIT'
  | 'ERR_UNAUTHENTICATED'
  | 'ERR_FORBIDDEN'
  | 'ERR_NOT_FOUND'
  | 'ERR_CONFLICT'
  | 'ERR_RATE_LIMITED'
  | 'ERR_IDENTITY_CHANGED'
  | 'ERR_DEVICE_NOT_LINKED';

/**
 * Base class of every error thrown by Cloister.
 *
 * @example
 * ```ts
 * import { CloisterError } from '@cloister/crypto';
 * try {
 *   await cipher.decrypt(incoming);
 * } catch (e) {
 *   if (e instanceof CloisterError && e.code === 'ERR_DECRYPTION_FAILED') {
 *     // drop the message: it does not authenticate
 *   } else throw e;
 * }
 * ```
 */
export class CloisterError extends Error {
  /** Stable machine-readable code; never changes between releases. */
  readonly code: CloisterErrorCode;

  constructor(code: CloisterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    // Each exported subclass names itself with a literal (bundlers rename classes); this covers the
    // base class and subclasses that do not.
    this.name = new.target === CloisterError ? 'CloisterError' : new.target.name;
  }
}

/**
 * An argument does not have the required type, length or range (`ERR_VALIDATION`). The message
 * names the field and what was expected, never its value.
 *
 * @example
 * ```ts
 * try {
 *   registrationId(-1);
 * } catch (e) {
 *   if (e instanceof ValidationError) console.log(e.field); // "registrationId"
 * }
 * ```
 */
export class ValidationError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'ValidationError';

  /** The name of the offending field, such as `nonce` or `options.scrypt.N`. */
  readonly field: string;

  constructor(field: string, expected: string) {
    super('ERR_VALIDATION', `${field}: expected ${expected}`);
    this.field = field;
  }
}

/**
 * The API was used in a way it does not allow (a caller bug), such as using a wiped key or a
 * closed channel (`ERR_USAGE`).
 *
 * @example
 * ```ts
 * const channel = await openStaticV1Channel(provider, { own: alice, peerPublicKey: bob.publicKey });
 * channel.close();
 * await channel.encrypt(utf8('too late')).catch((e) => console.log(e instanceof UsageError)); // true
 * ```
 */
export class UsageError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'UsageError';

  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

/**
 * Bytes received from a peer or a store could not be decoded (`ERR_DECODE`). `path` names the
 * field where decoding failed, for example `bundle.signedPreKey.signature`.
 *
 * @example
 * ```ts
 * try {
 *   deserializeSession(bytes);
 * } catch (e) {
 *   if (e instanceof DecodeError) console.warn(`unreadable session record at ${e.path}`);
 * }
 * ```
 */
export class DecodeError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'DecodeError';

  /** Dotted path of the field where decoding failed, such as `record.current.rootKey`. */
  readonly path: string;

  constructor(path: string, reason: string) {
    super('ERR_DECODE', `${path}: ${reason}`);
    this.path = path;
  }
}

/**
 * Authentication or decryption failed. It is deliberately the same for every cause (bad tag,
 * bad padding, wrong key, truncated or altered message, unknown version) so that it cannot be
 * used as an oracle (`ERR_DECRYPTION_FAILED`).
 *
 * @example
 * ```ts
 * try {
 *   await decryptFile(provider, fileKey, ciphertext);
 * } catch (e) {
 *   if (e instanceof DecryptionFailed) console.warn('the file is damaged or the key is wrong');
 *   else throw e;
 * }
 * ```
 */
export class DecryptionFailed extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'DecryptionFailed';

  constructor() {
    super('ERR_DECRYPTION_FAILED', 'decryption failed');
  }
}

/**
 * A public key or signature is not acceptable (`ERR_INVALID_KEY`): an X25519 key of low order, a
 * signature that does not verify, an identity other than the expected one. The message names the
 * field.
 *
 * @example
 * ```ts
 * try {
 *   await verifyPreKeyBundle(provider, bundle, { expectedIdentity: pinned });
 * } catch (e) {
 *   if (e instanceof InvalidKeyError) console.warn(e.message); // "bundle.identity: not the expected identity"
 * }
 * ```
 */
export class InvalidKeyError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'InvalidKeyError';

  constructor(field: string, reason: string) {
    super('ERR_INVALID_KEY', `${field}: ${reason}`);
  }
}

/**
 * The PIN given to open a wrapped key is not the one it was wrapped with, or the wrapped record
 * was altered (`ERR_WRONG_PIN`; the two cases are indistinguishable).
 *
 * @example
 * ```ts
 * const { record } = await wrapDataKey(provider, { pin: '482916' });
 * await unwrapDataKey(provider, record, '000000').catch((e) => console.log(e instanceof WrongPin)); // true
 * ```
 */
export class WrongPin extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'WrongPin';

  constructor() {
    super('ERR_WRONG_PIN', 'the PIN is not correct');
  }
}

/**
 * An algorithm, version or format is not supported by this build or environment
 * (`ERR_UNSUPPORTED`), such as a peer device whose signed suite list lacks `v2`.
 *
 * @example
 * ```ts
 * try {
 *   await verifyPreKeyBundle(provider, bundle);
 * } catch (e) {
 *   if (!(e instanceof UnsupportedError)) throw e;
 *   // the device offers only static-v1
 * }
 * ```
 */
export class UnsupportedError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'UnsupportedError';

  constructor(message: string) {
    super('ERR_UNSUPPORTED', message);
  }
}

/**
 * A store could not complete an operation (`ERR_STORAGE`); `cause` holds the underlying error.
 *
 * @example
 * ```ts
 * try {
 *   await sessions.storeSession({ userId: 'bob', deviceId: deviceId(1) }, record);
 * } catch (e) {
 *   if (e instanceof StorageError) console.warn('the session store is unavailable; retry later');
 * }
 * ```
 */
export class StorageError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'StorageError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STORAGE', message, options);
  }
}

/**
 * A message was already processed: a duplicate or a replay (`ERR_REPLAY`).
 *
 * @example
 * ```ts
 * try {
 *   await cipher.decrypt(incoming);
 * } catch (e) {
 *   if (!(e instanceof ReplayError)) throw e;
 *   // already delivered once: ignore the copy
 * }
 * ```
 */
export class ReplayError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'ReplayError';

  constructor(message: string) {
    super('ERR_REPLAY', message);
  }
}

/**
 * A documented limit was exceeded: size, count, skipped keys, depth (`ERR_LIMIT`).
 *
 * @example
 * ```ts
 * try {
 *   await cipher.decrypt(incoming);
 * } catch (e) {
 *   if (e instanceof LimitError) console.warn(`the message skips more than ${V2_MAX_SKIP} keys`);
 * }
 * ```
 */
export class LimitError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'LimitError';

  constructor(message: string) {
    super('ERR_LIMIT', message);
  }
}

/**
 * A request carried no valid credential (`ERR_UNAUTHENTICATED`, HTTP 401). The message never
 * says which part was wrong.
 *
 * @example
 * ```ts
 * function requireToken(token: string | undefined): string {
 *   if (token === undefined || token === '') throw new UnauthenticatedError();
 *   return token;
 * }
 * ```
 */
export class UnauthenticatedError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'UnauthenticatedError';

  constructor(message = 'not authenticated') {
    super('ERR_UNAUTHENTICATED', message);
  }
}

/**
 * The caller is known but may not do what it asked, or is blocked (`ERR_FORBIDDEN`, HTTP 403).
 *
 * @example
 * ```ts
 * function requireAdmin(roles: readonly string[]): void {
 *   if (!roles.includes('admin')) throw new ForbiddenError('the admin role is required');
 * }
 * ```
 */
export class ForbiddenError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'ForbiddenError';

  constructor(message = 'not allowed') {
    super('ERR_FORBIDDEN', message);
  }
}

/**
 * Too many requests from one device, token or address; retry after `retryAfterSeconds`
 * (`ERR_RATE_LIMITED`, HTTP 429).
 *
 * @example
 * ```ts
 * function retryDelayMs(e: unknown): number | undefined {
 *   return e instanceof RateLimitedError ? e.retryAfterSeconds * 1000 : undefined;
 * }
 * ```
 */
export class RateLimitedError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'RateLimitedError';

  /** Seconds to wait before the next request (the HTTP `Retry-After` value), at least 0. */
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number) {
    super('ERR_RATE_LIMITED', 'too many requests');
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * The identity of a user whose safety number was verified changed (a new chain of device lists
 * or a device key that the pinned list does not admit). Messages to the user stop and messages
 * from the new identity are held until the app accepts the change explicitly. `userId` names the
 * user for the app; the message does not. Code `ERR_IDENTITY_CHANGED`.
 *
 * @example
 * ```ts
 * function explain(e: unknown): string {
 *   if (e instanceof IdentityChangedError) return `The safety number with ${e.userId} changed: verify it again.`;
 *   return 'Sending failed.';
 * }
 * ```
 */
export class IdentityChangedError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'IdentityChangedError';

  /** The user whose verified identity changed (the app's user id). */
  readonly userId: string;

  constructor(userId: string) {
    super('ERR_IDENTITY_CHANGED', 'the verified identity of the peer changed; accept the change to continue');
    this.userId = userId;
  }
}

/**
 * This device is enrolled but not yet on its user's signed device list: another device of the
 * user must link it (or, for the user's first device, publishing the first list failed). Code
 * `ERR_DEVICE_NOT_LINKED`.
 *
 * @example
 * ```ts
 * function explain(e: unknown): string {
 *   if (e instanceof DeviceNotLinkedError) return 'Link this device from one of your other devices.';
 *   return 'Sending failed.';
 * }
 * ```
 */
export class DeviceNotLinkedError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'DeviceNotLinkedError';

  constructor() {
    super('ERR_DEVICE_NOT_LINKED', 'this device is not linked yet: link it from another device of the user');
  }
}
