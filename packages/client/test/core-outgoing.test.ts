/**
 * The core's decisions about sending, tested alone (no server, no socket, no clock): what a
 * recipient is, what a message or a read puts into storage and the outbox, what the policy
 * decides for a message, which device gets which plaintext, how copies are split into
 * submissions, and what a socket frame means.
 */
import {
  type CryptoProvider,
  DecodeError,
  type DeviceIdentity,
  deviceId,
  generateDeviceIdentity,
  generateKemPreKey,
  generateSignedPreKey,
  getProvider,
  kemPreKeyId,
  type PreKeyBundle,
  registrationId,
  signedPreKeyId,
  signSuites,
  toHex,
  toKemPreKeyPublic,
  toPublicIdentity,
  toSignedPreKeyPublic,
  UsageError,
  ValidationError,
} from '@cloister/crypto';
import {
  decodeContent,
  encodeContent,
  encodePreKeyBundle,
  type MessageId,
  messageId,
  RESTRICTION_DEFAULTS,
  type SignedDeviceList,
  type Suite,
  userId,
} from '@cloister/protocol';
import { createMemoryAdapter, type StorageAdapter, txExecutor } from '@cloister/storage';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  acceptDirectory,
  ackFrame,
  archiveConversationId,
  archivePublicKey,
  type ClientPolicy,
  type CoreSelf,
  type CoreTx,
  composeMessage,
  type DeviceListPin,
  type DirectoryDevice,
  decodeJob,
  deliveryTargets,
  directConversationId,
  encodeJob,
  messageExpiry,
  parsePolicy,
  parseServerFrame,
  planEntry,
  queueReadReceipts,
  resolveRecipient,
  type SignedLayers,
  sameDevice,
  saveGroup,
  signedPolicy,
  submissionBatches,
} from '../src/core/index.js';
import { createOutbox, type OutboxEntry } from '../src/outbox/index.js';
import { bindClientStores } from '../src/store/index.js';

const NOW = 1_800_000_000_000;
let provider: CryptoProvider;
let identity: DeviceIdentity;
let alice: CoreSelf;

beforeAll(async () => {
  provider = await getProvider();
  identity = await generateDeviceIdentity(provider);
  alice = {
    provider,
    userId: userId('alice'),
    deviceId: deviceId(1),
    identity,
    tenant: 'acme',
    tenantPublicKey: new Uint8Array(32),
    mailbox: 'mbx_alice',
    suites: ['v2', 'static-v1'],
  };
});

function inTx<T>(db: StorageAdapter, fn: (t: CoreTx) => Promise<T>): Promise<T> {
  return db.transaction((tx) => {
    const run = txExecutor(tx);
    return fn({ stores: bindClientStores(run), tx, outbox: createOutbox(run) });
  });
}

/** Everything queued in the outbox, in order (read with a clock past every entry). */
async function queued(db: StorageAdapter): Promise<OutboxEntry[]> {
  return db.transaction((tx) => createOutbox(txExecutor(tx), { now: () => NOW + 86_400_000 }).due(1000));
}

/** A policy as a root-pinned device resolves it from a verified tenant layer with `features`. */
const policy = (
  features: ClientPolicy['features'],
  messageLifetimeMs: number | null = null,
): ClientPolicy => {
  const tenant = Object.fromEntries(
    Object.entries(features).map(([name, f]) => [name, { locked: false, ...f }]),
  ) as SignedLayers['tenant'];
  return { ...signedPolicy({ tenant, pools: [], revision: '1' }), revision: '1', messageLifetimeMs };
};

describe('recipients', () => {
  it('names the conversation and the outbox destination of a user and of a group', () => {
    expect(resolveRecipient({ user: 'bob' })).toEqual({ conversationId: 'd:bob', job: { user: 'bob' } });
    const hex = 'ab'.repeat(32);
    expect(resolveRecipient({ group: hex })).toEqual({ conversationId: `g:${hex}`, job: { group: hex } });
    expect(resolveRecipient({ group: `g:${hex}` }).job).toEqual({ group: hex });
  });

  it('refuses what is neither, naming the field', () => {
    for (const bad of [null, 'bob', {}, { group: 'xyz' }, { group: 'AB'.repeat(32) }, { user: '' }]) {
      expect(() => resolveRecipient(bad as never)).toThrow(ValidationError);
    }
  });
});

describe('policy', () => {
  it('reads the server answer, absent parts meaning no limit and every feature on', () => {
    expect(parsePolicy({ revision: 3 })).toEqual({
      revision: '3',
      features: {},
      messageLifetimeMs: null,
      signed: false,
      archiveKey: null,
      restrictions: RESTRICTION_DEFAULTS,
      restrictionProblems: [],
    });
    expect(parsePolicy({ revision: '4', retention: { messageLifetimeMs: 60_000 } }).messageLifetimeMs).toBe(
      60_000,
    );
  });

  it('seals to the archive only when the feature is explicitly on with a 32-byte key', () => {
    const key = Buffer.alloc(32, 9).toString('base64url');
    expect(archivePublicKey(undefined)).toBeUndefined();
    // The server's unsigned answer never turns archiving on (issue 14, attack 1).
    const unsigned = parsePolicy({
      revision: 1,
      features: { archive: { enabled: true, config: { publicKey: key } } },
    });
    expect(unsigned.archiveKey).toBeNull();
    expect(archivePublicKey(unsigned)).toBeUndefined();
    expect(
      archivePublicKey(policy({ archive: { enabled: false, config: { publicKey: key } } })),
    ).toBeUndefined();
    expect(archivePublicKey(policy({ archive: { enabled: true } }))).toBeUndefined();
    const short = Buffer.alloc(31, 9).toString('base64url');
    expect(
      archivePublicKey(policy({ archive: { enabled: true, config: { publicKey: short } } })),
    ).toBeUndefined();
    expect(
      archivePublicKey(policy({ archive: { enabled: true, config: { publicKey: `${key}=` } } })),
    ).toBeUndefined();
    expect(archivePublicKey(policy({ archive: { enabled: true, config: { publicKey: key } } }))).toEqual(
      new Uint8Array(32).fill(9),
    );
  });

  it('expires a message at the earlier of its timer and the lifetime', () => {
    expect(messageExpiry(NOW, undefined, null)).toBeNull();
    expect(messageExpiry(NOW, 5, null)).toBe(NOW + 5000);
    expect(messageExpiry(NOW, undefined, 1000)).toBe(NOW + 1000);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 0, max: 1e9 }), (s, l) => {
        expect(messageExpiry(NOW, s, l)).toBe(NOW + Math.min(s * 1000, l));
      }),
    );
  });
});

describe('composeMessage', () => {
  it('stores a 1:1 message, creates its conversation and queues one job with copies to own devices', async () => {
    const db = createMemoryAdapter();
    const contentId = new Uint8Array(16).fill(1);
    const m = await inTx(db, (t) =>
      composeMessage(alice, t, {
        to: resolveRecipient({ user: 'bob' }),
        body: { type: 'text', text: 'hi' },
        contentId,
        policy: policy({}, 60_000),
        expireTimerSeconds: 30,
        now: NOW,
      }),
    );
    expect(m.id).toBe(`${toHex(contentId)}@alice`);
    expect(m.expiresAt).toBe(NOW + 30_000);
    expect(m.content.archived).toBeUndefined();
    const stored = await inTx(db, (t) => t.stores.messages.get(m.id));
    expect(stored?.status).toBe('sent');
    expect(await inTx(db, (t) => t.stores.conversations.get(directConversationId('bob')))).toMatchObject({
      kind: 'direct',
      peer: 'bob',
    });
    const [entry, ...rest] = await queued(db);
    expect(rest).toEqual([]);
    const job = decodeJob(entry!.payload);
    expect(job).toMatchObject({ to: { user: 'bob' }, self: true });
    expect(job.archiveSeal).toBeUndefined();
    expect(decodeContent(job.content).body).toEqual({ type: 'text', text: 'hi' });
  });

  it('takes the conversation timer when none is given', async () => {
    const db = createMemoryAdapter();
    const to = resolveRecipient({ user: 'bob' });
    await inTx(db, async (t) => {
      await t.stores.conversations.create({ id: to.conversationId, kind: 'direct', peer: userId('bob') });
      await t.stores.conversations.setDisappearingTimer(to.conversationId, 1500);
    });
    const m = await inTx(db, (t) =>
      composeMessage(alice, t, {
        to,
        body: { type: 'text', text: 'x' },
        contentId: new Uint8Array(16),
        policy: undefined,
        now: NOW,
      }),
    );
    expect(m.content.expireTimerSeconds).toBe(2);
    expect(m.expiresAt).toBe(NOW + 2000);
  });

  it('marks the content archived and records what to seal (key, conversation, time) when the policy archives', async () => {
    const db = createMemoryAdapter();
    const archive = await provider.x25519.generateKeyPair();
    const contentId = new Uint8Array(16).fill(2);
    const m = await inTx(db, (t) =>
      composeMessage(alice, t, {
        to: resolveRecipient({ user: 'bob' }),
        body: { type: 'text', text: 'board minutes' },
        contentId,
        policy: policy({
          archive: {
            enabled: true,
            config: { publicKey: Buffer.from(archive.publicKey).toString('base64url') },
          },
        }),
        now: NOW,
      }),
    );
    expect(m.content.archived).toBe(true);
    const job = decodeJob((await queued(db))[0]!.payload);
    // The job records what to seal; sealDeliveries seals it (version 3) for the delivery that
    // carries it (core-archive.test.ts).
    expect(job.archiveSeal).toBeUndefined();
    expect(job.archive?.publicKey).toEqual(archive.publicKey);
    expect(job.archive?.sentAt).toBe(NOW);
    expect(job.archive?.conversationId).toEqual(
      await archiveConversationId(provider, { users: ['alice', 'bob'] }),
    );
    expect(decodeContent(job.content).archived).toBe(true);
  });

  it('refuses a message to oneself and to a group this user is not in, storing and queueing nothing', async () => {
    const db = createMemoryAdapter();
    const body = { type: 'text', text: 'x' } as const;
    const base = { body, contentId: new Uint8Array(16), policy: undefined, now: NOW };
    await expect(
      inTx(db, (t) => composeMessage(alice, t, { ...base, to: resolveRecipient({ user: 'alice' }) })),
    ).rejects.toThrow(UsageError);
    await expect(
      inTx(db, (t) =>
        composeMessage(alice, t, { ...base, to: resolveRecipient({ group: 'cd'.repeat(32) }) }),
      ),
    ).rejects.toThrow(UsageError);
    expect(await queued(db)).toEqual([]);
    expect((await inTx(db, (t) => t.stores.conversations.list())).items).toEqual([]);
  });
});

describe('queueReadReceipts', () => {
  it('marks only received messages of the conversation and sends each sender receipts of at most 256 ids', async () => {
    const db = createMemoryAdapter();
    const conv = directConversationId('bob');
    const ids: MessageId[] = [];
    await inTx(db, async (t) => {
      await t.stores.conversations.create({ id: conv, kind: 'direct', peer: userId('bob') });
      for (let i = 0; i < 300; i++) {
        const id = messageId(`m${i}@bob`);
        ids.push(id);
        await t.stores.messages.addIfAbsent({
          id,
          conversationId: conv,
          sender: { userId: userId('bob'), deviceId: deviceId(1) },
          sentAt: NOW,
          receivedAt: NOW,
          body: encodeContent({
            messageId: new Uint8Array(16).fill(i % 256),
            sentAtMs: NOW,
            body: { type: 'text', text: 'x' },
          }),
          status: 'delivered',
          expiresAt: null,
        });
      }
    });
    ids.push(messageId('unknown@bob'));
    const marked = await inTx(db, (t) =>
      queueReadReceipts(alice, t, { conversationId: conv, ids, now: NOW }),
    );
    expect(marked).toBe(300);
    const jobs = (await queued(db)).map((e) => decodeJob(e.payload));
    expect(jobs.map((j) => j.to)).toEqual([{ user: 'bob' }, { user: 'bob' }]);
    expect(jobs.map((j) => j.self)).toEqual([false, false]);
    const counts = jobs.map((j) => {
      const body = decodeContent(j.content).body;
      return body.type === 'receipt' && body.kind === 'read' ? body.messageIds.length : -1;
    });
    expect(counts).toEqual([256, 44]);
    expect((await inTx(db, (t) => t.stores.messages.get(ids[0]!)))?.status).toBe('read');
  });

  it('ignores ids of another conversation', async () => {
    const db = createMemoryAdapter();
    const marked = await inTx(db, (t) =>
      queueReadReceipts(alice, t, {
        conversationId: directConversationId('carol'),
        ids: [messageId('m1@bob')],
        now: NOW,
      }),
    );
    expect(marked).toBe(0);
    expect(await queued(db)).toEqual([]);
  });
});

function device(user: string, id: number): DirectoryDevice {
  return {
    userId: userId(user),
    deviceId: deviceId(id),
    mailbox: `mbx_${user}_${id}`,
    deliveryToken: new Uint8Array(32),
    bundle: {} as DirectoryDevice['bundle'],
    suite: 'v2',
  };
}

function entry(payload: Uint8Array, n = 0): OutboxEntry {
  return {
    id: messageId(`o_${n}`),
    to: 'x',
    payload,
    createdAt: NOW,
    attempts: 0,
    nextAttemptAt: NOW,
    state: 'pending',
  };
}

describe('delivery plan', () => {
  const content = (text: string) =>
    encodeContent({ messageId: new Uint8Array(16).fill(3), sentAtMs: NOW, body: { type: 'text', text } });

  it("sends a 1:1 message to every device of the peer and a syncedTo copy to this user's other devices", async () => {
    const db = createMemoryAdapter();
    const plan = await db.transaction((tx) =>
      planEntry(alice, tx, entry(encodeJob({ content: content('a'), to: { user: 'bob' }, self: true }))),
    );
    expect(plan.users).toEqual(['bob']);
    const devices: Record<string, DirectoryDevice[]> = {
      bob: [device('bob', 1), device('bob', 2)],
      alice: [device('alice', 2)],
    };
    const targets = deliveryTargets(alice, [plan], (u) => devices[u] ?? []);
    expect(targets.map((t) => `${t.device.userId}/${t.device.deviceId}`)).toEqual([
      'bob/1',
      'bob/2',
      'alice/2',
    ]);
    expect(decodeContent(targets[0]!.plaintext).syncedTo).toBeUndefined();
    expect(decodeContent(targets[2]!.plaintext).syncedTo).toBe('bob');
  });

  it('reaches only the named device of a session reset, and no own devices without self', async () => {
    const db = createMemoryAdapter();
    const plan = await db.transaction((tx) =>
      planEntry(
        alice,
        tx,
        entry(encodeJob({ content: content('r'), to: { user: 'bob' }, self: false, device: 2 })),
      ),
    );
    const targets = deliveryTargets(alice, [plan], (u) =>
      u === 'bob' ? [device('bob', 1), device('bob', 2)] : [device('alice', 2)],
    );
    expect(targets.map((t) => t.device.deviceId)).toEqual([2]);
  });

  it("takes a group's members from the stored state, less this user, restricted to only", async () => {
    const db = createMemoryAdapter();
    const groupId = new Uint8Array(32).fill(5);
    const hex = toHex(groupId);
    const members = ['alice', 'bob', 'carol'].map((u) => ({ userId: u, deviceIds: [] }));
    await db.transaction((tx) =>
      saveGroup(tx, {
        state: { groupId, version: 1, members, admins: ['alice'] } as never,
        name: 'ward',
        active: true,
      }),
    );
    const all = await db.transaction((tx) =>
      planEntry(alice, tx, entry(encodeJob({ content: content('g'), to: { group: hex }, self: true }))),
    );
    expect(all.users).toEqual(['bob', 'carol']);
    const only = await db.transaction((tx) =>
      planEntry(
        alice,
        tx,
        entry(encodeJob({ content: content('g'), to: { group: hex }, self: false, only: ['carol', 'dave'] })),
      ),
    );
    expect(only.users).toEqual(['carol']);
    const unknown = await db.transaction((tx) =>
      planEntry(
        alice,
        tx,
        entry(encodeJob({ content: content('g'), to: { group: 'ef'.repeat(32) }, self: true })),
      ),
    );
    expect(unknown.users).toEqual([]);
  });

  it('splits submissions by count, by bytes and at a second archive seal, keeping the order', () => {
    const small = (i: number, seal = false) => ({
      envelope: new Uint8Array(10),
      i,
      ...(seal ? { archiveSeal: new Uint8Array(5) } : {}),
    });
    const counts = submissionBatches(Array.from({ length: 300 }, (_, i) => small(i))).map((b) => b.length);
    expect(counts).toEqual([256, 44]);
    const sealed = submissionBatches([small(0, true), small(1), small(2, true), small(3)]);
    expect(sealed.map((b) => b.map((d) => d.i))).toEqual([
      [0, 1],
      [2, 3],
    ]);
    const big = submissionBatches(
      Array.from({ length: 4 }, (_, i) => ({ envelope: new Uint8Array(300_000), i })),
    );
    expect(big.map((b) => b.length)).toEqual([2, 2]);
    fc.assert(
      fc.property(
        fc.array(fc.record({ n: fc.integer({ min: 0, max: 400_000 }), s: fc.boolean() }), { maxLength: 40 }),
        (items) => {
          const input = items.map((x, i) => ({
            envelope: new Uint8Array(x.n),
            i,
            ...(x.s ? { archiveSeal: new Uint8Array(1) } : {}),
          }));
          const out = submissionBatches(input);
          expect(out.flat().map((d) => d.i)).toEqual(input.map((d) => d.i));
          for (const b of out)
            expect(b.filter((d) => d.archiveSeal !== undefined).length).toBeLessThanOrEqual(1);
        },
      ),
    );
  });
});

describe('socket frames', () => {
  it('reads synced and delivery frames and ignores unknown or cut ones', () => {
    expect(parseServerFrame(Uint8Array.of(0x02))).toEqual({ kind: 'synced' });
    const frame = Uint8Array.of(0x01, 2, 0x6d, 0x31, 9, 8, 7);
    expect(parseServerFrame(frame)).toEqual({
      kind: 'delivery',
      serverId: 'm1',
      envelope: Uint8Array.of(9, 8, 7),
    });
    for (const bad of [
      Uint8Array.of(),
      Uint8Array.of(0x02, 0),
      Uint8Array.of(0x01, 2),
      Uint8Array.of(0x01, 2, 0x6d, 0x31),
      Uint8Array.of(0x03, 1, 1, 1),
    ]) {
      expect(parseServerFrame(bad)).toBeUndefined();
    }
  });

  it('writes acknowledgements the server reads back id by id', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/), { maxLength: 20 }), (ids) => {
        const frame = ackFrame(ids);
        expect(frame[0]).toBe(0x81);
        const back: string[] = [];
        for (let at = 1; at < frame.length; at += 1 + frame[at]!) {
          back.push(Buffer.from(frame.subarray(at + 1, at + 1 + frame[at]!)).toString());
        }
        expect(back).toEqual(ids);
      }),
    );
  });
});

async function signedBundle(id: DeviceIdentity, device: number, suites: Suite[]): Promise<PreKeyBundle> {
  const spk = await generateSignedPreKey(provider, id, signedPreKeyId(1));
  const kem = await generateKemPreKey(provider, id, kemPreKeyId(1), { lastResort: true });
  return {
    registrationId: registrationId(7),
    deviceId: deviceId(device),
    identity: toPublicIdentity(id),
    signedPreKey: toSignedPreKeyPublic(spk),
    kemPreKey: toKemPreKeyPublic(kem),
    suites,
    suitesIssuedAt: 1_700_000_000_000,
    suitesSignature: await signSuites(provider, id, suites, {
      signedPreKeyId: spk.id,
      issuedAt: 1_700_000_000_000,
    }),
  };
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** A pinned list admitting these devices (only its entries matter to the directory). */
function pinOf(devices: readonly (readonly [number, DeviceIdentity])[]): DeviceListPin {
  return {
    list: {
      devices: devices.map(([id, who]) => ({
        deviceId: deviceId(id),
        identity: toPublicIdentity(who),
        addedAtMs: 0,
      })),
    } as unknown as SignedDeviceList,
    verified: false,
    held: undefined,
    reportedPending: [],
    suites: {},
  };
}

describe('directory', () => {
  it('keeps devices whose signed bundle verifies, negotiates their suite, and leaves out the rest and this device', async () => {
    const db = createMemoryAdapter();
    const bobId = await generateDeviceIdentity(provider);
    const other = await generateDeviceIdentity(provider);
    const v2 = await signedBundle(bobId, 1, ['v2', 'static-v1']);
    const onlyStatic = await signedBundle(bobId, 2, ['static-v1']);
    const wrongDevice = await signedBundle(bobId, 9, ['v2']);
    const forged = { ...(await signedBundle(bobId, 4, ['static-v1'])), suitesSignature: v2.suitesSignature };
    const token = b64(new Uint8Array(32).fill(1));
    const listing = [
      { deviceId: 1, mailbox: 'mbx_1', deliveryToken: token, bundle: b64(encodePreKeyBundle(v2)) },
      { deviceId: 2, mailbox: 'mbx_2', deliveryToken: token, bundle: b64(encodePreKeyBundle(onlyStatic)) },
      { deviceId: 3, mailbox: 'mbx_3', deliveryToken: token, bundle: b64(encodePreKeyBundle(wrongDevice)) },
      { deviceId: 4, mailbox: 'mbx_4', deliveryToken: token, bundle: b64(encodePreKeyBundle(forged)) },
      { deviceId: 5, mailbox: 'mbx_5', deliveryToken: token, bundle: 'not base64!' },
    ];
    const bobPin = pinOf([1, 2, 3, 4, 5, 9].map((id) => [id, bobId] as const));
    const { devices, events } = await inTx(db, (t) =>
      acceptDirectory(alice, t, userId('bob'), listing, bobPin),
    );
    expect(devices.map((d) => [d.deviceId, d.suite, d.mailbox])).toEqual([
      [1, 'v2', 'mbx_1'],
      [2, 'static-v1', 'mbx_2'],
    ]);
    expect(events).toEqual([]);
    // Alice's own listing leaves this device out.
    const mine = await signedBundle(identity, 1, ['v2']);
    const own = await inTx(db, (t) =>
      acceptDirectory(
        alice,
        t,
        userId('alice'),
        [{ deviceId: 1, mailbox: 'm', deliveryToken: token, bundle: b64(encodePreKeyBundle(mine)) }],
        pinOf([[1, identity]]),
      ),
    );
    expect(own.devices).toEqual([]);
    // A bundle with an identity the pinned list does not admit (a swapped key, a ghost device) is
    // left out; the server cannot change whom this client encrypts to.
    const swapped = await signedBundle(other, 1, ['v2']);
    const ghost = await signedBundle(other, 6, ['v2']);
    const again = await inTx(db, (t) =>
      acceptDirectory(
        alice,
        t,
        userId('bob'),
        [
          { deviceId: 1, mailbox: 'mbx_1', deliveryToken: token, bundle: b64(encodePreKeyBundle(swapped)) },
          { deviceId: 6, mailbox: 'mbx_6', deliveryToken: token, bundle: b64(encodePreKeyBundle(ghost)) },
        ],
        bobPin,
      ),
    );
    expect(again.devices).toEqual([]);
    expect(again.events).toEqual([]);
    // Nothing is reachable without a pinned list.
    const none = await inTx(db, (t) => acceptDirectory(alice, t, userId('bob'), listing, undefined));
    expect(none.devices).toEqual([]);
    expect(sameDevice(devices[0]!, swapped)).toBe(false);
    expect(sameDevice(devices[0]!, v2)).toBe(true);
  });

  it('fails the listing on a delivery token that is not base64url, saving nothing', async () => {
    const db = createMemoryAdapter();
    const bundleId = await generateDeviceIdentity(provider);
    const bundle = await signedBundle(bundleId, 1, ['v2']);
    await expect(
      inTx(db, (t) =>
        acceptDirectory(
          alice,
          t,
          userId('bob'),
          [{ deviceId: 1, mailbox: 'm', deliveryToken: '***', bundle: b64(encodePreKeyBundle(bundle)) }],
          pinOf([[1, bundleId]]),
        ),
      ),
    ).rejects.toThrow(DecodeError);
    expect(await inTx(db, (t) => t.stores.identities.listForUser(userId('bob')))).toEqual([]);
  });
});
