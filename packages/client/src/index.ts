/**
 * `@cloister/client`: the SDK an app embeds. Built up over issue 7; today it holds the persistent
 * outbox (and, when it lands, the pinned Node transport).
 *
 * @packageDocumentation
 */
export {
  createOutbox,
  MAX_OUTBOX_DESTINATION_LENGTH,
  MAX_OUTBOX_LIST_LIMIT,
  MAX_OUTBOX_PAYLOAD_BYTES,
  type MarkFailedOptions,
  OUTBOX_ORDERED_TABLES,
  OUTBOX_TABLES,
  type Outbox,
  type OutboxBackoff,
  type OutboxEntry,
  type OutboxInput,
  type OutboxOptions,
  type OutboxState,
  outboxBackoffDelay,
} from './outbox.js';
