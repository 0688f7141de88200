/**
 * The outbox's operations over an executor: enqueue, the entries due, marking an attempt sent or
 * failed (rescheduled with backoff, or given up on), retrying a failed entry. Delivery is at least
 * once (an entry stays due until it is marked sent); the receiver's deduplication by message id
 * makes it exactly once.
 *
 * @module
 */
import { DecodeError, ValidationError } from '@cloister/crypto';
import { type MessageId, messageId as toMessageId } from '@cloister/protocol';
import type { Executor } from '@cloister/storage';
import { type OutboxBackoff, outboxBackoffDelay } from './backoff.js';
import {
  deleteQueueRow,
  EMPTY,
  encodeEntry,
  encoder,
  loadEntry,
  MAX_OUTBOX_DESTINATION_LENGTH,
  MAX_OUTBOX_PAYLOAD_BYTES,
  OUTBOX_TABLES,
  type OutboxEntry,
  type OutboxState,
  PARTITION,
  PATH,
  publicEntry,
  queueId,
  readU64,
  SEQUENCE_KEY,
  type StoredEntry,
  TAG_BYTES,
  u64,
  writeEntry,
  writeQueueRow,
} from './record.js';

/**
 * Most entries one {@link Outbox.due} or {@link Outbox.failed} call returns (1000), the largest
 * `limit` they accept.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const stuck = await createOutbox(adapterExecutor(adapter)).failed(MAX_OUTBOX_LIST_LIMIT);
 * ```
 */
export const MAX_OUTBOX_LIST_LIMIT = 1000;

/**
 * What {@link Outbox.enqueue} takes.
 *
 * @example
 * ```ts
 * import { messageId } from '@cloister/protocol';
 * import { adapterExecutor } from '@cloister/storage';
 * const input: OutboxInput = { id: messageId('m1'), to: 'bob', payload: bytes };
 * const queued = await createOutbox(adapterExecutor(adapter)).enqueue(input); // false if already queued
 * ```
 */
export interface OutboxInput {
  /** The message id; one entry per id. */
  readonly id: MessageId;
  /** The opaque destination (such as a user id or a group id), at most {@link MAX_OUTBOX_DESTINATION_LENGTH} code units. */
  readonly to: string;
  /** The bytes to send, at most {@link MAX_OUTBOX_PAYLOAD_BYTES}. */
  readonly payload: Uint8Array;
  /** Default: the outbox's clock. The entry is due at once either way. */
  readonly createdAt?: number;
}

/**
 * Options of {@link createOutbox}.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const options: OutboxOptions = { backoff: { initialMs: 500, maxMs: 60_000 }, maxAttempts: 10 };
 * const outbox = createOutbox(adapterExecutor(adapter), options);
 * ```
 */
export interface OutboxOptions {
  /** The clock for scheduling (default `Date.now`). */
  readonly now?: () => number;
  /** The backoff between failed attempts (default `{ initialMs: 1000, maxMs: 300_000 }`). */
  readonly backoff?: OutboxBackoff;
  /** Failed attempts after which an entry moves to the failed state (default 20). */
  readonly maxAttempts?: number;
  /** Source of jitter in [0, 1) (default `Math.random`; it is not a secret). */
  readonly random?: () => number;
}

/**
 * Options of {@link Outbox.markFailed}.
 *
 * @example
 * ```ts
 * import { messageId } from '@cloister/protocol';
 * import { adapterExecutor } from '@cloister/storage';
 * const options: MarkFailedOptions = { permanent: true }; // the recipient was refused
 * await createOutbox(adapterExecutor(adapter)).markFailed(messageId('m1'), options);
 * ```
 */
export interface MarkFailedOptions {
  /** The failure will not go away by retrying (such as a refused recipient): give up now. */
  readonly permanent?: boolean;
}

/**
 * The outbox. Every method runs through the executor it was created with, so over a
 * transaction's executor its writes commit (or roll back) with the caller's other writes.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const outbox = createOutbox(adapterExecutor(adapter));
 * for (const entry of await outbox.due(50)) {
 *   try {
 *     expectOk(await transport.request('POST', '/v1/messages/batch', { body: entry.payload }));
 *     await outbox.markSent(entry.id);
 *   } catch {
 *     await outbox.markFailed(entry.id);
 *   }
 * }
 * ```
 */
export interface Outbox {
  /**
   * Adds an entry, due at once; resolves `false` (changing nothing) when the id is already there.
   *
   * @example
   * ```ts
   * import { messageId } from '@cloister/protocol';
   * import { adapterExecutor } from '@cloister/storage';
   * const outbox = createOutbox(adapterExecutor(adapter));
   * await outbox.enqueue({ id: messageId('m1'), to: 'bob', payload: bytes }); // → true
   * ```
   */
  enqueue(input: OutboxInput): Promise<boolean>;
  /**
   * Pending entries whose next attempt time has come, oldest due first (1..1000, default 100).
   *
   * @example
   * ```ts
   * import { adapterExecutor } from '@cloister/storage';
   * const batch = await createOutbox(adapterExecutor(adapter)).due(50);
   * ```
   */
  due(limit?: number): Promise<OutboxEntry[]>;
  /**
   * Removes an entry (pending or failed); resolves `true` when there was one.
   *
   * @example
   * ```ts
   * import { messageId } from '@cloister/protocol';
   * import { adapterExecutor } from '@cloister/storage';
   * await createOutbox(adapterExecutor(adapter)).markSent(messageId('m1'));
   * ```
   */
  markSent(id: MessageId): Promise<boolean>;
  /**
   * Records a failed attempt: reschedules with backoff, or moves the entry to the failed state
   * when `permanent` or after the maximum attempt count. Resolves the updated entry, or
   * `undefined` when there is no pending entry with this id.
   *
   * @example
   * ```ts
   * import { messageId } from '@cloister/protocol';
   * const entry = await outbox.markFailed(messageId('m1'));
   * if (entry?.state === 'pending') console.log(`attempt ${entry.attempts} failed; next at ${new Date(entry.nextAttemptAt).toISOString()}`);
   * ```
   */
  markFailed(id: MessageId, options?: MarkFailedOptions): Promise<OutboxEntry | undefined>;
  /**
   * Moves a failed entry back to pending, due at once, with its attempt count reset.
   *
   * @example
   * ```ts
   * for (const entry of await outbox.failed()) await outbox.retry(entry.id); // "try again" for every failed message
   * ```
   */
  retry(id: MessageId): Promise<boolean>;
  /**
   * One entry, pending or failed.
   *
   * @example
   * ```ts
   * import { messageId } from '@cloister/protocol';
   * const entry = await outbox.get(messageId('m1'));
   * console.log(entry?.state, entry?.attempts); // → 'pending' 2
   * ```
   */
  get(id: MessageId): Promise<OutboxEntry | undefined>;
  /**
   * How many entries are in a state (default `pending`).
   *
   * @example
   * ```ts
   * const waiting = await outbox.count(); // pending
   * const gaveUp = await outbox.count('failed');
   * ```
   */
  count(state?: OutboxState): Promise<number>;
  /**
   * Failed entries, oldest failure first (1..1000, default 100).
   *
   * @example
   * ```ts
   * const failed = await outbox.failed(20);
   * for (const entry of failed) console.log(entry.id, entry.to, entry.attempts);
   * ```
   */
  failed(limit?: number): Promise<OutboxEntry[]>;
}

function checkTime(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(field, 'a non-negative safe integer (ms since the epoch)');
  }
  return value;
}

function checkLimit(value: unknown): number {
  if (value === undefined) return 100;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_OUTBOX_LIST_LIMIT) {
    throw new ValidationError('limit', `an integer in 1..${MAX_OUTBOX_LIST_LIMIT}`);
  }
  return value;
}

function checkPositiveInt(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ValidationError(field, 'a positive safe integer');
  }
  return value;
}

function checkId(value: unknown): MessageId {
  try {
    return toMessageId(value);
  } catch {
    throw new ValidationError('id', 'a MessageId');
  }
}

/**
 * Creates an outbox over an executor: `adapterExecutor(adapter)` for calls in their own
 * transactions, `txExecutor(tx)` to join a caller's transaction (for example to store a sent
 * message and its outbox entry together).
 *
 * @example
 * ```ts
 * import { messageId } from '@cloister/protocol';
 * import { txExecutor } from '@cloister/storage';
 * await adapter.transaction(async (tx) => {
 *   const run = txExecutor(tx);
 *   await createSettingsStore(run).set(defineSetting('draft.bob', 'string'), ''); // cleared with the send
 *   await createOutbox(run).enqueue({ id: messageId('m1'), to: 'bob', payload: bytes });
 * });
 * ```
 */
export function createOutbox(run: Executor, options: OutboxOptions = {}): Outbox {
  const now = options.now ?? Date.now;
  if (typeof now !== 'function') throw new ValidationError('now', 'a function returning ms since the epoch');
  const random = options.random ?? Math.random;
  if (typeof random !== 'function') throw new ValidationError('random', 'a function returning [0, 1)');
  const backoff: OutboxBackoff = options.backoff ?? { initialMs: 1000, maxMs: 300_000 };
  checkPositiveInt(backoff.initialMs, 'backoff.initialMs');
  checkPositiveInt(backoff.maxMs, 'backoff.maxMs');
  if (backoff.maxMs < backoff.initialMs)
    throw new ValidationError('backoff.maxMs', 'at least backoff.initialMs');
  const maxAttempts =
    options.maxAttempts === undefined ? 20 : checkPositiveInt(options.maxAttempts, 'maxAttempts');

  const clock = (): number => checkTime(now(), 'now()');

  return {
    async enqueue(input) {
      if (typeof input !== 'object' || input === null) throw new ValidationError('input', 'an object');
      const id = checkId(input.id);
      const to = input.to;
      if (typeof to !== 'string' || to.length === 0 || to.length > MAX_OUTBOX_DESTINATION_LENGTH) {
        throw new ValidationError('to', `a string of 1..${MAX_OUTBOX_DESTINATION_LENGTH} characters`);
      }
      const payload = input.payload;
      if (!(payload instanceof Uint8Array) || payload.length > MAX_OUTBOX_PAYLOAD_BYTES) {
        throw new ValidationError('payload', `a Uint8Array of at most ${MAX_OUTBOX_PAYLOAD_BYTES} bytes`);
      }
      const t = clock();
      const createdAt = input.createdAt === undefined ? t : checkTime(input.createdAt, 'createdAt');
      const copy = payload.slice();
      return run(async (tx) => {
        // Tie-breaker: an enqueue counter, then random bytes: entries due at the same time leave
        // in the order they were queued (a group change before the first message to the group).
        const seqRow = await tx.get(OUTBOX_TABLES.sequence, EMPTY, SEQUENCE_KEY, { forUpdate: true });
        const seq = seqRow === undefined || seqRow.value.length !== 8 ? 0 : readU64(seqRow.value) + 1;
        await tx.put(OUTBOX_TABLES.sequence, { partition: EMPTY, sort: SEQUENCE_KEY, value: u64(seq) });
        const tag = new Uint8Array(TAG_BYTES);
        globalThis.crypto.getRandomValues(tag.subarray(8));
        tag.set(u64(seq), 0);
        const entry: StoredEntry = {
          id,
          to,
          payload: copy,
          createdAt,
          attempts: 0,
          nextAttemptAt: t,
          state: 'pending',
          tag,
        };
        const written = await tx.put(
          OUTBOX_TABLES.entries,
          { partition: EMPTY, sort: encoder.encode(id), value: encodeEntry(entry) },
          { ifAbsent: true },
        );
        if (!written) return false;
        await writeQueueRow(tx, entry);
        return true;
      });
    },

    async due(limit) {
      const n = checkLimit(limit);
      const t = clock();
      return run(
        async (tx) => {
          const rows = await tx.list(OUTBOX_TABLES.queue, PARTITION.pending, { limit: n });
          const out: OutboxEntry[] = [];
          for (const row of rows) {
            if (row.sort.length !== 8 + TAG_BYTES) throw new DecodeError(`${PATH}_queue.sort`, 'bad length');
            if (readU64(row.sort) > t) break;
            const entry = await loadEntry(tx, queueId(row.value), false);
            if (entry !== undefined && entry.state === 'pending') out.push(publicEntry(entry));
          }
          return out;
        },
        { readOnly: true },
      );
    },

    async markSent(id) {
      const checked = checkId(id);
      return run(async (tx) => {
        const entry = await loadEntry(tx, checked, true);
        if (entry === undefined) return false;
        await deleteQueueRow(tx, entry);
        return tx.delete(OUTBOX_TABLES.entries, EMPTY, encoder.encode(checked));
      });
    },

    async markFailed(id, opts = {}) {
      const checked = checkId(id);
      if (typeof opts !== 'object' || opts === null) throw new ValidationError('options', 'an object');
      const permanent = opts.permanent ?? false;
      if (typeof permanent !== 'boolean') throw new ValidationError('options.permanent', 'a boolean');
      const t = clock();
      const jitter = random();
      return run(async (tx) => {
        const entry = await loadEntry(tx, checked, true);
        if (entry === undefined || entry.state !== 'pending') return undefined;
        await deleteQueueRow(tx, entry);
        const attempts = entry.attempts + 1;
        const giveUp = permanent || attempts >= maxAttempts;
        const next: StoredEntry = {
          ...entry,
          attempts,
          state: giveUp ? 'failed' : 'pending',
          nextAttemptAt: giveUp ? t : t + outboxBackoffDelay(attempts, backoff, () => jitter),
        };
        await writeEntry(tx, next);
        return publicEntry(next);
      });
    },

    async retry(id) {
      const checked = checkId(id);
      const t = clock();
      return run(async (tx) => {
        const entry = await loadEntry(tx, checked, true);
        if (entry === undefined || entry.state !== 'failed') return false;
        await deleteQueueRow(tx, entry);
        await writeEntry(tx, { ...entry, attempts: 0, state: 'pending', nextAttemptAt: t });
        return true;
      });
    },

    async get(id) {
      const checked = checkId(id);
      const entry = await run((tx) => loadEntry(tx, checked, false), { readOnly: true });
      return entry === undefined ? undefined : publicEntry(entry);
    },

    async count(state = 'pending') {
      if (state !== 'pending' && state !== 'failed') throw new ValidationError('state', 'pending or failed');
      return run((tx) => tx.count(OUTBOX_TABLES.queue, PARTITION[state]), { readOnly: true });
    },

    async failed(limit) {
      const n = checkLimit(limit);
      return run(
        async (tx) => {
          const rows = await tx.list(OUTBOX_TABLES.queue, PARTITION.failed, { limit: n });
          const out: OutboxEntry[] = [];
          for (const row of rows) {
            const entry = await loadEntry(tx, queueId(row.value), false);
            if (entry !== undefined && entry.state === 'failed') out.push(publicEntry(entry));
          }
          return out;
        },
        { readOnly: true },
      );
    },
  };
}
