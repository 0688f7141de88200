import { ValidationError } from '../errors.js';
import type { CryptoProvider } from '../provider.js';
import { createNobleProvider } from './noble.js';

/**
 * The providers Cloister ships. `native` means `node` on Node.js and `webcrypto` elsewhere.
 *
 * @example
 * ```ts
 * const name: ProviderName = 'noble';
 * const provider = await getProvider(name);
 * ```
 */
export type ProviderName = 'native' | 'node' | 'webcrypto' | 'noble';

const NAMES: readonly ProviderName[] = ['native', 'node', 'webcrypto', 'noble'];

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

/**
 * Returns a provider by name. Without a name it picks the fastest one available: `node` on
 * Node.js, `webcrypto` where `crypto.subtle` exists, otherwise `noble`. The environment
 * variable `CLOISTER_CRYPTO_PROVIDER` overrides the automatic choice. `provider.name` reports
 * the choice.
 *
 * @example
 * ```ts
 * import { getProvider } from '@cloister/crypto';
 * const provider = await getProvider();          // automatic
 * const portable = await getProvider('noble');   // explicit
 * ```
 */
export async function getProvider(name?: ProviderName): Promise<CryptoProvider> {
  let choice: ProviderName = name ?? 'native';
  if (name === undefined && isNode()) {
    const fromEnv = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
      ?.CLOISTER_CRYPTO_PROVIDER;
    if (fromEnv !== undefined && fromEnv !== '') choice = fromEnv as ProviderName;
  }
  if (!NAMES.includes(choice)) throw new ValidationError('provider', `one of ${NAMES.join(', ')}`);
  if (choice === 'native') choice = isNode() ? 'node' : globalThis.crypto?.subtle ? 'webcrypto' : 'noble';
  switch (choice) {
    case 'node': {
      // `#native` is the package's own import condition: `node:crypto` under Node.js, nothing in a
      // browser build, so a bundler never follows this import into Node's modules.
      const { nativeNodeProvider } = await import('#native');
      const provider = isNode() ? nativeNodeProvider() : undefined;
      if (provider === undefined) {
        throw new ValidationError('provider', 'a provider available here (node needs Node.js)');
      }
      return provider;
    }
    case 'webcrypto': {
      const { createWebCryptoProvider } = await import('./webcrypto.js');
      return createWebCryptoProvider();
    }
    default:
      return createNobleProvider();
  }
}
