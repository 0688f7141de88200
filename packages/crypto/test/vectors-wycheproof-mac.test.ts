/**
 * Wycheproof vectors for HMAC-SHA256 and HKDF-SHA256 under every provider.
 *
 * HMAC: our API returns the full 32-byte MAC (Cloister never truncates tags), so only the
 * groups with 256-bit tags apply: `valid` cases must give exactly the tag, `invalid` ones
 * (modified tags) must differ from it under a constant-time comparison. The groups with 128-bit
 * (truncated) tags are outside the API and are counted, not run.
 * HKDF: `valid` cases must give exactly the OKM, up to the maximum of 255 * 32 bytes; the
 * `invalid` cases ask for one byte more and must be refused with ERR_VALIDATION on `hkdf.length`.
 */
import { describe, expect, it } from 'vitest';
import { type CryptoProvider, equalBytes, toHex } from '../src/index.js';
import { PROVIDERS } from './providers.js';
import {
  bump,
  type HkdfGroup,
  hex,
  loadWycheproof,
  type MacGroup,
  rejection,
  type Tally,
} from './vectors-load.js';

const hmac = loadWycheproof<MacGroup>('hmac_sha256_test.json');
const hkdf = loadWycheproof<HkdfGroup>('hkdf_sha256_test.json');

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'Wycheproof MAC and KDF under %s',
  (_name, provider: CryptoProvider) => {
    it('hmac_sha256_test.json: full 32-byte tags', async () => {
      const tally: Tally = {};
      for (const g of hmac.testGroups) {
        for (const tc of g.tests) {
          if (g.tagSize !== 256) {
            bump(tally, `truncated ${tc.result}`);
            continue;
          }
          const id = `hmac tcId ${tc.tcId} (${tc.comment ?? tc.flags.join(',')})`;
          const mac = await provider.hmacSha256(hex(tc.key), hex(tc.msg));
          if (tc.result === 'valid') expect(toHex(mac), id).toBe(tc.tag);
          else expect(equalBytes(mac, hex(tc.tag)), id).toBe(false);
          bump(tally, tc.result);
        }
      }
      expect(tally).toEqual({ valid: 33, invalid: 54, 'truncated valid': 33, 'truncated invalid': 54 });
    });

    it('hkdf_sha256_test.json', async () => {
      const tally: Tally = {};
      for (const g of hkdf.testGroups) {
        for (const tc of g.tests) {
          const id = `hkdf tcId ${tc.tcId} (${tc.comment ?? tc.flags.join(',')})`;
          const run = () => provider.hkdfSha256(hex(tc.ikm), hex(tc.salt), hex(tc.info), tc.size);
          if (tc.result === 'valid') {
            expect(toHex(await run()), id).toBe(tc.okm);
          } else {
            const r = await rejection(run);
            expect(r.code, id).toBe('ERR_VALIDATION');
            expect(r.message, id).toContain('hkdf.length');
          }
          bump(tally, tc.result);
        }
      }
      expect(tally).toEqual({ valid: 83, invalid: 3 });
    });
  },
);
