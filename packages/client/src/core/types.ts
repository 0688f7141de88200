/**
 * What the sans-IO core works with: this device ({@link CoreSelf}), the stores and outbox of one
 * storage transaction ({@link CoreTx}), a directory device, and what the app sees of its results:
 * messages, events and the effective policy.
 *
 * @module
 */
import type { CryptoProvider, DeviceId, GroupChange, GroupState, PreKeyBundle } from '@cloister/crypto';
import type {
  Content,
  ConversationId,
  MessageId,
  OrganisationListVerifier,
  Suite,
  UserId,
} from '@cloister/protocol';
import type { StorageTx } from '@cloister/storage';
import type { Outbox } from '../outbox/index.js';
import type { ClientStoreSet, StoredMessage } from '../store/index.js';
import type { NetworkError } from '../transport/errors.js';

/**
 * Content type of a sealed envelope whose body is a `DeviceMessage` (1).
 *
 * @example
 * ```ts
 * const isDeviceMessage = (contentType: number) => contentType === CONTENT_TYPE_DEVICE_MESSAGE;
 * ```
 */
export const CONTENT_TYPE_DEVICE_MESSAGE = 1;

/**
 * What the core knows about this device; fixed between unlock and lock.
 *
 * @example
 * ```ts
 * const where = `${self.userId}/${self.deviceId} in ${self.tenant}, suites ${self.suites.join(', ')}`;
 * ```
 */
export interface CoreSelf {
  /** The crypto provider the core uses. */
  readonly provider: CryptoProvider;
  /** This device's user. */
  readonly userId: UserId;
  /** This device's number within its user's account. */
  readonly deviceId: DeviceId;
  /** This device's identity, with its private keys. */
  readonly identity: import('@cloister/crypto').DeviceIdentity;
  /** The tenant (organisation) id this device is enrolled in. */
  readonly tenant: string;
  /** The tenant's public key, which sender certificates are checked against. */
  readonly tenantPublicKey: Uint8Array;
  /** The mailbox id of this device, as the server named it. */
  readonly mailbox: string;
  /** Suites this device accepts, in preference order. */
  readonly suites: readonly Suite[];
  /**
   * The organisation root public key pinned at enrolment (spec/organisation-client.md); undefined
   * for a device enrolled without one, which accepts no organisation object at all.
   */
  readonly organisationRoot?: Uint8Array;
  /**
   * The check of organisation-signed device lists, when the app configured one; without it the
   * pinned `organisationRoot` is used (`organisationListVerifier`).
   */
  readonly organisationAdmission?: OrganisationListVerifier;
}

/**
 * Stores bound to one transaction, and the outbox in the same transaction.
 *
 * @example
 * ```ts
 * import { txExecutor } from '@cloister/storage';
 * await adapter.transaction(async (tx) => {
 *   const run = txExecutor(tx);
 *   const t: CoreTx = { tx, stores: bindClientStores(run), outbox: createOutbox(run) };
 *   // hand `t` to core functions such as receiveDelivery; everything commits together
 * });
 * ```
 */
export interface CoreTx {
  /** Every client store, bound to {@link CoreTx.tx}. */
  readonly stores: ClientStoreSet;
  /** The storage transaction. */
  readonly tx: StorageTx;
  /** The outbox, bound to {@link CoreTx.tx}. */
  readonly outbox: Outbox;
}

/**
 * A device of a user as the server's directory lists it (signed bundle without one-time prekeys).
 *
 * @example
 * ```ts
 * const label = `${device.userId}/${device.deviceId} (${device.suite})`;
 * ```
 */
export interface DirectoryDevice {
  /** The user the device belongs to. */
  readonly userId: UserId;
  /** The device's number within that user's account. */
  readonly deviceId: DeviceId;
  /** The device's mailbox id, which deliveries to it are addressed to. */
  readonly mailbox: string;
  /** The token that lets a sender deliver to that mailbox. */
  readonly deliveryToken: Uint8Array;
  /** The published signed bundle (identity, signed prekey, last-resort KEM prekey, suites). */
  readonly bundle: PreKeyBundle;
  /** The suite negotiated from the bundle's signed suite list. */
  readonly suite: Suite;
}

/**
 * A message as the app sees it.
 *
 * @example
 * ```ts
 * client.on('message', ({ message }: { message: ClientMessage }) => {
 *   if (message.content.body.type === 'text') console.log(`${message.from.userId}: ${message.content.body.text}`);
 * });
 * ```
 */
export interface ClientMessage {
  /** Local id: `<hex of the 16-byte content id>@<sender user id>`. */
  readonly id: MessageId;
  /** The conversation it belongs to. */
  readonly conversationId: ConversationId;
  /** The device that sent it. */
  readonly from: { readonly userId: UserId; readonly deviceId: DeviceId };
  /** True when this device's user sent it (from this or another of the user's devices). */
  readonly outgoing: boolean;
  /** The sender's time (ms since the epoch). */
  readonly sentAt: number;
  /** When this device received it (ms since the epoch), or `null` for a message it sent. */
  readonly receivedAt: number | null;
  /** Its delivery status: `sent`, `delivered` or `read`. */
  readonly status: StoredMessage['status'];
  /** When it disappears (ms since the epoch), or `null`. */
  readonly expiresAt: number | null;
  /** The decoded content (text, file, group change, …). */
  readonly content: Content;
}

/**
 * Events the client emits (after the transaction that caused them has committed).
 *
 * @example
 * ```ts
 * const log = (e: ClientEvent) => console.log(e.type);
 * client.on('receipt', (e) => console.log(`${e.kind} by ${e.from}: ${e.messageIds.length} messages`));
 * client.on('send-failed', (e) => console.warn(`message ${e.messageId} not sent: ${e.reason}`));
 * ```
 */
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
  /**
   * A verified user's identity changed (a new chain of device lists): their new devices' messages
   * are held and sending to them stops until `acceptIdentityChange(userId)`.
   */
  | { readonly type: 'identity-held'; readonly userId: UserId }
  /** A device was added to a user's signed list (this user's own devices included). */
  | { readonly type: 'device-added'; readonly userId: UserId; readonly deviceId: DeviceId }
  | { readonly type: 'device-removed'; readonly userId: UserId; readonly deviceId: DeviceId }
  /**
   * The server lists a device of this device's own user that no device of the user linked: it
   * receives nothing until it is linked (`linkDevice`); if nobody enrolled it, tell an administrator.
   */
  | { readonly type: 'device-pending'; readonly deviceId: DeviceId }
  /** This device is now on its user's signed device list. */
  | { readonly type: 'device-linked'; readonly deviceId: DeviceId }
  /** The server answered a user's device lists with lists that do not follow the pinned one; the pin stays. */
  | { readonly type: 'device-list-refused'; readonly userId: UserId }
  | {
      readonly type: 'session-reset';
      readonly userId: UserId;
      readonly deviceId: DeviceId;
      /** `this-device`: a message from that device could not be decrypted; `peer`: it restarted the session. */
      readonly initiatedBy: 'this-device' | 'peer';
    }
  | {
      readonly type: 'undecryptable';
      /** `device`: the sender's device is not on its user's signed device list. */
      readonly reason: 'decryption' | 'certificate' | 'format' | 'sender' | 'device';
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
      /** The error's message. */
      readonly reason: string;
      /**
       * The last error: an `UnknownRecipientError` (with its `userId`) when the directory does not
       * know the recipient, a `CloisterError` with its `code` otherwise when the failure was typed.
       */
      readonly error: Error;
    }
  | {
      readonly type: 'connection';
      readonly state: 'online' | 'offline' | 'synced';
      /** With `offline`: why the server could not be reached, when a connection attempt said so. */
      readonly error?: NetworkError;
    }
  | { readonly type: 'policy'; readonly policy: ClientPolicy }
  /** The capability map changed (a new policy, or the app declared what it enforces). */
  | { readonly type: 'capabilities'; readonly capabilities: import('./capabilities.js').Capabilities }
  /**
   * An organisation object (policy layer, delegation, broadcast, wipe) the server served did not
   * verify against the pinned root, was older than the held one of its scope, forked it, or was
   * not for this device: nothing changed. `reason` is the error code (`ERR_INVALID_KEY`,
   * `ERR_FORBIDDEN`, `ERR_DECODE`, `ERR_VALIDATION`).
   */
  | {
      readonly type: 'organisation-refused';
      readonly kind: import('@cloister/protocol').OrganisationObjectKind | 'unknown';
      readonly reason: string;
    }
  /** Archiving was turned on, off, or to another key (from the verified tenant layer). */
  | { readonly type: 'archive'; readonly archive: ArchiveState }
  /** The server did not file the archive seal of a submission (`not-archiving`, `binding`, `rate`, …). */
  | { readonly type: 'archive-refused'; readonly reason: string }
  /**
   * A message arrived that the archive scope covers (this user, or its sender, in scope when it
   * was sent) but that is not marked `archived`: its sender did not seal it. `count` is the number
   * of gaps this device has noticed (`spec/organisation-client.md` §5).
   */
  | {
      readonly type: 'archive-gap';
      readonly conversationId: ConversationId;
      readonly messageId: MessageId;
      /** The sender's user id. */
      readonly from: string;
      readonly count: number;
    }
  /** A verified broadcast of the organisation addressed to this user, newer than the last shown. */
  | { readonly type: 'broadcast'; readonly broadcast: import('./organisation.js').ClientBroadcast }
  /**
   * A wipe command was refused: `no-root` (this device pinned no organisation root), `target` (it
   * names another device) or the verification's error code. Nothing was wiped.
   */
  | { readonly type: 'wipe-refused'; readonly reason: string }
  | { readonly type: 'expired'; readonly rows: number }
  | { readonly type: 'wiped'; readonly commandId: string; readonly reported: boolean };

/**
 * The effective policy of this device's user: for a device that pinned an organisation root,
 * resolved from the policy layers it verified (the server's unsigned features are ignored); for
 * one without a root, the server's answer, archiving excepted.
 *
 * @example
 * ```ts
 * client.on('policy', ({ policy }: { policy: ClientPolicy }) => {
 *   console.log(policy.revision, policy.signed, policy.messageLifetimeMs);
 * });
 * ```
 */
export interface ClientPolicy {
  /** An opaque revision string; it changes whenever the policy does. */
  readonly revision: string;
  /** Features by name; an absent feature is enabled. */
  readonly features: Readonly<Record<string, { readonly enabled: boolean; readonly config?: unknown }>>;
  /** The longest a message may be kept on this device, or `null` for no limit. */
  readonly messageLifetimeMs: number | null;
  /** Whether the policy was resolved from verified signed layers. */
  readonly signed: boolean;
  /**
   * The archive public key to seal every message to: only from a verified tenant layer that turns
   * `archive` on; `null` otherwise (always for a device without an organisation root).
   */
  readonly archiveKey: Uint8Array | null;
  /**
   * Who and when the archive covers (the signed tenant layer's `archive.config.scope`); absent
   * with an `archiveKey`: everyone, always (`spec/organisation-client.md` §5).
   */
  readonly archiveScope?: import('@cloister/protocol').ArchiveScope;
  /** The auditors' description from the signed tenant layer (informative). */
  readonly archiveAuditors?: import('@cloister/protocol').ArchiveAuditors;
  /** The hex id of the auditors' key share set from the signed tenant layer (informative). */
  readonly archiveKeySetId?: string;
  /** The typed restrictions (`spec/restrictions.md`); absent: the defaults (nothing restricted). */
  readonly restrictions?: import('@cloister/protocol').RestrictionValues;
  /** Malformed restriction entries the policy had, left out (a less specific layer or the default decided). */
  readonly restrictionProblems?: readonly import('@cloister/protocol').RestrictionProblem[];
  /**
   * For each conversation group that has a verified group layer, by the hex of its group id (as
   * in the conversation id `g:<hex>`): what applies in that group's conversation instead of
   * `features`, `restrictions` and `restrictionProblems` (`spec/restrictions.md` §1.2). Absent
   * when no group layer is held.
   */
  readonly groups?: { readonly [groupHex: string]: GroupPolicy };
}

/**
 * What the policy is in the conversation of one group that has a group layer: the user's layers
 * walked with the group layer combined with the pool layers (the most restrictive wins).
 *
 * @example
 * ```ts
 * const inWard: GroupPolicy | undefined = client.policy?.groups?.[group]; // group: the hex id createGroup gave
 * console.log(inWard?.restrictions['files.send']);
 * ```
 */
export interface GroupPolicy {
  /** Features by name in the group's conversation; an absent feature is enabled. */
  readonly features: Readonly<Record<string, { readonly enabled: boolean; readonly config?: unknown }>>;
  /** The typed restrictions in the group's conversation. */
  readonly restrictions: import('@cloister/protocol').RestrictionValues;
  /** Malformed restriction entries, left out. */
  readonly restrictionProblems: readonly import('@cloister/protocol').RestrictionProblem[];
}

/**
 * Whether messages are archived, and to which key (its fingerprint, `cloister-archive:v1:…`).
 *
 * @example
 * ```ts
 * const state: ArchiveState = client.archive();
 * const banner = state.on ? `Archived (${state.keyFingerprint})` : 'Not archived';
 * ```
 */
export type ArchiveState =
  | { readonly on: false }
  | {
      readonly on: true;
      /** `cloister-archive:v1:…` of the archive key. */
      readonly keyFingerprint: string;
      /** Who and when is archived; absent: everyone, always. */
      readonly scope?: import('@cloister/protocol').ArchiveScope;
      /** The auditors' threshold and number of key holders, as the organisation describes them. */
      readonly auditors?: { readonly threshold: number; readonly total: number };
      /** The hex id of the auditors' key share set, as the organisation names it. */
      readonly keySetId?: string;
    };

/**
 * Whether a policy enables `feature` (absent means enabled; so does an undefined policy).
 *
 * @example
 * ```ts
 * if (featureEnabled(client.policy, 'files.send')) await client.sendFile({ user: 'bob' }, { data: bytes, name: 'a.txt' });
 * ```
 */
export function featureEnabled(policy: ClientPolicy | undefined, feature: string): boolean {
  return policy?.features[feature]?.enabled !== false;
}
