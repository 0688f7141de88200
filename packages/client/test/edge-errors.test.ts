/**
 * Typed errors at the client's edge, against a real server: a recipient the directory does not
 * know fails at once with `UnknownRecipientError` and nothing is stored or queued (a user of
 * another tenant is just as unknown; a user with no device is not); a message queued while the
 * server was unreachable leaves the outbox with a `send-failed` event once the directory answers;
 * a group member who does not exist is skipped; a device PIN shorter than the minimum is refused
 * at enrolment and PIN change with nothing changed; and a client that is not enrolled says so.
 */
import { ValidationError } from '@cloister/crypto';
import { tenantId, userId } from '@cloister/protocol';
import { createTenant } from '@cloister/server';
import { createMemoryAdapter } from '@cloister/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUpDevice } from '../../server/test/helpers/device-client.js';
import { UnknownRecipientError as BrowserUnknownRecipientError } from '../src/browser.js';
import {
  type ClientEvent,
  type ClientStep,
  type CloisterClient,
  createClient,
  createNodeTransport,
  directConversationId,
  NetworkError,
  NotEnrolledError,
  type TransportFactory,
  UnknownRecipientError,
} from '../src/index.js';
import { nextEvent, PIN, startSystem, TENANT, type TestSystem } from './helpers/system.js';

let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem();
  const ctx = sys.server.context;
  // A user with no device in this tenant, and a user of another tenant.
  await ctx.stores.users.create(TENANT, userId('zed'), { displayName: 'zed' });
  await createTenant(ctx, { id: tenantId('other'), name: 'Other' });
  await ctx.stores.users.create(tenantId('other'), userId('olga'), { displayName: 'olga' });
}, 120_000);

afterAll(async () => {
  await sys?.close();
});

/** The error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

/** A transport whose requests fail with `NetworkError` while `down.now` is true (the socket stays up). */
function switchable(down: { now: boolean }, paths: string[]): TransportFactory {
  return (o) => {
    const inner = createNodeTransport(o);
    return {
      request: (method, path, body) => {
        paths.push(path);
        if (down.now) return Promise.reject(new NetworkError('ECONNREFUSED', o.url));
        return inner.request(method, path, body);
      },
      connect: (path, handlers) => inner.connect(path, handlers),
    };
  };
}

describe('unknown recipients', () => {
  it('the server answers 404 user not found for an unknown user and another tenant’s alike; [] for no device', async () => {
    const device = await setUpDevice(sys.server.context, TENANT, 'wire', 1);
    const transport = createNodeTransport({
      url: sys.url,
      pin: sys.server.pin,
      credential: device.credential,
    });
    const answer = async (path: string) => {
      const r = await transport.request('GET', path);
      return { status: r.status, body: new TextDecoder().decode(r.body) };
    };
    const unknown = { status: 404, body: '{"error":{"code":"ERR_NOT_FOUND","message":"user not found"}}' };
    for (const route of ['devices', 'device-lists']) {
      expect(await answer(`/v1/users/nobody/${route}`), route).toEqual(unknown);
      expect(await answer(`/v1/users/olga/${route}`), route).toEqual(unknown);
    }
    expect(await answer('/v1/users/zed/devices')).toEqual({ status: 200, body: '{"devices":[],"pools":[]}' }); // zed is in no pool
    expect(await answer('/v1/users/zed/device-lists')).toEqual({ status: 200, body: '{"lists":[]}' });
  }, 60_000);

  it('sendText to a user the directory does not know fails at once; nothing is stored or queued', async () => {
    const steps: ClientStep[] = [];
    const alice = await sys.client('alice', { hooks: { step: (s) => void steps.push(s) } });
    const events: ClientEvent['type'][] = [];
    for (const type of ['sent', 'send-failed'] as const) alice.on(type, (e) => events.push(e.type));
    steps.length = 0;

    const e = await failure(alice.sendText({ user: 'nobody' }, 'hello?'));
    expect(e).toBeInstanceOf(UnknownRecipientError);
    expect(e).toBeInstanceOf(BrowserUnknownRecipientError);
    expect((e as UnknownRecipientError).userId).toBe('nobody');
    expect((e as UnknownRecipientError).code).toBe('ERR_NOT_FOUND');
    expect((e as Error).message).not.toContain('nobody');

    // A file is refused before its upload, too.
    const f = await failure(alice.sendFile({ user: 'nobody' }, { data: new Uint8Array(10), name: 'x.bin' }));
    expect(f).toBeInstanceOf(UnknownRecipientError);

    await alice.flush();
    expect(steps).not.toContain('enqueue:committed');
    expect(events).toEqual([]);
    const conversations = (await alice.conversations()).items.map((c) => c.id);
    expect(conversations).not.toContain(directConversationId('nobody'));
    expect((await alice.history(directConversationId('nobody'))).items).toEqual([]);
  }, 120_000);

  it('a user of another tenant is unknown just the same; a user with no device is not', async () => {
    const alice = await sys.client('alice');
    const other = await failure(alice.sendText({ user: 'olga' }, 'hi'));
    expect(other).toBeInstanceOf(UnknownRecipientError);
    expect((other as UnknownRecipientError).userId).toBe('olga');

    const failed: string[] = [];
    alice.on('send-failed', (e) => failed.push(e.reason));
    const queued = await alice.sendText({ user: 'zed' }, 'for when you have a device');
    expect(queued.conversationId).toBe(directConversationId('zed'));
    // It goes out (to alice's own other devices only) and nothing fails.
    await nextEvent(alice, 'sent', (e) => e.messageId === queued.id, 60_000);
    await alice.flush();
    expect(failed).toEqual([]);
  }, 120_000);

  it('createGroup and addMembers refuse a member the directory does not know', async () => {
    const alice = await sys.client('alice');
    await sys.client('bob');
    const e = await failure(alice.createGroup('team', ['bob', 'nobody']));
    expect(e).toBeInstanceOf(UnknownRecipientError);
    expect((e as UnknownRecipientError).userId).toBe('nobody');
    const { groupId } = await alice.createGroup('team', ['bob']);
    const add = await failure(alice.addMembers(groupId, ['nobody']));
    expect(add).toBeInstanceOf(UnknownRecipientError);
    expect((await alice.group(groupId))?.state.members.map((m) => m.userId)).toEqual(['alice', 'bob']);
  }, 120_000);

  it('a message queued while the server was unreachable leaves the outbox with send-failed', async () => {
    const down = { now: false };
    const paths: string[] = [];
    const alice = await sys.client('alice', { transport: switchable(down, paths) });
    const bob = await sys.client('bob');
    down.now = true;
    // Unreachable: the directory cannot be asked, so both queue; nothing fails while it is down.
    const lost = await alice.sendText({ user: 'nobody' }, 'queued offline');
    await alice.createGroup('offline team', ['bob', 'nobody']);
    const failed: Extract<ClientEvent, { type: 'send-failed' }>[] = [];
    alice.on('send-failed', (e) => failed.push(e));
    await alice.flush();
    expect(failed).toEqual([]);

    const joined = nextEvent(bob, 'group', (e) => e.state.members.some((m) => m.userId === 'nobody'), 60_000);
    down.now = false;
    await alice.flush();
    expect(failed.map((f) => f.messageId)).toEqual([lost.id]);
    expect(failed[0]?.error).toBeInstanceOf(UnknownRecipientError);
    expect((failed[0]?.error as UnknownRecipientError | undefined)?.userId).toBe('nobody');
    // The group went out to bob; the member who does not exist got no copy.
    await joined;

    // Nothing is left in the outbox: another round asks nothing about that user.
    paths.length = 0;
    await alice.flush();
    await new Promise((r) => setTimeout(r, 1_500));
    await alice.flush();
    expect(paths.filter((p) => p.includes('/nobody'))).toEqual([]);
    expect(failed).toHaveLength(1);
  }, 120_000);
});

describe('device PIN length', () => {
  const options = (extra: object = {}) => ({
    server: { url: sys.url, pin: sys.server.pin },
    storage: createMemoryAdapter(),
    ...extra,
  });

  it('refuses a 2-character PIN at enrolment, changing nothing (the code still enrols)', async () => {
    const client = await createClient(options());
    const code = await sys.token('pia');
    const e = await failure(client.enroll(code, { pin: '12' }));
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).field).toBe('pin');
    expect((e as Error).message).toBe('pin: expected a device PIN of at least 6 characters');
    expect(client.status).toBe('unenrolled');
    // The single-use code was not spent.
    await client.enroll(code, { pin: PIN });
    expect(client.status).toBe('ready');
    await client.close();
  }, 120_000);

  it('refuses a short new PIN at changePin; the old PIN still opens the data', async () => {
    const rita = await sys.client('rita', { start: false });
    const e = await failure(rita.changePin(PIN, '12'));
    expect(e).toBeInstanceOf(ValidationError);
    expect((e as ValidationError).field).toBe('newPin');
    await rita.lock();
    await rita.unlock(PIN);
    expect(rita.status).toBe('ready');
  }, 120_000);

  it('minPinLength is configurable from 4, and validated', async () => {
    for (const bad of [3, 0, 4.5, 65, '6', Number.NaN]) {
      const e = await failure(createClient(options({ minPinLength: bad })));
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field).toBe('minPinLength');
    }
    const client = await createClient(options({ minPinLength: 4 }));
    await client.enroll(await sys.token('four'), { pin: '2580' });
    expect(client.status).toBe('ready');
    await client.close();
    // Code points, not UTF-16 units: two emoji are two characters.
    const strict = await createClient(options({ minPinLength: 4 }));
    const emoji = await failure(strict.enroll(await sys.token('emo'), { pin: '🔒🔑' }));
    expect((emoji as ValidationError).field).toBe('pin');
    await strict.close();
  }, 120_000);
});

describe('not enrolled', () => {
  it('says the device is not enrolled, not that it is locked', async () => {
    const client: CloisterClient = await createClient({
      server: { url: sys.url, pin: sys.server.pin },
      storage: createMemoryAdapter(),
    });
    const calls: [string, () => Promise<unknown>][] = [
      ['sendText', () => client.sendText({ user: 'bob' }, 'hi')],
      ['start', () => client.start()],
      ['unlock', () => client.unlock(PIN)],
      ['changePin', () => client.changePin(PIN, '1111-2222')],
      ['history', () => client.history(directConversationId('bob'))],
      ['createGroup', () => client.createGroup('g', ['bob'])],
    ];
    for (const [name, call] of calls) {
      const e = await failure(call());
      expect(e, name).toBeInstanceOf(NotEnrolledError);
      expect((e as NotEnrolledError).code, name).toBe('ERR_USAGE');
      expect((e as Error).message, name).toBe(
        'this device is not enrolled: call enroll(code, { pin }) first',
      );
    }
    expect(() => client.me).toThrow(NotEnrolledError);
    await client.close();
  }, 60_000);
});
