import { makeProvider } from '../internal/make-provider.js';
import { csprng } from '../internal/random.js';
import { webcryptoRaw } from '../internal/webcrypto.js';
import type { CryptoProvider } from '../provider.js';

/**
 * The native provider in browsers and other WebCrypto platforms: `crypto.subtle` for SHA-2,
 * HMAC, HKDF, AES-256-GCM and AES-256-CBC, and for X25519 and Ed25519 where the platform
 * implements them (detected on first use); `@noble/*` for everything else (scrypt, ML-KEM-768,
 * ChaCha20-Poly1305, XChaCha20-Poly1305) and wherever a probe fails. Outputs are byte-identical
 * to the other providers.
 *
 * @example
 * ```ts
 * import { getProvider, utf8 } from '@cloister/crypto';
 * const provider = await getProvider('webcrypto');
 * console.log(provider.name); // "webcrypto"
 * const key = provider.randomBytes(32);
 * const tag = await provider.hmacSha256(key, [utf8('cloister/v2/example'), utf8('hello')]);
 * ```
 */
export function createWebCryptoProvider(): CryptoProvider {
  return makeProvider('webcrypto', webcryptoRaw, csprng);
}
