/**
 * The sans-IO core on its own: no server, no socket, no clock — a delivery, the time and a
 * transaction in, events out. Hostile deliveries (random bytes, every kind of corruption of a real
 * one, a replay, a foreign tenant's certificate) never throw and never change what was stored;
 * each becomes one `undecryptable` event, and a genuine delivery after them still decrypts.
 */
import {
  type CryptoProvider,
  type DeviceIdentity,
  deviceId,
  generateDeviceIdentity,
  generateKemPreKey,
  generateSignedPreKey,
  getProvider,
  issueSenderCertificate,
  kemPreKeyId,
  type PreKeyBundle,
  registrationId,
  type SenderCertificate,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
} from '@cloister/crypto';
import { encodeContent, signDeviceList, tenantId, userId } from '@cloister/protocol';
import { createMemoryAdapter, type StorageAdapter, txExecutor } from '@cloister/storage';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { acceptDeviceLists, makeGroupChange } from '../src/core/index.js';
import {
  type ClientEvent,
  type CoreSelf,
  type CoreTx,
  receiveDelivery,
  sealForDevice,
} from '../src/index.js';
import { createOutbox } from '../src/outbox/index.js';
import { bindClientStores } from '../src/store/index.js';

let provider: CryptoProvider;
let tenantKey: { privateKey: Uint8Array; publicKey: Uint8Array };
let alice: { self: CoreSelf; db: StorageAdapter; certificate: SenderCertificate };
let bob: { self: CoreSelf; db: StorageAdapter; bundle: PreKeyBundle };
let serial = 0;

const NOW = 1_800_000_000_000;
const MAILBOX_BOB = 'mbx_bob_000000000000';

function self(identity: DeviceIdentity, user: string, device: number, mailbox: string): CoreSelf {
  return {
    provider,
    userId: userId(user),
    deviceId: deviceId(device),
    identity,
    tenant: 'acme',
    tenantPublicKey: tenantKey.publicKey,
    mailbox,
    suites: ['v2', 'static-v1'],
  };
}

function inTx<T>(db: StorageAdapter, fn: (t: CoreTx) => Promise<T>): Promise<T> {
  return db.transaction((tx) => {
    const run = txExecutor(tx);
    return fn({ stores: bindClientStores(run), tx, outbox: createOutbox(run) });
  });
}

async function sealFromAlice(text: string, startSession = false): Promise<Uint8Array> {
  const messageId = await provider.randomBytes(16);
  return inTx(alice.db, (t) =>
    sealForDevice(alice.self, t, {
      device: {
        userId: userId('bob'),
        deviceId: deviceId(1),
        mailbox: MAILBOX_BOB,
        deliveryToken: new Uint8Array(32).fill(7),
        bundle: bob.bundle,
        suite: 'v2',
      },
      plaintext: encodeContent({
        messageId,
        sentAtMs: NOW,
        body: { type: 'text', text },
      }),
      certificate: alice.certificate,
      ...(startSession ? { fullBundle: bob.bundle } : {}),
    }),
  );
}

async function receive(envelope: Uint8Array, serverId = `m_${serial++}`): Promise<ClientEvent[]> {
  return (
    await inTx(bob.db, (t) =>
      receiveDelivery(bob.self, t, {
        serverId,
        envelope,
        now: NOW,
        lifetimeMs: null,
        processedTtlMs: 86_400_000,
      }),
    )
  ).events;
}

async function bobTexts(): Promise<string[]> {
  const page = await bindClientStores((fn) => bob.db.transaction(fn)).messages.history('d:alice' as never, {
    limit: 1000,
  });
  return page.items.map((m) => m.id);
}

beforeAll(async () => {
  provider = await getProvider();
  tenantKey = await provider.ed25519.generateKeyPair();
  const aliceId = await generateDeviceIdentity(provider);
  const bobId = await generateDeviceIdentity(provider);
  const certificate = await issueSenderCertificate(provider, tenantKey.privateKey, {
    userId: 'alice',
    deviceId: 1,
    identitySigningKey: aliceId.signingKeyPair.publicKey,
    identityDhKey: aliceId.dhKeyPair.publicKey,
    tenantId: 'acme',
    pools: [],
    expiresAt: NOW + 3_600_000,
  });
  alice = { self: self(aliceId, 'alice', 1, 'mbx_alice_0000000000'), db: createMemoryAdapter(), certificate };
  const bobDb = createMemoryAdapter();
  const spk = await generateSignedPreKey(provider, bobId, signedPreKeyId(1));
  const kem = await generateKemPreKey(provider, bobId, kemPreKeyId(1), { lastResort: true });
  await inTx(bobDb, async (t) => {
    await t.stores.preKeys.storeSignedPreKey(spk);
    await t.stores.preKeys.storeKemPreKey(kem);
  });
  bob = {
    self: self(bobId, 'bob', 1, MAILBOX_BOB),
    db: bobDb,
    bundle: {
      registrationId: registrationId(7),
      deviceId: deviceId(1),
      identity: toPublicIdentity(bobId),
      signedPreKey: toSignedPreKeyPublic(spk),
      kemPreKey: toKemPreKeyPublic(kem),
      suites: ['v2', 'static-v1'],
      suitesIssuedAt: 1_700_000_000_000,
      suitesSignature: await signSuites(provider, bobId, ['v2', 'static-v1'], {
        signedPreKeyId: spk.id,
        issuedAt: 1_700_000_000_000,
      }),
    },
  };
  // Bob has pinned alice's signed device list (as fetching her lists would), so her device is admitted.
  const aliceList = await signDeviceList(
    provider,
    {
      tenant: tenantId('acme'),
      user: userId('alice'),
      epoch: 1,
      issuedAtMs: NOW,
      previous: new Uint8Array(32),
      root: new Uint8Array(32),
      signer: { kind: 'device', deviceId: deviceId(1) },
      devices: [{ deviceId: deviceId(1), identity: toPublicIdentity(aliceId), addedAtMs: NOW }],
    },
    aliceId.signingKeyPair.privateKey,
  );
  await inTx(bobDb, (t) => acceptDeviceLists(bob.self, t, userId('alice'), [aliceList]));
}, 60_000);

describe('the sans-IO core', () => {
  it('decrypts a genuine delivery, queues a delivery receipt in the same transaction, and ignores its replay', async () => {
    const envelope = await sealFromAlice('hello', true);
    const events = await receive(envelope, 'm_first');
    expect(events.map((e) => e.type)).toEqual(['message']);
    const queued = await createOutbox((fn) => bob.db.transaction(fn)).count('pending');
    expect(queued).toBe(1);
    // The same delivery again (the server pushes it again after a lost acknowledgement).
    expect(await receive(envelope, 'm_first')).toEqual([]);
    // The same envelope under another delivery id: the ratchet refuses the used key.
    expect((await receive(envelope)).map((e) => e.type)).toEqual(['undecryptable']);
    expect(await bobTexts()).toHaveLength(1);
  });

  it('turns random bytes and every corruption of a real envelope into one undecryptable event, storing nothing', async () => {
    const before = await bobTexts();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 600 }), async (junk) => {
        const events = await receive(junk);
        expect(events.map((e) => e.type)).toEqual(['undecryptable']);
      }),
      { numRuns: 60 },
    );
    const real = await sealFromAlice('a real one');
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: real.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, xor) => {
          const bad = real.slice();
          bad[at]! ^= xor;
          const events = await receive(bad);
          expect(events.map((e) => e.type)).toEqual(['undecryptable']);
        },
      ),
      { numRuns: 120 },
    );
    expect(await bobTexts()).toEqual(before);
    // The session survived every attempt: the genuine envelope still decrypts.
    expect((await receive(real)).map((e) => e.type)).toEqual(['message']);
  }, 120_000);

  it('refuses a certificate signed by another tenant key', async () => {
    const other = await provider.ed25519.generateKeyPair();
    const forged = await issueSenderCertificate(provider, other.privateKey, {
      ...alice.certificate,
      pools: [],
    });
    const saved = alice.certificate;
    alice = { ...alice, certificate: forged };
    try {
      const events = await receive(await sealFromAlice('forged'));
      expect(events).toEqual([{ type: 'undecryptable', reason: 'certificate' }]);
    } finally {
      alice = { ...alice, certificate: saved };
    }
  });
});

describe('unordered group deliveries', () => {
  it('holds a group message that arrives before the change creating the group, and applies it with the change', async () => {
    const groupId = await provider.randomBytes(32);
    const { content: create } = await inTx(alice.db, (t) =>
      makeGroupChange(
        alice.self,
        t,
        {
          groupId,
          version: 1,
          action: 'create',
          members: [
            { userId: 'alice', deviceIds: [] },
            { userId: 'bob', deviceIds: [] },
          ],
        },
        'Ward 3',
        NOW,
      ),
    );
    const text = encodeContent({
      messageId: await provider.randomBytes(16),
      sentAtMs: NOW,
      groupId,
      body: { type: 'text', text: 'before the group exists' },
    });
    const sealed = async (plaintext: Uint8Array) =>
      inTx(alice.db, (t) =>
        sealForDevice(alice.self, t, {
          device: {
            userId: userId('bob'),
            deviceId: deviceId(1),
            mailbox: MAILBOX_BOB,
            deliveryToken: new Uint8Array(32).fill(7),
            bundle: bob.bundle,
            suite: 'v2',
          },
          plaintext,
          certificate: alice.certificate,
        }),
      );
    const early = await sealed(text);
    const change = await sealed(encodeContent(create));
    expect(await receive(early)).toEqual([]);
    const events = await receive(change);
    expect(events.map((e) => e.type)).toEqual(['group', 'message']);
    const message = events.find((e) => e.type === 'message');
    expect(message?.type === 'message' && message.message.content.body).toEqual({
      type: 'text',
      text: 'before the group exists',
    });
  });
});

describe('poison content', () => {
  it('drops content it cannot hold (a copy naming an impossible user id) without blocking the transaction', async () => {
    const bob2Id = await generateDeviceIdentity(provider);
    const certificate = await issueSenderCertificate(provider, tenantKey.privateKey, {
      userId: 'bob',
      deviceId: 2,
      identitySigningKey: bob2Id.signingKeyPair.publicKey,
      identityDhKey: bob2Id.dhKeyPair.publicKey,
      tenantId: 'acme',
      pools: [],
      expiresAt: NOW + 3_600_000,
    });
    const bob2 = { self: self(bob2Id, 'bob', 2, 'mbx_bob2_00000000000'), db: createMemoryAdapter() };
    // Bob's own list has both his devices (device 1 linked device 2).
    const ownList = await signDeviceList(
      provider,
      {
        tenant: tenantId('acme'),
        user: userId('bob'),
        epoch: 1,
        issuedAtMs: NOW,
        previous: new Uint8Array(32),
        root: new Uint8Array(32),
        signer: { kind: 'device', deviceId: deviceId(1) },
        devices: [
          { deviceId: deviceId(1), identity: bob.bundle.identity, addedAtMs: NOW },
          { deviceId: deviceId(2), identity: toPublicIdentity(bob2Id), addedAtMs: NOW },
        ],
      },
      bob.self.identity.signingKeyPair.privateKey,
    );
    await inTx(bob.db, (t) => acceptDeviceLists(bob.self, t, userId('bob'), [ownList]));
    const envelope = await inTx(bob2.db, async (t) =>
      sealForDevice(bob2.self, t, {
        device: {
          userId: userId('bob'),
          deviceId: deviceId(1),
          mailbox: MAILBOX_BOB,
          deliveryToken: new Uint8Array(32).fill(7),
          bundle: bob.bundle,
          suite: 'v2',
        },
        plaintext: encodeContent({
          messageId: await provider.randomBytes(16),
          sentAtMs: NOW,
          syncedTo: 'not a valid user id!',
          body: { type: 'text', text: 'copy of a message to nobody' },
        }),
        certificate,
        fullBundle: bob.bundle,
      }),
    );
    const events = await receive(envelope);
    expect(events).toEqual([
      { type: 'undecryptable', reason: 'format', from: { userId: 'bob', deviceId: 2 } },
    ]);
  });
});
