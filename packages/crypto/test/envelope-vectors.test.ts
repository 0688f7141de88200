/**
 * test-vectors/envelope.json (spec/envelope.md §7) under every provider: the certificate bytes
 * and signature, the outer header, the HPKE `enc`, the padded length and the opened content of
 * every case, and the expected error code of every negative case.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeSenderCertificate,
  encodeSenderCertificate,
  openEnvelope,
  peekEnvelopeOuter,
} from '../src/envelope/index.js';
import { type CryptoProvider, concatBytes, toHex, utf8 } from '../src/index.js';
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

const vectors = loadVectors<EnvelopeVectors>('envelope.json');

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
  },
);
