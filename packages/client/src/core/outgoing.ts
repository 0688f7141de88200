/**
 * What sending means, decided without I/O: who a recipient is, and what one message or group
 * change puts into storage and the outbox inside the caller's transaction (the stored copy, its
 * expiry, what the archive scope asks to seal, the outbox jobs). The shell commits the
 * transaction and then lets the outbox deliver.
 *
 * @module
 */
import {
  fromHex,
  type GroupChange,
  type GroupState,
  toHex,
  UsageError,
  ValidationError,
} from '@cloister/crypto';
import { type Content, type ConversationId, encodeContent, userId as toUserId } from '@cloister/protocol';
import { archiveTarget } from './archive.js';
import { loadGroup, makeGroupChange } from './groups.js';
import { archiveConversationId, directConversationId, groupConversationId, localMessageId } from './ids.js';
import { type ArchiveRequest, enqueueJob, type OutboxJob } from './jobs.js';
import { messageExpiry } from './policy.js';
import type { ClientMessage, ClientPolicy, CoreSelf, CoreTx } from './types.js';

/**
 * Who a message goes to: a user, or a group by its id (64 hex digits, `g:` prefix allowed).
 *
 * @example
 * ```ts
 * const to: Recipient = { user: 'bob' };
 * await client.sendText(to, 'hello');
 * await client.sendText({ group }, 'hello all');
 * ```
 */
export type Recipient = { readonly user: string } | { readonly group: string };

/** A recipient resolved: the local conversation and the outbox destination. */
export interface ResolvedRecipient {
  readonly conversationId: ConversationId;
  readonly job: OutboxJob['to'];
}

/**
 * Checks a recipient and names its conversation and outbox destination.
 *
 * @example
 * ```ts
 * resolveRecipient({ user: 'bob' }); // { conversationId: 'd:bob', job: { user: 'bob' } }
 * ```
 */
export function resolveRecipient(to: Recipient): ResolvedRecipient {
  if (typeof to !== 'object' || to === null) throw new ValidationError('to', '{ user } or { group }');
  if ('user' in to) {
    const user = toUserId(to.user);
    return { conversationId: directConversationId(user), job: { user } };
  }
  if ('group' in to && typeof to.group === 'string') {
    const hex = groupHex(to.group, 'to.group');
    return { conversationId: groupConversationId(fromHex(hex)), job: { group: hex } };
  }
  throw new ValidationError('to', '{ user } or { group }');
}

/** The hex id of a group given as `<64 hex>` or `g:<64 hex>`; `ValidationError` naming `field` otherwise. */
export function groupHex(group: string, field = 'group'): string {
  const hex = typeof group === 'string' && group.startsWith('g:') ? group.slice(2) : group;
  if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) {
    throw new ValidationError(field, 'a group id (64 hex digits)');
  }
  return hex;
}

/** What {@link composeMessage} needs besides the device and the transaction. */
export interface ComposeInput {
  readonly to: ResolvedRecipient;
  readonly body: Content['body'];
  /** The 16 random bytes that identify the content. */
  readonly contentId: Uint8Array;
  /** The disappearing timer for this message; default the conversation's. */
  readonly expireTimerSeconds?: number | undefined;
  readonly policy: ClientPolicy | undefined;
  readonly now: number;
  /**
   * This user's pools as its sender certificate lists them (the archive scope's check);
   * undefined: not known (offline), which counts as in scope when the scope lists pools.
   */
  readonly selfPools?: readonly string[] | undefined;
}

/**
 * Stores a message this device sends and queues it in the outbox, in the caller's transaction:
 * the conversation is created for a 1:1 message, a group must have this user as an active member,
 * the conversation's timer applies unless one is given, the policy's lifetime bounds the expiry,
 * and when the policy archives and its scope covers this user or a recipient now (`archiveTarget`)
 * the content is marked `archived` and the job records what to seal (the key, the conversation
 * binding, the time); `sealDeliveries` seals it at send time with `sealArchived`, bound to the
 * delivery that carries it and signed with this device's identity key (`spec/compliance-seal.md`).
 */
export async function composeMessage(self: CoreSelf, t: CoreTx, input: ComposeInput): Promise<ClientMessage> {
  const { to, now, contentId } = input;
  const { job, conversationId } = to;
  let timerSeconds = input.expireTimerSeconds;
  if ('user' in job) {
    if (job.user === self.userId) throw new UsageError('send to yourself with { user } is not supported');
    await t.stores.conversations.create({ id: conversationId, kind: 'direct', peer: toUserId(job.user) });
  } else {
    const group = await loadGroup(t.tx, job.group);
    if (group === undefined || !group.active) throw new UsageError('not a member of this group');
  }
  const conversation = await t.stores.conversations.get(conversationId);
  if (timerSeconds === undefined && conversation?.disappearingTimerMs) {
    timerSeconds = Math.max(1, Math.ceil(conversation.disappearingTimerMs / 1000));
  }
  // Sealed when the signed tenant layer archives and its scope covers this user or a recipient.
  const target = await archiveTarget(self, t.tx, {
    policy: input.policy,
    to: job,
    now,
    selfPools: input.selfPools,
  });
  const content: Content = {
    messageId: contentId,
    sentAtMs: now,
    ...('group' in job ? { groupId: fromHex(job.group) } : {}),
    ...(timerSeconds === undefined ? {} : { expireTimerSeconds: timerSeconds }),
    ...(target === undefined ? {} : { archived: true }),
    body: input.body,
  };
  const encoded = encodeContent(content);
  // What to seal; the seal itself is made at send time (`sealDeliveries`: `sealArchived`).
  const archive: ArchiveRequest | undefined =
    target === undefined
      ? undefined
      : {
          publicKey: target.publicKey,
          conversationId: await archiveConversationId(
            self.provider,
            'group' in job ? { group: fromHex(job.group) } : { users: [self.userId, job.user] },
          ),
          sentAt: now,
        };
  const id = localMessageId(contentId, self.userId);
  const expiresAt = messageExpiry(now, timerSeconds, input.policy?.messageLifetimeMs ?? null);
  const from = { userId: self.userId, deviceId: self.deviceId };
  await t.stores.messages.addIfAbsent({
    id,
    conversationId,
    sender: from,
    sentAt: now,
    body: encoded,
    status: 'sent',
    expiresAt,
  });
  await enqueueJob(
    t,
    { content: encoded, to: job, self: true, ...(archive === undefined ? {} : { archive }) },
    now,
  );
  return {
    id,
    conversationId,
    from,
    outgoing: true,
    sentAt: now,
    receivedAt: null,
    status: 'sent',
    expiresAt,
    content,
  };
}

/**
 * Signs and applies a group change made by this device and queues it, in the caller's
 * transaction: to the members after the change (and this user's other devices), to `alsoTo` (the
 * removed members), and for a creation or an addition the group's name, which the signed change
 * does not carry and receivers take from an admin.
 */
export async function composeGroupChange(
  self: CoreSelf,
  t: CoreTx,
  input: {
    readonly change: GroupChange;
    readonly name: string;
    readonly alsoTo: readonly string[];
    readonly now: number;
  },
): Promise<{ conversationId: ConversationId; groupId: string; state: GroupState }> {
  const { change, name, now } = input;
  const made = await makeGroupChange(self, t, change, name, now);
  const hex = toHex(change.groupId);
  const bytes = encodeContent(made.content);
  await enqueueJob(t, { content: bytes, to: { group: hex }, self: true }, now);
  for (const user of input.alsoTo) await enqueueJob(t, { content: bytes, to: { user }, self: false }, now);
  if (change.action === 'create' || change.action === 'add') {
    const naming: Content = {
      messageId: await self.provider.randomBytes(16),
      sentAtMs: now,
      groupId: change.groupId,
      body: {
        type: 'group',
        version: made.state.version,
        action: { kind: 'create', name, members: made.state.members.map((m) => ({ userId: m.userId })) },
      },
    };
    await enqueueJob(t, { content: encodeContent(naming), to: { group: hex }, self: true }, now);
  }
  return { conversationId: made.conversationId, groupId: hex, state: made.state };
}
