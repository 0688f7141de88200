/**
 * What a received content means: a text or file becomes a message (and a delivery receipt to its
 * sender), a receipt moves the status of this user's messages, a signed group change or a group
 * name updates the stored group, a control message reports a session reset. Group content that
 * arrives before the change that makes its sender a member is held (see `held.ts`).
 *
 * @module
 */
import {
  applyGroupChange,
  CloisterError,
  decodeGroupChange,
  equalBytes,
  type GroupChange,
  type GroupState,
  toHex,
  verifyGroupChange,
} from '@cloister/crypto';
import {
  type Content,
  type ConversationId,
  encodeContent,
  type MessageId,
  userId as toUserId,
} from '@cloister/protocol';
import { loadGroup, saveGroup } from './groups.js';
import { holdGroupContent, type Incoming, takeHeld } from './held.js';
import { directConversationId, groupConversationId, localMessageId, toGroupIdBrand } from './ids.js';
import { enqueueJob } from './jobs.js';

import type { ClientEvent, CoreSelf, CoreTx } from './types.js';

function expiryOf(content: Content, now: number, lifetimeMs: number | null): number | null {
  const timer = content.expireTimerSeconds === undefined ? null : now + content.expireTimerSeconds * 1000;
  const retention = lifetimeMs === null ? null : now + lifetimeMs;
  if (timer === null) return retention;
  if (retention === null) return timer;
  return Math.min(timer, retention);
}

/** Applies one received content inside the transaction; the events it causes go to `events`. */
export async function applyContent(
  self: CoreSelf,
  t: CoreTx,
  m: Incoming,
  events: ClientEvent[],
): Promise<void> {
  const { content, sender } = m;
  const own = sender.userId === self.userId;
  const body = content.body;
  switch (body.type) {
    case 'text':
    case 'file': {
      let conversation: ConversationId;
      if (content.groupId !== undefined) {
        const group = await loadGroup(t.tx, toHex(content.groupId));
        if (group === undefined || !group.state.members.some((x) => x.userId === sender.userId)) {
          // Deliveries are not ordered: the change that creates the group or adds the sender may
          // still be on its way. Held for a while, applied when such a change arrives (if it was
          // sent after it); past the cap per sender it is dropped and reported.
          if (!(await holdGroupContent(t, m))) events.push(dropped(m));
          return;
        }
        conversation = groupConversationId(content.groupId);
      } else if (own) {
        if (content.syncedTo === undefined) return;
        conversation = directConversationId(content.syncedTo);
        await t.stores.conversations.create({
          id: conversation,
          kind: 'direct',
          peer: toUserId(content.syncedTo),
        });
      } else {
        if (content.syncedTo !== undefined) return;
        conversation = directConversationId(sender.userId);
        await t.stores.conversations.create({ id: conversation, kind: 'direct', peer: sender.userId });
      }
      const id = localMessageId(content.messageId, sender.userId);
      const expiresAt = expiryOf(content, m.now, m.lifetimeMs);
      const added = await t.stores.messages.addIfAbsent({
        id,
        conversationId: conversation,
        sender,
        sentAt: content.sentAtMs,
        receivedAt: own ? null : m.now,
        body: encodeContent(content),
        status: own ? 'sent' : 'delivered',
        expiresAt,
      });
      if (!added) return;
      events.push({
        type: 'message',
        message: {
          id,
          conversationId: conversation,
          from: sender,
          outgoing: own,
          sentAt: content.sentAtMs,
          receivedAt: own ? null : m.now,
          status: own ? 'sent' : 'delivered',
          expiresAt,
          content,
        },
      });
      if (!own) {
        // A delivery receipt to the sender's devices, durable with the message.
        const receipt: Content = {
          messageId: await self.provider.randomBytes(16),
          sentAtMs: m.now,
          body: { type: 'receipt', kind: 'delivered', messageIds: [content.messageId] },
        };
        await enqueueJob(
          t,
          { content: encodeContent(receipt), to: { user: sender.userId }, self: false },
          m.now,
        );
      }
      return;
    }
    case 'receipt': {
      const ids: MessageId[] = [];
      for (const raw of body.messageIds) {
        const id = localMessageId(raw, self.userId);
        const stored = await t.stores.messages.get(id);
        if (stored === undefined) continue;
        // Only a member of the message's conversation may acknowledge it.
        const conv = await t.stores.conversations.get(stored.conversationId);
        if (conv === undefined) continue;
        if (conv.kind === 'direct' && conv.peer !== sender.userId && !own) continue;
        await t.stores.messages.setStatus(id, body.kind);
        ids.push(id);
      }
      if (ids.length > 0)
        events.push({ type: 'receipt', kind: body.kind, from: sender.userId, messageIds: ids });
      return;
    }
    case 'group-change': {
      if (content.groupId === undefined) return;
      let change: GroupChange;
      try {
        change = decodeGroupChange(body.change);
      } catch {
        events.push({ type: 'undecryptable', reason: 'format', from: sender });
        return;
      }
      if (!equalBytes(change.groupId, content.groupId)) return;
      const ok = await verifyGroupChange(self.provider, m.senderIdentity, change, body.signature);
      if (!ok) {
        events.push({ type: 'undecryptable', reason: 'sender', from: sender });
        return;
      }
      const groupHex = toHex(change.groupId);
      const stored = await loadGroup(t.tx, groupHex);
      let state: GroupState;
      try {
        state = applyGroupChange(stored?.state, change, sender.userId);
      } catch (e) {
        if (e instanceof CloisterError) return; // stale or not allowed: ignored
        throw e;
      }
      const active = state.members.some((x) => x.userId === self.userId);
      await saveGroup(t.tx, { state, name: stored?.name ?? groupHex.slice(0, 8), active });
      const conversationId = groupConversationId(change.groupId);
      await t.stores.conversations.create({
        id: conversationId,
        kind: 'group',
        groupId: toGroupIdBrand(groupHex),
      });
      events.push({
        type: 'group',
        conversationId,
        groupId: groupHex,
        action: change.action,
        by: sender.userId,
        state,
      });
      // Content held for this group whose sender is now a member is applied in the same transaction.
      for (const held of await takeHeld(t, groupHex, m)) await applyContent(self, t, held, events);
      return;
    }
    case 'group': {
      // The group's name, sent by an admin after the signed change (the change itself carries none).
      if (content.groupId === undefined || body.action.kind !== 'create') return;
      const groupHex = toHex(content.groupId);
      const group = await loadGroup(t.tx, groupHex);
      if (group === undefined || !group.state.members.some((x) => x.userId === sender.userId)) {
        if (!(await holdGroupContent(t, m))) events.push(dropped(m));
        return;
      }
      if (!group.state.admins.includes(sender.userId)) return;
      await saveGroup(t.tx, { ...group, name: body.action.name });
      return;
    }
    case 'control':
      // The peer started a new session with this device (its initial message, just accepted).
      if (body.action === 'session-reset')
        events.push({ type: 'session-reset', ...sender, initiatedBy: 'peer' });
      return;
    default:
      // group-key: not used by this client.
      return;
  }
}

/** The event for group content from a non-member that could not be held. */
function dropped(m: Incoming): ClientEvent {
  return {
    type: 'undecryptable',
    reason: 'sender',
    from: { userId: m.sender.userId, deviceId: m.sender.deviceId },
  };
}
