/**
 * What every route module receives: the stores, the crypto provider, the clock, the wake-up bus,
 * the notifier and the resolved configuration. Route modules are functions
 * `(app, ctx) => void | Promise<void>` registered by `createServer`.
 *
 * @module
 */
import type { CryptoProvider } from '@cloister/crypto';
import type { StorageAdapter } from '@cloister/storage';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { WakeupBus } from './bus.js';
import type { DeliveryTokens } from './delivery-token.js';
import type { ServerStores } from './store/index.js';

/** Limits the server enforces. */
export interface ServerLimits {
  /** Largest request body of the JSON and protobuf APIs, in bytes. */
  readonly bodyBytes: number;
  /** Largest blob upload chunk, in bytes. */
  readonly blobChunkBytes: number;
  /** Largest blob, in bytes. */
  readonly blobBytes: number;
  /** How long undelivered envelopes are kept at most, in ms. */
  readonly mailboxRetentionMs: number;
  /** Requests per minute one device credential may make, on this instance. */
  readonly deviceRequestsPerMinute: number;
  /** Deliveries per minute one mailbox may receive through its delivery token, on this instance. */
  readonly deliveriesPerMailboxPerMinute: number;
  /** Most pending envelopes one mailbox may hold (a delivery past it is refused with 507 `ERR_QUOTA`). */
  readonly mailboxMaxEnvelopes: number;
  /** Most bytes the pending envelopes of one mailbox may take in storage (507 `ERR_QUOTA` past it). */
  readonly mailboxMaxBytes: number;
  /**
   * Most bytes of blobs one device may hold, counted by declared size from the upload's start
   * until the blob is deleted or its expiry day ends (507 `ERR_QUOTA` `device.blobBytes` past it).
   */
  readonly blobMaxBytesPerDevice: number;
  /** Most blobs one device may hold, unfinished uploads included (507 `ERR_QUOTA` `device.blobs`). */
  readonly blobMaxCountPerDevice: number;
  /**
   * Most bytes one tenant's blobs and compliance archive may take together (507 `ERR_QUOTA`
   * `tenant.bytes` for an upload; an archive seal past it is refused with `quota`).
   */
  readonly tenantMaxBytes: number;
}

/** A content-free push hint sender for offline devices (R08). */
export interface Notifier {
  /** Tells the device's push service that `mailboxHint` has something waiting; never content or sender. */
  notify(hint: { readonly mailboxHint: string }): Promise<void>;
}

/** The shared state of one server instance. */
export interface ServerContext {
  readonly stores: ServerStores;
  /** The storage adapter the stores run on (encrypted at rest). */
  readonly adapter: StorageAdapter;
  readonly provider: CryptoProvider;
  readonly now: () => number;
  readonly bus: WakeupBus;
  /** Delivery tokens, keyed by the organisation key (the same on every instance). */
  readonly deliveryTokens: DeliveryTokens;
  /** The organisation key (derive purpose keys from it with a labelled HKDF; never log it). */
  readonly organisationKey: Uint8Array;
  readonly notifier: Notifier | undefined;
  readonly limits: ServerLimits;
  readonly log: FastifyBaseLogger;
  /** Aborted when the server starts shutting down (long-lived handlers finish and stop). */
  readonly shutdown: AbortSignal;
}

/** A route module. */
export type RouteModule = (app: FastifyInstance, ctx: ServerContext) => void | Promise<void>;
