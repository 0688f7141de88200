/**
 * Each tenant's allowlist (R26, `spec/allowlist.md`): e-mail domains and users (ids and e-mail
 * addresses) who may be invited and enrol, with an on/off switch. Off (the default, and a tenant
 * without a row) is the behaviour without an allowlist: everyone may.
 *
 * Rows, in {@link SERVER_TABLES}`.allowlist`, partition `k(tenant)`:
 * - sort `s`: the settings `{ enabled, tenantDomains }`;
 * - sort `d:<domain>`, `i:<user id>`, `e:<address, lower case>`: one entry each (empty value).
 *
 * A user is allowed when the list is off, or their id is listed, or their e-mail address is
 * listed (compared in lower case), or their address's domain is listed exactly (no subdomains),
 * or — with `tenantDomains` — it is one of the tenant's own domains (`stores.domains`).
 *
 * @module
 */

import { ForbiddenError, ValidationError } from '@cloister/crypto';
import { type TenantId, tenantId, type UserId, userId } from '@cloister/protocol';
import { type Executor, type StorageTx, txExecutor } from '@cloister/storage';
import { checkBool, checkId, checkObject, getRec, key, T, write } from './_util.js';
import { NotFoundError } from './errors.js';
import { createDomainStore, loadTenant, normalizeDomain } from './tenants.js';
import { emailDomain, normaliseEmail } from './users.js';

/**
 * Most entries (domains, user ids and addresses together) one tenant's allowlist holds.
 *
 * @example
 * ```ts
 * console.log(MAX_ALLOWLIST_ENTRIES); // 10000
 * ```
 */
export const MAX_ALLOWLIST_ENTRIES = 10_000;

/**
 * A tenant's allowlist.
 *
 * @example
 * ```ts
 * const list: Allowlist = await stores.allowlist.get(tenant);
 * if (list.enabled) console.log(list.domains, list.users, list.emails);
 * ```
 */
export interface Allowlist {
  /** Whether the list is enforced (off: everyone may be invited and enrol). */
  readonly enabled: boolean;
  /** Whether the tenant's own e-mail domains (`stores.domains`) count as listed. */
  readonly tenantDomains: boolean;
  /** Allowed e-mail domains, lower case, sorted. */
  readonly domains: readonly string[];
  /** Allowed user ids, sorted. */
  readonly users: readonly UserId[];
  /** Allowed e-mail addresses, lower case, sorted. */
  readonly emails: readonly string[];
}

/**
 * Entries to add to or remove from an allowlist (each list optional).
 *
 * @example
 * ```ts
 * import { userId } from '@cloister/protocol';
 *
 * const entries: AllowlistEntries = { domains: ['partner.example'], users: [userId('carol')] };
 * await stores.allowlist.add(tenant, entries);
 * ```
 */
export interface AllowlistEntries {
  /** E-mail domains (checked, lower-cased). */
  readonly domains?: readonly string[] | undefined;
  /** User ids. */
  readonly users?: readonly UserId[] | undefined;
  /** E-mail addresses (checked, lower-cased). */
  readonly emails?: readonly string[] | undefined;
}

/**
 * A whole allowlist, as {@link AllowlistStore.replace} takes it.
 *
 * @example
 * ```ts
 * const input: AllowlistInput = { enabled: true, tenantDomains: true, domains: ['acme.example'] };
 * await stores.allowlist.replace(tenant, input);
 * ```
 */
export interface AllowlistInput extends AllowlistEntries {
  /** Whether the list is enforced. */
  readonly enabled: boolean;
  /** Whether the tenant's own domains count as listed (default `false`). */
  readonly tenantDomains?: boolean | undefined;
}

/**
 * Refusal of an invite or enrolment of a user outside the tenant's allowlist: HTTP 403 with code
 * `ERR_NOT_ALLOWLISTED` (`spec/allowlist.md`). Its message names no user or address.
 *
 * @example
 * ```ts
 * const refusal = new NotAllowlistedError();
 * console.log(refusal.httpCode, refusal.reason); // 'ERR_NOT_ALLOWLISTED' 'allowlist'
 * ```
 */
export class NotAllowlistedError extends ForbiddenError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'NotAllowlistedError';
  /** Why: always `allowlist`. */
  readonly reason = 'allowlist';
  /** The HTTP error code the server answers with. */
  readonly httpCode = 'ERR_NOT_ALLOWLISTED';

  constructor() {
    super('the user is not on the allowlist of the organisation');
  }
}

/**
 * Each tenant's allowlist.
 *
 * @example
 * ```ts
 * await stores.allowlist.replace(tenant, { enabled: true, domains: ['acme.example'] });
 * const ok = await stores.allowlist.allows(tenant, { id: user, email: 'alice@acme.example' }); // true
 * ```
 */
export interface AllowlistStore {
  /**
   * The tenant's allowlist (off and empty when none was set).
   *
   * @example
   * ```ts
   * const { enabled, domains } = await stores.allowlist.get(tenant);
   * ```
   */
  get(tenant: TenantId): Promise<Allowlist>;
  /**
   * Replaces the whole allowlist; `NotFoundError('tenant')`, `ValidationError` for a bad entry or
   * more than {@link MAX_ALLOWLIST_ENTRIES}.
   *
   * @example
   * ```ts
   * await stores.allowlist.replace(tenant, { enabled: true, domains: ['acme.example'], users: [] });
   * ```
   */
  replace(tenant: TenantId, input: AllowlistInput): Promise<Allowlist>;
  /**
   * Adds entries (the switch stays as it is); `ValidationError` past {@link MAX_ALLOWLIST_ENTRIES}.
   *
   * @example
   * ```ts
   * await stores.allowlist.add(tenant, { emails: ['carol@partner.example'] });
   * ```
   */
  add(tenant: TenantId, entries: AllowlistEntries): Promise<Allowlist>;
  /**
   * Removes entries (absent ones are ignored; the switch stays as it is).
   *
   * @example
   * ```ts
   * await stores.allowlist.remove(tenant, { domains: ['partner.example'] });
   * ```
   */
  remove(tenant: TenantId, entries: AllowlistEntries): Promise<Allowlist>;
  /**
   * Whether the allowlist lets `user` (its id and e-mail address) be invited and enrol.
   *
   * @example
   * ```ts
   * const allowed = await stores.allowlist.allows(tenant, { id: user, email: 'alice@acme.example' });
   * ```
   */
  allows(tenant: TenantId, user: { readonly id: UserId; readonly email: string | null }): Promise<boolean>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const SETTINGS = enc.encode('s');
const PREFIX = { domains: 'd:', users: 'i:', emails: 'e:' } as const;

function checkEntries(
  value: unknown,
  field: string,
): { domains: string[]; users: UserId[]; emails: string[] } {
  const o = checkObject(value ?? {}, field);
  const list = (k: string): unknown[] => {
    const v = o[k];
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.length > MAX_ALLOWLIST_ENTRIES)
      throw new ValidationError(`${field}.${k}`, `a list of at most ${MAX_ALLOWLIST_ENTRIES}`);
    return v;
  };
  return {
    domains: [...new Set(list('domains').map((d) => normalizeDomain(d)))],
    users: [...new Set(list('users').map((u) => checkId(u, `${field}.users`, userId)))],
    emails: [...new Set(list('emails').map((e) => normaliseEmail(e, `${field}.emails`).toLowerCase()))],
  };
}

const sortOf = (kind: keyof typeof PREFIX, value: string) => enc.encode(`${PREFIX[kind]}${value}`);

async function load(tx: StorageTx, tid: TenantId): Promise<Allowlist> {
  const settings = await getRec(tx, T.allowlist, key(tid), SETTINGS);
  const domains: string[] = [];
  const users: UserId[] = [];
  const emails: string[] = [];
  let after: Uint8Array | undefined;
  for (;;) {
    const rows = await tx.list(T.allowlist, key(tid), {
      limit: 1000,
      ...(after === undefined ? {} : { after }),
    });
    for (const row of rows) {
      const s = dec.decode(row.sort);
      if (s.startsWith(PREFIX.domains)) domains.push(s.slice(2));
      else if (s.startsWith(PREFIX.users)) users.push(userId(s.slice(2)));
      else if (s.startsWith(PREFIX.emails)) emails.push(s.slice(2));
    }
    if (rows.length < 1000) break;
    after = rows[rows.length - 1]?.sort;
  }
  return {
    enabled: settings?.bool('enabled') ?? false,
    tenantDomains: settings?.bool('tenantDomains') ?? false,
    domains: domains.sort(),
    users: users.sort(),
    emails: emails.sort(),
  };
}

async function putSettings(tx: StorageTx, tid: TenantId, enabled: boolean, tenantDomains: boolean) {
  await tx.put(T.allowlist, {
    partition: key(tid),
    sort: SETTINGS,
    value: write({ enabled, tenantDomains }),
  });
}

async function putEntries(tx: StorageTx, tid: TenantId, e: ReturnType<typeof checkEntries>, on: boolean) {
  for (const kind of ['domains', 'users', 'emails'] as const) {
    for (const v of e[kind]) {
      if (on) await tx.put(T.allowlist, { partition: key(tid), sort: sortOf(kind, v), value: write({}) });
      else await tx.delete(T.allowlist, key(tid), sortOf(kind, v));
    }
  }
}

async function checkSize(tx: StorageTx, tid: TenantId): Promise<void> {
  // The settings row is one of the rows counted.
  if ((await tx.count(T.allowlist, key(tid))) > MAX_ALLOWLIST_ENTRIES + 1) {
    throw new ValidationError('allowlist', `at most ${MAX_ALLOWLIST_ENTRIES} entries`);
  }
}

/**
 * Whether `tenant`'s allowlist lets `user` be invited and enrol, read inside `tx` (point reads).
 *
 * @example
 * ```ts
 * await ctx.adapter.transaction((tx) => allowlistAllows(tx, tenant, { id: user, email: 'alice@acme.example' }));
 * ```
 */
export async function allowlistAllows(
  tx: StorageTx,
  tenant: TenantId,
  user: { readonly id: UserId; readonly email: string | null },
): Promise<boolean> {
  const settings = await getRec(tx, T.allowlist, key(tenant), SETTINGS);
  if (settings === undefined || !settings.bool('enabled')) return true;
  const has = async (kind: keyof typeof PREFIX, v: string) =>
    (await tx.get(T.allowlist, key(tenant), sortOf(kind, v))) !== undefined;
  if (await has('users', user.id)) return true;
  if (user.email === null) return false;
  const email = user.email.toLowerCase();
  const domain = emailDomain(email);
  if ((await has('emails', email)) || (await has('domains', domain))) return true;
  if (settings.bool('tenantDomains')) {
    return (await createDomainStore(txExecutor(tx)).list(tenant)).includes(domain);
  }
  return false;
}

/**
 * Creates the allowlist store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const allowlist = createAllowlistStore(adapterExecutor(adapter));
 * const { enabled } = await allowlist.get(tenant);
 * ```
 */
export function createAllowlistStore(run: Executor): AllowlistStore {
  const tenantOf = (tenant: TenantId) => checkId(tenant, 'tenant', tenantId);
  const requireTenant = async (tx: StorageTx, tid: TenantId) => {
    if ((await loadTenant(tx, tid)) === undefined) throw new NotFoundError('tenant');
  };
  return {
    async get(tenant) {
      const tid = tenantOf(tenant);
      return run((tx) => load(tx, tid), { readOnly: true });
    },

    async replace(tenant, input) {
      const tid = tenantOf(tenant);
      const i = checkObject(input, 'input');
      const enabled = checkBool(i.enabled, 'enabled');
      const tenantDomains =
        i.tenantDomains === undefined ? false : checkBool(i.tenantDomains, 'tenantDomains');
      const entries = checkEntries(i, 'input');
      if (entries.domains.length + entries.users.length + entries.emails.length > MAX_ALLOWLIST_ENTRIES) {
        throw new ValidationError('allowlist', `at most ${MAX_ALLOWLIST_ENTRIES} entries`);
      }
      return run(async (tx) => {
        await requireTenant(tx, tid);
        await tx.deletePartition(T.allowlist, key(tid));
        await putSettings(tx, tid, enabled, tenantDomains);
        await putEntries(tx, tid, entries, true);
        return load(tx, tid);
      });
    },

    async add(tenant, entries) {
      const tid = tenantOf(tenant);
      const e = checkEntries(entries, 'entries');
      return run(async (tx) => {
        await requireTenant(tx, tid);
        await putEntries(tx, tid, e, true);
        await checkSize(tx, tid);
        return load(tx, tid);
      });
    },

    async remove(tenant, entries) {
      const tid = tenantOf(tenant);
      const e = checkEntries(entries, 'entries');
      return run(async (tx) => {
        await requireTenant(tx, tid);
        await putEntries(tx, tid, e, false);
        return load(tx, tid);
      });
    },

    async allows(tenant, user) {
      const tid = tenantOf(tenant);
      const uid = checkId(user.id, 'user.id', userId);
      const email = user.email === null ? null : normaliseEmail(user.email, 'user.email');
      return run((tx) => allowlistAllows(tx, tid, { id: uid, email }), { readOnly: true });
    },
  };
}
