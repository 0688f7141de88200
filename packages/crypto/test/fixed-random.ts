import type { RandomSource } from '../src/index.js';

/**
 * A random source that hands out exactly the given chunks, in order, and throws on any other
 * draw, so a test also checks how much randomness an operation takes.
 */
export function fixedRandom(chunks: readonly Uint8Array[]): RandomSource {
  let next = 0;
  return {
    name: 'fixed',
    fill(out) {
      const chunk = chunks[next++];
      if (chunk === undefined || chunk.length !== out.length) throw new Error('fixedRandom: unexpected draw');
      out.set(chunk);
      return out;
    },
  };
}
