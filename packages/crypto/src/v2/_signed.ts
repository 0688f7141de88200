/**
 * The canonical bytes each suite-v2 signature covers (spec/v2-sessions.md section 3).
 */
import { concatBytes, utf8 } from '../bytes.js';
import { V2_LABELS } from './constants.js';

const IDENTITY_DH_LABEL = utf8(V2_LABELS.identityDhKey);
const SIGNED_PREKEY_LABEL = utf8(V2_LABELS.signedPreKey);
const KEM_PREKEY_LABEL = utf8(V2_LABELS.kemPreKey);

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
