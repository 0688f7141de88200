/**
 * Signed device lists (spec/device-lists.md): `test-vectors/device-lists.json` under every
 * provider (the chain decodes to the same fields and bytes, following it gives the stated trust,
 * every list to refuse is refused), and the attacks a server could try with lists: a ghost device
 * signing itself on, a rollback, a fork, an altered entry, another user's list.
 */
import { readFileSync } from 'node:fs';
import {
  type CryptoProvider,
  createNobleProvider,
  createWebCryptoProvider,
  type DeviceIdentity,
  deviceId,
  generateDeviceIdentity,
  toHex,
  toPublicIdentity,
} from '@cloister/crypto';
import { createNodeProvider } from '@cloister/crypto/node';
import { describe, expect, it } from 'vitest';
import {
  type AdminRole,
  type DeviceListBody,
  decodeDeviceList,
  deviceListHash,
  deviceListSignedBytes,
  followDeviceLists,
  generateOrganisationRoot,
  issueAdminCertificate,
  MAX_LISTED_DEVICES,
  organisationListVerifier,
  type SignedDeviceList,
  signDeviceList,
  tenantId,
  userId,
  verifyDeviceList,
} from '../src/index.js';

const PROVIDERS: readonly CryptoProvider[] = [
  createNobleProvider(),
  createNodeProvider(),
  createWebCryptoProvider(),
];

interface ShownList {
  epoch: number;
  signedBytes: string;
  bytes: string;
  devices: { deviceId: number; signingKey: string }[];
}
const vectors = JSON.parse(
  readFileSync(new URL('../../../test-vectors/device-lists.json', import.meta.url), 'utf8'),
) as {
  meta: { tenant: string; user: string };
  chain: ShownList[];
  reset: ShownList;
  follow: {
    name: string;
    pinned: number | null;
    lists: (number | 'reset')[];
    trust: string;
    epoch: number;
    added: number[];
    removed: number[];
  }[];
  refuse: { name: string; pinned: string | null; lists: string[]; error: string }[];
  organisation: {
    rootPublicKey: string;
    verifyAtMs: number;
    pinned: number;
    admitted: ShownList;
    added: number[];
    refuse: { name: string; pinned: string; lists: string[]; error: string }[];
  };
};
const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const opts = { tenant: tenantId(vectors.meta.tenant), user: userId(vectors.meta.user) };
const byNumber = (n: number | 'reset') =>
  hex(n === 'reset' ? vectors.reset.bytes : (vectors.chain[n - 1]?.bytes ?? ''));

describe.each(PROVIDERS.map((p) => [p.name, p] as const))('device-lists.json under %s', (_name, provider) => {
  it(`${vectors.chain.length + 1} lists decode, re-sign to the same signed bytes and verify`, async () => {
    for (const shown of [...vectors.chain, vectors.reset]) {
      const list = decodeDeviceList(hex(shown.bytes));
      expect(list.epoch).toBe(shown.epoch);
      expect(list.devices.map((d) => d.deviceId)).toEqual(shown.devices.map((d) => d.deviceId));
      expect(toHex(deviceListSignedBytes(list))).toBe(shown.signedBytes);
      await verifyDeviceList(provider, list, opts);
    }
  });

  it(`${vectors.follow.length} ways of following the chain give the stated trust`, async () => {
    for (const f of vectors.follow) {
      const pinned = f.pinned === null ? undefined : decodeDeviceList(byNumber(f.pinned));
      const update = await followDeviceLists(provider, pinned, f.lists.map(byNumber), opts);
      expect(update.trust, f.name).toBe(f.trust);
      expect(update.list.epoch, f.name).toBe(f.epoch);
      expect(
        update.added.map((d) => d.deviceId),
        f.name,
      ).toEqual(f.added);
      expect(
        update.removed.map((d) => d.deviceId),
        f.name,
      ).toEqual(f.removed);
    }
  });

  it(`${vectors.refuse.length} lists to refuse are refused with the stated error`, async () => {
    for (const c of vectors.refuse) {
      const pinned = c.pinned === null ? undefined : decodeDeviceList(hex(c.pinned));
      await expect(followDeviceLists(provider, pinned, c.lists.map(hex), opts), c.name).rejects.toMatchObject(
        {
          code: c.error,
        },
      );
    }
  });
});

describe.each(PROVIDERS.map((p) => [p.name, p] as const))(
  'device-lists.json, admission by the organisation, under %s',
  (_name, provider) => {
    const o = vectors.organisation;
    const organisation = organisationListVerifier(provider, {
      rootPublicKey: hex(o.rootPublicKey),
      tenant: opts.tenant,
      now: () => o.verifyAtMs,
    });
    it('the admitted list re-signs to the same bytes and is followed from the pinned list', async () => {
      const list = decodeDeviceList(hex(o.admitted.bytes));
      expect(toHex(deviceListSignedBytes(list))).toBe(o.admitted.signedBytes);
      const update = await followDeviceLists(provider, decodeDeviceList(byNumber(o.pinned)), [list.bytes], {
        ...opts,
        organisation,
      });
      expect(update.trust).toBe('chained');
      expect(update.added.map((d) => d.deviceId)).toEqual(o.added);
    });
    it(`${vectors.organisation.refuse.length} organisation lists to refuse are refused`, async () => {
      for (const c of o.refuse) {
        await expect(
          followDeviceLists(provider, decodeDeviceList(hex(c.pinned)), c.lists.map(hex), {
            ...opts,
            organisation,
          }),
          c.name,
        ).rejects.toMatchObject({ code: c.error });
      }
    });
  },
);

describe('device lists: form and attacks', () => {
  const provider = createNobleProvider();
  const tenant = tenantId('acme');
  const user = userId('alice');
  let counter = 0;
  const fresh = () => generateDeviceIdentity(provider);
  const entry = (id: number, who: DeviceIdentity) => ({
    deviceId: deviceId(id),
    identity: toPublicIdentity(who),
    addedAtMs: 1000 + counter++,
  });
  async function first(who: DeviceIdentity): Promise<{ body: DeviceListBody; list: SignedDeviceList }> {
    const body: DeviceListBody = {
      tenant,
      user,
      epoch: 1,
      issuedAtMs: 1000,
      previous: new Uint8Array(32),
      root: new Uint8Array(32),
      signer: { kind: 'device', deviceId: deviceId(1) },
      devices: [entry(1, who)],
    };
    return {
      body,
      list: decodeDeviceList(await signDeviceList(provider, body, who.signingKeyPair.privateKey)),
    };
  }

  it('signing with a key that is not the signer’s fails before any bytes leave', async () => {
    const a = await fresh();
    const b = await fresh();
    const { body } = await first(a);
    await expect(signDeviceList(provider, body, b.signingKeyPair.privateKey)).rejects.toMatchObject({
      code: 'ERR_INVALID_KEY',
    });
  });

  it('refuses bodies that break the rules, naming the field', async () => {
    const a = await fresh();
    const { body } = await first(a);
    const key = a.signingKeyPair.privateKey;
    const cases: [Partial<DeviceListBody>, string][] = [
      [{ epoch: 0 }, 'list.epoch'],
      [{ previous: new Uint8Array(31) }, 'list.previous'],
      [{ previous: new Uint8Array(32).fill(1) }, 'list.previous'],
      [{ epoch: 2 }, 'list.previous'],
      [{ root: new Uint8Array(32).fill(1) }, 'list.root'],
      [{ devices: [] }, 'list.devices'],
      [{ signer: { kind: 'device', deviceId: deviceId(2) } }, 'list.signer.deviceId'],
      [{ devices: [entry(2, a), entry(1, a)] }, 'list.devices[1].deviceId'],
      [{ devices: [entry(1, a), entry(2, a)] }, 'list.devices[1].identity.signingKey'],
    ];
    for (const [change, field] of cases) {
      await expect(signDeviceList(provider, { ...body, ...change }, key), field).rejects.toMatchObject({
        code: 'ERR_VALIDATION',
        field,
      });
    }
    const many = Array.from({ length: MAX_LISTED_DEVICES + 1 }, (_, i) => ({ ...entry(i + 1, a) }));
    await expect(signDeviceList(provider, { ...body, devices: many }, key)).rejects.toMatchObject({
      field: 'list.devices',
    });
  });

  it('a ghost device enrolled by the server cannot sign itself onto the list', async () => {
    const phone = await fresh();
    const ghost = await fresh();
    const { body, list } = await first(phone);
    const forged: DeviceListBody = {
      ...body,
      epoch: 2,
      previous: await deviceListHash(provider, list.bytes),
      root: await deviceListHash(provider, list.bytes),
      signer: { kind: 'device', deviceId: deviceId(7) },
      devices: [body.devices[0]!, entry(7, ghost)],
    };
    const bytes = await signDeviceList(provider, forged, ghost.signingKeyPair.privateKey);
    // On its own the forged list is well formed and self-signed ...
    await verifyDeviceList(provider, decodeDeviceList(bytes), { tenant, user });
    // ... but it does not follow the list the peer pinned.
    await expect(followDeviceLists(provider, list, [bytes], { tenant, user })).rejects.toMatchObject({
      code: 'ERR_INVALID_KEY',
    });
  });

  it('a linked device is accepted; the same list served to another user is not', async () => {
    const phone = await fresh();
    const laptop = await fresh();
    const { body, list } = await first(phone);
    const next: DeviceListBody = {
      ...body,
      epoch: 2,
      previous: await deviceListHash(provider, list.bytes),
      root: await deviceListHash(provider, list.bytes),
      devices: [body.devices[0]!, entry(2, laptop)],
    };
    const bytes = await signDeviceList(provider, next, phone.signingKeyPair.privateKey);
    const update = await followDeviceLists(provider, list, [bytes], { tenant, user });
    expect(update.trust).toBe('chained');
    expect(update.added.map((d) => d.deviceId)).toEqual([2]);
    await expect(
      followDeviceLists(provider, undefined, [bytes], { tenant, user: userId('bob') }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
  });

  describe('admission by the organisation (signer kind 2)', () => {
    const DAY = 86_400_000;
    let serial = 1;
    async function admin(rootKey: Uint8Array, role: AdminRole = 'integration', forTenant = tenant) {
      const key = await provider.ed25519.generateKeyPair();
      const certificate = await issueAdminCertificate(provider, rootKey, {
        tenant: forTenant,
        admin: `admin-${serial}`,
        adminPublicKey: key.publicKey,
        role,
        issuedAtMs: 0,
        expiresAtMs: 300 * DAY,
        serial: serial++,
      });
      return { key, certificate };
    }
    /** A one-device chain and the organisation-signed list that admits `managed` as device 2. */
    async function admitted(signer: { key: { privateKey: Uint8Array }; certificate: Uint8Array }, over = {}) {
      const phone = await fresh();
      const managed = await fresh();
      const { body, list } = await first(phone);
      const hash = await deviceListHash(provider, list.bytes);
      const next: DeviceListBody = {
        ...body,
        epoch: 2,
        issuedAtMs: 2000,
        previous: hash,
        root: hash,
        signer: { kind: 'organisation', deviceId: deviceId(2), certificate: signer.certificate },
        devices: [body.devices[0]!, entry(2, managed)],
        ...over,
      };
      return { list, next, bytes: await signDeviceList(provider, next, signer.key.privateKey), managed };
    }

    it('a list an integration certified by the pinned root signed is followed; without a root it is unsupported', async () => {
      const root = await generateOrganisationRoot(provider);
      const signer = await admin(root.privateKey);
      const { list, bytes } = await admitted(signer);
      const decoded = decodeDeviceList(bytes);
      expect(decoded.signer).toMatchObject({ kind: 'organisation', deviceId: 2 });
      expect(decodeDeviceList(bytes).bytes).toEqual(bytes);
      const organisation = organisationListVerifier(provider, {
        rootPublicKey: root.publicKey,
        tenant,
        now: () => 3000,
      });
      const update = await followDeviceLists(provider, list, [bytes], { tenant, user, organisation });
      expect(update.trust).toBe('chained');
      expect(update.added.map((d) => d.deviceId)).toEqual([2]);
      await expect(verifyDeviceList(provider, decoded, { tenant, user })).rejects.toMatchObject({
        code: 'ERR_UNSUPPORTED',
      });
    });

    it('refuses the operator’s own root, an auditor, another tenant’s certificate, a future list and a flipped byte', async () => {
      const root = await generateOrganisationRoot(provider);
      const operator = await generateOrganisationRoot(provider);
      const organisation = organisationListVerifier(provider, {
        rootPublicKey: root.publicKey,
        tenant,
        now: () => 3000,
      });
      const refuse = async (pinned: SignedDeviceList, bytes: Uint8Array) =>
        expect(
          followDeviceLists(provider, pinned, [bytes], { tenant, user, organisation }),
        ).rejects.toMatchObject({
          code: 'ERR_INVALID_KEY',
        });
      const byOperator = await admitted(await admin(operator.privateKey));
      await refuse(byOperator.list, byOperator.bytes);
      const other = await admin(root.privateKey, 'admin', tenantId('other'));
      const phone = await fresh();
      const { body } = await first(phone);
      await expect(
        signDeviceList(
          provider,
          {
            ...body,
            epoch: 2,
            previous: new Uint8Array(32).fill(1),
            root: new Uint8Array(32).fill(1),
            signer: { kind: 'organisation', deviceId: deviceId(1), certificate: other.certificate },
          },
          other.key.privateKey,
        ),
      ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
      const auditor = await admin(root.privateKey, 'auditor');
      await expect(admitted(auditor)).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
      const future = await admitted(await admin(root.privateKey), { issuedAtMs: 3000 + 6 * 60_000 });
      await refuse(future.list, future.bytes);
      const good = await admitted(await admin(root.privateKey));
      const flipped = good.bytes.slice();
      flipped[flipped.length - 70] = (flipped[flipped.length - 70] as number) ^ 1;
      await refuse(good.list, flipped);
    });

    it('an organisation list adds exactly the device it names: it cannot remove or swap a device, nor start a chain', async () => {
      const root = await generateOrganisationRoot(provider);
      const signer = await admin(root.privateKey);
      const organisation = organisationListVerifier(provider, {
        rootPublicKey: root.publicKey,
        tenant,
        now: () => 3000,
      });
      const base = await admitted(signer);
      // Names device 2 but drops the user's device 1.
      const dropping = await signDeviceList(
        provider,
        { ...base.next, devices: [base.next.devices[1]!] },
        signer.key.privateKey,
      );
      await expect(
        followDeviceLists(provider, base.list, [dropping], { tenant, user, organisation }),
      ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
      // Backdated before the list it follows.
      const backdated = await signDeviceList(
        provider,
        { ...base.next, issuedAtMs: 999 },
        signer.key.privateKey,
      );
      await expect(
        followDeviceLists(provider, base.list, [backdated], { tenant, user, organisation }),
      ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
      // Epoch 1 signed by the organisation does not even encode.
      await expect(
        signDeviceList(
          provider,
          { ...base.next, epoch: 1, previous: new Uint8Array(32), root: new Uint8Array(32) },
          signer.key.privateKey,
        ),
      ).rejects.toMatchObject({ code: 'ERR_VALIDATION' });
      // The admission of device 2 for alice, served as bob's or chained to another list of alice.
      await expect(
        followDeviceLists(provider, undefined, [base.bytes], { tenant, user: userId('bob'), organisation }),
      ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
      const otherChain = await first(await fresh());
      await expect(
        followDeviceLists(provider, otherChain.list, [base.bytes], { tenant, user, organisation }),
      ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    });
  });

  it('truncated lists are decode errors at every length', async () => {
    const { list } = await first(await fresh());
    for (let n = 0; n < list.bytes.length; n++) {
      expect(() => decodeDeviceList(list.bytes.slice(0, n))).toThrowError(/list/);
    }
  });
});
