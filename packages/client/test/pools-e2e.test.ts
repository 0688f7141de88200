/**
 * Issue 17 (R22): a user moved between pools mid-conversation, end to end through real clients
 * and the real server. Alice and Bob are in the pool `ward` and exchange messages; an
 * administrator moves Bob into `isolation` (a pool whose rule reaches only its own members) with
 * the admin operation `PUT /admin/v1/users/:user/pools`; Alice's next message is refused — her
 * delivery token for Bob was made stale by the move, the directory then refuses her (403), and
 * the message fails with a typed error — and Bob receives nothing. Moving Bob back restores the
 * conversation.
 */
import { ForbiddenError } from '@cloister/crypto';
import { poolId, userId } from '@cloister/protocol';
import { type AdminAuth, type Administrator, setUserPoolsOperation } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientMessage, type CloisterClient, ServerError } from '../src/index.js';
import { nextEvent, startSystem, TENANT, type TestSystem } from './helpers/system.js';

let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem();
  for (const p of ['ward', 'isolation']) {
    await sys.server.context.stores.pools.put(TENANT, poolId(p), { name: p });
  }
}, 60_000);

afterAll(async () => {
  await sys?.close();
});

/** An administrator of the tenant moving `user` into `pools` through the admin operation. */
async function move(user: string, pools: string[]): Promise<void> {
  const admin = (await sys.server.context.stores.administrators.list(TENANT, { limit: 1 })).items[0];
  const me = {
    tenant: TENANT,
    admin: admin ?? ({ id: 'adm_pools-e2e-administrator' } as Administrator),
    via: 'session',
  } as AdminAuth;
  const answer = (await setUserPoolsOperation.handle(sys.server.context, {
    me,
    params: { user },
    body: { pools },
    query: undefined,
    request: undefined as never,
    reply: undefined as never,
  })) as { pools: string[] };
  expect(answer.pools).toEqual(pools);
}

/** The `send-failed` events of `client` from now on (receipts fail too: each is an outbox entry). */
function failuresOf(client: CloisterClient) {
  const seen: { messageId: string; error: unknown }[] = [];
  client.on('send-failed', (e) => seen.push({ messageId: e.messageId, error: e.error }));
  return {
    async of(messageId: string, ms = 10_000) {
      for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) {
        const found = seen.find((e) => e.messageId === messageId);
        if (found !== undefined) return found;
      }
      throw new Error(`no send-failed for ${messageId}`);
    },
  };
}

function texts(client: CloisterClient): string[] {
  const seen: string[] = [];
  client.on('message', ({ message }: { message: ClientMessage }) => {
    if (message.content.body.type === 'text' && !message.outgoing) seen.push(message.content.body.text);
  });
  return seen;
}

describe('a user moved between pools mid-conversation', () => {
  it('refuses the next message while the pools may not reach each other, and restores it on the way back', async () => {
    const alice = await sys.client('alice', { code: await sys.token('alice', 'ward') });
    const bob = await sys.client('bob', { code: await sys.token('bob', 'ward') });
    const atBob = texts(bob);

    // Same pool: the conversation works both ways.
    let got = nextEvent(bob, 'message');
    await alice.sendText({ user: 'bob' }, 'ward round at nine');
    expect((await got).message.content.body).toEqual({ type: 'text', text: 'ward round at nine' });
    const back = nextEvent(alice, 'message', (e) => !e.message.outgoing);
    await bob.sendText({ user: 'alice' }, 'on my way');
    expect((await back).message.content.body).toEqual({ type: 'text', text: 'on my way' });

    // The administrator moves Bob into a pool Alice's pool may not reach.
    await move('bob', ['isolation']);
    expect((await sys.server.context.stores.users.get(TENANT, userId('bob')))?.pools).toEqual(['isolation']);
    const failures = failuresOf(alice);
    const refused = await alice.sendText({ user: 'bob' }, 'are you still there?');
    const failure = await failures.of(refused.id);
    expect(failure.error).toBeInstanceOf(ServerError);
    expect((failure.error as ServerError).status).toBe(403);
    expect((failure.error as ServerError).code).toBe(new ForbiddenError().code);
    // Nor may Bob write to Alice from his new pool.
    const bobFailures = failuresOf(bob);
    const fromIsolation = await bob.sendText({ user: 'alice' }, 'from isolation');
    expect(((await bobFailures.of(fromIsolation.id)).error as ServerError).status).toBe(403);

    // Moving back restores the conversation; the refused messages were never delivered.
    await move('bob', ['ward']);
    got = nextEvent(bob, 'message', (e) => !e.message.outgoing);
    await alice.sendText({ user: 'bob' }, 'welcome back');
    expect((await got).message.content.body).toEqual({ type: 'text', text: 'welcome back' });
    await bob.idle();
    expect(atBob).toEqual(['ward round at nine', 'welcome back']);
    const mailboxes = await sys.server.context.stores.devices.list(TENANT, userId('bob'));
    expect(mailboxes).toHaveLength(1);
  }, 120_000);
});
