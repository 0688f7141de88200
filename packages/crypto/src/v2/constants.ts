/**
 * Limits and domain-separation labels of suite `v2`. Every value here is part of the wire
 * contract and is listed in `spec/v2-sessions.md`; changing one is a new suite version.
 *
 * @module
 */

/**
 * Most message keys one received message may make the receiver derive and store on one chain
 * (messages skipped in the current chain, or at the end of the previous one). A header asking
 * for more fails with `LimitError` (`ERR_LIMIT`) and changes nothing.
 *
 * @example
 * ```ts
 * import { V2_MAX_SKIP } from '@cloister/crypto';
 * console.log(V2_MAX_SKIP); // 2000
 * ```
 */
export const V2_MAX_SKIP = 2000;

/**
 * Most skipped message keys one session stores. When more are derived, the oldest are deleted
 * first; a message whose key was deleted can no longer be decrypted (`DecryptionFailed`).
 *
 * @example
 * ```ts
 * import { V2_MAX_SKIPPED_KEYS } from '@cloister/crypto';
 * console.log(V2_MAX_SKIPPED_KEYS); // 2000
 * ```
 */
export const V2_MAX_SKIPPED_KEYS = 2000;

/**
 * Most receiving chains one session keeps: the current one and up to four closed older ones.
 * When a fifth older chain would be kept, the oldest is dropped together with its skipped keys.
 *
 * @example
 * ```ts
 * import { V2_MAX_RECEIVING_CHAINS } from '@cloister/crypto';
 * console.log(V2_MAX_RECEIVING_CHAINS); // 5
 * ```
 */
export const V2_MAX_RECEIVING_CHAINS = 5;

/**
 * How many digests of recently decrypted messages a session keeps to recognise exact
 * duplicates (`ReplayError`). An older duplicate is a `ReplayError` too when its chain is still
 * kept (its position is behind the chain with no skipped key); on a dropped chain it is
 * `DecryptionFailed`.
 *
 * @example
 * ```ts
 * import { V2_RECENT_DIGESTS } from '@cloister/crypto';
 * console.log(V2_RECENT_DIGESTS); // 128
 * ```
 */
export const V2_RECENT_DIGESTS = 128;

/**
 * Most previous sessions a session record keeps besides the current one.
 *
 * @example
 * ```ts
 * import { V2_MAX_PREVIOUS_SESSIONS } from '@cloister/crypto';
 * console.log(V2_MAX_PREVIOUS_SESSIONS); // 5
 * ```
 */
export const V2_MAX_PREVIOUS_SESSIONS = 5;

/**
 * Largest plaintext of one ratchet message: 64 MiB. Larger content goes as an attachment.
 *
 * @example
 * ```ts
 * import { V2_MAX_PLAINTEXT } from '@cloister/crypto';
 * if (bytes.length > V2_MAX_PLAINTEXT) throw new Error('send it as an attachment');
 * ```
 */
export const V2_MAX_PLAINTEXT = 64 * 1024 * 1024;

/**
 * Iterations of SHA-512 per identity in a safety number.
 *
 * @example
 * ```ts
 * import { V2_FINGERPRINT_ITERATIONS } from '@cloister/crypto';
 * console.log(V2_FINGERPRINT_ITERATIONS); // 5200
 * ```
 */
export const V2_FINGERPRINT_ITERATIONS = 5200;

/**
 * Every domain-separation label of suite `v2` (ASCII). Each KDF, MAC, hash and signature input
 * of the suite starts with one of these; no two purposes share one.
 *
 * @example
 * ```ts
 * import { V2_LABELS } from '@cloister/crypto';
 * console.log(V2_LABELS.root); // "cloister/v2/ratchet/root"
 * ```
 */
export const V2_LABELS = Object.freeze({
  /** Signature of the identity X25519 key by the identity signing key. */
  identityDhKey: 'cloister/v2/identity-dh-key',
  /** Signature of a signed X25519 prekey. */
  signedPreKey: 'cloister/v2/signed-prekey',
  /** Signature of an ML-KEM-768 prekey. */
  kemPreKey: 'cloister/v2/kem-prekey',
  /**
   * Signature of the list of suites a device supports, bound to its signed prekey id and the
   * time it was issued (downgrade protection). Version 2 of the statement: the label-only form
   * `"cloister/v2/suites"` of earlier versions is no longer produced or accepted.
   */
  suites: 'cloister/v2/suites/2',
  /** HKDF info of the handshake secret. */
  handshake: 'cloister/v2/handshake',
  /** SHA-256 over the KEM prekey and ciphertext, bound into the handshake info. */
  kemBinding: 'cloister/v2/handshake/kem-binding',
  /** SHA-256 over the handshake fields of an initial message. */
  initialDigest: 'cloister/v2/handshake/initial-message',
  /** HKDF info of the root-key ratchet step (KDF_RK). */
  root: 'cloister/v2/ratchet/root',
  /** HMAC-SHA512 input deriving a message key and the next chain key from a chain key (KDF_CK). */
  chain: 'cloister/v2/ratchet/chain',
  /** HMAC-SHA512 input expanding a message key into the AES-256-GCM key and nonce. */
  messageAead: 'cloister/v2/ratchet/message/aead',
  /** Start of the AES-256-GCM associated data of every ratchet message. */
  messageAd: 'cloister/v2/ratchet/message/ad',
  /** SHA-256 over a received message, to recognise exact duplicates. */
  messageSeen: 'cloister/v2/ratchet/message/seen',
  /** SHA-512 input of one identity's safety-number half. */
  fingerprint: 'cloister/v2/fingerprint',
});

/**
 * The suite name as it appears, length-prefixed (`u8(2) | "v2"`), in the handshake info and the
 * message associated data.
 *
 * @example
 * ```ts
 * import { V2_SUITE } from '@cloister/crypto';
 * console.log(V2_SUITE); // "v2"
 * ```
 */
export const V2_SUITE = 'v2';

/**
 * The number of each suite in the signed suite statement (`"cloister/v2/suites/2"`, see
 * `spec/v2-sessions.md` section 4). The wire enum `Suite` of `spec/wire.md` uses the same
 * numbers, so a list read from the wire can be checked without translation; a future suite gets
 * the next number in both places.
 *
 * @example
 * ```ts
 * import { SUITE_CODES } from '@cloister/crypto';
 * console.log(SUITE_CODES.v2); // 1
 * ```
 */
export const SUITE_CODES = Object.freeze({ v2: 1, 'static-v1': 2 } as const);

/**
 * Largest suite code: suite numbers are positive 32-bit signed integers (protobuf enum values).
 *
 * @example
 * ```ts
 * import { MAX_SUITE_CODE } from '@cloister/crypto';
 * console.log(MAX_SUITE_CODE); // 2147483647
 * ```
 */
export const MAX_SUITE_CODE = 0x7fff_ffff;

/**
 * Most entries (known and unknown suites together) in a signed suite list.
 *
 * @example
 * ```ts
 * import { MAX_SUITE_ENTRIES } from '@cloister/crypto';
 * console.log(MAX_SUITE_ENTRIES); // 16
 * ```
 */
export const MAX_SUITE_ENTRIES = 16;
