/** Test helper: every provider the crypto suite runs under. */
import { type CryptoProvider, createNobleProvider } from '../src/index.js';
import { createNodeProvider } from '../src/providers/node.js';
import { createWebCryptoProvider } from '../src/providers/webcrypto.js';

export const PROVIDERS: readonly CryptoProvider[] = [
  createNobleProvider(),
  createNodeProvider(),
  createWebCryptoProvider(),
];
