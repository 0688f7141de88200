/**
 * `admin.allowlist`: the tenant's allowlist (R26; `spec/allowlist.md`): e-mail domains and users
 * (ids and e-mail addresses) who may be invited and enrol, with an on/off switch. Reading needs
 * `tenant.read`, changes `allowlist.write`.
 *
 * @module
 */
import type { AdminCaller } from './caller.js';

/**
 * The allowlist as the admin API shows it.
 *
 * @example
 * ```ts
 * const list: AllowlistView = await admin.allowlist.get();
 * if (list.enabled) console.log(list.domains);
 * ```
 */
export interface AllowlistView {
  /** Whether the list is enforced (off: everyone may be invited and enrol). */
  readonly enabled: boolean;
  /** Whether the tenant's own e-mail domains count as listed. */
  readonly tenantDomains: boolean;
  /** Allowed e-mail domains, lower case. */
  readonly domains: readonly string[];
  /** Allowed user ids. */
  readonly users: readonly string[];
  /** Allowed e-mail addresses, lower case. */
  readonly emails: readonly string[];
}

/**
 * Entries to add or remove (each list optional).
 *
 * @example
 * ```ts
 * const entries: AllowlistEntries = { domains: ['partner.example'], users: ['carol'] };
 * await admin.allowlist.add(entries);
 * ```
 */
export interface AllowlistEntries {
  /** E-mail domains. */
  readonly domains?: readonly string[];
  /** User ids. */
  readonly users?: readonly string[];
  /** E-mail addresses. */
  readonly emails?: readonly string[];
}

/**
 * A whole allowlist for {@link AllowlistApi.replace}.
 *
 * @example
 * ```ts
 * const list: AllowlistInput = { enabled: true, tenantDomains: true, domains: ['partner.example'] };
 * await admin.allowlist.replace(list);
 * ```
 */
export interface AllowlistInput extends AllowlistEntries {
  /** Whether the list is enforced. */
  readonly enabled: boolean;
  /** Whether the tenant's own domains count as listed (default false). */
  readonly tenantDomains?: boolean;
}

const body = (e: AllowlistEntries) => ({
  ...(e.domains === undefined ? {} : { domains: [...e.domains] }),
  ...(e.users === undefined ? {} : { users: [...e.users] }),
  ...(e.emails === undefined ? {} : { emails: [...e.emails] }),
});

/**
 * The allowlist area of {@link AdminClient} (`admin.allowlist`).
 *
 * @example
 * ```ts
 * await admin.allowlist.replace({ enabled: true, domains: ['acme.example'] });
 * ```
 */
export class AllowlistApi {
  readonly #caller: AdminCaller;

  /**
   * Built by `AdminClient` (`admin.allowlist`).
   *
   * @example
   * ```ts
   * const allowlist = admin.allowlist; // an AllowlistApi
   * ```
   */
  constructor(caller: AdminCaller) {
    this.#caller = caller;
  }

  /**
   * The allowlist (off and empty until set).
   *
   * @example
   * ```ts
   * const { enabled, domains, users, emails } = await admin.allowlist.get();
   * ```
   */
  get(): Promise<AllowlistView> {
    return this.#caller.call('GET', '/admin/v1/allowlist');
  }

  /**
   * Replaces the whole list and its switch.
   *
   * @example
   * ```ts
   * await admin.allowlist.replace({ enabled: true, tenantDomains: true, users: ['contractor-7'] });
   * ```
   */
  replace(input: AllowlistInput): Promise<AllowlistView> {
    return this.#caller.call('PUT', '/admin/v1/allowlist', {
      json: {
        enabled: input.enabled,
        ...(input.tenantDomains === undefined ? {} : { tenantDomains: input.tenantDomains }),
        ...body(input),
      },
    });
  }

  /**
   * Adds entries; the switch stays as it is.
   *
   * @example
   * ```ts
   * await admin.allowlist.add({ emails: ['carol@partner.example'] });
   * ```
   */
  add(entries: AllowlistEntries): Promise<AllowlistView> {
    return this.#caller.call('POST', '/admin/v1/allowlist/entries', { json: body(entries) });
  }

  /**
   * Removes entries; the switch stays as it is.
   *
   * @example
   * ```ts
   * await admin.allowlist.remove({ domains: ['partner.example'] });
   * ```
   */
  remove(entries: AllowlistEntries): Promise<AllowlistView> {
    return this.#caller.call('POST', '/admin/v1/allowlist/entries/remove', { json: body(entries) });
  }

  /**
   * Turns the list on or off, its entries unchanged (a read then a replace: an entry another
   * administrator adds in between is lost).
   *
   * @example
   * ```ts
   * await admin.allowlist.setEnabled(false);
   * ```
   */
  async setEnabled(enabled: boolean): Promise<AllowlistView> {
    const now = await this.get();
    return this.replace({ ...now, enabled });
  }
}
