/**
 * Test vectors for sealed envelopes and sender certificates (`test-vectors/envelope.json`, format
 * in spec/envelope.md §7).
 *
 * Each case draws, in this order, the tenant Ed25519 key pair, the sender's Ed25519 and X25519
 * identity key pairs, Bob's and Carol's X25519 key pairs, then seals, all from the noble provider
 * with `INSECURE_seededRandomForTestsOnly(ASCII("cloister/test-vectors/envelope/" + case name))`.
 * Every intermediate is recomputed from the HPKE, AES-GCM and Padmé primitives with the node
 * provider (a second implementation) and compared with the envelope the library made.
 */
import {
  type CryptoProvider,
  concatBytes,
  createNobleProvider,
  encodeSenderCertificate,
  equalBytes,
  issueSenderCertificate,
  openEnvelope,
  openHpke,
  peekEnvelopeOuter,
  type SenderCertificateFields,
  sealEnvelope,
  sealEnvelopeForMany,
  toHex,
  unpad,
  utf8,
} from '@cloister/crypto';
import { createNodeProvider } from '@cloister/crypto/node';
import { INSECURE_seededRandomForTestsOnly } from '@cloister/crypto/testing';

/** Prefix of every per-case seed (ASCII). */
export const ENVELOPE_SEED_PREFIX = 'cloister/test-vectors/envelope/';
const NOW = 1_800_000_000_000;
const plain = createNobleProvider();
const check = createNodeProvider();

function fail(what: string): never {
  throw new Error(`envelope vector self-check failed: ${what}`);
}

function u8(bytes: Uint8Array, at: number): number {
  return bytes[at] ?? fail('short header');
}

async function world(provider: CryptoProvider) {
  const tenant = await provider.ed25519.generateKeyPair();
  const signing = await provider.ed25519.generateKeyPair();
  const dh = await provider.x25519.generateKeyPair();
  const bob = await provider.x25519.generateKeyPair();
  const carol = await provider.x25519.generateKeyPair();
  const fields: SenderCertificateFields = {
    userId: 'u-alice-7',
    deviceId: 3,
    identitySigningKey: signing.publicKey,
    identityDhKey: dh.publicKey,
    tenantId: 'acme',
    pools: ['engineering', 'berlin'],
    expiresAt: NOW + 3_600_000,
  };
  const certificate = await issueSenderCertificate(provider, tenant.privateKey, fields);
  return { tenant, signing, dh, bob, carol, fields, certificate };
}

type World = Awaited<ReturnType<typeof world>>;

const BOB_MAILBOX = utf8('mailbox-of-bob-0');
const CAROL_MAILBOX = utf8('mailbox-of-carol-device-000001');
const TOKEN = utf8('delivery-token-for-bob');

function info(label: string, kind: number, mailbox: Uint8Array): Uint8Array {
  return concatBytes(utf8(label), new Uint8Array([1, kind, mailbox.length]), mailbox);
}

/** Splits an envelope and recomputes its inner plaintext from the primitives. */
async function recompute(bytes: Uint8Array, privateKey: Uint8Array) {
  const outer = peekEnvelopeOuter(bytes);
  const headerLength = bytes.length - outer.sealedLength;
  const header = bytes.subarray(0, headerLength);
  const enc = bytes.subarray(headerLength, headerLength + 32);
  if (outer.kind === 1) {
    const hpkeInfo = info('cloister/v1/envelope/seal', 1, outer.mailbox);
    const padded = await openHpke(check, {
      aead: 'aes-256-gcm',
      enc,
      recipientPrivateKey: privateKey,
      info: hpkeInfo,
      ciphertext: bytes.subarray(headerLength + 32),
      aad: header,
    });
    return { header, enc, hpkeInfo, padded, extra: {} };
  }
  const wrapped = bytes.subarray(headerLength + 32, headerLength + 80);
  const content = bytes.subarray(headerLength + 80);
  const digest = await check.sha256(concatBytes(utf8('cloister/v1/envelope/content-digest'), content));
  const hpkeInfo = info('cloister/v1/envelope/key-wrap', 2, outer.mailbox);
  const contentKey = await openHpke(check, {
    aead: 'aes-256-gcm',
    enc,
    recipientPrivateKey: privateKey,
    info: hpkeInfo,
    ciphertext: wrapped,
    aad: concatBytes(header, digest),
  });
  const contentAad = concatBytes(utf8('cloister/v1/envelope/content'), new Uint8Array([1]));
  const padded = await check.aes256gcm.decrypt(contentKey, new Uint8Array(12), content, contentAad);
  const extra = {
    wrappedKey: toHex(wrapped),
    contentKey: toHex(contentKey),
    contentAad: toHex(contentAad),
    contentDigest: toHex(digest),
    contentCiphertextLength: content.length,
  };
  return { header, enc, hpkeInfo, padded, extra };
}

async function describeEnvelope(w: World, bytes: Uint8Array, privateKey: Uint8Array, body: Uint8Array) {
  const r = await recompute(bytes, privateKey);
  const inner = unpad(r.padded);
  const certificateBytes = encodeSenderCertificate(w.certificate);
  const certLength = u8(inner, 1) * 256 + u8(inner, 2);
  if (!equalBytes(inner.subarray(3, 3 + certLength), certificateBytes)) fail('certificate bytes');
  if (!equalBytes(inner.subarray(3 + certLength), body)) fail('body');
  const opened = await openEnvelope(check, {
    recipientPrivateKey: privateKey,
    bytes,
    tenantPublicKey: w.tenant.publicKey,
    now: NOW,
  });
  if (!equalBytes(opened.body, body)) fail('openEnvelope body');
  return {
    recipientPrivateKey: toHex(privateKey),
    outerHeader: toHex(r.header),
    hpkeInfo: toHex(r.hpkeInfo),
    hpkeEnc: toHex(r.enc),
    innerLength: inner.length,
    paddedInnerLength: r.padded.length,
    ...r.extra,
    envelope: toHex(bytes),
  };
}

function common(w: World) {
  const certificateBytes = encodeSenderCertificate(w.certificate);
  return {
    tenantPrivateKey: toHex(w.tenant.privateKey),
    tenantPublicKey: toHex(w.tenant.publicKey),
    certificate: {
      fields: {
        ...w.fields,
        identitySigningKey: toHex(w.fields.identitySigningKey),
        identityDhKey: toHex(w.fields.identityDhKey),
      },
      signedBytes: toHex(
        concatBytes(utf8('cloister/v1/sender-certificate'), certificateBytes.subarray(0, -64)),
      ),
      signature: toHex(w.certificate.signature),
      encoded: toHex(certificateBytes),
    },
    now: NOW,
  };
}

async function singleCase(name: string, body: Uint8Array) {
  const provider = plain.withRandom(INSECURE_seededRandomForTestsOnly(utf8(ENVELOPE_SEED_PREFIX + name)));
  const w = await world(provider);
  const bytes = await sealEnvelope(provider, {
    recipientPublicKey: w.bob.publicKey,
    mailbox: BOB_MAILBOX,
    deliveryToken: TOKEN,
    certificate: w.certificate,
    contentType: 1,
    body,
  });
  return {
    name,
    seed: ENVELOPE_SEED_PREFIX + name,
    kind: 'single',
    ...common(w),
    contentType: 1,
    body: toHex(body),
    recipients: [await describeEnvelope(w, bytes, w.bob.privateKey, body)],
  };
}

async function manyCase(name: string, body: Uint8Array) {
  const provider = plain.withRandom(INSECURE_seededRandomForTestsOnly(utf8(ENVELOPE_SEED_PREFIX + name)));
  const w = await world(provider);
  const out = await sealEnvelopeForMany(provider, {
    recipients: [
      { publicKey: w.bob.publicKey, mailbox: BOB_MAILBOX, deliveryToken: TOKEN },
      { publicKey: w.carol.publicKey, mailbox: CAROL_MAILBOX, deliveryToken: new Uint8Array(0) },
    ],
    certificate: w.certificate,
    contentType: 2,
    body,
  });
  const [forBob, forCarol] = out;
  if (forBob === undefined || forCarol === undefined) fail('two envelopes');
  return {
    name,
    seed: ENVELOPE_SEED_PREFIX + name,
    kind: 'shared',
    ...common(w),
    contentType: 2,
    body: toHex(body),
    recipients: [
      await describeEnvelope(w, forBob, w.bob.privateKey, body),
      await describeEnvelope(w, forCarol, w.carol.privateKey, body),
    ],
  };
}

async function codeOf(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
  } catch (e) {
    return (e as { code?: string }).code ?? fail('not a Cloister error');
  }
  return fail('negative case accepted');
}

export default {
  file: 'envelope.json',
  async generate(): Promise<unknown> {
    const single = await singleCase('single-short', utf8('hello, Bob'));
    const many = await manyCase('shared-two-recipients', utf8('hello, group'));
    const [first] = single.recipients;
    if (first === undefined) fail('single recipient');
    const envelope = first.envelope;
    const privateKey = first.recipientPrivateKey;
    const openHex = (bytesHex: string, now: number, tenantHex = single.tenantPublicKey) =>
      codeOf(() =>
        openEnvelope(check, {
          recipientPrivateKey: Buffer.from(privateKey, 'hex'),
          bytes: Buffer.from(bytesHex, 'hex'),
          tenantPublicKey: Buffer.from(tenantHex, 'hex'),
          now,
        }),
      );
    const flippedTag = `${envelope.slice(0, -2)}${(Number.parseInt(envelope.slice(-2), 16) ^ 1).toString(16).padStart(2, '0')}`;
    const negative = [
      {
        name: 'expired-certificate',
        description: 'single-short opened one millisecond after the certificate expired',
        envelope,
        now: single.certificate.fields.expiresAt + 1,
        tenantPublicKey: single.tenantPublicKey,
      },
      {
        name: 'other-tenant',
        description: 'single-short opened with the tenant key of shared-two-recipients',
        envelope,
        now: NOW,
        tenantPublicKey: many.tenantPublicKey,
      },
      {
        name: 'flipped-tag',
        description: 'single-short with the last tag bit flipped',
        envelope: flippedTag,
        now: NOW,
        tenantPublicKey: single.tenantPublicKey,
      },
      {
        name: 'unknown-version',
        description: 'single-short with version byte 0x02 (outer header, parsed by the server)',
        envelope: `02${envelope.slice(2)}`,
        now: NOW,
        tenantPublicKey: single.tenantPublicKey,
      },
    ];
    const negatives = [];
    for (const n of negative) {
      negatives.push({
        ...n,
        recipientPrivateKey: privateKey,
        expectedCode: await openHex(n.envelope, n.now, n.tenantPublicKey),
      });
    }
    return {
      source: {
        generator: 'scripts/vectors/envelope.ts',
        note: 'generated with seeded randomness; do not edit by hand',
      },
      spec: 'spec/envelope.md',
      encoding: 'byte strings are lower-case hex; times are milliseconds since the Unix epoch',
      cases: [single, many],
      negative: negatives,
    };
  },
};
