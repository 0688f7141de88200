/**
 * Outbox jobs: what one outbox entry asks for (one content to the devices of a user or a group), its
 * encoding as the entry's payload, and queueing it inside the core's transaction.
 *
 * @module
 */
import { toHex, utf8 } from '@cloister/crypto';
import { type MessageId, messageId as toMessageId } from '@cloister/protocol';
import { fromBase64Url, toBase64Url } from '../_base64.js';
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
  /**
   * What to seal to the compliance archive (`sealArchived`, version 3) when the content is sent:
   * the seal is made at send time, bound to the delivery that carries it, once, on the first copy.
   */
  readonly archive?: ArchiveRequest;
  /**
   * The unsigned version-2 archive body of a job queued by an earlier version (`sealForArchive`),
   * signed at send time as before. New jobs carry {@link OutboxJob.archive} instead.
   */
  readonly archiveSeal?: Uint8Array;
}

/**
 * What an outbox job asks to seal to the compliance archive: the key and the bindings fixed when
 * the message was composed (the job keeps the content; the sender is this device).
 *
 * @example
 * ```ts
 * const archive = await provider.x25519.generateKeyPair();
 * const request: ArchiveRequest = {
 *   publicKey: archive.publicKey,
 *   conversationId: await archiveConversationId(provider, { users: ['alice', 'bob'] }),
 *   sentAt: Date.now(),
 * };
 * ```
 */
export interface ArchiveRequest {
  /** The archive X25519 public key (32 bytes) of the verified tenant layer. */
  readonly publicKey: Uint8Array;
  /** The conversation binding (`archiveConversationId`). */
  readonly conversationId: Uint8Array;
  /** The message's sending time (ms), as in its content. */
  readonly sentAt: number;
}

function requestFrom(raw: unknown): ArchiveRequest | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as { key?: unknown; conversation?: unknown; sentAt?: unknown };
  const publicKey = fromBase64Url(r.key);
  const conversationId = fromBase64Url(r.conversation);
  if (publicKey === undefined || conversationId === undefined || typeof r.sentAt !== 'number')
    return undefined;
  return { publicKey, conversationId, sentAt: r.sentAt };
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
    ...(job.archive === undefined
      ? {}
      : {
          seal: {
            key: toBase64Url(job.archive.publicKey),
            conversation: toBase64Url(job.archive.conversationId),
            sentAt: job.archive.sentAt,
          },
        }),
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
    seal?: unknown;
  };
  const archive = head.archive ?? 0;
  const content = bytes.slice(4 + n, bytes.length - archive);
  const archiveSeal = archive > 0 ? bytes.slice(bytes.length - archive) : undefined;
  const request = requestFrom(head.seal);
  const to = head.to.startsWith('u:') ? { user: head.to.slice(2) } : { group: head.to.slice(2) };
  return {
    content,
    to,
    self: head.self,
    ...(head.only === null ? {} : { only: head.only }),
    ...(head.device === null || head.device === undefined ? {} : { device: head.device }),
    ...(head.fresh === true ? { fresh: true } : {}),
    ...(archiveSeal === undefined ? {} : { archiveSeal }),
    ...(request === undefined ? {} : { archive: request }),
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
