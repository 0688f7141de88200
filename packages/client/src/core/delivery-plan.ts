/**
 * What delivering queued messages means, decided without I/O: for each outbox entry the users it
 * goes to (a group's members from the stored state, less this user), the devices that get a copy
 * and which plaintext each gets (this user's other devices get 1:1 messages marked `syncedTo`),
 * which sessions must start from a full bundle, the encryption of every copy in one transaction
 * (ratchet steps commit before anything leaves), and how the sealed copies are split into
 * submissions. The shell fetches the directory and bundles, and submits.
 *
 * @module
 */
import {
  DecodeError,
  type PreKeyBundle,
  type SenderCertificate,
  sealArchived,
  signArchiveSeal,
  ValidationError,
} from '@cloister/crypto';
import { type Content, decodeContent, encodeContent, type MessageId, type UserId } from '@cloister/protocol';
import type { StorageTx } from '@cloister/storage';
import type { OutboxEntry } from '../outbox/index.js';
import { loadGroup } from './groups.js';
import { deliveryId, localMessageId } from './ids.js';
import { type ArchiveRequest, decodeJob, type OutboxJob } from './jobs.js';
import { ARCHIVE_CONTENT_TYPE } from './policy.js';
import { hasSession, sealForDevice } from './seal.js';
import type { CoreSelf, CoreTx, DirectoryDevice } from './types.js';

/** One outbox entry, decoded, with the users it goes to. */
export interface PlannedEntry {
  readonly entry: OutboxEntry;
  readonly job: OutboxJob;
  readonly content: Content;
  /** The local id of the message the entry carries. */
  readonly localId: MessageId;
  /** Recipient users other than this one (whose devices are looked up). */
  readonly users: readonly string[];
}

/** One copy to encrypt: a device and the plaintext it gets, and the entry it belongs to. */
export interface DeliveryTarget {
  readonly device: DirectoryDevice;
  readonly plaintext: Uint8Array;
  /** Index of the entry in the plan. */
  readonly index: number;
  /** Start a new session with this (v2) device even if one exists (`OutboxJob.fresh`). */
  readonly fresh?: boolean;
}

/** One sealed copy, ready to submit. */
export interface SealedCopy {
  /** The delivery id (see `deliveryId`): the same on every retry. */
  readonly messageId: Uint8Array;
  readonly envelope: Uint8Array;
  readonly index: number;
  /**
   * The entry's archive seal, on its first copy only: sealed now (`sealArchived`, version 3) from
   * what the job asked, or the version-2 body of an older job signed now; either way bound to
   * this copy's delivery id and signed with this device's identity key (`spec/compliance-seal.md`).
   */
  readonly archiveSeal?: Uint8Array;
}

/**
 * Turns the unsigned version-2 archive body of a job queued by an earlier version into the seal
 * that rides on the delivery `id`:
 * bound to it and signed with this device's identity key under its current sender certificate.
 * A body this version cannot sign (a version-1 seal queued before the upgrade) is dropped: the
 * server would refuse it and auditors could not verify it.
 */
async function signedArchiveSeal(
  self: CoreSelf,
  body: Uint8Array,
  id: Uint8Array,
  certificate: SenderCertificate,
): Promise<Uint8Array | undefined> {
  try {
    return await signArchiveSeal(self.provider, {
      body,
      deliveryId: id,
      certificate,
      identitySigningKey: self.identity.signingKeyPair.privateKey,
    });
  } catch (e) {
    if (e instanceof ValidationError || e instanceof DecodeError) return undefined;
    throw e;
  }
}

/**
 * The version-3 archive seal of an entry (`sealArchived`: sign, then encrypt, so the bindings and
 * the certificate are hidden from the server), for the delivery `id`, from what the job asked to
 * seal and the content it keeps; a 1:1 job names its peer as the seal's `recipient`. Arguments this version cannot seal (a certificate that is not
 * this device's) drop the seal, as for a version-1 body.
 */
async function sealedArchive(
  self: CoreSelf,
  plan: PlannedEntry,
  id: Uint8Array,
  certificate: SenderCertificate,
): Promise<Uint8Array | undefined> {
  const request = plan.job.archive as ArchiveRequest;
  try {
    return await sealArchived(self.provider, {
      archivePublicKey: request.publicKey,
      messageId: plan.content.messageId,
      conversationId: request.conversationId,
      sender: { userId: self.userId, deviceId: self.deviceId },
      sentAt: request.sentAt,
      // The 1:1 peer, so auditors find what a user received; a group job has none (its
      // conversation id names the group).
      ...('user' in plan.job.to ? { recipient: plan.job.to.user } : {}),
      contentType: ARCHIVE_CONTENT_TYPE,
      content: plan.job.content,
      deliveryId: id,
      certificate,
      identitySigningKey: self.identity.signingKeyPair.privateKey,
    });
  } catch (e) {
    if (e instanceof ValidationError) return undefined;
    throw e;
  }
}

/**
 * Decodes an outbox entry and names the users it goes to: the peer of a 1:1 message, or the
 * members of the group as stored now (none once the group is unknown), restricted to `job.only`,
 * never this user (its other devices are reached through `job.self`).
 */
export async function planEntry(self: CoreSelf, tx: StorageTx, entry: OutboxEntry): Promise<PlannedEntry> {
  const job = decodeJob(entry.payload);
  const content = decodeContent(job.content);
  let users: string[];
  if ('user' in job.to) users = [job.to.user];
  else {
    const group = await loadGroup(tx, job.to.group);
    users = group === undefined ? [] : group.state.members.map((m) => m.userId);
  }
  const only = job.only;
  if (only !== undefined) users = users.filter((x) => only.includes(x));
  users = users.filter((x) => x !== self.userId);
  return { entry, job, content, localId: localMessageId(content.messageId, self.userId), users };
}

/** The users whose devices a plan needs: its recipients, and this user when copies go to its other devices. */
export function usersToLookUp(self: CoreSelf, plans: readonly PlannedEntry[]): UserId[] {
  const out = new Set<string>();
  for (const p of plans) {
    for (const u of p.users) out.add(u);
    if (p.job.self) out.add(self.userId);
  }
  return [...out] as UserId[];
}

/**
 * Every copy of every planned entry, given the devices of each user (this device excluded by the
 * directory): each recipient device (only `job.device` when the job names one), then this user's
 * other devices when `job.self`, a 1:1 message marked `syncedTo` the peer.
 */
export function deliveryTargets(
  self: CoreSelf,
  plans: readonly PlannedEntry[],
  devicesOf: (user: string) => readonly DirectoryDevice[],
): DeliveryTarget[] {
  const out: DeliveryTarget[] = [];
  plans.forEach(({ job, content, users }, index) => {
    for (const user of users) {
      for (const device of devicesOf(user)) {
        if (job.device === undefined || device.deviceId === job.device) {
          out.push({ device, plaintext: job.content, index, ...(job.fresh === true ? { fresh: true } : {}) });
        }
      }
    }
    if (job.self) {
      const own = 'user' in job.to ? encodeContent({ ...content, syncedTo: job.to.user }) : job.content;
      for (const device of devicesOf(self.userId)) out.push({ device, plaintext: own, index });
    }
  });
  return out;
}

/** The v2 devices without a session, once each: their full bundles (with one-time prekeys) must be fetched first. */
export async function devicesToStart(
  t: CoreTx,
  targets: readonly DeliveryTarget[],
): Promise<DirectoryDevice[]> {
  const out = new Map<string, DirectoryDevice>();
  for (const { device } of targets) {
    const key = deviceKey(device);
    if (device.suite === 'v2' && !out.has(key) && !(await hasSession(t, device))) out.set(key, device);
  }
  return [...out.values()];
}

/** The key of a device in the maps of this module: `<device id>:<user id>`. */
export function deviceKey(device: { readonly userId: string; readonly deviceId: number }): string {
  return `${device.deviceId}:${device.userId}`;
}

/**
 * Encrypts and seals every copy in the caller's transaction, starting sessions from `bundles`
 * (by {@link deviceKey}) where none exists yet, and once per device for fresh targets (the old
 * session stays as a previous one); each entry's archive seal rides on its first copy, bound to
 * that copy's delivery id and signed with this device's identity key (version 3 for a job that
 * asks for a seal, version 2 for the unsigned body of a job an earlier version queued).
 */
export async function sealDeliveries(
  self: CoreSelf,
  t: CoreTx,
  input: {
    readonly plans: readonly PlannedEntry[];
    readonly targets: readonly DeliveryTarget[];
    readonly certificate: SenderCertificate;
    readonly bundles: ReadonlyMap<string, PreKeyBundle>;
  },
): Promise<SealedCopy[]> {
  const out: SealedCopy[] = [];
  const sealed = new Set<number>();
  const started = new Set<string>();
  for (const { device, plaintext, index, fresh } of input.targets) {
    const key = deviceKey(device);
    const fullBundle = input.bundles.get(key);
    // A session starts from the full bundle when none exists, or once for a fresh target.
    const start =
      fullBundle !== undefined && ((fresh === true && !started.has(key)) || !(await hasSession(t, device)));
    if (start) started.add(key);
    const envelope = await sealForDevice(self, t, {
      device,
      plaintext,
      certificate: input.certificate,
      ...(start ? { fullBundle } : {}),
    });
    const plan = input.plans[index]!;
    const id = await deliveryId(self.provider, plan.content.messageId, device);
    let archiveSeal: Uint8Array | undefined;
    if (!sealed.has(index) && (plan.job.archive !== undefined || plan.job.archiveSeal !== undefined)) {
      sealed.add(index);
      archiveSeal =
        plan.job.archive !== undefined
          ? await sealedArchive(self, plan, id, input.certificate)
          : await signedArchiveSeal(self, plan.job.archiveSeal as Uint8Array, id, input.certificate);
    }
    out.push({ messageId: id, envelope, index, ...(archiveSeal === undefined ? {} : { archiveSeal }) });
  }
  return out;
}

/** Most deliveries in one submission (the server's limit). */
export const MAX_SUBMISSION_ITEMS = 256;
/** Most bytes of envelopes in one submission: well under the server's default body limit (1 MiB). */
export const MAX_SUBMISSION_BYTES = 768 * 1024;

/**
 * Splits deliveries into submissions of at most {@link MAX_SUBMISSION_ITEMS} items and
 * {@link MAX_SUBMISSION_BYTES}, with at most one archive seal each (the wire allows one per batch).
 * Order is kept.
 */
export function submissionBatches<T extends { envelope: Uint8Array; archiveSeal?: Uint8Array }>(
  deliveries: readonly T[],
): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  let sealed = false;
  for (const d of deliveries) {
    const size = d.envelope.length + (d.archiveSeal?.length ?? 0) + 64;
    if (
      current.length > 0 &&
      (current.length === MAX_SUBMISSION_ITEMS ||
        bytes + size > MAX_SUBMISSION_BYTES ||
        (sealed && d.archiveSeal !== undefined))
    ) {
      out.push(current);
      current = [];
      bytes = 0;
      sealed = false;
    }
    current.push(d);
    bytes += size;
    sealed ||= d.archiveSeal !== undefined;
  }
  if (current.length > 0) out.push(current);
  return out;
}
