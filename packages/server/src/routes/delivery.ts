/**
 * Sealed delivery over HTTP (spec/server-delivery.md).
 *
 * - `POST /v1/messages` (one `SealedDelivery`) and `POST /v1/messages/batch` (one
 *   `SealedDeliveryBatch`), `application/x-protobuf`: no device authentication. Each envelope's
 *   delivery token is the only admission proof, so the server learns the recipient mailbox but not
 *   the sender. A request that carries a credential (`Authorization`, or a cookie) is refused
 *   with a typed 400 before its body is read: a sealed submission must not name its sender. Each
 *   delivery gets its own result (`accepted`, `duplicate` or `refused` with `reason: 'token'`);
 *   nothing is stored for a refused one. A token names the sender's class, never the sender, and
 *   is checked against the epochs current now (`delivery-token.ts`).
 * - `GET /v1/messages?after=&limit=` (authenticated device): the caller's pending envelopes as a
 *   mailbox page (see {@link encodeMailboxPage}).
 * - `POST /v1/messages/ack` (authenticated device), JSON `{ "ids": [...] }`: deletes them.
 *
 * @module
 */
import {
  DecodeError,
  ENVELOPE_KIND_ORGANISATION,
  equalBytes,
  peekArchiveSeal,
  peekEnvelopeOuter,
  RateLimitedError,
  ValidationError,
} from '@cloister/crypto';
import {
  decodeSealedDelivery,
  decodeSealedDeliveryBatch,
  FIELD_LIMITS,
  MAX_ENCODED_BYTES,
  type MailboxId,
  type MessageId,
  type SealedDelivery,
  type TenantId,
  mailboxId as toMailboxId,
  messageId as toMessageId,
} from '@cloister/protocol';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authenticate } from '../auth.js';
import type { RouteModule, ServerContext } from '../context.js';
import {
  type ARCHIVE_SEALS_PER_TENANT_PER_MINUTE,
  mailboxWriterOf,
  type SealToFile,
} from '../mailbox-writer.js';
import { createRateLimiter, type RateLimiter } from '../rate-limits.js';
import { type Recipient, recipientsOf } from '../recipients.js';
import { DEFAULT_ARCHIVE_RETENTION_MS } from '../retention.js';
import { statisticsOf } from '../statistics.js';
import { MAX_ACK_IDS, type QueuedEnvelope, QuotaExceededError, queuedRecordBytes } from '../store/index.js';
import { type LocalOffer, offerToLocalSockets } from './ws.js';

/**
 * What happened to one delivery of a submission.
 *
 * @example
 * ```ts
 * const { results } = (await response.json()) as { results: DeliveryResult[] };
 * const refused = results.filter((r) => r.status === ('refused' satisfies DeliveryStatus));
 * ```
 */
export type DeliveryStatus = 'accepted' | 'duplicate' | 'refused';

/**
 * Why a delivery was refused. `token`: the delivery token does not admit this delivery now — it
 * is malformed, forged, expired, or stale because the recipient's pools or blocks, the tenant's
 * pool rules or the membership of the sender's class changed since it was issued, or the
 * recipient device is gone or blocked. The sender should fetch the recipient's directory again
 * (fresh tokens, or a 403 when it may no longer reach the recipient) and retry once. The causes
 * are deliberately not told apart: a sender learns nothing about blocks from a submission.
 *
 * @example
 * ```ts
 * const { results } = (await response.json()) as { results: DeliveryResult[] };
 * const stale = results.filter((r) => r.status === 'refused' && r.reason === ('token' satisfies DeliveryRefusal));
 * // fetch those recipients' directory entries again (fresh tokens) and retry once
 * ```
 */
export type DeliveryRefusal = 'token';

/**
 * One entry of the answer to a submission, in the order of the submitted deliveries.
 *
 * @example
 * ```ts
 * const { results } = (await response.json()) as { results: DeliveryResult[] };
 * results[0]?.status; // → 'accepted' | 'duplicate' | 'refused'
 * ```
 */
export interface DeliveryResult {
  /** The delivery's message id as the mailbox stores it (`m_` and base64url of the 16 bytes). */
  readonly messageId: string;
  /**
   * `accepted`: queued now. `duplicate`: this mailbox already had (or had acknowledged) this
   * message id; nothing changed. `refused`: not admitted (see `reason`); nothing stored.
   */
  readonly status: DeliveryStatus;
  /** Present exactly when `status` is `refused`. */
  readonly reason?: DeliveryRefusal;
}

/**
 * Why a submission's archive seal was not filed (`spec/server-delivery.md`, "Archive seals"):
 * `not-archiving` — the recipient tenant's tenant-layer policy does not turn archiving on with a
 * key; `format` — not a complete version-2 seal (a legacy version-1 seal or an unsigned body);
 * `size` — over {@link MAX_FILED_ARCHIVE_SEAL_BYTES}; `binding` — the seal is bound to another
 * delivery than the one it travels with; `delivery` — the delivery it travels with was refused,
 * or nothing of the submission was newly queued; `quota` — the tenant's blobs and archive would
 * take more than the tenant quota (`limits.tenantMaxBytes`); `rate` — the tenant's archive budget
 * ({@link ARCHIVE_SEALS_PER_TENANT_PER_MINUTE}) is spent.
 *
 * @example
 * ```ts
 * if (archive?.status === 'refused' && archive.reason === ('not-archiving' satisfies ArchiveRefusal)) log();
 * ```
 */
export type ArchiveRefusal = 'not-archiving' | 'format' | 'size' | 'binding' | 'delivery' | 'quota' | 'rate';

/**
 * What happened to a submission's archive seal; present in the answer exactly when the
 * submission carried one. The deliveries' own results do not depend on it.
 *
 * @example
 * ```ts
 * const { archive } = (await response.json()) as { archive?: ArchiveFiling };
 * ```
 */
export type ArchiveFiling =
  | { readonly status: 'filed'; readonly expiresAt: number }
  | { readonly status: 'refused'; readonly reason: ArchiveRefusal };

/**
 * Largest archive seal the server files: the wire's own bound on the field (the seal of the
 * largest content, with its certificate and signature).
 *
 * @example
 * ```ts
 * if (seal.length > MAX_FILED_ARCHIVE_SEAL_BYTES) refuse('size');
 * ```
 */
export const MAX_FILED_ARCHIVE_SEAL_BYTES: number = FIELD_LIMITS.archiveSealBytes;

/**
 * Version byte of a mailbox page (1), its first byte.
 *
 * @example
 * ```ts
 * const body = new Uint8Array(await response.arrayBuffer());
 * body[0] === MAILBOX_PAGE_VERSION; // → true for a page this server encoded
 * ```
 */
export const MAILBOX_PAGE_VERSION = 1;
/**
 * Most envelopes one `GET /v1/messages` returns (100).
 *
 * @example
 * ```ts
 * const answer = await fetch(`${url}/v1/messages?limit=${MAX_PAGE_ITEMS}`, {
 *   headers: { authorization: authorizationHeader(credential) },
 * });
 * ```
 */
export const MAX_PAGE_ITEMS = 100;
/**
 * A page stops growing once its envelopes would pass this many bytes (it always holds at least one).
 *
 * @example
 * ```ts
 * console.log(MAX_PAGE_BYTES); // 8388608
 * ```
 */
export const MAX_PAGE_BYTES = 8 * 1024 * 1024;

const MESSAGE_ID_RE = /^(?!\.)[A-Za-z0-9._\-:@+]{1,128}(?<!\.)$/;
const CURSOR_RE = /^[0-9a-f]{32}$/;
const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const ascii = new TextEncoder();

/**
 * The mailbox message id of a delivery: `m_` followed by the base64url form of its 16-byte
 * `messageId` (24 characters).
 *
 * @example
 * ```ts
 * deliveryMessageId(new Uint8Array(16)); // → 'm_AAAAAAAAAAAAAAAAAAAAAA'
 * deliveryMessageId(new Uint8Array(8)); // throws ValidationError
 * ```
 */
export function deliveryMessageId(bytes: Uint8Array): MessageId {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 16)
    throw new ValidationError('messageId', '16 bytes');
  return toMessageId(`m_${Buffer.from(bytes).toString('base64url')}`);
}

/**
 * The mailbox id an envelope names: its outer mailbox bytes read as UTF-8 (the server issues
 * mailbox ids such as `mbx_…`, whose UTF-8 form is what senders put in the envelope). Returns
 * `undefined` when the bytes are not a mailbox id this server could have issued.
 *
 * @example
 * ```ts
 * import { peekEnvelopeOuter } from '@cloister/crypto';
 * const target = mailboxFromEnvelope(peekEnvelopeOuter(envelope).mailbox); // → 'mbx_…' or undefined
 * ```
 */
export function mailboxFromEnvelope(bytes: Uint8Array): MailboxId | undefined {
  try {
    return toMailboxId(utf8Strict.decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Encodes a mailbox page, the body of `GET /v1/messages` (`application/octet-stream`):
 *
 *   page   = u8(1) | u8(len(next)) | next (ASCII; empty at the end) | u16(count) | record*
 *   record = u8(len(id)) | id (ASCII) | u32(len(envelope)) | envelope
 *
 * @example
 * ```ts
 * const page = await ctx.stores.mailboxes.list(mailbox, { limit: MAX_PAGE_ITEMS });
 * void reply.type('application/octet-stream').send(encodeMailboxPage(page.items, page.next));
 * ```
 */
export function encodeMailboxPage(
  items: readonly Pick<QueuedEnvelope, 'messageId' | 'envelope'>[],
  next: string | undefined,
): Uint8Array {
  const nextBytes = ascii.encode(next ?? '');
  if (nextBytes.length > 255) throw new ValidationError('next', 'at most 255 bytes');
  if (items.length > 0xffff) throw new ValidationError('items', 'at most 65535 items');
  const ids = items.map((i) => ascii.encode(i.messageId));
  let size = 2 + nextBytes.length + 2;
  items.forEach((item, k) => {
    size += 1 + (ids[k]?.length ?? 0) + 4 + item.envelope.length;
  });
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = MAILBOX_PAGE_VERSION;
  out[1] = nextBytes.length;
  out.set(nextBytes, 2);
  let at = 2 + nextBytes.length;
  view.setUint16(at, items.length);
  at += 2;
  items.forEach((item, k) => {
    const id = ids[k] as Uint8Array;
    out[at] = id.length;
    out.set(id, at + 1);
    at += 1 + id.length;
    view.setUint32(at, item.envelope.length);
    out.set(item.envelope, at + 4);
    at += 4 + item.envelope.length;
  });
  return out;
}

/**
 * A decoded mailbox page.
 *
 * @example
 * ```ts
 * const page: MailboxPage = decodeMailboxPage(new Uint8Array(await response.arrayBuffer()));
 * const ids = page.items.map((item) => item.messageId);
 * if (page.next !== undefined) {
 *   await fetch(`${url}/v1/messages?after=${page.next}`, { headers: { authorization: authorizationHeader(credential) } });
 * }
 * ```
 */
export interface MailboxPage {
  /** The pending envelopes of the page, in queue order, each with its mailbox message id. */
  readonly items: readonly { readonly messageId: MessageId; readonly envelope: Uint8Array }[];
  /** Pass as `after` to read on; absent at the end of the queue. */
  readonly next?: string;
}

/**
 * Decodes a mailbox page (the client side of {@link encodeMailboxPage}). Throws `DecodeError`.
 *
 * @example
 * ```ts
 * const page = decodeMailboxPage(new Uint8Array(await response.arrayBuffer()));
 * for (const { messageId } of page.items) console.log(`pending: ${messageId}`);
 * ```
 */
export function decodeMailboxPage(bytes: Uint8Array): MailboxPage {
  const fail = (path: string, why: string): never => {
    throw new DecodeError(`page${path}`, why);
  };
  if (!(bytes instanceof Uint8Array) || bytes.length < 4) fail('', 'truncated');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] !== MAILBOX_PAGE_VERSION) fail('.version', 'unsupported');
  const nextLength = bytes[1] as number;
  let at = 2 + nextLength;
  if (at + 2 > bytes.length) fail('.next', 'truncated');
  const text = (from: number, to: number, path: string): string => {
    try {
      return utf8Strict.decode(bytes.subarray(from, to));
    } catch {
      return fail(path, 'not text');
    }
  };
  const next = text(2, at, '.next');
  const count = view.getUint16(at);
  at += 2;
  const items: { messageId: MessageId; envelope: Uint8Array }[] = [];
  for (let k = 0; k < count; k++) {
    const idLength = bytes[at];
    if (idLength === undefined || idLength === 0 || at + 1 + idLength + 4 > bytes.length) {
      fail(`.items[${k}]`, 'truncated');
    }
    const id = text(at + 1, at + 1 + (idLength as number), `.items[${k}].messageId`);
    if (!MESSAGE_ID_RE.test(id)) fail(`.items[${k}].messageId`, 'not a message id');
    at += 1 + (idLength as number);
    const envelopeLength = view.getUint32(at);
    at += 4;
    if (envelopeLength === 0 || at + envelopeLength > bytes.length)
      fail(`.items[${k}].envelope`, 'truncated');
    items.push({ messageId: toMessageId(id), envelope: bytes.slice(at, at + envelopeLength) });
    at += envelopeLength;
  }
  if (at !== bytes.length) fail('', 'trailing bytes');
  return next === '' ? { items } : { items, next };
}

function bodyBytes(body: unknown): Uint8Array {
  if (!(body instanceof Uint8Array) || body.length === 0) {
    throw new ValidationError('body', 'a non-empty application/x-protobuf body');
  }
  return body;
}

interface Admitted {
  readonly index: number;
  readonly mailbox: MailboxId;
  readonly messageId: MessageId;
  readonly envelope: Uint8Array;
  readonly recipient: Recipient;
}

const mailboxLimiters = new WeakMap<ServerContext, RateLimiter>();
const archivePolicyCaches = new WeakMap<
  ServerContext,
  Map<string, { at: number; policy: TenantArchive | null }>
>();
/** How long a tenant's archive policy is cached (a policy change reaches filing within this time). */
const ARCHIVE_POLICY_TTL_MS = 5_000;

/** What the tenant layer says about archiving, when it turns it on with a key. */
interface TenantArchive {
  readonly retentionMs: number;
}

/**
 * The tenant's archive setting from its **tenant-layer** policy only (a user, pool or group layer
 * cannot turn filing on): feature `archive` enabled with `config.publicKey` (base64url of 32
 * bytes), and `config.retentionMs` (default {@link DEFAULT_ARCHIVE_RETENTION_MS}). Cached 5 s.
 */
async function tenantArchive(ctx: ServerContext, tenant: TenantId): Promise<TenantArchive | null> {
  let cache = archivePolicyCaches.get(ctx);
  if (cache === undefined) {
    cache = new Map();
    archivePolicyCaches.set(ctx, cache);
  }
  const now = ctx.now();
  const hit = cache.get(tenant);
  if (hit !== undefined && now - hit.at < ARCHIVE_POLICY_TTL_MS) return hit.policy;
  const stored = await ctx.stores.policies.get({ kind: 'tenant', tenant });
  const feature = stored?.document.archive;
  const config = (feature?.config ?? {}) as { publicKey?: unknown; retentionMs?: unknown };
  const key = typeof config.publicKey === 'string' ? Buffer.from(config.publicKey, 'base64url') : undefined;
  const on = feature?.enabled === true && key !== undefined && key.length === 32;
  const retention = config.retentionMs;
  const policy = on
    ? {
        retentionMs:
          typeof retention === 'number' && Number.isSafeInteger(retention) && retention > 0
            ? retention
            : DEFAULT_ARCHIVE_RETENTION_MS,
      }
    : null;
  if (cache.size >= 10_000) cache.clear();
  cache.set(tenant, { at: now, policy });
  return policy;
}

/** The checks of an archive seal that need no database: form, size and binding to its delivery. */
function archiveSealProblem(seal: Uint8Array, deliveryId: Uint8Array): ArchiveRefusal | undefined {
  if (seal.length > MAX_FILED_ARCHIVE_SEAL_BYTES) return 'size';
  let peeked: ReturnType<typeof peekArchiveSeal>;
  try {
    peeked = peekArchiveSeal(seal);
  } catch {
    return 'format';
  }
  // Version 2 signed (bindings readable), or version 3 (sign-then-encrypt: only the delivery id
  // and the key id are outside the ciphertext). A legacy or unsigned seal is refused.
  if ((peeked.version !== 2 && peeked.version !== 3) || !peeked.signed || peeked.deliveryId === undefined) {
    return 'format';
  }
  return equalBytes(peeked.deliveryId, deliveryId) ? undefined : 'binding';
}

/** The per-mailbox delivery limiter of one server instance (the per-token limit of R45). */
function mailboxLimiter(ctx: ServerContext): RateLimiter {
  let limiter = mailboxLimiters.get(ctx);
  if (limiter === undefined) {
    limiter = createRateLimiter({
      max: ctx.limits.deliveriesPerMailboxPerMinute,
      windowMs: 60_000,
      now: ctx.now,
    });
    mailboxLimiters.set(ctx, limiter);
  }
  return limiter;
}

/**
 * The recipient of `mailbox` when `token` (whose form and expiry were checked: its sender class is
 * `senderClass`) admits a delivery to it now: a device and user that exist and are not blocked, and a tag that verifies with the recipient's tenant and user, the
 * token's sender class and the epochs current now. Everything comes from the instance's recipient
 * cache (`recipients.ts`), which every committed change of that state empties.
 */
async function admits(
  ctx: ServerContext,
  mailbox: MailboxId,
  token: Uint8Array,
  senderClass: Uint8Array,
): Promise<Recipient | undefined> {
  const recipients = recipientsOf(ctx);
  const recipient = await recipients.get(mailbox);
  if (recipient === undefined || recipient.blocked) return undefined;
  const epochs = await recipients.epochs(recipient.tenant, recipient.user, senderClass);
  const claims = { tenant: recipient.tenant, user: recipient.user, mailbox, senderClass, epochs };
  return (await ctx.deliveryTokens.verify(claims, token)) ? recipient : undefined;
}

/**
 * Admits, stores and announces the deliveries of one submission; resolves one result each, in
 * order, and what happened to the submission's archive seal. First, without the database, each
 * token must have the form of a version-2 token and not be expired. Then each token's tag is
 * verified against its recipient (device and user exist and are not blocked) and the epochs
 * current now, all from the recipient cache. The per-mailbox limit counts only deliveries that
 * passed. Then the admitted envelopes join the instance's group commit (`mailbox-writer.ts`),
 * queued idempotently per mailbox and message id, with the lifetime the recipient's retention
 * allows; the archive seal is filed in the same transaction when every filing rule holds
 * (`spec/server-delivery.md`, "Archive seals"): a complete version-2 or version-3 seal of bounded size, bound to
 * the delivery it travels with, that delivery admitted, something newly queued, the recipient
 * tenant's tenant-layer policy archiving with a key, and the tenant's archive budget not spent; it
 * expires with the archive's retention. A refused seal never refuses a delivery. After the commit,
 * each new envelope is handed to the recipient's socket on this instance, or announced through the
 * bus and a push hint. Every delivery refusal is `{ status: 'refused', reason: 'token' }`.
 */
async function submit(
  ctx: ServerContext,
  deliveries: readonly SealedDelivery[],
): Promise<{ results: DeliveryResult[]; archive?: ArchiveFiling }> {
  const results: DeliveryResult[] = [];
  const candidates: {
    index: number;
    mailbox: MailboxId;
    messageId: MessageId;
    envelope: Uint8Array;
    token: Uint8Array;
    senderClass: Uint8Array;
  }[] = [];
  let seal:
    | { bytes: Uint8Array; index: number; deliveryId: Uint8Array; problem: ArchiveRefusal | undefined }
    | undefined;
  for (const [index, delivery] of deliveries.entries()) {
    const messageId = deliveryMessageId(delivery.messageId);
    results.push({ messageId, status: 'refused', reason: 'token' });
    if (delivery.archiveSeal !== undefined) {
      seal = {
        bytes: delivery.archiveSeal,
        index,
        deliveryId: delivery.messageId,
        problem: archiveSealProblem(delivery.archiveSeal, delivery.messageId),
      };
    }
    const outer = peekEnvelopeOuter(delivery.envelope);
    // Organisation envelopes (broadcasts) are queued by the admin route only (spec/broadcast.md).
    if (outer.kind === ENVELOPE_KIND_ORGANISATION) continue;
    const mailbox = mailboxFromEnvelope(outer.mailbox);
    if (mailbox === undefined) continue;
    // Form and expiry first: no lookup for a token that cannot be current.
    const header = ctx.deliveryTokens.read(outer.deliveryToken);
    if (header === undefined) continue;
    candidates.push({
      index,
      mailbox,
      messageId,
      envelope: delivery.envelope,
      token: outer.deliveryToken,
      senderClass: header.senderClass,
    });
  }
  const refusedSeal = (reason: ArchiveRefusal) => ({ status: 'refused', reason }) as const;
  const admitted: Admitted[] = [];
  for (const c of candidates) {
    const recipient = await admits(ctx, c.mailbox, c.token, c.senderClass);
    if (recipient !== undefined) {
      admitted.push({
        index: c.index,
        mailbox: c.mailbox,
        messageId: c.messageId,
        envelope: c.envelope,
        recipient,
      });
    }
  }
  // Each recipient mailbox has its own budget, spent only by deliveries whose token verified;
  // over it, the whole submission is refused with 429 before anything is stored.
  let retryAfter = 0;
  for (const a of admitted) {
    const outcome = mailboxLimiter(ctx).hit(a.mailbox);
    if (!outcome.allowed) retryAfter = Math.max(retryAfter, outcome.retryAfterSeconds);
  }
  if (retryAfter > 0) throw new RateLimitedError(retryAfter);
  // Each recipient mailbox has its quotas: over one, the whole submission is refused with 507
  // before anything is stored (a sender whose token verified learns that the mailbox is full).
  checkQuotas(ctx, admitted);
  if (admitted.length === 0) {
    return seal === undefined ? { results } : { results, archive: refusedSeal(seal.problem ?? 'delivery') };
  }
  // The seal's checks that need no write: its own form, the delivery it is bound to admitted, the
  // tenant archiving.
  const now = ctx.now();
  let archive: ArchiveFiling | undefined;
  let toFile: SealToFile | undefined;
  if (seal !== undefined) {
    const sealed = admitted.find((a) => a.index === seal.index);
    if (seal.problem !== undefined) archive = refusedSeal(seal.problem);
    else if (sealed === undefined) archive = refusedSeal('delivery');
    else {
      const policy = await tenantArchive(ctx, sealed.recipient.tenant);
      if (policy === null) archive = refusedSeal('not-archiving');
      else
        toFile = {
          bytes: seal.bytes,
          tenant: sealed.recipient.tenant,
          expiresAt: now + policy.retentionMs,
          deliveryId: seal.deliveryId,
        };
    }
  }
  // Undelivered envelopes live as long as the recipient's retention policy allows (R29), never
  // longer than the server's own limit.
  const written = await mailboxWriterOf(ctx).submit(
    admitted.map((a) => ({
      mailbox: a.mailbox,
      messageId: a.messageId,
      envelope: a.envelope,
      expiresAt: now + a.recipient.lifetimeMs,
    })),
    toFile,
  );
  if (written.seal !== undefined) archive = written.seal;
  admitted.forEach((a, k) => {
    const outcome = written.outcomes[k];
    if (outcome === undefined) return;
    if (outcome.status === 'queued') {
      recipientsOf(ctx).noteUsage(a.mailbox, 1, queuedRecordBytes(a.messageId, a.envelope.length));
      // Statistics: one envelope delivered to the recipient (never the sender), in memory.
      statisticsOf(ctx).delivered(a.recipient.tenant, a.recipient.user);
    }
    results[a.index] = {
      messageId: a.messageId,
      status: outcome.status === 'queued' ? 'accepted' : 'duplicate',
    };
    if (outcome.status === 'queued') {
      announce(ctx, a.mailbox, { messageId: a.messageId, envelope: a.envelope, cursor: outcome.cursor });
    } else {
      // A duplicate may be the retry of a commit whose instance died before waking anyone.
      announce(ctx, a.mailbox, undefined);
    }
  });
  return archive === undefined ? { results } : { results, archive };
}

/**
 * Refuses the submission with {@link QuotaExceededError} when a delivery would take its mailbox past
 * `limits.mailboxMaxEnvelopes` or `limits.mailboxMaxBytes`, counting what the mailbox holds (the
 * recipient cache's figure) and the submission's own deliveries to it.
 */
function checkQuotas(ctx: ServerContext, admitted: readonly Admitted[]): void {
  const adding = new Map<string, { envelopes: number; bytes: number; recipient: Recipient }>();
  for (const a of admitted) {
    const entry = adding.get(a.mailbox) ?? { envelopes: 0, bytes: 0, recipient: a.recipient };
    entry.envelopes += 1;
    entry.bytes += queuedRecordBytes(a.messageId, a.envelope.length);
    adding.set(a.mailbox, entry);
  }
  for (const { envelopes, bytes, recipient } of adding.values()) {
    if (recipient.pending.envelopes + envelopes > ctx.limits.mailboxMaxEnvelopes) {
      throw new QuotaExceededError('mailbox.envelopes');
    }
    if (recipient.pending.bytes + bytes > ctx.limits.mailboxMaxBytes) {
      throw new QuotaExceededError('mailbox.bytes');
    }
  }
}

/**
 * After the commit: hands a new envelope to the recipient's socket on this instance; when none
 * holds the mailbox here, wakes the other instances through the bus and sends a push hint.
 */
function announce(ctx: ServerContext, mailbox: MailboxId, queued: LocalOffer | undefined): void {
  if (offerToLocalSockets(ctx, mailbox, queued)) return;
  ctx.bus.notify(mailbox).catch(() => {
    // The envelope is stored; the device gets it on its next fetch or reconnect.
    ctx.log.warn('wake-up bus notify failed');
  });
  const notifier = ctx.notifier;
  if (notifier === undefined) return;
  try {
    notifier.notify({ mailboxHint: mailbox }).catch(() => ctx.log.warn('push hint failed'));
  } catch {
    ctx.log.warn('push hint failed');
  }
}

const PageQuery = z
  .object({
    after: z.string().regex(CURSOR_RE).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_ITEMS).optional(),
  })
  .strict();

const AckBody = z
  .object({
    ids: z.array(z.string().regex(MESSAGE_ID_RE)).min(1).max(MAX_ACK_IDS),
  })
  .strict();

/** Paths of the anonymous sealed submissions (no credential, no per-device limit). */
export const SEALED_SUBMISSION_PATHS: readonly string[] = ['/v1/messages', '/v1/messages/batch'];

/** Refuses a sealed submission that names its sender by a credential: typed 400, nothing read. */
async function refuseCredential(request: FastifyRequest): Promise<void> {
  if (request.headers.authorization !== undefined || request.headers.cookie !== undefined) {
    throw new ValidationError('authorization', 'no credential: sealed submissions are anonymous');
  }
}

/**
 * Registers the sealed-delivery routes: `POST /v1/messages`, `POST /v1/messages/batch` (anonymous,
 * admitted by delivery tokens), `GET /v1/messages` and `POST /v1/messages/ack` (authenticated).
 *
 * @example
 * ```ts
 * const server = await createServer({ routes: [enrolmentRoutes, keyRoutes, deliveryRoutes, wsRoutes] });
 * ```
 */
export const deliveryRoutes: RouteModule = (app, ctx) => {
  app.post(
    '/v1/messages',
    {
      bodyLimit: Math.max(ctx.limits.bodyBytes, MAX_ENCODED_BYTES.sealedDelivery),
      onRequest: refuseCredential,
    },
    async (request) => {
      const delivery = decodeSealedDelivery(bodyBytes(request.body));
      return submit(ctx, [delivery]);
    },
  );

  app.post(
    '/v1/messages/batch',
    {
      bodyLimit: Math.max(ctx.limits.bodyBytes, MAX_ENCODED_BYTES.sealedDeliveryBatch),
      onRequest: refuseCredential,
    },
    async (request) => {
      const batch = decodeSealedDeliveryBatch(bodyBytes(request.body));
      return submit(ctx, batch.deliveries);
    },
  );

  app.get('/v1/messages', async (request, reply) => {
    const me = await authenticate(ctx, request);
    const query = PageQuery.parse(request.query ?? {});
    const page = await ctx.stores.mailboxes.list(me.mailbox, {
      limit: query.limit ?? 50,
      ...(query.after === undefined ? {} : { after: query.after }),
    });
    const items: QueuedEnvelope[] = [];
    let bytes = 0;
    for (const item of page.items) {
      if (items.length > 0 && bytes + item.envelope.length > MAX_PAGE_BYTES) break;
      items.push(item);
      bytes += item.envelope.length;
    }
    const next = items.length < page.items.length ? items[items.length - 1]?.cursor : page.next;
    return reply
      .type('application/octet-stream')
      .header('cache-control', 'no-store')
      .send(Buffer.from(encodeMailboxPage(items, next)));
  });

  app.post('/v1/messages/ack', async (request) => {
    const me = await authenticate(ctx, request);
    const body = AckBody.parse(request.body);
    const ids = body.ids.map((id) => toMessageId(id));
    const acknowledged = await ctx.stores.mailboxes.ack(me.mailbox, ids);
    // The quota's figure loses the envelopes (their bytes follow at the next read of the entry).
    recipientsOf(ctx).noteUsage(me.mailbox, -acknowledged, 0);
    return { acknowledged };
  });
};
