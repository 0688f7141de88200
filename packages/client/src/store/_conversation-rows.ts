/**
 * The rows of the conversation and message stores (`spec/storage-client.md`): their record
 * layouts, the time-ordered sort keys, and the transaction steps both stores share (a
 * conversation read and rewritten with its activity index row, a message found by its id).
 *
 * @module
 */
import { DecodeError, deviceId, ValidationError } from '@cloister/crypto';
import {
  type ConversationId,
  type MessageId,
  conversationId as toConversationId,
  groupId as toGroupId,
  messageId as toMessageId,
  userId as toUserId,
} from '@cloister/protocol';
import type { StorageTx } from '@cloister/storage';
import {
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
  randomBytes,
  u64,
  utf8Bytes,
} from './_util.js';
import type { Conversation } from './conversations.js';
import type { StoredMessage } from './messages.js';
import { CLIENT_TABLES } from './tables.js';

export const T = CLIENT_TABLES;
/** Record version of every row of both stores. */
export const VERSION = 1;
/** Length of a time-ordered sort key, and so of a page cursor (hex of one). */
export const SORT_LENGTH = 16;

/** Checks a branded argument: `make(value)`, or a `ValidationError` naming `field`. */
export function checkBrand<B>(make: (v: unknown) => B, value: unknown, field: string, name: string): B {
  try {
    return make(value);
  } catch {
    throw new ValidationError(field, `a ${name}`);
  }
}

/** Sort key of a time-ordered row: 8-byte big-endian time, then 8 random bytes. */
export function timeSort(at: number): Uint8Array {
  return concat(u64(at), randomBytes(8));
}

/** A stored conversation with the sort key of its activity index row. */
export interface ConvStored {
  conversation: Conversation;
  activityKey: Uint8Array;
}

const CPATH = 'c_conversations';

export function encodeConv(c: Conversation, activityKey: Uint8Array): Uint8Array {
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

export function encodeMessage(m: StoredMessage): Uint8Array {
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

export function decodeMessage(bytes: Uint8Array, expiresAt: number | null): StoredMessage {
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

export async function loadConv(
  tx: StorageTx,
  id: ConversationId,
  forUpdate: boolean,
): Promise<ConvStored | undefined> {
  const row = await tx.get(T.conversations, utf8Bytes(id), EMPTY, forUpdate ? { forUpdate } : undefined);
  return row === undefined ? undefined : decodeConv(row.value);
}

/** Rewrites a conversation and moves its activity index row when the activity time changed. */
export async function saveConv(tx: StorageTx, old: ConvStored, next: Conversation): Promise<void> {
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

export async function touchConv(tx: StorageTx, id: ConversationId, at: number): Promise<boolean> {
  const old = await loadConv(tx, id, true);
  if (old === undefined) return false;
  if (at > old.conversation.lastActivityAt)
    await saveConv(tx, old, { ...old.conversation, lastActivityAt: at });
  return true;
}

export async function loadMessageRows(tx: StorageTx, id: MessageId, forUpdate: boolean) {
  const idRow = await tx.get(T.messageIds, utf8Bytes(id), EMPTY, forUpdate ? { forUpdate } : undefined);
  if (idRow === undefined) return undefined;
  const ref = decodeIdRow(idRow.value);
  const partition = utf8Bytes(ref.conversationId);
  const row = await tx.get(T.messages, partition, ref.sort, forUpdate ? { forUpdate } : undefined);
  if (row === undefined) return undefined;
  return { partition, sort: ref.sort, row, message: decodeMessage(row.value, row.expiresAt) };
}
