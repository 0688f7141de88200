/**
 * The wake-up bus: when an envelope lands in a mailbox, every server instance holding a WebSocket
 * for that mailbox must learn of it. One process uses {@link createLocalBus}; several instances on
 * one PostgreSQL use `LISTEN/NOTIFY` (see `bus-postgres.ts`). A wake-up carries only the mailbox
 * id; the listener then reads the mailbox from the store, so a lost wake-up delays delivery until
 * the next one or the client's next fetch, but loses nothing.
 *
 * @module
 */
import type { MailboxId } from '@cloister/protocol';

/** Publishes and receives "this mailbox has something new". */
export interface WakeupBus {
  /** Tells every instance (this one included) that `mailbox` changed. */
  notify(mailbox: MailboxId): Promise<void>;
  /** Calls `listener` for every wake-up of `mailbox` until the returned function is called. */
  subscribe(mailbox: MailboxId, listener: () => void): () => void;
  /** Stops the bus. */
  close(): Promise<void>;
}

/**
 * The in-process bus (one server instance).
 *
 * @example
 * ```ts
 * const bus = createLocalBus();
 * const stop = bus.subscribe(mailbox, () => deliverPending(mailbox));
 * await bus.notify(mailbox);
 * stop();
 * ```
 */
export function createLocalBus(): WakeupBus {
  const listeners = new Map<string, Set<() => void>>();
  return {
    async notify(mailbox) {
      for (const fn of listeners.get(mailbox) ?? []) fn();
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
    },
  };
}
