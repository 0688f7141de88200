/**
 * The platform CSPRNG serves small requests from a pool (`internal/random.ts`). The failure to
 * guard against is a pool that hands the same bytes out twice (a repeated nonce): draw enough small
 * values to cross many pool refills, of sizes that do not divide the pool, and see no repeat; large
 * requests bypass the pool; the bytes stay uniform.
 */
import { describe, expect, it } from 'vitest';
import { getProvider } from '../src/index.js';
import { csprng } from '../src/internal/random.js';

describe('the pooled CSPRNG', () => {
  it('never hands out the same bytes twice across many refills', () => {
    const seen = new Set<string>();
    let bytes = 0;
    for (let i = 0; i < 40_000; i++) {
      const size = 7 + (i % 3) * 12; // 7, 19 and 31 bytes: refills fall mid-request
      const out = csprng.fill(new Uint8Array(size));
      bytes += size;
      const key = Buffer.from(out.subarray(0, 7)).toString('hex');
      expect(seen.has(key)).toBe(false);
      seen.add(key);
    }
    expect(bytes).toBeGreaterThan(100 * 4096);
  });

  it('serves large requests from the platform and keeps bytes uniform', async () => {
    const provider = await getProvider();
    const big = provider.randomBytes(200_000);
    expect(big).toHaveLength(200_000);
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 4000; i++) for (const b of provider.randomBytes(24)) counts[b] = (counts[b] ?? 0) + 1;
    // 96,000 bytes: 375 expected per value; a stuck or repeating pool would be far off.
    const chi = counts.reduce((s, c) => s + (c - 375) ** 2 / 375, 0);
    expect(chi).toBeLessThan(400); // 255 degrees of freedom: p ≈ 1e-8 above 400
    expect(
      new Set(Array.from({ length: 1000 }, () => Buffer.from(provider.randomBytes(24)).toString('hex'))).size,
    ).toBe(1000);
  });
});
