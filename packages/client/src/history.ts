/**
 * The local history: conversations, their messages newest first (expired ones never appear),
 * disappearing-message timers, and purging expired rows.
 *
 * @module
 */
import { UsageError } from '@cloister/crypto';
import type { ConversationId } from '@cloister/protocol';
import type { ClientContext } from './context.js';
import { type ClientMessage, toClientMessage } from './core/index.js';
import type { Conversation, Page, PageOptions } from './store/index.js';

/** Conversations, most recent activity first. */
export async function conversations(ctx: ClientContext, options?: PageOptions): Promise<Page<Conversation>> {
  return ctx.ready().stores.conversations.list(options);
}

/** Messages of a conversation, newest first, with paging. */
export async function history(
  ctx: ClientContext,
  conversationId: ConversationId,
  options?: PageOptions,
): Promise<Page<ClientMessage>> {
  const u = ctx.ready();
  const page = await u.stores.messages.history(conversationId, options);
  return {
    items: page.items.map((m) => toClientMessage(m, u.registration.userId)),
    ...(page.next === undefined ? {} : { next: page.next }),
  };
}

/** Sets the disappearing-message timer of a conversation (ms, or `null` for none). */
export async function setDisappearingTimer(
  ctx: ClientContext,
  conversationId: ConversationId,
  timerMs: number | null,
): Promise<void> {
  const ok = await ctx.ready().stores.conversations.setDisappearingTimer(conversationId, timerMs);
  if (!ok) throw new UsageError('unknown conversation');
}

/** Deletes expired messages, files and markers now; emits `expired` when rows went. */
export async function purgeExpired(ctx: ClientContext): Promise<number> {
  const u = ctx.ready();
  const rows = (await u.adapter.purgeExpired({ batchSize: 500 })).deleted;
  if (rows > 0) ctx.emit({ type: 'expired', rows });
  return rows;
}
