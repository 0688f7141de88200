/**
 * Connection failures are `NetworkError`s in both transports (with `code` and `retryable`, a
 * message that names the server's origin and nothing secret), a pin mismatch stays
 * `PinMismatchError`, and `enroll()` rejects with the `NetworkError` leaving the client unenrolled.
 * The servers here are raw sockets: one that is not listening, one that never answers, one that
 * resets every connection and one that speaks plain HTTP instead of TLS.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import {
  type CloisterServer,
  createServer as createCloisterServer,
  generateSelfSigned,
  spkiPin,
} from '@cloister/server';
import { createMemoryAdapter } from '@cloister/storage';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NetworkError as BrowserNetworkError } from '../src/browser.js';
import {
  type BrowserWebSocket,
  type BrowserWebSocketConstructor,
  type ConnectionHandlers,
  createBrowserTransport,
  createClient,
  createNodeTransport,
  NetworkError,
  PinMismatchError,
  ServerError,
} from '../src/index.js';

const PIN = `sha256/${Buffer.alloc(32, 7).toString('base64')}`;
const CREDENTIAL = new Uint8Array(randomBytes(32));
const CREDENTIAL_B64 = Buffer.from(CREDENTIAL).toString('base64url');
const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
const testFetch = ((input: string | URL, init?: RequestInit) =>
  undiciFetch(input, { ...(init as object), dispatcher })) as unknown as typeof globalThis.fetch;

/** A TCP server on 127.0.0.1 that does `onSocket` with every connection. */
async function tcpServer(onSocket: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  }) as typeof server.close;
  return { server, port: (server.address() as { port: number }).port };
}

let closedPort: number;
let silent: { server: Server; port: number };
let resetting: { server: Server; port: number };
let plain: { server: Server; port: number };
let cloister: CloisterServer;
let cloisterUrl: string;
let dataDir: string;

beforeAll(async () => {
  // Port 2 on loopback: below the ephemeral range that port 0 draws from, not on fetch's list of
  // blocked ports, and no test listens there. A port freed by a probe is not safe: a server of
  // another test file running at the same time may be given it.
  closedPort = 2;
  silent = await tcpServer(() => undefined);
  resetting = await tcpServer((s) => s.resetAndDestroy());
  plain = await tcpServer((s) =>
    s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n')),
  );
  dataDir = mkdtempSync(join(tmpdir(), 'cloister-network-errors-'));
  cloister = await createCloisterServer({ dataDir, logLevel: 'silent' });
  cloisterUrl = await cloister.listen({ port: 0, host: '127.0.0.1' });
}, 120_000);

afterAll(async () => {
  for (const s of [silent, resetting, plain]) await new Promise((r) => s?.server.close(r));
  await cloister?.close();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  await dispatcher.close();
});

/** The error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

/** Checks a NetworkError: its code, retryability, origin, and that its message gives away no secret. */
function expectNetworkError(e: unknown, code: string | readonly string[], origin: string): NetworkError {
  expect(e).toBeInstanceOf(NetworkError);
  const n = e as NetworkError;
  expect(typeof code === 'string' ? [code] : code).toContain(n.code);
  expect(n.name).toBe('NetworkError');
  expect(n.url).toBe(origin);
  expect(n.message).toContain(origin);
  expect(n.message).toContain(`(${n.code})`);
  expect(n.message).not.toContain(CREDENTIAL_B64);
  expect(n.message).not.toContain('s3cret');
  expect(n.message).not.toContain('/v1/');
  return n;
}

describe('NetworkError', () => {
  it('is the same class from both entries', () => {
    expect(BrowserNetworkError).toBe(NetworkError);
  });

  it('names only the origin of a URL with user info and a path', () => {
    const e = new NetworkError('ECONNREFUSED', 'https://admin:s3cret@chat.example:8443/v1/ws?token=x');
    expect(e.url).toBe('https://chat.example:8443');
    expect(e.message).toBe(
      'cannot reach https://chat.example:8443: connection refused (is the server running?) (ECONNREFUSED)',
    );
    expect(e.retryable).toBe(true);
    expect(new NetworkError('TLS', 'https://h').retryable).toBe(false);
    expect(new NetworkError('ENOTFOUND', 'https://h').retryable).toBe(false);
    expect(new NetworkError('OFFLINE', 'not a url').url).toBe('the server');
  });
});

describe('Node transport: connection failures', () => {
  const at = (port: number) => `https://127.0.0.1:${port}`;
  const transport = (url: string, timeoutMs = 5_000) =>
    createNodeTransport({ url, pin: PIN, credential: CREDENTIAL, timeoutMs });

  it('a port nobody listens on is ECONNREFUSED, retryable', async () => {
    const e = await failure(
      transport(`https://u:s3cret@127.0.0.1:${closedPort}`).request('GET', '/v1/keys/count'),
    );
    expect(expectNetworkError(e, 'ECONNREFUSED', at(closedPort)).retryable).toBe(true);
  });

  it('a server that never answers is ETIMEDOUT', async () => {
    const e = await failure(
      transport(at(silent.port), 300).request('POST', '/v1/messages', { json: { a: 1 } }),
    );
    expect(expectNetworkError(e, 'ETIMEDOUT', at(silent.port)).retryable).toBe(true);
  });

  it('a server that resets the connection is ECONNRESET', async () => {
    const e = await failure(transport(at(resetting.port)).request('GET', '/health'));
    expectNetworkError(e, 'ECONNRESET', at(resetting.port));
  });

  it('a server that does not speak TLS is TLS, not retryable', async () => {
    const e = await failure(transport(at(plain.port)).request('GET', '/health'));
    expect(expectNetworkError(e, 'TLS', at(plain.port)).retryable).toBe(false);
  });

  it('a name that does not resolve is ENOTFOUND (or EAI_AGAIN without a resolver)', async () => {
    const e = await failure(transport('https://cloister.invalid:8443').request('GET', '/health'));
    const n = expectNetworkError(e, ['ENOTFOUND', 'EAI_AGAIN'], 'https://cloister.invalid:8443');
    expect(n.retryable).toBe(n.code === 'EAI_AGAIN');
  });

  it('a pin mismatch stays PinMismatchError', async () => {
    const e = await failure(createNodeTransport({ url: cloisterUrl, pin: PIN }).request('GET', '/health'));
    expect(e).toBeInstanceOf(PinMismatchError);
    expect(e).not.toBeInstanceOf(NetworkError);
  });

  it('a WebSocket upgrade with no answer within timeoutMs reports ETIMEDOUT', async () => {
    // A TLS 1.3 server with the pinned key that takes the upgrade request and never answers.
    const material = await generateSelfSigned(['127.0.0.1']);
    const accepted: TLSSocket[] = [];
    const tls = createTlsServer({ ...material, minVersion: 'TLSv1.3' }, (s) => {
      accepted.push(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    const port = (tls.address() as { port: number }).port;
    try {
      const errors: Error[] = [];
      const conn = createNodeTransport({
        url: at(port),
        pin: spkiPin(material.cert),
        timeoutMs: 300,
      }).connect('/v1/ws', { onError: (e) => errors.push(e), backoff: { initialMs: 5_000, maxMs: 5_000 } });
      await vi.waitFor(() => expect(errors.length).toBeGreaterThanOrEqual(1), { timeout: 10_000 });
      conn.close();
      expectNetworkError(errors[0], 'ETIMEDOUT', at(port));
    } finally {
      for (const s of accepted) s.destroy();
      await new Promise((r) => tls.close(r));
    }
  });

  it('a WebSocket to a port nobody listens on reports NetworkError and keeps retrying', async () => {
    const errors: Error[] = [];
    let reconnects = 0;
    const conn = transport(at(closedPort)).connect('/v1/ws', {
      onError: (e) => errors.push(e),
      onReconnect: () => reconnects++,
      backoff: { initialMs: 10, maxMs: 20 },
    });
    await vi.waitFor(() => expect(reconnects).toBeGreaterThanOrEqual(2), { timeout: 5_000 });
    conn.close();
    expect(errors.length).toBeGreaterThanOrEqual(2);
    for (const e of errors) expectNetworkError(e, 'ECONNREFUSED', at(closedPort));
  });
});

describe('browser transport: connection failures', () => {
  const options = (url: string, fetchImpl: typeof globalThis.fetch, extra: object = {}) => ({
    url,
    pin: PIN,
    credential: CREDENTIAL,
    timeoutMs: 5_000,
    fetch: fetchImpl,
    crypto: globalThis.crypto,
    ...extra,
  });

  it('a fetch to a port nobody listens on is ECONNREFUSED (from the fetch error’s cause)', async () => {
    const url = `https://127.0.0.1:${closedPort}`;
    const e = await failure(createBrowserTransport(options(url, testFetch)).request('GET', '/v1/keys/count'));
    expect(expectNetworkError(e, 'ECONNREFUSED', url).retryable).toBe(true);
  });

  it('a bare fetch TypeError is UNREACHABLE, and OFFLINE when the browser says it is offline', async () => {
    const failing = (() => Promise.reject(new TypeError('Failed to fetch'))) as unknown as typeof fetch;
    const url = 'https://chat.example';
    const t = createBrowserTransport(options(url, failing));
    expectNetworkError(await failure(t.request('GET', '/health')), 'UNREACHABLE', url);
    vi.stubGlobal('navigator', { onLine: false });
    try {
      const n = expectNetworkError(await failure(t.request('GET', '/health')), 'OFFLINE', url);
      expect(n.retryable).toBe(true);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('no answer within timeoutMs is ETIMEDOUT', async () => {
    const hanging = ((_: unknown, init?: RequestInit) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      })) as unknown as typeof fetch;
    const url = 'https://chat.example';
    const t = createBrowserTransport(options(url, hanging, { timeoutMs: 100 }));
    expectNetworkError(await failure(t.request('GET', '/health')), 'ETIMEDOUT', url);
  });

  it('a WebSocket that fails or closes before it opened reports NetworkError', async () => {
    /** Sockets that never open: the first errors then closes, the second closes without an error. */
    let made = 0;
    class NeverOpens implements BrowserWebSocket {
      readyState = 0;
      binaryType = 'blob';
      onopen: ((event: unknown) => void) | null = null;
      onmessage: ((event: { readonly data: unknown }) => void) | null = null;
      onclose: ((event: { readonly code: number }) => void) | null = null;
      onerror: ((event: unknown) => void) | null = null;
      constructor() {
        const withError = made++ % 2 === 0;
        setTimeout(() => {
          this.readyState = 3;
          if (withError) this.onerror?.({});
          this.onclose?.({ code: 1006 });
        }, 5);
      }
      send(): void {}
      close(): void {}
    }
    const errors: Error[] = [];
    let reconnects = 0;
    const handlers: ConnectionHandlers = {
      onError: (e) => errors.push(e),
      onReconnect: () => reconnects++,
      backoff: { initialMs: 10, maxMs: 20 },
    };
    // The proof needs the real server; the socket after it never opens.
    const t = createBrowserTransport(
      options(cloisterUrl, testFetch, {
        pin: cloister.pin,
        WebSocket: NeverOpens as unknown as BrowserWebSocketConstructor,
      }),
    );
    const conn = t.connect('/v1/ws', handlers);
    await vi.waitFor(() => expect(reconnects).toBeGreaterThanOrEqual(2), { timeout: 5_000 });
    conn.close();
    expect(errors.length).toBeGreaterThanOrEqual(2);
    for (const e of errors.slice(0, 2)) expectNetworkError(e, 'UNREACHABLE', new URL(cloisterUrl).origin);
  });

  it('a server that answers 503 to the proof is a ServerError, not a NetworkError', async () => {
    const busy = (async () =>
      new Response('{}', { status: 503, headers: { 'content-type': 'application/json' } })) as typeof fetch;
    const e = await failure(
      createBrowserTransport(options('https://chat.example', busy)).request('GET', '/h'),
    );
    expect(e).toBeInstanceOf(ServerError);
  });
});

describe('enroll', () => {
  it('rejects with NetworkError when the server is down, and the client stays unenrolled', async () => {
    const url = `https://127.0.0.1:${closedPort}`;
    const client = await createClient({ server: { url, pin: PIN }, storage: createMemoryAdapter() });
    const e = await failure(client.enroll('A'.repeat(43), { pin: '246813' }));
    expectNetworkError(e, 'ECONNREFUSED', url);
    expect(client.status).toBe('unenrolled');
    await client.close();
  });
});
