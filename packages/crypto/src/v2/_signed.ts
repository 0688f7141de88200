/**
 * The canonical bytes each suite-v2 signature covers (spec/v2-sessions.md sections 3 and 4).
 */
import { concatBytes, utf8 } from '../bytes.js';
import { SUITE_CODES, V2_LABELS } from './constants.js';
import type { SuiteName } from './types.js';

const IDENTITY_DH_LABEL = utf8(V2_LABELS.identityDhKey);
const SIGNED_PREKEY_LABEL = utf8(V2_LABELS.signedPreKey);
const KEM_PREKEY_LABEL = utf8(V2_LABELS.kemPreKey);
const SUITES_LABEL = utf8(V2_LABELS.suites);

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** The bytes the identity signing key signs to certify the identity DH key. */
export function identityDhKeySignedBytes(dhKey: Uint8Array): Uint8Array {
  return concatBytes(IDENTITY_DH_LABEL, dhKey);
}

/** The bytes the identity signing key signs for a signed X25519 prekey. */
export function signedPreKeySignedBytes(id: number, publicKey: Uint8Array): Uint8Array {
  return concatBytes(SIGNED_PREKEY_LABEL, u32(id), publicKey);
}

/** The bytes the identity signing key signs for an ML-KEM-768 prekey. */
export function kemPreKeySignedBytes(id: number, lastResort: boolean, publicKey: Uint8Array): Uint8Array {
  return concatBytes(KEM_PREKEY_LABEL, u32(id), Uint8Array.of(lastResort ? 1 : 0), publicKey);
}

/**
 * The canonical suite list: the codes of the known suites and the unknown codes, in ascending
 * order. Callers have checked that the codes are distinct, in range and at most 16.
 */
export function canonicalSuiteCodes(
  suites: readonly SuiteName[],
  unknownCodes: readonly number[] = [],
): number[] {
  return [...suites.map((s) => SUITE_CODES[s]), ...unknownCodes].sort((a, b) => a - b);
}

function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(value / 0x1_0000_0000));
  view.setUint32(4, value >>> 0);
  return out;
}

/**
 * The bytes the identity signing key signs for the list of suites the device supports, bound to
 * the signed prekey it is published with and the time it was issued:
 * `"cloister/v2/suites/2" | u32(signedPreKeyId) | u64(issuedAt) | u8(count) | u32(code)*`, codes
 * in ascending order. Callers have checked the id (u32), the time (1 .. 2^53 - 1 ms) and the codes.
 */
export function suitesSignedBytes(
  signedPreKeyId: number,
  issuedAt: number,
  suites: readonly SuiteName[],
  unknownCodes?: readonly number[],
): Uint8Array {
  const codes = canonicalSuiteCodes(suites, unknownCodes);
  return concatBytes(
    SUITES_LABEL,
    u32(signedPreKeyId),
    u64(issuedAt),
    Uint8Array.of(codes.length),
    ...codes.map(u32),
  );
}
