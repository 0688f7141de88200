/**
 * fast-check arbitraries that produce valid domain objects of every wire type, and the table of
 * codecs the property and fuzz tests iterate over.
 */
import {
  deviceId,
  GROUP_CHANGE_LABEL,
  type InitialMessage,
  kemPreKeyId,
  oneTimePreKeyId,
  type PreKeyBundle,
  type PublicIdentity,
  type RatchetHeader,
  type RatchetMessage,
  registrationId,
  signedPreKeyId,
  utf8,
} from '@cloister/crypto';
import fc from 'fast-check';
import {
  type Content,
  type ContentBody,
  type DeviceMessage,
  decodeContent,
  decodeDeviceMessage,
  decodeInitialMessage,
  decodePreKeyBundle,
  decodePublicIdentity,
  decodeRatchetHeader,
  decodeRatchetMessage,
  decodeSealedDelivery,
  decodeSealedDeliveryBatch,
  decodeStaticV1Message,
  encodeContent,
  encodeDeviceMessage,
  encodeInitialMessage,
  encodePreKeyBundle,
  encodePublicIdentity,
  encodeRatchetHeader,
  encodeRatchetMessage,
  encodeSealedDelivery,
  encodeSealedDeliveryBatch,
  encodeStaticV1Message,
  type FileReference,
  type GroupMember,
  MAX_ENCODED_BYTES,
  type SealedDelivery,
  type SealedDeliveryBatch,
  type StaticV1Message,
  type Suite,
} from '../src/index.js';

/**
 * `length` random bytes. Long arrays (keys of 1184 bytes, ciphertexts) repeat a random 64-byte
 * pattern: generating every byte separately makes the tests slow and adds nothing to a codec test.
 */
export const bytes = (length: number): fc.Arbitrary<Uint8Array> =>
  length <= 64
    ? fc.uint8Array({ minLength: length, maxLength: length })
    : fc.uint8Array({ minLength: 64, maxLength: 64 }).map((pattern) => {
        const out = new Uint8Array(length);
        for (let i = 0; i < length; i += 64) out.set(pattern.subarray(0, Math.min(64, length - i)), i);
        return out;
      });

/**
 * `value` with every `Uint8Array` replaced by a hex string (and anything else that is not a plain
 * `Uint8Array` marked), so that deep equality is fast and a `Buffer` never passes for a plain array.
 */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    return value.constructor === Uint8Array
      ? `bytes:${Buffer.from(value).toString('hex')}`
      : 'NOT A PLAIN Uint8Array';
  }
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}
export const u32 = fc.integer({ min: 0, max: 0xffff_ffff });

/** Well-formed Unicode (any code point but lone surrogates), short. */
const unicode = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: 'binary', minLength, maxLength });

export const publicIdentity: fc.Arbitrary<PublicIdentity> = fc.record({
  signingKey: bytes(32),
  dhKey: bytes(32),
  dhKeySignature: bytes(64),
});

const suiteList: fc.Arbitrary<Suite[]> = fc.constantFrom<Suite[]>(
  ['v2'],
  ['static-v1'],
  ['v2', 'static-v1'],
  ['static-v1', 'v2'],
);

/** Suite numbers a newer version may list: distinct, none of a known suite, up to 2^31 - 1. */
const unknownSuiteCodes: fc.Arbitrary<number[]> = fc.uniqueArray(
  fc.oneof(fc.integer({ min: 3, max: 100 }), fc.integer({ min: 3, max: 0x7fff_ffff })),
  { minLength: 1, maxLength: 14 },
);

export const preKeyBundle: fc.Arbitrary<PreKeyBundle> = fc.record(
  {
    registrationId: u32.map((n) => registrationId(n)),
    deviceId: u32.map((n) => deviceId(n)),
    identity: publicIdentity,
    signedPreKey: fc.record({
      id: u32.map((n) => signedPreKeyId(n)),
      publicKey: bytes(32),
      signature: bytes(64),
    }),
    oneTimePreKey: fc.record({ id: u32.map((n) => oneTimePreKeyId(n)), publicKey: bytes(32) }),
    kemPreKey: fc.record({
      id: u32.map((n) => kemPreKeyId(n)),
      publicKey: bytes(1184),
      lastResort: fc.boolean(),
      signature: bytes(64),
    }),
    suites: suiteList,
    unknownSuiteCodes,
    suitesIssuedAt: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    suitesSignature: bytes(64),
  },
  {
    requiredKeys: [
      'registrationId',
      'deviceId',
      'identity',
      'signedPreKey',
      'kemPreKey',
      'suites',
      'suitesIssuedAt',
      'suitesSignature',
    ],
  },
);

export const ratchetHeader: fc.Arbitrary<RatchetHeader> = fc.record({
  ratchetKey: bytes(32),
  previousChainLength: u32,
  messageNumber: u32,
});

export const ratchetMessage: fc.Arbitrary<RatchetMessage> = fc.record({
  header: ratchetHeader,
  ciphertext: fc.integer({ min: 16, max: 300 }).chain(bytes),
});

export const initialMessage: fc.Arbitrary<InitialMessage> = fc.record(
  {
    suite: fc.constant('v2' as const),
    initiatorIdentity: publicIdentity,
    baseKey: bytes(32),
    signedPreKeyId: u32.map((n) => signedPreKeyId(n)),
    oneTimePreKeyId: u32.map((n) => oneTimePreKeyId(n)),
    kemPreKeyId: u32.map((n) => kemPreKeyId(n)),
    kemCiphertext: bytes(1088),
    message: ratchetMessage,
  },
  {
    requiredKeys: [
      'suite',
      'initiatorIdentity',
      'baseKey',
      'signedPreKeyId',
      'kemPreKeyId',
      'kemCiphertext',
      'message',
    ],
  },
);

export const staticV1Message: fc.Arbitrary<StaticV1Message> = fc.record({
  senderKey: bytes(32),
  sealed: fc.integer({ min: 1, max: 6 }).chain((blocks) => bytes(49 + 16 * blocks)),
});

export const deviceMessage: fc.Arbitrary<DeviceMessage> = fc.oneof(
  staticV1Message.map((message): DeviceMessage => ({ suite: 'static-v1', type: 'static-v1', message })),
  initialMessage.map((message): DeviceMessage => ({ suite: 'v2', type: 'initial', message })),
  ratchetMessage.map((message): DeviceMessage => ({ suite: 'v2', type: 'ratchet', message })),
);

const mediaType = fc
  .tuple(
    fc.stringMatching(/^[a-z0-9][a-z0-9.+-]{0,12}$/),
    fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,20}$/),
  )
  .map(([t, s]) => `${t}/${s}`);

export const fileReference: fc.Arbitrary<FileReference> = fc.record(
  {
    fileKey: bytes(32),
    digest: bytes(32),
    size: fc.maxSafeNat(),
    mediaType,
    locator: fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
    fileName: unicode(1, 30),
    ciphertextSize: fc.maxSafeNat(),
    chunkSize: fc.integer({ min: 6, max: 20 }).map((log2) => 2 ** log2),
  },
  { requiredKeys: ['fileKey', 'digest', 'size', 'mediaType', 'locator'] },
);

/** `bytes` with its start overwritten by the label every signed group change starts with. */
function withGroupChangeLabel(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  out.set(utf8(GROUP_CHANGE_LABEL));
  return out;
}

const members: fc.Arbitrary<GroupMember[]> = fc
  .uniqueArray(unicode(1, 12), { minLength: 1, maxLength: 8 })
  .map((ids) => ids.map((userId) => ({ userId })));

export const contentBody: fc.Arbitrary<ContentBody> = fc.oneof(
  unicode(1, 60).map((text): ContentBody => ({ type: 'text', text })),
  fileReference.map((file): ContentBody => ({ type: 'file', file })),
  fc
    .record({
      kind: fc.constantFrom('delivered' as const, 'read' as const),
      messageIds: fc.uniqueArray(bytes(16), { minLength: 1, maxLength: 5, selector: (b) => b.join(',') }),
    })
    .map((r): ContentBody => ({ type: 'receipt', ...r })),
  fc
    .record({
      version: fc.integer({ min: 1, max: 0xffff_ffff }),
      action: fc.oneof(
        fc.record({ kind: fc.constant('create' as const), name: unicode(0, 20), members }),
        fc.record({ kind: fc.constant('add-members' as const), members }),
        fc.record({ kind: fc.constant('remove-members' as const), members }),
      ),
    })
    .map((g): ContentBody => ({ type: 'group', ...g })),
  fc.constant<ContentBody>({ type: 'control', action: 'session-reset' }),
  fc
    .record({
      change: fc.integer({ min: 33, max: 200 }).chain(bytes).map(withGroupChangeLabel),
      signature: bytes(64),
    })
    .map((g): ContentBody => ({ type: 'group-change', ...g })),
  fc
    .integer({ min: 67, max: 130 })
    .chain(bytes)
    .map((wrap): ContentBody => ({ type: 'group-key', wrap })),
);

export const content: fc.Arbitrary<Content> = fc
  .record(
    {
      messageId: bytes(16),
      sentAtMs: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      groupId: bytes(32),
      expireTimerSeconds: fc.integer({ min: 1, max: 0xffff_ffff }),
      archived: fc.constant(true),
      syncedTo: unicode(1, 24),
      body: contentBody,
    },
    { requiredKeys: ['messageId', 'sentAtMs', 'body'] },
  )
  // A group body needs the group id.
  .filter((c) => c.body.type !== 'group' || c.groupId !== undefined);

/**
 * An envelope whose outer header is valid (spec/envelope.md section 3) and whose sealed part is
 * random bytes of at least the smallest length of its kind: all that the wire codec checks.
 */
export function envelopeBytes(
  kind: 1 | 2,
  mailbox: Uint8Array,
  token: Uint8Array,
  sealed: Uint8Array,
): Uint8Array {
  return Uint8Array.from([1, kind, mailbox.length, ...mailbox, token.length, ...token, ...sealed]);
}

export const sealedEnvelope: fc.Arbitrary<Uint8Array> = fc
  .record({
    kind: fc.constantFrom(1 as const, 2 as const),
    mailbox: fc.integer({ min: 16, max: 32 }).chain(bytes),
    token: fc.integer({ min: 0, max: 64 }).chain(bytes),
    extra: fc.integer({ min: 0, max: 100 }),
  })
  .chain(({ kind, mailbox, token, extra }) =>
    bytes((kind === 1 ? 49 : 97) + extra).map((sealed) => envelopeBytes(kind, mailbox, token, sealed)),
  );

/** An archive seal with well-formed bindings (spec/compliance-seal.md section 2), random ciphertext. */
export function archiveSealBytes(conversationId: Uint8Array, userId: string, sealed: Uint8Array): Uint8Array {
  const user = utf8(userId);
  const fixed = new Uint8Array(12);
  new DataView(fixed.buffer).setUint32(0, 7);
  fixed[7] = 1; // sentAt high word below 2^21
  return Uint8Array.from([
    1,
    ...new Uint8Array(16).fill(5),
    conversationId.length,
    ...conversationId,
    user.length,
    ...user,
    ...fixed,
    ...sealed,
  ]);
}

export const archiveSeal: fc.Arbitrary<Uint8Array> = fc
  .record({
    conversationId: fc.integer({ min: 0, max: 64 }).chain(bytes),
    userId: fc.stringMatching(/^[a-z0-9@.]{1,40}$/),
    sealed: fc.integer({ min: 49, max: 200 }).chain(bytes),
  })
  .map(({ conversationId, userId, sealed }) => archiveSealBytes(conversationId, userId, sealed));

export const sealedDelivery: fc.Arbitrary<SealedDelivery> = fc.record(
  { messageId: bytes(16), envelope: sealedEnvelope, archiveSeal },
  { requiredKeys: ['messageId', 'envelope'] },
);

export const sealedDeliveryBatch: fc.Arbitrary<SealedDeliveryBatch> = fc
  .record({
    deliveries: fc.uniqueArray(fc.record({ messageId: bytes(16), envelope: sealedEnvelope }), {
      minLength: 1,
      maxLength: 6,
      selector: (d) => d.messageId.join(','),
    }),
    seal: fc.option(fc.tuple(fc.nat(), archiveSeal), { nil: undefined }),
  })
  .map(({ deliveries, seal }): SealedDeliveryBatch => {
    if (seal === undefined) return { deliveries };
    const at = seal[0] % deliveries.length;
    return { deliveries: deliveries.map((d, i) => (i === at ? { ...d, archiveSeal: seal[1] } : d)) };
  });

/** One codec under test: its arbitrary, its functions and the root of its error paths. */
export interface Codec {
  readonly name: string;
  readonly root: string;
  readonly maxBytes: number;
  readonly arbitrary: fc.Arbitrary<unknown>;
  readonly encode: (value: never) => Uint8Array;
  readonly decode: (bytes: Uint8Array) => unknown;
}

export const CODECS: readonly Codec[] = [
  {
    name: 'Content',
    root: 'content',
    maxBytes: MAX_ENCODED_BYTES.content,
    arbitrary: content,
    encode: encodeContent,
    decode: decodeContent,
  },
  {
    name: 'StaticV1Message',
    root: 'staticV1',
    maxBytes: MAX_ENCODED_BYTES.staticV1Message,
    arbitrary: staticV1Message,
    encode: encodeStaticV1Message,
    decode: decodeStaticV1Message,
  },
  {
    name: 'PublicIdentity',
    root: 'identity',
    maxBytes: MAX_ENCODED_BYTES.publicIdentity,
    arbitrary: publicIdentity,
    encode: encodePublicIdentity,
    decode: decodePublicIdentity,
  },
  {
    name: 'PreKeyBundle',
    root: 'bundle',
    maxBytes: MAX_ENCODED_BYTES.preKeyBundle,
    arbitrary: preKeyBundle,
    encode: encodePreKeyBundle,
    decode: decodePreKeyBundle,
  },
  {
    name: 'RatchetHeader',
    root: 'header',
    maxBytes: MAX_ENCODED_BYTES.ratchetHeader,
    arbitrary: ratchetHeader,
    encode: encodeRatchetHeader,
    decode: decodeRatchetHeader,
  },
  {
    name: 'RatchetMessage',
    root: 'ratchet',
    maxBytes: MAX_ENCODED_BYTES.ratchetMessage,
    arbitrary: ratchetMessage,
    encode: encodeRatchetMessage,
    decode: decodeRatchetMessage,
  },
  {
    name: 'InitialMessage',
    root: 'initial',
    maxBytes: MAX_ENCODED_BYTES.initialMessage,
    arbitrary: initialMessage,
    encode: encodeInitialMessage,
    decode: decodeInitialMessage,
  },
  {
    name: 'DeviceMessage',
    root: 'deviceMessage',
    maxBytes: MAX_ENCODED_BYTES.deviceMessage,
    arbitrary: deviceMessage,
    encode: encodeDeviceMessage,
    decode: decodeDeviceMessage,
  },
  {
    name: 'SealedDelivery',
    root: 'sealedDelivery',
    maxBytes: MAX_ENCODED_BYTES.sealedDelivery,
    arbitrary: sealedDelivery,
    encode: encodeSealedDelivery,
    decode: decodeSealedDelivery,
  },
  {
    name: 'SealedDeliveryBatch',
    root: 'sealedDeliveryBatch',
    maxBytes: MAX_ENCODED_BYTES.sealedDeliveryBatch,
    arbitrary: sealedDeliveryBatch,
    encode: encodeSealedDeliveryBatch,
    decode: decodeSealedDeliveryBatch,
  },
];
