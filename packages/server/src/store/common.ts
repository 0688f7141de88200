/**
 * Types shared by the server stores.
 *
 * @module
 */

/**
 * Options of a paged listing.
 *
 * @example
 * ```ts
 * const first = await stores.users.list(tenant, { limit: 50 });
 * const second = first.next === undefined ? undefined : await stores.users.list(tenant, { after: first.next });
 * ```
 */
export interface ServerPageOptions {
  /** Continue after this cursor (a previous page's `next`). */
  readonly after?: string;
  /** At most this many items (1..1000, default 100). */
  readonly limit?: number;
}

/**
 * One page of a listing; `next` is present when more items may follow.
 *
 * @example
 * ```ts
 * let page: ServerPage<User> = await stores.users.list(tenant);
 * while (page.next !== undefined) page = await stores.users.list(tenant, { after: page.next });
 * ```
 */
export interface ServerPage<T> {
  /** The items of this page, in the listing's order (at most the requested `limit`). */
  readonly items: T[];
  /** Cursor for the next page, when the page was full. */
  readonly next?: string;
}
