/**
 * A persistent outbox: messages waiting to be sent, kept in the client's store so that they
 * survive restarts and crashes. Delivery is at least once (an entry stays due until it is
 * marked sent); the receiver's deduplication by message id makes it exactly once. The layout,
 * states and backoff are described in `spec/client-outbox.md`.
 *
 * @module
 */
import { DecodeError, ValidationError } from '@cloister/crypto';
import { type MessageId, messageId as toMessageId } from '@cloister/protocol';
import { decodeRecord, type Executor, encodeRecord, type StorageTx } from '@cloister/storage';
import { backoffDelay } from './backoff.js';

/**
 * The tables of the outbox. `entries` is keyed by message id (its sort keys may be hashed by
 * encryption at rest); `queue` is ordered by time and must be listed among the client's ordered
 * tables ({@link OUTBOX_ORDERED_TABLES}).
 *
 * @example
 * ```ts
 * const ordered = [...CLIENT_ORDERED_TABLES, OUTBOX_TABLES.queue];
 * ```
 */
export const OUTBOX_TABLES = {
  entries: 'c_outbox',
  queue: 'c_outbox_queue',
  /** One row: the enqueue counter that keeps entries due at the same time in enqueue order. */
  sequence: 'c_outbox_seq',
} as const;

/**
 * The outbox tables whose reads depend on sort-key order. Their sort keys hold only a time and a
 * tie-breaker (an enqueue counter and random bytes), never an identifier.
 *
 * @example
 * ```ts
 * const orderedTables = [...CLIENT_ORDERED_TABLES, ...OUTBOX_ORDERED_TABLES];
 * ```
 */
export const OUTBOX_ORDERED_TABLES: readonly string[] = [OUTBOX_TABLES.queue];

/** Longest payload one entry holds (8 MiB; the record codec grows it by a third). */
export const MAX_OUTBOX_PAYLOAD_BYTES = 8 * 1024 * 1024;
/** Longest destination string, in UTF-16 code units. */
export const MAX_OUTBOX_DESTINATION_LENGTH = 512;
/** Most entries one {@link Outbox.due} or {@link Outbox.failed} call returns. */
export const MAX_OUTBOX_LIST_LIMIT = 1000;

/** The state of an entry: waiting for its next attempt, or given up on. */
export type OutboxState = 'pending' | 'failed';

/** One message waiting in the outbox. */
export interface OutboxEntry {
  readonly id: MessageId;
  /** The opaque destination (such as a user id or a group id). */
  readonly to: string;
  readonly payload: Uint8Array;
  /** When the entry was enqueued (ms since the epoch). */
  readonly createdAt: number;
  /** How many attempts have failed so far. */
  readonly attempts: number;
  /** When the next attempt is due (ms since the epoch); for a failed entry, when it failed. */
  readonly nextAttemptAt: number;
  readonly state: OutboxState;
}

/** What {@link Outbox.enqueue} takes. */
export interface OutboxInput {
  readonly id: MessageId;
  readonly to: string;
  readonly payload: Uint8Array;
  /** Default: the outbox's clock. The entry is due at once either way. */
  readonly createdAt?: number;
}

/** Backoff between attempts: `min(maxMs, initialMs · 2^(attempts − 1))`, with jitter. */
export interface OutboxBackoff {
  /** Delay after the first failure, before jitter (ms, default 1 000). */
  readonly initialMs: number;
  /** Longest delay before jitter (ms, default 300 000). */
  readonly maxMs: number;
}

/** Options of {@link createOutbox}. */
export interface OutboxOptions {
  /** The clock for scheduling (default `Date.now`). */
  readonly now?: () => number;
  readonly backoff?: OutboxBackoff;
  /** Failed attempts after which an entry moves to the failed state (default 20). */
  readonly maxAttempts?: number;
  /** Source of jitter in [0, 1) (default `Math.random`; it is not a secret). */
  readonly random?: () => number;
}

/** Options of {@link Outbox.markFailed}. */
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
 * const outbox = createOutbox(adapterExecutor(adapter));
 * for (const entry of await outbox.due(50)) {
 *   try {
 *     await transport.send(entry.to, entry.payload);
 *     await outbox.markSent(entry.id);
 *   } catch {
 *     await outbox.markFailed(entry.id);
 *   }
 * }
 * ```
 */
export interface Outbox {
  /** Adds an entry, due at once; resolves `false` (changing nothing) when the id is already there. */
  enqueue(input: OutboxInput): Promise<boolean>;
  /** Pending entries whose next attempt time has come, oldest due first (1..1000, default 100). */
  due(limit?: number): Promise<OutboxEntry[]>;
  /** Removes an entry (pending or failed); resolves `true` when there was one. */
  markSent(id: MessageId): Promise<boolean>;
  /**
   * Records a failed attempt: reschedules with backoff, or moves the entry to the failed state
   * when `permanent` or after the maximum attempt count. Resolves the updated entry, or
   * `undefined` when there is no pending entry with this id.
   */
  markFailed(id: MessageId, options?: MarkFailedOptions): Promise<OutboxEntry | undefined>;
  /** Moves a failed entry back to pending, due at once, with its attempt count reset. */
  retry(id: MessageId): Promise<boolean>;
  /** One entry, pending or failed. */
  get(id: MessageId): Promise<OutboxEntry | undefined>;
  /** How many entries are in a state (default `pending`). */
  count(state?: OutboxState): Promise<number>;
  /** Failed entries, oldest failure first (1..1000, default 100). */
  failed(limit?: number): Promise<OutboxEntry[]>;
}

const PATH = 'c_outbox';
const VERSION = 1;
const EMPTY = new Uint8Array(0);
const SEQUENCE_KEY = new TextEncoder().encode('seq');
const TAG_BYTES = 16;
const PARTITION: Record<OutboxState, Uint8Array> = {
  pending: new Uint8Array([0x70]), // 'p'
  failed: new Uint8Array([0x66]), // 'f'
};
const encoder = new TextEncoder();

/** Stored form of an entry, with the queue row's tie-breaker. */
interface StoredEntry extends OutboxEntry {
  readonly tag: Uint8Array;
}

function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(value / 0x1_0000_0000), false);
  view.setUint32(4, value >>> 0, false);
  return out;
}

function readU64(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint32(0, false) * 0x1_0000_0000 + view.getUint32(4, false);
}

function queueSort(time: number, tag: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + TAG_BYTES);
  out.set(u64(time), 0);
  out.set(tag, 8);
  return out;
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

function encodeEntry(e: StoredEntry): Uint8Array {
  return encodeRecord(VERSION, {
    id: e.id,
    to: e.to,
    payload: e.payload,
    createdAt: e.createdAt,
    attempts: e.attempts,
    nextAttemptAt: e.nextAttemptAt,
    state: e.state,
    tag: e.tag,
  });
}

function decodeEntry(bytes: Uint8Array): StoredEntry {
  const { v, d } = decodeRecord(bytes, PATH);
  if (v !== VERSION) throw new DecodeError(PATH, 'unsupported record version');
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw new DecodeError(PATH, 'not an object');
  const o = d as Record<string, unknown>;
  const time = (key: string): number => {
    const x = o[key];
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) {
      throw new DecodeError(`${PATH}.${key}`, 'expected a non-negative integer');
    }
    return x;
  };
  let id: MessageId;
  try {
    id = toMessageId(o.id);
  } catch {
    throw new DecodeError(`${PATH}.id`, 'expected a valid identifier');
  }
  const to = o.to;
  if (typeof to !== 'string' || to.length === 0 || to.length > MAX_OUTBOX_DESTINATION_LENGTH) {
    throw new DecodeError(`${PATH}.to`, 'expected a destination');
  }
  const payload = o.payload;
  if (!(payload instanceof Uint8Array)) throw new DecodeError(`${PATH}.payload`, 'expected bytes');
  const tag = o.tag;
  if (!(tag instanceof Uint8Array) || tag.length !== TAG_BYTES) {
    throw new DecodeError(`${PATH}.tag`, `expected ${TAG_BYTES} bytes`);
  }
  const state = o.state;
  if (state !== 'pending' && state !== 'failed') throw new DecodeError(`${PATH}.state`, 'expected a state');
  return {
    id,
    to,
    payload,
    createdAt: time('createdAt'),
    attempts: time('attempts'),
    nextAttemptAt: time('nextAttemptAt'),
    state,
    tag,
  };
}

function publicEntry(e: StoredEntry): OutboxEntry {
  return {
    id: e.id,
    to: e.to,
    payload: e.payload,
    createdAt: e.createdAt,
    attempts: e.attempts,
    nextAttemptAt: e.nextAttemptAt,
    state: e.state,
  };
}

async function loadEntry(tx: StorageTx, id: MessageId, forUpdate: boolean): Promise<StoredEntry | undefined> {
  const row = await tx.get(OUTBOX_TABLES.entries, EMPTY, encoder.encode(id), forUpdate ? { forUpdate } : {});
  return row === undefined ? undefined : decodeEntry(row.value);
}

async function writeEntry(tx: StorageTx, e: StoredEntry): Promise<void> {
  await tx.put(OUTBOX_TABLES.entries, {
    partition: EMPTY,
    sort: encoder.encode(e.id),
    value: encodeEntry(e),
  });
  await writeQueueRow(tx, e);
}

async function writeQueueRow(tx: StorageTx, e: StoredEntry): Promise<void> {
  await tx.put(OUTBOX_TABLES.queue, {
    partition: PARTITION[e.state],
    sort: queueSort(e.nextAttemptAt, e.tag),
    value: encodeRecord(VERSION, { id: e.id }),
  });
}

async function deleteQueueRow(tx: StorageTx, e: StoredEntry): Promise<void> {
  await tx.delete(OUTBOX_TABLES.queue, PARTITION[e.state], queueSort(e.nextAttemptAt, e.tag));
}

function queueId(bytes: Uint8Array): MessageId {
  const { v, d } = decodeRecord(bytes, `${PATH}_queue`);
  if (v !== VERSION || typeof d !== 'object' || d === null) {
    throw new DecodeError(`${PATH}_queue`, 'unsupported record');
  }
  try {
    return toMessageId((d as { id?: unknown }).id);
  } catch {
    throw new DecodeError(`${PATH}_queue.id`, 'expected a valid identifier');
  }
}

/**
 * Computes the delay before the next attempt after `attempts` failed ones: the capped exponential
 * `base = min(maxMs, initialMs · 2^(attempts − 1))`, then "equal jitter", a delay uniform in
 * `[base/2, base)`. Rounded up to whole milliseconds.
 *
 * @example
 * ```ts
 * outboxBackoffDelay(3, { initialMs: 1000, maxMs: 60_000 }, () => 0); // 2000
 * ```
 */
export function outboxBackoffDelay(attempts: number, backoff: OutboxBackoff, random: () => number): number {
  const r = Math.min(Math.max(random(), 0), 1);
  const delay = backoffDelay(attempts, {
    initialMs: backoff.initialMs,
    maxMs: backoff.maxMs,
    random: () => r,
  });
  return Math.max(1, Math.ceil(delay));
}

/**
 * Creates an outbox over an executor: `adapterExecutor(adapter)` for calls in their own
 * transactions, `txExecutor(tx)` to join a caller's transaction (for example to store a sent
 * message and its outbox entry together).
 *
 * @example
 * ```ts
 * await adapter.transaction(async (tx) => {
 *   await messages.put(sentMessage); // a store over txExecutor(tx)
 *   await createOutbox(txExecutor(tx)).enqueue({ id, to: 'bob@acme.example', payload });
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
