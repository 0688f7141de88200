/**
 * Group content that arrived before its group change: deliveries are not ordered, so the change
 * that creates the group or adds the sender may still be on its way. Such content is held for a
 * while and taken back when the change arrives (`apply.ts` then applies it); content whose sender
 * is still no member stays until it expires.
 *
 * @module
 */

import type { DeviceId, PublicIdentity } from '@cloister/crypto';
import { deviceId as toDeviceId, toHex, utf8 } from '@cloister/crypto';
import {
  type Content,
  decodeContent,
  encodeContent,
  userId as toUserId,
  type UserId,
} from '@cloister/protocol';
import { decodeRecord, encodeRecord } from '@cloister/storage';
import { CLIENT_LOCAL_TABLES, field, isBytes, isNumber, isString } from '../local.js';
import { loadGroup } from './groups.js';
import type { CoreTx } from './types.js';

/** A content to apply, with its sender and when it was received. */
export interface Incoming {
  readonly content: Content;
  readonly sender: { readonly userId: UserId; readonly deviceId: DeviceId };
  readonly senderIdentity: PublicIdentity;
  readonly now: number;
  readonly lifetimeMs: number | null;
}

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

/**
 * Takes (deletes and returns) the content held for a group whose sender is now a member, each as
 * an {@link Incoming} with the time it was received; `m` is the change that let them in.
 */
export async function takeHeld(t: CoreTx, groupHex: string, m: Incoming): Promise<Incoming[]> {
  const partition = utf8(groupHex);
  const rows = await t.tx.list(CLIENT_LOCAL_TABLES.held, partition, { limit: 1000 });
  const group = await loadGroup(t.tx, groupHex);
  const out: Incoming[] = [];
  for (const row of rows) {
    const d = decodeRecord(row.value, HELD_PATH).d as Record<string, unknown>;
    const userIdText = field(d, 'userId', HELD_PATH, isString);
    if (group === undefined || !group.state.members.some((x) => x.userId === userIdText)) continue;
    await t.tx.delete(CLIENT_LOCAL_TABLES.held, partition, row.sort);
    out.push({
      content: decodeContent(field(d, 'content', HELD_PATH, isBytes)),
      sender: {
        userId: toUserId(userIdText),
        deviceId: toDeviceId(field(d, 'deviceId', HELD_PATH, isNumber)),
      },
      senderIdentity: m.senderIdentity,
      now: field(d, 'receivedAt', HELD_PATH, isNumber),
      lifetimeMs: m.lifetimeMs,
    });
  }
  return out;
}
