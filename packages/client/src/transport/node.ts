/**
 * The Node transport: HTTPS requests and a reconnecting WebSocket, each over a TLS 1.3 socket
 * whose server key was checked against the pin before anything was written.
 *
 * @module
 */
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { UsageError, ValidationError } from '@cloister/crypto';
import WebSocket from 'ws';
import {
  applyQuery,
  CLIENT_VERSION,
  CLIENT_VERSION_HEADER,
  type Connection,
  type ConnectionHandlers,
  checkRequestPath,
  ReconnectSchedule,
  type RequestBody,
  type Transport,
  type TransportResponse,
} from './common.js';
import { NetworkError, networkErrorFrom, toNetworkError } from './errors.js';
import { parsePin, pinnedConnect } from './pin.js';

export { type BackoffOptions, backoffDelay } from '../backoff.js';
export {
  type Connection,
  type ConnectionHandlers,
  expectOk,
  type RequestBody,
  type Transport,
  type TransportResponse,
} from './common.js';

/**
 * Options of {@link createNodeTransport}.
 *
 * @example
 * ```ts
 * const options: NodeTransportOptions = { url: 'https://chat.example.internal:8443', pin, credential, timeoutMs: 10_000 };
 * ```
 */
export interface NodeTransportOptions {
  /** The server's base URL, `https://host:port`. */
  readonly url: string;
  /** The server's public-key pin, `sha256/<base64>`; required. */
  readonly pin: string;
  /** The device credential; when set, every request and upgrade carries it. */
  readonly credential?: Uint8Array;
  /** Milliseconds for connecting (and for a whole HTTP exchange); default 30,000. */
  readonly timeoutMs?: number;
}

const SCHEME = 'Cloister-Device';

/**
 * Creates the Node transport. The pin is required: without a well-formed one this throws
 * `ValidationError`. Every connection (HTTP or WebSocket) is first a TLS 1.3 socket whose server
 * key is compared with the pin; only then are request bytes written. A server that cannot be
 * reached (refused, reset, timed out, unresolvable, failed TLS handshake) is a `NetworkError`:
 * `request` rejects with it and a connection reports it to `onError` before it retries.
 *
 * @example
 * ```ts
 * const transport = createNodeTransport({ url: 'https://127.0.0.1:8443', pin, credential });
 * const counts = expectOk(await transport.request('GET', '/v1/keys/count')).json;
 * const frames: Uint8Array[] = [];
 * const conn = transport.connect('/v1/ws', { onFrame: (f) => frames.push(f) });
 * ```
 */
export function createNodeTransport(options: NodeTransportOptions): Transport {
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
  let authorization: string | undefined;
  if (options.credential !== undefined) {
    if (!(options.credential instanceof Uint8Array) || options.credential.length === 0) {
      throw new ValidationError('credential', 'non-empty bytes');
    }
    authorization = `${SCHEME} ${Buffer.from(options.credential).toString('base64url')}`;
  }
  const host = base.hostname;
  const port = base.port === '' ? 443 : Number(base.port);

  async function request(method: string, path: string, body: RequestBody = {}): Promise<TransportResponse> {
    if (typeof method !== 'string' || !/^[A-Z]+$/.test(method))
      throw new ValidationError('method', 'an HTTP method');
    checkRequestPath(path);
    const headers: Record<string, string> = {};
    let payload: Buffer | undefined;
    if (body.json !== undefined) {
      payload = Buffer.from(JSON.stringify(body.json));
      headers['content-type'] = 'application/json';
    } else if (body.body !== undefined) {
      payload = Buffer.from(body.body);
      headers['content-type'] = body.contentType ?? 'application/x-protobuf';
    }
    if (payload !== undefined) headers['content-length'] = String(payload.length);
    if (authorization !== undefined) {
      headers.authorization = authorization;
      headers[CLIENT_VERSION_HEADER] = CLIENT_VERSION;
    }
    const target = applyQuery(new URL(path, base), body.query);
    // The pin is checked here; the request below is written only to a socket that passed.
    const socket = await pinnedConnect({ host, port, pin, timeoutMs, alpn: ['http/1.1'] });
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        target,
        {
          method,
          headers,
          // No agent: with `createConnection` and no agent, Node uses exactly this socket.
          createConnection: () => socket,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(toNetworkError(e, base.href)));
          res.on('end', () => {
            clearTimeout(timer);
            const bytes = new Uint8Array(Buffer.concat(chunks));
            let json: unknown;
            const type = res.headers['content-type'] ?? '';
            if (type.startsWith('application/json')) {
              try {
                json = JSON.parse(Buffer.from(bytes).toString('utf8'));
              } catch {
                json = undefined;
              }
            }
            const out: TransportResponse = { status: res.statusCode ?? 0, headers: res.headers, body: bytes };
            resolve(json === undefined ? out : { ...out, json });
          });
        },
      );
      const timer = setTimeout(() => req.destroy(new NetworkError('ETIMEDOUT', base.href)), timeoutMs);
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(toNetworkError(e, base.href));
      });
      req.end(payload);
    });
  }

  function connect(path = '/v1/ws', handlers: ConnectionHandlers = {}): Connection {
    checkRequestPath(path);
    const target = new URL(path, base);
    target.protocol = 'wss:';
    let ws: WebSocket | undefined;
    const schedule = new ReconnectSchedule(handlers, () => void open());

    const open = async () => {
      let socket: TLSSocket;
      try {
        socket = await pinnedConnect({ host, port, pin, timeoutMs, alpn: ['http/1.1'] });
      } catch (e) {
        schedule.failedToConnect(toNetworkError(e, base.href));
        return;
      }
      if (schedule.closed) {
        socket.destroy();
        return;
      }
      const socketHeaders: Record<string, string> = {};
      if (authorization !== undefined) socketHeaders.authorization = authorization;
      const current = new WebSocket(target, {
        headers: socketHeaders,
        handshakeTimeout: timeoutMs,
        // The socket handed over has already passed the pin check.
        createConnection: (() => socket) as unknown as never,
      });
      ws = current;
      let failed = false;
      let timedOut = false;
      current.binaryType = 'nodebuffer';
      // ws's own handshakeTimeout does not fire on a socket handed over by createConnection: a
      // server that takes the upgrade and never answers would hold the connection for ever.
      const handshakeTimer = setTimeout(() => {
        if (current.readyState !== WebSocket.CONNECTING) return;
        failed = true;
        timedOut = true;
        handlers.onError?.(new NetworkError('ETIMEDOUT', base.href));
        current.terminate();
      }, timeoutMs);
      current.on('open', () => {
        clearTimeout(handshakeTimer);
        schedule.opened();
      });
      current.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) handlers.onFrame?.(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      });
      current.on('error', (e) => {
        failed = true;
        // Reported already; this is ws saying that terminate() ended the handshake.
        if (timedOut) return;
        // A refused upgrade (an HTTP status) is not a network failure; a dropped socket is.
        handlers.onError?.(networkErrorFrom(e, base.href) ?? e);
      });
      current.on('close', (code) => {
        clearTimeout(handshakeTimer);
        if (ws === current) ws = undefined;
        schedule.dropped(failed && code === 1005 ? 1006 : code);
      });
    };

    void open();
    return {
      get open() {
        return ws !== undefined && ws.readyState === WebSocket.OPEN;
      },
      send(frame: Uint8Array) {
        if (!(frame instanceof Uint8Array)) throw new ValidationError('frame', 'bytes');
        if (ws === undefined || ws.readyState !== WebSocket.OPEN)
          throw new UsageError('connection is not open');
        ws.send(frame, { binary: true });
      },
      close() {
        schedule.stop();
        if (ws !== undefined) ws.close(1000);
        else handlers.onClose?.({ code: 1000, willReconnect: false });
      },
    };
  }

  return { request, connect };
}
