/**
 * `start()` with the server down: it resolves, the client works from its local state, one
 * `offline` event is emitted however many attempts fail, a message sent meanwhile waits in the
 * outbox without using up its attempts, and once the server is back (same port, same data) the
 * client comes `online` and the message arrives.
 */
import { type CloisterServer, createServer } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directConversationId, NetworkError } from '../src/index.js';
import { nextEvent, PIN, startSystem, type TestSystem } from './helpers/system.js';

let sys: TestSystem;
let again: CloisterServer | undefined;

beforeAll(async () => {
  sys = await startSystem();
}, 120_000);

afterAll(async () => {
  await again?.close();
  await sys?.close();
});

describe('offline start', () => {
  it('resolves with the server down; a message sent offline arrives once the server is back', async () => {
    const alice = await sys.client('alice', { outbox: { maxAttempts: 2 } });
    const bob = await sys.client('bob');
    const first = nextEvent(bob, 'message');
    await alice.sendText({ user: 'bob' }, 'before');
    await first;

    await alice.lock();
    const port = Number(new URL(sys.url).port);
    await sys.server.close();

    await alice.unlock(PIN);
    const states: string[] = [];
    const reasons: unknown[] = [];
    alice.on('connection', (e) => {
      states.push(e.state);
      if (e.state === 'offline') reasons.push(e.error);
    });
    const failed: string[] = [];
    alice.on('send-failed', (e) => failed.push(e.reason));
    await alice.start();
    expect(states[0]).toBe('offline');
    // The event says why: the server is not listening.
    expect(reasons[0]).toBeInstanceOf(NetworkError);
    expect((reasons[0] as NetworkError).code).toBe('ECONNREFUSED');
    expect(alice.status).toBe('ready');

    // The local state is there, and sending queues.
    const conversation = directConversationId('bob');
    expect((await alice.history(conversation)).items.map((m) => m.content.body)).toEqual([
      { type: 'text', text: 'before' },
    ]);
    const sent = await alice.sendText({ user: 'bob' }, 'sent while offline');
    expect((await alice.history(conversation)).items[0]?.id).toBe(sent.id);
    // Several rounds of the outbox and of reconnection go by (maxAttempts is 2): nothing fails.
    await alice.flush();
    await new Promise((r) => setTimeout(r, 1_500));
    await alice.flush();
    expect(failed).toEqual([]);
    expect(states).toEqual(['offline']);

    const arrived = nextEvent(
      bob,
      'message',
      (e) => e.message.content.body.type === 'text' && e.message.content.body.text === 'sent while offline',
      120_000,
    );
    const online = nextEvent(alice, 'connection', (e) => e.state === 'online', 120_000);
    again = await createServer({ dataDir: sys.dataDir, logLevel: 'silent', rateLimitPerMinute: 10_000 });
    await again.listen({ port, host: '127.0.0.1' });
    await online;
    expect((await arrived).message.from.userId).toBe('alice');
    expect(failed).toEqual([]);
    expect(states.slice(0, 2)).toEqual(['offline', 'online']);
  }, 240_000);
});
