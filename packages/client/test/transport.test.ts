import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DeviceId, registrationId, ValidationError } from '@cloister/crypto';
import { tenantId, userId } from '@cloister/protocol';
import { type CloisterServer, createServer, credentialHash, newMailboxId } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequestPath } from '../src/transport/common.js';
import {
  backoffDelay,
  createNodeTransport,
  expectOk,
  PinMismatchError,
  ServerError,
} from '../src/transport/index.js';

let dataDir: string;
let server: CloisterServer;
let url: string;
let port: number;
let credential: Uint8Array;
const seenPaths: string[] = [];

const wrongPin = () => `sha256/${randomBytes(32).toString('base64')}`;

async function start(): Promise<void> {
  server = await createServer({ dataDir, logLevel: 'silent' });
  server.app.addHook('onRequest', async (request) => {
    seenPaths.push(request.url);
  });
  url = await server.listen({ port });
  port = Number(new URL(url).port);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'cloister-client-transport-'));
  port = 0;
  await start();
  const ctx = server.context;
  const tid = tenantId('acme');
  const uid = userId('alice');
  await ctx.stores.tenants.create(tid, { name: 'ACME', signingKey: new Uint8Array(randomBytes(32)) });
  await ctx.stores.users.create(tid, uid, { displayName: 'alice' });
  credential = new Uint8Array(randomBytes(32));
  await ctx.stores.devices.add(tid, uid, 1 as DeviceId, {
    identity: {
      signingKey: new Uint8Array(randomBytes(32)),
      dhKey: new Uint8Array(randomBytes(32)),
      dhKeySignature: new Uint8Array(randomBytes(64)),
    },
    registrationId: registrationId(1),
    mailbox: await newMailboxId(ctx.provider),
    credentialHash: await credentialHash(ctx, credential),
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe('createNodeTransport', () => {
  it('requires a well-formed pin and an https URL', () => {
    const bad: unknown[] = [
      undefined,
      '',
      'sha256/',
      'sha1/abc',
      `sha256/${randomBytes(31).toString('base64')}`,
      42,
    ];
    for (const pin of bad) {
      expect(() => createNodeTransport({ url, pin: pin as string })).toThrow(ValidationError);
    }
    expect(() => createNodeTransport({ url: 'http://127.0.0.1:1', pin: server.pin })).toThrow(
      ValidationError,
    );
  });

  it('makes a request when the pin matches', async () => {
    const t = createNodeTransport({ url, pin: server.pin });
    const res = expectOk(await t.request('GET', '/health'));
    expect(res.status).toBe(200);
    expect(res.json).toBeTypeOf('object');
  });

  it('refuses a server whose key does not match, before writing the request', async () => {
    const t = createNodeTransport({ url, pin: wrongPin(), credential });
    const path = `/never-sent-${randomBytes(8).toString('hex')}`;
    await expect(t.request('POST', path, { json: { a: 1 } })).rejects.toBeInstanceOf(PinMismatchError);
    await expect(t.request('GET', path)).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    // A request that does reach the server is recorded, so the hook works.
    const probe = `/probe-${randomBytes(8).toString('hex')}`;
    await createNodeTransport({ url, pin: server.pin }).request('GET', probe);
    expect(seenPaths).toContain(probe);
    expect(seenPaths.some((p) => p.startsWith(path))).toBe(false);
  });

  it('refuses a path with dot segments, a query or a fragment before anything is sent', async () => {
    const t = createNodeTransport({ url, pin: server.pin, credential });
    const marker = randomBytes(8).toString('hex');
    for (const path of [
      `/v1/blobs/../users/${marker}/devices`,
      `/v1/blobs/%2e%2e/users/${marker}/devices`,
      `/v1/blobs/.%2E/users/${marker}`,
      `/v1/blobs/./${marker}`,
      `/v1/blobs/${marker}?x=1`,
      `/v1/blobs/${marker}#frag`,
      `//evil.example/${marker}`,
      `v1/${marker}`,
      `/v1/${marker}/ü`,
      `/v1/${marker}/%zz`,
    ]) {
      await expect(t.request('GET', path), path).rejects.toBeInstanceOf(ValidationError);
      expect(() => t.connect(path), path).toThrow(ValidationError);
    }
    expect(seenPaths.some((p) => p.includes(marker))).toBe(false);
  });

  it('accepts absolute paths of path characters, encoded data included', () => {
    for (const path of [
      '/health',
      '/v1/blobs/blb_AZaz09-_/chunks/0',
      `/v1/users/${encodeURIComponent('a/b?c#d')}/devices`,
    ]) {
      expect(checkRequestPath(path)).toBe(path);
    }
  });

  it('sends the credential, and surfaces server errors as ServerError', async () => {
    const authed = createNodeTransport({ url, pin: server.pin, credential });
    const ok = expectOk(await authed.request('GET', '/v1/keys/count'));
    expect(ok.status).toBe(200);
    const anonymous = createNodeTransport({ url, pin: server.pin });
    const res = await anonymous.request('GET', '/v1/keys/count');
    expect(res.status).toBe(401);
    let caught: unknown;
    try {
      expectOk(res);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ServerError);
    expect(caught).toMatchObject({ status: 401, code: 'ERR_UNAUTHENTICATED' });
    const other = createNodeTransport({ url, pin: server.pin, credential: new Uint8Array(randomBytes(32)) });
    expect((await other.request('GET', '/v1/keys/count')).status).toBe(401);
  });

  it('computes bounded, growing, jittered backoff delays', () => {
    const opts = { initialMs: 250, maxMs: 30_000 };
    expect(backoffDelay(1, { ...opts, random: () => 0 })).toBe(125);
    expect(backoffDelay(1, { ...opts, random: () => 0.999999 })).toBeCloseTo(250, 2);
    expect(backoffDelay(3, { ...opts, random: () => 0 })).toBe(500);
    expect(backoffDelay(100, { ...opts, random: () => 0.999999 })).toBeLessThanOrEqual(30_000);
    expect(backoffDelay(100, { ...opts, random: () => 0 })).toBe(15_000);
  });

  it('opens a WebSocket with the right pin and refuses one with a wrong pin', async () => {
    const good = createNodeTransport({ url, pin: server.pin, credential });
    await new Promise<void>((resolve, reject) => {
      const conn = good.connect('/v1/ws', {
        onOpen: () => {
          expect(conn.open).toBe(true);
          conn.close();
          resolve();
        },
        onError: reject,
      });
    });

    const bad = createNodeTransport({ url, pin: wrongPin(), credential });
    const path = `/v1/ws-never-${randomBytes(8).toString('hex')}`;
    const events: string[] = [];
    const error = await new Promise<Error>((resolve) => {
      bad.connect(path, {
        onOpen: () => events.push('open'),
        onReconnect: () => events.push('reconnect'),
        onError: resolve,
      });
    });
    expect(error).toBeInstanceOf(PinMismatchError);
    await new Promise((r) => setTimeout(r, 100));
    expect(events).toEqual([]);
    expect(seenPaths.some((p) => p.includes('ws-never-'))).toBe(false);
  });

  it('reconnects with backoff after the server restarts on the same port and data', async () => {
    const t = createNodeTransport({ url, pin: server.pin, credential });
    const reconnects: { attempt: number; delayMs: number }[] = [];
    let opens = 0;
    let onOpen: () => void = () => undefined;
    const conn = t.connect('/v1/ws', {
      backoff: { initialMs: 20, maxMs: 200, stableMs: 300 },
      onOpen: () => {
        opens += 1;
        onOpen();
      },
      onReconnect: (info) => reconnects.push(info),
    });
    await new Promise<void>((resolve) => {
      onOpen = resolve;
    });
    const reopened = new Promise<void>((resolve) => {
      onOpen = resolve;
    });
    await server.close();
    await new Promise((r) => setTimeout(r, 600)); // several refused attempts while it is down
    await start();
    await reopened;
    expect(opens).toBe(2);
    expect(reconnects.length).toBeGreaterThanOrEqual(3);
    reconnects.forEach((r, i) => {
      expect(r.attempt).toBe(i + 1);
      expect(r.delayMs).toBeLessThanOrEqual(200);
      expect(r.delayMs).toBeGreaterThanOrEqual(Math.min(200, 20 * 2 ** i) / 2);
    });
    // Open longer than stableMs: the next outage starts again from the first delay.
    await new Promise((r) => setTimeout(r, 500));
    const before = reconnects.length;
    const reopenedAgain = new Promise<void>((resolve) => {
      onOpen = resolve;
    });
    await server.close();
    await start();
    await reopenedAgain;
    expect(opens).toBe(3);
    expect(reconnects[before]?.attempt).toBe(1);
    expect(reconnects.length).toBeGreaterThan(before);
    const frame = new Uint8Array([0x81, 1, 0x41]);
    conn.send(frame); // an acknowledgement of an unknown id; accepted without closing
    conn.close();
    expect(conn.open).toBe(false);
    expect(() => conn.send(frame)).toThrow();
  }, 20_000);
});
