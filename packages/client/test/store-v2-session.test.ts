/**
 * A v2 session between two parties from `@cloister/crypto`, run with the client PreKeyStore and
 * SessionStore: messages keep decrypting after the store instances are recreated over the same
 * adapters (everything persists through records), and decryption commits with the message.
 */
import {
  type CiphertextMessage,
  CloisterError,
  createNobleProvider,
  type DeviceAddress,
  type DeviceIdentity,
  deviceId,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  kemPreKeyId,
  oneTimePreKeyId,
  type PreKeyBundle,
  registrationId,
  SessionCipher,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toOneTimePreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
} from '@cloister/crypto';
import { conversationId, messageId, userId } from '@cloister/protocol';
import { createMemoryAdapter } from '@cloister/storage';
import { describe, expect, it } from 'vitest';
import { type ClientStoreSet, createClientStores } from '../src/store/index.js';

const p = createNobleProvider();
const enc = new TextEncoder();
const dec = new TextDecoder();
const alice: DeviceAddress = { userId: 'alice', deviceId: deviceId(1) };
const bob: DeviceAddress = { userId: 'bob', deviceId: deviceId(1) };

async function thrown(fn: () => Promise<unknown>): Promise<CloisterError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CloisterError) return e;
    throw e;
  }
  throw new Error('expected a CloisterError');
}

/** Enrols a device: identity and prekeys into its stores; returns its bundle. */
async function enrol(
  stores: ReturnType<typeof createClientStores>,
  user: string,
  options: { oneTime: boolean },
): Promise<PreKeyBundle> {
  const identity = await generateDeviceIdentity(p);
  await stores.ownIdentity.set({
    identity,
    registrationId: registrationId(42),
    deviceId: deviceId(1),
    userId: userId(user),
  });
  const spk = await generateSignedPreKey(p, identity, signedPreKeyId(1));
  const opks = await generateOneTimePreKeys(p, oneTimePreKeyId(100), options.oneTime ? 2 : 0);
  const kem = await generateKemPreKey(p, identity, kemPreKeyId(options.oneTime ? 2 : 1), {
    lastResort: !options.oneTime,
  });
  await stores.preKeys.storeSignedPreKey(spk);
  await stores.preKeys.storeOneTimePreKeys(opks);
  await stores.preKeys.storeKemPreKey(kem);
  return {
    registrationId: registrationId(42),
    deviceId: deviceId(1),
    identity: toPublicIdentity(identity),
    signedPreKey: toSignedPreKeyPublic(spk),
    ...(opks[0] === undefined ? {} : { oneTimePreKey: toOneTimePreKeyPublic(opks[0]) }),
    kemPreKey: toKemPreKeyPublic(kem),
    suites: ['v2'],
    suitesIssuedAt: 1_700_000_000_000,
    suitesSignature: await signSuites(p, identity, ['v2'], {
      signedPreKeyId: spk.id,
      issuedAt: 1_700_000_000_000,
    }),
  };
}

/** A cipher over the given stores, with TOFU through the remote-identity store. */
async function cipher(stores: ClientStoreSet, remote: DeviceAddress): Promise<SessionCipher> {
  const own = await stores.ownIdentity.get();
  if (own === undefined) throw new Error('not enrolled');
  return new SessionCipher(p, {
    ourIdentity: own.identity as DeviceIdentity,
    remoteAddress: remote,
    sessions: stores.sessions,
    preKeys: stores.preKeys,
    isTrustedIdentity: (identity) => stores.identities.isTrusted(remote, identity),
  });
}

describe('v2 sessions over client stores', () => {
  it('keeps a session working across recreated store instances', async () => {
    const aliceDb = createMemoryAdapter();
    const bobDb = createMemoryAdapter();
    await enrol(createClientStores(aliceDb), 'alice', { oneTime: true });
    const bobBundle = await enrol(createClientStores(bobDb), 'bob', { oneTime: true });

    // Alice starts the session and sends twice before any reply.
    {
      const a = createClientStores(aliceDb);
      const toBob = await cipher(a, bob);
      await toBob.startSession(bobBundle);
      await a.identities.save(bob, bobBundle.identity);
      const m1 = await toBob.encrypt(enc.encode('hello Bob'));
      const m2 = await toBob.encrypt(enc.encode('are you there?'));
      expect(m1.type).toBe('initial');
      // Bob, with fresh store instances, accepts and consumes his one-time prekeys.
      const b = createClientStores(bobDb);
      const fromAlice = await cipher(b, alice);
      expect(dec.decode(await fromAlice.decrypt(m1))).toBe('hello Bob');
      expect(await b.preKeys.countOneTimePreKeys()).toBe(1);
      expect(await b.preKeys.countOneTimeKemPreKeys()).toBe(0);
      const b2 = createClientStores(bobDb);
      expect(dec.decode(await (await cipher(b2, alice)).decrypt(m2))).toBe('are you there?');
      // A replay of the first message is refused.
      expect((await thrown(async () => (await cipher(b2, alice)).decrypt(m1))).code).toBe('ERR_REPLAY');
    }

    // Several rounds, each with new store instances on both sides.
    for (let round = 0; round < 3; round++) {
      const b = createClientStores(bobDb);
      const reply = await (await cipher(b, alice)).encrypt(enc.encode(`reply ${round}`));
      expect(reply.type).toBe('ratchet');
      const a = createClientStores(aliceDb);
      expect(dec.decode(await (await cipher(a, bob)).decrypt(reply))).toBe(`reply ${round}`);
      const again = await (await cipher(createClientStores(aliceDb), bob)).encrypt(
        enc.encode(`ack ${round}`),
      );
      expect(dec.decode(await (await cipher(createClientStores(bobDb), alice)).decrypt(again))).toBe(
        `ack ${round}`,
      );
    }
    expect(await createClientStores(aliceDb).sessions.listDevices(userId('bob'))).toEqual([1]);
  });

  it('refuses a replayed initial message to a last-resort KEM prekey through the stored replay record', async () => {
    const aliceDb = createMemoryAdapter();
    const bobDb = createMemoryAdapter();
    await enrol(createClientStores(aliceDb), 'alice', { oneTime: false });
    const bobBundle = await enrol(createClientStores(bobDb), 'bob', { oneTime: false });
    const a = createClientStores(aliceDb);
    const toBob = await cipher(a, bob);
    await toBob.startSession(bobBundle);
    const first = await toBob.encrypt(enc.encode('one'));
    expect(dec.decode(await (await cipher(createClientStores(bobDb), alice)).decrypt(first))).toBe('one');
    // Bob loses his session record (but not his prekey store): the replay record still refuses.
    await createClientStores(bobDb).sessions.deleteSession(alice);
    const e = await thrown(async () => (await cipher(createClientStores(bobDb), alice)).decrypt(first));
    expect(e.code).toBe('ERR_REPLAY');
  });

  it('commits the new session state and the decrypted message together', async () => {
    const aliceDb = createMemoryAdapter();
    const bobDb = createMemoryAdapter();
    await enrol(createClientStores(aliceDb), 'alice', { oneTime: true });
    const bobBundle = await enrol(createClientStores(bobDb), 'bob', { oneTime: true });
    const toBob = await cipher(createClientStores(aliceDb), bob);
    await toBob.startSession(bobBundle);
    const first = await toBob.encrypt(enc.encode('first'));
    const bobStores = createClientStores(bobDb);
    await bobStores.conversations.create({
      id: conversationId('c_alice'),
      kind: 'direct',
      peer: userId('alice'),
    });

    const receive = (m: CiphertextMessage, id: string, failAfter: boolean) =>
      bobStores.transaction(async (s) => {
        const text = await (await cipher(s, alice)).decrypt(m);
        await s.messages.addIfAbsent({
          id: messageId(id),
          conversationId: conversationId('c_alice'),
          sender: alice,
          sentAt: 1,
          body: text,
        });
        if (failAfter) throw new Error('crash before commit');
      });

    // A crash after decrypting rolls back the session and the prekey consumption.
    await expect(receive(first, 'm1', true)).rejects.toThrow('crash before commit');
    expect(await bobStores.sessions.loadSession(alice)).toBeUndefined();
    expect(await bobStores.preKeys.countOneTimePreKeys()).toBe(2);
    expect(await bobStores.messages.get(messageId('m1'))).toBeUndefined();
    // Delivered again, it is accepted once and stored with its message.
    await receive(first, 'm1', false);
    expect(dec.decode((await bobStores.messages.get(messageId('m1')))?.body)).toBe('first');
    expect(await bobStores.preKeys.countOneTimePreKeys()).toBe(1);
    expect(await bobStores.sessions.listDevices(userId('alice'))).toEqual([1]);
  });

  it('refuses a session from a device whose pinned identity changed', async () => {
    const aliceDb = createMemoryAdapter();
    const bobDb = createMemoryAdapter();
    await enrol(createClientStores(aliceDb), 'alice', { oneTime: true });
    const bobBundle = await enrol(createClientStores(bobDb), 'bob', { oneTime: true });
    const a = createClientStores(aliceDb);
    const impostor = toPublicIdentity(await generateDeviceIdentity(p));
    await a.identities.save(bob, impostor);
    const e = await thrown(async () => (await cipher(a, bob)).startSession(bobBundle));
    expect(e.code).toBe('ERR_INVALID_KEY');
    expect(await a.sessions.loadSession(bob)).toBeUndefined();
  });
});
