/**
 * Compliance archive (R12): content sealed to the tenant's archive key and signed by the sender's
 * device identity (versions 2 and 3), and the auditors' side that opens and classifies seals. See
 * `spec/compliance-seal.md`; the auditors' k-of-n archive key in `spec/archive-keys.md`.
 *
 * @module
 */

export {
  ARCHIVE_SHARE_AAD_LABEL,
  ARCHIVE_SHARE_INFO_LABEL,
  ARCHIVE_SHARE_MAGIC,
  ARCHIVE_SHARE_MAX_HOLDERS,
  ARCHIVE_SHARE_SET_ID_LENGTH,
  ArchiveKeyMismatch,
  type ArchiveKeyPair,
  type ArchiveShare,
  combineArchiveShares,
  generateArchiveKey,
  peekArchiveShare,
  rewrapArchiveShare,
  type ShareHolder,
  type ShareRecipient,
  splitArchiveKey,
  unwrapArchiveShare,
  type WrappedShareInfo,
} from './archive-key.js';
export { ArchiveCertificateCache, DEFAULT_ARCHIVE_CERTIFICATE_CACHE } from './certificate-cache.js';
export { type ArchiveInspection, inspectArchived, openArchived, verifyArchived } from './inspect.js';
export { type PeekedArchiveSeal, peekArchivedBindings, peekArchiveSeal } from './peek.js';
export {
  ARCHIVE_MAX_CONTENT_TYPE,
  ARCHIVE_MAX_CONVERSATION_ID,
  ARCHIVE_MAX_USER_ID,
  ARCHIVE_MESSAGE_ID_LENGTH,
  ARCHIVE_SEAL_AAD_LABEL,
  ARCHIVE_SEAL_INFO_LABEL,
  ARCHIVE_SEAL_SIGNATURE_LABEL,
  ARCHIVE_SEAL_VERSION,
  type ArchiveBindings,
  type OpenArchivedOptions,
  type OpenedArchive,
  type SealForArchiveOptions,
  type SignArchiveSealOptions,
  sealForArchive,
  signArchiveSeal,
  type VerifiedArchive,
  type VerifyArchivedOptions,
} from './seal.js';
export {
  ARCHIVE_KEY_ID_LABEL,
  ARCHIVE_KEY_ID_LENGTH,
  ARCHIVE_SEAL_V3_AAD_LABEL,
  ARCHIVE_SEAL_V3_HEADER_LENGTH,
  ARCHIVE_SEAL_V3_INFO_LABEL,
  ARCHIVE_SEAL_V3_PADDING,
  ARCHIVE_SEAL_V3_SIGNATURE_LABEL,
  ARCHIVE_SEAL_V3_VERSION,
  archiveKeyId,
  type SealArchivedOptions,
  sealArchived,
} from './seal-v3.js';
