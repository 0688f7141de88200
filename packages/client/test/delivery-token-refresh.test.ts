/**
 * Delivery tokens that stop working (issue 13, attack 4), end to end through the SDK against a
 * real server: a sender whose cached token went stale because of an unrelated change refreshes
 * the recipient's directory and delivers; a sender who was blocked or moved into a pool that may
 * not reach the recipient is refused at submission, gets the directory's 403 on the refresh, and
 * the message fails as before — once, without a loop.
 */
import { poolId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeTransport, type TransportFactory } from '../src/index.js';
import { nextEvent, startSystem, TENANT, type TestSystem } from './helpers/system.js';

let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem();
}, 60_000);

afterAll(async () => {
  await sys?.close();
});

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly results?: readonly { status: string; reason?: string }[];
}

/** A transport factory that records every request with its status and, for submissions, the results. */
function recorder(): { factory: TransportFactory; seen: Seen[] } {
  const seen: Seen[] = [];
  const factory: TransportFactory = (o) => {
    const inner = createNodeTransport(o);
    return {
      async request(method, path, body) {
        const res = await inner.request(method, path, body);
        const results =
          path === '/v1/messages/batch' ? (res.json as { results?: Seen['results'] })?.results : undefined;
        seen.push({ method, path, status: res.status, ...(results === undefined ? {} : { results }) });
        return res;
      },
      connect: (path, handlers) => inner.connect(path, handlers),
    };
  };
  return { factory, seen };
}

const submissions = (seen: readonly Seen[]) => seen.filter((s) => s.path === '/v1/messages/batch');
const refusedForToken = (s: Seen) => s.results?.some((r) => r.status === 'refused' && r.reason === 'token');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('delivery tokens that went stale', () => {
  it('(5) refreshes the directory after an unrelated change and delivers the message', async () => {
    const { factory, seen } = recorder();
    const ann = await sys.client('ann5', { transport: factory });
    const ben = await sys.client('ben5');
    const first = nextEvent(ben, 'message');
    await ann.sendText({ user: 'ben5' }, 'first');
    await first;
    await ann.flush();

    // Someone else in Ann's class (the open area) is blocked: the tokens Ann has cached go stale.
    const stores = sys.server.context.stores;
    await stores.users.create(TENANT, userId('zed5'), { displayName: 'Zed' });
    await stores.users.update(TENANT, userId('zed5'), { blocked: true });

    const before = seen.length;
    const got = nextEvent(ben, 'message', (e) => e.message.content.body.type === 'text');
    const sent = nextEvent(ann, 'sent');
    await ann.sendText({ user: 'ben5' }, 'second');
    expect((await got).message.content.body).toEqual({ type: 'text', text: 'second' });
    expect((await sent).devices).toBe(1);
    await ann.flush();

    // The first submission was refused for its token, the directory fetched again, the retry taken.
    const after = seen.slice(before);
    const tries = submissions(after);
    expect(tries.length).toBe(2);
    expect(refusedForToken(tries[0]!)).toBe(true);
    expect(tries[1]!.results?.every((r) => r.status === 'accepted')).toBe(true);
    const refetch = after.findIndex((s) => s.method === 'GET' && s.path === '/v1/users/ben5/devices');
    expect(refetch).toBeGreaterThan(after.indexOf(tries[0]!));
    expect(refetch).toBeLessThan(after.indexOf(tries[1]!));
  }, 60_000);

  it('(1) a blocked sender is refused at once with its cached token, and the send fails without a loop', async () => {
    const { factory, seen } = recorder();
    const cat = await sys.client('cat1', { transport: factory });
    const dan = await sys.client('dan1');
    const first = nextEvent(dan, 'message');
    await cat.sendText({ user: 'dan1' }, 'before');
    await first;
    await cat.flush();

    await sys.server.context.stores.users.update(TENANT, userId('cat1'), { blocked: true });
    const before = seen.length;
    let received = 0;
    dan.on('message', () => {
      received++;
    });
    const failed = nextEvent(cat, 'send-failed');
    await cat.sendText({ user: 'dan1' }, 'after the block');
    await failed;
    await sleep(1500);
    const after = seen.slice(before);
    expect(submissions(after).length).toBe(1);
    expect(refusedForToken(submissions(after)[0]!)).toBe(true);
    expect(after.filter((s) => s.path === '/v1/users/dan1/devices').map((s) => s.status)).toEqual([403]);
    expect(received).toBe(0);
  }, 60_000);

  it('(2) a sender moved into a pool that may not reach the recipient is refused with its cached token', async () => {
    const { factory, seen } = recorder();
    const eve = await sys.client('eve2', { transport: factory });
    const fin = await sys.client('fin2');
    const first = nextEvent(fin, 'message');
    await eve.sendText({ user: 'fin2' }, 'before');
    await first;
    await eve.flush();

    const stores = sys.server.context.stores;
    const ward = poolId('ward2');
    await stores.pools.put(TENANT, ward, { name: 'Ward' });
    await stores.users.update(TENANT, userId('eve2'), { pools: [ward] });
    const before = seen.length;
    let received = 0;
    fin.on('message', () => {
      received++;
    });
    const failed = nextEvent(eve, 'send-failed');
    await eve.sendText({ user: 'fin2' }, 'after the move');
    await failed;
    await sleep(1500);
    const after = seen.slice(before);
    expect(submissions(after).length).toBe(1);
    expect(refusedForToken(submissions(after)[0]!)).toBe(true);
    expect(after.filter((s) => s.path === '/v1/users/fin2/devices').map((s) => s.status)).toEqual([403]);
    expect(received).toBe(0);
  }, 60_000);
});
