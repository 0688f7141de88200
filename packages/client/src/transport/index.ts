/**
 * Client transports.
 *
 * @module
 */
export {
  BROWSER_WS_SUBPROTOCOL,
  type BrowserTransportOptions,
  type BrowserWebSocket,
  type BrowserWebSocketConstructor,
  createBrowserTransport,
  SERVER_KEY_PROOF_LABEL,
} from './browser.js';
export { NetworkError, type NetworkErrorCode, PinMismatchError, ServerError } from './errors.js';
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
} from './node.js';
export { type PinnedConnectOptions, parsePin, peerKeyDigest, pinnedConnect } from './pin.js';
