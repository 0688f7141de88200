import { randomBytes } from 'node:crypto';
import type { DeviceId } from '@cloister/crypto';
import { RateLimitedError, registrationId } from '@cloister/crypto';
import { tenantId, userId } from '@cloister/protocol';
import fc from 'fast-check';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialHash } from '../src/auth.js';
import { newMailboxId } from '../src/delivery-token.js';
import { errorHandler } from '../src/http-errors.js';
import { createRateLimiter, limitPerKey } from '../src/rate-limits.js';
import { createBlobRoutes } from '../src/routes/blobs.js';
import { startTestServer, type TestServer } from './helpers/server.js';

describe('createRateLimiter', () => {
  it('allows max hits per window, then refuses with the time left, then allows again', () => {
    let now = 1_000_000;
    const limiter = createRateLimiter({ max: 3, windowMs: 10_000, now: () => now });
    expect(limiter.hit('a')).toEqual({ allowed: true, remaining: 2, retryAfterSeconds: 10 });
    now += 2500;
    expect(limiter.hit('a')).toMatchObject({ allowed: true, remaining: 1 });
    expect(limiter.hit('a')).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.hit('a')).toEqual({ allowed: false, remaining: 0, retryAfterSeconds: 8 });
    // Other keys have their own windows.
    expect(limiter.hit('b').allowed).toBe(true);
    now += 7000; // 500 ms left in a's window
    expect(limiter.hit('a')).toEqual({ allowed: false, remaining: 0, retryAfterSeconds: 1 });
    now += 500;
    expect(limiter.hit('a')).toEqual({ allowed: true, remaining: 2, retryAfterSeconds: 10 });
  });

  it('never allows more than max hits in any window (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.tuple(fc.constantFrom('x', 'y', 'z'), fc.integer({ min: 0, max: 4000 })), {
          maxLength: 200,
        }),
        (max, steps) => {
          let now = 0;
          const windowMs = 5000;
          const limiter = createRateLimiter({ max, windowMs, now: () => now });
          const allowedAt = new Map<string, number[]>();
          const lastHit = new Map<string, number>();
          for (const [key, dt] of steps) {
            now += dt;
            const idle = now - (lastHit.get(key) ?? Number.NEGATIVE_INFINITY) >= windowMs;
            lastHit.set(key, now);
            const outcome = limiter.hit(key);
            // A key idle for a whole window always starts afresh.
            if (idle) expect(outcome).toMatchObject({ allowed: true, remaining: max - 1 });
            expect(outcome.retryAfterSeconds).toBeGreaterThanOrEqual(1);
            expect(outcome.retryAfterSeconds).toBeLessThanOrEqual(windowMs / 1000);
            if (outcome.allowed) {
              const times = allowedAt.get(key) ?? [];
              times.push(now);
              allowedAt.set(key, times);
            }
          }
          // A fixed window allows at most `max` in each window, so at most 2·max in any span of
          // windowMs and at most max within the first window of each burst.
          for (const times of allowedAt.values()) {
            for (let i = 0; i < times.length; i++) {
              const inSpan = times.filter(
                (t) => t >= (times[i] as number) && t < (times[i] as number) + windowMs,
              );
              expect(inSpan.length).toBeLessThanOrEqual(2 * max);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps memory bounded: evicts expired windows first, then the oldest live one', () => {
    let now = 0;
    const limiter = createRateLimiter({ max: 1, windowMs: 1000, now: () => now, maxKeys: 3 });
    limiter.hit('a');
    now += 400;
    limiter.hit('b');
    limiter.hit('c');
    expect(limiter.size).toBe(3);
    // Full, nothing expired: the oldest live window (a) is forgotten.
    limiter.hit('d');
    expect(limiter.size).toBe(3);
    expect(limiter.hit('b').allowed).toBe(false); // b is still remembered
    expect(limiter.hit('a').allowed).toBe(true); // a was forgotten; its new window evicts b
    expect(limiter.size).toBe(3);
    expect(limiter.hit('c').allowed).toBe(false); // c is still remembered
    expect(limiter.hit('b').allowed).toBe(true); // b was forgotten
    now += 5000; // everything expired
    for (const k of ['p', 'q']) limiter.hit(k);
    expect(limiter.size).toBeLessThanOrEqual(3);
    for (let i = 0; i < 10_000; i++) limiter.hit(`k${i}`);
    expect(limiter.size).toBe(3);
    limiter.reset();
    expect(limiter.size).toBe(0);
  });

  it('evicts expired windows even when not full', () => {
    let now = 0;
    const limiter = createRateLimiter({ max: 1, windowMs: 1000, now: () => now, maxKeys: 100 });
    for (let i = 0; i < 50; i++) limiter.hit(`old${i}`);
    now += 1000;
    limiter.hit('new');
    expect(limiter.size).toBe(1);
  });

  it('refuses bad options and keys', () => {
    expect(() => createRateLimiter({ max: 0, windowMs: 1000 })).toThrow(/max/);
    expect(() => createRateLimiter({ max: 1, windowMs: 10 })).toThrow(/windowMs/);
    expect(() => createRateLimiter({ max: 1, windowMs: 1000, maxKeys: 0 })).toThrow(/maxKeys/);
    expect(() => createRateLimiter({ max: 1.5, windowMs: 1000 })).toThrow(/max/);
    const limiter = createRateLimiter({ max: 1, windowMs: 1000 });
    expect(() => limiter.hit(1 as unknown as string)).toThrow(/key/);
  });
});

describe('limitPerKey', () => {
  it('answers 429 with retry-after for a key over its limit, and skips requests without a key', async () => {
    let now = 0;
    const limiter = createRateLimiter({ max: 2, windowMs: 30_000, now: () => now });
    const app = Fastify();
    app.setErrorHandler(errorHandler);
    app.post(
      '/t',
      {
        preHandler: limitPerKey(limiter, (request) => {
          const token = (request.body as { token?: unknown } | undefined)?.token;
          return typeof token === 'string' ? `token:${token}` : undefined;
        }),
      },
      async () => ({ ok: true }),
    );
    const send = (token?: string) =>
      app.inject({ method: 'POST', url: '/t', payload: token === undefined ? {} : { token } });
    expect((await send('one')).statusCode).toBe(200);
    expect((await send('one')).statusCode).toBe(200);
    const refused = await send('one');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('30');
    expect(refused.json()).toEqual({ error: { code: 'ERR_RATE_LIMITED', message: 'too many requests' } });
    expect((await send('two')).statusCode).toBe(200);
    for (let i = 0; i < 5; i++) expect((await send()).statusCode).toBe(200);
    now += 30_000;
    expect((await send('one')).statusCode).toBe(200);
    await app.close();
    expect(new RateLimitedError(3).retryAfterSeconds).toBe(3);
  });
});

describe('limitPerDevice on the blob routes', () => {
  let t: TestServer;
  let clockOffset = 0;

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

  beforeAll(async () => {
    t = await startTestServer({
      now: () => Date.now() + clockOffset,
      extraRoutes: [createBlobRoutes({ perDevice: { max: 4, windowMs: 60_000 } })],
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 429 with retry-after to one device over its limit while others go on', async () => {
    const a = await addDevice('acme', 'alice', 1);
    const b = await addDevice('acme', 'alice', 2);
    const missing = `/v1/blobs/blb_${'A'.repeat(43)}`;
    for (let i = 0; i < 4; i++) expect((await t.request('GET', missing, { credential: a })).status).toBe(404);
    const refused = await t.request('POST', '/v1/blobs', { json: { size: 1 }, credential: a });
    expect(refused.status).toBe(429);
    expect(refused.json).toEqual({ error: { code: 'ERR_RATE_LIMITED', message: 'too many requests' } });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // The refused request changed nothing, and another device is unaffected.
    expect((await t.request('POST', '/v1/blobs', { json: { size: 1 }, credential: b })).status).toBe(201);
    // Unauthenticated requests are refused before they are counted.
    for (let i = 0; i < 6; i++) expect((await t.request('GET', missing)).status).toBe(401);
    clockOffset += 60_000;
    expect((await t.request('POST', '/v1/blobs', { json: { size: 1 }, credential: a })).status).toBe(201);
  });
});
