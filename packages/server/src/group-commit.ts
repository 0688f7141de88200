/**
 * Group commit: the work items submitted in one turn of the event loop run together, as one call
 * of `run` (one database transaction), and each submitter gets its own result once that call has
 * resolved (after the commit). While groups are in flight, new items wait and form the next group,
 * so the group size grows with the load and one commit serves many requests.
 *
 * When a group fails, each of its items runs again alone, so that one bad item fails only its own
 * submitter; an item that fails alone rejects with its own error.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';

/**
 * Options of {@link createGroupCommit}.
 *
 * @example
 * ```ts
 * const options: GroupCommitOptions<QueuedPosition, number> = {
 *   run: async (positions) => {
 *     await ctx.stores.mailboxes.ackQueued(positions); // one transaction for the whole group
 *     return positions.map(() => 1);
 *   },
 *   maxItems: 256,
 *   concurrency: 2,
 * };
 * const acks = createGroupCommit(options);
 * ```
 */
export interface GroupCommitOptions<I, O> {
  /** Runs one group; resolves one result per item, in order (it must not resolve fewer). */
  readonly run: (items: readonly I[]) => Promise<O[]>;
  /** Most items of one group (default 256). */
  readonly maxItems?: number;
  /** Most groups in flight at once (default 1). */
  readonly concurrency?: number;
}

/**
 * Counters of a {@link GroupCommit}, for benchmarks and metrics.
 *
 * @example
 * ```ts
 * const writer = createGroupCommit<QueuedPosition, void>({
 *   run: async (positions) => {
 *     await ctx.stores.mailboxes.ackQueued(positions);
 *     return positions.map(() => undefined);
 *   },
 * });
 * const stats: GroupCommitStatistics = writer.statistics();
 * console.log(`mean group size ${(stats.items / Math.max(1, stats.groups)).toFixed(1)}`);
 * ```
 */
export interface GroupCommitStatistics {
  /** Groups run (retries of single items not counted). */
  readonly groups: number;
  /** Items run in those groups. */
  readonly items: number;
  /** Groups that failed and were retried item by item. */
  readonly failedGroups: number;
}

/**
 * A group committer: the items submitted in one event-loop turn run as one group.
 *
 * @example
 * ```ts
 * const acks: GroupCommit<QueuedPosition, void> = createGroupCommit<QueuedPosition, void>({
 *   run: async (positions) => {
 *     await ctx.stores.mailboxes.ackQueued(positions);
 *     return positions.map(() => undefined);
 *   },
 * });
 * const page = await ctx.stores.mailboxes.list(mailbox);
 * await Promise.all(page.items.map((e) => acks.submit({ mailbox, cursor: e.cursor }))); // one commit
 * ```
 */
export interface GroupCommit<I, O> {
  /**
   * Queues `item` for the next group; resolves with its result after that group's commit, or
   * rejects with its own error when it fails alone.
   *
   * @example
   * ```ts
   * const acks = createGroupCommit<QueuedPosition, number>({
   *   run: async (positions) => positions.map(() => 1),
   * });
   * await acks.submit({ mailbox, cursor: '0'.repeat(32) }); // → 1
   * ```
   */
  submit(item: I): Promise<O>;
  /**
   * The counters so far.
   *
   * @example
   * ```ts
   * const { groups, items, failedGroups } = mailboxWriterOf(ctx).statistics();
   * ```
   */
  statistics(): GroupCommitStatistics;
}

interface Pending<I, O> {
  readonly item: I;
  readonly resolve: (value: O) => void;
  readonly reject: (error: unknown) => void;
}

function positive(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new ValidationError(field, 'a positive integer');
  return value;
}

/**
 * Creates a group committer over `options.run`.
 *
 * @example
 * ```ts
 * const acks = createGroupCommit<QueuedPosition, void>({
 *   run: async (positions) => {
 *     await ctx.stores.mailboxes.ackQueued(positions);
 *     return positions.map(() => undefined);
 *   },
 * });
 * const [first] = (await ctx.stores.mailboxes.list(mailbox, { limit: 1 })).items;
 * if (first !== undefined) await acks.submit({ mailbox, cursor: first.cursor }); // after the commit
 * ```
 */
export function createGroupCommit<I, O>(options: GroupCommitOptions<I, O>): GroupCommit<I, O> {
  if (typeof options?.run !== 'function') throw new ValidationError('run', 'a function');
  const maxItems = positive(options.maxItems, 256, 'maxItems');
  const concurrency = positive(options.concurrency, 1, 'concurrency');
  const run = options.run;
  let queue: Pending<I, O>[] = [];
  let inFlight = 0;
  let scheduled = false;
  let groups = 0;
  let items = 0;
  let failedGroups = 0;

  async function runGroup(group: Pending<I, O>[]): Promise<void> {
    groups++;
    items += group.length;
    let results: O[];
    try {
      results = await run(group.map((p) => p.item));
      if (results.length !== group.length) throw new Error('group commit: wrong number of results');
    } catch (error) {
      if (group.length === 1) {
        group[0]?.reject(error);
        return;
      }
      // One bad item must not fail its neighbours: each runs again alone.
      failedGroups++;
      for (const p of group) {
        try {
          const [result] = await run([p.item]);
          p.resolve(result as O);
        } catch (e) {
          p.reject(e);
        }
      }
      return;
    }
    group.forEach((p, k) => {
      p.resolve(results[k] as O);
    });
  }

  function flush(): void {
    scheduled = false;
    while (queue.length > 0 && inFlight < concurrency) {
      const group = queue.length <= maxItems ? queue : queue.slice(0, maxItems);
      queue = queue.length <= maxItems ? [] : queue.slice(maxItems);
      inFlight++;
      void runGroup(group).finally(() => {
        inFlight--;
        schedule();
      });
    }
  }

  function schedule(): void {
    if (scheduled || queue.length === 0 || inFlight >= concurrency) return;
    scheduled = true;
    // After the I/O callbacks of this turn: every request read in this turn joins the group.
    setImmediate(flush);
  }

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        schedule();
      });
    },
    statistics() {
      return { groups, items, failedGroups };
    },
  };
}
