/**
 * What every transport shares, with no Node or browser import: the request and connection
 * contract, `expectOk`, and the pin format.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import { fromBase64, toBase64 } from '../_base64.js';
import { type BackoffOptions, backoffDelay } from '../backoff.js';
import { PinMismatchError, ServerError } from './errors.js';

/**
 * The version this SDK reports to the server with every authenticated request, in the
 * `cloister-client-version` header (the admin API's activity shows it; spec/admin-api.md). Kept
 * equal to the package version by a test.
 *
 * @example
 * ```ts
 * const headers: Record<string, string> = { [CLIENT_VERSION_HEADER]: CLIENT_VERSION }; // '@cloister/client/0.1.0'
 * ```
 */
export const CLIENT_VERSION = '@cloister/client/0.1.0';

/**
 * The request header that carries {@link CLIENT_VERSION}.
 *
 * @example
 * ```ts
 * const headers = new Headers({ [CLIENT_VERSION_HEADER]: CLIENT_VERSION }); // cloister-client-version
 * ```
 */
export const CLIENT_VERSION_HEADER = 'cloister-client-version';

const PIN = /^sha256\/([A-Za-z0-9+/]{43}=)$/;

/**
 * Parses a public-key pin `sha256/<base64 of the SHA-256 of the server's SubjectPublicKeyInfo>`
 * into its 32 bytes; anything else (including non-canonical base64) is a `ValidationError`.
 *
 * @example
 * ```ts
 * const digest = parsePin('sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='); // 32 bytes
 * ```
 */
export function parsePin(pin: unknown): Uint8Array {
  const b64 = typeof pin === 'string' ? PIN.exec(pin)?.[1] : undefined;
  let bytes: Uint8Array | undefined;
  try {
    bytes = b64 === undefined ? undefined : fromBase64(b64);
  } catch {
    bytes = undefined;
  }
  if (bytes === undefined || bytes.length !== 32 || toBase64(bytes) !== b64) {
    throw new ValidationError('pin', 'sha256/ and the base64 of 32 bytes');
  }
  return bytes;
}

/**
 * The body of a request: `json`, or raw `body` bytes with their `contentType`.
 *
 * @example
 * ```ts
 * await transport.request('POST', '/v1/keys/one-time', { body: bytes, contentType: 'application/x-protobuf' });
 * ```
 */
export interface RequestBody {
  /** A value sent as `application/json`. */
  readonly json?: unknown;
  /** Raw bytes, sent as `contentType` (default `application/x-protobuf`). */
  readonly body?: Uint8Array;
  /** The media type of `body`. */
  readonly contentType?: string;
  /**
   * Query parameters, encoded by the transport (`URLSearchParams`): the only way to send a query,
   * since the path itself may not contain `?`.
   */
  readonly query?: Readonly<Record<string, string>>;
}

/** @internal Adds `query` to `target`, each value encoded. */
export function applyQuery(target: URL, query: Readonly<Record<string, string>> | undefined): URL {
  for (const [k, v] of Object.entries(query ?? {})) {
    if (typeof v !== 'string') throw new ValidationError(`query.${k}`, 'a string');
    target.searchParams.set(k, v);
  }
  return target;
}

/**
 * A server's answer.
 *
 * @example
 * ```ts
 * const res: TransportResponse = await transport.request('GET', '/health');
 * if (res.status === 200) console.log(res.json);
 * ```
 */
export interface TransportResponse {
  /** The HTTP status code. */
  readonly status: number;
  /** Response headers, names in lower case. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The raw response body (empty when there was none). */
  readonly body: Uint8Array;
  /** The body parsed, when the server said it is JSON and it parsed. */
  readonly json?: unknown;
}

/**
 * What a {@link Connection} reports, and its backoff.
 *
 * @example
 * ```ts
 * const handlers: ConnectionHandlers = {
 *   onFrame: (frame) => console.log(`frame of ${frame.length} bytes`),
 *   onReconnect: ({ attempt, delayMs }) => console.log(`retry ${attempt} in ${delayMs} ms`),
 * };
 * ```
 */
export interface ConnectionHandlers {
  /** A binary frame from the server. */
  readonly onFrame?: (frame: Uint8Array) => void;
  /** The socket is open (first time and after every reconnection). */
  readonly onOpen?: () => void;
  /** The socket closed; `willReconnect` says whether another attempt is scheduled. */
  readonly onClose?: (info: { code: number; willReconnect: boolean }) => void;
  /** Another attempt is scheduled in `delayMs` (`attempt` counts from 1 since the last stable connection). */
  readonly onReconnect?: (info: { attempt: number; delayMs: number }) => void;
  /**
   * A connection attempt failed: a `NetworkError` when the server could not be reached, a
   * {@link PinMismatchError} (which stops reconnection) when its key is not the pinned one.
   */
  readonly onError?: (error: Error) => void;
  /** The delays between reconnection attempts (see {@link backoffDelay}). */
  readonly backoff?: BackoffOptions;
}

/**
 * A WebSocket to the server that reconnects by itself until closed.
 *
 * @example
 * ```ts
 * const conn = transport.connect('/v1/ws', { onOpen: () => conn.send(bytes) });
 * process.on('SIGINT', () => conn.close());
 * ```
 */
export interface Connection {
  /** Whether the socket is open now. */
  readonly open: boolean;
  /**
   * Sends a binary frame; throws `UsageError` when the socket is not open (frames are not queued).
   *
   * @example
   * ```ts
   * const conn = transport.connect('/v1/ws', { onFrame: (frame) => console.log(frame.length) });
   * if (conn.open) conn.send(bytes); // when closed it throws: keep frames to send again after onOpen
   * ```
   */
  send(frame: Uint8Array): void;
  /**
   * Closes the socket and stops reconnecting.
   *
   * @example
   * ```ts
   * const conn = transport.connect('/v1/ws', { onClose: ({ willReconnect }) => console.log(willReconnect) });
   * conn.close(); // onClose reports willReconnect: false
   * ```
   */
  close(): void;
}

/**
 * HTTP and WebSocket access to one pinned server.
 *
 * @example
 * ```ts
 * const transport: Transport = createNodeTransport({ url, pin });
 * ```
 */
export interface Transport {
  /**
   * Sends one HTTP request to `path` (absolute, no query: pass `body.query`) and resolves the
   * answer whatever its status; a server that cannot be reached rejects with `NetworkError`, a
   * server key that is not the pinned one with {@link PinMismatchError}.
   *
   * @example
   * ```ts
   * const res = await transport.request('GET', '/health');
   * console.log(res.status); // 200
   * ```
   */
  request(method: string, path: string, body?: RequestBody): Promise<TransportResponse>;
  /**
   * Opens a WebSocket to `path` that reconnects by itself until closed, reporting to `handlers`.
   *
   * @example
   * ```ts
   * const conn = transport.connect('/v1/ws', { onFrame: (frame) => console.log(frame.length) });
   * ```
   */
  connect(path?: string, handlers?: ConnectionHandlers): Connection;
}

/**
 * Returns the response when its status is 2xx; otherwise throws {@link ServerError} with the
 * server's `{ error: { code, message } }`.
 *
 * @example
 * ```ts
 * const { json } = expectOk(await transport.request('GET', '/health'));
 * ```
 */
export function expectOk(response: TransportResponse): TransportResponse {
  if (response.status >= 200 && response.status < 300) return response;
  const err = (response.json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const code = typeof err?.code === 'string' ? err.code : undefined;
  const message = typeof err?.message === 'string' ? err.message : undefined;
  throw new ServerError(response.status, code, message);
}

/**
 * @internal The reconnection schedule both transports share: backoff between attempts, the
 * attempt counter reset after a connection stayed up for `stableMs`, no retry once closed or after
 * a pin mismatch.
 */
export class ReconnectSchedule {
  readonly #handlers: ConnectionHandlers;
  readonly #reopen: () => void;
  readonly #stableMs: number;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #stableTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(handlers: ConnectionHandlers, reopen: () => void) {
    this.#handlers = handlers;
    this.#reopen = reopen;
    this.#stableMs = handlers.backoff?.stableMs ?? 60_000;
  }

  /** Whether the connection was closed by its owner (or gave up). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether a retry is waiting. */
  get waiting(): boolean {
    return this.#retryTimer !== undefined;
  }

  /** The socket opened: after `stableMs` the attempt counter starts again from 1. */
  opened(): void {
    this.#stableTimer = setTimeout(() => {
      this.#attempt = 0;
    }, this.#stableMs);
    this.#handlers.onOpen?.();
  }

  /** A connection attempt failed before a socket existed; a pin mismatch ends the connection. */
  failedToConnect(error: Error): void {
    this.#handlers.onError?.(error);
    if (error instanceof PinMismatchError) {
      this.#closed = true;
      this.#handlers.onClose?.({ code: 1015, willReconnect: false });
      return;
    }
    this.dropped(1006);
  }

  /** The socket closed (or never opened) with `code`: schedule the next attempt unless closed. */
  dropped(code: number): void {
    if (this.#stableTimer !== undefined) clearTimeout(this.#stableTimer);
    this.#stableTimer = undefined;
    if (this.#closed) {
      this.#handlers.onClose?.({ code, willReconnect: false });
      return;
    }
    this.#attempt += 1;
    const delayMs = backoffDelay(this.#attempt, this.#handlers.backoff ?? {});
    this.#handlers.onClose?.({ code, willReconnect: true });
    this.#handlers.onReconnect?.({ attempt: this.#attempt, delayMs });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#reopen();
    }, delayMs);
  }

  /** The owner closes: no more attempts. */
  stop(): void {
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    if (this.#stableTimer !== undefined) clearTimeout(this.#stableTimer);
    this.#retryTimer = undefined;
    this.#stableTimer = undefined;
  }
}

/** The characters of an absolute path the transports send: RFC 3986 `pchar` and `/`, no `?` or `#`. */
const PATH_CHARS = /^\/[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*$/;

/**
 * Checks a request path before any byte leaves: absolute (`/…`, not `//…`), only RFC 3986 path
 * characters (so no query `?` and no fragment `#`), well-formed percent escapes, and no dot segment
 * (`.` or `..`, percent-encoded or not). A value from a peer that reaches a path is encoded with
 * `encodeURIComponent` by the caller; this check refuses what such encoding leaves (`..`) and what
 * a caller forgot to encode, so a peer's bytes never become another request.
 *
 * @example
 * ```ts
 * checkRequestPath('/v1/blobs/blb_x/chunks/0'); // returns the path
 * checkRequestPath('/v1/blobs/../users/carol/devices'); // throws ValidationError
 * ```
 */
export function checkRequestPath(path: unknown): string {
  const expected = 'an absolute path of RFC 3986 path characters without dot segments, query or fragment';
  if (typeof path !== 'string' || path.startsWith('//') || !PATH_CHARS.test(path)) {
    throw new ValidationError('path', expected);
  }
  for (const segment of path.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw new ValidationError('path', expected);
    }
    // An encoded "/", "?" or "#" stays data inside its segment; a dot segment never names anything.
    if (decoded === '.' || decoded === '..') throw new ValidationError('path', expected);
  }
  return path;
}
