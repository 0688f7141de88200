/**
 * The server's typed stores, written once over the `StorageAdapter` contract: tenants and
 * domains, users, pools and devices, key bundles, mailboxes, blobs, policies, the audit log and
 * the compliance archive. Layout and what a database operator can see: `spec/storage-server.md`.
 *
 * @module
 */
export * from './administrators.js';
export * from './allowlist.js';
export * from './archive.js';
export * from './archive-key-sets.js';
export * from './audit.js';
export * from './blobs.js';
export * from './broadcasts.js';
export * from './bundles.js';
export type { ServerPage, ServerPageOptions } from './common.js';
export * from './compliance.js';
export {
  createDeliveryEpochStore,
  type DeliveryEpochStore,
  type DeliveryEpochs,
  SENDER_CLASS_BYTES,
  SENDER_CLASS_LABEL,
  senderClassOf,
} from './delivery-epochs.js';
export * from './device-lists.js';
export {
  CREDENTIAL_HASH_BYTES,
  createDeviceStore,
  type Device,
  type DeviceEnrolledVia,
  type DeviceInput,
  type DevicePatch,
  type DeviceReported,
  type DeviceStore,
  MAX_CLIENT_VERSION,
  MAX_DEVICES_PER_USER,
} from './devices.js';
export * from './errors.js';
export * from './integrations.js';
export * from './jobs.js';
export * from './legal-holds.js';
export * from './mailboxes.js';
export * from './organisation.js';
export * from './policies.js';
export * from './scim-tokens.js';
export {
  type CountedFigure,
  createStatisticsStore,
  type PeriodFigures,
  type PoolFigure,
  periodEnd,
  periodsAt,
  STATISTICS_MEMBER_LABEL,
  STATISTICS_MIN_PEOPLE,
  STATISTICS_SET_GRACE_DAYS,
  type StatisticsBatch,
  type StatisticsPeriod,
  type StatisticsStore,
  suppressFigures,
} from './statistics.js';
export * from './stores.js';
export {
  destroySubjectKey,
  hasSubjectKey,
  SUBJECT_KEY_CACHE,
  SUBJECT_ROW_LABEL,
  subjectKeyPartition,
  subjectSealingAdapter,
} from './subjects.js';
export * from './tables.js';
export {
  createDomainStore,
  createTenantStore,
  type DomainStore,
  MAX_DOMAINS_PER_TENANT,
  MAX_TENANT_NAME,
  MAX_TENANT_SETTINGS_BYTES,
  normalizeDomain,
  type Tenant,
  type TenantInput,
  type TenantPatch,
  type TenantStore,
} from './tenants.js';
export {
  ARCHIVE_USAGE_BUCKET_MS,
  BLOB_USAGE_BUCKET_MS,
  createUsageStore,
  type TenantUsage,
  USAGE_SHARDS,
  type UsageFigure,
  type UsageScope,
  type UsageStore,
} from './usage.js';
export {
  checkDirectorySource,
  checkExternalId,
  createPoolStore,
  createUserStore,
  type DirectoryRecord,
  type DirectorySource,
  type DirectoryState,
  EMAIL_INDEX_LABEL,
  MAX_DISPLAY_NAME,
  MAX_EXTERNAL_ID,
  MAX_POOLS_PER_USER,
  type Pool,
  type PoolInput,
  type PoolStore,
  ROLES,
  type Role,
  type User,
  type UserInput,
  type UserPatch,
  type UserStore,
} from './users.js';
export { watchWrites } from './write-watch.js';
