/**
 * RFC 9180 section 4: LabeledExtract and LabeledExpand over HKDF-SHA256. The "HPKE-v1" label and
 * the suite identifiers are the RFC's, fixed for interoperability.
 */
import { concatBytes, uintBE, utf8 } from '../bytes.js';
import type { CryptoProvider } from '../provider.js';

const HPKE_VERSION_LABEL = utf8('HPKE-v1');

/** LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm). */
export async function labeledExtract(
  provider: CryptoProvider,
  suiteId: Uint8Array,
  salt: Uint8Array,
  label: string,
  ikm: Uint8Array,
): Promise<Uint8Array> {
  const labeledIkm = concatBytes(HPKE_VERSION_LABEL, suiteId, utf8(label), ikm);
  try {
    return await provider.hkdfExtractSha256(salt, labeledIkm);
  } finally {
    labeledIkm.fill(0);
  }
}

/**
 * LabeledExpand(prk, label, info, L) =
 * Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L).
 */
export function labeledExpand(
  provider: CryptoProvider,
  suiteId: Uint8Array,
  prk: Uint8Array,
  label: string,
  info: Uint8Array,
  length: number,
): Promise<Uint8Array> {
  const labeledInfo = concatBytes(uintBE(length, 2), HPKE_VERSION_LABEL, suiteId, utf8(label), info);
  return provider.hkdfExpandSha256(prk, labeledInfo, length);
}
