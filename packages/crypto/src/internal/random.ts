import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8 } from '../bytes.js';
import type { RandomSource } from '../provider.js';

/** The platform CSPRNG (`crypto.getRandomValues`), in chunks of its 65,536-byte limit. */
export const csprng: RandomSource = {
  name: 'csprng',
  fill(out) {
    for (let i = 0; i < out.length; i += 65536) {
      globalThis.crypto.getRandomValues(out.subarray(i, Math.min(out.length, i + 65536)));
    }
    return out;
  },
};

const SEEDED_LABEL = utf8('cloister/v1/testing/insecure-seeded-random');

/**
 * A deterministic stream: ChaCha20 keystream under SHA-256(label || seed), zero nonce.
 * For reproducible test vectors and tests only.
 */
export function seededRandom(seed: Uint8Array): RandomSource {
  const key = sha256(new Uint8Array([...SEEDED_LABEL, ...seed]));
  const nonce = new Uint8Array(12);
  let counter = 0;
  let buffer = new Uint8Array(0);
  let offset = 0;
  return {
    name: 'insecure-seeded',
    fill(out) {
      let written = 0;
      while (written < out.length) {
        if (offset === buffer.length) {
          // 16 blocks of keystream at a time; the block counter continues across refills.
          buffer = chacha20(key, nonce, new Uint8Array(1024), undefined, counter);
          counter += 16;
          offset = 0;
        }
        const n = Math.min(out.length - written, buffer.length - offset);
        out.set(buffer.subarray(offset, offset + n), written);
        written += n;
        offset += n;
      }
      return out;
    },
  };
}
