/** The v2 part of the demo; filled in when suite v2 is exported. */
import type { CryptoProvider } from '@cloister/crypto';

export async function runV2Demo(
  _provider: CryptoProvider,
  _say: (title: string, ...lines: string[]) => void,
  _short: (bytes: Uint8Array) => string,
): Promise<void> {}
