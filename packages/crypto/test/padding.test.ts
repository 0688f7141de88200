import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PADME_MAX_LENGTH, padmeLength, padToBucket, unpad } from '../src/files/index.js';

/** Padmé as defined by Nikitin et al., with 32-bit operations (exact below 2^30). */
function padmeReference(n: number): number {
  if (n < 2) return n;
  const e = 31 - Math.clz32(n);
  const s = 32 - Math.clz32(e);
  const mask = (1 << (e - s)) - 1;
  return ((n + mask) & ~mask) >>> 0;
}

const codeOf = (call: () => unknown): string => {
  try {
    call();
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return 'accepted';
};

describe('padmeLength', () => {
  it('matches known values', () => {
    const table: [number, number][] = [
      [0, 0],
      [1, 1],
      [7, 7],
      [8, 8],
      [9, 10],
      [100, 104],
      [129, 144],
      [1000, 1024],
      [65536, 65536],
      [65537, 67584],
      [1_000_000, 1_015_808],
    ];
    for (const [n, padded] of table) expect(padmeLength(n), `n ${n}`).toBe(padded);
  });

  it('agrees with the bitwise definition and never adds more than 12%', () => {
    for (let n = 0; n < 2 ** 17; n++) {
      const p = padmeLength(n);
      if (p !== padmeReference(n)) expect(p, `n ${n}`).toBe(padmeReference(n));
      if (p - n > 0.12 * n) expect(p - n, `overhead at n ${n}`).toBeLessThanOrEqual(0.12 * n);
    }
    fc.assert(
      fc.property(fc.integer({ min: 2 ** 17, max: 2 ** 30 }), (n) => {
        expect(padmeLength(n)).toBe(padmeReference(n));
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 2, max: PADME_MAX_LENGTH }), (n) => {
        const p = padmeLength(n);
        expect(p).toBeGreaterThanOrEqual(n);
        expect(p - n).toBeLessThanOrEqual(0.12 * n);
        expect(padmeLength(p)).toBe(p);
      }),
    );
  });

  it('is monotonic, so each bucket is one interval', () => {
    fc.assert(
      fc.property(fc.nat({ max: PADME_MAX_LENGTH - 1 }), (n) => {
        expect(padmeLength(n + 1)).toBeGreaterThanOrEqual(padmeLength(n));
      }),
    );
  });

  it('rejects lengths that are not integers in range', () => {
    for (const n of [-1, 0.5, Number.NaN, PADME_MAX_LENGTH + 1, '8' as unknown as number]) {
      expect(
        codeOf(() => padmeLength(n)),
        `n ${String(n)}`,
      ).toBe('ERR_VALIDATION');
    }
  });
});

describe('padToBucket / unpad', () => {
  it('round-trips and pads to padmeLength(length + 1)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (x) => {
        const padded = padToBucket(x);
        expect(padded.length).toBe(padmeLength(x.length + 1));
        expect(Array.from(unpad(padded))).toEqual(Array.from(x));
      }),
    );
  });

  it('gives every input of one bucket the same padded length', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 22 }), fc.nat(), (n, pick) => {
        const bucket = padmeLength(n + 1);
        // The smallest content length padded to the same bucket (the buckets are intervals).
        let lo = 0;
        let hi = n;
        while (lo < hi) {
          const mid = Math.floor((lo + hi) / 2);
          if (padmeLength(mid + 1) === bucket) hi = mid;
          else lo = mid + 1;
        }
        const inside = lo + (pick % (n - lo + 1));
        for (const len of [lo, inside, n])
          expect(padToBucket(new Uint8Array(len)).length, `length ${len}`).toBe(bucket);
        if (lo > 0) expect(padToBucket(new Uint8Array(lo - 1)).length).toBeLessThan(bucket);
      }),
      { numRuns: 50 },
    );
  });

  it('unpads content ending in 0x80 and zero bytes', () => {
    for (const x of [[0x80], [0x80, 0x00], [0x00, 0x80, 0x00], [0xff, 0x80, 0x80]]) {
      const bytes = Uint8Array.from(x);
      expect(Array.from(unpad(padToBucket(bytes))), `content ${x.join(',')}`).toEqual(x);
    }
  });

  it('rejects malformed padding with ERR_DECODE', () => {
    const table: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['all zero', new Uint8Array(10)],
      ['no marker', Uint8Array.from([1, 2, 3, 4])],
      ['last non-zero byte is not 0x80', Uint8Array.from([0x80, 0x01, 0x00, 0x00])],
      ['marker then a stray byte', Uint8Array.from([1, 2, 0x80, 0x7f])],
      ['padded too far', concatPad(new Uint8Array(9), 20)],
      ['not padded far enough', Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 0x80])],
    ];
    for (const [name, bytes] of table)
      expect(
        codeOf(() => unpad(bytes)),
        name,
      ).toBe('ERR_DECODE');
    expect(codeOf(() => unpad('x' as unknown as Uint8Array))).toBe('ERR_VALIDATION');
    expect(codeOf(() => padToBucket([1] as unknown as Uint8Array))).toBe('ERR_VALIDATION');
  });

  it('never decodes a changed padded message to the original; accepts only canonical encodings', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 500 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (x, at, delta) => {
          const padded = padToBucket(x);
          const i = at % padded.length;
          padded[i] = (padded[i]! + delta) & 0xff;
          let out: Uint8Array | undefined;
          try {
            out = unpad(padded);
          } catch (e) {
            expect((e as { code?: string }).code).toBe('ERR_DECODE');
            return;
          }
          // Accepted only if it is exactly the padding of what it decoded to, which is not x.
          expect(Array.from(padToBucket(out))).toEqual(Array.from(padded));
          expect(Array.from(out)).not.toEqual(Array.from(x));
        },
      ),
      { numRuns: 300 },
    );
  });
});

function concatPad(content: Uint8Array, total: number): Uint8Array {
  const out = new Uint8Array(total);
  out.set(content);
  out[content.length] = 0x80;
  return out;
}
