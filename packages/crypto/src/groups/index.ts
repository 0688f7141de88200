/**
 * Groups (R03): one content encryption fanned out as key wraps over pairwise sessions, and
 * signed group state changes. See `spec/groups.md`.
 *
 * @module
 */
export {
  applyGroupChange,
  decodeGroupChange,
  encodeGroupChange,
  GROUP_ACTIONS,
  GROUP_CHANGE_LABEL,
  GROUP_CHANGE_MAX_MEMBERS,
  GROUP_MAX_DEVICES,
  type GroupAction,
  type GroupChange,
  GroupChangeRejected,
  type GroupChangeRejection,
  type GroupMember,
  type GroupState,
  signGroupChange,
  verifyGroupChange,
} from './change.js';
export {
  decodeGroupKeyWrap,
  decryptGroupContent,
  encodeGroupKeyWrap,
  encryptForGroup,
  GROUP_CONTENT_AD_LABEL,
  GROUP_CONTENT_DIGEST_LABEL,
  GROUP_CONTENT_KEY_LENGTH,
  GROUP_DIGEST_LENGTH,
  GROUP_FANOUT_VERSION,
  GROUP_MAX_ID_LENGTH,
  type GroupEncrypted,
  type GroupKeyWrap,
  groupContentDigest,
  wipeGroupKeyWrap,
} from './fanout.js';
