/**
 * Suite v2 identities, prekeys, bundle verification, the hybrid handshake and safety numbers:
 * behaviour under every provider, and negative cases that assert the error code and field.
 */
import { describe, expect, it } from 'vitest';
import { CloisterError, type CryptoProvider, equalBytes, toHex, utf8 } from '../src/index.js';
import {
  acceptSession,
  computeSafetyNumber,
  type DeviceIdentity,
  deviceId,
  encryptRecord,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  type InitialMessage,
  InMemoryPreKeyStore,
  initiateSession,
  isVerifiedSuites,
  kemPreKeyId,
  oneTimePreKeyId,
  type PreKeyBundle,
  registrationId,
  SUITE_CODES,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
  V2_LABELS,
  verifyBundleSuites,
  verifyPreKeyBundle,
  verifyPublicIdentity,
} from '../src/v2/index.js';
import { PROVIDERS } from './providers.js';

/** Runs `fn` and returns the thrown CloisterError (fails the test when nothing or something else is thrown). */
async function thrown(fn: () => Promise<unknown> | unknown): Promise<CloisterError & { field?: string }> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CloisterError) return e;
    throw e;
  }
  throw new Error('expected a CloisterError, nothing was thrown');
}

interface Device {
  readonly identity: DeviceIdentity;
  readonly store: InMemoryPreKeyStore;
  readonly bundle: PreKeyBundle;
}

async function device(
  p: CryptoProvider,
  options: { oneTime?: boolean; lastResort?: boolean; identity?: DeviceIdentity } = {},
): Promise<Device> {
  const identity = options.identity ?? (await generateDeviceIdentity(p));
  const store = new InMemoryPreKeyStore();
  const spk = await generateSignedPreKey(p, identity, signedPreKeyId(1));
  const opks = await generateOneTimePreKeys(p, oneTimePreKeyId(10), options.oneTime === false ? 0 : 2);
  const kem = await generateKemPreKey(p, identity, kemPreKeyId(options.lastResort ? 1 : 2), {
    lastResort: options.lastResort ?? false,
  });
  await store.storeSignedPreKey(spk);
  await store.storeOneTimePreKeys(opks);
  await store.storeKemPreKey(kem);
  const bundle: PreKeyBundle = {
    registrationId: registrationId(7),
    deviceId: deviceId(1),
    identity: toPublicIdentity(identity),
    signedPreKey: toSignedPreKeyPublic(spk),
    ...(opks[0] === undefined ? {} : { oneTimePreKey: toOneTimePreKeyPublic(opks[0]) }),
    kemPreKey: toKemPreKeyPublic(kem),
    suites: ['static-v1', 'v2'],
    suitesIssuedAt: ISSUED_AT,
    suitesSignature: await signSuites(p, identity, ['static-v1', 'v2'], {
      signedPreKeyId: spk.id,
      issuedAt: ISSUED_AT,
    }),
  };
  return { identity, store, bundle };
}

async function firstMessage(p: CryptoProvider, alice: DeviceIdentity, bundle: PreKeyBundle, text = 'hello') {
  const { session } = await initiateSession(p, { ourIdentity: alice, theirBundle: bundle });
  const { message } = await encryptRecord(p, { version: 1, current: session, previous: [] }, utf8(text));
  if (message.type !== 'initial') throw new Error('expected an initial message');
  return { session, initial: message.message };
}

/** When the test devices signed their suite lists (ms since the epoch). */
const ISSUED_AT = 1_700_000_000_000;

/** What the suite list of `bundle` is signed together with. */
function bindingOf(bundle: PreKeyBundle) {
  return { signedPreKeyId: bundle.signedPreKey.id, issuedAt: bundle.suitesIssuedAt };
}

/** The retired (pre-binding) statement: `"cloister/v2/suites" | u8(count) | u32(code)*`. */
function oldFormSuitesBytes(codes: readonly number[]): Uint8Array {
  const out = new Uint8Array(18 + 1 + 4 * codes.length);
  out.set(utf8('cloister/v2/suites'));
  const view = new DataView(out.buffer);
  view.setUint8(18, codes.length);
  [...codes]
    .sort((a, b) => a - b)
    .forEach((c, i) => {
      view.setUint32(19 + 4 * i, c);
    });
  return out;
}

function flip(bytes: Uint8Array, index = 0): Uint8Array {
  const out = bytes.slice();
  out[index]! ^= 0x01;
  return out;
}

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('v2 handshake under %s', (_name, p) => {
  it('generates identities whose DH key is signed by the signing key', async () => {
    const id = await generateDeviceIdentity(p);
    await expect(verifyPublicIdentity(p, toPublicIdentity(id))).resolves.toBeUndefined();
    const bad = { ...toPublicIdentity(id), dhKeySignature: flip(id.dhKeySignature, 5) };
    const e = await thrown(() => verifyPublicIdentity(p, bad, 'peer'));
    expect(e.code).toBe('ERR_INVALID_KEY');
    expect(e.message).toContain('peer.dhKeySignature');
  });

  it('runs a full handshake with one-time prekeys and consumes them', async () => {
    const alice = await generateDeviceIdentity(p);
    const bob = await device(p, { oneTime: true, lastResort: false });
    const { session, initial } = await firstMessage(p, alice, bob.bundle, 'hi Bob');
    expect(initial.oneTimePreKeyId).toBe(10);
    expect(session.role).toBe('initiator');
    const accepted = await acceptSession(p, {
      ourIdentity: bob.identity,
      preKeys: bob.store,
      initialMessage: initial,
    });
    expect(new TextDecoder().decode(accepted.plaintext)).toBe('hi Bob');
    expect(accepted.session.role).toBe('responder');
    expect(equalBytes(accepted.session.remoteIdentity.signingKey, alice.signingKeyPair.publicKey)).toBe(true);
    expect(await bob.store.countOneTimePreKeys()).toBe(1);
    expect(await bob.store.getKemPreKey(kemPreKeyId(2))).toBeUndefined();
    // A second use of the consumed one-time prekeys is refused.
    const again = await thrown(() =>
      acceptSession(p, { ourIdentity: bob.identity, preKeys: bob.store, initialMessage: initial }),
    );
    expect(again.code).toBe('ERR_INVALID_KEY');
  });

  it('refuses a replayed last-resort KEM use with ERR_REPLAY but accepts a new base key', async () => {
    const alice = await generateDeviceIdentity(p);
    const bob = await device(p, { oneTime: false, lastResort: true });
    const { initial } = await firstMessage(p, alice, bob.bundle);
    await acceptSession(p, { ourIdentity: bob.identity, preKeys: bob.store, initialMessage: initial });
    const e = await thrown(() =>
      acceptSession(p, { ourIdentity: bob.identity, preKeys: bob.store, initialMessage: initial }),
    );
    expect(e.code).toBe('ERR_REPLAY');
    // The last-resort key itself stays usable for new handshakes.
    const second = await firstMessage(p, alice, bob.bundle);
    const ok = await acceptSession(p, {
      ourIdentity: bob.identity,
      preKeys: bob.store,
      initialMessage: second.initial,
    });
    expect(ok.session.role).toBe('responder');
  });

  it('consumes nothing when the first message does not authenticate', async () => {
    const alice = await generateDeviceIdentity(p);
    const bob = await device(p, { oneTime: true, lastResort: true });
    const { initial } = await firstMessage(p, alice, bob.bundle);
    const forged: InitialMessage = {
      ...initial,
      message: { ...initial.message, ciphertext: flip(initial.message.ciphertext, 3) },
    };
    const e = await thrown(() =>
      acceptSession(p, { ourIdentity: bob.identity, preKeys: bob.store, initialMessage: forged }),
    );
    expect(e.code).toBe('ERR_DECRYPTION_FAILED');
    expect(await bob.store.countOneTimePreKeys()).toBe(2);
    const ok = await acceptSession(p, {
      ourIdentity: bob.identity,
      preKeys: bob.store,
      initialMessage: initial,
    });
    expect(new TextDecoder().decode(ok.plaintext)).toBe('hello');
  });

  it('rejects bundles with a bad signature, a wrong or own identity, or without v2', async () => {
    const alice = await generateDeviceIdentity(p);
    const bob = await device(p);
    const carol = await generateDeviceIdentity(p);
    const b = bob.bundle;
    const cases: [string, PreKeyBundle, string, string][] = [
      [
        'identity signature',
        { ...b, identity: { ...b.identity, dhKeySignature: flip(b.identity.dhKeySignature) } },
        'ERR_INVALID_KEY',
        'bundle.identity.dhKeySignature',
      ],
      [
        'signed prekey signature',
        { ...b, signedPreKey: { ...b.signedPreKey, signature: flip(b.signedPreKey.signature) } },
        'ERR_INVALID_KEY',
        'bundle.signedPreKey.signature',
      ],
      [
        'signed prekey id',
        { ...b, signedPreKey: { ...b.signedPreKey, id: signedPreKeyId(2) } },
        'ERR_INVALID_KEY',
        'bundle.signedPreKey.signature',
      ],
      [
        'KEM prekey signature',
        { ...b, kemPreKey: { ...b.kemPreKey, signature: flip(b.kemPreKey.signature) } },
        'ERR_INVALID_KEY',
        'bundle.kemPreKey.signature',
      ],
      [
        'KEM last-resort flag',
        { ...b, kemPreKey: { ...b.kemPreKey, lastResort: true } },
        'ERR_INVALID_KEY',
        'bundle.kemPreKey.signature',
      ],
      [
        'prekeys of another identity',
        { ...b, identity: toPublicIdentity(carol) },
        'ERR_INVALID_KEY',
        'bundle.signedPreKey.signature',
      ],
      ['own identity', (await device(p, { identity: alice })).bundle, 'ERR_INVALID_KEY', 'bundle.identity'],
      [
        'v2 stripped from the suites',
        { ...b, suites: ['static-v1'] },
        'ERR_INVALID_KEY',
        'bundle.suitesSignature',
      ],
      [
        'suites signature',
        { ...b, suitesSignature: flip(b.suitesSignature) },
        'ERR_INVALID_KEY',
        'bundle.suitesSignature',
      ],
      [
        'genuinely signed list without v2',
        {
          ...b,
          suites: ['static-v1'],
          suitesSignature: await signSuites(p, bob.identity, ['static-v1'], bindingOf(b)),
        },
        'ERR_UNSUPPORTED',
        'bundle.suites',
      ],
    ];
    for (const [name, bundle, code, field] of cases) {
      const e = await thrown(() => initiateSession(p, { ourIdentity: alice, theirBundle: bundle }));
      expect(e.code, name).toBe(code);
      expect(e.message, name).toContain(field);
    }
    const wrong = await thrown(() =>
      initiateSession(p, { ourIdentity: alice, theirBundle: b, expectedIdentity: toPublicIdentity(carol) }),
    );
    expect(wrong.code).toBe('ERR_INVALID_KEY');
    expect(wrong.message).toContain('bundle.identity');
    await expect(verifyPreKeyBundle(p, b, { expectedIdentity: b.identity })).resolves.toBeUndefined();
  });

  it('signs the suite list so that removing v2 fails verification (downgrade protection)', async () => {
    const bob = await device(p);
    const carol = await generateDeviceIdentity(p);
    const b = bob.bundle;
    const both = await verifyBundleSuites(p, b);
    expect([...both]).toEqual(['static-v1', 'v2']);
    expect(Object.isFrozen(both)).toBe(true);
    expect(isVerifiedSuites(both)).toBe(true);
    expect(isVerifiedSuites([...both])).toBe(false);
    // The canonical list is sorted by code, so the order in the bundle does not matter.
    const reordered = await verifyBundleSuites(p, { ...b, suites: ['v2', 'static-v1'] });
    expect([...reordered]).toEqual(['v2', 'static-v1']);
    const tampered: [string, PreKeyBundle][] = [
      ['v2 removed', { ...b, suites: ['static-v1'] }],
      ['static-v1 removed', { ...b, suites: ['v2'] }],
      ['a suite code added', { ...b, unknownSuiteCodes: [3] }],
      [
        'signed by another identity',
        { ...b, suitesSignature: await signSuites(p, carol, ['static-v1', 'v2'], bindingOf(b)) },
      ],
    ];
    for (const [name, bundle] of tampered) {
      for (const verify of [verifyBundleSuites, verifyPreKeyBundle]) {
        const e = await thrown(() => verify(p, bundle));
        expect(e.code, `${name} (${verify.name})`).toBe('ERR_INVALID_KEY');
        expect(e.message, `${name} (${verify.name})`).toContain('bundle.suitesSignature');
      }
    }
    // A device that really supports only static-v1 signs that: negotiation may pick static-v1.
    const onlyV1 = {
      ...b,
      suites: ['static-v1'],
      suitesSignature: await signSuites(p, bob.identity, ['static-v1'], bindingOf(b)),
    } as const;
    expect([...(await verifyBundleSuites(p, onlyV1))]).toEqual(['static-v1']);
    expect((await thrown(() => verifyPreKeyBundle(p, onlyV1))).code).toBe('ERR_UNSUPPORTED');
  });

  it('signs the documented statement, including suite codes this version does not know', async () => {
    const bob = await device(p);
    const { suitesSignedBytes } = await import('../src/v2/_signed.js');
    const label = toHex(utf8(V2_LABELS.suites));
    expect(label).toBe(toHex(utf8('cloister/v2/suites/2')));
    expect(SUITE_CODES).toEqual({ v2: 1, 'static-v1': 2 });
    // label | u32(signedPreKeyId) | u64(issuedAt) | u8(count) | u32(code)*, codes ascending.
    expect(toHex(suitesSignedBytes(1, ISSUED_AT, ['static-v1', 'v2']))).toBe(
      `${label}00000001${'0000018bcfe56800'}02${'00000001'}${'00000002'}`,
    );
    expect(toHex(suitesSignedBytes(0xffff_ffff, 2 ** 53 - 1, ['v2'], [0x7fff_ffff, 9]))).toBe(
      `${label}ffffffff${'001fffffffffffff'}03${'00000001'}${'00000009'}${'7fffffff'}`,
    );
    const key = bob.identity.signingKeyPair.privateKey;
    expect(toHex(bob.bundle.suitesSignature)).toBe(
      toHex(await p.ed25519.sign(key, suitesSignedBytes(1, ISSUED_AT, ['v2', 'static-v1']))),
    );
    // A newer device lists a suite (code 9) this version does not know: the bundle still verifies
    // with the code kept, and negotiation sees only the known suites.
    const newer: PreKeyBundle = {
      ...bob.bundle,
      suites: ['v2'],
      unknownSuiteCodes: [9],
      suitesSignature: await p.ed25519.sign(key, suitesSignedBytes(1, ISSUED_AT, ['v2'], [9])),
    };
    expect([...(await verifyBundleSuites(p, newer))]).toEqual(['v2']);
    const { unknownSuiteCodes: _dropped, ...withoutCode } = newer;
    expect((await thrown(() => verifyBundleSuites(p, withoutCode))).code).toBe('ERR_INVALID_KEY');
  });

  it('binds the suite list to the signed prekey and its issue time, so an old list cannot be replayed', async () => {
    const bob = await device(p);
    const key = bob.identity.signingKeyPair.privateKey;
    // Earlier, with signed prekey 1, Bob's device offered only static-v1; now (signed prekey 2,
    // an hour later) it offers v2 as well.
    const old = {
      ...bob.bundle,
      suites: ['static-v1'],
      suitesSignature: await signSuites(p, bob.identity, ['static-v1'], bindingOf(bob.bundle)),
    } as const satisfies PreKeyBundle;
    const spk2 = toSignedPreKeyPublic(await generateSignedPreKey(p, bob.identity, signedPreKeyId(2)));
    const later = ISSUED_AT + 3_600_000;
    const current: PreKeyBundle = {
      ...bob.bundle,
      signedPreKey: spk2,
      suites: ['static-v1', 'v2'],
      suitesIssuedAt: later,
      suitesSignature: await signSuites(p, bob.identity, ['static-v1', 'v2'], {
        signedPreKeyId: spk2.id,
        issuedAt: later,
      }),
    };
    expect([...(await verifyBundleSuites(p, current))]).toEqual(['static-v1', 'v2']);
    expect([...(await verifyBundleSuites(p, old))]).toEqual(['static-v1']);
    const forged: [string, PreKeyBundle][] = [
      // The retired label-only form over exactly the same list, correctly signed by Bob.
      [
        'the old-form signature over the current list',
        { ...current, suitesSignature: await p.ed25519.sign(key, oldFormSuitesBytes([1, 2])) },
      ],
      [
        'an old-form static-v1 list',
        {
          ...current,
          suites: ['static-v1'],
          suitesSignature: await p.ed25519.sign(key, oldFormSuitesBytes([2])),
        },
      ],
      // The current bundle with its signed prekey swapped for the older (validly signed) one.
      ['the signed prekey swapped for an older one', { ...current, signedPreKey: bob.bundle.signedPreKey }],
      // The old static-v1 list moved onto the current signed prekey.
      [
        'the old list on the current signed prekey',
        {
          ...current,
          suites: old.suites,
          suitesIssuedAt: old.suitesIssuedAt,
          suitesSignature: old.suitesSignature,
        },
      ],
      [
        'a list signed for another signed prekey id',
        {
          ...current,
          suitesSignature: await signSuites(p, bob.identity, ['static-v1', 'v2'], {
            signedPreKeyId: signedPreKeyId(3),
            issuedAt: later,
          }),
        },
      ],
      ['issuedAt changed (later)', { ...current, suitesIssuedAt: later + 1 }],
      ['issuedAt changed (earlier)', { ...current, suitesIssuedAt: later - 1 }],
    ];
    for (const [name, bundle] of forged) {
      for (const verify of [verifyBundleSuites, verifyPreKeyBundle]) {
        const e = await thrown(() => verify(p, bundle));
        expect(e.code, `${name} (${verify.name})`).toBe('ERR_INVALID_KEY');
        expect(e.message, `${name} (${verify.name})`).toContain('bundle.suitesSignature');
      }
    }
    // The whole old bundle, replayed unchanged, verifies: only freshness stops it. A caller that
    // has seen the current list passes its time and the old one is refused before negotiation.
    const newest = { newestSuitesIssuedAt: current.suitesIssuedAt };
    for (const verify of [verifyBundleSuites, verifyPreKeyBundle]) {
      const e = await thrown(() => verify(p, old, newest));
      expect(e.code, verify.name).toBe('ERR_INVALID_KEY');
      expect(e.message, verify.name).toContain('bundle.suitesIssuedAt');
    }
    const alice = await generateDeviceIdentity(p);
    const refused = await thrown(() => initiateSession(p, { ourIdentity: alice, theirBundle: old }));
    expect(refused.code).toBe('ERR_UNSUPPORTED');
    // The same list again, or a newer one, is accepted.
    expect([...(await verifyBundleSuites(p, current, newest))]).toEqual(['static-v1', 'v2']);
    await expect(
      verifyPreKeyBundle(p, current, { newestSuitesIssuedAt: old.suitesIssuedAt }),
    ).resolves.toBeUndefined();
    // A signature that does not verify is reported as such, whatever its time.
    const both = await thrown(() =>
      verifyBundleSuites(p, { ...old, suitesSignature: flip(old.suitesSignature) }, newest),
    );
    expect(both.message).toContain('bundle.suitesSignature');
    for (const bad of [0, -1, 1.5, 2 ** 53, Number.NaN]) {
      const e = await thrown(() => verifyBundleSuites(p, current, { newestSuitesIssuedAt: bad }));
      expect(e.code).toBe('ERR_VALIDATION');
      expect(e.message).toContain('options.newestSuitesIssuedAt');
    }
  });

  it('rejects properly signed but unusable keys', async () => {
    const alice = await generateDeviceIdentity(p);
    const bob = await device(p);
    // A low-order X25519 point as signed prekey, correctly signed.
    const lowOrder = new Uint8Array(32);
    lowOrder[0] = 1;
    const { signedPreKeySignedBytes, kemPreKeySignedBytes } = await import('../src/v2/_signed.js');
    const spkSig = await p.ed25519.sign(
      bob.identity.signingKeyPair.privateKey,
      signedPreKeySignedBytes(1, lowOrder),
    );
    const lowBundle = {
      ...bob.bundle,
      signedPreKey: { id: signedPreKeyId(1), publicKey: lowOrder, signature: spkSig },
    };
    const e1 = await thrown(() => initiateSession(p, { ourIdentity: alice, theirBundle: lowBundle }));
    expect(e1.code).toBe('ERR_INVALID_KEY');
    expect(e1.message).toContain('bundle.signedPreKey.publicKey');
    // An ML-KEM key that fails the FIPS 203 modulus check, correctly signed.
    const badKem = new Uint8Array(1184).fill(0xff);
    const kemSig = await p.ed25519.sign(
      bob.identity.signingKeyPair.privateKey,
      kemPreKeySignedBytes(2, false, badKem),
    );
    const kemBundle = {
      ...bob.bundle,
      kemPreKey: { id: kemPreKeyId(2), publicKey: badKem, lastResort: false, signature: kemSig },
    };
    const e2 = await thrown(() => initiateSession(p, { ourIdentity: alice, theirBundle: kemBundle }));
    expect(e2.code).toBe('ERR_INVALID_KEY');
    expect(e2.message).toContain('bundle.kemPreKey.publicKey');
  });

  it('rejects initial messages with bad identities, unknown prekeys or low-order keys', async () => {
    const alice = await generateDeviceIdentity(p);
    const bob = await device(p);
    const { initial } = await firstMessage(p, alice, bob.bundle);
    const lowOrder = new Uint8Array(32);
    lowOrder[0] = 1;
    const cases: [string, InitialMessage, string, string][] = [
      [
        'identity signature',
        {
          ...initial,
          initiatorIdentity: {
            ...initial.initiatorIdentity,
            dhKeySignature: flip(initial.initiatorIdentity.dhKeySignature),
          },
        },
        'ERR_INVALID_KEY',
        'initiatorIdentity.dhKeySignature',
      ],
      [
        'own identity',
        { ...initial, initiatorIdentity: toPublicIdentity(bob.identity) },
        'ERR_INVALID_KEY',
        'initiatorIdentity',
      ],
      [
        'unknown signed prekey',
        { ...initial, signedPreKeyId: signedPreKeyId(99) },
        'ERR_INVALID_KEY',
        'signedPreKeyId',
      ],
      [
        'unknown one-time prekey',
        { ...initial, oneTimePreKeyId: oneTimePreKeyId(99) },
        'ERR_INVALID_KEY',
        'oneTimePreKeyId',
      ],
      ['unknown KEM prekey', { ...initial, kemPreKeyId: kemPreKeyId(99) }, 'ERR_INVALID_KEY', 'kemPreKeyId'],
      ['low-order base key', { ...initial, baseKey: lowOrder }, 'ERR_INVALID_KEY', 'baseKey'],
      [
        'other base key',
        { ...initial, baseKey: flip(initial.baseKey) },
        'ERR_DECRYPTION_FAILED',
        'decryption',
      ],
      [
        'other KEM ciphertext',
        { ...initial, kemCiphertext: flip(initial.kemCiphertext, 100) },
        'ERR_DECRYPTION_FAILED',
        'decryption',
      ],
      [
        'message skips too far',
        {
          ...initial,
          message: { ...initial.message, header: { ...initial.message.header, messageNumber: 2001 } },
        },
        'ERR_LIMIT',
        'skips',
      ],
    ];
    for (const [name, m, code, text] of cases) {
      const e = await thrown(() =>
        acceptSession(p, { ourIdentity: bob.identity, preKeys: bob.store, initialMessage: m }),
      );
      expect(e.code, name).toBe(code);
      expect(e.message, name).toContain(text);
    }
    expect(await bob.store.countOneTimePreKeys(), 'nothing consumed').toBe(2);
  });

  it('lets only one of two concurrent handshakes use a one-time prekey', async () => {
    const [alice, carol] = await Promise.all([generateDeviceIdentity(p), generateDeviceIdentity(p)]);
    const bob = await device(p);
    const a = await firstMessage(p, alice, bob.bundle);
    const c = await firstMessage(p, carol, bob.bundle);
    const results = await Promise.allSettled([
      acceptSession(p, { ourIdentity: bob.identity, preKeys: bob.store, initialMessage: a.initial }),
      acceptSession(p, { ourIdentity: bob.identity, preKeys: bob.store, initialMessage: c.initial }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as CloisterError).code).toMatch(/^ERR_(REPLAY|INVALID_KEY)$/);
  });

  it('computes order-independent safety numbers that change with either party', async () => {
    const [a, b, c] = await Promise.all([
      generateDeviceIdentity(p),
      generateDeviceIdentity(p),
      generateDeviceIdentity(p),
    ]);
    const A = { identity: toPublicIdentity(a), stableId: utf8('alice') };
    const B = { identity: toPublicIdentity(b), stableId: utf8('bob') };
    const ab = await computeSafetyNumber(p, A, B);
    const ba = await computeSafetyNumber(p, B, A);
    expect(ab.digits).toMatch(/^\d{60}$/);
    expect(ab.digits).toBe(ba.digits);
    expect(toHex(ab.bytes)).toBe(toHex(ba.bytes));
    expect(ab.bytes).toHaveLength(65);
    const ac = await computeSafetyNumber(p, A, { identity: toPublicIdentity(c), stableId: utf8('bob') });
    expect(ac.digits).not.toBe(ab.digits);
    const renamed = await computeSafetyNumber(p, A, { ...B, stableId: utf8('bob2') });
    expect(renamed.digits).not.toBe(ab.digits);
    // Alice's half is in both numbers: exactly one of the two 30-digit halves changed.
    const halves = (d: string) => [d.slice(0, 30), d.slice(30)];
    expect(halves(ab.digits).filter((x) => halves(ac.digits).includes(x))).toHaveLength(1);
  });
});
