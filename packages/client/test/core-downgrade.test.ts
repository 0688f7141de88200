/**
 * No downgrade (issue 13, attack 8, the client's half): a device's signed suite list is bound to
 * its signed prekey and the time it was issued; the client remembers the newest list it verified
 * for each device and refuses an older one (a list the device once signed offering only
 * `static-v1`, served again), and refuses incoming `static-v1` from a device whose verified list
 * offered `v2`. A device that only ever offered `static-v1` is still reached and heard.
 */
import {
  type DeviceIdentity,
  deviceId,
  generateKemPreKey,
  generateSignedPreKey,
  kemPreKeyId,
  type PreKeyBundle,
  registrationId,
  signedPreKeyId,
  signSuites,
  toKemPreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
} from '@cloister/crypto';
import { encodePreKeyBundle, type Suite, userId } from '@cloister/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { acceptDirectory, loadPin, receiveDelivery, sealForDevice } from '../src/core/index.js';
import {
  type CorePeers,
  content,
  createCorePeers,
  encode,
  inTx,
  NOW,
  type Peer,
  texts,
} from './helpers/core-peers.js';

let peers: CorePeers;

beforeAll(async () => {
  peers = await createCorePeers();
}, 60_000);

async function bundle(peer: Peer, suites: Suite[], spkId: number, issuedAt: number): Promise<PreKeyBundle> {
  const id: DeviceIdentity = peer.self.identity;
  const spk = await generateSignedPreKey(peers.provider, id, signedPreKeyId(spkId));
  const kem = await generateKemPreKey(peers.provider, id, kemPreKeyId(spkId), { lastResort: true });
  return {
    registrationId: registrationId(7),
    deviceId: deviceId(1),
    identity: toPublicIdentity(id),
    signedPreKey: toSignedPreKeyPublic(spk),
    kemPreKey: toKemPreKeyPublic(kem),
    suites,
    suitesIssuedAt: issuedAt,
    suitesSignature: await signSuites(peers.provider, id, suites, { signedPreKeyId: spk.id, issuedAt }),
  };
}

const listing = (b: PreKeyBundle) => [
  {
    deviceId: 1,
    mailbox: 'mbx_x',
    deliveryToken: Buffer.from(new Uint8Array(32).fill(1)).toString('base64url'),
    bundle: Buffer.from(encodePreKeyBundle(b)).toString('base64url'),
  },
];

/** Bob accepts static-v1 in general, so that only the downgrade rule can refuse it. */
const bobBothSuites = () => ({ ...peers.bob.self, suites: ['v2', 'static-v1'] as Suite[] });

async function look(user: string, b: PreKeyBundle) {
  return inTx(peers.bob.db, async (t) => {
    const pin = await loadPin(t.tx, userId(user));
    return acceptDirectory(bobBothSuites(), t, userId(user), listing(b), pin);
  });
}

async function receiveStatic(from: Peer, text: string) {
  const envelope = await inTx(from.db, (t) =>
    sealForDevice(from.self, t, {
      device: { ...peers.toBob, suite: 'static-v1' },
      plaintext: encode(content({ type: 'text', text })),
      certificate: from.certificate,
    }),
  );
  return inTx(
    peers.bob.db,
    async (t) =>
      (
        await receiveDelivery(bobBothSuites(), t, {
          serverId: `static-${text}`,
          envelope,
          now: NOW,
          lifetimeMs: null,
          processedTtlMs: 86_400_000,
        })
      ).events,
  );
}

describe('no downgrade', () => {
  it('refuses a replayed older suite list that offered only static-v1', async () => {
    const alice = await peers.sender('alice');
    const old = await bundle(alice, ['static-v1'], 1, NOW - 86_400_000);
    const current = await bundle(alice, ['v2', 'static-v1'], 2, NOW);
    expect((await look('alice', current)).devices.map((d) => d.suite)).toEqual(['v2']);
    // The server serves the list alice signed yesterday: the device is left out, not downgraded.
    expect((await look('alice', old)).devices).toEqual([]);
    // The current list (same time) still works; a newer one too.
    expect((await look('alice', current)).devices.map((d) => d.suite)).toEqual(['v2']);
    const newer = await bundle(alice, ['v2'], 3, NOW + 1000);
    expect((await look('alice', newer)).devices.map((d) => d.suite)).toEqual(['v2']);
    expect((await look('alice', current)).devices).toEqual([]);
  });

  it('refuses incoming static-v1 from a device whose verified list offered v2, and accepts it from one that never did', async () => {
    const alice = await peers.sender('alice2');
    await look('alice2', await bundle(alice, ['v2', 'static-v1'], 1, NOW));
    const refused = await receiveStatic(alice, 'downgraded');
    expect(refused).toEqual([
      { type: 'undecryptable', reason: 'decryption', from: { userId: 'alice2', deviceId: 1 } },
    ]);

    const legacy = await peers.sender('legacy');
    await look('legacy', await bundle(legacy, ['static-v1'], 1, NOW));
    expect(texts(await receiveStatic(legacy, 'static is all I have'))).toEqual(['static is all I have']);
  });
});
