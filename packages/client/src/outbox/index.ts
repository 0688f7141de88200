/**
 * A persistent outbox: messages waiting to be sent, kept in the client's store so that they
 * survive restarts and crashes. Delivery is at least once (an entry stays due until it is
 * marked sent); the receiver's deduplication by message id makes it exactly once. The layout,
 * states and backoff are described in `spec/client-outbox.md`.
 *
 * @module
 */
export { type OutboxBackoff, outboxBackoffDelay } from './backoff.js';
export {
  createOutbox,
  MAX_OUTBOX_LIST_LIMIT,
  type MarkFailedOptions,
  type Outbox,
  type OutboxInput,
  type OutboxOptions,
} from './queue.js';
export {
  MAX_OUTBOX_DESTINATION_LENGTH,
  MAX_OUTBOX_PAYLOAD_BYTES,
  OUTBOX_ORDERED_TABLES,
  OUTBOX_TABLES,
  type OutboxEntry,
  type OutboxState,
} from './record.js';
