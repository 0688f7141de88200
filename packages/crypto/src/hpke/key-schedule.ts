/**
 * The HPKE key schedule (RFC 9180 section 5.1) for modes base and auth (no PSK): from the KEM
 * shared secret and `info` to the AEAD key, the base nonce and the exporter secret.
 */
import { concatBytes, wipe } from '../bytes.js';
import type { CryptoProvider } from '../provider.js';
import { labeledExpand, labeledExtract } from './labeled.js';
import { HPKE_NH, HPKE_NK, HPKE_NN, type HpkeAead, hpkeSuiteId } from './suite.js';

const EMPTY = new Uint8Array(0);

/** The secrets of one HPKE context. `key` and `baseNonce` are empty for export-only. */
export interface KeySchedule {
  readonly key: Uint8Array;
  readonly baseNonce: Uint8Array;
  readonly exporterSecret: Uint8Array;
}

/**
 * KeySchedule(mode, shared_secret, info, psk = "", psk_id = ""). Modes without a PSK use the
 * empty PSK and PSK id, as the RFC's default values say.
 */
export async function keySchedule(
  provider: CryptoProvider,
  aead: HpkeAead,
  mode: number,
  sharedSecret: Uint8Array,
  info: Uint8Array,
): Promise<KeySchedule> {
  const suiteId = hpkeSuiteId(aead);
  const pskIdHash = await labeledExtract(provider, suiteId, EMPTY, 'psk_id_hash', EMPTY);
  const infoHash = await labeledExtract(provider, suiteId, EMPTY, 'info_hash', info);
  const context = concatBytes(Uint8Array.of(mode), pskIdHash, infoHash);
  const secret = await labeledExtract(provider, suiteId, sharedSecret, 'secret', EMPTY);
  try {
    const sealing = aead !== 'export-only';
    return {
      key: sealing ? await labeledExpand(provider, suiteId, secret, 'key', context, HPKE_NK) : EMPTY,
      baseNonce: sealing
        ? await labeledExpand(provider, suiteId, secret, 'base_nonce', context, HPKE_NN)
        : EMPTY,
      exporterSecret: await labeledExpand(provider, suiteId, secret, 'exp', context, HPKE_NH),
    };
  } finally {
    wipe(secret);
  }
}
