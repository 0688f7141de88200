/**
 * Sender certificates (spec/envelope.md §2) under every provider: issue, encode, decode and
 * verify; expired, forged, other-tenant and other-identity certificates are refused with
 * ERR_INVALID_KEY and the matching `problem`; hostile encodings fail with ERR_DECODE and a path.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeSenderCertificate,
  encodeSenderCertificate,
  issueSenderCertificate,
  type SenderCertificate,
  SenderCertificateError,
  verifySenderCertificate,
} from '../src/envelope/index.js';
import { type CryptoProvider, concatBytes, uintBE } from '../src/index.js';
import { codeOf, flipBit, makeWorld, NOW } from './envelope-fixtures.js';
import { PROVIDERS } from './providers.js';

async function problemOf(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (e) {
    expect(e).toBeInstanceOf(SenderCertificateError);
    expect((e as SenderCertificateError).code).toBe('ERR_INVALID_KEY');
    return (e as SenderCertificateError).problem;
  }
  return 'accepted';
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'sender certificate (%s)',
  (_name, provider: CryptoProvider) => {
    it('round-trips through its encoding and verifies', async () => {
      const w = await makeWorld(provider);
      const decoded = decodeSenderCertificate(encodeSenderCertificate(w.certificate));
      expect(decoded).toEqual(w.certificate);
      await verifySenderCertificate(provider, decoded, {
        tenantPublicKey: w.tenant.publicKey,
        now: NOW,
        expectedIdentity: { signingKey: w.senderSigning.publicKey, dhKey: w.senderDh.publicKey },
      });
    });

    it('refuses an expired, forged, other-tenant or other-identity certificate', async () => {
      const w = await makeWorld(provider);
      const other = await provider.ed25519.generateKeyPair();
      const base = { tenantPublicKey: w.tenant.publicKey, now: NOW };
      const verify = (c: SenderCertificate, o: Parameters<typeof verifySenderCertificate>[2] = base) =>
        problemOf(() => verifySenderCertificate(provider, c, o));
      expect(await verify(w.certificate, { ...base, now: w.fields.expiresAt })).toBe('accepted');
      expect(await verify(w.certificate, { ...base, now: w.fields.expiresAt + 1 })).toBe('expired');
      expect(await verify(w.certificate, { ...base, tenantPublicKey: other.publicKey })).toBe('signature');
      expect(await verify({ ...w.certificate, expiresAt: w.fields.expiresAt + 1 })).toBe('signature');
      expect(await verify({ ...w.certificate, pools: ['engineering'] })).toBe('signature');
      expect(await verify({ ...w.certificate, userId: 'u-mallory' })).toBe('signature');
      const selfSigned = await issueSenderCertificate(provider, other.privateKey, w.fields);
      expect(await verify(selfSigned)).toBe('signature');
      const expected = { signingKey: w.senderSigning.publicKey, dhKey: w.senderDh.publicKey };
      const otherKey = flipBit(w.senderDh.publicKey, 0);
      expect(
        await verify(w.certificate, { ...base, expectedIdentity: { ...expected, dhKey: otherKey } }),
      ).toBe('identity');
      expect(
        await verify(w.certificate, { ...base, expectedIdentity: { ...expected, signingKey: otherKey } }),
      ).toBe('identity');
    });

    it('validates fields at the boundary', async () => {
      const w = await makeWorld(provider);
      const issue = (patch: object) =>
        codeOf(() => issueSenderCertificate(provider, w.tenant.privateKey, { ...w.fields, ...patch }));
      expect(await issue({ userId: 'x'.repeat(257) })).toBe('ERR_VALIDATION');
      expect(await issue({ userId: 'x'.repeat(256) })).toBe('accepted');
      expect(await issue({ userId: '\ud800' })).toBe('ERR_VALIDATION');
      expect(await issue({ userId: '\ufeffbom' })).toBe('accepted');
      expect(await issue({ deviceId: 2 ** 32 })).toBe('ERR_VALIDATION');
      expect(await issue({ deviceId: -1 })).toBe('ERR_VALIDATION');
      expect(await issue({ identityDhKey: new Uint8Array(31) })).toBe('ERR_VALIDATION');
      expect(await issue({ pools: Array.from({ length: 33 }, () => 'p') })).toBe('ERR_VALIDATION');
      expect(await issue({ pools: Array.from({ length: 32 }, () => 'p') })).toBe('accepted');
      expect(await issue({ expiresAt: 2 ** 53 })).toBe('ERR_VALIDATION');
      expect(await codeOf(() => issueSenderCertificate(provider, new Uint8Array(31), w.fields))).toBe(
        'ERR_VALIDATION',
      );
      expect(
        await codeOf(() =>
          verifySenderCertificate(provider, w.certificate, { tenantPublicKey: w.tenant.publicKey, now: -1 }),
        ),
      ).toBe('ERR_VALIDATION');
    });
  },
);

describe('decodeSenderCertificate on hostile input', () => {
  it('names the failing field', async () => {
    const w = await makeWorld(PROVIDERS[0]!);
    const good = encodeSenderCertificate(w.certificate);
    const pathOf = (bytes: Uint8Array): string => {
      try {
        decodeSenderCertificate(bytes);
      } catch (e) {
        expect((e as { code?: string }).code).toBe('ERR_DECODE');
        return (e as { path: string }).path;
      }
      return 'accepted';
    };
    expect(pathOf(good)).toBe('accepted');
    expect(pathOf(new Uint8Array(0))).toBe('certificate.userId.length');
    expect(pathOf(good.subarray(0, good.length - 1))).toBe('certificate.signature');
    expect(pathOf(concatBytes(good, new Uint8Array(1)))).toBe('certificate');
    expect(pathOf(concatBytes(uintBE(257, 2), new Uint8Array(300)))).toBe('certificate.userId');
    expect(pathOf(concatBytes(uintBE(1, 2), new Uint8Array([0xff])))).toBe('certificate.userId');
    const poolCountAt = 2 + 9 + 4 + 64 + 2 + 4;
    const tooManyPools = good.slice();
    tooManyPools[poolCountAt] = 33;
    expect(pathOf(tooManyPools)).toBe('certificate.pools');
    expect(pathOf(new Uint8Array(100_000))).toBe('certificate');
  });
});

describe('sender certificate codec properties', () => {
  const text = fc
    .string({ unit: 'grapheme', maxLength: 40 })
    .filter((t) => new TextEncoder().encode(t).length <= 256);
  const key = fc.uint8Array({ minLength: 32, maxLength: 32 });

  it('decode(encode(c)) equals c', () => {
    fc.assert(
      fc.property(
        fc.record({
          userId: text,
          deviceId: fc.nat({ max: 0xffffffff }),
          identitySigningKey: key,
          identityDhKey: key,
          tenantId: text,
          pools: fc.array(text, { maxLength: 32 }),
          expiresAt: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
          signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
        }),
        (c) => {
          expect(decodeSenderCertificate(encodeSenderCertificate(c))).toEqual(c);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('random bytes decode or fail with ERR_DECODE', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        try {
          const c = decodeSenderCertificate(bytes);
          expect(encodeSenderCertificate(c)).toEqual(bytes);
        } catch (e) {
          expect((e as { code?: string }).code).toBe('ERR_DECODE');
        }
      }),
      { numRuns: 300 },
    );
  });
});
