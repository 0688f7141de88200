/**
 * Administrative commands a device obeys: remote wipe (R28). See spec/remote-wipe.md.
 *
 * @module
 */
export {
  decodeWipeCommand,
  decodeWipeReport,
  signWipeCommand,
  signWipeReport,
  verifyWipeCommand,
  verifyWipeReport,
  WIPE_COMMAND_ID_LENGTH,
  WIPE_COMMAND_LABEL,
  WIPE_FORMAT_VERSION,
  WIPE_MAX_STRING_BYTES,
  WIPE_REPORT_LABEL,
  type WipeCommand,
  WipeCommandError,
  type WipeCommandProblem,
  type WipeReport,
} from './wipe.js';
