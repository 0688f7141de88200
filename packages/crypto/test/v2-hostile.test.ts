/**
 * Hostile inputs for every public function of suite v2: each is refused with the documented
 * error code and names the offending field; decoders never throw anything but `DecodeError`.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { CloisterError, DecodeError, toHex, utf8 } from '../src/index.js';
import { createNodeProvider } from '../src/providers/node.js';
import {
  acceptSession,
  addressKey,
  addSession,
  canonicalInitialHandshakeBytes,
  canonicalRatchetHeaderBytes,
  computeSafetyNumber,
  type DeviceIdentity,
  decryptRecord,
  deserializeSession,
  deviceId,
  emptySessionRecord,
  encryptRecord,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  type InitialMessage,
  InMemoryPreKeyStore,
  InMemorySessionStore,
  initiateSession,
  kemPreKeyId,
  oneTimePreKeyId,
  type PreKeyBundle,
  ratchetDecrypt,
  ratchetEncrypt,
  registrationId,
  SessionCipher,
  type SessionRecord,
  serializeSession,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
  V2_HEADER_LENGTH,
  verifyBundleSuites,
  verifyPreKeyBundle,
  verifyPublicIdentity,
} from '../src/v2/index.js';

const p = createNodeProvider();

/** Calls `fn` with a deliberately ill-typed argument list. */
type Call = () => unknown;

async function failure(fn: Call): Promise<{ code: string; message: string }> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CloisterError) return { code: e.code, message: e.message };
    throw e;
  }
  return { code: 'none', message: '' };
}

/** A valid binding for `signSuites` cases that fail on another argument. */
const BINDING = { signedPreKeyId: signedPreKeyId(1), issuedAt: 1_700_000_000_000 };

let alice: DeviceIdentity;
let bob: DeviceIdentity;
let bundle: PreKeyBundle;
let store: InMemoryPreKeyStore;
let initial: InitialMessage;
let record: SessionRecord;
let serialized: Uint8Array;

beforeAll(async () => {
  [alice, bob] = await Promise.all([generateDeviceIdentity(p), generateDeviceIdentity(p)]);
  store = new InMemoryPreKeyStore();
  const spk = await generateSignedPreKey(p, bob, signedPreKeyId(1));
  const [opk] = await generateOneTimePreKeys(p, oneTimePreKeyId(5), 1);
  const kem = await generateKemPreKey(p, bob, kemPreKeyId(9), { lastResort: true });
  await store.storeSignedPreKey(spk);
  await store.storeOneTimePreKeys([opk!]);
  await store.storeKemPreKey(kem);
  bundle = {
    registrationId: registrationId(1),
    deviceId: deviceId(1),
    identity: toPublicIdentity(bob),
    signedPreKey: toSignedPreKeyPublic(spk),
    oneTimePreKey: toOneTimePreKeyPublic(opk!),
    kemPreKey: toKemPreKeyPublic(kem),
    suites: ['v2'],
    suitesIssuedAt: 1_700_000_000_000,
    suitesSignature: await signSuites(p, bob, ['v2'], {
      signedPreKeyId: spk.id,
      issuedAt: 1_700_000_000_000,
    }),
  };
  const { session } = await initiateSession(p, { ourIdentity: alice, theirBundle: bundle });
  const out = await encryptRecord(p, { version: 1, current: session, previous: [] }, utf8('hi'));
  if (out.message.type !== 'initial') throw new Error('expected initial');
  initial = out.message.message;
  record = out.record;
  serialized = serializeSession(record);
});

describe('v2 hostile inputs: argument checks name the field', () => {
  const bad = <T extends object>(o: T, patch: Record<string, unknown>) =>
    ({ ...o, ...patch }) as unknown as T;
  const anyArg = (v: unknown) => v as never;

  it.each<[string, () => Call, string, string]>([
    ['signedPreKeyId(-1)', () => () => signedPreKeyId(-1), 'ERR_VALIDATION', 'signedPreKeyId'],
    ['oneTimePreKeyId(2^32)', () => () => oneTimePreKeyId(2 ** 32), 'ERR_VALIDATION', 'oneTimePreKeyId'],
    ['kemPreKeyId(1.5)', () => () => kemPreKeyId(1.5), 'ERR_VALIDATION', 'kemPreKeyId'],
    ['deviceId(NaN)', () => () => deviceId(Number.NaN), 'ERR_VALIDATION', 'deviceId'],
    ['registrationId("1")', () => () => registrationId(anyArg('1')), 'ERR_VALIDATION', 'registrationId'],
    ['toPublicIdentity(null)', () => () => toPublicIdentity(anyArg(null)), 'ERR_VALIDATION', 'identity'],
    [
      'toPublicIdentity short key',
      () => () => toPublicIdentity(bad(alice, { dhKeySignature: new Uint8Array(63) })),
      'ERR_VALIDATION',
      'identity.dhKeySignature',
    ],
    [
      'verifyPublicIdentity({})',
      () => () => verifyPublicIdentity(p, anyArg({})),
      'ERR_VALIDATION',
      'identity.signingKey',
    ],
    [
      'generateSignedPreKey bad id',
      () => () => generateSignedPreKey(p, alice, anyArg(-3)),
      'ERR_VALIDATION',
      'id',
    ],
    [
      'generateSignedPreKey bad identity',
      () => () => generateSignedPreKey(p, anyArg({}), signedPreKeyId(1)),
      'ERR_VALIDATION',
      'identity.signingKeyPair',
    ],
    [
      'generateOneTimePreKeys 1001',
      () => () => generateOneTimePreKeys(p, oneTimePreKeyId(1), 1001),
      'ERR_VALIDATION',
      'count',
    ],
    [
      'generateOneTimePreKeys past 2^32',
      () => () => generateOneTimePreKeys(p, oneTimePreKeyId(0xffff_ffff), 2),
      'ERR_VALIDATION',
      'firstId',
    ],
    [
      'generateKemPreKey no options',
      () => () => generateKemPreKey(p, alice, kemPreKeyId(1), anyArg(undefined)),
      'ERR_VALIDATION',
      'options',
    ],
    [
      'generateKemPreKey lastResort "yes"',
      () => () => generateKemPreKey(p, alice, kemPreKeyId(1), anyArg({ lastResort: 'yes' })),
      'ERR_VALIDATION',
      'options.lastResort',
    ],
    ['toSignedPreKeyPublic({})', () => () => toSignedPreKeyPublic(anyArg({})), 'ERR_VALIDATION', 'preKey.id'],
    [
      'toOneTimePreKeyPublic(null)',
      () => () => toOneTimePreKeyPublic(anyArg(null)),
      'ERR_VALIDATION',
      'preKey',
    ],
    [
      'toKemPreKeyPublic short key',
      () => () =>
        toKemPreKeyPublic(
          anyArg({
            id: 1,
            keyPair: { publicKey: new Uint8Array(1183), secretKey: new Uint8Array(2400) },
            lastResort: true,
            signature: new Uint8Array(64),
          }),
        ),
      'ERR_VALIDATION',
      'preKey.keyPair.publicKey',
    ],
    ['verifyPreKeyBundle(null)', () => () => verifyPreKeyBundle(p, anyArg(null)), 'ERR_VALIDATION', 'bundle'],
    [
      'bundle short signed prekey',
      () => () =>
        verifyPreKeyBundle(
          p,
          bad(bundle, { signedPreKey: { ...bundle.signedPreKey, publicKey: new Uint8Array(31) } }),
        ),
      'ERR_VALIDATION',
      'bundle.signedPreKey.publicKey',
    ],
    [
      'bundle KEM key of 1183 bytes',
      () => () =>
        verifyPreKeyBundle(
          p,
          bad(bundle, { kemPreKey: { ...bundle.kemPreKey, publicKey: new Uint8Array(1183) } }),
        ),
      'ERR_VALIDATION',
      'bundle.kemPreKey.publicKey',
    ],
    [
      'bundle suites not an array',
      () => () => verifyPreKeyBundle(p, bad(bundle, { suites: 'v2' })),
      'ERR_VALIDATION',
      'bundle.suites',
    ],
    [
      'bundle unknown suite name',
      () => () => verifyPreKeyBundle(p, bad(bundle, { suites: ['v2', 'v3'] })),
      'ERR_VALIDATION',
      'bundle.suites[1]',
    ],
    [
      'bundle suite listed twice',
      () => () => verifyBundleSuites(p, bad(bundle, { suites: ['v2', 'v2'] })),
      'ERR_VALIDATION',
      'bundle.suites[1]',
    ],
    [
      'bundle without suites',
      () => () => verifyBundleSuites(p, bad(bundle, { suites: [] })),
      'ERR_VALIDATION',
      'bundle.suites',
    ],
    [
      'bundle without suites signature',
      () => () => verifyPreKeyBundle(p, bad(bundle, { suitesSignature: undefined })),
      'ERR_VALIDATION',
      'bundle.suitesSignature',
    ],
    [
      'bundle suites signature of 63 bytes',
      () => () => verifyBundleSuites(p, bad(bundle, { suitesSignature: new Uint8Array(63) })),
      'ERR_VALIDATION',
      'bundle.suitesSignature',
    ],
    [
      'bundle unknown suite code that is known',
      () => () => verifyBundleSuites(p, bad(bundle, { unknownSuiteCodes: [1] })),
      'ERR_VALIDATION',
      'bundle.unknownSuiteCodes[0]',
    ],
    [
      'bundle unknown suite code 0',
      () => () => verifyBundleSuites(p, bad(bundle, { unknownSuiteCodes: [0] })),
      'ERR_VALIDATION',
      'bundle.unknownSuiteCodes[0]',
    ],
    [
      'bundle unknown suite code 2^31',
      () => () => verifyBundleSuites(p, bad(bundle, { unknownSuiteCodes: [2 ** 31] })),
      'ERR_VALIDATION',
      'bundle.unknownSuiteCodes[0]',
    ],
    [
      'bundle unknown suite code twice',
      () => () => verifyBundleSuites(p, bad(bundle, { unknownSuiteCodes: [5, 5] })),
      'ERR_VALIDATION',
      'bundle.unknownSuiteCodes[1]',
    ],
    [
      'bundle with 17 suites',
      () => () =>
        verifyBundleSuites(
          p,
          bad(bundle, { unknownSuiteCodes: Array.from({ length: 16 }, (_, i) => i + 3) }),
        ),
      'ERR_VALIDATION',
      'bundle.unknownSuiteCodes',
    ],
    [
      'bundle without suitesIssuedAt',
      () => () => verifyBundleSuites(p, bad(bundle, { suitesIssuedAt: undefined })),
      'ERR_VALIDATION',
      'bundle.suitesIssuedAt',
    ],
    [
      'bundle suitesIssuedAt 0',
      () => () => verifyPreKeyBundle(p, bad(bundle, { suitesIssuedAt: 0 })),
      'ERR_VALIDATION',
      'bundle.suitesIssuedAt',
    ],
    [
      'bundle suitesIssuedAt 2^53',
      () => () => verifyBundleSuites(p, bad(bundle, { suitesIssuedAt: 2 ** 53 })),
      'ERR_VALIDATION',
      'bundle.suitesIssuedAt',
    ],
    [
      'bundle suitesIssuedAt not an integer',
      () => () => verifyBundleSuites(p, bad(bundle, { suitesIssuedAt: 1.5 })),
      'ERR_VALIDATION',
      'bundle.suitesIssuedAt',
    ],
    [
      'bundle suitesIssuedAt as a string',
      () => () => verifyBundleSuites(p, bad(bundle, { suitesIssuedAt: '1700000000000' })),
      'ERR_VALIDATION',
      'bundle.suitesIssuedAt',
    ],
    [
      'bundle newestSuitesIssuedAt not a time',
      () => () => verifyBundleSuites(p, bundle, anyArg({ newestSuitesIssuedAt: -5 })),
      'ERR_VALIDATION',
      'options.newestSuitesIssuedAt',
    ],
    [
      'signSuites no identity',
      () => () => signSuites(p, anyArg(null), ['v2'], BINDING),
      'ERR_VALIDATION',
      'identity',
    ],
    ['signSuites empty list', () => () => signSuites(p, bob, [], BINDING), 'ERR_VALIDATION', 'suites'],
    [
      'signSuites unknown suite',
      () => () => signSuites(p, bob, anyArg(['v2', 'v3']), BINDING),
      'ERR_VALIDATION',
      'suites[1]',
    ],
    [
      'signSuites suite twice',
      () => () => signSuites(p, bob, ['static-v1', 'static-v1'], BINDING),
      'ERR_VALIDATION',
      'suites[1]',
    ],
    [
      'signSuites no binding',
      () => () => signSuites(p, bob, ['v2'], anyArg(undefined)),
      'ERR_VALIDATION',
      'binding',
    ],
    [
      'signSuites signed prekey id -1',
      () => () => signSuites(p, bob, ['v2'], anyArg({ ...BINDING, signedPreKeyId: -1 })),
      'ERR_VALIDATION',
      'binding.signedPreKeyId',
    ],
    [
      'signSuites issuedAt 0',
      () => () => signSuites(p, bob, ['v2'], { ...BINDING, issuedAt: 0 }),
      'ERR_VALIDATION',
      'binding.issuedAt',
    ],
    [
      'signSuites issuedAt 2^53',
      () => () => signSuites(p, bob, ['v2'], { ...BINDING, issuedAt: 2 ** 53 }),
      'ERR_VALIDATION',
      'binding.issuedAt',
    ],
    [
      'bundle one-time prekey id',
      () => () =>
        verifyPreKeyBundle(p, bad(bundle, { oneTimePreKey: { id: -1, publicKey: new Uint8Array(32) } })),
      'ERR_VALIDATION',
      'bundle.oneTimePreKey.id',
    ],
    [
      'bundle expectedIdentity',
      () => () => verifyPreKeyBundle(p, bundle, anyArg({ expectedIdentity: 5 })),
      'ERR_VALIDATION',
      'options.expectedIdentity',
    ],
    [
      'initiateSession({})',
      () => () => initiateSession(p, anyArg({})),
      'ERR_VALIDATION',
      'options.ourIdentity',
    ],
    [
      'initiateSession no bundle',
      () => () => initiateSession(p, anyArg({ ourIdentity: alice })),
      'ERR_VALIDATION',
      'bundle',
    ],
    [
      'acceptSession no preKeys',
      () => () => acceptSession(p, anyArg({ ourIdentity: bob, initialMessage: initial })),
      'ERR_VALIDATION',
      'options.preKeys',
    ],
    [
      'acceptSession store without methods',
      () => () =>
        acceptSession(
          p,
          anyArg({ ourIdentity: bob, preKeys: { getSignedPreKey() {} }, initialMessage: initial }),
        ),
      'ERR_VALIDATION',
      'options.preKeys.getOneTimePreKey',
    ],
    [
      'acceptSession wrong suite',
      () => () =>
        acceptSession(p, { ourIdentity: bob, preKeys: store, initialMessage: bad(initial, { suite: 'v3' }) }),
      'ERR_VALIDATION',
      'options.initialMessage.suite',
    ],
    [
      'acceptSession short KEM ciphertext',
      () => () =>
        acceptSession(p, {
          ourIdentity: bob,
          preKeys: store,
          initialMessage: bad(initial, { kemCiphertext: new Uint8Array(1087) }),
        }),
      'ERR_VALIDATION',
      'options.initialMessage.kemCiphertext',
    ],
    [
      'acceptSession header number',
      () => () =>
        acceptSession(p, {
          ourIdentity: bob,
          preKeys: store,
          initialMessage: bad(initial, {
            message: { ...initial.message, header: { ...initial.message.header, messageNumber: -1 } },
          }),
        }),
      'ERR_VALIDATION',
      'options.initialMessage.message.header.messageNumber',
    ],
    [
      'ratchetEncrypt state {}',
      () => () => ratchetEncrypt(p, anyArg({}), utf8('x')),
      'ERR_VALIDATION',
      'state',
    ],
    [
      'ratchetEncrypt plaintext string',
      () => () => ratchetEncrypt(p, record.current!, anyArg('x')),
      'ERR_VALIDATION',
      'plaintext',
    ],
    [
      'ratchetDecrypt message null',
      () => () => ratchetDecrypt(p, record.current!, anyArg(null)),
      'ERR_VALIDATION',
      'message',
    ],
    [
      'ratchetDecrypt short ciphertext',
      () => () => ratchetDecrypt(p, record.current!, { ...initial.message, ciphertext: new Uint8Array(15) }),
      'ERR_DECRYPTION_FAILED',
      'decryption failed',
    ],
    [
      'encryptRecord empty record',
      () => () => encryptRecord(p, emptySessionRecord(), utf8('x')),
      'ERR_USAGE',
      'no session',
    ],
    [
      'encryptRecord not a record',
      () => () => encryptRecord(p, anyArg({ version: 2, previous: [] }), utf8('x')),
      'ERR_VALIDATION',
      'record',
    ],
    [
      'decryptRecord bad type',
      () => () => decryptRecord(p, record, anyArg({ type: 'other', message: {} })),
      'ERR_VALIDATION',
      'message.type',
    ],
    [
      'decryptRecord ratchet on empty record',
      () => () => decryptRecord(p, emptySessionRecord(), { type: 'ratchet', message: initial.message }),
      'ERR_DECRYPTION_FAILED',
      'decryption failed',
    ],
    [
      'decryptRecord initial without context',
      () => () => decryptRecord(p, emptySessionRecord(), { type: 'initial', message: initial }),
      'ERR_USAGE',
      'context',
    ],
    [
      'decryptRecord bad context',
      () => () =>
        decryptRecord(
          p,
          emptySessionRecord(),
          { type: 'initial', message: initial },
          anyArg({ ourIdentity: bob }),
        ),
      'ERR_VALIDATION',
      'context.preKeys',
    ],
    [
      'addSession bad state',
      () => () => addSession(record, anyArg({ version: 1, suite: 'v1' })),
      'ERR_VALIDATION',
      'state',
    ],
    ['serializeSession(null)', () => () => serializeSession(anyArg(null)), 'ERR_VALIDATION', 'record'],
    [
      'serializeSession broken state',
      () => () => serializeSession(anyArg({ version: 1, current: { role: 'initiator' }, previous: [] })),
      'ERR_VALIDATION',
      'record',
    ],
    ['deserializeSession string', () => () => deserializeSession(anyArg('00')), 'ERR_VALIDATION', 'bytes'],
    [
      'canonicalRatchetHeaderBytes short key',
      () => () => canonicalRatchetHeaderBytes({ ...initial.message.header, ratchetKey: new Uint8Array(31) }),
      'ERR_VALIDATION',
      'message.header.ratchetKey',
    ],
    [
      'canonicalRatchetHeaderBytes pn 2^32',
      () => () => canonicalRatchetHeaderBytes({ ...initial.message.header, previousChainLength: 2 ** 32 }),
      'ERR_VALIDATION',
      'message.header.previousChainLength',
    ],
    [
      'canonicalInitialHandshakeBytes bad id',
      () => () => canonicalInitialHandshakeBytes(bad(initial, { kemPreKeyId: -1 })),
      'ERR_VALIDATION',
      'message.kemPreKeyId',
    ],
    [
      'computeSafetyNumber long stableId',
      () => () =>
        computeSafetyNumber(
          p,
          { identity: toPublicIdentity(alice), stableId: new Uint8Array(1025) },
          { identity: toPublicIdentity(bob), stableId: new Uint8Array(0) },
        ),
      'ERR_VALIDATION',
      'local.stableId',
    ],
    [
      'computeSafetyNumber no identity',
      () => () =>
        computeSafetyNumber(p, anyArg({ stableId: new Uint8Array(0) }), {
          identity: toPublicIdentity(bob),
          stableId: new Uint8Array(0),
        }),
      'ERR_VALIDATION',
      'local.identity',
    ],
    [
      'addressKey empty user',
      () => () => addressKey({ userId: '', deviceId: deviceId(1) }),
      'ERR_VALIDATION',
      'address.userId',
    ],
    [
      'SessionCipher no store',
      () => () =>
        new SessionCipher(p, anyArg({ ourIdentity: alice, remoteAddress: { userId: 'b', deviceId: 1 } })),
      'ERR_VALIDATION',
      'options.sessions',
    ],
    [
      'SessionCipher bad address',
      () => () =>
        new SessionCipher(
          p,
          anyArg({
            ourIdentity: alice,
            remoteAddress: { userId: 'b', deviceId: -1 },
            sessions: new InMemorySessionStore(),
          }),
        ),
      'ERR_VALIDATION',
      'options.remoteAddress.deviceId',
    ],
    [
      'InMemoryPreKeyStore bad key',
      () => () => new InMemoryPreKeyStore().storeSignedPreKey(anyArg({ id: 1 })),
      'ERR_VALIDATION',
      'key.keyPair',
    ],
  ])('%s', async (_name, make, code, text) => {
    const f = await failure(make());
    expect(f.code).toBe(code);
    expect(f.message).toContain(text);
  });
});

describe('v2 hostile inputs: decoders', () => {
  it('report the field path of malformed bytes', () => {
    const cases: [string, () => unknown, string][] = [
      ['empty record', () => deserializeSession(new Uint8Array(0)), 'record.version'],
      ['record version 2', () => deserializeSession(Uint8Array.of(2, 0, 0)), 'record.version'],
      ['record flags', () => deserializeSession(Uint8Array.of(1, 2, 0)), 'record.flags'],
      ['too many previous', () => deserializeSession(Uint8Array.of(1, 0, 6)), 'record.previous'],
      ['trailing byte', () => deserializeSession(Uint8Array.of(...serialized, 0)), 'record'],
      [
        'truncated',
        () => deserializeSession(serialized.subarray(0, 200)),
        'record.current.remoteIdentity.dhKeySignature',
      ],
      ['state suite', () => deserializeSession(Uint8Array.of(1, 1, 1, 3)), 'record.current.suite'],
      ['state role', () => deserializeSession(Uint8Array.of(1, 1, 1, 2, 7)), 'record.current.role'],
    ];
    for (const [name, fn, path] of cases) {
      let error: unknown;
      try {
        fn();
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(DecodeError);
      expect((error as DecodeError).path, name).toBe(path);
      expect((error as DecodeError).code, name).toBe('ERR_DECODE');
    }
  });

  it('report skipped keys of unknown chains and open old chains', async () => {
    // Build a record whose current state has two receiving chains, then corrupt it.
    const b = emptySessionRecord();
    const accepted = await decryptRecord(
      p,
      b,
      { type: 'initial', message: initial },
      { ourIdentity: bob, preKeys: store },
    );
    const s = accepted.record.current!;
    const withSkipped: SessionRecord = {
      version: 1,
      current: {
        ...s,
        skipped: [
          { ratchetKey: new Uint8Array(32).fill(9), messageNumber: 0, messageKey: new Uint8Array(32) },
        ],
      },
      previous: [],
    };
    expect(() => deserializeSession(serializeSession(withSkipped))).toThrow(
      expect.objectContaining({ path: 'record.current.skipped[0].ratchetKey' }),
    );
    const twoOpen: SessionRecord = {
      version: 1,
      current: {
        ...s,
        receiving: [s.receiving[0]!, { ...s.receiving[0]!, ratchetKey: new Uint8Array(32).fill(1) }],
      },
      previous: [],
    };
    expect(() => deserializeSession(serializeSession(twoOpen))).toThrow(
      expect.objectContaining({ path: 'record.current.receiving[1].open' }),
    );
    const roundTrip = serializeSession(accepted.record);
    expect(toHex(serializeSession(deserializeSession(roundTrip)))).toBe(toHex(roundTrip));
  });

  it('never throw anything but DecodeError, and re-encode what they accept identically', () => {
    const check = (fn: () => Uint8Array, input: Uint8Array) => {
      try {
        expect(toHex(fn())).toBe(toHex(input));
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
    };
    const mutated = (base: Uint8Array) =>
      fc
        .tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.nat({ max: 8 }))
        .map(([i, x, cut]) => {
          const out = base.slice(0, base.length - cut);
          if (i < out.length) out[i]! ^= x;
          return out;
        });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), mutated(serialized)), (bytes) => {
        check(() => serializeSession(deserializeSession(bytes)), bytes);
      }),
      { numRuns: 400 },
    );
  });
});

describe('v2 canonical layouts', () => {
  it('have the documented lengths and field positions', () => {
    const { header } = initial.message;
    const h = canonicalRatchetHeaderBytes(header);
    expect(h.length).toBe(V2_HEADER_LENGTH);
    expect(toHex(h)).toBe(
      toHex(header.ratchetKey) +
        header.previousChainLength.toString(16).padStart(8, '0') +
        header.messageNumber.toString(16).padStart(8, '0'),
    );
    const hs = canonicalInitialHandshakeBytes(initial);
    expect(hs.length).toBe(1262);
    expect(hs[0]).toBe(0x02);
    expect(toHex(hs.subarray(1, 129))).toBe(
      toHex(initial.initiatorIdentity.signingKey) +
        toHex(initial.initiatorIdentity.dhKey) +
        toHex(initial.initiatorIdentity.dhKeySignature),
    );
    expect(hs[1 + 128 + 32 + 4]).toBe(1);
    expect(toHex(hs.subarray(hs.length - 1088))).toBe(toHex(initial.kemCiphertext));
    const { oneTimePreKeyId: _omitted, ...withoutOneTime } = initial;
    const short = canonicalInitialHandshakeBytes(withoutOneTime);
    expect(short.length).toBe(1258);
    expect(short[1 + 128 + 32 + 4]).toBe(0);
  });
});
