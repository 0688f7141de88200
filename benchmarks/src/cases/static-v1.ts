/**
 * Suite static-v1 (the product sheet's construction) encrypting and decrypting 64 B to 16 MiB
 * between two static X25519 key pairs: key agreement, HKDF, AES-256-CBC and HMAC-SHA256 on
 * every message. Baseline: raw `node:crypto` AES-256-CBC and HMAC-SHA256 over iv || ciphertext
 * with fixed keys and no key agreement (encrypt: fresh IV, encrypt, MAC; decrypt: MAC, compare
 * with `timingSafeEqual`, decrypt), so the ratio shows what the key schedule, the checks and the
 * framing cost on top of the two ciphers.
 */
import { createCipheriv, createDecipheriv, createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import { equalBytes, type KeyPair } from '@cloister/crypto';
import { staticV1Decrypt, staticV1Encrypt } from '../../../packages/crypto/src/suites/static-v1.js';
import { type BenchCase, caseName, check, defineCase } from '../harness.js';
import { once, PAYLOAD_SIZES, type PayloadSize, randomInput, TARGET_SIZE } from '../inputs.js';
import { PROVIDERS } from '../providers.js';
import { rawPublicKey } from '../raw-node.js';

const AREA = 'static-v1';
/** The native provider should keep at least this share of the raw ciphers' throughput at 1 MiB. */
const MIN_RATIO = 0.8;

function keyPair(): KeyPair {
  const privateKey = randomInput(32);
  return { privateKey, publicKey: rawPublicKey('x25519', privateKey) };
}

const nodeProvider = PROVIDERS.find((p) => p.id === 'node')!;
const parties = once(() => ({ sender: keyPair(), recipient: keyPair() }));
const rawKeys = once(() => ({ encKey: randomInput(32), macKey: randomInput(32) }));

interface RawSealed {
  readonly iv: Uint8Array;
  readonly ciphertext: readonly Buffer[];
  readonly mac: Buffer;
}

function rawSeal(plaintext: Uint8Array): RawSealed {
  const { encKey, macKey } = rawKeys();
  const iv = randomFillSync(new Uint8Array(16));
  const c = createCipheriv('aes-256-cbc', encKey, iv);
  const ciphertext = [c.update(plaintext), c.final()];
  const h = createHmac('sha256', macKey).update(iv);
  for (const part of ciphertext) h.update(part);
  return { iv, ciphertext, mac: h.digest() };
}

function rawOpen(iv: Uint8Array, ciphertext: Uint8Array, mac: Uint8Array): readonly Buffer[] {
  const { encKey, macKey } = rawKeys();
  const expected = createHmac('sha256', macKey).update(iv).update(ciphertext).digest();
  if (!timingSafeEqual(expected, mac)) throw new Error('MAC mismatch');
  const d = createDecipheriv('aes-256-cbc', encKey, iv);
  return [d.update(ciphertext), d.final()];
}

/**
 * Per size: a plaintext, a raw iv/ciphertext/mac of it, and a static-v1 message of it sealed by
 * the node provider, which every provider's decrypt case opens.
 */
function sizeInputs(size: PayloadSize) {
  const plain = once(() => randomInput(size.bytes));
  const raw = once(() => {
    const sealed = rawSeal(plain());
    return { iv: sealed.iv, ciphertext: new Uint8Array(Buffer.concat(sealed.ciphertext)), mac: sealed.mac };
  });
  const message = once(async () => {
    const { sender, recipient } = parties();
    const node = await nodeProvider.load();
    return staticV1Encrypt(node, { sender, recipientPublicKey: recipient.publicKey, plaintext: plain() });
  });
  return { plaintext: plain, raw, message };
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
        const plaintext = inputs.plaintext();
        const fn = () => rawSeal(plaintext);
        const { iv, ciphertext, mac } = fn();
        check(
          equalBytes(Buffer.concat(rawOpen(iv, Buffer.concat(ciphertext), mac)), plaintext),
          'raw round trip',
        );
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
          const plaintext = inputs.plaintext();
          const { sender, recipient } = parties();
          const fn = () =>
            staticV1Encrypt(provider, { sender, recipientPublicKey: recipient.publicKey, plaintext });
          const message = await fn();
          const opened = await staticV1Decrypt(provider, {
            recipient,
            senderPublicKey: sender.publicKey,
            message,
          });
          check(equalBytes(opened, plaintext), `${p.id} round trip`);
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
        const plaintext = inputs.plaintext();
        const raw = inputs.raw();
        const fn = () => rawOpen(raw.iv, raw.ciphertext, raw.mac);
        check(equalBytes(Buffer.concat(fn()), plaintext), 'raw-node decrypts');
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
          const plaintext = inputs.plaintext();
          const message = await inputs.message();
          const { sender, recipient } = parties();
          const fn = () =>
            staticV1Decrypt(provider, { recipient, senderPublicKey: sender.publicKey, message });
          check(equalBytes(await fn(), plaintext), `${p.id} decrypts`);
          return { kind: 'async', fn };
        },
      }),
    ),
  ];
  return [...encrypt, ...decrypt];
}

/** The static-v1 cases, by size. */
export function staticV1Cases(): BenchCase[] {
  return PAYLOAD_SIZES.flatMap(casesForSize);
}
