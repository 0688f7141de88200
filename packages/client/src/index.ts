/**
 * `@cloister/client`: the SDK an app embeds. Built up over issue 7; today it holds the persistent
 * outbox and the Node transport that pins the server's public key on every connection.
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
export { PinMismatchError, ServerError } from './transport/errors.js';
export {
  type BackoffOptions,
  backoffDelay,
  type Connection,
  type ConnectionHandlers,
  createNodeTransport,
  expectOk,
  type NodeTransportOptions,
  type RequestBody,
  type Transport,
  type TransportResponse,
} from './transport/node.js';
export { type PinnedConnectOptions, parsePin, peerKeyDigest, pinnedConnect } from './transport/pin.js';
