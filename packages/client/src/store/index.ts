/**
 * The client's typed stores, written once over the `@cloister/storage` adapter contract (any
 * adapter, encrypted or not): own identity, remote identities, prekeys, sessions, conversations
 * and messages, file blobs and settings. Tables and record layouts are in `spec/storage-client.md`.
 *
 * @module
 */
export {
  BLOB_CHUNK_BYTES,
  type BlobInfo,
  type BlobReader,
  type BlobStore,
  createBlobStore,
  type PutBlobOptions,
} from './blobs.js';
export { bindClientStores, type ClientStoreSet, type ClientStores, createClientStores } from './bundle.js';
export {
  type Conversation,
  type ConversationBase,
  type ConversationInput,
  type ConversationStore,
  createConversationStore,
  type DirectConversation,
  type GroupConversation,
  MAX_PAGE_LIMIT,
  type Page,
  type PageCursor,
  type PageOptions,
} from './conversations.js';
export {
  createRemoteIdentityStore,
  type IdentitySaveResult,
  type IsTrustedOptions,
  type RemoteIdentityRecord,
  type RemoteIdentityStore,
} from './identities.js';
export {
  createMessageStore,
  MAX_MESSAGE_BODY_BYTES,
  type MessageInput,
  type MessageStatus,
  type MessageStore,
  type StoredMessage,
} from './messages.js';
export {
  createOwnIdentityStore,
  type OwnIdentity,
  type OwnIdentityStore,
  type SetOwnIdentityOptions,
} from './own-identity.js';
export {
  type ClientPreKeyStore,
  createPreKeyStore,
  MAX_PREKEY_BATCH,
  type StoredSignedPreKey,
} from './prekeys.js';
export { type ClientSessionStore, createSessionStore } from './sessions.js';
export {
  createSettingsStore,
  defineSetting,
  type Setting,
  type SettingsStore,
  type SettingType,
  type SettingValue,
} from './settings.js';
export { CLIENT_ORDERED_TABLES, CLIENT_TABLES } from './tables.js';
