/**
 * Mailboxes: one queue of sealed envelopes per device mailbox, delivered at least once and deleted
 * on acknowledgement (`spec/server-delivery.md`, `spec/storage-server.md`).
 *
 * The sort key of a queued envelope is 16 bytes: the arrival time **floored to the second**
 * (u64, big-endian ms), a u16 counter of the envelopes this instance queued for this mailbox in that
 * second, and 6 random bytes. So a mailbox lists in arrival order, while a copy of the database
 * shows each envelope's arrival second only: the envelopes of one submission (a message and the
 * sender's own copies) do not share an exact time. The exact arrival time is inside the sealed
 * value. An index row per message id (its sort key hashed by encryption at rest) makes `enqueue`
 * idempotent and `ack` by id a point lookup; it stays until the envelope's expiry, so a retried
 * submission of an acknowledged message is still recognised as a duplicate.
 *
 * Queued values are binary records (`MAILBOX_RECORD_VERSION`) padded to the Padmé bucket of their
 * length, so a stored size says no more than the envelope's bucket; records of the earlier JSON
 * form are still read.
 *
 * @module
 */
import {
  type CryptoProvider,
  DecodeError,
  ENVELOPE_MAX_BYTES,
  fromHex,
  padmeLength,
  toHex,
  ValidationError,
} from '@cloister/crypto';
import { type MailboxId, type MessageId, mailboxId, messageId } from '@cloister/protocol';
import { type Executor, MAX_BATCH_ROWS, type RowInput, type RowKey, type StorageTx } from '@cloister/storage';
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
} from './_util.js';
import type { ServerPage, ServerPageOptions } from './common.js';

/**
 * Largest envelope a mailbox accepts: `ENVELOPE_MAX_BYTES` of `@cloister/crypto`.
 *
 * @example
 * ```ts
 * if (envelope.length > MAX_MAILBOX_ENVELOPE_BYTES) reply.code(413); // too large to queue
 * ```
 */
export const MAX_MAILBOX_ENVELOPE_BYTES = ENVELOPE_MAX_BYTES;
/**
 * Most message ids one `ack` call takes.
 *
 * @example
 * ```ts
 * const { items } = await stores.mailboxes.list(mailbox, { limit: 1000 });
 * const ids = items.map((e) => e.messageId);
 * for (let i = 0; i < ids.length; i += MAX_ACK_IDS) await stores.mailboxes.ack(mailbox, ids.slice(i, i + MAX_ACK_IDS));
 * ```
 */
export const MAX_ACK_IDS = 1000;
/**
 * Most envelopes one `enqueueMany` call queues, and most positions one `ackQueued` call takes
 * (the engine's `MAX_BATCH_ROWS`).
 *
 * @example
 * ```ts
 * import { messageId } from '@cloister/protocol';
 *
 * const expiresAt = Date.now() + 86_400_000;
 * const items: MailboxEnqueue[] = [{ mailbox, messageId: messageId('m_0001'), envelope, expiresAt }];
 * for (let i = 0; i < items.length; i += MAX_MAILBOX_BATCH) await stores.mailboxes.enqueueMany(items.slice(i, i + MAX_MAILBOX_BATCH));
 * ```
 */
export const MAX_MAILBOX_BATCH = MAX_BATCH_ROWS;
/**
 * Format byte of a queued envelope's stored record:
 * `u8(2) | u8(len(id)) | id (ASCII) | u64(arrivedAt ms) | u32(len(envelope)) | envelope | zeros`,
 * zero-padded to `padmeLength` of its unpadded length.
 *
 * @example
 * ```ts
 * console.log(MAILBOX_RECORD_VERSION); // 2
 * ```
 */
export const MAILBOX_RECORD_VERSION = 2;

/**
 * An envelope to queue.
 *
 * @example
 * ```ts
 * import { messageId } from '@cloister/protocol';
 *
 * const input: EnqueueInput = { messageId: messageId('m_0001'), envelope, expiresAt: Date.now() + 30 * 86_400_000 };
 * const queued = await stores.mailboxes.enqueue(mailbox, input); // false: the id was queued before
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
 * An envelope to queue into `mailbox`, one item of {@link MailboxStore.enqueueMany}.
 *
 * @example
 * ```ts
 * import { messageId } from '@cloister/protocol';
 *
 * const item: MailboxEnqueue = { mailbox, messageId: messageId('m_0001'), envelope, expiresAt: Date.now() + 86_400_000 };
 * const [outcome] = await stores.mailboxes.enqueueMany([item]);
 * ```
 */
export interface MailboxEnqueue extends EnqueueInput {
  /** The mailbox to queue the envelope into. */
  readonly mailbox: MailboxId;
}

/**
 * What {@link MailboxStore.enqueueMany} did with one item: queued it (with its position in the
 * queue and its arrival time), or found its message id already in the mailbox.
 *
 * @example
 * ```ts
 * import { messageId } from '@cloister/protocol';
 *
 * const item: MailboxEnqueue = { mailbox, messageId: messageId('m_0001'), envelope, expiresAt: Date.now() + 86_400_000 };
 * const [outcome]: EnqueueOutcome[] = await stores.mailboxes.enqueueMany([item]);
 * if (outcome?.status === 'queued') console.log(outcome.cursor, outcome.arrivedAt);
 * ```
 */
export type EnqueueOutcome =
  | { readonly status: 'queued'; readonly cursor: string; readonly arrivedAt: number }
  | { readonly status: 'duplicate' };

/**
 * The position of one queued envelope, as {@link MailboxStore.ackQueued} takes it.
 *
 * @example
 * ```ts
 * const { items } = await stores.mailboxes.list(mailbox, { limit: 10 });
 * const positions: QueuedPosition[] = items.map((e) => ({ mailbox, cursor: e.cursor }));
 * const deleted = await stores.mailboxes.ackQueued(positions);
 * ```
 */
export interface QueuedPosition {
  /** The mailbox the envelope is queued in. */
  readonly mailbox: MailboxId;
  /** The envelope's `cursor` (32 hex digits). */
  readonly cursor: string;
}

/**
 * What a mailbox holds ({@link MailboxStore.usage}).
 *
 * @example
 * ```ts
 * const { envelopes, bytes }: MailboxUsage = await stores.mailboxes.usage(mailbox);
 * ```
 */
export interface MailboxUsage {
  /** Pending envelopes. */
  readonly envelopes: number;
  /** Bytes their stored records take. */
  readonly bytes: number;
}

/**
 * A queued envelope.
 *
 * @example
 * ```ts
 * const { items } = await stores.mailboxes.list(mailbox);
 * const first: QueuedEnvelope | undefined = items[0];
 * if (first !== undefined) console.log(first.messageId, first.envelope.length, new Date(first.arrivedAt));
 * ```
 */
export interface QueuedEnvelope {
  /** The message id the envelope was queued under. */
  readonly messageId: MessageId;
  /** The sealed envelope, as queued. */
  readonly envelope: Uint8Array;
  /** Arrival time, ms since the epoch (the store's clock). */
  readonly arrivedAt: number;
  /** When the envelope vanishes if not acknowledged, ms since the epoch. */
  readonly expiresAt: number;
  /** Position in the queue: pass as `after` to continue behind this envelope. */
  readonly cursor: string;
}

/**
 * The per-device queues of sealed envelopes.
 *
 * @example
 * ```ts
 * import { messageId } from '@cloister/protocol';
 *
 * await stores.mailboxes.enqueue(mailbox, { messageId: messageId('m_0001'), envelope, expiresAt: Date.now() + 30 * 86_400_000 });
 * const { items } = await stores.mailboxes.list(mailbox, { limit: 50 });
 * await stores.mailboxes.ack(mailbox, items.map((e) => e.messageId));
 * ```
 */
export interface MailboxStore {
  /**
   * Queues an envelope; resolves `false` (and changes nothing) when the id was seen before.
   *
   * @example
   * ```ts
   * import { messageId } from '@cloister/protocol';
   *
   * const queued = await stores.mailboxes.enqueue(mailbox, { messageId: messageId('m_0001'), envelope, expiresAt: Date.now() + 86_400_000 });
   * ```
   */
  enqueue(mailbox: MailboxId, input: EnqueueInput): Promise<boolean>;
  /**
   * Queues envelopes into any mailboxes with two engine statements (claim the ids, write the
   * envelopes), whatever their number (at most {@link MAX_MAILBOX_BATCH}); one outcome per item,
   * in order. An item whose mailbox and message id an earlier item of the same call holds is a
   * duplicate. Every item is checked before anything is written.
   *
   * @example
   * ```ts
   * import { messageId } from '@cloister/protocol';
   *
   * const expiresAt = Date.now() + 30 * 86_400_000;
   * const devices = await stores.devices.list(tenant, user);
   * const outcomes = await stores.mailboxes.enqueueMany(
   *   devices.map((d) => ({ mailbox: d.mailbox, messageId: messageId('m_0001'), envelope, expiresAt })),
   * ); // one { status: 'queued', cursor, arrivedAt } or { status: 'duplicate' } per device
   * ```
   */
  enqueueMany(items: readonly MailboxEnqueue[]): Promise<EnqueueOutcome[]>;
  /**
   * Pending envelopes in arrival order, from the start or after a cursor.
   *
   * @example
   * ```ts
   * const first = await stores.mailboxes.list(mailbox, { limit: 50 });
   * const last = first.items[first.items.length - 1];
   * const more = last === undefined ? undefined : await stores.mailboxes.list(mailbox, { after: last.cursor, limit: 50 });
   * ```
   */
  list(mailbox: MailboxId, options?: ServerPageOptions): Promise<ServerPage<QueuedEnvelope>>;
  /**
   * Deletes acknowledged envelopes; resolves how many were pending. Unknown ids are ignored.
   *
   * @example
   * ```ts
   * const { items } = await stores.mailboxes.list(mailbox, { limit: 50 });
   * const deleted = await stores.mailboxes.ack(mailbox, items.map((e) => e.messageId));
   * ```
   */
  ack(mailbox: MailboxId, messageIds: readonly MessageId[]): Promise<number>;
  /**
   * Deletes envelopes by their positions (of any mailboxes) in one engine statement, with no read
   * first: what a delivery socket acknowledges, since it knows the position of every envelope it
   * pushed. Resolves how many were pending. Unknown positions are ignored.
   *
   * @example
   * ```ts
   * const { items } = await stores.mailboxes.list(mailbox, { limit: 10 });
   * // … pushed to the device, which acknowledged them all:
   * const deleted = await stores.mailboxes.ackQueued(items.map((e) => ({ mailbox, cursor: e.cursor })));
   * ```
   */
  ackQueued(positions: readonly QueuedPosition[]): Promise<number>;
  /**
   * Number of pending envelopes.
   *
   * @example
   * ```ts
   * const pending = await stores.mailboxes.count(mailbox); // → 3
   * ```
   */
  count(mailbox: MailboxId): Promise<number>;
  /**
   * Pending envelopes and the bytes they take in storage (their stored records, as the adapter
   * stores them: padded, and sealed under encryption at rest): what the mailbox quotas count.
   *
   * @example
   * ```ts
   * const { envelopes, bytes: stored } = await stores.mailboxes.usage(mailbox);
   * ```
   */
  usage(mailbox: MailboxId): Promise<MailboxUsage>;
  /**
   * Deletes the whole mailbox (queue and id index); resolves how many rows were deleted.
   *
   * @example
   * ```ts
   * const rows = await stores.mailboxes.clear(mailbox); // queued envelopes and their id index rows
   * ```
   */
  clear(mailbox: MailboxId): Promise<number>;
}

const enc = new TextEncoder();
const ascii = new TextDecoder('utf-8', { fatal: true });
const SORT_BYTES = 16;
const JSON_RECORD = 0x7b; // '{': a record of the earlier JSON form
const ID_RECORD_VERSION = 2;

function checkCursor(after: string | undefined, field = 'after'): Uint8Array | undefined {
  if (after === undefined) return undefined;
  const bytes = fromHex(after, field);
  if (bytes.length !== SORT_BYTES) throw new ValidationError(field, 'a mailbox cursor');
  return bytes;
}

/**
 * The length of the record a queued envelope is stored as (before encryption at rest adds its own
 * overhead): the record for `id` and an envelope of `envelopeLength` bytes, padded to its bucket.
 *
 * @example
 * ```ts
 * import { messageId } from '@cloister/protocol';
 *
 * const size = queuedRecordBytes(messageId('m_0001'), envelope.length); // padded record length in bytes
 * ```
 */
export function queuedRecordBytes(id: MessageId, envelopeLength: number): number {
  return padmeLength(1 + 1 + enc.encode(id).length + 8 + 4 + envelopeLength);
}

/** The stored record of a queued envelope, padded to the Padmé bucket of its length. */
function encodeQueued(id: MessageId, envelope: Uint8Array, arrivedAt: number): Uint8Array {
  const idBytes = enc.encode(id);
  const out = new Uint8Array(queuedRecordBytes(id, envelope.length));
  const view = new DataView(out.buffer);
  out[0] = MAILBOX_RECORD_VERSION;
  out[1] = idBytes.length;
  out.set(idBytes, 2);
  const at = 2 + idBytes.length;
  view.setBigUint64(at, BigInt(arrivedAt));
  view.setUint32(at + 8, envelope.length);
  out.set(envelope, at + 12);
  return out;
}

function decodeQueued(bytes: Uint8Array): { messageId: MessageId; envelope: Uint8Array; arrivedAt: number } {
  if (bytes[0] === JSON_RECORD) {
    const r = read(bytes, T.mailbox);
    return {
      messageId: r.id('messageId', messageId),
      envelope: r.bytes('envelope', 1, MAX_MAILBOX_ENVELOPE_BYTES),
      arrivedAt: r.int('arrivedAt'),
    };
  }
  const fail = (why: string): never => {
    throw new DecodeError(T.mailbox, why);
  };
  if (bytes[0] !== MAILBOX_RECORD_VERSION || bytes.length < 2) fail('unknown record version');
  const idLength = bytes[1] as number;
  const at = 2 + idLength;
  if (idLength === 0 || at + 12 > bytes.length) fail('truncated');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let id: MessageId;
  try {
    id = messageId(ascii.decode(bytes.subarray(2, at)));
  } catch {
    return fail('bad message id');
  }
  const arrivedAt = Number(view.getBigUint64(at));
  const length = view.getUint32(at + 8);
  if (length === 0 || length > MAX_MAILBOX_ENVELOPE_BYTES || at + 12 + length > bytes.length)
    fail('truncated');
  for (let i = at + 12 + length; i < bytes.length; i++) if (bytes[i] !== 0) fail('bad padding');
  return { messageId: id, envelope: bytes.slice(at + 12, at + 12 + length), arrivedAt };
}

/** The id index row's value: the envelope's sort key (`u8(2) | sort`), or the earlier JSON form. */
function encodeIdRow(sort: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + SORT_BYTES);
  out[0] = ID_RECORD_VERSION;
  out.set(sort, 1);
  return out;
}

/** The sort key an id row points to, or undefined for an acknowledged one (earlier JSON tombstone). */
function idRowSort(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes[0] === JSON_RECORD) {
    const r = read(bytes, T.mailboxIds);
    return r.has('sort') ? r.bytes('sort', SORT_BYTES, SORT_BYTES) : undefined;
  }
  if (bytes[0] !== ID_RECORD_VERSION || bytes.length !== 1 + SORT_BYTES) {
    throw new DecodeError(T.mailboxIds, 'unknown record version');
  }
  return bytes.subarray(1);
}

/**
 * Hands out mailbox sort keys for one instance: the second of arrival, then this instance's count
 * of envelopes queued for the mailbox in that second (so one instance lists a mailbox in arrival
 * order), then 6 random bytes. Every mailbox store of an instance must share one, so that the
 * counts run on across transactions.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const sortKeys = createMailboxSortKeys(provider);
 * const mailboxes = createMailboxStore(adapterExecutor(adapter), provider, sortKeys);
 * ```
 */
export function createMailboxSortKeys(provider: CryptoProvider): MailboxSortKeys {
  let second = -1;
  let counters = new Map<string, number>();
  return (partition, now) => {
    const s = Math.floor(now / 1000);
    if (s !== second) {
      second = s;
      counters = new Map();
    }
    const k = toHex(partition);
    const n = counters.get(k) ?? 0;
    counters.set(k, Math.min(n + 1, 0xffff));
    const out = new Uint8Array(SORT_BYTES);
    const view = new DataView(out.buffer);
    view.setBigUint64(0, BigInt(s * 1000));
    view.setUint16(8, n);
    out.set(provider.randomBytes(6), 10);
    return out;
  };
}

/**
 * The sort key of the next envelope queued into the mailbox with `partition` at `now` (see
 * {@link createMailboxSortKeys}).
 *
 * @example
 * ```ts
 * const sortKeys: MailboxSortKeys = createMailboxSortKeys(provider);
 * const sort = sortKeys(new TextEncoder().encode(mailbox), Date.now()); // 16 bytes
 * ```
 */
export type MailboxSortKeys = (partition: Uint8Array, now: number) => Uint8Array;

interface CheckedEnqueue {
  readonly partition: Uint8Array;
  readonly id: MessageId;
  readonly envelope: Uint8Array;
  readonly expiresAt: number;
}

/** `prefix` names the item in error fields (`items[3].`), or nothing for a single enqueue. */
function checkEnqueue(mailbox: unknown, input: unknown, prefix: string): CheckedEnqueue {
  const m = key(checkId(mailbox, `${prefix}mailbox`, mailboxId));
  const i = checkObject(input, prefix === '' ? 'input' : prefix.slice(0, -1));
  return {
    partition: m,
    id: checkId(i.messageId, `${prefix}messageId`, messageId),
    envelope: checkBytesIn(i.envelope, `${prefix}envelope`, 1, MAX_MAILBOX_ENVELOPE_BYTES),
    expiresAt: checkTime(i.expiresAt, `${prefix}expiresAt`),
  };
}

/**
 * Creates the mailbox store over `run`; `provider` supplies the random tie-breakers. Stores of one
 * instance that run in different transactions share `sortKeys` (default: a new one).
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const mailboxes = createMailboxStore(adapterExecutor(adapter), provider);
 * const pending = await mailboxes.count(mailbox);
 * ```
 */
export function createMailboxStore(
  run: Executor,
  provider: CryptoProvider,
  sortKeys: MailboxSortKeys = createMailboxSortKeys(provider),
): MailboxStore {
  const sortKey = sortKeys;

  async function enqueueChecked(
    tx: StorageTx,
    items: readonly CheckedEnqueue[],
    prefix: (k: number) => string,
  ): Promise<EnqueueOutcome[]> {
    const outcomes: EnqueueOutcome[] = items.map(() => ({ status: 'duplicate' }));
    for (const [k, item] of items.entries()) {
      if (item.expiresAt <= tx.now) throw new ValidationError(`${prefix(k)}expiresAt`, 'a time after now');
    }
    // The first item of a mailbox and id in this call claims it; later ones are duplicates.
    const seen = new Set<string>();
    const claims: { index: number; sort: Uint8Array; row: RowInput }[] = [];
    for (const [index, item] of items.entries()) {
      const idKey = enc.encode(item.id);
      const name = `${toHex(item.partition)}/${item.id}`;
      if (seen.has(name)) continue;
      seen.add(name);
      const sort = sortKey(item.partition, tx.now);
      claims.push({
        index,
        sort,
        row: { partition: item.partition, sort: idKey, value: encodeIdRow(sort), expiresAt: item.expiresAt },
      });
    }
    // The id rows claim the ids; an envelope is written only behind a claim that was written
    // (one statement on SQL backends).
    const rows: RowInput[] = [];
    const behind: number[] = [];
    claims.forEach((c, k) => {
      const item = items[c.index] as CheckedEnqueue;
      rows.push({
        partition: item.partition,
        sort: c.sort,
        value: encodeQueued(item.id, item.envelope, tx.now),
        expiresAt: item.expiresAt,
      });
      behind.push(k);
    });
    const claimed = await tx.claimMany(
      T.mailboxIds,
      claims.map((c) => c.row),
      { table: T.mailbox, rows, claims: behind },
    );
    claims.forEach((c, k) => {
      if (claimed[k] === true)
        outcomes[c.index] = { status: 'queued', cursor: toHex(c.sort), arrivedAt: tx.now };
    });
    return outcomes;
  }

  return {
    async enqueue(mailbox, input) {
      const item = checkEnqueue(mailbox, input, '');
      const [outcome] = await run((tx) => enqueueChecked(tx, [item], () => ''), { single: true });
      return outcome?.status === 'queued';
    },

    async enqueueMany(items) {
      const checked = checkArray(items, 'items', MAX_MAILBOX_BATCH).map((item, k) =>
        checkEnqueue((item as MailboxEnqueue | null)?.mailbox, item, `items[${k}].`),
      );
      if (checked.length === 0) return [];
      // One engine call: alone (not inside a caller's transaction) it needs no BEGIN and COMMIT.
      return run((tx) => enqueueChecked(tx, checked, (k) => `items[${k}].`), { single: true });
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
          const items = rows.map(
            (row): QueuedEnvelope => ({
              ...decodeQueued(row.value),
              expiresAt: row.expiresAt ?? Number.MAX_SAFE_INTEGER,
              cursor: toHex(row.sort),
            }),
          );
          const last = items[items.length - 1];
          return rows.length === limit && last !== undefined ? { items, next: last.cursor } : { items };
        },
        { readOnly: true },
      );
    },

    async ack(mailbox, messageIds) {
      const m = key(checkId(mailbox, 'mailbox', mailboxId));
      const ids = [
        ...new Set(
          checkArray(messageIds, 'messageIds', MAX_ACK_IDS).map((v, i) =>
            checkId(v, `messageIds[${i}]`, messageId),
          ),
        ),
      ];
      if (ids.length === 0) return 0;
      return run(async (tx) => {
        // The id rows stay (they dedupe until expiry); only the envelopes they point to go.
        const rows = await tx.getMany(
          T.mailboxIds,
          ids.map((id): RowKey => ({ partition: m, sort: enc.encode(id) })),
        );
        const keys = new Map<string, RowKey>();
        for (const row of rows) {
          const sort = row === undefined ? undefined : idRowSort(row.value);
          if (sort !== undefined) keys.set(toHex(sort), { partition: m, sort });
        }
        const deleted = await tx.deleteMany(T.mailbox, [...keys.values()]);
        return deleted.filter(Boolean).length;
      });
    },

    async ackQueued(positions) {
      const list = checkArray(positions, 'positions', MAX_MAILBOX_BATCH);
      const keys = new Map<string, RowKey>();
      list.forEach((p, i) => {
        const position = checkObject(p, `positions[${i}]`);
        const m = key(checkId(position.mailbox, `positions[${i}].mailbox`, mailboxId));
        const sort = checkCursor(
          typeof position.cursor === 'string' ? position.cursor : '',
          `positions[${i}].cursor`,
        ) as Uint8Array;
        keys.set(`${toHex(m)}/${toHex(sort)}`, { partition: m, sort });
      });
      if (keys.size === 0) return 0;
      return run(async (tx) => (await tx.deleteMany(T.mailbox, [...keys.values()])).filter(Boolean).length, {
        single: true,
      });
    },

    async count(mailbox) {
      const m = key(checkId(mailbox, 'mailbox', mailboxId));
      return run((tx) => tx.count(T.mailbox, m), { readOnly: true });
    },

    async usage(mailbox) {
      const m = key(checkId(mailbox, 'mailbox', mailboxId));
      return run(
        async (tx) => {
          const { rows, bytes } = await tx.usage(T.mailbox, m);
          return { envelopes: rows, bytes };
        },
        { readOnly: true },
      );
    },

    async clear(mailbox) {
      const m = key(checkId(mailbox, 'mailbox', mailboxId));
      return run(
        async (tx) => (await tx.deletePartition(T.mailbox, m)) + (await tx.deletePartition(T.mailboxIds, m)),
      );
    },
  };
}
