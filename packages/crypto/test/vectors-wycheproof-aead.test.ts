/**
 * Wycheproof vectors for the ciphers: AES-256-GCM, ChaCha20-Poly1305, XChaCha20-Poly1305 and
 * AES-256-CBC with PKCS#7 padding, under every provider.
 *
 * A group is applicable when its key, nonce and tag sizes are the ones our API has (32-byte keys,
 * the cipher's nonce length, 16-byte tags). In an applicable group every `valid` case must
 * encrypt to exactly ct||tag and decrypt back, and every `invalid` case must fail with
 * ERR_DECRYPTION_FAILED. Groups with other sizes (AES-128/192, GCM nonces other than 12 bytes,
 * wrong ChaCha nonce sizes) are outside the API: the provider must refuse them with
 * ERR_VALIDATION naming the key or nonce, whatever their `result`.
 */
import { describe, expect, it } from 'vitest';
import type { Aead, CryptoProvider } from '../src/index.js';
import { toHex } from '../src/index.js';
import { PROVIDERS } from './providers.js';
import {
  type AeadGroup,
  bump,
  type CbcGroup,
  hex,
  loadWycheproof,
  rejection,
  type Tally,
} from './vectors-load.js';

const gcm = loadWycheproof<AeadGroup>('aes_gcm_test.json');
const chacha = loadWycheproof<AeadGroup>('chacha20_poly1305_test.json');
const xchacha = loadWycheproof<AeadGroup>('xchacha20_poly1305_test.json');
const cbc = loadWycheproof<CbcGroup>('aes_cbc_pkcs5_test.json');

async function runAead(aead: Aead, name: string, groups: readonly AeadGroup[]): Promise<Tally> {
  const tally: Tally = {};
  for (const g of groups) {
    const applicable = g.keySize === 256 && g.ivSize === aead.nonceLength * 8 && g.tagSize === 128;
    for (const tc of g.tests) {
      const id = `${name} tcId ${tc.tcId} (${tc.comment ?? tc.flags.join(',')})`;
      const key = hex(tc.key);
      const iv = hex(tc.iv);
      const aad = hex(tc.aad);
      const sealed = hex(tc.ct + tc.tag);
      if (!applicable) {
        const field = g.keySize !== 256 ? `${name}.key` : `${name}.nonce`;
        const enc = await rejection(() => aead.encrypt(key, iv, hex(tc.msg), aad));
        const dec = await rejection(() => aead.decrypt(key, iv, sealed, aad));
        expect(enc.code, `${id} encrypt`).toBe('ERR_VALIDATION');
        expect(enc.message, `${id} encrypt`).toContain(field);
        expect(dec.code, `${id} decrypt`).toBe('ERR_VALIDATION');
        bump(tally, `outside API ${tc.result}`);
        continue;
      }
      if (tc.result === 'valid') {
        expect(toHex(await aead.encrypt(key, iv, hex(tc.msg), aad)), `${id} encrypt`).toBe(tc.ct + tc.tag);
        expect(toHex(await aead.decrypt(key, iv, sealed, aad)), `${id} decrypt`).toBe(tc.msg);
      } else {
        // No `acceptable` cases exist in these files; an unexpected result fails here.
        expect(tc.result, id).toBe('invalid');
        expect((await rejection(() => aead.decrypt(key, iv, sealed, aad))).code, id).toBe(
          'ERR_DECRYPTION_FAILED',
        );
      }
      bump(tally, tc.result);
    }
  }
  return tally;
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'Wycheproof ciphers under %s',
  (_name, provider: CryptoProvider) => {
    it('aes_gcm_test.json: AES-256-GCM, 12-byte nonces', async () => {
      const tally = await runAead(provider.aes256gcm, 'aes256gcm', gcm.testGroups);
      expect(tally).toEqual({ valid: 39, invalid: 27, 'outside API valid': 190, 'outside API invalid': 60 });
    });

    it('chacha20_poly1305_test.json: ChaCha20-Poly1305', async () => {
      const tally = await runAead(provider.chacha20poly1305, 'chacha20poly1305', chacha.testGroups);
      expect(tally).toEqual({ valid: 256, invalid: 60, 'outside API invalid': 9 });
    });

    it('xchacha20_poly1305_test.json: XChaCha20-Poly1305', async () => {
      const tally = await runAead(provider.xchacha20poly1305, 'xchacha20poly1305', xchacha.testGroups);
      expect(tally).toEqual({ valid: 246, invalid: 60, 'outside API invalid': 9 });
    });

    it('aes_cbc_pkcs5_test.json: AES-256-CBC with PKCS#7 padding', async () => {
      const tally: Tally = {};
      for (const g of cbc.testGroups) {
        for (const tc of g.tests) {
          const id = `aes256cbc tcId ${tc.tcId} (${tc.comment ?? tc.flags.join(',')})`;
          const key = hex(tc.key);
          const iv = hex(tc.iv);
          if (g.keySize !== 256) {
            const enc = await rejection(() => provider.aes256cbc.encrypt(key, iv, hex(tc.msg)));
            expect(enc.code, id).toBe('ERR_VALIDATION');
            expect(enc.message, id).toContain('aes256cbc.key');
            expect((await rejection(() => provider.aes256cbc.decrypt(key, iv, hex(tc.ct)))).code, id).toBe(
              'ERR_VALIDATION',
            );
            bump(tally, `outside API ${tc.result}`);
            continue;
          }
          if (tc.result === 'valid') {
            expect(toHex(await provider.aes256cbc.encrypt(key, iv, hex(tc.msg))), `${id} encrypt`).toBe(
              tc.ct,
            );
            expect(toHex(await provider.aes256cbc.decrypt(key, iv, hex(tc.ct))), `${id} decrypt`).toBe(
              tc.msg,
            );
          } else {
            expect(tc.result, id).toBe('invalid');
            const r = await rejection(() => provider.aes256cbc.decrypt(key, iv, hex(tc.ct)));
            expect(r.code, id).toBe('ERR_DECRYPTION_FAILED');
          }
          bump(tally, tc.result);
        }
      }
      expect(tally).toEqual({ valid: 24, invalid: 48, 'outside API valid': 48, 'outside API invalid': 96 });
    });
  },
);
