/**
 * The client SDK end to end through its public API against a real server (in this process, on
 * PGlite): enrolment, 1:1 text in v2 and static-v1, multi-device copies, receipts, history paging,
 * groups, files, safety numbers, policy, disappearing messages, PIN and remote wipe.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directConversationId } from '../src/index.js';
import { nextEvent, startSystem, type TestSystem } from './helpers/system.js';

let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem();
}, 60_000);

afterAll(async () => {
  await sys?.close();
});

describe('1:1 messages', () => {
  it('delivers a v2 text message, with a delivery receipt back and a copy to the sender’s other device', async () => {
    const alice = await sys.client('alice');
    const alice2 = await sys.client('alice');
    const bob = await sys.client('bob');
    const got = nextEvent(bob, 'message');
    const copy = nextEvent(alice2, 'message');
    const sent = await alice.sendText({ user: 'bob' }, 'hello bob');
    const receipt = nextEvent(alice, 'receipt', (e) => e.messageIds.includes(sent.id));
    const received = (await got).message;
    expect(received.content.body).toEqual({ type: 'text', text: 'hello bob' });
    expect(received.from.userId).toBe('alice');
    expect(received.conversationId).toBe(directConversationId('alice'));
    const synced = (await copy).message;
    expect(synced.outgoing).toBe(true);
    expect(synced.conversationId).toBe(directConversationId('bob'));
    expect((await receipt).kind).toBe('delivered');
    const history = await alice.history(directConversationId('bob'));
    expect(history.items[0]?.status).toBe('delivered');

    // Bob answers: both of Alice's devices get it.
    const a1 = nextEvent(alice, 'message', (e) => !e.message.outgoing);
    const a2 = nextEvent(alice2, 'message', (e) => !e.message.outgoing);
    await bob.sendText({ user: 'alice' }, 'hi alice');
    expect((await a1).message.content.body).toEqual({ type: 'text', text: 'hi alice' });
    expect((await a2).message.content.body).toEqual({ type: 'text', text: 'hi alice' });
  }, 60_000);
});
