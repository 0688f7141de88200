/**
 * The archive scope in the sans-IO core (spec/organisation-client.md §5): who a message is sealed
 * for (sender in scope, a recipient in scope by user or by a pool its certificate named, outside
 * the window, nobody), the conversation indicator, the version-3 seal made at send time from
 * what the job records (naming the peer of a 1:1 message as its recipient, none for a group; and
 * the version-2 body of a job an earlier version queued, still signed as version 2), and the
 * archive gap a recipient in scope notices.
 */
import {
  ARCHIVE_SEAL_V3_VERSION,
  type CryptoProvider,
  openArchived,
  peekArchiveSeal,
  sealForArchive,
  toHex,
} from '@cloister/crypto';
import { decodeContent, encodeContent, messageId } from '@cloister/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { toGroupIdBrand } from '../src/core/ids.js';
import {
  ARCHIVE_CONTENT_TYPE,
  archiveConversationId,
  archiveGapCount,
  type ClientPolicy,
  composeMessage,
  conversationArchiveState,
  decodeJob,
  deliveryTargets,
  deviceKey,
  encodeJob,
  groupConversationId,
  planEntry,
  receiveDelivery,
  rememberPeerPools,
  resolveRecipient,
  type SignedLayers,
  saveGroup,
  sealDeliveries,
  signedPolicy,
} from '../src/core/index.js';
import type { OutboxEntry } from '../src/outbox/index.js';
import { type CorePeers, content, createCorePeers, inTx, NOW, type Peer } from './helpers/core-peers.js';

let peers: CorePeers;
let provider: CryptoProvider;
let archive: { publicKey: Uint8Array; privateKey: Uint8Array };
let alice: Peer;

beforeAll(async () => {
  peers = await createCorePeers();
  provider = peers.provider;
  archive = await provider.x25519.generateKeyPair();
  alice = await peers.sender('alice');
});

/** The policy a root-pinned device resolves from a tenant layer archiving with `scope`. */
function archiving(scope?: unknown, extra: Record<string, unknown> = {}): ClientPolicy {
  const config = {
    publicKey: Buffer.from(archive.publicKey).toString('base64url'),
    ...(scope === undefined ? {} : { scope }),
    ...extra,
  };
  const tenant = { archive: { enabled: true, locked: true, config } } as unknown as SignedLayers['tenant'];
  return signedPolicy({ tenant, pools: [], revision: '1' });
}

async function compose(from: Peer, policy: ClientPolicy, selfPools?: readonly string[], now = NOW) {
  const contentId = await provider.randomBytes(16);
  return inTx(from.db, (t) =>
    composeMessage(from.self, t, {
      to: resolveRecipient({ user: 'bob' }),
      body: { type: 'text', text: 'minutes' },
      contentId,
      policy,
      now,
      selfPools,
    }),
  );
}

describe('who a message is sealed for', () => {
  it('the policy carries the signed scope and the auditors', () => {
    const p = archiving({ users: ['ceo'] }, { auditors: { threshold: 2, holders: ['a', 'b', 'c'] } });
    expect(p.archiveScope).toEqual({ users: ['ceo'] });
    expect(p.archiveAuditors).toEqual({ threshold: 2, holders: ['a', 'b', 'c'] });
    expect(archiving().archiveScope).toBeUndefined();
  });

  it('sender in scope (by user, by pool), recipient by user, outside the window, nobody', async () => {
    const cases: [ClientPolicy, readonly string[] | undefined, boolean][] = [
      [archiving(), [], true], // no scope: everyone
      [archiving({ users: ['alice'] }), [], true],
      [archiving({ pools: ['sales'] }), ['sales'], true],
      [archiving({ users: ['bob'] }), [], true], // the recipient
      [archiving({ users: ['carol'], pools: ['hr'] }), ['sales'], false], // neither alice nor bob
      [archiving({ users: ['alice'], from: NOW + 1 }), [], false],
      [archiving({ users: ['alice'], until: NOW }), [], false],
      [archiving({ users: [] }), [], false],
    ];
    // Bob's pools are known to alice (a certificate of his named none), so `hr` does not cover him.
    await inTx(alice.db, (t) => rememberPeerPools(t.tx, 'bob', [], NOW));
    for (const [policy, selfPools, sealed] of cases) {
      const m = await compose(alice, policy, selfPools);
      expect(m.content.archived === true, JSON.stringify(policy.archiveScope)).toBe(sealed);
    }
  });

  it('a recipient in a scoped pool, as his last certificate named it; unknown pools count as in scope', async () => {
    const carol = await peers.sender('carol');
    const policy = archiving({ pools: ['trading'] });
    // Carol never heard from bob: his pools are unknown, archiving errs towards the signed rule.
    expect((await compose(carol, policy, ['sales'])).content.archived).toBe(true);
    await inTx(carol.db, (t) => rememberPeerPools(t.tx, 'bob', ['ops'], NOW));
    expect((await compose(carol, policy, ['sales'])).content.archived).toBeUndefined();
    await inTx(carol.db, (t) => rememberPeerPools(t.tx, 'bob', ['trading'], NOW));
    expect((await compose(carol, policy, ['sales'])).content.archived).toBe(true);
  });

  it('in a group: sealed when any other member is in scope, as the stored membership says', async () => {
    const hank = await peers.sender('hank');
    const groupId = new Uint8Array(32).fill(9);
    const hex = toHex(groupId);
    const members = ['hank', 'bob', 'ivy'].map((u) => ({ userId: u, deviceIds: [] }));
    await hank.db.transaction((tx) =>
      saveGroup(tx, {
        state: { groupId, version: 1, members, admins: ['hank'] } as never,
        name: 'desk',
        active: true,
      }),
    );
    await inTx(hank.db, (t) =>
      t.stores.conversations.create({
        id: groupConversationId(groupId),
        kind: 'group',
        groupId: toGroupIdBrand(hex),
      }),
    );
    const send = (policy: ClientPolicy) =>
      inTx(hank.db, async (t) =>
        composeMessage(hank.self, t, {
          to: resolveRecipient({ group: hex }),
          body: { type: 'text', text: 'to the desk' },
          contentId: await provider.randomBytes(16),
          policy,
          now: NOW,
          selfPools: [],
        }),
      );
    expect((await send(archiving({ users: ['ivy'] }))).content.archived).toBe(true);
    expect((await send(archiving({ users: ['zed'] }))).content.archived).toBeUndefined();
    const state = await inTx(hank.db, (t) =>
      conversationArchiveState(hank.self, t.tx, {
        policy: archiving({ users: ['ivy'] }),
        conversationId: `g:${hex}`,
        now: NOW,
        selfPools: [],
        keyFingerprint: 'cloister-archive:v1:x',
      }),
    );
    expect(state).toMatchObject({ on: true, reason: 'peer' });
  });

  it('the conversation indicator says whether and why, with the window end and the auditors', async () => {
    const dave = await peers.sender('dave');
    await inTx(dave.db, (t) => rememberPeerPools(t.tx, 'bob', [], NOW));
    const state = (policy: ClientPolicy, selfPools: readonly string[], conversationId = 'd:bob') =>
      inTx(dave.db, (t) =>
        conversationArchiveState(dave.self, t.tx, {
          policy,
          conversationId,
          now: NOW,
          selfPools,
          keyFingerprint: 'cloister-archive:v1:x',
        }),
      );
    const auditors = { threshold: 2, holders: ['a', 'b', 'c'] };
    expect(await state(archiving({ users: ['dave'], until: NOW + 5 }, { auditors }), [])).toEqual({
      on: true,
      keyFingerprint: 'cloister-archive:v1:x',
      reason: 'self',
      until: NOW + 5,
      auditors: { threshold: 2, total: 3 },
    });
    expect(await state(archiving({ users: ['bob'] }), [])).toMatchObject({ on: true, reason: 'peer' });
    expect(await state(archiving(), [])).toMatchObject({ on: true, reason: 'all' });
    expect(await state(archiving({ pools: ['trading'] }), ['sales'])).toEqual({ on: false });
    expect(await state(archiving(), [], 'not-a-conversation')).toEqual({ on: false });
  });
});

describe('sealing at send time', () => {
  async function sealFirst(from: Peer, job: Parameters<typeof encodeJob>[0]) {
    const entry: OutboxEntry = {
      id: messageId('o_1'),
      to: 'u:bob',
      payload: encodeJob(job),
      createdAt: NOW,
      attempts: 0,
    } as unknown as OutboxEntry;
    return inTx(from.db, async (t) => {
      const plan = await planEntry(from.self, t.tx, entry);
      const targets = deliveryTargets(from.self, [plan], (u) => (u === 'bob' ? [peers.toBob] : []));
      const copies = await sealDeliveries(from.self, t, {
        plans: [plan],
        targets,
        certificate: from.certificate,
        bundles: new Map([[deviceKey(peers.toBob), peers.bob.bundle]]),
      });
      return { plan, copies };
    });
  }

  it('a composed message records what to seal; sealDeliveries makes a version-3 seal bound to the delivery', async () => {
    const erin = await peers.sender('erin');
    const m = await compose(erin, archiving({ users: ['erin'] }), []);
    const job = await inTx(erin.db, async (t) => decodeJob((await t.outbox.due(10))[0]!.payload));
    expect(job.archive?.sentAt).toBe(m.sentAt);
    expect(job.archiveSeal).toBeUndefined();
    // The job survives its encoding.
    expect(decodeJob(encodeJob(job)).archive).toEqual(job.archive);
    const { copies } = await sealFirst(erin, job);
    expect(copies.length).toBe(1);
    const seal = copies[0]!.archiveSeal!;
    expect(peekArchiveSeal(seal)).toMatchObject({ version: ARCHIVE_SEAL_V3_VERSION, signed: true });
    const opened = await openArchived(provider, {
      archivePrivateKey: archive.privateKey,
      tenantPublicKey: peers.bob.self.tenantPublicKey,
      deliveryId: copies[0]!.messageId,
      bytes: seal,
    });
    expect(opened.bindings.sender).toEqual({ userId: 'erin', deviceId: 1 });
    // The 1:1 peer is signed into the record, so auditors searching for bob find what he received.
    expect(opened.bindings.recipient).toBe('bob');
    expect(opened.contentType).toBe(ARCHIVE_CONTENT_TYPE);
    expect(decodeContent(opened.content).body).toEqual({ type: 'text', text: 'minutes' });
    expect(opened.bindings.conversationId).toEqual(
      await archiveConversationId(provider, { users: ['bob', 'erin'] }),
    );
  });

  it('a group message is sealed without a recipient: its conversation id names the group', async () => {
    const jay = await peers.sender('jay');
    const groupId = new Uint8Array(32).fill(0x4a);
    const hex = toHex(groupId);
    await jay.db.transaction((tx) =>
      saveGroup(tx, {
        state: {
          groupId,
          version: 1,
          members: ['jay', 'bob'].map((u) => ({ userId: u, deviceIds: [] })),
          admins: ['jay'],
        } as never,
        name: 'pair',
        active: true,
      }),
    );
    await inTx(jay.db, (t) =>
      t.stores.conversations.create({
        id: groupConversationId(groupId),
        kind: 'group',
        groupId: toGroupIdBrand(hex),
      }),
    );
    await inTx(jay.db, async (t) =>
      composeMessage(jay.self, t, {
        to: resolveRecipient({ group: hex }),
        body: { type: 'text', text: 'to the pair' },
        contentId: await provider.randomBytes(16),
        policy: archiving({ users: ['jay'] }),
        now: NOW,
        selfPools: [],
      }),
    );
    const job = await inTx(jay.db, async (t) => decodeJob((await t.outbox.due(10))[0]!.payload));
    expect(job.to).toEqual({ group: hex });
    const { copies } = await sealFirst(jay, job);
    const opened = await openArchived(provider, {
      archivePrivateKey: archive.privateKey,
      tenantPublicKey: peers.bob.self.tenantPublicKey,
      deliveryId: copies[0]!.messageId,
      bytes: copies[0]!.archiveSeal!,
    });
    expect(opened.version).toBe(ARCHIVE_SEAL_V3_VERSION);
    expect(opened.bindings.sender.userId).toBe('jay');
    expect('recipient' in opened.bindings).toBe(false);
    expect(decodeContent(opened.content).body).toEqual({ type: 'text', text: 'to the pair' });
  });

  it('a job an earlier version queued with a version-2 body is still signed as version 2', async () => {
    const fay = await peers.sender('fay');
    const c = content({ type: 'text', text: 'queued before the upgrade' }, { archived: true });
    const encoded = encodeContent(c);
    const body = await sealForArchive(provider, {
      archivePublicKey: archive.publicKey,
      messageId: c.messageId,
      conversationId: await archiveConversationId(provider, { users: ['fay', 'bob'] }),
      sender: { userId: 'fay', deviceId: 1 },
      sentAt: NOW,
      contentType: ARCHIVE_CONTENT_TYPE,
      content: encoded,
    });
    // The old encoding: no `seal` in the head, the body after the content.
    const job = decodeJob(
      encodeJob({ content: encoded, to: { user: 'bob' }, self: true, archiveSeal: body }),
    );
    expect(job.archive).toBeUndefined();
    const { copies } = await sealFirst(fay, job);
    const seal = copies[0]!.archiveSeal!;
    expect(peekArchiveSeal(seal)).toMatchObject({ version: 2, signed: true });
    const opened = await openArchived(provider, {
      archivePrivateKey: archive.privateKey,
      tenantPublicKey: peers.bob.self.tenantPublicKey,
      deliveryId: copies[0]!.messageId,
      bytes: seal,
    });
    expect(opened.bindings.sender).toEqual({ userId: 'fay', deviceId: 1 });
    expect(decodeContent(opened.content).body).toEqual({ type: 'text', text: 'queued before the upgrade' });
  });
});

describe('archive gaps', () => {
  it('a recipient in scope notes each message the scope covers that is not marked archived, and counts them', async () => {
    const gus = await peers.sender('gus');
    let started = false;
    let deliveries = 0;
    const receive = async (c: ReturnType<typeof content>, policy: ClientPolicy, selfPools: string[]) => {
      const envelope = await peers.seal(gus, encodeContent(c), !started);
      started = true;
      return inTx(peers.bob.db, (t) =>
        receiveDelivery(peers.bob.self, t, {
          serverId: `gap_${++deliveries}`,
          envelope,
          now: NOW,
          lifetimeMs: null,
          processedTtlMs: 86_400_000,
          archive: { policy, selfPools },
        }),
      );
    };
    const inScope = archiving({ pools: ['trading'] });
    // Bob is in `trading`: an unmarked message is a gap.
    const first = await receive(content({ type: 'text', text: 'unmarked' }), inScope, ['trading']);
    const gap = first.events.find((e) => e.type === 'archive-gap');
    expect(gap).toMatchObject({ type: 'archive-gap', conversationId: 'd:gus', from: 'gus', count: 1 });
    // A marked message is not; nor an unmarked one when nobody of it is in scope; nor one sent
    // outside the window.
    const marked = await receive(content({ type: 'text', text: 'marked' }, { archived: true }), inScope, [
      'trading',
    ]);
    expect(marked.events.some((e) => e.type === 'archive-gap')).toBe(false);
    const outside = await receive(content({ type: 'text', text: 'other pool' }), inScope, ['sales']);
    expect(outside.events.some((e) => e.type === 'archive-gap')).toBe(false);
    const later = await receive(
      content({ type: 'text', text: 'after the window' }),
      archiving({ pools: ['trading'], until: NOW - 1 }),
      ['trading'],
    );
    expect(later.events.some((e) => e.type === 'archive-gap')).toBe(false);
    // Without an archive key nothing is a gap.
    const plain = signedPolicy({ tenant: {}, pools: [], revision: '1' });
    const none = await receive(content({ type: 'text', text: 'no archive' }), plain, ['trading']);
    expect(none.events.some((e) => e.type === 'archive-gap')).toBe(false);
    const second = await receive(content({ type: 'text', text: 'again' }), inScope, ['trading']);
    expect(second.events.find((e) => e.type === 'archive-gap')).toMatchObject({ count: 2 });
    expect(await inTx(peers.bob.db, (t) => archiveGapCount(t.tx))).toBe(2);
  });
});
