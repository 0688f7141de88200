/**
 * Strictness pre-checks for Ed25519 verification, shared by every provider so that all of them
 * accept exactly the same signatures: S < L, R and A canonically encoded (y < p), and neither R
 * nor A a point of small order in any encoding. The eight small-order points are listed by their
 * canonical encodings and compared on y alone (the sign bit masked), which also catches the two
 * "negative zero" encodings (x = 0 with the sign bit set: y = 1 and y = p - 1) that RFC 8032
 * decoding refuses but some implementations decode as the small-order point; a non-canonical
 * encoding (y >= p) is rejected by the y < p check. A test derives the list independently.
 */
import { fromHex } from '../bytes.js';

/** Little-endian bytes of L = 2^252 + 27742317777372353535851937790883648493 and p = 2^255 - 19. */
const L_BYTES = leBytes((1n << 252n) + 27742317777372353535851937790883648493n);
const P_BYTES = leBytes((1n << 255n) - 19n);

function leBytes(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

/**
 * `a < b` for 32-byte little-endian numbers, `a` with its top bit masked off when `maskTop`.
 * Byte comparison from the most significant end: these are public values (no need for constant
 * time), and it avoids BigInt arithmetic on every verification.
 */
function lessThan(a: Uint8Array, b: Uint8Array, maskTop: boolean): boolean {
  for (let i = 31; i >= 0; i--) {
    const x = i === 31 && maskTop ? a[i]! & 0x7f : a[i]!;
    const y = b[i]!;
    if (x !== y) return x < y;
  }
  return false;
}

/** Canonical encodings of the eight points of small order (orders 1, 2, 4, 4, 8, 8, 8, 8). */
export const SMALL_ORDER_ENCODINGS: readonly string[] = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
];
const SMALL_ORDER = SMALL_ORDER_ENCODINGS.map((h) => fromHex(h));

/** y (the encoding without its sign bit) is below p. */
export function isCanonicalPointEncoding(bytes: Uint8Array): boolean {
  return lessThan(bytes, P_BYTES, true);
}

/** Equal on y: every byte, the last one with its sign bit masked off. */
function equalY(a: Uint8Array, b: Uint8Array): boolean {
  let d = 0;
  for (let i = 0; i < 31; i++) d |= a[i]! ^ b[i]!;
  d |= (a[31]! ^ b[31]!) & 0x7f;
  return d === 0;
}

/**
 * Whether a 32-byte encoding decodes, in any implementation, to a point of small order: its y is
 * the y of one of the eight small-order points, whatever its sign bit.
 */
export function isSmallOrderEncoding(bytes: Uint8Array): boolean {
  let found = false;
  for (const s of SMALL_ORDER) found = equalY(bytes, s) || found;
  return found;
}

/** The checks RFC 8032 verification leaves to the implementation, made strict. Public data only. */
export function passesStrictChecks(publicKey: Uint8Array, signature: Uint8Array): boolean {
  if (!isCanonicalPointEncoding(publicKey) || isSmallOrderEncoding(publicKey)) return false;
  const r = signature.subarray(0, 32);
  if (!isCanonicalPointEncoding(r) || isSmallOrderEncoding(r)) return false;
  return lessThan(signature.subarray(32, 64), L_BYTES, false);
}
