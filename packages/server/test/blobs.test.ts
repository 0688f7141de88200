import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import type { DeviceId } from '@cloister/crypto';
import { registrationId } from '@cloister/crypto';
import { tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizationHeader, credentialHash } from '../src/auth.js';
import { newMailboxId } from '../src/delivery-token.js';
import { blobRoutes } from '../src/routes/blobs.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const CHUNK = 4096;
const MAX_BLOB = 64 * 1024;
const RETENTION = 3_600_000;
let clockOffset = 0;
let t: TestServer;
let alice: Uint8Array; // acme / alice / device 1 (the uploader)
let aliceTablet: Uint8Array; // acme / alice / device 2
let bob: Uint8Array; // acme / bob / device 1
let eve: Uint8Array; // other / eve / device 1

async function addDevice(tenant: string, user: string, device: number): Promise<Uint8Array> {
  const ctx = t.server.context;
  const s = ctx.stores;
  const tid = tenantId(tenant);
  const uid = userId(user);
  if ((await s.tenants.get(tid)) === undefined) {
    await s.tenants.create(tid, { name: tenant, signingKey: new Uint8Array(randomBytes(32)) });
  }
  if ((await s.users.get(tid, uid)) === undefined) await s.users.create(tid, uid, { displayName: user });
  const credential = new Uint8Array(randomBytes(32));
  await s.devices.add(tid, uid, device as DeviceId, {
    identity: {
      signingKey: new Uint8Array(randomBytes(32)),
      dhKey: new Uint8Array(randomBytes(32)),
      dhKeySignature: new Uint8Array(randomBytes(64)),
    },
    registrationId: registrationId(device),
    mailbox: await newMailboxId(ctx.provider),
    credentialHash: await credentialHash(ctx, credential),
  });
  return credential;
}

async function create(credential: Uint8Array, size: number, expiresInMs?: number) {
  return t.request('POST', '/v1/blobs', {
    json: expiresInMs === undefined ? { size } : { size, expiresInMs },
    credential,
  });
}

function put(credential: Uint8Array, id: string, index: number, bytes: Uint8Array) {
  return t.request('PUT', `/v1/blobs/${id}/chunks/${index}`, {
    body: bytes,
    contentType: 'application/octet-stream',
    credential,
  });
}

/** Starts a chunk upload, sends half of it, and drops the connection. */
async function interruptedPut(credential: Uint8Array, id: string, index: number, bytes: Uint8Array) {
  await new Promise<void>((resolve) => {
    const req = httpsRequest(new URL(`/v1/blobs/${id}/chunks/${index}`, t.url), {
      method: 'PUT',
      rejectUnauthorized: false,
      agent: false,
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(bytes.length),
        authorization: authorizationHeader(credential),
      },
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.write(bytes.subarray(0, bytes.length >> 1), () => setTimeout(() => req.destroy(), 50));
  });
}

beforeAll(async () => {
  t = await startTestServer({
    limits: { blobChunkBytes: CHUNK, blobBytes: MAX_BLOB, mailboxRetentionMs: RETENTION },
    now: () => Date.now() + clockOffset,
    extraRoutes: [blobRoutes],
  });
  alice = await addDevice('acme', 'alice', 1);
  aliceTablet = await addDevice('acme', 'alice', 2);
  bob = await addDevice('acme', 'bob', 1);
  eve = await addDevice('other', 'eve', 1);
});
afterAll(async () => {
  await t?.close();
});

describe('blob routes', () => {
  it('uploads out of order, resumes from the status, refuses an incomplete finish, then downloads', async () => {
    const file = new Uint8Array(randomBytes(3 * CHUNK + 100));
    const chunk = (i: number) => file.subarray(i * CHUNK, Math.min(file.length, (i + 1) * CHUNK));
    const created = await create(alice, file.length);
    expect(created.status).toBe(201);
    const { blobId, chunkBytes, chunks, expiresAt } = created.json;
    expect(blobId).toMatch(/^blb_[A-Za-z0-9_-]{43}$/);
    expect(chunkBytes).toBe(CHUNK);
    expect(chunks).toBe(4);
    expect(expiresAt).toBeGreaterThan(Date.now());

    expect((await put(alice, blobId, 3, chunk(3))).status).toBe(204);
    expect((await put(alice, blobId, 1, chunk(1))).status).toBe(204);
    // The connection drops in the middle of chunk 0; the uploader asks what the server has.
    await interruptedPut(alice, blobId, 0, chunk(0));
    const status = await t.request('GET', `/v1/blobs/${blobId}`, { credential: alice });
    expect(status.status).toBe(200);
    expect(status.json).toMatchObject({
      blobId,
      size: file.length,
      chunks: 4,
      present: [1, 3],
      complete: false,
    });

    const early = await t.request('POST', `/v1/blobs/${blobId}/finish`, { credential: alice });
    expect(early.status).toBe(409);
    expect(early.json.error.code).toBe('ERR_CONFLICT');
    const notYet = await t.request('GET', `/v1/blobs/${blobId}/chunks/1`, { credential: bob });
    expect(notYet.status).toBe(409);

    const missing = [0, 1, 2, 3].filter((i) => !status.json.present.includes(i));
    for (const i of missing) expect((await put(alice, blobId, i, chunk(i))).status).toBe(204);
    // Resending a chunk before finishing is allowed (an interrupted upload may have reached the server).
    expect((await put(alice, blobId, 0, chunk(0))).status).toBe(204);
    const done = await t.request('POST', `/v1/blobs/${blobId}/finish`, { credential: alice });
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({ complete: true, present: [0, 1, 2, 3] });
    const late = await put(alice, blobId, 0, chunk(0));
    expect(late.status).toBe(409);

    for (const reader of [bob, aliceTablet, alice]) {
      const parts: Buffer[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await t.request('GET', `/v1/blobs/${blobId}/chunks/${i}`, { credential: reader });
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('application/octet-stream');
        expect(res.headers['cache-control']).toBe('no-store');
        parts.push(res.body);
      }
      expect(new Uint8Array(Buffer.concat(parts))).toEqual(file);
    }
    const beyond = await t.request('GET', `/v1/blobs/${blobId}/chunks/4`, { credential: bob });
    expect(beyond.status).toBe(404);
  });

  it('enforces the size limit and the chunk limit with ERR_LIMIT, and chunk lengths', async () => {
    const tooBig = await create(alice, MAX_BLOB + 1);
    expect(tooBig.status).toBe(413);
    expect(tooBig.json.error.code).toBe('ERR_LIMIT');
    const { blobId } = (await create(alice, 2 * CHUNK)).json;
    const oversized = await put(alice, blobId, 0, new Uint8Array(CHUNK + 1));
    expect(oversized.status).toBe(413);
    expect(oversized.json.error.code).toBe('ERR_LIMIT');
    const short = await put(alice, blobId, 0, new Uint8Array(CHUNK - 1));
    expect(short.status).toBe(400);
    expect(short.json.error.code).toBe('ERR_VALIDATION');
    const outOfRange = await put(alice, blobId, 2, new Uint8Array(CHUNK));
    expect(outOfRange.status).toBe(400);
    const status = await t.request('GET', `/v1/blobs/${blobId}`, { credential: alice });
    expect(status.json.present).toEqual([]);
  });

  it('validates bodies, content types and path parameters', async () => {
    const cases = [
      await t.request('POST', '/v1/blobs', { json: { size: 10, extra: 1 }, credential: alice }),
      await t.request('POST', '/v1/blobs', { json: { size: 0 }, credential: alice }),
      await t.request('POST', '/v1/blobs', { json: { size: 1.5 }, credential: alice }),
      await t.request('POST', '/v1/blobs', { json: [], credential: alice }),
      await t.request('GET', '/v1/blobs/not-a-blob', { credential: alice }),
      await t.request('GET', `/v1/blobs/blb_${'A'.repeat(43)}/chunks/-1`, { credential: alice }),
      await t.request('GET', `/v1/blobs/blb_${'A'.repeat(43)}/chunks/01`, { credential: alice }),
    ];
    for (const res of cases) {
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe('ERR_VALIDATION');
    }
    const { blobId } = (await create(alice, 10)).json;
    const asJson = await t.request('PUT', `/v1/blobs/${blobId}/chunks/0`, {
      json: { bytes: 'x' },
      credential: alice,
    });
    expect(asJson.status).toBe(400);
    const asProtobuf = await t.request('PUT', `/v1/blobs/${blobId}/chunks/0`, {
      body: new Uint8Array(10),
      contentType: 'application/x-protobuf',
      credential: alice,
    });
    expect(asProtobuf.status).toBe(400);
    const unknown = await t.request('GET', `/v1/blobs/blb_${'A'.repeat(43)}`, { credential: alice });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('ERR_NOT_FOUND');
  });

  it('requires an authenticated device on every route', async () => {
    const { blobId } = (await create(alice, 10)).json;
    const paths: [string, string][] = [
      ['POST', '/v1/blobs'],
      ['PUT', `/v1/blobs/${blobId}/chunks/0`],
      ['GET', `/v1/blobs/${blobId}`],
      ['POST', `/v1/blobs/${blobId}/finish`],
      ['GET', `/v1/blobs/${blobId}/chunks/0`],
      ['DELETE', `/v1/blobs/${blobId}`],
    ];
    for (const [method, path] of paths) {
      const none = await t.request(method, path);
      expect(none.status).toBe(401);
      expect(none.json.error.code).toBe('ERR_UNAUTHENTICATED');
      const wrong = await t.request(method, path, { credential: new Uint8Array(32) });
      expect(wrong.status).toBe(401);
    }
    expect((await t.request('GET', `/v1/blobs/${blobId}`, { credential: alice })).status).toBe(200);
  });

  it('hides a blob from another tenant (404) even with its id', async () => {
    const { blobId } = (await create(alice, 10)).json;
    expect((await put(alice, blobId, 0, new Uint8Array(10))).status).toBe(204);
    expect((await t.request('POST', `/v1/blobs/${blobId}/finish`, { credential: alice })).status).toBe(200);
    for (const [method, path] of [
      ['GET', `/v1/blobs/${blobId}`],
      ['GET', `/v1/blobs/${blobId}/chunks/0`],
      ['POST', `/v1/blobs/${blobId}/finish`],
      ['DELETE', `/v1/blobs/${blobId}`],
    ] as const) {
      const res = await t.request(method, path, { credential: eve });
      expect(res.status).toBe(404);
      expect(res.json.error.code).toBe('ERR_NOT_FOUND');
    }
    expect((await put(eve, blobId, 0, new Uint8Array(10))).status).toBe(404);
    expect((await t.request('GET', `/v1/blobs/${blobId}/chunks/0`, { credential: bob })).status).toBe(200);
  });

  it('lets only the uploading device write, finish or delete', async () => {
    const { blobId } = (await create(alice, 10)).json;
    // Another user, and even another device of the same user, is not the uploader.
    for (const other of [bob, aliceTablet]) {
      const write = await put(other, blobId, 0, new Uint8Array(10));
      expect(write.status).toBe(403);
      expect(write.json.error.code).toBe('ERR_FORBIDDEN');
      expect((await t.request('POST', `/v1/blobs/${blobId}/finish`, { credential: other })).status).toBe(403);
      expect((await t.request('DELETE', `/v1/blobs/${blobId}`, { credential: other })).status).toBe(403);
    }
    expect((await t.request('GET', `/v1/blobs/${blobId}`, { credential: bob })).json.present).toEqual([]);
    const deleted = await t.request('DELETE', `/v1/blobs/${blobId}`, { credential: alice });
    expect(deleted.status).toBe(204);
    expect((await t.request('GET', `/v1/blobs/${blobId}`, { credential: alice })).status).toBe(404);
    expect((await t.request('DELETE', `/v1/blobs/${blobId}`, { credential: alice })).status).toBe(404);
    // A forged tag names no blob at all.
    const forged = `${blobId.slice(0, -4)}${blobId.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    expect((await t.request('GET', `/v1/blobs/${forged}`, { credential: bob })).status).toBe(404);
  });

  it('clamps the lifetime to the server maximum and lets expired blobs vanish', async () => {
    const before = Date.now() + clockOffset;
    const clamped = await create(alice, 10, 10 * RETENTION);
    expect(clamped.json.expiresAt).toBeLessThanOrEqual(Date.now() + clockOffset + RETENTION);
    expect(clamped.json.expiresAt).toBeGreaterThanOrEqual(before + RETENTION);
    const byDefault = await create(alice, 10);
    expect(byDefault.json.expiresAt).toBeGreaterThanOrEqual(before + RETENTION);

    const short = (await create(alice, 10, 60_000)).json.blobId;
    expect((await put(alice, short, 0, new Uint8Array(10))).status).toBe(204);
    expect((await t.request('POST', `/v1/blobs/${short}/finish`, { credential: alice })).status).toBe(200);
    expect((await t.request('GET', `/v1/blobs/${short}/chunks/0`, { credential: bob })).status).toBe(200);
    clockOffset += 61_000;
    try {
      expect((await t.request('GET', `/v1/blobs/${short}`, { credential: bob })).status).toBe(404);
      expect((await t.request('GET', `/v1/blobs/${short}/chunks/0`, { credential: bob })).status).toBe(404);
      expect((await put(alice, short, 0, new Uint8Array(10))).status).toBe(404);
      // The long-lived ones are still there.
      expect((await t.request('GET', `/v1/blobs/${clamped.json.blobId}`, { credential: alice })).status).toBe(
        200,
      );
    } finally {
      clockOffset -= 61_000;
    }
  });
});
