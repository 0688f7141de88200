/**
 * `admin.scim`: the tenant's SCIM tokens (`spec/directory.md` §2): made for one directory source
 * (`scim` for an identity provider, `ldap:<name>` for the LDAP/AD bridge), shown once, at most 5
 * live per tenant, revocable at once. Creating and revoking need a fresh second factor.
 *
 * @module
 */
import { type AdminCaller, pathSegment } from './caller.js';

/**
 * A SCIM token as the admin API lists it (never the token itself).
 *
 * @example
 * ```ts
 * const tokens: ScimTokenView[] = await admin.scim.listTokens();
 * ```
 */
export interface ScimTokenView {
  /** The token's id (`stk_…`), not secret. */
  readonly id: string;
  /** A label. */
  readonly name: string;
  /** The directory source of every user it creates and may change: `scim` or `ldap:<name>`. */
  readonly source: string;
  /** When it was made (ms). */
  readonly createdAt: number;
  /** When it stops working (ms), or null: never. */
  readonly expiresAt: number | null;
  /** Its last accepted use, to within a minute (null: never). */
  readonly lastUsedAt: number | null;
}

/**
 * What {@link ScimApi.createToken} takes.
 *
 * @example
 * ```ts
 * const input: CreateScimTokenInput = { name: 'Corporate AD', source: 'ldap:corp', ttlDays: 365 };
 * ```
 */
export interface CreateScimTokenInput {
  /** A label (1..64 characters). */
  readonly name: string;
  /** `scim` (default) or `ldap:<name>` (`<name>`: 1..32 of a-z 0-9 -). */
  readonly source?: string;
  /** Lifetime in days (1..730); left out: no expiry. */
  readonly ttlDays?: number;
}

/**
 * A new SCIM token: its view and the token itself, shown this once.
 *
 * @example
 * ```ts
 * const { token }: CreatedScimToken = await admin.scim.createToken({ name: 'Entra ID' });
 * ```
 */
export interface CreatedScimToken {
  /** The token's id. */
  readonly id: string;
  /** A label. */
  readonly name: string;
  /** Its directory source. */
  readonly source: string;
  /** `scim_<base64url>` for `Authorization: Bearer …`; store it now, it is not shown again. */
  readonly token: string;
  /** When it was made (ms). */
  readonly createdAt: number;
  /** When it stops working (ms), or null. */
  readonly expiresAt: number | null;
}

/**
 * The SCIM token routes of the admin API.
 *
 * @example
 * ```ts
 * const { token } = await admin.scim.createToken({ name: 'Okta' });
 * ```
 */
export class ScimApi {
  readonly #caller: AdminCaller;

  /**
   * Built by `AdminClient` (`admin.scim`).
   *
   * @example
   * ```ts
   * const scim = admin.scim;
   * ```
   */
  constructor(caller: AdminCaller) {
    this.#caller = caller;
  }

  /**
   * Makes a SCIM token (fresh second factor; at most 5 live per tenant, `ConflictError` beyond).
   *
   * @example
   * ```ts
   * const { token } = await admin.scim.createToken({ name: 'Corporate AD', source: 'ldap:corp' });
   * ```
   */
  createToken(input: CreateScimTokenInput): Promise<CreatedScimToken> {
    return this.#caller.call('POST', '/admin/v1/scim/tokens', { json: input });
  }

  /**
   * The tenant's unrevoked SCIM tokens.
   *
   * @example
   * ```ts
   * for (const t of await admin.scim.listTokens()) console.log(t.id, t.source, t.lastUsedAt);
   * ```
   */
  async listTokens(): Promise<ScimTokenView[]> {
    const answer = await this.#caller.call<{ items: ScimTokenView[] }>('GET', '/admin/v1/scim/tokens');
    return answer.items;
  }

  /**
   * Revokes a SCIM token (fresh second factor): its next request is refused.
   *
   * @example
   * ```ts
   * await admin.scim.revokeToken('stk_…');
   * ```
   */
  async revokeToken(id: string): Promise<void> {
    await this.#caller.call('DELETE', `/admin/v1/scim/tokens/${pathSegment(id)}`);
  }
}
