/**
 * The browser transport: `fetch` requests and a reconnecting WHATWG WebSocket. A page cannot see
 * the TLS certificate, so the pin is checked at the application layer instead: the server signs a
 * fresh nonce with its TLS key (`POST /v1/server-key-proof`), the transport hashes the returned
 * public key, compares it with the pin and verifies the signature with WebCrypto — and only then
 * sends anything that carries the credential or a body. See `spec/client-browser-transport.md`,
 * which also states plainly what this does not protect against (a relaying active attacker).
 *
 * This module uses only `fetch`, `WebSocket`, `crypto.subtle` and `crypto.getRandomValues`: no
 * Node built-in.
 *
 * @module
 */
import { concatBytes, equalBytes, UsageError, utf8, ValidationError } from '@cloister/crypto';
import { fromBase64Url, toBase64Url } from '../_base64.js';
import {
  applyQuery,
  CLIENT_VERSION,
  CLIENT_VERSION_HEADER,
  type Connection,
  type ConnectionHandlers,
  checkRequestPath,
  parsePin,
  ReconnectSchedule,
  type RequestBody,
  type Transport,
  type TransportResponse,
} from './common.js';
import { NetworkError, PinMismatchError, ServerError, toNetworkError } from './errors.js';

/**
 * The label in front of every server-key proof (the server signs `label ‖ nonce ‖ SHA-256(spki)`).
 *
 * @example
 * ```ts
 * import { concatBytes, utf8 } from '@cloister/crypto';
 * const nonce = provider.randomBytes(32);
 * const spkiDigest = parsePin(pin); // SHA-256 of the pinned SubjectPublicKeyInfo
 * const signed = concatBytes(utf8(SERVER_KEY_PROOF_LABEL), nonce, spkiDigest);
 * ```
 */
export const SERVER_KEY_PROOF_LABEL = 'cloister/v1/server-key-proof';

/**
 * The WebSocket subprotocol the transport offers and the server selects.
 *
 * @example
 * ```ts
 * const conn = transport.connect('/v1/ws', { onOpen: () => console.log(`speaking ${BROWSER_WS_SUBPROTOCOL}`) });
 * ```
 */
export const BROWSER_WS_SUBPROTOCOL = 'cloister.v1';

const AUTH_SUBPROTOCOL_PREFIX = 'cloister.auth.';
const SCHEME = 'Cloister-Device';
const NONCE_BYTES = 32;
const OPEN = 1;
const CONNECTING = 0;

/**
 * The part of a WHATWG `WebSocket` the transport uses (the browser's, or undici's in Node).
 *
 * @example
 * ```ts
 * function whenOpen(ws: BrowserWebSocket, frame: Uint8Array<ArrayBuffer>): void {
 *   ws.binaryType = 'arraybuffer';
 *   ws.onopen = () => ws.send(frame);
 *   ws.onclose = (event) => console.log(`closed with ${event.code}`);
 * }
 * ```
 */
export interface BrowserWebSocket {
  /** The socket's state: 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** How binary messages arrive; the transport sets `arraybuffer`. */
  binaryType: string;
  /** Called once the socket is open. */
  onopen: ((event: unknown) => void) | null;
  /** Called with each message; `data` is an `ArrayBuffer` for a binary frame. */
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  /** Called when the socket closed, with its close code. */
  onclose: ((event: { readonly code: number }) => void) | null;
  /** Called when the socket failed. */
  onerror: ((event: unknown) => void) | null;
  /**
   * Sends one binary frame.
   *
   * @example
   * ```ts
   * ws.binaryType = 'arraybuffer';
   * ws.onopen = () => ws.send(new Uint8Array(bytes)); // a copy over a plain ArrayBuffer
   * ```
   */
  send(data: Uint8Array<ArrayBuffer>): void;
  /**
   * Closes the socket (with an optional close code and reason).
   *
   * @example
   * ```ts
   * ws.onclose = (event) => console.log(`closed with ${event.code}`);
   * ws.close(1000, 'done');
   * ```
   */
  close(code?: number, reason?: string): void;
}

/**
 * A WHATWG `WebSocket` constructor (`globalThis.WebSocket` in a browser).
 *
 * @example
 * ```ts
 * const transport = createBrowserTransport({
 *   url: 'https://chat.example.internal',
 *   pin,
 *   WebSocket: globalThis.WebSocket as unknown as BrowserWebSocketConstructor,
 * });
 * ```
 */
export type BrowserWebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
) => BrowserWebSocket;

/**
 * Options of {@link createBrowserTransport}.
 *
 * @example
 * ```ts
 * const options: BrowserTransportOptions = { url: 'https://chat.example.internal', pin, credential };
 * ```
 */
export interface BrowserTransportOptions {
  /** The server's base URL, `https://host[:port]`. */
  readonly url: string;
  /** The server's public-key pin, `sha256/<base64>`; required. */
  readonly pin: string;
  /** The device credential; when set, every request carries it, and every socket in its subprotocol list. */
  readonly credential?: Uint8Array;
  /** Milliseconds for one HTTP exchange (the proof included) and for a WebSocket handshake; default 30,000. */
  readonly timeoutMs?: number;
  /** The `fetch` to use (default `globalThis.fetch`). */
  readonly fetch?: typeof globalThis.fetch;
  /** The WebSocket constructor to use (default `globalThis.WebSocket`). */
  readonly WebSocket?: BrowserWebSocketConstructor;
  /** The WebCrypto to use (default `globalThis.crypto`); only `subtle` and `getRandomValues` are used. */
  readonly crypto?: Crypto;
}

/** How each proof algorithm's key is imported and its signature verified. */
const ALGORITHMS: Readonly<
  Record<
    string,
    {
      readonly key: EcKeyImportParams | RsaHashedImportParams | Algorithm;
      readonly verify: AlgorithmIdentifier | EcdsaParams | RsaPssParams;
    }
  >
> = {
  'ecdsa-p256-sha256': {
    key: { name: 'ECDSA', namedCurve: 'P-256' },
    verify: { name: 'ECDSA', hash: 'SHA-256' },
  },
  'ecdsa-p384-sha384': {
    key: { name: 'ECDSA', namedCurve: 'P-384' },
    verify: { name: 'ECDSA', hash: 'SHA-384' },
  },
  ed25519: { key: { name: 'Ed25519' }, verify: { name: 'Ed25519' } },
  'rsa-pss-sha256': {
    key: { name: 'RSA-PSS', hash: 'SHA-256' },
    verify: { name: 'RSA-PSS', saltLength: 32 },
  },
};

/** Whether the runtime says it has no network (`navigator.onLine === false`). */
function offline(): boolean {
  return (globalThis as { navigator?: { onLine?: unknown } }).navigator?.onLine === false;
}

/**
 * Runs the network exchange `fn` with an abort signal that fires after `ms`; whatever it throws
 * (a `fetch` `TypeError`, the abort) becomes a {@link NetworkError} for `url`.
 */
async function exchange<T>(url: string, ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new NetworkError('ETIMEDOUT', url)), ms);
  try {
    return await fn(controller.signal);
  } catch (e) {
    throw controller.signal.aborted
      ? new NetworkError('ETIMEDOUT', url, { cause: e })
      : toNetworkError(e, url, offline());
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Creates the browser transport. The pin is required: without a well-formed one (or with a URL
 * that is not `https:`) this throws `ValidationError`. Before its first request, and before every
 * WebSocket connection attempt, the transport obtains a proof that the server holds the pinned
 * key; a failed proof is {@link PinMismatchError} and nothing else is sent. A successful proof is
 * kept for the requests of this transport; every socket (re)connection proves again.
 *
 * The WebSocket carries the credential in its subprotocol list
 * (`cloister.v1, cloister.auth.<base64url>`) because a page cannot set headers on it.
 *
 * A server that cannot be reached is a `NetworkError`: `request` rejects with it (a `fetch`
 * `TypeError` is `UNREACHABLE`, or `OFFLINE` when `navigator.onLine` is false; no answer within
 * `timeoutMs` is `ETIMEDOUT`), and a socket that fails or closes before it opened reports it to
 * `onError` before the next attempt.
 *
 * @example
 * ```ts
 * const transport = createBrowserTransport({ url: 'https://chat.example.internal', pin, credential });
 * const counts = expectOk(await transport.request('GET', '/v1/keys/count')).json;
 * const frames: Uint8Array[] = [];
 * const conn = transport.connect('/v1/ws', { onFrame: (f) => frames.push(f) });
 * ```
 */
export function createBrowserTransport(options: BrowserTransportOptions): Transport {
  if (typeof options !== 'object' || options === null) throw new ValidationError('options', 'an object');
  const pin = parsePin(options.pin);
  let base: URL;
  try {
    base = new URL(options.url);
  } catch {
    throw new ValidationError('url', 'an https URL');
  }
  if (base.protocol !== 'https:') throw new ValidationError('url', 'an https URL');
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    throw new ValidationError('timeoutMs', 'a positive integer');
  }
  let token: string | undefined;
  if (options.credential !== undefined) {
    if (!(options.credential instanceof Uint8Array) || options.credential.length === 0) {
      throw new ValidationError('credential', 'non-empty bytes');
    }
    token = toBase64Url(options.credential);
  }
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new ValidationError('fetch', 'a fetch function');
  const WebSocketImpl =
    options.WebSocket ?? (globalThis as { WebSocket?: BrowserWebSocketConstructor }).WebSocket;
  const cryptoImpl = options.crypto ?? globalThis.crypto;
  if (
    typeof cryptoImpl !== 'object' ||
    cryptoImpl === null ||
    typeof cryptoImpl.subtle !== 'object' ||
    typeof cryptoImpl.getRandomValues !== 'function'
  ) {
    throw new ValidationError('crypto', 'a WebCrypto object');
  }
  const subtle = cryptoImpl.subtle;
  const label = utf8(SERVER_KEY_PROOF_LABEL);

  /** Resolves `path` against the base URL; a path leading to another origin is refused. */
  function resolvePath(path: unknown): URL {
    const target = new URL(checkRequestPath(path), base);
    if (target.origin !== base.origin) throw new ValidationError('path', 'a path on the server');
    return target;
  }

  /**
   * Asks the server to sign a fresh nonce and checks the answer. Network failures and timeouts
   * reject with `NetworkError`, transient statuses (429, 5xx but 501) with `ServerError`; every
   * other failure is `PinMismatchError`. Only this request is sent before the check, and it carries neither the
   * credential nor any caller data.
   */
  async function prove(): Promise<void> {
    const nonce = cryptoImpl.getRandomValues(new Uint8Array(NONCE_BYTES));
    const answer = await exchange(base.href, timeoutMs, async (signal) => {
      const res = await fetchImpl(new URL('/v1/server-key-proof', base), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ nonce: toBase64Url(nonce) }),
        redirect: 'error',
        credentials: 'omit',
        cache: 'no-store',
        signal,
      });
      const text = await res.text();
      return { status: res.status, text };
    });
    if (answer.status === 429 || (answer.status >= 500 && answer.status !== 501)) {
      throw new ServerError(answer.status, undefined, 'the server could not give a key proof now');
    }
    if (answer.status !== 200) throw new PinMismatchError();
    let proof: { spki?: unknown; algorithm?: unknown; signature?: unknown };
    try {
      proof = JSON.parse(answer.text) as typeof proof;
    } catch {
      throw new PinMismatchError();
    }
    if (typeof proof !== 'object' || proof === null) throw new PinMismatchError();
    const spki = fromBase64Url(proof.spki);
    const signature = fromBase64Url(proof.signature);
    const algorithm =
      typeof proof.algorithm === 'string' && Object.hasOwn(ALGORITHMS, proof.algorithm)
        ? ALGORITHMS[proof.algorithm]
        : undefined;
    if (spki === undefined || signature === undefined || algorithm === undefined) {
      throw new PinMismatchError();
    }
    const digest = new Uint8Array(await subtle.digest('SHA-256', spki));
    if (!equalBytes(digest, pin)) throw new PinMismatchError();
    let valid: boolean;
    try {
      const key = await subtle.importKey('spki', spki, algorithm.key, false, ['verify']);
      valid = await subtle.verify(
        algorithm.verify,
        key,
        signature,
        new Uint8Array(concatBytes(label, nonce, digest)),
      );
    } catch {
      valid = false;
    }
    if (!valid) throw new PinMismatchError();
  }

  let proven = false;
  let proving: Promise<void> | undefined;
  /** One proof for the transport's requests; concurrent first requests share it, a failure is not kept. */
  async function ensureProven(): Promise<void> {
    if (proven) return;
    proving ??= prove().then(
      () => {
        proven = true;
      },
      (error: unknown) => {
        proving = undefined;
        throw error;
      },
    );
    await proving;
  }

  async function request(method: string, path: string, body: RequestBody = {}): Promise<TransportResponse> {
    if (typeof method !== 'string' || !/^[A-Z]+$/.test(method))
      throw new ValidationError('method', 'an HTTP method');
    const target = applyQuery(resolvePath(path), body.query);
    const headers: Record<string, string> = {};
    let payload: Uint8Array<ArrayBuffer> | string | undefined;
    if (body.json !== undefined) {
      payload = JSON.stringify(body.json);
      headers['content-type'] = 'application/json';
    } else if (body.body !== undefined) {
      if (!(body.body instanceof Uint8Array)) throw new ValidationError('body', 'bytes');
      payload = new Uint8Array(body.body);
      headers['content-type'] = body.contentType ?? 'application/x-protobuf';
    }
    if (token !== undefined) {
      headers.authorization = `${SCHEME} ${token}`;
      headers[CLIENT_VERSION_HEADER] = CLIENT_VERSION;
    }
    // The proof is checked here; the request below (credential, body) is sent only after it passed.
    await ensureProven();
    return exchange(base.href, timeoutMs, async (signal) => {
      const res = await fetchImpl(target, {
        method,
        headers,
        ...(payload === undefined ? {} : { body: payload }),
        redirect: 'error',
        credentials: 'omit',
        cache: 'no-store',
        signal,
      });
      const bytes = new Uint8Array(await res.arrayBuffer());
      const responseHeaders: Record<string, string> = {};
      res.headers.forEach((value, name) => {
        responseHeaders[name.toLowerCase()] = value;
      });
      let json: unknown;
      if ((responseHeaders['content-type'] ?? '').startsWith('application/json')) {
        try {
          json = JSON.parse(new TextDecoder().decode(bytes));
        } catch {
          json = undefined;
        }
      }
      const out: TransportResponse = { status: res.status, headers: responseHeaders, body: bytes };
      return json === undefined ? out : { ...out, json };
    });
  }

  function connect(path = '/v1/ws', handlers: ConnectionHandlers = {}): Connection {
    const target = resolvePath(path);
    target.protocol = 'wss:';
    if (typeof WebSocketImpl !== 'function')
      throw new ValidationError('WebSocket', 'a WebSocket constructor');
    const Socket = WebSocketImpl;
    const protocols =
      token === undefined
        ? [BROWSER_WS_SUBPROTOCOL]
        : [BROWSER_WS_SUBPROTOCOL, `${AUTH_SUBPROTOCOL_PREFIX}${token}`];
    let ws: BrowserWebSocket | undefined;
    const schedule = new ReconnectSchedule(handlers, () => void open());

    const open = async () => {
      try {
        // A fresh proof before every attempt: nothing carrying the credential goes out before it.
        await prove();
      } catch (e) {
        if (schedule.closed) return;
        schedule.failedToConnect(e instanceof Error ? e : new NetworkError('UNREACHABLE', base.href));
        return;
      }
      if (schedule.closed) return;
      let current: BrowserWebSocket;
      try {
        current = new Socket(target.href, protocols);
      } catch (e) {
        handlers.onError?.(e instanceof Error ? e : new NetworkError('UNREACHABLE', base.href));
        schedule.dropped(1006);
        return;
      }
      ws = current;
      let failed = false;
      let opened = false;
      current.binaryType = 'arraybuffer';
      // WHATWG sockets have no handshake timeout of their own.
      const handshakeTimer = setTimeout(() => {
        if (current.readyState === CONNECTING) {
          failed = true;
          handlers.onError?.(new NetworkError('ETIMEDOUT', base.href));
          current.close();
        }
      }, timeoutMs);
      current.onopen = () => {
        clearTimeout(handshakeTimer);
        opened = true;
        schedule.opened();
      };
      current.onmessage = (event) => {
        // Only binary frames are delivered; binaryType 'arraybuffer' makes them ArrayBuffers.
        if (event.data instanceof ArrayBuffer) handlers.onFrame?.(new Uint8Array(event.data));
      };
      current.onerror = () => {
        if (failed) return;
        failed = true;
        // A page learns nothing more of why a socket failed than whether it had opened.
        const code = opened ? 'ECONNRESET' : offline() ? 'OFFLINE' : 'UNREACHABLE';
        handlers.onError?.(new NetworkError(code, base.href));
      };
      current.onclose = (event) => {
        clearTimeout(handshakeTimer);
        if (!opened && !failed) {
          // Closed before it opened, with no error event: the handshake failed all the same.
          failed = true;
          handlers.onError?.(new NetworkError(offline() ? 'OFFLINE' : 'UNREACHABLE', base.href));
        }
        if (ws === current) ws = undefined;
        schedule.dropped(failed && event.code === 1005 ? 1006 : event.code);
      };
    };

    void open();
    return {
      get open() {
        return ws !== undefined && ws.readyState === OPEN;
      },
      send(frame: Uint8Array) {
        if (!(frame instanceof Uint8Array)) throw new ValidationError('frame', 'bytes');
        if (ws === undefined || ws.readyState !== OPEN) throw new UsageError('connection is not open');
        ws.send(new Uint8Array(frame));
      },
      close() {
        if (schedule.closed && ws === undefined && !schedule.waiting) return;
        schedule.stop();
        if (ws !== undefined) ws.close(1000);
        else handlers.onClose?.({ code: 1000, willReconnect: false });
      },
    };
  }

  return { request, connect };
}
