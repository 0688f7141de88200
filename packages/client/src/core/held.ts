/**
 * Group content that arrived before its group change: deliveries are not ordered, so the change
 * that creates the group or adds the sender may still be on its way. Such content is held for a
 * while and applied when the change arrives (or dropped when its sender is still no member).
 * Releasing applies the held content with `applyContent`, which is what holds it and, for a group
 * change, releases it: this module and `apply.ts` call each other.
 *
 * @module
 */
import { deviceId as toDeviceId, toHex, utf8 } from '@cloister/crypto';
import { decodeContent, encodeContent, userId as toUserId } from '@cloister/protocol';
import { decodeRecord, encodeRecord } from '@cloister/storage';
import { CLIENT_LOCAL_TABLES, field, isBytes, isNumber, isString } from '../local.js';
import { applyContent, type Incoming } from './apply.js';
import { loadGroup } from './groups.js';
import type { ClientEvent, CoreSelf, CoreTx } from './types.js';

/** How long group content that arrived before its group change is held: 7 days. */
export const HELD_GROUP_CONTENT_MS = 7 * 86_400_000;
const HELD_PATH = 'c_held';

/** Holds group content whose group or sender is not known yet, until it expires. */
export async function holdGroupContent(t: CoreTx, m: Incoming): Promise<void> {
  const groupHex = toHex(m.content.groupId!);
  const key = `${m.sender.userId}/${m.sender.deviceId}/${toHex(m.content.messageId)}`;
  await t.tx.put(CLIENT_LOCAL_TABLES.held, {
    partition: utf8(groupHex),
    sort: utf8(key),
    value: encodeRecord(1, {
      content: encodeContent(m.content),
      userId: m.sender.userId,
      deviceId: m.sender.deviceId,
      receivedAt: m.now,
    }),
    expiresAt: m.now + HELD_GROUP_CONTENT_MS,
  });
}

/** Applies (or drops, when the sender is still no member) the content held for a group. */
export async function releaseHeld(
  self: CoreSelf,
  t: CoreTx,
  groupHex: string,
  m: Incoming,
  events: ClientEvent[],
): Promise<void> {
  const partition = utf8(groupHex);
  const rows = await t.tx.list(CLIENT_LOCAL_TABLES.held, partition, { limit: 1000 });
  const group = await loadGroup(t.tx, groupHex);
  for (const row of rows) {
    const d = decodeRecord(row.value, HELD_PATH).d as Record<string, unknown>;
    const userIdText = field(d, 'userId', HELD_PATH, isString);
    if (group === undefined || !group.state.members.some((x) => x.userId === userIdText)) continue;
    await t.tx.delete(CLIENT_LOCAL_TABLES.held, partition, row.sort);
    const content = decodeContent(field(d, 'content', HELD_PATH, isBytes));
    await applyContent(
      self,
      t,
      {
        content,
        sender: {
          userId: toUserId(userIdText),
          deviceId: toDeviceId(field(d, 'deviceId', HELD_PATH, isNumber)),
        },
        senderIdentity: m.senderIdentity,
        now: field(d, 'receivedAt', HELD_PATH, isNumber),
        lifetimeMs: m.lifetimeMs,
      },
      events,
    );
  }
}
