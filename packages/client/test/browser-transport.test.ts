/**
 * The browser transport against a real server, with undici's WHATWG `fetch` and `WebSocket`
 * standing in for the browser's. Certificate checks are off in the undici dispatcher: as in a
 * page that cannot see the certificate, trust comes from the server-key proof alone.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { concatBytes, utf8, ValidationError } from '@cloister/crypto';
import { messageId, tenantId } from '@cloister/protocol';
import { Agent, WebSocket as UndiciWebSocket, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouteModule } from '../../server/src/context.js';
import { wsRoutes } from '../../server/src/routes/ws.js';
import { setUpDevice, type TestDevice } from '../../server/test/helpers/device-client.js';
import { startTestServer, type TestServer } from '../../server/test/helpers/server.js';
import {
  type BrowserWebSocketConstructor,
  createBrowserTransport,
  SERVER_KEY_PROOF_LABEL,
} from '../src/transport/browser.js';
import { PinMismatchError } from '../src/transport/errors.js';
import { expectOk } from '../src/transport/node.js';

const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
const testFetch = ((input: string | URL, init?: RequestInit) =>
  undiciFetch(input, { ...(init as object), dispatcher })) as unknown as typeof globalThis.fetch;

/** Every undici socket the transport created, with the subprotocols it offered. */
const sockets: { ws: UndiciWebSocket; offered: string[]; proofsSeen: number }[] = [];
class TestWebSocket extends UndiciWebSocket {
  constructor(url: string, protocols?: string | string[]) {
    const offered = protocols === undefined ? [] : Array.isArray(protocols) ? protocols : [protocols];
    super(url, { protocols: offered, dispatcher });
    sockets.push({ ws: this, offered, proofsSeen: proofRequests() });
  }
}
const TestWS = TestWebSocket as unknown as BrowserWebSocketConstructor;

/** What the server saw, per request: path, and whether any credential came with it. */
const seen: { url: string; credential: boolean; body: boolean }[] = [];
let protectedCalls = 0;
/** What the forged proof route answers (set per test). */
let forged: unknown = {};

const testRoutes: RouteModule = (app) => {
  app.addHook('onRequest', async (request) => {
    const protocols = request.headers['sec-websocket-protocol'];
    seen.push({
      url: request.url,
      credential:
        request.headers.authorization !== undefined ||
        (typeof protocols === 'string' && protocols.includes('cloister.auth.')),
      body: request.headers['content-length'] !== undefined && request.headers['content-length'] !== '0',
    });
  });
  app.post('/v1/test/protected', async (request) => {
    protectedCalls++;
    return { ok: true, got: request.body };
  });
  app.post('/test/forged-proof', async () => forged);
};

let server: TestServer;
let device: TestDevice;

beforeAll(async () => {
  server = await startTestServer({ extraRoutes: [testRoutes, wsRoutes] });
  const ctx = server.server.context;
  const tid = tenantId('acme');
  await ctx.stores.tenants.create(tid, { name: 'ACME', signingKey: new Uint8Array(randomBytes(32)) });
  device = await setUpDevice(ctx, tid, 'alice', 1);
}, 120_000);

afterAll(async () => {
  await server?.close();
  await dispatcher.close();
});

const wrongPin = () => `sha256/${randomBytes(32).toString('base64')}`;
const proofRequests = () => seen.filter((s) => s.url === '/v1/server-key-proof').length;
const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

function transportWith(pin: string, fetchImpl: typeof globalThis.fetch = testFetch) {
  return createBrowserTransport({
    url: server.url,
    pin,
    credential: device.credential,
    timeoutMs: 10_000,
    fetch: fetchImpl,
    WebSocket: TestWS,
    crypto: globalThis.crypto,
  });
}

/** A fetch that sends the proof request to the forged route instead. */
const forgingFetch = ((input: string | URL, init?: RequestInit) => {
  const url = new URL(String(input));
  if (url.pathname === '/v1/server-key-proof') url.pathname = '/test/forged-proof';
  return testFetch(url, init);
}) as typeof globalThis.fetch;

async function until(predicate: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('createBrowserTransport: options', () => {
  it('requires a well-formed pin, an https URL and a positive timeout', () => {
    const bad: unknown[] = [undefined, '', 'sha256/', `sha256/${randomBytes(31).toString('base64')}`, 7];
    for (const pin of bad) {
      expect(() => createBrowserTransport({ url: server.url, pin: pin as string, fetch: testFetch })).toThrow(
        ValidationError,
      );
    }
    expect(() => createBrowserTransport({ url: 'http://127.0.0.1:1', pin: server.pin })).toThrow(
      ValidationError,
    );
    expect(() => createBrowserTransport({ url: server.url, pin: server.pin, timeoutMs: 0 })).toThrow(
      ValidationError,
    );
  });

  it('refuses a path that leaves the server origin', async () => {
    const t = transportWith(server.pin);
    await expect(t.request('GET', '//evil.example/x')).rejects.toThrow(ValidationError);
    await expect(t.request('GET', 'health')).rejects.toThrow(ValidationError);
  });
});

describe('createBrowserTransport: requests', () => {
  it('proves the key once, then sends requests with the credential and body', async () => {
    const t = transportWith(server.pin);
    const before = proofRequests();
    const callsBefore = protectedCalls;
    const [a, b] = await Promise.all([
      t.request('POST', '/v1/test/protected', { json: { n: 1 } }),
      t.request('POST', '/v1/test/protected', { json: { n: 2 } }),
    ]);
    expect(expectOk(a).json).toEqual({ ok: true, got: { n: 1 } });
    expect(b.json).toEqual({ ok: true, got: { n: 2 } });
    expect(a.headers['content-type']).toMatch(/^application\/json/);
    const health = expectOk(await t.request('GET', '/health'));
    expect(health.json).toEqual({ status: 'ok' });
    expect(protectedCalls).toBe(callsBefore + 2);
    // One proof for the transport, shared by the concurrent first requests.
    expect(proofRequests()).toBe(before + 1);
  });

  it('with a wrong pin, fails with PinMismatchError and sends neither credential nor body', async () => {
    const t = transportWith(wrongPin());
    const from = seen.length;
    const callsBefore = protectedCalls;
    await expect(t.request('POST', '/v1/test/protected', { json: { secret: 1 } })).rejects.toBeInstanceOf(
      PinMismatchError,
    );
    await expect(t.request('GET', '/health')).rejects.toBeInstanceOf(PinMismatchError);
    const after = seen.slice(from);
    expect(protectedCalls).toBe(callsBefore);
    // Only proof requests went out (a failure is not cached, so the second call proved again).
    expect(after.map((s) => s.url)).toEqual(['/v1/server-key-proof', '/v1/server-key-proof']);
    expect(after.every((s) => !s.credential)).toBe(true);
  });

  it('refuses forged proofs: another key, a wrong signature, a replayed answer, garbage', async () => {
    // The real server's answer to some other nonce.
    const real = await server.request('POST', '/v1/server-key-proof', {
      json: { nonce: b64url(randomBytes(32)) },
    });
    expect(real.status).toBe(200);
    // Another P-256 key that signs correctly for itself.
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const otherSpki = new Uint8Array(other.publicKey.export({ type: 'spki', format: 'der' }));
    const answers: ((nonce: Uint8Array) => unknown)[] = [
      (nonce) => {
        const digest = new Uint8Array(createHash('sha256').update(otherSpki).digest());
        const sig = sign('sha256', concatBytes(utf8(SERVER_KEY_PROOF_LABEL), nonce, digest), {
          key: other.privateKey,
          dsaEncoding: 'ieee-p1363',
        });
        return { spki: b64url(otherSpki), algorithm: 'ecdsa-p256-sha256', signature: b64url(sig) };
      },
      () => ({ ...real.json, signature: b64url(randomBytes(64)) }),
      () => real.json,
      () => ({ ...real.json, algorithm: 'ed25519' }),
      () => ({ spki: real.json.spki }),
      () => 'not a proof',
    ];
    for (const answer of answers) {
      const callsBefore = protectedCalls;
      const from = seen.length;
      const t = transportWith(server.pin, ((input: string | URL, init?: RequestInit) => {
        const url = new URL(String(input));
        if (url.pathname === '/v1/server-key-proof') {
          const nonce = Buffer.from(JSON.parse(String(init?.body)).nonce, 'base64url');
          forged = answer(new Uint8Array(nonce));
        }
        return forgingFetch(input, init);
      }) as typeof globalThis.fetch);
      await expect(t.request('POST', '/v1/test/protected', { json: { x: 1 } })).rejects.toBeInstanceOf(
        PinMismatchError,
      );
      expect(protectedCalls).toBe(callsBefore);
      expect(seen.slice(from).map((s) => s.url)).toEqual(['/test/forged-proof']);
    }
  });
});

describe('createBrowserTransport: WebSocket', () => {
  it('authenticates through the subprotocol, receives frames, and reconnects after a drop', async () => {
    const ctx = server.server.context;
    const envelope = new Uint8Array(randomBytes(40));
    await ctx.stores.mailboxes.enqueue(device.mailbox, {
      messageId: messageId('m_browser_1'),
      envelope,
      expiresAt: Date.now() + 3_600_000,
    });
    const frames: Uint8Array[] = [];
    let opens = 0;
    let reconnects = 0;
    const closes: { code: number; willReconnect: boolean }[] = [];
    const t = transportWith(server.pin);
    const firstSocket = sockets.length;
    const proofsBefore = proofRequests();
    const conn = t.connect('/v1/ws', {
      onOpen: () => opens++,
      onFrame: (f) => frames.push(f),
      onReconnect: () => reconnects++,
      onClose: (info) => closes.push(info),
      backoff: { initialMs: 20, maxMs: 100 },
    });
    expect(() => conn.send(Uint8Array.of(0x81))).toThrow(/not open/);
    await until(() => frames.length >= 2, 'the envelope and the synced frame');
    expect(conn.open).toBe(true);
    expect(frames[0]?.[0]).toBe(0x01);
    expect(frames[0]?.subarray(frames[0].length - envelope.length)).toEqual(envelope);
    expect(frames[1]).toEqual(Uint8Array.of(0x02));
    const first = sockets[firstSocket] as (typeof sockets)[number];
    expect(first.offered).toEqual(['cloister.v1', `cloister.auth.${b64url(device.credential)}`]);
    // The server selected cloister.v1 and never echoed the credential entry.
    expect(first.ws.protocol).toBe('cloister.v1');
    expect(proofRequests()).toBe(proofsBefore + 1);

    // Acknowledge, so the envelope is gone from the mailbox.
    const id = new TextEncoder().encode('m_browser_1');
    conn.send(Uint8Array.of(0x81, id.length, ...id));
    for (let i = 0; i < 200; i++) {
      if ((await ctx.stores.mailboxes.list(device.mailbox, { limit: 10 })).items.length === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await ctx.stores.mailboxes.list(device.mailbox, { limit: 10 })).items).toHaveLength(0);
    expect(opens).toBe(1);

    // The server drops every socket; the transport proves again and reconnects.
    for (const client of server.server.app.websocketServer.clients) client.terminate();
    await until(() => opens === 2, 'the reconnection');
    expect(reconnects).toBeGreaterThanOrEqual(1);
    expect(proofRequests()).toBeGreaterThanOrEqual(proofsBefore + 2);
    await until(() => frames.filter((f) => f.length === 1 && f[0] === 0x02).length === 2, 'synced again');
    // Acknowledged before the drop: not pushed again.
    expect(frames.filter((f) => f[0] === 0x01)).toHaveLength(1);

    conn.close();
    await until(() => closes.some((c) => !c.willReconnect), 'the final close');
    expect(closes.at(-1)).toEqual({ code: 1000, willReconnect: false });
    expect(closes.filter((c) => !c.willReconnect)).toHaveLength(1);
    expect(conn.open).toBe(false);
  });

  it('with a wrong pin, stops before the upgrade and does not reconnect', async () => {
    const from = seen.length;
    const socketsBefore = sockets.length;
    const t = transportWith(wrongPin());
    const errors: Error[] = [];
    const closes: { code: number; willReconnect: boolean }[] = [];
    let reconnects = 0;
    t.connect('/v1/ws', {
      onError: (e) => errors.push(e),
      onClose: (info) => closes.push(info),
      onReconnect: () => reconnects++,
      backoff: { initialMs: 10, maxMs: 20 },
    });
    await until(() => closes.length > 0, 'the close');
    expect(errors[0]).toBeInstanceOf(PinMismatchError);
    expect(closes).toEqual([{ code: 1015, willReconnect: false }]);
    expect(reconnects).toBe(0);
    expect(sockets.length).toBe(socketsBefore);
    expect(seen.slice(from).map((s) => s.url)).toEqual(['/v1/server-key-proof']);
  });

  it('retries an upgrade the server refuses (unknown credential) and never sends before a proof', async () => {
    const t = createBrowserTransport({
      url: server.url,
      pin: server.pin,
      credential: new Uint8Array(randomBytes(32)),
      fetch: testFetch,
      WebSocket: TestWS,
    });
    const from = seen.length;
    const socketsBefore = sockets.length;
    let reconnects = 0;
    const conn = t.connect('/v1/ws', {
      onReconnect: () => reconnects++,
      backoff: { initialMs: 10, maxMs: 20 },
    });
    await until(() => reconnects >= 2, 'two retries');
    conn.close();
    expect(conn.open).toBe(false);
    const urls = seen.slice(from).map((s) => s.url);
    // Every socket attempt was preceded by its own, new proof.
    expect(urls[0]).toBe('/v1/server-key-proof');
    const mine = sockets.slice(socketsBefore).map((s) => s.proofsSeen);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < mine.length; i++) expect(mine[i]).toBeGreaterThan(mine[i - 1] as number);
    expect(urls.filter((u) => u === '/v1/ws').length).toBeGreaterThanOrEqual(2);
  });
});
