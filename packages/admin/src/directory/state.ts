/**
 * The bridge's state file (one per source): where the last successful run left the directory
 * (OpenLDAP's `contextCSN` and the time to search `modifyTimestamp >=` from; AD's
 * `highestCommittedUSN` and the DC it came from), how many incremental runs followed the last full
 * one, and each managed user's DN (to resolve group members in an incremental run). Written
 * atomically (a temporary file renamed over it, mode 0600) and only after a run succeeded; a file
 * that does not validate is ignored and the next run is a full one.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';

const schema = z
  .object({
    version: z.literal(1),
    source: z.string().min(1),
    kind: z.enum(['openldap', 'ad']),
    url: z.string().min(1),
    lastRunAt: z.number().int(),
    lastFullRunAt: z.number().int(),
    runsSinceFull: z.number().int().min(0),
    openldap: z
      .object({ contextCSN: z.array(z.string()), since: z.string().regex(/^\d{14}(\.\d{1,6})?Z$/) })
      .strict()
      .optional(),
    ad: z
      .object({ highestCommittedUSN: z.string().regex(/^\d{1,20}$/), dsServiceName: z.string() })
      .strict()
      .optional(),
    dns: z.record(z.string(), z.string()),
  })
  .strict();

/**
 * The state file's content.
 *
 * @example
 * ```ts
 * const state: SyncState = {
 *   version: 1, source: 'ldap:corp', kind: 'openldap', url: 'ldaps://ldap.example.org',
 *   lastRunAt: Date.now(), lastFullRunAt: Date.now(), runsSinceFull: 0,
 *   openldap: { contextCSN: ['20261207165500.123456Z#000000#000#000000'], since: '20261207165500Z' },
 *   dns: {},
 * };
 * ```
 */
export type SyncState = z.infer<typeof schema>;

/**
 * Reads the state file; `undefined` when it does not exist or does not validate (the run is then a
 * full one).
 *
 * @example
 * ```ts
 * const state = readSyncState('/var/lib/cloister/corp.state.json');
 * ```
 */
export function readSyncState(path: string): SyncState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes the state file atomically with mode 0600: a temporary file in the same directory, then a
 * rename over the old one, so a crash leaves the old state or the new one, never half of one.
 *
 * @example
 * ```ts
 * const path = '/var/lib/cloister/corp.state.json';
 * const state = readSyncState(path);
 * if (state !== undefined) writeSyncState(path, { ...state, lastRunAt: Date.now() });
 * ```
 */
export function writeSyncState(path: string, state: SyncState): void {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  writeFileSync(temporary, `${JSON.stringify(schema.parse(state), null, 1)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}
