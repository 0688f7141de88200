/**
 * The archive scope on the device (`spec/organisation-client.md` §5), decided without I/O: whether
 * a message to a conversation is sealed to the organisation's archive key, and why (`self`: this
 * user is in scope, `peer`: a recipient is, `all`: the scope names nobody, so everyone is); what
 * the indicator of one conversation shows; the pools of peers as their sender certificates named
 * them (kept so that a message to a peer in a scoped pool is sealed); and the archive gaps a
 * recipient in scope notices (a message that should have been archived and is not marked so).
 * The scope itself comes only from the tenant layer the organisation signed (`core/policy.ts`).
 *
 * @module
 */
import {
  type ArchiveParty,
  type ArchiveReason,
  archiveReason,
  archiveWindowHolds,
  type ConversationId,
  type MessageId,
  partyInArchiveScope,
} from '@cloister/protocol';
import type { StorageTx } from '@cloister/storage';
import { CLIENT_LOCAL_TABLES, getRecord, putRecord } from '../local.js';
import { loadGroup } from './groups.js';
import { archivePublicKey } from './policy.js';
import type { ClientEvent, ClientPolicy, CoreSelf } from './types.js';

const TABLE = CLIENT_LOCAL_TABLES.organisation;
const PATH = 'c_organisation';

/**
 * How long the pools a peer's certificate named are kept after the last message from that peer
 * (90 days): an older statement is stale and the peer counts as of unknown pools again.
 *
 * @example
 * ```ts
 * console.log(PEER_POOLS_TTL_MS / 86_400_000); // 90
 * ```
 */
export const PEER_POOLS_TTL_MS = 90 * 86_400_000;

/**
 * What the archive decides for one message or conversation.
 *
 * @example
 * ```ts
 * const target: ArchiveTarget = { publicKey, reason: 'peer', until: Date.parse('2028-01-01') };
 * ```
 */
export interface ArchiveTarget {
  /** The archive public key (32 bytes, from the signed tenant layer). */
  readonly publicKey: Uint8Array;
  /** Why the message is archived. */
  readonly reason: ArchiveReason;
  /** The end of the scope's window, when it has one (ms). */
  readonly until?: number;
}

/**
 * Whether messages in one conversation are archived now, for the indicator apps show
 * ("Archiving is on for this conversation · key cloister-archive:v1:…").
 *
 * @example
 * ```ts
 * const state: ConversationArchiveState = await client.conversationArchive('d:bob');
 * if (state.on) console.log(`archived (${state.reason}) to ${state.keyFingerprint}`);
 * ```
 */
export type ConversationArchiveState =
  | { readonly on: false }
  | {
      readonly on: true;
      /** `cloister-archive:v1:…` of the archive key. */
      readonly keyFingerprint: string;
      /** `self`: this user is in scope; `peer`: a recipient is; `all`: everyone is. */
      readonly reason: ArchiveReason;
      /** The end of the scope's window (ms), when it has one. */
      readonly until?: number;
      /** The auditors' threshold and number of key holders, as the organisation describes them. */
      readonly auditors?: { readonly threshold: number; readonly total: number };
    };

const peerKey = (user: string) => `archive-peer:${user}`;

/**
 * Remembers the pools a peer's sender certificate named (written only when they changed), kept
 * {@link PEER_POOLS_TTL_MS} from `now`.
 *
 * @example
 * ```ts
 * await rememberPeerPools(tx, 'bob', certificate.pools, Date.now());
 * ```
 */
export async function rememberPeerPools(
  tx: StorageTx,
  user: string,
  pools: readonly string[],
  now: number,
): Promise<void> {
  const sorted = [...pools].sort();
  const before = await getRecord(tx, TABLE, peerKey(user), PATH);
  const same =
    Array.isArray(before?.pools) &&
    before.pools.length === sorted.length &&
    before.pools.every((p, i) => p === sorted[i]) &&
    typeof before?.at === 'number' &&
    now - before.at < PEER_POOLS_TTL_MS / 2;
  if (same) return;
  await putRecord(tx, TABLE, peerKey(user), { pools: sorted, at: now }, now + PEER_POOLS_TTL_MS);
}

/**
 * The pools last remembered for a peer, or undefined when none are (never heard from, or stale).
 *
 * @example
 * ```ts
 * const pools = await peerPools(tx, 'bob'); // ['trading'] or undefined
 * ```
 */
export async function peerPools(tx: StorageTx, user: string): Promise<readonly string[] | undefined> {
  const r = await getRecord(tx, TABLE, peerKey(user), PATH);
  if (!Array.isArray(r?.pools) || !r.pools.every((p) => typeof p === 'string')) return undefined;
  return r.pools as string[];
}

/** The users a message to `to` goes to, other than this user (a group's members as stored). */
async function recipientsOf(
  self: CoreSelf,
  tx: StorageTx,
  to: { readonly user: string } | { readonly group: string },
): Promise<string[]> {
  if ('user' in to) return to.user === self.userId ? [] : [to.user];
  const group = await loadGroup(tx, to.group);
  return (group?.state.members ?? []).map((m) => m.userId).filter((u) => u !== self.userId);
}

/**
 * Whether a message this device sends now to `to` is sealed to the archive, and why: the policy
 * must carry an archive key (a verified tenant layer) and {@link archiveReason} must name a reason
 * for this user (its pools `selfPools`, from its sender certificate; undefined: unknown) and the
 * recipients (their pools as last named by their certificates). Unknown pools count as in scope
 * when the scope lists pools, so archiving errs towards the organisation's rule.
 *
 * @example
 * ```ts
 * const target = await archiveTarget(self, tx, { policy, to: { user: 'bob' }, now: Date.now(), selfPools: ['sales'] });
 * if (target !== undefined) console.log(`sealed (${target.reason})`);
 * ```
 */
export async function archiveTarget(
  self: CoreSelf,
  tx: StorageTx,
  input: {
    readonly policy: ClientPolicy | undefined;
    readonly to: { readonly user: string } | { readonly group: string };
    readonly now: number;
    readonly selfPools: readonly string[] | undefined;
  },
): Promise<ArchiveTarget | undefined> {
  const publicKey = archivePublicKey(input.policy);
  if (publicKey === undefined) return undefined;
  const scope = input.policy?.archiveScope;
  const sender = { userId: self.userId, pools: input.selfPools };
  // The recipients matter only when the window holds, the scope lists someone and the sender is
  // not in it; their pools only when the scope lists pools.
  const recipients: ArchiveParty[] = [];
  if (
    scope !== undefined &&
    archiveWindowHolds(scope, input.now) &&
    (scope.users !== undefined || scope.pools !== undefined) &&
    !partyInArchiveScope(scope, sender)
  ) {
    const withPools = (scope.pools?.length ?? 0) > 0;
    for (const userId of await recipientsOf(self, tx, input.to)) {
      recipients.push({ userId, pools: withPools ? await peerPools(tx, userId) : [] });
    }
  }
  const reason = archiveReason(scope, {
    now: input.now,
    sender,
    recipients,
  });
  if (reason === null) return undefined;
  return { publicKey, reason, ...(scope?.until === undefined ? {} : { until: scope.until }) };
}

/**
 * The destination of a conversation id (`d:<user>` or `g:<64 hex>`), or undefined for another.
 *
 * @example
 * ```ts
 * conversationDestination('d:bob'); // { user: 'bob' }
 * ```
 */
export function conversationDestination(
  conversationId: string,
): { readonly user: string } | { readonly group: string } | undefined {
  if (typeof conversationId !== 'string') return undefined;
  if (conversationId.startsWith('d:') && conversationId.length > 2) return { user: conversationId.slice(2) };
  if (/^g:[0-9a-f]{64}$/.test(conversationId)) return { group: conversationId.slice(2) };
  return undefined;
}

/**
 * The indicator of one conversation: what {@link archiveTarget} decides for a message sent to it
 * now, with the key's fingerprint and the auditors' description.
 *
 * @example
 * ```ts
 * const state = await conversationArchiveState(self, tx, { policy, conversationId: 'd:bob', now, selfPools, keyFingerprint });
 * ```
 */
export async function conversationArchiveState(
  self: CoreSelf,
  tx: StorageTx,
  input: {
    readonly policy: ClientPolicy | undefined;
    readonly conversationId: string;
    readonly now: number;
    readonly selfPools: readonly string[] | undefined;
    readonly keyFingerprint: string | undefined;
  },
): Promise<ConversationArchiveState> {
  const to = conversationDestination(input.conversationId);
  if (to === undefined || input.keyFingerprint === undefined) return { on: false };
  const target = await archiveTarget(self, tx, { ...input, to });
  if (target === undefined) return { on: false };
  const auditors = input.policy?.archiveAuditors;
  return {
    on: true,
    keyFingerprint: input.keyFingerprint,
    reason: target.reason,
    ...(target.until === undefined ? {} : { until: target.until }),
    ...(auditors === undefined
      ? {}
      : { auditors: { threshold: auditors.threshold, total: auditors.holders.length } }),
  };
}

/**
 * After a received message is stored: a recipient that is in scope itself (its user id or, known
 * from its own sender certificate, its pools) or whose sender is in scope (the pools its
 * certificate names), at the message's sending time, expects the message marked `archived`. One
 * that is not is an **archive gap**: the sender did not seal it (an operator that suppressed the
 * peer's knowledge of this user's pools, an out-of-date sender, or a client that ignores the
 * policy). The gap is counted on this device and reported as an `archive-gap` event.
 *
 * @example
 * ```ts
 * const event = await noteArchiveGap(self, tx, { policy, selfPools, sender: certificate, message });
 * if (event !== undefined) events.push(event);
 * ```
 */
export async function noteArchiveGap(
  self: CoreSelf,
  tx: StorageTx,
  input: {
    readonly policy: ClientPolicy | undefined;
    readonly selfPools: readonly string[] | undefined;
    readonly sender: { readonly userId: string; readonly pools: readonly string[] };
    readonly message: {
      readonly id: MessageId;
      readonly conversationId: ConversationId;
      readonly sentAt: number;
      readonly archived: boolean;
    };
  },
): Promise<ClientEvent | undefined> {
  if (input.message.archived || archivePublicKey(input.policy) === undefined) return undefined;
  // Unknown own pools are not in scope here: a gap is an alarm, raised only on what is known.
  const reason = archiveReason(input.policy?.archiveScope, {
    now: input.message.sentAt,
    sender: { userId: input.sender.userId, pools: input.sender.pools },
    recipients: [{ userId: self.userId, pools: input.selfPools ?? [] }],
  });
  if (reason === null) return undefined;
  const before = await getRecord(tx, TABLE, 'archive-gaps', PATH, { forUpdate: true });
  const count = (typeof before?.count === 'number' ? before.count : 0) + 1;
  await putRecord(tx, TABLE, 'archive-gaps', { count });
  return {
    type: 'archive-gap',
    conversationId: input.message.conversationId,
    messageId: input.message.id,
    from: input.sender.userId,
    count,
  };
}

/**
 * How many archive gaps this device has noticed (see {@link noteArchiveGap}).
 *
 * @example
 * ```ts
 * const gaps = await archiveGapCount(tx);
 * ```
 */
export async function archiveGapCount(tx: StorageTx): Promise<number> {
  const r = await getRecord(tx, TABLE, 'archive-gaps', PATH);
  return typeof r?.count === 'number' ? r.count : 0;
}

/**
 * What the receive path gives the archive checks: the policy in force and this user's pools
 * (its sender certificate's; undefined: not known).
 *
 * @example
 * ```ts
 * const input: ReceiveArchiveInput = { policy: client.policy, selfPools: ['trading'] };
 * ```
 */
export interface ReceiveArchiveInput {
  /** The policy in force (its archive key and scope). */
  readonly policy: ClientPolicy | undefined;
  /** This user's pools as its sender certificate lists them; undefined: not known. */
  readonly selfPools?: readonly string[] | undefined;
}

/**
 * After a delivery from another user was applied: remembers the pools its sender certificate
 * named (when the scope lists pools, so that a message back is sealed when the peer is in a
 * scoped pool), and notes an archive gap for each new message of `events` the scope covers that
 * is not marked `archived` ({@link noteArchiveGap}). Returns the gap events.
 *
 * @example
 * ```ts
 * events.push(...(await archiveAfterReceive(self, tx, input.archive, certificate, events, now)));
 * ```
 */
export async function archiveAfterReceive(
  self: CoreSelf,
  tx: StorageTx,
  input: ReceiveArchiveInput,
  sender: { readonly userId: string; readonly pools: readonly string[] },
  events: readonly ClientEvent[],
  now: number,
): Promise<ClientEvent[]> {
  if (archivePublicKey(input.policy) === undefined || sender.userId === self.userId) return [];
  if ((input.policy?.archiveScope?.pools?.length ?? 0) > 0) {
    await rememberPeerPools(tx, sender.userId, sender.pools, now);
  }
  const out: ClientEvent[] = [];
  for (const e of events) {
    if (e.type !== 'message' || e.message.outgoing) continue;
    const gap = await noteArchiveGap(self, tx, {
      policy: input.policy,
      selfPools: input.selfPools,
      sender,
      message: {
        id: e.message.id,
        conversationId: e.message.conversationId,
        sentAt: e.message.sentAt,
        archived: e.message.content.archived === true,
      },
    });
    if (gap !== undefined) out.push(gap);
  }
  return out;
}
