/**
 * Conversations (1:1 or group) and their messages: history newest first with cursors, lookup and
 * deduplication by message id, delivery status, and expiry (disappearing messages).
 *
 * @module
 */
import { DecodeError, type DeviceAddress, deviceId, UsageError, ValidationError } from '@cloister/crypto';
import {
  type ConversationId,
  type GroupId,
  type MessageId,
  conversationId as toConversationId,
  groupId as toGroupId,
  messageId as toMessageId,
  userId as toUserId,
  type UserId,
} from '@cloister/protocol';
import type { Executor, StorageTx } from '@cloister/storage';
import {
  type CheckedAddress,
  checkAddressArg,
  checkBytesArg,
  checkLimitArg,
  checkObjectArg,
  checkOptionalExpiry,
  checkTime,
  concat,
  dBranded,
  dBytes,
  decodeObject,
  dString,
  dTime,
  dTimeOrNull,
  dUint32,
  EMPTY,
  encode,
  fromHexString,
  randomBytes,
  toHexString,
  u64,
  utf8Bytes,
} from './_util.js';
import { CLIENT_TABLES } from './tables.js';

// ---- conversations ----------------------------------------------------------------------------

/** Fields every conversation has. */
export interface ConversationBase {
  readonly id: ConversationId;
  /** Lifetime of new messages in ms (disappearing messages), or `null` for none. */
  readonly disappearingTimerMs: number | null;
  /** Time of the latest activity (ms since the epoch); orders {@link ConversationStore.list}. */
  readonly lastActivityAt: number;
  /** When the conversation was created. */
  readonly createdAt: number;
}

/** A 1:1 conversation with one other user. */
export interface DirectConversation extends ConversationBase {
  readonly kind: 'direct';
  readonly peer: UserId;
}

/** A group conversation. */
export interface GroupConversation extends ConversationBase {
  readonly kind: 'group';
  readonly groupId: GroupId;
}

/** A stored conversation. */
export type Conversation = DirectConversation | GroupConversation;

/** What {@link ConversationStore.create} takes. */
export type ConversationInput =
  | {
      readonly id: ConversationId;
      readonly kind: 'direct';
      readonly peer: UserId;
      readonly disappearingTimerMs?: number | null;
    }
  | {
      readonly id: ConversationId;
      readonly kind: 'group';
      readonly groupId: GroupId;
      readonly disappearingTimerMs?: number | null;
    };

/** An opaque position in a listing, from a previous page's `next`. */
export type PageCursor = string;

/** Options of a paged listing. */
export interface PageOptions {
  /** At most this many items (1..1000, default 50). */
  readonly limit?: number;
  /** Continue after this cursor (a previous page's `next`). */
  readonly cursor?: PageCursor;
}

/** One page of a listing; `next` is present when more items may follow. */
export interface Page<T> {
  readonly items: T[];
  readonly next?: PageCursor;
}

/**
 * Conversations of this client.
 *
 * @example
 * ```ts
 * await stores.conversations.create({ id: conversationId('c_bob'), kind: 'direct', peer: userId('bob') });
 * const { items } = await stores.conversations.list({ limit: 20 }); // most recent activity first
 * ```
 */
export interface ConversationStore {
  /** Creates a conversation; resolves `false`, changing nothing, when the id exists. */
  create(input: ConversationInput): Promise<boolean>;
  get(id: ConversationId): Promise<Conversation | undefined>;
  /** Conversations by latest activity, most recent first. */
  list(options?: PageOptions): Promise<Page<Conversation>>;
  /** Sets the disappearing-message timer; resolves `false` when the conversation does not exist. */
  setDisappearingTimer(id: ConversationId, timerMs: number | null): Promise<boolean>;
  /** Moves the latest activity forward to `at` (never back); `false` when the conversation does not exist. */
  touch(id: ConversationId, at: number): Promise<boolean>;
  /** Deletes the conversation and all its messages; resolves `true` when it existed. */
  delete(id: ConversationId): Promise<boolean>;
}

// ---- messages -------------------------------------------------------------------------------

/** Delivery status of a message; it only moves forward: `sent` → `delivered` → `read`. */
export type MessageStatus = 'sent' | 'delivered' | 'read';

/** A stored message. */
export interface StoredMessage {
  readonly id: MessageId;
  readonly conversationId: ConversationId;
  readonly sender: { readonly userId: UserId; readonly deviceId: DeviceAddress['deviceId'] };
  /** Sender's time (ms since the epoch); orders the history. */
  readonly sentAt: number;
  /** When this device received it, or `null` for messages this device sent. */
  readonly receivedAt: number | null;
  /** The message content (for example an encoded content payload). */
  readonly body: Uint8Array;
  readonly status: MessageStatus;
  /** When the message disappears (ms since the epoch), or `null`. */
  readonly expiresAt: number | null;
}

/** What {@link MessageStore.addIfAbsent} takes. */
export interface MessageInput {
  readonly id: MessageId;
  readonly conversationId: ConversationId;
  readonly sender: DeviceAddress;
  readonly sentAt: number;
  readonly receivedAt?: number | null;
  readonly body: Uint8Array;
  /** Default `sent`. */
  readonly status?: MessageStatus;
  /** When the message disappears; absent or `null` for never. */
  readonly expiresAt?: number | null;
}

/** Largest message body, in bytes (1 MiB); larger content goes to the blob store. */
export const MAX_MESSAGE_BODY_BYTES = 1024 * 1024;
/** Most items one page of {@link MessageStore.history} or {@link ConversationStore.list} returns. */
export const MAX_PAGE_LIMIT = 1000;

/**
 * Messages. A message id is unique within the client (make ids of received messages unique per
 * sender, for example by prefixing the sender); {@link MessageStore.addIfAbsent} is the dedupe.
 * Expired messages vanish from every read.
 *
 * @example
 * ```ts
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
   */
  addIfAbsent(message: MessageInput): Promise<boolean>;
  get(id: MessageId): Promise<StoredMessage | undefined>;
  /** Messages of a conversation, newest (by `sentAt`) first. */
  history(conversationId: ConversationId, options?: PageOptions): Promise<Page<StoredMessage>>;
  /**
   * Moves the status forward (a lower status is ignored); resolves the status now stored, or
   * `undefined` when there is no such message.
   */
  setStatus(id: MessageId, status: MessageStatus): Promise<MessageStatus | undefined>;
  /** Deletes a message; resolves `true` when it existed. */
  delete(id: MessageId): Promise<boolean>;
}

// ---- encoding -------------------------------------------------------------------------------

const T = CLIENT_TABLES;
const VERSION = 1;
const STATUS_RANK: Record<MessageStatus, number> = { sent: 0, delivered: 1, read: 2 };
const SORT_LENGTH = 16;

function checkStatus(value: unknown, field: string): MessageStatus {
  if (value !== 'sent' && value !== 'delivered' && value !== 'read') {
    throw new ValidationError(field, "'sent', 'delivered' or 'read'");
  }
  return value;
}

function checkTimer(value: unknown, field: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(field, 'null or a positive safe integer (ms)');
  }
  return value;
}

function checkBrand<B>(make: (v: unknown) => B, value: unknown, field: string, name: string): B {
  try {
    return make(value);
  } catch {
    throw new ValidationError(field, `a ${name}`);
  }
}

/** Sort key of a time-ordered row: 8-byte big-endian time, then 8 random bytes. */
function timeSort(at: number): Uint8Array {
  return concat(u64(at), randomBytes(8));
}

function checkCursor(value: unknown): Uint8Array | undefined {
  if (value === undefined) return undefined;
  return fromHexString(value as string, 'options.cursor', SORT_LENGTH);
}

interface ConvStored {
  conversation: Conversation;
  activityKey: Uint8Array;
}

const CPATH = 'c_conversations';

function encodeConv(c: Conversation, activityKey: Uint8Array): Uint8Array {
  return encode(VERSION, {
    id: c.id,
    kind: c.kind,
    peer: c.kind === 'direct' ? c.peer : null,
    groupId: c.kind === 'group' ? c.groupId : null,
    disappearingTimerMs: c.disappearingTimerMs,
    lastActivityAt: c.lastActivityAt,
    createdAt: c.createdAt,
    activityKey,
  });
}

function decodeConv(bytes: Uint8Array): ConvStored {
  const d = decodeObject(bytes, CPATH, VERSION);
  const id = dBranded(d, 'id', CPATH, toConversationId);
  const timer = d.disappearingTimerMs === null ? null : dTime(d, 'disappearingTimerMs', CPATH);
  const base = {
    id,
    disappearingTimerMs: timer,
    lastActivityAt: dTime(d, 'lastActivityAt', CPATH),
    createdAt: dTime(d, 'createdAt', CPATH),
  };
  const kind = dString(d, 'kind', CPATH);
  let conversation: Conversation;
  if (kind === 'direct') conversation = { ...base, kind, peer: dBranded(d, 'peer', CPATH, toUserId) };
  else if (kind === 'group')
    conversation = { ...base, kind, groupId: dBranded(d, 'groupId', CPATH, toGroupId) };
  else throw new DecodeError(`${CPATH}.kind`, 'unknown conversation kind');
  return { conversation, activityKey: dBytes(d, 'activityKey', CPATH, SORT_LENGTH) };
}

const MPATH = 'c_messages';
const IPATH = 'c_message_ids';

function encodeMessage(m: StoredMessage): Uint8Array {
  return encode(VERSION, {
    id: m.id,
    conversationId: m.conversationId,
    senderUserId: m.sender.userId,
    senderDeviceId: m.sender.deviceId,
    sentAt: m.sentAt,
    receivedAt: m.receivedAt,
    body: m.body,
    status: m.status,
  });
}

function decodeMessage(bytes: Uint8Array, expiresAt: number | null): StoredMessage {
  const d = decodeObject(bytes, MPATH, VERSION);
  const status = d.status;
  if (status !== 'sent' && status !== 'delivered' && status !== 'read') {
    throw new DecodeError(`${MPATH}.status`, 'unknown status');
  }
  return {
    id: dBranded(d, 'id', MPATH, toMessageId),
    conversationId: dBranded(d, 'conversationId', MPATH, toConversationId),
    sender: {
      userId: dBranded(d, 'senderUserId', MPATH, toUserId),
      deviceId: deviceId(dUint32(d, 'senderDeviceId', MPATH)),
    },
    sentAt: dTime(d, 'sentAt', MPATH),
    receivedAt: dTimeOrNull(d, 'receivedAt', MPATH),
    body: dBytes(d, 'body', MPATH),
    status,
    expiresAt,
  };
}

function decodeIdRow(bytes: Uint8Array): { conversationId: ConversationId; sort: Uint8Array } {
  const d = decodeObject(bytes, IPATH, VERSION);
  return {
    conversationId: dBranded(d, 'conversationId', IPATH, toConversationId),
    sort: dBytes(d, 'sort', IPATH, SORT_LENGTH),
  };
}

// ---- shared transaction steps -----------------------------------------------------------------

async function loadConv(
  tx: StorageTx,
  id: ConversationId,
  forUpdate: boolean,
): Promise<ConvStored | undefined> {
  const row = await tx.get(T.conversations, utf8Bytes(id), EMPTY, forUpdate ? { forUpdate } : undefined);
  return row === undefined ? undefined : decodeConv(row.value);
}

/** Rewrites a conversation and moves its activity index row when the activity time changed. */
async function saveConv(tx: StorageTx, old: ConvStored, next: Conversation): Promise<void> {
  let key = old.activityKey;
  if (next.lastActivityAt !== old.conversation.lastActivityAt) {
    await tx.delete(T.conversationActivity, EMPTY, old.activityKey);
    key = timeSort(next.lastActivityAt);
    await tx.put(T.conversationActivity, {
      partition: EMPTY,
      sort: key,
      value: encode(VERSION, { id: next.id }),
    });
  }
  await tx.put(T.conversations, { partition: utf8Bytes(next.id), sort: EMPTY, value: encodeConv(next, key) });
}

async function touchConv(tx: StorageTx, id: ConversationId, at: number): Promise<boolean> {
  const old = await loadConv(tx, id, true);
  if (old === undefined) return false;
  if (at > old.conversation.lastActivityAt)
    await saveConv(tx, old, { ...old.conversation, lastActivityAt: at });
  return true;
}

async function loadMessageRows(tx: StorageTx, id: MessageId, forUpdate: boolean) {
  const idRow = await tx.get(T.messageIds, utf8Bytes(id), EMPTY, forUpdate ? { forUpdate } : undefined);
  if (idRow === undefined) return undefined;
  const ref = decodeIdRow(idRow.value);
  const partition = utf8Bytes(ref.conversationId);
  const row = await tx.get(T.messages, partition, ref.sort, forUpdate ? { forUpdate } : undefined);
  if (row === undefined) return undefined;
  return { partition, sort: ref.sort, row, message: decodeMessage(row.value, row.expiresAt) };
}

function pageOptions(options: PageOptions | undefined): { limit: number; after: Uint8Array | undefined } {
  const o = checkObjectArg(options ?? {}, 'options');
  return { limit: checkLimitArg(o.limit, 50, MAX_PAGE_LIMIT, 'options.limit'), after: checkCursor(o.cursor) };
}

// ---- implementations ---------------------------------------------------------------------------

/**
 * Creates the conversation store over an executor (see {@link createClientStores}).
 *
 * @example
 * ```ts
 * const conversations = createConversationStore(adapterExecutor(adapter));
 * ```
 */
export function createConversationStore(run: Executor): ConversationStore {
  return {
    async create(input) {
      const o = checkObjectArg(input, 'input');
      const id = checkBrand(toConversationId, o.id, 'input.id', 'ConversationId');
      const timer = checkTimer(o.disappearingTimerMs, 'input.disappearingTimerMs');
      let peerOrGroup: { kind: 'direct'; peer: UserId } | { kind: 'group'; groupId: GroupId };
      if (o.kind === 'direct')
        peerOrGroup = { kind: 'direct', peer: checkBrand(toUserId, o.peer, 'input.peer', 'UserId') };
      else if (o.kind === 'group') {
        peerOrGroup = {
          kind: 'group',
          groupId: checkBrand(toGroupId, o.groupId, 'input.groupId', 'GroupId'),
        };
      } else throw new ValidationError('input.kind', "'direct' or 'group'");
      return run(async (tx) => {
        const conversation: Conversation = {
          id,
          ...peerOrGroup,
          disappearingTimerMs: timer,
          lastActivityAt: tx.now,
          createdAt: tx.now,
        };
        const key = timeSort(tx.now);
        const written = await tx.put(
          T.conversations,
          { partition: utf8Bytes(id), sort: EMPTY, value: encodeConv(conversation, key) },
          { ifAbsent: true },
        );
        if (!written) return false;
        await tx.put(T.conversationActivity, { partition: EMPTY, sort: key, value: encode(VERSION, { id }) });
        return true;
      });
    },
    async get(id) {
      const c = checkBrand(toConversationId, id, 'id', 'ConversationId');
      return run(async (tx) => (await loadConv(tx, c, false))?.conversation, { readOnly: true });
    },
    async list(options) {
      const { limit, after } = pageOptions(options);
      return run(
        async (tx) => {
          const rows = await tx.list(T.conversationActivity, EMPTY, {
            limit: limit + 1,
            reverse: true,
            ...(after === undefined ? {} : { after }),
          });
          const items: Conversation[] = [];
          for (const r of rows.slice(0, limit)) {
            const d = decodeObject(r.value, 'c_conversation_activity', VERSION);
            const id = dBranded(d, 'id', 'c_conversation_activity', toConversationId);
            const conv = await loadConv(tx, id, false);
            if (conv === undefined)
              throw new DecodeError('c_conversation_activity', 'names a missing conversation');
            items.push(conv.conversation);
          }
          const last = rows[limit - 1];
          return rows.length > limit && last !== undefined
            ? { items, next: toHexString(last.sort) }
            : { items };
        },
        { readOnly: true },
      );
    },
    async setDisappearingTimer(id, timerMs) {
      const c = checkBrand(toConversationId, id, 'id', 'ConversationId');
      const timer = checkTimer(timerMs, 'timerMs');
      return run(async (tx) => {
        const old = await loadConv(tx, c, true);
        if (old === undefined) return false;
        await saveConv(tx, old, { ...old.conversation, disappearingTimerMs: timer });
        return true;
      });
    },
    async touch(id, at) {
      const c = checkBrand(toConversationId, id, 'id', 'ConversationId');
      const t = checkTime(at, 'at');
      return run((tx) => touchConv(tx, c, t));
    },
    async delete(id) {
      const c = checkBrand(toConversationId, id, 'id', 'ConversationId');
      const partition = utf8Bytes(c);
      return run(async (tx) => {
        const old = await loadConv(tx, c, true);
        if (old === undefined) return false;
        let after: Uint8Array | undefined;
        for (;;) {
          const rows = await tx.list(T.messages, partition, {
            limit: 1000,
            ...(after === undefined ? {} : { after }),
          });
          for (const r of rows) {
            const m = decodeMessage(r.value, r.expiresAt);
            await tx.delete(T.messageIds, utf8Bytes(m.id), EMPTY);
          }
          const last = rows[rows.length - 1];
          if (rows.length < 1000 || last === undefined) break;
          after = last.sort;
        }
        await tx.deletePartition(T.messages, partition);
        await tx.delete(T.conversationActivity, EMPTY, old.activityKey);
        await tx.delete(T.conversations, partition, EMPTY);
        return true;
      });
    },
  };
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
