/**
 * `admin.broadcasts` pins each user's signed device list between broadcasts (spec/broadcast.md
 * §7): the test plays the operator behind the audience route. A user's chain served anew (a new
 * chain listing a device the operator controls) after a first broadcast gets that user nothing and
 * is reported `device-list-reset`; so is a successor the operator signed itself
 * (`device-list-unlinked`) and an older list (`device-list-rollback`); a successor signed by the
 * user's own device moves the pin; `acceptDeviceListReset` makes a held chain the pin. The pins'
 * text round-trips and refuses an altered entry; a failed audience page moves no pin.
 */
import {
  createNobleProvider,
  DecodeError,
  type DeviceIdentity,
  deviceId,
  generateDeviceIdentity,
  toPublicIdentity,
  ValidationError,
} from '@cloister/crypto';
import {
  type DeviceListBody,
  decodeDeviceList,
  decodeOrganisationObject,
  deviceListHash,
  signDeviceList,
  tenantId,
  userId,
} from '@cloister/protocol';
import { describe, expect, it } from 'vitest';
import {
  AdminClient,
  type AdminSigningKey,
  type AdminTransport,
  decodeDeviceListPins,
  encodeDeviceListPins,
  generateOrganisation,
  memoryDeviceListPins,
  type OrganisationSigner,
} from '../src/index.js';
import { fakeServer } from './fake-server.js';

const provider = createNobleProvider();
const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

interface Device {
  readonly id: number;
  readonly identity: DeviceIdentity;
}

/** A list of `user` naming `devices`, signed by `signer` (the first list of a chain without `after`). */
async function list(
  user: string,
  devices: readonly Device[],
  signer: Device,
  after?: Uint8Array,
): Promise<Uint8Array> {
  const previous = after === undefined ? undefined : decodeDeviceList(after);
  const hash = previous === undefined ? new Uint8Array(32) : await deviceListHash(provider, previous.bytes);
  const body: DeviceListBody = {
    tenant: tenantId('acme'),
    user: userId(user),
    epoch: (previous?.epoch ?? 0) + 1,
    issuedAtMs: 1_800_000_000_000,
    previous: hash,
    root: previous === undefined ? new Uint8Array(32) : previous.epoch === 1 ? hash : previous.root,
    signer: { kind: 'device', deviceId: deviceId(signer.id) },
    devices: [...devices]
      .sort((a, b) => a.id - b.id)
      .map((d) => ({ deviceId: deviceId(d.id), identity: toPublicIdentity(d.identity), addedAtMs: 1 })),
  };
  return signDeviceList(provider, body, signer.identity.signingKeyPair.privateKey);
}

const device = async (id: number): Promise<Device> => ({
  id,
  identity: await generateDeviceIdentity(provider),
});

/**
 * The operator: it answers the audience route with `served` (per user, a list and devices) and
 * queues every envelope submitted, recording which user and device each was sealed to.
 */
async function setUp() {
  const org = await generateOrganisation(provider, { tenant: 'acme', admin: 'adm_owner' });
  const organisation = fakeServer();
  const served = new Map<string, { list: Uint8Array | null; devices: Device[] }>();
  const sealed: { user: string; device: number }[][] = [];
  let failAudience = false;
  const transport: AdminTransport = async (request) => {
    const reply = (json: unknown) => {
      const bytes = new TextEncoder().encode(JSON.stringify(json));
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: (async function* () {
          yield bytes;
        })(),
      };
    };
    if (request.method === 'GET' && request.path === '/admin/v1/broadcasts/audience') {
      if (failAudience && request.query?.after !== undefined) {
        const bytes = new TextEncoder().encode(
          JSON.stringify({ error: { code: 'ERR_STORAGE', message: 'storage failed' } }),
        );
        return {
          status: 500,
          headers: { 'content-type': 'application/json' },
          body: (async function* () {
            yield bytes;
          })(),
        };
      }
      const users = [...served.entries()].map(([user, s]) => ({
        user,
        deviceList: s.list === null ? null : b64u(s.list),
        devices: s.devices.map((d) => ({
          device: d.id,
          mailbox: `mailbox-${user}-${d.id}`.padEnd(16, '0'),
          signingKey: b64u(d.identity.signingKeyPair.publicKey),
          dhKey: b64u(d.identity.dhKeyPair.publicKey),
        })),
      }));
      // One user per page, so a broadcast reads several pages.
      const at = request.query?.after === undefined ? 0 : Number(request.query.after);
      const next = at + 1 < users.length ? { next: String(at + 1) } : {};
      return reply({ users: users.slice(at, at + 1), ...next });
    }
    if (request.method === 'POST' && request.path === '/admin/v1/broadcasts') {
      const body = JSON.parse(new TextDecoder().decode(request.body)) as {
        object: string;
        envelopes: { user: string; device: number }[];
      };
      const o = decodeOrganisationObject(new Uint8Array(Buffer.from(body.object, 'base64url')));
      organisation.sequences.broadcast = o.sequence + 1;
      sealed.push(body.envelopes.map((e) => ({ user: e.user, device: e.device })));
      return reply({
        broadcastId: 'x',
        sequence: o.sequence,
        results: body.envelopes.map((e) => ({ user: e.user, device: e.device, status: 'queued' })),
      });
    }
    return organisation.transport(request);
  };
  const client = new AdminClient({ transport, credential: { kind: 'session', token: 't' }, provider });
  const signer: OrganisationSigner = { provider, key: org.owner, client };
  const send = (text: string, options = {}) =>
    client.broadcasts.send({ text, audience: { kind: 'tenant' } }, signer, options);
  return {
    org,
    client,
    served,
    sealed,
    send,
    failNextPages: () => {
      failAudience = true;
    },
  };
}

/** Alice (devices 1) and Bob (device 1), each with a first list, as their own devices signed them. */
async function aliceAndBob() {
  const t = await setUp();
  const alice1 = await device(1);
  const bob1 = await device(1);
  const aliceList = await list('alice', [alice1], alice1);
  t.served.set('alice', { list: aliceList, devices: [alice1] });
  t.served.set('bob', { list: await list('bob', [bob1], bob1), devices: [bob1] });
  return { ...t, alice1, aliceList };
}

describe('admin.broadcasts pins device lists', () => {
  it('follows a device admitted under the signer’s organisation root; refuses an admission under another root', async () => {
    const { served, sealed, send, org } = await setUp();
    const pins = memoryDeviceListPins();
    const phone = await device(1);
    const now = Date.now();
    const firstBody: DeviceListBody = {
      tenant: tenantId('acme'),
      user: userId('alice'),
      epoch: 1,
      issuedAtMs: now - 60_000,
      previous: new Uint8Array(32),
      root: new Uint8Array(32),
      signer: { kind: 'device', deviceId: deviceId(1) },
      devices: [{ deviceId: deviceId(1), identity: toPublicIdentity(phone.identity), addedAtMs: 1 }],
    };
    const first = await signDeviceList(provider, firstBody, phone.identity.signingKeyPair.privateKey);
    served.set('alice', { list: first, devices: [phone] });
    expect((await send('First', { pins })).refused).toEqual([]);
    const tablet = await device(2);
    const hash = await deviceListHash(provider, first);
    const admit = (key: AdminSigningKey) =>
      signDeviceList(
        provider,
        {
          ...firstBody,
          epoch: 2,
          issuedAtMs: now,
          previous: hash,
          root: hash,
          signer: { kind: 'organisation', deviceId: deviceId(2), certificate: key.certificate },
          devices: [
            ...firstBody.devices,
            { deviceId: deviceId(2), identity: toPublicIdentity(tablet.identity), addedAtMs: 2 },
          ],
        },
        key.privateKey,
      );
    // The operator admits a device of its own with an administrator certified by a root of its own.
    const operator = await generateOrganisation(provider, { tenant: 'acme', admin: 'adm_owner' });
    served.set('alice', { list: await admit(operator.owner), devices: [phone, tablet] });
    const refused = await send('Second', { pins });
    expect(refused.refused).toEqual([
      { user: 'alice', device: 1, reason: 'list' },
      { user: 'alice', device: 2, reason: 'list' },
    ]);
    expect((await pins.get('alice'))?.epoch).toBe(1);
    // Admitted by an administrator of the organisation: followed, sealed to, pinned.
    served.set('alice', { list: await admit(org.owner), devices: [phone, tablet] });
    const admitted = await send('Third', { pins });
    expect(admitted.refused).toEqual([]);
    expect(sealed.at(-1)).toEqual([
      { user: 'alice', device: 1 },
      { user: 'alice', device: 2 },
    ]);
    expect((await pins.get('alice'))?.epoch).toBe(2);
  });

  it('refuses a user whose chain the operator serves anew with a device of its own, after a first broadcast', async () => {
    const { served, sealed, send, alice1 } = await aliceAndBob();
    const first = await send('First notice');
    expect(first.queued).toBe(2);
    expect(first.refused).toEqual([]);
    // The operator restarts Alice's chain: her device's entry copied, and a device it controls,
    // signed by that device (the list verifies on its own).
    const mallory = await device(7);
    const forged = await list('alice', [alice1, mallory], mallory);
    served.set('alice', { list: forged, devices: [alice1, mallory] });
    const second = await send('Second notice');
    expect(second.refused).toEqual([
      { user: 'alice', device: 1, reason: 'device-list-reset' },
      { user: 'alice', device: 7, reason: 'device-list-reset' },
    ]);
    expect(second.queued).toBe(1);
    expect(sealed.at(-1)).toEqual([{ user: 'bob', device: 1 }]);
    // Served again (each `client.broadcasts` is a new area on the same pins): refused again.
    const third = await send('Third notice');
    expect(third.refused.map((r) => r.reason)).toEqual(['device-list-reset', 'device-list-reset']);
    expect(sealed.flat().filter((s) => s.user === 'alice')).toEqual([{ user: 'alice', device: 1 }]);
    // Without a pin (first contact) the same answer is sealed to the operator's device: the pin
    // is what refuses it.
    const fresh = memoryDeviceListPins();
    const unpinned = await send('Fourth', { pins: fresh });
    expect(unpinned.refused).toEqual([]);
    expect(sealed.at(-1)).toContainEqual({ user: 'alice', device: 7 });
  });

  it('moves the pin along a successor signed by the user’s device, and refuses a rollback to it', async () => {
    const { served, sealed, send, alice1, aliceList } = await aliceAndBob();
    const pins = memoryDeviceListPins();
    await send('First', { pins });
    expect((await pins.get('alice'))?.epoch).toBe(1);
    const alice2 = await device(2);
    const extended = await list('alice', [alice1, alice2], alice1, aliceList);
    served.set('alice', { list: extended, devices: [alice1, alice2] });
    const second = await send('Second', { pins });
    expect(second.refused).toEqual([]);
    expect(sealed.at(-1)).toEqual([
      { user: 'alice', device: 1 },
      { user: 'alice', device: 2 },
      { user: 'bob', device: 1 },
    ]);
    const pin = await pins.get('alice');
    expect(pin?.epoch).toBe(2);
    expect(pin?.head).toEqual(await deviceListHash(provider, extended));
    // The operator serves the older list again (hiding the device added since).
    served.set('alice', { list: aliceList, devices: [alice1] });
    const rolledBack = await send('Third', { pins });
    expect(rolledBack.refused).toEqual([{ user: 'alice', device: 1, reason: 'device-list-rollback' }]);
    expect(sealed.at(-1)).toEqual([{ user: 'bob', device: 1 }]);
    expect((await pins.get('alice'))?.epoch).toBe(2);
  });

  it('refuses a successor of the pinned chain that the operator signed, and one it cannot link', async () => {
    const { served, sealed, send, alice1, aliceList } = await aliceAndBob();
    const pins = memoryDeviceListPins();
    await send('First', { pins });
    // Epoch 2 of Alice's chain (the right previous and root), signed by a device of the operator.
    const mallory = await device(7);
    const forged = await list('alice', [alice1, mallory], mallory, aliceList);
    served.set('alice', { list: forged, devices: [alice1, mallory] });
    const second = await send('Second', { pins });
    expect(second.refused).toEqual([
      { user: 'alice', device: 1, reason: 'device-list-unlinked' },
      { user: 'alice', device: 7, reason: 'device-list-unlinked' },
    ]);
    expect(sealed.at(-1)).toEqual([{ user: 'bob', device: 1 }]);
    // Epoch 3 served alone: the list between is not there to link it to the pin.
    const alice2 = await device(2);
    const epoch2 = await list('alice', [alice1, alice2], alice1, aliceList);
    const epoch3 = await list('alice', [alice2], alice2, epoch2);
    served.set('alice', { list: epoch3, devices: [alice2] });
    const third = await send('Third', { pins });
    expect(third.refused).toEqual([{ user: 'alice', device: 2, reason: 'device-list-unlinked' }]);
    expect((await pins.get('alice'))?.list).toEqual(aliceList);
  });

  it('acceptDeviceListReset makes the held chain the pin; the pinned list served again drops what was held', async () => {
    const { served, sealed, send, alice1, client } = await aliceAndBob();
    await send('First');
    const alice5 = await device(5);
    const reset = await list('alice', [alice5], alice5);
    served.set('alice', { list: reset, devices: [alice1, alice5] });
    expect((await send('Second')).refused.map((r) => r.reason)).toEqual([
      'device-list-reset',
      'device-list-reset',
    ]);
    await expect(client.broadcasts.acceptDeviceListReset('bob')).resolves.toBe(false);
    await expect(client.broadcasts.acceptDeviceListReset('')).rejects.toBeInstanceOf(ValidationError);
    await expect(client.broadcasts.acceptDeviceListReset('alice')).resolves.toBe(true);
    const after = await send('Third');
    // The new chain is the pin: its device gets the notice, the device it no longer names does not.
    expect(after.refused).toEqual([{ user: 'alice', device: 1, reason: 'not-listed' }]);
    expect(sealed.at(-1)).toEqual([
      { user: 'alice', device: 5 },
      { user: 'bob', device: 1 },
    ]);
    await expect(client.broadcasts.acceptDeviceListReset('alice')).resolves.toBe(false);
    // A chain held, then the pinned list served again: nothing is left to accept.
    const other = await device(6);
    served.set('alice', { list: await list('alice', [other], other), devices: [other] });
    expect((await send('Fourth')).refused).toEqual([
      { user: 'alice', device: 6, reason: 'device-list-reset' },
    ]);
    served.set('alice', { list: reset, devices: [alice5] });
    expect((await send('Fifth')).refused).toEqual([]);
    await expect(client.broadcasts.acceptDeviceListReset('alice')).resolves.toBe(false);
  });

  it('moves no pin when an audience page fails', async () => {
    const { send, failNextPages } = await aliceAndBob();
    const pins = memoryDeviceListPins();
    failNextPages();
    await expect(send('Never sent', { pins })).rejects.toMatchObject({ code: 'ERR_STORAGE', status: 500 });
    expect(pins.all()).toEqual([]);
  });

  it('writes the pins as text and reads them back; an altered entry is refused', async () => {
    const { served, send } = await aliceAndBob();
    const pins = memoryDeviceListPins();
    await send('First', { pins });
    const mallory = await device(7);
    served.set('alice', { list: await list('alice', [mallory], mallory), devices: [mallory] });
    await send('Second', { pins });
    const text = encodeDeviceListPins(pins.all());
    const read = await decodeDeviceListPins(provider, text);
    expect(read).toEqual(pins.all());
    expect(read.map((p) => [p.user, p.epoch, p.held !== undefined])).toEqual([
      ['alice', 1, true],
      ['bob', 1, false],
    ]);
    const stored = JSON.parse(text) as { format: string; pins: Record<string, unknown>[] };
    expect(stored.format).toBe('cloister-admin/device-list-pins/v1');
    const altered = (change: (p: Record<string, unknown>[]) => void) => {
      const copy = JSON.parse(text) as { pins: Record<string, unknown>[] };
      change(copy.pins);
      return decodeDeviceListPins(provider, JSON.stringify(copy));
    };
    await expect(altered((p) => ((p[0] as Record<string, unknown>).epoch = 2))).rejects.toBeInstanceOf(
      DecodeError,
    );
    await expect(
      altered((p) => ((p[0] as Record<string, unknown>).head = b64u(new Uint8Array(32)))),
    ).rejects.toBeInstanceOf(DecodeError);
    // Bob's list under Alice's name.
    await expect(
      altered((p) => ((p[0] as Record<string, unknown>).list = (p[1] as Record<string, unknown>).list)),
    ).rejects.toBeInstanceOf(DecodeError);
    await expect(altered((p) => p.push(p[1] as Record<string, unknown>))).rejects.toBeInstanceOf(DecodeError);
    await expect(
      decodeDeviceListPins(provider, '{"format":"cloister-admin/session/v1"}'),
    ).rejects.toBeInstanceOf(DecodeError);
  });
});
