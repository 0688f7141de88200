/**
 * Issue 13, attack 4, the recipient's half, end to end through the SDK against a real server
 * (spec/revocations.md): content whose delivery got past the server's tokens (queued before the
 * change) is refused by the recipient once it fetched the policy, because the sender's certificate
 * is revoked by the tenant's signed list (a) or its pools may no longer reach the recipient by the
 * signed reach statement (b); an older list served again is refused and the pinned one stays (c);
 * a list or statement not signed by the tenant key is refused and pins nothing (d).
 */
import { createNobleProvider } from '@cloister/crypto';
import { poolId, signReachStatement, signRevocationList, tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloisterClient, createNodeTransport, type TransportFactory } from '../src/index.js';
import { nextEvent, startSystem, TENANT, type TestSystem } from './helpers/system.js';

let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem();
}, 60_000);

afterAll(async () => {
  await sys?.close();
});

/** A transport that records every policy answer and can replace its signed fields. */
function policyTap(): {
  factory: TransportFactory;
  answers: { revocations?: string; reach?: string }[];
  override: { revocations?: string; reach?: string };
} {
  const answers: { revocations?: string; reach?: string }[] = [];
  const override: { revocations?: string; reach?: string } = {};
  const factory: TransportFactory = (o) => {
    const inner = createNodeTransport(o);
    return {
      async request(method, path, body) {
        const res = await inner.request(method, path, body);
        if (method !== 'GET' || path !== '/v1/policy' || res.status !== 200) return res;
        const json = res.json as { revocations?: string; reach?: string };
        answers.push({ ...json });
        return { ...res, json: { ...json, ...override } };
      },
      connect: (path, handlers) => inner.connect(path, handlers),
    };
  };
  return { factory, answers, override };
}

/** `from` sends `text` while `to` is stopped, so that the envelope waits in `to`'s mailbox. */
async function queue(from: CloisterClient, to: CloisterClient, user: string, text: string): Promise<void> {
  await to.stop();
  const sent = nextEvent(from, 'sent');
  await from.sendText({ user }, text);
  await sent;
  await from.flush();
}

/** Starts `to` and collects what it makes of its backlog. */
async function drain(
  to: CloisterClient,
): Promise<{ texts: string[]; refused: { reason: string; from?: unknown }[] }> {
  const texts: string[] = [];
  const refused: { reason: string; from?: unknown }[] = [];
  const offMessage = to.on('message', (e) => {
    if (e.message.content.body.type === 'text') texts.push(e.message.content.body.text);
  });
  const offRefused = to.on('undecryptable', (e) => {
    refused.push({ reason: e.reason, from: e.from });
  });
  const done = nextEvent(to, 'undecryptable').catch(() => undefined);
  await to.start();
  await done;
  await to.flush();
  offMessage();
  offRefused();
  return { texts, refused };
}

/** A first message both ways is delivered (sessions, device lists and policies in place). */
async function converse(a: CloisterClient, b: CloisterClient, bUser: string): Promise<void> {
  const got = nextEvent(b, 'message', (e) => e.message.content.body.type === 'text');
  await a.sendText({ user: bUser }, 'hello');
  await got;
  await a.flush();
}

describe('attack 4, the recipient’s half', () => {
  it('(a) refuses content queued before its sender was blocked, once the recipient refreshed its policy', async () => {
    const ann = await sys.client('ann-a');
    const ben = await sys.client('ben-a');
    await converse(ann, ben, 'ben-a');

    await queue(ann, ben, 'ben-a', 'queued before the block');
    await sys.server.context.stores.users.update(TENANT, userId('ann-a'), { blocked: true });
    await ben.refreshPolicy();
    const { texts, refused } = await drain(ben);
    expect(texts).toEqual([]);
    expect(refused).toEqual([
      { reason: 'certificate', from: { userId: 'ann-a', deviceId: expect.any(Number) } },
    ]);
  }, 60_000);

  it('(a) refuses content from a blocked device of a user who is not blocked', async () => {
    const cy = await sys.client('cy-a');
    const dot = await sys.client('dot-a');
    await converse(cy, dot, 'dot-a');
    await queue(cy, dot, 'dot-a', 'queued before the device was blocked');
    const device = (await sys.server.context.stores.devices.list(TENANT, userId('cy-a')))[0];
    await sys.server.context.stores.devices.update(TENANT, userId('cy-a'), device!.id, { blocked: true });
    const { texts, refused } = await drain(dot);
    expect(texts).toEqual([]);
    expect(refused.map((r) => r.reason)).toEqual(['certificate']);
  }, 60_000);

  it('(b) refuses content from a sender whose pools may no longer reach the recipient (valid certificate)', async () => {
    const stores = sys.server.context.stores;
    const pa = poolId('pool-a');
    const pb = poolId('pool-b');
    // Two-way to begin with (the recipient fetches the sender's device lists too).
    await stores.pools.put(TENANT, pb, { name: 'B', mayContact: [pa] });
    await stores.pools.put(TENANT, pa, { name: 'A', mayContact: [pb] });
    await stores.users.create(TENANT, userId('eve-b'), { displayName: 'Eve', pools: [pa] });
    await stores.users.create(TENANT, userId('fin-b'), { displayName: 'Fin', pools: [pb] });
    const eve = await sys.client('eve-b');
    const fin = await sys.client('fin-b');
    await converse(eve, fin, 'fin-b');

    await queue(eve, fin, 'fin-b', 'queued before the rule changed');
    // The organisation closes pool B to pool A (B may still reach A); Eve's certificate (pools
    // [pool-a]) stays valid.
    await stores.pools.put(TENANT, pa, { name: 'A', mayContact: [] });
    const { texts, refused } = await drain(fin);
    expect(texts).toEqual([]);
    expect(refused).toEqual([
      { reason: 'certificate', from: { userId: 'eve-b', deviceId: expect.any(Number) } },
    ]);
  }, 60_000);

  it('(c) refuses an older revocation list served again and keeps refusing what the newer one revoked', async () => {
    const tap = policyTap();
    const gil = await sys.client('gil-c');
    const hal = await sys.client('hal-c', { transport: tap.factory });
    await converse(gil, hal, 'hal-c');
    const old = tap.answers.at(-1)?.revocations;
    expect(old).toBeDefined();

    await queue(gil, hal, 'hal-c', 'queued before the block');
    await sys.server.context.stores.users.update(TENANT, userId('gil-c'), { blocked: true });
    await hal.refreshPolicy(); // pins the list that revokes Gil
    tap.override.revocations = old as string; // the operator (or a stale cache) serves the old list
    await expect(hal.refreshPolicy()).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    const { texts, refused } = await drain(hal); // start() fetches the old list again, refused too
    expect(texts).toEqual([]);
    expect(refused.map((r) => r.reason)).toEqual(['certificate']);
  }, 60_000);

  it('(d) refuses a revocation list or reach statement not signed by the tenant key, and pins nothing', async () => {
    const tap = policyTap();
    const ivy = await sys.client('ivy-d', { transport: tap.factory });
    const provider = createNobleProvider();
    const other = await provider.ed25519.generateKeyPair();
    const forgedList = await signRevocationList(
      provider,
      { tenant: tenantId(TENANT), version: 1_000_000, issuedAtMs: Date.now(), entries: [] },
      other.privateKey,
    );
    tap.override.revocations = Buffer.from(forgedList).toString('base64url');
    await expect(ivy.refreshPolicy()).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    delete tap.override.revocations;

    const forgedReach = await signReachStatement(
      provider,
      {
        tenant: tenantId(TENANT),
        user: userId('ivy-d'),
        version: 1_000_000,
        issuedAtMs: Date.now(),
        pools: [],
        reachedBy: [],
      },
      other.privateKey,
    );
    tap.override.reach = Buffer.from(forgedReach).toString('base64url');
    await expect(ivy.refreshPolicy()).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    delete tap.override.reach;

    // Had the forged version 1 000 000 been pinned, the server's genuine lower versions would now be
    // refused as rollbacks; they are accepted.
    await expect(ivy.refreshPolicy()).resolves.toBeDefined();
  }, 60_000);
});
