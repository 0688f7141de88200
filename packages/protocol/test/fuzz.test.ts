/**
 * Fuzzing every decoder with mutated valid encodings and with random bytes. A decoder must either
 * return a valid domain object (one that its encoder accepts and that survives a round trip) or
 * throw DecodeError naming a path under its root: never another error, never undefined.
 */
import { DecodeError } from '@cloister/crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CODECS, type Codec, plain } from './arbitraries.js';

type Mutation =
  | { readonly op: 'set'; readonly at: number; readonly byte: number }
  | { readonly op: 'flip'; readonly at: number; readonly bit: number }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: 'delete'; readonly at: number; readonly count: number }
  | { readonly op: 'truncate'; readonly at: number };

const position = fc.nat({ max: 0xffff });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: position, byte: fc.nat({ max: 255 }) }),
  fc.record({ op: fc.constant('flip' as const), at: position, bit: fc.nat({ max: 7 }) }),
  fc.record({
    op: fc.constant('insert' as const),
    at: position,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }),
  }),
  fc.record({ op: fc.constant('delete' as const), at: position, count: fc.integer({ min: 1, max: 6 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: position }),
);

function mutate(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = Uint8Array.from(input);
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + (m.op === 'insert' ? 1 : 0));
    switch (m.op) {
      case 'set':
        if (out.length > 0) out[at] = m.byte;
        break;
      case 'flip':
        if (out.length > 0) out[at]! ^= 1 << m.bit;
        break;
      case 'insert':
        out = Uint8Array.from([...out.subarray(0, at), ...m.bytes, ...out.subarray(at)]);
        break;
      case 'delete':
        out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + m.count)]);
        break;
      case 'truncate':
        out = out.slice(0, at);
        break;
    }
  }
  return out;
}

/** The property every decoder must have on arbitrary input. */
function decodesOrThrowsDecodeError(codec: Codec, bytes: Uint8Array): void {
  let decoded: unknown;
  try {
    decoded = codec.decode(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    const err = e as DecodeError;
    expect(err.code).toBe('ERR_DECODE');
    expect(err.path === codec.root || err.path.startsWith(`${codec.root}.`)).toBe(true);
    return;
  }
  expect(decoded).toBeTypeOf('object');
  // Valid: the encoder (which enforces every rule with ValidationError) accepts it, and it
  // survives a round trip unchanged.
  const again = codec.encode(decoded as never);
  expect(plain(codec.decode(again))).toEqual(plain(decoded));
}

describe.each(CODECS.map((c) => [c.name, c] as const))('fuzz %s', (_name, codec) => {
  it('mutated valid encodings: a valid object or DecodeError', () => {
    fc.assert(
      fc.property(codec.arbitrary, fc.array(mutation, { minLength: 1, maxLength: 4 }), (value, mutations) => {
        decodesOrThrowsDecodeError(codec, mutate(codec.encode(value as never), mutations));
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes: a valid object or DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        decodesOrThrowsDecodeError(codec, bytes);
      }),
      { numRuns: 200 },
    );
  });
});
