/** The v2 part of the demo: a forward-secret session from a bundle fetched as wire bytes. */
import {
  type CryptoProvider,
  computeSafetyNumber,
  type DeviceAddress,
  deviceId,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  InMemoryPreKeyStore,
  InMemorySessionStore,
  kemPreKeyId,
  oneTimePreKeyId,
  registrationId,
  SessionCipher,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
  utf8,
} from '@cloister/crypto';
import {
  decodeDeviceMessage,
  decodePreKeyBundle,
  encodeDeviceMessage,
  encodePreKeyBundle,
  negotiateSuiteForBundle,
} from '@cloister/protocol';

type Say = (title: string, ...lines: string[]) => void;

export async function runV2Demo(
  provider: CryptoProvider,
  say: Say,
  short: (b: Uint8Array) => string,
): Promise<void> {
  const decoder = new TextDecoder();
  const aliceAddress: DeviceAddress = { userId: 'alice', deviceId: deviceId(1) };
  const bobAddress: DeviceAddress = { userId: 'bob', deviceId: deviceId(1) };

  // Bob's device publishes signed prekeys: X25519 signed + one-time, ML-KEM-768 last resort.
  const bob = await generateDeviceIdentity(provider);
  const bobPreKeys = new InMemoryPreKeyStore();
  const signed = await generateSignedPreKey(provider, bob, signedPreKeyId(1));
  const [oneTime] = await generateOneTimePreKeys(provider, oneTimePreKeyId(1), 1);
  const kem = await generateKemPreKey(provider, bob, kemPreKeyId(1), { lastResort: true });
  await bobPreKeys.storeSignedPreKey(signed);
  await bobPreKeys.storeOneTimePreKeys([oneTime!]);
  await bobPreKeys.storeKemPreKey(kem);
  // The suite list is signed with the signed prekey's id and the time: peers refuse older lists.
  const suitesIssuedAt = Date.now();
  const bundleBytes = encodePreKeyBundle({
    registrationId: registrationId(7),
    deviceId: bobAddress.deviceId,
    identity: toPublicIdentity(bob),
    signedPreKey: toSignedPreKeyPublic(signed),
    oneTimePreKey: toOneTimePreKeyPublic(oneTime!),
    kemPreKey: toKemPreKeyPublic(kem),
    suites: ['v2', 'static-v1'],
    suitesIssuedAt,
    suitesSignature: await signSuites(provider, bob, ['v2', 'static-v1'], {
      signedPreKeyId: signed.id,
      issuedAt: suitesIssuedAt,
    }),
  });

  const alice = await generateDeviceIdentity(provider);
  const bundle = decodePreKeyBundle(bundleBytes);
  const suite = await negotiateSuiteForBundle(provider, ['v2', 'static-v1'], bundle);
  say(
    'v2: Alice fetches Bob’s prekey bundle and negotiates a suite',
    `bundle: ${bundleBytes.length} bytes on the wire, every signature checked (identity, prekeys, suites)`,
    `negotiated suite: ${suite} (the signed suite list stops a server from downgrading it)`,
  );

  const aliceCipher = new SessionCipher(provider, {
    ourIdentity: alice,
    remoteAddress: bobAddress,
    sessions: new InMemorySessionStore(),
  });
  const bobCipher = new SessionCipher(provider, {
    ourIdentity: bob,
    remoteAddress: aliceAddress,
    sessions: new InMemorySessionStore(),
    preKeys: bobPreKeys,
  });
  await aliceCipher.startSession(bundle);

  const send = async (from: SessionCipher, text: string): Promise<Uint8Array> =>
    encodeDeviceMessage({ suite: 'v2', ...(await from.encrypt(utf8(text))) });
  const receive = async (to: SessionCipher, wire: Uint8Array): Promise<string> => {
    const message = decodeDeviceMessage(wire);
    if (message.suite !== 'v2') throw new Error('expected a v2 message');
    return decoder.decode(await to.decrypt(message));
  };

  const first = await send(aliceCipher, 'Ward 3 handover at 18:00.');
  say(
    'v2: first message (hybrid X25519 + ML-KEM-768 handshake inside)',
    `wire: ${short(first)}`,
    `Bob reads: "${await receive(bobCipher, first)}"`,
  );
  const reply = await send(bobCipher, 'Confirmed.');
  say(
    'v2: Bob replies (a DH ratchet step: new keys, forward secrecy)',
    `Alice reads: "${await receive(aliceCipher, reply)}"`,
  );

  const m1 = await send(aliceCipher, 'one');
  const m2 = await send(aliceCipher, 'two');
  const m3 = await send(aliceCipher, 'three');
  const order = [await receive(bobCipher, m3), await receive(bobCipher, m1), await receive(bobCipher, m2)];
  const replay = await receive(bobCipher, m2).catch((e: unknown) => (e as { code?: string }).code);
  // A message Bob has not received yet, with one bit flipped on the way: it does not authenticate.
  // (A flipped copy of a message he already read names a used position: ERR_REPLAY.)
  const tampered = (await send(aliceCipher, 'four')).slice();
  tampered[tampered.length - 3]! ^= 1;
  const forged = await receive(bobCipher, tampered).catch((e: unknown) => (e as { code?: string }).code);
  say(
    'v2: out of order, replayed and tampered messages',
    `delivered 3, 1, 2 -> Bob reads ${order.map((t) => `"${t}"`).join(', ')}`,
    `the same message again -> ${replay}`,
    `a flipped bit -> ${forged}`,
  );

  const safety = await computeSafetyNumber(
    provider,
    { identity: toPublicIdentity(alice), stableId: utf8(aliceAddress.userId) },
    { identity: toPublicIdentity(bob), stableId: utf8(bobAddress.userId) },
  );
  say('v2: safety number to compare out of band', (safety.digits.match(/.{5}/g) ?? []).join(' '));
}
