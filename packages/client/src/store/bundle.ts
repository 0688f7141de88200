/**
 * All client stores over one adapter, and transactions that span several of them.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import type { StorageAdapter } from '@cloister/storage';
import { adapterExecutor, type Executor, txExecutor } from '@cloister/storage';
import { type BlobStore, createBlobStore } from './blobs.js';
import { type ConversationStore, createConversationStore } from './conversations.js';
import { createRemoteIdentityStore, type RemoteIdentityStore } from './identities.js';
import { createMessageStore, type MessageStore } from './messages.js';
import { createOwnIdentityStore, type OwnIdentityStore } from './own-identity.js';
import { type ClientPreKeyStore, createPreKeyStore } from './prekeys.js';
import { type ClientSessionStore, createSessionStore } from './sessions.js';
import { createSettingsStore, type SettingsStore } from './settings.js';

/**
 * Every client store, bound to one executor: each call its own transaction, or all calls
 * inside one transaction (the `s` of {@link ClientStores.transaction}).
 *
 * @example
 * ```ts
 * const me = await stores.ownIdentity.get();
 * const { items } = await stores.conversations.list({ limit: 20 });
 * ```
 */
export interface ClientStoreSet {
  /** This device's own identity (at most one). */
  readonly ownIdentity: OwnIdentityStore;
  /** The pinned identities of remote devices. */
  readonly identities: RemoteIdentityStore;
  /** This device's prekeys, with their private keys. */
  readonly preKeys: ClientPreKeyStore;
  /** Session records by remote device. */
  readonly sessions: ClientSessionStore;
  /** Conversations, by latest activity. */
  readonly conversations: ConversationStore;
  /** Messages of the conversations. */
  readonly messages: MessageStore;
  /** Encrypted file bytes. */
  readonly blobs: BlobStore;
  /** Typed key/value settings. */
  readonly settings: SettingsStore;
}

/**
 * The client stores over an adapter, plus transactions over several of them.
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * import { conversationId, messageId } from '@cloister/protocol';
 * await stores.transaction(async (s) => {
 *   await s.sessions.storeSession(bob, record);
 *   await s.messages.addIfAbsent({
 *     id: messageId('bob.1.m1'), conversationId: conversationId('c_bob'), sender: bob,
 *     sentAt: Date.now(), receivedAt: Date.now(), body: utf8('hello'),
 *   });
 * }); // both or neither
 * ```
 */
export interface ClientStores extends ClientStoreSet {
  /**
   * Runs `fn` with the stores bound to one transaction: everything it writes commits together,
   * or nothing when it throws. `fn` may run more than once (the adapter retries on conflicts), so
   * it must have no effects outside the stores. Do not use the outer stores inside `fn`: with a
   * one-transaction-at-a-time adapter that would wait forever.
   *
   * @example
   * ```ts
   * import { blobId } from '@cloister/protocol';
   * await stores.transaction(async (s) => {
   *   await s.blobs.delete(blobId('b_1'));
   *   await s.settings.delete(defineSetting('ui.draft', 'string'));
   * });
   * ```
   */
  transaction<T>(fn: (stores: ClientStoreSet) => Promise<T>): Promise<T>;
}

/**
 * Binds every client store to one executor.
 *
 * @example
 * ```ts
 * import { txExecutor } from '@cloister/storage';
 * const theme = defineSetting('ui.theme', 'string');
 * await adapter.transaction(async (tx) => {
 *   const s = bindClientStores(txExecutor(tx));
 *   await s.settings.delete(theme);
 * });
 * ```
 */
export function bindClientStores(run: Executor): ClientStoreSet {
  return {
    ownIdentity: createOwnIdentityStore(run),
    identities: createRemoteIdentityStore(run),
    preKeys: createPreKeyStore(run),
    sessions: createSessionStore(run),
    conversations: createConversationStore(run),
    messages: createMessageStore(run),
    blobs: createBlobStore(run),
    settings: createSettingsStore(run),
  };
}

/**
 * Creates every client store over `adapter` (each call its own transaction) with
 * {@link ClientStores.transaction} for atomic work across stores. Works over any adapter,
 * including the encryption-at-rest wrapper (give it {@link CLIENT_ORDERED_TABLES}).
 *
 * @example
 * ```ts
 * import { createMemoryAdapter } from '@cloister/storage';
 * const stores = createClientStores(createMemoryAdapter());
 * await stores.settings.set(defineSetting('ui.theme', 'string'), 'dark');
 * ```
 */
export function createClientStores(adapter: StorageAdapter): ClientStores {
  if (typeof adapter !== 'object' || adapter === null || typeof adapter.transaction !== 'function') {
    throw new ValidationError('adapter', 'a StorageAdapter');
  }
  return {
    ...bindClientStores(adapterExecutor(adapter)),
    transaction(fn) {
      if (typeof fn !== 'function') throw new ValidationError('fn', 'a function');
      return adapter.transaction((tx) => fn(bindClientStores(txExecutor(tx))));
    },
  };
}
