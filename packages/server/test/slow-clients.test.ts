/**
 * Slow clients (issue 15, "Hard to knock over" item 5): before the fix, 300 slow requests held
 * 300 sockets open, with no request, header or idle timeout and no connection cap. Each test here
 * performs the attack against a server configured with small timeouts or caps and sees it cut.
 */
import { randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { tenantId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { authorizationHeader } from '../src/auth.js';
import { addressKey, checkConnectionLimits } from '../src/connection-limits.js';
import { checkTimeouts } from '../src/request-timeouts.js';
import { createServer } from '../src/server.js';
import { setUpDevice } from './helpers/device-client.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const TIMEOUTS = {
  headersMs: 300,
  requestMs: 600,
  blobChunkMs: 3_000,
  socketIdleMs: 2_500,
  keepAliveMs: 300,
};
/** Node keeps an idle kept-alive socket one second longer than it tells the client. */
const KEEP_ALIVE_BUFFER_MS = 1_000;
/** Allowance for the connections check interval, TLS and a loaded machine. */
const SLACK_MS = 700;

let slow: TestServer; // small timeouts
let capped: TestServer; // default timeouts, small connection caps
let credential: Uint8Array;
/** Every raw connection, destroyed before the servers close (a failed test leaves none open). */
const opened: RawClient[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface RawClient {
  readonly socket: TLSSocket;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves with the time the socket closed (`performance.now()`). */
  readonly closed: Promise<number>;
}

/** A TLS connection to `t`, resolved once the handshake is done (rejected if it is refused). */
function rawConnect(t: TestServer, localAddress = '127.0.0.1'): Promise<RawClient> {
  const port = Number(new URL(t.url).port);
  return new Promise((resolve, reject) => {
    // The TCP socket from a chosen loopback address (127.0.0.0/8 is all local), TLS over it.
    const tcp = netConnect({ host: '127.0.0.1', port, localAddress });
    const socket = connect({ socket: tcp, rejectUnauthorized: false });
    const chunks: Buffer[] = [];
    let handshaken = false;
    const closed = new Promise<number>((done) => socket.once('close', () => done(performance.now())));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      if (!handshaken) reject(error);
    });
    socket.once('close', () => {
      if (!handshaken) reject(new Error('closed before the handshake'));
    });
    socket.once('secureConnect', () => {
      handshaken = true;
      const client = { socket, received: () => Buffer.concat(chunks).toString('latin1'), closed };
      opened.push(client);
      resolve(client);
    });
  });
}

/** Whether a connection from `localAddress` is refused before its TLS handshake completes. */
async function refused(t: TestServer, localAddress: string): Promise<boolean> {
  try {
    const client = await rawConnect(t, localAddress);
    client.socket.destroy();
    return false;
  } catch {
    return true;
  }
}

/** Writes `bytes` one slice every `everyMs` until done or the socket closes. */
async function trickle(socket: TLSSocket, bytes: Buffer, slice: number, everyMs: number): Promise<void> {
  for (let at = 0; at < bytes.length && !socket.destroyed; at += slice) {
    socket.write(bytes.subarray(at, at + slice));
    await sleep(everyMs);
  }
}

/** Resolves the close time, or `undefined` if the socket is still open after `ms`. */
function closedWithin(client: RawClient, ms: number): Promise<number | undefined> {
  return Promise.race([client.closed, sleep(ms).then(() => undefined)]);
}

function errorBody(raw: string): { status: number; body: unknown } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
  const json = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  return { status, body: JSON.parse(json) };
}

beforeAll(async () => {
  slow = await startTestServer({ timeouts: TIMEOUTS });
  capped = await startTestServer({ connections: { max: 5, perAddress: 3 } });
  const tenant = tenantId('acme');
  await slow.server.context.stores.tenants.create(tenant, {
    name: 'acme',
    signingKey: new Uint8Array(randomBytes(32)),
  });
  credential = (await setUpDevice(slow.server.context, tenant, 'alice', 1)).credential;
});
afterAll(async () => {
  for (const client of opened) client.socket.destroy();
  await slow?.close();
  await capped?.close();
});

describe('slow clients: timeouts', () => {
  it.each(['/v1/blobs', '/no/such/route'])(
    'closes the socket of a client that trickles its body to %s slower than the request timeout, with a 408',
    async (path) => {
      const client = await rawConnect(slow);
      const body = Buffer.from(JSON.stringify({ size: 1, padding: 'x'.repeat(200) }));
      const start = performance.now();
      client.socket.write(
        `POST ${path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
      );
      // 4 bytes every 100 ms: the whole body would take 5 s.
      void trickle(client.socket, body, 4, 100);
      const closedAt = await closedWithin(client, TIMEOUTS.requestMs + SLACK_MS + 2_000);
      expect(closedAt, 'the socket is still open').toBeDefined();
      expect((closedAt as number) - start).toBeLessThan(TIMEOUTS.requestMs + SLACK_MS);
      expect(errorBody(client.received())).toEqual({
        status: 408,
        body: { error: { code: 'ERR_VALIDATION', message: 'request timeout' } },
      });
      expect(client.received()).toMatch(/\r\nconnection: close\r\n/i);
    },
  );

  it('closes the socket of a client that never finishes its headers, with a 408', async () => {
    const client = await rawConnect(slow);
    const start = performance.now();
    client.socket.write('GET /health HTTP/1.1\r\nhost: localhost\r\n');
    // One header byte every 50 ms, never the blank line.
    void trickle(client.socket, Buffer.from(`x-slow: ${'a'.repeat(500)}`), 1, 50);
    const closedAt = await closedWithin(client, TIMEOUTS.headersMs + SLACK_MS + 2_000);
    expect(closedAt, 'the socket is still open').toBeDefined();
    expect((closedAt as number) - start).toBeLessThan(TIMEOUTS.headersMs + SLACK_MS);
    expect(errorBody(client.received())).toEqual({
      status: 408,
      body: { error: { code: 'ERR_VALIDATION', message: 'request timeout' } },
    });
  });

  it('closes a kept-alive connection left idle after its answer', async () => {
    const client = await rawConnect(slow);
    client.socket.write('GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n');
    await sleep(100);
    expect(client.received()).toMatch(/^HTTP\/1\.1 200 /);
    const answeredAt = performance.now();
    const closedAt = await closedWithin(client, TIMEOUTS.socketIdleMs + SLACK_MS);
    expect(closedAt, 'the idle socket is still open').toBeDefined();
    // Cut by the keep-alive timeout, before the (longer) idle socket timeout.
    expect((closedAt as number) - answeredAt).toBeLessThan(TIMEOUTS.keepAliveMs + KEEP_ALIVE_BUFFER_MS + 200);
    expect(client.received()).toMatch(/\r\nkeep-alive: timeout=0\r\n/i);
  });

  it('still answers a normal request, and a blob chunk upload slower than the request timeout', async () => {
    const health = await slow.request('GET', '/health');
    expect(health.status).toBe(200);
    const created = await slow.request('POST', '/v1/blobs', { json: { size: 2048 }, credential });
    expect(created.status).toBe(201);
    const { blobId } = created.json as { blobId: string };

    // 2 KiB in 64-byte slices every 40 ms: about 1.3 s, past requestMs, within blobChunkMs.
    const client = await rawConnect(slow);
    const chunk = randomBytes(2048);
    const start = performance.now();
    client.socket.write(
      `PUT /v1/blobs/${blobId}/chunks/0 HTTP/1.1\r\nhost: localhost\r\nauthorization: ${authorizationHeader(credential)}\r\n` +
        `content-type: application/octet-stream\r\ncontent-length: ${chunk.length}\r\n\r\n`,
    );
    await trickle(client.socket, chunk, 64, 40);
    await sleep(200);
    expect(performance.now() - start).toBeGreaterThan(TIMEOUTS.requestMs);
    expect(client.received()).toMatch(/^HTTP\/1\.1 204 /);
    client.socket.destroy();
    const status = await slow.request('GET', `/v1/blobs/${blobId}`, { credential });
    expect(status.json).toMatchObject({ present: [0] });
  });

  it('keeps an open WebSocket past every timeout', async () => {
    const ws = new WebSocket(`${slow.url.replace(/^https:/, 'wss:')}/v1/ws`, {
      rejectUnauthorized: false,
      headers: { authorization: authorizationHeader(credential) },
    });
    let closed = false;
    ws.on('close', () => {
      closed = true;
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    // Longer than the header, request, keep-alive and idle socket timeouts; nothing is sent.
    await sleep(TIMEOUTS.socketIdleMs + SLACK_MS);
    expect(closed).toBe(false);
    const pong = new Promise<void>((resolve) => ws.once('pong', () => resolve()));
    ws.ping();
    await pong;
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
  });
});

describe('slow clients: connection caps', () => {
  it('refuses more concurrent sockets from one address than its cap, while another address gets through', async () => {
    const held = [await rawConnect(capped), await rawConnect(capped), await rawConnect(capped)];
    expect(capped.server.connections.open('127.0.0.1')).toBe(3);
    expect(await refused(capped, '127.0.0.1')).toBe(true);
    expect(capped.server.connections.refused.perAddress).toBe(1);

    // Another address is unaffected: it connects and is answered.
    const other = await rawConnect(capped, '127.0.0.2');
    other.socket.write('GET /health HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
    await other.closed;
    expect(other.received()).toMatch(/^HTTP\/1\.1 200 /);

    // A socket closed frees its place.
    held[0]?.socket.destroy();
    await held[0]?.closed;
    await sleep(50);
    const again = await rawConnect(capped);
    held.push(again);
    for (const h of held) h.socket.destroy();
  });

  it('counts WebSockets and refuses sockets over the instance cap', async () => {
    const tenant = tenantId('caps');
    await capped.server.context.stores.tenants.create(tenant, {
      name: 'caps',
      signingKey: new Uint8Array(randomBytes(32)),
    });
    const bob = await setUpDevice(capped.server.context, tenant, 'bob', 1);
    const ws = new WebSocket(`${capped.url.replace(/^https:/, 'wss:')}/v1/ws`, {
      rejectUnauthorized: false,
      localAddress: '127.0.0.3',
      headers: { authorization: authorizationHeader(bob.credential) },
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const held = [await rawConnect(capped, '127.0.0.3'), await rawConnect(capped, '127.0.0.3')];
    expect(capped.server.connections.open('127.0.0.3')).toBe(3);
    expect(await refused(capped, '127.0.0.3')).toBe(true);

    // Five open in all with two more from elsewhere: the sixth is over the instance cap.
    held.push(await rawConnect(capped, '127.0.0.4'), await rawConnect(capped, '127.0.0.5'));
    expect(await refused(capped, '127.0.0.6')).toBe(true);
    expect(capped.server.connections.refused.instance).toBeGreaterThanOrEqual(1);
    for (const h of held) h.socket.destroy();
    ws.close();
  });
});

describe('slow clients: options', () => {
  it('checks timeouts and caps before anything is created, with the field in the message', async () => {
    expect(() => checkTimeouts({ headersMs: 0 })).toThrow(/timeouts\.headersMs/);
    expect(() => checkTimeouts({ headersMs: 40_000 })).toThrow(/timeouts\.headersMs: expected at most/);
    expect(() => checkTimeouts({ requestMs: 200_000 })).toThrow(/timeouts\.blobChunkMs/);
    expect(() => checkTimeouts({ requestMs: 1.5 })).toThrow(/timeouts\.requestMs/);
    expect(() => checkTimeouts({ bodyMs: 1 } as never)).toThrow(/timeouts\.bodyMs/);
    expect(checkTimeouts(undefined)).toEqual({
      headersMs: 10_000,
      requestMs: 30_000,
      blobChunkMs: 120_000,
      socketIdleMs: 60_000,
      keepAliveMs: 5_000,
    });
    expect(() => checkConnectionLimits({ max: 0 })).toThrow(/connections\.max/);
    expect(() => checkConnectionLimits({ perAddress: 20_000 })).toThrow(/connections\.perAddress/);
    expect(checkConnectionLimits(undefined)).toEqual({ max: 10_000, perAddress: 128 });
    await expect(
      createServer({ dataDir: '/nonexistent/never', timeouts: { keepAliveMs: -1 } }),
    ).rejects.toThrow(/timeouts\.keepAliveMs/);
  });

  it('counts an IPv6 address for its /64 and an IPv4-mapped address as IPv4', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('2001:0db8:0000:0001:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:db8:0:1::ffff')).toBe(addressKey('2001:db8:0:1:1234::'));
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey(undefined)).toBeUndefined();
    expect(addressKey('not an address')).toBeUndefined();
  });
});
