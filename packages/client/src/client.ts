/**
 * `CloisterClient`: the shell around the sans-IO core. It owns the storage (a raw adapter whose
 * only plaintext rows are the PIN-wrapped data key and the wipe marker; everything else goes
 * through the encryption-at-rest wrapper), the transport (pinned), the delivery socket, the
 * outbox loop, the retention timer and the typed events. See `spec/client.md`.
 *
 * @module
 */
import {
  CloisterError,
  type CryptoProvider,
  computeSafetyNumber,
  concatBytes,
  DecodeError,
  DecryptionFailed,
  type DeviceId,
  type DeviceIdentity,
  decodeSenderCertificate,
  decodeWrappedKey,
  decryptFileStream,
  encodeWrappedKey,
  encryptFileStream,
  equalBytes,
  ForbiddenError,
  fileCiphertextLength,
  fromHex,
  type GroupChange,
  type GroupState,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  getProvider,
  kemPreKeyId,
  LimitError,
  oneTimePreKeyId,
  type PinWrapOptions,
  type PreKeyBundle,
  changePin as rewrapPin,
  type SafetyNumber,
  type SenderCertificate,
  sealForArchive,
  signedPreKeyId,
  signSuites,
  signWipeReport,
  deviceId as toDeviceId,
  toHex,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  registrationId as toRegistrationId,
  toSignedPreKeyPublic,
  UsageError,
  unwrapDataKey,
  utf8,
  ValidationError,
  verifyWipeCommand,
  WrongPin,
  wipe,
  wrapDataKey,
} from '@cloister/crypto';
import {
  type Content,
  type ConversationId,
  decodeContent,
  decodePreKeyBundle,
  encodeContent,
  encodePreKeyBundle,
  encodeSealedDeliveryBatch,
  type FileReference,
  type MessageId,
  negotiateSuiteForBundle,
  type Suite,
  userId as toUserId,
  type UserId,
} from '@cloister/protocol';
import {
  adapterExecutor,
  type EncryptedAdapterHandle,
  openEncryptedAdapter,
  type StorageAdapter,
  type StorageTx,
  txExecutor,
} from '@cloister/storage';
import { fromBase64Url, toBase64Url } from './_base64.js';
import {
  archiveConversationId,
  type ClientEvent,
  type ClientMessage,
  type ClientPolicy,
  type CoreSelf,
  type CoreTx,
  type DirectoryDevice,
  decodeJob,
  deliveryId,
  directConversationId,
  enqueueJob,
  featureEnabled,
  groupConversationId,
  hasSession,
  loadGroup,
  localMessageId,
  makeGroupChange,
  type OutboxJob,
  receiveDelivery,
  sealForDevice,
} from './core.js';
import { signEnrolmentProofBytes } from './enrolment-proof.js';
import {
  CLIENT_LOCAL_TABLES,
  deleteRecord,
  field,
  getRecord,
  isBytes,
  isNumber,
  isString,
  putRecord,
} from './local.js';
import {
  createOutbox,
  OUTBOX_ORDERED_TABLES,
  type Outbox,
  type OutboxEntry,
  type OutboxOptions,
} from './outbox.js';
import {
  bindClientStores,
  CLIENT_ORDERED_TABLES,
  type ClientStoreSet,
  type Conversation,
  type Page,
  type PageOptions,
} from './store/index.js';
import { type Connection, expectOk, parsePin, type Transport } from './transport/common.js';
import { ServerError } from './transport/errors.js';

/** What creates a transport for the client (default: the Node transport). */
export type TransportFactory = (options: {
  readonly url: string;
  readonly pin: string;
  readonly credential?: Uint8Array;
}) => Transport;

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** The server's base URL and its public-key pin (`sha256/<base64>`), both required. */
  readonly server: { readonly url: string; readonly pin: string };
  /**
   * Where the client keeps its data: any storage adapter (PGlite in a directory for Node, IndexedDB
   * in a browser, memory for tests). The client encrypts every row except its vault.
   */
  readonly storage: StorageAdapter;
  readonly provider?: CryptoProvider;
  readonly transport?: TransportFactory;
  /** Suites this device supports, in preference order; default `['v2', 'static-v1']`. */
  readonly suites?: readonly Suite[];
  /** The clock (ms since the epoch); default `Date.now`. */
  readonly now?: () => number;
  /** Cost of the PIN wrap (scrypt); default the crypto package's default. */
  readonly pinWrap?: PinWrapOptions;
  /** Wrong PINs in a row after which the local data is destroyed; default 10. */
  readonly maxPinAttempts?: number;
  /** One-time prekeys uploaded per batch (default 50) and the count below which a batch is added (default 20). */
  readonly preKeys?: { readonly batch?: number; readonly refillBelow?: number };
  /** Retry schedule of the outbox (`client-outbox.md`); default 1 s doubling up to 5 min, 20 attempts. */
  readonly outbox?: Pick<OutboxOptions, 'backoff' | 'maxAttempts'>;
  /** How often expired rows are purged while running; default 60,000 ms. */
  readonly purgeIntervalMs?: number;
  /** Test hooks: `step(name)` is awaited at each durable step (see `spec/client.md` §7). */
  readonly hooks?: { readonly step?: (name: ClientStep) => void | Promise<void> };
}

/** Points between durable steps at which the crash test stops the client. */
export type ClientStep =
  | 'enqueue:committed'
  | 'send:directory'
  | 'send:encrypted'
  | 'send:submitted'
  | 'send:marked'
  | 'receive:committed'
  | 'receive:acked';

/** Who a message goes to. */
export type Recipient = { readonly user: string } | { readonly group: string };

/** What {@link CloisterClient.sendFile} sends. */
export interface OutgoingFile {
  /** The file: bytes, or a stream with its `size`. */
  readonly data: Uint8Array | ReadableStream<Uint8Array>;
  readonly size?: number;
  readonly name?: string;
  /** `type/subtype`; default `application/octet-stream`. */
  readonly mediaType?: string;
}

/** Progress of a file transfer. */
export interface TransferProgress {
  readonly phase: 'encrypt' | 'upload' | 'download';
  readonly bytes: number;
  readonly total: number;
}

/** Options of the send methods. */
export interface SendOptions {
  /** Disappearing-message timer for this message; default the conversation's. */
  readonly expireTimerSeconds?: number;
  readonly onProgress?: (progress: TransferProgress) => void;
}

/** The client's state. */
export type ClientStatus = 'unenrolled' | 'locked' | 'ready' | 'wiped';

/** What {@link CloisterClient.wipeStatus} reports. */
export type WipeStatus =
  | { readonly wiped: false }
  | {
      readonly wiped: true;
      readonly commandId: string;
      readonly wipedAt: number;
      readonly reported: boolean;
    };

type Listener<E extends ClientEvent['type']> = (event: Extract<ClientEvent, { type: E }>) => void;

const VAULT_KEY = 'data-key';
const VAULT_WIPE = 'wiped';
const VAULT_ATTEMPTS = 'pin-attempts';
const REG_KEY = 'registration';
const DIRECTORY_TTL_MS = 60_000;
const CERT_MARGIN_MS = 60_000;
const PROCESSED_TTL_MS = 45 * 86_400_000;
const MAX_BATCH = 256;
/** First id of the last-resort ML-KEM prekeys (one per signed prekey). */
const LAST_RESORT_BASE = 0x7fff_0000;
/** Age of the newest signed prekey after which `start()` publishes a new one: 7 days. */
export const SIGNED_PREKEY_ROTATION_MS = 7 * 86_400_000;
/** How long a replaced signed prekey is kept for initial messages in flight: 30 days. */
export const SIGNED_PREKEY_KEEP_MS = 30 * 86_400_000;
const b64 = (b: Uint8Array) => toBase64Url(b);

function unbase64url(text: string): Uint8Array {
  const out = fromBase64Url(text);
  if (out === undefined) throw new DecodeError('server.response', 'expected base64url');
  return out;
}

interface Registration {
  readonly tenant: string;
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly mailbox: string;
  readonly credential: Uint8Array;
  readonly tenantPublicKey: Uint8Array;
}

interface Unlocked {
  readonly adapter: EncryptedAdapterHandle;
  readonly stores: ClientStoreSet & { transaction<T>(fn: (t: CoreTx) => Promise<T>): Promise<T> };
  readonly outbox: Outbox;
  readonly self: CoreSelf;
  readonly registration: Registration;
  readonly transport: Transport;
}

/**
 * Creates a client over `options.storage`. Nothing is read until {@link CloisterClient.open}.
 *
 * @example
 * ```ts
 * const client = await createClient({ server: { url, pin }, storage: await createPGliteAdapter({ dataDir }) });
 * if (client.status === 'unenrolled') await client.enroll(token, { pin: '4711-2023' });
 * else await client.unlock('4711-2023');
 * client.on('message', (e) => console.log(e.message.content.body));
 * await client.start();
 * await client.sendText({ user: 'bob' }, 'hello');
 * ```
 */
export async function createClient(options: ClientOptions): Promise<CloisterClient> {
  const client = new CloisterClient(options);
  await client.open();
  return client;
}

/** The Cloister client SDK. Create it with {@link createClient}. */
export class CloisterClient {
  readonly #options: ClientOptions;
  #provider!: CryptoProvider;
  readonly #now: () => number;
  readonly #suites: readonly Suite[];
  #transportFactory: TransportFactory | undefined;
  readonly #listeners = new Map<string, Set<(e: ClientEvent) => void>>();
  #status: ClientStatus = 'unenrolled';
  #unlocked: Unlocked | undefined;
  #connection: Connection | undefined;
  #policy: ClientPolicy | undefined;
  #certificate: { cert: SenderCertificate; expiresAt: number } | undefined;
  #directory = new Map<string, { at: number; devices: DirectoryDevice[] }>();
  #receiveQueue: Promise<void> = Promise.resolve();
  #pending: { serverId: string; envelope: Uint8Array }[] = [];
  #drainScheduled = false;
  #outboxRunning: Promise<void> | undefined;
  #outboxAgain = false;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #purgeTimer: ReturnType<typeof setInterval> | undefined;
  #started = false;
  #wiping: Promise<void> | undefined;
  #closed = false;

  /** @internal Use {@link createClient}. */
  constructor(options: ClientOptions) {
    if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
    if (typeof options.server !== 'object' || options.server === null) {
      throw new ValidationError('server', 'an object with url and pin');
    }
    if (typeof options.server.url !== 'string') throw new ValidationError('server.url', 'an https URL');
    if (typeof options.server.pin !== 'string' || options.server.pin.length === 0) {
      throw new ValidationError('server.pin', "the server's public-key pin (sha256/<base64>)");
    }
    if (typeof options.storage !== 'object' || options.storage === null) {
      throw new ValidationError('storage', 'a StorageAdapter');
    }
    const suites = options.suites ?? ['v2', 'static-v1'];
    if (
      !Array.isArray(suites) ||
      suites.length === 0 ||
      suites.some((s) => s !== 'v2' && s !== 'static-v1')
    ) {
      throw new ValidationError('suites', "a non-empty list of 'v2' and 'static-v1'");
    }
    this.#options = options;
    if (options.provider !== undefined) this.#provider = options.provider;
    this.#now = options.now ?? Date.now;
    this.#suites = [...new Set(suites)];
    this.#transportFactory = options.transport;
    // Fail early on a malformed pin (the transports parse it again, on every connection).
    parsePin(options.server.pin);
  }

  /** `unenrolled`, `locked`, `ready` or `wiped`. */
  get status(): ClientStatus {
    return this.#status;
  }

  /** This device's user and device id, once unlocked. */
  get me(): { readonly userId: UserId; readonly deviceId: DeviceId; readonly tenant: string } {
    const u = this.#ready();
    return {
      userId: u.registration.userId,
      deviceId: u.registration.deviceId,
      tenant: u.registration.tenant,
    };
  }

  /** The policy the server last sent (undefined before the first fetch). */
  get policy(): ClientPolicy | undefined {
    return this.#policy;
  }

  /** Reads the vault to learn whether the client is enrolled, locked or wiped. */
  async open(): Promise<ClientStatus> {
    this.#provider ??= await getProvider();
    if (this.#transportFactory === undefined) {
      // Loaded only when no transport was given, so that a browser bundle never pulls in Node's.
      const { createNodeTransport } = await import('./transport/node.js');
      this.#transportFactory = (o) => createNodeTransport(o);
    }
    this.#transportFactory({ url: this.#options.server.url, pin: this.#options.server.pin });
    const vault = await this.#vault((tx) =>
      Promise.all([
        getRecord(tx, CLIENT_LOCAL_TABLES.vault, VAULT_KEY, 'c_vault'),
        getRecord(tx, CLIENT_LOCAL_TABLES.vault, VAULT_WIPE, 'c_vault'),
      ]),
    );
    this.#status = vault[1] !== undefined ? 'wiped' : vault[0] !== undefined ? 'locked' : 'unenrolled';
    return this.#status;
  }

  /** Subscribes to one kind of event; returns the unsubscribe function. */
  on<E extends ClientEvent['type']>(type: E, listener: Listener<E>): () => void {
    let set = this.#listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    const l = listener as (e: ClientEvent) => void;
    set.add(l);
    return () => set.delete(l);
  }

  #emit(event: ClientEvent): void {
    for (const l of this.#listeners.get(event.type) ?? []) {
      try {
        l(event);
      } catch {
        // A listener's failure is the app's; it must not break delivery.
      }
    }
  }

  async #step(name: ClientStep): Promise<void> {
    await this.#options.hooks?.step?.(name);
  }

  #factory(): TransportFactory {
    if (this.#transportFactory === undefined)
      throw new UsageError('the client is not open: use createClient');
    return this.#transportFactory;
  }

  #vault<T>(fn: (tx: StorageTx) => Promise<T>): Promise<T> {
    return this.#options.storage.transaction(fn);
  }

  #ready(): Unlocked {
    if (this.#status === 'wiped') throw new UsageError('this client was wiped');
    if (this.#closed) throw new UsageError('the client is closed');
    if (this.#unlocked === undefined) throw new UsageError('the client is locked: call unlock(pin) first');
    return this.#unlocked;
  }

  // ---- enrolment and PIN ---------------------------------------------------------------------

  /**
   * Enrols this device with a single-use token: creates its identity, registers it, publishes its
   * prekeys and protects the local data with `pin`. Leaves the client unlocked. When publishing
   * the prekeys fails (the network, say), `enroll` rejects but the device is enrolled: the client
   * stays `ready` and `start()` publishes them.
   */
  async enroll(
    token: string,
    options: { readonly pin: string; readonly userId?: string; readonly displayName?: string },
  ): Promise<{ userId: UserId; deviceId: DeviceId }> {
    if (this.#status !== 'unenrolled') throw new UsageError(`cannot enrol: the client is ${this.#status}`);
    if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(token)) {
      throw new ValidationError('token', 'a 43-character enrolment token');
    }
    if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
    const p = this.#provider;
    const identity = await generateDeviceIdentity(p);
    const pub = toPublicIdentity(identity);
    const regId = new DataView((await p.randomBytes(4)).buffer).getUint32(0) & 0x3fff_ffff;
    const proof = await signEnrolmentProofBytes(p, identity.signingKeyPair.privateKey, token, pub);
    const anonymous = this.#factory()({
      url: this.#options.server.url,
      pin: this.#options.server.pin,
    });
    const user =
      options.userId === undefined
        ? undefined
        : {
            id: options.userId,
            ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
          };
    const res = expectOk(
      await anonymous.request('POST', '/v1/enrol', {
        json: {
          token,
          ...(user === undefined ? {} : { user }),
          device: {
            identity: {
              signingKey: b64(pub.signingKey),
              dhKey: b64(pub.dhKey),
              dhKeySignature: b64(pub.dhKeySignature),
            },
            registrationId: regId,
            proof: b64(proof),
          },
        },
      }),
    ).json as {
      tenant: string;
      user: string;
      deviceId: number;
      mailbox: string;
      credential: string;
      tenantSigningKey: string;
    };
    const registration: Registration = {
      tenant: res.tenant,
      userId: toUserId(res.user),
      deviceId: toDeviceId(res.deviceId),
      mailbox: res.mailbox,
      credential: unbase64url(res.credential),
      tenantPublicKey: unbase64url(res.tenantSigningKey),
    };
    const { dataKey, record } = await wrapDataKey(p, { pin: options.pin, ...this.#options.pinWrap });
    const adapter = await this.#openEncrypted(dataKey);
    wipe(dataKey);
    const stores = bindClientStores(adapterExecutor(adapter));
    await stores.ownIdentity.set({
      identity,
      registrationId: toRegistrationId(regId),
      deviceId: registration.deviceId,
      userId: registration.userId,
    });
    await adapter.transaction((tx) =>
      putRecord(tx, CLIENT_LOCAL_TABLES.registration, REG_KEY, {
        tenant: registration.tenant,
        userId: registration.userId,
        deviceId: registration.deviceId,
        mailbox: registration.mailbox,
        credential: registration.credential,
        tenantPublicKey: registration.tenantPublicKey,
      }),
    );
    // The wrapped key goes in last: until it is there, the client is still unenrolled.
    await this.#vault((tx) =>
      putRecord(tx, CLIENT_LOCAL_TABLES.vault, VAULT_KEY, { wrapped: encodeWrappedKey(record) }),
    );
    this.#activate(adapter, registration, identity);
    await this.#publishKeys(identity, regId);
    return { userId: registration.userId, deviceId: registration.deviceId };
  }

  async #openEncrypted(dataKey: Uint8Array): Promise<EncryptedAdapterHandle> {
    return openEncryptedAdapter(this.#options.storage, {
      dataKey,
      provider: this.#provider,
      orderedTables: [...CLIENT_ORDERED_TABLES, ...OUTBOX_ORDERED_TABLES],
    });
  }

  #activate(adapter: EncryptedAdapterHandle, registration: Registration, identity: DeviceIdentity): void {
    const self: CoreSelf = {
      provider: this.#provider,
      userId: registration.userId,
      deviceId: registration.deviceId,
      identity,
      tenant: registration.tenant,
      tenantPublicKey: registration.tenantPublicKey,
      mailbox: registration.mailbox,
      suites: this.#suites,
    };
    const outbox = createOutbox(adapterExecutor(adapter), { ...this.#options.outbox, now: this.#now });
    const stores = {
      ...bindClientStores(adapterExecutor(adapter)),
      transaction: <T>(fn: (t: CoreTx) => Promise<T>) =>
        adapter.transaction((tx) => {
          const run = txExecutor(tx);
          return fn({
            stores: bindClientStores(run),
            tx,
            outbox: createOutbox(run, { ...this.#options.outbox, now: this.#now }),
          });
        }),
    };
    const transport = this.#factory()({
      url: this.#options.server.url,
      pin: this.#options.server.pin,
      credential: registration.credential,
    });
    this.#unlocked = { adapter, stores, outbox, self, registration, transport };
    this.#status = 'ready';
  }

  async #publishKeys(identity: DeviceIdentity, regId: number): Promise<void> {
    const u = this.#ready();
    await this.#publishSigned(u, identity, regId, 1);
    await this.#refillPreKeys(true);
    await u.adapter.transaction((tx) =>
      putRecord(tx, CLIENT_LOCAL_TABLES.registration, 'keys-published', { at: this.#now() }),
    );
  }

  /**
   * Generates signed prekey `id` and a last-resort ML-KEM prekey (id `LAST_RESORT_BASE + id`),
   * stores them and publishes them with the signed suite list.
   */
  async #publishSigned(u: Unlocked, identity: DeviceIdentity, regId: number, id: number): Promise<void> {
    const p = this.#provider;
    const spk = await generateSignedPreKey(p, identity, signedPreKeyId(id));
    const lastResort = await generateKemPreKey(p, identity, kemPreKeyId(LAST_RESORT_BASE + (id & 0xffff)), {
      lastResort: true,
    });
    await u.stores.preKeys.storeSignedPreKey(spk);
    await u.stores.preKeys.storeKemPreKey(lastResort);
    const body = encodePreKeyBundle({
      registrationId: toRegistrationId(regId),
      deviceId: u.registration.deviceId,
      identity: toPublicIdentity(identity),
      signedPreKey: toSignedPreKeyPublic(spk),
      kemPreKey: toKemPreKeyPublic(lastResort),
      suites: [...this.#suites],
      suitesSignature: await signSuites(p, identity, [...this.#suites]),
    });
    expectOk(await u.transport.request('PUT', '/v1/keys/signed', { body }));
  }

  /**
   * Replaces the signed prekey (and the last-resort KEM prekey) once the newest is older than
   * {@link SIGNED_PREKEY_ROTATION_MS}; keeps the previous ones {@link SIGNED_PREKEY_KEEP_MS} for
   * initial messages still in flight, then deletes them.
   */
  async #rotateSignedPreKey(u: Unlocked): Promise<void> {
    const now = this.#now();
    const list = await u.stores.preKeys.listSignedPreKeys();
    const newest = list.reduce<(typeof list)[number] | undefined>(
      (a, b) => (a === undefined || b.preKey.id > a.preKey.id ? b : a),
      undefined,
    );
    if (newest !== undefined && now - newest.createdAt < SIGNED_PREKEY_ROTATION_MS) return;
    const own = await u.stores.ownIdentity.get();
    if (own === undefined) return;
    const id = (newest?.preKey.id ?? 0) + 1;
    await this.#publishSigned(u, own.identity, own.registrationId, id);
    for (const old of list) {
      if (old !== newest && now - old.createdAt > SIGNED_PREKEY_KEEP_MS) {
        await u.stores.preKeys.removeSignedPreKey(old.preKey.id);
        await u.stores.preKeys.deleteKemPreKey(kemPreKeyId(LAST_RESORT_BASE + (old.preKey.id & 0xffff)));
      }
    }
  }

  /** Publishes the prekeys when an earlier attempt (at enrolment) did not finish. */
  async #ensureKeysPublished(u: Unlocked): Promise<void> {
    const done = await u.adapter.transaction((tx) =>
      getRecord(tx, CLIENT_LOCAL_TABLES.registration, 'keys-published', 'c_registration'),
    );
    if (done !== undefined) return;
    const own = await u.stores.ownIdentity.get();
    if (own === undefined) throw new UsageError('the local data is incomplete');
    await this.#publishKeys(own.identity, own.registrationId);
  }

  /** Uploads one-time prekeys when the server has fewer than the refill threshold. */
  async #refillPreKeys(force = false): Promise<void> {
    const u = this.#ready();
    const batch = this.#options.preKeys?.batch ?? 50;
    const below = this.#options.preKeys?.refillBelow ?? 20;
    if (!force) {
      const counts = expectOk(await u.transport.request('GET', '/v1/keys/count')).json as {
        preKeys: number;
        kemPreKeys: number;
      };
      if (counts.preKeys >= below && counts.kemPreKeys >= below) return;
    }
    const p = this.#provider;
    const next = await u.adapter.transaction(async (tx) => {
      const d = await getRecord(tx, CLIENT_LOCAL_TABLES.registration, 'prekey-next', 'c_registration', {
        forUpdate: true,
      });
      const start = isNumber(d?.next) ? d.next : 1;
      await putRecord(tx, CLIENT_LOCAL_TABLES.registration, 'prekey-next', { next: start + batch });
      return start;
    });
    const oneTime = await generateOneTimePreKeys(p, oneTimePreKeyId(next), batch);
    const kem = [];
    for (let i = 0; i < batch; i++) {
      kem.push(await generateKemPreKey(p, u.self.identity, kemPreKeyId(next + i), { lastResort: false }));
    }
    await u.stores.preKeys.storeOneTimePreKeys(oneTime);
    for (const k of kem) await u.stores.preKeys.storeKemPreKey(k);
    expectOk(
      await u.transport.request('POST', '/v1/keys/one-time', {
        json: {
          preKeys: oneTime.map((k) => {
            const pub = toOneTimePreKeyPublic(k);
            return { id: pub.id, publicKey: b64(pub.publicKey) };
          }),
          kemPreKeys: kem.map((k) => {
            const pub = toKemPreKeyPublic(k);
            return { id: pub.id, publicKey: b64(pub.publicKey), signature: b64(pub.signature) };
          }),
        },
      }),
    );
  }

  /**
   * Opens the local data with `pin`. A wrong PIN is `WrongPin` and counts; after
   * `maxPinAttempts` wrong PINs in a row the local data is destroyed. Purges expired rows and
   * checks for a pending remote wipe before returning.
   */
  async unlock(pin: string): Promise<void> {
    if (this.#status === 'ready') return;
    if (this.#status !== 'locked') throw new UsageError(`cannot unlock: the client is ${this.#status}`);
    const vault = await this.#vault((tx) => getRecord(tx, CLIENT_LOCAL_TABLES.vault, VAULT_KEY, 'c_vault'));
    if (vault === undefined) throw new UsageError('the client is not enrolled');
    const record = decodeWrappedKey(field(vault, 'wrapped', 'c_vault', isBytes));
    let dataKey: Uint8Array;
    try {
      dataKey = await unwrapDataKey(this.#provider, record, pin);
    } catch (e) {
      if (e instanceof WrongPin) await this.#countWrongPin();
      throw e;
    }
    await this.#vault((tx) => deleteRecord(tx, CLIENT_LOCAL_TABLES.vault, VAULT_ATTEMPTS));
    const adapter = await this.#openEncrypted(dataKey);
    wipe(dataKey);
    const own = await bindClientStores(adapterExecutor(adapter)).ownIdentity.get();
    const reg = await adapter.transaction((tx) =>
      getRecord(tx, CLIENT_LOCAL_TABLES.registration, REG_KEY, 'c_registration'),
    );
    if (own === undefined || reg === undefined) throw new UsageError('the local data is incomplete');
    const registration: Registration = {
      tenant: field(reg, 'tenant', 'c_registration', isString),
      userId: toUserId(field(reg, 'userId', 'c_registration', isString)),
      deviceId: toDeviceId(field(reg, 'deviceId', 'c_registration', isNumber)),
      mailbox: field(reg, 'mailbox', 'c_registration', isString),
      credential: field(reg, 'credential', 'c_registration', isBytes),
      tenantPublicKey: field(reg, 'tenantPublicKey', 'c_registration', isBytes),
    };
    this.#activate(adapter, registration, own.identity);
    await this.purgeExpired();
  }

  async #countWrongPin(): Promise<void> {
    const max = this.#options.maxPinAttempts ?? 10;
    const attempts = await this.#vault(async (tx) => {
      const d = await getRecord(tx, CLIENT_LOCAL_TABLES.vault, VAULT_ATTEMPTS, 'c_vault', {
        forUpdate: true,
      });
      const n = (isNumber(d?.n) ? d.n : 0) + 1;
      await putRecord(tx, CLIENT_LOCAL_TABLES.vault, VAULT_ATTEMPTS, { n });
      return n;
    });
    if (attempts >= max) {
      await this.#vault(async (tx) => {
        await deleteRecord(tx, CLIENT_LOCAL_TABLES.vault, VAULT_KEY);
        await putRecord(tx, CLIENT_LOCAL_TABLES.vault, VAULT_WIPE, {
          commandId: 'pin-attempts',
          wipedAt: this.#now(),
          reported: false,
        });
      });
      this.#status = 'wiped';
    }
  }

  /** Re-wraps the data key under a new PIN (the data is not re-encrypted). */
  async changePin(oldPin: string, newPin: string): Promise<void> {
    if (this.#status !== 'ready' && this.#status !== 'locked') {
      throw new UsageError(`cannot change the PIN: the client is ${this.#status}`);
    }
    await this.#vault(async (tx) => {
      const d = await getRecord(tx, CLIENT_LOCAL_TABLES.vault, VAULT_KEY, 'c_vault', { forUpdate: true });
      if (d === undefined) throw new UsageError('the client is not enrolled');
      const record = decodeWrappedKey(field(d, 'wrapped', 'c_vault', isBytes));
      const next = await rewrapPin(this.#provider, record, oldPin, newPin, this.#options.pinWrap);
      await putRecord(tx, CLIENT_LOCAL_TABLES.vault, VAULT_KEY, { wrapped: encodeWrappedKey(next) });
    });
  }

  /** Stops everything and forgets the keys in memory; `unlock` opens again. */
  async lock(): Promise<void> {
    await this.stop();
    const u = this.#unlocked;
    this.#unlocked = undefined;
    if (u !== undefined) {
      wipe(u.registration.credential);
      if (this.#status === 'ready') this.#status = 'locked';
    }
  }

  /** Locks and closes the storage adapter. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.lock();
    this.#closed = true;
    await this.#options.storage.close();
  }

  // ---- running ---------------------------------------------------------------------------------

  /**
   * Connects the delivery socket (reconnecting with backoff), fetches the policy, checks for a
   * remote wipe, starts the outbox and the retention timer. Resolves once the socket is open for
   * the first time (or the first attempt failed).
   */
  async start(): Promise<void> {
    const u = this.#ready();
    if (this.#started) return;
    this.#started = true;
    if (await this.checkWipe()) return;
    await this.#ensureKeysPublished(u);
    await this.#rotateSignedPreKey(u).catch(() => undefined);
    await this.refreshPolicy().catch(() => undefined);
    await new Promise<void>((resolve) => {
      let settled = false;
      const done = () => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      this.#connection = u.transport.connect('/v1/ws', {
        onOpen: () => {
          this.#emit({ type: 'connection', state: 'online' });
          this.#kickOutbox();
          done();
        },
        onFrame: (frame) => this.#onFrame(frame),
        onClose: ({ code }) => {
          this.#emit({ type: 'connection', state: 'offline' });
          if (code === 1008) void this.checkWipe().catch(() => undefined);
          done();
        },
        onError: () => done(),
      });
    });
    const interval = this.#options.purgeIntervalMs ?? 60_000;
    this.#purgeTimer = setInterval(() => void this.purgeExpired().catch(() => undefined), interval);
    this.#purgeTimer.unref?.();
    this.#kickOutbox();
  }

  /** Closes the socket and stops the timers; queued messages stay in the outbox. */
  async stop(): Promise<void> {
    this.#started = false;
    this.#connection?.close();
    this.#connection = undefined;
    if (this.#purgeTimer !== undefined) clearInterval(this.#purgeTimer);
    this.#purgeTimer = undefined;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await this.#outboxRunning?.catch(() => undefined);
    await this.#receiveQueue.catch(() => undefined);
  }

  /** Resolves once everything received so far has been processed and the outbox is idle. */
  async idle(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const r = this.#receiveQueue;
      const o = this.#outboxRunning;
      await r.catch(() => undefined);
      await o?.catch(() => undefined);
      if (r === this.#receiveQueue && o === this.#outboxRunning && !this.#outboxAgain) return;
    }
  }

  #onFrame(frame: Uint8Array): void {
    if (frame.length === 1 && frame[0] === 0x02) {
      this.#receiveQueue = this.#receiveQueue.then(async () => {
        this.#emit({ type: 'connection', state: 'synced' });
        await this.refreshPolicy().catch(() => undefined);
        await this.#refillPreKeys().catch(() => undefined);
      });
      return;
    }
    if (frame[0] !== 0x01 || frame.length < 3) return;
    const n = frame[1]!;
    if (frame.length <= 2 + n) return;
    const serverId = new TextDecoder().decode(frame.subarray(2, 2 + n));
    this.#pending.push({ serverId, envelope: frame.slice(2 + n) });
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    this.#receiveQueue = this.#receiveQueue.then(() => this.#receivePending()).catch(() => undefined);
  }

  /** Processes what arrived, up to 64 deliveries per transaction, then acknowledges them. */
  async #receivePending(): Promise<void> {
    this.#drainScheduled = false;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, 64);
      try {
        await this.#receive(batch);
      } catch (error) {
        if (isStorageFailure(error)) continue; // not acknowledged: pushed again on the next connection
        // One delivery the core cannot process must not hold the others back: one at a time, and
        // one that fails again (outside storage) is acknowledged and reported, never retried forever.
        for (const one of batch) {
          try {
            await this.#receive([one]);
          } catch (e) {
            if (isStorageFailure(e) || this.#unlocked === undefined) continue;
            this.#emit({ type: 'undecryptable', reason: 'format' });
            await this.#acknowledge([one.serverId]).catch(() => undefined);
          }
        }
      }
    }
  }

  async #acknowledge(ids: readonly string[]): Promise<void> {
    const u = this.#unlocked;
    if (u === undefined) return;
    if (this.#connection?.open) this.#connection.send(ackFrame(ids));
    else await u.transport.request('POST', '/v1/messages/ack', { json: { ids } });
  }

  async #receive(batch: readonly { serverId: string; envelope: Uint8Array }[]): Promise<void> {
    const u = this.#unlocked;
    if (u === undefined) return;
    const now = this.#now();
    const events = await u.stores.transaction(async (t) => {
      const out: ClientEvent[] = [];
      for (const { serverId, envelope } of batch) {
        const outcome = await receiveDelivery(u.self, t, {
          serverId,
          envelope,
          now,
          lifetimeMs: this.#policy?.messageLifetimeMs ?? null,
          processedTtlMs: PROCESSED_TTL_MS,
        });
        out.push(...outcome.events);
      }
      return out;
    });
    await this.#step('receive:committed');
    for (const e of events) this.#emit(e);
    // A lost acknowledgement only means the server pushes these again; they are processed already.
    await this.#acknowledge(batch.map((b) => b.serverId)).catch(() => undefined);
    await this.#step('receive:acked');
    if (events.some((e) => e.type === 'message')) this.#kickOutbox();
  }

  // ---- policy and wipe ---------------------------------------------------------------------------

  /** Fetches the effective policy from the server and emits `policy` when it changed. */
  async refreshPolicy(): Promise<ClientPolicy> {
    const u = this.#ready();
    const body = expectOk(await u.transport.request('GET', '/v1/policy')).json as {
      revision: string;
      features: Record<string, { enabled: boolean; config?: unknown }>;
      retention?: { messageLifetimeMs: number | null };
    };
    const policy: ClientPolicy = {
      revision: String(body.revision),
      features: body.features ?? {},
      messageLifetimeMs: body.retention?.messageLifetimeMs ?? null,
    };
    const changed = this.#policy?.revision !== policy.revision;
    this.#policy = policy;
    if (changed) this.#emit({ type: 'policy', policy });
    return policy;
  }

  /**
   * Asks the server whether this device was remotely wiped. A command that verifies (signed by
   * this tenant's key, naming this device) destroys the local data key and all data, then the
   * signed report is sent; a tampered or foreign command is refused with `WipeCommandError` and
   * changes nothing. Resolves `true` when the client is now wiped.
   */
  async checkWipe(): Promise<boolean> {
    await this.#wiping?.catch(() => undefined);
    if (this.#status === 'wiped') return true;
    const u = this.#ready();
    const res = await u.transport.request('GET', '/v1/wipe');
    if (res.status === 404) return false;
    const body = expectOk(res).json as { command: string | null };
    if (body.command === null || body.command === undefined) return false;
    await this.applyWipeCommand(unbase64url(body.command));
    return true;
  }

  /** Verifies and carries out a wipe command (see {@link CloisterClient.checkWipe}). */
  async applyWipeCommand(commandBytes: Uint8Array): Promise<void> {
    const previous = this.#wiping;
    const run = (async () => {
      await previous?.catch(() => undefined);
      if (this.#status === 'wiped') return;
      await this.#applyWipe(commandBytes);
    })();
    this.#wiping = run;
    return run;
  }

  async #applyWipe(commandBytes: Uint8Array): Promise<void> {
    const u = this.#ready();
    const command = await verifyWipeCommand(this.#provider, commandBytes, {
      tenantPublicKey: u.registration.tenantPublicKey,
      tenant: u.registration.tenant,
      userId: u.registration.userId,
      deviceId: u.registration.deviceId,
    });
    const wipedAt = this.#now();
    const report = await signWipeReport(this.#provider, u.self.identity.signingKeyPair.privateKey, {
      commandId: command.commandId,
      wipedAt,
    });
    const commandId = b64(command.commandId);
    // Destroy the data key first: from here on, nothing stored can be decrypted.
    await this.#vault(async (tx) => {
      await deleteRecord(tx, CLIENT_LOCAL_TABLES.vault, VAULT_KEY);
      await putRecord(tx, CLIENT_LOCAL_TABLES.vault, VAULT_WIPE, {
        commandId,
        wipedAt,
        report,
        reported: false,
      });
    });
    await this.stop();
    await this.#destroyLocalData(u);
    wipe(u.self.identity.signingKeyPair.privateKey, u.self.identity.dhKeyPair.privateKey);
    this.#unlocked = undefined;
    this.#status = 'wiped';
    let reported = false;
    try {
      const res = await u.transport.request('POST', '/v1/wipe/report', { json: { report: b64(report) } });
      reported = res.status >= 200 && res.status < 300;
    } catch {
      reported = false;
    }
    if (reported) {
      await this.#vault((tx) =>
        putRecord(tx, CLIENT_LOCAL_TABLES.vault, VAULT_WIPE, { commandId, wipedAt, reported: true }),
      );
    }
    wipe(u.registration.credential);
    this.#emit({ type: 'wiped', commandId, reported });
  }

  async #destroyLocalData(u: Unlocked): Promise<void> {
    // Delete every row we can name; the rest is unreadable without the destroyed key.
    await u.adapter.transaction(async (tx) => {
      const stores = bindClientStores(txExecutor(tx));
      for (;;) {
        const page = await stores.conversations.list({ limit: 1000 });
        for (const c of page.items) await stores.conversations.delete(c.id);
        if (page.items.length === 0 || page.next === undefined) break;
      }
      await stores.ownIdentity.delete();
      await deleteRecord(tx, CLIENT_LOCAL_TABLES.registration, REG_KEY);
    });
  }

  /** Whether (and when) this client was wiped, and whether the server has the report. */
  async wipeStatus(): Promise<WipeStatus> {
    const d = await this.#vault((tx) => getRecord(tx, CLIENT_LOCAL_TABLES.vault, VAULT_WIPE, 'c_vault'));
    if (d === undefined) return { wiped: false };
    return {
      wiped: true,
      commandId: field(d, 'commandId', 'c_vault', isString),
      wipedAt: field(d, 'wipedAt', 'c_vault', isNumber),
      reported: d.reported === true,
    };
  }

  // ---- sending -----------------------------------------------------------------------------------

  #conversationOf(to: Recipient): { conversationId: ConversationId; job: OutboxJob['to'] } {
    if (typeof to !== 'object' || to === null) throw new ValidationError('to', '{ user } or { group }');
    if ('user' in to) {
      const user = toUserId(to.user);
      return { conversationId: directConversationId(user), job: { user } };
    }
    if ('group' in to && typeof to.group === 'string') {
      const hex = to.group.startsWith('g:') ? to.group.slice(2) : to.group;
      if (!/^[0-9a-f]{64}$/.test(hex)) throw new ValidationError('to.group', 'a group id (64 hex digits)');
      return { conversationId: groupConversationId(fromHex(hex)), job: { group: hex } };
    }
    throw new ValidationError('to', '{ user } or { group }');
  }

  async #send(to: Recipient, body: Content['body'], options: SendOptions = {}): Promise<ClientMessage> {
    const u = this.#ready();
    const { conversationId, job } = this.#conversationOf(to);
    const now = this.#now();
    const contentId = await this.#provider.randomBytes(16);
    const message = await u.stores.transaction(async (t) => {
      let timerSeconds = options.expireTimerSeconds;
      if ('user' in job) {
        if (job.user === u.registration.userId)
          throw new UsageError('send to yourself with { user } is not supported');
        await t.stores.conversations.create({ id: conversationId, kind: 'direct', peer: toUserId(job.user) });
      } else {
        const group = await loadGroup(t.tx, job.group);
        if (group === undefined || !group.active) throw new UsageError('not a member of this group');
      }
      const conversation = await t.stores.conversations.get(conversationId);
      if (timerSeconds === undefined && conversation?.disappearingTimerMs) {
        timerSeconds = Math.max(1, Math.ceil(conversation.disappearingTimerMs / 1000));
      }
      const archiveKey = archivePublicKey(this.#policy);
      const content: Content = {
        messageId: contentId,
        sentAtMs: now,
        ...('group' in job ? { groupId: fromHex(job.group) } : {}),
        ...(timerSeconds === undefined ? {} : { expireTimerSeconds: timerSeconds }),
        ...(archiveKey === undefined ? {} : { archived: true }),
        body,
      };
      // The tenant archives: one seal of the content to its archive key, bound to the message,
      // the conversation, the sender and the time, travels with the first delivery.
      const archiveSeal =
        archiveKey === undefined
          ? undefined
          : await sealForArchive(this.#provider, {
              archivePublicKey: archiveKey,
              messageId: contentId,
              conversationId: await archiveConversationId(
                this.#provider,
                'group' in job ? { group: fromHex(job.group) } : { users: [u.registration.userId, job.user] },
              ),
              sender: { userId: u.registration.userId, deviceId: u.registration.deviceId },
              sentAt: now,
              contentType: ARCHIVE_CONTENT_TYPE,
              content: encodeContent(content),
            });
      const id = localMessageId(contentId, u.registration.userId);
      const lifetime = this.#policy?.messageLifetimeMs ?? null;
      const expiries = [
        timerSeconds === undefined ? null : now + timerSeconds * 1000,
        lifetime === null ? null : now + lifetime,
      ].filter((x): x is number => x !== null);
      const expiresAt = expiries.length === 0 ? null : Math.min(...expiries);
      await t.stores.messages.addIfAbsent({
        id,
        conversationId,
        sender: { userId: u.registration.userId, deviceId: u.registration.deviceId },
        sentAt: now,
        body: encodeContent(content),
        status: 'sent',
        expiresAt,
      });
      await enqueueJob(
        t,
        {
          content: encodeContent(content),
          to: job,
          self: true,
          ...(archiveSeal === undefined ? {} : { archiveSeal }),
        },
        now,
      );
      const out: ClientMessage = {
        id,
        conversationId,
        from: { userId: u.registration.userId, deviceId: u.registration.deviceId },
        outgoing: true,
        sentAt: now,
        receivedAt: null,
        status: 'sent',
        expiresAt,
        content,
      };
      return out;
    });
    await this.#step('enqueue:committed');
    this.#kickOutbox();
    return message;
  }

  /** Sends a text message; resolves once it is stored and queued (delivery follows). */
  async sendText(to: Recipient, text: string, options: SendOptions = {}): Promise<ClientMessage> {
    if (typeof text !== 'string' || text.length === 0)
      throw new ValidationError('text', 'a non-empty string');
    return this.#send(to, { type: 'text', text }, options);
  }

  /**
   * Encrypts a file (streaming, 64 KiB chunks), uploads the ciphertext and sends the reference.
   * Refused with `ForbiddenError` when the policy disables `files.send`.
   */
  async sendFile(to: Recipient, file: OutgoingFile, options: SendOptions = {}): Promise<ClientMessage> {
    const u = this.#ready();
    if (!featureEnabled(this.#policy, 'files.send')) {
      throw new ForbiddenError('sending files is disabled by policy (files.send)');
    }
    if (typeof file !== 'object' || file === null) throw new ValidationError('file', 'an object');
    const size = file.data instanceof Uint8Array ? file.data.length : file.size;
    if (size === undefined || !Number.isSafeInteger(size) || size <= 0) {
      throw new ValidationError('file.size', 'the size in bytes of a non-empty file');
    }
    this.#conversationOf(to);
    const plaintext =
      file.data instanceof Uint8Array
        ? new ReadableStream<Uint8Array>({
            start(c) {
              const data = file.data as Uint8Array;
              for (let i = 0; i < data.length; i += 1 << 20) c.enqueue(data.subarray(i, i + (1 << 20)));
              c.close();
            },
          })
        : file.data;
    const progress = options.onProgress;
    const enc = encryptFileStream(this.#provider, {
      plaintextStream: plaintext,
      onProgress: (bytes) => progress?.({ phase: 'encrypt', bytes, total: size }),
    });
    const ciphertextSize = fileCiphertextLength(size);
    const created = expectOk(
      await u.transport.request('POST', '/v1/blobs', { json: { size: ciphertextSize } }),
    ).json as { blobId: string; chunkBytes: number };
    const reader = enc.ciphertext.getReader();
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    let index = 0;
    let uploaded = 0;
    const flush = async (all: boolean) => {
      while (pendingBytes >= created.chunkBytes || (all && pendingBytes > 0)) {
        const joined = concatBytes(...pending);
        const chunk = joined.subarray(0, Math.min(created.chunkBytes, joined.length));
        expectOk(
          await u.transport.request('PUT', `/v1/blobs/${created.blobId}/chunks/${index}`, {
            body: chunk,
            contentType: 'application/octet-stream',
          }),
        );
        index++;
        uploaded += chunk.length;
        progress?.({ phase: 'upload', bytes: uploaded, total: ciphertextSize });
        const rest = joined.slice(chunk.length);
        pending = rest.length > 0 ? [rest] : [];
        pendingBytes = rest.length;
      }
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending.push(value);
      pendingBytes += value.length;
      await flush(false);
    }
    await flush(true);
    const result = await enc.done;
    expectOk(await u.transport.request('POST', `/v1/blobs/${created.blobId}/finish`, { json: {} }));
    const reference: FileReference = {
      fileKey: enc.fileKey,
      digest: result.digest,
      size: result.size,
      mediaType: file.mediaType ?? 'application/octet-stream',
      locator: created.blobId,
      ...(file.name === undefined ? {} : { fileName: file.name }),
      ciphertextSize: result.ciphertextSize,
    };
    return this.#send(to, { type: 'file', file: reference }, options);
  }

  /** Downloads, checks (digest) and decrypts the file of a file message. */
  async downloadFile(
    file: FileReference,
    options: { readonly onProgress?: (progress: TransferProgress) => void } = {},
  ): Promise<Uint8Array> {
    const u = this.#ready();
    const status = expectOk(await u.transport.request('GET', `/v1/blobs/${file.locator}`)).json as {
      chunks: number;
      size?: number;
    };
    const chunks: Uint8Array[] = [];
    let total = 0;
    const expected = file.ciphertextSize ?? 0;
    for (let i = 0; i < status.chunks; i++) {
      const res = expectOk(await u.transport.request('GET', `/v1/blobs/${file.locator}/chunks/${i}`));
      chunks.push(res.body);
      total += res.body.length;
      options.onProgress?.({ phase: 'download', bytes: total, total: expected || total });
    }
    const ciphertext = concatBytes(...chunks);
    const digest = await this.#provider.sha256(ciphertext);
    if (!equalBytes(digest, file.digest)) {
      throw new DecryptionFailed();
    }
    const stream = decryptFileStream(this.#provider, {
      fileKey: file.fileKey,
      ciphertextStream: new ReadableStream({
        start(c) {
          c.enqueue(ciphertext);
          c.close();
        },
      }),
    });
    const out: Uint8Array[] = [];
    const reader = stream.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out.push(value);
    }
    return concatBytes(...out);
  }

  /** Sends read receipts for messages of a conversation (received ones only). */
  async markRead(conversationId: ConversationId, ids: readonly MessageId[]): Promise<void> {
    const u = this.#ready();
    const now = this.#now();
    await u.stores.transaction(async (t) => {
      const bySender = new Map<string, Uint8Array[]>();
      for (const id of ids) {
        const m = await t.stores.messages.get(id);
        if (m === undefined || m.conversationId !== conversationId || m.receivedAt === null) continue;
        await t.stores.messages.setStatus(id, 'read');
        const list = bySender.get(m.sender.userId) ?? [];
        list.push(decodeContent(m.body).messageId);
        bySender.set(m.sender.userId, list);
      }
      for (const [user, messageIds] of bySender) {
        for (let i = 0; i < messageIds.length; i += 256) {
          const content: Content = {
            messageId: await this.#provider.randomBytes(16),
            sentAtMs: now,
            body: { type: 'receipt', kind: 'read', messageIds: messageIds.slice(i, i + 256) },
          };
          await enqueueJob(t, { content: encodeContent(content), to: { user }, self: false }, now);
        }
      }
    });
    this.#kickOutbox();
  }

  // ---- groups ----------------------------------------------------------------------------------

  /** Creates a group with this user and `members`; resolves its conversation and group id. */
  async createGroup(
    name: string,
    members: readonly string[],
  ): Promise<{ conversationId: ConversationId; groupId: string; state: GroupState }> {
    const u = this.#ready();
    if (typeof name !== 'string' || name.length === 0 || utf8(name).length > 256) {
      throw new ValidationError('name', 'a group name of 1 to 256 UTF-8 bytes');
    }
    const groupId = await this.#provider.randomBytes(32);
    const users = [...new Set([u.registration.userId as string, ...members.map((m) => toUserId(m))])];
    return this.#groupChange(
      { groupId, version: 1, action: 'create', members: users.map((userId) => ({ userId, deviceIds: [] })) },
      name,
      [],
    );
  }

  /** Adds members to a group this user administers. */
  async addMembers(group: string, members: readonly string[]): Promise<GroupState> {
    return (await this.#changeMembers(group, 'add', members)).state;
  }

  /** Removes members from a group this user administers; they get the change, then nothing more. */
  async removeMembers(group: string, members: readonly string[]): Promise<GroupState> {
    return (await this.#changeMembers(group, 'remove', members)).state;
  }

  async #changeMembers(group: string, action: 'add' | 'remove', members: readonly string[]) {
    const u = this.#ready();
    const hex = group.startsWith('g:') ? group.slice(2) : group;
    const stored = await u.adapter.transaction((tx) => loadGroup(tx, hex));
    if (stored === undefined) throw new UsageError('unknown group');
    const users = [...new Set(members.map((m) => toUserId(m) as string))];
    if (users.length === 0) throw new ValidationError('members', 'at least one user id');
    return this.#groupChange(
      {
        groupId: stored.state.groupId,
        version: stored.state.version + 1,
        action,
        members: users.map((userId) => ({ userId, deviceIds: [] })),
      },
      stored.name,
      action === 'remove' ? users : [],
    );
  }

  async #groupChange(change: GroupChange, name: string, alsoTo: readonly string[]) {
    const u = this.#ready();
    const now = this.#now();
    const result = await u.stores.transaction(async (t) => {
      const made = await makeGroupChange(u.self, t, change, name, now);
      const hex = toHex(change.groupId);
      const bytes = encodeContent(made.content);
      await enqueueJob(t, { content: bytes, to: { group: hex }, self: true }, now);
      for (const user of alsoTo) await enqueueJob(t, { content: bytes, to: { user }, self: false }, now);
      if (change.action === 'create' || change.action === 'add') {
        // The name travels separately (the signed change has none); receivers take it from an admin.
        const naming: Content = {
          messageId: await this.#provider.randomBytes(16),
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
    });
    this.#kickOutbox();
    return result;
  }

  /** A group this device knows: its name, members, admins and whether this user is still in it. */
  async group(
    group: string,
  ): Promise<{ readonly name: string; readonly state: GroupState; readonly active: boolean } | undefined> {
    const u = this.#ready();
    const hex = group.startsWith('g:') ? group.slice(2) : group;
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new ValidationError('group', 'a group id (64 hex digits)');
    const stored = await u.adapter.transaction((tx) => loadGroup(tx, hex));
    return stored === undefined
      ? undefined
      : { name: stored.name, state: stored.state, active: stored.active };
  }

  // ---- history and conversations ---------------------------------------------------------------

  /** Conversations, most recent activity first. */
  async conversations(options?: PageOptions): Promise<Page<Conversation>> {
    return this.#ready().stores.conversations.list(options);
  }

  /** Messages of a conversation, newest first, with paging. Expired messages never appear. */
  async history(conversationId: ConversationId, options?: PageOptions): Promise<Page<ClientMessage>> {
    const u = this.#ready();
    const page = await u.stores.messages.history(conversationId, options);
    return {
      items: page.items.map((m) => ({
        id: m.id,
        conversationId: m.conversationId,
        from: m.sender,
        outgoing: m.sender.userId === u.registration.userId,
        sentAt: m.sentAt,
        receivedAt: m.receivedAt,
        status: m.status,
        expiresAt: m.expiresAt,
        content: decodeContent(m.body),
      })),
      ...(page.next === undefined ? {} : { next: page.next }),
    };
  }

  /** Sets the disappearing-message timer of a conversation (ms, or `null` for none). */
  async setDisappearingTimer(conversationId: ConversationId, timerMs: number | null): Promise<void> {
    const ok = await this.#ready().stores.conversations.setDisappearingTimer(conversationId, timerMs);
    if (!ok) throw new UsageError('unknown conversation');
  }

  /** Deletes expired messages, files and markers now; emits `expired` when rows went. */
  async purgeExpired(): Promise<number> {
    const u = this.#ready();
    const rows = (await u.adapter.purgeExpired({ batchSize: 500 })).deleted;
    if (rows > 0) this.#emit({ type: 'expired', rows });
    return rows;
  }

  // ---- identities ------------------------------------------------------------------------------

  /**
   * The safety number between this device and `user`'s devices as last seen (the first device in
   * id order when there are several; compare per device with `deviceId`).
   */
  async safetyNumber(user: string, options: { readonly deviceId?: number } = {}): Promise<SafetyNumber> {
    const u = this.#ready();
    const remote = await this.#remoteIdentity(user, options.deviceId);
    return computeSafetyNumber(
      this.#provider,
      { identity: toPublicIdentity(u.self.identity), stableId: utf8(u.registration.userId) },
      { identity: remote.identity, stableId: utf8(user) },
    );
  }

  /**
   * Compares a safety number read from the other person's screen (60 digits, spaces allowed) or
   * scanned (65 bytes) with the computed one, in constant time; marks the identity verified when
   * they match.
   */
  async verifySafetyNumber(
    user: string,
    scanned: string | Uint8Array,
    options: { readonly deviceId?: number } = {},
  ): Promise<boolean> {
    const u = this.#ready();
    const mine = await this.safetyNumber(user, options);
    const a = typeof scanned === 'string' ? utf8(scanned.replace(/\s+/g, '')) : scanned;
    const b = typeof scanned === 'string' ? utf8(mine.digits) : mine.bytes;
    if (!equalBytes(a, b)) return false;
    const remote = await this.#remoteIdentity(user, options.deviceId);
    await u.stores.identities.setVerified(remote.address, remote.identity, true);
    return true;
  }

  async #remoteIdentity(user: string, device?: number) {
    const u = this.#ready();
    let known = await u.stores.identities.listForUser(toUserId(user));
    if (known.length === 0) {
      await this.#devicesOf(toUserId(user), true);
      known = await u.stores.identities.listForUser(toUserId(user));
    }
    const sorted = [...known].sort((x, y) => x.address.deviceId - y.address.deviceId);
    const pick = device === undefined ? sorted[0] : sorted.find((r) => r.address.deviceId === device);
    if (pick === undefined) throw new UsageError('no known identity for this user');
    return pick;
  }

  // ---- the outbox loop -------------------------------------------------------------------------

  /** Sends everything due in the outbox now; resolves when the outbox has nothing due. */
  async flush(): Promise<void> {
    this.#kickOutbox();
    await this.idle();
  }

  #kickOutbox(): void {
    if (this.#unlocked === undefined) return;
    if (this.#outboxRunning !== undefined) {
      this.#outboxAgain = true;
      return;
    }
    const run = async () => {
      do {
        this.#outboxAgain = false;
        await this.#drainOutbox();
      } while (this.#outboxAgain && this.#unlocked !== undefined);
    };
    this.#outboxRunning = run()
      .catch(() => undefined)
      .finally(() => {
        this.#outboxRunning = undefined;
      });
  }

  async #drainOutbox(): Promise<void> {
    for (;;) {
      const u = this.#unlocked;
      if (u === undefined) return;
      const due = await u.outbox.due(16);
      if (due.length === 0) {
        await this.#scheduleNextAttempt(u);
        return;
      }
      try {
        await this.#deliverMany(u, due);
        for (const entry of due) {
          await u.outbox.markSent(entry.id);
          await this.#step('send:marked');
        }
        continue;
      } catch (e) {
        if (this.#unlocked === undefined) return;
        if (due.length === 1) {
          await this.#failed(u, due[0]!, e);
          continue;
        }
      }
      // Something in the group failed: one by one, so that only the failing entry waits.
      for (const entry of due) {
        try {
          await this.#deliverMany(u, [entry]);
          await u.outbox.markSent(entry.id);
          await this.#step('send:marked');
        } catch (e) {
          if (this.#unlocked === undefined) return;
          await this.#failed(u, entry, e);
        }
      }
    }
  }

  async #failed(u: Unlocked, entry: OutboxEntry, e: unknown): Promise<void> {
    const permanent =
      e instanceof CloisterError && (e.code === 'ERR_VALIDATION' || e.code === 'ERR_FORBIDDEN');
    const after = await u.outbox.markFailed(entry.id, { permanent });
    if (after?.state === 'failed') {
      this.#emit({
        type: 'send-failed',
        messageId: entryMessageId(entry, u.registration.userId),
        outboxId: entry.id,
        reason: e instanceof Error ? e.message : 'failed',
      });
    }
    if (e instanceof ServerError && e.status === 403) void this.checkWipe().catch(() => undefined);
  }

  async #scheduleNextAttempt(u: Unlocked): Promise<void> {
    const pending = await u.outbox.count('pending');
    if (pending === 0 || !this.#started) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#kickOutbox();
    }, 1000);
    timer.unref?.();
    this.#timers.add(timer);
  }

  async #senderCertificate(u: Unlocked): Promise<SenderCertificate> {
    const now = this.#now();
    if (this.#certificate !== undefined && this.#certificate.expiresAt - CERT_MARGIN_MS > now) {
      return this.#certificate.cert;
    }
    const res = expectOk(await u.transport.request('POST', '/v1/certificate')).json as {
      certificate: string;
    };
    const cert = decodeSenderCertificate(unbase64url(res.certificate));
    this.#certificate = { cert, expiresAt: cert.expiresAt };
    return cert;
  }

  /** The devices of `user` (other than this one), from the cache or the server's directory. */
  async #devicesOf(user: UserId, refresh = false): Promise<DirectoryDevice[]> {
    const u = this.#ready();
    const cached = this.#directory.get(user);
    if (!refresh && cached !== undefined && this.#now() - cached.at < DIRECTORY_TTL_MS) return cached.devices;
    const res = expectOk(await u.transport.request('GET', `/v1/users/${encodeURIComponent(user)}/devices`))
      .json as {
      devices: { deviceId: number; mailbox: string; deliveryToken: string; bundle: string }[];
    };
    const devices: DirectoryDevice[] = [];
    for (const d of res.devices) {
      if (user === u.registration.userId && d.deviceId === u.registration.deviceId) continue;
      let bundle: PreKeyBundle;
      let suite: Suite;
      try {
        bundle = decodePreKeyBundle(unbase64url(d.bundle));
        if (bundle.deviceId !== d.deviceId) continue;
        suite = await negotiateSuiteForBundle(this.#provider, this.#suites, bundle);
      } catch {
        continue; // a bundle that does not verify is left out, never downgraded
      }
      const address = { userId: user, deviceId: toDeviceId(d.deviceId) };
      const saved = await u.stores.identities.save(address, bundle.identity);
      if (saved.status === 'changed') this.#emit({ type: 'identity-changed', ...address });
      devices.push({
        userId: user,
        deviceId: toDeviceId(d.deviceId),
        mailbox: d.mailbox,
        deliveryToken: unbase64url(d.deliveryToken),
        bundle,
        suite,
      });
    }
    this.#directory.set(user, { at: this.#now(), devices });
    return devices;
  }

  async #fullBundle(u: Unlocked, device: DirectoryDevice): Promise<PreKeyBundle> {
    const res = expectOk(
      await u.transport.request(
        'GET',
        `/v1/users/${encodeURIComponent(device.userId)}/devices/${device.deviceId}/bundle`,
      ),
    ).json as { bundle: string };
    const bundle = decodePreKeyBundle(unbase64url(res.bundle));
    const same =
      bundle.deviceId === device.deviceId &&
      equalBytes(bundle.identity.signingKey, device.bundle.identity.signingKey) &&
      equalBytes(bundle.identity.dhKey, device.bundle.identity.dhKey);
    if (!same) throw new LimitError('the device changed its identity while sending; retrying');
    return bundle;
  }

  /**
   * Delivers several outbox entries together: one directory pass, one transaction encrypting for
   * every device of every entry (ratchet steps commit before anything leaves), then as few
   * submissions as the server's limits allow. Throws when any part fails; the caller then retries
   * the entries one by one so that one bad entry does not hold the others back.
   */
  async #deliverMany(u: Unlocked, entries: readonly OutboxEntry[]): Promise<void> {
    const me = u.registration.userId as string;
    const prepared: {
      entry: OutboxEntry;
      localId: MessageId;
      contentId: Uint8Array;
      archiveSeal: Uint8Array | undefined;
      users: string[];
      targets: { device: DirectoryDevice; plaintext: Uint8Array }[];
    }[] = [];
    for (const entry of entries) {
      const job = decodeJob(entry.payload);
      const content = decodeContent(job.content);
      let users: string[];
      if ('user' in job.to) users = [job.to.user];
      else {
        const hex = job.to.group;
        const group = await u.adapter.transaction((tx) => loadGroup(tx, hex));
        users = group === undefined ? [] : group.state.members.map((m) => m.userId);
      }
      if (job.only !== undefined) users = users.filter((x) => job.only!.includes(x));
      users = users.filter((x) => x !== me);
      const targets: { device: DirectoryDevice; plaintext: Uint8Array }[] = [];
      for (const user of users) {
        for (const device of await this.#devicesOf(toUserId(user))) {
          if (job.device === undefined || device.deviceId === job.device) {
            targets.push({ device, plaintext: job.content });
          }
        }
      }
      if (job.self) {
        const own = 'user' in job.to ? encodeContent({ ...content, syncedTo: job.to.user }) : job.content;
        for (const device of await this.#devicesOf(u.registration.userId))
          targets.push({ device, plaintext: own });
      }
      prepared.push({
        entry,
        localId: localMessageId(content.messageId, me),
        contentId: content.messageId,
        archiveSeal: job.archiveSeal,
        users,
        targets,
      });
    }
    await this.#step('send:directory');
    const all = prepared.flatMap((p, index) => p.targets.map((t) => ({ ...t, index })));
    const refused = new Array<number>(prepared.length).fill(0);
    const deliveredTo = new Array<number>(prepared.length).fill(0);
    if (all.length > 0) {
      const certificate = await this.#senderCertificate(u);
      // Sessions to start: fetch their full bundles before the encryption transaction.
      const needBundle = await u.stores.transaction(async (t) => {
        const out = new Map<string, DirectoryDevice>();
        for (const { device } of all) {
          const key = `${device.deviceId}:${device.userId}`;
          if (device.suite === 'v2' && !out.has(key) && !(await hasSession(t, device))) out.set(key, device);
        }
        return out;
      });
      const bundles = new Map<string, PreKeyBundle>();
      for (const [key, device] of needBundle) bundles.set(key, await this.#fullBundle(u, device));
      const deliveries = await u.stores.transaction(async (t) => {
        const out: {
          messageId: Uint8Array;
          envelope: Uint8Array;
          index: number;
          archiveSeal?: Uint8Array;
        }[] = [];
        const sealed = new Set<number>();
        for (const { device, plaintext, index } of all) {
          const fullBundle = bundles.get(`${device.deviceId}:${device.userId}`);
          const envelope = await sealForDevice(u.self, t, {
            device,
            plaintext,
            certificate,
            ...(fullBundle !== undefined && !(await hasSession(t, device)) ? { fullBundle } : {}),
          });
          const id = await deliveryId(this.#provider, prepared[index]!.contentId, device);
          const archiveSeal = sealed.has(index) ? undefined : prepared[index]!.archiveSeal;
          if (archiveSeal !== undefined) sealed.add(index);
          out.push({ messageId: id, envelope, index, ...(archiveSeal === undefined ? {} : { archiveSeal }) });
        }
        return out;
      });
      await this.#step('send:encrypted');
      for (const batch of submissionBatches(deliveries)) {
        const res = expectOk(
          await u.transport.request('POST', '/v1/messages/batch', {
            body: encodeSealedDeliveryBatch({
              deliveries: batch.map(({ messageId, envelope, archiveSeal }) => ({
                messageId,
                envelope,
                ...(archiveSeal === undefined ? {} : { archiveSeal }),
              })),
            }),
          }),
        ).json as { results: { status: string }[] };
        res.results.forEach((r, k) => {
          const index = batch[k]!.index;
          if (r.status === 'refused') refused[index]!++;
          else deliveredTo[index]!++;
        });
      }
      await this.#step('send:submitted');
    }
    prepared.forEach((p, index) => {
      if (refused[index]! > 0) {
        // A device went away or changed its mailbox: refresh the directory; the next attempt uses it.
        for (const user of [...p.users, me]) this.#directory.delete(user);
      }
      this.#emit({ type: 'sent', messageId: p.localId, outboxId: p.entry.id, devices: deliveredTo[index]! });
    });
  }
}

/** An acknowledgement frame: `0x81` then each id as `u8 length ‖ ASCII` (`server-delivery.md`). */
function ackFrame(ids: readonly string[]): Uint8Array {
  const parts = ids.map((id) => utf8(id));
  const out = new Uint8Array(1 + parts.reduce((n, p) => n + 1 + p.length, 0));
  out[0] = 0x81;
  let at = 1;
  for (const p of parts) {
    out[at] = p.length;
    out.set(p, at + 1);
    at += 1 + p.length;
  }
  return out;
}

/** Whether an error came from the storage (retry later) rather than from what was received. */
function isStorageFailure(error: unknown): boolean {
  return error instanceof CloisterError && error.code === 'ERR_STORAGE';
}

/** Content type of an archived message: the encoded `Content`. */
const ARCHIVE_CONTENT_TYPE = 'application/x-cloister-content';

/**
 * The tenant's archive public key when the policy turns archiving on: feature `archive`
 * explicitly enabled with `config.publicKey` (base64url of 32 bytes); otherwise undefined.
 */
function archivePublicKey(policy: ClientPolicy | undefined): Uint8Array | undefined {
  const feature = policy?.features.archive;
  if (feature?.enabled !== true) return undefined;
  const key = (feature.config as { publicKey?: unknown } | undefined)?.publicKey;
  const bytes = fromBase64Url(key);
  return bytes?.length === 32 ? bytes : undefined;
}

/** Most bytes of envelopes in one submission: well under the server's default body limit (1 MiB). */
const MAX_BATCH_BYTES = 768 * 1024;

/**
 * Splits deliveries into submissions of at most {@link MAX_BATCH} items and {@link MAX_BATCH_BYTES},
 * with at most one archive seal each (the wire allows one per batch).
 */
function submissionBatches<T extends { envelope: Uint8Array; archiveSeal?: Uint8Array }>(
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
      (current.length === MAX_BATCH ||
        bytes + size > MAX_BATCH_BYTES ||
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

/** The local message id an outbox entry carries (its content's), or the entry id when unreadable. */
function entryMessageId(entry: OutboxEntry, me: string): MessageId {
  try {
    return localMessageId(decodeContent(decodeJob(entry.payload).content).messageId, me);
  } catch {
    return entry.id;
  }
}
