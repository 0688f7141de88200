/**
 * `@cloister/cli`: the `cloister` command (`server start`, `admin …`, `org …`, `client …`), also
 * usable in-process through {@link run} and {@link buildProgram}. Reference: `spec/cli.md`.
 *
 * @module @cloister/cli
 */

export type { AdminSessionJson } from './commands/admin.js';
export type { AdmitJson, WipeJson } from './commands/admin-devices.js';
export type { ManagedConfigFormat, UserInviteJson } from './commands/admin-people.js';
export type { PublishedJson } from './commands/admin-policy.js';
export type { ErasedJson } from './commands/admin-subjects.js';
export type { TenantCreateJson } from './commands/admin-tenant.js';
export type { ListenJson } from './commands/client.js';
export type { OrgCertifyJson, OrgInitJson } from './commands/org.js';
export type { StartJsonLine } from './commands/server.js';
export { type DurationUnit, formatDuration, MAX_DURATION_MS, parseDuration } from './duration.js';
export { type CliIO, EXIT } from './io.js';
export { buildProgram, run } from './main.js';
