import { type CloisterError, padmeLength, utf8 } from '@cloister/crypto';
import { type MessageId, mailboxId, messageId } from '@cloister/protocol';
import type { StorageAdapter } from '@cloister/storage';
import { createMemoryAdapter, encodeRecord } from '@cloister/storage';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { createServerStores, SERVER_TABLES, type ServerStores } from '../src/store/index.js';

async function rejectsWith(promise: Promise<unknown>, code: string, field?: string): Promise<void> {
  let error: unknown;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error, `expected ${code}`).toBeDefined();
  expect((error as CloisterError).code).toBe(code);
  if (field !== undefined) expect((error as { field?: string }).field).toBe(field);
}

const box = mailboxId('mbx_alice_1');
const otherBox = mailboxId('mbx_bob_1');
const DAY = 86_400_000;
const env = (n: number) => new Uint8Array(64).fill(n % 256);
const mid = (n: number) => messageId(`m${String(n).padStart(4, '0')}`);

let time: number;
let db: StorageAdapter;
let stores: ServerStores;

beforeEach(() => {
  time = 1_700_000_000_000;
  db = createMemoryAdapter({ now: () => time });
  stores = createServerStores(db);
});

async function drain(): Promise<MessageId[]> {
  const out: MessageId[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await stores.mailboxes.list(box, { limit: 3, ...(after === undefined ? {} : { after }) });
    out.push(...page.items.map((e) => e.messageId));
    if (page.next === undefined) return out;
    after = page.next;
  }
}

describe('mailboxes', () => {
  it('queues in arrival order and pages with a cursor', async () => {
    for (let i = 0; i < 10; i++) {
      time += 1;
      expect(
        await stores.mailboxes.enqueue(box, {
          messageId: mid(9 - i),
          envelope: env(i),
          expiresAt: time + DAY,
        }),
      ).toBe(true);
    }
    expect(await drain()).toEqual(Array.from({ length: 10 }, (_, i) => mid(9 - i)));
    const first = await stores.mailboxes.list(box, { limit: 1 });
    expect(first.items[0]?.envelope).toEqual(env(0));
    expect(first.items[0]?.arrivedAt).toBe(1_700_000_000_001);
    expect(await stores.mailboxes.count(box)).toBe(10);
    expect(await stores.mailboxes.count(otherBox)).toBe(0);
  });

  it('is idempotent on the message id, also after an ack', async () => {
    const input = { messageId: mid(1), envelope: env(1), expiresAt: time + DAY };
    expect(await stores.mailboxes.enqueue(box, input)).toBe(true);
    expect(await stores.mailboxes.enqueue(box, { ...input, envelope: env(2) })).toBe(false);
    expect(await stores.mailboxes.count(box)).toBe(1);
    expect((await stores.mailboxes.list(box)).items[0]?.envelope).toEqual(env(1));
    // Another mailbox has its own ids.
    expect(await stores.mailboxes.enqueue(otherBox, input)).toBe(true);
    expect(await stores.mailboxes.ack(box, [mid(1), mid(1), mid(7)])).toBe(1);
    expect(await stores.mailboxes.ack(box, [mid(1)])).toBe(0);
    expect(await stores.mailboxes.enqueue(box, input)).toBe(false);
    expect(await stores.mailboxes.count(box)).toBe(0);
    expect(await stores.mailboxes.count(otherBox)).toBe(1);
  });

  it('acknowledges a subset and keeps the rest in order', async () => {
    for (let i = 0; i < 6; i++) {
      time += 10;
      await stores.mailboxes.enqueue(box, { messageId: mid(i), envelope: env(i), expiresAt: time + DAY });
    }
    expect(await stores.mailboxes.ack(box, [mid(0), mid(2), mid(4)])).toBe(3);
    expect(await drain()).toEqual([mid(1), mid(3), mid(5)]);
  });

  it('lets expired envelopes vanish and the purge remove them', async () => {
    await stores.mailboxes.enqueue(box, { messageId: mid(1), envelope: env(1), expiresAt: time + 1000 });
    await stores.mailboxes.enqueue(box, { messageId: mid(2), envelope: env(2), expiresAt: time + 5000 });
    time += 1000;
    expect(await drain()).toEqual([mid(2)]);
    expect(await stores.mailboxes.count(box)).toBe(1);
    expect(await stores.mailboxes.ack(box, [mid(1)])).toBe(0);
    // Once expired, the id may be queued again.
    expect(
      await stores.mailboxes.enqueue(box, { messageId: mid(1), envelope: env(3), expiresAt: time + 1000 }),
    ).toBe(true);
    time += 10_000;
    expect(await stores.mailboxes.count(box)).toBe(0);
    const purged = await db.purgeExpired({ tables: [SERVER_TABLES.mailbox, SERVER_TABLES.mailboxIds] });
    // Three envelopes and two id rows (the second enqueue of m0001 replaced the expired id row).
    expect(purged.deleted).toBe(5);
  });

  it('keeps sender data out of the sort key', async () => {
    await stores.mailboxes.enqueue(box, { messageId: mid(1), envelope: env(1), expiresAt: time + DAY });
    const [row] = await db.transaction((tx) => tx.list(SERVER_TABLES.mailbox, utf8(box)));
    expect(row?.sort).toHaveLength(16);
    expect(row?.sort.subarray(0, 8)).toEqual(new Uint8Array([0, 0, 1, 0x8b, 0xcf, 0xe5, 0x68, 0x00]));
  });

  it('refuses bad input and changes nothing', async () => {
    await rejectsWith(
      stores.mailboxes.enqueue(box, { messageId: mid(1), envelope: env(1), expiresAt: time }),
      'ERR_VALIDATION',
      'expiresAt',
    );
    await rejectsWith(
      stores.mailboxes.enqueue(box, { messageId: mid(1), envelope: new Uint8Array(0), expiresAt: time + 1 }),
      'ERR_VALIDATION',
      'envelope',
    );
    await rejectsWith(
      stores.mailboxes.enqueue(box, { messageId: 'a b' as MessageId, envelope: env(1), expiresAt: time + 1 }),
      'ERR_VALIDATION',
      'messageId',
    );
    await rejectsWith(stores.mailboxes.list(box, { after: 'zz' }), 'ERR_VALIDATION', 'after');
    await rejectsWith(stores.mailboxes.list(box, { after: '00' }), 'ERR_VALIDATION', 'after');
    await rejectsWith(stores.mailboxes.list(box, { limit: 0 }), 'ERR_VALIDATION', 'limit');
    await rejectsWith(
      stores.mailboxes.ack(box, ['ok', 'not ok'] as MessageId[]),
      'ERR_VALIDATION',
      'messageIds[1]',
    );
    expect(await stores.mailboxes.count(box)).toBe(0);
  });

  it('property: any interleaving of enqueues and acks leaves the unacknowledged ids in arrival order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 2 })), {
          maxLength: 40,
        }),
        async (ops) => {
          time = 1_700_000_000_000;
          db = createMemoryAdapter({ now: () => time });
          stores = createServerStores(db);
          const model: MessageId[] = [];
          const seen = new Set<MessageId>();
          for (const [isAck, n, dt] of ops) {
            time += dt;
            const id = mid(n);
            if (isAck) {
              const had = model.includes(id);
              expect(await stores.mailboxes.ack(box, [id])).toBe(had ? 1 : 0);
              if (had) model.splice(model.indexOf(id), 1);
            } else {
              const added = await stores.mailboxes.enqueue(box, {
                messageId: id,
                envelope: env(n),
                expiresAt: time + DAY,
              });
              expect(added).toBe(!seen.has(id));
              if (added) {
                seen.add(id);
                model.push(id);
              }
            }
          }
          const listed = await drain();
          // Same-millisecond arrivals are ordered by the random tie-breaker; compare per time.
          expect([...listed].sort()).toEqual([...model].sort());
          const items = (await stores.mailboxes.list(box, { limit: 1000 })).items;
          for (let i = 1; i < items.length; i++) {
            expect((items[i]?.arrivedAt ?? 0) >= (items[i - 1]?.arrivedAt ?? 0)).toBe(true);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('clears a mailbox', async () => {
    await stores.mailboxes.enqueue(box, { messageId: mid(1), envelope: env(1), expiresAt: time + DAY });
    expect(await stores.mailboxes.clear(box)).toBe(2);
    expect(await stores.mailboxes.count(box)).toBe(0);
    expect(
      await stores.mailboxes.enqueue(box, { messageId: mid(1), envelope: env(1), expiresAt: time + DAY }),
    ).toBe(true);
  });
});

describe('mailboxes: many at once', () => {
  it('queues items of several mailboxes in one call, with duplicates told apart', async () => {
    await stores.mailboxes.enqueue(box, { messageId: mid(1), envelope: env(1), expiresAt: time + DAY });
    const outcomes = await stores.mailboxes.enqueueMany([
      { mailbox: box, messageId: mid(1), envelope: env(9), expiresAt: time + DAY }, // queued before
      { mailbox: box, messageId: mid(2), envelope: env(2), expiresAt: time + DAY },
      { mailbox: otherBox, messageId: mid(2), envelope: env(3), expiresAt: time + DAY },
      { mailbox: box, messageId: mid(2), envelope: env(4), expiresAt: time + DAY }, // same call
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['duplicate', 'queued', 'queued', 'duplicate']);
    const listed = (await stores.mailboxes.list(box)).items;
    expect(listed.map((e) => e.messageId)).toEqual([mid(1), mid(2)]);
    expect(listed[1]?.envelope).toEqual(env(2));
    expect(outcomes[1]?.status === 'queued' && outcomes[1].cursor).toBe(listed[1]?.cursor);
    expect((await stores.mailboxes.list(otherBox)).items.map((e) => e.envelope)).toEqual([env(3)]);
    expect(await stores.mailboxes.enqueueMany([])).toEqual([]);
  });

  it('checks every item before writing any', async () => {
    await rejectsWith(
      stores.mailboxes.enqueueMany([
        { mailbox: box, messageId: mid(1), envelope: env(1), expiresAt: time + DAY },
        { mailbox: box, messageId: mid(2), envelope: new Uint8Array(0), expiresAt: time + DAY },
      ]),
      'ERR_VALIDATION',
      'items[1].envelope',
    );
    await rejectsWith(
      stores.mailboxes.enqueueMany([
        { mailbox: box, messageId: mid(1), envelope: env(1), expiresAt: time + DAY },
        { mailbox: box, messageId: mid(2), envelope: env(2), expiresAt: time },
      ]),
      'ERR_VALIDATION',
      'items[1].expiresAt',
    );
    expect(await stores.mailboxes.count(box)).toBe(0);
  });

  it('acknowledges by position across mailboxes, without a read, and keeps the duplicate check', async () => {
    const [a, b, c] = await stores.mailboxes.enqueueMany([
      { mailbox: box, messageId: mid(1), envelope: env(1), expiresAt: time + DAY },
      { mailbox: box, messageId: mid(2), envelope: env(2), expiresAt: time + DAY },
      { mailbox: otherBox, messageId: mid(3), envelope: env(3), expiresAt: time + DAY },
    ]);
    const cursor = (o: typeof a) => (o?.status === 'queued' ? o.cursor : '');
    expect(
      await stores.mailboxes.ackQueued([
        { mailbox: box, cursor: cursor(a) },
        { mailbox: otherBox, cursor: cursor(c) },
        { mailbox: otherBox, cursor: cursor(a) }, // not a position of that mailbox
        { mailbox: box, cursor: cursor(a) }, // twice
      ]),
    ).toBe(2);
    expect((await stores.mailboxes.list(box)).items.map((e) => e.messageId)).toEqual([mid(2)]);
    expect(await stores.mailboxes.count(otherBox)).toBe(0);
    // The id rows stay: a retried submission of an acknowledged message is still a duplicate.
    expect(
      await stores.mailboxes.enqueue(box, { messageId: mid(1), envelope: env(1), expiresAt: time + DAY }),
    ).toBe(false);
    // Acknowledging by id what was acknowledged by position deletes nothing more.
    expect(await stores.mailboxes.ack(box, [mid(1), mid(2)])).toBe(1);
    expect(cursor(b)).toMatch(/^[0-9a-f]{32}$/);
    await rejectsWith(
      stores.mailboxes.ackQueued([{ mailbox: box, cursor: 'zz' }]),
      'ERR_VALIDATION',
      'positions[0].cursor',
    );
  });

  it('a copy of the database shows the arrival second only, and sizes only to their bucket', async () => {
    // Two envelopes of one submission, queued in the same millisecond for two mailboxes, and a
    // third queued later in the same second.
    time = 1_700_000_000_437;
    await stores.mailboxes.enqueueMany([
      { mailbox: box, messageId: mid(1), envelope: new Uint8Array(1000).fill(1), expiresAt: time + DAY },
      { mailbox: otherBox, messageId: mid(1), envelope: new Uint8Array(980).fill(2), expiresAt: time + DAY },
    ]);
    time += 300;
    await stores.mailboxes.enqueue(box, {
      messageId: mid(2),
      envelope: new Uint8Array(990).fill(3),
      expiresAt: time + DAY,
    });
    const rows = await db.transaction(async (tx) => [
      ...(await tx.list(SERVER_TABLES.mailbox, utf8(box))),
      ...(await tx.list(SERVER_TABLES.mailbox, utf8(otherBox))),
    ]);
    expect(rows).toHaveLength(3);
    const second = new DataView(new Uint8Array(8).buffer);
    second.setBigUint64(0, 1_700_000_000_000n);
    for (const row of rows) expect(row.sort.subarray(0, 8)).toEqual(new Uint8Array(second.buffer));
    const lengths = new Set(rows.map((r) => r.value.length));
    expect(lengths.size).toBe(1); // 980, 990 and 1000 bytes of envelope fill one Padmé bucket
    expect(rows.every((r) => r.value.length === padmeLength(r.value.length))).toBe(true);
    // Listing still gives the envelopes, in arrival order, with their exact arrival times.
    const listed = (await stores.mailboxes.list(box)).items;
    expect(listed.map((e) => [e.messageId, e.arrivedAt, e.envelope.length])).toEqual([
      [mid(1), 1_700_000_000_437, 1000],
      [mid(2), 1_700_000_000_737, 990],
    ]);
  });

  it('still reads records of the earlier JSON form, and refuses a damaged binary record', async () => {
    const sort = new Uint8Array(16).fill(7);
    await db.transaction(async (tx) => {
      await tx.put(SERVER_TABLES.mailbox, {
        partition: utf8(box),
        sort,
        value: encodeRecord(1, { messageId: mid(5), envelope: env(5), arrivedAt: 5 }),
        expiresAt: time + DAY,
      });
    });
    expect((await stores.mailboxes.list(box)).items.map((e) => [e.messageId, e.arrivedAt])).toEqual([
      [mid(5), 5],
    ]);
    await stores.mailboxes.enqueue(otherBox, { messageId: mid(6), envelope: env(6), expiresAt: time + DAY });
    await db.transaction(async (tx) => {
      const [row] = await tx.list(SERVER_TABLES.mailbox, utf8(otherBox));
      if (row === undefined) throw new Error('no row');
      const value = row.value.slice();
      value[value.length - 1] = 1; // padding must be zeros
      await tx.put(SERVER_TABLES.mailbox, { ...row, value });
    });
    await rejectsWith(stores.mailboxes.list(otherBox), 'ERR_DECODE');
  });
});
