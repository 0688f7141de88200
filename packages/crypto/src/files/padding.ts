/**
 * Size hiding (R05): Padmé lengths (Nikitin et al., "Reducing Metadata Leakage from Encrypted
 * Files and Communication with PURBs", PETS 2019) and an unambiguous padding for messages
 * (ISO/IEC 7816-4: one 0x80 byte, then zeros). Rules: `spec/files.md` §5.
 *
 * Padmé rounds a length L >= 2 with E = floor(log2 L) and S = floor(log2 E) + 1 up to a multiple of
 * 2^(E - S): the low E - S bits are zeroed, so a padded length leaks O(log log L) bits and costs
 * at most about 1/(2·log2 L) extra (under 12% for every L).
 *
 * @module
 */
import { checkBytes, checkInt } from '../bytes.js';
import { DecodeError } from '../errors.js';

/**
 * Largest length {@link padmeLength} accepts (2^52, so every step stays exact in a double).
 *
 * @example
 * ```ts
 * const n = Math.min(bytes.length, PADME_MAX_LENGTH);
 * const padded = padmeLength(n);
 * ```
 */
export const PADME_MAX_LENGTH = 2 ** 52;

/**
 * The Padmé length of `n`: the smallest length >= `n` whose low E - S bits are zero. Lengths 0
 * to 7 map to themselves.
 *
 * @example
 * ```ts
 * padmeLength(1000); // 1024
 * padmeLength(9);    // 10
 * ```
 */
export function padmeLength(n: number): number {
  checkInt(n, 'n', 0, PADME_MAX_LENGTH);
  if (n < 2) return n;
  const e = Math.floor(Math.log2(n));
  const s = Math.floor(Math.log2(e)) + 1;
  const step = 2 ** (e - s);
  return Math.ceil(n / step) * step;
}

/**
 * Pads `bytes` to `padmeLength(bytes.length + 1)`: the input, one 0x80 byte, then zeros. Every
 * input whose `length + 1` has the same Padmé length gets the same padded length.
 *
 * @example
 * ```ts
 * const padded = padToBucket(utf8('hello')); // 6 bytes: "hello", 0x80; then encrypt `padded`
 * ```
 */
export function padToBucket(bytes: Uint8Array): Uint8Array {
  checkBytes(bytes, 'bytes');
  const out = new Uint8Array(padmeLength(bytes.length + 1));
  out.set(bytes, 0);
  out[bytes.length] = 0x80;
  return out;
}

/**
 * Removes the padding added by {@link padToBucket}. The scan for the 0x80 marker reads every byte
 * and branches on none, so its time depends only on the padded length. Throws `DecodeError`
 * (`ERR_DECODE`) when there is no marker or the padded length is not the Padmé length of the
 * content: call it only on authenticated plaintext, never on bytes an attacker can submit
 * unauthenticated.
 *
 * @example
 * ```ts
 * const nonce = provider.randomBytes(12);
 * const sealed = await provider.aes256gcm.encrypt(fileKey, nonce, padToBucket(utf8('hello')));
 * const plaintext = unpad(await provider.aes256gcm.decrypt(fileKey, nonce, sealed)); // "hello"
 * ```
 */
export function unpad(padded: Uint8Array): Uint8Array {
  checkBytes(padded, 'padded');
  let position = -1;
  let seenNonZero = 0;
  for (let i = padded.length - 1; i >= 0; i--) {
    const b = padded[i]!;
    const isZero = ((b - 1) >>> 8) & 1;
    const isMarker = (((b ^ 0x80) - 1) >>> 8) & 1;
    const take = isMarker & (seenNonZero ^ 1);
    position ^= (position ^ i) & -take;
    seenNonZero |= isZero ^ 1;
  }
  if (position < 0 || padmeLength(position + 1) !== padded.length) {
    throw new DecodeError('padded', 'not a padded message');
  }
  return padded.slice(0, position);
}
