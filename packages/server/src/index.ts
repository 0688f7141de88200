/**
 * `@cloister/server`: the reference relay. Enrolment, key bundles, sealed delivery, files; one
 * process on an embedded database, or several instances on PostgreSQL. It never sees content or
 * senders.
 *
 * @packageDocumentation
 */
export {
  authenticate,
  authorizationHeader,
  CREDENTIAL_BYTES,
  credentialHash,
  type DeviceAuth,
} from './auth.js';
export { createLocalBus, type WakeupBus } from './bus.js';
export type { Notifier, RouteModule, ServerContext, ServerLimits } from './context.js';
export {
  createDeliveryTokens,
  DELIVERY_TOKEN_BYTES,
  type DeliveryTokens,
  newMailboxId,
} from './delivery-token.js';
export { type ErrorBody, toHttpError } from './http-errors.js';
export { mayContact, type PoolRules, poolRulesFrom } from './policy-pools.js';
export {
  type DeviceBundleEntry,
  type DeviceBundlesResponse,
  keyRoutes,
  type PreKeyCounts,
} from './routes/keys.js';
export { type CloisterServer, createServer, type ServerOptions } from './server.js';
export { generateSelfSigned, loadOrCreateSelfSigned, spkiPin, type TlsMaterial } from './tls.js';
