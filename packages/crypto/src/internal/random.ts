import { chacha20 } from '@noble/ciphers/chacha.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8 } from '../bytes.js';
import type { RandomSource } from '../provider.js';

/** Requests up to this many bytes are served from a pool; larger ones go to the platform directly. */
const POOLED_MAX = 64;
/** Bytes drawn from the platform at once for the pool. */
const POOL_BYTES = 4096;

let pool = new Uint8Array(0);
let poolAt = 0;

/** Fills `out` from the platform CSPRNG, in chunks of its 65,536-byte limit. */
function platformFill(out: Uint8Array): Uint8Array {
  for (let i = 0; i < out.length; i += 65536) {
    globalThis.crypto.getRandomValues(out.subarray(i, Math.min(out.length, i + 65536)));
  }
  return out;
}

/**
 * The platform CSPRNG (`crypto.getRandomValues`). Small requests (nonces, salts, tie-breakers: at
 * most 64 bytes) are served from a 4 KiB pool drawn from the platform at once, so that a hot path
 * pays one platform call per 4 KiB instead of one per nonce. Every byte is handed out once: it is
 * zeroed in the pool as it is copied out, so the pool never holds bytes already given away.
 */
export const csprng: RandomSource = {
  name: 'csprng',
  fill(out) {
    if (out.length > POOLED_MAX) return platformFill(out);
    if (poolAt + out.length > pool.length) {
      pool.fill(0);
      pool = new Uint8Array(POOL_BYTES);
      platformFill(pool);
      poolAt = 0;
    }
    out.set(pool.subarray(poolAt, poolAt + out.length));
    pool.fill(0, poolAt, poolAt + out.length);
    poolAt += out.length;
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
