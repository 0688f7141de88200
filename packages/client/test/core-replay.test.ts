/**
 * Replays never cost messages (issue 13, attack 5), on the sans-IO core alone. The operator
 * replays an envelope older than the digest window: it is refused as a replay, with no session
 * reset and nothing lost. A message that really cannot be decrypted (authenticated by its
 * envelope as the peer's) resets the session, and the old session is kept for the messages the
 * peer sent before it learned of the reset.
 */
import { deviceId, SessionCipher, sealEnvelope, utf8 } from '@cloister/crypto';
import { encodeDeviceMessage } from '@cloister/protocol';
import { beforeEach, describe, expect, it } from 'vitest';
import { CONTENT_TYPE_DEVICE_MESSAGE } from '../src/core/index.js';
import {
  type CorePeers,
  content,
  createCorePeers,
  encode,
  inTx,
  MAILBOX_BOB,
  type Peer,
  texts,
} from './helpers/core-peers.js';

let peers: CorePeers;
let alice: Peer;

const text = (t: string) => encode(content({ type: 'text', text: t }));

/** A message alice really sends (her ratchet advances) whose ciphertext is damaged before sealing. */
async function sealDamagedFromAlice(): Promise<Uint8Array> {
  return inTx(alice.db, async (t) => {
    const cipher = new SessionCipher(peers.provider, {
      ourIdentity: alice.self.identity,
      remoteAddress: { userId: 'bob', deviceId: deviceId(1) },
      sessions: t.stores.sessions,
      isTrustedIdentity: () => true,
    });
    const out = await cipher.encrypt(text('damaged'));
    const flip = (c: Uint8Array) => c.map((x, i) => (i === 0 ? x ^ 1 : x));
    const message =
      out.type === 'ratchet'
        ? { ...out, message: { ...out.message, ciphertext: flip(out.message.ciphertext) } }
        : {
            ...out,
            message: {
              ...out.message,
              message: { ...out.message.message, ciphertext: flip(out.message.message.ciphertext) },
            },
          };
    return sealEnvelope(peers.provider, {
      recipientPublicKey: peers.bob.bundle.identity.dhKey,
      mailbox: utf8(MAILBOX_BOB),
      deliveryToken: peers.toBob.deliveryToken,
      certificate: alice.certificate,
      contentType: CONTENT_TYPE_DEVICE_MESSAGE,
      body: encodeDeviceMessage({ suite: 'v2', ...message } as never),
    });
  });
}

beforeEach(async () => {
  peers = await createCorePeers();
  alice = await peers.sender('alice');
}, 60_000);

describe('replays never cost messages', () => {
  it('refuses an envelope older than the digest window as a replay: no reset, and messages in flight still decrypt', async () => {
    const sent: Uint8Array[] = [await peers.seal(alice, text('m0'), true)];
    for (let i = 1; i < 140; i++) sent.push(await peers.seal(alice, text(`m${i}`)));
    for (const e of sent) await peers.receive(e);
    const inFlight = [
      await peers.seal(alice, text('in flight 1')),
      await peers.seal(alice, text('in flight 2')),
    ];
    // The operator replays the first envelopes (beyond the 128 recent digests) under new ids.
    for (const old of sent.slice(0, 3)) {
      expect((await peers.receive(old)).map((e) => e.type)).toEqual(['undecryptable']);
    }
    expect((await peers.bobJobs()).filter((j) => j.device !== undefined)).toEqual([]);
    expect(texts([...(await peers.receive(inFlight[0]!)), ...(await peers.receive(inFlight[1]!))])).toEqual([
      'in flight 1',
      'in flight 2',
    ]);
  }, 60_000);

  it('resets on a message that really fails, keeping the old session for the messages already in flight', async () => {
    await peers.receive(await peers.seal(alice, text('hello'), true));
    const inFlight = [
      await peers.seal(alice, text('sent before the reset 1')),
      await peers.seal(alice, text('sent before the reset 2')),
    ];
    const events = await peers.receive(await sealDamagedFromAlice());
    expect(events.map((e) => e.type)).toEqual(['undecryptable', 'session-reset']);
    const resets = (await peers.bobJobs()).filter((j) => j.device !== undefined);
    expect(resets).toHaveLength(1);
    expect(resets[0]).toMatchObject({ to: { user: 'alice' }, device: 1, fresh: true, self: false });
    // What alice sent before she learns of the reset is not lost.
    expect(texts([...(await peers.receive(inFlight[1]!)), ...(await peers.receive(inFlight[0]!))])).toEqual([
      'sent before the reset 2',
      'sent before the reset 1',
    ]);
  }, 60_000);
});
