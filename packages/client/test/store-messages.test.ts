/**
 * Client conversations and messages: paging, dedupe, status, expiry of messages and their index
 * rows, conversation ordering and deletion, and bundle transactions that commit all or nothing.
 */
import { CloisterError, type DeviceAddress, deviceId } from '@cloister/crypto';
import { conversationId, groupId, messageId, userId } from '@cloister/protocol';
import { createMemoryAdapter, encodeRecord } from '@cloister/storage';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLIENT_TABLES, createClientStores, type MessageInput } from '../src/store/index.js';

async function thrown(fn: () => Promise<unknown>): Promise<CloisterError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CloisterError) return e;
    throw e;
  }
  throw new Error('expected a CloisterError');
}

const bob: DeviceAddress = { userId: 'bob', deviceId: deviceId(1) };
const cBob = conversationId('c_bob');
const enc = new TextEncoder();

function msg(id: string, sentAt: number, extra: Partial<MessageInput> = {}): MessageInput {
  return { id: messageId(id), conversationId: cBob, sender: bob, sentAt, body: enc.encode(id), ...extra };
}

async function rowCount(adapter: ReturnType<typeof createMemoryAdapter>, table: string, partition: string) {
  return adapter.transaction((tx) => tx.count(table, enc.encode(partition)));
}

describe('conversations', () => {
  it('creates, lists by latest activity and updates conversations', async () => {
    let now = 100;
    const stores = createClientStores(createMemoryAdapter({ now: () => now }));
    const c = stores.conversations;
    expect(await c.create({ id: cBob, kind: 'direct', peer: userId('bob') })).toBe(true);
    now = 200;
    expect(await c.create({ id: conversationId('g1'), kind: 'group', groupId: groupId('g_ward3') })).toBe(
      true,
    );
    expect(await c.create({ id: cBob, kind: 'direct', peer: userId('mallory') })).toBe(false);
    const got = await c.get(cBob);
    expect(got).toEqual({
      id: cBob,
      kind: 'direct',
      peer: 'bob',
      disappearingTimerMs: null,
      lastActivityAt: 100,
      createdAt: 100,
    });
    expect((await c.list()).items.map((x) => x.id)).toEqual(['g1', 'c_bob']);
    expect(await c.touch(cBob, 300)).toBe(true);
    expect(await c.touch(cBob, 250)).toBe(true); // never moves back
    expect((await c.get(cBob))?.lastActivityAt).toBe(300);
    expect(await c.touch(conversationId('nope'), 1)).toBe(false);
    const first = await c.list({ limit: 1 });
    expect(first.items.map((x) => x.id)).toEqual(['c_bob']);
    expect(first.next).toBeDefined();
    const second = await c.list({ limit: 1, cursor: first.next as string });
    expect(second.items.map((x) => x.id)).toEqual(['g1']);
    expect(second.next).toBeUndefined();
    expect(await c.setDisappearingTimer(cBob, 60_000)).toBe(true);
    expect((await c.get(cBob))?.disappearingTimerMs).toBe(60_000);
    expect(await c.setDisappearingTimer(cBob, null)).toBe(true);
    expect((await c.get(cBob))?.disappearingTimerMs).toBeNull();
    expect(await c.setDisappearingTimer(conversationId('nope'), null)).toBe(false);
    const g = await c.get(conversationId('g1'));
    expect(g?.kind === 'group' && g.groupId).toBe('g_ward3');
  });

  it('rejects bad input', async () => {
    const { conversations: c } = createClientStores(createMemoryAdapter());
    const cases: (() => Promise<unknown>)[] = [
      () => c.create({ id: 'has space', kind: 'direct', peer: 'bob' } as never),
      () => c.create({ id: 'c1', kind: 'channel', peer: 'bob' } as never),
      () => c.create({ id: cBob, kind: 'group' } as never),
      () => c.create({ id: cBob, kind: 'direct', peer: userId('bob'), disappearingTimerMs: 0 }),
      () => c.list({ limit: 0 }),
      () => c.list({ cursor: 'zz' }),
      () => c.touch(cBob, -1),
    ];
    for (const f of cases) expect((await thrown(f)).code).toBe('ERR_VALIDATION');
    expect((await c.list()).items).toEqual([]);
  });

  it('deletes a conversation with its messages and their index rows', async () => {
    const adapter = createMemoryAdapter({ now: () => 1 });
    const stores = createClientStores(adapter);
    await stores.conversations.create({ id: cBob, kind: 'direct', peer: userId('bob') });
    for (let i = 0; i < 5; i++) await stores.messages.addIfAbsent(msg(`m${i}`, 10 + i));
    expect(await stores.conversations.delete(cBob)).toBe(true);
    expect(await stores.conversations.delete(cBob)).toBe(false);
    expect(await stores.messages.get(messageId('m1'))).toBeUndefined();
    expect(await rowCount(adapter, CLIENT_TABLES.messages, 'c_bob')).toBe(0);
    expect(await rowCount(adapter, CLIENT_TABLES.messageIds, 'm3')).toBe(0);
    expect(
      await adapter.transaction((tx) => tx.count(CLIENT_TABLES.conversationActivity, new Uint8Array())),
    ).toBe(0);
  });
});

describe('messages', () => {
  it('dedupes by id, pages newest first and updates status forward only', async () => {
    const stores = createClientStores(createMemoryAdapter({ now: () => 5 }));
    await stores.conversations.create({ id: cBob, kind: 'direct', peer: userId('bob') });
    const m = stores.messages;
    expect(await m.addIfAbsent(msg('m1', 1000, { receivedAt: 1005 }))).toBe(true);
    expect(await m.addIfAbsent(msg('m1', 2000, { body: enc.encode('other') }))).toBe(false);
    const stored = await m.get(messageId('m1'));
    expect(stored).toEqual({
      id: 'm1',
      conversationId: 'c_bob',
      sender: { userId: 'bob', deviceId: 1 },
      sentAt: 1000,
      receivedAt: 1005,
      body: enc.encode('m1'),
      status: 'sent',
      expiresAt: null,
    });
    expect((await stores.conversations.get(cBob))?.lastActivityAt).toBe(1005);
    for (let i = 2; i <= 7; i++) expect(await m.addIfAbsent(msg(`m${i}`, 1000 * i))).toBe(true);

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await m.history(cBob, { limit: 3, ...(cursor === undefined ? {} : { cursor }) });
      seen.push(...page.items.map((x) => x.id));
      cursor = page.next;
      pages++;
    } while (cursor !== undefined);
    expect(seen).toEqual(['m7', 'm6', 'm5', 'm4', 'm3', 'm2', 'm1']);
    expect(pages).toBe(3);
    expect((await m.history(conversationId('empty'))).items).toEqual([]);

    expect(await m.setStatus(messageId('m2'), 'read')).toBe('read');
    expect(await m.setStatus(messageId('m2'), 'delivered')).toBe('read');
    expect(await m.setStatus(messageId('m3'), 'delivered')).toBe('delivered');
    expect(await m.setStatus(messageId('none'), 'read')).toBeUndefined();
    expect((await m.get(messageId('m2')))?.status).toBe('read');

    expect(await m.delete(messageId('m2'))).toBe(true);
    expect(await m.delete(messageId('m2'))).toBe(false);
    expect(await m.get(messageId('m2'))).toBeUndefined();
    expect((await m.history(cBob, { limit: 100 })).items.map((x) => x.id)).toEqual([
      'm7',
      'm6',
      'm5',
      'm4',
      'm3',
      'm1',
    ]);
    // After deletion the id can be used again.
    expect(await m.addIfAbsent(msg('m2', 1))).toBe(true);
  });

  it('pages through any set of messages in order, without loss or repeat (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 0, maxLength: 25 }),
        fc.integer({ min: 1, max: 6 }),
        async (times, limit) => {
          const stores = createClientStores(createMemoryAdapter({ now: () => 0 }));
          await stores.conversations.create({ id: cBob, kind: 'direct', peer: userId('bob') });
          for (const [i, t] of times.entries()) await stores.messages.addIfAbsent(msg(`m${i}`, t));
          const got: { id: string; sentAt: number }[] = [];
          let cursor: string | undefined;
          do {
            const page = await stores.messages.history(cBob, {
              limit,
              ...(cursor === undefined ? {} : { cursor }),
            });
            expect(page.items.length).toBeLessThanOrEqual(limit);
            got.push(...page.items);
            cursor = page.next;
          } while (cursor !== undefined);
          expect(new Set(got.map((x) => x.id)).size).toBe(times.length);
          expect(got).toHaveLength(times.length);
          for (let i = 1; i < got.length; i++) {
            expect(got[i - 1]!.sentAt).toBeGreaterThanOrEqual(got[i]!.sentAt);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('hides expired messages and their index rows; an expired id can be reused', async () => {
    let now = 1_000;
    const adapter = createMemoryAdapter({ now: () => now });
    const stores = createClientStores(adapter);
    await stores.conversations.create({ id: cBob, kind: 'direct', peer: userId('bob') });
    await stores.messages.addIfAbsent(msg('short', 1, { expiresAt: 2_000 }));
    await stores.messages.addIfAbsent(msg('long', 2, { expiresAt: 9_000 }));
    await stores.messages.addIfAbsent(msg('forever', 3));
    expect((await stores.messages.history(cBob)).items).toHaveLength(3);
    expect(await rowCount(adapter, CLIENT_TABLES.messageIds, 'short')).toBe(1);

    now = 2_000;
    expect((await stores.messages.history(cBob)).items.map((x) => x.id)).toEqual(['forever', 'long']);
    expect(await stores.messages.get(messageId('short'))).toBeUndefined();
    expect(await rowCount(adapter, CLIENT_TABLES.messageIds, 'short')).toBe(0);
    expect(await rowCount(adapter, CLIENT_TABLES.messages, 'c_bob')).toBe(2);
    expect(await stores.messages.setStatus(messageId('short'), 'read')).toBeUndefined();

    // Status updates keep the expiry of the message.
    expect(await stores.messages.setStatus(messageId('long'), 'read')).toBe('read');
    expect((await stores.messages.get(messageId('long')))?.expiresAt).toBe(9_000);
    now = 9_000;
    expect((await stores.messages.history(cBob)).items.map((x) => x.id)).toEqual(['forever']);
    expect(await rowCount(adapter, CLIENT_TABLES.messageIds, 'long')).toBe(0);

    expect(await stores.messages.addIfAbsent(msg('short', 1))).toBe(true);
    const purged = await adapter.purgeExpired();
    // Left to purge: the old history row of `short` (its id row was replaced) and both rows of `long`.
    expect(purged.deleted).toBe(3);
  });

  it('rejects bad messages and messages for unknown conversations', async () => {
    const stores = createClientStores(createMemoryAdapter());
    await stores.conversations.create({ id: cBob, kind: 'direct', peer: userId('bob') });
    const cases: MessageInput[] = [
      { ...msg('a', 1), id: 'x y' as never },
      { ...msg('a', 1), sentAt: -1 },
      { ...msg('a', 1), sender: { userId: 'bob', deviceId: 1.5 as never } },
      { ...msg('a', 1), body: 'text' as never },
      { ...msg('a', 1), body: new Uint8Array(1024 * 1024 + 1) },
      { ...msg('a', 1), status: 'seen' as never },
      { ...msg('a', 1), expiresAt: Number.NaN },
    ];
    for (const c of cases)
      expect((await thrown(() => stores.messages.addIfAbsent(c))).code).toBe('ERR_VALIDATION');
    expect(
      (
        await thrown(() =>
          stores.messages.addIfAbsent({ ...msg('a', 1), conversationId: conversationId('nope') }),
        )
      ).code,
    ).toBe('ERR_USAGE');
    expect((await stores.messages.history(cBob)).items).toEqual([]);
    expect((await thrown(() => stores.messages.setStatus(messageId('a'), 'gone' as never))).code).toBe(
      'ERR_VALIDATION',
    );
  });

  it('reports a corrupted message record as DecodeError', async () => {
    const adapter = createMemoryAdapter();
    const stores = createClientStores(adapter);
    await stores.conversations.create({ id: cBob, kind: 'direct', peer: userId('bob') });
    await stores.messages.addIfAbsent(msg('m1', 1));
    await adapter.transaction(async (tx) => {
      const [row] = await tx.list(CLIENT_TABLES.messages, enc.encode('c_bob'));
      if (row === undefined) throw new Error('no row');
      await tx.put(CLIENT_TABLES.messages, { ...row, value: encodeRecord(1, { id: 'm1', status: 'lost' }) });
    });
    expect((await thrown(() => stores.messages.history(cBob))).code).toBe('ERR_DECODE');
    expect((await thrown(() => stores.messages.get(messageId('m1')))).code).toBe('ERR_DECODE');
  });
});

describe('bundle transactions', () => {
  it('commits writes to several stores together, or none when the callback throws', async () => {
    const adapter = createMemoryAdapter();
    const stores = createClientStores(adapter);
    await stores.conversations.create({ id: cBob, kind: 'direct', peer: userId('bob') });
    const record = { version: 1 as const, previous: [] };

    await expect(
      stores.transaction(async (s) => {
        await s.sessions.storeSession(bob, record);
        await s.messages.addIfAbsent(msg('m1', 10));
        throw new Error('after the writes');
      }),
    ).rejects.toThrow('after the writes');
    expect(await stores.sessions.loadSession(bob)).toBeUndefined();
    expect(await stores.messages.get(messageId('m1'))).toBeUndefined();
    expect((await stores.conversations.get(cBob))?.lastActivityAt).not.toBe(10);

    await expect(
      stores.transaction(async (s) => {
        await s.sessions.storeSession(bob, record);
        throw new Error('after the first write');
      }),
    ).rejects.toThrow('after the first write');
    expect(await stores.sessions.loadSession(bob)).toBeUndefined();

    const result = await stores.transaction(async (s) => {
      await s.sessions.storeSession(bob, record);
      return s.messages.addIfAbsent(msg('m1', 10));
    });
    expect(result).toBe(true);
    expect(await stores.sessions.loadSession(bob)).toEqual(record);
    expect((await stores.messages.get(messageId('m1')))?.sentAt).toBe(10);
  });

  it('rolls back a store error inside the transaction too', async () => {
    const stores = createClientStores(createMemoryAdapter());
    await stores.conversations.create({ id: cBob, kind: 'direct', peer: userId('bob') });
    const e = await thrown(() =>
      stores.transaction(async (s) => {
        await s.messages.addIfAbsent(msg('m1', 10));
        await s.messages.addIfAbsent({ ...msg('m2', 11), conversationId: conversationId('missing') });
      }),
    );
    expect(e.code).toBe('ERR_USAGE');
    expect(await stores.messages.get(messageId('m1'))).toBeUndefined();
    expect(() => createClientStores({} as never)).toThrow(CloisterError);
  });
});
