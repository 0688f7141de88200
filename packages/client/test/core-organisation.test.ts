/**
 * The core's handling of organisation objects (spec/organisation-client.md) without a server:
 * hostile answers, which layers apply (sticky tenant and user layers, no group layer in the list
 * of the user's layers — group layers: group-restrictions.test.ts —, no other user's layer, no
 * object of the wrong kind), sequences (rollback, fork), an admin-signed user
 * layer naming an archive key, delegations and the issue time of a sender certificate, broadcast
 * audiences, wipe commands, and receiving under a delegation or without one.
 */
import { concatBytes, DecodeError, deviceId, type KeyPair, utf8 } from '@cloister/crypto';
import {
  generateOrganisationRoot,
  issueAdminCertificate,
  ORGANISATION_OBJECT_LABELS,
  type OrganisationObjectBody,
  type OrganisationPayload,
  organisationObjectSignedBytes,
  poolId,
  signOrganisationObject,
  tenantId,
  userId,
} from '@cloister/protocol';
import { createMemoryAdapter } from '@cloister/storage';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  acceptBroadcasts,
  acceptDelegations,
  acceptPolicyLayers,
  certificateDelegated,
  type OrganisationSelf,
  parseOrganisationAnswer,
  SENDER_CERTIFICATE_MIN_LIFETIME_MS,
  signedPolicy,
  verifyWipe,
} from '../src/core/index.js';
import { parseEnrolmentCode } from '../src/enrolment.js';
import { content, createCorePeers, encode, inTx, NOW, texts } from './helpers/core-peers.js';

const DAY = 86_400_000;
const tenant = tenantId('acme');
let provider: Awaited<ReturnType<typeof createCorePeers>>['provider'];
let root: KeyPair;
let ownerCert: Uint8Array;
let admin: KeyPair;
let adminCert: Uint8Array;
let serverKey: KeyPair;
let seq = 1;

beforeAll(async () => {
  ({ provider } = await createCorePeers());
  root = await generateOrganisationRoot(provider);
  ownerCert = await issueAdminCertificate(provider, root.privateKey, {
    tenant,
    admin: 'owner-1',
    adminPublicKey: root.publicKey,
    role: 'owner',
    issuedAtMs: NOW - DAY,
    expiresAtMs: NOW + 100 * DAY,
    serial: 1,
  });
  admin = await provider.ed25519.generateKeyPair();
  adminCert = await issueAdminCertificate(provider, root.privateKey, {
    tenant,
    admin: 'carol',
    adminPublicKey: admin.publicKey,
    role: 'admin',
    issuedAtMs: NOW - DAY,
    expiresAtMs: NOW + 100 * DAY,
    serial: 2,
  });
  serverKey = await provider.ed25519.generateKeyPair();
});

function me(over: Partial<OrganisationSelf> = {}): OrganisationSelf {
  return {
    provider,
    tenant: 'acme',
    userId: userId('bob'),
    deviceId: deviceId(1),
    organisationRoot: root.publicKey,
    tenantPublicKey: serverKey.publicKey,
    ...over,
  };
}

function sign(o: OrganisationPayload, sequence = seq++): Promise<Uint8Array> {
  return signOrganisationObject(provider, root.privateKey, ownerCert, {
    ...o,
    tenant,
    issuedAtMs: NOW,
    sequence,
  } as OrganisationObjectBody);
}

const layer = (l: 'tenant' | 'pool' | 'group' | 'user', target: string | null, document = {}) =>
  sign({ kind: 'policy-layer', payload: { layer: l, target, document } });

describe('the organisation answer', () => {
  it('reads absent as nothing and refuses lists that are too long or not base64url', () => {
    expect(parseOrganisationAnswer(undefined)).toBeUndefined();
    expect(parseOrganisationAnswer({})).toEqual({
      layers: [],
      groupLayers: [],
      delegations: [],
      broadcasts: [],
    });
    expect(() => parseOrganisationAnswer({ groupLayers: new Array(257).fill('AA') })).toThrow(DecodeError);
    expect(parseOrganisationAnswer({ groupLayers: new Array(256).fill('AA') })?.groupLayers).toHaveLength(
      256,
    );
    expect(() => parseOrganisationAnswer({ layers: new Array(65).fill('AA') })).toThrow(DecodeError);
    expect(() => parseOrganisationAnswer({ broadcasts: ['AA='] })).toThrow(DecodeError);
    expect(() => parseOrganisationAnswer({ delegations: 'AA' })).toThrow(DecodeError);
    expect(() => parseOrganisationAnswer([])).toThrow(DecodeError);
  });

  it('splits enrolment codes and refuses a code and a configuration that disagree', async () => {
    const token = 'A'.repeat(43);
    const digest = `${'B'.repeat(42)}A`;
    expect(parseEnrolmentCode(token)).toEqual({ token, fingerprint: undefined });
    expect(parseEnrolmentCode(`${token}.${digest}`)).toEqual({
      token,
      fingerprint: `cloister-root:v1:${digest}`,
    });
    expect(parseEnrolmentCode(token, `cloister-root:v1:${digest}`).fingerprint).toBe(
      `cloister-root:v1:${digest}`,
    );
    expect(() => parseEnrolmentCode(`${token}.${digest}`, `cloister-root:v1:${'C'.repeat(42)}A`)).toThrow(
      /organisationRoot/,
    );
    for (const bad of [`${token}.`, `${token}.${digest}x`, `${token}x`, `${token}.${'B'.repeat(43)}`, '']) {
      expect(() => parseEnrolmentCode(bad), bad).toThrow();
    }
    expect(() => parseEnrolmentCode(token, 'cloister-root:v2:xyz')).toThrow();
  });
});

describe('policy layers', () => {
  it('applies the tenant, served pool and own user layers; refuses group, other users, wrong kinds and junk', async () => {
    const db = createMemoryAdapter();
    const served = [
      await layer('tenant', null, { 'files.send': { enabled: false, locked: true } }),
      await layer('pool', 'sales', { 'clipboard.copy': { enabled: false, locked: false } }),
      await layer('user', 'bob', { 'files.send': { enabled: true, locked: false } }),
      await layer('group', 'g1'),
      await layer('user', 'eve'),
      await sign({
        kind: 'broadcast',
        payload: { broadcastId: new Uint8Array(16), audience: { kind: 'tenant' }, text: 'x' },
      }),
      new Uint8Array([1, 2, 3]),
    ];
    const { layers, events } = await inTx(db, (t) => acceptPolicyLayers(me(), t.tx, served, NOW));
    expect(events).toEqual([
      { type: 'organisation-refused', kind: 'policy-layer', reason: 'ERR_VALIDATION' },
      { type: 'organisation-refused', kind: 'policy-layer', reason: 'ERR_FORBIDDEN' },
      { type: 'organisation-refused', kind: 'broadcast', reason: 'ERR_VALIDATION' },
      { type: 'organisation-refused', kind: 'unknown', reason: 'ERR_DECODE' },
    ]);
    const policy = signedPolicy(layers);
    expect(policy.features).toEqual({
      'clipboard.copy': { enabled: false },
      'files.send': { enabled: false },
    });
    expect(policy.archiveKey).toBeNull();
    // Sticky: the server leaves the tenant and user layers out; they still apply. The pool is gone.
    const again = await inTx(db, (t) => acceptPolicyLayers(me(), t.tx, [], NOW));
    expect(signedPolicy(again.layers).features).toEqual({ 'files.send': { enabled: false } });
    expect(again.layers.revision).toBe(layers.revision.replace(/policy-layer\/pool\/sales@\d+,/, ''));
  });

  it('refuses an older layer, a fork, and a user layer naming an archive key even from a genuine admin', async () => {
    const db = createMemoryAdapter();
    const first = await layer('user', 'bob', { a: { enabled: false, locked: false } });
    const second = await layer('user', 'bob', { a: { enabled: true, locked: false } });
    await inTx(db, (t) => acceptPolicyLayers(me(), t.tx, [second], NOW));
    const fork = await sign(
      { kind: 'policy-layer', payload: { layer: 'user', target: 'bob', document: {} } },
      seq - 1,
    );
    const body: OrganisationObjectBody = {
      kind: 'policy-layer',
      tenant,
      issuedAtMs: NOW,
      sequence: seq++,
      payload: {
        layer: 'user',
        target: 'bob',
        document: { archive: { enabled: true, locked: true, config: { publicKey: 'A'.repeat(43) } } },
      },
    };
    const signed = organisationObjectSignedBytes(adminCert, body);
    const label = utf8(ORGANISATION_OBJECT_LABELS['policy-layer']).length;
    const archiveLayer = concatBytes(
      signed.subarray(label),
      await provider.ed25519.sign(admin.privateKey, signed),
    );
    const out = await inTx(db, (t) => acceptPolicyLayers(me(), t.tx, [first, fork, archiveLayer], NOW));
    expect(out.events.map((e) => (e as { reason: string }).reason)).toEqual([
      'ERR_INVALID_KEY',
      'ERR_INVALID_KEY',
      'ERR_FORBIDDEN',
    ]);
    expect(signedPolicy(out.layers).features).toEqual({ a: { enabled: true } });
    expect(signedPolicy(out.layers).archiveKey).toBeNull();
  });

  it('takes the archive key from the tenant layer only', async () => {
    const key = Buffer.alloc(32, 5).toString('base64url');
    const db = createMemoryAdapter();
    const t1 = await layer('tenant', null, {
      archive: { enabled: true, locked: true, config: { publicKey: key } },
    });
    const { layers } = await inTx(db, (t) => acceptPolicyLayers(me(), t.tx, [t1], NOW));
    expect(signedPolicy(layers).archiveKey).toEqual(new Uint8Array(32).fill(5));
    // A device without a root accepts nothing.
    const bare = await inTx(createMemoryAdapter(), (t) =>
      acceptPolicyLayers(me({ organisationRoot: undefined }), t.tx, [t1], NOW),
    );
    expect(bare.events).toEqual([
      { type: 'organisation-refused', kind: 'policy-layer', reason: 'ERR_INVALID_KEY' },
    ]);
    expect(signedPolicy(bare.layers).archiveKey).toBeNull();
  });
});

describe('delegations and broadcasts', () => {
  it('keeps verified delegations and covers a certificate by its latest possible issue time', async () => {
    const db = createMemoryAdapter();
    const d = (notBeforeMs: number, notAfterMs: number) =>
      sign({
        kind: 'certificate-delegation',
        payload: { serverSigningPublicKey: serverKey.publicKey, notBeforeMs, notAfterMs },
      });
    const expired = await d(NOW - 3 * DAY, NOW - DAY);
    const current = await d(NOW - DAY, NOW + DAY);
    const events = await inTx(db, (t) => acceptDelegations(me(), t.tx, [current, expired], NOW));
    expect(events).toEqual([
      { type: 'organisation-refused', kind: 'certificate-delegation', reason: 'ERR_INVALID_KEY' },
    ]);
    const covered = (expiresAt: number, now: number, key = serverKey.publicKey) =>
      inTx(db, (t) => certificateDelegated(t.tx, key, { expiresAt }, now));
    expect(await covered(NOW + 3_600_000, NOW)).toBe(true);
    // Issued at the latest a minute before it expires: before the window, not covered.
    expect(await covered(NOW - DAY + SENDER_CERTIFICATE_MIN_LIFETIME_MS - 1, NOW)).toBe(false);
    expect(await covered(NOW - DAY + SENDER_CERTIFICATE_MIN_LIFETIME_MS, NOW)).toBe(true);
    // Received after the window, with an expiry far ahead: not covered.
    expect(await covered(NOW + 10 * DAY, NOW + DAY)).toBe(false);
    expect(await covered(NOW + 10 * DAY, NOW + DAY - 1)).toBe(true);
    expect(await covered(NOW + 3_600_000, NOW, new Uint8Array(32))).toBe(false);
    // Kept after it ends (old messages), and the same object again changes nothing.
    expect(await inTx(db, (t) => acceptDelegations(me(), t.tx, [current], NOW + 2 * DAY))).toEqual([]);
    expect(await covered(NOW + 3_600_000, NOW + 2 * DAY)).toBe(true);
  });

  it('shows a broadcast once, to its audience only', async () => {
    const db = createMemoryAdapter();
    const toTenant = await sign({
      kind: 'broadcast',
      payload: { broadcastId: new Uint8Array(16).fill(1), audience: { kind: 'tenant' }, text: 'all' },
    });
    const toSales = await sign({
      kind: 'broadcast',
      payload: {
        broadcastId: new Uint8Array(16).fill(2),
        audience: { kind: 'pools', pools: [poolId('sales')] },
        text: 'sales',
      },
    });
    const toEve = await sign({
      kind: 'broadcast',
      payload: {
        broadcastId: new Uint8Array(16).fill(3),
        audience: { kind: 'users', users: [userId('eve')] },
        text: 'eve',
      },
    });
    const events = await inTx(db, (t) =>
      acceptBroadcasts(me(), t.tx, [toEve, toSales, toTenant], ['ops'], NOW),
    );
    expect(
      events.map((e) => (e.type === 'broadcast' ? e.broadcast.text : (e as { reason: string }).reason)),
    ).toEqual(['all', 'ERR_FORBIDDEN', 'ERR_FORBIDDEN']);
    expect(await inTx(db, (t) => acceptBroadcasts(me(), t.tx, [toTenant], ['ops'], NOW))).toEqual([]);
    const later = await sign({
      kind: 'broadcast',
      payload: {
        broadcastId: new Uint8Array(16).fill(4),
        audience: { kind: 'pools', pools: [poolId('ops')] },
        text: 'ops',
      },
    });
    const next = await inTx(db, (t) => acceptBroadcasts(me(), t.tx, [later, toTenant], ['ops'], NOW));
    expect(next).toEqual([
      {
        type: 'broadcast',
        broadcast: {
          id: Buffer.alloc(16, 4).toString('base64url'),
          text: 'ops',
          issuedAt: NOW,
          from: 'owner-1',
          role: 'owner',
        },
      },
    ]);
  });
});

describe('wipe commands', () => {
  it('accepts only a verified command for this device, not older than a held one', async () => {
    const wipe = (user: string, device: number, sequence?: number) =>
      sign(
        {
          kind: 'wipe',
          payload: {
            user: userId(user),
            deviceId: deviceId(device),
            commandId: new Uint8Array(16).fill(device),
          },
        },
        sequence,
      );
    const db = createMemoryAdapter();
    const old = await wipe('bob', 1);
    const mine = await wipe('bob', 1);
    const otherDevice = await wipe('bob', 2);
    const otherUser = await wipe('eve', 1);
    await expect(inTx(db, (t) => verifyWipe(me(), t.tx, otherDevice, NOW))).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
      field: 'payload',
    });
    await expect(inTx(db, (t) => verifyWipe(me(), t.tx, otherUser, NOW))).rejects.toMatchObject({
      field: 'payload',
    });
    await expect(
      inTx(db, (t) => verifyWipe(me({ organisationRoot: undefined }), t.tx, mine, NOW)),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_KEY' });
    expect((await inTx(db, (t) => verifyWipe(me(), t.tx, mine, NOW))).commandId).toEqual(
      new Uint8Array(16).fill(1),
    );
    await expect(inTx(db, (t) => verifyWipe(me(), t.tx, old, NOW))).rejects.toMatchObject({
      code: 'ERR_INVALID_KEY',
    });
  });
});

describe('receiving on a root-pinned device', () => {
  it('refuses content under a certificate no verified delegation covers, and accepts it once one does', async () => {
    const peers = await createCorePeers({ organisationRoot: root.publicKey });
    const alice = await peers.sender('alice');
    const first = await peers.seal(alice, encode(content({ type: 'text', text: 'undelegated' })), true);
    const refused = await peers.receive(first);
    expect(refused).toEqual([{ type: 'undecryptable', reason: 'certificate' }]);
    const bobSelf = { ...me(), tenantPublicKey: peers.bob.self.tenantPublicKey };
    const delegation = await sign({
      kind: 'certificate-delegation',
      payload: {
        serverSigningPublicKey: peers.bob.self.tenantPublicKey,
        notBeforeMs: NOW - DAY,
        notAfterMs: NOW + DAY,
      },
    });
    await inTx(peers.bob.db, (t) => acceptDelegations(bobSelf, t.tx, [delegation], NOW));
    const second = await peers.seal(alice, encode(content({ type: 'text', text: 'delegated' })), true);
    expect(texts(await peers.receive(second))).toEqual(['delegated']);
  });
});
