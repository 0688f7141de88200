/**
 * The wake-up bus for several instances on one PostgreSQL (R41, R42): one dedicated connection
 * per instance runs `LISTEN "<channel>"`; `notify` runs `pg_notify(channel, mailbox)` on a small
 * pool (the wake-ups asked for in one event-loop turn in one statement), so every instance (this
 * one included) hears the mailbox id and wakes its sockets for that mailbox. The payload is the mailbox id and nothing else for a `wake`, and
 * `recheck <mailbox id>` for a `recheck` (a space never occurs in a mailbox id), and `invalidate`
 * for an invalidation of the recipient caches (not a mailbox id either).
 *
 * When the listening connection drops, the bus reconnects with exponential backoff (100 ms
 * doubling to 5 s, with jitter) and, once listening again, calls every listener of every mailbox
 * once with `recheck` and every invalidation listener once ("resync"): wake-ups and rechecks sent meanwhile were lost, and a listener
 * re-reads its device and mailbox when called, so nothing stays undelivered and no block is
 * missed. A `notify` that cannot reach the database wakes this
 * instance's listeners directly and resolves; other instances then learn of the envelope on
 * their next wake-up, resync or client fetch.
 *
 * @module
 */
import { StorageError, ValidationError } from '@cloister/crypto';
import { mailboxId } from '@cloister/protocol';
import pg from 'pg';
import { checkWakeupSignal, type WakeupBus, type WakeupSignal } from './bus.js';

/**
 * The default channel name.
 *
 * @example
 * ```ts
 * const bus = await createPostgresBus({
 *   connectionString: 'postgres://cloister@db.internal/cloister',
 *   channel: DEFAULT_BUS_CHANNEL, // 'cloister_wakeup', the channel used when none is given
 * });
 * ```
 */
export const DEFAULT_BUS_CHANNEL = 'cloister_wakeup';

/** Most wake-ups one `pg_notify` statement carries. */
const NOTIFY_BATCH = 500;

/** A wake-up waiting for the end of the event-loop turn. */
interface PendingNotify {
  readonly payload: string;
  readonly mailbox: string;
  readonly signal: WakeupSignal;
  readonly resolve: () => void;
}

/**
 * Options of {@link createPostgresBus}.
 *
 * @example
 * ```ts
 * const options: PostgresBusOptions = { connectionString: 'postgres://cloister@db.internal/cloister', channel: 'cloister_eu' };
 * ```
 */
export interface PostgresBusOptions {
  /** A `postgres://` URL (the same database as the instances' storage). */
  readonly connectionString: string;
  /** Channel name: 1..63 of `a-z 0-9 _`, starting with a letter or `_` (default `cloister_wakeup`). */
  readonly channel?: string;
  /** Where warnings go (default: none). Messages never contain mailbox ids or the URL. */
  readonly log?: { warn(message: string): void };
  /** First reconnect delay, ms (default 100). */
  readonly reconnectMinMs?: number;
  /** Longest reconnect delay, ms (default 5000). */
  readonly reconnectMaxMs?: number;
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;
const RECHECK_PREFIX = 'recheck ';
/** The payload of an invalidation (no mailbox id is ever this string). */
const INVALIDATE = 'invalidate';

/**
 * Creates and connects the PostgreSQL wake-up bus. Rejects with `StorageError` when the first
 * connection fails; later drops are retried in the background.
 *
 * @example
 * ```ts
 * const database = 'postgres://cloister@db.internal/cloister';
 * const server = await createServer({
 *   database,
 *   storageKey,
 *   bus: await createPostgresBus({ connectionString: database }),
 * });
 * ```
 */
export async function createPostgresBus(options: PostgresBusOptions): Promise<WakeupBus> {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  if (typeof options.connectionString !== 'string' || options.connectionString.length === 0) {
    throw new ValidationError('connectionString', 'a postgres:// URL');
  }
  const channel = options.channel ?? DEFAULT_BUS_CHANNEL;
  if (typeof channel !== 'string' || !CHANNEL.test(channel)) {
    throw new ValidationError('channel', '1..63 of a-z 0-9 _, not starting with a digit');
  }
  const minDelay = options.reconnectMinMs ?? 100;
  const maxDelay = options.reconnectMaxMs ?? 5_000;
  for (const [field, value] of [
    ['reconnectMinMs', minDelay],
    ['reconnectMaxMs', maxDelay],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new ValidationError(field, 'a positive integer');
  }
  const warn = (message: string) => {
    try {
      options.log?.warn(message);
    } catch {
      // ignore a failing logger
    }
  };

  const listeners = new Map<string, Set<(signal: WakeupSignal) => void>>();
  const dispatch = (mailbox: string, signal: WakeupSignal) => {
    for (const fn of [...(listeners.get(mailbox) ?? [])]) {
      try {
        fn(signal);
      } catch {
        warn('wake-up listener failed');
      }
    }
  };
  const invalidations = new Set<() => void>();
  const invalidateLocal = () => {
    for (const fn of [...invalidations]) {
      try {
        fn();
      } catch {
        warn('invalidation listener failed');
      }
    }
  };
  const resync = () => {
    // Messages may have been lost while disconnected: forget cached recipients, re-check sockets.
    invalidateLocal();
    for (const mailbox of [...listeners.keys()]) dispatch(mailbox, 'recheck');
  };

  const pool = new pg.Pool({ connectionString: options.connectionString, max: 2 });
  pool.on('error', () => warn('wake-up bus pool connection failed'));

  let closed = false;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let attempts = 0;

  const onNotification = (message: pg.Notification) => {
    if (message.channel !== channel || typeof message.payload !== 'string') return;
    if (message.payload === INVALIDATE) {
      invalidateLocal();
      return;
    }
    const recheck = message.payload.startsWith(RECHECK_PREFIX);
    let mailbox: string;
    try {
      mailbox = mailboxId(recheck ? message.payload.slice(RECHECK_PREFIX.length) : message.payload);
    } catch {
      return;
    }
    dispatch(mailbox, recheck ? 'recheck' : 'wake');
  };

  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString: options.connectionString });
    let failed = false;
    const lost = () => {
      if (failed) return;
      failed = true;
      c.removeAllListeners('notification');
      if (client === c) client = undefined;
      c.end().catch(() => undefined);
      if (!closed) {
        warn('wake-up bus connection lost; reconnecting');
        schedule();
      }
    };
    c.on('error', lost);
    c.on('end', lost);
    c.on('notification', onNotification);
    try {
      await c.connect();
      await c.query(`LISTEN "${channel}"`);
    } catch (error) {
      failed = true;
      c.removeAllListeners();
      c.on('error', () => undefined);
      await c.end().catch(() => undefined);
      throw error;
    }
    if (closed) {
      failed = true;
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
  }

  function schedule(): void {
    if (closed || timer !== undefined) return;
    const base = Math.min(maxDelay, minDelay * 2 ** Math.min(attempts, 20));
    attempts++;
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    timer = setTimeout(() => {
      timer = undefined;
      connect().then(
        () => {
          attempts = 0;
          if (!closed) resync();
        },
        () => schedule(),
      );
    }, delay);
    timer.unref();
  }

  // The wake-ups of one event-loop turn (a group commit's envelopes, say) go out in one statement,
  // at most NOTIFY_BATCH at a time; PostgreSQL delivers each payload as its own notification (and
  // one of identical payloads sent together, which wake the same sockets anyway).
  let outbox: PendingNotify[] = [];
  function flush(): void {
    const sending = outbox;
    outbox = [];
    for (let i = 0; i < sending.length; i += NOTIFY_BATCH) {
      const part = sending.slice(i, i + NOTIFY_BATCH);
      pool
        .query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [channel, part.map((n) => n.payload)])
        .catch(() => {
          warn('wake-up bus notify failed; waking local listeners only');
          for (const n of part) dispatch(n.mailbox, n.signal);
        })
        .finally(() => {
          for (const n of part) n.resolve();
        });
    }
  }

  try {
    await connect();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new StorageError('wake-up bus: cannot connect to the database', { cause: error });
  }

  return {
    async notify(mailbox, signal) {
      const id = mailboxId(mailbox);
      const s = checkWakeupSignal(signal);
      if (closed) return;
      return new Promise<void>((resolve) => {
        outbox.push({
          payload: s === 'recheck' ? `${RECHECK_PREFIX}${id}` : id,
          mailbox: id,
          signal: s,
          resolve,
        });
        if (outbox.length === 1) setImmediate(flush);
      });
    },
    async invalidate() {
      if (closed) return;
      try {
        await pool.query('SELECT pg_notify($1, $2)', [channel, INVALIDATE]);
      } catch {
        warn('wake-up bus invalidation failed; invalidating locally only');
        invalidateLocal();
      }
    },
    onInvalidate(listener) {
      if (typeof listener !== 'function') throw new ValidationError('listener', 'a function');
      invalidations.add(listener);
      return () => invalidations.delete(listener);
    },
    subscribe(mailbox, listener) {
      const id = mailboxId(mailbox);
      if (typeof listener !== 'function') throw new ValidationError('listener', 'a function');
      let set = listeners.get(id);
      if (set === undefined) {
        set = new Set();
        listeners.set(id, set);
      }
      set.add(listener);
      return () => {
        const current = listeners.get(id);
        if (current === undefined) return;
        current.delete(listener);
        if (current.size === 0) listeners.delete(id);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      listeners.clear();
      invalidations.clear();
      const c = client;
      client = undefined;
      if (c !== undefined) {
        c.removeAllListeners('end');
        c.removeAllListeners('notification');
        await c.end().catch(() => undefined);
      }
      await pool.end().catch(() => undefined);
    },
  };
}
