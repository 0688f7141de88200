/**
 * The state the client's feature modules share, and nothing else: the options, the provider and
 * clock, the status, the unlocked device (its encrypted storage, stores, outbox, registration
 * and transport), the last policy and archive state, the event listeners and the test hooks. Each feature module
 * receives this object; `CloisterClient` composes them.
 *
 * @module
 */
import { type CryptoProvider, type DeviceId, UsageError } from '@cloister/crypto';
import type { ManagedPolicyOverrides, Suite, UserId } from '@cloister/protocol';
import type { EncryptedAdapterHandle, StorageTx } from '@cloister/storage';
import type { ArchiveState, ClientEvent, ClientPolicy, CoreSelf, CoreTx } from './core/index.js';
import { NotEnrolledError } from './errors.js';
import type { ClientOptions, ClientStatus, ClientStep, TransportFactory } from './options.js';
import type { Outbox } from './outbox/index.js';
import type { ClientStoreSet } from './store/index.js';
import type { Transport } from './transport/common.js';

/** This device's registration with the server, kept encrypted in `c_registration`. */
export interface Registration {
  readonly tenant: string;
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  readonly mailbox: string;
  readonly credential: Uint8Array;
  readonly tenantPublicKey: Uint8Array;
  /** The organisation root public key pinned at enrolment (32 bytes), or undefined when none was. */
  readonly organisationRoot?: Uint8Array;
}

/** What exists while the client is unlocked. */
export interface Unlocked {
  readonly adapter: EncryptedAdapterHandle;
  readonly stores: ClientStoreSet & { transaction<T>(fn: (t: CoreTx) => Promise<T>): Promise<T> };
  readonly outbox: Outbox;
  readonly self: CoreSelf;
  readonly registration: Registration;
  /** The device's transport: every request carries its credential. */
  readonly transport: Transport;
  /**
   * A transport without the credential, for sealed submissions only (`POST /v1/messages*`), so
   * that no submission names its sender (`spec/metadata.md`).
   */
  readonly anonymous: Transport;
}

/** A listener of one event type. */
export type Listener<E extends ClientEvent['type']> = (event: Extract<ClientEvent, { type: E }>) => void;

/** The shared state of one client. */
export class ClientContext {
  readonly options: ClientOptions;
  readonly now: () => number;
  readonly suites: readonly Suite[];
  provider!: CryptoProvider;
  readonly transportFactory: TransportFactory | undefined;
  status: ClientStatus = 'unenrolled';
  unlocked: Unlocked | undefined;
  policy: ClientPolicy | undefined;
  /** Whether messages are archived now (from the last policy; off until one is fetched). */
  archive: ArchiveState = { on: false };
  /**
   * The narrowing overrides of the managed configuration (`options.managedPolicy`, or those of
   * `enrollFromManagedConfig`'s configuration): applied to the capability map, never widening.
   */
  managedPolicy: ManagedPolicyOverrides = {};
  /** Between `start()` and `stop()`. */
  started = false;
  /**
   * Whether the delivery socket is open (`true`), failed or closed while running (`false`), or
   * unknown (`undefined`: not started, or no attempt finished yet).
   */
  online: boolean | undefined;
  closed = false;
  readonly #listeners = new Map<string, Set<(e: ClientEvent) => void>>();

  constructor(options: ClientOptions, suites: readonly Suite[], defaultTransport?: TransportFactory) {
    this.options = options;
    if (options.provider !== undefined) this.provider = options.provider;
    this.now = options.now ?? Date.now;
    this.suites = suites;
    this.transportFactory = options.transport ?? defaultTransport;
    if (options.managedPolicy !== undefined) this.managedPolicy = options.managedPolicy;
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

  /** Calls the listeners of `event.type`; a listener's failure is the app's and never breaks delivery. */
  emit(event: ClientEvent): void {
    for (const l of this.#listeners.get(event.type) ?? []) {
      try {
        l(event);
      } catch {
        // ignored: see above
      }
    }
  }

  /** Awaits the test hook at a durable step. */
  async step(name: ClientStep): Promise<void> {
    await this.options.hooks?.step?.(name);
  }

  /** The transport factory: the app's, or the default of the entry that created the client. */
  factory(): TransportFactory {
    if (this.transportFactory === undefined) {
      throw new UsageError('no transport: pass options.transport, or create the client with createClient');
    }
    return this.transportFactory;
  }

  /** Runs `fn` in a transaction of the raw adapter (the vault lives outside the encryption). */
  vault<T>(fn: (tx: StorageTx) => Promise<T>): Promise<T> {
    return this.options.storage.transaction(fn);
  }

  /** The unlocked device, or `UsageError` saying why there is none. */
  ready(): Unlocked {
    if (this.status === 'wiped') throw new UsageError('this client was wiped');
    if (this.closed) throw new UsageError('the client is closed');
    if (this.status === 'unenrolled') throw new NotEnrolledError();
    if (this.unlocked === undefined) throw new UsageError('the client is locked: call unlock(pin) first');
    return this.unlocked;
  }
}
