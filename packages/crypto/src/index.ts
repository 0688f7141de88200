/**
 * `@cloister/crypto`: the cryptographic core of Cloister. Every primitive goes through a
 * {@link CryptoProvider}; suites and key wrapping compose them.
 *
 * @packageDocumentation
 */
export * from './bytes.js';
export * from './errors.js';
export type * from './provider.js';
export { createNobleProvider } from './providers/noble.js';
export { createWebCryptoProvider } from './providers/webcrypto.js';
export { getProvider, type ProviderName } from './providers/select.js';
