/**
 * The native provider everywhere but Node.js: none. Chosen through the package's `#native` import
 * condition (`default`), so that a browser bundle never reaches Node's modules.
 *
 * @module
 */
import type { CryptoProvider } from '../provider.js';

/** Outside Node.js there is no `node` provider. */
export function nativeNodeProvider(): CryptoProvider | undefined {
  return undefined;
}
