/**
 * The relay's write path: every envelope queued by a sealed submission and every envelope a
 * delivery socket acknowledges goes through the instance's group committers (`group-commit.ts`),
 * one for submissions and one for acknowledgements. What one turn of the event loop read commits
 * together: the envelopes of a group of submissions in one engine statement (`claimMany`:
 * claim the ids and write the envelopes behind the claims won), the acknowledged positions of a
 * group of acknowledgements in another, side by side. Each is that one statement with no `BEGIN`
 * and `COMMIT` around it, unless a submission files an archive seal (then its group is one
 * transaction with the seals). Each submitter is answered after the commit; a failed group is
 * retried item by item.
 *
 * @module
 */
import type { TenantId } from '@cloister/protocol';
import type { ServerContext } from './context.js';
import { createGroupCommit, type GroupCommit, type GroupCommitStatistics } from './group-commit.js';
import { createRateLimiter, type RateLimiter } from './rate-limits.js';
import {
  type EnqueueOutcome,
  MAX_MAILBOX_BATCH,
  type MailboxEnqueue,
  type QueuedPosition,
  QuotaExceededError,
  type ServerStoreSet,
} from './store/index.js';

/**
 * Archive seals one tenant may file per minute on one instance (the limiter counts only seals that
 * passed every other check).
 *
 * @example
 * ```ts
 * console.log(ARCHIVE_SEALS_PER_TENANT_PER_MINUTE); // 6000
 * ```
 */
export const ARCHIVE_SEALS_PER_TENANT_PER_MINUTE = 6_000;

/**
 * An archive seal to file with a submission, once every check that needs no write has passed.
 *
 * @example
 * ```ts
 * import { messageId } from '@cloister/protocol';
 * const seal: SealToFile = { bytes: sealBytes, tenant, expiresAt: Date.now() + 365 * 86_400_000 };
 * const item = { mailbox, messageId: messageId('m_0001'), envelope, expiresAt: Date.now() + 86_400_000 };
 * const { seal: filed } = await mailboxWriterOf(ctx).submit([item], seal);
 * // filed → { status: 'filed', expiresAt } or { status: 'refused', reason }
 * ```
 */
export interface SealToFile {
  /** The sealed archive copy, as filed in the tenant's compliance archive. */
  readonly bytes: Uint8Array;
  /** The tenant whose archive (and byte budget) the seal goes to. */
  readonly tenant: TenantId;
  /** When the archived seal expires, ms since the epoch. */
  readonly expiresAt: number;
  /** The message id of the delivery the seal is bound to (16 bytes), recorded with the item. */
  readonly deliveryId?: Uint8Array;
}

/**
 * What became of a submission's seal inside the group: filed, or refused for `delivery`, `quota`
 * (the tenant's blobs and archive would pass `limits.tenantMaxBytes`) or `rate`.
 *
 * @example
 * ```ts
 * import { messageId } from '@cloister/protocol';
 * const item = { mailbox, messageId: messageId('m_0001'), envelope, expiresAt: Date.now() + 86_400_000 };
 * const { seal } = await mailboxWriterOf(ctx).submit([item], { bytes: sealBytes, tenant, expiresAt: Date.now() + 86_400_000 });
 * const outcome: SealOutcome | undefined = seal;
 * if (outcome?.status === 'refused') console.log(`seal refused: ${outcome.reason}`);
 * ```
 */
export type SealOutcome =
  | { readonly status: 'filed'; readonly expiresAt: number }
  | { readonly status: 'refused'; readonly reason: 'delivery' | 'quota' | 'rate' };

/**
 * One item of the relay's group commit: a submission's envelopes (with its seal, if any), or the
 * positions of acknowledged envelopes.
 *
 * @example
 * ```ts
 * const page = await ctx.stores.mailboxes.list(mailbox, { limit: 10 });
 * const write: MailboxWrite = { kind: 'ack', positions: page.items.map((e) => ({ mailbox, cursor: e.cursor })) };
 * ```
 */
export type MailboxWrite =
  | {
      readonly kind: 'submission';
      readonly deliveries: readonly MailboxEnqueue[];
      /** Filed when something of `deliveries` was newly queued and the tenant's budget allows. */
      readonly seal?: SealToFile;
    }
  | { readonly kind: 'ack'; readonly positions: readonly QueuedPosition[] };

/**
 * The result of one {@link MailboxWrite}: the enqueue outcome of each delivery (and the seal's) for
 * a submission, the number of envelopes that were pending for an acknowledgement.
 *
 * @example
 * ```ts
 * const describe = (result: MailboxWriteResult): string =>
 *   result.kind === 'ack' ? `${result.acknowledged} acknowledged` : `${result.outcomes.length} deliveries`;
 * describe({ kind: 'ack', acknowledged: 3 }); // → '3 acknowledged'
 * ```
 */
export type MailboxWriteResult =
  | { readonly kind: 'submission'; readonly outcomes: readonly EnqueueOutcome[]; readonly seal?: SealOutcome }
  | { readonly kind: 'ack'; readonly acknowledged: number };

/**
 * The relay's group committer of one instance ({@link mailboxWriterOf}).
 *
 * @example
 * ```ts
 * const writer: MailboxWriter = mailboxWriterOf(ctx);
 * const page = await ctx.stores.mailboxes.list(mailbox, { limit: 10 });
 * const acknowledged = await writer.ack(page.items.map((e) => ({ mailbox, cursor: e.cursor })));
 * const { groups, items } = writer.statistics();
 * ```
 */
export interface MailboxWriter {
  /**
   * Queues a submission's envelopes (and files its seal); resolves after the group's commit with
   * one outcome per delivery, in order.
   *
   * @example
   * ```ts
   * import { messageId } from '@cloister/protocol';
   * const { outcomes } = await mailboxWriterOf(ctx).submit([
   *   { mailbox, messageId: messageId('m_0001'), envelope, expiresAt: ctx.now() + 86_400_000 },
   * ]);
   * ```
   */
  submit(
    deliveries: readonly MailboxEnqueue[],
    seal?: SealToFile,
  ): Promise<{ outcomes: readonly EnqueueOutcome[]; seal?: SealOutcome }>;
  /**
   * Deletes acknowledged envelopes by position; resolves how many were pending.
   *
   * @example
   * ```ts
   * const page = await ctx.stores.mailboxes.list(mailbox);
   * const deleted = await mailboxWriterOf(ctx).ack(page.items.map((e) => ({ mailbox, cursor: e.cursor })));
   * ```
   */
  ack(positions: readonly QueuedPosition[]): Promise<number>;
  /**
   * Group and item counts so far, submissions and acknowledgements together.
   *
   * @example
   * ```ts
   * const { groups, items } = mailboxWriterOf(ctx).statistics();
   * ctx.log.info({ meanGroup: items / Math.max(1, groups) }, 'write path');
   * ```
   */
  statistics(): GroupCommitStatistics;
}

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Runs one group in the caller's transaction. */
async function writeGroup(
  s: ServerStoreSet,
  items: readonly MailboxWrite[],
  archiveLimiter: RateLimiter,
  tenantMaxBytes: number,
): Promise<MailboxWriteResult[]> {
  const deliveries: MailboxEnqueue[] = [];
  const positions: QueuedPosition[] = [];
  for (const item of items) {
    if (item.kind === 'submission') deliveries.push(...item.deliveries);
    else positions.push(...item.positions);
  }
  const outcomes: EnqueueOutcome[] = [];
  for (const part of chunks(deliveries, MAX_MAILBOX_BATCH))
    outcomes.push(...(await s.mailboxes.enqueueMany(part)));
  let acknowledged = 0;
  for (const part of chunks(positions, MAX_MAILBOX_BATCH)) acknowledged += await s.mailboxes.ackQueued(part);
  const results: MailboxWriteResult[] = [];
  let at = 0;
  for (const item of items) {
    if (item.kind === 'ack') {
      // A group's acknowledgements are counted together; each caller learns only that it committed.
      results.push({ kind: 'ack', acknowledged: positions.length === 0 ? 0 : acknowledged });
      continue;
    }
    const mine = outcomes.slice(at, at + item.deliveries.length);
    at += item.deliveries.length;
    if (item.seal === undefined) {
      results.push({ kind: 'submission', outcomes: mine });
      continue;
    }
    let seal: SealOutcome;
    const { tenant, bytes, expiresAt, deliveryId } = item.seal;
    // The quota is read before the rate limiter counts the seal (it counts only seals that passed
    // every other check), and again, from what this transaction read, by the append: nothing is
    // written when it refuses, so the group's transaction goes on.
    if (!mine.some((o) => o.status === 'queued')) seal = { status: 'refused', reason: 'delivery' };
    else if (!(await s.archive.fits(tenant, bytes.length, tenantMaxBytes)))
      seal = { status: 'refused', reason: 'quota' };
    else if (!archiveLimiter.hit(tenant).allowed) seal = { status: 'refused', reason: 'rate' };
    else {
      try {
        await s.archive.append(
          tenant,
          { sealed: bytes, expiresAt, ...(deliveryId === undefined ? {} : { deliveryId }) },
          { tenantMaxBytes },
        );
        seal = { status: 'filed', expiresAt };
      } catch (error) {
        if (!(error instanceof QuotaExceededError)) throw error;
        seal = { status: 'refused', reason: 'quota' };
      }
    }
    results.push({ kind: 'submission', outcomes: mine, seal });
  }
  return results;
}

/**
 * Whether {@link writeGroup} makes one store call for `items` (all submissions without seals, or
 * all acknowledgements, within one batch): such a group needs no transaction around it, the call
 * being one statement, atomic by itself.
 */
function oneCall(items: readonly MailboxWrite[]): boolean {
  let rows = 0;
  for (const item of items) {
    if (item.kind === 'ack') rows += item.positions.length;
    else if (item.seal !== undefined) return false;
    else rows += item.deliveries.length;
  }
  return rows <= MAX_MAILBOX_BATCH;
}

const WRITERS = new WeakMap<ServerContext, MailboxWriter>();

/**
 * The relay's group committers of the instance `ctx` belongs to (created on first use): one for
 * submissions and one for acknowledgements, which need no atomicity with each other and so commit
 * side by side. On PostgreSQL two groups of each may be in flight at once (one commits while the
 * next is written); on an embedded database, one.
 *
 * @example
 * ```ts
 * import { messageId } from '@cloister/protocol';
 * const expiresAt = ctx.now() + ctx.limits.mailboxRetentionMs;
 * const { outcomes } = await mailboxWriterOf(ctx).submit([{ mailbox, messageId: messageId('m_0001'), envelope, expiresAt }]);
 * // outcomes[0] → { status: 'queued', cursor, arrivedAt } or { status: 'duplicate' }
 * ```
 */
export function mailboxWriterOf(ctx: ServerContext): MailboxWriter {
  let writer = WRITERS.get(ctx);
  if (writer !== undefined) return writer;
  const archiveLimiter = createRateLimiter({
    max: ARCHIVE_SEALS_PER_TENANT_PER_MINUTE,
    windowMs: 60_000,
    now: ctx.now,
  });
  const run = (items: readonly MailboxWrite[]): Promise<MailboxWriteResult[]> =>
    oneCall(items)
      ? // One store call, which runs as its own single-statement transaction.
        writeGroup(ctx.stores, items, archiveLimiter, ctx.limits.tenantMaxBytes)
      : ctx.stores.transaction((s) => writeGroup(s, items, archiveLimiter, ctx.limits.tenantMaxBytes));
  const options = { run, maxItems: 256, concurrency: ctx.adapter.kind.includes('postgres') ? 2 : 1 };
  const submissions: GroupCommit<MailboxWrite, MailboxWriteResult> = createGroupCommit(options);
  const acks: GroupCommit<MailboxWrite, MailboxWriteResult> = createGroupCommit(options);
  writer = {
    async submit(deliveries, seal) {
      const result = await submissions.submit(
        seal === undefined ? { kind: 'submission', deliveries } : { kind: 'submission', deliveries, seal },
      );
      if (result.kind !== 'submission') throw new Error('mailbox writer: mismatched result');
      return result.seal === undefined
        ? { outcomes: result.outcomes }
        : { outcomes: result.outcomes, seal: result.seal };
    },
    async ack(positions) {
      if (positions.length === 0) return 0;
      const result = await acks.submit({ kind: 'ack', positions });
      return result.kind === 'ack' ? result.acknowledged : 0;
    },
    statistics() {
      const a = submissions.statistics();
      const b = acks.statistics();
      return {
        groups: a.groups + b.groups,
        items: a.items + b.items,
        failedGroups: a.failedGroups + b.failedGroups,
      };
    },
  };
  WRITERS.set(ctx, writer);
  return writer;
}
