/**
 * The LDAP / Active Directory bridge (`spec/directory.md` §3), exported from
 * `@cloister/admin/node`: configuration, directory reading (full and incremental), the SCIM client,
 * the pure plan, the state file and {@link syncDirectory}, which `cloister directory sync` runs.
 *
 * @module
 */
export {
  DEFAULT_DISABLE_THRESHOLD,
  DEFAULT_FULL_RUN_EVERY,
  DEFAULT_USER_FILTER,
  type DirectoryConfig,
  type DirectoryConfigInput,
  loadDirectoryConfig,
  parseDirectoryConfig,
  readBindPassword,
  readScimToken,
} from './config.js';
export { type DirectoryRead, readDirectory, SHOW_DELETED_OID } from './incremental.js';
export {
  type DirectorySnapshot,
  type LeaveReason,
  type PlanAction,
  type PlanCounts,
  planSync,
  type ServerSnapshot,
  type SyncPlan,
} from './plan.js';
export {
  connectDirectory,
  type DirectoryGroup,
  type DirectoryUser,
  guidToBytes,
  guidToString,
  ID_ATTRIBUTE,
  normaliseDn,
} from './reader.js';
export {
  retryAfterMs,
  SCIM_SCHEMAS,
  ScimClient,
  type ScimClientOptions,
  ScimError,
  type ScimGroup,
  type ScimPatchOperation,
  type ScimUser,
} from './scim-client.js';
export { readSyncState, type SyncState, writeSyncState } from './state.js';
export {
  SyncApplyError,
  type SyncOptions,
  type SyncProgress,
  type SyncResult,
  syncDirectory,
  ThresholdExceededError,
} from './sync.js';
