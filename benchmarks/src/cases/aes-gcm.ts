/**
 * AES-256-GCM encryption and decryption (empty associated data, 16-byte tag) of 64 B to 16 MiB.
 * Baseline: `node:crypto` `createCipheriv`/`createDecipheriv` on the same buffers, returning one
 * `ciphertext || tag` buffer as every AEAD API (and every wire format) needs it.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { equalBytes } from '@cloister/crypto';
import { type BenchCase, caseName, check, defineCase } from '../harness.js';
import { nextNonce, once, PAYLOAD_SIZES, type PayloadSize, randomInput, TARGET_SIZE } from '../inputs.js';
import { PROVIDERS } from '../providers.js';

const AREA = 'aes-256-gcm';
const ALGORITHM = 'aes-256-gcm';
const TAG_BYTES = 16;
/** Native providers should keep at least this share of raw `node:crypto` throughput at 1 MiB. */
const MIN_RATIO = 0.9;

const key = once(() => randomInput(32));

/** Decrypts with raw `node:crypto`; throws if the tag is wrong. */
function rawOpen(nonce: Uint8Array, sealed: Uint8Array): Uint8Array {
  const split = sealed.length - TAG_BYTES;
  const d = createDecipheriv(ALGORITHM, key(), nonce, { authTagLength: TAG_BYTES });
  d.setAuthTag(sealed.subarray(split));
  const body = d.update(sealed.subarray(0, split));
  d.final();
  return body;
}

/** Per size: a plaintext, and a nonce and `ciphertext || tag` the decrypt cases open. */
function sizeInputs(size: PayloadSize) {
  return once(() => {
    const plaintext = randomInput(size.bytes);
    const nonce = randomInput(12);
    const c = createCipheriv(ALGORITHM, key(), nonce, { authTagLength: TAG_BYTES });
    const body = c.update(plaintext);
    c.final();
    const sealed = new Uint8Array(Buffer.concat([body, c.getAuthTag()]));
    return { plaintext, nonce, sealed };
  });
}

function casesForSize(size: PayloadSize): BenchCase[] {
  const inputs = sizeInputs(size);
  const common = { area: AREA, size: size.label, bytes: size.bytes, tier: size.tier } as const;
  const baseline = (op: string) => caseName({ area: AREA, op, size: size.label, impl: 'raw-node' });
  const target = (op: string, nativeNode: boolean) =>
    nativeNode && size.label === TARGET_SIZE
      ? { target: { baseline: baseline(op), minRatio: MIN_RATIO } }
      : {};
  const encrypt: BenchCase[] = [
    defineCase({
      ...common,
      op: 'encrypt',
      impl: 'raw-node',
      async prepare() {
        const { plaintext } = inputs();
        const nonce = randomInput(12);
        const fn = () => {
          const c = createCipheriv(ALGORITHM, key(), nextNonce(nonce), { authTagLength: TAG_BYTES });
          const body = c.update(plaintext);
          const final = c.final();
          return Buffer.concat([body, final, c.getAuthTag()]);
        };
        check(equalBytes(rawOpen(nonce, fn()), plaintext), 'raw-node round trip');
        return { kind: 'sync', fn };
      },
    }),
    ...PROVIDERS.map((p) =>
      defineCase({
        ...common,
        op: 'encrypt',
        impl: p.id,
        baseline: baseline('encrypt'),
        ...target('encrypt', p.id === 'node'),
        async prepare() {
          const provider = await p.load();
          const { plaintext } = inputs();
          const nonce = randomInput(12);
          const fn = () => provider.aes256gcm.encrypt(key(), nextNonce(nonce), plaintext);
          check(
            equalBytes(rawOpen(nonce, await fn()), plaintext),
            `${p.id} ciphertext opens with node:crypto`,
          );
          return { kind: 'async', fn };
        },
      }),
    ),
  ];
  const decrypt: BenchCase[] = [
    defineCase({
      ...common,
      op: 'decrypt',
      impl: 'raw-node',
      async prepare() {
        const { plaintext, nonce, sealed } = inputs();
        const fn = () => rawOpen(nonce, sealed);
        check(equalBytes(fn(), plaintext), 'raw-node decrypts');
        return { kind: 'sync', fn };
      },
    }),
    ...PROVIDERS.map((p) =>
      defineCase({
        ...common,
        op: 'decrypt',
        impl: p.id,
        baseline: baseline('decrypt'),
        ...target('decrypt', p.id === 'node'),
        async prepare() {
          const provider = await p.load();
          const { plaintext, nonce, sealed } = inputs();
          const fn = () => provider.aes256gcm.decrypt(key(), nonce, sealed);
          check(equalBytes(await fn(), plaintext), `${p.id} decrypts node:crypto's ciphertext`);
          return { kind: 'async', fn };
        },
      }),
    ),
  ];
  return [...encrypt, ...decrypt];
}

/** The AES-256-GCM cases, by size. */
export function aesGcmCases(): BenchCase[] {
  return PAYLOAD_SIZES.flatMap(casesForSize);
}
