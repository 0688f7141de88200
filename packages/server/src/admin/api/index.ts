/**
 * The admin API (`spec/admin-api.md`): every operation declared once with
 * `defineAdminOperation`, registered by {@link adminApiRoutes}, and described by the OpenAPI
 * document generated from the same declarations.
 *
 * @module
 */
export * from './activity.js';
export * from './administrators.js';
export * from './allowlist.js';
export * from './archive.js';
export * from './audit.js';
export * from './blocking.js';
export * from './device-admissions.js';
export * from './devices.js';
export * from './domains.js';
export * from './integrations.js';
export * from './last-seen.js';
export * from './legal-holds.js';
export * from './openapi.js';
export * from './operation.js';
export * from './operations.js';
export * from './operator.js';
export * from './pools.js';
export * from './routes.js';
export {
  ADMIN_SCHEMAS,
  adminView,
  auditRecordView,
  deviceView,
  errorBodySchema,
  namedAdminSchemas,
  tenantView,
  userView,
} from './schemas.js';
export * from './scim.js';
export * from './tenants.js';
export * from './usage.js';
export * from './users.js';
