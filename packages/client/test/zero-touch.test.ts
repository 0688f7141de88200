/**
 * Zero-touch admission (issue 18, `spec/device-lists.md` §5), end to end through the SDK and the
 * real server: a user's second, managed device is admitted to her signed device list by the
 * organisation (an administrator key the root certified signs the next list, on the
 * administrator's side), with no linking step; a peer that pinned her list encrypts to both
 * devices. Then the attacks, played by the operator, who writes its own database: a list signed
 * under a root of its own, an admission of one device rewritten for another, an admission of one
 * user served as another's, and an older admitted list served again. Each is refused by the
 * server's admin route where it can see it and, where the operator bypasses the route, by every
 * client that pinned the lists.
 */
import {
  type DeviceListBody,
  decodeDeviceList,
  deviceListHash,
  managedConfigValues,
  type SignedDeviceList,
  signDeviceList,
  userId,
} from '@cloister/protocol';
import { PIN_SCRYPT_FLOOR } from '@cloister/crypto';
import { admitDeviceOperation, createEnrolmentToken } from '@cloister/server';
import { createMemoryAdapter } from '@cloister/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientEvent,
  type CloisterClient,
  clientOptionsFromManagedConfig,
  createClient,
  createNodeTransport,
  type TransportFactory,
} from '../src/index.js';
import { nextEvent, startSystem, TENANT, type TestSigner, type TestSystem } from './helpers/system.js';

let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem();
}, 60_000);

const opened: CloisterClient[] = [];

afterAll(async () => {
  for (const c of opened) await c.close().catch(() => undefined);
  await sys?.close();
});

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** Every event of `type` the client emits from now on. */
function collect<E extends ClientEvent['type']>(client: CloisterClient, type: E) {
  const seen: Extract<ClientEvent, { type: E }>[] = [];
  client.on(type, (e) => seen.push(e));
  return seen;
}

async function newest(user: string): Promise<SignedDeviceList> {
  const stored = await sys.server.context.stores.deviceLists.newest(TENANT, userId(user));
  return decodeDeviceList(stored!.bytes);
}

/** The list after `head` that adds `device` of `user`, signed by `signer`'s owner key (kind 2). */
async function admission(
  signer: TestSigner,
  head: SignedDeviceList,
  device: CloisterClient,
  over: Partial<DeviceListBody> = {},
) {
  const provider = sys.server.context.provider;
  const hash = await deviceListHash(provider, head.bytes);
  const id = device.me.deviceId;
  const keys = (await sys.server.context.stores.devices.get(TENANT, head.user, id))!.identity;
  return signDeviceList(
    provider,
    {
      ...head,
      epoch: head.epoch + 1,
      issuedAtMs: Math.max(Date.now(), head.issuedAtMs),
      previous: hash,
      root: head.epoch === 1 ? hash : head.root,
      signer: { kind: 'organisation', deviceId: id, certificate: signer.certificate },
      devices: [...head.devices, { deviceId: id, identity: keys, addedAtMs: Date.now() }].sort(
        (a, b) => a.deviceId - b.deviceId,
      ),
      ...over,
    },
    signer.root.privateKey,
  );
}

/** `PUT /admin/v1/users/:user/device-list` as the owner (`owner-1`) of the tenant. */
function admit(user: string, list: Uint8Array) {
  return admitDeviceOperation.handle(sys.server.context, {
    me: { tenant: TENANT, admin: { id: 'owner-1' } },
    params: { user },
    body: { list: b64(list) },
  } as never);
}

/** The operator bypasses the route: it appends `list` to `user`'s chain in its own database. */
async function operatorAppends(user: string, list: Uint8Array) {
  await sys.server.context.stores.deviceLists.append(
    TENANT,
    userId(user),
    list,
    decodeDeviceList(list).epoch,
  );
}

/** A transport whose device-list answers for `user` the test can replace. */
function serving(user: string) {
  const state: { lists: string[] | undefined } = { lists: undefined };
  const factory: TransportFactory = (options) => {
    const inner = createNodeTransport(options);
    return {
      ...inner,
      request: async (method, path, body) => {
        const res = await inner.request(method, path, body);
        if (state.lists === undefined || !path.startsWith(`/v1/users/${user}/device-lists`)) return res;
        const json = { lists: state.lists };
        return { ...res, json, body: new TextEncoder().encode(JSON.stringify(json)) };
      },
    };
  };
  return { factory, state };
}

describe('zero-touch admission', () => {
  it('the organisation admits a managed device: the peer that pinned the user sends, both devices decrypt, no linking', async () => {
    const phone = await sys.client('zt-alice');
    const bob = await sys.client('zt-bob');
    const before = await bob.safetyNumber('zt-alice'); // bob pins alice's one-device list

    // The MDM pushes a managed configuration; the device enrols from it (no PIN, no linking).
    const { token } = await createEnrolmentToken(sys.server.context, {
      tenant: TENANT,
      user: userId('zt-alice'),
      managed: true,
    });
    const config = managedConfigValues({
      serverUrl: sys.url,
      serverPin: sys.server.pin,
      organisationRoot: sys.organisation!.fingerprint,
      enrolmentToken: token,
      tenant: TENANT,
    });
    const managed = await createClient(
      clientOptionsFromManagedConfig(config, createMemoryAdapter(), {
        pinWrap: { scrypt: PIN_SCRYPT_FLOOR },
      }),
    );
    opened.push(managed);
    await managed.enrollFromManagedConfig(config, { secret: new Uint8Array(32).fill(9) });
    await managed.start();
    expect(
      (await sys.server.context.stores.devices.get(TENANT, userId('zt-alice'), managed.me.deviceId))
        ?.enrolledVia,
    ).toBe('managed');
    expect((await managed.linkStatus()).linked).toBe(false);
    const head = await newest('zt-alice');
    const list = await admission(sys.organisation!, head, managed);
    expect(await admit('zt-alice', list)).toEqual({ epoch: head.epoch + 1, device: managed.me.deviceId });
    const audit = await sys.server.context.stores.audit.list(TENANT);
    expect(audit.some((r) => r.action === 'device-list.admit')).toBe(true);

    // The managed device adopts the list when it next fetches it; nobody linked it.
    const linked = nextEvent(managed, 'device-linked');
    expect((await managed.linkStatus()).linked).toBe(true);
    await linked;

    // Bob follows the organisation-signed successor from his pin and encrypts to both.
    const added = nextEvent(bob, 'device-added', (e) => e.userId === 'zt-alice');
    const after = await bob.safetyNumber('zt-alice');
    expect(after.digits).not.toBe(before.digits);
    expect((await added).deviceId).toBe(managed.me.deviceId);
    const onPhone = nextEvent(phone, 'message', (e) => !e.message.outgoing);
    const onManaged = nextEvent(managed, 'message', (e) => !e.message.outgoing);
    await bob.sendText({ user: 'zt-alice' }, 'to both of your devices');
    expect((await onPhone).message.content.body).toEqual({ type: 'text', text: 'to both of your devices' });
    expect((await onManaged).message.content.body).toEqual({ type: 'text', text: 'to both of your devices' });
    // The managed device speaks for alice too.
    const fromManaged = nextEvent(bob, 'message', (e) => e.message.from.deviceId === managed.me.deviceId);
    await managed.sendText({ user: 'zt-bob' }, 'from the managed device');
    expect((await fromManaged).message.from.userId).toBe('zt-alice');
  }, 120_000);

  it('a list signed under the operator’s own root is refused by the route and by the peer, which does not encrypt to the device', async () => {
    const carol = await sys.client('zt-carol');
    const dan = await sys.client('zt-dan');
    await dan.safetyNumber('zt-carol');
    const ghost = await sys.client('zt-carol', { link: false });
    const ghostGets = collect(ghost, 'message');
    const operator = await sys.operatorSigner();
    const head = await newest('zt-carol');
    const forged = await admission(operator, head, ghost);
    await expect(admit('zt-carol', forged)).rejects.toMatchObject({ code: 'ERR_VALIDATION' });

    await operatorAppends('zt-carol', forged);
    const refused = nextEvent(dan, 'device-list-refused', (e) => e.userId === 'zt-carol');
    await dan.safetyNumber('zt-carol');
    await refused;
    expect((await ghost.linkStatus()).linked).toBe(false);
    const onCarol = nextEvent(carol, 'message', (e) => !e.message.outgoing);
    await dan.sendText({ user: 'zt-carol' }, 'only carol');
    await onCarol;
    await ghost.flush();
    expect(ghostGets).toEqual([]);
  }, 120_000);

  it('an admission of one device rewritten for another, and one user’s admission used for another user, are refused', async () => {
    const erin = await sys.client('zt-erin');
    const frank = await sys.client('zt-frank');
    await frank.safetyNumber('zt-erin');
    const managed = await sys.client('zt-erin', { link: false });
    const ghost = await sys.client('zt-erin', { link: false });
    const head = await newest('zt-erin');
    const genuine = await admission(sys.organisation!, head, managed);

    // The operator swaps in the ghost's id and keys, keeping the organisation's signature.
    const swapped = decodeDeviceList(genuine);
    const ghostKeys = (await sys.server.context.stores.devices.get(
      TENANT,
      userId('zt-erin'),
      ghost.me.deviceId,
    ))!.identity;
    const bytes = Buffer.from(genuine);
    const at = bytes.indexOf(
      Buffer.from(swapped.devices.find((d) => d.deviceId === managed.me.deviceId)!.identity.signingKey),
    );
    expect(at).toBeGreaterThan(0);
    bytes.set(ghostKeys.signingKey, at);
    bytes.set(ghostKeys.dhKey, at + 32);
    bytes.set(ghostKeys.dhKeySignature, at + 64);
    const rewritten = new Uint8Array(bytes);
    await expect(admit('zt-erin', rewritten)).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    await operatorAppends('zt-erin', rewritten);
    const refused = nextEvent(frank, 'device-list-refused', (e) => e.userId === 'zt-erin');
    await frank.safetyNumber('zt-erin');
    await refused;
    expect((await ghost.linkStatus()).linked).toBe(false);

    // Erin's genuine admission, offered as frank's: the route refuses it, and so does a peer
    // that pinned frank's list when the operator writes it into frank's chain itself.
    await expect(admit('zt-frank', genuine)).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
    const grace = await sys.client('zt-grace');
    await grace.safetyNumber('zt-frank');
    const frankHead = await newest('zt-frank');
    await sys.server.context.stores.deviceLists.append(
      TENANT,
      userId('zt-frank'),
      genuine,
      frankHead.epoch + 1,
    );
    const refusedByGrace = nextEvent(grace, 'device-list-refused', (e) => e.userId === 'zt-frank');
    await grace.safetyNumber('zt-frank');
    await refusedByGrace;
    expect(erin.me.userId).toBe('zt-erin');
  }, 120_000);

  it('the route refuses a device list, another administrator’s certificate, a blocked device and an unknown user', async () => {
    await sys.client('zt-jo');
    const tablet = await sys.client('zt-jo', { link: false });
    const head = await newest('zt-jo');
    const list = await admission(sys.organisation!, head, tablet);
    // A list signed by a device goes through PUT /v1/device-list, not here.
    await expect(admit('zt-jo', head.bytes)).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
      field: 'list.signer',
    });
    // The certificate must name the calling administrator.
    await expect(
      admitDeviceOperation.handle(sys.server.context, {
        me: { tenant: TENANT, admin: { id: 'someone-else' } },
        params: { user: 'zt-jo' },
        body: { list: b64(list) },
      } as never),
    ).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
    await expect(admit('zt-nobody', list)).rejects.toMatchObject({ name: 'NotFoundError' });
    await sys.server.context.stores.devices.update(TENANT, userId('zt-jo'), tablet.me.deviceId, {
      blocked: true,
    });
    await expect(admit('zt-jo', list)).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
      field: 'list.signer',
    });
    expect((await newest('zt-jo')).epoch).toBe(head.epoch);
  }, 60_000);

  it('an older admitted list served again after a newer one is a rollback, refused', async () => {
    const hana = await sys.client('zt-hana');
    const first = await sys.client('zt-hana', { link: false });
    const l2 = await admission(sys.organisation!, await newest('zt-hana'), first);
    await admit('zt-hana', l2);
    const second = await sys.client('zt-hana', { link: false });
    await admit('zt-hana', await admission(sys.organisation!, await newest('zt-hana'), second));
    const chain = await sys.server.context.stores.deviceLists.chain(TENANT, userId('zt-hana'));
    expect(chain.map((l) => l.epoch)).toEqual([1, 2, 3]);

    const { factory, state } = serving('zt-hana');
    const ivan = await sys.client('zt-ivan', { transport: factory });
    await ivan.safetyNumber('zt-hana'); // pins epoch 3
    // The operator serves the chain up to the older admission as if it were the newest.
    state.lists = chain.slice(0, 2).map((l) => b64(l.bytes));
    const refused = nextEvent(ivan, 'device-list-refused', (e) => e.userId === 'zt-hana');
    await ivan.safetyNumber('zt-hana');
    await refused;
    // Re-admitting through the route is refused too: it is not the next epoch.
    await expect(admit('zt-hana', l2)).rejects.toMatchObject({ name: 'ConflictError' }); // 409
    // Ivan still encrypts to all three devices of the newest list he pinned.
    state.lists = undefined;
    const onSecond = nextEvent(second, 'message', (e) => !e.message.outgoing);
    const onHana = nextEvent(hana, 'message', (e) => !e.message.outgoing);
    await ivan.sendText({ user: 'zt-hana' }, 'to all three');
    await onSecond;
    await onHana;
  }, 120_000);
});
