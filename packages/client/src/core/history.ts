/**
 * A stored message as the app sees it. No I/O.
 *
 * @module
 */
import { decodeContent, type UserId } from '@cloister/protocol';
import type { StoredMessage } from '../store/index.js';
import type { ClientMessage } from './types.js';

/**
 * The {@link ClientMessage} of a stored message; `outgoing` when `me` sent it (from any of this
 * user's devices).
 */
export function toClientMessage(m: StoredMessage, me: UserId): ClientMessage {
  return {
    id: m.id,
    conversationId: m.conversationId,
    from: m.sender,
    outgoing: m.sender.userId === me,
    sentAt: m.sentAt,
    receivedAt: m.receivedAt,
    status: m.status,
    expiresAt: m.expiresAt,
    content: decodeContent(m.body),
  };
}
