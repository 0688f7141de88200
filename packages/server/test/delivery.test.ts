/**
 * Sealed delivery (spec/server-delivery.md): real sealed envelopes submitted without device
 * authentication, fetched over HTTP and pushed over the WebSocket, acknowledged, redelivered when
 * unacknowledged, deduplicated by message id, refused with a wrong delivery token, fanned out in
 * batches; content-free push hints for offline devices; graceful shutdown with 1001.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CryptoProvider,
  deviceId,
  issueSenderCertificate,
  type KeyPair,
  openEnvelope,
  registrationId,
  type SenderCertificate,
  sealEnvelope,
  sealEnvelopeForMany,
  utf8,
} from '@cloister/crypto';
import {
  encodeSealedDelivery,
  encodeSealedDeliveryBatch,
  type MailboxId,
  type TenantId,
  tenantId,
  userId,
} from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { authorizationHeader, credentialHash } from '../src/auth.js';
import { deliveryTokenFor } from '../src/delivery-access.js';
import { newMailboxId } from '../src/delivery-token.js';
import {
  createWebhookNotifier,
  PUSH_SIGNATURE_HEADER,
  PUSH_TIMESTAMP_HEADER,
  pushHintSignature,
} from '../src/notifier.js';
import { decodeMailboxPage, deliveryMessageId, deliveryRoutes } from '../src/routes/delivery.js';
import {
  createWsRoutes,
  decodeServerFrame,
  encodeAckFrame,
  keptEnvelopeBytes,
  type ServerFrame,
  wsRoutes,
} from '../src/routes/ws.js';
import { senderClassOf } from '../src/store/index.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const SECRET = 'push-secret-for-tests-0123456789';
const acme: TenantId = tenantId('acme');

interface Hook {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

let t: TestServer;
let provider: CryptoProvider;
let tenantKey: KeyPair;
let certificate: SenderCertificate;
let webhook: HttpServer;
const hooks: Hook[] = [];
let deviceCounter = 0;

interface TestDevice {
  readonly mailbox: MailboxId;
  readonly credential: Uint8Array;
  readonly dh: KeyPair;
}

async function addDevice(server: TestServer, user = `u${deviceCounter}`): Promise<TestDevice> {
  const ctx = server.server.context;
  deviceCounter++;
  if ((await ctx.stores.users.get(acme, userId(user))) === undefined) {
    await ctx.stores.users.create(acme, userId(user), { displayName: user });
  }
  const dh = await ctx.provider.x25519.generateKeyPair();
  const credential = new Uint8Array(randomBytes(32));
  const mailbox = await newMailboxId(ctx.provider);
  await ctx.stores.devices.add(acme, userId(user), deviceId(deviceCounter), {
    identity: {
      signingKey: new Uint8Array(randomBytes(32)),
      dhKey: dh.publicKey,
      dhKeySignature: new Uint8Array(64),
    },
    registrationId: registrationId(deviceCounter),
    mailbox,
    credentialHash: await credentialHash(ctx, credential),
  });
  return { mailbox, credential, dh };
}

async function setUp(server: TestServer): Promise<void> {
  const ctx = server.server.context;
  if ((await ctx.stores.tenants.get(acme)) === undefined) {
    await ctx.stores.tenants.create(acme, { name: 'ACME', signingKey: tenantKey.publicKey });
  }
}

async function seal(
  server: TestServer,
  to: TestDevice,
  body: Uint8Array,
  token?: Uint8Array,
): Promise<Uint8Array> {
  return sealEnvelope(provider, {
    recipientPublicKey: to.dh.publicKey,
    mailbox: utf8(to.mailbox),
    deliveryToken: token ?? (await deliveryTokenFor(server.server.context, to.mailbox)),
    certificate,
    contentType: 1,
    body,
  });
}

const newId = () => new Uint8Array(randomBytes(16));

async function post(server: TestServer, delivery: { messageId: Uint8Array; envelope: Uint8Array }) {
  return server.request('POST', '/v1/messages', { body: encodeSealedDelivery(delivery) });
}

async function fetchPage(server: TestServer, device: TestDevice, query = '') {
  const res = await server.request('GET', `/v1/messages${query}`, { credential: device.credential });
  expect(res.status).toBe(200);
  return decodeMailboxPage(new Uint8Array(res.body));
}

/** A delivery socket client that queues the frames it receives. */
class Client {
  readonly frames: ServerFrame[] = [];
  private waiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly ws: WebSocket;

  constructor(server: TestServer, credential: Uint8Array) {
    this.ws = new WebSocket(`${server.url.replace('https:', 'wss:')}/v1/ws`, {
      rejectUnauthorized: false,
      headers: { authorization: authorizationHeader(credential) },
    });
    this.ws.on('message', (data: Buffer) => {
      this.frames.push(decodeServerFrame(new Uint8Array(data)));
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const w of this.waiters.splice(0)) w();
      });
    });
    this.ws.on('error', () => undefined);
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    });
  }

  envelopes(): { messageId: string; envelope: Uint8Array }[] {
    return this.frames.flatMap((f) => (f.type === 'envelope' ? [f] : []));
  }

  /** Waits until `predicate` holds over the frames received so far (or fails after 10 s). */
  async until(predicate: (frames: ServerFrame[]) => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!predicate(this.frames)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  ack(ids: string[]): void {
    this.ws.send(encodeAckFrame(ids));
  }

  async close(): Promise<void> {
    this.ws.close(1000);
    await this.closed;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(predicate: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

beforeAll(async () => {
  webhook = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hooks.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  const port = (webhook.address() as AddressInfo).port;
  t = await startTestServer({
    extraRoutes: [deliveryRoutes, wsRoutes],
    notifier: createWebhookNotifier({
      url: `http://127.0.0.1:${port}/hint`,
      secret: SECRET,
      timeoutMs: 2_000,
    }),
  });
  provider = t.server.context.provider;
  tenantKey = await provider.ed25519.generateKeyPair();
  const sender = await provider.x25519.generateKeyPair();
  certificate = await issueSenderCertificate(provider, tenantKey.privateKey, {
    userId: 'alice',
    deviceId: 1,
    identitySigningKey: (await provider.ed25519.generateKeyPair()).publicKey,
    identityDhKey: sender.publicKey,
    tenantId: 'acme',
    pools: [],
    expiresAt: Date.now() + 3_600_000,
  });
  await setUp(t);
});

afterAll(async () => {
  await t?.close();
  await new Promise<void>((resolve) => webhook?.close(() => resolve()));
});

const hooksFor = (mailbox: string) =>
  hooks.filter((h) => (JSON.parse(h.body) as { mailboxHint?: string }).mailboxHint === mailbox);

describe('POST /v1/messages and GET /v1/messages', () => {
  it('accepts a sealed envelope without authentication; the recipient fetches, opens and acknowledges it', async () => {
    const bob = await addDevice(t);
    const envelope = await seal(t, bob, utf8('hello bob'));
    const messageId = newId();
    const res = await post(t, { messageId, envelope });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ results: [{ messageId: deliveryMessageId(messageId), status: 'accepted' }] });

    const page = await fetchPage(t, bob);
    expect(page.items).toHaveLength(1);
    expect(page.items[0]?.messageId).toBe(deliveryMessageId(messageId));
    expect(page.items[0]?.envelope).toEqual(envelope);
    const opened = await openEnvelope(provider, {
      recipientPrivateKey: bob.dh.privateKey,
      bytes: page.items[0]?.envelope as Uint8Array,
      tenantPublicKey: tenantKey.publicKey,
      now: Date.now(),
    });
    expect(new TextDecoder().decode(opened.body)).toBe('hello bob');

    const ack = await t.request('POST', '/v1/messages/ack', {
      credential: bob.credential,
      json: { ids: [deliveryMessageId(messageId)] },
    });
    expect(ack.status).toBe(200);
    expect(ack.json).toEqual({ acknowledged: 1 });
    expect((await fetchPage(t, bob)).items).toHaveLength(0);
  });

  it('refuses a sealed submission that carries a credential (typed 400), storing nothing', async () => {
    // A submission that names its sender defeats sealed sender: a one-line hook on the server
    // could log who sent every envelope. The server refuses it instead of ignoring the header.
    const bob = await addDevice(t);
    const alice = await addDevice(t);
    const envelope = await seal(t, bob, utf8('who sent this?'));
    for (const path of ['/v1/messages', '/v1/messages/batch']) {
      const body =
        path === '/v1/messages'
          ? encodeSealedDelivery({ messageId: newId(), envelope })
          : encodeSealedDeliveryBatch({ deliveries: [{ messageId: newId(), envelope }] });
      const res = await t.request('POST', path, { credential: alice.credential, body });
      expect(res.status, path).toBe(400);
      expect(res.json.error.code).toBe('ERR_VALIDATION');
      expect(res.json.error.message).not.toContain(Buffer.from(alice.credential).toString('base64url'));
    }
    expect(await t.server.context.stores.mailboxes.count(bob.mailbox)).toBe(0);
    // The same submission without the credential is accepted.
    expect((await post(t, { messageId: newId(), envelope })).status).toBe(200);
  });

  it('stores a retried message id once, even after acknowledgement', async () => {
    const bob = await addDevice(t);
    const delivery = { messageId: newId(), envelope: await seal(t, bob, utf8('once')) };
    expect((await post(t, delivery)).json.results[0].status).toBe('accepted');
    expect((await post(t, delivery)).json.results[0].status).toBe('duplicate');
    expect(await t.server.context.stores.mailboxes.count(bob.mailbox)).toBe(1);
    const id = deliveryMessageId(delivery.messageId);
    await t.request('POST', '/v1/messages/ack', { credential: bob.credential, json: { ids: [id] } });
    expect((await post(t, delivery)).json.results[0].status).toBe('duplicate');
    expect(await t.server.context.stores.mailboxes.count(bob.mailbox)).toBe(0);
  });

  it('refuses a wrong delivery token, an unknown mailbox and a blocked device, storing nothing', async () => {
    const bob = await addDevice(t);
    const carol = await addDevice(t);
    const carolToken = await deliveryTokenFor(t.server.context, carol.mailbox);
    const wrong = await seal(t, bob, utf8('x'), carolToken);
    expect((await post(t, { messageId: newId(), envelope: wrong })).json.results[0].status).toBe('refused');
    const empty = await seal(t, bob, utf8('x'), new Uint8Array(0));
    expect((await post(t, { messageId: newId(), envelope: empty })).json.results[0].status).toBe('refused');
    expect(await t.server.context.stores.mailboxes.count(bob.mailbox)).toBe(0);

    // A valid token for a mailbox no device has (e.g. a removed device).
    const ghost = await newMailboxId(provider);
    const ghostEnvelope = await sealEnvelope(provider, {
      recipientPublicKey: bob.dh.publicKey,
      mailbox: utf8(ghost),
      deliveryToken: await t.server.context.deliveryTokens.issue({
        tenant: acme,
        user: userId('ghost'),
        mailbox: ghost,
        senderClass: senderClassOf(acme, []),
        epochs: { tenant: 0, user: 0, senderClass: 0 },
      }),
      certificate,
      contentType: 1,
      body: utf8('x'),
    });
    expect((await post(t, { messageId: newId(), envelope: ghostEnvelope })).json.results[0].status).toBe(
      'refused',
    );
    expect(await t.server.context.stores.mailboxes.count(ghost)).toBe(0);

    const device = await t.server.context.stores.devices.byMailbox(carol.mailbox);
    await t.server.context.stores.devices.update(acme, device!.user, device!.id, { blocked: true });
    const toBlocked = await seal(t, carol, utf8('x'));
    expect((await post(t, { messageId: newId(), envelope: toBlocked })).json.results[0].status).toBe(
      'refused',
    );
    expect(await t.server.context.stores.mailboxes.count(carol.mailbox)).toBe(0);
  });

  it('delivers a multi-recipient batch with a result per recipient', async () => {
    const bob = await addDevice(t);
    const carol = await addDevice(t);
    const dave = await addDevice(t);
    const ctx = t.server.context;
    const [forBob, forCarol, forDave] = await sealEnvelopeForMany(provider, {
      recipients: [
        {
          publicKey: bob.dh.publicKey,
          mailbox: utf8(bob.mailbox),
          deliveryToken: await deliveryTokenFor(ctx, bob.mailbox),
        },
        {
          publicKey: carol.dh.publicKey,
          mailbox: utf8(carol.mailbox),
          deliveryToken: await deliveryTokenFor(ctx, carol.mailbox),
        },
        // Dave's envelope carries Bob's token: refused, the others still go through.
        {
          publicKey: dave.dh.publicKey,
          mailbox: utf8(dave.mailbox),
          deliveryToken: await deliveryTokenFor(ctx, bob.mailbox),
        },
      ],
      certificate,
      contentType: 2,
      body: utf8('to the group'),
    });
    const ids = [newId(), newId(), newId()];
    const batch = encodeSealedDeliveryBatch({
      deliveries: [
        { messageId: ids[0]!, envelope: forBob! },
        { messageId: ids[1]!, envelope: forCarol! },
        { messageId: ids[2]!, envelope: forDave! },
      ],
    });
    const res = await t.request('POST', '/v1/messages/batch', { body: batch });
    expect(res.status).toBe(200);
    expect(res.json.results.map((r: { status: string }) => r.status)).toEqual([
      'accepted',
      'accepted',
      'refused',
    ]);
    expect(res.json.results.map((r: { messageId: string }) => r.messageId)).toEqual(
      ids.map(deliveryMessageId),
    );
    for (const [device, envelope] of [
      [bob, forBob],
      [carol, forCarol],
    ] as const) {
      const page = await fetchPage(t, device);
      expect(page.items.map((i) => i.envelope)).toEqual([envelope]);
      const opened = await openEnvelope(provider, {
        recipientPrivateKey: device.dh.privateKey,
        bytes: page.items[0]!.envelope,
        tenantPublicKey: tenantKey.publicKey,
        now: Date.now(),
      });
      expect(new TextDecoder().decode(opened.body)).toBe('to the group');
    }
    expect(await ctx.stores.mailboxes.count(dave.mailbox)).toBe(0);
    const again = await t.request('POST', '/v1/messages/batch', { body: batch });
    expect(again.json.results.map((r: { status: string }) => r.status)).toEqual([
      'duplicate',
      'duplicate',
      'refused',
    ]);
  });

  it('pages with after and limit', async () => {
    const bob = await addDevice(t);
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 5; i++) {
      const envelope = await seal(t, bob, utf8(`m${i}`));
      sent.push(envelope);
      await post(t, { messageId: newId(), envelope });
    }
    const first = await fetchPage(t, bob, '?limit=2');
    expect(first.items.map((i) => i.envelope)).toEqual(sent.slice(0, 2));
    expect(first.next).toMatch(/^[0-9a-f]{32}$/);
    const second = await fetchPage(t, bob, `?limit=3&after=${first.next}`);
    expect(second.items.map((i) => i.envelope)).toEqual(sent.slice(2, 5));
  });

  it("keeps an undelivered envelope only as long as the recipient's retention policy allows", async () => {
    const ctx = t.server.context;
    const HOUR = 3_600_000;
    const carol = await addDevice(t, 'carol-retention');
    const dave = await addDevice(t, 'dave-retention');
    // The tenant locks server-side message retention at one hour; Carol's own layer asks for a
    // day (cannot lengthen a locked rule); Dave has no layer of his own.
    await ctx.stores.policies.set(
      { kind: 'tenant', tenant: acme },
      {
        retention: {
          enabled: true,
          locked: true,
          config: { rules: { 'message.server': { maxLifetimeMs: HOUR } } },
        },
      },
    );
    await ctx.stores.policies.set(
      { kind: 'user', tenant: acme, user: userId('carol-retention') },
      {
        retention: {
          enabled: true,
          locked: false,
          config: { rules: { 'message.server': { maxLifetimeMs: 24 * HOUR } } },
        },
      },
    );
    try {
      const before = Date.now();
      for (const to of [carol, dave]) {
        const res = await post(t, { messageId: newId(), envelope: await seal(t, to, utf8('short-lived')) });
        expect(res.json.results[0].status).toBe('accepted');
      }
      for (const to of [carol, dave]) {
        const page = await ctx.stores.mailboxes.list(to.mailbox);
        expect(page.items).toHaveLength(1);
        const lifetime = (page.items[0]?.expiresAt ?? 0) - before;
        expect(lifetime).toBeGreaterThanOrEqual(HOUR);
        expect(lifetime).toBeLessThan(HOUR + 60_000);
      }
    } finally {
      await ctx.stores.policies.delete({ kind: 'tenant', tenant: acme });
      await ctx.stores.policies.delete({ kind: 'user', tenant: acme, user: userId('carol-retention') });
    }
  });

  it('answers malformed or unauthenticated requests with typed errors and stores nothing', async () => {
    const bob = await addDevice(t);
    const good = await seal(t, bob, utf8('x'));
    const bad = async (
      path: string,
      options: Parameters<TestServer['request']>[2],
      status: number,
      code: string,
    ) => {
      const res = await t.request('POST', path, options);
      expect(res.status, `${path} ${code}`).toBe(status);
      expect(res.json.error.code).toBe(code);
    };
    await bad('/v1/messages', { body: new Uint8Array([0xff, 0xff, 0xff]) }, 400, 'ERR_DECODE');
    await bad('/v1/messages', { body: good }, 400, 'ERR_DECODE'); // a bare envelope is not a SealedDelivery
    const truncated = encodeSealedDelivery({ messageId: newId(), envelope: good }).slice(0, 60);
    await bad('/v1/messages', { body: truncated }, 400, 'ERR_DECODE');
    await bad('/v1/messages', { json: { envelope: 'x' } }, 400, 'ERR_VALIDATION');
    await bad('/v1/messages', { body: new Uint8Array(0) }, 400, 'ERR_VALIDATION');
    await bad(
      '/v1/messages/batch',
      { body: encodeSealedDelivery({ messageId: newId(), envelope: good }) },
      400,
      'ERR_DECODE',
    );
    expect(await t.server.context.stores.mailboxes.count(bob.mailbox)).toBe(0);

    await bad('/v1/messages/ack', { json: { ids: ['m_x'] } }, 401, 'ERR_UNAUTHENTICATED');
    await bad('/v1/messages/ack', { credential: bob.credential, json: { ids: [] } }, 400, 'ERR_VALIDATION');
    await bad(
      '/v1/messages/ack',
      { credential: bob.credential, json: { ids: ['m_x'], extra: 1 } },
      400,
      'ERR_VALIDATION',
    );
    await bad(
      '/v1/messages/ack',
      { credential: bob.credential, json: { ids: ['bad id!'] } },
      400,
      'ERR_VALIDATION',
    );
    const anon = await t.request('GET', '/v1/messages');
    expect(anon.status).toBe(401);
    for (const query of ['?limit=0', '?limit=101', '?after=zz', '?other=1']) {
      const res = await t.request('GET', `/v1/messages${query}`, { credential: bob.credential });
      expect(res.status, query).toBe(400);
      expect(res.json.error.code).toBe('ERR_VALIDATION');
    }
  });
});

describe('GET /v1/ws', () => {
  it('pushes pending and new envelopes, deletes acknowledged ones and redelivers the rest after reconnect', async () => {
    const bob = await addDevice(t);
    const first = await seal(t, bob, utf8('one'));
    const second = await seal(t, bob, utf8('two'));
    const firstId = newId();
    await post(t, { messageId: firstId, envelope: first });
    await post(t, { messageId: newId(), envelope: second });

    const a = new Client(t, bob.credential);
    await a.opened();
    await a.until((f) => f.some((x) => x.type === 'synced'), 'the backlog');
    expect(a.envelopes().map((e) => e.envelope)).toEqual([first, second]);
    a.ack([deliveryMessageId(firstId)]);

    const third = await seal(t, bob, utf8('three'));
    await post(t, { messageId: newId(), envelope: third });
    await a.until(() => a.envelopes().length === 3, 'the new arrival');
    expect(a.envelopes()[2]?.envelope).toEqual(third);
    await waitFor(async () => (await t.server.context.stores.mailboxes.count(bob.mailbox)) === 2, 'the ack');
    await a.close();

    const b = new Client(t, bob.credential);
    await b.opened();
    await b.until((f) => f.some((x) => x.type === 'synced'), 'the redelivery');
    expect(b.envelopes().map((e) => e.envelope)).toEqual([second, third]);
    b.ack(b.envelopes().map((e) => e.messageId));
    await waitFor(async () => (await t.server.context.stores.mailboxes.count(bob.mailbox)) === 0, 'the acks');
    await b.close();
  });

  it('keeps at most the window of unacknowledged envelopes in flight', async () => {
    const bob = await addDevice(t);
    for (let i = 0; i < 70; i++)
      await post(t, { messageId: newId(), envelope: await seal(t, bob, utf8(`w${i}`)) });
    const c = new Client(t, bob.credential);
    await c.opened();
    await c.until(() => c.envelopes().length === 64, 'the window');
    await sleep(200);
    expect(c.envelopes()).toHaveLength(64);
    expect(c.frames.some((f) => f.type === 'synced')).toBe(false);
    c.ack(
      c
        .envelopes()
        .slice(0, 10)
        .map((e) => e.messageId),
    );
    await c.until((f) => f.some((x) => x.type === 'synced'), 'the rest');
    expect(c.envelopes()).toHaveLength(70);
    expect(new Set(c.envelopes().map((e) => e.messageId)).size).toBe(70);
    await c.close();
  });

  it('pushes a new envelope from its commit to a caught-up socket, without listing the mailbox', async () => {
    const bob = await addDevice(t);
    const c = new Client(t, bob.credential);
    await c.opened();
    await c.until((f) => f.some((x) => x.type === 'synced'), 'the synced frame');
    const mailboxes = t.server.context.stores.mailboxes;
    const list = mailboxes.list;
    let listings = 0;
    mailboxes.list = (...args) => {
      listings++;
      return list(...args);
    };
    try {
      for (let i = 0; i < 5; i++) {
        const res = await post(t, { messageId: newId(), envelope: await seal(t, bob, utf8(`live${i}`)) });
        expect(res.json.results[0].status).toBe('accepted');
      }
      await c.until(() => c.envelopes().length === 5, 'five pushes');
      c.ack(c.envelopes().map((e) => e.messageId));
      await waitFor(async () => (await mailboxes.count(bob.mailbox)) === 0, 'the acknowledgements');
      expect(listings).toBe(0);
    } finally {
      mailboxes.list = list;
    }
    await c.close();
  });

  it('keeps what arrives while the window is full, and lists the mailbox when too much arrives', async () => {
    const bob = await addDevice(t);
    const c = new Client(t, bob.credential);
    await c.opened();
    await c.until((f) => f.some((x) => x.type === 'synced'), 'the synced frame');
    // 64 fill the window, the next 64 are kept, the rest overflow: the socket lists again later.
    const total = 64 + 64 + 20;
    const ids = new Set<string>();
    for (let i = 0; i < total; i += 40) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(40, total - i) }, async (_, k) => {
          const res = await post(t, { messageId: newId(), envelope: await seal(t, bob, utf8(`o${i + k}`)) });
          return res.json.results[0].messageId as string;
        }),
      );
      for (const id of batch) ids.add(id);
    }
    await c.until(() => c.envelopes().length === 64, 'the window');
    await sleep(100);
    expect(c.envelopes()).toHaveLength(64);
    // It overflowed: nothing is kept in memory for it now (the mailbox holds the rest).
    expect(keptEnvelopeBytes(t.server.context)).toBe(0);
    // Acknowledge as they come until all have arrived exactly once.
    const acked = new Set<string>();
    await waitFor(() => {
      const fresh = c
        .envelopes()
        .map((e) => e.messageId)
        .filter((id) => !acked.has(id));
      for (let k = 0; k < fresh.length; k += 256) c.ack(fresh.slice(k, k + 256));
      for (const id of fresh) acked.add(id);
      return acked.size === total;
    }, 'every envelope');
    expect(new Set(c.envelopes().map((e) => e.messageId))).toEqual(ids);
    expect(c.envelopes()).toHaveLength(total);
    await waitFor(async () => (await t.server.context.stores.mailboxes.count(bob.mailbox)) === 0, 'empty');
    await c.close();
  });

  it('keeps at most its memory budget for devices that never acknowledge, and loses nothing', async () => {
    const s = await startTestServer({
      extraRoutes: [deliveryRoutes, createWsRoutes({ maxInFlight: 2, maxKeptBytes: 2048 })],
    });
    try {
      await setUp(s);
      const devices: TestDevice[] = [];
      for (let i = 0; i < 5; i++) devices.push(await addDevice(s));
      const clients = devices.map((d) => new Client(s, d.credential));
      for (const c of clients) {
        await c.opened();
        await c.until((f) => f.some((x) => x.type === 'synced'), 'the synced frame');
      }
      let peak = 0;
      for (let round = 0; round < 6; round++) {
        for (const d of devices) {
          const res = await post(s, { messageId: newId(), envelope: await seal(s, d, utf8(`k${round}`)) });
          expect(res.json.results[0].status).toBe('accepted');
          peak = Math.max(peak, keptEnvelopeBytes(s.server.context));
        }
      }
      // Each envelope is about 400 bytes: the budget held a few, never more than 2048 bytes.
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(2048);
      for (const c of clients) {
        await c.until(() => c.envelopes().length === 2, 'the window');
      }
      // Acknowledging lets everything through, exactly once.
      await waitFor(() => {
        for (const c of clients) {
          const ids = c.envelopes().map((e) => e.messageId);
          if (ids.length > 0) c.ack(ids.slice(-2));
        }
        return clients.every((c) => new Set(c.envelopes().map((e) => e.messageId)).size === 6);
      }, 'every envelope on every socket');
      for (const c of clients) expect(c.envelopes()).toHaveLength(6);
      for (const c of clients) await c.close();
      expect(keptEnvelopeBytes(s.server.context)).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('refuses the next delivery after a block committed, though the recipient was cached', async () => {
    const ctx = t.server.context;
    const dan = await addDevice(t);
    const first = await post(t, { messageId: newId(), envelope: await seal(t, dan, utf8('before')) });
    expect(first.json.results[0].status).toBe('accepted'); // the recipient is cached now
    const device = await ctx.stores.devices.byMailbox(dan.mailbox);
    await ctx.stores.devices.update(acme, device!.user, device!.id, { blocked: true });
    const blocked = await post(t, { messageId: newId(), envelope: await seal(t, dan, utf8('after')) });
    expect(blocked.json.results[0].status).toBe('refused');
    expect(await ctx.stores.mailboxes.count(dan.mailbox)).toBe(1);
    // Unblocked: accepted again at once.
    await ctx.stores.devices.update(acme, device!.user, device!.id, { blocked: false });
    const again = await post(t, { messageId: newId(), envelope: await seal(t, dan, utf8('again')) });
    expect(again.json.results[0].status).toBe('accepted');
    // A user block, written in a transaction of its own, is seen just the same.
    await ctx.stores.transaction((s) => s.users.update(acme, device!.user, { blocked: true }));
    const userBlocked = await post(t, { messageId: newId(), envelope: await seal(t, dan, utf8('user')) });
    expect(userBlocked.json.results[0].status).toBe('refused');
    await ctx.stores.users.update(acme, device!.user, { blocked: false });
  });

  it('closes the socket of a device blocked while connected with 1008', async () => {
    const bob = await addDevice(t);
    const c = new Client(t, bob.credential);
    await c.opened();
    await c.until((f) => f.some((x) => x.type === 'synced'), 'the empty backlog');
    const device = await t.server.context.stores.devices.byMailbox(bob.mailbox);
    await t.server.context.stores.devices.update(acme, device!.user, device!.id, { blocked: true });
    await sleep(1_100); // the flags are re-read at most once a second
    await t.server.context.bus.notify(bob.mailbox);
    expect((await c.closed).code).toBe(1008);
    expect(c.envelopes()).toHaveLength(0);
    const again = new Client(t, bob.credential);
    await expect(again.opened()).rejects.toThrow('status 403');
  });

  it('refuses an unauthenticated upgrade and closes on a malformed frame', async () => {
    const stranger = new Client(t, new Uint8Array(32).fill(7));
    await expect(stranger.opened()).rejects.toThrow('status 401');
    const bob = await addDevice(t);
    const c = new Client(t, bob.credential);
    await c.opened();
    c.ws.send(Buffer.from([0x81]));
    expect((await c.closed).code).toBe(1007);
    const d = new Client(t, bob.credential);
    await d.opened();
    d.ws.send('hello');
    expect((await d.closed).code).toBe(1003);
  });
});

describe('push hints', () => {
  it('sends exactly one signed, content-free hint for an offline device and none for a connected one', async () => {
    const offline = await addDevice(t);
    await post(t, { messageId: newId(), envelope: await seal(t, offline, utf8('wake up')) });
    await waitFor(() => hooksFor(offline.mailbox).length > 0, 'the webhook');
    await sleep(300);
    const mine = hooksFor(offline.mailbox);
    expect(mine).toHaveLength(1);
    const hook = mine[0]!;
    expect(JSON.parse(hook.body)).toEqual({ mailboxHint: offline.mailbox });
    expect(Object.keys(JSON.parse(hook.body))).toEqual(['mailboxHint']);
    const timestamp = Number(hook.headers[PUSH_TIMESTAMP_HEADER]);
    expect(hook.headers[PUSH_SIGNATURE_HEADER]).toBe(
      pushHintSignature(SECRET, timestamp, Buffer.from(hook.body)),
    );
    expect(hook.body).not.toContain('wake up');

    const online = await addDevice(t);
    const c = new Client(t, online.credential);
    await c.opened();
    await c.until((f) => f.some((x) => x.type === 'synced'), 'the empty backlog');
    await post(t, { messageId: newId(), envelope: await seal(t, online, utf8('live')) });
    await c.until(() => c.envelopes().length === 1, 'the push');
    await sleep(300);
    expect(hooksFor(online.mailbox)).toHaveLength(0);
    await c.close();
  });
});

describe('graceful shutdown', () => {
  it('finishes the pushes in flight, then closes sockets with 1001', async () => {
    const s = await startTestServer({ extraRoutes: [deliveryRoutes, wsRoutes] });
    await setUp(s);
    const bob = await addDevice(s);
    const sent: Uint8Array[] = [];
    for (let i = 0; i < 10; i++) {
      const envelope = await seal(s, bob, utf8(`s${i}`));
      sent.push(envelope);
      await post(s, { messageId: newId(), envelope });
    }
    // Hold the socket's first mailbox read until the shutdown has begun.
    const mailboxes = s.server.context.stores.mailboxes;
    const list = mailboxes.list.bind(mailboxes);
    let reading!: () => void;
    const started = new Promise<void>((resolve) => {
      reading = resolve;
    });
    (mailboxes as { list: typeof list }).list = async (...args) => {
      reading();
      await sleep(300);
      return list(...args);
    };
    const c = new Client(s, bob.credential);
    await c.opened();
    await started;
    await s.close();
    const closed = await c.closed;
    expect(closed.code).toBe(1001);
    expect(c.envelopes().map((e) => e.envelope)).toEqual(sent);
  });
});
