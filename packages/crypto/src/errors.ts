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

/** Every error code a Cloister package throws. */
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
 *   await staticV1Decrypt(provider, { recipient, senderPublicKey, message });
 * } catch (e) {
 *   if (e instanceof CloisterError && e.code === 'ERR_DECRYPTION_FAILED') {
 *     // drop the message
 *   }
 * }
 * ```
 */
export class CloisterError extends Error {
  /** Stable machine-readable code; never changes between releases. */
  readonly code: CloisterErrorCode;

  constructor(code: CloisterErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * An argument does not have the required type, length or range. The message names the field
 * and what was expected, never its value.
 */
export class ValidationError extends CloisterError {
  /** The name of the offending field, such as `nonce` or `options.scrypt.N`. */
  readonly field: string;

  constructor(field: string, expected: string) {
    super('ERR_VALIDATION', `${field}: expected ${expected}`);
    this.field = field;
  }
}

/** The API was used in a way it does not allow (a caller bug), such as using a wiped key. */
export class UsageError extends CloisterError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

/**
 * Bytes received from a peer or a store could not be decoded. `path` names the field where
 * decoding failed, for example `bundle.signedPreKey.signature`.
 */
export class DecodeError extends CloisterError {
  readonly path: string;

  constructor(path: string, reason: string) {
    super('ERR_DECODE', `${path}: ${reason}`);
    this.path = path;
  }
}

/**
 * Authentication or decryption failed. It is deliberately the same for every cause (bad tag,
 * bad padding, wrong key, truncated or altered message, unknown version) so that it cannot be
 * used as an oracle.
 */
export class DecryptionFailed extends CloisterError {
  constructor() {
    super('ERR_DECRYPTION_FAILED', 'decryption failed');
  }
}

/** A public key is not acceptable, for example an X25519 key of low order. */
export class InvalidKeyError extends CloisterError {
  constructor(field: string, reason: string) {
    super('ERR_INVALID_KEY', `${field}: ${reason}`);
  }
}

/** The PIN given to open a wrapped key is not the one it was wrapped with. */
export class WrongPin extends CloisterError {
  constructor() {
    super('ERR_WRONG_PIN', 'the PIN is not correct');
  }
}

/** An algorithm, version or format is not supported by this build or environment. */
export class UnsupportedError extends CloisterError {
  constructor(message: string) {
    super('ERR_UNSUPPORTED', message);
  }
}

/** A store could not complete an operation. */
export class StorageError extends CloisterError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STORAGE', message, options);
  }
}

/** A message was already processed (a duplicate or a replay). */
export class ReplayError extends CloisterError {
  constructor(message: string) {
    super('ERR_REPLAY', message);
  }
}

/** A documented limit was exceeded (size, count, skipped keys, depth). */
export class LimitError extends CloisterError {
  constructor(message: string) {
    super('ERR_LIMIT', message);
  }
}

/** A request carried no valid credential (HTTP 401). The message never says which part was wrong. */
export class UnauthenticatedError extends CloisterError {
  constructor(message = 'not authenticated') {
    super('ERR_UNAUTHENTICATED', message);
  }
}

/** The caller is known but may not do what it asked, or is blocked (HTTP 403). */
export class ForbiddenError extends CloisterError {
  constructor(message = 'not allowed') {
    super('ERR_FORBIDDEN', message);
  }
}

/** Too many requests from one device, token or address; retry after `retryAfterSeconds` (HTTP 429). */
export class RateLimitedError extends CloisterError {
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
 * user for the app; the message does not.
 */
export class IdentityChangedError extends CloisterError {
  readonly userId: string;

  constructor(userId: string) {
    super('ERR_IDENTITY_CHANGED', 'the verified identity of the peer changed; accept the change to continue');
    this.userId = userId;
  }
}

/**
 * This device is enrolled but not yet on its user's signed device list: another device of the
 * user must link it (or, for the user's first device, publishing the first list failed).
 */
export class DeviceNotLinkedError extends CloisterError {
  constructor() {
    super('ERR_DEVICE_NOT_LINKED', 'this device is not linked yet: link it from another device of the user');
  }
}
