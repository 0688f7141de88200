/**
 * Test vectors for compliance archive seals (`test-vectors/archive-seal.json`, construction in
 * `spec/compliance-seal.md`).
 *
 * Each case draws the archive key pair and then the HPKE ephemeral key from the noble provider
 * seeded with `INSECURE_seededRandomForTestsOnly(ASCII("cloister/test-vectors/archive-seal/" +
 * name))`. The intermediates (HPKE `info`, `aad`, plaintext, `enc`, ciphertext) let any RFC 9180
 * implementation check a case with `Open(enc, skR, info, aad, ct)`; this script re-opens every
 * case with the node provider before writing it. Invalid cases must fail with
 * `ERR_DECRYPTION_FAILED`.
 */
import {
  ARCHIVE_SEAL_AAD_LABEL,
  ARCHIVE_SEAL_INFO_LABEL,
  type ArchiveBindings,
  type CryptoProvider,
  concatBytes,
  createNobleProvider,
  fromHex,
  generateHpkeKeyPair,
  openArchived,
  openHpke,
  sealForArchive,
  toHex,
  utf8,
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
  readonly contentType: string;
  readonly content: Uint8Array;
}

const CASES: readonly CaseSpec[] = [
  {
    name: 'text-message',
    description: 'a text message in a conversation',
    bindings: {
      messageId: Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i),
      conversationId: utf8('conversation/7f3a'),
      sender: { userId: 'alice@example.org', deviceId: 2 },
      sentAt: 1_767_225_600_123,
    },
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
      sentAt: Number.MAX_SAFE_INTEGER,
    },
    contentType: 'cloister/file-key',
    content: Uint8Array.from({ length: 32 }, (_, i) => i),
  },
];

async function build(spec: CaseSpec) {
  const p = seeded(spec.name);
  const archive = await generateHpkeKeyPair(p);
  const sealed = await sealForArchive(p, {
    archivePublicKey: archive.publicKey,
    ...spec.bindings,
    contentType: spec.contentType,
    content: spec.content,
  });
  const contentTypeBytes = utf8(spec.contentType);
  const plaintext = concatBytes(Uint8Array.of(contentTypeBytes.length), contentTypeBytes, spec.content);
  const ctLength = plaintext.length + 16;
  const header = sealed.subarray(0, sealed.length - 32 - ctLength);
  const enc = sealed.subarray(header.length, header.length + 32);
  const ciphertext = sealed.subarray(header.length + 32);
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
  const opened = await openArchived(check, { archivePrivateKey: archive.privateKey, bytes: sealed });
  if (toHex(opened.content) !== toHex(spec.content)) fail(`${spec.name}: openArchived`);
  return {
    name: spec.name,
    description: spec.description,
    seed: ARCHIVE_SEAL_SEED_PREFIX + spec.name,
    archivePrivateKey: toHex(archive.privateKey),
    archivePublicKey: toHex(archive.publicKey),
    messageId: toHex(spec.bindings.messageId),
    conversationId: toHex(spec.bindings.conversationId),
    senderUserId: spec.bindings.sender.userId,
    senderDeviceId: spec.bindings.sender.deviceId,
    sentAt: spec.bindings.sentAt,
    contentType: spec.contentType,
    content: toHex(spec.content),
    intermediates: {
      header: toHex(header),
      info: toHex(info),
      aad: toHex(aad),
      plaintext: toHex(plaintext),
      enc: toHex(enc),
      ciphertext: toHex(ciphertext),
    },
    sealed: toHex(sealed),
  };
}

async function invalid(valid: Awaited<ReturnType<typeof build>>) {
  const bytes = fromHex(valid.sealed);
  const key = fromHex(valid.archivePrivateKey);
  const flip = (i: number): Uint8Array => {
    const b = bytes.slice();
    b[i] = (b[i] as number) ^ 1;
    return b;
  };
  const cases = [
    { name: 'version-changed', description: 'version byte set to 2', sealed: flip(0) },
    { name: 'message-id-changed', description: 'a bit of the message id flipped', sealed: flip(5) },
    {
      name: 'sent-at-changed',
      description: 'the last bit of sentAt flipped',
      sealed: flip(valid.intermediates.header.length / 2 - 1),
    },
    { name: 'tag-changed', description: 'a bit of the AEAD tag flipped', sealed: flip(bytes.length - 1) },
    { name: 'truncated', description: 'the last byte removed', sealed: bytes.subarray(0, bytes.length - 1) },
  ];
  const out = [];
  for (const c of cases) {
    let error = 'none';
    try {
      await openArchived(check, { archivePrivateKey: key, bytes: c.sealed });
    } catch (e) {
      error = (e as { code?: string }).code ?? 'unknown';
    }
    if (error !== 'ERR_DECRYPTION_FAILED') fail(`${c.name}: ${error}`);
    out.push({ name: c.name, description: c.description, base: valid.name, sealed: toHex(c.sealed), error });
  }
  return out;
}

export default {
  file: 'archive-seal.json',
  async generate() {
    const valid = [];
    for (const spec of CASES) valid.push(await build(spec));
    return {
      description:
        'Compliance archive seals: HPKE mode base (DHKEM-X25519, HKDF-SHA256, AES-256-GCM) to the archive key, bound to the message bindings. See spec/compliance-seal.md.',
      layout:
        'version (1) | messageId (16) | u8 len, conversationId | u8 len, userId | u32 deviceId | u64 sentAt | enc (32) | ciphertext',
      valid,
      invalid: await invalid(valid[0] as Awaited<ReturnType<typeof build>>),
    };
  },
};
