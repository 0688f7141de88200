/**
 * Suite static-v1 (the product sheet's construction) encrypting and decrypting 64 B to 16 MiB
 * between two static X25519 key pairs: key agreement, HKDF, AES-256-CBC and HMAC-SHA256 on
 * every message. Baseline: raw `node:crypto` AES-256-CBC and HMAC-SHA256 over iv || ciphertext
 * with fixed keys and no key agreement (encrypt: fresh IV, encrypt, MAC; decrypt: MAC, compare
 * with `timingSafeEqual`, decrypt), so the ratio shows what the key schedule, the checks and the
 * framing cost on top of the two ciphers.
 *
 * `channel-<provider>` cases use `openStaticV1Channel`, which derives the pair's static keys once
 * (as the baseline's fixed keys are); the target applies to `channel-node`. The per-message cases
 * (`node`, `noble`, ...) pay one X25519, one key-pair check and one HKDF on every message.
 */
import { createCipheriv, createDecipheriv, createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import {
  equalBytes,
  type KeyPair,
  openStaticV1Channel,
  staticV1Decrypt,
  staticV1Encrypt,
} from '@cloister/crypto';
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
  readonly ciphertext: Uint8Array;
  readonly mac: Uint8Array;
  /** `iv | ciphertext | mac` in one buffer, as any wire message must be. */
  readonly message: Buffer;
}

function rawSeal(plaintext: Uint8Array): RawSealed {
  const { encKey, macKey } = rawKeys();
  const iv = randomFillSync(new Uint8Array(16));
  const c = createCipheriv('aes-256-cbc', encKey, iv);
  const body = c.update(plaintext);
  const final = c.final();
  const mac = createHmac('sha256', macKey).update(iv).update(body).update(final).digest();
  const message = Buffer.concat([iv, body, final, mac]);
  return {
    iv: message.subarray(0, 16),
    ciphertext: message.subarray(16, message.length - 32),
    mac: message.subarray(message.length - 32),
    message,
  };
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
    return { iv: sealed.iv, ciphertext: sealed.ciphertext, mac: sealed.mac };
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
  const channelCase = (op: 'encrypt' | 'decrypt', p: (typeof PROVIDERS)[number]) =>
    defineCase({
      ...common,
      op,
      impl: `channel-${p.id}`,
      baseline: baseline(op),
      ...target(op, p.id === 'node'),
      async prepare() {
        const provider = await p.load();
        const plaintext = inputs.plaintext();
        const { sender, recipient } = parties();
        const out = await openStaticV1Channel(provider, { own: sender, peerPublicKey: recipient.publicKey });
        const into = await openStaticV1Channel(provider, { own: recipient, peerPublicKey: sender.publicKey });
        const message = await inputs.message();
        check(equalBytes(await into.decrypt(message), plaintext), `channel-${p.id} decrypts`);
        check(
          equalBytes(await into.decrypt(await out.encrypt(plaintext)), plaintext),
          `channel-${p.id} round trip`,
        );
        const fn = op === 'encrypt' ? () => out.encrypt(plaintext) : () => into.decrypt(message);
        return { kind: 'async', fn };
      },
    });
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
        check(equalBytes(Buffer.concat(rawOpen(iv, ciphertext, mac)), plaintext), 'raw round trip');
        return { kind: 'sync', fn };
      },
    }),
    ...PROVIDERS.map((p) =>
      defineCase({
        ...common,
        op: 'encrypt',
        impl: p.id,
        baseline: baseline('encrypt'),
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
  const channels = PROVIDERS.flatMap((p) => [channelCase('encrypt', p), channelCase('decrypt', p)]);
  return [...encrypt, ...decrypt, ...channels];
}

/** The static-v1 cases, by size. */
export function staticV1Cases(): BenchCase[] {
  return PAYLOAD_SIZES.flatMap(casesForSize);
}
