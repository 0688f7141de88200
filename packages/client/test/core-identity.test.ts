/**
 * Identity binding in the core (issue 13, attacks 1 and 2), played by the operator, who holds the
 * tenant signing key: a certificate it issues for alice's device over keys it generated names
 * alice but is not believed. Only a device on alice's signed list, as bob pinned it, speaks for
 * alice; anything else waits in quarantine, undecrypted (no session is started with it), until
 * alice's lists are fetched, and then is processed, held for the app (a verified contact) or
 * dropped and reported (a device alice never linked).
 */

import { deviceId, toPublicIdentity } from '@cloister/crypto';
import {
  deviceListHash,
  generateOrganisationRoot,
  issueAdminCertificate,
  signDeviceList,
  userId,
} from '@cloister/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  acceptDeviceLists,
  acceptDirectory,
  acceptHeldList,
  loadPin,
  MAX_QUARANTINED_PER_USER,
  quarantinedCount,
  releaseQuarantine,
  setPinVerified,
} from '../src/core/index.js';
import { type CorePeers, content, createCorePeers, encode, inTx, texts } from './helpers/core-peers.js';

let peers: CorePeers;

beforeAll(async () => {
  peers = await createCorePeers();
}, 60_000);

const alice = userId('alice');

describe('a certificate names; only the pinned list authenticates', () => {
  it('holds a forged identity of a verified contact, keeps the real session, and releases it only on acceptance', async () => {
    const real = await peers.sender('alice');
    expect(
      texts(await peers.receive(await peers.seal(real, encode(content({ type: 'text', text: 'hi' })), true))),
    ).toEqual(['hi']);
    await inTx(peers.bob.db, (t) => setPinVerified(t, alice, true));

    // The operator: new keys for alice's device 1, a certificate from the tenant key it holds.
    const forged = await peers.sender('alice', { listed: false });
    const lie = await peers.seal(forged, encode(content({ type: 'text', text: 'wire the money' })), true);
    const events = await peers.receive(lie);
    expect(events).toEqual([]);
    expect(await inTx(peers.bob.db, (t) => quarantinedCount(t, alice))).toBe(1);

    // The operator serves a new chain of lists with its device: held, because bob verified alice.
    const held = await peers.acceptLists('alice', [await peers.firstList(forged)]);
    expect(held.map((e) => e.type)).toEqual(['identity-held']);
    const pin = await inTx(peers.bob.db, (t) => loadPin(t.tx, alice));
    expect(pin?.held).toBeDefined();
    expect(pin?.verified).toBe(true);
    // The directory offers the forged device: it is not reached.
    const directory = await inTx(peers.bob.db, async (t) =>
      acceptDirectory(peers.bob.self, t, alice, [], pin),
    );
    expect(directory.devices).toEqual([]);

    // The real alice's session was never touched: her next message is shown.
    expect(
      texts(await peers.receive(await peers.seal(real, encode(content({ type: 'text', text: 'still me' }))))),
    ).toEqual(['still me']);

    // Only the app's explicit acceptance releases the held message, now unverified.
    const accepted = await inTx(peers.bob.db, async (t) => {
      const r = await acceptHeldList(t, alice);
      const released = await releaseQuarantine(peers.bob.self, t, alice, {
        lifetimeMs: null,
        processedTtlMs: 86_400_000,
      });
      return { ...r, released };
    });
    expect(accepted.accepted).toBe(true);
    expect(accepted.events.map((e) => e.type)).toEqual(['identity-changed']);
    expect(texts(accepted.released)).toEqual(['wire the money']);
    const after = await inTx(peers.bob.db, (t) => loadPin(t.tx, alice));
    expect(after?.verified).toBe(false);
  });

  it('re-pins an unverified contact’s new chain (trust on first use), reported as identity-changed', async () => {
    await peers.sender('carol');
    const renewed = await peers.sender('carol', { listed: false });
    expect(
      await peers.receive(
        await peers.seal(renewed, encode(content({ type: 'text', text: 'new phone' })), true),
      ),
    ).toEqual([]);
    const events = await peers.acceptLists('carol', [await peers.firstList(renewed)]);
    expect(events.map((e) => e.type)).toEqual(['identity-changed', 'message']);
    expect(texts(events)).toEqual(['new phone']);
  });

  it('drops and reports what a device the user never linked sent, once the lists are fetched', async () => {
    const dave = await peers.sender('dave');
    const ghost = await peers.sender('dave', { listed: false });
    expect(
      await peers.receive(await peers.seal(ghost, encode(content({ type: 'text', text: 'ghost' })), true)),
    ).toEqual([]);
    // The server still serves dave's real chain: the ghost is not on it.
    const events = await peers.acceptLists('dave', [await peers.firstList(dave)]);
    expect(events).toEqual([
      { type: 'undecryptable', reason: 'device', from: { userId: 'dave', deviceId: 1 } },
    ]);
    expect(await inTx(peers.bob.db, (t) => quarantinedCount(t, userId('dave')))).toBe(0);
  });

  it('admits a device through an organisation-signed list only when the app configured the hook', async () => {
    await peers.sender('frank');
    const laptop = await peers.sender('frank', { listed: false });
    const pinned = (await inTx(peers.bob.db, (t) => loadPin(t.tx, userId('frank'))))!.list;
    const previous = await deviceListHash(peers.provider, pinned.bytes);
    // A successor adding device 2, signed by an administrator key the app's hook vouches for.
    const root = await generateOrganisationRoot(peers.provider);
    const adminKey = await peers.provider.ed25519.generateKeyPair();
    const certificate = await issueAdminCertificate(peers.provider, root.privateKey, {
      tenant: pinned.tenant,
      admin: 'mdm',
      adminPublicKey: adminKey.publicKey,
      role: 'integration',
      issuedAtMs: 0,
      expiresAtMs: 86_400_000,
      serial: 9,
    });
    const orgSigned = await signDeviceList(
      peers.provider,
      {
        ...pinned,
        epoch: 2,
        issuedAtMs: pinned.issuedAtMs,
        previous,
        root: previous,
        signer: { kind: 'organisation', deviceId: deviceId(2), certificate },
        devices: [
          ...pinned.devices,
          { deviceId: deviceId(2), identity: toPublicIdentity(laptop.self.identity), addedAtMs: 0 },
        ],
      },
      adminKey.privateKey,
    );
    // No hook and no pinned root: refused, the pin stays.
    expect((await peers.acceptLists('frank', [orgSigned])).map((e) => e.type)).toEqual([
      'device-list-refused',
    ]);
    // With the hook (the app checks the certificate here): admitted, and reported.
    const seen: Uint8Array[] = [];
    const withHook = {
      ...peers.bob.self,
      organisationAdmission: async (signed: { certificate: Uint8Array }) => {
        seen.push(signed.certificate);
        return true;
      },
    };
    const events = await inTx(
      peers.bob.db,
      async (t) => (await acceptDeviceLists(withHook, t, userId('frank'), [orgSigned])).events,
    );
    expect(events).toEqual([{ type: 'device-added', userId: 'frank', deviceId: 2 }]);
    expect(seen).toEqual([certificate]);
  });

  it(`holds at most ${MAX_QUARANTINED_PER_USER} deliveries per user; more are dropped and reported`, async () => {
    const ghost = await peers.sender('erin', { listed: false });
    const first = await peers.seal(ghost, encode(content({ type: 'text', text: '0' })), true);
    expect(await peers.receive(first)).toEqual([]);
    for (let i = 1; i < MAX_QUARANTINED_PER_USER; i++) {
      await peers.receive(await peers.seal(ghost, encode(content({ type: 'text', text: String(i) }))));
    }
    const over = await peers.receive(
      await peers.seal(ghost, encode(content({ type: 'text', text: 'over' }))),
    );
    expect(over).toEqual([
      { type: 'undecryptable', reason: 'device', from: { userId: 'erin', deviceId: 1 } },
    ]);
    // Once erin's list admits the device, everything held is processed in arrival order.
    const events = await peers.acceptLists('erin', [await peers.firstList(ghost)]);
    expect(texts(events)).toEqual(Array.from({ length: MAX_QUARANTINED_PER_USER }, (_, i) => String(i)));
  }, 60_000);
});
