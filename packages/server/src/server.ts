/**
 * `createServer(options)`: one Cloister relay instance. Fastify over HTTPS with TLS 1.3 only,
 * storage on embedded PGlite in the data directory (or PostgreSQL), encrypted at rest under a key
 * the organisation controls, structured logs that never hold content, keys or tokens, and a
 * graceful shutdown that lets in-flight requests finish.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import {
  type CryptoProvider,
  fromHex,
  getProvider,
  RateLimitedError,
  toHex,
  ValidationError,
} from '@cloister/crypto';
import { deriveServerDataKey, openEncryptedAdapter, type StorageAdapter } from '@cloister/storage';
import { createPGliteAdapter, createPostgresAdapter } from '@cloister/storage/sql';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { startJobResumer } from './admin/api/bulk.js';
import { lastSeenHook } from './admin/api/last-seen.js';
import { checkOperatorToken, configureOperatorToken } from './admin/api/operator.js';
import { configureIntegrationKeys, DEFAULT_INTEGRATION_KEY_CONFIG } from './admin/integration-keys.js';
import { createLocalBus, type WakeupBus } from './bus.js';
import {
  applyConnectionLimits,
  type ConnectionCounts,
  type ConnectionLimits,
  checkConnectionLimits,
} from './connection-limits.js';
import type { Notifier, RouteModule, ServerContext, ServerLimits } from './context.js';
import { checkDeliveryTokenLifetime, createDeliveryTokens } from './delivery-token.js';
import { errorHandler, rawClientError } from './http-errors.js';
import { type LocalCaMaterial, loadOrCreateLocalCa, localCaNames } from './local-ca.js';
import { createRateLimiter, credentialLimiterKey } from './rate-limits.js';
import { invalidatingAdapter, setQuietStores } from './recipients.js';
import { checkTimeouts, longRouteTimeouts, type ServerTimeouts, timeoutOptions } from './request-timeouts.js';
import { SEALED_SUBMISSION_PATHS } from './routes/delivery.js';
import { ROUTES } from './routes/index.js';
import { createServerKeyProofRoutes } from './routes/server-key-proof.js';
import { selectSubprotocol, subprotocolAuthorization } from './routes/ws.js';
import { sendScimError } from './scim/errors.js';
import { isScimPath } from './scim/routes.js';
import { statisticsOf } from './statistics.js';
import { createServerStores, SERVER_ORDERED_TABLES } from './store/index.js';
import { subjectSealingAdapter } from './store/subjects.js';
import { loadOrCreateSelfSigned, spkiPin, type TlsMaterial } from './tls.js';
import {
  checkWebApps,
  registerPortalRedirect,
  registerWebApps,
  type WebAppOptions,
  webSocketOrigins,
} from './web-apps.js';
import { checkWebhookOptions, startWebhookDispatcher, type WebhookOptions } from './webhooks.js';

/**
 * Options of {@link createServer}; every field is optional.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const options: ServerOptions = {
 *   database: 'postgres://cloister@db.internal/cloister',
 *   storageKey,
 *   tls: { cert: readFileSync('server.crt', 'utf8'), key: readFileSync('server.key', 'utf8') },
 *   limits: { mailboxRetentionMs: 14 * 86_400_000 },
 * };
 * const server = await createServer(options);
 * ```
 */
export interface ServerOptions {
  /** Where the embedded database, the TLS material and the storage key live (default `./cloister-data`). */
  readonly dataDir?: string;
  /** A `postgres://` URL: use PostgreSQL instead of the embedded database. */
  readonly database?: string;
  /** PostgreSQL schema (default `public`). */
  readonly databaseSchema?: string;
  /**
   * TLS certificate and key (PEM). Absent: a self-signed certificate kept in the data directory,
   * or with `localCa` a leaf signed by a local certificate authority.
   */
  readonly tls?: TlsMaterial;
  /**
   * Serve a leaf certificate signed by a local certificate authority kept in `<dataDir>/tls/`
   * (made on first start; `ca.pem` is what browsers and OS stores import, see
   * `spec/server-web.md`), instead of a self-signed certificate. The leaf is renewed over the
   * same key (the pin stays) when it comes within 30 days of its end, at start and while running.
   * Not with `tls`.
   */
  readonly localCa?: boolean | LocalCaServerOptions;
  /**
   * The organisation's storage key (at least 32 bytes) from which the at-rest data key is derived.
   * Absent: a random key is generated once into `<dataDir>/storage.key` (mode 0600).
   */
  readonly storageKey?: Uint8Array;
  /** The wake-up bus (default: in-process; several instances use the PostgreSQL one). */
  readonly bus?: WakeupBus;
  /** Push hints for offline devices. */
  readonly notifier?: Notifier;
  /**
   * Limits (defaults: 1 MiB bodies, 1 MiB blob chunks, 2 GiB blobs, 30-day mailboxes, 600 requests
   * per device and 1,200 deliveries per mailbox per minute).
   */
  readonly limits?: Partial<ServerLimits>;
  /** Log level (`info` by default; `silent` turns logging off). */
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Where log lines go (default: standard output); tests capture them with this. */
  readonly logStream?: { write(line: string): void };
  /** Requests per minute per client address before `ERR_RATE_LIMITED` (default 600). */
  readonly rateLimitPerMinute?: number;
  /** The crypto provider (default: `getProvider()`, the best one available). */
  readonly provider?: CryptoProvider;
  /** The clock in ms since the epoch (default `Date.now`); tests pass a fake one. */
  readonly now?: () => number;
  /**
   * Lifetime of the delivery tokens handed out with directory entries and key bundles, in ms
   * (default `DEFAULT_DELIVERY_TOKEN_LIFETIME_MS`, 1 hour; from 20 minutes to 24 hours). Tokens
   * also stop working at once when what allowed them changes (pools, blocks, pool rules).
   */
  readonly deliveryTokenLifetimeMs?: number;
  /** The route modules to serve (default: all of them, `ROUTES`); for embedding a subset. */
  readonly routes?: readonly RouteModule[];
  /**
   * The operator's token (43 base64url characters, 32 random bytes) that authorises the admin
   * API's operator operations (`Authorization: Cloister-Operator <token>`: creating and listing
   * tenants). Absent: those operations answer 401 to everyone.
   */
  readonly operatorToken?: string;
  /**
   * Timeouts against slow clients, in ms (defaults: headers 10 s, a request 30 s, a blob chunk
   * upload 120 s, a silent socket 60 s, an idle kept-alive connection 5 s); see
   * {@link ServerTimeouts}. Checked before anything is created.
   */
  readonly timeouts?: Partial<ServerTimeouts>;
  /**
   * Caps on open connections (defaults: 10,000 for the instance, 128 per client address or IPv6
   * /64); see {@link ConnectionLimits}. Behind a reverse proxy raise `perAddress` to `max`.
   */
  readonly connections?: Partial<ConnectionLimits>;
  /**
   * Static web apps served on the server's own origin, each under its path prefix (`/app/`), with
   * a content security policy that allows the server's API and WebSocket and nothing else (see
   * `spec/server-web.md`). Checked before anything is created: a malformed prefix, one that
   * overlaps the API (`/v1/`, `/admin/`, `/scim/`, `/health`, `/healthz`, `/ready`) or another
   * app, or a root that is not an existing directory is a `ValidationError`.
   */
  readonly webApps?: readonly WebAppOptions[];
  /**
   * The admin portal (`@cloister/portal`): its built directory (`root`, holding `index.html`) is
   * served as the web app at `/portal/` with the SPA fallback and a fresh style nonce per HTML
   * answer (`WebAppOptions.styleNonce`), and `GET`/`HEAD` `/admin` and `/admin/` answer `302` to
   * `/portal/` (the rest of `/admin/` is the admin API). Checked before anything is created: a root
   * that is not a directory holding `index.html` is a `ValidationError` on `portal.root`, and a
   * `webApps` entry overlapping `/portal/` is refused.
   *
   * @example
   * ```ts
   * // root: portalRoot() of @cloister/portal, or any directory holding the built portal
   * const server = await createServer({ dataDir: './cloister-data', localCa: true, portal: { root: './portal/dist' } });
   * await server.listen({ port: 8443 }); // https://localhost:8443/admin → /portal/
   * ```
   */
  readonly portal?: { readonly root: string };
  /**
   * The webhook dispatcher (`spec/integrations.md` §3): retries, timeouts, whether this instance
   * dispatches, and `allowHttpLocalhost` for tests. Checked before anything is created.
   */
  readonly webhooks?: WebhookOptions;
  /** Requests per minute one integration API key may make (default 300); over it 429. */
  readonly integrationKeyRequestsPerMinute?: number;
}

/**
 * The `localCa` option of {@link createServer} in its long form.
 *
 * @example
 * ```ts
 * const localCa: LocalCaServerOptions = { hostNames: ['chat.lan', '192.168.1.20'], renewalCheckMs: 3_600_000 };
 * const server = await createServer({ dataDir: './cloister-data', localCa });
 * ```
 */
export interface LocalCaServerOptions {
  /**
   * Further DNS names or IP addresses (besides `localhost`, `127.0.0.1`, `::1`) the leaf names and
   * the CA permits (its name constraints are fixed when it is made).
   */
  readonly hostNames?: readonly string[];
  /** How often the running server checks whether the leaf is due (ms, default 12 hours, at least 1 s). */
  readonly renewalCheckMs?: number;
}

/**
 * What a server started with `localCa` serves: where the CA is and how the leaf stands
 * (`server.localCa`).
 *
 * @example
 * ```ts
 * const server = await createServer({ dataDir: './cloister-data', localCa: true });
 * const status: LocalCaStatus | undefined = server.localCa;
 * if (status?.createdCa) console.log(`import ${status.caFile} into the browsers' trust stores`);
 * ```
 */
export interface LocalCaStatus {
  /** The CA certificate to import (`<dataDir>/tls/ca.pem`). */
  readonly caFile: string;
  /** The CA certificate, PEM. */
  readonly caCert: string;
  /** Whether this start made the CA (browsers and stores must import it). */
  readonly createdCa: boolean;
  /** Whether this start issued the leaf (first start, renewal or a new name). */
  readonly issuedLeaf: boolean;
  /** The names the leaf holds. */
  readonly names: readonly string[];
  /** When the leaf served at start ends (it is renewed before). */
  readonly leafNotAfter: Date;
}

/**
 * Statements and transactions a SQL backend has sent to its driver.
 *
 * @example
 * ```ts
 * const before: StorageStatistics | undefined = server.storageStatistics();
 * // … run a workload …
 * const after = server.storageStatistics();
 * if (before && after) console.log(`${after.statements - before.statements} statements`);
 * ```
 */
export interface StorageStatistics {
  /** Statements sent to the database driver since the adapter opened, `BEGIN`, `COMMIT` and `ROLLBACK` included. */
  readonly statements: number;
  /** Transactions begun (`BEGIN` statements) since the adapter opened. */
  readonly transactions: number;
}

/**
 * A running (or ready to run) server instance, as {@link createServer} returns it.
 *
 * @example
 * ```ts
 * const server: CloisterServer = await createServer({ dataDir: './cloister-data' });
 * const url = await server.listen({ host: '0.0.0.0', port: 8443 });
 * console.log(`serving ${url}, pin ${server.pin}`);
 * await server.close();
 * ```
 */
export interface CloisterServer {
  /** The Fastify instance (for `inject` in tests, or extra routes before `listen`). */
  readonly app: FastifyInstance;
  /** The instance's shared state handed to every route module. */
  readonly context: ServerContext;
  /** The pin clients must be configured with: `sha256/<base64 of SHA-256(SPKI)>`. */
  readonly pin: string;
  /** Whether a certificate was generated by this start (self-signed, or a local CA's leaf). */
  readonly generatedCertificate: boolean;
  /** With `localCa`: the CA file to import and the leaf's state; otherwise `undefined`. */
  readonly localCa: LocalCaStatus | undefined;
  /** Open connections per address and refusals over the connection caps. */
  readonly connections: ConnectionCounts;
  /**
   * How many statements and transactions the storage backend has sent to its database driver so
   * far (PostgreSQL and PGlite count them; `undefined` for a backend that does not), for
   * benchmarks and metrics.
   *
   * @example
   * ```ts
   * server.storageStatistics()?.statements; // → statements sent so far, or undefined
   * ```
   */
  storageStatistics(): StorageStatistics | undefined;
  /**
   * Starts listening (default host `127.0.0.1`, port 8443); resolves the base URL (`https://host:port`).
   *
   * @example
   * ```ts
   * const url = await server.listen({ host: '0.0.0.0', port: 443 });
   * ```
   */
  listen(options?: { readonly host?: string; readonly port?: number }): Promise<string>;
  /**
   * Stops accepting, lets in-flight requests finish, then closes the bus and the database. Calling
   * it again returns the same promise.
   *
   * @example
   * ```ts
   * process.once('SIGTERM', () => void server.close());
   * ```
   */
  close(): Promise<void>;
}

const DEFAULT_LIMITS: ServerLimits = {
  bodyBytes: 1024 * 1024,
  blobChunkBytes: 1024 * 1024,
  blobBytes: 2 * 1024 * 1024 * 1024,
  mailboxRetentionMs: 30 * 86_400_000,
  deviceRequestsPerMinute: 600,
  deliveriesPerMailboxPerMinute: 1200,
  mailboxMaxEnvelopes: 10_000,
  mailboxMaxBytes: 256 * 1024 * 1024,
  blobMaxBytesPerDevice: 8 * 1024 * 1024 * 1024,
  blobMaxCountPerDevice: 1_000,
  tenantMaxBytes: 1024 * 1024 * 1024 * 1024,
  archiveShredPeriodMs: 86_400_000,
};

function storageKeyFrom(dataDir: string, given: Uint8Array | undefined): Uint8Array {
  if (given !== undefined) {
    if (!(given instanceof Uint8Array) || given.length < 32)
      throw new ValidationError('storageKey', 'at least 32 bytes');
    return given;
  }
  const path = join(dataDir, 'storage.key');
  if (existsSync(path)) return fromHex(readFileSync(path, 'utf8').trim(), 'storage.key');
  const key = new Uint8Array(randomBytes(32));
  writeFileSync(path, `${toHex(key)}\n`, { mode: 0o600 });
  return key;
}

async function openStorage(options: ServerOptions, dataDir: string): Promise<StorageAdapter> {
  if (options.database !== undefined) {
    return createPostgresAdapter({
      connectionString: options.database,
      ...(options.databaseSchema === undefined ? {} : { schema: options.databaseSchema }),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }
  return createPGliteAdapter({
    dataDir: join(dataDir, 'db'),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}

const DEFAULT_RENEWAL_CHECK_MS = 12 * 3_600_000;

interface CheckedLocalCa {
  readonly hostNames: readonly string[];
  readonly renewalCheckMs: number;
}

function checkLocalCa(options: ServerOptions): CheckedLocalCa | undefined {
  const given = options.localCa;
  if (given === undefined || given === false) return undefined;
  if (options.tls !== undefined) throw new ValidationError('localCa', 'absent when tls is given');
  if (given !== true && (typeof given !== 'object' || given === null)) {
    throw new ValidationError('localCa', 'true or { hostNames?, renewalCheckMs? }');
  }
  const long = given === true ? {} : given;
  const renewalCheckMs = long.renewalCheckMs ?? DEFAULT_RENEWAL_CHECK_MS;
  if (!Number.isInteger(renewalCheckMs) || renewalCheckMs < 1000 || renewalCheckMs > 86_400_000) {
    throw new ValidationError('localCa.renewalCheckMs', 'a whole number of ms from 1000 to 86400000');
  }
  return { hostNames: localCaNames(long.hostNames), renewalCheckMs };
}

/**
 * Checks every `everyMs` whether the local CA's leaf is due and, when a new one was issued (over
 * the same key), makes the TLS server present it to new connections.
 */
function renewLeaf(
  app: FastifyInstance,
  dataDir: string,
  localCa: CheckedLocalCa,
  now: () => number,
  everyMs: number,
): NodeJS.Timeout {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    loadOrCreateLocalCa(dataDir, { hostNames: localCa.hostNames, now })
      .then((material: LocalCaMaterial) => {
        if (!material.issuedLeaf) return;
        (app.server as unknown as TlsServer).setSecureContext({
          key: material.key,
          cert: material.cert,
          minVersion: 'TLSv1.3',
          maxVersion: 'TLSv1.3',
        });
        app.log.info({ notAfter: material.leafNotAfter.toISOString() }, 'local CA: leaf certificate renewed');
      })
      .catch((error: unknown) => {
        app.log.error({ err: error }, 'local CA: the leaf certificate could not be renewed');
      })
      .finally(() => {
        running = false;
      });
  }, everyMs);
  timer.unref();
  return timer;
}

/**
 * Creates a server instance: opens (and migrates) the database, loads or generates TLS material,
 * and registers every route. Call `listen()` to start serving.
 *
 * @example
 * ```ts
 * import { createServer } from '@cloister/server';
 * const server = await createServer({ dataDir: './cloister-data' });
 * const url = await server.listen({ port: 8443 });
 * console.log(`listening on ${url}; clients pin ${server.pin}`);
 * process.on('SIGTERM', () => server.close());
 * ```
 */
export async function createServer(options: ServerOptions = {}): Promise<CloisterServer> {
  // Checked before anything is created on disk.
  const deliveryTokenLifetimeMs =
    options.deliveryTokenLifetimeMs === undefined
      ? undefined
      : checkDeliveryTokenLifetime(options.deliveryTokenLifetimeMs);
  const operatorToken =
    options.operatorToken === undefined ? undefined : checkOperatorToken(options.operatorToken);
  const timeouts = checkTimeouts(options.timeouts);
  const connectionLimits = checkConnectionLimits(options.connections);
  const webApps = checkWebApps(options.webApps, options.portal);
  const webhookOptions = checkWebhookOptions(options.webhooks);
  const keyRequestsPerMinute =
    options.integrationKeyRequestsPerMinute ?? DEFAULT_INTEGRATION_KEY_CONFIG.requestsPerWindow;
  if (
    !Number.isSafeInteger(keyRequestsPerMinute) ||
    keyRequestsPerMinute < 1 ||
    keyRequestsPerMinute > 1_000_000
  ) {
    throw new ValidationError('integrationKeyRequestsPerMinute', 'an integer from 1 to 1000000');
  }
  const localCa = checkLocalCa(options);
  const dataDir = resolve(options.dataDir ?? './cloister-data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const provider = options.provider ?? (await getProvider());
  const now = options.now ?? Date.now;
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const localMaterial =
    localCa === undefined
      ? undefined
      : await loadOrCreateLocalCa(dataDir, { hostNames: localCa.hostNames, now });
  const tls = options.tls ?? localMaterial ?? (await loadOrCreateSelfSigned(dataDir));
  const pin = spkiPin(tls.cert);

  const inner = await openStorage(options, dataDir);
  const organisationKey = storageKeyFrom(dataDir, options.storageKey);
  const dataKey = await deriveServerDataKey({ provider, organisationKey, context: 'main' });
  // Opening checks the key against the database's key-check row: a wrong storage key is refused
  // here instead of silently writing into an area nobody can read.
  let adapter: Awaited<ReturnType<typeof openEncryptedAdapter>>;
  try {
    adapter = await openEncryptedAdapter(inner, { dataKey, provider, orderedTables: SERVER_ORDERED_TABLES });
  } catch (error) {
    await inner.close();
    throw error;
  } finally {
    dataKey.fill(0);
  }
  // A committed write to a table the relay caches (devices, users, policies, epochs, …) empties
  // the recipient caches before its caller continues (`recipients.ts`).
  let contextRef: ServerContext | undefined;
  // A person's rows are sealed under their own key (erasure by crypto-shredding, `store/subjects.ts`).
  const watched = subjectSealingAdapter(
    invalidatingAdapter(adapter, () => contextRef),
    provider,
  );
  const stores = createServerStores(watched, {
    provider,
    maxBlobBytes: limits.blobBytes,
    archiveShredPeriodMs: limits.archiveShredPeriodMs,
  });

  const app = Fastify({
    https: {
      key: tls.key,
      cert: tls.cert,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      ...timeoutOptions(timeouts).node,
    },
    ...timeoutOptions(timeouts).fastify,
    bodyLimit: limits.bodyBytes,
    // User ids are up to 128 characters; path parameters must fit them.
    routerOptions: { maxParamLength: 256 },
    logger: {
      level: options.logLevel ?? 'info',
      ...(options.logStream === undefined ? {} : { stream: options.logStream }),
      // Requests are logged by method and route pattern only: URLs can hold user ids.
      serializers: {
        req: (req) => ({ id: req.id, method: req.method, route: req.routeOptions?.url ?? 'unmatched' }),
        res: (res) => ({ statusCode: res.statusCode }),
      },
      redact: { paths: ['req.headers', 'headers', 'authorization', 'token', 'credential'], remove: true },
    },
    // Errors raised by Fastify before routing (bad URL encoding, over-long parameters) and by
    // Node's HTTP parser get the same typed error body as everything else; under the SCIM base
    // path, the RFC 7644 error body the SCIM routes answer with.
    frameworkErrors: (error, request, reply) =>
      isScimPath(request.url) ? void sendScimError(reply, error) : errorHandler(error, request, reply),
    clientErrorHandler: rawClientError,
    trustProxy: false,
  });
  const shutdown = new AbortController();
  // Every open WebSocket listens for shutdown; there may be thousands.
  setMaxListeners(0, shutdown.signal);
  const context: ServerContext = {
    stores,
    adapter: watched,
    provider,
    now,
    bus: options.bus ?? createLocalBus(),
    deliveryTokens: await createDeliveryTokens(provider, organisationKey, {
      now,
      ...(deliveryTokenLifetimeMs === undefined ? {} : { lifetimeMs: deliveryTokenLifetimeMs }),
    }),
    organisationKey,
    notifier: options.notifier,
    limits,
    log: app.log,
    shutdown: shutdown.signal,
  };

  contextRef = context;
  // A device's last-seen time changes nothing the relay caches: written without invalidating.
  setQuietStores(
    context,
    createServerStores(adapter, {
      provider,
      maxBlobBytes: limits.blobBytes,
      archiveShredPeriodMs: limits.archiveShredPeriodMs,
    }),
  );
  if (operatorToken !== undefined) configureOperatorToken(context, operatorToken);
  configureIntegrationKeys(context, { requestsPerWindow: keyRequestsPerMinute, windowMs: 60_000 });
  const connections = applyConnectionLimits(app.server, connectionLimits, app.log, now);

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((_request, reply) => {
    void reply.code(404).send({ error: { code: 'ERR_NOT_FOUND', message: 'no such route' } });
  });
  app.addContentTypeParser(
    ['application/x-protobuf', 'application/octet-stream'],
    { parseAs: 'buffer' },
    (_request, body, done) => done(null, body),
  );
  // The API's policy is exactly `default-src 'none'; frame-ancestors 'none'` (no helmet defaults:
  // an API answer loads nothing); web apps replace it with their own (`web-apps.ts`).
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
    hsts: { maxAge: 31_536_000, includeSubDomains: true },
  });
  await app.register(rateLimit, {
    max: options.rateLimitPerMinute ?? 600,
    timeWindow: 60_000,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      error: { code: 'ERR_RATE_LIMITED', message: 'too many requests' },
      retryAfter: Math.ceil(context.ttl / 1000),
    }),
  });
  // Per-device limit on every authenticated request (WebSocket upgrades included), keyed by a hash
  // of the decoded credential so that neither the credential nor the device appears in the limiter
  // and re-spelling the credential's text opens no second window (non-canonical spellings are not
  // credentials: refused by the route, never counted).
  const perDevice = createRateLimiter({ max: limits.deviceRequestsPerMinute, windowMs: 60_000, now });
  // A browser's WebSocket carries the credential in its subprotocol list instead; it counts the same.
  app.addHook('onRequest', async (request) => {
    // Sealed submissions are anonymous: they refuse a credential and never count for a device.
    if (request.method === 'POST' && SEALED_SUBMISSION_PATHS.includes(request.routeOptions.url ?? '')) return;
    let header = request.headers.authorization;
    if (header === undefined) {
      try {
        header = subprotocolAuthorization(request.headers['sec-websocket-protocol']);
      } catch {
        return; // several credential entries: refused as unauthenticated by the route
      }
    }
    const key = credentialLimiterKey(header);
    if (key === undefined) return;
    const outcome = perDevice.hit(key);
    if (!outcome.allowed) throw new RateLimitedError(outcome.retryAfterSeconds);
  });
  // A device's last-seen time and client version, for the admin API's activity (after the answer).
  app.addHook('onResponse', lastSeenHook(context));
  // Only `cloister.v1` is ever selected: the credential entry a browser offers is never echoed.
  await app.register(websocket, {
    options: { maxPayload: limits.bodyBytes, handleProtocols: selectSubprotocol },
  });
  // Blob chunk uploads get the longer handler timeout (hooked before any route is declared).
  app.addHook('onRoute', longRouteTimeouts(timeouts));
  // The server-key proof belongs to the TLS key, not to a route list: it is always served.
  await createServerKeyProofRoutes(tls)(app, context);
  for (const register of options.routes ?? ROUTES) await register(app, context);
  if (webApps.length > 0) {
    // The policy's WebSocket origin is one of the certificate's names at the listening port.
    const listeningPort = () => {
      const address = app.server.address();
      return typeof address === 'object' && address !== null ? address.port : undefined;
    };
    await registerWebApps(app, webApps, webSocketOrigins(tls.cert, listeningPort));
  }
  if (options.portal !== undefined) registerPortalRedirect(app);

  // Webhook events of the outbox, delivered at least once (it survives restarts: the outbox is a table).
  const webhookDispatcher = startWebhookDispatcher(context, webhookOptions);
  // Bulk jobs a stopped instance left running: resumed from their last committed batch.
  const jobResumer = startJobResumer(context);

  const renewal =
    localCa === undefined ? undefined : renewLeaf(app, dataDir, localCa, now, localCa.renewalCheckMs);

  let closed: Promise<void> | undefined;
  return {
    app,
    context,
    pin,
    generatedCertificate:
      localMaterial !== undefined
        ? localMaterial.issuedLeaf
        : options.tls === undefined && (tls as { created?: boolean }).created === true,
    localCa:
      localMaterial === undefined
        ? undefined
        : {
            caFile: localMaterial.caFile,
            caCert: localMaterial.caCert,
            createdCa: localMaterial.createdCa,
            issuedLeaf: localMaterial.issuedLeaf,
            names: localMaterial.names,
            leafNotAfter: localMaterial.leafNotAfter,
          },
    connections,
    storageStatistics() {
      const counted = (inner as { statistics?: () => StorageStatistics }).statistics?.();
      return counted === undefined
        ? undefined
        : { statements: counted.statements, transactions: counted.transactions };
    },
    async listen(listenOptions = {}) {
      return app.listen({ host: listenOptions.host ?? '127.0.0.1', port: listenOptions.port ?? 8443 });
    },
    close() {
      closed ??= (async () => {
        shutdown.abort();
        jobResumer.stop();
        if (renewal !== undefined) clearInterval(renewal);
        await webhookDispatcher.stop();
        await jobResumer.swept;
        await app.close();
        // What the statistics recorder gathered since its last write.
        await statisticsOf(context).flush();
        await context.bus.close();
        await adapter.close();
      })();
      return closed;
    },
  };
}
