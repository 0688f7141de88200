/**
 * Wycheproof vectors for ML-KEM-768 (FIPS 203) under every provider.
 *
 * mlkem_768_test.json: key generation from the 64-byte seed d || z must give exactly `ek`, and
 * decapsulating `c` with the resulting secret key must give exactly `K` (for malformed
 * ciphertexts this is the implicit-rejection key). `invalid` cases have seeds or ciphertexts of
 * the wrong length: refused with ERR_VALIDATION naming `mlkem768.seed` or `mlkem768.ciphertext`.
 * mlkem_768_encaps_test.json: `encapsulate` draws its 32-byte message m from the provider's
 * random source, so each case runs on `provider.withRandom(fixedRandom(m))` and must give exactly
 * `c` and `K`. Encapsulation keys whose coefficients are not reduced mod q fail the FIPS 203
 * modulus check with ERR_INVALID_KEY; keys of the wrong length fail with ERR_VALIDATION.
 */
import { describe, expect, it } from 'vitest';
import { type CryptoProvider, toHex } from '../src/index.js';
import { fixedRandom } from './fixed-random.js';
import { PROVIDERS } from './providers.js';
import {
  bump,
  hex,
  loadWycheproof,
  type MlKemEncapsTest,
  type MlKemGroup,
  type MlKemTest,
  rejection,
  type Tally,
} from './vectors-load.js';

const decaps = loadWycheproof<MlKemGroup<MlKemTest>>('mlkem_768_test.json');
const encaps = loadWycheproof<MlKemGroup<MlKemEncapsTest>>('mlkem_768_encaps_test.json');

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'Wycheproof ML-KEM-768 under %s',
  (_name, provider: CryptoProvider) => {
    it('mlkem_768_test.json: key generation from seed and decapsulation', async () => {
      const tally: Tally = {};
      for (const g of decaps.testGroups) {
        expect(g.parameterSet).toBe('ML-KEM-768');
        for (const tc of g.tests) {
          const id = `mlkem768 tcId ${tc.tcId} (${tc.comment ?? tc.flags.join(',')})`;
          const seed = hex(tc.seed);
          if (seed.length !== 64) {
            expect(tc.result, id).toBe('invalid');
            const r = await rejection(() => provider.mlkem768.keyPairFromSeed(seed));
            expect(r.code, id).toBe('ERR_VALIDATION');
            expect(r.message, id).toContain('mlkem768.seed');
            bump(tally, 'invalid seed');
            continue;
          }
          const { publicKey, secretKey } = await provider.mlkem768.keyPairFromSeed(seed);
          expect(toHex(publicKey), `${id} ek`).toBe(tc.ek);
          const c = hex(tc.c);
          if (tc.result === 'valid') {
            expect(toHex(await provider.mlkem768.decapsulate(c, secretKey)), `${id} K`).toBe(tc.K);
            bump(tally, 'valid');
          } else {
            expect(c.length, id).not.toBe(1088);
            const r = await rejection(() => provider.mlkem768.decapsulate(c, secretKey));
            expect(r.code, id).toBe('ERR_VALIDATION');
            expect(r.message, id).toContain('mlkem768.ciphertext');
            bump(tally, 'invalid ciphertext');
          }
        }
      }
      expect(tally).toEqual({ valid: 153, 'invalid seed': 20, 'invalid ciphertext': 20 });
    });

    it('mlkem_768_encaps_test.json: encapsulation with a fixed message', async () => {
      const tally: Tally = {};
      for (const g of encaps.testGroups) {
        expect(g.parameterSet).toBe('ML-KEM-768');
        for (const tc of g.tests) {
          const id = `mlkem768 encaps tcId ${tc.tcId} (${tc.comment ?? tc.flags.join(',')})`;
          const fixed = provider.withRandom(fixedRandom([hex(tc.m)]));
          const ek = hex(tc.ek);
          if (tc.result === 'valid') {
            const out = await fixed.mlkem768.encapsulate(ek);
            expect(toHex(out.ciphertext), `${id} c`).toBe(tc.c);
            expect(toHex(out.sharedSecret), `${id} K`).toBe(tc.K);
            bump(tally, 'valid');
          } else if (ek.length !== 1184) {
            const r = await rejection(() => fixed.mlkem768.encapsulate(ek));
            expect(r.code, id).toBe('ERR_VALIDATION');
            expect(r.message, id).toContain('mlkem768.publicKey');
            bump(tally, 'invalid length');
          } else {
            const r = await rejection(() => fixed.mlkem768.encapsulate(ek));
            expect(r.code, id).toBe('ERR_INVALID_KEY');
            bump(tally, 'invalid modulus');
          }
        }
      }
      expect(tally).toEqual({ valid: 133, 'invalid length': 20, 'invalid modulus': 112 });
    });
  },
);
