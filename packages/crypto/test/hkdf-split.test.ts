/**
 * `provider.hkdfExtractSha256` and `provider.hkdfExpandSha256` (RFC 5869 sections 2.2 and 2.3)
 * under every provider: the RFC 5869 PRK and OKM of every stored case, Extract-then-Expand equal
 * to the one-call HKDF on random inputs (and equal across providers), and the hostile-input table
 * (ERR_VALIDATION naming the field).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CryptoProvider, toHex } from '../src/index.js';
import { PROVIDERS } from './providers.js';
import { hex, loadVectors, rejection } from './vectors-load.js';

interface HkdfCase {
  readonly name: string;
  readonly ikm: string;
  readonly salt: string;
  readonly info: string;
  readonly length: number;
  readonly prk: string;
  readonly okm: string;
}
const RFC5869 = loadVectors<{ source: unknown; cases: readonly HkdfCase[] }>('rfc5869-hkdf-sha256.json');

const b = (n: number) => new Uint8Array(n);
function hostile<T>(value: unknown): T {
  return value as T;
}
const NOT_BYTES: [string, unknown][] = [
  ['a string', 'abc'],
  ['null', null],
  ['undefined', undefined],
  ['a number array', [1, 2, 3]],
  ['a Uint16Array', new Uint16Array(32)],
  ['an ArrayBuffer', new ArrayBuffer(32)],
];
const BAD_LENGTHS: [string, unknown][] = [
  ['negative', -1],
  ['0', 0],
  ['fractional', 1.5],
  ['NaN', Number.NaN],
  ['a string', '16'],
  ['a bigint', 16n],
  ['255 * 32 + 1', 255 * 32 + 1],
];

interface Row {
  readonly name: string;
  readonly field: string;
  readonly call: (p: CryptoProvider) => Promise<unknown>;
}

function rows(): Row[] {
  const out: Row[] = [];
  for (const [what, v] of NOT_BYTES) {
    const x = hostile<Uint8Array>(v);
    out.push({
      name: `extract salt ${what}`,
      field: 'hkdfExtract.salt',
      call: (p) => p.hkdfExtractSha256(x, b(1)),
    });
    out.push({
      name: `extract ikm ${what}`,
      field: 'hkdfExtract.ikm',
      call: (p) => p.hkdfExtractSha256(b(0), x),
    });
    out.push({
      name: `expand prk ${what}`,
      field: 'hkdfExpand.prk',
      call: (p) => p.hkdfExpandSha256(x, b(0), 32),
    });
    out.push({
      name: `expand info ${what}`,
      field: 'hkdfExpand.info',
      call: (p) => p.hkdfExpandSha256(b(32), x, 32),
    });
  }
  out.push({
    name: 'expand prk of 31 bytes',
    field: 'hkdfExpand.prk',
    call: (p) => p.hkdfExpandSha256(b(31), b(0), 32),
  });
  for (const [what, v] of BAD_LENGTHS) {
    out.push({
      name: `expand length ${what}`,
      field: 'hkdfExpand.length',
      call: (p) => p.hkdfExpandSha256(b(32), b(0), hostile<number>(v)),
    });
  }
  return out;
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'HKDF Extract/Expand under %s',
  (_name, provider) => {
    it('has the stored RFC 5869 cases', () => {
      expect(RFC5869.cases.length).toBeGreaterThanOrEqual(3);
    });

    it('gives the RFC 5869 PRK and OKM of every case', async () => {
      for (const tc of RFC5869.cases) {
        const prk = await provider.hkdfExtractSha256(hex(tc.salt), hex(tc.ikm));
        expect(toHex(prk), `${tc.name} prk`).toBe(tc.prk);
        const okm = await provider.hkdfExpandSha256(prk, hex(tc.info), tc.length);
        expect(toHex(okm), `${tc.name} okm`).toBe(tc.okm);
      }
    });

    it('gives RFC 5869 test case 1 exactly', async () => {
      const prk = await provider.hkdfExtractSha256(hex('000102030405060708090a0b0c'), hex('0b'.repeat(22)));
      expect(toHex(prk), 'test case 1 prk').toBe(
        '077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5',
      );
      const okm = await provider.hkdfExpandSha256(prk, hex('f0f1f2f3f4f5f6f7f8f9'), 42);
      expect(toHex(okm), 'test case 1 okm').toBe(
        '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
      );
    });

    it('treats an empty salt as 32 zero bytes', async () => {
      const ikm = hex('0b'.repeat(22));
      expect(toHex(await provider.hkdfExtractSha256(b(0), ikm))).toBe(
        toHex(await provider.hkdfExtractSha256(b(32), ikm)),
      );
    });

    it('accepts the longest output and an info longer than 1024 bytes', async () => {
      const prk = await provider.hkdfExtractSha256(b(0), b(1));
      expect((await provider.hkdfExpandSha256(prk, b(2000), 255 * 32)).length).toBe(255 * 32);
    });

    it.each(rows().map((r) => [r.name, r] as const))('rejects %s', async (_rowName, row) => {
      const r = await rejection(() => row.call(provider));
      expect(r.code, row.name).toBe('ERR_VALIDATION');
      expect(r.message.startsWith(`${row.field}:`), `${row.name}: ${r.message}`).toBe(true);
    });
  },
);

describe('HKDF Extract/Expand on random inputs', () => {
  it('Extract then Expand equals one-call HKDF, identically under every provider', async () => {
    const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });
    await fc.assert(
      fc.asyncProperty(
        bytes(80),
        bytes(80),
        bytes(80),
        fc.integer({ min: 1, max: 255 * 32 }),
        async (ikm, salt, info, n) => {
          const expected = toHex(await PROVIDERS[0]!.hkdfSha256(ikm, salt, info, n));
          for (const p of PROVIDERS) {
            const prk = await p.hkdfExtractSha256(salt, ikm);
            expect(prk.length, p.name).toBe(32);
            expect(toHex(await p.hkdfExpandSha256(prk, info, n)), p.name).toBe(expected);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
