import { type CloisterError, utf8 } from '@cloister/crypto';
import { type MessageId, mailboxId, messageId } from '@cloister/protocol';
import type { StorageAdapter } from '@cloister/storage';
import { createMemoryAdapter } from '@cloister/storage';
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
