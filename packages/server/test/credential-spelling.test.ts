/**
 * One spelling per device credential (issue 15, "Hard to knock over" item 3). A 32-byte credential
 * is 43 base64url characters whose last one carries two spare bits, so four texts decode to the
 * same bytes. Only the canonical one is a credential: the other three (and padded, standard-alphabet
 * or wrong-length texts) are the same 401 `ERR_UNAUTHENTICATED` as an unknown credential, on the
 * `Authorization` header and in the WebSocket subprotocol list alike, and the per-device limiter
 * keys on the decoded credential, so a device spreading its requests over the spellings is limited
 * exactly at its limit (before the fix each spelling had its own window: four times the limit).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { UnauthenticatedError } from '@cloister/crypto';
import { tenantId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { authorizationHeader, parseCredential } from '../src/auth.js';
import { credentialLimiterKey } from '../src/rate-limits.js';
import { keyRoutes } from '../src/routes/keys.js';
import { WS_AUTH_SUBPROTOCOL_PREFIX, WS_SUBPROTOCOL, wsRoutes } from '../src/routes/ws.js';
import { setUpDevice, type TestDevice } from './helpers/device-client.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const LIMIT = 4;

/** The four texts that decode to `credential`: the canonical one first, then its spare-bit variants. */
function spellings(credential: Uint8Array): string[] {
  const canonical = Buffer.from(credential).toString('base64url');
  const last = ALPHABET.indexOf(canonical.at(-1) as string);
  expect(last & 3).toBe(0);
  return [0, 1, 2, 3].map((spare) => canonical.slice(0, -1) + ALPHABET[last | spare]);
}

/** Opens the delivery socket; resolves 101 when it opened, else the refusal's status. */
function openSocket(url: string, protocols: string[], headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^https:/, 'wss:')}/v1/ws`, protocols, {
      rejectUnauthorized: false,
      headers,
    });
    ws.on('open', () => {
      ws.close(1000);
      resolve(101);
    });
    ws.on('unexpected-response', (_request, response: IncomingMessage) => {
      resolve(response.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', reject);
  });
}

let t: TestServer;
let seq = 0;

async function newDevice(): Promise<TestDevice> {
  seq += 1;
  return setUpDevice(t.server.context, tenantId('acme'), `user${seq}`, 1);
}

function count(path: string, authorization: string) {
  return t.request('GET', path, { headers: { authorization } });
}

beforeAll(async () => {
  t = await startTestServer({
    extraRoutes: [keyRoutes, wsRoutes],
    limits: { deviceRequestsPerMinute: LIMIT },
  });
  await t.server.context.stores.tenants.create(tenantId('acme'), {
    name: 'ACME',
    signingKey: new Uint8Array(randomBytes(32)),
  });
});

afterAll(async () => {
  await t?.close();
});

describe('parseCredential and credentialLimiterKey', () => {
  it('accept only the canonical spelling of 32 bytes', () => {
    for (let i = 0; i < 64; i++) {
      const credential = new Uint8Array(randomBytes(32));
      const [canonical, ...others] = spellings(credential);
      expect(parseCredential(`Cloister-Device ${canonical}`)).toEqual(credential);
      expect(credentialLimiterKey(`Cloister-Device ${canonical}`)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      for (const other of others) {
        // Before the fix these decoded to the same credential and were accepted.
        expect(Buffer.from(other as string, 'base64url')).toEqual(Buffer.from(credential));
        expect(() => parseCredential(`Cloister-Device ${other}`)).toThrow(UnauthenticatedError);
        expect(credentialLimiterKey(`Cloister-Device ${other}`)).toBeUndefined();
      }
    }
  });

  it('refuse padding, the standard alphabet, wrong lengths, other schemes and non-strings', () => {
    const credential = new Uint8Array(32).fill(0xfb); // base64 has '+' and '/' here
    const canonical = Buffer.from(credential).toString('base64url');
    const refused: unknown[] = [
      `Cloister-Device ${canonical}=`,
      `Cloister-Device ${Buffer.from(credential).toString('base64')}`,
      `Cloister-Device ${Buffer.from(credential).toString('base64').replace(/=+$/, '')}`,
      `Cloister-Device ${canonical.slice(0, 42)}`,
      `Cloister-Device ${canonical}A`,
      `Cloister-Device ${Buffer.from(new Uint8Array(33)).toString('base64url')}`,
      `Cloister-Device  ${canonical}`,
      `Cloister-Device ${canonical} `,
      `cloister-device ${canonical}`,
      `Bearer ${canonical}`,
      canonical,
      undefined,
      42,
    ];
    for (const value of refused) {
      expect(() => parseCredential(value), String(value)).toThrow(UnauthenticatedError);
      expect(credentialLimiterKey(value), String(value)).toBeUndefined();
    }
    expect(parseCredential(`Cloister-Device ${canonical}`)).toEqual(credential);
  });

  it('key every request of one credential the same, and different credentials apart', () => {
    const a = new Uint8Array(randomBytes(32));
    const b = new Uint8Array(randomBytes(32));
    expect(credentialLimiterKey(authorizationHeader(a))).toBe(credentialLimiterKey(authorizationHeader(a)));
    expect(credentialLimiterKey(authorizationHeader(a))).not.toBe(
      credentialLimiterKey(authorizationHeader(b)),
    );
    // The key is neither the credential's text nor a plain hash of the header.
    expect(credentialLimiterKey(authorizationHeader(a))).not.toContain(Buffer.from(a).toString('base64url'));
  });
});

describe('the server, attacked with the four spellings of one real credential', () => {
  it('accepts only the canonical one; the others are the 401 of an unknown credential', async () => {
    const d = await newDevice();
    const [canonical, ...others] = spellings(d.credential);
    expect((await count('/v1/keys/count', `Cloister-Device ${canonical}`)).status).toBe(200);
    const unknown = await count('/v1/keys/count', authorizationHeader(new Uint8Array(randomBytes(32))));
    expect(unknown.status).toBe(401);
    expect(unknown.json).toEqual({ error: { code: 'ERR_UNAUTHENTICATED', message: expect.any(String) } });
    for (const other of others) {
      const refused = await count('/v1/keys/count', `Cloister-Device ${other}`);
      expect(refused.status).toBe(401);
      expect(refused.json).toEqual(unknown.json);
      // The answer never echoes what was sent.
      expect(refused.body.toString()).not.toContain(other);
    }
  });

  it('limits a device spreading its requests over the spellings exactly at its limit', async () => {
    const d = await newDevice();
    const texts = spellings(d.credential);
    const statuses: number[] = [];
    // Round-robin over the four spellings, twice the limit's worth of rounds.
    for (let round = 0; round < 2 * LIMIT; round++) {
      for (const text of texts)
        statuses.push((await count('/v1/keys/count', `Cloister-Device ${text}`)).status);
    }
    // Before the fix each spelling had its own window: 4 x LIMIT answers of 200.
    expect(statuses.filter((s) => s === 200)).toHaveLength(LIMIT);
    // The canonical spelling got exactly LIMIT answers, then 429; the others were never credentials.
    const canonical = statuses.filter((_, i) => i % 4 === 0);
    expect(canonical).toEqual([...Array(LIMIT).fill(200), ...Array(LIMIT).fill(429)]);
    expect(statuses.filter((_, i) => i % 4 !== 0).every((s) => s === 401)).toBe(true);
  });

  it('does not count the refused spellings against the device', async () => {
    const d = await newDevice();
    const [canonical, ...others] = spellings(d.credential);
    for (let i = 0; i < 3 * LIMIT; i++) {
      expect((await count('/v1/keys/count', `Cloister-Device ${others[i % 3]}`)).status).toBe(401);
    }
    for (let i = 0; i < LIMIT; i++) {
      expect((await count('/v1/keys/count', `Cloister-Device ${canonical}`)).status).toBe(200);
    }
    expect((await count('/v1/keys/count', `Cloister-Device ${canonical}`)).status).toBe(429);
  });

  it('refuses the non-canonical spellings on the delivery socket, in the header and the subprotocol list', async () => {
    const d = await newDevice();
    const [canonical, ...others] = spellings(d.credential);
    for (const other of others) {
      expect(await openSocket(t.url, [WS_SUBPROTOCOL, `${WS_AUTH_SUBPROTOCOL_PREFIX}${other}`])).toBe(401);
      expect(await openSocket(t.url, [WS_SUBPROTOCOL], { authorization: `Cloister-Device ${other}` })).toBe(
        401,
      );
    }
    expect(await openSocket(t.url, [WS_SUBPROTOCOL, `${WS_AUTH_SUBPROTOCOL_PREFIX}${canonical}`])).toBe(101);
    expect(await openSocket(t.url, [WS_SUBPROTOCOL], { authorization: `Cloister-Device ${canonical}` })).toBe(
      101,
    );
  });

  it('limits upgrades spread over the spellings and both carriers exactly at the limit', async () => {
    const d = await newDevice();
    const texts = spellings(d.credential);
    let opened = 0;
    for (let round = 0; round < LIMIT; round++) {
      for (const text of texts) {
        const viaProtocol = await openSocket(t.url, [WS_SUBPROTOCOL, `${WS_AUTH_SUBPROTOCOL_PREFIX}${text}`]);
        const viaHeader = await openSocket(t.url, [WS_SUBPROTOCOL], {
          authorization: `Cloister-Device ${text}`,
        });
        for (const status of [viaProtocol, viaHeader]) {
          expect([101, 401, 429]).toContain(status);
          if (status === 101) opened += 1;
        }
      }
    }
    expect(opened).toBe(LIMIT);
    expect(await openSocket(t.url, [WS_SUBPROTOCOL, `${WS_AUTH_SUBPROTOCOL_PREFIX}${texts[0]}`])).toBe(429);
  });
});
