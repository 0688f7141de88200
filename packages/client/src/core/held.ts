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
/** Most contents held per group and sender device; more are dropped. */
export const MAX_HELD_PER_SENDER = 32;
/**
 * How much earlier than the change that admitted its sender held content may say it was sent
 * and still be released: the two timestamps come from two devices' clocks. 60 s.
 */
export const HELD_CLOCK_SKEW_MS = 60_000;
const HELD_PATH = 'c_held';

/**
 * Holds group content whose group or sender is not known yet, until it expires; resolves false
 * (and holds nothing) when this sender device already has {@link MAX_HELD_PER_SENDER} held.
 */
export async function holdGroupContent(t: CoreTx, m: Incoming): Promise<boolean> {
  const groupHex = toHex(m.content.groupId!);
  // Counted from the records: `c_held` is hashed at rest, so its keys cannot be filtered by prefix.
  const rows = await t.tx.list(CLIENT_LOCAL_TABLES.held, utf8(groupHex), { limit: 1000 });
  let held = 0;
  for (const row of rows) {
    const d = decodeRecord(row.value, HELD_PATH).d as Record<string, unknown>;
    if (d.userId === m.sender.userId && d.deviceId === m.sender.deviceId) held++;
  }
  if (held >= MAX_HELD_PER_SENDER) return false;
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
  return true;
}

/**
 * Takes (deletes and returns) the content held for a group whose sender is now a member, each as
 * an {@link Incoming} with the time it was received; `m` is the change that let them in. Content
 * that says it was sent before that change (by more than {@link HELD_CLOCK_SKEW_MS}) was written
 * while its sender was no member: it is deleted, never shown as group content.
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
    const content = decodeContent(field(d, 'content', HELD_PATH, isBytes));
    if (content.sentAtMs < m.content.sentAtMs - HELD_CLOCK_SKEW_MS) continue;
    out.push({
      content,
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
