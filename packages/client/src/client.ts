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
import { getProvider, ValidationError } from '@cloister/crypto';
import {
  type ConversationId,
  type FileReference,
  type MessageId,
  rootFingerprint,
  userId as toUserId,
  type UserId,
} from '@cloister/protocol';
import {
  type ComplianceDeclaration,
  capabilities,
  declareCompliance,
  emitCapabilitiesIfChanged,
  reportCompliance,
} from './compliance.js';
import { DeliverySocket } from './connection.js';
import { ClientContext, type Listener } from './context.js';
import {
  type ArchiveState,
  archiveGapCount,
  type Capabilities,
  type ClientEvent,
  type ClientMessage,
  type ClientPolicy,
  type ConversationArchiveState,
  checkTimer,
  conversationArchiveState,
  conversationDestination,
  peerPools,
  policyForConversation,
  resolveRecipient,
} from './core/index.js';
import { Devices, type LinkStatus } from './devices.js';
import { Directory } from './directory.js';
import { type EnrolOptions, enrol, forget, me, unlock } from './enrolment.js';
import { Files } from './files.js';
import { Groups } from './groups.js';
import * as local from './history.js';
import { Identities, type IdentityStatus } from './identities.js';
import { combineOverrides, type ManagedEnrolOptions, prepareManagedEnrolment } from './managed-config.js';
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
import { expectOk } from './transport/common.js';
import { NetworkError } from './transport/errors.js';
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

/**
 * The Cloister client SDK. Create it with `createClient` (of the entry your runtime uses).
 *
 * @example
 * ```ts
 * import { createClient } from '@cloister/client';
 * import { createPGliteAdapter } from '@cloister/storage/sql';
 * const client = await createClient({ server: { url, pin }, storage: await createPGliteAdapter({ dataDir: './cloister-data' }) });
 * await client.unlock('4711-2023');
 * client.on('message', (e) => console.log(e.message.from.userId, e.message.content.body.type));
 * await client.start();
 * await client.sendText({ user: 'bob' }, 'hello');
 * ```
 */
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
  /** Whether `start` found the server unreachable and still owes the steps of `#prepare`. */
  #unprepared = false;
  #preparing: Promise<'done' | 'wiped' | NetworkError> | undefined;

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
      onOnline: () => {
        // Back online after an offline start: what start could not do, then what was queued.
        if (this.#unprepared && ctx.started) void this.#prepare().then(kick, () => undefined);
      },
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
      pools: async () => (await this.#directory.senderCertificate()).pools,
      onBroadcasts: (ids) => {
        for (const id of ids) void this.#broadcastReceipt(id, 'delivered').catch(() => undefined);
      },
    });
    const checkKnown = (users: readonly UserId[]) => this.#directory.checkKnown(users);
    this.#messaging = new Messaging(
      ctx,
      kick,
      checkKnown,
      async () => (await this.#directory.senderCertificate()).pools,
    );
    this.#files = new Files(ctx, this.#messaging);
    this.#groups = new Groups(ctx, kick, checkKnown);
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
   *
   * @example
   * ```ts
   * const { rootFingerprint } = await client.organisation();
   * console.log(rootFingerprint ?? 'no organisation root: no archive, wipe or broadcast is accepted');
   * ```
   */
  async organisation(): Promise<{ readonly rootFingerprint: string | null }> {
    const root = this.#ctx.ready().registration.organisationRoot;
    return { rootFingerprint: root === undefined ? null : await rootFingerprint(this.#ctx.provider, root) };
  }

  /**
   * Tells the organisation that the user read a broadcast (`id` from its `broadcast` event): a
   * content-free receipt the server counts once per device (spec/broadcast.md §6); the sender sees
   * counts only. Needs the client unlocked and the server reachable (`NetworkError` otherwise);
   * an id the server did not queue for this device is `NotFoundError`.
   *
   * @example
   * ```ts
   * client.on('broadcast', async ({ broadcast }) => {
   *   console.log(`notice from ${broadcast.from}: ${broadcast.text}`); // once the user has seen it:
   *   await client.markBroadcastRead(broadcast.id);
   * });
   * ```
   */
  async markBroadcastRead(id: string): Promise<void> {
    await this.#broadcastReceipt(id, 'read');
  }

  async #broadcastReceipt(id: string, state: 'delivered' | 'read'): Promise<void> {
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(id)) {
      throw new ValidationError('id', 'a broadcast id (base64url of 16 bytes)');
    }
    const u = this.#ctx.ready();
    expectOk(
      await u.transport.request('POST', '/v1/broadcasts/receipts', { json: { broadcastId: id, state } }),
    );
  }

  /**
   * Whether the organisation archives messages, and when it does the archive key's fingerprint
   * (`cloister-archive:v1:…`), the scope (who and when; absent: everyone, always) and the
   * auditors' description: from the tenant layer this device verified against its organisation
   * root, as of the last policy fetch. Show it to the user; an `archive` event reports every
   * change. Whether one conversation is archived is `conversationArchive(conversationId)`.
   *
   * @example
   * ```ts
   * const archive = client.archive();
   * if (archive.on) console.log(`messages are archived to ${archive.keyFingerprint}`, archive.scope ?? 'everyone');
   * ```
   */
  archive(): ArchiveState {
    return this.#ctx.archive;
  }

  /**
   * Whether a message sent now in one conversation (`d:<user>` or `g:<group hex>`) is sealed to
   * the organisation's archive, and why: `self` (this user is in the signed scope), `peer` (a
   * recipient is: listed, or in a listed pool as its last certificate named), `all` (the scope
   * names nobody: everyone is archived); with the key's fingerprint, the window's end and the
   * auditors' description. What apps show in the conversation ("Archiving is on for this
   * conversation · key cloister-archive:v1:…"). Needs the client unlocked.
   *
   * @example
   * ```ts
   * const state = await client.conversationArchive('d:bob');
   * if (state.on) console.log(`Archiving is on for this conversation · key ${state.keyFingerprint} (${state.reason})`);
   * ```
   */
  async conversationArchive(conversationId: ConversationId | string): Promise<ConversationArchiveState> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    const archive = ctx.archive;
    if (!archive.on) return { on: false };
    const selfPools = await this.#messaging.selfPools();
    // A peer whose pools this device does not know yet is looked up first (the directory answer
    // states them), so the indicator says what the next message will do.
    const to = conversationDestination(String(conversationId));
    if (to !== undefined && 'user' in to && (ctx.policy?.archiveScope?.pools?.length ?? 0) > 0) {
      const known = await u.stores.transaction((t) => peerPools(t.tx, to.user));
      if (known === undefined) await this.#directory.checkKnown([toUserId(to.user)]).catch(() => undefined);
    }
    return u.stores.transaction((t) =>
      conversationArchiveState(u.self, t.tx, {
        policy: ctx.policy,
        conversationId,
        now: ctx.now(),
        selfPools,
        keyFingerprint: archive.keyFingerprint,
      }),
    );
  }

  /**
   * How many archive gaps this device has noticed: messages the signed archive scope covers that
   * arrived without the `archived` mark (each was also an `archive-gap` event). Needs the client
   * unlocked.
   *
   * @example
   * ```ts
   * if ((await client.archiveGaps()) > 0) console.warn('some messages were not archived by their senders');
   * ```
   */
  async archiveGaps(): Promise<number> {
    const u = this.#ctx.ready();
    return u.stores.transaction((t) => archiveGapCount(t.tx));
  }

  /**
   * The capability map under the current policy (`spec/restrictions.md` §4): for each restriction
   * its value, whether the SDK enforces it or the app must, and whether the app declared it does.
   * With a `conversationId`, the map in that conversation: a conversation group the organisation
   * restricted by its group id has its own (`spec/restrictions.md` §1.2; `groups` lists them), every
   * other conversation the user-wide one. A change, in any group too, is a `capabilities` event.
   *
   * @example
   * ```ts
   * const { map, appMustEnforce } = client.capabilities();
   * if (!map.screenshots.value) console.log('turn on the window flag that blocks screen capture');
   * if (map['notifications.preview'].value === 'none') console.log('notifications say only "new message"');
   * console.log(appMustEnforce); // restrictions in force the app has not declared it enforces
   * const inChat = client.capabilities(message.conversationId);
   * if (!inChat.map['clipboard.copy'].value) console.log('no copy menu in this conversation');
   * ```
   */
  capabilities(conversationId?: ConversationId): Capabilities {
    return capabilities(this.#ctx, conversationId);
  }

  /**
   * Declares which app-enforced restrictions the app enforces (`screenshots`, `clipboard.copy`,
   * `notifications.preview`), with its version and platform; the device's compliance report says so
   * from now on (sent at once when the client is ready, and after every policy). `ValidationError`
   * for a name the SDK enforces or does not know.
   *
   * @example
   * ```ts
   * await client.declareCompliance({
   *   enforces: { screenshots: true, 'clipboard.copy': true, 'notifications.preview': true },
   *   appVersion: 'ward-app/2.4.1',
   *   platform: 'Android 15',
   * });
   * ```
   */
  async declareCompliance(declaration: ComplianceDeclaration): Promise<void> {
    declareCompliance(this.#ctx, declaration);
    emitCapabilitiesIfChanged(this.#ctx);
    if (this.#ctx.status === 'ready') await reportCompliance(this.#ctx).catch(() => undefined);
  }

  /**
   * Reads the vault to learn whether the client is enrolled, locked or wiped (`createClient`
   * already did).
   *
   * @example
   * ```ts
   * const status = await client.open(); // 'unenrolled', 'locked', 'ready' or 'wiped'
   * ```
   */
  async open(): Promise<ClientStatus> {
    const ctx = this.#ctx;
    ctx.provider ??= await getProvider();
    // Fails early on a URL or pin the transport refuses (and without any transport at all).
    ctx.factory()({ url: ctx.options.server.url, pin: ctx.options.server.pin });
    ctx.status = await vaultStatus(ctx);
    return ctx.status;
  }

  /**
   * Subscribes to one kind of event; returns the unsubscribe function.
   *
   * @example
   * ```ts
   * const off = client.on('message', (e) => console.log(`from ${e.message.from.userId}`));
   * client.on('identity-held', (e) => console.warn(`${e.userId}'s identity changed: confirm before sending`));
   * off(); // stop listening
   * ```
   */
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
   *
   * @example
   * ```ts
   * if (client.status === 'unenrolled') {
   *   const { userId, deviceId } = await client.enroll(code, { pin: '4711-2023' });
   * }
   * ```
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
    return this.#enrol(code, options);
  }

  /** `enroll` with every option of the enrolment module (the managed path adds `tenant`). */
  async #enrol(code: string, options: EnrolOptions): Promise<{ userId: UserId; deviceId: DeviceId }> {
    const { registration, identity, registrationId } = await enrol(this.#ctx, code, options);
    await publishKeys(this.#ctx, identity, registrationId);
    // The user's first device publishes the first signed device list; any later one waits to be
    // linked. Offline, `start` does it.
    await this.#devices.ensureListed().catch(() => undefined);
    return { userId: registration.userId, deviceId: registration.deviceId };
  }

  /**
   * Enrols this device from the MDM configuration with no user action (`spec/managed-config.md`
   * §6): parses it (`ValidationError` naming the bad key, never its value), checks that this
   * client talks to the server and pin it names, pins its organisation root (the server's answer
   * must carry that root, else `InvalidKeyError` and nothing is stored), enrols with its managed
   * token, publishes the prekeys and applies its policy overrides as local narrowing. The data key
   * is wrapped under `secretPin(options.secret)` (a platform-keystore secret of at least 32 bytes)
   * or under `options.pin`. A spent or expired token is `UnauthenticatedError`.
   *
   * @example
   * ```ts
   * import { clientOptionsFromManagedConfig, createClient, secretPin } from '@cloister/client';
   * // deliveredConfig: NSUserDefaults `com.apple.configuration.managed` or Android's restrictions
   * const managed = await createClient(clientOptionsFromManagedConfig(deliveredConfig, adapter));
   * if ((await managed.open()) === 'unenrolled') {
   *   await managed.enrollFromManagedConfig(deliveredConfig, { secret: keystoreSecret });
   * } else {
   *   await managed.unlock(secretPin(keystoreSecret));
   * }
   * ```
   */
  async enrollFromManagedConfig(
    config: unknown,
    options: ManagedEnrolOptions,
  ): Promise<{ userId: UserId; deviceId: DeviceId }> {
    const { config: c, pin } = prepareManagedEnrolment(config, this.#ctx.options.server, options);
    const enrolled = await this.#enrol(c.enrolmentToken, {
      pin,
      organisationRoot: c.organisationRoot,
      tenant: c.tenant,
    });
    this.#ctx.managedPolicy = combineOverrides(this.#ctx.managedPolicy, c.policy);
    return enrolled;
  }

  /**
   * Opens the local data with `pin`. A wrong PIN is `WrongPin` and counts; after
   * `maxPinAttempts` wrong PINs in a row the local data is destroyed. Purges expired rows and
   * checks for a pending remote wipe before returning.
   *
   * @example
   * ```ts
   * import { WrongPin } from '@cloister/crypto';
   * try {
   *   await client.unlock('4711-2023');
   * } catch (e) {
   *   if (e instanceof WrongPin) console.warn('wrong PIN');
   *   else throw e;
   * }
   * ```
   */
  async unlock(pin: string): Promise<void> {
    if (this.#ctx.status === 'ready') return;
    await unlock(this.#ctx, pin);
    await this.purgeExpired();
  }

  /**
   * Re-wraps the data key under a new PIN (the data is not re-encrypted).
   *
   * @example
   * ```ts
   * await client.changePin('4711-2023', '9052-1187');
   * ```
   */
  async changePin(oldPin: string, newPin: string): Promise<void> {
    await changePin(this.#ctx, oldPin, newPin);
  }

  /**
   * Stops everything and forgets the keys in memory; `unlock` opens again.
   *
   * @example
   * ```ts
   * await client.lock(); // e.g. when the app goes to the background
   * console.log(client.status); // 'locked'
   * ```
   */
  async lock(): Promise<void> {
    await this.stop();
    forget(this.#ctx);
  }

  /**
   * Locks and closes the storage adapter.
   *
   * @example
   * ```ts
   * process.on('SIGTERM', () => void client.close());
   * ```
   */
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
   *
   * It works offline: when the server cannot be reached (`NetworkError`), `start` resolves at once
   * with the client usable from its local state (history, conversations, sending into the outbox),
   * emits `connection` `offline`, and keeps connecting with backoff; once the socket opens
   * (`online`) the steps that need the server (wipe check, prekeys, device list, policy) run and
   * the outbox sends what was queued.
   *
   * @example
   * ```ts
   * client.on('connection', (e) => console.log(e.state)); // 'online', 'synced', 'offline'
   * await client.start();
   * ```
   */
  async start(): Promise<void> {
    const ctx = this.#ctx;
    ctx.ready();
    if (ctx.started) return;
    ctx.started = true;
    const prepared = await this.#prepare();
    if (prepared === 'wiped') return;
    const opened = this.#socket.open();
    // Offline, the socket keeps trying in the background; `#prepare` runs again once it opens.
    if (prepared === 'done') await opened;
    else this.#socket.offline(prepared);
    const interval = ctx.options.purgeIntervalMs ?? 60_000;
    this.#purgeTimer = setInterval(() => void this.purgeExpired().catch(() => undefined), interval);
    this.#purgeTimer.unref?.();
    this.#outbox.kick();
  }

  /**
   * The steps of `start` that need the server: the wipe check (a wiped client goes no further),
   * the prekeys, the device list, signed prekey rotation and the policy. `offline` when the server
   * could not be reached (resolves its `NetworkError`): they are left for the socket's next
   * opening. One run at a time.
   */
  #prepare(): Promise<'done' | 'wiped' | NetworkError> {
    this.#preparing ??= (async () => {
      const ctx = this.#ctx;
      try {
        if (await this.checkWipe()) return 'wiped';
        await ensureKeysPublished(ctx);
      } catch (e) {
        if (e instanceof NetworkError) {
          this.#unprepared = true;
          return e;
        }
        throw e;
      }
      this.#unprepared = false;
      await this.#devices.ensureListed().catch(() => undefined);
      await rotateSignedPreKey(ctx).catch(() => undefined);
      await this.refreshPolicy().catch(() => undefined);
      return 'done';
    })().finally(() => {
      this.#preparing = undefined;
    });
    return this.#preparing;
  }

  /**
   * Closes the socket and stops the timers; queued messages stay in the outbox.
   *
   * @example
   * ```ts
   * await client.stop(); // start() resumes, sending what was queued
   * ```
   */
  async stop(): Promise<void> {
    this.#ctx.started = false;
    this.#socket.close();
    if (this.#purgeTimer !== undefined) clearInterval(this.#purgeTimer);
    this.#purgeTimer = undefined;
    await this.#outbox.stop();
    await this.#socket.queue.catch(() => undefined);
  }

  /**
   * Resolves once everything received so far has been processed and the outbox is idle.
   *
   * @example
   * ```ts
   * await client.sendText({ user: 'bob' }, 'hello');
   * await client.idle(); // sent (or given up on) and every delivery so far handled
   * ```
   */
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
   *
   * @example
   * ```ts
   * const policy = await client.refreshPolicy();
   * if (!featureEnabled(policy, 'files.send')) console.log('file sending is turned off');
   * ```
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
   *
   * @example
   * ```ts
   * if (await client.checkWipe()) console.log('this device was wiped by the organisation');
   * ```
   */
  async checkWipe(): Promise<boolean> {
    return this.#wipe.check();
  }

  /**
   * Verifies and carries out a wipe command (see {@link CloisterClient.checkWipe}); a refused one
   * is `WipeCommandError` (and a `wipe-refused` event).
   *
   * @example
   * ```ts
   * import { WipeCommandError } from '@cloister/crypto';
   * try {
   *   await client.applyWipeCommand(bytes); // a command delivered out of band, e.g. by MDM
   * } catch (e) {
   *   if (!(e instanceof WipeCommandError)) throw e; // refused: nothing was wiped
   * }
   * ```
   */
  async applyWipeCommand(commandBytes: Uint8Array): Promise<void> {
    return this.#wipe.apply(commandBytes);
  }

  /**
   * Whether (and when) this client was wiped, and whether the server has the report.
   *
   * @example
   * ```ts
   * const s = await client.wipeStatus();
   * if (s.wiped) console.log(`wiped at ${new Date(s.wipedAt).toISOString()}, reported: ${s.reported}`);
   * ```
   */
  async wipeStatus(): Promise<WipeStatus> {
    return wipeStatus(this.#ctx);
  }

  // ---- sending -----------------------------------------------------------------------------------

  /**
   * Sends a text message; resolves once it is stored and queued (delivery follows).
   *
   * @example
   * ```ts
   * const sent = await client.sendText({ user: 'bob' }, 'hello', { expireTimerSeconds: 86_400 });
   * client.on('sent', (e) => { if (e.messageId === sent.id) console.log(`delivered to ${e.devices} devices`); });
   * ```
   */
  async sendText(to: Recipient, text: string, options: SendOptions = {}): Promise<ClientMessage> {
    if (options.expireTimerSeconds !== undefined) {
      const policy = policyForConversation(this.#ctx.policy, resolveRecipient(to).conversationId);
      checkTimer(policy, options.expireTimerSeconds * 1000);
    }
    return this.#messaging.sendText(to, text, options);
  }

  /**
   * Forwards the text or file of a message to `to` (a file by its reference: nothing is downloaded
   * or uploaded again). Refused with `ForbiddenError` when the policy turns `messages.forward` off,
   * and for a file when `files.send` or `media.send` would refuse it.
   *
   * @example
   * ```ts
   * await client.forwardMessage(message, { user: 'carol' });
   * ```
   */
  async forwardMessage(
    message: ClientMessage,
    to: Recipient,
    options: SendOptions = {},
  ): Promise<ClientMessage> {
    return this.#files.forwardMessage(message, to, options);
  }

  /**
   * Encrypts a file (streaming, 64 KiB chunks), uploads the ciphertext and sends the reference.
   * Refused with `ForbiddenError` when the policy disables `files.send`, when `media.send` does
   * not allow the file's media type, or when the timer is outside `disappearing.timer`.
   *
   * @example
   * ```ts
   * await client.sendFile(
   *   { user: 'bob' },
   *   { data: bytes, name: 'scan.pdf', mediaType: 'application/pdf' },
   *   { onProgress: (p) => console.log(p.phase, `${p.bytes}/${p.total}`) },
   * );
   * ```
   */
  async sendFile(to: Recipient, file: OutgoingFile, options: SendOptions = {}): Promise<ClientMessage> {
    return this.#files.sendFile(to, file, options);
  }

  /**
   * Downloads, checks (digest) and decrypts the file of a file message. Refused with
   * `ForbiddenError` when `files.download` is off: given the message, in its conversation (a
   * restricted group's own policy); given only its file reference, in `options.conversationId`
   * when set, else user-wide. Pass the message (or the conversation) for files of group conversations.
   *
   * @example
   * ```ts
   * const body = message.content.body;
   * if (body.type === 'file') {
   *   const data = await client.downloadFile(message, { onProgress: (p) => console.log(p.bytes, p.total) });
   *   const same = await client.downloadFile(body.file, { conversationId: message.conversationId });
   * }
   * ```
   */
  async downloadFile(
    file: FileReference | ClientMessage,
    options: {
      readonly onProgress?: (progress: TransferProgress) => void;
      readonly conversationId?: ConversationId;
    } = {},
  ): Promise<Uint8Array> {
    return this.#files.downloadFile(file, options);
  }

  /**
   * Sends read receipts for messages of a conversation (received ones only).
   *
   * @example
   * ```ts
   * await client.markRead(message.conversationId, [message.id]);
   * ```
   */
  async markRead(conversationId: ConversationId, ids: readonly MessageId[]): Promise<void> {
    return this.#messaging.markRead(conversationId, ids);
  }

  // ---- groups ----------------------------------------------------------------------------------

  /**
   * Creates a group with this user and `members`; resolves its conversation and group id.
   *
   * @example
   * ```ts
   * const { groupId } = await client.createGroup('Ward 3', ['bob', 'carol']);
   * await client.sendText({ group: groupId }, 'hello all');
   * ```
   */
  async createGroup(
    name: string,
    members: readonly string[],
  ): Promise<{ conversationId: ConversationId; groupId: string; state: GroupState }> {
    return this.#groups.create(name, members);
  }

  /**
   * Adds members to a group this user administers.
   *
   * @example
   * ```ts
   * const state = await client.addMembers(group, ['dave']);
   * ```
   */
  async addMembers(group: string, members: readonly string[]): Promise<GroupState> {
    return this.#groups.changeMembers(group, 'add', members);
  }

  /**
   * Removes members from a group this user administers; they get the change, then nothing more.
   *
   * @example
   * ```ts
   * await client.removeMembers(group, ['carol']);
   * ```
   */
  async removeMembers(group: string, members: readonly string[]): Promise<GroupState> {
    return this.#groups.changeMembers(group, 'remove', members);
  }

  /**
   * A group this device knows: its name, members, admins and whether this user is still in it.
   *
   * @example
   * ```ts
   * const g = await client.group(group);
   * if (g !== undefined && !g.active) console.log(`no longer a member of ${g.name}`);
   * ```
   */
  async group(
    group: string,
  ): Promise<{ readonly name: string; readonly state: GroupState; readonly active: boolean } | undefined> {
    return this.#groups.get(group);
  }

  // ---- history and conversations ---------------------------------------------------------------

  /**
   * Conversations, most recent activity first.
   *
   * @example
   * ```ts
   * const { items, next } = await client.conversations({ limit: 20 });
   * ```
   */
  async conversations(options?: PageOptions): Promise<Page<Conversation>> {
    return local.conversations(this.#ctx, options);
  }

  /**
   * Messages of a conversation, newest first, with paging. Expired messages never appear.
   *
   * @example
   * ```ts
   * const page = await client.history(message.conversationId, { limit: 50 });
   * const older = page.next === undefined ? undefined : await client.history(message.conversationId, { cursor: page.next });
   * ```
   */
  async history(conversationId: ConversationId, options?: PageOptions): Promise<Page<ClientMessage>> {
    return local.history(this.#ctx, conversationId, options);
  }

  /**
   * Sets the disappearing-message timer of a conversation (ms, or `null` for none). A timer
   * outside the policy's `disappearing.timer` bounds is refused with `ForbiddenError`.
   *
   * @example
   * ```ts
   * await client.setDisappearingTimer(message.conversationId, 7 * 86_400_000); // one week
   * ```
   */
  async setDisappearingTimer(conversationId: ConversationId, timerMs: number | null): Promise<void> {
    if (typeof timerMs === 'number')
      checkTimer(policyForConversation(this.#ctx.policy, conversationId), timerMs);
    return local.setDisappearingTimer(this.#ctx, conversationId, timerMs);
  }

  /**
   * Deletes expired messages, files and markers now; emits `expired` when rows went. Resolves
   * how many rows were deleted.
   *
   * @example
   * ```ts
   * const rows = await client.purgeExpired();
   * ```
   */
  async purgeExpired(): Promise<number> {
    return local.purgeExpired(this.#ctx);
  }

  // ---- identities ------------------------------------------------------------------------------

  /**
   * The safety number between this user and `user` over every device on both users' signed
   * device lists (60 digits and 65 bytes for a QR code); it changes when either adds a device.
   *
   * @example
   * ```ts
   * const { digits } = await client.safetyNumber('bob');
   * console.log(digits.match(/\d{5}/g)?.join(' ')); // 12 groups of 5 to compare
   * ```
   */
  async safetyNumber(user: string): Promise<SafetyNumber> {
    return this.#identities.safetyNumber(user);
  }

  /**
   * Compares a safety number read from the other person's screen (60 digits, spaces allowed) or
   * scanned (65 bytes) with the computed one, in constant time; marks the user verified when they
   * match. A verified user whose identity later changes is held (`identity-held`) until
   * {@link CloisterClient.acceptIdentityChange}.
   *
   * @example
   * ```ts
   * const match = await client.verifySafetyNumber('bob', bytes); // 65 bytes scanned from Bob's QR code
   * ```
   */
  async verifySafetyNumber(user: string, scanned: string | Uint8Array): Promise<boolean> {
    return this.#identities.verifySafetyNumber(user, scanned);
  }

  /**
   * Whether `user` is verified, whether a changed identity is held, and how much waits in quarantine.
   *
   * @example
   * ```ts
   * const { verified, held, quarantined } = await client.identityStatus('bob');
   * ```
   */
  async identityStatus(user: string): Promise<IdentityStatus> {
    return this.#identities.status(user);
  }

  /**
   * Accepts the changed identity of a verified user after `identity-held`: sending resumes and
   * the messages held from the new identity are processed. The user is no longer verified.
   * Resolves false when nothing was held.
   *
   * @example
   * ```ts
   * client.on('identity-held', async (e) => {
   *   // after the user confirmed the change in the app's own dialog:
   *   await client.acceptIdentityChange(e.userId);
   * });
   * ```
   */
  async acceptIdentityChange(user: string): Promise<boolean> {
    return this.#identities.acceptChange(user);
  }

  // ---- devices -----------------------------------------------------------------------------------

  /**
   * The code this device shows so that another device of the same user can link it (text for
   * typing, or for a QR code). A device receives nothing until it is linked.
   *
   * @example
   * ```ts
   * const shown = await client.linkCode(); // display it on the new device
   * ```
   */
  async linkCode(): Promise<string> {
    return this.#devices.linkCode();
  }

  /**
   * Links the device that shows `code` (see {@link CloisterClient.linkCode}): signs the user's
   * next device list with it added. Peers and the user's other devices see `device-added`.
   *
   * @example
   * ```ts
   * async function onScanned(linkCode: string): Promise<void> {
   *   const { devices } = await client.linkDevice(linkCode); // on a device that is already linked
   *   console.log(`devices on the list: ${devices.join(', ')}`);
   * }
   * ```
   */
  async linkDevice(code: string): Promise<LinkStatus> {
    return this.#devices.link(code);
  }

  /**
   * Removes a lost or replaced device of this user from the signed list (another device of the
   * user removes it; a device cannot remove itself). Peers stop encrypting to it once they fetch
   * the list (`device-removed`). Block or wipe it on the server too, so it stops fetching.
   *
   * @example
   * ```ts
   * const status = await client.unlinkDevice(3); // the lost phone's device id
   * ```
   */
  async unlinkDevice(deviceId: number): Promise<LinkStatus> {
    return this.#devices.unlink(deviceId);
  }

  /**
   * Where this device stands on its user's signed list (asks the server); the first device of a
   * user publishes the first list here. Emits `device-linked` once this device is on it.
   *
   * @example
   * ```ts
   * const { linked, epoch } = await client.linkStatus();
   * if (!linked) console.log('link this device from another device of the same user');
   * ```
   */
  async linkStatus(): Promise<LinkStatus> {
    return this.#devices.status();
  }

  // ---- the outbox ------------------------------------------------------------------------------

  /**
   * Sends everything due in the outbox now; resolves when the outbox has nothing due.
   *
   * @example
   * ```ts
   * await client.flush(); // e.g. before the app is suspended
   * ```
   */
  async flush(): Promise<void> {
    this.#outbox.kick();
    await this.idle();
  }
}
