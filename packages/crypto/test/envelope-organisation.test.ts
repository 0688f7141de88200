/**
 * Organisation envelopes (spec/envelope.md §5a, spec/broadcast.md §3) under every provider: the
 * object round trip to many devices, the content shared, and every cross-use refused with the one
 * `DecryptionFailed`: a message envelope opened as an organisation one and the reverse, a wrap
 * moved to another device's envelope, a kind-2 content spliced in, altered bytes, the wrong key.
 */
import { describe, expect, it } from 'vitest';
import {
  ENVELOPE_KIND_ORGANISATION,
  openEnvelope,
  openOrganisationEnvelope,
  peekEnvelopeOuter,
  sealEnvelopeForMany,
  sealOrganisationEnvelopes,
} from '../src/envelope/index.js';
import { concatBytes, utf8 } from '../src/index.js';
import { codeOf, flipBit, makeWorld, NOW } from './envelope-fixtures.js';
import { PROVIDERS } from './providers.js';

const OBJECT = utf8('a signed organisation object stands here (opaque to the envelope)');
const EMPTY = new Uint8Array(0);

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'organisation envelopes (%s)',
  (_name, provider) => {
    async function setUp() {
      const w = await makeWorld(provider);
      const recipients = [
        { publicKey: w.bob.publicKey, mailbox: w.bobMailbox, deliveryToken: EMPTY },
        { publicKey: w.carol.publicKey, mailbox: w.carolMailbox, deliveryToken: EMPTY },
      ];
      const envelopes = await sealOrganisationEnvelopes(provider, { recipients, object: OBJECT });
      return { w, recipients, envelopes };
    }

    it('carries the object to every device, content encrypted once', async () => {
      const { w, envelopes } = await setUp();
      expect(envelopes).toHaveLength(2);
      const [bob, carol] = envelopes as [Uint8Array, Uint8Array];
      expect(peekEnvelopeOuter(bob).kind).toBe(ENVELOPE_KIND_ORGANISATION);
      expect(peekEnvelopeOuter(bob).deliveryToken).toHaveLength(0);
      const a = await openOrganisationEnvelope(provider, {
        recipientPrivateKey: w.bob.privateKey,
        bytes: bob,
      });
      const b = await openOrganisationEnvelope(provider, {
        recipientPrivateKey: w.carol.privateKey,
        bytes: carol,
      });
      expect(a.object).toEqual(OBJECT);
      expect(b.object).toEqual(OBJECT);
      expect(a.mailbox).toEqual(w.bobMailbox);
      // The shared content is the same tail in both envelopes.
      const tail = (e: Uint8Array) => e.subarray(e.length - 40);
      expect(tail(bob)).toEqual(tail(carol));
    });

    it('refuses every cross-use with the one DecryptionFailed', async () => {
      const { w, envelopes } = await setUp();
      const [bob, carol] = envelopes as [Uint8Array, Uint8Array];
      const openBob = (bytes: Uint8Array) =>
        codeOf(openOrganisationEnvelope(provider, { recipientPrivateKey: w.bob.privateKey, bytes }));
      // The wrong key.
      expect(
        await codeOf(
          openOrganisationEnvelope(provider, { recipientPrivateKey: w.carol.privateKey, bytes: bob }),
        ),
      ).toBe('ERR_DECRYPTION_FAILED');
      // Any flipped byte after the header.
      for (const at of [bob.length - 1, bob.length - 60, 60])
        expect(await openBob(flipBit(bob, at))).toBe('ERR_DECRYPTION_FAILED');
      // An organisation envelope is never a message (it has no certificate) ...
      expect(
        await codeOf(
          openEnvelope(provider, {
            recipientPrivateKey: w.bob.privateKey,
            bytes: bob,
            tenantPublicKey: w.tenant.publicKey,
            now: NOW,
          }),
        ),
      ).toBe('ERR_DECRYPTION_FAILED');
      // ... and a message envelope is never an organisation one.
      const [message] = await sealEnvelopeForMany(provider, {
        recipients: [{ publicKey: w.bob.publicKey, mailbox: w.bobMailbox, deliveryToken: EMPTY }],
        certificate: w.certificate,
        contentType: 1,
        body: OBJECT,
      });
      expect(await openBob(message as Uint8Array)).toBe('ERR_DECRYPTION_FAILED');
      // The message's kind byte rewritten to 3: the wrap's info and AAD bind the kind.
      const relabelled = (message as Uint8Array).slice();
      relabelled[1] = ENVELOPE_KIND_ORGANISATION;
      expect(await openBob(relabelled)).toBe('ERR_DECRYPTION_FAILED');
      // Bob's wrap behind Carol's header.
      const header = (m: Uint8Array) => 3 + m.length + 1;
      const moved = concatBytes(
        carol.subarray(0, header(w.carolMailbox)),
        bob.subarray(header(w.bobMailbox)),
      );
      expect(
        await codeOf(
          openOrganisationEnvelope(provider, { recipientPrivateKey: w.carol.privateKey, bytes: moved }),
        ),
      ).toBe('ERR_DECRYPTION_FAILED');
    });

    it('checks its arguments', async () => {
      const { recipients } = await setUp();
      expect(await codeOf(sealOrganisationEnvelopes(provider, { recipients: [], object: OBJECT }))).toBe(
        'ERR_VALIDATION',
      );
      expect(await codeOf(sealOrganisationEnvelopes(provider, { recipients, object: EMPTY }))).toBe(
        'ERR_VALIDATION',
      );
    });
  },
);
