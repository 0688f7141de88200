/**
 * Errors of the client that are not the transport's: a recipient the server's directory does not
 * know ({@link UnknownRecipientError}) and a call that needs an enrolled device on a client that has
 * none ({@link NotEnrolledError}). The transport's errors are in `transport/errors.ts`.
 *
 * @module
 */
import { CloisterError, UsageError } from '@cloister/crypto';
import type { UserId } from '@cloister/protocol';

/**
 * The server's directory does not know the user a message was sent to (or a group member being
 * added): no such user in this organisation. `sendText`, `sendFile`, `createGroup` and
 * `addMembers` reject with it at once while the server is reachable, and nothing is stored or
 * queued; a message queued offline fails with it (a `send-failed` event) and leaves the outbox.
 * A user of another organisation looks the same as one that does not exist, and a user who exists
 * with no device is not unknown (the message waits for no one). Code `ERR_NOT_FOUND`; `userId`
 * names the user for the app, the message does not.
 *
 * @example
 * ```ts
 * try {
 *   await client.sendText({ user: 'bbo' }, 'hello');
 * } catch (e) {
 *   if (e instanceof UnknownRecipientError) console.log(`no user ${e.userId}`);
 *   else throw e;
 * }
 * ```
 */
export class UnknownRecipientError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'UnknownRecipientError';

  /** The user the directory does not know. */
  readonly userId: UserId;

  constructor(userId: UserId) {
    super('ERR_NOT_FOUND', 'the recipient is not a user of this organisation');
    this.userId = userId;
  }
}

/**
 * The call needs an enrolled device, and this client has none yet: call `enroll` first. Code
 * `ERR_USAGE` (it is a `UsageError`: a caller's mistake, not the user's).
 *
 * @example
 * ```ts
 * try {
 *   await client.sendText({ user: 'bob' }, 'hello');
 * } catch (e) {
 *   if (e instanceof NotEnrolledError) await client.enroll(code, { pin });
 *   else throw e;
 * }
 * ```
 */
export class NotEnrolledError extends UsageError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'NotEnrolledError';

  constructor() {
    super('this device is not enrolled: call enroll(code, { pin }) first');
  }
}

/**
 * The organisation refused this enrolment: the user is not on its allowlist of e-mail domains and
 * users (`spec/allowlist.md`; the server answers 403 `ERR_NOT_ALLOWLISTED` and audits the refusal).
 * Nothing was stored on the device and the enrolment code was not used up: once an administrator
 * admits the user, the same code enrols. Code `ERR_FORBIDDEN`; `reason` is `allowlist`.
 *
 * @example
 * ```ts
 * try {
 *   await client.enroll(code, { pin });
 * } catch (e) {
 *   if (e instanceof EnrolmentRefusedError) console.log('ask your administrator to admit you');
 *   else throw e;
 * }
 * ```
 */
export class EnrolmentRefusedError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'EnrolmentRefusedError';

  /** Why the organisation refused: `allowlist`. */
  readonly reason: 'allowlist';

  constructor() {
    super('ERR_FORBIDDEN', 'the organisation does not admit this user (allowlist)');
    this.reason = 'allowlist';
  }
}
