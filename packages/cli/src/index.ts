/**
 * `@cloister/cli`: the `cloister` command (`server start`, `tenant create`, `token create`), also
 * usable in-process through {@link run} and {@link buildProgram}. Reference: `spec/cli.md`.
 *
 * @packageDocumentation
 */

export type { ListenJson } from './commands/client.js';
export type { DeviceWipeJson } from './commands/device.js';
export type { StartJsonLine } from './commands/server.js';
export type { TenantJson } from './commands/tenant.js';
export type { TokenJson } from './commands/token.js';
export { type DurationUnit, formatDuration, MAX_DURATION_MS, parseDuration } from './duration.js';
export { type CliIO, EXIT } from './io.js';
export { buildProgram, run } from './main.js';
