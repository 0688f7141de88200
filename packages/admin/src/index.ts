/**
 * `@cloister/admin`: the typed admin SDK. {@link AdminClient} calls every route of the admin API;
 * the signer functions sign organisation objects on the administrator's machine and publish them;
 * {@link generateOrganisation} creates the organisation root and the owner's certified key; the
 * key stores keep the secrets wrapped under a passphrase; {@link enrolmentCode} joins an
 * enrolment token and the root fingerprint. Node-only parts (the pinned HTTPS transport, key-store
 * files) are in `@cloister/admin/node`. Reference: `spec/admin-sdk.md`.
 *
 * @module @cloister/admin
 */

export { AllowlistApi, type AllowlistEntries, type AllowlistInput, type AllowlistView } from './allowlist.js';
export * from './archive/index.js';
export {
  type AuditConsistencyProof,
  type AuditExportFormat,
  type AuditExportOptions,
  type AuditGap,
  type AuditInclusionProof,
  AuditLogApi,
  type AuditLogKey,
  auditLeafHash,
  parseVerifierKey,
  type VerifiedCheckpoint,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from './audit-log.js';
export {
  type AcceptDeviceListResetOptions,
  BROADCAST_BATCH,
  type BroadcastCounts,
  type BroadcastProgress,
  type BroadcastRefusal,
  type BroadcastSent,
  BroadcastsApi,
  type SendBroadcastOptions,
} from './broadcasts.js';
export {
  BULK_INVITE_INFO,
  type BulkAction,
  BulkApi,
  type BulkDryRun,
  type BulkJob,
  type BulkJobItem,
  type BulkOptions,
  type BulkSelection,
  type DeviceFilter,
  type FindPage,
  type FoundDevice,
  type FoundUser,
  type InviteJob,
  type OpenedInvite,
  type UserFilter,
  type WaitOptions,
} from './bulk.js';
export { type AdminCaller, type AdminCallOptions, pathSegment, queryParams } from './caller.js';
export {
  AdminClient,
  type AdminClientOptions,
  type AdminCredential,
  type AdministratorInvitation,
  type AdministratorView,
  type AuditQuery,
  type AuditRecordView,
  type AuditVerification,
  type CreateTenantAnswer,
  type CreateTenantInput,
  type DeviceView,
  type InviteAdministratorInput,
  type InviteUserInput,
  type JsonObject,
  type LoginAnswer,
  type LoginInput,
  type OrganisationState,
  type Page,
  type PublishAnswer,
  type TenantUsageView,
  type TenantView,
  type UserActivity,
  type UserInvitation,
  type UserView,
  type WhoAmI,
  type WipeState,
} from './client.js';
export {
  type AdmissionCandidate,
  type AdmissionState,
  type AdmitManagedOptions,
  type AdmitManagedReport,
  type Admitted,
  DevicesApi,
} from './devices.js';
export {
  ENROLMENT_CODE_LENGTH,
  type EnrolmentCodeParts,
  enrolmentCode,
  parseEnrolmentCode,
} from './enrolment-code.js';
export { AdminApiError, ConflictError, errorFromAnswer, NotFoundError } from './errors.js';
export {
  type CreatedIntegrationKey,
  type CreatedWebhook,
  type CreateIntegrationKeyInput,
  type IntegrationKeyView,
  IntegrationsApi,
  type RotatedWebhookSecret,
  type RotateWebhookSecretOptions,
  type VerifyWebhookOptions,
  verifyWebhook,
  type WebhookDeliveryView,
  type WebhookEvent,
  type WebhookView,
} from './integrations.js';
export {
  type DeviceListPin,
  type DeviceListPinStore,
  decodeDeviceListPins,
  describeKeyStore,
  deviceListPin,
  encodeDeviceListPins,
  KEY_STORE_FORMATS,
  type KeyRequest,
  type KeyStoreOptions,
  type MemoryDeviceListPinStore,
  MIN_PASSPHRASE_CHARS,
  memoryDeviceListPins,
  openKeyRequest,
  openRootKey,
  openSession,
  openSigningKey,
  type RootKey,
  type StoredSession,
  sealKeyRequest,
  sealRootKey,
  sealSession,
  sealSigningKey,
} from './key-store.js';
export {
  type AdminSigningKey,
  adminSigningKey,
  type CertifyOptions,
  certifyAdministrator,
  DEFAULT_CERTIFICATE_VALIDITY_MS,
  type GeneratedOrganisation,
  type GenerateOrganisationOptions,
  generateOrganisation,
  installAdminCertificate,
} from './organisation.js';
export { type PoolMembersChange, type PoolPageQuery, PoolsApi, type PoolView } from './pools.js';
export {
  groupTarget,
  type NonCompliantDevice,
  type NonCompliantQuery,
  type RestrictionChange,
  type RestrictionLayer,
  RestrictionsApi,
  type RestrictionTarget,
} from './restrictions.js';
export { type CreatedScimToken, type CreateScimTokenInput, ScimApi, type ScimTokenView } from './scim.js';
export {
  type BroadcastTarget,
  type OrganisationSigner,
  type PolicyLayerTarget,
  type Published,
  type SignedBroadcast,
  signAndPublish,
  signBroadcast,
  signDelegation,
  signDeviceAdmission,
  signPolicyLayer,
  signPoolRules,
  signWipe,
} from './signer.js';
export {
  type DailyStatistics,
  type DayStatistics,
  type MonthlyStatistics,
  type MonthStatistics,
  type PoolStatistics,
  StatisticsApi,
  type StatisticsDayRange,
  type StatisticsMonthRange,
  type StatisticsPoint,
} from './statistics.js';
export { SUBJECT_EXPORT_SCHEMA, type SubjectDevice, type SubjectExport, SubjectsApi } from './subjects.js';
export { type AdminRequest, type AdminResponse, type AdminTransport, fetchTransport } from './transport.js';
export {
  generateWebCryptoSigner,
  importSigningKeyToWebCrypto,
  type WebCryptoSigner,
  webCryptoSigner,
} from './webcrypto-signer.js';
