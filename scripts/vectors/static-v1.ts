/**
 * Test vectors for suite static-v1 (`test-vectors/static-v1.json`, format in
 * `test-vectors/README.md`).
 *
 * Each case draws its key pairs and IV from the noble provider with
 * `INSECURE_seededRandomForTestsOnly(ASCII("cloister/test-vectors/static-v1/" + seed name))`, in the
 * order sender key, recipient key(s), IV(s). Every intermediate is recomputed from the primitives
 * and compared with the message the suite produced, so the file cannot disagree with the code.
 */
import {
  type CryptoProvider,
  concatBytes,
  createNobleProvider,
  equalBytes,
  type KeyPair,
  STATIC_V1_DEFAULTS,
  STATIC_V1_INFO_LABEL,
  STATIC_V1_IV_LENGTH,
  STATIC_V1_MAC_LENGTH,
  STATIC_V1_MAX_PLAINTEXT,
  STATIC_V1_OVERHEAD,
  STATIC_V1_VERSION,
  type StaticV1Params,
  staticV1Decrypt,
  staticV1DeriveKeys,
  staticV1Encrypt,
  staticV1EncryptForRecipients,
  toHex,
  utf8,
  wipe,
} from '@cloister/crypto';
import { INSECURE_seededRandomForTestsOnly } from '@cloister/crypto/testing';

/** Prefix of every per-case seed (ASCII). */
export const STATIC_V1_SEED_PREFIX = 'cloister/test-vectors/static-v1/';

const plain = createNobleProvider();

function seeded(name: string): CryptoProvider {
  return createNobleProvider().withRandom(
    INSECURE_seededRandomForTestsOnly(utf8(STATIC_V1_SEED_PREFIX + name)),
  );
}

/** Deterministic readable plaintext of `length` bytes. */
function text(length: number): Uint8Array {
  const source = 'Cloister static-v1 test plaintext. The quick brown fox jumps over the lazy dog. ';
  let s = '';
  while (s.length < length) s += source;
  return utf8(s.slice(0, length));
}

function pairJson(pair: KeyPair): { privateKey: string; publicKey: string } {
  return { privateKey: toHex(pair.privateKey), publicKey: toHex(pair.publicKey) };
}

function paramsJson(params: StaticV1Params): {
  hkdfSalt: string;
  hkdfInfoLabel: string;
  bindPublicKeys: boolean;
} {
  return {
    hkdfSalt: toHex(params.hkdfSalt),
    hkdfInfoLabel: toHex(params.hkdfInfoLabel),
    bindPublicKeys: params.bindPublicKeys,
  };
}

function fail(what: string): never {
  throw new Error(`static-v1 vector self-check failed: ${what}`);
}

/** Every intermediate of one message, recomputed and checked against `message`. */
async function explain(
  name: string,
  sender: KeyPair,
  recipient: KeyPair,
  plaintext: Uint8Array,
  message: Uint8Array,
  params: StaticV1Params,
): Promise<Record<string, string>> {
  const keys = await staticV1DeriveKeys(plain, {
    own: sender,
    peerPublicKey: recipient.publicKey,
    role: 'sender',
    params,
  });
  const theirs = await staticV1DeriveKeys(plain, {
    own: recipient,
    peerPublicKey: sender.publicKey,
    role: 'recipient',
    params,
  });
  if (!equalBytes(keys.expanded, theirs.expanded)) fail(`${name}: both sides derive the same keys`);
  const iv = message.slice(1, 1 + STATIC_V1_IV_LENGTH);
  const ciphertext = await plain.aes256cbc.encrypt(keys.encKey, iv, plaintext);
  const macInput = concatBytes(Uint8Array.of(STATIC_V1_VERSION), iv, ciphertext);
  const mac = await plain.hmacSha256(keys.macKey, macInput);
  if (!equalBytes(concatBytes(macInput, mac), message))
    fail(`${name}: message = version | iv | ciphertext | mac`);
  const opened = await staticV1Decrypt(plain, {
    recipient,
    senderPublicKey: sender.publicKey,
    message,
    params,
  });
  if (!equalBytes(opened, plaintext)) fail(`${name}: decrypts to the plaintext`);
  const out = {
    sharedSecret: toHex(keys.shared),
    hkdfSalt: toHex(keys.salt),
    hkdfInfo: toHex(keys.info),
    expandedKey: toHex(keys.expanded),
    encKey: toHex(keys.encKey),
    macKey: toHex(keys.macKey),
    iv: toHex(iv),
    ciphertext: toHex(ciphertext),
    macInput: toHex(macInput),
    mac: toHex(mac),
    message: toHex(message),
  };
  wipe(keys.shared, keys.expanded, keys.encKey, keys.macKey);
  wipe(theirs.shared, theirs.expanded, theirs.encKey, theirs.macKey);
  return out;
}

interface CaseSpec {
  readonly name: string;
  readonly description: string;
  readonly length: number;
  /** Seed name for the key pairs (default: the case name). */
  readonly keysFrom?: string;
  /** Swap the generated key pairs (a reply in the opposite direction). */
  readonly reply?: boolean;
  readonly params?: StaticV1Params;
}

const CASES: readonly CaseSpec[] = [
  { name: 'empty', description: 'empty plaintext: one full padding block', length: 0 },
  { name: '1-byte', description: 'one byte of plaintext', length: 1 },
  { name: '15-bytes', description: 'one block minus one byte: one byte of padding', length: 15 },
  { name: '16-bytes', description: 'exactly one block: a full extra padding block', length: 16 },
  { name: '17-bytes', description: 'one block plus one byte', length: 17 },
  { name: '1000-bytes', description: '1000 bytes (63 blocks)', length: 1000 },
  {
    name: 'reply-17-bytes',
    description: 'the key pairs of case 17-bytes in the other direction: bound keys differ per direction',
    length: 17,
    keysFrom: '17-bytes',
    reply: true,
  },
  {
    name: 'legacy-fixed-info',
    description: 'bindPublicKeys = false: the HKDF info is the label alone (legacy interop only)',
    length: 32,
    params: { ...STATIC_V1_DEFAULTS, bindPublicKeys: false },
  },
];

async function keyPairsFor(seedName: string): Promise<{ a: KeyPair; b: KeyPair; provider: CryptoProvider }> {
  const provider = seeded(seedName);
  const a = await provider.x25519.generateKeyPair();
  const b = await provider.x25519.generateKeyPair();
  return { a, b, provider };
}

async function positiveCase(spec: CaseSpec): Promise<Record<string, unknown>> {
  const params = spec.params ?? STATIC_V1_DEFAULTS;
  const keys = await keyPairsFor(spec.keysFrom ?? spec.name);
  // A case with its own seed continues that stream for the IV; a case borrowing keys draws the
  // IV from its own seed.
  const ivProvider = spec.keysFrom === undefined ? keys.provider : seeded(spec.name);
  const sender = spec.reply === true ? keys.b : keys.a;
  const recipient = spec.reply === true ? keys.a : keys.b;
  const plaintext = text(spec.length);
  const message = await staticV1Encrypt(ivProvider, {
    sender,
    recipientPublicKey: recipient.publicKey,
    plaintext,
    params,
  });
  return {
    name: spec.name,
    description: spec.description,
    seed: STATIC_V1_SEED_PREFIX + (spec.keysFrom ?? spec.name),
    ...(spec.keysFrom === undefined ? {} : { ivSeed: STATIC_V1_SEED_PREFIX + spec.name }),
    params: paramsJson(params),
    sender: pairJson(sender),
    recipient: pairJson(recipient),
    plaintext: toHex(plaintext),
    ...(await explain(spec.name, sender, recipient, plaintext, message, params)),
  };
}

async function multiRecipientCase(): Promise<Record<string, unknown>> {
  const name = 'three-recipients';
  const provider = seeded(name);
  const sender = await provider.x25519.generateKeyPair();
  const recipients = [
    await provider.x25519.generateKeyPair(),
    await provider.x25519.generateKeyPair(),
    await provider.x25519.generateKeyPair(),
  ];
  const plaintext = text(100);
  const sealed = await staticV1EncryptForRecipients(provider, {
    sender,
    recipientPublicKeys: recipients.map((r) => r.publicKey),
    plaintext,
  });
  const perRecipient: Record<string, unknown>[] = [];
  for (const [i, recipient] of recipients.entries()) {
    const entry = sealed[i] ?? fail(`${name}: one message per recipient`);
    if (!equalBytes(entry.recipientPublicKey, recipient.publicKey)) fail(`${name}: recipient order`);
    perRecipient.push({
      recipient: pairJson(recipient),
      ...(await explain(`${name}[${i}]`, sender, recipient, plaintext, entry.message, STATIC_V1_DEFAULTS)),
    });
  }
  return {
    name,
    description: 'one plaintext encrypted separately to three recipients (one IV each, drawn in order)',
    seed: STATIC_V1_SEED_PREFIX + name,
    params: paramsJson(STATIC_V1_DEFAULTS),
    sender: pairJson(sender),
    plaintext: toHex(plaintext),
    recipients: perRecipient,
  };
}

function flipBit(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const out = bytes.slice();
  out[index] = out[index]! ^ mask;
  return out;
}

/** Re-MACs `version | iv | ciphertext` under the case's MAC key, so only the chosen defect remains. */
async function remac(sender: KeyPair, recipient: KeyPair, body: Uint8Array): Promise<Uint8Array> {
  const keys = await staticV1DeriveKeys(plain, {
    own: sender,
    peerPublicKey: recipient.publicKey,
    role: 'sender',
  });
  const mac = await plain.hmacSha256(keys.macKey, body);
  wipe(keys.shared, keys.expanded, keys.encKey, keys.macKey);
  return concatBytes(body, mac);
}

async function negativeCases(): Promise<Record<string, unknown>[]> {
  // Built on case 17-bytes (message of 81 bytes: version, IV, two blocks, MAC) and 16-bytes.
  const { a: sender, b: recipient } = await keyPairsFor('17-bytes');
  const base = await staticV1Encrypt(seeded('negative-base'), {
    sender,
    recipientPublicKey: recipient.publicKey,
    plaintext: text(17),
  });
  const sixteen = await staticV1Encrypt(seeded('negative-base-16'), {
    sender,
    recipientPublicKey: recipient.publicKey,
    plaintext: text(16),
  });
  const other = await seeded('negative-other-key').x25519.generateKeyPair();
  const macStart = base.length - STATIC_V1_MAC_LENGTH;
  const wrongVersion = base.slice(0, macStart);
  wrongVersion[0] = 0x02;
  // Drop the final (all-padding) block of a 16-byte plaintext: the remaining block decrypts to
  // plaintext whose last byte (0x2d, "-") is not valid PKCS#7 padding.
  const badPadding = sixteen.slice(0, 1 + STATIC_V1_IV_LENGTH + 16);
  const lowOrder = new Uint8Array(32); // the point of order 1 (u = 0)
  const entries: [string, string, KeyPair, Uint8Array, Uint8Array][] = [
    [
      'flipped-mac-bit',
      'lowest bit of the last MAC byte flipped',
      recipient,
      sender.publicKey,
      flipBit(base, base.length - 1),
    ],
    [
      'flipped-ciphertext-bit',
      'lowest bit of the first ciphertext byte flipped',
      recipient,
      sender.publicKey,
      flipBit(base, 17),
    ],
    [
      'flipped-iv-bit',
      'lowest bit of the first IV byte flipped (the MAC covers the IV)',
      recipient,
      sender.publicKey,
      flipBit(base, 1),
    ],
    ['truncated-one-byte', 'last byte removed', recipient, sender.publicKey, base.slice(0, base.length - 1)],
    [
      'truncated-one-block',
      'last 16 bytes removed',
      recipient,
      sender.publicKey,
      base.slice(0, base.length - 16),
    ],
    [
      'shorter-than-minimum',
      '64 bytes, below the 65-byte minimum',
      recipient,
      sender.publicKey,
      base.slice(0, 64),
    ],
    ['empty-message', 'zero bytes', recipient, sender.publicKey, new Uint8Array(0)],
    [
      'wrong-version-valid-mac',
      'version byte 0x02 with a MAC that is valid for it',
      recipient,
      sender.publicKey,
      await remac(sender, recipient, wrongVersion),
    ],
    [
      'bad-padding-valid-mac',
      'final block has invalid PKCS#7 padding, MAC valid',
      recipient,
      sender.publicKey,
      await remac(sender, recipient, badPadding),
    ],
    ['wrong-recipient', 'decrypted with a different recipient key pair', other, sender.publicKey, base],
    [
      'wrong-sender-key',
      'decrypted with a different claimed sender public key',
      recipient,
      other.publicKey,
      base,
    ],
    [
      'reflected-to-sender',
      'a message from A to B given back to A as if B had sent it (bound keys reject it)',
      sender,
      recipient.publicKey,
      base,
    ],
    [
      'low-order-sender-key',
      'claimed sender public key is the all-zero point (all-zero shared secret)',
      recipient,
      lowOrder,
      base,
    ],
  ];
  const out: Record<string, unknown>[] = [];
  for (const [name, description, rec, senderPublicKey, message] of entries) {
    const rejected = await staticV1Decrypt(plain, { recipient: rec, senderPublicKey, message }).then(
      () => false,
      (e: unknown) => (e as { code?: string }).code === 'ERR_DECRYPTION_FAILED',
    );
    if (!rejected) fail(`${name}: rejected with ERR_DECRYPTION_FAILED`);
    out.push({
      name,
      description,
      params: paramsJson(STATIC_V1_DEFAULTS),
      recipient: pairJson(rec),
      senderPublicKey: toHex(senderPublicKey),
      message: toHex(message),
      error: 'ERR_DECRYPTION_FAILED',
    });
  }
  return out;
}

export default {
  file: 'static-v1.json',
  async generate(): Promise<unknown> {
    const cases: Record<string, unknown>[] = [];
    for (const spec of CASES) cases.push(await positiveCase(spec));
    return {
      title: 'Cloister suite static-v1 test vectors',
      source: 'generated by scripts/vectors/static-v1.ts; do not edit by hand',
      spec: 'spec/static-v1.md',
      randomness: `each case draws key pairs, then IVs, from INSECURE_seededRandomForTestsOnly(ASCII(seed)) with the noble provider; "seed" names the string (prefix "${STATIC_V1_SEED_PREFIX}")`,
      encoding: 'byte strings are lower-case hex',
      constants: {
        version: STATIC_V1_VERSION,
        ivLength: STATIC_V1_IV_LENGTH,
        macLength: STATIC_V1_MAC_LENGTH,
        overhead: STATIC_V1_OVERHEAD,
        maxPlaintext: STATIC_V1_MAX_PLAINTEXT,
        hkdfInfoLabelAscii: STATIC_V1_INFO_LABEL,
        defaults: paramsJson(STATIC_V1_DEFAULTS),
      },
      cases,
      multiRecipientCases: [await multiRecipientCase()],
      negativeCases: await negativeCases(),
    };
  },
};
