/**
 * Read receipts, decided without I/O: which messages a "read" covers (received ones of the
 * conversation only), their new status, and the receipts queued to each sender, at most 256
 * message ids per receipt.
 *
 * @module
 */
import {
  type Content,
  type ConversationId,
  decodeContent,
  encodeContent,
  type MessageId,
} from '@cloister/protocol';
import { enqueueJob } from './jobs.js';
import type { CoreSelf, CoreTx } from './types.js';

/** Most message ids one receipt names. */
export const MAX_RECEIPT_IDS = 256;

/**
 * Marks received messages of `conversationId` read and queues a read receipt to each sender, in
 * the caller's transaction. Ids of other conversations, of messages this user sent and unknown
 * ids are skipped. Resolves how many messages were marked.
 */
export async function queueReadReceipts(
  self: CoreSelf,
  t: CoreTx,
  input: {
    readonly conversationId: ConversationId;
    readonly ids: readonly MessageId[];
    readonly now: number;
  },
): Promise<number> {
  const bySender = new Map<string, Uint8Array[]>();
  let marked = 0;
  for (const id of input.ids) {
    const m = await t.stores.messages.get(id);
    if (m === undefined || m.conversationId !== input.conversationId || m.receivedAt === null) continue;
    await t.stores.messages.setStatus(id, 'read');
    marked++;
    const list = bySender.get(m.sender.userId) ?? [];
    list.push(decodeContent(m.body).messageId);
    bySender.set(m.sender.userId, list);
  }
  for (const [user, messageIds] of bySender) {
    for (let i = 0; i < messageIds.length; i += MAX_RECEIPT_IDS) {
      const content: Content = {
        messageId: await self.provider.randomBytes(16),
        sentAtMs: input.now,
        body: { type: 'receipt', kind: 'read', messageIds: messageIds.slice(i, i + MAX_RECEIPT_IDS) },
      };
      await enqueueJob(t, { content: encodeContent(content), to: { user }, self: false }, input.now);
    }
  }
  return marked;
}
