/**
 * The wake-up bus: when an envelope lands in a mailbox, every server instance holding a WebSocket
 * for that mailbox must learn of it. One process uses {@link createLocalBus}; several instances on
 * one PostgreSQL use `LISTEN/NOTIFY` (see `bus-postgres.ts`). A wake-up carries only the mailbox
 * id; the listener then reads the mailbox from the store, so a lost wake-up delays delivery until
 * the next one or the client's next fetch, but loses nothing.
 *
 * A message carries one of two signals: `wake` (something new was queued: push it) and `recheck`
 * (the device or its user was blocked, removed or wiped: re-read them now, before anything else is
 * pushed or acknowledged, and close the socket if refused). Pushes stay free of database reads
 * beyond the socket's periodic check; only a block pays for an immediate read.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import type { MailboxId } from '@cloister/protocol';

/**
 * What a bus message asks of the sockets of its mailbox: `wake` to push what is new, `recheck` to
 * re-read the device's and user's access at once (then push).
 *
 * @example
 * ```ts
 * const signal: WakeupSignal = 'recheck';
 * await ctx.bus.notify(mailbox, signal); // after blocking the mailbox's device
 * ```
 */
export type WakeupSignal = 'wake' | 'recheck';

/**
 * Checks a signal argument (`undefined` is `wake`); anything else is `ValidationError`.
 *
 * @example
 * ```ts
 * checkWakeupSignal(undefined); // → 'wake'
 * checkWakeupSignal('recheck'); // → 'recheck'
 * checkWakeupSignal('stop'); // throws ValidationError
 * ```
 */
export function checkWakeupSignal(signal: unknown): WakeupSignal {
  if (signal === undefined) return 'wake';
  if (signal !== 'wake' && signal !== 'recheck') throw new ValidationError('signal', "'wake' or 'recheck'");
  return signal;
}

/**
 * Publishes and receives "this mailbox has something new" or "re-check this mailbox's device",
 * across every instance that shares the bus ({@link createLocalBus} in one process,
 * {@link createPostgresBus} across instances).
 *
 * @example
 * ```ts
 * const bus: WakeupBus = ctx.bus;
 * const stop = bus.subscribe(mailbox, (signal) => {
 *   if (signal === 'recheck') console.log('re-read the device before pushing');
 * });
 * await bus.notify(mailbox); // every instance's listeners for the mailbox hear 'wake'
 * stop();
 * ```
 */
export interface WakeupBus {
  /**
   * Tells every instance (this one included) that `mailbox` changed (`signal`, default `wake`);
   * `ValidationError` for another signal.
   *
   * @example
   * ```ts
   * await ctx.bus.notify(mailbox); // something new was queued
   * await ctx.bus.notify(mailbox, 'recheck'); // its device was blocked: re-read before pushing
   * ```
   */
  notify(mailbox: MailboxId, signal?: WakeupSignal): Promise<void>;
  /**
   * Calls `listener` with the signal of every message for `mailbox` until the returned function
   * is called. A bus that may have lost messages calls it with `recheck`.
   *
   * @example
   * ```ts
   * const unsubscribe = ctx.bus.subscribe(mailbox, (signal) => console.log(`mailbox: ${signal}`));
   * unsubscribe(); // when the socket closes
   * ```
   */
  subscribe(mailbox: MailboxId, listener: (signal: WakeupSignal) => void): () => void;
  /**
   * Tells every instance (this one included) that recipient state changed (a device, user, pool,
   * policy or delivery epoch was written), so that each empties its recipient cache. Optional: a
   * bus without it leaves other instances to the cache's TTL.
   *
   * @example
   * ```ts
   * await ctx.bus.invalidate?.(); // after writing a device's blocked flag outside the stores
   * ```
   */
  invalidate?(): Promise<void>;
  /**
   * Calls `listener` for every invalidation, and when the bus may have lost messages, until the
   * returned function is called.
   *
   * @example
   * ```ts
   * const stop = ctx.bus.onInvalidate?.(() => recipientsOf(ctx).invalidate());
   * stop?.();
   * ```
   */
  onInvalidate?(listener: () => void): () => void;
  /**
   * Stops the bus (`CloisterServer.close` calls it).
   *
   * @example
   * ```ts
   * const bus = createLocalBus();
   * await bus.close(); // listeners are forgotten
   * ```
   */
  close(): Promise<void>;
}

/**
 * The in-process bus (one server instance).
 *
 * @example
 * ```ts
 * const bus = createLocalBus();
 * const stop = bus.subscribe(mailbox, (signal) => console.log(`mailbox: ${signal}`));
 * await bus.notify(mailbox); // → mailbox: wake
 * await bus.notify(mailbox, 'recheck'); // → mailbox: recheck
 * stop();
 * ```
 */
export function createLocalBus(): WakeupBus {
  const listeners = new Map<string, Set<(signal: WakeupSignal) => void>>();
  const invalidations = new Set<() => void>();
  return {
    async invalidate() {
      for (const fn of [...invalidations]) fn();
    },
    onInvalidate(listener) {
      invalidations.add(listener);
      return () => invalidations.delete(listener);
    },
    async notify(mailbox, signal) {
      const s = checkWakeupSignal(signal);
      for (const fn of [...(listeners.get(mailbox) ?? [])]) fn(s);
    },
    subscribe(mailbox, listener) {
      let set = listeners.get(mailbox);
      if (set === undefined) {
        set = new Set();
        listeners.set(mailbox, set);
      }
      set.add(listener);
      return () => {
        set.delete(listener);
        if (set.size === 0) listeners.delete(mailbox);
      };
    },
    async close() {
      listeners.clear();
      invalidations.clear();
    },
  };
}
