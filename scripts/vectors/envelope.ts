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
  openOrganisationEnvelope,
  padToBucket,
  peekEnvelopeOuter,
  type RandomSource,
  type SenderCertificateFields,
  sealEnvelope,
  sealEnvelopeForMany,
  sealOrganisationEnvelopes,
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

/** A seeded random source that also records every draw, in order. */
function recording(seed: string): { random: RandomSource; draws: Uint8Array[] } {
  const source = INSECURE_seededRandomForTestsOnly(utf8(seed));
  const draws: Uint8Array[] = [];
  const random: RandomSource = {
    name: source.name,
    fill(out: Uint8Array): Uint8Array {
      source.fill(out);
      draws.push(out.slice());
      return out;
    },
  };
  return { random, draws };
}

/**
 * A kind-3 organisation envelope (spec/envelope.md §5a) to Bob's and Carol's devices. Draws, in
 * this order: Bob's X25519 private key, Carol's X25519 private key, the content key K, the HPKE
 * ephemeral private key for Bob, then for Carol. Every intermediate is recomputed with the node
 * provider from these draws and compared with the library's envelopes.
 */
async function organisationCase(name: string, object: Uint8Array) {
  const seed = ENVELOPE_SEED_PREFIX + name;
  const { random, draws } = recording(seed);
  const provider = plain.withRandom(random);
  const bob = await provider.x25519.generateKeyPair();
  const carol = await provider.x25519.generateKeyPair();
  const devices = [
    { name: 'bob', keys: bob, mailbox: BOB_MAILBOX, deliveryToken: TOKEN },
    { name: 'carol', keys: carol, mailbox: CAROL_MAILBOX, deliveryToken: new Uint8Array(0) },
  ];
  const envelopes = await sealOrganisationEnvelopes(provider, {
    recipients: devices.map((d) => ({
      publicKey: d.keys.publicKey,
      mailbox: d.mailbox,
      deliveryToken: d.deliveryToken,
    })),
    object,
  });
  if (draws.length !== 5 || draws.some((d) => d.length !== 32)) fail('organisation draw order');
  const [, , contentKey, ...ephemeral] = draws as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ];
  const padded = padToBucket(object);
  const contentAad = concatBytes(utf8('cloister/v1/envelope/organisation-content'), new Uint8Array([1]));
  const content = await check.aes256gcm.encrypt(contentKey, new Uint8Array(12), padded, contentAad);
  const digest = await check.sha256(concatBytes(utf8('cloister/v1/envelope/content-digest'), content));
  const recipients = [];
  for (const [i, d] of devices.entries()) {
    const bytes = envelopes[i] ?? fail('one envelope per device');
    const header = concatBytes(
      new Uint8Array([1, 3, d.mailbox.length]),
      d.mailbox,
      new Uint8Array([d.deliveryToken.length]),
      d.deliveryToken,
    );
    const hpkeInfo = info('cloister/v1/envelope/key-wrap', 3, d.mailbox);
    const wrapAad = concatBytes(header, digest);
    const eph = ephemeral[i] ?? fail('ephemeral draw');
    const enc = await check.x25519.publicKey(eph);
    const wrapped = bytes.subarray(header.length + 32, header.length + 80);
    const unwrapped = await openHpke(check, {
      aead: 'aes-256-gcm',
      enc,
      recipientPrivateKey: d.keys.privateKey,
      info: hpkeInfo,
      ciphertext: wrapped,
      aad: wrapAad,
    });
    if (!equalBytes(unwrapped, contentKey)) fail('unwrapped content key');
    if (!equalBytes(bytes, concatBytes(header, enc, wrapped, content))) fail('organisation envelope layout');
    const opened = await openOrganisationEnvelope(check, { recipientPrivateKey: d.keys.privateKey, bytes });
    if (!equalBytes(opened.object, object) || !equalBytes(opened.mailbox, d.mailbox)) fail('opened object');
    recipients.push({
      device: d.name,
      recipientPrivateKey: toHex(d.keys.privateKey),
      recipientPublicKey: toHex(d.keys.publicKey),
      mailbox: toHex(d.mailbox),
      deliveryToken: toHex(d.deliveryToken),
      outerHeader: toHex(header),
      hpkeInfo: toHex(hpkeInfo),
      wrapAad: toHex(wrapAad),
      hpkeEphemeralPrivateKey: toHex(eph),
      hpkeEnc: toHex(enc),
      wrappedKey: toHex(wrapped),
      envelope: toHex(bytes),
    });
  }
  return {
    name,
    seed,
    kind: 'organisation',
    randomDraws: draws.map(toHex),
    object: toHex(object),
    objectLength: object.length,
    paddedObject: toHex(padded),
    contentKey: toHex(contentKey),
    contentAad: toHex(contentAad),
    content: toHex(content),
    contentDigest: toHex(digest),
    recipients,
  };
}

function flipHex(bytesHex: string, at: number): string {
  const i = 2 * at;
  const b = (Number.parseInt(bytesHex.slice(i, i + 2), 16) ^ 1).toString(16).padStart(2, '0');
  return `${bytesHex.slice(0, i)}${b}${bytesHex.slice(i + 2)}`;
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
    const org = await organisationCase(
      'organisation-two-devices',
      utf8('signed organisation object: broadcast "office closed Friday" (opaque to the envelope)'),
    );
    const [orgBob, orgCarol] = org.recipients;
    const [manyBob] = many.recipients;
    if (orgBob === undefined || orgCarol === undefined || manyBob === undefined)
      fail('organisation recipients');
    const orgHeaderLength = orgBob.outerHeader.length / 2;
    const orgContentAt = orgHeaderLength + 80;
    const spliced = `${orgBob.outerHeader}${orgCarol.hpkeEnc}${orgCarol.wrappedKey}${org.content}`;
    const organisationNegative = [
      {
        name: 'message-as-organisation-single',
        description: 'single-short (kind 1) opened with openOrganisationEnvelope',
        open: 'organisation',
        envelope,
        recipientPrivateKey: privateKey,
      },
      {
        name: 'message-as-organisation-shared',
        description: "shared-two-recipients (kind 2), Bob's envelope, opened with openOrganisationEnvelope",
        open: 'organisation',
        envelope: manyBob.envelope,
        recipientPrivateKey: manyBob.recipientPrivateKey,
      },
      {
        name: 'message-relabelled-organisation',
        description:
          "shared-two-recipients, Bob's envelope with its kind byte set to 3, opened with openOrganisationEnvelope",
        open: 'organisation',
        envelope: `${manyBob.envelope.slice(0, 2)}03${manyBob.envelope.slice(4)}`,
        recipientPrivateKey: manyBob.recipientPrivateKey,
      },
      {
        name: 'organisation-as-message',
        description: "organisation-two-devices, Bob's envelope (kind 3), opened with openEnvelope",
        open: 'message',
        envelope: orgBob.envelope,
        recipientPrivateKey: orgBob.recipientPrivateKey,
        tenantPublicKey: many.tenantPublicKey,
        now: NOW,
      },
      {
        name: 'organisation-relabelled-message',
        description:
          "organisation-two-devices, Bob's envelope with its kind byte set to 2, opened with openEnvelope",
        open: 'message',
        envelope: `${orgBob.envelope.slice(0, 2)}02${orgBob.envelope.slice(4)}`,
        recipientPrivateKey: orgBob.recipientPrivateKey,
        tenantPublicKey: many.tenantPublicKey,
        now: NOW,
      },
      {
        name: 'organisation-flipped-content',
        description:
          "organisation-two-devices, Bob's envelope with the low bit of the first content byte flipped",
        open: 'organisation',
        envelope: flipHex(orgBob.envelope, orgContentAt),
        recipientPrivateKey: orgBob.recipientPrivateKey,
      },
      {
        name: 'organisation-flipped-content-tag',
        description:
          "organisation-two-devices, Carol's envelope with the low bit of the last content tag byte flipped",
        open: 'organisation',
        envelope: flipHex(orgCarol.envelope, orgCarol.envelope.length / 2 - 1),
        recipientPrivateKey: orgCarol.recipientPrivateKey,
      },
      {
        name: 'organisation-flipped-wrap',
        description:
          "organisation-two-devices, Bob's envelope with the low bit of the first wrapped-key byte flipped",
        open: 'organisation',
        envelope: flipHex(orgBob.envelope, orgHeaderLength + 32),
        recipientPrivateKey: orgBob.recipientPrivateKey,
      },
      {
        name: 'organisation-flipped-enc',
        description:
          "organisation-two-devices, Bob's envelope with the low bit of the first enc byte flipped",
        open: 'organisation',
        envelope: flipHex(orgBob.envelope, orgHeaderLength),
        recipientPrivateKey: orgBob.recipientPrivateKey,
      },
      {
        name: 'organisation-wrap-for-other-device',
        description:
          "Bob's header with Carol's enc and wrap and the shared content, opened with Carol's key (the wrap is hers, the header is not)",
        open: 'organisation',
        envelope: spliced,
        recipientPrivateKey: orgCarol.recipientPrivateKey,
      },
      {
        name: 'organisation-wrap-for-other-device-own-key',
        description: "the same spliced envelope opened with Bob's key (the header is his, the wrap is not)",
        open: 'organisation',
        envelope: spliced,
        recipientPrivateKey: orgBob.recipientPrivateKey,
      },
      {
        name: 'organisation-other-device-key',
        description: "organisation-two-devices, Bob's envelope opened with Carol's private key",
        open: 'organisation',
        envelope: orgBob.envelope,
        recipientPrivateKey: orgCarol.recipientPrivateKey,
      },
      {
        name: 'organisation-unknown-kind',
        description:
          "organisation-two-devices, Bob's envelope with kind byte 0x04 (outer header, parsed by the server)",
        open: 'organisation',
        envelope: `${orgBob.envelope.slice(0, 2)}04${orgBob.envelope.slice(4)}`,
        recipientPrivateKey: orgBob.recipientPrivateKey,
      },
    ];
    const organisationNegatives = [];
    for (const n of organisationNegative) {
      const expectedCode = await codeOf(() =>
        n.open === 'organisation'
          ? openOrganisationEnvelope(check, {
              recipientPrivateKey: Buffer.from(n.recipientPrivateKey, 'hex'),
              bytes: Buffer.from(n.envelope, 'hex'),
            })
          : openEnvelope(check, {
              recipientPrivateKey: Buffer.from(n.recipientPrivateKey, 'hex'),
              bytes: Buffer.from(n.envelope, 'hex'),
              tenantPublicKey: Buffer.from(n.tenantPublicKey ?? fail('tenant key'), 'hex'),
              now: n.now ?? fail('now'),
            }),
      );
      organisationNegatives.push({ ...n, expectedCode });
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
      organisation: [org],
      organisationNegative: organisationNegatives,
    };
  },
};
