/**
 * The delivery socket: one WebSocket to the server while the client runs. It reports the
 * connection state, hands each pushed delivery to the core (up to 64 per transaction, so that
 * ratchet state, the message and the "processed" marker commit together), emits the core's events
 * after the commit, and acknowledges what was processed. A delivery the core cannot process is
 * reported and acknowledged alone, never blocking the others; a storage failure leaves the batch
 * unacknowledged, so the server pushes it again.
 *
 * @module
 */
import { CloisterError } from '@cloister/crypto';
import type { ClientContext } from './context.js';
import {
  ackFrame,
  type ClientEvent,
  isOrganisationEnvelope,
  PROCESSED_TTL_MS,
  parseServerFrame,
  receiveDelivery,
} from './core/index.js';
import type { Connection } from './transport/common.js';
import { NetworkError } from './transport/errors.js';

/** Deliveries processed in one transaction. */
const RECEIVE_BATCH = 64;

/** What the socket asks of the rest of the client. */
export interface SocketHandlers {
  /** The socket opened (the first time, and after every reconnection). */
  readonly onOnline?: () => void;
  /** Something may be due in the outbox (the socket opened, or a message arrived). */
  readonly kickOutbox: () => void;
  /** The server finished pushing the backlog: time to refresh the policy and the prekeys. */
  readonly onSynced: () => Promise<void>;
  /** The server closed the socket with 1008 (policy): this device may have been wiped. */
  readonly onRefused: () => void;
  /**
   * Deliveries from devices that the pinned lists of these users do not admit were quarantined:
   * fetch their lists (which releases what they admit). Failures are the handler's to swallow.
   */
  readonly onQuarantined: (users: readonly string[]) => Promise<void>;
  /**
   * This user's pools as the server lists them (this device's sender certificate), asked before a
   * batch that holds a broadcast is processed (the audience check of a broadcast to pools).
   */
  readonly pools?: () => Promise<readonly string[]>;
  /** Broadcasts were shown (their ids): send the content-free delivered receipts. Never rejects. */
  readonly onBroadcasts?: (ids: readonly string[]) => void;
}

/** The delivery socket and the receive queue of one client. */
export class DeliverySocket {
  readonly #ctx: ClientContext;
  readonly #handlers: SocketHandlers;
  #connection: Connection | undefined;
  #queue: Promise<void> = Promise.resolve();
  #pending: { serverId: string; envelope: Uint8Array }[] = [];
  #drainScheduled = false;

  constructor(ctx: ClientContext, handlers: SocketHandlers) {
    this.#ctx = ctx;
    this.#handlers = handlers;
  }

  /** The receive queue's tail (for `idle`). */
  get queue(): Promise<void> {
    return this.#queue;
  }

  /**
   * Connects (the transport reconnects with backoff); resolves once open for the first time or the
   * first attempt failed. Emits `connection` `online` when the socket opens and `offline` when it
   * closes or an attempt fails — each only when the state changes, so a server that stays down
   * gives one `offline`, not one per attempt.
   */
  open(): Promise<void> {
    const ctx = this.#ctx;
    const u = ctx.ready();
    ctx.online = undefined;
    /** The network failure of the attempt that is ending, for the `offline` event. */
    let lastError: NetworkError | undefined;
    return new Promise<void>((resolve) => {
      let settled = false;
      const done = () => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      this.#connection = u.transport.connect('/v1/ws', {
        onOpen: () => {
          this.#state(true);
          this.#handlers.onOnline?.();
          this.#handlers.kickOutbox();
          done();
        },
        onFrame: (frame) => this.#onFrame(frame),
        onClose: ({ code }) => {
          this.#state(false, lastError);
          lastError = undefined;
          if (code === 1008) this.#handlers.onRefused();
          done();
        },
        onError: (error) => {
          if (error instanceof NetworkError) lastError = error;
          done();
        },
      });
    });
  }

  /** Closes the socket; what was received is still processed (await {@link DeliverySocket.queue}). */
  close(): void {
    this.#connection?.close();
    this.#connection = undefined;
    this.#ctx.online = undefined;
  }

  /** The server was found unreachable (`error`) before the socket's first attempt ended: `offline` now. */
  offline(error: NetworkError): void {
    this.#state(false, error);
  }

  /** Records the connection state and emits `connection` when it changed (with the reason when offline). */
  #state(online: boolean, error?: NetworkError): void {
    const ctx = this.#ctx;
    if (ctx.online === online) return;
    ctx.online = online;
    ctx.emit(
      online
        ? { type: 'connection', state: 'online' }
        : { type: 'connection', state: 'offline', ...(error === undefined ? {} : { error }) },
    );
  }

  #onFrame(bytes: Uint8Array): void {
    const frame = parseServerFrame(bytes);
    if (frame === undefined) return;
    if (frame.kind === 'synced') {
      this.#queue = this.#queue.then(async () => {
        this.#ctx.emit({ type: 'connection', state: 'synced' });
        await this.#handlers.onSynced();
      });
      return;
    }
    this.#pending.push({ serverId: frame.serverId, envelope: frame.envelope });
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    this.#queue = this.#queue.then(() => this.#receivePending()).catch(() => undefined);
  }

  /** Processes what arrived, up to {@link RECEIVE_BATCH} deliveries per transaction, then acknowledges them. */
  async #receivePending(): Promise<void> {
    this.#drainScheduled = false;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, RECEIVE_BATCH);
      try {
        await this.#receive(batch);
      } catch (error) {
        if (isStorageFailure(error)) continue; // not acknowledged: pushed again on the next connection
        // One delivery the core cannot process must not hold the others back: one at a time, and
        // one that fails again (outside storage) is acknowledged and reported, never retried forever.
        for (const one of batch) {
          try {
            await this.#receive([one]);
          } catch (e) {
            if (isStorageFailure(e) || this.#ctx.unlocked === undefined) continue;
            this.#ctx.emit({ type: 'undecryptable', reason: 'format' });
            await this.#acknowledge([one.serverId]).catch(() => undefined);
          }
        }
      }
    }
  }

  async #acknowledge(ids: readonly string[]): Promise<void> {
    const u = this.#ctx.unlocked;
    if (u === undefined) return;
    if (this.#connection?.open) this.#connection.send(ackFrame(ids));
    else await u.transport.request('POST', '/v1/messages/ack', { json: { ids } });
  }

  async #receive(batch: readonly { serverId: string; envelope: Uint8Array }[]): Promise<void> {
    const ctx = this.#ctx;
    const u = ctx.unlocked;
    if (u === undefined) return;
    const now = ctx.now();
    const quarantined = new Set<string>();
    // A broadcast to pools is checked against this user's pools; without them (offline), the batch
    // waits unacknowledged and the server pushes it again on the next connection.
    let pools: readonly string[] | undefined;
    if (this.#handlers.pools !== undefined && batch.some((b) => isOrganisationEnvelope(b.envelope))) {
      try {
        pools = await this.#handlers.pools();
      } catch {
        return;
      }
    }
    // The archive checks need this user's pools when the signed scope lists pools (the cached
    // certificate's; unknown offline, and then no gap is raised on pools).
    const policy = ctx.policy;
    let selfPools: readonly string[] | undefined = pools;
    if (
      selfPools === undefined &&
      policy !== undefined &&
      policy.archiveKey !== null &&
      (policy.archiveScope?.pools?.length ?? 0) > 0 &&
      this.#handlers.pools !== undefined
    ) {
      selfPools = await this.#handlers.pools().catch(() => undefined);
    }
    const archive = { policy, ...(selfPools === undefined ? {} : { selfPools }) };
    const events = await u.stores.transaction(async (t) => {
      quarantined.clear();
      const out: ClientEvent[] = [];
      for (const { serverId, envelope } of batch) {
        const outcome = await receiveDelivery(u.self, t, {
          serverId,
          envelope,
          now,
          lifetimeMs: ctx.policy?.messageLifetimeMs ?? null,
          processedTtlMs: PROCESSED_TTL_MS,
          ...(pools === undefined ? {} : { pools }),
          archive,
        });
        out.push(...outcome.events);
        for (const user of outcome.quarantined ?? []) quarantined.add(user);
      }
      return out;
    });
    await ctx.step('receive:committed');
    for (const e of events) ctx.emit(e);
    // A lost acknowledgement only means the server pushes these again; they are processed already.
    await this.#acknowledge(batch.map((b) => b.serverId)).catch(() => undefined);
    await ctx.step('receive:acked');
    if (quarantined.size > 0) await this.#handlers.onQuarantined([...quarantined]);
    const shown = events.flatMap((e) => (e.type === 'broadcast' ? [e.broadcast.id] : []));
    if (shown.length > 0) this.#handlers.onBroadcasts?.(shown);
    if (events.some((e) => e.type === 'message')) this.#handlers.kickOutbox();
  }
}

/** Whether an error came from the storage (retry later) rather than from what was received. */
function isStorageFailure(error: unknown): boolean {
  return error instanceof CloisterError && error.code === 'ERR_STORAGE';
}
