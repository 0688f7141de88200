/**
 * The organisation's trust chain (`spec/organisation.md`): the root key and its fingerprint,
 * administrator certificates, and signed organisation objects verified against the pinned root.
 *
 * @module
 */
export {
  ARCHIVE_KEY_FINGERPRINT_LABEL,
  ARCHIVE_KEY_FINGERPRINT_PREFIX,
  archiveKeyFingerprint,
} from './archive-fingerprint.js';
export {
  type ArchiveAuditors,
  type ArchiveConfig,
  type ArchiveParty,
  type ArchiveReason,
  type ArchiveScope,
  archiveReason,
  archiveWindowHolds,
  MAX_ARCHIVE_AUDITORS,
  MAX_ARCHIVE_SCOPE_POOLS,
  MAX_ARCHIVE_SCOPE_USERS,
  partyInArchiveScope,
  validateArchiveAuditors,
  validateArchiveConfig,
  validateArchiveScope,
} from './archive-scope.js';
export { type CanonicalJson, canonicalJsonBytes, parseCanonicalJson } from './canonical-json.js';
export {
  ADMIN_CERTIFICATE_LABEL,
  type AdminCertificate,
  type AdminCertificateBody,
  adminCertificateSignedBytes,
  decodeAdminCertificate,
  issueAdminCertificate,
  MAX_ADMIN_CERTIFICATE_BYTES,
  MAX_ADMIN_CERTIFICATE_VALIDITY_MS,
  type VerifyAdminCertificateOptions,
  verifyAdminCertificate,
} from './certificate.js';
export {
  type BroadcastAudience,
  type BroadcastPayload,
  MAX_BROADCAST_AUDIENCE,
  MAX_BROADCAST_TEXT_BYTES,
  ORGANISATION_ID_LENGTH,
  type WipePayload,
} from './commands.js';
export { type CertificateDelegationPayload, delegationCovers, MAX_DELEGATION_MS } from './delegation.js';
export {
  type DeviceAdmissionPayload,
  MAX_POOL_RULES,
  type PoolRule,
  type PoolRulesPayload,
} from './directory.js';
export {
  decodeOrganisationObject,
  MAX_ORGANISATION_CLOCK_SKEW_MS,
  MAX_ORGANISATION_PAYLOAD_BYTES,
  ORGANISATION_OBJECT_LABELS,
  type OrganisationObjectBody,
  type OrganisationPayload,
  organisationObjectScope,
  organisationObjectSignedBytes,
  type SignedOrganisationObject,
  signOrganisationObject,
  type VerifyOrganisationObjectOptions,
  verifyOrganisationObject,
} from './object.js';
export {
  ARCHIVE_FEATURE,
  MAX_POLICY_DOCUMENT_BYTES,
  MAX_POLICY_DOCUMENT_FEATURES,
  POLICY_LAYER_KINDS,
  type PolicyLayerKind,
  type PolicyLayerPayload,
  type SignedPolicyFeature,
} from './policy-layer.js';
export {
  type LayerDocument,
  type LayerFeature,
  type PolicyLayers,
  policyMessageLifetime,
  RETENTION_POLICY_FEATURE,
  type ResolvedFeature,
  resolvePolicyFeatures,
} from './policy-resolve.js';
export * from './restrictions.js';
export {
  ADMIN_ROLES,
  type AdminRole,
  maySign,
  ORGANISATION_OBJECT_KINDS,
  ORGANISATION_PERMISSIONS,
  type OrganisationObjectKind,
} from './roles.js';
export {
  equalRootFingerprints,
  generateOrganisationRoot,
  ORGANISATION_SUITE_ED25519,
  parseRootFingerprint,
  ROOT_FINGERPRINT_LABEL,
  ROOT_FINGERPRINT_PREFIX,
  rootFingerprint,
  rootMatchesFingerprint,
} from './root.js';
