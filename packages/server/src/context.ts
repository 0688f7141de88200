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

/**
 * Limits the server enforces, resolved from `ServerOptions.limits` over the defaults; routes read
 * them from `ctx.limits`.
 *
 * @example
 * ```ts
 * const limits: Partial<ServerLimits> = { blobBytes: 100 * 1024 * 1024, mailboxRetentionMs: 7 * 86_400_000 };
 * const server = await createServer({ dataDir: './cloister-data', limits });
 * server.context.limits.bodyBytes; // → 1048576 (the default, 1 MiB)
 * ```
 */
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
  /**
   * Period of the compliance archive's crypto-shredding keyring, in ms (1 s..10 years; default one
   * day): an archive item stays readable at most one period past its expiry
   * (`spec/archive-server.md` §4).
   */
  readonly archiveShredPeriodMs: number;
}

/**
 * A content-free push hint sender for offline devices (R08); `createWebhookNotifier` is one, and
 * `ServerOptions.notifier` takes any.
 *
 * @example
 * ```ts
 * const notifier: Notifier = {
 *   async notify({ mailboxHint }) {
 *     await fetch('https://push.example.org/hint', { method: 'POST', body: mailboxHint });
 *   },
 * };
 * const server = await createServer({ notifier });
 * ```
 */
export interface Notifier {
  /**
   * Tells the device's push service that `mailboxHint` has something waiting; never content or sender.
   *
   * @example
   * ```ts
   * await ctx.notifier?.notify({ mailboxHint: mailbox });
   * ```
   */
  notify(hint: { readonly mailboxHint: string }): Promise<void>;
}

/**
 * The shared state of one server instance, handed to every route module (`server.context`).
 *
 * @example
 * ```ts
 * const ctx: ServerContext = server.context;
 * const pending = await ctx.stores.mailboxes.count(mailbox);
 * ctx.log.info({ pending }, 'mailbox size');
 * ```
 */
export interface ServerContext {
  /** The server's typed stores (tenants, users, devices, mailboxes, blobs, policies, …). */
  readonly stores: ServerStores;
  /** The storage adapter the stores run on (encrypted at rest). */
  readonly adapter: StorageAdapter;
  /** The crypto provider every route uses. */
  readonly provider: CryptoProvider;
  /** The clock, in ms since the epoch (`Date.now` unless `ServerOptions.now` replaces it). */
  readonly now: () => number;
  /** The wake-up bus that tells instances holding a mailbox's sockets that it changed. */
  readonly bus: WakeupBus;
  /** Delivery tokens, keyed by the organisation key (the same on every instance). */
  readonly deliveryTokens: DeliveryTokens;
  /** The organisation key (derive purpose keys from it with a labelled HKDF; never log it). */
  readonly organisationKey: Uint8Array;
  /** Push hints for offline devices; `undefined` when none is configured. */
  readonly notifier: Notifier | undefined;
  /** The limits in force (`ServerOptions.limits` over the defaults). */
  readonly limits: ServerLimits;
  /** The server's structured logger (never give it content, keys or tokens). */
  readonly log: FastifyBaseLogger;
  /** Aborted when the server starts shutting down (long-lived handlers finish and stop). */
  readonly shutdown: AbortSignal;
}

/**
 * A route module: registers its routes on the Fastify instance, with the server's context.
 * `ServerOptions.routes` takes a list of them.
 *
 * @example
 * ```ts
 * const hello: RouteModule = (app, ctx) => {
 *   app.get('/v1/hello', async (request) => {
 *     const caller = await authenticate(ctx, request);
 *     return { user: caller.user };
 *   });
 * };
 * const server = await createServer({ routes: [hello, enrolmentRoutes] });
 * ```
 */
export type RouteModule = (app: FastifyInstance, ctx: ServerContext) => void | Promise<void>;
