/**
 * `admin.pools`: the tenant's pools (closed areas, R22; `spec/pools.md`): list and read them,
 * create, rename and delete them, list, add and remove their members, and set one user's pools at
 * once (a move). Reading needs `users.read`, every change `pools.write`. Which pools may reach
 * which stays the signed `pool-rules` object (`signPoolRules` in the signer, then
 * `admin.publishPoolRules`).
 *
 * @module
 */
import { type AdminCaller, pathSegment, queryParams } from './caller.js';
import type { Page, UserView } from './client.js';

/**
 * A pool as the admin API shows it.
 *
 * @example
 * ```ts
 * const ward: PoolView = await admin.pools.get('ward-3');
 * console.log(ward.name, ward.members, ward.mayContact);
 * ```
 */
export interface PoolView {
  /** The pool id. */
  readonly id: string;
  /** Display name. */
  readonly name: string;
  /** Other pools this pool's users may reach (from the signed pool rules). */
  readonly mayContact: readonly string[];
  /** How many users the pool has (from `get`, `create` and `rename`; absent in lists). */
  readonly members?: number;
}

/**
 * The answer of an add or remove: the users whose pools changed.
 *
 * @example
 * ```ts
 * const { changed }: PoolMembersChange = await admin.pools.add('ward-3', ['alice', 'bob']);
 * ```
 */
export interface PoolMembersChange {
  /** The pool. */
  readonly pool: string;
  /** The users whose pools changed (the others were as asked already). */
  readonly changed: readonly string[];
}

/**
 * Paging of a list: `after` from the previous page's `next`, `limit` 1..1000.
 *
 * @example
 * ```ts
 * const query: PoolPageQuery = { limit: 100 };
 * const page = await admin.pools.list(query);
 * ```
 */
export interface PoolPageQuery {
  /** Where the page starts (the previous page's `next`). */
  readonly after?: string;
  /** At most this many items, 1..1000 (default 100). */
  readonly limit?: number;
}

/**
 * The pools area of {@link AdminClient} (`admin.pools`).
 *
 * @example
 * ```ts
 * await admin.pools.create('ward-3', 'Ward 3');
 * await admin.pools.add('ward-3', ['alice', 'bob']);
 * ```
 */
export class PoolsApi {
  readonly #caller: AdminCaller;

  /**
   * Built by `AdminClient` (`admin.pools`).
   *
   * @example
   * ```ts
   * const pools = admin.pools; // a PoolsApi
   * ```
   */
  constructor(caller: AdminCaller) {
    this.#caller = caller;
  }

  /**
   * The tenant's pools, one page.
   *
   * @example
   * ```ts
   * const { items, next } = await admin.pools.list({ limit: 100 });
   * ```
   */
  list(query: PoolPageQuery = {}): Promise<Page<PoolView>> {
    return this.#caller.call('GET', '/admin/v1/pools', { query: queryParams({ ...query }) });
  }

  /**
   * One pool with its member count; `NotFoundError` when there is none.
   *
   * @example
   * ```ts
   * const { members } = await admin.pools.get('ward-3');
   * ```
   */
  get(pool: string): Promise<PoolView> {
    return this.#caller.call('GET', `/admin/v1/pools/${pathSegment(pool)}`);
  }

  /**
   * Creates a pool (its reach from the newest signed pool rules); `ConflictError` when the id is taken.
   *
   * @example
   * ```ts
   * await admin.pools.create('ward-3', 'Ward 3');
   * ```
   */
  create(pool: string, name: string): Promise<PoolView> {
    return this.#caller.call('POST', '/admin/v1/pools', { json: { id: pool, name } });
  }

  /**
   * Renames a pool (its id, members and rule stay).
   *
   * @example
   * ```ts
   * await admin.pools.rename('ward-3', 'Ward 3 (north)');
   * ```
   */
  rename(pool: string, name: string): Promise<PoolView> {
    return this.#caller.call('PATCH', `/admin/v1/pools/${pathSegment(pool)}`, { json: { name } });
  }

  /**
   * Deletes a pool. While it has members this is `ConflictError` and nothing changes, unless
   * `removeMembers` is true: then the members leave the pool and it goes, in one transaction.
   *
   * @example
   * ```ts
   * await admin.pools.delete('ward-3', { removeMembers: true });
   * ```
   */
  async delete(pool: string, options: { readonly removeMembers?: boolean } = {}): Promise<void> {
    await this.#caller.call('DELETE', `/admin/v1/pools/${pathSegment(pool)}`, {
      query: queryParams({ removeMembers: options.removeMembers === true ? 'true' : undefined }),
    });
  }

  /**
   * The pool's members, one page.
   *
   * @example
   * ```ts
   * const { items } = await admin.pools.members('ward-3', { limit: 100 });
   * for (const u of items) console.log(u.id, u.displayName);
   * ```
   */
  members(pool: string, query: PoolPageQuery = {}): Promise<Page<UserView>> {
    return this.#caller.call('GET', `/admin/v1/pools/${pathSegment(pool)}/members`, {
      query: queryParams({ ...query }),
    });
  }

  /**
   * Adds users (1..100, all or none) to a pool; takes effect at once.
   *
   * @example
   * ```ts
   * const { changed } = await admin.pools.add('ward-3', ['alice', 'bob']);
   * ```
   */
  add(pool: string, users: string | readonly string[]): Promise<PoolMembersChange> {
    return this.#caller.call('POST', `/admin/v1/pools/${pathSegment(pool)}/members`, {
      json: { users: typeof users === 'string' ? [users] : [...users] },
    });
  }

  /**
   * Removes users (1..100, all or none) from a pool; takes effect at once.
   *
   * @example
   * ```ts
   * await admin.pools.remove('ward-3', 'bob');
   * ```
   */
  remove(pool: string, users: string | readonly string[]): Promise<PoolMembersChange> {
    return this.#caller.call('POST', `/admin/v1/pools/${pathSegment(pool)}/members/remove`, {
      json: { users: typeof users === 'string' ? [users] : [...users] },
    });
  }

  /**
   * Sets a user's pools at once: a move with no moment in both pools or in none.
   *
   * @example
   * ```ts
   * const bob = await admin.pools.setUserPools('bob', ['pharmacy']);
   * ```
   */
  setUserPools(user: string, pools: readonly string[]): Promise<UserView> {
    return this.#caller.call('PUT', `/admin/v1/users/${pathSegment(user)}/pools`, {
      json: { pools: [...pools] },
    });
  }
}
