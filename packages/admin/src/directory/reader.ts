/**
 * Reading the directory with `ldapts`: the bind (LDAPS, or StartTLS on `ldap://` unless the
 * configuration allows plain LDAP), paged searches (RFC 2696) of the user scope, the immutable id
 * of each entry (`entryUUID`; AD's binary `objectGUID` as the canonical GUID string, whose first
 * three groups are little-endian), the disabled flag (AD `userAccountControl & 2`; OpenLDAP
 * `pwdAccountLockedTime` present or `nsAccountLock: true`; a configured attribute for other
 * schemas) and the members of the groups mapped to pools.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { ValidationError } from '@cloister/crypto';
import { Client, type Control, EqualityFilter, type Entry } from 'ldapts';
import type { DirectoryConfig } from './config.js';

/**
 * One user of the scope as the bridge sees it.
 *
 * @example
 * ```ts
 * const user: DirectoryUser = {
 *   externalId: '4c962088-868e-1041-9db0-090d5484774b',
 *   dn: 'uid=alice,ou=people,dc=example,dc=org',
 *   userName: 'alice',
 *   displayName: 'Alice Example',
 *   email: 'alice@example.org',
 *   disabled: false,
 * };
 * ```
 */
export interface DirectoryUser {
  /** The immutable id: `entryUUID`, or `objectGUID` as a GUID string (lower case). */
  readonly externalId: string;
  /** The entry's DN now (it changes on a rename or a move; never used as identity). */
  readonly dn: string;
  /** The account name (`uid`, `sAMAccountName`, or the configured attribute), or null. */
  readonly userName: string | null;
  /** The display name (`displayName`, else `cn`, else the account name). */
  readonly displayName: string;
  /** The e-mail address, or null. */
  readonly email: string | null;
  /** True when the directory disables the account. */
  readonly disabled: boolean;
}

/**
 * A group mapped to a pool, with its members' DNs (normalised by {@link normaliseDn}).
 *
 * @example
 * ```ts
 * const group: DirectoryGroup = { key: 'cn=staff,ou=groups,dc=example,dc=org', dn: 'cn=staff,ou=groups,dc=example,dc=org', members: [] };
 * ```
 */
export interface DirectoryGroup {
  /** The group as the configuration names it (DN or id). */
  readonly key: string;
  /** The group's DN. */
  readonly dn: string;
  /** The members' DNs, normalised. */
  readonly members: readonly string[];
}

/**
 * The attribute holding the immutable id of each kind.
 *
 * @example
 * ```ts
 * ID_ATTRIBUTE.openldap; // "entryUUID"
 * ```
 */
export const ID_ATTRIBUTE: Readonly<Record<DirectoryConfig['kind'], string>> = {
  openldap: 'entryUUID',
  ad: 'objectGUID',
};

/**
 * AD's 16-byte `objectGUID` as the canonical GUID string: the first three groups are stored
 * little-endian (Data1, Data2, Data3), the last two as bytes in order.
 *
 * @example
 * ```ts
 * guidToString(Buffer.from('88209c4c8e864110...', 'hex')); // "4c9c2088-868e-1041-…"
 * ```
 */
export function guidToString(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new ValidationError('objectGUID', '16 bytes');
  const hex = (from: number, to: number, reverse: boolean): string => {
    const part = Array.from(bytes.subarray(from, to));
    if (reverse) part.reverse();
    return part.map((b) => b.toString(16).padStart(2, '0')).join('');
  };
  return `${hex(0, 4, true)}-${hex(4, 6, true)}-${hex(6, 8, true)}-${hex(8, 10, false)}-${hex(10, 16, false)}`;
}

/**
 * The inverse of {@link guidToString}: the 16 bytes AD stores for a GUID string (for a search by
 * `objectGUID`).
 *
 * @example
 * ```ts
 * const value = guidToBytes('4c9c2088-868e-1041-9db0-090d5484774b'); // 16 bytes, for an objectGUID filter
 * ```
 */
export function guidToBytes(guid: string): Buffer {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(guid);
  if (m === null) throw new ValidationError('objectGUID', 'a GUID string');
  const le = (h: string) => Buffer.from(h, 'hex').reverse();
  return Buffer.concat([
    le(m[1] as string),
    le(m[2] as string),
    le(m[3] as string),
    Buffer.from(m[4] as string, 'hex'),
    Buffer.from(m[5] as string, 'hex'),
  ]);
}

/**
 * A DN in a form two spellings of the same DN share: lower case, no spaces around `,` and `=`.
 * (Good enough for comparing the DNs one directory hands out; not a full RFC 4514 normaliser.)
 *
 * @example
 * ```ts
 * normaliseDn('CN=Alice, OU=People,DC=example,DC=org'); // "cn=alice,ou=people,dc=example,dc=org"
 * ```
 */
export function normaliseDn(dn: string): string {
  return dn
    .trim()
    .replace(/\s*([,=+])\s*/g, '$1')
    .toLowerCase();
}

/** True when `dn` is `base` or below it. */
export function isUnder(dn: string, base: string): boolean {
  const d = normaliseDn(dn);
  const b = normaliseDn(base);
  return d === b || d.endsWith(`,${b}`);
}

/**
 * Opens a connection to the directory and binds as the configured DN: LDAPS, or `ldap://` with
 * StartTLS (refused by the server → the call fails, never falls back), or plain LDAP only when the
 * configuration says `insecurePlainLdap`.
 *
 * @example
 * ```ts
 * const client = await connectDirectory(config, readBindPassword(config));
 * try {
 *   const { searchEntries } = await client.search('', { scope: 'base' });
 *   console.log(searchEntries.length);
 * } finally {
 *   await client.unbind();
 * }
 * ```
 */
export async function connectDirectory(config: DirectoryConfig, password: string): Promise<Client> {
  const tlsOptions = {
    ...(config.tls.caFile === undefined ? {} : { ca: readFileSync(config.tls.caFile) }),
    ...(config.tls.servername === undefined ? {} : { servername: config.tls.servername }),
    minVersion: 'TLSv1.2' as const,
  };
  const client = new Client({
    url: config.url,
    timeout: 60_000,
    connectTimeout: 15_000,
    ...(config.url.toLowerCase().startsWith('ldaps://') ? { tlsOptions } : {}),
  });
  try {
    if (config.startTls) await client.startTLS(tlsOptions);
    await client.bind(config.bindDN, password);
  } catch (error) {
    await client.unbind().catch(() => undefined);
    throw error;
  }
  return client;
}

/** The first value of an attribute as text. */
function text(entry: Entry, attribute: string): string | null {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (key === undefined) return null;
  const value = entry[key];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return null;
  const s = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  return s === '' ? null : s;
}

/** Whether an entry carries `attribute` with any value. */
function present(entry: Entry, attribute: string): boolean {
  return text(entry, attribute) !== null;
}

/** The immutable id of an entry, or null when it has none (not readable). */
export function externalIdOf(entry: Entry, kind: DirectoryConfig['kind']): string | null {
  if (kind === 'ad') {
    const key = Object.keys(entry).find((k) => k.toLowerCase() === 'objectguid');
    const value = key === undefined ? undefined : entry[key];
    const first = Array.isArray(value) ? value[0] : value;
    return Buffer.isBuffer(first) && first.length === 16 ? guidToString(first) : null;
  }
  const id = text(entry, 'entryUUID');
  return id === null ? null : id.toLowerCase();
}

/** The attributes a user search asks for. */
export function userAttributes(config: DirectoryConfig): string[] {
  const a = config.attributes;
  const kindSpecific =
    config.kind === 'ad'
      ? ['objectGUID', 'userAccountControl']
      : ['entryUUID', 'pwdAccountLockedTime', 'nsAccountLock'];
  const extra = config.disabled === undefined ? [] : [config.disabled.attribute];
  return [...new Set([...kindSpecific, a.userName, a.displayName, a.email, 'cn', ...extra])];
}

/** Whether the directory disables this entry (see the module comment). */
function isDisabled(entry: Entry, config: DirectoryConfig): boolean {
  if (config.kind === 'ad') {
    const uac = Number(text(entry, 'userAccountControl') ?? '0');
    if (Number.isInteger(uac) && (uac & 2) === 2) return true;
  } else {
    if (present(entry, 'pwdAccountLockedTime')) return true;
    if ((text(entry, 'nsAccountLock') ?? '').toLowerCase() === 'true') return true;
  }
  const custom = config.disabled;
  if (custom !== undefined) {
    const value = text(entry, custom.attribute);
    if (value !== null) {
      if (custom.values === undefined) return true;
      if (custom.values.some((v) => v.toLowerCase() === value.toLowerCase())) return true;
    }
  }
  return false;
}

/** A search entry as a {@link DirectoryUser}; null when it has no readable id. */
export function userOf(entry: Entry, config: DirectoryConfig): DirectoryUser | null {
  const externalId = externalIdOf(entry, config.kind);
  if (externalId === null) return null;
  const userName = text(entry, config.attributes.userName);
  const displayName =
    text(entry, config.attributes.displayName) ?? text(entry, 'cn') ?? userName ?? externalId;
  return {
    externalId,
    dn: entry.dn,
    userName,
    displayName,
    email: text(entry, config.attributes.email),
    disabled: isDisabled(entry, config),
  };
}

/**
 * Searches each base DN of the scope (subtree, paged) with `filter` and returns the users.
 *
 * @example
 * ```ts
 * const users = await searchUsers(client, config, config.users.filter);
 * ```
 */
export async function searchUsers(
  client: Client,
  config: DirectoryConfig,
  filter: string,
): Promise<DirectoryUser[]> {
  const users = new Map<string, DirectoryUser>();
  for (const base of config.users.baseDNs) {
    const { searchEntries } = await client.search(base, {
      scope: 'sub',
      filter,
      attributes: userAttributes(config),
      explicitBufferAttributes: config.kind === 'ad' ? ['objectGUID'] : [],
      paged: { pageSize: config.pageSize },
    });
    for (const entry of searchEntries) {
      const user = userOf(entry, config);
      if (user !== null) users.set(user.externalId, user);
    }
  }
  return [...users.values()];
}

/**
 * The ids of every entry matching `filter` under `base` (paged, ids only).
 *
 * @example
 * ```ts
 * const ids = await searchIds(client, config, 'dc=example,dc=org', '(modifyTimestamp>=20260101000000Z)');
 * ```
 */
export async function searchIds(
  client: Client,
  config: DirectoryConfig,
  base: string,
  filter: string,
  controls?: Control[],
): Promise<Set<string>> {
  const { searchEntries } = await client.search(
    base,
    {
      scope: 'sub',
      filter,
      attributes: [ID_ATTRIBUTE[config.kind]],
      explicitBufferAttributes: config.kind === 'ad' ? ['objectGUID'] : [],
      paged: { pageSize: config.pageSize },
    },
    controls,
  );
  const ids = new Set<string>();
  for (const entry of searchEntries) {
    const id = externalIdOf(entry, config.kind);
    if (id !== null) ids.add(id);
  }
  return ids;
}

/** A string that looks like an `entryUUID` / GUID rather than a DN. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads the groups the configuration maps to pools, each with its members' DNs. A group named by
 * id is searched under each base DN of the scope and the naming context; a group that is not found
 * throws `ValidationError` (`config.groups[i].group`), so a typo never empties a pool.
 *
 * @example
 * ```ts
 * const groups = await readGroups(client, config, 'dc=example,dc=org');
 * ```
 */
export async function readGroups(
  client: Client,
  config: DirectoryConfig,
  namingContext: string,
): Promise<DirectoryGroup[]> {
  const out: DirectoryGroup[] = [];
  for (const [i, mapping] of config.groups.entries()) {
    let entries: Entry[];
    if (UUID.test(mapping.group)) {
      const filter =
        config.kind === 'ad'
          ? new EqualityFilter({ attribute: 'objectGUID', value: guidToBytes(mapping.group) })
          : new EqualityFilter({ attribute: 'entryUUID', value: mapping.group.toLowerCase() });
      entries = (
        await client.search(namingContext, { scope: 'sub', filter, attributes: ['member', 'uniqueMember'] })
      ).searchEntries;
    } else {
      try {
        entries = (
          await client.search(mapping.group, { scope: 'base', attributes: ['member', 'uniqueMember'] })
        ).searchEntries;
      } catch (error) {
        if ((error as { code?: unknown }).code === 32) entries = [];
        else throw error;
      }
    }
    const entry = entries[0];
    if (entry === undefined)
      throw new ValidationError(`config.groups[${i}].group`, 'a group that exists in the directory');
    const members: string[] = [];
    const push = (value: unknown) => {
      for (const m of Array.isArray(value) ? value : [value]) {
        if (m !== undefined) members.push(normaliseDn(Buffer.isBuffer(m) ? m.toString('utf8') : String(m)));
      }
    };
    for (const attr of ['member', 'uniqueMember']) {
      const key = Object.keys(entry).find((k) => k.toLowerCase() === attr.toLowerCase());
      if (key !== undefined) push(entry[key]);
    }
    // AD hands out large groups in ranges (`member;range=0-1499`): read the rest range by range.
    let ranged = Object.keys(entry).find((k) => /^member;range=\d+-(\d+|\*)$/i.test(k));
    let current: Entry = entry;
    for (let guard = 0; ranged !== undefined && guard < 10_000; guard++) {
      push(current[ranged]);
      const end = /-(\d+|\*)$/.exec(ranged)?.[1];
      if (end === undefined || end === '*') break;
      const next = `member;range=${Number(end) + 1}-*`;
      current =
        (await client.search(entry.dn, { scope: 'base', attributes: [next] })).searchEntries[0] ??
        ({ dn: entry.dn } as Entry);
      ranged = Object.keys(current).find((k) => /^member;range=\d+-(\d+|\*)$/i.test(k));
    }
    out.push({ key: mapping.group, dn: entry.dn, members });
  }
  return out;
}

/**
 * The directory's naming context (the suffix holding the scope): AD's `defaultNamingContext`, else
 * the `namingContexts` value above the first base DN.
 *
 * @example
 * ```ts
 * const suffix = await namingContextOf(client, config); // "dc=example,dc=org"
 * ```
 */
export async function namingContextOf(client: Client, config: DirectoryConfig): Promise<string> {
  const { searchEntries } = await client.search('', {
    scope: 'base',
    filter: '(objectClass=*)',
    attributes: ['defaultNamingContext', 'namingContexts'],
  });
  const root = searchEntries[0];
  const base = config.users.baseDNs[0] as string;
  if (root !== undefined) {
    const def = text(root, 'defaultNamingContext');
    if (def !== null && isUnder(base, def)) return def;
    const key = Object.keys(root).find((k) => k.toLowerCase() === 'namingcontexts');
    const value = key === undefined ? [] : root[key];
    for (const nc of Array.isArray(value) ? value : [value]) {
      const s = nc === undefined ? '' : String(nc);
      if (s !== '' && isUnder(base, s)) return s;
    }
  }
  return base;
}
