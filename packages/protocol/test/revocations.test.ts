/**
 * Signed revocation lists and reach statements (spec/revocations.md): `test-vectors/revocations.json`
 * under every provider (the valid objects decode to the stated fields and re-encode to the same
 * bytes, every object to refuse is refused with the stated code and path), round trips, the
 * encoder's checks, the size bound, and the two rules a recipient applies (`isRevoked`, `reaches`).
 */
import { readFileSync } from 'node:fs';
import {
  type CryptoProvider,
  createNobleProvider,
  createWebCryptoProvider,
  DecodeError,
  deviceId,
  fromHex,
  toHex,
} from '@cloister/crypto';
import { createNodeProvider } from '@cloister/crypto/node';
import { describe, expect, it } from 'vitest';
import {
  decodeReachStatement,
  decodeRevocationList,
  isRevoked,
  MAX_REVOCATION_ENTRIES,
  poolId,
  type RevocationListBody,
  reaches,
  revocationListSignedBytes,
  signReachStatement,
  signRevocationList,
  tenantId,
  userId,
  verifyReachStatement,
  verifyRevocationList,
} from '../src/index.js';

const PROVIDERS: readonly CryptoProvider[] = [
  createNobleProvider(),
  createNodeProvider(),
  createWebCryptoProvider(),
];

interface Vectors {
  tenantKey: { privateKey: string; publicKey: string };
  lists: {
    version: number;
    issuedAtMs: number;
    entries: { userId: string; deviceId: number | null; revokedAtMs: number }[];
    signedBytes: string;
    bytes: string;
  }[];
  reaches: {
    user: string;
    version: number;
    pools: string[];
    reachedBy: string[];
    signedBytes: string;
    bytes: string;
  }[];
  refuse: {
    kind: 'list' | 'reach';
    name: string;
    bytes: string;
    error: string;
    path?: string;
    user?: string;
  }[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../test-vectors/revocations.json', import.meta.url), 'utf8'),
) as Vectors;
const tenant = tenantId('acme');
const tenantPublicKey = fromHex(vectors.tenantKey.publicKey);
const tenantPrivateKey = fromHex(vectors.tenantKey.privateKey);

describe('revocation vectors', () => {
  for (const provider of PROVIDERS) {
    it(`decodes and verifies every valid object (${provider.name})`, async () => {
      for (const v of vectors.lists) {
        const list = decodeRevocationList(fromHex(v.bytes));
        await verifyRevocationList(provider, list, { tenant, tenantPublicKey });
        expect(list.version).toBe(v.version);
        expect(list.entries.map((e) => [e.userId, e.deviceId ?? null, e.revokedAtMs])).toEqual(
          v.entries.map((e) => [e.userId, e.deviceId, e.revokedAtMs]),
        );
        expect(toHex(revocationListSignedBytes(list))).toBe(v.signedBytes);
        expect(toHex(await signRevocationList(provider, list, tenantPrivateKey))).toBe(v.bytes);
      }
      for (const v of vectors.reaches) {
        const reach = decodeReachStatement(fromHex(v.bytes));
        await verifyReachStatement(provider, reach, { tenant, user: v.user, tenantPublicKey });
        expect([reach.pools, reach.reachedBy, reach.version]).toEqual([v.pools, v.reachedBy, v.version]);
        expect(toHex(await signReachStatement(provider, reach, tenantPrivateKey))).toBe(v.bytes);
      }
    });

    it(`refuses every object to refuse (${provider.name})`, async () => {
      for (const c of vectors.refuse) {
        const bytes = fromHex(c.bytes);
        const outcome = await (async () => {
          if (c.kind === 'list') {
            await verifyRevocationList(provider, decodeRevocationList(bytes), { tenant, tenantPublicKey });
          } else {
            const reach = decodeReachStatement(bytes);
            await verifyReachStatement(provider, reach, {
              tenant,
              user: c.user ?? reach.user,
              tenantPublicKey,
            });
          }
        })().then(
          () => ({ code: 'accepted', path: undefined }),
          (e: { code?: string; path?: string }) => ({ code: e.code, path: e.path }),
        );
        expect({ name: c.name, ...outcome }).toEqual({ name: c.name, code: c.error, path: c.path });
      }
    });
  }
});

describe('revocation lists', () => {
  const provider = createNodeProvider();
  const body: RevocationListBody = {
    tenant,
    version: 7,
    issuedAtMs: 1000,
    entries: [
      { userId: userId('bob'), revokedAtMs: 10 },
      { userId: userId('carol'), deviceId: deviceId(0), revokedAtMs: 11 },
      { userId: userId('carol'), deviceId: deviceId(4), revokedAtMs: 12 },
    ],
  };

  it('round-trips and names what is revoked', async () => {
    const list = decodeRevocationList(await signRevocationList(provider, body, tenantPrivateKey));
    expect(list.entries).toEqual(body.entries);
    expect(isRevoked(list, 'bob', 9)?.revokedAtMs).toBe(10);
    expect(isRevoked(list, 'carol', 4)?.revokedAtMs).toBe(12);
    expect(isRevoked(list, 'carol', 0)?.revokedAtMs).toBe(11);
    expect(isRevoked(list, 'carol', 3)).toBeUndefined();
    expect(isRevoked(list, 'dave', 1)).toBeUndefined();
  });

  it('refuses to encode entries out of order, repeated, or a device of a revoked user', async () => {
    const sign = (entries: RevocationListBody['entries']) =>
      signRevocationList(provider, { ...body, entries }, tenantPrivateKey);
    const [a, b, c] = body.entries as [never, never, never];
    await expect(sign([b, a])).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    await expect(sign([c, c])).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    await expect(
      sign([
        { userId: userId('bob'), revokedAtMs: 1 },
        { userId: userId('bob'), deviceId: deviceId(1), revokedAtMs: 1 },
      ]),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    await expect(
      signRevocationList(provider, { ...body, version: 0 }, tenantPrivateKey),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION', field: 'revocations.version' });
  });

  it(`holds ${MAX_REVOCATION_ENTRIES} entries and refuses one more`, async () => {
    const entries = Array.from({ length: MAX_REVOCATION_ENTRIES }, (_, i) => ({
      userId: userId(`u${String(i).padStart(5, '0')}`),
      revokedAtMs: i,
    }));
    const bytes = await signRevocationList(provider, { ...body, entries }, tenantPrivateKey);
    expect(decodeRevocationList(bytes).entries.length).toBe(MAX_REVOCATION_ENTRIES);
    await expect(
      signRevocationList(
        provider,
        { ...body, entries: [...entries, { userId: userId('v'), revokedAtMs: 0 }] },
        tenantPrivateKey,
      ),
    ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    expect(() => decodeRevocationList(new Uint8Array(1_000_000))).toThrow(DecodeError);
  });

  it('refuses every truncation with a DecodeError', async () => {
    const bytes = await signRevocationList(provider, body, tenantPrivateKey);
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodeRevocationList(bytes.subarray(0, n))).toThrow(DecodeError);
    }
  });
});

describe('reach statements', () => {
  it('reaches: open area to open area only; otherwise a sender pool in reachedBy', () => {
    const open = { pools: [], reachedBy: [] };
    const ward = { pools: [poolId('ward-3')], reachedBy: [poolId('pharmacy'), poolId('ward-3')] };
    expect(reaches(open, [])).toBe(true);
    expect(reaches(open, ['ward-3'])).toBe(false);
    expect(reaches(ward, [])).toBe(false);
    expect(reaches(ward, ['pharmacy'])).toBe(true);
    expect(reaches(ward, ['kitchen', 'ward-3'])).toBe(true);
    expect(reaches(ward, ['kitchen'])).toBe(false);
  });

  it('refuses a statement for another user and every truncation', async () => {
    const provider = createNodeProvider();
    const bytes = await signReachStatement(
      provider,
      {
        tenant,
        user: userId('carol'),
        version: 1,
        issuedAtMs: 0,
        pools: [poolId('a')],
        reachedBy: [poolId('a'), poolId('b')],
      },
      tenantPrivateKey,
    );
    const reach = decodeReachStatement(bytes);
    await expect(
      verifyReachStatement(provider, reach, { tenant, user: 'alice', tenantPublicKey }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodeReachStatement(bytes.subarray(0, n))).toThrow(DecodeError);
    }
  });
});
