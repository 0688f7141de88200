/**
 * The SCIM 2.0 service provider (`spec/directory.md` §2): its routes and the pieces a host or a
 * benchmark configures.
 *
 * @module
 */
export { configureScimTokens, DEFAULT_SCIM_TOKEN_LIMIT, type ScimTokenLimit } from './auth.js';
export { SCIM_ERROR_SCHEMA, ScimError, type ScimType } from './errors.js';
export { PATCH_OP_SCHEMA } from './patch.js';
export {
  CLOISTER_USER_SCHEMA,
  GROUP_SCHEMA,
  LIST_SCHEMA,
  SCIM_MAX_RESULTS,
  USER_SCHEMA,
} from './resources.js';
export { SCIM_BASE_PATH, scimRoutes } from './routes.js';
