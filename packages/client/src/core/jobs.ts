/**
 * Outbox jobs: what one outbox entry asks for (one content to the devices of a user or a group), its
 * encoding as the entry's payload, and queueing it inside the core's transaction.
 *
 * @module
 */
import { toHex, utf8 } from '@cloister/crypto';
import { type MessageId, messageId as toMessageId } from '@cloister/protocol';
import type { CoreTx } from './types.js';

/**
 * What one outbox entry asks for: one content to the devices of a user or a group.
 *
 * @example
 * ```ts
 * import { encodeContent } from '@cloister/protocol';
 * const job: OutboxJob = {
 *   content: encodeContent({ messageId: provider.randomBytes(16), sentAtMs: Date.now(), body: { type: 'text', text: 'hi' } }),
 *   to: { user: 'bob' },
 *   self: true,
 * };
 * ```
 */
export interface OutboxJob {
  /** The encoded content to send. */
  readonly content: Uint8Array;
  /** A user id, or a group (hex of its id). */
  readonly to: { readonly user: string } | { readonly group: string };
  /** Also send a copy to this user's other devices (with `syncedTo` for a 1:1 message). */
  readonly self: boolean;
  /** Only these users (a group change to removed members, say); default all. */
  readonly only?: readonly string[];
  /** Only this device of `to.user` (a session reset, say); default every device. */
  readonly device?: number;
  /**
   * Start a new v2 session from the device's full bundle even when one exists (a session reset:
   * the old session stays as a previous one for messages in flight). Needs `device`.
   */
  readonly fresh?: boolean;
  /** The compliance archive seal of the content, sent once with the first delivery. */
  readonly archiveSeal?: Uint8Array;
}

/** @internal Encodes a job as an outbox payload. */
export function encodeJob(job: OutboxJob): Uint8Array {
  const to = 'user' in job.to ? `u:${job.to.user}` : `g:${job.to.group}`;
  const text = JSON.stringify({
    v: 1,
    to,
    self: job.self,
    only: job.only ?? null,
    device: job.device ?? null,
    ...(job.fresh === true ? { fresh: true } : {}),
    archive: job.archiveSeal?.length ?? 0,
  });
  const head = utf8(text);
  const seal = job.archiveSeal ?? new Uint8Array(0);
  const out = new Uint8Array(4 + head.length + job.content.length + seal.length);
  new DataView(out.buffer).setUint32(0, head.length);
  out.set(head, 4);
  out.set(job.content, 4 + head.length);
  out.set(seal, 4 + head.length + job.content.length);
  return out;
}

/** @internal Decodes an outbox payload. */
export function decodeJob(bytes: Uint8Array): OutboxJob {
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(0);
  const head = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + n))) as {
    to: string;
    self: boolean;
    only: string[] | null;
    device?: number | null;
    fresh?: boolean;
    archive?: number;
  };
  const archive = head.archive ?? 0;
  const content = bytes.slice(4 + n, bytes.length - archive);
  const archiveSeal = archive > 0 ? bytes.slice(bytes.length - archive) : undefined;
  const to = head.to.startsWith('u:') ? { user: head.to.slice(2) } : { group: head.to.slice(2) };
  return {
    content,
    to,
    self: head.self,
    ...(head.only === null ? {} : { only: head.only }),
    ...(head.device === null || head.device === undefined ? {} : { device: head.device }),
    ...(head.fresh === true ? { fresh: true } : {}),
    ...(archiveSeal === undefined ? {} : { archiveSeal }),
  };
}

/** @internal Queues a job in the outbox inside the transaction. */
export async function enqueueJob(t: CoreTx, job: OutboxJob, now: number): Promise<MessageId> {
  const id = toMessageId(`o_${toHex(await randomId())}`);
  await t.outbox.enqueue({
    id,
    to: 'user' in job.to ? `u:${job.to.user}` : `g:${job.to.group}`,
    payload: encodeJob(job),
    createdAt: now,
  });
  return id;
}

async function randomId(): Promise<Uint8Array> {
  return globalThis.crypto.getRandomValues(new Uint8Array(16));
}
