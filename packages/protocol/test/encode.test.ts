/**
 * Encoders check the same rules as decoders, but on the caller's objects: a bad object is a
 * caller bug (ValidationError naming the field), never bytes a peer would have to reject.
 */
import {
  deviceId,
  type InitialMessage,
  kemPreKeyId,
  type PreKeyBundle,
  type RatchetMessage,
  registrationId,
  signedPreKeyId,
  ValidationError,
} from '@cloister/crypto';
import { describe, expect, it } from 'vitest';
import {
  type Content,
  type DeviceMessage,
  encodeContent,
  encodeDeviceMessage,
  encodeInitialMessage,
  encodePreKeyBundle,
  encodeRatchetHeader,
  encodeRatchetMessage,
  encodeStaticV1Message,
  FIELD_LIMITS,
} from '../src/index.js';

const b = (n: number): Uint8Array => new Uint8Array(n).fill(3);
const text: Content = { messageId: b(16), sentAtMs: 1, body: { type: 'text', text: 'hi' } };
const header = { ratchetKey: b(32), previousChainLength: 0, messageNumber: 0 };
const ratchet: RatchetMessage = { header, ciphertext: b(16) };
const identity = { signingKey: b(32), dhKey: b(32), dhKeySignature: b(64) };
const bundle: PreKeyBundle = {
  registrationId: registrationId(1),
  deviceId: deviceId(1),
  identity,
  signedPreKey: { id: signedPreKeyId(1), publicKey: b(32), signature: b(64) },
  kemPreKey: { id: kemPreKeyId(1), publicKey: b(1184), lastResort: true, signature: b(64) },
  suites: ['v2'],
  suitesIssuedAt: 1_700_000_000_000,
  suitesSignature: b(64),
};
const initial: InitialMessage = {
  suite: 'v2',
  initiatorIdentity: identity,
  baseKey: b(32),
  signedPreKeyId: signedPreKeyId(1),
  kemPreKeyId: kemPreKeyId(1),
  kemCiphertext: b(1088),
  message: ratchet,
};

/** Calls `encode` with a deliberately malformed object. */
const bad =
  <T>(encode: (value: T) => Uint8Array, value: unknown) =>
  () =>
    encode(value as T);

const ROWS: [string, () => unknown, string][] = [
  ['message id of 15 bytes', bad(encodeContent, { ...text, messageId: b(15) }), 'content.messageId'],
  ['sentAtMs not an integer', bad(encodeContent, { ...text, sentAtMs: 1.5 }), 'content.sentAtMs'],
  ['unknown body type', bad(encodeContent, { ...text, body: { type: 'video' } }), 'content.body.type'],
  [
    'text with a lone surrogate',
    bad(encodeContent, { ...text, body: { type: 'text', text: 'a\uD800b' } }),
    'content.body.text',
  ],
  [
    'text over the limit',
    bad(encodeContent, { ...text, body: { type: 'text', text: 'é'.repeat(FIELD_LIMITS.textBytes / 2 + 1) } }),
    'content.body.text',
  ],
  [
    'group body without group id',
    bad(encodeContent, {
      ...text,
      body: { type: 'group', version: 1, action: { kind: 'add-members', members: [{ userId: 'a' }] } },
    }),
    'content.groupId',
  ],
  [
    'receipt kind unknown',
    bad(encodeContent, { ...text, body: { type: 'receipt', kind: 'seen', messageIds: [b(16)] } }),
    'content.body.kind',
  ],
  [
    'negative file size',
    bad(encodeContent, {
      ...text,
      body: {
        type: 'file',
        file: { fileKey: b(32), digest: b(32), size: -1, mediaType: 'a/b', locator: 'x' },
      },
    }),
    'content.body.file.size',
  ],
  [
    'members whose encoding exceeds the Content limit',
    bad(encodeContent, {
      ...text,
      groupId: b(32),
      body: {
        type: 'group',
        version: 1,
        action: {
          kind: 'add-members',
          members: Array.from({ length: 1000 }, (_, i) => ({ userId: `${i}`.padEnd(200, 'x') })),
        },
      },
    }),
    'content',
  ],
  ['content not an object', bad(encodeContent, null), 'content'],
  ['unknown suite in a bundle', bad(encodePreKeyBundle, { ...bundle, suites: ['v3'] }), 'bundle.suites[0]'],
  ['no suites in a bundle', bad(encodePreKeyBundle, { ...bundle, suites: [] }), 'bundle.suites'],
  [
    'suite twice in a bundle',
    bad(encodePreKeyBundle, { ...bundle, suites: ['v2', 'v2'] }),
    'bundle.suites[1]',
  ],
  [
    'bundle without suites signature',
    bad(encodePreKeyBundle, { ...bundle, suitesSignature: undefined }),
    'bundle.suitesSignature',
  ],
  [
    'suites signature of 65 bytes',
    bad(encodePreKeyBundle, { ...bundle, suitesSignature: b(65) }),
    'bundle.suitesSignature',
  ],
  [
    'bundle without suitesIssuedAt',
    bad(encodePreKeyBundle, { ...bundle, suitesIssuedAt: undefined }),
    'bundle.suitesIssuedAt',
  ],
  ['suitesIssuedAt 0', bad(encodePreKeyBundle, { ...bundle, suitesIssuedAt: 0 }), 'bundle.suitesIssuedAt'],
  [
    'suitesIssuedAt 2^53',
    bad(encodePreKeyBundle, { ...bundle, suitesIssuedAt: 2 ** 53 }),
    'bundle.suitesIssuedAt',
  ],
  [
    'suitesIssuedAt not an integer',
    bad(encodePreKeyBundle, { ...bundle, suitesIssuedAt: 1.5 }),
    'bundle.suitesIssuedAt',
  ],
  [
    'unknown suite code of a known suite',
    bad(encodePreKeyBundle, { ...bundle, unknownSuiteCodes: [2] }),
    'bundle.unknownSuiteCodes[0]',
  ],
  [
    'unknown suite code 0',
    bad(encodePreKeyBundle, { ...bundle, unknownSuiteCodes: [0] }),
    'bundle.unknownSuiteCodes[0]',
  ],
  [
    'unknown suite code 2^31',
    bad(encodePreKeyBundle, { ...bundle, unknownSuiteCodes: [2 ** 31] }),
    'bundle.unknownSuiteCodes[0]',
  ],
  [
    'unknown suite code twice',
    bad(encodePreKeyBundle, { ...bundle, unknownSuiteCodes: [9, 9] }),
    'bundle.unknownSuiteCodes[1]',
  ],
  [
    'more than 16 suites in all',
    bad(encodePreKeyBundle, { ...bundle, unknownSuiteCodes: Array.from({ length: 16 }, (_, i) => 3 + i) }),
    'bundle.unknownSuiteCodes',
  ],
  [
    'prekey id over u32',
    bad(encodePreKeyBundle, { ...bundle, signedPreKey: { ...bundle.signedPreKey, id: 2 ** 32 } }),
    'bundle.signedPreKey.id',
  ],
  [
    'lastResort not a boolean',
    bad(encodePreKeyBundle, { ...bundle, kemPreKey: { ...bundle.kemPreKey, lastResort: 1 } }),
    'bundle.kemPreKey.lastResort',
  ],
  [
    'initial of another suite',
    bad(encodeInitialMessage, { ...initial, suite: 'static-v1' }),
    'initial.suite',
  ],
  [
    'initial KEM ciphertext of 1184 bytes',
    bad(encodeInitialMessage, { ...initial, kemCiphertext: b(1184) }),
    'initial.kemCiphertext',
  ],
  [
    'header counter over u32',
    bad(encodeRatchetHeader, { ...header, messageNumber: 2 ** 32 }),
    'header.messageNumber',
  ],
  [
    'ciphertext over the limit',
    bad(encodeRatchetMessage, { header, ciphertext: b(FIELD_LIMITS.ciphertextBytes + 1) }),
    'ratchet.ciphertext',
  ],
  [
    'static-v1 sealed not aligned',
    bad(encodeStaticV1Message, { senderKey: b(32), sealed: b(70) }),
    'staticV1.sealed',
  ],
  [
    'suite that does not match the body',
    bad(encodeDeviceMessage, {
      suite: 'static-v1',
      type: 'ratchet',
      message: ratchet,
    } as unknown as DeviceMessage),
    'deviceMessage.suite',
  ],
  [
    'device message without body',
    bad(encodeDeviceMessage, { suite: 'v2', type: 'ratchet' }),
    'deviceMessage.message',
  ],
];

describe('encoders reject invalid objects with ValidationError naming the field', () => {
  it.each(ROWS)('%s', (_name, fn, field) => {
    let error: unknown;
    try {
      fn();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).code).toBe('ERR_VALIDATION');
    expect((error as ValidationError).field).toBe(field);
  });

  it('ignore extra properties, so crypto objects encode as they are', () => {
    const withExtras = { ...bundle, extra: 1, identity: { ...identity, note: 'x' } };
    expect(encodePreKeyBundle(withExtras)).toEqual(encodePreKeyBundle(bundle));
  });
});

describe('Content.syncedTo', () => {
  it('is refused when empty or longer than a user id may be', () => {
    expect(() => encodeContent({ ...text, syncedTo: '' })).toThrow(ValidationError);
    expect(() => encodeContent({ ...text, syncedTo: 'x'.repeat(FIELD_LIMITS.userIdBytes + 1) })).toThrow(
      /content\.syncedTo/,
    );
    expect(encodeContent({ ...text, syncedTo: 'bob' }).length).toBeGreaterThan(encodeContent(text).length);
  });
});
