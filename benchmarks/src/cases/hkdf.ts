/**
 * HKDF-SHA256 (extract and expand) of a 32-byte input key to 64 bytes of output, with a 32-byte
 * salt and a label as info: the shape of every key derivation in the suites. Baseline:
 * `node:crypto` `hkdfSync`.
 */
import { hkdfSync } from 'node:crypto';
import { equalBytes, utf8 } from '@cloister/crypto';
import { type BenchCase, caseName, check, defineCase } from '../harness.js';
import { once, randomInput } from '../inputs.js';
import { PROVIDERS } from '../providers.js';

const AREA = 'hkdf-sha256';
const OP = 'derive';
const OUTPUT_BYTES = 64;
const BASELINE = caseName({ area: AREA, op: OP, impl: 'raw-node' });

const inputs = once(() => {
  const ikm = randomInput(32);
  const salt = randomInput(32);
  const info = utf8('cloister/bench/hkdf');
  const rawNode = () => hkdfSync('sha256', ikm, salt, info, OUTPUT_BYTES);
  return { ikm, salt, info, rawNode, expected: new Uint8Array(rawNode()) };
});

/** The HKDF-SHA256 cases. */
export function hkdfCases(): BenchCase[] {
  return [
    defineCase({
      area: AREA,
      op: OP,
      impl: 'raw-node',
      async prepare() {
        const { rawNode, expected } = inputs();
        check(equalBytes(new Uint8Array(rawNode()), expected), 'raw-node output is deterministic');
        return { kind: 'sync', fn: rawNode };
      },
    }),
    ...PROVIDERS.map((p) =>
      defineCase({
        area: AREA,
        op: OP,
        impl: p.id,
        baseline: BASELINE,
        async prepare() {
          const provider = await p.load();
          const { ikm, salt, info, expected } = inputs();
          const fn = () => provider.hkdfSha256(ikm, salt, info, OUTPUT_BYTES);
          check(equalBytes(await fn(), expected), `${p.id} output equals node:crypto's`);
          return { kind: 'async', fn };
        },
      }),
    ),
  ];
}
