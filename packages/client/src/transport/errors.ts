/**
 * Errors of the client transport: the server's key is not the pinned one
 * ({@link PinMismatchError}), the server answered with an error ({@link ServerError}), or it could
 * not be reached at all ({@link NetworkError}). No Node or browser import.
 *
 * @module
 */
import { CloisterError, type CloisterErrorCode } from '@cloister/crypto';

/**
 * The server presented a public key whose pin is not the configured one. The connection was
 * closed before any request byte (headers, credential or body) was written. Its code is
 * `ERR_INVALID_KEY`: the peer's key is not acceptable, which is what that code already means, so
 * no new code is added to the shared list.
 *
 * @example
 * ```ts
 * try {
 *   await transport.request('GET', '/health');
 * } catch (e) {
 *   if (e instanceof PinMismatchError) alert('this is not your organisation\'s server');
 * }
 * ```
 */
export class PinMismatchError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'PinMismatchError';

  constructor() {
    super('ERR_INVALID_KEY', 'server public key does not match the pin');
  }
}

const KNOWN_CODES: ReadonlySet<string> = new Set<CloisterErrorCode>([
  'ERR_VALIDATION',
  'ERR_USAGE',
  'ERR_DECODE',
  'ERR_DECRYPTION_FAILED',
  'ERR_INVALID_KEY',
  'ERR_WRONG_PIN',
  'ERR_UNSUPPORTED',
  'ERR_STORAGE',
  'ERR_REPLAY',
  'ERR_LIMIT',
  'ERR_UNAUTHENTICATED',
  'ERR_FORBIDDEN',
  'ERR_NOT_FOUND',
  'ERR_CONFLICT',
  'ERR_RATE_LIMITED',
]);

/**
 * The server answered with an error status. `code` is the server's error code when it is one of
 * the shared codes; otherwise (an unknown code or a body that is not `{ error: { code, message } }`)
 * it is `ERR_DECODE` and `serverCode` holds what the server sent, if anything.
 *
 * @example
 * ```ts
 * try {
 *   expectOk(await transport.request('GET', '/v1/keys/count'));
 * } catch (e) {
 *   if (e instanceof ServerError && e.status === 401) console.warn('the credential was refused: enrol again');
 *   else throw e;
 * }
 * ```
 */
export class ServerError extends CloisterError {
  /** The class's name, kept through minification (a bundler renames classes). */
  override name = 'ServerError';

  /** The HTTP status. */
  readonly status: number;
  /** The code exactly as the server sent it (undefined when the body carried none). */
  readonly serverCode: string | undefined;

  constructor(status: number, code: string | undefined, message: string | undefined) {
    const known = code !== undefined && KNOWN_CODES.has(code);
    super(
      known ? (code as CloisterErrorCode) : 'ERR_DECODE',
      message ?? `server answered with status ${status}`,
    );
    this.status = status;
    this.serverCode = code;
  }
}

/**
 * Why a connection to the server failed. The system codes are Node's (`ECONNREFUSED` …), `TLS` is
 * a TLS handshake that failed (not a pin mismatch, which is {@link PinMismatchError}), `OFFLINE`
 * a runtime that says it has no network (a browser's `navigator.onLine`), `UNREACHABLE` a failure
 * the runtime does not explain (a browser's `fetch` `TypeError`, a WebSocket error before it opened)
 * or a system code not listed here.
 *
 * @example
 * ```ts
 * const code: NetworkErrorCode = 'ECONNREFUSED';
 * ```
 */
export type NetworkErrorCode =
  | 'ECONNREFUSED'
  | 'ECONNRESET'
  | 'ETIMEDOUT'
  | 'ENOTFOUND'
  | 'EAI_AGAIN'
  | 'EHOSTUNREACH'
  | 'ENETUNREACH'
  | 'TLS'
  | 'OFFLINE'
  | 'UNREACHABLE';

/** What each code says, and whether trying again unchanged may succeed. */
const NETWORK_CODES: Readonly<
  Record<NetworkErrorCode, { readonly text: string; readonly retryable: boolean }>
> = {
  ECONNREFUSED: { text: 'connection refused (is the server running?)', retryable: true },
  ECONNRESET: { text: 'the connection was reset', retryable: true },
  ETIMEDOUT: { text: 'the connection timed out', retryable: true },
  ENOTFOUND: { text: 'the host name does not resolve', retryable: false },
  EAI_AGAIN: { text: 'the host name could not be resolved now', retryable: true },
  EHOSTUNREACH: { text: 'the host is unreachable', retryable: true },
  ENETUNREACH: { text: 'the network is unreachable', retryable: true },
  TLS: { text: 'the TLS handshake failed (the server must speak TLS 1.3)', retryable: false },
  OFFLINE: { text: 'this device is offline', retryable: true },
  UNREACHABLE: { text: 'the connection failed', retryable: true },
};

/** Node system codes that mean one of ours. */
const SYSTEM_ALIASES: Readonly<Record<string, NetworkErrorCode>> = {
  EPIPE: 'ECONNRESET',
  ECONNABORTED: 'ECONNRESET',
  ENETDOWN: 'ENETUNREACH',
  EPROTO: 'TLS',
  UND_ERR_CONNECT_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_SOCKET: 'ECONNRESET',
};

/**
 * The server could not be reached: the connection was refused, reset or timed out, the name did
 * not resolve, the TLS handshake failed, or the device is offline. Both transports throw it (and
 * report it to a connection's `onError`) for every failure below HTTP; an answer with an error
 * status is a {@link ServerError} and a server key that is not the pinned one a
 * {@link PinMismatchError}. `code` says what happened, `retryable` whether trying again unchanged
 * may succeed (`false` for a name that does not resolve and a failed TLS handshake: the URL or
 * the server needs a fix). The message names the server's origin (never a path, a query, user
 * info or a credential) and the code; `cause` holds the runtime's own error.
 *
 * It is not a `CloisterError`: its `code` is the network failure's, as on Node's system errors.
 *
 * @example
 * ```ts
 * try {
 *   await client.enroll(code, { pin });
 * } catch (e) {
 *   if (e instanceof NetworkError && e.retryable) console.log(`${e.url} is not reachable now (${e.code}); try again later`);
 *   else throw e;
 * }
 * ```
 */
export class NetworkError extends Error {
  /** What happened. */
  readonly code: NetworkErrorCode;
  /** Whether trying again unchanged may succeed. */
  readonly retryable: boolean;
  /** The server's origin (`https://host:port`). */
  readonly url: string;

  constructor(code: NetworkErrorCode, url: string, options?: { readonly cause?: unknown }) {
    const known = Object.hasOwn(NETWORK_CODES, code) ? NETWORK_CODES[code] : NETWORK_CODES.UNREACHABLE;
    const origin = originOf(url);
    super(
      `cannot reach ${origin}: ${known.text} (${code})`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'NetworkError';
    this.code = Object.hasOwn(NETWORK_CODES, code) ? code : 'UNREACHABLE';
    this.retryable = known.retryable;
    this.url = origin;
  }
}

/** The origin of `url` (no user info, path or query), or `the server` when it does not parse. */
function originOf(url: string): string {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? 'the server' : origin;
  } catch {
    return 'the server';
  }
}

/**
 * @internal The {@link NetworkError} for a failure of the runtime's network code when it carries a
 * code that says so: a Node system error (its `code`, or its `cause`'s, as undici's `fetch` gives)
 * or a TLS error (`ERR_SSL_…`, `ERR_TLS_…`, `EPROTO`); a `NetworkError` is returned as it is.
 * `undefined` for anything else (an HTTP refusal of a WebSocket upgrade, say).
 */
export function networkErrorFrom(error: unknown, url: string): NetworkError | undefined {
  if (error instanceof NetworkError) return error;
  const code = systemCode(error) ?? systemCode((error as { cause?: unknown } | null | undefined)?.cause);
  return code === undefined ? undefined : new NetworkError(code, url, { cause: error });
}

/**
 * @internal As {@link networkErrorFrom} for an error that can only be a connection failure (a
 * `fetch` rejection, a socket error before any answer): one without a known code is `UNREACHABLE`
 * (`OFFLINE` when `offline` says the runtime has no network). A {@link PinMismatchError} is
 * returned as it is.
 */
export function toNetworkError(error: unknown, url: string, offline = false): Error {
  if (error instanceof PinMismatchError) return error;
  return (
    networkErrorFrom(error, url) ??
    new NetworkError(offline ? 'OFFLINE' : 'UNREACHABLE', url, { cause: error })
  );
}

function systemCode(error: unknown): NetworkErrorCode | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  if (Object.hasOwn(NETWORK_CODES, code)) return code as NetworkErrorCode;
  if (Object.hasOwn(SYSTEM_ALIASES, code)) return SYSTEM_ALIASES[code];
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return 'TLS';
  return undefined;
}
