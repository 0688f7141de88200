/**
 * scrypt at the PIN default cost (N = 2^17, r = 8, p = 1, 32-byte output; 128 MiB of memory per
 * call): the price of unlocking the local store with a PIN. Baseline: `node:crypto` `scrypt`.
 * WebCrypto has no scrypt (that provider falls back to noble), so it has no case here.
 */
import { scrypt } from 'node:crypto';
import { equalBytes, utf8 } from '@cloister/crypto';
import { type BenchCase, caseName, check, defineCase } from '../harness.js';
import { once, randomInput } from '../inputs.js';
import { PROVIDERS_WITHOUT_WEBCRYPTO } from '../providers.js';

const AREA = 'scrypt';
const OP = 'derive';
/** The size slot of the name holds the cost: the PIN default. */
const COST = 'pin-cost';
const PARAMS = { N: 2 ** 17, r: 8, p: 1, dkLen: 32 } as const;
const BASELINE = caseName({ area: AREA, op: OP, size: COST, impl: 'raw-node' });

const inputs = once(() => {
  const password = utf8('482916');
  const salt = randomInput(32);
  const rawNode = () =>
    new Promise<Uint8Array>((resolve, reject) => {
      const { N, r, p, dkLen } = PARAMS;
      scrypt(password, salt, dkLen, { N, r, p, maxmem: 2 * 128 * N * r }, (err, key) =>
        err ? reject(err) : resolve(key),
      );
    });
  return { password, salt, rawNode, expected: rawNode() };
});

/** The scrypt cases. */
export function scryptCases(): BenchCase[] {
  const common = { area: AREA, op: OP, size: COST, tier: 'huge' } as const;
  return [
    defineCase({
      ...common,
      impl: 'raw-node',
      async prepare() {
        const { rawNode } = inputs();
        check((await rawNode()).length === PARAMS.dkLen, 'raw-node output length');
        return { kind: 'async', fn: rawNode };
      },
    }),
    ...PROVIDERS_WITHOUT_WEBCRYPTO.map((p) =>
      defineCase({
        ...common,
        impl: p.id,
        baseline: BASELINE,
        async prepare() {
          const provider = await p.load();
          const { password, salt, expected } = inputs();
          const fn = () => provider.scrypt(password, salt, PARAMS);
          check(equalBytes(await fn(), await expected), `${p.id} output equals node:crypto's`);
          return { kind: 'async', fn };
        },
      }),
    ),
  ];
}
