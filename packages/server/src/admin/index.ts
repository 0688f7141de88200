/**
 * The admin plane (`spec/admin-auth.md`): administrators, their passwords and TOTP, sessions,
 * integration keys, the roles' permissions and the authentication routes.
 *
 * @module
 */
export * from './api/index.js';
export * from './enrolment.js';
export * from './integration-keys.js';
export * from './password.js';
export * from './permissions.js';
export * from './routes.js';
export * from './secrets.js';
export * from './sessions.js';
export * from './totp.js';
