/**
 * The identifiers client and server share: branded strings, so that a user id cannot be passed
 * where a tenant id is expected. Each constructor checks its input and throws `ValidationError`.
 * `DeviceId` is `@cloister/crypto`'s (an unsigned 32-bit number within one user).
 *
 * @module
 */
import { type Branded, ValidationError } from '@cloister/crypto';

/**
 * An organisation.
 *
 * @example
 * ```ts
 * const tenant: TenantId = tenantId('acme');
 * ```
 */
export type TenantId = Branded<string, 'TenantId'>;
/**
 * A user account, unique within a tenant.
 *
 * @example
 * ```ts
 * const alice: UserId = userId('alice@acme.example');
 * ```
 */
export type UserId = Branded<string, 'UserId'>;
/**
 * A closed area of users within a tenant (R22).
 *
 * @example
 * ```ts
 * const ward: PoolId = poolId('ward-3');
 * ```
 */
export type PoolId = Branded<string, 'PoolId'>;
/**
 * An opaque per-device delivery address the server routes by.
 *
 * @example
 * ```ts
 * const mailbox: MailboxId = mailboxId('mbx_7f3a');
 * ```
 */
export type MailboxId = Branded<string, 'MailboxId'>;
/**
 * A stored blob (an encrypted file or a chunk of one).
 *
 * @example
 * ```ts
 * const blob: BlobId = blobId('blb_0J3s9Qk2VbN7LmP0aR5sWeXyZ1cD4fG6hI8jK0lMnOp');
 * ```
 */
export type BlobId = Branded<string, 'BlobId'>;
/**
 * A message, unique per sender; used for deduplication.
 *
 * @example
 * ```ts
 * const id: MessageId = messageId('m_0001');
 * ```
 */
export type MessageId = Branded<string, 'MessageId'>;
/**
 * A 1:1 or group conversation on a client.
 *
 * @example
 * ```ts
 * const conversation: ConversationId = conversationId('c_alice');
 * ```
 */
export type ConversationId = Branded<string, 'ConversationId'>;
/**
 * A group.
 *
 * @example
 * ```ts
 * const group: GroupId = groupId('g_ward3');
 * ```
 */
export type GroupId = Branded<string, 'GroupId'>;

/** Identifiers: 1..128 characters of `A-Z a-z 0-9 . _ - : @ +`, no leading or trailing dot. */
const ID_PATTERN = /^(?!\.)[A-Za-z0-9._\-:@+]{1,128}(?<!\.)$/;

function brand<Name extends string>(name: Name) {
  return (value: unknown): Branded<string, Name> => {
    if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
      throw new ValidationError(name, 'an identifier of 1..128 characters from A-Z a-z 0-9 . _ - : @ +');
    }
    return value as Branded<string, Name>;
  };
}

/** Checks and brands a {@link TenantId}. @example `const t = tenantId('acme');` */
export const tenantId = brand('TenantId');
/** Checks and brands a {@link UserId}. @example `const u = userId('alice@acme.example');` */
export const userId = brand('UserId');
/** Checks and brands a {@link PoolId}. @example `const p = poolId('ward-3');` */
export const poolId = brand('PoolId');
/** Checks and brands a {@link MailboxId}. @example `const m = mailboxId('mbx_7f3a');` */
export const mailboxId = brand('MailboxId');
/** Checks and brands a {@link BlobId}. @example `const b = blobId('b_91c2');` */
export const blobId = brand('BlobId');
/** Checks and brands a {@link MessageId}. @example `const id = messageId('m_0001');` */
export const messageId = brand('MessageId');
/** Checks and brands a {@link ConversationId}. @example `const c = conversationId('c_alice');` */
export const conversationId = brand('ConversationId');
/** Checks and brands a {@link GroupId}. @example `const g = groupId('g_ward3');` */
export const groupId = brand('GroupId');

/**
 * The exact form of a blob id the reference server issues (`spec/server-blobs.md`): `blb_` and 43
 * base64url characters. A file reference's `locator` from a peer must match it before a client
 * puts it into a path.
 *
 * @example
 * ```ts
 * SERVER_BLOB_ID_PATTERN.test('../users/carol/devices'); // false
 * ```
 */
export const SERVER_BLOB_ID_PATTERN = /^blb_[A-Za-z0-9_-]{43}$/;
