/**
 * Test vectors for compliance archive seals, version 2 (`test-vectors/archive-seal.json`,
 * construction in `spec/compliance-seal.md`).
 *
 * Each case draws, from the noble provider seeded with
 * `INSECURE_seededRandomForTestsOnly(ASCII("cloister/test-vectors/archive-seal/" + name))`, in
 * this order: the archive X25519 key pair, the tenant's Ed25519 certificate key pair, the sender
 * device's Ed25519 identity key pair, its X25519 identity key pair, then the HPKE ephemeral key.
 * The intermediates (HPKE `info`, `aad`, plaintext, `enc`, ciphertext, the unsigned body, the
 * encoded certificate and the signature input) let any RFC 9180 and RFC 8032 implementation check
 * a case; this script re-opens and re-verifies every case with the node provider before writing
 * it. Invalid cases must fail with `ERR_DECRYPTION_FAILED` (given `expectedDeliveryId` when the
 * case has one); they include a seal re-signed by another member under the CEO's certificate, a
 * seal signed by another member under its own certificate that claims the CEO as sender, altered
 * bindings, and a seal moved to another delivery.
 */
import {
  ARCHIVE_SEAL_AAD_LABEL,
  ARCHIVE_SEAL_INFO_LABEL,
  ARCHIVE_SEAL_SIGNATURE_LABEL,
  type ArchiveBindings,
  type CryptoProvider,
  concatBytes,
  createNobleProvider,
  encodeSenderCertificate,
  fromHex,
  generateHpkeKeyPair,
  issueSenderCertificate,
  openArchived,
  openHpke,
  type SenderCertificate,
  sealForArchive,
  signArchiveSeal,
  toHex,
  uintBE,
  utf8,
  verifyArchived,
} from '@cloister/crypto';
import { createNodeProvider } from '@cloister/crypto/node';
import { INSECURE_seededRandomForTestsOnly } from '@cloister/crypto/testing';

/** Prefix of every per-case seed (ASCII). */
export const ARCHIVE_SEAL_SEED_PREFIX = 'cloister/test-vectors/archive-seal/';

const check = createNodeProvider();

function seeded(name: string): CryptoProvider {
  return createNobleProvider().withRandom(
    INSECURE_seededRandomForTestsOnly(utf8(ARCHIVE_SEAL_SEED_PREFIX + name)),
  );
}

function fail(what: string): never {
  throw new Error(`archive-seal vector self-check failed: ${what}`);
}

interface CaseSpec {
  readonly name: string;
  readonly description: string;
  readonly bindings: ArchiveBindings;
  readonly tenantId: string;
  readonly deliveryId: Uint8Array;
  readonly contentType: string;
  readonly content: Uint8Array;
}

const CASES: readonly CaseSpec[] = [
  {
    name: 'text-message',
    description: 'a text message in a conversation, sent by the CEO',
    bindings: {
      messageId: Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i),
      conversationId: utf8('conversation/7f3a'),
      sender: { userId: 'ceo@example.org', deviceId: 2 },
      sentAt: 1_767_225_600_123,
    },
    tenantId: 'acme',
    deliveryId: Uint8Array.from({ length: 16 }, (_, i) => 0x30 + i),
    contentType: 'text/plain',
    content: utf8('Quarterly numbers are final.'),
  },
  {
    name: 'file-key',
    description: 'the 32-byte key of an attachment; empty conversation id; large device id and time',
    bindings: {
      messageId: new Uint8Array(16).fill(0x11),
      conversationId: new Uint8Array(0),
      sender: { userId: 'Jürgen', deviceId: 0xffff_fffe },
      sentAt: Number.MAX_SAFE_INTEGER - 1,
    },
    tenantId: 'acme',
    deliveryId: new Uint8Array(16).fill(0x22),
    contentType: 'cloister/file-key',
    content: Uint8Array.from({ length: 32 }, (_, i) => i),
  },
];

interface Member {
  readonly signingKey: Uint8Array;
  readonly certificate: SenderCertificate;
}

async function member(
  p: CryptoProvider,
  tenantPrivateKey: Uint8Array,
  tenantId: string,
  userId: string,
  deviceId: number,
  expiresAt: number,
): Promise<Member> {
  const signing = await p.ed25519.generateKeyPair();
  const dh = await p.x25519.generateKeyPair();
  const certificate = await issueSenderCertificate(p, tenantPrivateKey, {
    userId,
    deviceId,
    identitySigningKey: signing.publicKey,
    identityDhKey: dh.publicKey,
    tenantId,
    pools: [],
    expiresAt,
  });
  return { signingKey: signing.privateKey, certificate };
}

/** The seal from its parts, signed by `signingKey` whatever the certificate says (to build forgeries). */
async function assemble(
  body: Uint8Array,
  deliveryId: Uint8Array,
  certificate: SenderCertificate,
  signingKey: Uint8Array,
): Promise<Uint8Array> {
  const cert = encodeSenderCertificate(certificate);
  const signed = concatBytes(body, deliveryId, uintBE(cert.length, 2), cert);
  const signature = await check.ed25519.sign(
    signingKey,
    concatBytes(utf8(ARCHIVE_SEAL_SIGNATURE_LABEL), signed),
  );
  return concatBytes(signed, signature);
}

async function build(spec: CaseSpec) {
  const p = seeded(spec.name);
  const archive = await generateHpkeKeyPair(p);
  const tenant = await p.ed25519.generateKeyPair();
  const sender = await member(
    p,
    tenant.privateKey,
    spec.tenantId,
    spec.bindings.sender.userId,
    spec.bindings.sender.deviceId,
    spec.bindings.sentAt + 1,
  );
  const body = await sealForArchive(p, {
    archivePublicKey: archive.publicKey,
    ...spec.bindings,
    contentType: spec.contentType,
    content: spec.content,
  });
  const sealed = await signArchiveSeal(p, {
    body,
    deliveryId: spec.deliveryId,
    certificate: sender.certificate,
    identitySigningKey: sender.signingKey,
  });
  if (toHex(await assemble(body, spec.deliveryId, sender.certificate, sender.signingKey)) !== toHex(sealed)) {
    fail(`${spec.name}: assemble`);
  }
  const contentTypeBytes = utf8(spec.contentType);
  const plaintext = concatBytes(Uint8Array.of(contentTypeBytes.length), contentTypeBytes, spec.content);
  const ctLength = plaintext.length + 16;
  const headerLength = body.length - 32 - 4 - ctLength;
  const header = body.subarray(0, headerLength);
  const enc = body.subarray(headerLength, headerLength + 32);
  const ciphertext = body.subarray(headerLength + 36);
  const info = utf8(ARCHIVE_SEAL_INFO_LABEL);
  const aad = concatBytes(utf8(ARCHIVE_SEAL_AAD_LABEL), header);
  const reopened = await openHpke(check, {
    aead: 'aes-256-gcm',
    enc,
    recipientPrivateKey: archive.privateKey,
    info,
    aad,
    ciphertext,
  });
  if (toHex(reopened) !== toHex(plaintext)) fail(`${spec.name}: plaintext`);
  const certificate = encodeSenderCertificate(sender.certificate);
  const signatureInput = concatBytes(
    utf8(ARCHIVE_SEAL_SIGNATURE_LABEL),
    sealed.subarray(0, sealed.length - 64),
  );
  const signature = sealed.subarray(sealed.length - 64);
  if (!(await check.ed25519.verify(sender.certificate.identitySigningKey, signatureInput, signature))) {
    fail(`${spec.name}: signature`);
  }
  const opened = await openArchived(check, {
    archivePrivateKey: archive.privateKey,
    tenantPublicKey: tenant.publicKey,
    tenantId: spec.tenantId,
    deliveryId: spec.deliveryId,
    bytes: sealed,
  });
  if (toHex(opened.content) !== toHex(spec.content)) fail(`${spec.name}: openArchived`);
  return {
    vector: {
      name: spec.name,
      description: spec.description,
      seed: ARCHIVE_SEAL_SEED_PREFIX + spec.name,
      archivePrivateKey: toHex(archive.privateKey),
      archivePublicKey: toHex(archive.publicKey),
      tenantPublicKey: toHex(tenant.publicKey),
      tenantId: spec.tenantId,
      identitySigningKey: toHex(sender.certificate.identitySigningKey),
      messageId: toHex(spec.bindings.messageId),
      conversationId: toHex(spec.bindings.conversationId),
      senderUserId: spec.bindings.sender.userId,
      senderDeviceId: spec.bindings.sender.deviceId,
      sentAt: spec.bindings.sentAt,
      deliveryId: toHex(spec.deliveryId),
      contentType: spec.contentType,
      content: toHex(spec.content),
      intermediates: {
        header: toHex(header),
        info: toHex(info),
        aad: toHex(aad),
        plaintext: toHex(plaintext),
        enc: toHex(enc),
        ciphertext: toHex(ciphertext),
        body: toHex(body),
        certificate: toHex(certificate),
        signatureInput: toHex(signatureInput),
        signature: toHex(signature),
      },
      sealed: toHex(sealed),
    },
    body,
    tenant,
    sender,
    spec,
  };
}

async function invalid(base: Awaited<ReturnType<typeof build>>) {
  const { vector, body, tenant, spec } = base;
  const bytes = fromHex(vector.sealed);
  const flip = (i: number): Uint8Array => {
    const b = bytes.slice();
    b[i] = (b[i] as number) ^ 1;
    return b;
  };
  const p = seeded('mallory');
  const mallory = await member(
    p,
    tenant.privateKey,
    spec.tenantId,
    'mallory@example.org',
    5,
    spec.bindings.sentAt + 1,
  );
  const headerLength = vector.intermediates.header.length / 2;
  const bodyLength = body.length;
  const expired = await member(
    p,
    tenant.privateKey,
    spec.tenantId,
    spec.bindings.sender.userId,
    spec.bindings.sender.deviceId,
    spec.bindings.sentAt - 1,
  );
  const cases: { name: string; description: string; sealed: Uint8Array; expectedDeliveryId?: Uint8Array }[] =
    [
      {
        name: 'resigned-by-another-member',
        description:
          "Mallory's body naming the CEO as sender, the CEO's certificate (which she saw on a message from the CEO), signed with Mallory's identity key",
        sealed: await assemble(body, spec.deliveryId, base.sender.certificate, mallory.signingKey),
      },
      {
        name: 'another-members-certificate',
        description: 'a body naming the CEO as sender, signed by Mallory under her own (valid) certificate',
        sealed: await assemble(body, spec.deliveryId, mallory.certificate, mallory.signingKey),
      },
      {
        name: 'moved-to-another-delivery',
        description: 'the valid seal checked against another delivery id than the one it is bound to',
        sealed: bytes,
        expectedDeliveryId: new Uint8Array(16).fill(0xee),
      },
      {
        name: 'delivery-id-changed',
        description: 'a bit of the bound delivery id flipped',
        sealed: flip(bodyLength),
      },
      { name: 'message-id-changed', description: 'a bit of the message id flipped', sealed: flip(5) },
      {
        name: 'sent-at-changed',
        description: 'the last bit of sentAt flipped',
        sealed: flip(headerLength - 1),
      },
      {
        name: 'certificate-expired',
        description: "the sender's own key and a certificate that expired before sentAt",
        sealed: await assemble(body, spec.deliveryId, expired.certificate, expired.signingKey),
      },
      {
        name: 'signature-changed',
        description: 'a bit of the signature flipped',
        sealed: flip(bytes.length - 1),
      },
      {
        name: 'ciphertext-changed',
        description: 'a bit of the AEAD tag flipped',
        sealed: flip(bodyLength - 1),
      },
      { name: 'unsigned-body', description: 'the unsigned body alone', sealed: body },
      { name: 'version-changed', description: 'version byte set to 3', sealed: flip(0) },
      {
        name: 'version-1',
        description: 'version byte set to 1 (legacy unsigned seals are refused)',
        sealed: Uint8Array.from(bytes, (b, i) => (i === 0 ? 1 : b)),
      },
      {
        name: 'truncated',
        description: 'the last byte removed',
        sealed: bytes.subarray(0, bytes.length - 1),
      },
    ];
  const out = [];
  for (const c of cases) {
    let error = 'none';
    try {
      await openArchived(check, {
        archivePrivateKey: fromHex(vector.archivePrivateKey),
        tenantPublicKey: tenant.publicKey,
        bytes: c.sealed,
        ...(c.expectedDeliveryId === undefined ? {} : { deliveryId: c.expectedDeliveryId }),
      });
    } catch (e) {
      error = (e as { code?: string }).code ?? 'unknown';
    }
    if (error !== 'ERR_DECRYPTION_FAILED') fail(`${c.name}: ${error}`);
    let verifyError = 'none';
    try {
      await verifyArchived(check, {
        tenantPublicKey: tenant.publicKey,
        bytes: c.sealed,
        ...(c.expectedDeliveryId === undefined ? {} : { deliveryId: c.expectedDeliveryId }),
      });
    } catch (e) {
      verifyError = (e as { code?: string }).code ?? 'unknown';
    }
    // A changed tag only fails to open; everything else fails verification already.
    if (c.name !== 'ciphertext-changed' && verifyError !== 'ERR_DECRYPTION_FAILED') fail(`${c.name}: verify`);
    out.push({
      name: c.name,
      description: c.description,
      base: vector.name,
      ...(c.expectedDeliveryId === undefined ? {} : { expectedDeliveryId: toHex(c.expectedDeliveryId) }),
      sealed: toHex(c.sealed),
      error,
    });
  }
  return out;
}

export default {
  file: 'archive-seal.json',
  async generate() {
    const built = [];
    for (const spec of CASES) built.push(await build(spec));
    return {
      description:
        "Compliance archive seals, version 2: HPKE mode base (DHKEM-X25519, HKDF-SHA256, AES-256-GCM) to the archive key, bound to the message bindings and the delivery id, signed (Ed25519) by the sender device's identity key, with the sender certificate. See spec/compliance-seal.md.",
      layout:
        'version (1) = 2 | messageId (16) | u8 len, conversationId | u8 len, userId | u32 deviceId | u64 sentAt | enc (32) | u32 len, ciphertext | deliveryId (16) | u16 len, certificate | signature (64)',
      valid: built.map((b) => b.vector),
      invalid: await invalid(built[0] as Awaited<ReturnType<typeof build>>),
    };
  },
};
