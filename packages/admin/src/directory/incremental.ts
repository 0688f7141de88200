/**
 * Reading the directory for one run, full or incremental (`spec/directory.md` §3):
 *
 * - **OpenLDAP**: the suffix's `contextCSN` is read first; an unchanged `contextCSN` means nothing
 *   changed. Otherwise the users in scope whose `entryCSN` is newer than the last run's
 *   `contextCSN` are the changes (`entryCSN` has microseconds; `modifyTimestamp` has seconds and
 *   would read again what changed in the last run's second); entries changed anywhere in the naming
 *   context since then that are no longer in scope have moved out of it; deletions come from the
 *   change log (`cn=accesslog`, `auditDelete` entries' `reqEntryUUID` with `reqStart` at or after
 *   the last `contextCSN`'s time) when the configuration names it, otherwise from a scan of the
 *   scope's ids compared with the ids of the last run.
 * - **Active Directory**: the rootDSE's `highestCommittedUSN` and `dsServiceName` are read first;
 *   changes are the users in scope with `uSNChanged >` the stored USN, deletions the tombstones
 *   (`isDeleted=TRUE`, Show Deleted control 1.2.840.113556.1.4.417) with a newer `uSNChanged`, by
 *   `objectGUID`. USNs are per DC: another DC (`dsServiceName`) means a full run.
 * - A full run when asked for, when there is no usable state, when the state is of another
 *   directory, and every `fullRunEvery`-th run.
 *
 * @module
 */
import { type Client, Control } from 'ldapts';
import type { DirectoryConfig } from './config.js';
import type { DirectorySnapshot, LeaveReason } from './plan.js';
import {
  type DirectoryUser,
  isUnder,
  namingContextOf,
  normaliseDn,
  readGroups,
  searchIds,
  searchUsers,
  userAttributes,
  userOf,
} from './reader.js';
import type { SyncState } from './state.js';

/**
 * The Show Deleted control (AD): tombstones are returned.
 *
 * @example
 * ```ts
 * console.log(SHOW_DELETED_OID); // "1.2.840.113556.1.4.417"
 * ```
 */
export const SHOW_DELETED_OID = '1.2.840.113556.1.4.417';

/**
 * A read of the directory for one run.
 *
 * @example
 * ```ts
 * const client = await connectDirectory(config, readBindPassword(config));
 * const read: DirectoryRead = await readDirectory(client, config, undefined, { full: false });
 * console.log(read.mode, read.snapshot.users.length);
 * ```
 */
export interface DirectoryRead {
  /** `full` or `incremental`. */
  readonly mode: 'full' | 'incremental';
  /** Why a full run (`requested`, `no-state`, `other-directory`, `periodic`, `other-dc`, `no-marker`), or `incremental`. */
  readonly reason: string;
  /** What the plan compares with the server (group members by directory id). */
  readonly snapshot: DirectorySnapshot;
  /** The state to write once the run has been applied (markers read before the scope was read). */
  readonly next: Omit<SyncState, 'lastRunAt'>;
}

/** The first value of an attribute as text. */
function first(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined ? undefined : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

function all(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v) =>
    Buffer.isBuffer(v) ? v.toString('utf8') : String(v),
  );
}

/** OpenLDAP: the suffix's `contextCSN` values, sorted. */
async function contextCsn(client: Client, suffix: string): Promise<string[]> {
  const { searchEntries } = await client.search(suffix, { scope: 'base', attributes: ['contextCSN'] });
  return all(searchEntries[0]?.contextCSN).sort();
}

/** AD: the rootDSE's `highestCommittedUSN` and `dsServiceName` (which DC). */
async function adMarker(client: Client): Promise<{ highestCommittedUSN: string; dsServiceName: string }> {
  const { searchEntries } = await client.search('', {
    scope: 'base',
    filter: '(objectClass=*)',
    attributes: ['highestCommittedUSN', 'dsServiceName'],
  });
  const root = searchEntries[0];
  return {
    highestCommittedUSN: first(root?.highestCommittedUSN) ?? '0',
    dsServiceName: first(root?.dsServiceName) ?? '',
  };
}

/** Why this run must be a full one, or undefined for an incremental run. */
function fullReason(
  config: DirectoryConfig,
  state: SyncState | undefined,
  marker: { openldap?: { contextCSN: string[] }; ad?: { dsServiceName: string } },
  full: boolean,
): string | undefined {
  if (full) return 'requested';
  if (state === undefined) return 'no-state';
  if (state.source !== config.source || state.kind !== config.kind || state.url !== config.url)
    return 'other-directory';
  if (state.runsSinceFull + 1 >= config.fullRunEvery) return 'periodic';
  if (config.kind === 'ad') {
    if (state.ad === undefined) return 'no-marker';
    if (state.ad.dsServiceName !== marker.ad?.dsServiceName) return 'other-dc';
  } else if (state.openldap === undefined || (marker.openldap?.contextCSN.length ?? 0) === 0) {
    return 'no-marker';
  }
  return undefined;
}

/**
 * The second of the oldest CSN as a generalized time, `YYYYmmddHHMMSS.ffffffZ#…` →
 * `YYYYmmddHHMMSSZ` (the change log's `reqStart` is compared with it; a deletion read again is
 * already `left` and changes nothing).
 */
function csnTime(csns: readonly string[]): string {
  const oldest = [...csns].sort()[0] ?? '';
  const m = /^(\d{14})/.exec(oldest);
  return m === null ? '19700101000000Z' : `${m[1]}Z`;
}

/**
 * Resolves group members' DNs to directory ids: through `dns` (id → DN of the users in scope), and
 * in an incremental run, for a DN not known there, by reading that entry (base scope, the user
 * filter) when it lies under a base DN of the scope.
 */
async function memberIds(
  client: Client,
  config: DirectoryConfig,
  memberDns: readonly string[],
  byDn: Map<string, string>,
  lookUp: boolean,
): Promise<string[]> {
  const ids: string[] = [];
  for (const dn of memberDns) {
    const known = byDn.get(dn);
    if (known !== undefined) {
      ids.push(known);
      continue;
    }
    if (!lookUp || !config.users.baseDNs.some((b) => isUnder(dn, b))) continue;
    try {
      const { searchEntries } = await client.search(dn, {
        scope: 'base',
        filter: config.users.filter,
        attributes: userAttributes(config),
        explicitBufferAttributes: config.kind === 'ad' ? ['objectGUID'] : [],
      });
      const entry = searchEntries[0];
      const user = entry === undefined ? null : userOf(entry, config);
      if (user !== null) {
        ids.push(user.externalId);
        byDn.set(dn, user.externalId);
      }
    } catch (error) {
      if ((error as { code?: unknown }).code !== 32) throw error; // 32: no such object
    }
  }
  return ids;
}

/**
 * Reads the directory for one run: decides full or incremental (see the module comment), reads the
 * markers first (so nothing written during the read is missed next time), then the users and the
 * mapped groups.
 *
 * @example
 * ```ts
 * import { connectDirectory, readDirectory } from '@cloister/admin/node';
 * const client = await connectDirectory(config, password);
 * const read = await readDirectory(client, config, readSyncState('/var/lib/cloister/corp.state.json'), {
 *   full: false,
 * });
 * ```
 */
export async function readDirectory(
  client: Client,
  config: DirectoryConfig,
  state: SyncState | undefined,
  options: { readonly full: boolean; readonly now?: number },
): Promise<DirectoryRead> {
  const now = options.now ?? Date.now();
  const suffix = await namingContextOf(client, config);
  const marker: {
    openldap?: { contextCSN: string[]; since: string };
    ad?: { highestCommittedUSN: string; dsServiceName: string };
  } = {};
  if (config.kind === 'ad') marker.ad = await adMarker(client);
  else {
    const csns = await contextCsn(client, suffix);
    marker.openldap = { contextCSN: csns, since: csnTime(csns) };
  }
  const reason = fullReason(config, state, marker, options.full);
  const dns = new Map<string, string>(); // id → normalised DN
  let users: DirectoryUser[];
  const removed: { externalId: string; reason: LeaveReason }[] = [];

  if (reason !== undefined || state === undefined) {
    users = await searchUsers(client, config, config.users.filter);
    for (const u of users) dns.set(u.externalId, normaliseDn(u.dn));
  } else {
    for (const [id, dn] of Object.entries(state.dns)) dns.set(id, dn);
    // Changed since the markers of the last run: AD's USN; OpenLDAP's entryCSN after the oldest
    // stored contextCSN value (microseconds, where modifyTimestamp has seconds and would read again
    // what changed in the last run's second).
    const oldest = [...(state.openldap?.contextCSN ?? [])].sort()[0] ?? '';
    const changedFilter =
      config.kind === 'ad'
        ? `(uSNChanged>=${BigInt(state.ad?.highestCommittedUSN ?? '0') + 1n})`
        : `(&(entryCSN>=${oldest})(!(entryCSN=${oldest})))`;
    const unchanged =
      config.kind === 'openldap' &&
      JSON.stringify(state.openldap?.contextCSN ?? []) === JSON.stringify(marker.openldap?.contextCSN ?? []);
    if (unchanged) {
      users = [];
    } else {
      users = await searchUsers(client, config, `(&${config.users.filter}${changedFilter})`);
      const inScope = new Set(users.map((u) => u.externalId));
      for (const u of users) dns.set(u.externalId, normaliseDn(u.dn));
      const deleted = new Set<string>();
      if (config.kind === 'ad') {
        const tombstones = await searchIds(client, config, suffix, `(&(isDeleted=TRUE)${changedFilter})`, [
          new Control(SHOW_DELETED_OID, { critical: true }),
        ]);
        for (const id of tombstones) deleted.add(id);
      } else if (config.accesslogDN !== undefined) {
        const { searchEntries } = await client.search(config.accesslogDN, {
          scope: 'sub',
          filter: `(&(objectClass=auditDelete)(reqResult=0)(reqStart>=${state.openldap?.since ?? '19700101000000Z'}))`,
          attributes: ['reqEntryUUID'],
          paged: { pageSize: config.pageSize },
        });
        for (const e of searchEntries) {
          const id = first(e.reqEntryUUID);
          if (id !== undefined) deleted.add(id.toLowerCase());
        }
      } else {
        // No change log: every id still in scope, compared with the ids known from the last run.
        const present = new Set<string>();
        for (const base of config.users.baseDNs) {
          for (const id of await searchIds(client, config, base, config.users.filter)) present.add(id);
        }
        for (const id of dns.keys()) if (!present.has(id)) deleted.add(id);
      }
      for (const id of deleted) {
        if (inScope.has(id)) continue;
        removed.push({ externalId: id, reason: 'deleted' });
        dns.delete(id);
      }
      // Changed anywhere in the naming context and not in scope (moved away, filter no longer
      // matching): out of scope. Ids this source never managed are ignored by the plan.
      const changedAnywhere = await searchIds(client, config, suffix, changedFilter);
      for (const id of changedAnywhere) {
        if (inScope.has(id) || deleted.has(id) || !dns.has(id)) continue;
        removed.push({ externalId: id, reason: 'out-of-scope' });
        dns.delete(id);
      }
    }
  }

  const byDn = new Map<string, string>();
  for (const [id, dn] of dns) byDn.set(dn, id);
  const groups: { pool: string; members: string[] }[] = [];
  if (config.groups.length > 0) {
    const read = await readGroups(client, config, suffix);
    for (const [i, g] of read.entries()) {
      const pool = (config.groups[i] as { pool: string }).pool;
      const ids = await memberIds(client, config, g.members, byDn, reason === undefined);
      const existing = groups.find((x) => x.pool === pool);
      if (existing === undefined) groups.push({ pool, members: ids });
      else existing.members.push(...ids);
    }
  }
  for (const [dn, id] of byDn) if (!dns.has(id)) dns.set(id, dn);

  const full = reason !== undefined;
  const next: Omit<SyncState, 'lastRunAt'> = {
    version: 1,
    source: config.source,
    kind: config.kind,
    url: config.url,
    lastFullRunAt: full ? now : (state?.lastFullRunAt ?? now),
    runsSinceFull: full ? 0 : (state?.runsSinceFull ?? 0) + 1,
    ...(marker.openldap === undefined ? {} : { openldap: marker.openldap }),
    ...(marker.ad === undefined ? {} : { ad: marker.ad }),
    dns: Object.fromEntries(dns),
  };
  return {
    mode: full ? 'full' : 'incremental',
    reason: reason ?? 'incremental',
    snapshot: { complete: full, users, removed, groups },
    next,
  };
}
