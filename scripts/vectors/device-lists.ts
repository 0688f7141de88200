/**
 * Signed device lists (`test-vectors/device-lists.json`, format in spec/device-lists.md): a chain
 * of three lists for one user (the first device alone, a second device linked by the first, a
 * third linked by the second), a reset chain started by a new device, and lists every reader must
 * refuse, each with the rule it breaks. The identities of the devices come from the noble provider
 * with `INSECURE_seededRandomForTestsOnly(ASCII("cloister/test-vectors/device-lists/" + name))`;
 * Ed25519 signatures are deterministic, so every byte is reproducible. Each valid list is checked
 * again with the node provider before it is written.
 */
import {
  createNobleProvider,
  type DeviceIdentity,
  deviceId,
  generateDeviceIdentity,
  toHex,
  toPublicIdentity,
  utf8,
} from '@cloister/crypto';
import { createNodeProvider } from '@cloister/crypto/node';
import { INSECURE_seededRandomForTestsOnly } from '@cloister/crypto/testing';
import {
  type AdminRole,
  DEVICE_LIST_LABEL,
  DEVICE_LIST_ORGANISATION_LABEL,
  type DeviceListBody,
  type DeviceListEntry,
  decodeDeviceList,
  deviceListHash,
  deviceListSignedBytes,
  followDeviceLists,
  issueAdminCertificate,
  organisationListVerifier,
  signDeviceList,
  tenantId,
  userId,
} from '@cloister/protocol';

const SEED_PREFIX = 'cloister/test-vectors/device-lists/';
const noble = createNobleProvider();
const node = createNodeProvider();
const tenant = tenantId('acme');
const user = userId('alice');
const T0 = 1_780_000_000_000;

async function identity(name: string): Promise<DeviceIdentity> {
  return generateDeviceIdentity(
    noble.withRandom(INSECURE_seededRandomForTestsOnly(utf8(SEED_PREFIX + name))),
  );
}

function entry(id: number, who: DeviceIdentity, addedAtMs: number): DeviceListEntry {
  return { deviceId: deviceId(id), identity: toPublicIdentity(who), addedAtMs };
}

function show(body: DeviceListBody, bytes: Uint8Array) {
  return {
    epoch: body.epoch,
    issuedAtMs: body.issuedAtMs,
    previous: toHex(body.previous),
    root: toHex(body.root),
    signer:
      body.signer.kind === 'device'
        ? body.signer
        : {
            kind: 'organisation',
            deviceId: body.signer.deviceId,
            certificate: toHex(body.signer.certificate),
          },
    devices: body.devices.map((d) => ({
      deviceId: d.deviceId,
      signingKey: toHex(d.identity.signingKey),
      dhKey: toHex(d.identity.dhKey),
      dhKeySignature: toHex(d.identity.dhKeySignature),
      addedAtMs: d.addedAtMs,
    })),
    signedBytes: toHex(deviceListSignedBytes(body)),
    bytes: toHex(bytes),
  };
}

async function seededKeyPair(name: string) {
  return noble
    .withRandom(INSECURE_seededRandomForTestsOnly(utf8(SEED_PREFIX + name)))
    .ed25519.generateKeyPair();
}

/** Signs `body` with `privateKey` whatever its certificate says (what an attacker can always do). */
async function craft(body: DeviceListBody, privateKey: Uint8Array): Promise<Uint8Array> {
  const signed = deviceListSignedBytes(body);
  const label = utf8(
    body.signer.kind === 'device' ? DEVICE_LIST_LABEL : DEVICE_LIST_ORGANISATION_LABEL,
  ).length;
  const out = new Uint8Array(signed.length - label + 64);
  out.set(signed.subarray(label));
  out.set(await noble.ed25519.sign(privateKey, signed), signed.length - label);
  return out;
}

/**
 * Zero-touch admission (spec/device-lists.md §5): the organisation admits a managed device as
 * device 5 after `l2`, signed by an integration the root certified; and organisation lists every
 * reader refuses.
 */
async function organisationVectors(b2: DeviceListBody, l2: Uint8Array, ghost: DeviceIdentity) {
  const root = await seededKeyPair('root');
  const operatorRoot = await seededKeyPair('operator-root');
  const verifyAtMs = T0 + 86_400_000;
  let serial = 1;
  const certify = async (
    name: string,
    rootKey: Uint8Array,
    role: AdminRole,
    over: { expiresAtMs?: number } = {},
  ) => {
    const key = await seededKeyPair(`admin-${name}`);
    const certificate = await issueAdminCertificate(noble, rootKey, {
      tenant,
      admin: name,
      adminPublicKey: key.publicKey,
      role,
      issuedAtMs: T0 - 86_400_000,
      expiresAtMs: over.expiresAtMs ?? T0 + 90 * 86_400_000,
      serial: serial++,
    });
    return { key, certificate };
  };
  const integration = await certify('mdm', root.privateKey, 'integration');
  const auditor = await certify('auditor', root.privateKey, 'auditor');
  const operator = await certify('mdm', operatorRoot.privateKey, 'integration');
  const expired = await certify('old-mdm', root.privateKey, 'integration', { expiresAtMs: T0 });
  const managed = await identity('managed');
  const hash = await deviceListHash(noble, l2);
  const e5 = entry(5, managed, T0 + 180_000);
  const bOrg: DeviceListBody = {
    ...b2,
    epoch: 3,
    issuedAtMs: T0 + 180_000,
    previous: hash,
    root: b2.root,
    signer: { kind: 'organisation', deviceId: deviceId(5), certificate: integration.certificate },
    devices: [...b2.devices, e5],
  };
  const lOrg = await signDeviceList(noble, bOrg, integration.key.privateKey);
  const organisation = organisationListVerifier(node, {
    rootPublicKey: root.publicKey,
    tenant,
    now: () => verifyAtMs,
  });
  const opts = { tenant, user, organisation };
  const followed = await followDeviceLists(node, decodeDeviceList(l2), [lOrg], opts);
  if (followed.trust !== 'chained' || followed.added.map((d) => d.deviceId).join() !== '5')
    fail('organisation admission');

  const withSigner = (who: { certificate: Uint8Array }): DeviceListBody => ({
    ...bOrg,
    signer: { kind: 'organisation', deviceId: deviceId(5), certificate: who.certificate },
  });
  const swapped = lOrg.slice();
  const at = Buffer.from(swapped).indexOf(Buffer.from(e5.identity.signingKey));
  swapped.set(ghost.signingKeyPair.publicKey, at);
  swapped.set(ghost.dhKeyPair.publicKey, at + 32);
  const refuse = [
    {
      name: 'operator-root',
      description: "signed by an integration certified by the operator's own root",
      lists: [await signDeviceList(noble, withSigner(operator), operator.key.privateKey)],
    },
    {
      name: 'auditor',
      description: 'signed by an auditor the root certified (a role that may not admit devices)',
      lists: [await craft(withSigner(auditor), auditor.key.privateKey)],
    },
    {
      name: 'expired-certificate',
      description: "signed with a certificate that expired before the list's issue time",
      lists: [await signDeviceList(noble, withSigner(expired), expired.key.privateKey)],
    },
    {
      name: 'device-swapped',
      description: "the admission of device 5 with the ghost's keys put in its entry (signature kept)",
      lists: [swapped],
    },
    {
      name: 'removes-a-device',
      description: 'adds device 5 but drops device 1',
      lists: [
        await signDeviceList(
          noble,
          { ...bOrg, devices: [bOrg.devices[1] as DeviceListEntry, e5] },
          integration.key.privateKey,
        ),
      ],
    },
    {
      name: 'adds-two-devices',
      description: 'adds device 5 and a ghost device 6',
      lists: [
        await signDeviceList(
          noble,
          { ...bOrg, devices: [...bOrg.devices, entry(6, ghost, T0 + 180_000)] },
          integration.key.privateKey,
        ),
      ],
    },
    {
      name: 'backdated',
      description: 'issued before the list it follows',
      lists: [await signDeviceList(noble, { ...bOrg, issuedAtMs: T0 + 1 }, integration.key.privateKey)],
    },
    {
      name: 'other-user',
      description: "the admission signed for user mallory served as alice's",
      lists: [await signDeviceList(noble, { ...bOrg, user: userId('mallory') }, integration.key.privateKey)],
    },
    {
      name: 'future',
      description: 'issued more than 5 minutes after the verifier’s now',
      lists: [
        await signDeviceList(
          noble,
          { ...bOrg, issuedAtMs: verifyAtMs + 301_000 },
          integration.key.privateKey,
        ),
      ],
    },
  ].map((c) => ({ ...c, pinned: toHex(l2), lists: c.lists.map(toHex), error: 'ERR_INVALID_KEY' }));
  for (const c of refuse) {
    const lists = c.lists.map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
    const ok = await followDeviceLists(node, decodeDeviceList(l2), lists, opts).then(
      () => true,
      (e: { code?: string }) => e.code !== c.error,
    );
    if (ok) fail(`organisation ${c.name} was not refused with ${c.error}`);
  }
  return {
    label: DEVICE_LIST_ORGANISATION_LABEL,
    labelHex: toHex(utf8(DEVICE_LIST_ORGANISATION_LABEL)),
    rootPublicKey: toHex(root.publicKey),
    verifyAtMs,
    admin: {
      signingPrivateKey: toHex(integration.key.privateKey),
      publicKey: toHex(integration.key.publicKey),
      certificate: toHex(integration.certificate),
    },
    managed: {
      signingKey: toHex(managed.signingKeyPair.publicKey),
      dhKey: toHex(managed.dhKeyPair.publicKey),
    },
    pinned: 2,
    admitted: show(bOrg, lOrg),
    added: [5],
    refuse,
  };
}

function fail(what: string): never {
  throw new Error(`device-list vector self-check failed: ${what}`);
}

export async function generateDeviceListVectors() {
  const phone = await identity('phone');
  const laptop = await identity('laptop');
  const tablet = await identity('tablet');
  const replacement = await identity('replacement');
  const ghost = await identity('ghost');

  const e1 = entry(1, phone, T0);
  const e2 = entry(2, laptop, T0 + 60_000);
  const e3 = entry(3, tablet, T0 + 120_000);
  const zero = new Uint8Array(32);

  const b1: DeviceListBody = {
    tenant,
    user,
    epoch: 1,
    issuedAtMs: T0,
    previous: zero,
    root: zero,
    signer: { kind: 'device', deviceId: deviceId(1) },
    devices: [e1],
  };
  const l1 = await signDeviceList(noble, b1, phone.signingKeyPair.privateKey);
  const b2: DeviceListBody = {
    ...b1,
    epoch: 2,
    issuedAtMs: T0 + 60_000,
    previous: await deviceListHash(noble, l1),
    root: await deviceListHash(noble, l1),
    devices: [e1, e2],
  };
  const l2 = await signDeviceList(noble, b2, phone.signingKeyPair.privateKey);
  const b3: DeviceListBody = {
    ...b1,
    epoch: 3,
    issuedAtMs: T0 + 120_000,
    previous: await deviceListHash(noble, l2),
    root: await deviceListHash(noble, l1),
    signer: { kind: 'device', deviceId: deviceId(2) },
    devices: [e1, e2, e3],
  };
  const l3 = await signDeviceList(noble, b3, laptop.signingKeyPair.privateKey);
  const bReset: DeviceListBody = {
    ...b1,
    issuedAtMs: T0 + 600_000,
    signer: { kind: 'device', deviceId: deviceId(9) },
    devices: [entry(9, replacement, T0 + 600_000)],
  };
  const lReset = await signDeviceList(noble, bReset, replacement.signingKeyPair.privateKey);

  // Self-checks with a second implementation.
  const opts = { tenant, user };
  const chain = await followDeviceLists(node, undefined, [l1, l2, l3], opts);
  if (chain.list.epoch !== 3 || chain.trust !== 'first') fail('chain from nothing');
  const step = await followDeviceLists(node, decodeDeviceList(l1), [l2, l3], opts);
  if (step.trust !== 'chained' || step.added.length !== 2) fail('chain from epoch 1');
  const reset = await followDeviceLists(node, decodeDeviceList(l3), [lReset], opts);
  if (reset.trust !== 'reset' || reset.removed.length !== 3) fail('reset');

  // Lists to refuse, each a successor of l2 except where said.
  const ghostBody: DeviceListBody = {
    ...b3,
    signer: { kind: 'device', deviceId: deviceId(4) },
    devices: [e1, e2, entry(4, ghost, T0 + 120_000)],
  };
  const ghostSigned = await signDeviceList(noble, ghostBody, ghost.signingKeyPair.privateKey);
  const skip: DeviceListBody = { ...b3, epoch: 4 };
  const skipSigned = await signDeviceList(noble, skip, laptop.signingKeyPair.privateKey);
  const wrongPrev: DeviceListBody = { ...b3, previous: await deviceListHash(noble, l1) };
  const wrongPrevSigned = await signDeviceList(noble, wrongPrev, laptop.signingKeyPair.privateKey);
  const rekey: DeviceListBody = {
    ...b3,
    devices: [entry(1, ghost, T0), e2, e3],
  };
  const rekeySigned = await signDeviceList(noble, rekey, laptop.signingKeyPair.privateKey);
  const tampered = l3.slice();
  tampered[tampered.length - 100] = (tampered[tampered.length - 100] as number) ^ 1;
  const otherUser: DeviceListBody = { ...b1, user: userId('mallory') };
  const otherUserSigned = await signDeviceList(noble, otherUser, phone.signingKeyPair.privateKey);
  const otherRoot = await deviceListHash(noble, lReset);
  const otherChain2 = await signDeviceList(
    noble,
    {
      ...bReset,
      epoch: 2,
      previous: otherRoot,
      root: otherRoot,
      devices: [entry(9, replacement, T0 + 600_000), entry(10, ghost, T0 + 660_000)],
    },
    replacement.signingKeyPair.privateKey,
  );
  const trailing = new Uint8Array(l1.length + 1);
  trailing.set(l1);
  const badVersion = l1.slice();
  badVersion[0] = 2;

  const refuse = [
    {
      name: 'signer-not-on-previous-list',
      description: 'a device the previous list lacks signs itself onto the list (a ghost device)',
      pinned: toHex(l2),
      lists: [toHex(ghostSigned)],
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'epoch-gap',
      description: 'epoch 4 directly after epoch 2',
      pinned: toHex(l2),
      lists: [toHex(skipSigned)],
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'previous-hash-wrong',
      description: 'previous names the list before the pinned one',
      pinned: toHex(l2),
      lists: [toHex(wrongPrevSigned)],
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'device-changes-identity',
      description: 'device 1 keeps its id but gets other keys',
      pinned: toHex(l2),
      lists: [toHex(rekeySigned)],
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'signature-altered',
      description: 'one byte of the last entry flipped after signing',
      pinned: toHex(l2),
      lists: [toHex(tampered)],
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'rollback',
      description: 'the server answers with an older list than the pinned one',
      pinned: toHex(l3),
      lists: [toHex(l2)],
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'rollback-whole-chain',
      description: 'the server serves the chain from epoch 1 but stops before the pinned list',
      pinned: toHex(l3),
      lists: [toHex(l1), toHex(l2)],
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'new-chain-not-from-its-start',
      description: 'a list of another chain served without the lists before it',
      pinned: toHex(l1),
      lists: [toHex(otherChain2)],
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'other-user',
      description: "a list signed for user mallory served as alice's",
      pinned: null,
      lists: [toHex(otherUserSigned)],
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'trailing-byte',
      description: 'one byte after the signature',
      pinned: null,
      lists: [toHex(trailing)],
      error: 'ERR_INVALID_KEY',
    },
    {
      name: 'unknown-version',
      description: 'version byte 2',
      pinned: null,
      lists: [toHex(badVersion)],
      error: 'ERR_INVALID_KEY',
    },
  ];
  for (const c of refuse) {
    const pinned = c.pinned === null ? undefined : decodeDeviceList(Buffer.from(c.pinned, 'hex'));
    const lists = c.lists.map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
    const ok = await followDeviceLists(node, pinned, lists, opts).then(
      () => true,
      (e: { code?: string }) => e.code !== c.error,
    );
    if (ok) fail(`${c.name} was not refused with ${c.error}`);
  }

  return {
    meta: {
      source: 'generated by scripts/vectors/device-lists.ts; do not edit by hand',
      spec: 'spec/device-lists.md',
      randomness: `each identity comes from generateDeviceIdentity with the noble provider over INSECURE_seededRandomForTestsOnly(ASCII("${SEED_PREFIX}" + name)); Ed25519 signatures are deterministic`,
      encoding: 'byte strings are lower-case hex',
      label: DEVICE_LIST_LABEL,
      labelHex: toHex(utf8(DEVICE_LIST_LABEL)),
      tenant,
      user,
    },
    identities: Object.fromEntries(
      [
        ['phone', phone],
        ['laptop', laptop],
        ['tablet', tablet],
        ['replacement', replacement],
        ['ghost', ghost],
      ].map(([n, id]) => {
        const i = id as DeviceIdentity;
        return [
          n as string,
          {
            signingPrivateKey: toHex(i.signingKeyPair.privateKey),
            signingKey: toHex(i.signingKeyPair.publicKey),
            dhKey: toHex(i.dhKeyPair.publicKey),
          },
        ];
      }),
    ),
    chain: [show(b1, l1), show(b2, l2), show(b3, l3)],
    reset: show(bReset, lReset),
    follow: [
      {
        name: 'from-nothing',
        pinned: null,
        lists: [1, 2, 3],
        trust: 'first',
        epoch: 3,
        added: [1, 2, 3],
        removed: [],
      },
      {
        name: 'from-epoch-1',
        pinned: 1,
        lists: [2, 3],
        trust: 'chained',
        epoch: 3,
        added: [2, 3],
        removed: [],
      },
      { name: 'pinned-is-newest', pinned: 3, lists: [3], trust: 'chained', epoch: 3, added: [], removed: [] },
      {
        name: 'whole-chain-with-pinned',
        pinned: 2,
        lists: [1, 2, 3],
        trust: 'chained',
        epoch: 3,
        added: [3],
        removed: [],
      },
      {
        name: 'reset-after-3',
        pinned: 3,
        lists: ['reset'],
        trust: 'reset',
        epoch: 1,
        added: [9],
        removed: [1, 2, 3],
      },
    ],
    refuse,
    organisation: await organisationVectors(b2, l2, ghost),
  };
}

export default { file: 'device-lists.json', generate: generateDeviceListVectors };
