/**
 * Hostile-input tables: each row is bytes a peer might send and the field path the decoder must
 * name in its DecodeError. Bytes are built with the generated protobufjs encoders from raw
 * objects that bypass our validation, or written by hand for wire-level damage.
 */
import { DecodeError } from '@cloister/crypto';
import protobuf from 'protobufjs/minimal.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cloister } from '../src/generated/cloister.js';
import {
  decodeContent,
  decodeDeviceMessage,
  decodeInitialMessage,
  decodePreKeyBundle,
  decodePublicIdentity,
  decodeRatchetHeader,
  decodeRatchetMessage,
  decodeStaticV1Message,
  encodePreKeyBundle,
  encodeSealedDelivery,
  encodeSealedDeliveryBatch,
  FIELD_LIMITS,
  MAX_ENCODED_BYTES,
} from '../src/index.js';
import { fromUint64 } from '../src/internal/check.js';
import { CODECS, envelopeBytes } from './arbitraries.js';

const goodDelivery = () => ({
  messageId: new Uint8Array(16).fill(3),
  envelope: envelopeBytes(1, new Uint8Array(16).fill(2), new Uint8Array(0), new Uint8Array(49).fill(4)),
});

const w = cloister.v1;
const b = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill);

/** The error `fn` throws; fails the test when it returns. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected the decoder to throw');
}

function expectDecodeError(fn: () => unknown, path: string, reason?: RegExp): void {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(DecodeError);
  const err = e as DecodeError;
  expect(err.code).toBe('ERR_DECODE');
  expect(err.path).toBe(path);
  if (reason !== undefined) expect(err.message).toMatch(reason);
}

// ---- valid raw (protobufjs) objects to damage -----------------------------------------------

const identity = (): cloister.v1.IPublicIdentity => ({
  signingKey: b(32),
  dhKey: b(32),
  dhKeySignature: b(64),
});
const header = (): cloister.v1.IRatchetHeader => ({
  ratchetKey: b(32),
  previousChainLength: 1,
  messageNumber: 2,
});
const ratchet = (): cloister.v1.IRatchetMessage => ({ header: header(), ciphertext: b(20) });
const bundle = (): cloister.v1.IPreKeyBundle => ({
  registrationId: 1,
  deviceId: 2,
  identity: identity(),
  signedPreKey: { id: 1, publicKey: b(32), signature: b(64) },
  oneTimePreKey: { id: 3, publicKey: b(32) },
  kemPreKey: { id: 2, publicKey: b(1184), lastResort: false, signature: b(64) },
  suites: [w.Suite.SUITE_V2],
  suitesSignature: b(64),
  suitesIssuedAtMs: 1_700_000_000_000,
});
const initial = (): cloister.v1.IInitialMessage => ({
  initiatorIdentity: identity(),
  baseKey: b(32),
  signedPreKeyId: 1,
  kemPreKeyId: 2,
  kemCiphertext: b(1088),
  message: ratchet(),
});
const staticV1 = (): cloister.v1.IStaticV1Message => ({ senderKey: b(32), sealed: b(65) });
const content = (): cloister.v1.IContent => ({
  messageId: b(16),
  sentAtMs: 1_700_000_000_000,
  text: { body: 'hi' },
});
const file = (): cloister.v1.IFileReference => ({
  fileKey: b(32),
  digest: b(32),
  size: 10,
  mediaType: 'image/png',
  locator: 'blob/1',
});
const members = (n: number): cloister.v1.IGroupMember[] =>
  Array.from({ length: n }, (_, i) => ({ userId: `u${i}` }));

const enc = {
  content: (m: cloister.v1.IContent) => w.Content.encode(m).finish(),
  bundle: (m: cloister.v1.IPreKeyBundle) => w.PreKeyBundle.encode(m).finish(),
  identity: (m: cloister.v1.IPublicIdentity) => w.PublicIdentity.encode(m).finish(),
  header: (m: cloister.v1.IRatchetHeader) => w.RatchetHeader.encode(m).finish(),
  ratchet: (m: cloister.v1.IRatchetMessage) => w.RatchetMessage.encode(m).finish(),
  initial: (m: cloister.v1.IInitialMessage) => w.InitialMessage.encode(m).finish(),
  staticV1: (m: cloister.v1.IStaticV1Message) => w.StaticV1Message.encode(m).finish(),
  device: (m: cloister.v1.IDeviceMessage) => w.DeviceMessage.encode(m).finish(),
};

/** A raw protobuf writer for what the generated encoders cannot produce. */
const writer = (): protobuf.Writer => new protobuf.Writer();
/** The varint tag of field `field` with wire type `wireType`, followed by `rest`. */
const tag = (field: number, wireType: number, ...rest: number[]): Uint8Array => {
  const t = writer()
    .uint32((field << 3) | wireType)
    .finish();
  return new Uint8Array([...t, ...rest]);
};

const concat = (a: Uint8Array, extra: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length + extra.length);
  out.set(a);
  out.set(extra, a.length);
  return out;
};

type Row = readonly [name: string, decode: (bytes: Uint8Array) => unknown, bytes: Uint8Array, path: string];

const CONTENT_ROWS: Row[] = [
  ['empty input', decodeContent, new Uint8Array(0), 'content.body'],
  [
    'message id missing',
    decodeContent,
    enc.content({ ...content(), messageId: undefined }),
    'content.messageId',
  ],
  [
    'message id of 15 bytes',
    decodeContent,
    enc.content({ ...content(), messageId: b(15) }),
    'content.messageId',
  ],
  ['sentAtMs 0', decodeContent, enc.content({ ...content(), sentAtMs: 0 }), 'content.sentAtMs'],
  ['sentAtMs 2^53', decodeContent, enc.content({ ...content(), sentAtMs: 2 ** 53 }), 'content.sentAtMs'],
  [
    'sentAtMs 2^64 - 1',
    decodeContent,
    enc.content({ ...content(), sentAtMs: '18446744073709551615' as unknown as number }),
    'content.sentAtMs',
  ],
  ['group id of 31 bytes', decodeContent, enc.content({ ...content(), groupId: b(31) }), 'content.groupId'],
  [
    'expire timer 0',
    decodeContent,
    enc.content({ ...content(), expireTimerSeconds: 0 }),
    'content.expireTimerSeconds',
  ],
  ['empty text', decodeContent, enc.content({ ...content(), text: { body: '' } }), 'content.body.text'],
  [
    'text of 65537 bytes',
    decodeContent,
    enc.content({ ...content(), text: { body: 'a'.repeat(FIELD_LIMITS.textBytes + 1) } }),
    'content.body.text',
  ],
  ['two bodies', decodeContent, enc.content({ ...content(), control: { action: 1 } }), 'content.body'],
  [
    'only an unknown body',
    decodeContent,
    writer()
      .uint32((1 << 3) | 2)
      .bytes(b(16))
      .uint32((2 << 3) | 0)
      .uint64(5)
      .uint32((30 << 3) | 2)
      .bytes(b(3))
      .finish(),
    'content.body',
  ],
  // file
  [
    'file key of 31 bytes',
    decodeContent,
    enc.content({ ...content(), text: undefined, file: { ...file(), fileKey: b(31) } }),
    'content.body.file.fileKey',
  ],
  [
    'file digest missing',
    decodeContent,
    enc.content({ ...content(), text: undefined, file: { ...file(), digest: undefined } }),
    'content.body.file.digest',
  ],
  [
    'file size 2^53',
    decodeContent,
    enc.content({ ...content(), text: undefined, file: { ...file(), size: 2 ** 53 } }),
    'content.body.file.size',
  ],
  [
    'media type without subtype',
    decodeContent,
    enc.content({ ...content(), text: undefined, file: { ...file(), mediaType: 'image' } }),
    'content.body.file.mediaType',
  ],
  [
    'media type with parameters',
    decodeContent,
    enc.content({
      ...content(),
      text: undefined,
      file: { ...file(), mediaType: 'text/plain; charset=utf-8' },
    }),
    'content.body.file.mediaType',
  ],
  [
    'locator with a space',
    decodeContent,
    enc.content({ ...content(), text: undefined, file: { ...file(), locator: 'a b' } }),
    'content.body.file.locator',
  ],
  [
    'locator empty',
    decodeContent,
    enc.content({ ...content(), text: undefined, file: { ...file(), locator: '' } }),
    'content.body.file.locator',
  ],
  [
    'file name empty but present',
    decodeContent,
    enc.content({ ...content(), text: undefined, file: { ...file(), fileName: '' } }),
    'content.body.file.fileName',
  ],
  // receipt
  [
    'receipt type unspecified',
    decodeContent,
    enc.content({ ...content(), text: undefined, receipt: { type: 0, messageIds: [b(16)] } }),
    'content.body.kind',
  ],
  [
    'receipt type unknown',
    decodeContent,
    enc.content({ ...content(), text: undefined, receipt: { type: 9 as never, messageIds: [b(16)] } }),
    'content.body.kind',
  ],
  [
    'receipt without ids',
    decodeContent,
    enc.content({ ...content(), text: undefined, receipt: { type: 1, messageIds: [] } }),
    'content.body.messageIds',
  ],
  [
    'receipt with 257 ids',
    decodeContent,
    enc.content({
      ...content(),
      text: undefined,
      receipt: { type: 1, messageIds: Array.from({ length: 257 }, (_, i) => b(16, i)) },
    }),
    'content.body.messageIds',
  ],
  [
    'receipt id of 15 bytes',
    decodeContent,
    enc.content({ ...content(), text: undefined, receipt: { type: 2, messageIds: [b(16), b(15)] } }),
    'content.body.messageIds[1]',
  ],
  [
    'receipt id repeated',
    decodeContent,
    enc.content({ ...content(), text: undefined, receipt: { type: 2, messageIds: [b(16), b(16)] } }),
    'content.body.messageIds[1]',
  ],
  // group
  [
    'group change without group id',
    decodeContent,
    enc.content({
      ...content(),
      text: undefined,
      group: { version: 1, addMembers: { members: members(1) } },
    }),
    'content.groupId',
  ],
  [
    'group version 0',
    decodeContent,
    enc.content({
      ...content(),
      groupId: b(32),
      text: undefined,
      group: { version: 0, addMembers: { members: members(1) } },
    }),
    'content.body.version',
  ],
  [
    'group change without action',
    decodeContent,
    enc.content({ ...content(), groupId: b(32), text: undefined, group: { version: 1 } }),
    'content.body.action',
  ],
  [
    'group change with two actions',
    decodeContent,
    enc.content({
      ...content(),
      groupId: b(32),
      text: undefined,
      group: { version: 1, addMembers: { members: members(1) }, removeMembers: { members: members(1) } },
    }),
    'content.body.action',
  ],
  [
    'group create without members',
    decodeContent,
    enc.content({
      ...content(),
      groupId: b(32),
      text: undefined,
      group: { version: 1, create: { name: 'x', members: [] } },
    }),
    'content.body.action.members',
  ],
  [
    'group add of 1001 members',
    decodeContent,
    enc.content({
      ...content(),
      groupId: b(32),
      text: undefined,
      group: { version: 2, addMembers: { members: members(1001) } },
    }),
    'content.body.action.members',
  ],
  [
    'member with empty user id',
    decodeContent,
    enc.content({
      ...content(),
      groupId: b(32),
      text: undefined,
      group: { version: 2, removeMembers: { members: [{ userId: '' }] } },
    }),
    'content.body.action.members[0].userId',
  ],
  [
    'member listed twice',
    decodeContent,
    enc.content({
      ...content(),
      groupId: b(32),
      text: undefined,
      group: { version: 2, removeMembers: { members: [{ userId: 'a' }, { userId: 'a' }] } },
    }),
    'content.body.action.members[1]',
  ],
  [
    'group name of 257 bytes',
    decodeContent,
    enc.content({
      ...content(),
      groupId: b(32),
      text: undefined,
      group: { version: 1, create: { name: 'n'.repeat(257), members: members(1) } },
    }),
    'content.body.action.name',
  ],
  // control
  [
    'control action unspecified',
    decodeContent,
    enc.content({ ...content(), text: undefined, control: { action: 0 } }),
    'content.body.action',
  ],
  [
    'control action unknown',
    decodeContent,
    enc.content({ ...content(), text: undefined, control: { action: 5 as never } }),
    'content.body.action',
  ],
];

const V2_ROWS: Row[] = [
  [
    'identity signing key of 33 bytes',
    decodePublicIdentity,
    enc.identity({ ...identity(), signingKey: b(33) }),
    'identity.signingKey',
  ],
  [
    'identity signature of 63 bytes',
    decodePublicIdentity,
    enc.identity({ ...identity(), dhKeySignature: b(63) }),
    'identity.dhKeySignature',
  ],
  [
    'identity DH key missing',
    decodePublicIdentity,
    enc.identity({ ...identity(), dhKey: undefined }),
    'identity.dhKey',
  ],
  [
    'bundle without identity',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), identity: undefined }),
    'bundle.identity',
  ],
  [
    'bundle identity key of 31 bytes',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), identity: { ...identity(), dhKey: b(31) } }),
    'bundle.identity.dhKey',
  ],
  [
    'bundle without signed prekey',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), signedPreKey: undefined }),
    'bundle.signedPreKey',
  ],
  [
    'signed prekey signature of 63 bytes',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), signedPreKey: { id: 1, publicKey: b(32), signature: b(63) } }),
    'bundle.signedPreKey.signature',
  ],
  [
    'signed prekey key of 33 bytes',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), signedPreKey: { id: 1, publicKey: b(33), signature: b(64) } }),
    'bundle.signedPreKey.publicKey',
  ],
  [
    'one-time prekey of 31 bytes',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), oneTimePreKey: { id: 1, publicKey: b(31) } }),
    'bundle.oneTimePreKey.publicKey',
  ],
  [
    'bundle without KEM prekey',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), kemPreKey: undefined }),
    'bundle.kemPreKey',
  ],
  [
    'KEM key of 1183 bytes',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), kemPreKey: { id: 1, publicKey: b(1183), lastResort: true, signature: b(64) } }),
    'bundle.kemPreKey.publicKey',
  ],
  [
    'KEM signature missing',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), kemPreKey: { id: 1, publicKey: b(1184), lastResort: true } }),
    'bundle.kemPreKey.signature',
  ],
  ['no suites', decodePreKeyBundle, enc.bundle({ ...bundle(), suites: [] }), 'bundle.suites'],
  ['suite unspecified', decodePreKeyBundle, enc.bundle({ ...bundle(), suites: [1, 0] }), 'bundle.suites[1]'],
  [
    'suite listed twice',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), suites: [1, 2, 1] }),
    'bundle.suites[2]',
  ],
  [
    'unknown suite listed twice',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), suites: [1, 9 as never, 9 as never] }),
    'bundle.suites[2]',
  ],
  [
    'negative suite number',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), suites: [1, -5 as never] }),
    'bundle.suites[1]',
  ],
  [
    'suites signature missing',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), suitesSignature: undefined }),
    'bundle.suitesSignature',
  ],
  [
    'suites signature of 63 bytes',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), suitesSignature: b(63) }),
    'bundle.suitesSignature',
  ],
  [
    'suitesIssuedAt missing (a bundle of the retired format)',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), suitesIssuedAtMs: undefined }),
    'bundle.suitesIssuedAt',
  ],
  [
    'suitesIssuedAt 0',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), suitesIssuedAtMs: 0 }),
    'bundle.suitesIssuedAt',
  ],
  [
    'suitesIssuedAt 2^53',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), suitesIssuedAtMs: 2 ** 53 }),
    'bundle.suitesIssuedAt',
  ],
  [
    'only unknown suites',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), suites: [7, 8] as never[] }),
    'bundle.suites',
  ],
  [
    '17 suite entries',
    decodePreKeyBundle,
    enc.bundle({ ...bundle(), suites: [1, ...Array.from({ length: 16 }, (_, i) => (10 + i) as never)] }),
    'bundle.suites',
  ],
  [
    'header key of 31 bytes',
    decodeRatchetHeader,
    enc.header({ ...header(), ratchetKey: b(31) }),
    'header.ratchetKey',
  ],
  [
    'header key missing',
    decodeRatchetHeader,
    enc.header({ ...header(), ratchetKey: undefined }),
    'header.ratchetKey',
  ],
  [
    'ratchet message without header',
    decodeRatchetMessage,
    enc.ratchet({ ...ratchet(), header: undefined }),
    'ratchet.header',
  ],
  [
    'ratchet ciphertext shorter than the tag',
    decodeRatchetMessage,
    enc.ratchet({ ...ratchet(), ciphertext: b(15) }),
    'ratchet.ciphertext',
  ],
  [
    'ratchet ciphertext over the limit',
    decodeRatchetMessage,
    enc.ratchet({ ...ratchet(), ciphertext: b(FIELD_LIMITS.ciphertextBytes + 1) }),
    'ratchet.ciphertext',
  ],
  [
    'ratchet header key of 33 bytes',
    decodeRatchetMessage,
    enc.ratchet({ ...ratchet(), header: { ...header(), ratchetKey: b(33) } }),
    'ratchet.header.ratchetKey',
  ],
  [
    'initial without identity',
    decodeInitialMessage,
    enc.initial({ ...initial(), initiatorIdentity: undefined }),
    'initial.initiatorIdentity',
  ],
  [
    'initial identity signature of 65 bytes',
    decodeInitialMessage,
    enc.initial({ ...initial(), initiatorIdentity: { ...identity(), dhKeySignature: b(65) } }),
    'initial.initiatorIdentity.dhKeySignature',
  ],
  [
    'initial base key missing',
    decodeInitialMessage,
    enc.initial({ ...initial(), baseKey: undefined }),
    'initial.baseKey',
  ],
  [
    'KEM ciphertext of 1087 bytes',
    decodeInitialMessage,
    enc.initial({ ...initial(), kemCiphertext: b(1087) }),
    'initial.kemCiphertext',
  ],
  [
    'initial without ratchet message',
    decodeInitialMessage,
    enc.initial({ ...initial(), message: undefined }),
    'initial.message',
  ],
  [
    'initial ratchet key of 0 bytes',
    decodeInitialMessage,
    enc.initial({ ...initial(), message: { header: { ...header(), ratchetKey: b(0) }, ciphertext: b(16) } }),
    'initial.message.header.ratchetKey',
  ],
  [
    'static-v1 sender key of 31 bytes',
    decodeStaticV1Message,
    enc.staticV1({ ...staticV1(), senderKey: b(31) }),
    'staticV1.senderKey',
  ],
  [
    'static-v1 sealed of 64 bytes',
    decodeStaticV1Message,
    enc.staticV1({ ...staticV1(), sealed: b(64) }),
    'staticV1.sealed',
  ],
  [
    'static-v1 sealed not block aligned',
    decodeStaticV1Message,
    enc.staticV1({ ...staticV1(), sealed: b(66) }),
    'staticV1.sealed',
  ],
];

const DEVICE_ROWS: Row[] = [
  [
    'version 0',
    decodeDeviceMessage,
    enc.device({ version: 0, suite: 1, ratchet: ratchet() }),
    'deviceMessage.version',
  ],
  [
    'version 2',
    decodeDeviceMessage,
    enc.device({ version: 2, suite: 1, ratchet: ratchet() }),
    'deviceMessage.version',
  ],
  [
    'suite unspecified',
    decodeDeviceMessage,
    enc.device({ version: 1, suite: 0, ratchet: ratchet() }),
    'deviceMessage.suite',
  ],
  [
    'suite unknown',
    decodeDeviceMessage,
    enc.device({ version: 1, suite: 3 as never, ratchet: ratchet() }),
    'deviceMessage.suite',
  ],
  [
    'static-v1 suite with a ratchet body',
    decodeDeviceMessage,
    enc.device({ version: 1, suite: 2, ratchet: ratchet() }),
    'deviceMessage.suite',
  ],
  [
    'v2 suite with a static-v1 body',
    decodeDeviceMessage,
    enc.device({ version: 1, suite: 1, staticV1: staticV1() }),
    'deviceMessage.suite',
  ],
  ['no body', decodeDeviceMessage, enc.device({ version: 1, suite: 1 }), 'deviceMessage.message'],
  [
    'two bodies',
    decodeDeviceMessage,
    enc.device({ version: 1, suite: 1, ratchet: ratchet(), initial: initial() }),
    'deviceMessage.message',
  ],
  [
    'nested ratchet ciphertext too short',
    decodeDeviceMessage,
    enc.device({ version: 1, suite: 1, ratchet: { ...ratchet(), ciphertext: b(3) } }),
    'deviceMessage.message.ciphertext',
  ],
  [
    'nested KEM ciphertext too short',
    decodeDeviceMessage,
    enc.device({ version: 1, suite: 1, initial: { ...initial(), kemCiphertext: b(1) } }),
    'deviceMessage.message.kemCiphertext',
  ],
  [
    'nested static-v1 key missing',
    decodeDeviceMessage,
    enc.device({ version: 1, suite: 2, staticV1: { sealed: b(65) } }),
    'deviceMessage.message.senderKey',
  ],
];

describe('hostile field values', () => {
  it.each([...CONTENT_ROWS, ...V2_ROWS, ...DEVICE_ROWS])('%s', (_name, decode, bytes, path) => {
    expectDecodeError(() => decode(bytes), path);
  });
});

describe('hostile wire encodings (every decoder)', () => {
  const valid: Record<string, Uint8Array> = {
    content: enc.content(content()),
    staticV1: enc.staticV1(staticV1()),
    identity: enc.identity(identity()),
    bundle: enc.bundle(bundle()),
    header: enc.header(header()),
    ratchet: enc.ratchet(ratchet()),
    initial: enc.initial(initial()),
    deviceMessage: enc.device({ version: 1, suite: 1, ratchet: ratchet() }),
    sealedDelivery: encodeSealedDelivery(goodDelivery()),
    sealedDeliveryBatch: encodeSealedDeliveryBatch({ deliveries: [goodDelivery()] }),
  };

  describe.each(CODECS.map((c) => [c.name, c] as const))('%s', (_name, codec) => {
    const good = valid[codec.root]!;

    it('accepts its valid baseline', () => {
      expect(() => codec.decode(good)).not.toThrow();
    });
    it('rejects truncation at the root', () => {
      expectDecodeError(() => codec.decode(good.subarray(0, good.length - 1)), codec.root, /malformed/);
    });
    it('rejects an over-long varint', () => {
      expectDecodeError(() => codec.decode(concat(good, new Uint8Array([0x08, ...b(11, 0xff)]))), codec.root);
    });
    it('rejects a group (wire types 3 and 4) even in an unknown field', () => {
      expectDecodeError(() => codec.decode(concat(good, tag(99, 3, 0x0c))), codec.root, /groups/);
      expectDecodeError(() => codec.decode(concat(good, tag(99, 4))), codec.root, /groups/);
    });
    it('rejects wire types 6 and 7', () => {
      expectDecodeError(() => codec.decode(concat(good, tag(99, 6, 0))), codec.root);
      expectDecodeError(() => codec.decode(concat(good, tag(99, 7, 0))), codec.root);
    });
    it('rejects a length running past the end', () => {
      expectDecodeError(() => codec.decode(concat(good, tag(99, 2, 0x7f, 1, 2))), codec.root);
    });
    it('skips unknown fields of a newer version', () => {
      const extra = writer()
        .uint32((99 << 3) | 0)
        .uint32(5)
        .uint32((100 << 3) | 2)
        .bytes(b(7))
        .uint32((101 << 3) | 5)
        .fixed32(1)
        .finish();
      expect(codec.decode(concat(good, extra))).toEqual(codec.decode(good));
    });
    it('rejects input over its size limit before parsing it', () => {
      expectDecodeError(
        () => codec.decode(new Uint8Array(codec.maxBytes + 1)),
        codec.root,
        new RegExp(`at most ${codec.maxBytes} bytes`),
      );
    });
    it('rejects a non-Uint8Array argument as a caller bug', () => {
      const e = thrown(() => codec.decode('not bytes' as unknown as Uint8Array));
      expect((e as { code?: string }).code).toBe('ERR_VALIDATION');
    });
  });
});

describe('decoder details', () => {
  afterEach(() => vi.restoreAllMocks());

  it('never hands oversize input to protobufjs', () => {
    const spy = vi.spyOn(w.Content, 'decode');
    const padded = new Uint8Array(MAX_ENCODED_BYTES.content + 1);
    padded.set(enc.content(content()));
    expectDecodeError(() => decodeContent(padded), 'content', /at most/);
    expect(spy).not.toHaveBeenCalled();
    decodeContent(enc.content(content()));
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('rejects a string that is not well-formed UTF-8 instead of repairing it', () => {
    const bad = writer()
      .uint32((1 << 3) | 2)
      .bytes(b(16))
      .uint32((2 << 3) | 0)
      .uint64(1)
      .uint32((16 << 3) | 2)
      .fork()
      .uint32((1 << 3) | 2)
      .bytes(new Uint8Array([0x61, 0xc3, 0x28]))
      .ldelim()
      .finish();
    expectDecodeError(() => decodeContent(bad), 'content', /UTF-8/);
  });

  it('keeps a byte-order mark at the start of a text', () => {
    const decoded = decodeContent(enc.content({ ...content(), text: { body: '\uFEFFhi' } }));
    expect(decoded.body).toEqual({ type: 'text', text: '\uFEFFhi' });
  });

  it('does not recurse into deeply nested unknown fields', () => {
    let nested: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < 5000; i++)
      nested = writer()
        .uint32((1 << 3) | 2)
        .bytes(nested)
        .finish();
    const input = writer()
      .uint32((1 << 3) | 2)
      .bytes(b(16))
      .uint32((2 << 3) | 0)
      .uint64(1)
      .uint32((16 << 3) | 2)
      .fork()
      .uint32((1 << 3) | 2)
      .string('x')
      .ldelim()
      .uint32((99 << 3) | 2)
      .bytes(nested)
      .finish();
    expect(decodeContent(input).body).toEqual({ type: 'text', text: 'x' });
  });

  it('reads 64-bit fields whether protobufjs yields numbers or Long objects', () => {
    expect(fromUint64(2 ** 40)).toBe(2 ** 40);
    expect(fromUint64({ low: 1, high: 2, unsigned: true })).toBe(2 * 2 ** 32 + 1);
    expect(fromUint64({ low: -1, high: -1, unsigned: true })).toBe(2 ** 64 - 1); // unsafe: rejected later
    expect(Number.isSafeInteger(fromUint64({ low: 0, high: 0x20_0000, unsigned: true }))).toBe(false);
  });

  it('keeps suite numbers it does not know apart, so the suite signature of a newer peer verifies', () => {
    const decoded = decodePreKeyBundle(
      enc.bundle({ ...bundle(), suites: [9 as never, 2, 0x7fff_ffff as never, 1] }),
    );
    expect(decoded.suites).toEqual(['static-v1', 'v2']);
    expect(decoded.unknownSuiteCodes).toEqual([9, 0x7fff_ffff]);
    const again = decodePreKeyBundle(encodePreKeyBundle(decoded));
    expect(again.unknownSuiteCodes).toEqual([9, 0x7fff_ffff]);
    expect('unknownSuiteCodes' in decodePreKeyBundle(enc.bundle(bundle()))).toBe(false);
  });

  it('reads a known field whatever its wire type says (protobufjs behaviour, documented)', () => {
    // Field 3 (group id) sent with wire type 0 instead of 2 is still read as length-delimited.
    const raw = concat(enc.content(content()), new Uint8Array([(3 << 3) | 0, 32, ...b(32)]));
    expect(decodeContent(raw).groupId).toEqual(b(32));
  });

  it('keeps the last value of a repeated singular field (protobuf semantics)', () => {
    const twice = concat(enc.identity({ ...identity(), dhKey: b(32, 1) }), enc.identity({ dhKey: b(32, 2) }));
    expect(decodePublicIdentity(twice).dhKey).toEqual(b(32, 2));
  });
});
