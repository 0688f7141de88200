/**
 * The Cloister crypto providers the cases run under. Each is created lazily, the first time a
 * selected case needs it, so a filtered run never touches a provider it does not measure.
 */
import { type CryptoProvider, createNobleProvider, getProvider } from '@cloister/crypto';
import { createNodeProvider } from '@cloister/crypto/node';
import { CaseSkipped } from './harness.js';

/** A provider as the cases see it: its name (the last segment of a case name) and a loader. */
export interface ProviderUnderTest {
  readonly id: 'node' | 'webcrypto' | 'noble';
  /** `true` for the providers that use the platform's native code (OpenSSL, WebCrypto). */
  readonly native: boolean;
  /** The provider; throws `CaseSkipped` when it is not available here. */
  load(): Promise<CryptoProvider>;
}

function lazy(create: () => Promise<CryptoProvider>): () => Promise<CryptoProvider> {
  let pending: Promise<CryptoProvider> | undefined;
  return () => {
    pending ??= create().catch((e: unknown) => {
      throw new CaseSkipped(`provider unavailable: ${e instanceof Error ? e.message : String(e)}`);
    });
    return pending;
  };
}

/** The providers in the order their cases run: native ones first, the portable one last. */
export const PROVIDERS: readonly ProviderUnderTest[] = [
  { id: 'node', native: true, load: lazy(async () => createNodeProvider()) },
  { id: 'webcrypto', native: true, load: lazy(() => getProvider('webcrypto')) },
  { id: 'noble', native: false, load: lazy(async () => createNobleProvider()) },
];

/** The providers minus WebCrypto: for primitives WebCrypto lacks, where it falls back to noble. */
export const PROVIDERS_WITHOUT_WEBCRYPTO: readonly ProviderUnderTest[] = PROVIDERS.filter(
  (p) => p.id !== 'webcrypto',
);
