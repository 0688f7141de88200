/**
 * Ed25519 strictness, checked independently of the code under test: the eight small-order
 * points are derived from noble's curve arithmetic and compared with the hard-coded list, and
 * crafted signatures that a lenient verifier would accept (S >= L, non-canonical R, small-order
 * A, R or A with a small-order component) are rejected identically by every provider.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { type CryptoProvider, concatBytes, fromHex, toHex, utf8 } from '../src/index.js';
import { SMALL_ORDER_ENCODINGS } from '../src/internal/ed25519-strict.js';
import { MIXED_ORDER_R_PROBE } from '../src/internal/webcrypto.js';
import { PROVIDERS } from './providers.js';

type Point = ReturnType<typeof ed25519.Point.fromBytes>;
const { Point } = ed25519;
const L = Point.Fn.ORDER;
const P = (1n << 255n) - 19n;

function leToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function bigIntToLe(n: bigint, length = 32): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** The order of a point of the 8-torsion subgroup (1, 2, 4 or 8). */
function torsionOrder(p: Point): number {
  for (const n of [1, 2, 4, 8]) if (p.multiplyUnsafe(BigInt(n)).is0()) return n;
  throw new Error('not a torsion point');
}

/**
 * The 8-torsion subgroup from first principles: [L]Q for a point Q of full order generates it.
 * Candidates Q come from hashing a counter and decoding the hash as a point.
 */
function deriveTorsionSubgroup(): Point[] {
  for (let i = 0; i < 64; i++) {
    let q: Point;
    try {
      q = Point.fromBytes(sha512(utf8(`cloister/test/ed25519-torsion/${i}`)).subarray(0, 32));
    } catch {
      continue;
    }
    const t = q.multiplyUnsafe(L - 1n).add(q); // [L]Q
    if (t.multiplyUnsafe(4n).is0()) continue; // order below 8: try another Q
    const points: Point[] = [Point.ZERO];
    for (let k = 1; k < 8; k++) points.push(points[k - 1]!.add(t));
    return points;
  }
  throw new Error('no generator of the torsion subgroup found');
}

/** k = SHA-512(R || A || M) mod L, the RFC 8032 challenge. */
function challenge(r: Uint8Array, a: Uint8Array, m: Uint8Array): bigint {
  return leToBigInt(sha512(concatBytes(r, a, m))) % L;
}

const torsion = deriveTorsionSubgroup();
const SEED = fromHex('2a'.repeat(32));
const { scalar: a, pointBytes: A } = ed25519.utils.getExtendedPublicKey(SEED);
const MESSAGE = utf8('cloister/v2/test/ed25519-strict');

describe('small-order points', () => {
  it('derived torsion subgroup equals SMALL_ORDER_ENCODINGS', () => {
    const derived = torsion.map((p) => p.toHex());
    expect(new Set(derived).size).toBe(8);
    expect([...derived].sort()).toEqual([...SMALL_ORDER_ENCODINGS].sort());
  });

  it('the list is in the documented order of orders 1, 2, 4, 4, 8, 8, 8, 8', () => {
    const orders = SMALL_ORDER_ENCODINGS.map((h) => torsionOrder(Point.fromHex(h)));
    expect(orders).toEqual([1, 2, 4, 4, 8, 8, 8, 8]);
  });

  it('the webcrypto probe vector has an R of mixed order', () => {
    const r = Point.fromHex(MIXED_ORDER_R_PROBE.signature.slice(0, 64));
    expect(r.isTorsionFree(), 'R has a small-order component').toBe(false);
    expect(r.isSmallOrder(), 'R is not itself small-order').toBe(false);
  });
});

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'strict Ed25519 verification under %s',
  (_name, provider: CryptoProvider) => {
    it('an honest signature verifies (control)', async () => {
      const sig = await provider.ed25519.sign(SEED, MESSAGE);
      expect(toHex(await provider.ed25519.publicKey(SEED))).toBe(toHex(A));
      expect(await provider.ed25519.verify(A, MESSAGE, sig)).toBe(true);
    });

    it('rejects S >= L (S + L, S = L, S = 2^256 - 1)', async () => {
      const sig = await provider.ed25519.sign(SEED, MESSAGE);
      const s = leToBigInt(sig.subarray(32));
      const cases: [string, bigint][] = [
        ['S + L', s + L],
        ['S = L', L],
        ['S = 2^256 - 1', (1n << 256n) - 1n],
      ];
      for (const [label, bad] of cases) {
        const forged = concatBytes(sig.subarray(0, 32), bigIntToLe(bad));
        expect(await provider.ed25519.verify(A, MESSAGE, forged), label).toBe(false);
      }
      // S + L satisfies the group equation: only the range check stops it.
      const sPlusL = Point.BASE.multiplyUnsafe(s)
        .add(Point.BASE.multiplyUnsafe(L - 1n))
        .add(Point.BASE);
      expect(sPlusL.equals(Point.BASE.multiplyUnsafe(s))).toBe(true);
    });

    it('rejects R = identity in every encoding (y = p + 1, canonical, negative zero)', async () => {
      // R = identity and S = k * a make [S]B = R + [k]A hold for any message signed by nobody:
      // the equation alone accepts it, so the identity is refused as R whatever its encoding.
      const negativeZero = Point.ZERO.toBytes();
      negativeZero[31]! |= 0x80;
      const sign = (r: Uint8Array) => concatBytes(r, bigIntToLe((challenge(r, A, MESSAGE) * a) % L));
      for (const [label, r] of [
        ['non-canonical y = p + 1', bigIntToLe(P + 1n)],
        ['canonical', Point.ZERO.toBytes()],
        ['negative zero', negativeZero],
      ] as const) {
        expect(await provider.ed25519.verify(A, MESSAGE, sign(r)), label).toBe(false);
      }
      // Control: a random R with the matching S verifies, so only the identity is refused.
      const r = Point.BASE.multiply(31337n).toBytes();
      const ok = concatBytes(r, bigIntToLe((31337n + challenge(r, A, MESSAGE) * a) % L));
      expect(await provider.ed25519.verify(A, MESSAGE, ok), 'R = [31337]B (control)').toBe(true);
    });

    it('rejects every small-order R, both sign bits, where a cofactored verifier would accept', async () => {
      // R = T of small order, S = k * a: [8][S]B = [8]R + [8][k]A holds (a cofactored verifier
      // accepts); cofactorless verification fails for T != O, and the strict check refuses T always.
      let checked = 0;
      for (const encoding of SMALL_ORDER_ENCODINGS) {
        for (const sign of [0, 0x80]) {
          const r = fromHex(encoding);
          r[31] = (r[31]! & 0x7f) | sign;
          const sig = concatBytes(r, bigIntToLe((challenge(r, A, MESSAGE) * a) % L));
          expect(await provider.ed25519.verify(A, MESSAGE, sig), `R = ${toHex(r)}`).toBe(false);
          checked++;
        }
      }
      expect(checked).toBe(16);
    });

    it('rejects the "negative zero" public keys (x = 0 with the sign bit set) with R = [7]B, S = 7', async () => {
      // A = 01 00..00 80 decodes, in lenient implementations, to the identity: [7]B = [7]B + [k]O
      // for every message. A = ec ff..ff ff is (0, -1) with the sign bit set: the equation holds
      // whenever k is even. Both are refused for every message.
      const seven = bigIntToLe(7n);
      const sig = concatBytes(Point.BASE.multiply(7n).toBytes(), seven);
      const identityNeg = fromHex(`01${'00'.repeat(30)}80`);
      const orderTwoNeg = fromHex(`ec${'ff'.repeat(31)}`);
      for (let i = 0; i < 8; i++) {
        const m = utf8(`any message ${i}`);
        expect(await provider.ed25519.verify(identityNeg, m, sig), `A = 01..80, message ${i}`).toBe(false);
        expect(await provider.ed25519.verify(orderTwoNeg, m, sig), `A = ec..ff, message ${i}`).toBe(false);
      }
    });

    it('rejects every small-order A, and non-canonical encodings of small-order points', async () => {
      // With R = identity and S = 0 the equation reads O = O + [k]A, true whenever [k]A = O:
      // pick a message whose challenge is a multiple of 8.
      const R = Point.ZERO.toBytes();
      const sig = concatBytes(R, new Uint8Array(32));
      let checked = 0;
      for (const encoding of SMALL_ORDER_ENCODINGS) {
        const smallA = fromHex(encoding);
        let m: Uint8Array = new Uint8Array(0);
        for (let i = 0; challenge(R, smallA, m) % 8n !== 0n; i++) m = utf8(`message ${i}`);
        const holds = Point.fromBytes(smallA)
          .multiplyUnsafe(challenge(R, smallA, m))
          .is0();
        expect(holds, `${encoding}: forged equation holds`).toBe(true);
        expect(await provider.ed25519.verify(smallA, m, sig), `A = ${encoding}`).toBe(false);
        checked++;
      }
      expect(checked).toBe(8);
      // y = p + 1 (identity) and y = p (the order-4 point with y = 0), sign bit clear and set.
      for (const y of [P + 1n, P]) {
        for (const sign of [0, 0x80]) {
          const enc = bigIntToLe(y);
          enc[31]! |= sign;
          expect(await provider.ed25519.verify(enc, new Uint8Array(0), sig), `A = ${toHex(enc)}`).toBe(false);
        }
      }
    });

    it('rejects an R with a small-order component (cofactorless verification)', async () => {
      // R = [r]B + T with T of order 8 and S = r + k * a: the cofactored equation holds, ours does not.
      const t = Point.fromHex(SMALL_ORDER_ENCODINGS[4]!);
      const r = 987654321n;
      const R = Point.BASE.multiply(r).add(t).toBytes();
      const s = (r + challenge(R, A, MESSAGE) * a) % L;
      const sig = concatBytes(R, bigIntToLe(s));
      expect(await provider.ed25519.verify(A, MESSAGE, sig), 'mixed-order R').toBe(false);
      const probe = MIXED_ORDER_R_PROBE;
      expect(
        await provider.ed25519.verify(fromHex(probe.publicKey), new Uint8Array(0), fromHex(probe.signature)),
      ).toBe(false);
    });

    it('treats an A with a small-order component like the cofactorless equation does', async () => {
      // A' = A + T (T of order 8): an honest-looking S = r + k * a satisfies [S]B = R + [k]A'
      // exactly when [k]T = O, i.e. k = 0 mod 8. Every provider must agree on both outcomes.
      const t = Point.fromHex(SMALL_ORDER_ENCODINGS[4]!);
      const mixedA = Point.fromBytes(A).add(t).toBytes();
      const R = Point.BASE.multiply(555n).toBytes();
      const seen = new Set<boolean>();
      for (let i = 0; seen.size < 2 && i < 200; i++) {
        const m = utf8(`mixed A ${i}`);
        const k = challenge(R, mixedA, m);
        const sig = concatBytes(R, bigIntToLe((555n + k * a) % L));
        const expected = k % 8n === 0n;
        expect(await provider.ed25519.verify(mixedA, m, sig), `message ${i}`).toBe(expected);
        seen.add(expected);
      }
      expect(seen.size, 'both outcomes exercised').toBe(2);
    });
  },
);
