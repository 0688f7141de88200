/**
 * The byte format of a crypto-shredded ciphertext and the derivation of its per-record key
 * (`spec/retention.md` §7):
 *
 * ```
 * ciphertext = version(1) ‖ periodEnd(uint64be, 8) ‖ salt(24) ‖ AES-256-GCM(ct ‖ tag16)
 * okm        = HKDF-SHA256(ikm = period key, salt, info = LABEL ‖ version ‖ periodEnd ‖
 *                          uint16be(len scope) ‖ scope, 44)
 * key, nonce = okm[0..32], okm[32..44]
 * aad        = the 33-byte header ‖ caller's aad
 * ```
 *
 * @module
 */
import { concatBytes, uintBE, utf8, ValidationError } from '@cloister/crypto';
import { MAX_VALUE_BYTES } from '../adapter.js';

/**
 * The format version, the first byte of every shredded ciphertext (1).
 *
 * @example
 * ```ts
 * const sealed = await keyring.seal(bytes, { expiresAt: Date.now() + 86_400_000 });
 * sealed[0] === SHRED_VERSION; // → true
 * ```
 */
export const SHRED_VERSION = 1;
/**
 * The HKDF info prefix of the per-record key (`cloister/storage/v1/shred`).
 *
 * @example
 * ```ts
 * console.log(SHRED_LABEL); // 'cloister/storage/v1/shred'
 * ```
 */
export const SHRED_LABEL = 'cloister/storage/v1/shred';
/**
 * Length of the random per-record HKDF salt, in bytes (24).
 *
 * @example
 * ```ts
 * const salt = bytes.subarray(1 + 8, 1 + 8 + SHRED_SALT_LENGTH); // of a sealed ciphertext `bytes`
 * ```
 */
export const SHRED_SALT_LENGTH = 24;
/**
 * Length of the header, in bytes (33): version, period end, salt.
 *
 * @example
 * ```ts
 * const body = bytes.subarray(SHRED_HEADER_LENGTH); // AES-256-GCM ciphertext and tag
 * ```
 */
export const SHRED_HEADER_LENGTH = 1 + 8 + SHRED_SALT_LENGTH;
/**
 * Bytes a ciphertext adds to its plaintext (49): the header and the 16-byte GCM tag.
 *
 * @example
 * ```ts
 * const sealedLength = bytes.length + SHRED_OVERHEAD; // length of `keyring.seal(bytes, …)`
 * ```
 */
export const SHRED_OVERHEAD = SHRED_HEADER_LENGTH + 16;
/**
 * Largest plaintext one seal takes, in bytes, so that the ciphertext fits in one row
 * ({@link MAX_VALUE_BYTES} minus {@link SHRED_OVERHEAD}).
 *
 * @example
 * ```ts
 * if (bytes.length > MAX_SHRED_PLAINTEXT_BYTES) throw new RangeError('split the file before sealing it');
 * ```
 */
export const MAX_SHRED_PLAINTEXT_BYTES = MAX_VALUE_BYTES - SHRED_OVERHEAD;
/**
 * Largest caller-supplied associated data, in bytes (64 KiB).
 *
 * @example
 * ```ts
 * import { utf8 } from '@cloister/crypto';
 * const aad = utf8('tenant:acme/blob-7f3a');
 * if (aad.length > MAX_SHRED_AAD_BYTES) throw new RangeError('aad too long');
 * ```
 */
export const MAX_SHRED_AAD_BYTES = 64 * 1024;

/** Length of a period key and of its stored row value (a version byte, then the key). */
export const PERIOD_KEY_LENGTH = 32;

const LABEL_BYTES = utf8(SHRED_LABEL);

/**
 * The end of the period data expiring at `expiresAt` is sealed in: the first multiple of
 * `periodMs` at or after `expiresAt`. Throws `ValidationError` when `expiresAt` is not a positive
 * safe integer, `periodMs` not a positive safe integer, or the end not a safe integer.
 *
 * @example
 * ```ts
 * shredPeriodEnd(86_400_000, 86_400_000); // 86_400_000 (exactly at an end: that period)
 * shredPeriodEnd(86_400_001, 86_400_000); // 172_800_000 (just after: the next one)
 * ```
 */
export function shredPeriodEnd(expiresAt: number, periodMs: number): number {
  if (typeof periodMs !== 'number' || !Number.isSafeInteger(periodMs) || periodMs < 1) {
    throw new ValidationError('periodMs', 'a positive safe integer of milliseconds');
  }
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt < 1) {
    throw new ValidationError('expiresAt', 'a positive safe integer (ms since the epoch)');
  }
  const end = Math.ceil(expiresAt / periodMs) * periodMs;
  if (!Number.isSafeInteger(end)) {
    throw new ValidationError('expiresAt', 'a time whose period ends within the safe integer range');
  }
  return end;
}

/** The 33-byte header. */
export function encodeHeader(periodEnd: number, salt: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(SHRED_VERSION), uintBE(periodEnd, 8), salt);
}

/**
 * Reads the period end of a ciphertext's header, or `undefined` when the ciphertext is too
 * short, of another version, or names an end outside 1..2^53-1.
 */
export function readPeriodEnd(ciphertext: Uint8Array): number | undefined {
  if (ciphertext.length < SHRED_OVERHEAD || ciphertext[0] !== SHRED_VERSION) return undefined;
  const view = new DataView(ciphertext.buffer, ciphertext.byteOffset + 1, 8);
  const end = view.getBigUint64(0);
  if (end < 1n || end > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(end);
}

/** The HKDF info of a record: label, version, period end, length-prefixed scope. */
export function recordInfo(periodEnd: number, scope: Uint8Array): Uint8Array {
  return concatBytes(
    LABEL_BYTES,
    Uint8Array.of(SHRED_VERSION),
    uintBE(periodEnd, 8),
    uintBE(scope.length, 2),
    scope,
  );
}
