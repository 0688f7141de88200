/**
 * `CloisterClient`: the one public class of the SDK, composed of feature modules that share one
 * {@link ClientContext}: the vault and enrolment (`vault.ts`, `enrolment.ts`, `prekeys.ts`),
 * the delivery socket (`connection.ts`), the outbox loop (`sending.ts`) and the directory
 * (`directory.ts`), messaging, files and groups (`messaging.ts`, `files.ts`, `groups.ts`),
 * history (`history.ts`), identities (`identities.ts`), policy and remote wipe (`policy.ts`,
 * `wipe.ts`). Protocol decisions are the sans-IO core's (`core/`). See `spec/client.md`.
 *
 * @module
 */
import type { DeviceId, GroupState, SafetyNumber } from '@cloister/crypto';
import { getProvider } from '@cloister/crypto';
import {
  type ConversationId,
  type FileReference,
  type MessageId,
  rootFingerprint,
  userId as toUserId,
  type UserId,
} from '@cloister/protocol';
import { DeliverySocket } from './connection.js';
import { ClientContext, type Listener } from './context.js';
import type { ArchiveState, ClientEvent, ClientMessage, ClientPolicy } from './core/index.js';
import { Devices, type LinkStatus } from './devices.js';
import { Directory } from './directory.js';
import { enrol, forget, me, unlock } from './enrolment.js';
import { Files } from './files.js';
import { Groups } from './groups.js';
import * as local from './history.js';
import { Identities, type IdentityStatus } from './identities.js';
import { Messaging } from './messaging.js';
import {
  type ClientOptions,
  type ClientStatus,
  checkClientOptions,
  type OutgoingFile,
  type Recipient,
  type SendOptions,
  type TransferProgress,
  type TransportFactory,
  type WipeStatus,
} from './options.js';
import { refreshPolicy } from './policy.js';
import { ensureKeysPublished, publishKeys, refillPreKeys, rotateSignedPreKey } from './prekeys.js';
import { OutboxLoop } from './sending.js';
import type { Conversation, Page, PageOptions } from './store/index.js';
import { changePin, vaultStatus, wipeStatus } from './vault.js';
import { RemoteWipe } from './wipe.js';

export type {
  ClientOptions,
  ClientStatus,
  ClientStep,
  OutgoingFile,
  Recipient,
  SendOptions,
  TransferProgress,
  TransportFactory,
  WipeStatus,
} from './options.js';

/**
 * @internal Creates and opens a client whose transport is `options.transport` or, when the app
 * gave none, `defaultTransport`: each entry passes its own (`@cloister/client` the Node transport,
 * `@cloister/client/browser` the browser transport), so this module never loads either.
 */
export async function openClient(
  options: ClientOptions,
  defaultTransport: TransportFactory,
): Promise<CloisterClient> {
  const client = new CloisterClient(options, defaultTransport);
  await client.open();
  return client;
}

/** The Cloister client SDK. Create it with `createClient` (of the entry your runtime uses). */
export class CloisterClient {
  readonly #ctx: ClientContext;
  readonly #directory: Directory;
  readonly #outbox: OutboxLoop;
  readonly #socket: DeliverySocket;
  readonly #wipe: RemoteWipe;
  readonly #messaging: Messaging;
  readonly #files: Files;
  readonly #groups: Groups;
  readonly #identities: Identities;
  readonly #devices: Devices;
  #purgeTimer: ReturnType<typeof setInterval> | undefined;

  /**
   * @internal Use `createClient` of `@cloister/client` or `@cloister/client/browser`.
   * `defaultTransport` is used when `options.transport` is not given.
   */
  constructor(options: ClientOptions, defaultTransport?: TransportFactory) {
    const ctx = new ClientContext(options, checkClientOptions(options), defaultTransport);
    const kick = () => this.#outbox.kick();
    const checkWipeQuietly = () => void this.checkWipe().catch(() => undefined);
    this.#ctx = ctx;
    this.#directory = new Directory(ctx);
    this.#outbox = new OutboxLoop(ctx, this.#directory, checkWipeQuietly);
    this.#wipe = new RemoteWipe(ctx, () => this.stop());
    this.#socket = new DeliverySocket(ctx, {
      kickOutbox: kick,
      onRefused: checkWipeQuietly,
      onSynced: async () => {
        await this.refreshPolicy().catch(() => undefined);
        await refillPreKeys(ctx).catch(() => undefined);
      },
      onQuarantined: async (users) => {
        // Fetching a user's lists releases what they admit; offline, the next delivery retries.
        for (const user of users) await this.#directory.refresh(toUserId(user)).catch(() => undefined);
        // What was released may have queued receipts.
        kick();
      },
    });
    this.#messaging = new Messaging(ctx, kick);
    this.#files = new Files(ctx, this.#messaging);
    this.#groups = new Groups(ctx, kick);
    this.#identities = new Identities(ctx, this.#directory);
    this.#devices = new Devices(ctx, this.#directory);
  }

  /** `unenrolled`, `locked`, `ready` or `wiped`. */
  get status(): ClientStatus {
    return this.#ctx.status;
  }

  /** This device's user and device id, once unlocked. */
  get me(): { readonly userId: UserId; readonly deviceId: DeviceId; readonly tenant: string } {
    return me(this.#ctx);
  }

  /** The policy the server last sent (undefined before the first fetch). */
  get policy(): ClientPolicy | undefined {
    return this.#ctx.policy;
  }

  /**
   * The organisation root this device pinned at enrolment: its fingerprint
   * (`cloister-root:v1:…`), or `null` for a device enrolled without one (it then accepts no
   * archive key, wipe, broadcast or delegation). Needs the client unlocked.
   */
  async organisation(): Promise<{ readonly rootFingerprint: string | null }> {
    const root = this.#ctx.ready().registration.organisationRoot;
    return { rootFingerprint: root === undefined ? null : await rootFingerprint(this.#ctx.provider, root) };
  }

  /**
   * Whether messages are archived, and the archive key's fingerprint (`cloister-archive:v1:…`)
   * when they are: from the tenant layer this device verified against its organisation root, as
   * of the last policy fetch. Show it to the user; an `archive` event reports every change.
   */
  archive(): ArchiveState {
    return this.#ctx.archive;
  }

  /** Reads the vault to learn whether the client is enrolled, locked or wiped. */
  async open(): Promise<ClientStatus> {
    const ctx = this.#ctx;
    ctx.provider ??= await getProvider();
    // Fails early on a URL or pin the transport refuses (and without any transport at all).
    ctx.factory()({ url: ctx.options.server.url, pin: ctx.options.server.pin });
    ctx.status = await vaultStatus(ctx);
    return ctx.status;
  }

  /** Subscribes to one kind of event; returns the unsubscribe function. */
  on<E extends ClientEvent['type']>(type: E, listener: Listener<E>): () => void {
    return this.#ctx.on(type, listener);
  }

  // ---- enrolment and PIN ---------------------------------------------------------------------

  /**
   * Enrols this device with an enrolment code: creates its identity, registers it, pins the
   * organisation root, publishes its prekeys and protects the local data with `pin`. Leaves the
   * client unlocked. The code is the 87-character `<token>.<root digest>` an administrator hands
   * out, or the plain 43-character token with `options.organisationRoot` (`cloister-root:v1:…`,
   * from the MDM configuration); when the server's root does not match that fingerprint,
   * `InvalidKeyError` (field `organisationRoot`) and nothing is stored. A token without any
   * fingerprint enrols without a root: messaging works, but no archive key, wipe, broadcast or
   * delegation is ever accepted. When publishing the prekeys fails (the network, say), `enroll`
   * rejects but the device is enrolled: the client stays `ready` and `start()` publishes them.
   */
  async enroll(
    code: string,
    options: {
      readonly pin: string;
      readonly userId?: string;
      readonly displayName?: string;
      readonly organisationRoot?: string;
    },
  ): Promise<{ userId: UserId; deviceId: DeviceId }> {
    const { registration, identity, registrationId } = await enrol(this.#ctx, code, options);
    await publishKeys(this.#ctx, identity, registrationId);
    // The user's first device publishes the first signed device list; any later one waits to be
    // linked. Offline, `start` does it.
    await this.#devices.ensureListed().catch(() => undefined);
    return { userId: registration.userId, deviceId: registration.deviceId };
  }

  /**
   * Opens the local data with `pin`. A wrong PIN is `WrongPin` and counts; after
   * `maxPinAttempts` wrong PINs in a row the local data is destroyed. Purges expired rows and
   * checks for a pending remote wipe before returning.
   */
  async unlock(pin: string): Promise<void> {
    if (this.#ctx.status === 'ready') return;
    await unlock(this.#ctx, pin);
    await this.purgeExpired();
  }

  /** Re-wraps the data key under a new PIN (the data is not re-encrypted). */
  async changePin(oldPin: string, newPin: string): Promise<void> {
    await changePin(this.#ctx, oldPin, newPin);
  }

  /** Stops everything and forgets the keys in memory; `unlock` opens again. */
  async lock(): Promise<void> {
    await this.stop();
    forget(this.#ctx);
  }

  /** Locks and closes the storage adapter. */
  async close(): Promise<void> {
    if (this.#ctx.closed) return;
    await this.lock();
    this.#ctx.closed = true;
    await this.#ctx.options.storage.close();
  }

  // ---- running ---------------------------------------------------------------------------------

  /**
   * Connects the delivery socket (reconnecting with backoff), fetches the policy, checks for a
   * remote wipe, starts the outbox and the retention timer. Resolves once the socket is open for
   * the first time (or the first attempt failed).
   */
  async start(): Promise<void> {
    const ctx = this.#ctx;
    ctx.ready();
    if (ctx.started) return;
    ctx.started = true;
    if (await this.checkWipe()) return;
    await ensureKeysPublished(ctx);
    await this.#devices.ensureListed().catch(() => undefined);
    await rotateSignedPreKey(ctx).catch(() => undefined);
    await this.refreshPolicy().catch(() => undefined);
    await this.#socket.open();
    const interval = ctx.options.purgeIntervalMs ?? 60_000;
    this.#purgeTimer = setInterval(() => void this.purgeExpired().catch(() => undefined), interval);
    this.#purgeTimer.unref?.();
    this.#outbox.kick();
  }

  /** Closes the socket and stops the timers; queued messages stay in the outbox. */
  async stop(): Promise<void> {
    this.#ctx.started = false;
    this.#socket.close();
    if (this.#purgeTimer !== undefined) clearInterval(this.#purgeTimer);
    this.#purgeTimer = undefined;
    await this.#outbox.stop();
    await this.#socket.queue.catch(() => undefined);
  }

  /** Resolves once everything received so far has been processed and the outbox is idle. */
  async idle(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const r = this.#socket.queue;
      const o = this.#outbox.running;
      await r.catch(() => undefined);
      await o?.catch(() => undefined);
      if (r === this.#socket.queue && o === this.#outbox.running && !this.#outbox.pendingKick) return;
    }
  }

  // ---- policy and wipe ---------------------------------------------------------------------------

  /**
   * Fetches the effective policy and emits `policy` when it changed. A root-pinned device verifies
   * the organisation's signed objects of the answer: the policy comes from the verified layers,
   * delegations are kept, new broadcasts are `broadcast` events, a change of archiving is an
   * `archive` event, and anything refused an `organisation-refused` event.
   */
  async refreshPolicy(): Promise<ClientPolicy> {
    return refreshPolicy(this.#ctx, {
      pools: async () => (await this.#directory.senderCertificate()).pools,
    });
  }

  /**
   * Asks the server whether this device was remotely wiped. A command that verifies (a `wipe`
   * object signed under the pinned organisation root, naming this device) destroys the local data
   * key and all data, then the signed report is sent; any other command (and every command, for a
   * device without a root) is reported with `wipe-refused` and changes nothing. Resolves `true`
   * when the client is now wiped.
   */
  async checkWipe(): Promise<boolean> {
    return this.#wipe.check();
  }

  /**
   * Verifies and carries out a wipe command (see {@link CloisterClient.checkWipe}); a refused one
   * is `WipeCommandError` (and a `wipe-refused` event).
   */
  async applyWipeCommand(commandBytes: Uint8Array): Promise<void> {
    return this.#wipe.apply(commandBytes);
  }

  /** Whether (and when) this client was wiped, and whether the server has the report. */
  async wipeStatus(): Promise<WipeStatus> {
    return wipeStatus(this.#ctx);
  }

  // ---- sending -----------------------------------------------------------------------------------

  /** Sends a text message; resolves once it is stored and queued (delivery follows). */
  async sendText(to: Recipient, text: string, options: SendOptions = {}): Promise<ClientMessage> {
    return this.#messaging.sendText(to, text, options);
  }

  /**
   * Encrypts a file (streaming, 64 KiB chunks), uploads the ciphertext and sends the reference.
   * Refused with `ForbiddenError` when the policy disables `files.send`.
   */
  async sendFile(to: Recipient, file: OutgoingFile, options: SendOptions = {}): Promise<ClientMessage> {
    return this.#files.sendFile(to, file, options);
  }

  /** Downloads, checks (digest) and decrypts the file of a file message. */
  async downloadFile(
    file: FileReference,
    options: { readonly onProgress?: (progress: TransferProgress) => void } = {},
  ): Promise<Uint8Array> {
    return this.#files.downloadFile(file, options);
  }

  /** Sends read receipts for messages of a conversation (received ones only). */
  async markRead(conversationId: ConversationId, ids: readonly MessageId[]): Promise<void> {
    return this.#messaging.markRead(conversationId, ids);
  }

  // ---- groups ----------------------------------------------------------------------------------

  /** Creates a group with this user and `members`; resolves its conversation and group id. */
  async createGroup(
    name: string,
    members: readonly string[],
  ): Promise<{ conversationId: ConversationId; groupId: string; state: GroupState }> {
    return this.#groups.create(name, members);
  }

  /** Adds members to a group this user administers. */
  async addMembers(group: string, members: readonly string[]): Promise<GroupState> {
    return this.#groups.changeMembers(group, 'add', members);
  }

  /** Removes members from a group this user administers; they get the change, then nothing more. */
  async removeMembers(group: string, members: readonly string[]): Promise<GroupState> {
    return this.#groups.changeMembers(group, 'remove', members);
  }

  /** A group this device knows: its name, members, admins and whether this user is still in it. */
  async group(
    group: string,
  ): Promise<{ readonly name: string; readonly state: GroupState; readonly active: boolean } | undefined> {
    return this.#groups.get(group);
  }

  // ---- history and conversations ---------------------------------------------------------------

  /** Conversations, most recent activity first. */
  async conversations(options?: PageOptions): Promise<Page<Conversation>> {
    return local.conversations(this.#ctx, options);
  }

  /** Messages of a conversation, newest first, with paging. Expired messages never appear. */
  async history(conversationId: ConversationId, options?: PageOptions): Promise<Page<ClientMessage>> {
    return local.history(this.#ctx, conversationId, options);
  }

  /** Sets the disappearing-message timer of a conversation (ms, or `null` for none). */
  async setDisappearingTimer(conversationId: ConversationId, timerMs: number | null): Promise<void> {
    return local.setDisappearingTimer(this.#ctx, conversationId, timerMs);
  }

  /** Deletes expired messages, files and markers now; emits `expired` when rows went. */
  async purgeExpired(): Promise<number> {
    return local.purgeExpired(this.#ctx);
  }

  // ---- identities ------------------------------------------------------------------------------

  /**
   * The safety number between this user and `user` over every device on both users' signed
   * device lists (60 digits and 65 bytes for a QR code); it changes when either adds a device.
   */
  async safetyNumber(user: string): Promise<SafetyNumber> {
    return this.#identities.safetyNumber(user);
  }

  /**
   * Compares a safety number read from the other person's screen (60 digits, spaces allowed) or
   * scanned (65 bytes) with the computed one, in constant time; marks the user verified when they
   * match. A verified user whose identity later changes is held (`identity-held`) until
   * {@link CloisterClient.acceptIdentityChange}.
   */
  async verifySafetyNumber(user: string, scanned: string | Uint8Array): Promise<boolean> {
    return this.#identities.verifySafetyNumber(user, scanned);
  }

  /** Whether `user` is verified, whether a changed identity is held, and how much waits in quarantine. */
  async identityStatus(user: string): Promise<IdentityStatus> {
    return this.#identities.status(user);
  }

  /**
   * Accepts the changed identity of a verified user after `identity-held`: sending resumes and
   * the messages held from the new identity are processed. The user is no longer verified.
   * Resolves false when nothing was held.
   */
  async acceptIdentityChange(user: string): Promise<boolean> {
    return this.#identities.acceptChange(user);
  }

  // ---- devices -----------------------------------------------------------------------------------

  /**
   * The code this device shows so that another device of the same user can link it (text for
   * typing, or for a QR code). A device receives nothing until it is linked.
   */
  async linkCode(): Promise<string> {
    return this.#devices.linkCode();
  }

  /**
   * Links the device that shows `code` (see {@link CloisterClient.linkCode}): signs the user's
   * next device list with it added. Peers and the user's other devices see `device-added`.
   */
  async linkDevice(code: string): Promise<LinkStatus> {
    return this.#devices.link(code);
  }

  /**
   * Removes a lost or replaced device of this user from the signed list (another device of the
   * user removes it; a device cannot remove itself). Peers stop encrypting to it once they fetch
   * the list (`device-removed`). Block or wipe it on the server too, so it stops fetching.
   */
  async unlinkDevice(deviceId: number): Promise<LinkStatus> {
    return this.#devices.unlink(deviceId);
  }

  /**
   * Where this device stands on its user's signed list (asks the server); the first device of a
   * user publishes the first list here. Emits `device-linked` once this device is on it.
   */
  async linkStatus(): Promise<LinkStatus> {
    return this.#devices.status();
  }

  // ---- the outbox ------------------------------------------------------------------------------

  /** Sends everything due in the outbox now; resolves when the outbox has nothing due. */
  async flush(): Promise<void> {
    this.#outbox.kick();
    await this.idle();
  }
}
