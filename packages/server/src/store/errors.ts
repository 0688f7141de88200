/**
 * Errors of the server stores beyond the shared ones of `@cloister/crypto`. Both are
 * `StorageError`s (code `ERR_STORAGE`), so code that only knows the shared classes still
 * handles them; a relay maps {@link ConflictError} to 409 and {@link NotFoundError} to 404.
 * Messages name the constraint or the kind of thing, never an id or a value.
 *
 * @module
 */
import { StorageError } from '@cloister/crypto';

/**
 * A write would break a unique constraint or a state rule (an id or domain already taken, an
 * upload not yet complete, a stale revision). Nothing was written.
 *
 * @example
 * ```ts
 * try {
 *   await stores.domains.add(tenant, 'acme.example');
 * } catch (e) {
 *   if (e instanceof ConflictError && e.constraint === 'domain') reply.code(409);
 * }
 * ```
 */
export class ConflictError extends StorageError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'ConflictError';

  /** Which constraint, such as `domain`, `user`, `device.mailbox`, `device.credential`. */
  readonly constraint: string;

  constructor(constraint: string, message: string) {
    super(`${constraint}: ${message}`);
    this.constraint = constraint;
  }
}

/**
 * A write needs something that does not exist (a device for a missing user, a chunk for an
 * unknown upload). Nothing was written.
 *
 * @example
 * ```ts
 * try {
 *   await stores.devices.update(tenant, user, device, { blocked: true });
 * } catch (e) {
 *   if (e instanceof NotFoundError) reply.code(404);
 * }
 * ```
 */
export class NotFoundError extends StorageError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'NotFoundError';

  /** What is missing, such as `tenant`, `user`, `device`, `blob`. */
  readonly what: string;

  constructor(what: string) {
    super(`${what}: not found`);
    this.what = what;
  }
}

/**
 * A write would take a mailbox, device or tenant over one of its storage quotas (`quota` names
 * which, such as `mailbox.envelopes` or `mailbox.bytes`). Nothing was written; a relay answers
 * 507 `ERR_QUOTA`.
 *
 * @example
 * ```ts
 * try {
 *   await stores.blobs.begin(blob, 2 ** 30, Date.now() + 86_400_000, {
 *     owner: { tenant, user, device },
 *     quotas: { maxBytesPerDevice: 2 ** 29, maxCountPerDevice: 100, tenantMaxBytes: 2 ** 40 },
 *   });
 * } catch (e) {
 *   if (e instanceof QuotaExceededError) reply.code(507);
 * }
 * ```
 */
export class QuotaExceededError extends StorageError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'QuotaExceededError';

  /**
   * Which quota: `mailbox.envelopes`, `mailbox.bytes` (the relay's), `device.blobBytes`,
   * `device.blobs` or `tenant.bytes` (the blob and archive stores').
   */
  readonly quota: string;

  constructor(quota: string) {
    super(`${quota}: quota exceeded`);
    this.quota = quota;
  }
}
