/**
 * The auditors' tool (`spec/audit-tool.md`): the archive admin API, auditor key files, the key
 * ceremony, opening and classifying sealed items, the search scope and the exports.
 *
 * @module
 */
export {
  ArchiveApi,
  type ArchiveItem,
  type ArchiveItemsPage,
  type ArchiveItemsQuery,
  type ArchiveKeySetHolderInput,
  type ArchiveKeySetView,
  type CreateArchiveKeySetInput,
  type CreatedArchiveKeySet,
  type LegalHold,
  LegalHoldsApi,
} from './api.js';
export {
  AUDITOR_KEY_FORMATS,
  type AuditorKey,
  type AuditorPublicKey,
  generateAuditorKey,
  openAuditorKey,
  readAuditorPublicKey,
} from './auditor-key.js';
export {
  type ArchiveKeySetCreated,
  archivePolicyFeature,
  combineWrappedShares,
  createArchiveKeySet,
  type KeySetHolder,
  releaseArchiveShare,
} from './ceremony.js';
export { escapeXml, exportActiance } from './export-actiance.js';
export { type EmlTarget, emlMessage, encodeHeaderValue, exportEml, rfc5322Date } from './export-eml.js';
export { exportJsonLines } from './export-jsonl.js';
export { NDJSON_MAX_LINE, ndjsonValues } from './ndjson.js';
export {
  ARCHIVED_FILE_KEY_CONTENT_TYPE,
  ARCHIVED_MESSAGE_CONTENT_TYPE,
  archivedMessage,
  DEFAULT_CLOCK_SKEW_MS,
  DEFAULT_DEDUPE_WINDOW,
  type OpenArchiveOptions,
  openArchive,
} from './open.js';
export {
  ARCHIVE_RECORD_STATUSES,
  type ArchivedFile,
  type ArchivedMessage,
  type ArchiveItemRecordBase,
  type ArchiveRecord,
  type ClaimedBindings,
  recordMessage,
} from './record.js';
export { type ArchiveSearchScope, filterArchive, scopeMatcher } from './scope.js';
export { type ArchiveExportSummary, type ArchiveSink, ExportTally, writeTo } from './sink.js';
