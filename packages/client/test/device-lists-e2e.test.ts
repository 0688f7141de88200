/**
 * Signed device lists end to end, played as the attacks of issue 13 were: the operator of the
 * server (who can mint enrolment tokens and write its own database) and an ordinary peer.
 *
 * - A ghost device enrolled for alice with a token receives nothing from her peers nor her own
 *   copies, cannot send, and alice's devices are told of it; a list the operator writes to add it
 *   is refused by everyone who pinned alice's list.
 * - Linking: a device alice links from her first device receives both sides; peers and alice's
 *   other device see `device-added`, and the safety number changes.
 * - Impersonating a verified contact: the operator restarts alice's chain with a device of its
 *   own. Bob verified alice, so the new identity's message is held (not shown as alice's), sending
 *   to alice stops, and only `acceptIdentityChange` releases it. An unverified contact's reset is
 *   trust on first use again, reported as `identity-changed`.
 */
import { deviceId, generateDeviceIdentity, toPublicIdentity } from '@cloister/crypto';
import { decodeDeviceList, deviceListHash, signDeviceList, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientEvent, CloisterClient } from '../src/index.js';
import { nextEvent, startSystem, TENANT, type TestSystem } from './helpers/system.js';

let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem();
}, 60_000);

afterAll(async () => {
  await sys?.close();
});

/** Every event of `type` the client emits from now on. */
function collect<E extends ClientEvent['type']>(client: CloisterClient, type: E) {
  const seen: Extract<ClientEvent, { type: E }>[] = [];
  client.on(type, (e) => seen.push(e));
  return seen;
}

async function converse(a: CloisterClient, b: CloisterClient, bName: string) {
  const got = nextEvent(b, 'message', (e) => !e.message.outgoing);
  await a.sendText({ user: bName }, 'hello');
  await got;
}

describe('a ghost device', () => {
  it('enrolled with a token minted for alice, it receives nothing, sends nothing, and alice is told', async () => {
    const alice = await sys.client('ghost-alice');
    const bob = await sys.client('ghost-bob');
    await converse(alice, bob, 'ghost-bob');
    await converse(bob, alice, 'ghost-alice');
    const pending = collect(alice, 'device-pending');

    // The operator enrols a device for alice (it can mint tokens) and starts it.
    const ghost = await sys.client('ghost-alice', { link: false });
    expect((await ghost.linkStatus()).linked).toBe(false);
    const ghostMessages = collect(ghost, 'message');

    // Peers encrypt only to devices on alice's signed list; alice's own copies skip it too.
    const toAlice = nextEvent(
      alice,
      'message',
      (e) => e.message.content.body.type === 'text' && !e.message.outgoing,
    );
    await bob.sendText({ user: 'ghost-alice' }, 'for alice only');
    await toAlice;
    await alice.sendText({ user: 'ghost-bob' }, 'my copy stays mine');
    await alice.flush();
    await bob.flush();
    await ghost.flush();
    expect(ghostMessages).toEqual([]);
    // Alice's device sees the server list a device nobody linked.
    await alice.linkStatus();
    expect(pending.map((e) => e.deviceId)).toContain(ghost.me.deviceId);

    // The ghost cannot send: it is not on its own user's list.
    await ghost.sendText({ user: 'ghost-bob' }, 'I am alice');
    await ghost.flush();
    expect(
      (await bob.history((await bob.conversations()).items[0]!.id)).items.map((m) => m.content.body),
    ).not.toContainEqual({ type: 'text', text: 'I am alice' });

    // The operator writes a list to its own database that adds the ghost, signed by the ghost.
    const stores = sys.server.context.stores;
    const newest = await stores.deviceLists.newest(TENANT, userId('ghost-alice'));
    const pinned = decodeDeviceList(newest!.bytes);
    const ghostIdentity = await generateDeviceIdentity(sys.server.context.provider);
    const hash = await deviceListHash(sys.server.context.provider, pinned.bytes);
    const forged = await signDeviceList(
      sys.server.context.provider,
      {
        ...pinned,
        epoch: pinned.epoch + 1,
        previous: hash,
        root: pinned.epoch === 1 ? hash : pinned.root,
        signer: { kind: 'device', deviceId: deviceId(99) },
        devices: [
          ...pinned.devices,
          { deviceId: deviceId(99), identity: toPublicIdentity(ghostIdentity), addedAtMs: 0 },
        ],
      },
      ghostIdentity.signingKeyPair.privateKey,
    );
    await stores.deviceLists.append(TENANT, userId('ghost-alice'), forged, pinned.epoch + 1);
    const refusedByBob = nextEvent(bob, 'device-list-refused');
    const refusedByAlice = nextEvent(alice, 'device-list-refused');
    // Both look alice's lists up again (a safety number, a link status): both refuse the list.
    await bob.safetyNumber('ghost-alice');
    await alice.linkStatus();
    await bob.sendText({ user: 'ghost-alice' }, 'still only alice');
    await alice.sendText({ user: 'ghost-bob' }, 'and my copy');
    expect((await refusedByBob).userId).toBe('ghost-alice');
    expect((await refusedByAlice).userId).toBe('ghost-alice');
    await ghost.flush();
    expect(ghostMessages).toEqual([]);
  }, 90_000);
});

describe('linking a device', () => {
  it('a linked device receives both sides; peers and the other device see device-added; the safety number changes', async () => {
    const alice = await sys.client('link-alice');
    const bob = await sys.client('link-bob');
    await converse(alice, bob, 'link-bob');
    const before = await bob.safetyNumber('link-alice');
    expect((await alice.safetyNumber('link-bob')).digits).toBe(before.digits);

    const laptop = await sys.client('link-alice', { link: false });
    expect((await laptop.linkStatus()).linked).toBe(false);
    await expect(alice.linkDevice('7-AAAAAAAAAAAAAAAAAAAAAA')).rejects.toMatchObject({
      code: 'ERR_INVALID_KEY',
    });
    await expect(alice.linkDevice('not a code')).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    const linked = nextEvent(laptop, 'device-linked');
    const status = await alice.linkDevice(await laptop.linkCode());
    expect(status.devices).toContain(laptop.me.deviceId);
    expect((await laptop.linkStatus()).linked).toBe(true);
    await linked;

    // Bob learns of the new device the next time he looks alice up.
    const added = nextEvent(bob, 'device-added', (e) => e.userId === 'link-alice');
    const onLaptop = nextEvent(laptop, 'message', (e) => !e.message.outgoing);
    const after = await bob.safetyNumber('link-alice');
    expect(after.digits).not.toBe(before.digits);
    expect((await alice.safetyNumber('link-bob')).digits).toBe(after.digits);
    expect((await added).deviceId).toBe(laptop.me.deviceId);
    // The laptop sends: bob shows it as alice's; bob's answer reaches the laptop.
    const fromLaptop = nextEvent(bob, 'message', (e) => e.message.from.deviceId === laptop.me.deviceId);
    await laptop.sendText({ user: 'link-bob' }, 'from my laptop');
    expect((await fromLaptop).message.from.userId).toBe('link-alice');
    await bob.sendText({ user: 'link-alice' }, 'to both');
    expect((await onLaptop).message.content.body).toEqual({ type: 'text', text: 'to both' });

    // The laptop is lost: alice removes it from her list. Bob's next look-up drops it.
    await expect(laptop.unlinkDevice(laptop.me.deviceId)).rejects.toMatchObject({ code: 'ERR_USAGE' });
    const removed = await alice.unlinkDevice(laptop.me.deviceId);
    expect(removed.devices).not.toContain(laptop.me.deviceId);
    const gone = nextEvent(bob, 'device-removed', (e) => e.userId === 'link-alice');
    expect((await bob.safetyNumber('link-alice')).digits).toBe(before.digits);
    expect((await gone).deviceId).toBe(laptop.me.deviceId);
    const laptopGets = collect(laptop, 'message');
    const aliceGets = nextEvent(alice, 'message', (e) => !e.message.outgoing);
    await bob.sendText({ user: 'link-alice' }, 'not for the lost laptop');
    await aliceGets;
    await laptop.flush();
    expect(laptopGets).toEqual([]);
  }, 90_000);
});

describe('impersonating a verified contact', () => {
  async function operatorRestart(user: string): Promise<{ device: CloisterClient }> {
    // The operator deletes the user's lists from its own database and enrols a device of its own
    // for the user (it can mint tokens): the device finds no list and starts a new chain, which
    // is what a forged identity looks like to peers.
    const enc = new TextEncoder();
    const partition = new Uint8Array([...enc.encode(TENANT), 0, ...enc.encode(user)]);
    await sys.server.context.adapter.transaction((tx) => tx.deletePartition('s_device_lists', partition));
    const device = await sys.client(user, { link: false });
    return { device };
  }

  it('holds a verified contact’s new identity both ways until the app accepts it', async () => {
    const alice = await sys.client('imp-alice');
    const bob = await sys.client('imp-bob');
    await converse(alice, bob, 'imp-bob');
    const number = await alice.safetyNumber('imp-bob');
    expect(await bob.verifySafetyNumber('imp-alice', number.digits)).toBe(true);

    const { device: forged } = await operatorRestart('imp-alice');
    expect((await forged.linkStatus()).linked).toBe(true);
    const held = nextEvent(bob, 'identity-held');
    const shown = collect(bob, 'message');
    await forged.sendText({ user: 'imp-bob' }, 'it is me, alice; wire the money');
    await forged.flush();
    expect((await held).userId).toBe('imp-alice');
    await bob.flush();
    expect(shown.filter((e) => !e.message.outgoing)).toEqual([]);
    const status = await bob.identityStatus('imp-alice');
    expect(status).toMatchObject({ verified: true, held: true });
    expect(status.quarantined).toBe(1);
    // The number the forged side shows does not match what bob verified.
    expect(await bob.verifySafetyNumber('imp-alice', (await forged.safetyNumber('imp-bob')).digits)).toBe(
      false,
    );

    // Sending to alice stops: nothing reaches either the real or the forged device.
    const reachedForged = collect(forged, 'message');
    const reachedAlice = collect(alice, 'message');
    const failed = collect(bob, 'send-failed');
    await bob.sendText({ user: 'imp-alice' }, 'are you sure?');
    await bob.flush();
    await forged.flush();
    await alice.flush();
    expect(reachedForged).toEqual([]);
    expect(reachedAlice).toEqual([]);
    void failed;

    // The app accepts the change: the held message is shown (from the new identity), unverified.
    const released = nextEvent(bob, 'message', (e) => !e.message.outgoing);
    expect(await bob.acceptIdentityChange('imp-alice')).toBe(true);
    expect((await released).message.content.body).toEqual({
      type: 'text',
      text: 'it is me, alice; wire the money',
    });
    expect(await bob.identityStatus('imp-alice')).toMatchObject({
      verified: false,
      held: false,
      quarantined: 0,
    });
    expect(await bob.acceptIdentityChange('imp-alice')).toBe(false);
  }, 90_000);

  it('an unverified contact’s reset is trust on first use again, reported as identity-changed', async () => {
    const alice = await sys.client('tofu-alice');
    const bob = await sys.client('tofu-bob');
    await converse(alice, bob, 'tofu-bob');
    const changed = nextEvent(bob, 'identity-changed', (e) => e.userId === 'tofu-alice');
    const { device } = await operatorRestart('tofu-alice');
    const got = nextEvent(bob, 'message', (e) => e.message.from.deviceId === device.me.deviceId);
    await device.sendText({ user: 'tofu-bob' }, 'new phone');
    await got;
    await changed;
  }, 90_000);
});
