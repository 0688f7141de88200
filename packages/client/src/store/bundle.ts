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
 * ```
 */
export interface ClientStoreSet {
  readonly ownIdentity: OwnIdentityStore;
  readonly identities: RemoteIdentityStore;
  readonly preKeys: ClientPreKeyStore;
  readonly sessions: ClientSessionStore;
  readonly conversations: ConversationStore;
  readonly messages: MessageStore;
  readonly blobs: BlobStore;
  readonly settings: SettingsStore;
}

/**
 * The client stores over an adapter, plus transactions over several of them.
 *
 * @example
 * ```ts
 * await stores.transaction(async (s) => {
 *   await s.sessions.storeSession(bob, record);
 *   await s.messages.addIfAbsent(message);
 * }); // both or neither
 * ```
 */
export interface ClientStores extends ClientStoreSet {
  /**
   * Runs `fn` with the stores bound to one transaction: everything it writes commits together,
   * or nothing when it throws. `fn` may run more than once (the adapter retries on conflicts), so
   * it must have no effects outside the stores. Do not use the outer stores inside `fn`: with a
   * one-transaction-at-a-time adapter that would wait forever.
   */
  transaction<T>(fn: (stores: ClientStoreSet) => Promise<T>): Promise<T>;
}

/**
 * Binds every client store to one executor.
 *
 * @example
 * ```ts
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
