/**
 * `@cloister/client`: the SDK an app embeds, for Node. {@link createClient} gives a
 * {@link CloisterClient} over a sans-IO core, a persistent outbox and, unless the app passes its
 * own, the Node transport, which pins the server's public key on every connection. Browsers use
 * `@cloister/client/browser`, the same client with the browser transport. The client's typed
 * stores (identities, prekeys, sessions, conversations and messages, file blobs, settings) are
 * exported too, over any `@cloister/storage` adapter.
 *
 * @module @cloister/client
 */
export type {
  ClientOptions,
  ClientStatus,
  ClientStep,
  OutgoingFile,
  Recipient,
  SendOptions,
  TransferProgress,
  TransportFactory,
  WipeStatus,
} from './client.js';
export { CloisterClient, createClient } from './client-node.js';
export type { ComplianceDeclaration } from './compliance.js';
export {
  ARCHIVE_CONVERSATION_LABEL,
  type ArchiveRequest,
  type ArchiveState,
  archiveConversationId,
  type Capabilities,
  type Capability,
  type CapabilityMap,
  type ClientBroadcast,
  type ClientEvent,
  type ClientMessage,
  type ClientPolicy,
  CONTENT_TYPE_DEVICE_MESSAGE,
  type ConversationArchiveState,
  type CoreSelf,
  type CoreTx,
  capabilitiesOf,
  DELIVERY_ID_LABEL,
  type DirectoryDevice,
  deliveryId,
  directConversationId,
  featureEnabled,
  type GroupPolicy,
  groupConversationId,
  localMessageId,
  type OutboxJob,
  type ReceiveInput,
  type ReceiveOutcome,
  receiveDelivery,
  type StoredGroup,
  sealForDevice,
} from './core/index.js';
export { LINK_CODE_LABEL, type LinkStatus } from './devices.js';
export { parseEnrolmentCode } from './enrolment.js';
export { signEnrolmentProofBytes } from './enrolment-proof.js';
export { EnrolmentRefusedError, NotEnrolledError, UnknownRecipientError } from './errors.js';
export type { IdentityStatus } from './identities.js';
export { CLIENT_LOCAL_TABLES } from './local.js';
export {
  clientOptionsFromManagedConfig,
  MANAGED_SECRET_PIN_PREFIX,
  type ManagedEnrolOptions,
  MIN_MANAGED_SECRET_BYTES,
  secretPin,
} from './managed-config.js';
export { checkNewPin, DEFAULT_MIN_PIN_LENGTH, MIN_PIN_LENGTH_FLOOR } from './options.js';
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
} from './outbox/index.js';
export * from './store/index.js';
export {
  BROWSER_WS_SUBPROTOCOL,
  type BrowserTransportOptions,
  type BrowserWebSocket,
  type BrowserWebSocketConstructor,
  createBrowserTransport,
  SERVER_KEY_PROOF_LABEL,
} from './transport/browser.js';
export { CLIENT_VERSION, CLIENT_VERSION_HEADER } from './transport/common.js';
export { NetworkError, type NetworkErrorCode, PinMismatchError, ServerError } from './transport/errors.js';
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
