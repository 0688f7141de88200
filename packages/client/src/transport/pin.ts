/**
 * Public-key pinning: a TLS connection is opened, the server's SubjectPublicKeyInfo hashed and
 * compared with the pin, and only a socket that passed is handed to HTTP or WebSocket code.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { equalBytes } from '@cloister/crypto';
import { NetworkError, PinMismatchError, toNetworkError } from './errors.js';

export { parsePin } from './common.js';

/**
 * The SHA-256 of the SubjectPublicKeyInfo of the certificate a TLS socket's peer presented, or
 * undefined when it presented none.
 *
 * @example
 * ```ts
 * import { connect } from 'node:tls';
 * const socket = connect({ host: 'chat.example.internal', port: 443, minVersion: 'TLSv1.3' });
 * socket.on('secureConnect', () => console.log(peerKeyDigest(socket))); // 32 bytes, or undefined
 * ```
 */
export function peerKeyDigest(socket: TLSSocket): Uint8Array | undefined {
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) return undefined;
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return new Uint8Array(createHash('sha256').update(spki).digest());
}

/**
 * Where and how to open a pinned connection.
 *
 * @example
 * ```ts
 * const options: PinnedConnectOptions = { host: 'localhost', port: 8443, pin: parsePin(pin), timeoutMs: 5_000 };
 * ```
 */
export interface PinnedConnectOptions {
  /** The server's host name or address. */
  readonly host: string;
  /** The server's TCP port. */
  readonly port: number;
  /** The 32-byte digest from {@link parsePin}. */
  readonly pin: Uint8Array;
  /** Milliseconds before the connection attempt is abandoned. */
  readonly timeoutMs: number;
  /** ALPN protocols to offer (default none). */
  readonly alpn?: readonly string[];
}

/**
 * Opens a TLS 1.3 connection and resolves it only once the server's public key matched the pin.
 * Certificate chain validation is off on purpose: the pin is the trust anchor (self-signed
 * server certificates are the norm). On a mismatch the socket is destroyed and the promise
 * rejects with {@link PinMismatchError}; nothing has been written by then. A connection that
 * fails (refused, reset, unresolvable name, failed handshake, no secure connection within
 * `timeoutMs`) rejects with {@link NetworkError}.
 *
 * @example
 * ```ts
 * const socket = await pinnedConnect({ host: '127.0.0.1', port: 8443, pin: parsePin(pin), timeoutMs: 10_000 });
 * ```
 */
export function pinnedConnect(options: PinnedConnectOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const host = options.host.replace(/^\[(.*)\]$/, '$1');
    const isIp = /^[\d.]+$/.test(host) || host.includes(':');
    const url = `https://${host.includes(':') ? `[${host}]` : host}:${options.port}`;
    const socket = tlsConnect({
      host,
      port: options.port,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      rejectUnauthorized: false,
      ...(isIp ? {} : { servername: host }),
      ...(options.alpn ? { ALPNProtocols: [...options.alpn] } : {}),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new NetworkError('ETIMEDOUT', url));
    }, options.timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(toNetworkError(e, url));
    };
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      // Until HTTP or WebSocket code attaches its own listener, a late error must not be fatal.
      socket.on('error', () => undefined);
      const digest = peerKeyDigest(socket);
      if (digest === undefined || !equalBytes(digest, options.pin)) {
        socket.destroy();
        reject(new PinMismatchError());
        return;
      }
      resolve(socket);
    });
  });
}
