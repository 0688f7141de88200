/**
 * `@cloister/protocol`: Cloister's wire formats. Protobuf schemas (`proto/cloister/v1/`) compiled
 * to static code, behind encode/decode functions that take and return domain objects. Every
 * decoder bounds its input size, checks every field (lengths, ranges, enums, required fields,
 * list sizes) and throws `DecodeError` with the path of the offending field; encoders apply the
 * same rules and throw `ValidationError`. `spec/wire.md` specifies every message byte for byte.
 *
 * The domain objects are those of `@cloister/crypto` (`PreKeyBundle`, `InitialMessage`,
 * `RatchetMessage`, ...): what `SessionCipher` produces is encoded as it is, and what is decoded
 * goes to `SessionCipher` as it is. Import those types from `@cloister/crypto`.
 *
 * @module @cloister/protocol
 */
export {
  decodePreKeyBundle,
  decodePublicIdentity,
  encodePreKeyBundle,
  encodePublicIdentity,
} from './bundle.js';
export {
  type Content,
  type ContentBody,
  type ControlBody,
  decodeContent,
  encodeContent,
  type FileBody,
  type FileReference,
  GROUP_ID_LENGTH,
  type GroupAction,
  type GroupBody,
  type GroupChangeBody,
  type GroupKeyBody,
  type GroupMember,
  MESSAGE_ID_LENGTH,
  type ReceiptBody,
  type TextBody,
} from './content.js';
export {
  decodeSealedDelivery,
  decodeSealedDeliveryBatch,
  encodeSealedDelivery,
  encodeSealedDeliveryBatch,
  type SealedDelivery,
  type SealedDeliveryBatch,
} from './delivery.js';
export {
  checkDeviceListSuccessor,
  DEVICE_LIST_LABEL,
  DEVICE_LIST_VERSION,
  type DeviceListBody,
  type DeviceListEntry,
  type DeviceListSigner,
  type DeviceListUpdate,
  decodeDeviceList,
  deviceListHash,
  deviceListSignedBytes,
  DEVICE_LIST_ORGANISATION_LABEL,
  followDeviceLists,
  MAX_LISTED_DEVICES,
  type OrganisationListSignature,
  type OrganisationListVerifier,
  type OrganisationListVerifierOptions,
  organisationListVerifier,
  type SignedDeviceList,
  signDeviceList,
  type VerifyDeviceListOptions,
  verifyDeviceList,
} from './device-list.js';
export {
  type DeviceMessage,
  decodeDeviceMessage,
  encodeDeviceMessage,
  WIRE_VERSION,
} from './device-message.js';
export { ENROL_PROOF_LABEL, enrolmentProofMessage } from './enrolment-proof.js';
export {
  type BlobId,
  blobId,
  type ConversationId,
  conversationId,
  type GroupId,
  groupId,
  type MailboxId,
  type MessageId,
  mailboxId,
  messageId,
  type PoolId,
  poolId,
  SERVER_BLOB_ID_PATTERN,
  type TenantId,
  tenantId,
  type UserId,
  userId,
} from './ids.js';
export { decodeInitialMessage, encodeInitialMessage } from './initial.js';
export { FIELD_LIMITS, MAX_ENCODED_BYTES, MAX_NESTING_DEPTH } from './limits.js';
export {
  androidAppRestrictions,
  appConfigSpecfile,
  MANAGED_CONFIG_KEYS,
  MANAGED_CONFIG_VERSION,
  type ManagedConfig,
  type ManagedConfigKey,
  type ManagedConfigKeyType,
  type ManagedConfigValues,
  type ManagedOverrideName,
  type ManagedPolicyOverrides,
  managedConfigAndroidXml,
  managedConfigPlist,
  managedConfigValues,
  narrowByManagedOverrides,
  parseManagedConfig,
} from './managed-config.js';
export * from './organisation/index.js';
export {
  decodeRatchetHeader,
  decodeRatchetMessage,
  encodeRatchetHeader,
  encodeRatchetMessage,
} from './ratchet.js';
export * from './retention/index.js';
export {
  decodeReachStatement,
  decodeRevocationList,
  isRevoked,
  MAX_REACH_OWN_POOLS,
  MAX_REACHING_POOLS,
  MAX_REVOCATION_ENTRIES,
  REACH_STATEMENT_LABEL,
  REVOCATION_LIST_LABEL,
  REVOCATIONS_FORMAT,
  type ReachStatementBody,
  type RevocationEntry,
  type RevocationListBody,
  reaches,
  reachStatementSignedBytes,
  revocationListSignedBytes,
  type SignedReachStatement,
  type SignedRevocationList,
  signReachStatement,
  signRevocationList,
  verifyReachStatement,
  verifyRevocationList,
} from './revocations.js';
export {
  decodeStaticV1Message,
  encodeStaticV1Message,
  STATIC_V1_MIN_SEALED,
  type StaticV1Message,
} from './static-v1.js';
export {
  isSuite,
  type NegotiateOptions,
  negotiateSuite,
  negotiateSuiteForBundle,
  SUITES,
  type Suite,
} from './suites.js';
