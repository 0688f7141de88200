/**
 * HPKE against an independent implementation (@hpke/core with @hpke/chacha20poly1305) on random
 * inputs, for each AEAD and for modes base and auth, under every provider: with the same
 * ephemeral key material both give the same `enc` and ciphertexts; with fresh ephemeral keys our
 * ciphertexts open with theirs and theirs with ours; exports agree.
 */
import { Chacha20Poly1305 } from '@hpke/chacha20poly1305';
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, ExportOnly, HkdfSha256 } from '@hpke/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deriveHpkeKeyPair,
  type HpkeAead,
  openHpke,
  setupHpkeRecipient,
  setupHpkeSender,
} from '../src/hpke/index.js';
import { setupSenderWithEphemeral } from '../src/hpke/setup.js';
import { toHex } from '../src/index.js';
import { PROVIDERS } from './providers.js';

const RUNS = { numRuns: 30 };

function theirSuite(aead: HpkeAead): CipherSuite {
  const cipher =
    aead === 'aes-256-gcm'
      ? new Aes256Gcm()
      : aead === 'chacha20-poly1305'
        ? new Chacha20Poly1305()
        : new ExportOnly();
  return new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: cipher });
}

const u8 = (b: ArrayBuffer) => new Uint8Array(b);
const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });

const input = fc.record({
  ikmR: bytes(32, 48),
  ikmS: bytes(32, 48),
  ikmE: bytes(32, 48),
  info: bytes(0, 64),
  messages: fc.array(fc.record({ pt: bytes(0, 100), aad: bytes(0, 40) }), { minLength: 1, maxLength: 3 }),
  exportContext: bytes(0, 40),
  exportLength: fc.integer({ min: 1, max: 100 }),
});

const CASES: [HpkeAead, 'base' | 'auth'][] = [
  ['aes-256-gcm', 'base'],
  ['aes-256-gcm', 'auth'],
  ['chacha20-poly1305', 'base'],
  ['chacha20-poly1305', 'auth'],
  ['export-only', 'base'],
  ['export-only', 'auth'],
];

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'HPKE vs @hpke/core under %s',
  (_name, provider) => {
    it.each(CASES)('%s mode %s', async (aead, mode) => {
      const suite = theirSuite(aead);
      const sealing = aead !== 'export-only';
      await fc.assert(
        fc.asyncProperty(input, async (v) => {
          const recipient = await deriveHpkeKeyPair(provider, v.ikmR);
          const sender = await deriveHpkeKeyPair(provider, v.ikmS);
          const auth = mode === 'auth';
          // Key derivation agrees.
          const theirR = await suite.kem.deriveKeyPair(v.ikmR);
          expect(toHex(u8(await suite.kem.serializePrivateKey(theirR.privateKey))), 'skR').toBe(
            toHex(recipient.privateKey),
          );
          expect(toHex(u8(await suite.kem.serializePublicKey(theirR.publicKey))), 'pkR').toBe(
            toHex(recipient.publicKey),
          );
          const theirS = await suite.kem.deriveKeyPair(v.ikmS);
          const theirPkR = await suite.kem.deserializePublicKey(recipient.publicKey);
          const theirPkS = await suite.kem.deserializePublicKey(sender.publicKey);

          // 1. Same ephemeral key material: identical enc, ciphertexts and exports.
          const ephemeral = await deriveHpkeKeyPair(provider, v.ikmE);
          const ours = await setupSenderWithEphemeral(
            provider,
            {
              aead,
              recipientPublicKey: recipient.publicKey,
              info: v.info,
              ...(auth ? { senderKeyPair: sender } : {}),
            },
            ephemeral,
          );
          const theirs = await suite.createSenderContext({
            recipientPublicKey: theirPkR,
            info: v.info,
            ekm: v.ikmE,
            ...(auth ? { senderKey: theirS } : {}),
          });
          expect(toHex(ours.enc), 'enc').toBe(toHex(u8(theirs.enc)));
          if (sealing) {
            for (const [i, m] of v.messages.entries()) {
              const a = await ours.context.seal(m.pt, m.aad);
              const b = u8(await theirs.seal(m.pt, m.aad));
              expect(toHex(a), `ciphertext ${i}`).toBe(toHex(b));
            }
          }
          expect(toHex(await ours.context.export(v.exportContext, v.exportLength)), 'sender export').toBe(
            toHex(u8(await theirs.export(v.exportContext, v.exportLength))),
          );

          // 2. Fresh ephemeral keys: ours opens with theirs.
          const fresh = await setupHpkeSender(provider, {
            aead,
            recipientPublicKey: recipient.publicKey,
            info: v.info,
            ...(auth ? { senderKeyPair: sender } : {}),
          });
          const theirRecipient = await suite.createRecipientContext({
            recipientKey: theirR,
            enc: fresh.enc,
            info: v.info,
            ...(auth ? { senderPublicKey: theirPkS } : {}),
          });
          if (sealing) {
            for (const [i, m] of v.messages.entries()) {
              const ct = await fresh.context.seal(m.pt, m.aad);
              expect(toHex(u8(await theirRecipient.open(ct, m.aad))), `theirs opens ours ${i}`).toBe(
                toHex(m.pt),
              );
            }
          }
          expect(
            toHex(await fresh.context.export(v.exportContext, v.exportLength)),
            'export ours/theirs',
          ).toBe(toHex(u8(await theirRecipient.export(v.exportContext, v.exportLength))));

          // 3. Theirs opens with ours (single-shot and context).
          if (sealing) {
            const m = v.messages[0]!;
            const sealed = await suite.seal(
              { recipientPublicKey: theirPkR, info: v.info, ...(auth ? { senderKey: theirS } : {}) },
              m.pt,
              m.aad,
            );
            const pt = await openHpke(provider, {
              aead,
              enc: u8(sealed.enc),
              recipientPrivateKey: recipient.privateKey,
              info: v.info,
              ciphertext: u8(sealed.ct),
              aad: m.aad,
              ...(auth ? { senderPublicKey: sender.publicKey } : {}),
            });
            expect(toHex(pt), 'ours opens theirs').toBe(toHex(m.pt));
          }
          const theirSender = await suite.createSenderContext({
            recipientPublicKey: theirPkR,
            info: v.info,
            ...(auth ? { senderKey: theirS } : {}),
          });
          const ourRecipient = await setupHpkeRecipient(provider, {
            aead,
            enc: u8(theirSender.enc),
            recipientPrivateKey: recipient.privateKey,
            info: v.info,
            ...(auth ? { senderPublicKey: sender.publicKey } : {}),
          });
          if (sealing) {
            for (const [i, m] of v.messages.entries()) {
              const ct = u8(await theirSender.seal(m.pt, m.aad));
              expect(toHex(await ourRecipient.open(ct, m.aad)), `ours opens theirs ${i}`).toBe(toHex(m.pt));
            }
          }
          expect(
            toHex(await ourRecipient.export(v.exportContext, v.exportLength)),
            'export theirs/ours',
          ).toBe(toHex(u8(await theirSender.export(v.exportContext, v.exportLength))));
        }),
        RUNS,
      );
    });
  },
);
