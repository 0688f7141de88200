/**
 * The native provider where Node.js runs: `node:crypto`. Chosen through the package's `#native`
 * import condition (`node`), so that a browser bundle never reaches Node's modules.
 *
 * @module
 */
import type { CryptoProvider } from '../provider.js';
import { createNodeProvider } from './node.js';

/** The `node` provider; `undefined` where Node.js is not the runtime (never, under this condition). */
export function nativeNodeProvider(): CryptoProvider | undefined {
  return createNodeProvider();
}
