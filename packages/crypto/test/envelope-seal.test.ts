/**
 * Sealed envelopes (spec/envelope.md) under every provider: single- and multi-recipient round
 * trips, certificate checks folded into ERR_DECRYPTION_FAILED, bit flips, Padmé buckets, moved
 * key wraps, and hostile outer headers (ERR_DECODE with a path).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ENVELOPE_KIND_SHARED,
  ENVELOPE_KIND_SINGLE,
  encodeSenderCertificate,
  issueSenderCertificate,
  openEnvelope,
  peekEnvelopeOuter,
  sealEnvelope,
  sealEnvelopeForMany,
  verifySenderCertificate,
} from '../src/envelope/index.js';
import { padmeLength } from '../src/files/index.js';
import { type CryptoProvider, concatBytes, utf8 } from '../src/index.js';
import { codeOf, type EnvelopeWorld, flipBit, makeWorld, NOW } from './envelope-fixtures.js';
import { PROVIDERS } from './providers.js';

const TOKEN = new Uint8Array(24).fill(0x7e);

function sealToBob(provider: CryptoProvider, w: EnvelopeWorld, body: Uint8Array, extra: object = {}) {
  return sealEnvelope(provider, {
    recipientPublicKey: w.bob.publicKey,
    mailbox: w.bobMailbox,
    deliveryToken: TOKEN,
    certificate: w.certificate,
    contentType: 7,
    body,
    ...extra,
  });
}

function openAs(
  provider: CryptoProvider,
  w: EnvelopeWorld,
  privateKey: Uint8Array,
  bytes: Uint8Array,
  now = NOW,
) {
  return openEnvelope(provider, {
    recipientPrivateKey: privateKey,
    bytes,
    tenantPublicKey: w.tenant.publicKey,
    now,
  });
}

function sealMany(provider: CryptoProvider, w: EnvelopeWorld, body: Uint8Array) {
  return sealEnvelopeForMany(provider, {
    recipients: [
      { publicKey: w.bob.publicKey, mailbox: w.bobMailbox, deliveryToken: TOKEN },
      { publicKey: w.carol.publicKey, mailbox: w.carolMailbox, deliveryToken: new Uint8Array(0) },
    ],
    certificate: w.certificate,
    contentType: 9,
    body,
  });
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'envelope (%s)',
  (name, provider: CryptoProvider) => {
    const runs = name === 'noble' ? 3 : 12;

    it('round-trips to one recipient, and the caller can check the session identity', async () => {
      const w = await makeWorld(provider);
      for (const body of [new Uint8Array(0), utf8('hello'), provider.randomBytes(3000)]) {
        const bytes = await sealToBob(provider, w, body);
        const outer = peekEnvelopeOuter(bytes);
        expect(outer.kind).toBe(ENVELOPE_KIND_SINGLE);
        expect(outer.mailbox).toEqual(w.bobMailbox);
        expect(outer.deliveryToken).toEqual(TOKEN);
        const opened = await openAs(provider, w, w.bob.privateKey, bytes);
        expect(opened.body).toEqual(body);
        expect(opened.contentType).toBe(7);
        expect(opened.mailbox).toEqual(w.bobMailbox);
        expect(opened.certificate).toEqual(w.certificate);
        const expectedIdentity = { signingKey: w.senderSigning.publicKey, dhKey: w.senderDh.publicKey };
        await verifySenderCertificate(provider, opened.certificate, {
          tenantPublicKey: w.tenant.publicKey,
          now: NOW,
          expectedIdentity,
        });
        const impostor = { ...expectedIdentity, dhKey: w.bob.publicKey };
        expect(
          await codeOf(() =>
            verifySenderCertificate(provider, opened.certificate, {
              tenantPublicKey: w.tenant.publicKey,
              now: NOW,
              expectedIdentity: impostor,
            }),
          ),
        ).toBe('ERR_INVALID_KEY');
      }
    });

    it('turns every certificate or key problem into ERR_DECRYPTION_FAILED', async () => {
      const w = await makeWorld(provider);
      const bytes = await sealToBob(provider, w, utf8('hi'));
      expect(await codeOf(() => openAs(provider, w, w.bob.privateKey, bytes, w.fields.expiresAt + 1))).toBe(
        'ERR_DECRYPTION_FAILED',
      );
      expect(await codeOf(() => openAs(provider, w, w.carol.privateKey, bytes))).toBe(
        'ERR_DECRYPTION_FAILED',
      );
      const other = await provider.ed25519.generateKeyPair();
      const forged = await issueSenderCertificate(provider, other.privateKey, w.fields);
      const forgedBytes = await sealToBob(provider, w, utf8('hi'), { certificate: forged });
      expect(await codeOf(() => openAs(provider, w, w.bob.privateKey, forgedBytes))).toBe(
        'ERR_DECRYPTION_FAILED',
      );
      expect(
        await codeOf(() =>
          openEnvelope(provider, {
            recipientPrivateKey: w.bob.privateKey,
            bytes,
            tenantPublicKey: other.publicKey,
            now: NOW,
          }),
        ),
      ).toBe('ERR_DECRYPTION_FAILED');
    });

    it('fails every bit flip: ERR_DECODE only inside the outer header, otherwise ERR_DECRYPTION_FAILED', async () => {
      const w = await makeWorld(provider);
      const single = await sealToBob(provider, w, utf8('flip me'));
      const [shared] = await sealMany(provider, w, utf8('flip me'));
      for (const bytes of [single, shared!]) {
        const headerLength = bytes.length - peekEnvelopeOuter(bytes).sealedLength;
        const step = name === 'node' ? 1 : 13;
        for (let bit = 0; bit < bytes.length * 8; bit += step) {
          const code = await codeOf(() => openAs(provider, w, w.bob.privateKey, flipBit(bytes, bit)));
          const allowed =
            bit < headerLength * 8 ? ['ERR_DECODE', 'ERR_DECRYPTION_FAILED'] : ['ERR_DECRYPTION_FAILED'];
          expect(allowed, `bit ${bit}`).toContain(code);
        }
        expect(
          await codeOf(() => openAs(provider, w, w.bob.privateKey, bytes.subarray(0, bytes.length - 1))),
        ).toBe('ERR_DECRYPTION_FAILED');
        expect(
          await codeOf(() => openAs(provider, w, w.bob.privateKey, concatBytes(bytes, new Uint8Array(1)))),
        ).toBe('ERR_DECRYPTION_FAILED');
      }
    });

    it('gives bodies in one Padmé bucket identical envelope lengths', async () => {
      const w = await makeWorld(provider);
      const fixed = 1 + 2 + encodeSenderCertificate(w.certificate).length;
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 5000 }), async (n) => {
          const bucket = padmeLength(fixed + n + 1);
          const largest = bucket - fixed - 1;
          const a = await sealToBob(provider, w, new Uint8Array(n));
          const b = await sealToBob(provider, w, new Uint8Array(largest).fill(1));
          expect(a.length).toBe(b.length);
          expect(peekEnvelopeOuter(a).sealedLength).toBe(32 + bucket + 16);
          const c = await sealToBob(provider, w, new Uint8Array(largest + 1));
          expect(c.length).toBeGreaterThan(a.length);
        }),
        { numRuns: runs },
      );
    });

    it('seals for many: content encrypted once, every recipient opens', async () => {
      const w = await makeWorld(provider);
      const body = provider.randomBytes(700);
      const [forBob, forCarol] = await sealMany(provider, w, body);
      const bobOuter = peekEnvelopeOuter(forBob!);
      const carolOuter = peekEnvelopeOuter(forCarol!);
      expect(bobOuter.kind).toBe(ENVELOPE_KIND_SHARED);
      expect(carolOuter.mailbox).toEqual(w.carolMailbox);
      expect(carolOuter.deliveryToken.length).toBe(0);
      const sharedLength = bobOuter.sealedLength - 32 - 48;
      expect(forBob!.subarray(forBob!.length - sharedLength)).toEqual(
        forCarol!.subarray(forCarol!.length - sharedLength),
      );
      expect((await openAs(provider, w, w.bob.privateKey, forBob!)).body).toEqual(body);
      const carol = await openAs(provider, w, w.carol.privateKey, forCarol!);
      expect(carol.body).toEqual(body);
      expect(carol.contentType).toBe(9);
      expect(carol.mailbox).toEqual(w.carolMailbox);
      expect(await codeOf(() => openAs(provider, w, w.carol.privateKey, forBob!))).toBe(
        'ERR_DECRYPTION_FAILED',
      );
    });

    it('refuses a key wrap moved to another content or another header', async () => {
      const w = await makeWorld(provider);
      const [bob1, carol1] = await sealMany(provider, w, utf8('first'));
      const [bob2] = await sealMany(provider, w, utf8('other'));
      const split = (bytes: Uint8Array) => {
        const headerLength = bytes.length - peekEnvelopeOuter(bytes).sealedLength;
        return {
          header: bytes.subarray(0, headerLength),
          wrap: bytes.subarray(headerLength, headerLength + 80),
          content: bytes.subarray(headerLength + 80),
        };
      };
      const b1 = split(bob1!);
      const b2 = split(bob2!);
      const c1 = split(carol1!);
      const moved = [
        concatBytes(b1.header, b1.wrap, b2.content),
        concatBytes(b2.header, b1.wrap, b2.content),
        concatBytes(c1.header, b1.wrap, c1.content),
      ];
      expect(
        await codeOf(() =>
          openAs(provider, w, w.bob.privateKey, concatBytes(b1.header, b1.wrap, b1.content)),
        ),
      ).toBe('accepted');
      for (const [i, bytes] of moved.entries()) {
        expect(await codeOf(() => openAs(provider, w, w.bob.privateKey, bytes)), `case ${i}`).toBe(
          'ERR_DECRYPTION_FAILED',
        );
        expect(await codeOf(() => openAs(provider, w, w.carol.privateKey, bytes)), `case ${i}`).toBe(
          'ERR_DECRYPTION_FAILED',
        );
      }
      const sameRecipientOtherMailbox = concatBytes(
        c1.header.slice(0, 2),
        b1.header.slice(2),
        b1.wrap,
        b1.content,
      );
      expect(await codeOf(() => openAs(provider, w, w.bob.privateKey, sameRecipientOtherMailbox))).toBe(
        'accepted',
      );
    });
  },
);

describe('envelope hostile inputs', () => {
  const provider = PROVIDERS[1] ?? PROVIDERS[0]!;

  it('peekEnvelopeOuter names the failing field', async () => {
    const w = await makeWorld(provider);
    const good = await sealToBob(provider, w, utf8('x'));
    const pathOf = (bytes: Uint8Array): string => {
      try {
        peekEnvelopeOuter(bytes);
      } catch (e) {
        expect((e as { code?: string }).code).toBe('ERR_DECODE');
        return (e as { path: string }).path;
      }
      return 'accepted';
    };
    const patch = (i: number, v: number) => {
      const out = good.slice();
      out[i] = v;
      return out;
    };
    expect(pathOf(good)).toBe('accepted');
    expect(pathOf(new Uint8Array(0))).toBe('envelope.version');
    expect(pathOf(patch(0, 2))).toBe('envelope.version');
    expect(pathOf(patch(1, 0))).toBe('envelope.kind');
    expect(pathOf(patch(1, 4))).toBe('envelope.kind');
    expect(pathOf(patch(2, 15))).toBe('envelope.mailbox');
    expect(pathOf(patch(2, 33))).toBe('envelope.mailbox');
    expect(pathOf(patch(19, 65))).toBe('envelope.deliveryToken');
    expect(pathOf(good.subarray(0, 10))).toBe('envelope.mailbox');
    expect(pathOf(good.subarray(0, 19 + 1 + 24 + 48))).toBe('envelope.sealed');
    const header = good.subarray(0, 19 + 1 + 24);
    expect(pathOf(concatBytes(header, new Uint8Array(32 + 16)))).toBe('envelope.sealed');
    expect(pathOf(concatBytes(header, new Uint8Array(32 + 16 + 1)))).toBe('accepted');
    const sharedHeader = header.slice();
    sharedHeader[1] = ENVELOPE_KIND_SHARED;
    expect(pathOf(concatBytes(sharedHeader, new Uint8Array(32 + 48 + 16)))).toBe('envelope.sealed');
    expect(pathOf(concatBytes(sharedHeader, new Uint8Array(32 + 48 + 16 + 1)))).toBe('accepted');
    expect(pathOf(new Uint8Array(4_000_000))).toBe('envelope');
  });

  it('validates arguments naming the field', async () => {
    const w = await makeWorld(provider);
    const seal = (patch: object) => codeOf(() => sealToBob(provider, w, utf8('x'), patch));
    expect(await seal({ mailbox: new Uint8Array(15) })).toBe('ERR_VALIDATION');
    expect(await seal({ mailbox: new Uint8Array(33) })).toBe('ERR_VALIDATION');
    expect(await seal({ deliveryToken: new Uint8Array(65) })).toBe('ERR_VALIDATION');
    expect(await seal({ recipientPublicKey: new Uint8Array(31) })).toBe('ERR_VALIDATION');
    expect(await seal({ contentType: 256 })).toBe('ERR_VALIDATION');
    expect(await seal({ body: new Uint8Array(2 ** 20 + 1) })).toBe('ERR_VALIDATION');
    expect(await seal({ recipientPublicKey: new Uint8Array(32) })).toBe('ERR_INVALID_KEY');
    expect(
      await codeOf(() =>
        sealEnvelopeForMany(provider, { ...w, recipients: [], contentType: 1, body: utf8('x') }),
      ),
    ).toBe('ERR_VALIDATION');
    const bytes = await sealToBob(provider, w, utf8('x'));
    expect(
      await codeOf(() =>
        openEnvelope(provider, {
          recipientPrivateKey: new Uint8Array(31),
          bytes,
          tenantPublicKey: w.tenant.publicKey,
          now: NOW,
        }),
      ),
    ).toBe('ERR_VALIDATION');
    expect(
      await codeOf(() =>
        openEnvelope(provider, {
          recipientPrivateKey: w.bob.privateKey,
          bytes,
          tenantPublicKey: w.tenant.publicKey,
          now: 1.5,
        }),
      ),
    ).toBe('ERR_VALIDATION');
  });
});
