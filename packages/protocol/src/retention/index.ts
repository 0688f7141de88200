/**
 * Retention (R29): the layered policy model, its validation, and the pure resolver that says how
 * long data of each class may be kept. See `spec/retention.md`.
 *
 * @module
 */
export {
  checkDisappearingTimer,
  NO_CLAMP,
  parseRetentionPolicy,
  RETENTION_CLASSES,
  RETENTION_KINDS,
  RETENTION_LAYERS,
  RETENTION_LOCATIONS,
  type RetentionClamp,
  type RetentionClamps,
  type RetentionClass,
  type RetentionKind,
  type RetentionLayer,
  type RetentionLayerName,
  type RetentionLocation,
  type RetentionPolicy,
  type RetentionRule,
  type RetentionRules,
} from './policy.js';
export {
  expiresAt,
  type ResolveRetentionOptions,
  type RetentionDecider,
  type RetentionResolution,
  resolveRetention,
  resolveRetentionAll,
  retentionCeiling,
} from './resolve.js';
