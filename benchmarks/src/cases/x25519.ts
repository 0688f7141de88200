/**
 * X25519 shared secret from raw 32-byte keys to raw 32-byte output, the way the suites and the
 * ratchet call it. Baseline: `node:crypto` `diffieHellman` on KeyObjects imported from the same
 * raw bytes in every iteration, which any caller holding raw keys must do.
 */
import { diffieHellman } from 'node:crypto';
import { equalBytes } from '@cloister/crypto';
import { type BenchCase, caseName, check, defineCase } from '../harness.js';
import { once, randomInput } from '../inputs.js';
import { PROVIDERS } from '../providers.js';
import { privateKeyObject, publicKeyObject, rawPublicKey } from '../raw-node.js';

const AREA = 'x25519';
const OP = 'shared-secret';
const BASELINE = caseName({ area: AREA, op: OP, impl: 'raw-node' });

const inputs = once(() => {
  const privateKey = randomInput(32);
  const peerPublicKey = rawPublicKey('x25519', randomInput(32));
  const rawNode = () =>
    diffieHellman({
      privateKey: privateKeyObject('x25519', privateKey),
      publicKey: publicKeyObject('x25519', peerPublicKey),
    });
  return { privateKey, peerPublicKey, rawNode, expected: new Uint8Array(rawNode()) };
});

/** The X25519 cases. */
export function x25519Cases(): BenchCase[] {
  return [
    defineCase({
      area: AREA,
      op: OP,
      impl: 'raw-node',
      async prepare() {
        const { rawNode, expected } = inputs();
        check(equalBytes(rawNode(), expected), 'raw-node shared secret');
        return { kind: 'sync', fn: rawNode };
      },
    }),
    ...PROVIDERS.map((p) =>
      defineCase({
        area: AREA,
        op: OP,
        impl: p.id,
        baseline: BASELINE,
        ...(p.id === 'node' ? { target: { baseline: BASELINE, minRatio: 0.9 } } : {}),
        async prepare() {
          const provider = await p.load();
          const { privateKey, peerPublicKey, expected } = inputs();
          // A fresh copy each call: the node provider keeps an imported key per array object, and
          // the baseline imports on every call, so reusing one array would compare unlike work.
          const fn = () => provider.x25519.sharedSecret(privateKey.slice(), peerPublicKey);
          check(equalBytes(await fn(), expected), `${p.id} shared secret equals node:crypto's`);
          return { kind: 'async', fn };
        },
      }),
    ),
  ];
}
