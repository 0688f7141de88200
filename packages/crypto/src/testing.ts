/**
 * Test-only helpers. Nothing here may be used to protect real data.
 *
 * @module @cloister/crypto/testing
 */
import { checkBytes } from './bytes.js';
import { seededRandom } from './internal/random.js';
import type { RandomSource } from './provider.js';

/**
 * A deterministic random source for reproducible test vectors and tests. **Insecure by
 * design**: anyone who knows the seed knows every key drawn from it. Use it only with
 * `provider.withRandom(...)` in tests and vector generation.
 *
 * The stream is the ChaCha20 keystream (RFC 8439, zero nonce, counter from 0) under the key
 * SHA-256("cloister/v1/testing/insecure-seeded-random" || seed).
 *
 * @example
 * ```ts
 * import { createNobleProvider } from '@cloister/crypto';
 * import { INSECURE_seededRandomForTestsOnly } from '@cloister/crypto/testing';
 * const p = createNobleProvider().withRandom(INSECURE_seededRandomForTestsOnly(new Uint8Array(32)));
 * ```
 */
export function INSECURE_seededRandomForTestsOnly(seed: Uint8Array): RandomSource {
  return seededRandom(checkBytes(seed, 'seed'));
}
