/**
 * Receiving one delivery: the envelope opened and its sender certificate checked against the tenant
 * key, the device message decrypted (a v2 session that cannot decrypt is reset), the content
 * applied and the delivery marked processed, all in the caller's transaction.
 *
 * @module
 */
import {
  archiveCurrentSession,
  CloisterError,
  DecryptionFailed,
  type DeviceId,
  ENVELOPE_KIND_ORGANISATION,
  equalBytes,
  openEnvelope,
  openOrganisationEnvelope,
  type PublicIdentity,
  peekEnvelopeOuter,
  type SenderCertificate,
  SessionCipher,
  staticV1Decrypt,
  deviceId as toDeviceId,
} from '@cloister/crypto';
import {
  type Content,
  decodeContent,
  decodeDeviceMessage,
  encodeContent,
  userId as toUserId,
  type UserId,
} from '@cloister/protocol';
import type { StorageTx } from '@cloister/storage';
import { CLIENT_LOCAL_TABLES, deleteRecord, getRecord, isNumber, putRecord } from '../local.js';
import { applyContent } from './apply.js';
import { archiveAfterReceive, type ReceiveArchiveInput } from './archive.js';
import { admittedEntry, loadPin } from './device-lists.js';
import { enqueueJob } from './jobs.js';
import { acceptBroadcasts, certificateDelegated } from './organisation.js';
import { listQuarantined, quarantine, unquarantine } from './quarantine.js';
import { refusedCertificate } from './revocations.js';
import type { ClientEvent, CoreSelf, CoreTx } from './types.js';

/**
 * What {@link receiveDelivery} decided.
 *
 * @example
 * ```ts
 * const outcome: ReceiveOutcome = await receiveDelivery(self, coreTx, {
 *   serverId: 'm_1', envelope: bytes, now: Date.now(), lifetimeMs: null, processedTtlMs: 45 * 86_400_000,
 * });
 * for (const user of outcome.quarantined ?? []) console.log(`fetch the device lists of ${user}`);
 * ```
 */
export interface ReceiveOutcome {
  /** Events to emit once the transaction has committed. */
  readonly events: ClientEvent[];
  /**
   * Users whose device lists must be fetched: a delivery from a device their pinned list does not
   * admit was quarantined (the shell fetches the lists, which releases what they admit).
   */
  readonly quarantined?: readonly UserId[];
}

/** How long a processed delivery id is remembered, so that a redelivery is acknowledged only: 45 days. */
export const PROCESSED_TTL_MS = 45 * 86_400_000;

/**
 * Options of {@link receiveDelivery}.
 *
 * @example
 * ```ts
 * const input: ReceiveInput = {
 *   serverId: 'm_1', envelope: bytes, now: Date.now(), lifetimeMs: 30 * 86_400_000, processedTtlMs: 45 * 86_400_000,
 * };
 * const { events } = await receiveDelivery(self, coreTx, input);
 * ```
 */
export interface ReceiveInput {
  /** The mailbox id of the delivery (`m_…`), the key of the dedupe marker. */
  readonly serverId: string;
  /** The sealed envelope as delivered. */
  readonly envelope: Uint8Array;
  /** The current time (ms since the epoch). */
  readonly now: number;
  /** The policy's message lifetime, or `null`. */
  readonly lifetimeMs: number | null;
  /** How long a dedupe marker is kept (at least the server's mailbox retention). */
  readonly processedTtlMs: number;
  /**
   * This user's pools as the server lists them (this device's sender certificate): the audience
   * check of a broadcast to pools. Absent: a broadcast to pools is refused.
   */
  readonly pools?: readonly string[];
  /**
   * The archive checks (`core/archive.ts`): the policy in force and this user's pools. Absent: a
   * peer's pools are not remembered and no archive gap is noted.
   */
  readonly archive?: ReceiveArchiveInput;
}

const PROCESSED_PATH = 'c_processed';

/** Whether a delivery id was processed already. */
export async function wasProcessed(tx: StorageTx, serverId: string): Promise<boolean> {
  return (await getRecord(tx, CLIENT_LOCAL_TABLES.processed, serverId, PROCESSED_PATH)) !== undefined;
}

/**
 * Processes one delivery inside the caller's transaction: opens the envelope (sender
 * certificate checked against the tenant key and, for a device that pinned an organisation root,
 * covered by a certificate delegation it verified), decrypts with the sender's session or static key,
 * applies the content and marks the delivery processed. A delivery that cannot be opened or
 * decrypted is marked processed too (so it is acknowledged, not retried forever) and reported
 * as one `undecryptable` event without details. Storage errors propagate (nothing commits).
 *
 * @example
 * ```ts
 * import { txExecutor } from '@cloister/storage';
 * const outcome = await adapter.transaction(async (tx) => {
 *   const run = txExecutor(tx);
 *   const t = { tx, stores: bindClientStores(run), outbox: createOutbox(run) };
 *   return receiveDelivery(self, t, { serverId: 'm_1', envelope: bytes, now: tx.now, lifetimeMs: null, processedTtlMs: 45 * 86_400_000 });
 * });
 * // after the commit: emit outcome.events
 * ```
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
  if (isOrganisationEnvelope(input.envelope)) {
    events.push(...(await receiveBroadcast(self, t, input)));
    await mark('broadcast');
    return { events };
  }

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
    // A device that pinned an organisation root trusts the server's certificate key only under a
    // certificate delegation the root's owners signed, for the certificate's issue time.
    if (
      self.organisationRoot !== undefined &&
      !(await certificateDelegated(t.tx, self.tenantPublicKey, certificate, input.now))
    ) {
      throw new DecryptionFailed();
    }
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
  // A certificate the tenant's signed revocation list revokes, or whose pools may not reach this
  // user by the signed reach statement, is refused (spec/revocations.md).
  if ((await refusedCertificate(t.tx, certificate, self.userId)) !== undefined) {
    await mark('certificate');
    events.push({ type: 'undecryptable', reason: 'certificate', from });
    return { events };
  }

  // A certificate names; it never authenticates. The sender's device must be on the user's
  // signed device list as pinned, with these keys; otherwise the envelope waits, undecrypted, until
  // the user's lists have been fetched (and no session is started with an unadmitted identity).
  const pin = await loadPin(t.tx, sender.userId);
  const keys = { signingKey: certificate.identitySigningKey, dhKey: certificate.identityDhKey };
  if (admittedEntry(pin, sender.deviceId, keys) === undefined) {
    const held = await quarantine(
      t,
      sender.userId,
      {
        serverId: input.serverId,
        envelope: input.envelope,
        deviceId: sender.deviceId,
        ...keys,
        receivedAt: input.now,
      },
      input.now + input.processedTtlMs,
    );
    await mark(held ? 'quarantined' : 'device');
    if (!held) events.push({ type: 'undecryptable', reason: 'device', from });
    return { events, ...(held ? { quarantined: [sender.userId] } : {}) };
  }

  let plaintext: Uint8Array;
  let v2 = false;
  try {
    const message = decodeDeviceMessage(body);
    v2 = message.suite === 'v2';
    if (message.suite === 'static-v1') {
      if (!self.suites.includes('static-v1')) throw new DecryptionFailed();
      // Between two devices that both offer v2 the negotiation always picks v2: static-v1 from a
      // device whose verified list offered v2, to this device that offers v2, is a downgrade.
      if (self.suites.includes('v2') && pin?.suites[String(sender.deviceId)]?.v2 === true) {
        throw new DecryptionFailed();
      }
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
  if (input.archive !== undefined) {
    events.push(
      ...(await archiveAfterReceive(
        self,
        t.tx,
        input.archive,
        { userId: certificate.userId, pools: certificate.pools },
        events,
        input.now,
      )),
    );
  }
  await mark('ok');
  return { events };
}

/**
 * Whether an envelope is an organisation envelope (a broadcast, spec/broadcast.md §3) by its outer
 * kind byte; a malformed header is not one (the message path reports it).
 *
 * @example
 * ```ts
 * if (isOrganisationEnvelope(bytes)) console.log('a broadcast: fetch the pools before receiving it');
 * ```
 */
export function isOrganisationEnvelope(envelope: Uint8Array): boolean {
  try {
    return peekEnvelopeOuter(envelope).kind === ENVELOPE_KIND_ORGANISATION;
  } catch {
    return false;
  }
}

/**
 * A broadcast delivered end to end: the organisation envelope is opened with this device's key,
 * must name this device's mailbox, and its signed object is then checked exactly as
 * spec/organisation-client.md §7 says (the pinned root, the audience, newer than the newest
 * shown). An envelope that does not open is `undecryptable` (reason `certificate`: nothing names
 * a sender); a refused object is `organisation-refused`; a verified one is the `broadcast` event.
 */
async function receiveBroadcast(self: CoreSelf, t: CoreTx, input: ReceiveInput): Promise<ClientEvent[]> {
  let object: Uint8Array;
  try {
    const opened = await openOrganisationEnvelope(self.provider, {
      recipientPrivateKey: self.identity.dhKeyPair.privateKey,
      bytes: input.envelope,
    });
    if (new TextDecoder().decode(opened.mailbox) !== self.mailbox) throw new DecryptionFailed();
    object = opened.object;
  } catch (e) {
    if (!(e instanceof CloisterError) || e.code === 'ERR_STORAGE') throw e;
    return [{ type: 'undecryptable', reason: 'certificate' }];
  }
  return acceptBroadcasts(self, t.tx, [object], input.pools ?? [], input.now);
}

/**
 * Processes, in arrival order, the deliveries quarantined for `user` that the pinned list now
 * admits; keeps the others while the user's new identity is held for the app, and drops them
 * (reported as `undecryptable` with reason `device`) otherwise: a device the user never linked.
 * Runs in the transaction that pinned the lists, so nothing from that user is processed between.
 */
export async function releaseQuarantine(
  self: CoreSelf,
  t: CoreTx,
  user: UserId,
  input: Pick<ReceiveInput, 'lifetimeMs' | 'processedTtlMs' | 'archive'>,
): Promise<ClientEvent[]> {
  const pin = await loadPin(t.tx, user);
  const events: ClientEvent[] = [];
  for (const q of await listQuarantined(t, user)) {
    if (admittedEntry(pin, q.deviceId, q) !== undefined) {
      await unquarantine(t, user, q.serverId);
      await deleteRecord(t.tx, CLIENT_LOCAL_TABLES.processed, q.serverId);
      const out = await receiveDelivery(self, t, {
        serverId: q.serverId,
        envelope: q.envelope,
        now: q.receivedAt,
        ...input,
      });
      events.push(...out.events);
    } else if (pin?.held === undefined) {
      await unquarantine(t, user, q.serverId);
      events.push({ type: 'undecryptable', reason: 'device', from: { userId: user, deviceId: q.deviceId } });
    }
  }
  return events;
}

/** How many deliveries from `user` wait in quarantine. */
export async function quarantinedCount(t: CoreTx, user: UserId): Promise<number> {
  return (await listQuarantined(t, user)).length;
}

/** At most one session reset per peer device in this time. */
export const SESSION_RESET_INTERVAL_MS = 3_600_000;

/**
 * Archives the session with a device whose message could not be decrypted (it stays, as a previous
 * session, for the messages already in flight) and queues a `session-reset` control message to
 * that device alone: sending it starts a new session from the device's bundle, which the device
 * accepts as a new initial message. Rate-limited per device. Never called for a replay.
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
  // The session is archived, not deleted: messages the peer sent before it learns of the reset
  // still decrypt with it. The reset itself starts a new session from the device's bundle.
  const record = await t.stores.sessions.loadSession(sender);
  if (record !== undefined) await t.stores.sessions.storeSession(sender, archiveCurrentSession(record));
  const reset: Content = {
    messageId: await self.provider.randomBytes(16),
    sentAtMs: now,
    body: { type: 'control', action: 'session-reset' },
  };
  await enqueueJob(
    t,
    {
      content: encodeContent(reset),
      to: { user: sender.userId },
      self: false,
      device: sender.deviceId,
      fresh: true,
    },
    now,
  );
  events.push({ type: 'session-reset', ...sender, initiatedBy: 'this-device' });
}
