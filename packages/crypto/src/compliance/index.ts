/**
 * Compliance archive (R12): content sealed to the tenant's archive key. See
 * `spec/compliance-seal.md`.
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
  ARCHIVE_SEAL_VERSION,
  type ArchiveBindings,
  type OpenedArchive,
  openArchived,
  peekArchivedBindings,
  type SealForArchiveOptions,
  sealForArchive,
} from './seal.js';
