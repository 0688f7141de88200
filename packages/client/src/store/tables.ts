/**
 * Names of the tables the client stores use (see `spec/storage-client.md`), and which of them
 * rely on the order of their sort keys. Encryption at rest keeps the sort keys of ordered tables
 * in clear (so they hold only times and random tie-breakers) and hashes the others.
 *
 * @module
 */

/**
 * Every table of the client stores, by store: the `@cloister/storage` table names the client
 * writes (all starting with `c_`).
 *
 * @example
 * ```ts
 * await adapter.purgeExpired({ tables: [CLIENT_TABLES.messages, CLIENT_TABLES.messageIds] });
 * ```
 */
export const CLIENT_TABLES = {
  ownIdentity: 'c_own_identity',
  identities: 'c_identities',
  signedPreKeys: 'c_signed_prekeys',
  oneTimePreKeys: 'c_onetime_prekeys',
  kemPreKeys: 'c_kem_prekeys',
  kemReplay: 'c_kem_replay',
  sessions: 'c_sessions',
  conversations: 'c_conversations',
  conversationActivity: 'c_conversation_activity',
  messages: 'c_messages',
  messageIds: 'c_message_ids',
  blobs: 'c_blobs',
  blobChunks: 'c_blob_chunks',
  settings: 'c_settings',
} as const;

/**
 * The client tables whose reads depend on sort-key order (paging by time). Give this list to
 * encryption at rest as its ordered tables; every other client table works with hashed sort keys.
 *
 * @example
 * ```ts
 * const ordered = new Set(CLIENT_ORDERED_TABLES); // c_messages, c_conversation_activity
 * ```
 */
export const CLIENT_ORDERED_TABLES: readonly string[] = [
  CLIENT_TABLES.messages,
  CLIENT_TABLES.conversationActivity,
];
