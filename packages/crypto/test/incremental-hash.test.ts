import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, toHex } from '../src/index.js';
import { PROVIDERS } from './providers.js';

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('createSha256 under %s', (_name, provider) => {
  it('equals the one-shot SHA-256 however the input is split', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), async (parts) => {
        const h = provider.createSha256();
        for (const part of parts) h.update(part);
        expect(toHex(h.digest())).toBe(toHex(await provider.sha256(concatBytes(...parts))));
      }),
      { numRuns: 40 },
    );
  });

  it('matches the FIPS 180-2 "abc" digest', () => {
    const digest = provider.createSha256().update(new TextEncoder().encode('abc')).digest();
    expect(toHex(digest)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('refuses use after digest and bad input', () => {
    const h = provider.createSha256();
    expect(() => h.update('text' as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: 'ERR_VALIDATION' }),
    );
    h.digest();
    expect(() => h.update(new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
    expect(() => h.digest()).toThrow(expect.objectContaining({ code: 'ERR_USAGE' }));
  });
});
