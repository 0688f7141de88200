/**
 * The users area's logic without a browser: the filter form → search filter, the cursor pager
 * that maps react-admin's numbered pages onto the search's cursors (short pages, deep links, the
 * end, a changed filter), the error and reason texts, and the messages in both languages.
 */
import { ForbiddenError, RateLimitedError, ValidationError } from '@cloister/crypto';
import { describe, expect, it } from 'vitest';
import { CursorPager, listResult, userFilterOf } from '../src/areas/users/data.js';
import { describeReason, errorText } from '../src/areas/users/errors.js';
import { usersMessages } from '../src/areas/users/messages.js';

/** A fake search over `ids`: answers at most `limit` matches and at most `budget` ids read per call. */
function fakeSearch(ids: readonly string[], budget = 1000) {
  const calls: { after?: string; limit: number; filter: unknown }[] = [];
  const fetch = async (filter: unknown, page: { after?: string; limit: number }) => {
    calls.push({ ...page, filter });
    const start = page.after === undefined ? 0 : Number(page.after.slice(1));
    const items: string[] = [];
    let at = start;
    while (at < ids.length && items.length < page.limit && at - start < budget) {
      items.push(ids[at] as string);
      at += 1;
    }
    return at < ids.length ? { items, next: `c${at}` } : { items };
  };
  return { fetch, calls };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `u${String(i).padStart(3, '0')}`);

describe('userFilterOf', () => {
  it('keeps the criteria given, drops empty ones and converts compliance and inactivity', () => {
    const now = 1_000 * 86_400_000;
    expect(
      userFilterOf(
        { text: ' ana ', status: 'blocked', pool: '', compliant: 'false', inactiveDays: 30, bogus: 'x' },
        now,
      ),
    ).toEqual({ text: 'ana', status: 'blocked', compliant: false, lastSeenBefore: now - 30 * 86_400_000 });
    expect(userFilterOf({ status: 'weird', inactiveDays: -1, compliant: 'true' }, now)).toEqual({
      compliant: true,
    });
  });
});

describe('CursorPager', () => {
  it('fills each page to its size across short answers and stops at the end', async () => {
    const search = fakeSearch(ids(23), 4); // the server reads 4 users per call: short pages
    const pager = new CursorPager<string>(search.fetch);
    const p1 = await pager.page({}, 1, 10);
    expect(p1).toEqual({ items: ids(23).slice(0, 10), hasNextPage: true });
    const p2 = await pager.page({}, 2, 10);
    expect(p2.items).toEqual(ids(23).slice(10, 20));
    const p3 = await pager.page({}, 3, 10);
    expect(p3).toEqual({ items: ids(23).slice(20), hasNextPage: false });
    expect(await pager.page({}, 4, 10)).toEqual({ items: [], hasNextPage: false });
  });

  it('reaches a deep page by reading the pages before it, and reuses known cursors', async () => {
    const search = fakeSearch(ids(50));
    const pager = new CursorPager<string>(search.fetch);
    const p3 = await pager.page({ text: 'u' }, 3, 10);
    expect(p3.items).toEqual(ids(50).slice(20, 30));
    const before = search.calls.length;
    expect((await pager.page({ text: 'u' }, 2, 10)).items).toEqual(ids(50).slice(10, 20));
    expect(search.calls.length).toBe(before + 1); // page 2's cursor was known
  });

  it('keeps cursors per filter and page size; page 1 always reads afresh', async () => {
    const search = fakeSearch(ids(30));
    const pager = new CursorPager<string>(search.fetch);
    await pager.page({ text: 'a' }, 1, 10);
    await pager.page({ text: 'a' }, 2, 10);
    const calls = search.calls.length;
    const other = await pager.page({ text: 'b' }, 2, 10); // another filter: its own chain from page 1
    expect(other.items).toEqual(ids(30).slice(10, 20));
    expect(search.calls.length).toBe(calls + 2);
    expect(search.calls.at(-1)?.filter).toEqual({ text: 'b' });
    await pager.page({ text: 'a' }, 1, 10);
    expect(search.calls.at(-1)?.after).toBeUndefined();
  });

  it('sends the same resolved filter (lastSeenBefore) with every cursor of a chain', async () => {
    const search = fakeSearch(ids(30));
    const pager = new CursorPager<string>(search.fetch);
    await pager.page({ inactiveDays: 7 }, 1, 10);
    await new Promise((r) => setTimeout(r, 5));
    await pager.page({ inactiveDays: 7 }, 2, 10);
    const filters = search.calls.map((c) => JSON.stringify(c.filter));
    expect(new Set(filters).size).toBe(1);
  });
});

describe('errors and reasons', () => {
  it('maps typed errors by code, never by their message', () => {
    expect(errorText(new ValidationError('user', 'a user id'))).toEqual({
      key: 'portal.users.error.validation',
      args: { field: 'user' },
    });
    expect(errorText(new ForbiddenError('secret detail')).key).toBe('portal.users.error.forbidden');
    expect(errorText(new RateLimitedError(12))).toEqual({
      key: 'portal.users.error.rateLimited',
      args: { seconds: 12 },
    });
    expect(errorText(new Error('stack and secrets')).key).toBe('portal.users.error.unexpected');
    expect(errorText(new TypeError('Failed to fetch')).key).toBe('portal.users.error.network');
  });

  it('translates each known reason and never shows an unknown one raw', () => {
    const translate = (key: string) => `<${key}>`;
    expect(describeReason(translate, 'already-blocked')).toBe('<portal.users.reason.already-blocked>');
    expect(describeReason(translate, 'ERR_CONFLICT')).toBe('<portal.users.error.conflict>');
    expect(describeReason(translate, '<script>')).toBe('<portal.users.reason.other>');
    expect(describeReason(translate, null)).toBe('');
  });
});

describe('messages', () => {
  const en = usersMessages.en as Record<string, string>;
  const de = usersMessages.de as Record<string, string>;

  it('has the same keys in English and German, all under portal.users., none empty', () => {
    expect(Object.keys(de).sort()).toEqual(Object.keys(en).sort());
    for (const [key, text] of [...Object.entries(en), ...Object.entries(de)]) {
      expect(key.startsWith('portal.users.')).toBe(true);
      expect(text.trim()).not.toBe('');
    }
  });

  it('uses the same placeholders in both languages', () => {
    const vars = (s: string) => [...s.matchAll(/%\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(en)) expect(vars(de[key] as string), key).toEqual(vars(en[key] as string));
  });

  it('has a text for every reason and outcome the server names', () => {
    for (const r of [
      'already-blocked',
      'not-blocked',
      'already-in-pool',
      'user-blocked',
      'not-found',
      'pool-not-found',
      'stale-sequence',
      'left-directory',
    ]) {
      expect(en[`portal.users.reason.${r}`]).toBeDefined();
    }
    for (const o of ['pending', 'ok', 'skipped', 'failed'])
      expect(en[`portal.users.bulk.outcome.${o}`]).toBeDefined();
  });
});

describe('listResult', () => {
  it('states the total once the last page is known, else only that more follow', () => {
    const params = {
      pagination: { page: 2, perPage: 10 },
      sort: { field: 'id', order: 'ASC' as const },
      filter: {},
    };
    expect(listResult([1, 2, 3], false, params)).toMatchObject({
      total: 13,
      pageInfo: { hasNextPage: false },
    });
    const more = listResult([1, 2, 3], true, params);
    expect(more.total).toBeUndefined();
    expect(more.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: true });
  });
});
