import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecodeError, getProvider, ValidationError } from '@cloister/crypto';
import { type MessageId, messageId } from '@cloister/protocol';
import {
  adapterExecutor,
  createEncryptedAdapter,
  createMemoryAdapter,
  type StorageAdapter,
  txExecutor,
} from '@cloister/storage';
import { createPGliteAdapter } from '@cloister/storage/sql';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createOutbox,
  OUTBOX_ORDERED_TABLES,
  OUTBOX_TABLES,
  outboxBackoffDelay,
} from '../src/outbox/index.js';

const T0 = 1_700_000_000_000;
const backoff = { initialMs: 1000, maxMs: 60_000 };

function setup(random: () => number = () => 0) {
  let time = T0;
  const clock = {
    now: () => time,
    advance: (ms: number) => {
      time += ms;
    },
  };
  const adapter = createMemoryAdapter({ now: clock.now });
  const outbox = createOutbox(adapterExecutor(adapter), { now: clock.now, backoff, random, maxAttempts: 4 });
  return { clock, adapter, outbox };
}

const bytes = (...b: number[]) => new Uint8Array(b);

describe('outbox', () => {
  it('exports its tables; only the time-ordered queue is ordered', () => {
    expect(OUTBOX_TABLES).toEqual({ entries: 'c_outbox', queue: 'c_outbox_queue', sequence: 'c_outbox_seq' });
    expect(OUTBOX_ORDERED_TABLES).toEqual(['c_outbox_queue']);
  });

  it('enqueues an entry due at once and is idempotent on the id', async () => {
    const { outbox } = setup();
    const id = messageId('m1');
    expect(await outbox.enqueue({ id, to: 'bob', payload: bytes(1, 2, 3) })).toBe(true);
    expect(await outbox.enqueue({ id, to: 'carol', payload: bytes(9) })).toBe(false);
    expect(await outbox.count()).toBe(1);
    const entry = await outbox.get(id);
    expect(entry).toEqual({
      id,
      to: 'bob',
      payload: bytes(1, 2, 3),
      createdAt: T0,
      attempts: 0,
      nextAttemptAt: T0,
      state: 'pending',
    });
    expect(await outbox.due()).toEqual([entry]);
  });

  it('keeps a copy of the payload, not the caller buffer', async () => {
    const { outbox } = setup();
    const payload = bytes(1, 2);
    await outbox.enqueue({ id: messageId('m1'), to: 'bob', payload });
    payload[0] = 7;
    expect((await outbox.get(messageId('m1')))?.payload).toEqual(bytes(1, 2));
  });

  it('returns due entries oldest first, honours the limit and hides those not yet due', async () => {
    const { outbox, clock } = setup();
    const ids: MessageId[] = [];
    for (let i = 0; i < 5; i++) {
      const id = messageId(`m${i}`);
      ids.push(id);
      await outbox.enqueue({ id, to: 'bob', payload: bytes(i) });
      clock.advance(10);
    }
    expect((await outbox.due()).map((e) => e.id)).toEqual(ids);
    expect((await outbox.due(2)).map((e) => e.id)).toEqual(ids.slice(0, 2));
    // m0 fails: with jitter 0 the first delay is half of initialMs (500 ms).
    const failed = await outbox.markFailed(ids[0] as MessageId);
    expect(failed?.attempts).toBe(1);
    expect(failed?.nextAttemptAt).toBe(T0 + 50 + 500);
    expect((await outbox.due()).map((e) => e.id)).toEqual(ids.slice(1));
    clock.advance(500);
    expect((await outbox.due()).map((e) => e.id)).toEqual([...ids.slice(1), ids[0]]);
  });

  it('orders by next-attempt time, not by id or insertion (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 30 }),
        async (offsets) => {
          let time = T0;
          const adapter = createMemoryAdapter({ now: () => time });
          const outbox = createOutbox(adapterExecutor(adapter), { now: () => time });
          for (const [i, off] of offsets.entries()) {
            time = T0 + off;
            await outbox.enqueue({ id: messageId(`m${i}`), to: 'x', payload: bytes(i & 255) });
          }
          time = T0 + 2_000_000;
          const due = await outbox.due(1000);
          expect(due.length).toBe(offsets.length);
          const times = due.map((e) => e.nextAttemptAt);
          expect(times).toEqual([...times].sort((a, b) => a - b));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('backs off exponentially with jitter, capped', async () => {
    expect(outboxBackoffDelay(1, backoff, () => 0)).toBe(500);
    expect(outboxBackoffDelay(2, backoff, () => 0)).toBe(1000);
    expect(outboxBackoffDelay(3, backoff, () => 0.5)).toBe(3000);
    expect(outboxBackoffDelay(10, backoff, () => 0)).toBe(30_000);
    expect(outboxBackoffDelay(1000, backoff, () => 0.999_999)).toBeLessThanOrEqual(60_000);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (n, r) => {
          const base = Math.min(60_000, 1000 * 2 ** Math.min(n - 1, 52));
          const d = outboxBackoffDelay(n, backoff, () => r);
          expect(d).toBeGreaterThanOrEqual(base / 2);
          expect(d).toBeLessThanOrEqual(base);
        },
      ),
    );
  });

  it('reschedules on each failure and moves to failed after the maximum attempts', async () => {
    const { outbox, clock } = setup(() => 0.5);
    const id = messageId('m1');
    await outbox.enqueue({ id, to: 'bob', payload: bytes(1) });
    const expected = [750, 1500, 3000];
    for (const [i, delay] of expected.entries()) {
      const e = await outbox.markFailed(id);
      expect(e?.attempts).toBe(i + 1);
      expect(e?.state).toBe('pending');
      expect(e?.nextAttemptAt).toBe(clock.now() + delay);
      clock.advance(delay - 1);
      expect(await outbox.due()).toEqual([]);
      clock.advance(1);
      expect((await outbox.due()).map((x) => x.id)).toEqual([id]);
    }
    const last = await outbox.markFailed(id);
    expect(last?.state).toBe('failed');
    expect(last?.attempts).toBe(4);
    expect(await outbox.due()).toEqual([]);
    expect(await outbox.count()).toBe(0);
    expect(await outbox.count('failed')).toBe(1);
    expect((await outbox.failed()).map((x) => x.id)).toEqual([id]);
    // A failed entry is not failed again; it can be retried or dropped.
    expect(await outbox.markFailed(id)).toBeUndefined();
    expect(await outbox.retry(id)).toBe(true);
    expect((await outbox.due()).map((x) => [x.id, x.attempts])).toEqual([[id, 0]]);
    expect(await outbox.count('failed')).toBe(0);
  });

  it('gives up at once on a permanent failure', async () => {
    const { outbox } = setup();
    const a = messageId('a');
    const b = messageId('b');
    await outbox.enqueue({ id: a, to: 'bob', payload: bytes(1) });
    await outbox.enqueue({ id: b, to: 'bob', payload: bytes(2) });
    const e = await outbox.markFailed(a, { permanent: true });
    expect(e).toMatchObject({ id: a, state: 'failed', attempts: 1 });
    expect((await outbox.failed()).map((x) => x.id)).toEqual([a]);
    expect((await outbox.due()).map((x) => x.id)).toEqual([b]);
    expect((await outbox.get(a))?.state).toBe('failed');
    expect(await outbox.markSent(a)).toBe(true);
    expect(await outbox.get(a)).toBeUndefined();
    expect(await outbox.failed()).toEqual([]);
  });

  it('markSent deletes; unknown ids are reported, not errors', async () => {
    const { outbox } = setup();
    const id = messageId('m1');
    await outbox.enqueue({ id, to: 'bob', payload: bytes(1) });
    expect(await outbox.markSent(id)).toBe(true);
    expect(await outbox.markSent(id)).toBe(false);
    expect(await outbox.markFailed(id)).toBeUndefined();
    expect(await outbox.get(id)).toBeUndefined();
    expect(await outbox.due()).toEqual([]);
    expect(await outbox.count()).toBe(0);
  });

  it('a crash between sending and markSent leaves the entry due again (at least once)', async () => {
    const { adapter, clock } = setup();
    const first = createOutbox(adapterExecutor(adapter), { now: clock.now });
    const id = messageId('m1');
    await first.enqueue({ id, to: 'bob', payload: bytes(1) });
    const sent: MessageId[] = [];
    for (const e of await first.due()) sent.push(e.id); // "sent", then the process dies
    const restarted = createOutbox(adapterExecutor(adapter), { now: clock.now });
    const again = await restarted.due();
    expect(again.map((e) => e.id)).toEqual([id]);
    for (const e of again) {
      sent.push(e.id);
      await restarted.markSent(e.id);
    }
    expect(sent).toEqual([id, id]); // delivered twice: the receiver deduplicates by id
    expect(await restarted.due()).toEqual([]);
  });

  it('joins the caller transaction: both writes commit together, or neither', async () => {
    const { adapter, outbox, clock } = setup();
    const other = new TextEncoder().encode('k');
    await expect(
      adapter.transaction(async (tx) => {
        await tx.put('c_messages', { partition: new Uint8Array(), sort: other, value: bytes(1) });
        expect(
          await createOutbox(txExecutor(tx), { now: clock.now }).enqueue({
            id: messageId('m1'),
            to: 'bob',
            payload: bytes(1),
          }),
        ).toBe(true);
        throw new Error('crash after both writes');
      }),
    ).rejects.toThrow('crash after both writes');
    expect(await outbox.get(messageId('m1'))).toBeUndefined();
    expect(await outbox.count()).toBe(0);
    expect(await adapter.transaction((tx) => tx.get('c_messages', new Uint8Array(), other))).toBeUndefined();

    await adapter.transaction(async (tx) => {
      await tx.put('c_messages', { partition: new Uint8Array(), sort: other, value: bytes(1) });
      await createOutbox(txExecutor(tx), { now: clock.now }).enqueue({
        id: messageId('m1'),
        to: 'bob',
        payload: bytes(1),
      });
    });
    expect((await outbox.due()).map((e) => e.id)).toEqual([messageId('m1')]);
    expect(await adapter.transaction((tx) => tx.get('c_messages', new Uint8Array(), other))).toBeDefined();
  });

  it('keeps entries due at the same time in enqueue order', async () => {
    const { outbox } = setup();
    const ids = Array.from({ length: 30 }, (_, i) =>
      messageId(`m${String(i).padStart(2, '0')}_${(i * 7919) % 97}`),
    );
    for (const id of ids) await outbox.enqueue({ id, to: 'bob', payload: bytes(1) });
    expect((await outbox.due(100)).map((e) => e.id)).toEqual(ids);
  });

  it('keeps identifiers out of the ordered sort keys', async () => {
    const { adapter, outbox } = setup();
    await outbox.enqueue({ id: messageId('m_secret_id'), to: 'bob', payload: bytes(1) });
    const rows = await adapter.transaction((tx) => tx.list(OUTBOX_TABLES.queue, new Uint8Array([0x70])));
    expect(rows.length).toBe(1);
    const sort = rows[0]?.sort ?? new Uint8Array();
    expect(sort.length).toBe(24);
    expect(new TextDecoder().decode(sort)).not.toContain('m_secret_id');
    expect(Array.from(sort.subarray(0, 8))).toEqual(
      Array.from(new Uint8Array(new BigUint64Array([BigInt(T0)]).buffer)).reverse(),
    );
  });

  it('rejects bad input with ValidationError and changes nothing', async () => {
    const { outbox } = setup();
    const bad: unknown[] = [
      { id: 'not valid!', to: 'bob', payload: bytes(1) },
      { id: 'm1', to: '', payload: bytes(1) },
      { id: 'm1', to: 'x'.repeat(513), payload: bytes(1) },
      { id: 'm1', to: 'bob', payload: [1] },
      { id: 'm1', to: 'bob', payload: bytes(1), createdAt: -1 },
      null,
    ];
    for (const input of bad) {
      await expect(outbox.enqueue(input as never)).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(outbox.due(0)).rejects.toBeInstanceOf(ValidationError);
    await expect(outbox.due(1001)).rejects.toBeInstanceOf(ValidationError);
    await expect(outbox.markSent('bad id' as MessageId)).rejects.toBeInstanceOf(ValidationError);
    await expect(outbox.count('other' as never)).rejects.toBeInstanceOf(ValidationError);
    expect(() =>
      createOutbox(adapterExecutor(createMemoryAdapter()), { backoff: { initialMs: 0, maxMs: 1 } }),
    ).toThrow(ValidationError);
    expect(() =>
      createOutbox(adapterExecutor(createMemoryAdapter()), { backoff: { initialMs: 10, maxMs: 5 } }),
    ).toThrow(ValidationError);
    expect(await outbox.count()).toBe(0);
  });
});

describe('outbox under encryption at rest', () => {
  it('stays ordered with its queue among the ordered tables, and no id reaches the inner store', async () => {
    let time = T0;
    const memory = createMemoryAdapter({ now: () => time });
    const written: { table: string; partition: Uint8Array; sort: Uint8Array; value: Uint8Array }[] = [];
    const inner: StorageAdapter = {
      kind: memory.kind,
      now: memory.now,
      purgeExpired: (o) => memory.purgeExpired(o),
      close: () => memory.close(),
      transaction: (fn, o) =>
        memory.transaction(
          (tx) =>
            fn({
              now: tx.now,
              get: (t, p, k, g) => tx.get(t, p, k, g),
              put: (t, row, po) => {
                written.push({ table: t, ...row });
                return tx.put(t, row, po);
              },
              putMany: (t, rows, po) => {
                for (const row of rows) written.push({ table: t, ...row });
                return tx.putMany(t, rows, po);
              },
              claimMany: (t, claims, behind) => {
                for (const row of claims) written.push({ table: t, ...row });
                for (const row of behind.rows) written.push({ table: behind.table, ...row });
                return tx.claimMany(t, claims, behind);
              },
              getMany: (t, keys) => tx.getMany(t, keys),
              deleteMany: (t, keys) => tx.deleteMany(t, keys),
              delete: (t, p, k) => tx.delete(t, p, k),
              list: (t, p, lo) => tx.list(t, p, lo),
              take: (t, p, to) => tx.take(t, p, to),
              count: (t, p, co) => tx.count(t, p, co),
              usage: (t, p) => tx.usage(t, p),
              deletePartition: (t, p) => tx.deletePartition(t, p),
            }),
          o,
        ),
    };
    const db = createEncryptedAdapter(inner, {
      dataKey: new Uint8Array(32).fill(5),
      provider: await getProvider(),
      orderedTables: OUTBOX_ORDERED_TABLES,
    });
    const outbox = createOutbox(adapterExecutor(db), { now: () => time, backoff, random: () => 0 });
    for (const i of [3, 1, 2]) {
      time = T0 + i * 100;
      await outbox.enqueue({ id: messageId(`m_secret_${i}`), to: 'bob', payload: bytes(i) });
    }
    await outbox.markFailed(messageId('m_secret_1'));
    time = T0 + 10_000;
    expect((await outbox.due()).map((e) => e.id)).toEqual(['m_secret_2', 'm_secret_3', 'm_secret_1']);
    const queueRows = written.filter((w) => w.table === OUTBOX_TABLES.queue);
    const entryRows = written.filter((w) => w.table === OUTBOX_TABLES.entries);
    expect(queueRows.length).toBe(4);
    expect(entryRows.length).toBe(4);
    // The queue keeps the time in clear (ordered table), the rest is hashed or sealed.
    expect(Array.from(queueRows[0]?.sort.subarray(0, 8) ?? [])).toEqual(
      Array.from(new Uint8Array(new BigUint64Array([BigInt(T0 + 300)]).buffer)).reverse(),
    );
    const dump = written.flatMap((w) => [w.partition, w.sort, w.value]);
    for (const b of dump) expect(new TextDecoder().decode(b)).not.toContain('m_secret');
  });
});

describe('outbox on damaged records', () => {
  it('reports a damaged entry as DecodeError', async () => {
    const { adapter, outbox } = setup();
    await outbox.enqueue({ id: messageId('m1'), to: 'bob', payload: bytes(1) });
    await adapter.transaction((tx) =>
      tx.put(OUTBOX_TABLES.entries, {
        partition: new Uint8Array(),
        sort: new TextEncoder().encode('m1'),
        value: new TextEncoder().encode('{"v":1,"d":{"id":"m1"}}'),
      }),
    );
    await expect(outbox.get(messageId('m1'))).rejects.toBeInstanceOf(DecodeError);
    await expect(outbox.due()).rejects.toBeInstanceOf(DecodeError);
  });
});

describe('outbox on PGlite', () => {
  it('entries survive closing and reopening the database', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cloister-outbox-'));
    try {
      let time = T0;
      const now = () => time;
      let adapter: StorageAdapter = await createPGliteAdapter({ dataDir: join(dir, 'db'), now });
      let outbox = createOutbox(adapterExecutor(adapter), { now, backoff });
      await outbox.enqueue({ id: messageId('m1'), to: 'bob', payload: bytes(1, 2) });
      time += 1;
      await outbox.enqueue({ id: messageId('m2'), to: 'carol', payload: bytes(3) });
      await outbox.enqueue({ id: messageId('m3'), to: 'dave', payload: bytes(4) });
      await outbox.markFailed(messageId('m3'), { permanent: true });
      await adapter.close();

      time += 1;
      adapter = await createPGliteAdapter({ dataDir: join(dir, 'db'), now });
      outbox = createOutbox(adapterExecutor(adapter), { now, backoff });
      const due = await outbox.due();
      expect(due.map((e) => [e.id, e.to, Array.from(e.payload)])).toEqual([
        ['m1', 'bob', [1, 2]],
        ['m2', 'carol', [3]],
      ]);
      expect((await outbox.failed()).map((e) => e.id)).toEqual(['m3']);
      expect(await outbox.markSent(messageId('m1'))).toBe(true);
      expect(await outbox.count()).toBe(1);
      await adapter.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
