/**
 * Replays never cost messages (issue 13, attack 5), on the sans-IO core alone. The operator
 * replays an envelope older than the digest window: it is refused as a replay, with no session
 * reset and nothing lost. A message that really cannot be decrypted (authenticated by its
 * envelope as the peer's) resets the session, and the old session is kept for the messages the
 * peer sent before it learned of the reset.
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
  SessionCipher,
  sealEnvelope,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
  utf8,
} from '@cloister/crypto';
import { encodeContent, encodeDeviceMessage, userId } from '@cloister/protocol';
import { createMemoryAdapter, type StorageAdapter, txExecutor } from '@cloister/storage';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type ClientEvent,
  CONTENT_TYPE_DEVICE_MESSAGE,
  type CoreSelf,
  type CoreTx,
  type DirectoryDevice,
  decodeJob,
  receiveDelivery,
  sealForDevice,
} from '../src/core/index.js';
import { createOutbox } from '../src/outbox/index.js';
import { bindClientStores } from '../src/store/index.js';

const NOW = 1_800_000_000_000;
const MAILBOX_BOB = 'mbx_bob_000000000000';
let provider: CryptoProvider;
let alice: { self: CoreSelf; db: StorageAdapter; certificate: SenderCertificate };
let bob: { self: CoreSelf; db: StorageAdapter; bundle: PreKeyBundle };
let toBob: DirectoryDevice;
let serial = 0;

function self(
  identity: DeviceIdentity,
  user: string,
  mailbox: string,
  tenantPublicKey: Uint8Array,
): CoreSelf {
  return {
    provider,
    userId: userId(user),
    deviceId: deviceId(1),
    identity,
    tenant: 'acme',
    tenantPublicKey,
    mailbox,
    suites: ['v2'],
  };
}

function inTx<T>(db: StorageAdapter, fn: (t: CoreTx) => Promise<T>): Promise<T> {
  return db.transaction((tx) => {
    const run = txExecutor(tx);
    return fn({ stores: bindClientStores(run), tx, outbox: createOutbox(run, { now: () => NOW }) });
  });
}

function plaintext(text: string): Uint8Array {
  return encodeContent({
    messageId: utf8(`msg-${String(serial++).padStart(12, '0')}`),
    sentAtMs: NOW,
    body: { type: 'text', text },
  });
}

async function sealFromAlice(text: string, startSession = false): Promise<Uint8Array> {
  return inTx(alice.db, (t) =>
    sealForDevice(alice.self, t, {
      device: toBob,
      plaintext: plaintext(text),
      certificate: alice.certificate,
      ...(startSession ? { fullBundle: bob.bundle } : {}),
    }),
  );
}

/** A message alice really sends (her ratchet advances) whose ciphertext is damaged before sealing. */
async function sealDamagedFromAlice(): Promise<Uint8Array> {
  return inTx(alice.db, async (t) => {
    const cipher = new SessionCipher(provider, {
      ourIdentity: alice.self.identity,
      remoteAddress: { userId: 'bob', deviceId: deviceId(1) },
      sessions: t.stores.sessions,
      isTrustedIdentity: () => true,
    });
    const out = await cipher.encrypt(plaintext('damaged'));
    const message =
      out.type === 'ratchet'
        ? {
            ...out,
            message: {
              ...out.message,
              ciphertext: out.message.ciphertext.map((x, i) => (i === 0 ? x ^ 1 : x)),
            },
          }
        : {
            ...out,
            message: {
              ...out.message,
              message: {
                ...out.message.message,
                ciphertext: out.message.message.ciphertext.map((x, i) => (i === 0 ? x ^ 1 : x)),
              },
            },
          };
    return sealEnvelope(provider, {
      recipientPublicKey: bob.bundle.identity.dhKey,
      mailbox: utf8(MAILBOX_BOB),
      deliveryToken: toBob.deliveryToken,
      certificate: alice.certificate,
      contentType: CONTENT_TYPE_DEVICE_MESSAGE,
      body: encodeDeviceMessage({ suite: 'v2', ...message } as never),
    });
  });
}

async function receive(envelope: Uint8Array): Promise<ClientEvent[]> {
  return (
    await inTx(bob.db, (t) =>
      receiveDelivery(bob.self, t, {
        serverId: `m_${serial++}`,
        envelope,
        now: NOW,
        lifetimeMs: null,
        processedTtlMs: 86_400_000,
      }),
    )
  ).events;
}

async function texts(events: ClientEvent[]): Promise<string[]> {
  return events.flatMap((e) =>
    e.type === 'message' && e.message.content.body.type === 'text' ? [e.message.content.body.text] : [],
  );
}

async function queuedJobs() {
  return inTx(bob.db, async (t) =>
    (await createOutbox(txExecutor(t.tx), { now: () => NOW + 86_400_000 }).due(1000)).map((e) =>
      decodeJob(e.payload),
    ),
  );
}

beforeEach(async () => {
  provider = await getProvider();
  const tenantKey = await provider.ed25519.generateKeyPair();
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
  alice = {
    self: self(aliceId, 'alice', 'mbx_alice_0000000000', tenantKey.publicKey),
    db: createMemoryAdapter(),
    certificate,
  };
  const bobDb = createMemoryAdapter();
  const spk = await generateSignedPreKey(provider, bobId, signedPreKeyId(1));
  const kem = await generateKemPreKey(provider, bobId, kemPreKeyId(1), { lastResort: true });
  await inTx(bobDb, async (t) => {
    await t.stores.preKeys.storeSignedPreKey(spk);
    await t.stores.preKeys.storeKemPreKey(kem);
  });
  bob = {
    self: self(bobId, 'bob', MAILBOX_BOB, tenantKey.publicKey),
    db: bobDb,
    bundle: {
      registrationId: registrationId(7),
      deviceId: deviceId(1),
      identity: toPublicIdentity(bobId),
      signedPreKey: toSignedPreKeyPublic(spk),
      kemPreKey: toKemPreKeyPublic(kem),
      suites: ['v2'],
      suitesSignature: await signSuites(provider, bobId, ['v2']),
    },
  };
  toBob = {
    userId: userId('bob'),
    deviceId: deviceId(1),
    mailbox: MAILBOX_BOB,
    deliveryToken: new Uint8Array(32).fill(7),
    bundle: bob.bundle,
    suite: 'v2',
  };
}, 60_000);

describe('replays never cost messages', () => {
  it('refuses an envelope older than the digest window as a replay: no reset, and messages in flight still decrypt', async () => {
    const sent: Uint8Array[] = [await sealFromAlice('m0', true)];
    for (let i = 1; i < 140; i++) sent.push(await sealFromAlice(`m${i}`));
    for (const e of sent) await receive(e);
    const inFlight = [await sealFromAlice('in flight 1'), await sealFromAlice('in flight 2')];
    // The operator replays the first envelopes (beyond the 128 recent digests) under new ids.
    for (const old of sent.slice(0, 3)) {
      const events = await receive(old);
      expect(events.map((e) => e.type)).toEqual(['undecryptable']);
    }
    expect(await queuedJobs().then((jobs) => jobs.filter((j) => j.device !== undefined))).toEqual([]);
    expect(await texts([...(await receive(inFlight[0]!)), ...(await receive(inFlight[1]!))])).toEqual([
      'in flight 1',
      'in flight 2',
    ]);
  }, 60_000);

  it('resets on a message that really fails, keeping the old session for the messages already in flight', async () => {
    await receive(await sealFromAlice('hello', true));
    const inFlight = [
      await sealFromAlice('sent before the reset 1'),
      await sealFromAlice('sent before the reset 2'),
    ];
    const damaged = await sealDamagedFromAlice();
    const events = await receive(damaged);
    expect(events.map((e) => e.type)).toEqual(['undecryptable', 'session-reset']);
    const resets = (await queuedJobs()).filter((j) => j.device !== undefined);
    expect(resets).toHaveLength(1);
    expect(resets[0]).toMatchObject({ to: { user: 'alice' }, device: 1, fresh: true, self: false });
    // What alice sent before she learns of the reset is not lost.
    expect(await texts([...(await receive(inFlight[1]!)), ...(await receive(inFlight[0]!))])).toEqual([
      'sent before the reset 2',
      'sent before the reset 1',
    ]);
  }, 60_000);
});
