/**
 * HPKE (spec/hpke.md) under every provider: single-shot and context round trips for each AEAD in
 * modes base and auth, sequence numbers (nonce = base_nonce XOR seq, no advance on failure,
 * refusal at 2^96 - 1), exports, key generation from `provider.random`, every open failure as
 * ERR_DECRYPTION_FAILED (including low-order `enc`), and argument errors naming the field.
 */
import { describe, expect, it } from 'vitest';
import { createRecipientContext, createSenderContext } from '../src/hpke/context.js';
import {
  deriveHpkeKeyPair,
  generateHpkeKeyPair,
  HPKE_SEQ_LIMIT,
  type HpkeAead,
  openHpke,
  sealHpke,
  setupHpkeRecipient,
  setupHpkeSender,
} from '../src/hpke/index.js';
import { type CryptoProvider, concatBytes, type KeyPair, toHex, utf8 } from '../src/index.js';
import { INSECURE_seededRandomForTestsOnly } from '../src/testing.js';
import { PROVIDERS } from './providers.js';
import { hex, rejection } from './vectors-load.js';

const SEALING: HpkeAead[] = ['aes-256-gcm', 'chacha20-poly1305'];
const MODES = ['base', 'auth'] as const;
const b = (n: number) => new Uint8Array(n);
function hostile<T>(value: unknown): T {
  return value as T;
}

/** X25519 public keys of low order (RFC 7748 section 6.1 and the usual lists). */
const LOW_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

function flip(data: Uint8Array, index: number): Uint8Array {
  const out = data.slice();
  out[index % out.length]! ^= 0x01;
  return out;
}

async function parties(provider: CryptoProvider): Promise<{ recipient: KeyPair; sender: KeyPair }> {
  return { recipient: await generateHpkeKeyPair(provider), sender: await generateHpkeKeyPair(provider) };
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('HPKE under %s', (_name, provider) => {
  for (const aead of SEALING) {
    for (const mode of MODES) {
      describe(`${aead} mode ${mode}`, () => {
        const auth = mode === 'auth';

        it('seals and opens single-shot, binding info and aad', async () => {
          const { recipient, sender } = await parties(provider);
          const info = utf8('cloister/test/hpke');
          const plaintext = utf8('a message');
          const aad = utf8('header');
          const sealed = await sealHpke(provider, {
            aead,
            recipientPublicKey: recipient.publicKey,
            info,
            plaintext,
            aad,
            ...(auth ? { senderKeyPair: sender } : {}),
          });
          expect(sealed.enc.length).toBe(32);
          expect(sealed.ciphertext.length).toBe(plaintext.length + 16);
          const base = {
            aead,
            enc: sealed.enc,
            recipientPrivateKey: recipient.privateKey,
            info,
            ciphertext: sealed.ciphertext,
            aad,
            ...(auth ? { senderPublicKey: sender.publicKey } : {}),
          };
          expect(toHex(await openHpke(provider, base))).toBe(toHex(plaintext));

          const other = await generateHpkeKeyPair(provider);
          const failures: [string, Parameters<typeof openHpke>[1]][] = [
            ['altered ciphertext', { ...base, ciphertext: flip(sealed.ciphertext, 3) }],
            ['altered tag', { ...base, ciphertext: flip(sealed.ciphertext, sealed.ciphertext.length - 1) }],
            ['truncated ciphertext', { ...base, ciphertext: sealed.ciphertext.subarray(0, 15) }],
            ['altered enc', { ...base, enc: flip(sealed.enc, 5) }],
            ['other aad', { ...base, aad: utf8('other') }],
            ['no aad', { ...base, aad: b(0) }],
            ['other info', { ...base, info: utf8('other') }],
            ['other recipient key', { ...base, recipientPrivateKey: other.privateKey }],
            ['other AEAD', { ...base, aead: aead === 'aes-256-gcm' ? 'chacha20-poly1305' : 'aes-256-gcm' }],
          ];
          if (auth) {
            failures.push(['other sender key', { ...base, senderPublicKey: other.publicKey }]);
            const { senderPublicKey: _omit, ...baseMode } = base;
            failures.push(['opened in mode base', baseMode]);
          } else {
            failures.push(['opened in mode auth', { ...base, senderPublicKey: sender.publicKey }]);
          }
          for (const lo of LOW_ORDER) {
            failures.push([`low-order enc ${lo.slice(0, 8)}`, { ...base, enc: hex(lo) }]);
            if (auth)
              failures.push([
                `low-order sender key ${lo.slice(0, 8)}`,
                { ...base, senderPublicKey: hex(lo) },
              ]);
          }
          for (const [what, options] of failures) {
            expect((await rejection(() => openHpke(provider, options))).code, what).toBe(
              'ERR_DECRYPTION_FAILED',
            );
          }
        });

        it('seals a sequence through a context; the recipient opens it in order', async () => {
          const { recipient, sender } = await parties(provider);
          const { enc, context } = await setupHpkeSender(provider, {
            aead,
            recipientPublicKey: recipient.publicKey,
            ...(auth ? { senderKeyPair: sender } : {}),
          });
          const messages = ['one', 'two', '', 'four'].map(utf8);
          const cts: Uint8Array[] = [];
          for (const [i, m] of messages.entries()) {
            expect(context.sequenceNumber, `before ${i}`).toBe(BigInt(i));
            cts.push(await context.seal(m, utf8(`aad ${i}`)));
          }
          expect(new Set(cts.map(toHex)).size).toBe(cts.length);
          const rc = await setupHpkeRecipient(provider, {
            aead,
            enc,
            recipientPrivateKey: recipient.privateKey,
            ...(auth ? { senderPublicKey: sender.publicKey } : {}),
          });
          // Out of order: fails and does not advance.
          expect((await rejection(() => rc.open(cts[1]!, utf8('aad 1')))).code).toBe('ERR_DECRYPTION_FAILED');
          expect(rc.sequenceNumber).toBe(0n);
          for (const [i, ct] of cts.entries()) {
            expect(toHex(await rc.open(ct, utf8(`aad ${i}`))), `message ${i}`).toBe(toHex(messages[i]!));
          }
          expect(rc.sequenceNumber).toBe(BigInt(messages.length));
          // Both sides export the same secrets; the context and length are bound.
          const e1 = await context.export(utf8('ctx'), 32);
          expect(toHex(await rc.export(utf8('ctx'), 32))).toBe(toHex(e1));
          expect(toHex(await rc.export(utf8('ctx2'), 32))).not.toBe(toHex(e1));
          expect(toHex(await rc.export(utf8('ctx'), 64))).not.toBe(toHex(e1));
        });

        it('serialises concurrent seals onto distinct sequence numbers', async () => {
          const { recipient, sender } = await parties(provider);
          const { enc, context } = await setupHpkeSender(provider, {
            aead,
            recipientPublicKey: recipient.publicKey,
            ...(auth ? { senderKeyPair: sender } : {}),
          });
          const pts = [0, 1, 2, 3, 4].map((i) => utf8(`m${i}`));
          const cts = await Promise.all(pts.map((pt) => context.seal(pt)));
          const rc = await setupHpkeRecipient(provider, {
            aead,
            enc,
            recipientPrivateKey: recipient.privateKey,
            ...(auth ? { senderPublicKey: sender.publicKey } : {}),
          });
          const opened = await Promise.all(cts.map((ct) => rc.open(ct)));
          expect(opened.map(toHex)).toEqual(pts.map(toHex));
        });
      });
    }

    it(`${aead}: nonce = base_nonce XOR seq, and seq 2^96 - 1 is refused`, async () => {
      const key = provider.randomBytes(32);
      const baseNonce = provider.randomBytes(12);
      const secrets = () => ({ key: key.slice(), baseNonce: baseNonce.slice(), exporterSecret: b(32) });
      const start = HPKE_SEQ_LIMIT - 1n;
      const sender = createSenderContext(provider, aead, secrets(), start);
      const ct = await sender.seal(utf8('last'), utf8('aad'));
      const nonce = baseNonce.slice();
      for (let i = 0; i < 12; i++) nonce[i]! ^= Number((start >> BigInt(8 * (11 - i))) & 0xffn);
      const cipher = aead === 'aes-256-gcm' ? provider.aes256gcm : provider.chacha20poly1305;
      expect(toHex(ct)).toBe(toHex(await cipher.encrypt(key, nonce, utf8('last'), utf8('aad'))));
      expect(sender.sequenceNumber).toBe(HPKE_SEQ_LIMIT);
      expect((await rejection(() => sender.seal(utf8('one more')))).code).toBe('ERR_LIMIT');

      const recipient = createRecipientContext(provider, aead, secrets(), start);
      expect(toHex(await recipient.open(ct, utf8('aad')))).toBe(toHex(utf8('last')));
      expect((await rejection(() => recipient.open(ct, utf8('aad')))).code).toBe('ERR_LIMIT');
    });
  }

  it('export-only: exports agree, sealing and opening are refused', async () => {
    const { recipient } = await parties(provider);
    const { enc, context } = await setupHpkeSender(provider, {
      aead: 'export-only',
      recipientPublicKey: recipient.publicKey,
    });
    const rc = await setupHpkeRecipient(provider, {
      aead: 'export-only',
      enc,
      recipientPrivateKey: recipient.privateKey,
    });
    expect(toHex(await rc.export(b(0), 8160))).toBe(toHex(await context.export(b(0), 8160)));
    expect((await rejection(() => context.seal(b(1)))).code).toBe('ERR_USAGE');
    expect((await rejection(() => rc.open(b(16)))).code).toBe('ERR_USAGE');
    expect(
      (
        await rejection(() =>
          sealHpke(provider, {
            aead: 'export-only',
            recipientPublicKey: recipient.publicKey,
            plaintext: b(1),
          }),
        )
      ).code,
    ).toBe('ERR_USAGE');
  });

  it('a destroyed context refuses every operation', async () => {
    const { recipient } = await parties(provider);
    const { context } = await setupHpkeSender(provider, {
      aead: 'aes-256-gcm',
      recipientPublicKey: recipient.publicKey,
    });
    context.destroy();
    expect((await rejection(() => context.seal(b(1)))).code).toBe('ERR_USAGE');
    expect((await rejection(() => context.export(b(0), 32))).code).toBe('ERR_USAGE');
  });

  it('draws keys and ephemeral keys from provider.random', async () => {
    const seeded = () => provider.withRandom(INSECURE_seededRandomForTestsOnly(utf8('hpke')));
    const a = await generateHpkeKeyPair(seeded());
    const c = await generateHpkeKeyPair(seeded());
    expect(toHex(a.privateKey)).toBe(toHex(c.privateKey));
    expect(toHex(a.publicKey)).toBe(toHex(await provider.x25519.publicKey(a.privateKey)));
    const s1 = await sealHpke(seeded(), {
      aead: 'aes-256-gcm',
      recipientPublicKey: a.publicKey,
      plaintext: b(3),
    });
    const s2 = await sealHpke(seeded(), {
      aead: 'aes-256-gcm',
      recipientPublicKey: a.publicKey,
      plaintext: b(3),
    });
    expect(toHex(concatBytes(s1.enc, s1.ciphertext))).toBe(toHex(concatBytes(s2.enc, s2.ciphertext)));
    const s3 = await sealHpke(provider, {
      aead: 'aes-256-gcm',
      recipientPublicKey: a.publicKey,
      plaintext: b(3),
    });
    expect(toHex(s3.enc)).not.toBe(toHex(s1.enc));
  });

  it('derives key pairs deterministically and needs 32 bytes of ikm', async () => {
    const k1 = await deriveHpkeKeyPair(provider, b(32));
    const k2 = await deriveHpkeKeyPair(provider, b(32));
    expect(toHex(k1.privateKey)).toBe(toHex(k2.privateKey));
    expect(toHex(k1.publicKey)).toBe(toHex(await provider.x25519.publicKey(k1.privateKey)));
    expect(toHex((await deriveHpkeKeyPair(provider, b(33))).privateKey)).not.toBe(toHex(k1.privateKey));
    const r = await rejection(() => deriveHpkeKeyPair(provider, b(31)));
    expect(r.code).toBe('ERR_VALIDATION');
    expect(r.message.startsWith('ikm:')).toBe(true);
  });

  it('refuses a low-order recipient public key when sealing (ERR_INVALID_KEY)', async () => {
    for (const lo of LOW_ORDER) {
      const r = await rejection(() =>
        sealHpke(provider, { aead: 'aes-256-gcm', recipientPublicKey: hex(lo), plaintext: b(1) }),
      );
      expect(r.code, lo).toBe('ERR_INVALID_KEY');
      expect(r.message.startsWith('recipientPublicKey:'), lo).toBe(true);
    }
  });

  describe('argument errors name the field', () => {
    const rows: [string, string, (p: CryptoProvider, k: KeyPair) => Promise<unknown>][] = [
      [
        'aead unknown',
        'aead',
        (p, k) =>
          sealHpke(p, {
            aead: hostile<HpkeAead>('aes-128-gcm'),
            recipientPublicKey: k.publicKey,
            plaintext: b(1),
          }),
      ],
      [
        'aead missing',
        'aead',
        (p, k) =>
          setupHpkeRecipient(p, {
            aead: hostile<HpkeAead>(undefined),
            enc: b(32),
            recipientPrivateKey: k.privateKey,
          }),
      ],
      ['options null', 'options', (p) => sealHpke(p, hostile<Parameters<typeof sealHpke>[1]>(null))],
      [
        'recipientPublicKey 31 bytes',
        'recipientPublicKey',
        (p) => setupHpkeSender(p, { aead: 'aes-256-gcm', recipientPublicKey: b(31) }),
      ],
      [
        'recipientPublicKey a string',
        'recipientPublicKey',
        (p) => setupHpkeSender(p, { aead: 'aes-256-gcm', recipientPublicKey: hostile<Uint8Array>('x') }),
      ],
      [
        'info a string',
        'info',
        (p, k) =>
          setupHpkeSender(p, {
            aead: 'aes-256-gcm',
            recipientPublicKey: k.publicKey,
            info: hostile<Uint8Array>('x'),
          }),
      ],
      [
        'senderKeyPair null',
        'senderKeyPair',
        (p, k) =>
          setupHpkeSender(p, {
            aead: 'aes-256-gcm',
            recipientPublicKey: k.publicKey,
            senderKeyPair: hostile<KeyPair>(null),
          }),
      ],
      [
        'senderKeyPair.privateKey 33 bytes',
        'senderKeyPair.privateKey',
        (p, k) =>
          setupHpkeSender(p, {
            aead: 'aes-256-gcm',
            recipientPublicKey: k.publicKey,
            senderKeyPair: { privateKey: b(33), publicKey: b(32) },
          }),
      ],
      [
        'senderKeyPair.publicKey missing',
        'senderKeyPair.publicKey',
        (p, k) =>
          setupHpkeSender(p, {
            aead: 'aes-256-gcm',
            recipientPublicKey: k.publicKey,
            senderKeyPair: hostile<KeyPair>({ privateKey: b(32) }),
          }),
      ],
      [
        'plaintext a string',
        'plaintext',
        (p, k) =>
          sealHpke(p, {
            aead: 'aes-256-gcm',
            recipientPublicKey: k.publicKey,
            plaintext: hostile<Uint8Array>('x'),
          }),
      ],
      [
        'aad a number',
        'aad',
        (p, k) =>
          sealHpke(p, {
            aead: 'aes-256-gcm',
            recipientPublicKey: k.publicKey,
            plaintext: b(1),
            aad: hostile<Uint8Array>(1),
          }),
      ],
      [
        'enc 33 bytes',
        'enc',
        (p, k) =>
          setupHpkeRecipient(p, { aead: 'aes-256-gcm', enc: b(33), recipientPrivateKey: k.privateKey }),
      ],
      [
        'recipientPrivateKey 31 bytes',
        'recipientPrivateKey',
        (p) => setupHpkeRecipient(p, { aead: 'aes-256-gcm', enc: b(32), recipientPrivateKey: b(31) }),
      ],
      [
        'senderPublicKey 31 bytes',
        'senderPublicKey',
        (p, k) =>
          setupHpkeRecipient(p, {
            aead: 'aes-256-gcm',
            enc: b(32),
            recipientPrivateKey: k.privateKey,
            senderPublicKey: b(31),
          }),
      ],
      [
        'ciphertext null',
        'ciphertext',
        (p, k) =>
          openHpke(p, {
            aead: 'aes-256-gcm',
            enc: b(32),
            recipientPrivateKey: k.privateKey,
            ciphertext: hostile<Uint8Array>(null),
          }),
      ],
      ['ikm a string', 'ikm', (p) => deriveHpkeKeyPair(p, hostile<Uint8Array>('x'.repeat(32)))],
    ];
    it.each(rows)('%s', async (what, field, call) => {
      const k = await generateHpkeKeyPair(provider);
      const r = await rejection(() => call(provider, k));
      expect(r.code, what).toBe('ERR_VALIDATION');
      expect(r.message.startsWith(`${field}:`), `${what}: ${r.message}`).toBe(true);
    });

    it('context arguments', async () => {
      const k = await generateHpkeKeyPair(provider);
      const { enc, context } = await setupHpkeSender(provider, {
        aead: 'aes-256-gcm',
        recipientPublicKey: k.publicKey,
      });
      const rc = await setupHpkeRecipient(provider, {
        aead: 'aes-256-gcm',
        enc,
        recipientPrivateKey: k.privateKey,
      });
      const cases: [string, string, () => Promise<unknown>][] = [
        ['seal plaintext', 'plaintext', () => context.seal(hostile<Uint8Array>([1]))],
        ['seal aad', 'aad', () => context.seal(b(1), hostile<Uint8Array>('a'))],
        ['open ciphertext', 'ciphertext', () => rc.open(hostile<Uint8Array>(undefined))],
        ['export context', 'exporterContext', () => context.export(hostile<Uint8Array>('c'), 32)],
        ['export length 0', 'length', () => context.export(b(0), 0)],
        ['export length 8161', 'length', () => rc.export(b(0), 8161)],
        ['export length 1.5', 'length', () => rc.export(b(0), 1.5)],
      ];
      for (const [what, field, call] of cases) {
        const r = await rejection(call);
        expect(r.code, what).toBe('ERR_VALIDATION');
        expect(r.message.startsWith(`${field}:`), `${what}: ${r.message}`).toBe(true);
      }
      // Argument errors do not consume a sequence number.
      expect(context.sequenceNumber).toBe(0n);
      expect(rc.sequenceNumber).toBe(0n);
    });
  });
});
