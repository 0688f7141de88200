/**
 * `test-vectors/ed25519-strict.json` under every provider: one honest signature verifies, and
 * every forgery a lenient verifier accepts (small-order keys and R values in every encoding, the
 * "negative zero" encodings, non-canonical R, S >= L, an R with a small-order component) is
 * refused by all three alike.
 */
import { describe, expect, it } from 'vitest';
import type { CryptoProvider } from '../src/index.js';
import { PROVIDERS } from './providers.js';
import { hex, loadVectors } from './vectors-load.js';

const vectors = loadVectors<{
  source: unknown;
  cases: {
    name: string;
    publicKey: string;
    message: string;
    signature: string;
    valid: boolean;
    lenient: string;
  }[];
}>('ed25519-strict.json');

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'ed25519-strict.json under %s',
  (_name, provider: CryptoProvider) => {
    it(`${vectors.cases.length} cases: the control verifies, every forgery is refused`, async () => {
      expect(vectors.cases.filter((c) => c.valid).length).toBe(1);
      for (const c of vectors.cases) {
        const ok = await provider.ed25519.verify(hex(c.publicKey), hex(c.message), hex(c.signature));
        expect(ok, c.name).toBe(c.valid);
      }
    });
  },
);
