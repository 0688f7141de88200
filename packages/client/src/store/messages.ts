/**
 * Messages of conversations: history newest first with cursors, lookup and deduplication by
 * message id, delivery status, and expiry (disappearing messages).
 *
 * @module
 */
import { type DeviceAddress, UsageError, ValidationError } from '@cloister/crypto';
import {
  type ConversationId,
  type MessageId,
  conversationId as toConversationId,
  messageId as toMessageId,
  type UserId,
} from '@cloister/protocol';
import type { Executor } from '@cloister/storage';
import {
  checkBrand,
  decodeMessage,
  encodeMessage,
  loadConv,
  loadMessageRows,
  saveConv,
  T,
  timeSort,
  VERSION,
} from './_conversation-rows.js';
import {
  type CheckedAddress,
  checkAddressArg,
  checkBytesArg,
  checkObjectArg,
  checkOptionalExpiry,
  checkTime,
  EMPTY,
  encode,
  toHexString,
  utf8Bytes,
} from './_util.js';
import { type Page, type PageOptions, pageOptions } from './conversations.js';

/**
 * Delivery status of a message; it only moves forward: `sent` → `delivered` → `read`.
 *
 * @example
 * ```ts
 * import { messageId } from '@cloister/protocol';
 * const now: MessageStatus | undefined = await stores.messages.setStatus(messageId('m1'), 'delivered');
 * ```
 */
export type MessageStatus = 'sent' | 'delivered' | 'read';

/**
 * A stored message.
 *
 * @example
 * ```ts
 * import { messageId } from '@cloister/protocol';
 * const m: StoredMessage | undefined = await stores.messages.get(messageId('m1'));
 * if (m !== undefined) console.log(m.sender.userId, m.status, new Date(m.sentAt).toISOString());
 * ```
 */
export interface StoredMessage {
  /** The message id, unique within the client. */
  readonly id: MessageId;
  /** The conversation it belongs to. */
  readonly conversationId: ConversationId;
  /** The device that sent it (this device for a message it sent). */
  readonly sender: { readonly userId: UserId; readonly deviceId: DeviceAddress['deviceId'] };
  /** Sender's time (ms since the epoch); orders the history. */
  readonly sentAt: number;
  /** When this device received it, or `null` for messages this device sent. */
  readonly receivedAt: number | null;
  /** The message content (for example an encoded content payload). */
  readonly body: Uint8Array;
  /** Its delivery status. */
  readonly status: MessageStatus;
  /** When the message disappears (ms since the epoch), or `null`. */
  readonly expiresAt: number | null;
}

/**
 * What {@link MessageStore.addIfAbsent} takes.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * import { conversationId, messageId } from '@cloister/protocol';
 * const input: MessageInput = {
 *   id: messageId('bob.1.m1'), conversationId: conversationId('c_bob'), sender: bob,
 *   sentAt: 1_700_000_000_000, receivedAt: Date.now(), body: utf8('hello'),
 * };
 * const added = await stores.messages.addIfAbsent(input); // false when already stored
 * ```
 */
export interface MessageInput {
  /** The message id (unique within the client: prefix received ids with the sender). */
  readonly id: MessageId;
  /** The conversation, which must exist. */
  readonly conversationId: ConversationId;
  /** The device that sent it. */
  readonly sender: DeviceAddress;
  /** The sender's time (ms since the epoch); orders the history. */
  readonly sentAt: number;
  /** When this device received it (ms since the epoch); absent or `null` for a message it sent. */
  readonly receivedAt?: number | null;
  /** The message content, at most {@link MAX_MESSAGE_BODY_BYTES}. */
  readonly body: Uint8Array;
  /** Default `sent`. */
  readonly status?: MessageStatus;
  /** When the message disappears; absent or `null` for never. */
  readonly expiresAt?: number | null;
}

/**
 * Largest message body, in bytes (1 MiB); larger content goes to the blob store. A longer body
 * is a `ValidationError`.
 *
 * @example
 * ```ts
 * const fits = bytes.length <= MAX_MESSAGE_BODY_BYTES; // else store it with stores.blobs
 * ```
 */
export const MAX_MESSAGE_BODY_BYTES = 1024 * 1024;

/**
 * Messages. A message id is unique within the client (make ids of received messages unique per
 * sender, for example by prefixing the sender); {@link MessageStore.addIfAbsent} is the dedupe.
 * Expired messages vanish from every read.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * import { conversationId, messageId } from '@cloister/protocol';
 * const added = await stores.messages.addIfAbsent({
 *   id: messageId('m1'), conversationId: conversationId('c_bob'), sender: bob,
 *   sentAt: Date.now(), body: utf8('hi'),
 * });
 * const page = await stores.messages.history(conversationId('c_bob'), { limit: 50 });
 * ```
 */
export interface MessageStore {
  /**
   * Adds a message to an existing conversation (else `UsageError`) and moves its latest activity
   * forward; resolves `false`, changing nothing, when a live message has the same id.
   *
   * @example
   * ```ts
   * import { conversationId, messageId } from '@cloister/protocol';
   * const added = await stores.messages.addIfAbsent({
   *   id: messageId(`${bob.userId}.${bob.deviceId}.m7`), conversationId: conversationId('c_bob'), sender: bob,
   *   sentAt: 1_700_000_000_000, receivedAt: Date.now(), body: bytes,
   * }); // false for a redelivered message: it is stored once
   * ```
   */
  addIfAbsent(message: MessageInput): Promise<boolean>;
  /**
   * The live message with this id, or `undefined` (also once it has expired).
   *
   * @example
   * ```ts
   * import { messageId } from '@cloister/protocol';
   * const m = await stores.messages.get(messageId('m1'));
   * if (m !== undefined) console.log(m.status, new Date(m.sentAt).toISOString());
   * ```
   */
  get(id: MessageId): Promise<StoredMessage | undefined>;
  /**
   * Messages of a conversation, newest (by `sentAt`) first.
   *
   * @example
   * ```ts
   * import { conversationId } from '@cloister/protocol';
   * const latest = await stores.messages.history(conversationId('c_bob'), { limit: 50 });
   * const older = latest.next === undefined ? undefined : await stores.messages.history(conversationId('c_bob'), { limit: 50, cursor: latest.next });
   * ```
   */
  history(conversationId: ConversationId, options?: PageOptions): Promise<Page<StoredMessage>>;
  /**
   * Moves the status forward (a lower status is ignored); resolves the status now stored, or
   * `undefined` when there is no such message.
   *
   * @example
   * ```ts
   * import { messageId } from '@cloister/protocol';
   * await stores.messages.setStatus(messageId('m1'), 'read'); // → 'read'
   * await stores.messages.setStatus(messageId('m1'), 'delivered'); // → 'read': the status never moves back
   * ```
   */
  setStatus(id: MessageId, status: MessageStatus): Promise<MessageStatus | undefined>;
  /**
   * Deletes a message; resolves `true` when it existed.
   *
   * @example
   * ```ts
   * import { messageId } from '@cloister/protocol';
   * const existed = await stores.messages.delete(messageId('m1'));
   * ```
   */
  delete(id: MessageId): Promise<boolean>;
}

const STATUS_RANK: Record<MessageStatus, number> = { sent: 0, delivered: 1, read: 2 };

function checkStatus(value: unknown, field: string): MessageStatus {
  if (value !== 'sent' && value !== 'delivered' && value !== 'read') {
    throw new ValidationError(field, "'sent', 'delivered' or 'read'");
  }
  return value;
}

function checkMessage(value: unknown): { message: StoredMessage; sender: CheckedAddress } {
  const o = checkObjectArg(value, 'message');
  const id = checkBrand(toMessageId, o.id, 'message.id', 'MessageId');
  const conversationId = checkBrand(
    toConversationId,
    o.conversationId,
    'message.conversationId',
    'ConversationId',
  );
  const sender = checkAddressArg(o.sender, 'message.sender');
  const sentAt = checkTime(o.sentAt, 'message.sentAt');
  const receivedAt =
    o.receivedAt === undefined || o.receivedAt === null
      ? null
      : checkTime(o.receivedAt, 'message.receivedAt');
  const body = checkBytesArg(o.body, 'message.body');
  if (body.length > MAX_MESSAGE_BODY_BYTES) {
    throw new ValidationError('message.body', `at most ${MAX_MESSAGE_BODY_BYTES} bytes`);
  }
  const status = o.status === undefined ? 'sent' : checkStatus(o.status, 'message.status');
  const expiresAt = checkOptionalExpiry(o.expiresAt, 'message.expiresAt');
  return {
    message: { id, conversationId, sender, sentAt, receivedAt, body: body.slice(), status, expiresAt },
    sender,
  };
}

/**
 * Creates the message store over an executor (see {@link createClientStores}).
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const messages = createMessageStore(adapterExecutor(adapter));
 * ```
 */
export function createMessageStore(run: Executor): MessageStore {
  return {
    async addIfAbsent(input) {
      const { message: m } = checkMessage(input);
      const value = encodeMessage(m);
      return run(async (tx) => {
        const conv = await loadConv(tx, m.conversationId, true);
        if (conv === undefined) throw new UsageError('the conversation does not exist');
        const sort = timeSort(m.sentAt);
        const claimed = await tx.put(
          T.messageIds,
          {
            partition: utf8Bytes(m.id),
            sort: EMPTY,
            value: encode(VERSION, { conversationId: m.conversationId, sort }),
            expiresAt: m.expiresAt,
          },
          { ifAbsent: true },
        );
        if (!claimed) return false;
        await tx.put(T.messages, {
          partition: utf8Bytes(m.conversationId),
          sort,
          value,
          expiresAt: m.expiresAt,
        });
        const at = m.receivedAt ?? m.sentAt;
        if (at > conv.conversation.lastActivityAt) {
          await saveConv(tx, conv, { ...conv.conversation, lastActivityAt: at });
        }
        return true;
      });
    },
    async get(id) {
      const i = checkBrand(toMessageId, id, 'id', 'MessageId');
      return run(async (tx) => (await loadMessageRows(tx, i, false))?.message, { readOnly: true });
    },
    async history(conversationId, options) {
      const c = checkBrand(toConversationId, conversationId, 'conversationId', 'ConversationId');
      const { limit, after } = pageOptions(options);
      const rows = await run(
        (tx) =>
          tx.list(T.messages, utf8Bytes(c), {
            limit: limit + 1,
            reverse: true,
            ...(after === undefined ? {} : { after }),
          }),
        { readOnly: true },
      );
      const items = rows.slice(0, limit).map((r) => decodeMessage(r.value, r.expiresAt));
      const last = rows[limit - 1];
      return rows.length > limit && last !== undefined ? { items, next: toHexString(last.sort) } : { items };
    },
    async setStatus(id, status) {
      const i = checkBrand(toMessageId, id, 'id', 'MessageId');
      const s = checkStatus(status, 'status');
      return run(async (tx) => {
        const found = await loadMessageRows(tx, i, true);
        if (found === undefined) return undefined;
        const m = found.message;
        if (STATUS_RANK[s] <= STATUS_RANK[m.status]) return m.status;
        await tx.put(T.messages, {
          partition: found.partition,
          sort: found.sort,
          value: encodeMessage({ ...m, status: s }),
          expiresAt: found.row.expiresAt,
        });
        return s;
      });
    },
    async delete(id) {
      const i = checkBrand(toMessageId, id, 'id', 'MessageId');
      return run(async (tx) => {
        const found = await loadMessageRows(tx, i, true);
        const removedId = await tx.delete(T.messageIds, utf8Bytes(i), EMPTY);
        if (found === undefined) return false;
        await tx.delete(T.messages, found.partition, found.sort);
        return removedId;
      });
    },
  };
}
