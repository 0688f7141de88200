/**
 * `@cloister/server`: the reference relay. Enrolment, key bundles, sealed delivery, files; one
 * process on an embedded database, or several instances on PostgreSQL. It never sees content or
 * senders. The server's typed stores (tenants, users, pools, devices, key bundles, mailboxes,
 * blobs, policies, the audit log and the compliance archive) are exported too, over any
 * `@cloister/storage` adapter.
 *
 * @module @cloister/server
 */

export * from './admin/index.js';
export * from './scim/index.js';
export {
  authenticate,
  authorizationHeader,
  CREDENTIAL_BYTES,
  credentialDevice,
  credentialHash,
  type DeviceAuth,
  parseCredential,
} from './auth.js';
export { checkWakeupSignal, createLocalBus, type WakeupBus, type WakeupSignal } from './bus.js';
export { createPostgresBus, DEFAULT_BUS_CHANNEL, type PostgresBusOptions } from './bus-postgres.js';
export {
  type CertificateContext,
  type CertificateOptions,
  checkCertificateTtl,
  DEFAULT_CERTIFICATE_TTL_MS,
  issueCertificateFor,
  MAX_CERTIFICATE_TTL_MS,
  MIN_CERTIFICATE_TTL_MS,
} from './certificates.js';
export {
  type ConnectionCounts,
  type ConnectionLimits,
  checkConnectionLimits,
  DEFAULT_CONNECTION_LIMITS,
} from './connection-limits.js';
export type { Notifier, RouteModule, ServerContext, ServerLimits } from './context.js';
export {
  type DeliveryAccess,
  deliveryAccess,
  deliveryTokenAdmits,
  deliveryTokenFor,
  issueDeliveryToken,
} from './delivery-access.js';
export {
  checkDeliveryTokenLifetime,
  createDeliveryTokens,
  DEFAULT_DELIVERY_TOKEN_LIFETIME_MS,
  DELIVERY_TOKEN_BYTES,
  DELIVERY_TOKEN_EXPIRY_STEP_MS,
  DELIVERY_TOKEN_KEY_LABEL,
  DELIVERY_TOKEN_LABEL,
  DELIVERY_TOKEN_VERSION,
  type DeliveryTokenClaims,
  type DeliveryTokenHeader,
  type DeliveryTokenOptions,
  type DeliveryTokens,
  MAX_DELIVERY_TOKEN_LIFETIME_MS,
  MIN_DELIVERY_TOKEN_LIFETIME_MS,
  newMailboxId,
} from './delivery-token.js';
export {
  createEnrolmentToken,
  DEFAULT_ENROL_TOKEN_TTL_MS,
  DEFAULT_ENROLMENT_LIMITS,
  DEFAULT_MANAGED_TOKEN_TTL_MS,
  DEVICE_SEQ_TABLE,
  ENROL_ADDRESS_LABEL,
  ENROL_FAILURES_TABLE,
  ENROL_PROOF_LABEL,
  ENROL_TOKEN_BYTES,
  ENROL_TOKEN_HASH_LABEL,
  ENROL_TOKENS_TABLE,
  type EnrolDeviceOptions,
  type Enrolment,
  type EnrolmentContext,
  type EnrolmentInput,
  type EnrolmentLimits,
  type EnrolmentTokenInput,
  enrolDevice,
  enrolmentProofBytes,
  MAX_ENROL_TOKEN_TTL_MS,
  MAX_ENROL_TOKEN_USES,
  MAX_MANAGED_TOKEN_TTL_MS,
  resolveEnrolmentLimits,
  signEnrolmentProof,
} from './enrolment.js';
export {
  createGroupCommit,
  type GroupCommit,
  type GroupCommitOptions,
  type GroupCommitStatistics,
} from './group-commit.js';
export { type ErrorBody, rawClientError, toHttpError } from './http-errors.js';
export {
  generateLocalCa,
  issueLocalLeaf,
  LOCAL_CA_VALIDITY_DAYS,
  LOCAL_LEAF_RENEW_DAYS,
  LOCAL_LEAF_VALIDITY_DAYS,
  LOCAL_NAMES,
  type LocalCaMaterial,
  type LocalCaOptions,
  loadOrCreateLocalCa,
  localCaNames,
} from './local-ca.js';
export {
  ARCHIVE_SEALS_PER_TENANT_PER_MINUTE,
  type MailboxWrite,
  type MailboxWriteResult,
  type MailboxWriter,
  mailboxWriterOf,
  type SealOutcome,
  type SealToFile,
} from './mailbox-writer.js';
export {
  createWebhookNotifier,
  PUSH_HINT_LABEL,
  PUSH_SIGNATURE_HEADER,
  PUSH_TIMESTAMP_HEADER,
  pushHintSignature,
  type WebhookNotifierOptions,
} from './notifier.js';
export * from './organisation/index.js';
export { mayContact, type PoolRules, poolRulesFrom } from './policy-pools.js';
export {
  CREDENTIAL_LIMITER_LABEL,
  createRateLimiter,
  credentialLimiterKey,
  deviceKey,
  limitPerDevice,
  limitPerKey,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimitOutcome,
  requestDevice,
} from './rate-limits.js';
export {
  createRecipientCache,
  EMBEDDED_RECIPIENT_CACHE_TTL_MS,
  invalidatingAdapter,
  RECIPIENT_CACHE_TTL_MS,
  RECIPIENT_TABLES,
  type Recipient,
  type RecipientCache,
  recipientsOf,
} from './recipients.js';
export { checkTimeouts, DEFAULT_TIMEOUTS, type ServerTimeouts } from './request-timeouts.js';
export { createLifetimeCache, type LifetimeCache, RETENTION_FEATURE, serverLifetime } from './retention.js';
export { BLOB_KEY_LABEL, type BlobRouteOptions, blobRoutes, createBlobRoutes } from './routes/blobs.js';
export {
  type CertificateRoutesOptions,
  certificateRoutes,
  createCertificateRoutes,
} from './routes/certificates.js';
export {
  type DeliveryRefusal,
  type DeliveryResult,
  type DeliveryStatus,
  decodeMailboxPage,
  deliveryMessageId,
  deliveryRoutes,
  encodeMailboxPage,
  MAILBOX_PAGE_VERSION,
  MAX_PAGE_BYTES,
  MAX_PAGE_ITEMS,
  type MailboxPage,
  mailboxFromEnvelope,
} from './routes/delivery.js';
export { type DeviceListResponse, deviceRoutes } from './routes/devices.js';
export {
  createEnrolmentRoutes,
  type EnrolmentRoutesOptions,
  enrolBodySchema,
  enrolmentRoutes,
} from './routes/enrolment.js';
export {
  contactableUser,
  type DeviceBundleEntry,
  type DeviceBundlesResponse,
  keyRoutes,
  type PreKeyCounts,
} from './routes/keys.js';
export {
  type EffectiveFeature,
  type EffectivePolicyResponse,
  type OrganisationObjectsResponse,
  POLICY_FEATURES,
  policyRoutes,
  resolveFeatures,
} from './routes/policy.js';
export {
  createServerKeyProofRoutes,
  SERVER_KEY_PROOF_LABEL,
  type ServerKeyProof,
  type ServerKeyProofAlgorithm,
} from './routes/server-key-proof.js';
export { type WipeCommandResponse, wipeRoutes } from './routes/wipe.js';
export {
  createWsRoutes,
  decodeAckFrame,
  decodeServerFrame,
  encodeAckFrame,
  encodeEnvelopeFrame,
  FRAME_ACK,
  FRAME_ENVELOPE,
  FRAME_SYNCED,
  hasLocalSocket,
  KEPT_BYTES_PER_INSTANCE,
  keptEnvelopeBytes,
  type LocalOffer,
  MAX_ACK_FRAME_IDS,
  offerToLocalSockets,
  type ServerFrame,
  selectSubprotocol,
  subprotocolAuthorization,
  WS_AUTH_SUBPROTOCOL_PREFIX,
  WS_CLOSE,
  WS_SUBPROTOCOL,
  type WsRouteOptions,
  wsRoutes,
} from './routes/ws.js';
export {
  type CloisterServer,
  createServer,
  type LocalCaServerOptions,
  type LocalCaStatus,
  type ServerOptions,
  type StorageStatistics,
} from './server.js';
export * from './store/index.js';
export {
  type CreateTenantInput,
  type CreateUserInput,
  createTenant,
  createUser,
  getTenantSigningKey,
  TENANT_KEYS_TABLE,
  type TenantContext,
} from './tenants.js';
export {
  canonicalIp,
  certificateHostNames,
  generateSelfSigned,
  loadOrCreateSelfSigned,
  spkiPin,
  type TlsMaterial,
} from './tls.js';
export {
  checkWebApps,
  RESERVED_WEB_PATHS,
  type ResolvedWebApp,
  registerWebApps,
  type WebAppOptions,
  webAppPolicy,
  webSocketOrigins,
} from './web-apps.js';
export {
  checkWebhookOptions,
  checkWebhookUrl,
  DEFAULT_WEBHOOK_OPTIONS,
  isPublicAddress,
  newWebhookSecret,
  postWebhook,
  signWebhook,
  startWebhookDispatcher,
  verifyWebhookSignature,
  type WebhookDispatcher,
  type WebhookOptions,
  webhookOptionsOf,
  webhookRetryDelay,
} from './webhooks.js';
export {
  confirmWipe,
  getWipe,
  recordWipe,
  type StoredWipe,
  WIPES_TABLE,
  type WipeStatus,
  type WipeTarget,
  wipeStatus,
} from './wipe.js';
