/**
 * The sans-IO core of the client. It never touches the network, a timer or a clock: every
 * function takes what arrived (a delivery, a user action, the time) and a set of stores bound to
 * one storage transaction, and returns what should happen next (events to emit after the commit,
 * deliveries to submit, device bundles to fetch). Its store writes go into that transaction, which
 * the shell commits (or drops, when anything throws): ratchet state, the decrypted message, the
 * "processed" marker and any receipt queued in the outbox become durable together or not at all.
 * See `spec/client.md` §3.
 *
 * @module
 */
import {
  applyGroupChange,
  CloisterError,
  type CryptoProvider,
  concatBytes,
  DecryptionFailed,
  type DeviceId,
  decodeGroupChange,
  encodeGroupChange,
  equalBytes,
  type GroupChange,
  type GroupState,
  openEnvelope,
  type PreKeyBundle,
  type PublicIdentity,
  type SenderCertificate,
  SessionCipher,
  sealEnvelope,
  signGroupChange,
  staticV1Decrypt,
  staticV1Encrypt,
  deviceId as toDeviceId,
  toHex,
  uintBE,
  utf8,
  verifyGroupChange,
} from '@cloister/crypto';
import {
  type Content,
  type ConversationId,
  decodeContent,
  decodeDeviceMessage,
  encodeContent,
  encodeDeviceMessage,
  type GroupId,
  type MessageId,
  type Suite,
  conversationId as toConversationId,
  groupId as toGroupId,
  messageId as toMessageId,
  userId as toUserId,
  type UserId,
} from '@cloister/protocol';
import { decodeRecord, encodeRecord, type StorageTx } from '@cloister/storage';
import { CLIENT_LOCAL_TABLES, field, getRecord, isBytes, isNumber, isString, putRecord } from './local.js';
import type { Outbox } from './outbox.js';
import type { ClientStoreSet, StoredMessage } from './store/index.js';

/** Content type of a sealed envelope whose body is a `DeviceMessage`. */
export const CONTENT_TYPE_DEVICE_MESSAGE = 1;

/** What the core knows about this device; fixed between unlock and lock. */
export interface CoreSelf {
  readonly provider: CryptoProvider;
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly identity: import('@cloister/crypto').DeviceIdentity;
  readonly tenant: string;
  readonly tenantPublicKey: Uint8Array;
  /** The mailbox id of this device, as the server named it. */
  readonly mailbox: string;
  /** Suites this device accepts, in preference order. */
  readonly suites: readonly Suite[];
}

/** Stores bound to one transaction, and the outbox in the same transaction. */
export interface CoreTx {
  readonly stores: ClientStoreSet;
  readonly tx: StorageTx;
  readonly outbox: Outbox;
}

/** A device of a user as the server's directory lists it (signed bundle without one-time prekeys). */
export interface DirectoryDevice {
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly mailbox: string;
  readonly deliveryToken: Uint8Array;
  /** The published signed bundle (identity, signed prekey, last-resort KEM prekey, suites). */
  readonly bundle: PreKeyBundle;
  /** The suite negotiated from the bundle's signed suite list. */
  readonly suite: Suite;
}

/** A message as the app sees it. */
export interface ClientMessage {
  /** Local id: `<hex of the 16-byte content id>@<sender user id>`. */
  readonly id: MessageId;
  readonly conversationId: ConversationId;
  readonly from: { readonly userId: UserId; readonly deviceId: DeviceId };
  /** True when this device's user sent it (from this or another of the user's devices). */
  readonly outgoing: boolean;
  readonly sentAt: number;
  readonly receivedAt: number | null;
  readonly status: StoredMessage['status'];
  readonly expiresAt: number | null;
  readonly content: Content;
}

/** Events the client emits (after the transaction that caused them has committed). */
export type ClientEvent =
  | { readonly type: 'message'; readonly message: ClientMessage }
  | {
      readonly type: 'receipt';
      readonly kind: 'delivered' | 'read';
      readonly from: UserId;
      readonly messageIds: readonly MessageId[];
    }
  | {
      readonly type: 'group';
      readonly conversationId: ConversationId;
      readonly groupId: string;
      readonly action: GroupChange['action'];
      readonly by: UserId;
      readonly state: GroupState;
    }
  | { readonly type: 'identity-changed'; readonly userId: UserId; readonly deviceId: DeviceId }
  | {
      readonly type: 'session-reset';
      readonly userId: UserId;
      readonly deviceId: DeviceId;
      /** `this-device`: a message from that device could not be decrypted; `peer`: it restarted the session. */
      readonly initiatedBy: 'this-device' | 'peer';
    }
  | {
      readonly type: 'undecryptable';
      readonly reason: 'decryption' | 'certificate' | 'format' | 'sender';
      readonly from?: { readonly userId: string; readonly deviceId: number };
    }
  | {
      readonly type: 'sent';
      /** The local id of the message (as `sendText` returned it; for receipts, of the receipt). */
      readonly messageId: MessageId;
      /** The outbox entry that carried it. */
      readonly outboxId: MessageId;
      /** Devices that accepted a copy. */
      readonly devices: number;
    }
  | {
      readonly type: 'send-failed';
      readonly messageId: MessageId;
      readonly outboxId: MessageId;
      readonly reason: string;
    }
  | { readonly type: 'connection'; readonly state: 'online' | 'offline' | 'synced' }
  | { readonly type: 'policy'; readonly policy: ClientPolicy }
  | { readonly type: 'expired'; readonly rows: number }
  | { readonly type: 'wiped'; readonly commandId: string; readonly reported: boolean };

/** The effective policy the server sent for this device's user. */
export interface ClientPolicy {
  readonly revision: string;
  /** Features by name; an absent feature is enabled. */
  readonly features: Readonly<Record<string, { readonly enabled: boolean; readonly config?: unknown }>>;
  /** The longest a message may be kept on this device, or `null` for no limit. */
  readonly messageLifetimeMs: number | null;
}

/** Whether a policy enables `feature` (absent means enabled). */
export function featureEnabled(policy: ClientPolicy | undefined, feature: string): boolean {
  return policy?.features[feature]?.enabled !== false;
}

// ---- ids --------------------------------------------------------------------------------------

/** The local id of a message: `<hex content id>@<sender user>`. */
export function localMessageId(contentId: Uint8Array, sender: string): MessageId {
  return toMessageId(`${toHex(contentId)}@${sender}`);
}

/** The conversation id of a direct conversation with `peer`. */
export function directConversationId(peer: string): ConversationId {
  return toConversationId(`d:${peer}`);
}

/** The conversation id of a group. */
export function groupConversationId(groupId: Uint8Array): ConversationId {
  return toConversationId(`g:${toHex(groupId)}`);
}

// ---- outbox jobs -------------------------------------------------------------------------------

/** What one outbox entry asks for: one content to the devices of a user or a group. */
export interface OutboxJob {
  readonly content: Uint8Array;
  /** A user id, or a group (hex of its id). */
  readonly to: { readonly user: string } | { readonly group: string };
  /** Also send a copy to this user's other devices (with `syncedTo` for a 1:1 message). */
  readonly self: boolean;
  /** Only these users (a group change to removed members, say); default all. */
  readonly only?: readonly string[];
  /** Only this device of `to.user` (a session reset, say); default every device. */
  readonly device?: number;
  /** The compliance archive seal of the content, sent once with the first delivery. */
  readonly archiveSeal?: Uint8Array;
}

/** @internal Encodes a job as an outbox payload. */
export function encodeJob(job: OutboxJob): Uint8Array {
  const to = 'user' in job.to ? `u:${job.to.user}` : `g:${job.to.group}`;
  const text = JSON.stringify({
    v: 1,
    to,
    self: job.self,
    only: job.only ?? null,
    device: job.device ?? null,
    archive: job.archiveSeal?.length ?? 0,
  });
  const head = utf8(text);
  const seal = job.archiveSeal ?? new Uint8Array(0);
  const out = new Uint8Array(4 + head.length + job.content.length + seal.length);
  new DataView(out.buffer).setUint32(0, head.length);
  out.set(head, 4);
  out.set(job.content, 4 + head.length);
  out.set(seal, 4 + head.length + job.content.length);
  return out;
}

/** @internal Decodes an outbox payload. */
export function decodeJob(bytes: Uint8Array): OutboxJob {
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(0);
  const head = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + n))) as {
    to: string;
    self: boolean;
    only: string[] | null;
    device?: number | null;
    archive?: number;
  };
  const archive = head.archive ?? 0;
  const content = bytes.slice(4 + n, bytes.length - archive);
  const archiveSeal = archive > 0 ? bytes.slice(bytes.length - archive) : undefined;
  const to = head.to.startsWith('u:') ? { user: head.to.slice(2) } : { group: head.to.slice(2) };
  return {
    content,
    to,
    self: head.self,
    ...(head.only === null ? {} : { only: head.only }),
    ...(head.device === null || head.device === undefined ? {} : { device: head.device }),
    ...(archiveSeal === undefined ? {} : { archiveSeal }),
  };
}

// ---- groups ------------------------------------------------------------------------------------

/** A stored group: its state and its name. */
export interface StoredGroup {
  readonly state: GroupState;
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

function toGroupIdBrand(hex: string): GroupId {
  return toGroupId(`g_${hex}`);
}

// ---- receiving ---------------------------------------------------------------------------------

/** What {@link receiveDelivery} decided. */
export interface ReceiveOutcome {
  /** Events to emit once the transaction has committed. */
  readonly events: ClientEvent[];
}

/** Options of {@link receiveDelivery}. */
export interface ReceiveInput {
  /** The mailbox id of the delivery (`m_…`), the key of the dedupe marker. */
  readonly serverId: string;
  readonly envelope: Uint8Array;
  readonly now: number;
  /** The policy's message lifetime, or `null`. */
  readonly lifetimeMs: number | null;
  /** How long a dedupe marker is kept (at least the server's mailbox retention). */
  readonly processedTtlMs: number;
}

const PROCESSED_PATH = 'c_processed';

/** Whether a delivery id was processed already. */
export async function wasProcessed(tx: StorageTx, serverId: string): Promise<boolean> {
  return (await getRecord(tx, CLIENT_LOCAL_TABLES.processed, serverId, PROCESSED_PATH)) !== undefined;
}

/**
 * Processes one delivery inside the caller's transaction: opens the envelope (sender
 * certificate checked against the tenant key), decrypts with the sender's session or static key,
 * applies the content and marks the delivery processed. A delivery that cannot be opened or
 * decrypted is marked processed too (so it is acknowledged, not retried forever) and reported
 * as one `undecryptable` event without details. Storage errors propagate (nothing commits).
 */
export async function receiveDelivery(
  self: CoreSelf,
  t: CoreTx,
  input: ReceiveInput,
): Promise<ReceiveOutcome> {
  const events: ClientEvent[] = [];
  const mark = (result: string) =>
    putRecord(
      t.tx,
      CLIENT_LOCAL_TABLES.processed,
      input.serverId,
      { result, at: input.now },
      input.now + input.processedTtlMs,
    );
  if (await wasProcessed(t.tx, input.serverId)) return { events };

  let certificate: SenderCertificate;
  let body: Uint8Array;
  try {
    const opened = await openEnvelope(self.provider, {
      recipientPrivateKey: self.identity.dhKeyPair.privateKey,
      bytes: input.envelope,
      tenantPublicKey: self.tenantPublicKey,
      now: input.now,
    });
    if (new TextDecoder().decode(opened.mailbox) !== self.mailbox) throw new DecryptionFailed();
    if (opened.certificate.tenantId !== self.tenant) throw new DecryptionFailed();
    certificate = opened.certificate;
    body = opened.body;
  } catch (e) {
    if (!(e instanceof CloisterError) || e.code === 'ERR_STORAGE') throw e;
    await mark('certificate');
    events.push({ type: 'undecryptable', reason: 'certificate' });
    return { events };
  }
  const from = { userId: certificate.userId, deviceId: certificate.deviceId };
  const sender = { userId: toUserId(certificate.userId), deviceId: toDeviceId(certificate.deviceId) };
  const senderIdentity: PublicIdentity = {
    signingKey: certificate.identitySigningKey,
    dhKey: certificate.identityDhKey,
    dhKeySignature: new Uint8Array(64),
  };
  if (sender.userId === self.userId && sender.deviceId === self.deviceId) {
    await mark('self');
    return { events };
  }

  let plaintext: Uint8Array;
  let v2 = false;
  try {
    const message = decodeDeviceMessage(body);
    v2 = message.suite === 'v2';
    if (message.suite === 'static-v1') {
      if (!self.suites.includes('static-v1')) throw new DecryptionFailed();
      const key = message.message.senderKey;
      if (!equalBytes(key, certificate.identityDhKey)) {
        throw new DecryptionFailed();
      }
      plaintext = await staticV1Decrypt(self.provider, {
        recipient: self.identity.dhKeyPair,
        senderPublicKey: certificate.identityDhKey,
        message: message.message.sealed,
      });
    } else {
      const cipher = new SessionCipher(self.provider, {
        ourIdentity: self.identity,
        remoteAddress: sender,
        sessions: t.stores.sessions,
        preKeys: t.stores.preKeys,
        // The certificate (signed by the tenant) binds the sender's identity keys; the session's
        // identity must be that one.
        isTrustedIdentity: (identity) =>
          equalBytes(identity.signingKey, certificate.identitySigningKey) &&
          equalBytes(identity.dhKey, certificate.identityDhKey),
      });
      plaintext = await cipher.decrypt(message);
    }
  } catch (e) {
    if (!(e instanceof CloisterError) || e.code === 'ERR_STORAGE') throw e;
    await mark('decryption');
    events.push({ type: 'undecryptable', reason: 'decryption', from });
    // A v2 session that cannot decrypt (lost or out of step; not a mere replay) is started again.
    if (v2 && e.code !== 'ERR_REPLAY') await requestSessionReset(self, t, sender, input.now, events);
    return { events };
  }

  let content: Content;
  try {
    content = decodeContent(plaintext);
  } catch (e) {
    if (!(e instanceof CloisterError)) throw e;
    await mark('format');
    events.push({ type: 'undecryptable', reason: 'format', from });
    return { events };
  }
  // The certificate carries no DH key signature, so it is compared with, not saved over, the
  // identity the directory gave (which the send path saves, trust on first use).
  const known = await t.stores.identities.get(sender);
  if (
    known !== undefined &&
    (!equalBytes(known.identity.signingKey, certificate.identitySigningKey) ||
      !equalBytes(known.identity.dhKey, certificate.identityDhKey))
  ) {
    events.push({ type: 'identity-changed', ...sender });
  }

  try {
    await applyContent(
      self,
      t,
      { content, sender, senderIdentity, now: input.now, lifetimeMs: input.lifetimeMs },
      events,
    );
  } catch (e) {
    // Content that decodes but names something this client cannot hold (an over-long id, say)
    // must not block the mailbox: it is dropped like any malformed delivery.
    if (!(e instanceof CloisterError) || e.code === 'ERR_STORAGE') throw e;
    await mark('format');
    return { events: [{ type: 'undecryptable', reason: 'format', from }] };
  }
  await mark('ok');
  return { events };
}

/** At most one session reset per peer device in this time. */
export const SESSION_RESET_INTERVAL_MS = 3_600_000;

/**
 * Drops the session with a device whose message could not be decrypted and queues a
 * `session-reset` control message to that device alone: sending it starts a new session from the
 * device's bundle, which the device accepts as a new initial message. Rate-limited per device.
 */
async function requestSessionReset(
  self: CoreSelf,
  t: CoreTx,
  sender: { readonly userId: UserId; readonly deviceId: DeviceId },
  now: number,
  events: ClientEvent[],
): Promise<void> {
  const key = `reset:${sender.deviceId}:${sender.userId}`;
  const last = await getRecord(t.tx, CLIENT_LOCAL_TABLES.registration, key, 'c_registration');
  const at = isNumber(last?.at) ? last.at : undefined;
  if (at !== undefined && now - at < SESSION_RESET_INTERVAL_MS) return;
  await putRecord(t.tx, CLIENT_LOCAL_TABLES.registration, key, { at: now }, now + SESSION_RESET_INTERVAL_MS);
  await t.stores.sessions.deleteSession(sender);
  const reset: Content = {
    messageId: await self.provider.randomBytes(16),
    sentAtMs: now,
    body: { type: 'control', action: 'session-reset' },
  };
  await enqueueJob(
    t,
    { content: encodeContent(reset), to: { user: sender.userId }, self: false, device: sender.deviceId },
    now,
  );
  events.push({ type: 'session-reset', ...sender, initiatedBy: 'this-device' });
}

interface Incoming {
  readonly content: Content;
  readonly sender: { readonly userId: UserId; readonly deviceId: DeviceId };
  readonly senderIdentity: PublicIdentity;
  readonly now: number;
  readonly lifetimeMs: number | null;
}

function expiryOf(content: Content, now: number, lifetimeMs: number | null): number | null {
  const timer = content.expireTimerSeconds === undefined ? null : now + content.expireTimerSeconds * 1000;
  const retention = lifetimeMs === null ? null : now + lifetimeMs;
  if (timer === null) return retention;
  if (retention === null) return timer;
  return Math.min(timer, retention);
}

async function applyContent(self: CoreSelf, t: CoreTx, m: Incoming, events: ClientEvent[]): Promise<void> {
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
          // still be on its way. Held for a while, applied when such a change arrives.
          await holdGroupContent(t, m);
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
      await releaseHeld(self, t, groupHex, m, events);
      return;
    }
    case 'group': {
      // The group's name, sent by an admin after the signed change (the change itself carries none).
      if (content.groupId === undefined || body.action.kind !== 'create') return;
      const groupHex = toHex(content.groupId);
      const group = await loadGroup(t.tx, groupHex);
      if (group === undefined || !group.state.members.some((x) => x.userId === sender.userId)) {
        await holdGroupContent(t, m);
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

/** How long group content that arrived before its group change is held: 7 days. */
export const HELD_GROUP_CONTENT_MS = 7 * 86_400_000;
const HELD_PATH = 'c_held';

async function holdGroupContent(t: CoreTx, m: Incoming): Promise<void> {
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
async function releaseHeld(
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

/** @internal Queues a job in the outbox inside the transaction. */
export async function enqueueJob(t: CoreTx, job: OutboxJob, now: number): Promise<MessageId> {
  const id = toMessageId(`o_${toHex(await randomId())}`);
  await t.outbox.enqueue({
    id,
    to: 'user' in job.to ? `u:${job.to.user}` : `g:${job.to.group}`,
    payload: encodeJob(job),
    createdAt: now,
  });
  return id;
}

async function randomId(): Promise<Uint8Array> {
  return globalThis.crypto.getRandomValues(new Uint8Array(16));
}

// ---- sending -----------------------------------------------------------------------------------

/** Whether a v2 session with `device` exists. */
export async function hasSession(t: CoreTx, device: DirectoryDevice): Promise<boolean> {
  const record = await t.stores.sessions.loadSession({ userId: device.userId, deviceId: device.deviceId });
  return record?.current !== undefined;
}

/**
 * Encrypts `plaintext` for one device inside the caller's transaction (so the advanced ratchet
 * state commits before the ciphertext leaves) and seals it in an envelope with the sender
 * certificate. For a v2 device without a session, `fullBundle` (with one-time prekeys) starts one.
 */
export async function sealForDevice(
  self: CoreSelf,
  t: CoreTx,
  args: {
    readonly device: DirectoryDevice;
    readonly plaintext: Uint8Array;
    readonly certificate: SenderCertificate;
    readonly fullBundle?: PreKeyBundle;
  },
): Promise<Uint8Array> {
  const { device } = args;
  const address = { userId: device.userId, deviceId: device.deviceId };
  let wire: Uint8Array;
  if (device.suite === 'static-v1') {
    const sealed = await staticV1Encrypt(self.provider, {
      sender: self.identity.dhKeyPair,
      recipientPublicKey: device.bundle.identity.dhKey,
      plaintext: args.plaintext,
    });
    wire = encodeDeviceMessage({
      suite: 'static-v1',
      type: 'static-v1',
      message: { senderKey: self.identity.dhKeyPair.publicKey, sealed },
    });
  } else {
    const cipher = new SessionCipher(self.provider, {
      ourIdentity: self.identity,
      remoteAddress: address,
      sessions: t.stores.sessions,
      isTrustedIdentity: (identity) =>
        equalBytes(identity.signingKey, device.bundle.identity.signingKey) &&
        equalBytes(identity.dhKey, device.bundle.identity.dhKey),
    });
    if (args.fullBundle !== undefined) await cipher.startSession(args.fullBundle);
    wire = encodeDeviceMessage({ suite: 'v2', ...(await cipher.encrypt(args.plaintext)) });
  }
  return sealEnvelope(self.provider, {
    recipientPublicKey: device.bundle.identity.dhKey,
    mailbox: utf8(device.mailbox),
    deliveryToken: device.deliveryToken,
    certificate: args.certificate,
    contentType: CONTENT_TYPE_DEVICE_MESSAGE,
    body: wire,
  });
}

/**
 * The delivery id of one content to one device: the first 16 bytes of
 * SHA-256("cloister/client/v1/delivery-id" ‖ content id ‖ u32 device ‖ user). A retried job
 * submits the same ids, so the server keeps exactly one copy per device.
 */
export async function deliveryId(
  provider: CryptoProvider,
  contentId: Uint8Array,
  device: { userId: string; deviceId: number },
): Promise<Uint8Array> {
  const input = concatBytes(
    utf8(DELIVERY_ID_LABEL),
    contentId,
    uintBE(device.deviceId, 4),
    utf8(device.userId),
  );
  return (await provider.sha256(input)).slice(0, 16);
}

/** Label of {@link archiveConversationId}. */
export const ARCHIVE_CONVERSATION_LABEL = 'cloister/client/v1/archive-conversation';

/**
 * The conversation id bound into an archive seal, the same on both sides: for a group its 32-byte
 * id; for a 1:1 conversation SHA-256(label ‖ lp16(a) ‖ lp16(b)) over the two user ids sorted.
 */
export async function archiveConversationId(
  provider: CryptoProvider,
  conversation: { readonly group: Uint8Array } | { readonly users: readonly [string, string] },
): Promise<Uint8Array> {
  if ('group' in conversation) return conversation.group.slice();
  const [a, b] = [...conversation.users].sort().map((u) => utf8(u));
  const input = concatBytes(
    utf8(ARCHIVE_CONVERSATION_LABEL),
    uintBE(a!.length, 2),
    a!,
    uintBE(b!.length, 2),
    b!,
  );
  return provider.sha256(input);
}

/** Label of {@link deliveryId}. */
export const DELIVERY_ID_LABEL = 'cloister/client/v1/delivery-id';
