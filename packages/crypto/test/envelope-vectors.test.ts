/**
 * test-vectors/envelope.json (spec/envelope.md §7) under every provider: the certificate bytes
 * and signature, the outer header, the HPKE `enc`, the padded length and the opened content of
 * every case, and the expected error code of every negative case; for the organisation envelopes
 * (kind 3, §5a) every intermediate and the final bytes, resealed from the recorded random draws,
 * and the expected error code of every organisation negative case.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeSenderCertificate,
  encodeSenderCertificate,
  openEnvelope,
  openOrganisationEnvelope,
  peekEnvelopeOuter,
  sealOrganisationEnvelopes,
} from '../src/envelope/index.js';
import {
  type CryptoProvider,
  concatBytes,
  padToBucket,
  type RandomSource,
  sealHpke,
  toHex,
  utf8,
} from '../src/index.js';
import { codeOf } from './envelope-fixtures.js';
import { PROVIDERS } from './providers.js';
import { hex, loadVectors } from './vectors-load.js';

interface RecipientVector {
  readonly recipientPrivateKey: string;
  readonly outerHeader: string;
  readonly hpkeEnc: string;
  readonly paddedInnerLength: number;
  readonly envelope: string;
}

interface EnvelopeVectors {
  readonly source: unknown;
  readonly cases: readonly {
    readonly name: string;
    readonly tenantPublicKey: string;
    readonly certificate: {
      readonly signedBytes: string;
      readonly signature: string;
      readonly encoded: string;
    };
    readonly now: number;
    readonly contentType: number;
    readonly body: string;
    readonly recipients: readonly RecipientVector[];
  }[];
  readonly negative: readonly {
    readonly name: string;
    readonly envelope: string;
    readonly recipientPrivateKey: string;
    readonly tenantPublicKey: string;
    readonly now: number;
    readonly expectedCode: string;
  }[];
}

interface OrganisationRecipientVector {
  readonly device: string;
  readonly recipientPrivateKey: string;
  readonly recipientPublicKey: string;
  readonly mailbox: string;
  readonly deliveryToken: string;
  readonly outerHeader: string;
  readonly hpkeInfo: string;
  readonly wrapAad: string;
  readonly hpkeEphemeralPrivateKey: string;
  readonly hpkeEnc: string;
  readonly wrappedKey: string;
  readonly envelope: string;
}

interface OrganisationVectors {
  readonly organisation: readonly {
    readonly name: string;
    readonly randomDraws: readonly string[];
    readonly object: string;
    readonly objectLength: number;
    readonly paddedObject: string;
    readonly contentKey: string;
    readonly contentAad: string;
    readonly content: string;
    readonly contentDigest: string;
    readonly recipients: readonly OrganisationRecipientVector[];
  }[];
  readonly organisationNegative: readonly {
    readonly name: string;
    readonly open: 'organisation' | 'message';
    readonly envelope: string;
    readonly recipientPrivateKey: string;
    readonly tenantPublicKey?: string;
    readonly now?: number;
    readonly expectedCode: string;
  }[];
}

const vectors = loadVectors<EnvelopeVectors & OrganisationVectors>('envelope.json');

/** A random source that hands out the given draws in order and refuses anything else. */
function replay(draws: readonly Uint8Array[]): RandomSource {
  const queue = [...draws];
  return {
    name: 'replay',
    fill(out: Uint8Array): Uint8Array {
      const next = queue.shift();
      if (next === undefined || next.length !== out.length) throw new Error('unexpected random draw');
      out.set(next);
      return out;
    },
  };
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'envelope vectors (%s)',
  (_name, provider: CryptoProvider) => {
    it('opens every case and matches its intermediates', async () => {
      expect(vectors.cases.length).toBeGreaterThanOrEqual(2);
      for (const tc of vectors.cases) {
        const certificate = decodeSenderCertificate(hex(tc.certificate.encoded));
        expect(toHex(certificate.signature), tc.name).toBe(tc.certificate.signature);
        const body = encodeSenderCertificate(certificate).subarray(0, -64);
        expect(toHex(concatBytes(utf8('cloister/v1/sender-certificate'), body)), tc.name).toBe(
          tc.certificate.signedBytes,
        );
        expect(
          await provider.ed25519.verify(
            hex(tc.tenantPublicKey),
            hex(tc.certificate.signedBytes),
            certificate.signature,
          ),
          tc.name,
        ).toBe(true);
        for (const [i, r] of tc.recipients.entries()) {
          const where = `${tc.name} recipient ${i}`;
          const bytes = hex(r.envelope);
          const outer = peekEnvelopeOuter(bytes);
          const headerLength = bytes.length - outer.sealedLength;
          expect(toHex(bytes.subarray(0, headerLength)), where).toBe(r.outerHeader);
          expect(toHex(bytes.subarray(headerLength, headerLength + 32)), where).toBe(r.hpkeEnc);
          expect(outer.sealedLength - r.paddedInnerLength, where).toBe(outer.kind === 1 ? 48 : 32 + 48 + 16);
          const opened = await openEnvelope(provider, {
            recipientPrivateKey: hex(r.recipientPrivateKey),
            bytes,
            tenantPublicKey: hex(tc.tenantPublicKey),
            now: tc.now,
          });
          expect(toHex(opened.body), where).toBe(tc.body);
          expect(opened.contentType, where).toBe(tc.contentType);
          expect(toHex(encodeSenderCertificate(opened.certificate)), where).toBe(tc.certificate.encoded);
        }
      }
    });

    it('rejects every negative case with its code', async () => {
      expect(vectors.negative.length).toBeGreaterThanOrEqual(2);
      for (const tc of vectors.negative) {
        const code = await codeOf(() =>
          openEnvelope(provider, {
            recipientPrivateKey: hex(tc.recipientPrivateKey),
            bytes: hex(tc.envelope),
            tenantPublicKey: hex(tc.tenantPublicKey),
            now: tc.now,
          }),
        );
        expect(code, tc.name).toBe(tc.expectedCode);
      }
    });

    it('reproduces every organisation envelope from its intermediates', async () => {
      expect(vectors.organisation.length).toBeGreaterThanOrEqual(1);
      for (const tc of vectors.organisation) {
        expect(tc.recipients.length, tc.name).toBeGreaterThanOrEqual(2);
        const object = hex(tc.object);
        expect(object.length, tc.name).toBe(tc.objectLength);
        // Draw order (§5a): each device's X25519 private key, K, then one ephemeral key per device.
        const n = tc.recipients.length;
        expect(tc.randomDraws.length, tc.name).toBe(2 * n + 1);
        expect(tc.contentKey, tc.name).toBe(tc.randomDraws[n]);
        const padded = padToBucket(object);
        expect(toHex(padded), tc.name).toBe(tc.paddedObject);
        const aad = concatBytes(utf8('cloister/v1/envelope/organisation-content'), new Uint8Array([1]));
        expect(toHex(aad), tc.name).toBe(tc.contentAad);
        const content = await provider.aes256gcm.encrypt(hex(tc.contentKey), new Uint8Array(12), padded, aad);
        expect(toHex(content), tc.name).toBe(tc.content);
        const digest = await provider.sha256(
          concatBytes(utf8('cloister/v1/envelope/content-digest'), content),
        );
        expect(toHex(digest), tc.name).toBe(tc.contentDigest);
        for (const [i, r] of tc.recipients.entries()) {
          const where = `${tc.name} ${r.device}`;
          expect(r.recipientPrivateKey, where).toBe(tc.randomDraws[i]);
          expect(r.hpkeEphemeralPrivateKey, where).toBe(tc.randomDraws[n + 1 + i]);
          expect(toHex(await provider.x25519.publicKey(hex(r.recipientPrivateKey))), where).toBe(
            r.recipientPublicKey,
          );
          const mailbox = hex(r.mailbox);
          const token = hex(r.deliveryToken);
          const header = concatBytes(
            new Uint8Array([1, 3, mailbox.length]),
            mailbox,
            new Uint8Array([token.length]),
            token,
          );
          expect(toHex(header), where).toBe(r.outerHeader);
          const info = concatBytes(
            utf8('cloister/v1/envelope/key-wrap'),
            new Uint8Array([1, 3, mailbox.length]),
            mailbox,
          );
          expect(toHex(info), where).toBe(r.hpkeInfo);
          expect(toHex(concatBytes(header, digest)), where).toBe(r.wrapAad);
          const { enc, ciphertext } = await sealHpke(
            provider.withRandom(replay([hex(r.hpkeEphemeralPrivateKey)])),
            {
              aead: 'aes-256-gcm',
              recipientPublicKey: hex(r.recipientPublicKey),
              info,
              plaintext: hex(tc.contentKey),
              aad: hex(r.wrapAad),
            },
          );
          expect(toHex(enc), where).toBe(r.hpkeEnc);
          expect(toHex(ciphertext), where).toBe(r.wrappedKey);
          expect(r.envelope, where).toBe(`${r.outerHeader}${r.hpkeEnc}${r.wrappedKey}${tc.content}`);
          const opened = await openOrganisationEnvelope(provider, {
            recipientPrivateKey: hex(r.recipientPrivateKey),
            bytes: hex(r.envelope),
          });
          expect(toHex(opened.object), where).toBe(tc.object);
          expect(toHex(opened.mailbox), where).toBe(r.mailbox);
        }
        const resealed = await sealOrganisationEnvelopes(
          provider.withRandom(replay(tc.randomDraws.slice(n).map(hex))),
          {
            recipients: tc.recipients.map((r) => ({
              publicKey: hex(r.recipientPublicKey),
              mailbox: hex(r.mailbox),
              deliveryToken: hex(r.deliveryToken),
            })),
            object,
          },
        );
        expect(resealed.map(toHex), tc.name).toEqual(tc.recipients.map((r) => r.envelope));
      }
    });

    it('rejects every organisation negative case with its code', async () => {
      expect(vectors.organisationNegative.length).toBeGreaterThanOrEqual(6);
      for (const tc of vectors.organisationNegative) {
        const code = await codeOf(() =>
          tc.open === 'organisation'
            ? openOrganisationEnvelope(provider, {
                recipientPrivateKey: hex(tc.recipientPrivateKey),
                bytes: hex(tc.envelope),
              })
            : openEnvelope(provider, {
                recipientPrivateKey: hex(tc.recipientPrivateKey),
                bytes: hex(tc.envelope),
                tenantPublicKey: hex(tc.tenantPublicKey ?? ''),
                now: tc.now ?? 0,
              }),
        );
        expect(code, tc.name).toBe(tc.expectedCode);
      }
    });
  },
);
