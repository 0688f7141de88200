/**
 * The data handlers of the users area: the `users` resource lists users through the filter search
 * (`client.bulk.findUsers`, `spec/bulk.md` §2–3) with cursor paging mapped onto react-admin's
 * page numbers, and reads one user with `client.getUser`; the `devices` resource lists devices
 * through `client.bulk.findDevices`.
 *
 * @module
 */
import type { FoundDevice, FoundUser, UserFilter } from '@cloister/admin';
import type { GetListParams, GetListResult, GetOneParams, GetOneResult } from 'react-admin';
import type { PortalSession } from '../../session/portal-context.js';
import type { AreaData } from '../area.js';

/** A row of the users list. */
export interface UserRow {
  readonly id: string;
  readonly displayName: string;
  readonly email: string | null;
  readonly pools: readonly string[];
  readonly blocked: boolean;
  readonly status: FoundUser['status'];
  readonly devices: number;
  readonly lastSeenAt: number | null;
  readonly directory: string | null;
}

/** A row of the devices list (`id` is `<user>/<device>`). */
export interface DeviceRow {
  readonly id: string;
  readonly user: string;
  readonly device: number;
  readonly blocked: boolean;
  readonly userBlocked: boolean;
  readonly lastSeenAt: number | null;
  readonly createdAt: number;
  readonly clientVersion: string | null;
  readonly enrolledVia: 'token' | 'managed';
}

const DAY_MS = 86_400_000;

const STRING_CRITERIA = ['text', 'pool', 'domain', 'clientVersion', 'platform', 'appVersion'] as const;

/**
 * The search filter of the list's filter form: empty strings are left out; `inactiveDays` becomes
 * `lastSeenBefore` (now minus that many days); `compliant` is `'true'`/`'false'` in the form.
 */
export function userFilterOf(form: Record<string, unknown>, now = Date.now()): UserFilter {
  const out: Record<string, unknown> = {};
  for (const name of STRING_CRITERIA) {
    const v = form[name];
    if (typeof v === 'string' && v.trim() !== '') out[name] = v.trim();
  }
  const status = form.status;
  if (status === 'active' || status === 'blocked' || status === 'never-enrolled') out.status = status;
  const role = form.role;
  if (typeof role === 'string' && role !== '') out.role = role;
  const compliant = form.compliant;
  if (compliant === true || compliant === 'true') out.compliant = true;
  if (compliant === false || compliant === 'false') out.compliant = false;
  const days = Number(form.inactiveDays);
  if (form.inactiveDays !== undefined && form.inactiveDays !== '' && Number.isSafeInteger(days) && days > 0) {
    out.lastSeenBefore = now - days * DAY_MS;
  }
  return out as UserFilter;
}

/**
 * Cursors of the pages already read, per filter form and page size: page `n`'s `after`. A filter
 * with `inactiveDays` keeps the `lastSeenBefore` it was first resolved with, so its cursors stay
 * bound to the same filter (the server refuses a cursor with another filter).
 */
interface CursorChain {
  readonly filter: UserFilter;
  /** `after[n]` is the cursor that starts page n + 1 (index 0: undefined, the first page). */
  readonly after: (string | undefined)[];
  /** True once a page ended the search. */
  ended: number | undefined;
}

const MAX_CHAINS = 32;

/** Pages the filter search by cursor for react-admin's numbered pages. */
export class CursorPager<T> {
  readonly #chains = new Map<string, CursorChain>();
  readonly #fetch: (
    filter: UserFilter,
    page: { after?: string; limit: number },
  ) => Promise<{ items: readonly T[]; next?: string }>;

  constructor(
    fetch: (
      filter: UserFilter,
      page: { after?: string; limit: number },
    ) => Promise<{ items: readonly T[]; next?: string }>,
  ) {
    this.#fetch = fetch;
  }

  #chain(form: Record<string, unknown>, perPage: number): CursorChain {
    const key = `${perPage}:${JSON.stringify(Object.entries(form).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
    let chain = this.#chains.get(key);
    if (chain === undefined) {
      if (this.#chains.size >= MAX_CHAINS) this.#chains.clear();
      chain = { filter: userFilterOf(form), after: [undefined], ended: undefined };
      this.#chains.set(key, chain);
    }
    return chain;
  }

  /** Forgets every cursor (after a change, so the list reads afresh). */
  reset(): void {
    this.#chains.clear();
  }

  /**
   * Exactly `perPage` matches of page `page` (1-based), fewer on the last page, reading the pages
   * before it first when their cursors are not known yet.
   */
  async page(
    form: Record<string, unknown>,
    page: number,
    perPage: number,
  ): Promise<{ items: T[]; hasNextPage: boolean }> {
    const chain = this.#chain(form, perPage);
    if (page === 1) {
      // The first page is always read afresh (a list that is reloaded shows changes).
      chain.after.length = 1;
      chain.ended = undefined;
    }
    for (let p = chain.after.length; p < page; p++) {
      if (chain.ended !== undefined && chain.ended < p) return { items: [], hasNextPage: false };
      await this.#read(chain, p, perPage);
    }
    if (chain.ended !== undefined && chain.ended < page) return { items: [], hasNextPage: false };
    return this.#read(chain, page, perPage);
  }

  async #read(
    chain: CursorChain,
    page: number,
    perPage: number,
  ): Promise<{ items: T[]; hasNextPage: boolean }> {
    let after = chain.after[page - 1];
    const items: T[] = [];
    // A page of the search may be short while `next` is present (the scan budget ran out).
    for (let round = 0; round < 50; round++) {
      const answer = await this.#fetch(chain.filter, {
        ...(after === undefined ? {} : { after }),
        limit: perPage - items.length,
      });
      items.push(...answer.items);
      after = answer.next;
      if (after === undefined || items.length >= perPage) break;
    }
    chain.after[page] = after;
    chain.after.length = page + 1;
    if (after === undefined) chain.ended = page;
    else if (chain.ended !== undefined && chain.ended <= page) chain.ended = undefined;
    return { items, hasNextPage: after !== undefined };
  }
}

const pagers = new WeakMap<
  PortalSession,
  { users: CursorPager<FoundUser>; devices: CursorPager<FoundDevice> }
>();

function pagersOf(session: PortalSession) {
  let p = pagers.get(session);
  if (p === undefined) {
    p = {
      users: new CursorPager((filter, page) => session.client.bulk.findUsers(filter, page)),
      devices: new CursorPager((filter, page) => {
        const { status, ...rest } = filter;
        return session.client.bulk.findDevices(
          status === 'never-enrolled' ? rest : { ...rest, ...(status === undefined ? {} : { status }) },
          page,
        );
      }),
    };
    pagers.set(session, p);
  }
  return p;
}

/** A user of the search as a list row. */
export function userRow(found: FoundUser): UserRow {
  return {
    id: found.user.id,
    displayName: found.user.displayName,
    email: found.user.email,
    pools: found.user.pools,
    blocked: found.user.blocked,
    status: found.status,
    devices: found.devices,
    lastSeenAt: found.lastSeenAt,
    directory: found.user.directory?.source ?? null,
  };
}

/** A device of the search as a list row. */
export function deviceRow(found: FoundDevice): DeviceRow {
  return {
    id: `${found.user}/${found.device.id}`,
    user: found.user,
    device: found.device.id,
    blocked: found.device.blocked,
    userBlocked: found.userBlocked,
    lastSeenAt: found.device.lastSeenAt,
    createdAt: found.device.createdAt,
    clientVersion: found.device.clientVersion,
    enrolledVia: found.device.enrolledVia,
  };
}

const perPageOf = (params: GetListParams) => Math.min(Math.max(params.pagination?.perPage ?? 25, 1), 500);

/**
 * A page for react-admin: without a total while more pages follow (`pageInfo`), with the total
 * once the last page is known (so the pagination says "1-5 of 5", not "1-25 of 25").
 */
export function listResult<T>(data: T[], hasNextPage: boolean, params: GetListParams): GetListResult {
  const page = params.pagination?.page ?? 1;
  const pageInfo = { hasNextPage, hasPreviousPage: page > 1 };
  if (hasNextPage) return { data: data as GetListResult['data'], pageInfo };
  return {
    data: data as GetListResult['data'],
    total: (page - 1) * perPageOf(params) + data.length,
    pageInfo,
  };
}

/** Forgets the users list's cursors (call after a change so the list reads afresh). */
export function resetUserPages(session: PortalSession): void {
  pagersOf(session).users.reset();
}

/** The data handlers of the area's resources. */
export const usersData: Record<string, AreaData> = {
  users: {
    async getList(session: PortalSession, _resource: string, params: GetListParams): Promise<GetListResult> {
      const { items, hasNextPage } = await pagersOf(session).users.page(
        params.filter ?? {},
        params.pagination?.page ?? 1,
        perPageOf(params),
      );
      return listResult(items.map(userRow), hasNextPage, params);
    },
    async getOne(session: PortalSession, _resource: string, params: GetOneParams): Promise<GetOneResult> {
      const user = await session.client.getUser(String(params.id));
      return { data: { ...user, id: user.id } };
    },
  },
  devices: {
    async getList(session: PortalSession, _resource: string, params: GetListParams): Promise<GetListResult> {
      const { items, hasNextPage } = await pagersOf(session).devices.page(
        params.filter ?? {},
        params.pagination?.page ?? 1,
        perPageOf(params),
      );
      return listResult(items.map(deviceRow), hasNextPage, params);
    },
  },
};
