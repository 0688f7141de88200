/**
 * Ed25519 signatures that every Cloister provider must refuse although a lenient verifier accepts
 * them (`test-vectors/ed25519-strict.json`, rules in spec/providers.md "Ed25519"): small-order
 * public keys and R values in every encoding, the "negative zero" encodings (x = 0 with the sign
 * bit set), non-canonical encodings, S >= L, and an R with a small-order component. One honest
 * signature is the control. The signer's key is derived from the fixed seed
 * `SHA-512(ASCII("cloister/test-vectors/ed25519-strict/key"))[0..32]`; every other value is
 * computed from it with the curve arithmetic of `@noble/curves`. `lenient` says which verifier
 * equation the forgery satisfies: `cofactorless` ([S]B = R + [k]A), `cofactored`
 * ([8][S]B = [8]R + [8][k]A) or `decoding` (holds only if A or R decodes as an implementation
 * lenient about encodings would decode it).
 */

import { concatBytes, toHex, utf8 } from '@cloister/crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';

const { Point } = ed25519;
const L = Point.Fn.ORDER;
const P = (1n << 255n) - 19n;

/** Canonical encodings of the eight small-order points (orders 1, 2, 4, 4, 8, 8, 8, 8). */
const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
];

function le(n: bigint, length = 32): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function fromLe(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function hex(h: string): Uint8Array {
  return Uint8Array.from(Buffer.from(h, 'hex'));
}

function withSign(bytes: Uint8Array, sign: number): Uint8Array {
  const out = bytes.slice();
  out[31] = (out[31]! & 0x7f) | sign;
  return out;
}

/** k = SHA-512(R ‖ A ‖ M) mod L. */
function challenge(r: Uint8Array, a: Uint8Array, m: Uint8Array): bigint {
  return fromLe(sha512(concatBytes(r, a, m))) % L;
}

interface Case {
  readonly name: string;
  readonly publicKey: string;
  readonly message: string;
  readonly signature: string;
  readonly valid: boolean;
  readonly lenient: 'none' | 'cofactorless' | 'cofactored' | 'decoding';
}

export async function generateEd25519StrictVectors() {
  const seed = sha512(utf8('cloister/test-vectors/ed25519-strict/key')).slice(0, 32);
  const { scalar: a, pointBytes: A } = ed25519.utils.getExtendedPublicKey(seed);
  const message = utf8('cloister/test-vectors/ed25519-strict/message');
  const cases: Case[] = [];
  const add = (
    c: Omit<Case, 'publicKey' | 'message' | 'signature'> & {
      publicKey: Uint8Array;
      message: Uint8Array;
      signature: Uint8Array;
    },
  ) =>
    cases.push({
      ...c,
      publicKey: toHex(c.publicKey),
      message: toHex(c.message),
      signature: toHex(c.signature),
    });
  /** The S that makes R = [r]B + T (T small-order or O) satisfy the chosen equation under A. */
  const sFor = (r: bigint, R: Uint8Array, m: Uint8Array) => le((r + challenge(R, A, m) * a) % L);

  add({
    name: 'honest signature (control)',
    publicKey: A,
    message,
    signature: ed25519.sign(message, seed),
    valid: true,
    lenient: 'none',
  });

  // Public key "negative zero": the identity (y = 1) and the order-2 point (y = p - 1) with the
  // sign bit set; R = [7]B, S = 7. A lenient decoder reads the identity: [7]B = [7]B + [k]O.
  const sevenB = Point.BASE.multiply(7n).toBytes();
  const sigSeven = concatBytes(sevenB, le(7n));
  add({
    name: 'A = identity, negative zero; R = [7]B, S = 7',
    publicKey: hex(`01${'00'.repeat(30)}80`),
    message,
    signature: sigSeven,
    valid: false,
    lenient: 'decoding',
  });
  let even = message;
  for (let i = 0; challenge(sevenB, hex(`ec${'ff'.repeat(31)}`), even) % 2n !== 0n; i++)
    even = utf8(`even challenge ${i}`);
  add({
    name: 'A = order-2 point, negative zero; R = [7]B, S = 7; k even',
    publicKey: hex(`ec${'ff'.repeat(31)}`),
    message: even,
    signature: sigSeven,
    valid: false,
    lenient: 'decoding',
  });

  // Every small-order A (canonical), R = O, S = 0, a message whose k is a multiple of 8.
  for (const [i, enc] of SMALL_ORDER.entries()) {
    const smallA = hex(enc);
    const R = Point.ZERO.toBytes();
    let m = message;
    for (let j = 0; challenge(R, smallA, m) % 8n !== 0n; j++) m = utf8(`k = 0 mod 8, ${j}`);
    add({
      name: `A = small-order point ${i}; R = O, S = 0`,
      publicKey: smallA,
      message: m,
      signature: concatBytes(R, le(0n)),
      valid: false,
      lenient: 'cofactorless',
    });
  }

  // Every small-order R (canonical), S = k * a: the cofactored equation holds, and for R = O the
  // cofactorless one too. Then the two negative-zero encodings (x = 0, sign bit set) as R.
  for (const [i, enc] of SMALL_ORDER.entries()) {
    const R = hex(enc);
    add({
      name: `R = small-order point ${i}; S = k * a`,
      publicKey: A,
      message,
      signature: concatBytes(R, sFor(0n, R, message)),
      valid: false,
      lenient: i === 0 ? 'cofactorless' : 'cofactored',
    });
  }
  for (const [i, name] of [
    [0, 'identity'],
    [1, 'order-2 point'],
  ] as const) {
    const R = withSign(hex(SMALL_ORDER[i]!), 0x80);
    add({
      name: `R = ${name}, negative zero; S = k * a`,
      publicKey: A,
      message,
      signature: concatBytes(R, sFor(0n, R, message)),
      valid: false,
      lenient: 'decoding',
    });
  }

  // Non-canonical R: the identity written with y = p + 1.
  const nonCanonicalR = le(P + 1n);
  add({
    name: 'R = identity with y = p + 1 (non-canonical); S = k * a',
    publicKey: A,
    message,
    signature: concatBytes(nonCanonicalR, sFor(0n, nonCanonicalR, message)),
    valid: false,
    lenient: 'decoding',
  });

  // S + L for the honest signature.
  const honest = ed25519.sign(message, seed);
  add({
    name: 'S + L',
    publicKey: A,
    message,
    signature: concatBytes(honest.subarray(0, 32), le(fromLe(honest.subarray(32)) + L)),
    valid: false,
    lenient: 'cofactorless',
  });

  // R with a small-order component: R = [r]B + T8, S = r + k * a.
  const r = 987654321n;
  const mixedR = Point.BASE.multiply(r).add(Point.fromHex(SMALL_ORDER[4]!)).toBytes();
  add({
    name: 'R = [r]B + T (order 8); S = r + k * a',
    publicKey: A,
    message,
    signature: concatBytes(mixedR, sFor(r, mixedR, message)),
    valid: false,
    lenient: 'cofactored',
  });

  return {
    source: {
      generator: 'scripts/vectors/ed25519-strict.ts',
      note: 'computed from a fixed seed with the curve arithmetic of @noble/curves; do not edit by hand',
    },
    spec: 'spec/providers.md, Ed25519',
    description:
      'Ed25519 signatures every Cloister provider refuses (valid: false) although a lenient verifier accepts them; see spec/providers.md "Ed25519". lenient: the equation the forgery satisfies (cofactorless, cofactored) or decoding (only under lenient point decoding).',
    seed: toHex(seed),
    cases,
  };
}

export default { file: 'ed25519-strict.json', generate: generateEd25519StrictVectors };
