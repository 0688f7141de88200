/**
 * Test vectors for compliance archive seals, versions 2 and 3 (`test-vectors/archive-seal.json`,
 * construction in `spec/compliance-seal.md`; version 3 under the key `version3`, see
 * {@link generateVersion3}).
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
  ARCHIVE_KEY_ID_LABEL,
  ARCHIVE_SEAL_AAD_LABEL,
  ARCHIVE_SEAL_INFO_LABEL,
  ARCHIVE_SEAL_SIGNATURE_LABEL,
  ARCHIVE_SEAL_V3_AAD_LABEL,
  ARCHIVE_SEAL_V3_INFO_LABEL,
  ARCHIVE_SEAL_V3_SIGNATURE_LABEL,
  type ArchiveBindings,
  type ArchiveInspection,
  archiveKeyId,
  type CryptoProvider,
  concatBytes,
  createNobleProvider,
  encodeSenderCertificate,
  fromHex,
  generateHpkeKeyPair,
  inspectArchived,
  issueSenderCertificate,
  openArchived,
  openHpke,
  type SenderCertificate,
  sealArchived,
  sealForArchive,
  sealHpke,
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
  /** Version 3 only: the recipient of a 1:1 message (absent: a group message). Version 2 has none. */
  readonly recipient?: string;
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
    recipient: 'cfo@example.org',
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
      version3: await generateVersion3(),
    };
  },
};

// --- Version 3 -------------------------------------------------------------------------------

/**
 * The version-3 cases: those of version 2 (a 1:1 text message with its recipient; a file key in a
 * group, no recipient) and a recipient of the most UTF-8 bytes the layout allows.
 */
const V3_CASES: readonly CaseSpec[] = [
  ...CASES,
  {
    name: 'long-recipient',
    description:
      'a 1:1 message to a recipient of 255 UTF-8 bytes (the most recipLen allows), multi-byte characters',
    bindings: {
      messageId: new Uint8Array(16).fill(0x5c),
      conversationId: utf8('dm/ceo+ö'),
      sender: { userId: 'ceo@example.org', deviceId: 1 },
      sentAt: 1_767_312_000_000,
    },
    tenantId: 'acme',
    deliveryId: new Uint8Array(16).fill(0x6d),
    contentType: 'text/plain',
    content: utf8('ok'),
    recipient: `${'ä'.repeat(126)}x@x`,
  },
];

/** Prefix of every version-3 per-case seed (ASCII); v2 seeds stay as they were. */
export const ARCHIVE_SEAL_V3_SEED_PREFIX = 'cloister/test-vectors/archive-seal/v3/';

function seededV3(name: string): CryptoProvider {
  return createNobleProvider().withRandom(
    INSECURE_seededRandomForTestsOnly(utf8(ARCHIVE_SEAL_V3_SEED_PREFIX + name)),
  );
}

/** What goes into a version-3 seal built by hand (to build forgeries and to pin the layout). */
interface V3Parts {
  readonly bindings: ArchiveBindings;
  /** The recipient of a 1:1 message; absent: recipLen 0. */
  readonly recipient?: string;
  /** Replaces the whole record (to build one that does not parse); it is still signed. */
  readonly rawRecord?: Uint8Array;
  readonly contentType: string;
  readonly content: Uint8Array;
  /** The delivery id inside the signed record. */
  readonly deliveryId: Uint8Array;
  readonly certificate: SenderCertificate;
  readonly signingKey: Uint8Array;
  /** The archive public key the signature covers. */
  readonly signedFor: Uint8Array;
  /** The archive public key the seal is made to. */
  readonly sealTo: Uint8Array;
  /** The delivery id of the outer header (default: `deliveryId`). */
  readonly outerDeliveryId?: Uint8Array;
  /** The key id of the outer header (default: that of `sealTo`). */
  readonly keyId?: Uint8Array;
  /** Replaces the canonical zero padding; gets the unpadded length. */
  readonly padding?: (unpadded: number) => Uint8Array;
}

/** The bindings at the start of a version-3 record: messageId to sentAt (as in version 2). */
function v3Bindings(b: ArchiveBindings): Uint8Array {
  const userId = utf8(b.sender.userId);
  return concatBytes(
    b.messageId,
    uintBE(b.conversationId.length, 1),
    b.conversationId,
    uintBE(userId.length, 1),
    userId,
    uintBE(b.sender.deviceId, 4),
    uintBE(b.sentAt, 8),
  );
}

/**
 * The inner record (every byte before the signature) of spec/compliance-seal.md §7, or
 * `parts.rawRecord`. `recipientBytes` replaces the UTF-8 of `parts.recipient` (to build a
 * recipient that is not UTF-8).
 */
function v3Record(parts: V3Parts, recipientBytes?: Uint8Array): Uint8Array {
  if (parts.rawRecord !== undefined) return parts.rawRecord;
  const recipient =
    recipientBytes ?? (parts.recipient === undefined ? new Uint8Array(0) : utf8(parts.recipient));
  const type = utf8(parts.contentType);
  const cert = encodeSenderCertificate(parts.certificate);
  return concatBytes(
    v3Bindings(parts.bindings),
    uintBE(recipient.length, 1),
    recipient,
    uintBE(type.length, 1),
    type,
    uintBE(parts.content.length, 4),
    parts.content,
    parts.deliveryId,
    uintBE(cert.length, 2),
    cert,
  );
}

/** A version-3 seal assembled by hand from its parts; the HPKE ephemeral key comes from `p`. */
async function assembleV3(p: CryptoProvider, parts: V3Parts) {
  const record = v3Record(parts);
  const signatureInput = concatBytes(utf8(ARCHIVE_SEAL_V3_SIGNATURE_LABEL), parts.signedFor, record);
  const signature = await check.ed25519.sign(parts.signingKey, signatureInput);
  const unpadded = record.length + 64;
  const padding = parts.padding?.(unpadded) ?? new Uint8Array(Math.ceil(unpadded / 256) * 256 - unpadded);
  const plaintext = concatBytes(record, signature, padding);
  const keyId =
    parts.keyId ?? (await check.sha256(concatBytes(utf8(ARCHIVE_KEY_ID_LABEL), parts.sealTo))).subarray(0, 8);
  const header = concatBytes(Uint8Array.of(3), keyId, parts.outerDeliveryId ?? parts.deliveryId);
  const info = utf8(ARCHIVE_SEAL_V3_INFO_LABEL);
  const aad = concatBytes(utf8(ARCHIVE_SEAL_V3_AAD_LABEL), header);
  const { enc, ciphertext } = await sealHpke(p, {
    aead: 'aes-256-gcm',
    recipientPublicKey: parts.sealTo,
    info,
    aad,
    plaintext,
  });
  return {
    sealed: concatBytes(header, enc, ciphertext),
    intermediates: {
      keyId,
      header,
      info,
      aad,
      record,
      signatureInput,
      signature,
      plaintext,
      enc,
      ciphertext,
    },
  };
}

function verdict(i: ArchiveInspection): { status: string; reason?: string } {
  return 'reason' in i ? { status: i.status, reason: i.reason } : { status: i.status };
}

async function buildV3(spec: CaseSpec) {
  const p = seededV3(spec.name);
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
  // The same seed twice: sealArchived and the assembly by hand draw the same ephemeral key.
  const fork = seededV3(spec.name);
  await generateHpkeKeyPair(fork); // the archive key pair,
  await fork.ed25519.generateKeyPair(); // the tenant's,
  await fork.ed25519.generateKeyPair(); // the sender's identity keys
  await fork.x25519.generateKeyPair();
  const sealed = await sealArchived(p, {
    archivePublicKey: archive.publicKey,
    ...spec.bindings,
    ...(spec.recipient === undefined ? {} : { recipient: spec.recipient }),
    contentType: spec.contentType,
    content: spec.content,
    deliveryId: spec.deliveryId,
    certificate: sender.certificate,
    identitySigningKey: sender.signingKey,
  });
  const parts: V3Parts = {
    bindings: spec.bindings,
    ...(spec.recipient === undefined ? {} : { recipient: spec.recipient }),
    contentType: spec.contentType,
    content: spec.content,
    deliveryId: spec.deliveryId,
    certificate: sender.certificate,
    signingKey: sender.signingKey,
    signedFor: archive.publicKey,
    sealTo: archive.publicKey,
  };
  const byHand = await assembleV3(fork, parts);
  if (toHex(byHand.sealed) !== toHex(sealed)) fail(`v3 ${spec.name}: assembly by hand`);
  const m = byHand.intermediates;
  if (toHex(await archiveKeyId(check, archive.publicKey)) !== toHex(m.keyId)) fail(`v3 ${spec.name}: key id`);
  const reopened = await openHpke(check, {
    aead: 'aes-256-gcm',
    enc: m.enc,
    recipientPrivateKey: archive.privateKey,
    info: m.info,
    aad: m.aad,
    ciphertext: m.ciphertext,
  });
  if (toHex(reopened) !== toHex(m.plaintext)) fail(`v3 ${spec.name}: plaintext`);
  if (!(await check.ed25519.verify(sender.certificate.identitySigningKey, m.signatureInput, m.signature))) {
    fail(`v3 ${spec.name}: signature`);
  }
  const opened = await openArchived(check, {
    archivePrivateKey: archive.privateKey,
    tenantPublicKey: tenant.publicKey,
    tenantId: spec.tenantId,
    deliveryId: spec.deliveryId,
    bytes: sealed,
  });
  if (toHex(opened.content) !== toHex(spec.content) || opened.version !== 3)
    fail(`v3 ${spec.name}: openArchived`);
  if (
    opened.bindings.recipient !== spec.recipient ||
    (spec.recipient === undefined && 'recipient' in opened.bindings)
  )
    fail(`v3 ${spec.name}: recipient`);
  return {
    vector: {
      name: spec.name,
      description: spec.description,
      seed: ARCHIVE_SEAL_V3_SEED_PREFIX + spec.name,
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
      ...(spec.recipient === undefined ? {} : { recipient: spec.recipient }),
      deliveryId: toHex(spec.deliveryId),
      contentType: spec.contentType,
      content: toHex(spec.content),
      intermediates: {
        keyId: toHex(m.keyId),
        header: toHex(m.header),
        info: toHex(m.info),
        aad: toHex(m.aad),
        certificate: toHex(encodeSenderCertificate(sender.certificate)),
        record: toHex(m.record),
        signatureInput: toHex(m.signatureInput),
        signature: toHex(m.signature),
        plaintext: toHex(m.plaintext),
        enc: toHex(m.enc),
        ciphertext: toHex(m.ciphertext),
      },
      sealed: toHex(sealed),
    },
    archive,
    tenant,
    sender,
    parts,
    spec,
  };
}

async function invalidV3(base: Awaited<ReturnType<typeof buildV3>>) {
  const { vector, archive, tenant, parts, spec } = base;
  const bytes = fromHex(vector.sealed);
  const flip = (i: number): Uint8Array => {
    const b = bytes.slice();
    b[i] = (b[i] as number) ^ 1;
    return b;
  };
  // Every forgery below draws its keys and HPKE ephemeral keys from this one seed, in order.
  const p = seededV3('forgeries');
  const other = await generateHpkeKeyPair(p);
  const mallory = await member(
    p,
    tenant.privateKey,
    spec.tenantId,
    'mallory@example.org',
    5,
    spec.bindings.sentAt + 1,
  );
  const expired = await member(
    p,
    tenant.privateKey,
    spec.tenantId,
    spec.bindings.sender.userId,
    spec.bindings.sender.deviceId,
    spec.bindings.sentAt - 1,
  );
  const forge = async (changes: Partial<V3Parts>) => (await assembleV3(p, { ...parts, ...changes })).sealed;
  const otherDelivery = new Uint8Array(16).fill(0xee);
  const cases: {
    name: string;
    description: string;
    sealed: Uint8Array;
    expectedDeliveryId?: Uint8Array;
    expectedTenantId?: string;
    expect: { status: string; reason?: string };
  }[] = [
    {
      name: 'outer-header-changed',
      description: 'a bit of the outer delivery id flipped (the outer header is the HPKE aad)',
      sealed: flip(1 + 8),
      expect: { status: 'undecryptable' },
    },
    {
      name: 'key-id-changed',
      description: 'a bit of the key id flipped',
      sealed: flip(1),
      expect: { status: 'undecryptable' },
    },
    {
      name: 'version-changed',
      description: 'version byte set to 2',
      sealed: Uint8Array.from(bytes, (b, i) => (i === 0 ? 2 : b)),
      expect: { status: 'undecryptable' },
    },
    {
      name: 'ciphertext-changed',
      description: 'a bit of the AEAD tag flipped',
      sealed: flip(bytes.length - 1),
      expect: { status: 'undecryptable' },
    },
    {
      name: 'outer-delivery-id-swapped',
      description:
        'the valid inner record re-encrypted (anyone can: the archive key is public) under an outer header naming another delivery',
      sealed: await forge({ outerDeliveryId: otherDelivery }),
      expect: { status: 'misbound', reason: 'delivery' },
    },
    {
      name: 'moved-to-another-delivery',
      description: 'the valid seal checked against another delivery id than the one it is bound to',
      sealed: bytes,
      expectedDeliveryId: otherDelivery,
      expect: { status: 'misbound', reason: 'delivery' },
    },
    {
      name: 'resigned-by-another-member',
      description:
        "an inner record naming the CEO, the CEO's certificate, signed with Mallory's identity key",
      sealed: await forge({ signingKey: mallory.signingKey }),
      expect: { status: 'forged', reason: 'signature' },
    },
    {
      name: 'another-members-certificate',
      description: 'an inner record naming the CEO, signed by Mallory under her own (valid) certificate',
      sealed: await forge({ certificate: mallory.certificate, signingKey: mallory.signingKey }),
      expect: { status: 'forged', reason: 'sender' },
    },
    {
      name: 'certificate-expired',
      description: "the sender's own key and a certificate that expired before sentAt",
      sealed: await forge({ certificate: expired.certificate, signingKey: expired.signingKey }),
      expect: { status: 'forged', reason: 'expired' },
    },
    {
      name: 'another-tenant',
      description: 'the valid seal checked against another tenant id',
      sealed: bytes,
      expectedTenantId: 'globex',
      expect: { status: 'forged', reason: 'tenant' },
    },
    {
      name: 'signed-for-another-archive-key',
      description: 'a record signed for another archive key, re-encrypted to this one',
      sealed: await forge({ signedFor: other.publicKey }),
      expect: { status: 'forged', reason: 'signature' },
    },
    {
      name: 'key-id-mismatch',
      description: 'sealed to this archive key under the key id of another (the aad matches what was sent)',
      sealed: await forge({ keyId: await archiveKeyId(check, other.publicKey) }),
      expect: { status: 'undecryptable' },
    },
    {
      name: 'wrong-archive-key',
      description: 'a seal signed for and sealed to another archive key',
      sealed: await forge({ signedFor: other.publicKey, sealTo: other.publicKey }),
      expect: { status: 'undecryptable' },
    },
    {
      name: 'trailing-byte',
      description: 'one byte appended',
      sealed: concatBytes(bytes, Uint8Array.of(0)),
      expect: { status: 'undecryptable' },
    },
    {
      name: 'trailing-block',
      description: '256 zero bytes appended (a padded length)',
      sealed: concatBytes(bytes, new Uint8Array(256)),
      expect: { status: 'undecryptable' },
    },
    {
      name: 'truncated',
      description: 'the last byte removed',
      sealed: bytes.subarray(0, bytes.length - 1),
      expect: { status: 'undecryptable' },
    },
    {
      name: 'padding-not-zero',
      description: 'a valid record and signature, padding bytes 0x01',
      sealed: await forge({ padding: (n) => new Uint8Array(Math.ceil(n / 256) * 256 - n).fill(1) }),
      expect: { status: 'forged', reason: 'signature' },
    },
    {
      name: 'padding-extra-block',
      description: 'a valid record and signature, 256 bytes more zero padding than the canonical amount',
      sealed: await forge({ padding: (n) => new Uint8Array(Math.ceil(n / 256) * 256 - n + 256) }),
      expect: { status: 'forged', reason: 'signature' },
    },
    {
      name: 'recipient-length-past-record',
      description:
        'a signed record cut after recipLen = 255, which runs past the end of the plaintext (record, signature and padding)',
      sealed: await forge({ rawRecord: concatBytes(v3Bindings(spec.bindings), Uint8Array.of(255)) }),
      expect: { status: 'forged', reason: 'signature' },
    },
    {
      name: 'recipient-not-utf8',
      description: 'a signed record whose recipient is the byte 0xff (not UTF-8)',
      sealed: await forge({ rawRecord: v3Record(parts, Uint8Array.of(0xff)) }),
      expect: { status: 'forged', reason: 'signature' },
    },
    {
      name: 'recipient-lone-surrogate',
      description: 'a signed record whose recipient is ED A0 80 (U+D800 encoded: not well-formed UTF-8)',
      sealed: await forge({
        rawRecord: v3Record(parts, Uint8Array.of(0xed, 0xa0, 0x80)),
      }),
      expect: { status: 'forged', reason: 'signature' },
    },
  ];
  const out = [];
  for (const c of cases) {
    const options = {
      archivePrivateKey: archive.privateKey,
      tenantPublicKey: tenant.publicKey,
      bytes: c.sealed,
      ...(c.expectedDeliveryId === undefined ? {} : { deliveryId: c.expectedDeliveryId }),
      ...(c.expectedTenantId === undefined ? {} : { tenantId: c.expectedTenantId }),
    };
    const got = verdict(await inspectArchived(check, options));
    if (JSON.stringify(got) !== JSON.stringify(c.expect)) fail(`v3 ${c.name}: ${JSON.stringify(got)}`);
    let error = 'none';
    try {
      await openArchived(check, options);
    } catch (e) {
      error = (e as { code?: string }).code ?? 'unknown';
    }
    if (error !== 'ERR_DECRYPTION_FAILED') fail(`v3 ${c.name}: ${error}`);
    out.push({
      name: c.name,
      description: c.description,
      base: vector.name,
      ...(c.expectedDeliveryId === undefined ? {} : { expectedDeliveryId: toHex(c.expectedDeliveryId) }),
      ...(c.expectedTenantId === undefined ? {} : { expectedTenantId: c.expectedTenantId }),
      sealed: toHex(c.sealed),
      status: c.expect.status,
      ...(c.expect.reason === undefined ? {} : { reason: c.expect.reason }),
      error,
    });
  }
  return out;
}

/**
 * Version 3 (`version3` in the file): the same two messages as version 2, sealed in one step with
 * `sealArchived`. Each case draws, from the noble provider seeded with
 * `ASCII("cloister/test-vectors/archive-seal/v3/" + name)`, in this order: the archive X25519 key
 * pair, the tenant's Ed25519 certificate key pair, the sender's Ed25519 and X25519 identity key
 * pairs, then the HPKE ephemeral key. The script assembles every seal a second time by hand from
 * the layout (same seed) and requires the same bytes. Invalid cases record what `inspectArchived`
 * must say (`status`, `reason`) and that `openArchived` fails with `ERR_DECRYPTION_FAILED`;
 * forgeries draw from the seed `.../v3/forgeries`.
 */
async function generateVersion3() {
  const built = [];
  for (const spec of V3_CASES) built.push(await buildV3(spec));
  return {
    description:
      "Compliance archive seals, version 3: the sender's Ed25519 signature over a label, the archive public key and the inner record (bindings, the recipient of a 1:1 message, content type, content, delivery id, sender certificate), padded with zeros to a multiple of 256 bytes and sealed with HPKE mode base (DHKEM-X25519, HKDF-SHA256, AES-256-GCM) to the archive key; only version, key id and delivery id are readable. See spec/compliance-seal.md section 7.",
    layout:
      'version (1) = 3 | keyId (8) | deliveryId (16) | enc (32) | ciphertext; plaintext = messageId (16) | u8 len, conversationId | u8 len, userId | u32 deviceId | u64 sentAt | u8 len, recipient (0 = none) | u8 len, contentType | u32 len, content | deliveryId (16) | u16 len, certificate | signature (64) | zero padding to a multiple of 256',
    valid: built.map((b) => b.vector),
    invalid: await invalidV3(built[0] as Awaited<ReturnType<typeof buildV3>>),
  };
}
