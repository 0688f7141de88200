/**
 * `@cloister/client/browser`: the SDK for browsers and other non-Node runtimes. The same client,
 * core and outbox as the main entry; its `createClient` uses the browser transport (`fetch`,
 * WebSocket and the server-key proof) unless the app passes another `transport`. No module this
 * entry reaches imports a Node built-in or `ws`, statically or with `import()`, so bundlers
 * (Vite, esbuild, webpack) need no shims:
 *
 * ```ts
 * import { createClient } from '@cloister/client/browser';
 * import { createIndexedDbAdapter } from '@cloister/storage/indexeddb';
 * const client = await createClient({ server: { url, pin }, storage: await createIndexedDbAdapter({ name: 'cloister' }) });
 * ```
 *
 * @module @cloister/client/browser
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
export { CloisterClient, createClient } from './client-browser.js';
export {
  type ClientEvent,
  type ClientMessage,
  type ClientPolicy,
  directConversationId,
  featureEnabled,
  groupConversationId,
  localMessageId,
} from './core/index.js';
export { NotEnrolledError, UnknownRecipientError } from './errors.js';
export {
  clientOptionsFromManagedConfig,
  MANAGED_SECRET_PIN_PREFIX,
  type ManagedEnrolOptions,
  MIN_MANAGED_SECRET_BYTES,
  secretPin,
} from './managed-config.js';
export { checkNewPin, DEFAULT_MIN_PIN_LENGTH, MIN_PIN_LENGTH_FLOOR } from './options.js';
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
export { NetworkError, type NetworkErrorCode, PinMismatchError, ServerError } from './transport/errors.js';
