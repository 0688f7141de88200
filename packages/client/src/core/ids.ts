/**
 * The identifiers the core derives: local ids of messages and conversations, the delivery id of one
 * content to one device, and the conversation id bound into an archive seal.
 *
 * @module
 */
import { type CryptoProvider, concatBytes, toHex, uintBE, utf8 } from '@cloister/crypto';
import {
  type ConversationId,
  type GroupId,
  type MessageId,
  conversationId as toConversationId,
  groupId as toGroupId,
  messageId as toMessageId,
} from '@cloister/protocol';

/**
 * The local id of a message: `<hex content id>@<sender user>`.
 *
 * @example
 * ```ts
 * localMessageId(new Uint8Array(16), 'bob'); // '00000000000000000000000000000000@bob'
 * ```
 */
export function localMessageId(contentId: Uint8Array, sender: string): MessageId {
  return toMessageId(`${toHex(contentId)}@${sender}`);
}

/**
 * The conversation id of a direct conversation with `peer` (`d:<peer>`).
 *
 * @example
 * ```ts
 * const page = await client.history(directConversationId('bob'), { limit: 20 }); // 'd:bob'
 * ```
 */
export function directConversationId(peer: string): ConversationId {
  return toConversationId(`d:${peer}`);
}

/**
 * The conversation id of a group (`g:<hex of the 32-byte group id>`).
 *
 * @example
 * ```ts
 * const id = groupConversationId(new Uint8Array(32).fill(0xab)); // 'g:abab…ab'
 * ```
 */
export function groupConversationId(groupId: Uint8Array): ConversationId {
  return toConversationId(`g:${toHex(groupId)}`);
}

/** The store's id of a group (`g_<hex>`). */
export function toGroupIdBrand(hex: string): GroupId {
  return toGroupId(`g_${hex}`);
}

/**
 * The delivery id of one content to one device: the first 16 bytes of
 * SHA-256("cloister/client/v1/delivery-id" ‖ content id ‖ u32 device ‖ user). A retried job
 * submits the same ids, so the server keeps exactly one copy per device.
 *
 * @example
 * ```ts
 * const id = await deliveryId(provider, provider.randomBytes(16), { userId: 'bob', deviceId: 1 }); // 16 bytes
 * ```
 */
export async function deliveryId(
  provider: CryptoProvider,
  contentId: Uint8Array,
  device: { userId: string; deviceId: number },
): Promise<Uint8Array> {
  const input = concatBytes(
    utf8(DELIVERY_ID_LABEL),
    contentId,
    uintBE(device.deviceId, 4),
    utf8(device.userId),
  );
  return (await provider.sha256(input)).slice(0, 16);
}

/**
 * Label of {@link archiveConversationId} (`cloister/client/v1/archive-conversation`).
 *
 * @example
 * ```ts
 * console.log(ARCHIVE_CONVERSATION_LABEL); // 'cloister/client/v1/archive-conversation'
 * ```
 */
export const ARCHIVE_CONVERSATION_LABEL = 'cloister/client/v1/archive-conversation';

/**
 * The conversation id bound into an archive seal, the same on both sides: for a group its 32-byte
 * id; for a 1:1 conversation SHA-256(label ‖ lp16(a) ‖ lp16(b)) over the two user ids sorted.
 *
 * @example
 * ```ts
 * const id = await archiveConversationId(provider, { users: ['alice', 'bob'] }); // 32 bytes, either order
 * ```
 */
export async function archiveConversationId(
  provider: CryptoProvider,
  conversation: { readonly group: Uint8Array } | { readonly users: readonly [string, string] },
): Promise<Uint8Array> {
  if ('group' in conversation) return conversation.group.slice();
  const [a, b] = [...conversation.users].sort().map((u) => utf8(u));
  const input = concatBytes(
    utf8(ARCHIVE_CONVERSATION_LABEL),
    uintBE(a!.length, 2),
    a!,
    uintBE(b!.length, 2),
    b!,
  );
  return provider.sha256(input);
}

/**
 * Label of {@link deliveryId} (`cloister/client/v1/delivery-id`).
 *
 * @example
 * ```ts
 * console.log(DELIVERY_ID_LABEL); // 'cloister/client/v1/delivery-id'
 * ```
 */
export const DELIVERY_ID_LABEL = 'cloister/client/v1/delivery-id';
