/**
 * The client SDK end to end through its public API against a real server (in this process, on
 * PGlite): enrolment, 1:1 text in v2 and static-v1, multi-device copies, receipts, history paging,
 * groups, files, safety numbers, policy, disappearing messages, PIN and remote wipe.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openArchived, peekEnvelopeOuter, WipeCommandError } from '@cloister/crypto';
import {
  archiveKeyFingerprint,
  decodeContent,
  decodeSealedDeliveryBatch,
  mailboxId,
  userId,
} from '@cloister/protocol';
import { wipeStatus } from '@cloister/server';
import { createMemoryAdapter } from '@cloister/storage';
import { createPGliteAdapter } from '@cloister/storage/sql';
import { Agent, WebSocket as UndiciWebSocket, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  archiveConversationId,
  type BrowserWebSocketConstructor,
  createBrowserTransport,
  createNodeTransport,
  directConversationId,
  featureEnabled,
  type TransportFactory,
} from '../src/index.js';
import { nextEvent, PIN, startSystem, TENANT, type TestSystem } from './helpers/system.js';

let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem();
}, 60_000);

afterAll(async () => {
  await sys?.close();
});

describe('1:1 messages', () => {
  it('delivers a v2 text message, with a delivery receipt back and a copy to the sender’s other device', async () => {
    const alice = await sys.client('alice');
    const alice2 = await sys.client('alice');
    const bob = await sys.client('bob');
    const got = nextEvent(bob, 'message');
    const copy = nextEvent(alice2, 'message');
    const sent = await alice.sendText({ user: 'bob' }, 'hello bob');
    const receipt = nextEvent(alice, 'receipt', (e) => e.messageIds.includes(sent.id));
    const received = (await got).message;
    expect(received.content.body).toEqual({ type: 'text', text: 'hello bob' });
    expect(received.from.userId).toBe('alice');
    expect(received.conversationId).toBe(directConversationId('alice'));
    const synced = (await copy).message;
    expect(synced.outgoing).toBe(true);
    expect(synced.conversationId).toBe(directConversationId('bob'));
    expect((await receipt).kind).toBe('delivered');
    const history = await alice.history(directConversationId('bob'));
    expect(history.items[0]?.status).toBe('delivered');

    // Bob answers: both of Alice's devices get it.
    const a1 = nextEvent(alice, 'message', (e) => !e.message.outgoing);
    const a2 = nextEvent(alice2, 'message', (e) => !e.message.outgoing);
    await bob.sendText({ user: 'alice' }, 'hi alice');
    expect((await a1).message.content.body).toEqual({ type: 'text', text: 'hi alice' });
    expect((await a2).message.content.body).toEqual({ type: 'text', text: 'hi alice' });
  }, 60_000);
});

describe('sealed sender', () => {
  it('submits sealed deliveries without its credential, so no submission names its sender', async () => {
    // Every request a client makes, with whether its transport carries the device credential.
    const seen: { credential: boolean; method: string; path: string }[] = [];
    const recording: TransportFactory = (o) => {
      const inner = createNodeTransport(o);
      return {
        request: (method, path, body) => {
          seen.push({ credential: o.credential !== undefined, method, path });
          return inner.request(method, path, body);
        },
        connect: (path, handlers) => inner.connect(path, handlers),
      };
    };
    const ann = await sys.client('ann', { transport: recording });
    const ben = await sys.client('ben');
    const got = nextEvent(ben, 'message');
    await ann.sendText({ user: 'ben' }, 'from an unnamed sender');
    await got;
    await ann.flush();
    const sealed = seen.filter((r) => r.method === 'POST' && /^\/v1\/messages(\/batch)?$/.test(r.path));
    expect(sealed.length).toBeGreaterThan(0);
    expect(sealed.filter((r) => r.credential)).toEqual([]);
    // The device's other requests keep their credential (they are its own, not a peer's).
    expect(seen.some((r) => r.credential && r.path === '/v1/certificate')).toBe(true);
  }, 60_000);
});

describe('own copies', () => {
  it('submits the copies for its own other devices apart from, and after, the copies they mirror', async () => {
    // What a copy of the server's database shows: rows one transaction wrote. A submission's
    // copies are written together, so the copies for the sender's own devices must never share a
    // submission with the recipients' copies (spec/metadata.md).
    const bodies: Uint8Array[] = [];
    const recording: TransportFactory = (o) => {
      const inner = createNodeTransport(o);
      return {
        request: (method, path, options) => {
          const body = (options as { body?: unknown } | undefined)?.body;
          if (method === 'POST' && path === '/v1/messages/batch' && body instanceof Uint8Array)
            bodies.push(body);
          return inner.request(method, path, options);
        },
        connect: (path, handlers) => inner.connect(path, handlers),
      };
    };
    const kim = await sys.client('kim', { transport: recording });
    const kim2 = await sys.client('kim');
    const lou = await sys.client('lou');
    const mirrored = nextEvent(kim2, 'message');
    const got = nextEvent(lou, 'message');
    bodies.length = 0;
    await kim.sendText({ user: 'lou' }, 'with a copy for my other device');
    await Promise.all([got, mirrored]);
    await kim.flush();
    const stores = sys.server.context.stores;
    const submissions: string[][] = [];
    for (const body of bodies) {
      const users: string[] = [];
      for (const d of decodeSealedDeliveryBatch(body).deliveries) {
        const mailbox = new TextDecoder().decode(peekEnvelopeOuter(d.envelope).mailbox);
        users.push((await stores.devices.byMailbox(mailboxId(mailbox)))?.user ?? '?');
      }
      submissions.push(users);
    }
    const own = submissions.findIndex((u) => u.includes('kim'));
    const others = submissions.findIndex((u) => u.includes('lou'));
    expect(own).toBeGreaterThan(-1);
    expect(others).toBeGreaterThan(-1);
    for (const users of submissions) expect(new Set(users).size).toBe(1);
    expect(own).toBeGreaterThan(others);
  }, 60_000);
});

describe('suites', () => {
  it('falls back to static-v1 with a peer that supports only static-v1, and uses v2 otherwise', async () => {
    const dave = await sys.client('dave');
    const erin = await sys.client('erin', { suites: ['static-v1'] });
    const got = nextEvent(erin, 'message');
    await dave.sendText({ user: 'erin' }, 'static hello');
    expect((await got).message.content.body).toEqual({ type: 'text', text: 'static hello' });
    const back = nextEvent(dave, 'message', (e) => !e.message.outgoing);
    await erin.sendText({ user: 'dave' }, 'static reply');
    expect((await back).message.content.body).toEqual({ type: 'text', text: 'static reply' });
    // The v2-only side never accepts a static-v1 message: a v2-only client and a static-only one
    // have no suite in common and the message fails instead of being downgraded.
    const v2only = await sys.client('frank', { suites: ['v2'] });
    const failed = nextEvent(v2only, 'sent', () => true, 10_000);
    await v2only.sendText({ user: 'erin' }, 'no common suite');
    expect((await failed).devices).toBe(0);
  }, 60_000);
});

describe('groups', () => {
  it('creates a group, delivers to every member, adds and removes members', async () => {
    const gina = await sys.client('gina');
    const hank = await sys.client('hank');
    const ivy = await sys.client('ivy', { suites: ['static-v1'] });
    const joined = nextEvent(hank, 'group');
    const joinedIvy = nextEvent(ivy, 'group');
    const group = await gina.createGroup('Ward 3', ['hank', 'ivy']);
    expect((await joined).state.members.map((m) => m.userId)).toEqual(['gina', 'hank', 'ivy']);
    await joinedIvy;
    const h = nextEvent(hank, 'message');
    const i = nextEvent(ivy, 'message');
    await gina.sendText({ group: group.groupId }, 'handover at 18:00');
    expect((await h).message.conversationId).toBe(group.conversationId);
    expect((await i).message.content.body).toEqual({ type: 'text', text: 'handover at 18:00' });
    // The name follows the signed change; members learn it from the admin.
    for (let n = 0; n < 100 && (await hank.group(group.groupId))?.name !== 'Ward 3'; n++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await hank.group(group.groupId))?.name).toBe('Ward 3');
    await expect(gina.createGroup('x'.repeat(200) + 'é'.repeat(40), ['hank'])).rejects.toThrow(/UTF-8 bytes/);
    // A member (not an admin) may write to the group too.
    const fromHank = nextEvent(gina, 'message', (e) => !e.message.outgoing);
    await hank.sendText({ group: group.groupId }, 'noted');
    expect((await fromHank).message.from.userId).toBe('hank');

    const removed = nextEvent(ivy, 'group', (e) => e.action === 'remove');
    await gina.removeMembers(group.groupId, ['ivy']);
    expect((await removed).state.members.map((m) => m.userId)).toEqual(['gina', 'hank']);
    await expect(ivy.sendText({ group: group.groupId }, 'still here?')).rejects.toThrow(/not a member/);
    // Hank is not an admin: his change is refused locally before anything is sent.
    await expect(hank.addMembers(group.groupId, ['ivy'])).rejects.toThrow(/not-admin/);
  }, 60_000);
});

describe('files', () => {
  it('sends a file through the blob store with progress, and the receiver downloads and checks it', async () => {
    const kim = await sys.client('kim');
    const leo = await sys.client('leo');
    const data = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 0xff);
    const phases = new Set<string>();
    const got = nextEvent(leo, 'message');
    await kim.sendFile(
      { user: 'leo' },
      { data, name: 'scan.bin', mediaType: 'application/octet-stream' },
      { onProgress: (p) => phases.add(p.phase) },
    );
    expect([...phases].sort()).toEqual(['encrypt', 'upload']);
    const body = (await got).message.content.body;
    if (body.type !== 'file') throw new Error('expected a file');
    expect(body.file.fileName).toBe('scan.bin');
    let downloaded = 0;
    const back = await leo.downloadFile(body.file, { onProgress: (p) => (downloaded = p.bytes) });
    expect(downloaded).toBeGreaterThan(data.length);
    expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
    // A reference with a wrong digest is refused (one indistinguishable failure).
    const forged = { ...body.file, digest: new Uint8Array(32) };
    await expect(leo.downloadFile(forged)).rejects.toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
  }, 60_000);

  it("never turns a peer's file locator into another request (it cannot take carol's prekeys)", async () => {
    // A sender controls the locator of the file references it sends. Pasted into the path, a
    // locator with dot segments made the receiver's client fetch any GET route under its own
    // credential: here carol's full bundle, which takes one of her one-time prekeys each time.
    const kim = await sys.client('kim');
    const leo = await sys.client('leo');
    const carol = await sys.client('carol');
    const got = nextEvent(leo, 'message');
    await kim.sendFile({ user: 'leo' }, { data: new Uint8Array(100).fill(1), name: 'a.bin' });
    const body = (await got).message.content.body;
    if (body.type !== 'file') throw new Error('expected a file');
    const ctx = sys.server.context;
    const count = () => ctx.stores.bundles.countOneTime(TENANT, userId('carol'), carol.me.deviceId);
    const before = await count();
    const route = `users/carol/devices/${carol.me.deviceId}/bundle`;
    for (const locator of [
      `../${route}?`,
      `../${route}#`,
      `${body.file.locator}/../../${route}`,
      `%2e%2e/${route}`,
      `.%2E/${route}`,
      `blb_${'A'.repeat(43)}/../../${route}`,
    ]) {
      await expect(leo.downloadFile({ ...body.file, locator }), locator).rejects.toMatchObject({
        code: 'ERR_VALIDATION',
      });
    }
    expect(await count()).toEqual(before);
    // The genuine reference still downloads.
    expect((await leo.downloadFile(body.file)).length).toBe(100);
  }, 60_000);

  it('refuses to send files when the signed policy disables files.send, and exposes clipboard.copy', async () => {
    await sys.organisation!.policyLayer('user', 'mia', {
      'files.send': { enabled: false, locked: true },
      'clipboard.copy': { enabled: false, locked: false },
    });
    const mia = await sys.client('mia');
    expect(mia.policy?.signed).toBe(true);
    expect(mia.policy?.features['files.send']?.enabled).toBe(false);
    expect(featureEnabled(mia.policy, 'clipboard.copy')).toBe(false);
    await expect(
      mia.sendFile({ user: 'kim' }, { data: new Uint8Array(10), name: 'x' }),
    ).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
  }, 60_000);
});

describe('history, receipts, disappearing messages', () => {
  it('pages history newest first, sends read receipts, and purges a disappearing message', async () => {
    let now = Date.now();
    const clock = () => now;
    const ned = await sys.client('ned', { now: clock, storage: createMemoryAdapter({ now: clock }) });
    const olga = await sys.client('olga', { now: clock, storage: createMemoryAdapter({ now: clock }) });
    const conversation = directConversationId('ned');
    for (let i = 0; i < 5; i++) {
      const got = nextEvent(olga, 'message');
      await ned.sendText({ user: 'olga' }, `m${i}`);
      await got;
      now += 10;
    }
    const first = await olga.history(conversation, { limit: 2 });
    expect(first.items.map((m) => (m.content.body as { text: string }).text)).toEqual(['m4', 'm3']);
    const second = await olga.history(conversation, { limit: 2, cursor: first.next! });
    expect(second.items.map((m) => (m.content.body as { text: string }).text)).toEqual(['m2', 'm1']);

    const read = nextEvent(ned, 'receipt', (e) => e.kind === 'read');
    await olga.markRead(conversation, [first.items[0]!.id]);
    expect((await read).messageIds).toHaveLength(1);
    const mine = await ned.history(directConversationId('olga'), { limit: 1 });
    expect(mine.items[0]?.status).toBe('read');

    const vanishing = nextEvent(olga, 'message');
    await ned.sendText({ user: 'olga' }, 'burn after reading', { expireTimerSeconds: 2 });
    const m = (await vanishing).message;
    expect(m.expiresAt).toBe(now + 2000);
    now += 2500;
    expect((await olga.history(conversation)).items.some((x) => x.id === m.id)).toBe(false);
    expect(await olga.purgeExpired()).toBeGreaterThan(0);
  }, 60_000);
});

describe('safety numbers and PIN', () => {
  it('computes the same safety number on both sides and verifies it', async () => {
    const pam = await sys.client('pam');
    const quinn = await sys.client('quinn');
    const got = nextEvent(quinn, 'message');
    await pam.sendText({ user: 'quinn' }, 'hi');
    await got;
    const a = await pam.safetyNumber('quinn');
    const b = await quinn.safetyNumber('pam');
    expect(a.digits).toBe(b.digits);
    expect(await pam.verifySafetyNumber('quinn', b.digits.replace(/(.{5})/g, '$1 '))).toBe(true);
    expect(
      await pam.verifySafetyNumber('quinn', `${b.digits.slice(0, -1)}${(Number(b.digits.at(-1)) + 1) % 10}`),
    ).toBe(false);
  }, 60_000);

  it('unlocks only with the PIN, changes the PIN, and destroys the data after too many wrong PINs', async () => {
    const storage = createMemoryAdapter();
    const rita = await sys.client('rita', { storage, start: false, maxPinAttempts: 3 });
    await rita.lock();
    expect(rita.status).toBe('locked');
    await expect(rita.unlock('0000-0000')).rejects.toMatchObject({ code: 'ERR_WRONG_PIN' });
    await rita.unlock(PIN);
    expect(rita.me.userId).toBe('rita');
    await rita.changePin(PIN, '1111-2222');
    await rita.lock();
    await expect(rita.unlock(PIN)).rejects.toMatchObject({ code: 'ERR_WRONG_PIN' });
    await rita.unlock('1111-2222');
    await rita.lock();
    for (let i = 0; i < 3; i++)
      await expect(rita.unlock('9999-9999')).rejects.toMatchObject({ code: 'ERR_WRONG_PIN' });
    expect(rita.status).toBe('wiped');
    await expect(rita.unlock('1111-2222')).rejects.toThrow(/wiped/);
  }, 60_000);
});

describe('remote wipe', () => {
  it('refuses a forged or foreign command, and carries out one the organisation signed and reports it', async () => {
    const sam = await sys.client('sam');
    const tom = await sys.client('tom');
    const ctx = sys.server.context;
    // Forged: signed under another root (the operator's own).
    const operator = await sys.operatorSigner();
    const forged = await operator.sign({
      kind: 'wipe',
      payload: { user: userId('sam'), deviceId: sam.me.deviceId, commandId: new Uint8Array(16).fill(1) },
    });
    const refused = nextEvent(sam, 'wipe-refused');
    await expect(sam.applyWipeCommand(forged)).rejects.toBeInstanceOf(WipeCommandError);
    expect((await refused).reason).toBe('ERR_INVALID_KEY');
    // Foreign: a real command for Tom's device.
    const tomDevice = tom.me.deviceId;
    const forTom = await sys.organisation!.wipe('tom', tomDevice);
    await expect(sam.applyWipeCommand(forTom)).rejects.toMatchObject({ reason: 'target' });
    expect(sam.status).toBe('ready');
    expect((await sam.wipeStatus()).wiped).toBe(false);

    // The real one, found by the client.
    const wiped = nextEvent(tom, 'wiped');
    expect(await tom.checkWipe()).toBe(true);
    expect((await wiped).reported).toBe(true);
    expect(tom.status).toBe('wiped');
    expect(await tom.wipeStatus()).toMatchObject({ wiped: true, reported: true });
    expect(await wipeStatus(ctx, { tenant: TENANT, user: userId('tom'), device: tomDevice })).toMatchObject({
      state: 'confirmed',
    });
    await expect(tom.history(directConversationId('sam'))).rejects.toThrow(/wiped/);
  }, 60_000);
});

describe('transports and reconnection', () => {
  it('runs the whole client over the browser transport (fetch + WebSocket, server-key proof)', async () => {
    const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
    const browserFetch = ((input: string | URL, init?: RequestInit) =>
      undiciFetch(input, { ...(init as object), dispatcher })) as unknown as typeof globalThis.fetch;
    class BrowserLikeWebSocket extends UndiciWebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, { protocols: protocols === undefined ? [] : protocols, dispatcher });
      }
    }
    const transport: TransportFactory = (o) =>
      createBrowserTransport({
        ...o,
        fetch: browserFetch,
        WebSocket: BrowserLikeWebSocket as unknown as BrowserWebSocketConstructor,
      });
    try {
      const uma = await sys.client('uma', { transport });
      const vic = await sys.client('vic');
      const got = nextEvent(uma, 'message');
      await vic.sendText({ user: 'uma' }, 'to the browser');
      expect((await got).message.content.body).toEqual({ type: 'text', text: 'to the browser' });
      const back = nextEvent(vic, 'message', (e) => !e.message.outgoing);
      await uma.sendText({ user: 'vic' }, 'from the browser');
      expect((await back).message.content.body).toEqual({ type: 'text', text: 'from the browser' });
      await uma.stop();
    } finally {
      await dispatcher.close();
    }
  }, 60_000);

  it('keeps messages for a stopped client and delivers the backlog when it starts again', async () => {
    const walt = await sys.client('walt');
    const xena = await sys.client('xena');
    await xena.stop();
    const sent = [];
    for (const text of ['while', 'you', 'were', 'away'])
      sent.push(await walt.sendText({ user: 'xena' }, text));
    await walt.flush();
    const texts: string[] = [];
    const all = new Promise<void>((resolve) => {
      xena.on('message', (e) => {
        if (e.message.content.body.type === 'text') texts.push(e.message.content.body.text);
        if (texts.length === 4) resolve();
      });
    });
    await xena.start();
    await all;
    expect(texts.sort()).toEqual(['away', 'were', 'while', 'you']);
    // Nothing is delivered twice after another restart.
    await xena.stop();
    await xena.start();
    await xena.idle();
    expect((await xena.history(directConversationId('walt'))).items).toHaveLength(4);
    expect(sent).toHaveLength(4);
  }, 60_000);
});

describe('enrolment', () => {
  it('publishes the prekeys at start when enrolment could not, so peers can still reach the device', async () => {
    let failPublish = true;
    const flaky: TransportFactory = (o) => {
      const inner = createNodeTransport(o);
      return {
        connect: (path, handlers) => inner.connect(path, handlers),
        request: async (method, path, body) => {
          if (failPublish && path === '/v1/keys/signed') throw new Error('network down');
          return inner.request(method, path, body);
        },
      };
    };
    const storage = createMemoryAdapter();
    await expect(sys.client('yara', { transport: flaky, storage, start: false })).rejects.toThrow(
      /network down/,
    );
    failPublish = false;
    const yara = await sys.client('yara', { transport: flaky, storage });
    const zed = await sys.client('zed');
    const got = nextEvent(yara, 'message');
    await zed.sendText({ user: 'yara' }, 'can you hear me?');
    expect((await got).message.content.body).toEqual({ type: 'text', text: 'can you hear me?' });
  }, 60_000);
});

describe('session reset', () => {
  it('starts a new session when a device restored an old state and cannot decrypt any more', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloister-reset-'));
    const backup = mkdtempSync(join(tmpdir(), 'cloister-reset-backup-'));
    try {
      const openBen = async () =>
        sys.client('ben', { storage: await createPGliteAdapter({ dataDir: join(dir, 'db') }) });
      let ben = await openBen();
      const ann = await sys.client('ann');
      const exchange = async (text: string) => {
        const got = nextEvent(ben, 'message', (e) => !e.message.outgoing);
        await ann.sendText({ user: 'ben' }, text);
        return (await got).message.content.body;
      };
      expect(await exchange('one')).toEqual({ type: 'text', text: 'one' });
      await ben.close();
      cpSync(join(dir, 'db'), join(backup, 'db'), { recursive: true });
      ben = await openBen();
      const reply = async (text: string) => {
        const got = nextEvent(ann, 'message', (e) => !e.message.outgoing);
        await ben.sendText({ user: 'ann' }, text);
        await got;
      };
      // Two round trips: both sides take a new ratchet key the backup does not have.
      await reply('r1');
      expect(await exchange('two')).toEqual({ type: 'text', text: 'two' });
      await reply('r2');
      await ann.flush();
      await ben.close();
      // Ben's device goes back to the old state.
      rmSync(join(dir, 'db'), { recursive: true, force: true });
      cpSync(join(backup, 'db'), join(dir, 'db'), { recursive: true });
      ben = await openBen();
      const broken = nextEvent(ben, 'session-reset');
      const peerReset = nextEvent(ann, 'session-reset');
      await ann.sendText({ user: 'ben' }, 'lost: ben cannot decrypt this');
      expect(await broken).toMatchObject({ userId: 'ann', initiatedBy: 'this-device' });
      expect(await peerReset).toMatchObject({ userId: 'ben', initiatedBy: 'peer' });
      expect(await exchange('after the reset')).toEqual({ type: 'text', text: 'after the reset' });
      await ben.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(backup, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('signed prekey rotation', () => {
  it('publishes a new signed prekey at start once the newest is a week old, and new peers reach the device', async () => {
    let now = Date.now();
    const clock = () => now;
    const storage = createMemoryAdapter({ now: clock });
    const cleo = await sys.client('cleo', { now: clock, storage });
    const signedId = async () => {
      const bundle = await sys.server.context.stores.bundles.takeBundle(
        TENANT,
        userId('cleo'),
        cleo.me.deviceId,
      );
      return bundle?.signedPreKey.id;
    };
    expect(await signedId()).toBe(1);
    await cleo.stop();
    now += 6 * 86_400_000;
    await cleo.start();
    expect(await signedId()).toBe(1);
    await cleo.stop();
    now += 2 * 86_400_000;
    await cleo.start();
    expect(await signedId()).toBe(2);
    // Back to the real time: sender certificates are short-lived and checked against the clock.
    now = Date.now();
    const dan = await sys.client('dan');
    const got = nextEvent(cleo, 'message');
    await dan.sendText({ user: 'cleo' }, 'after the rotation');
    expect((await got).message.content.body).toEqual({ type: 'text', text: 'after the rotation' });
  }, 60_000);
});

describe('compliance archive', () => {
  it('seals each message to the archive key of the signed tenant layer, shows its fingerprint, and receivers see it is archived', async () => {
    const ctx = sys.server.context;
    const archive = await ctx.provider.x25519.generateKeyPair();
    // Only the tenant layer names the archive key (issue 14, attacks 1 and 3).
    await sys.organisation!.policyLayer('tenant', null, {
      archive: {
        enabled: true,
        locked: true,
        config: { publicKey: Buffer.from(archive.publicKey).toString('base64url') },
      },
    });
    const abe = await sys.client('abe');
    const bea = await sys.client('bea');
    const fingerprint = await archiveKeyFingerprint(ctx.provider, archive.publicKey);
    expect(abe.archive()).toEqual({ on: true, keyFingerprint: fingerprint });
    const before = (await ctx.stores.archive.list(TENANT, { limit: 1000 })).items.length;
    const got = nextEvent(bea, 'message');
    const sent = await abe.sendText({ user: 'bea' }, 'minutes of the board meeting');
    expect(sent.content.archived).toBe(true);
    expect((await got).message.content.archived).toBe(true);
    await abe.flush();
    const items = (await ctx.stores.archive.list(TENANT, { limit: 1000 })).items;
    expect(items.length).toBe(before + 1);
    const opened = await openArchived(ctx.provider, {
      archivePrivateKey: archive.privateKey,
      tenantPublicKey: sys.signingPublicKey,
      bytes: items.at(-1)!.sealed,
    });
    expect(opened.bindings.sender).toEqual({ userId: 'abe', deviceId: abe.me.deviceId });
    expect(decodeContent(opened.content).body).toEqual({
      type: 'text',
      text: 'minutes of the board meeting',
    });
    // Both sides compute the same conversation binding.
    expect(Buffer.from(opened.bindings.conversationId).toString('hex')).toBe(
      Buffer.from(await archiveConversationId(ctx.provider, { users: ['bea', 'abe'] })).toString('hex'),
    );
    // The organisation turns archiving off: an `archive` event, and messages are not archived.
    await sys.organisation!.policyLayer('tenant', null, {});
    const off = nextEvent(bea, 'archive');
    await bea.refreshPolicy();
    expect((await off).archive).toEqual({ on: false });
    expect(bea.archive()).toEqual({ on: false });
    const plain = await bea.sendText({ user: 'abe' }, 'not archived');
    expect(plain.content.archived).toBeUndefined();
  }, 60_000);
});
