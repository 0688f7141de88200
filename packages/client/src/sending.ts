/**
 * The outbox loop: takes what is due from the persistent outbox, delivers it (several entries
 * together, one by one after a failure so that only the failing entry waits), marks it sent or
 * failed, reports `sent` and `send-failed`, and wakes again for retries while the client runs.
 * What goes to whom is the core's decision (`core/delivery-plan.ts`); this module does the I/O.
 *
 * @module
 */
import { CloisterError, LimitError, type PreKeyBundle } from '@cloister/crypto';
import { decodeContent, encodeSealedDeliveryBatch, type MessageId, type UserId } from '@cloister/protocol';
import type { ClientContext, Unlocked } from './context.js';
import {
  type DeliveryTarget,
  type DirectoryDevice,
  decodeJob,
  deliveryTargets,
  deviceKey,
  devicesToStart,
  localMessageId,
  type PlannedEntry,
  planEntry,
  sealDeliveries,
  submissionBatches,
  usersToLookUp,
} from './core/index.js';
import type { Directory } from './directory.js';
import { UnknownRecipientError } from './errors.js';
import type { OutboxEntry } from './outbox/index.js';
import { expectOk } from './transport/common.js';
import { NetworkError, ServerError } from './transport/errors.js';

/** Entries taken from the outbox at once. */
const DUE_BATCH = 16;
/** How long the loop waits before looking again while entries are pending: 1 s. */
const RETRY_POLL_MS = 1000;
/** How long the loop waits after the server could not be reached while the socket is open: 5 s. */
const NETWORK_RETRY_MS = 5000;

/** The outbox loop of one client. */
export class OutboxLoop {
  readonly #ctx: ClientContext;
  readonly #directory: Directory;
  readonly #onForbidden: () => void;
  #running: Promise<void> | undefined;
  #again = false;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  /** `onForbidden` runs when the server refuses this device (403): the caller checks for a wipe. */
  constructor(ctx: ClientContext, directory: Directory, onForbidden: () => void) {
    this.#ctx = ctx;
    this.#directory = directory;
    this.#onForbidden = onForbidden;
  }

  /** The current run, if any (for `idle`). */
  get running(): Promise<void> | undefined {
    return this.#running;
  }

  /** Whether another run was asked for while one was going. */
  get pendingKick(): boolean {
    return this.#again;
  }

  /** Starts a run, or asks the current one to go round again. */
  kick(): void {
    if (this.#ctx.unlocked === undefined) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    const run = async () => {
      do {
        this.#again = false;
        await this.#drain();
      } while (this.#again && this.#ctx.unlocked !== undefined);
    };
    this.#running = run()
      .catch(() => undefined)
      .finally(() => {
        this.#running = undefined;
      });
  }

  /** Cancels the retry timer and waits for the current run. */
  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await this.#running?.catch(() => undefined);
  }

  async #drain(): Promise<void> {
    for (;;) {
      const u = this.#ctx.unlocked;
      if (u === undefined) return;
      const due = await u.outbox.due(DUE_BATCH);
      if (due.length === 0) {
        await this.#scheduleNextAttempt(u);
        return;
      }
      try {
        await this.#deliver(u, due);
        for (const entry of due) {
          await u.outbox.markSent(entry.id);
          await this.#ctx.step('send:marked');
        }
        continue;
      } catch (e) {
        if (this.#ctx.unlocked === undefined) return;
        if (e instanceof NetworkError) return this.#waitForNetwork();
        if (due.length === 1) {
          await this.#failed(u, due[0]!, e);
          continue;
        }
      }
      // Something in the group failed: one by one, so that only the failing entry waits.
      for (const entry of due) {
        try {
          await this.#deliver(u, [entry]);
          await u.outbox.markSent(entry.id);
          await this.#ctx.step('send:marked');
        } catch (e) {
          if (this.#ctx.unlocked === undefined) return;
          if (e instanceof NetworkError) return this.#waitForNetwork();
          await this.#failed(u, entry, e);
        }
      }
    }
  }

  async #failed(u: Unlocked, entry: OutboxEntry, e: unknown): Promise<void> {
    const error = e instanceof Error ? e : new Error('failed');
    const report = () =>
      this.#ctx.emit({
        type: 'send-failed',
        messageId: entryMessageId(entry, u.registration.userId),
        outboxId: entry.id,
        reason: error.message,
        error,
      });
    if (e instanceof UnknownRecipientError) {
      // No such user: no retry can help and there is nothing to retry by hand, so it leaves the outbox.
      if (await u.outbox.markSent(entry.id)) report();
      return;
    }
    const permanent =
      e instanceof CloisterError && (e.code === 'ERR_VALIDATION' || e.code === 'ERR_FORBIDDEN');
    const after = await u.outbox.markFailed(entry.id, { permanent });
    if (after?.state === 'failed') report();
    if (e instanceof ServerError && e.status === 403) this.#onForbidden();
  }

  /**
   * The server could not be reached: the entries stay pending with their attempts uncounted (an
   * offline device never uses up its retries). The socket's next opening wakes the loop; while
   * the socket believes it is open, the loop looks again after {@link NETWORK_RETRY_MS}.
   */
  #waitForNetwork(): void {
    if (!this.#ctx.started || this.#ctx.online !== true) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.kick();
    }, NETWORK_RETRY_MS);
    timer.unref?.();
    this.#timers.add(timer);
  }

  async #scheduleNextAttempt(u: Unlocked): Promise<void> {
    const pending = await u.outbox.count('pending');
    if (pending === 0 || !this.#ctx.started) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.kick();
    }, RETRY_POLL_MS);
    timer.unref?.();
    this.#timers.add(timer);
  }

  /**
   * Delivers several outbox entries together: one directory pass, one transaction encrypting for
   * every device of every entry (ratchet steps commit before anything leaves), then as few
   * submissions as the server's limits allow. Copies the server refuses for their delivery token
   * (expired, or stale after a change of pools, blocks or pool rules) go round once more: the
   * directory of their users is fetched again (fresh tokens; a sender who may no longer reach a
   * user gets the directory's 403, which fails the entry as before) and only those copies are
   * encrypted and submitted again. A second refusal throws, so the outbox retries later with its
   * backoff and bounded attempts. Throws when any part fails; the caller then retries the entries
   * one by one so that one bad entry does not hold the others back.
   */
  async #deliver(u: Unlocked, entries: readonly OutboxEntry[]): Promise<void> {
    const ctx = this.#ctx;
    const plans = await u.adapter.transaction(async (tx) => {
      const out = [];
      for (const entry of entries) out.push(await planEntry(u.self, tx, entry));
      return out;
    });
    const devices = new Map<string, readonly DirectoryDevice[]>();
    for (const user of usersToLookUp(u.self, plans)) {
      try {
        devices.set(user, await this.#directory.devicesOf(user));
      } catch (e) {
        if (!(e instanceof UnknownRecipientError)) throw e;
        // A 1:1 message to them fails; a group member who no longer exists gets no copy.
        const direct = plans.find((p) => 'user' in p.job.to && p.job.to.user === user);
        if (direct !== undefined) throw e;
        devices.set(user, []);
      }
    }
    const devicesOf = (user: string) => devices.get(user) ?? [];
    let targets = deliveryTargets(u.self, plans, devicesOf);
    await ctx.step('send:directory');
    const refused = new Array<number>(plans.length).fill(0);
    const deliveredTo = new Array<number>(plans.length).fill(0);
    /** `<entry index>/<device key>` of every copy the server took. */
    const delivered = new Set<string>();
    /** Entries whose archive seal the server has archived (it rode in a submission that queued something). */
    const archived = new Set<number>();
    for (let round = 0; targets.length > 0; round++) {
      const outcomes = await this.#sealAndSubmit(u, plans, targets, archived);
      const stale: DeliveryTarget[] = [];
      outcomes.forEach((outcome, k) => {
        const target = targets[k]!;
        if (outcome === 'delivered') {
          deliveredTo[target.index]!++;
          delivered.add(`${target.index}/${deviceKey(target.device)}`);
        } else if (outcome === 'token') stale.push(target);
        else refused[target.index]!++;
      });
      if (stale.length === 0) break;
      if (round > 0) throw new LimitError('delivery tokens refused again after a refresh; retrying later');
      // Fresh tokens: the users whose copies were refused, from the server's directory again;
      // and a fresh certificate: this user's own pools may be what changed (spec/pools.md §3).
      this.#directory.forgetCertificate();
      const again = new Set(stale.map((t) => `${t.index}/${t.device.userId}`));
      for (const user of new Set(stale.map((t) => t.device.userId))) {
        this.#directory.forget(user);
        devices.set(user, await this.#directory.devicesOf(user as UserId));
      }
      targets = deliveryTargets(u.self, plans, devicesOf).filter(
        (t) =>
          again.has(`${t.index}/${t.device.userId}`) && !delivered.has(`${t.index}/${deviceKey(t.device)}`),
      );
    }
    plans.forEach((p, index) => {
      if (refused[index]! > 0) {
        // A device went away or changed its mailbox: refresh the directory; the next attempt uses it.
        for (const user of [...p.users, u.registration.userId]) this.#directory.forget(user);
      }
      ctx.emit({ type: 'sent', messageId: p.localId, outboxId: p.entry.id, devices: deliveredTo[index]! });
    });
  }

  /**
   * Encrypts one copy per target (starting sessions from full bundles where needed) and submits
   * them; resolves one outcome per target, in order: `delivered` (accepted or duplicate), `token`
   * (refused for its delivery token: refresh and retry) or `refused` (refused without a reason,
   * by a server that does not give one). Entries in `archived` go without their archive seal;
   * entries whose seal the server archived now are added to it.
   */
  async #sealAndSubmit(
    u: Unlocked,
    plans: readonly PlannedEntry[],
    targets: readonly DeliveryTarget[],
    archived: Set<number>,
  ): Promise<('delivered' | 'token' | 'refused')[]> {
    const ctx = this.#ctx;
    const certificate = await this.#directory.senderCertificate();
    // Sessions to start: fetch their full bundles before the encryption transaction.
    const toStart = await u.stores.transaction((t) => devicesToStart(t, targets));
    const bundles = new Map<string, PreKeyBundle>();
    for (const device of toStart) bundles.set(deviceKey(device), await this.#directory.fullBundle(device));
    const sealed = await u.stores.transaction((t) =>
      sealDeliveries(u.self, t, { plans, targets, certificate, bundles }),
    );
    await ctx.step('send:encrypted');
    // One copy per target, in order; a seal the server already archived is not sent again.
    const copies = sealed.map((copy, k) => {
      const { archiveSeal, ...rest } = copy;
      const keep = archiveSeal !== undefined && !archived.has(copy.index);
      return { ...rest, ...(keep ? { archiveSeal } : {}), target: k };
    });
    const outcomes = new Array<'delivered' | 'token' | 'refused'>(targets.length).fill('refused');
    // The copies for this user's own devices go in submissions of their own, after the others have
    // been answered: the server then queues them in a later commit than the copies they mirror, so a
    // copy of its database does not show them written together (spec/metadata.md).
    const own = (c: { target: number }) => targets[c.target]?.device.userId === u.registration.userId;
    const batches = [
      ...submissionBatches(copies.filter((c) => !own(c))),
      ...submissionBatches(copies.filter(own)),
    ];
    for (const batch of batches) {
      const res = expectOk(
        // Anonymous: the sealed envelope names its sender only to the recipient.
        await u.anonymous.request('POST', '/v1/messages/batch', {
          body: encodeSealedDeliveryBatch({
            deliveries: batch.map(({ messageId, envelope, archiveSeal }) => ({
              messageId,
              envelope,
              ...(archiveSeal === undefined ? {} : { archiveSeal }),
            })),
          }),
        }),
      ).json as {
        results: { status: string; reason?: string }[];
        archive?: { status: string; reason?: string };
      };
      // The server tells what it did with the seal: one it did not file is reported to the app.
      if (res.archive?.status === 'refused') {
        ctx.emit({ type: 'archive-refused', reason: String(res.archive.reason ?? 'refused') });
      }
      res.results.forEach((r, k) => {
        const copy = batch[k];
        if (copy === undefined) return;
        outcomes[copy.target] =
          r.status === 'accepted' || r.status === 'duplicate'
            ? 'delivered'
            : r.status === 'refused' && r.reason === 'token'
              ? 'token'
              : 'refused';
      });
      // The server archives a submission's seal when the submission queued anything.
      const seal = batch.find((c) => c.archiveSeal !== undefined);
      if (seal !== undefined && res.results.some((r) => r.status === 'accepted')) archived.add(seal.index);
    }
    await ctx.step('send:submitted');
    return outcomes;
  }
}

/** The local message id an outbox entry carries (its content's), or the entry id when unreadable. */
function entryMessageId(entry: OutboxEntry, me: string): MessageId {
  try {
    return localMessageId(decodeContent(decodeJob(entry.payload).content).messageId, me);
  } catch {
    return entry.id;
  }
}
