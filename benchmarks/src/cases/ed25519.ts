/**
 * Ed25519 signing and (strict) verification of a 64-byte message with raw 32-byte keys.
 * Baseline: `node:crypto` `sign`/`verify` on KeyObjects imported from the same raw bytes in
 * every iteration.
 */
import { sign, verify } from 'node:crypto';
import { equalBytes } from '@cloister/crypto';
import { type BenchCase, caseName, check, defineCase } from '../harness.js';
import { once, randomInput } from '../inputs.js';
import { PROVIDERS } from '../providers.js';
import { privateKeyObject, publicKeyObject, rawPublicKey } from '../raw-node.js';

const AREA = 'ed25519';
/** Signed message length: the size of a hash or of a small certificate body. */
const MESSAGE_BYTES = 64;

const inputs = once(() => {
  const privateKey = randomInput(32);
  const publicKey = rawPublicKey('ed25519', privateKey);
  const message = randomInput(MESSAGE_BYTES);
  const rawSign = () => sign(null, message, privateKeyObject('ed25519', privateKey));
  const signature = new Uint8Array(rawSign());
  const rawVerify = () => verify(null, message, publicKeyObject('ed25519', publicKey), signature);
  return { privateKey, publicKey, message, signature, rawSign, rawVerify };
});

function signCases(): BenchCase[] {
  const baseline = caseName({ area: AREA, op: 'sign', impl: 'raw-node' });
  return [
    defineCase({
      area: AREA,
      op: 'sign',
      impl: 'raw-node',
      async prepare() {
        const { rawSign, signature } = inputs();
        check(equalBytes(rawSign(), signature), 'raw-node signature is deterministic');
        return { kind: 'sync', fn: rawSign };
      },
    }),
    ...PROVIDERS.map((p) =>
      defineCase({
        area: AREA,
        op: 'sign',
        impl: p.id,
        baseline,
        async prepare() {
          const provider = await p.load();
          const { privateKey, message, signature } = inputs();
          // A fresh copy each call, as in the X25519 case.
          const fn = () => provider.ed25519.sign(privateKey.slice(), message);
          check(equalBytes(await fn(), signature), `${p.id} signature equals node:crypto's`);
          return { kind: 'async', fn };
        },
      }),
    ),
  ];
}

function verifyCases(): BenchCase[] {
  const baseline = caseName({ area: AREA, op: 'verify', impl: 'raw-node' });
  return [
    defineCase({
      area: AREA,
      op: 'verify',
      impl: 'raw-node',
      async prepare() {
        const { rawVerify } = inputs();
        check(rawVerify(), 'raw-node accepts the signature');
        return { kind: 'sync', fn: rawVerify };
      },
    }),
    ...PROVIDERS.map((p) =>
      defineCase({
        area: AREA,
        op: 'verify',
        impl: p.id,
        baseline,
        async prepare() {
          const provider = await p.load();
          const { publicKey, message, signature } = inputs();
          const fn = () => provider.ed25519.verify(publicKey, message, signature);
          check(await fn(), `${p.id} accepts the signature`);
          return { kind: 'async', fn };
        },
      }),
    ),
  ];
}

/** The Ed25519 cases. */
export function ed25519Cases(): BenchCase[] {
  return [...signCases(), ...verifyCases()];
}
