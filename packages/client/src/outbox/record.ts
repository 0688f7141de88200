/**
 * How the outbox is stored (`spec/client-outbox.md`): its tables, the record of one entry, and the
 * queue rows that order pending and failed entries by time (an enqueue counter and random bytes
 * break ties), with the transaction steps that keep an entry and its queue row in step.
 *
 * @module
 */
import { DecodeError } from '@cloister/crypto';
import { type MessageId, messageId as toMessageId } from '@cloister/protocol';
import { decodeRecord, encodeRecord, type StorageTx } from '@cloister/storage';

/**
 * The tables of the outbox. `entries` is keyed by message id (its sort keys may be hashed by
 * encryption at rest); `queue` is ordered by time and must be listed among the client's ordered
 * tables ({@link OUTBOX_ORDERED_TABLES}).
 *
 * @example
 * ```ts
 * import { CLIENT_ORDERED_TABLES } from '@cloister/client';
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
 * import { CLIENT_ORDERED_TABLES, OUTBOX_ORDERED_TABLES } from '@cloister/client';
 * const orderedTables = [...CLIENT_ORDERED_TABLES, ...OUTBOX_ORDERED_TABLES];
 * ```
 */
export const OUTBOX_ORDERED_TABLES: readonly string[] = [OUTBOX_TABLES.queue];

/**
 * Longest payload one entry holds (8 MiB; the record codec grows it by a third); a longer one
 * is a `ValidationError`.
 *
 * @example
 * ```ts
 * if (bytes.length > MAX_OUTBOX_PAYLOAD_BYTES) throw new RangeError('send it as a file');
 * ```
 */
export const MAX_OUTBOX_PAYLOAD_BYTES = 8 * 1024 * 1024;
/**
 * Longest destination string, in UTF-16 code units (512); a longer one is a `ValidationError`.
 *
 * @example
 * ```ts
 * const to = 'group:ward3';
 * if (to.length > MAX_OUTBOX_DESTINATION_LENGTH) throw new RangeError('destination too long');
 * ```
 */
export const MAX_OUTBOX_DESTINATION_LENGTH = 512;

/**
 * The state of an entry: waiting for its next attempt, or given up on.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const state: OutboxState = 'failed';
 * const failed = await createOutbox(adapterExecutor(adapter)).count(state);
 * ```
 */
export type OutboxState = 'pending' | 'failed';

/**
 * One message waiting in the outbox.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 * const [entry]: OutboxEntry[] = await createOutbox(adapterExecutor(adapter)).due(1);
 * if (entry !== undefined) console.log(entry.to, entry.attempts, new Date(entry.nextAttemptAt).toISOString());
 * ```
 */
export interface OutboxEntry {
  /** The message id. */
  readonly id: MessageId;
  /** The opaque destination (such as a user id or a group id). */
  readonly to: string;
  /** The bytes to send. */
  readonly payload: Uint8Array;
  /** When the entry was enqueued (ms since the epoch). */
  readonly createdAt: number;
  /** How many attempts have failed so far. */
  readonly attempts: number;
  /** When the next attempt is due (ms since the epoch); for a failed entry, when it failed. */
  readonly nextAttemptAt: number;
  /** Whether it waits for an attempt (`pending`) or was given up on (`failed`). */
  readonly state: OutboxState;
}

export const PATH = 'c_outbox';
const VERSION = 1;
export const EMPTY = new Uint8Array(0);
export const SEQUENCE_KEY = new TextEncoder().encode('seq');
export const TAG_BYTES = 16;
export const PARTITION: Record<OutboxState, Uint8Array> = {
  pending: new Uint8Array([0x70]), // 'p'
  failed: new Uint8Array([0x66]), // 'f'
};
export const encoder = new TextEncoder();

/** Stored form of an entry, with the queue row's tie-breaker. */
export interface StoredEntry extends OutboxEntry {
  readonly tag: Uint8Array;
}

export function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(value / 0x1_0000_0000), false);
  view.setUint32(4, value >>> 0, false);
  return out;
}

export function readU64(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint32(0, false) * 0x1_0000_0000 + view.getUint32(4, false);
}

function queueSort(time: number, tag: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + TAG_BYTES);
  out.set(u64(time), 0);
  out.set(tag, 8);
  return out;
}

export function encodeEntry(e: StoredEntry): Uint8Array {
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

export function publicEntry(e: StoredEntry): OutboxEntry {
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

export async function loadEntry(
  tx: StorageTx,
  id: MessageId,
  forUpdate: boolean,
): Promise<StoredEntry | undefined> {
  const row = await tx.get(OUTBOX_TABLES.entries, EMPTY, encoder.encode(id), forUpdate ? { forUpdate } : {});
  return row === undefined ? undefined : decodeEntry(row.value);
}

export async function writeEntry(tx: StorageTx, e: StoredEntry): Promise<void> {
  await tx.put(OUTBOX_TABLES.entries, {
    partition: EMPTY,
    sort: encoder.encode(e.id),
    value: encodeEntry(e),
  });
  await writeQueueRow(tx, e);
}

export async function writeQueueRow(tx: StorageTx, e: StoredEntry): Promise<void> {
  await tx.put(OUTBOX_TABLES.queue, {
    partition: PARTITION[e.state],
    sort: queueSort(e.nextAttemptAt, e.tag),
    value: encodeRecord(VERSION, { id: e.id }),
  });
}

export async function deleteQueueRow(tx: StorageTx, e: StoredEntry): Promise<void> {
  await tx.delete(OUTBOX_TABLES.queue, PARTITION[e.state], queueSort(e.nextAttemptAt, e.tag));
}

export function queueId(bytes: Uint8Array): MessageId {
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
