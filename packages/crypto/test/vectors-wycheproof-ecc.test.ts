/**
 * Wycheproof vectors for X25519 and Ed25519 under every provider.
 *
 * X25519: every case has a 32-byte private and public key. `valid` cases must give exactly the
 * shared secret. `acceptable` cases (public keys on the twist, non-canonical u >= p, u with the
 * high bit set, low-order points) are accepted as RFC 7748 computes them (high bit masked, u
 * reduced mod p) with one exception that Cloister requires: whenever the shared secret is all
 * zero (a low-order public key) the call must fail with ERR_INVALID_KEY.
 * Ed25519: our verification is strict (S < L, canonical R and A, A not of small order). Every
 * `valid` case must verify; every `invalid` one (including wrong-length signatures) must return
 * false. The file has no `acceptable` cases.
 */
import { describe, expect, it } from 'vitest';
import { type CryptoProvider, isAllZero, toHex } from '../src/index.js';
import { PROVIDERS } from './providers.js';
import {
  bump,
  type EddsaGroup,
  hex,
  loadWycheproof,
  rejection,
  type Tally,
  type XdhGroup,
} from './vectors-load.js';

const x25519 = loadWycheproof<XdhGroup>('x25519_test.json');
const ed25519 = loadWycheproof<EddsaGroup>('ed25519_test.json');

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'Wycheproof curves under %s',
  (_name, provider: CryptoProvider) => {
    it('x25519_test.json', async () => {
      const tally: Tally = {};
      for (const g of x25519.testGroups) {
        expect(g.curve).toBe('curve25519');
        for (const tc of g.tests) {
          const id = `x25519 tcId ${tc.tcId} (${tc.comment ?? ''}; ${tc.flags.join(',')})`;
          const run = () => provider.x25519.sharedSecret(hex(tc.private), hex(tc.public));
          if (isAllZero(hex(tc.shared))) {
            const r = await rejection(run);
            expect(r.code, id).toBe('ERR_INVALID_KEY');
            bump(tally, `zero ${tc.result}`);
          } else {
            expect(toHex(await run()), id).toBe(tc.shared);
            bump(tally, tc.result);
          }
        }
      }
      expect(tally).toEqual({ valid: 264, acceptable: 223, 'zero acceptable': 31 });
    });

    it('ed25519_test.json: strict verification', async () => {
      const tally: Tally = {};
      for (const g of ed25519.testGroups) {
        expect(g.publicKey.curve).toBe('edwards25519');
        const pk = hex(g.publicKey.pk);
        for (const tc of g.tests) {
          const id = `ed25519 tcId ${tc.tcId} (${tc.comment ?? ''}; ${tc.flags.join(',')})`;
          const ok = await provider.ed25519.verify(pk, hex(tc.msg), hex(tc.sig));
          expect(ok, id).toBe(tc.result === 'valid');
          bump(tally, tc.result);
        }
      }
      expect(tally).toEqual({ valid: 88, invalid: 63 });
    });
  },
);
