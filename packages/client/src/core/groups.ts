/**
 * Groups as this client stores them (state, name, whether this user is still a member), and the
 * signed group changes this device makes.
 *
 * @module
 */
import {
  applyGroupChange,
  decodeGroupChange,
  encodeGroupChange,
  type GroupChange,
  type GroupState,
  signGroupChange,
  toHex,
} from '@cloister/crypto';
import type { Content, ConversationId } from '@cloister/protocol';
import type { StorageTx } from '@cloister/storage';
import { CLIENT_LOCAL_TABLES, field, getRecord, isBytes, isString, putRecord } from '../local.js';
import { groupConversationId, toGroupIdBrand } from './ids.js';
import type { CoreSelf, CoreTx } from './types.js';

/**
 * A stored group: its state and its name.
 *
 * @example
 * ```ts
 * const g: StoredGroup | undefined = await client.group(group);
 * if (g?.active) console.log(g.name);
 * ```
 */
export interface StoredGroup {
  /** The group's state: members, admins and version. */
  readonly state: GroupState;
  /** The group's name. */
  readonly name: string;
  /** False once this user was removed. */
  readonly active: boolean;
}

const GROUP_PATH = 'c_groups';

/** @internal Reads a group. */
export async function loadGroup(tx: StorageTx, groupHex: string): Promise<StoredGroup | undefined> {
  const d = await getRecord(tx, CLIENT_LOCAL_TABLES.groups, groupHex, GROUP_PATH);
  if (d === undefined) return undefined;
  const change = decodeGroupChange(field(d, 'state', GROUP_PATH, isBytes));
  const admins = JSON.parse(field(d, 'admins', GROUP_PATH, isString)) as string[];
  return {
    state: { groupId: change.groupId, version: change.version, members: change.members, admins },
    name: field(d, 'name', GROUP_PATH, isString),
    active: d.active === true,
  };
}

/** @internal Writes a group (its state encoded as a canonical group change). */
export async function saveGroup(tx: StorageTx, group: StoredGroup): Promise<void> {
  const stateBytes = encodeGroupChange({
    groupId: group.state.groupId,
    version: group.state.version,
    action: 'create',
    members: group.state.members,
  });
  await putRecord(tx, CLIENT_LOCAL_TABLES.groups, toHex(group.state.groupId), {
    state: stateBytes,
    admins: JSON.stringify(group.state.admins),
    name: group.name,
    active: group.active,
  });
}

/**
 * Signs a group change made by this device and applies it to the stored state; returns the new
 * state and the content to send (to the group's members after the change and, for a removal, to
 * the removed members too).
 */
export async function makeGroupChange(
  self: CoreSelf,
  t: CoreTx,
  change: GroupChange,
  name: string,
  now: number,
): Promise<{ state: GroupState; content: Content; conversationId: ConversationId }> {
  const groupHex = toHex(change.groupId);
  const stored = await loadGroup(t.tx, groupHex);
  const state = applyGroupChange(stored?.state, change, self.userId);
  const signature = await signGroupChange(self.provider, self.identity, change);
  const conversationId = groupConversationId(change.groupId);
  await saveGroup(t.tx, { state, name: stored?.name ?? name, active: true });
  if (change.action === 'create') {
    await t.stores.conversations.create({
      id: conversationId,
      kind: 'group',
      groupId: toGroupIdBrand(groupHex),
    });
  }
  const content: Content = {
    messageId: await self.provider.randomBytes(16),
    sentAtMs: now,
    groupId: change.groupId,
    body: { type: 'group-change', change: encodeGroupChange(change), signature },
  };
  return { state, content, conversationId };
}
