/**
 * Compliance archive (R12): content sealed to the tenant's archive key and signed by the sender's
 * device identity. See `spec/compliance-seal.md`.
 *
 * @module
 */
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
  openArchived,
  type PeekedArchiveSeal,
  peekArchivedBindings,
  peekArchiveSeal,
  type SealForArchiveOptions,
  type SignArchiveSealOptions,
  sealForArchive,
  signArchiveSeal,
  type VerifiedArchive,
  type VerifyArchivedOptions,
  verifyArchived,
} from './seal.js';
