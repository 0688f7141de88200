/**
 * HPKE (RFC 9180) algorithm identifiers and the suite Cloister supports: DHKEM(X25519,
 * HKDF-SHA256), HKDF-SHA256, and AES-256-GCM, ChaCha20-Poly1305 or export-only.
 */
import { concatBytes, uintBE, utf8 } from '../bytes.js';
import { ValidationError } from '../errors.js';
import type { Aead, CryptoProvider } from '../provider.js';

/**
 * KEM identifier of DHKEM(X25519, HKDF-SHA256) (RFC 9180 section 7.1), the only KEM Cloister uses.
 *
 * @example
 * ```ts
 * import { HPKE_KEM_X25519_HKDF_SHA256 } from '@cloister/crypto';
 * console.log(HPKE_KEM_X25519_HKDF_SHA256.toString(16)); // "20"
 * ```
 */
export const HPKE_KEM_X25519_HKDF_SHA256 = 0x0020;
/**
 * KDF identifier of HKDF-SHA256 (RFC 9180 section 7.2), the only KDF Cloister uses.
 *
 * @example
 * ```ts
 * import { HPKE_KDF_HKDF_SHA256 } from '@cloister/crypto';
 * console.log(HPKE_KDF_HKDF_SHA256); // 1
 * ```
 */
export const HPKE_KDF_HKDF_SHA256 = 0x0001;

/**
 * The AEADs Cloister's HPKE supports, with their RFC 9180 section 7.3 identifiers.
 *
 * @example
 * ```ts
 * import { HPKE_AEAD_IDS } from '@cloister/crypto';
 * console.log(HPKE_AEAD_IDS['chacha20-poly1305']); // 3
 * ```
 */
export const HPKE_AEAD_IDS = {
  'aes-256-gcm': 0x0002,
  'chacha20-poly1305': 0x0003,
  'export-only': 0xffff,
} as const;

/**
 * The name of an HPKE AEAD: a sealing AEAD or `export-only` (secret export only).
 *
 * @example
 * ```ts
 * import type { HpkeAead } from '@cloister/crypto';
 * const aead: HpkeAead = 'aes-256-gcm';
 * ```
 */
export type HpkeAead = keyof typeof HPKE_AEAD_IDS;

/**
 * Mode base (RFC 9180 section 5): the recipient learns nothing about who sealed.
 *
 * @example
 * ```ts
 * import { HPKE_MODE_BASE } from '@cloister/crypto';
 * console.log(HPKE_MODE_BASE); // 0
 * ```
 */
export const HPKE_MODE_BASE = 0x00;
/**
 * Mode auth (RFC 9180 section 5.1.3): the sender also proves possession of a static X25519 key.
 *
 * @example
 * ```ts
 * import { HPKE_MODE_AUTH } from '@cloister/crypto';
 * console.log(HPKE_MODE_AUTH); // 2
 * ```
 */
export const HPKE_MODE_AUTH = 0x02;

/** Nh of HKDF-SHA256. */
export const HPKE_NH = 32;
/** Nk of both sealing AEADs. */
export const HPKE_NK = 32;
/** Nn of both sealing AEADs. */
export const HPKE_NN = 12;

/** The suite identifier of the KEM alone: "KEM" || I2OSP(kem_id, 2). */
export const KEM_SUITE_ID = concatBytes(utf8('KEM'), uintBE(HPKE_KEM_X25519_HKDF_SHA256, 2));

/** Checks `aead` names a supported AEAD, naming `field` when it does not. */
export function checkHpkeAead(aead: unknown, field: string): HpkeAead {
  if (typeof aead !== 'string' || !Object.hasOwn(HPKE_AEAD_IDS, aead)) {
    throw new ValidationError(field, `one of ${Object.keys(HPKE_AEAD_IDS).join(', ')}`);
  }
  return aead as HpkeAead;
}

/** The full suite identifier: "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2). */
export function hpkeSuiteId(aead: HpkeAead): Uint8Array {
  return concatBytes(
    utf8('HPKE'),
    uintBE(HPKE_KEM_X25519_HKDF_SHA256, 2),
    uintBE(HPKE_KDF_HKDF_SHA256, 2),
    uintBE(HPKE_AEAD_IDS[aead], 2),
  );
}

/** The provider cipher for a sealing AEAD; `undefined` for export-only. */
export function providerAead(provider: CryptoProvider, aead: HpkeAead): Aead | undefined {
  if (aead === 'aes-256-gcm') return provider.aes256gcm;
  if (aead === 'chacha20-poly1305') return provider.chacha20poly1305;
  return undefined;
}
