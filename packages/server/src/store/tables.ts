/**
 * Names of the tables the server stores use (all with the `s_` prefix; see
 * `spec/storage-server.md`), and which of them rely on the order of their sort keys.
 *
 * @module
 */

/**
 * Every table of the server stores.
 *
 * @example
 * ```ts
 * await adapter.purgeExpired({ tables: [SERVER_TABLES.mailbox, SERVER_TABLES.mailboxIds] });
 * ```
 */
export const SERVER_TABLES = Object.freeze({
  tenants: 's_tenants',
  domains: 's_domains',
  tenantDomains: 's_tenant_domains',
  users: 's_users',
  poolMembers: 's_pool_members',
  allowlist: 's_allowlist',
  pools: 's_pools',
  devices: 's_devices',
  compliance: 's_compliance',
  deviceByMailbox: 's_device_mailbox',
  deviceByCredential: 's_device_credential',
  bundleSigned: 's_bundle_signed',
  bundleOneTime: 's_bundle_otp',
  bundleKem: 's_bundle_kem',
  mailbox: 's_mailbox',
  mailboxIds: 's_mailbox_ids',
  blobs: 's_blobs',
  blobParts: 's_blob_parts',
  blobChunks: 's_blob_chunks',
  policies: 's_policies',
  audit: 's_audit',
  auditHead: 's_audit_head',
  archive: 's_archive',
  deviceLists: 's_device_lists',
  deliveryEpochs: 's_delivery_epochs',
  admins: 's_admins',
  adminEmails: 's_admin_emails',
  adminKeys: 's_admin_keys',
  adminSessions: 's_admin_sessions',
  orgRoots: 's_org_roots',
  orgSequences: 's_org_sequences',
  orgObjects: 's_org_objects',
  orgLists: 's_org_lists',
  usage: 's_usage',
  statsCounters: 's_stats_counters',
  statsMembers: 's_stats_members',
  statsKeys: 's_stats_keys',
  subjectKeys: 's_subject_keys',
  broadcasts: 's_broadcasts',
  broadcastDevices: 's_broadcast_devices',
  integrationKeys: 's_int_keys',
  integrationKeyHashes: 's_int_key_hashes',
  webhooks: 's_webhooks',
  webhookOutbox: 's_webhook_outbox',
  webhookDeliveries: 's_webhook_deliveries',
  jobs: 's_jobs',
  jobItems: 's_job_items',
  jobKeys: 's_job_keys',
  directoryIds: 's_directory_ids',
  userEmails: 's_user_emails',
  scimTokens: 's_scim_tokens',
  scimTokenHashes: 's_scim_token_hashes',
  archiveHead: 's_archive_head',
  archiveKeys: 's_archive_keys',
  archiveKeySets: 's_archive_key_sets',
  legalHolds: 's_legal_holds',
} as const);

/**
 * The server tables whose reads depend on sort-key order: mailbox arrival order, audit
 * sequence numbers, archive time ranges, organisation objects kept as lists (newest first). Give this list to encryption at rest as its ordered
 * tables; their sort keys hold only times, sequence numbers and random tie-breakers. Every other
 * server table works with hashed sort keys (listings then come in a stable but unspecified order).
 *
 * @example
 * ```ts
 * import { createEncryptedAdapter } from '@cloister/storage';
 *
 * const db = createEncryptedAdapter(adapter, { dataKey, provider, orderedTables: SERVER_ORDERED_TABLES });
 * const serverStores = createServerStores(db);
 * ```
 */
export const SERVER_ORDERED_TABLES: readonly string[] = Object.freeze([
  SERVER_TABLES.mailbox,
  SERVER_TABLES.audit,
  SERVER_TABLES.archive,
  SERVER_TABLES.orgLists,
  SERVER_TABLES.webhookOutbox,
  SERVER_TABLES.webhookDeliveries,
]);
