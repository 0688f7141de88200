import { makeProvider } from '../internal/make-provider.js';
import { nobleRaw } from '../internal/noble.js';
import { csprng } from '../internal/random.js';
import type { CryptoProvider } from '../provider.js';

/**
 * The portable provider: every primitive from the audited `@noble/*` libraries. Runs wherever
 * JavaScript runs; slower than the native provider for X25519, AES and scrypt.
 *
 * @example
 * ```ts
 * import { createNobleProvider } from '@cloister/crypto';
 * const provider = createNobleProvider();
 * const { publicKey } = await provider.x25519.generateKeyPair();
 * ```
 */
export function createNobleProvider(): CryptoProvider {
  return makeProvider('noble', nobleRaw, csprng);
}
