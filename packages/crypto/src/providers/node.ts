/**
 * `@cloister/crypto/node`: the native provider on Node.js (`node:crypto`), for servers and Node
 * clients. Browsers use the default entry's WebCrypto and noble providers.
 *
 * @module @cloister/crypto/node
 */
import { makeProvider } from '../internal/make-provider.js';
import { nodeRaw } from '../internal/node.js';
import { csprng } from '../internal/random.js';
import type { CryptoProvider } from '../provider.js';

/**
 * The native provider on Node.js: `node:crypto` (OpenSSL) for SHA-2, HMAC, HKDF, scrypt,
 * X25519, Ed25519, AES-256-GCM, AES-256-CBC and (ChaCha|XChaCha)20-Poly1305; `@noble/*` for
 * ML-KEM-768, which Node 20 does not offer. Import it from `@cloister/crypto/node`.
 *
 * @example
 * ```ts
 * import { createNodeProvider } from '@cloister/crypto/node';
 * const provider = createNodeProvider();
 * console.log(provider.name); // "node"
 * ```
 */
export function createNodeProvider(): CryptoProvider {
  return makeProvider('node', nodeRaw, csprng);
}
