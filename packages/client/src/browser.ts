/**
 * `@cloister/client/browser`: the SDK for browsers and other non-Node runtimes. The same client,
 * core and outbox as the main entry, with the browser transport (fetch + WebSocket + server-key
 * proof) and nothing that imports Node's modules. Pass the transport explicitly:
 *
 * ```ts
 * import { createBrowserTransport, createClient } from '@cloister/client/browser';
 * const client = await createClient({ server: { url, pin }, storage, transport: (o) => createBrowserTransport(o) });
 * ```
 *
 * @module @cloister/client/browser
 */
export {
  type ClientOptions,
  type ClientStatus,
  type ClientStep,
  CloisterClient,
  createClient,
  type OutgoingFile,
  type Recipient,
  type SendOptions,
  type TransferProgress,
  type TransportFactory,
  type WipeStatus,
} from './client.js';
export {
  type ClientEvent,
  type ClientMessage,
  type ClientPolicy,
  directConversationId,
  featureEnabled,
  groupConversationId,
  localMessageId,
} from './core/index.js';
export {
  BROWSER_WS_SUBPROTOCOL,
  type BrowserTransportOptions,
  type BrowserWebSocket,
  type BrowserWebSocketConstructor,
  createBrowserTransport,
  SERVER_KEY_PROOF_LABEL,
} from './transport/browser.js';
export {
  type Connection,
  type ConnectionHandlers,
  expectOk,
  parsePin,
  type RequestBody,
  type Transport,
  type TransportResponse,
} from './transport/common.js';
export { PinMismatchError, ServerError } from './transport/errors.js';
