/**
 * Mailboxes: one queue of sealed envelopes per device mailbox, in arrival order, delivered at
 * least once and deleted on acknowledgement. The sort key of a queued envelope is its arrival
 * time (8 bytes, big-endian ms) followed by 8 random bytes: it holds nothing about the sender.
 * An index row per message id makes `enqueue` idempotent and `ack` a point lookup; after an ack
 * the index row stays as a tombstone until the envelope's expiry, so a retried submission of an
 * acknowledged message is still recognised as a duplicate.
 *
 * @module
 */
import {
  type CryptoProvider,
  concatBytes,
  ENVELOPE_MAX_BYTES,
  fromHex,
  toHex,
  ValidationError,
} from '@cloister/crypto';
import { type MailboxId, type MessageId, mailboxId, messageId } from '@cloister/protocol';
import type { Executor } from '@cloister/storage';
import {
  checkArray,
  checkBytesIn,
  checkId,
  checkObject,
  checkPage,
  checkTime,
  key,
  read,
  T,
  u64,
  write,
} from './_util.js';
import type { ServerPage, ServerPageOptions } from './common.js';

/**
 * Largest envelope a mailbox accepts: `ENVELOPE_MAX_BYTES` of `@cloister/crypto`.
 *
 * @example
 * ```ts
 * if (envelope.length > MAX_MAILBOX_ENVELOPE_BYTES) reply.code(413);
 * ```
 */
export const MAX_MAILBOX_ENVELOPE_BYTES = ENVELOPE_MAX_BYTES;
/**
 * Most message ids one `ack` call takes.
 *
 * @example
 * ```ts
 * for (let i = 0; i < ids.length; i += MAX_ACK_IDS) await stores.mailboxes.ack(mailbox, ids.slice(i, i + MAX_ACK_IDS));
 * ```
 */
export const MAX_ACK_IDS = 1000;

/**
 * An envelope to queue.
 *
 * @example
 * ```ts
 * const input: EnqueueInput = { messageId: messageId('m_0001'), envelope, expiresAt: Date.now() + 30 * 86_400_000 };
 * ```
 */
export interface EnqueueInput {
  /** The message id; a second enqueue of the same id into the same mailbox is a no-op. */
  readonly messageId: MessageId;
  /** The sealed envelope, opaque to the server. */
  readonly envelope: Uint8Array;
  /** When the envelope vanishes if not acknowledged, ms since the epoch (after now). */
  readonly expiresAt: number;
}

/**
 * A queued envelope.
 *
 * @example
 * ```ts
 * const { items }: { items: QueuedEnvelope[] } = await stores.mailboxes.list(mailbox);
 * ```
 */
export interface QueuedEnvelope {
  readonly messageId: MessageId;
  readonly envelope: Uint8Array;
  /** Arrival time, ms since the epoch (the store's clock). */
  readonly arrivedAt: number;
  readonly expiresAt: number;
  /** Position in the queue: pass as `after` to continue behind this envelope. */
  readonly cursor: string;
}

/**
 * The per-device queues of sealed envelopes.
 *
 * @example
 * ```ts
 * await stores.mailboxes.enqueue(mailbox, { messageId: id, envelope, expiresAt: Date.now() + 30 * 86_400_000 });
 * const { items } = await stores.mailboxes.list(mailbox, { limit: 50 });
 * await stores.mailboxes.ack(mailbox, items.map((e) => e.messageId));
 * ```
 */
export interface MailboxStore {
  /** Queues an envelope; resolves `false` (and changes nothing) when the id was seen before. */
  enqueue(mailbox: MailboxId, input: EnqueueInput): Promise<boolean>;
  /** Pending envelopes in arrival order, from the start or after a cursor. */
  list(mailbox: MailboxId, options?: ServerPageOptions): Promise<ServerPage<QueuedEnvelope>>;
  /** Deletes acknowledged envelopes; resolves how many were pending. Unknown ids are ignored. */
  ack(mailbox: MailboxId, messageIds: readonly MessageId[]): Promise<number>;
  /** Number of pending envelopes. */
  count(mailbox: MailboxId): Promise<number>;
  /** Deletes the whole mailbox (queue and id index); resolves how many rows were deleted. */
  clear(mailbox: MailboxId): Promise<number>;
}

const enc = new TextEncoder();
const SORT_BYTES = 16;

function checkCursor(after: string | undefined): Uint8Array | undefined {
  if (after === undefined) return undefined;
  const bytes = fromHex(after, 'after');
  if (bytes.length !== SORT_BYTES) throw new ValidationError('after', 'a mailbox cursor');
  return bytes;
}

/**
 * Creates the mailbox store over `run`; `provider` supplies the random tie-breakers.
 *
 * @example
 * ```ts
 * const mailboxes = createMailboxStore(adapterExecutor(adapter), provider);
 * ```
 */
export function createMailboxStore(run: Executor, provider: CryptoProvider): MailboxStore {
  return {
    async enqueue(mailbox, input) {
      const m = key(checkId(mailbox, 'mailbox', mailboxId));
      const i = checkObject(input, 'input');
      const id = checkId(i.messageId, 'messageId', messageId);
      const envelope = checkBytesIn(i.envelope, 'envelope', 1, MAX_MAILBOX_ENVELOPE_BYTES);
      const expiresAt = checkTime(i.expiresAt, 'expiresAt');
      return run(async (tx) => {
        if (expiresAt <= tx.now) throw new ValidationError('expiresAt', 'a time after now');
        const sort = concatBytes(u64(tx.now), provider.randomBytes(8));
        const claimed = await tx.put(
          T.mailboxIds,
          { partition: m, sort: enc.encode(id), value: write({ sort }), expiresAt },
          { ifAbsent: true },
        );
        if (!claimed) return false;
        await tx.put(T.mailbox, {
          partition: m,
          sort,
          value: write({ messageId: id, envelope, arrivedAt: tx.now }),
          expiresAt,
        });
        return true;
      });
    },

    async list(mailbox, options) {
      const m = key(checkId(mailbox, 'mailbox', mailboxId));
      const { after, limit } = checkPage(options);
      const afterSort = checkCursor(after);
      return run(
        async (tx) => {
          const rows = await tx.list(T.mailbox, m, {
            limit,
            ...(afterSort === undefined ? {} : { after: afterSort }),
          });
          const items = rows.map((row): QueuedEnvelope => {
            const r = read(row.value, T.mailbox);
            return {
              messageId: r.id('messageId', messageId),
              envelope: r.bytes('envelope', 1, MAX_MAILBOX_ENVELOPE_BYTES),
              arrivedAt: r.int('arrivedAt'),
              expiresAt: row.expiresAt ?? Number.MAX_SAFE_INTEGER,
              cursor: toHex(row.sort),
            };
          });
          const last = items[items.length - 1];
          return rows.length === limit && last !== undefined ? { items, next: last.cursor } : { items };
        },
        { readOnly: true },
      );
    },

    async ack(mailbox, messageIds) {
      const m = key(checkId(mailbox, 'mailbox', mailboxId));
      const ids = checkArray(messageIds, 'messageIds', MAX_ACK_IDS).map((v, i) =>
        checkId(v, `messageIds[${i}]`, messageId),
      );
      return run(async (tx) => {
        let deleted = 0;
        for (const id of new Set(ids)) {
          const idKey = enc.encode(id);
          const row = await tx.get(T.mailboxIds, m, idKey, { forUpdate: true });
          if (row === undefined) continue;
          const r = read(row.value, T.mailboxIds);
          if (!r.has('sort')) continue; // already acknowledged
          if (await tx.delete(T.mailbox, m, r.bytes('sort', SORT_BYTES, SORT_BYTES))) deleted++;
          await tx.put(T.mailboxIds, {
            partition: m,
            sort: idKey,
            value: write({ acked: true }),
            expiresAt: row.expiresAt,
          });
        }
        return deleted;
      });
    },

    async count(mailbox) {
      const m = key(checkId(mailbox, 'mailbox', mailboxId));
      return run((tx) => tx.count(T.mailbox, m), { readOnly: true });
    },

    async clear(mailbox) {
      const m = key(checkId(mailbox, 'mailbox', mailboxId));
      return run(
        async (tx) => (await tx.deletePartition(T.mailbox, m)) + (await tx.deletePartition(T.mailboxIds, m)),
      );
    },
  };
}
