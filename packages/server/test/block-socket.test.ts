/**
 * A blocked device loses its delivery socket at once (issue 15, "Hard to knock over" item 2). The
 * attacks: a device keeps its open WebSocket after an administrator blocks it (or its user, or
 * wipes it, or deletes the user), and acknowledges envelopes after the block so that they are
 * deleted. Each test performs it right after a push, while the socket's last read of the flags is
 * still within its one-second trust window — exactly where the socket used to keep going — and
 * sees it fail: the socket closes with 1008 within a short bound, an acknowledgement after the
 * block deletes nothing, and unblocking lets the device connect again. The block reaches the
 * socket as a `recheck` on the wake-up bus; one variant loses that recheck and shows the
 * `recheckMs` backstop refusing the acknowledgement. With `DATABASE_URL` set, the same runs across
 * two instances sharing PostgreSQL and LISTEN/NOTIFY: blocked on A, closed on B.
 */
import { randomBytes } from 'node:crypto';
import { deviceId, ValidationError } from '@cloister/crypto';
import { type MailboxId, mailboxId, messageId, type TenantId, tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { authorizationHeader } from '../src/auth.js';
import { createLocalBus, type WakeupBus } from '../src/bus.js';
import { createPostgresBus } from '../src/bus-postgres.js';
import type { ServerContext } from '../src/context.js';
import {
  createWsRoutes,
  decodeServerFrame,
  encodeAckFrame,
  type ServerFrame,
  WS_CLOSE,
} from '../src/routes/ws.js';
import { createTenant } from '../src/tenants.js';
import {
  type AdminTestServer,
  createTenantAsOperator,
  DATABASE_URL,
  login,
  startAdminServer,
} from './helpers/admin-api.js';
import { setUpDevice, type TestDevice } from './helpers/device-client.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { asAdmin, b64, organisation, setRoot, sign } from './organisation-helpers.js';

/** How long a socket may stay open after its block was answered (the trust window is 1 s). */
const CLOSE_BOUND_MS = 750;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A delivery socket that records its frames and how (and when) it closed. */
class Socket {
  readonly frames: ServerFrame[] = [];
  readonly ws: WebSocket;
  closedAt: number | undefined;
  readonly closed: Promise<number>;
  readonly opened: Promise<void>;

  constructor(url: string, credential: Uint8Array) {
    this.ws = new WebSocket(`${url.replace('https:', 'wss:')}/v1/ws`, {
      rejectUnauthorized: false,
      headers: { authorization: authorizationHeader(credential) },
    });
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data: Buffer) => this.frames.push(decodeServerFrame(new Uint8Array(data))));
    this.closed = new Promise((resolve) =>
      this.ws.on('close', (code) => {
        this.closedAt = Date.now();
        resolve(code);
      }),
    );
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  envelopes(): string[] {
    return this.frames.flatMap((f) => (f.type === 'envelope' ? [f.messageId] : []));
  }

  /** Waits for the end-of-backlog frame (so the socket has just read the device's flags). */
  async synced(ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.frames.some((f) => f.type === 'synced')) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the synced frame');
      await sleep(5);
    }
  }

  /** The close code, or 'open' when the socket is still open `ms` after `since`. */
  async closedWithin(since: number, ms: number): Promise<number | 'open'> {
    const left = Math.max(0, since + ms - Date.now());
    return Promise.race([this.closed, sleep(left).then(() => 'open' as const)]);
  }

  close(): void {
    if (this.open) this.ws.close();
  }
}

async function queue(ctx: ServerContext, mailbox: MailboxId, id: string): Promise<void> {
  await ctx.stores.mailboxes.enqueue(mailbox, {
    messageId: messageId(id),
    envelope: new Uint8Array(randomBytes(64)),
    expiresAt: ctx.now() + 3_600_000,
  });
}

/** Connects `d` and waits until its queued envelopes were pushed (the flags were just read). */
async function connect(url: string, d: TestDevice): Promise<Socket> {
  const s = new Socket(url, d.credential);
  await s.opened;
  await s.synced();
  return s;
}

describe('a blocked device loses its delivery socket at once (one instance)', () => {
  let t: AdminTestServer;
  let ctx: ServerContext;
  let owner: { session: string };
  const acme = tenantId('acme');
  const sockets: Socket[] = [];

  beforeAll(async () => {
    t = await startAdminServer(Date.now());
    ctx = t.server.context;
    const created = await createTenantAsOperator(t, 'acme');
    owner = { session: await login(t, 'acme', created.owner.email, created.owner.secret) };
  }, 60_000);
  afterAll(async () => {
    for (const s of sockets) s.close();
    await t?.close();
  });

  const open = async (d: TestDevice) => {
    const s = await connect(t.url, d);
    sockets.push(s);
    return s;
  };

  it('closes the socket of a device blocked through the admin API within the bound; unblocking lets it connect again', async () => {
    const d = await setUpDevice(ctx, acme, 'carol', 1);
    await queue(ctx, d.mailbox, 'm-carol-1');
    const s = await open(d);
    expect(s.envelopes()).toEqual(['m-carol-1']);

    const blocked = await t.as(owner, 'POST', '/admin/v1/users/carol/devices/1/block');
    expect(blocked.status).toBe(200);
    expect(await s.closedWithin(Date.now(), CLOSE_BOUND_MS)).toBe(WS_CLOSE.policy);
    expect(await ctx.stores.mailboxes.count(d.mailbox)).toBe(1);
    await expect(new Socket(t.url, d.credential).opened).rejects.toThrow('status 403');

    expect((await t.as(owner, 'POST', '/admin/v1/users/carol/devices/1/unblock')).status).toBe(200);
    const again = await open(d);
    expect(again.envelopes()).toEqual(['m-carol-1']); // pushed again: it was never acknowledged
    again.ws.send(encodeAckFrame(['m-carol-1']));
    const deadline = Date.now() + 5_000;
    while ((await ctx.stores.mailboxes.count(d.mailbox)) !== 0) {
      if (Date.now() > deadline)
        throw new Error('the acknowledgement of an unblocked device was not applied');
      await sleep(20);
    }
    again.close();
  });

  it('refuses an acknowledgement sent right after the block: the envelope stays queued', async () => {
    const d = await setUpDevice(ctx, acme, 'dave', 1);
    await queue(ctx, d.mailbox, 'm-dave-1');
    const s = await open(d);
    expect(s.envelopes()).toEqual(['m-dave-1']);

    expect((await t.as(owner, 'POST', '/admin/v1/users/dave/devices/1/block')).status).toBe(200);
    if (s.open) s.ws.send(encodeAckFrame(['m-dave-1']));
    expect(await s.closedWithin(Date.now(), CLOSE_BOUND_MS)).toBe(WS_CLOSE.policy);
    await sleep(200); // an ack that was applied would have been by now
    expect(await ctx.stores.mailboxes.count(d.mailbox)).toBe(1);
  });

  it("closes every socket of a blocked user's devices, and no one else's", async () => {
    const a = await setUpDevice(ctx, acme, 'erin', 1);
    const b = await setUpDevice(ctx, acme, 'erin', 2);
    const other = await setUpDevice(ctx, acme, 'frank', 1);
    const [sa, sb, so] = [await open(a), await open(b), await open(other)];

    expect((await t.as(owner, 'POST', '/admin/v1/users/erin/block')).status).toBe(200);
    const since = Date.now();
    expect(await sa.closedWithin(since, CLOSE_BOUND_MS)).toBe(WS_CLOSE.policy);
    expect(await sb.closedWithin(since, CLOSE_BOUND_MS)).toBe(WS_CLOSE.policy);
    expect(so.open).toBe(true);

    expect((await t.as(owner, 'POST', '/admin/v1/users/erin/unblock')).status).toBe(200);
    (await open(a)).close();
    so.close();
  });

  it('closes the sockets of a deleted user’s devices within the bound', async () => {
    const d = await setUpDevice(ctx, acme, 'gina', 1);
    const s = await open(d);
    expect((await t.as(owner, 'DELETE', '/admin/v1/users/gina')).status).toBe(204);
    expect(await s.closedWithin(Date.now(), CLOSE_BOUND_MS)).toBe(WS_CLOSE.policy);
  });

  it('closes the socket of a wiped device within the bound', async () => {
    const globex = tenantId('globex');
    await createTenant(ctx, { id: globex, name: 'Globex' });
    const org = await organisation(t, globex, t.time);
    expect((await setRoot(t, org)).status).toBe(201);
    const d = await setUpDevice(ctx, globex, 'hugo', 1);
    const s = await open(d);
    const command = await sign(ctx.provider, org.owner, {
      kind: 'wipe',
      tenant: globex,
      issuedAtMs: t.time,
      sequence: 1,
      payload: {
        user: userId('hugo'),
        deviceId: deviceId(d.device),
        commandId: ctx.provider.randomBytes(16),
      },
    });
    const res = await asAdmin(t, org.owner, 'POST', '/admin/v1/users/hugo/devices/1/wipe', {
      command: b64(command),
    });
    expect(res.status).toBe(201);
    expect(await s.closedWithin(Date.now(), CLOSE_BOUND_MS)).toBe(WS_CLOSE.policy);
  });
});

describe('the bus carries a recheck apart from a wake-up', () => {
  it('local bus: each listener hears the signal sent; anything else is refused', async () => {
    const bus = createLocalBus();
    const heard: string[] = [];
    const mailbox = mailboxId('mbx_signals');
    bus.subscribe(mailbox, (signal) => heard.push(signal));
    await bus.notify(mailbox);
    await bus.notify(mailbox, 'recheck');
    await bus.notify(mailbox, 'wake');
    expect(heard).toEqual(['wake', 'recheck', 'wake']);
    await expect(bus.notify(mailbox, 'close' as never)).rejects.toBeInstanceOf(ValidationError);
  });

  it.runIf(DATABASE_URL !== undefined)(
    'PostgreSQL bus: a recheck reaches the other instance as a recheck',
    async () => {
      const channel = `cloister_signal_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
      const a = await createPostgresBus({ connectionString: DATABASE_URL as string, channel });
      const b = await createPostgresBus({ connectionString: DATABASE_URL as string, channel });
      try {
        const mailbox = mailboxId('mbx_signals:2');
        const heard: string[] = [];
        b.subscribe(mailbox, (signal) => heard.push(signal));
        await a.notify(mailbox, 'recheck');
        await a.notify(mailbox);
        const deadline = Date.now() + 5_000;
        while (heard.length < 2) {
          if (Date.now() > deadline) throw new Error('timed out waiting for the signals');
          await sleep(10);
        }
        expect(heard).toEqual(['recheck', 'wake']);
        await expect(a.notify(mailbox, 'close' as never)).rejects.toBeInstanceOf(ValidationError);
      } finally {
        await a.close();
        await b.close();
      }
    },
  );
});

describe('the recheckMs backstop when the bus loses a recheck', () => {
  let t: TestServer;
  let ctx: ServerContext;
  const acme: TenantId = tenantId('acme');

  beforeAll(async () => {
    // A bus that loses every recheck (a block whose notification never arrived).
    const local = createLocalBus();
    const lossy: WakeupBus = {
      notify: (mailbox, signal) => (signal === 'recheck' ? Promise.resolve() : local.notify(mailbox, signal)),
      subscribe: (mailbox, listener) => local.subscribe(mailbox, listener),
      close: () => local.close(),
    };
    t = await startTestServer({ bus: lossy, extraRoutes: [createWsRoutes({ recheckMs: 100 })] });
    ctx = t.server.context;
    await createTenant(ctx, { id: acme, name: 'ACME' });
  }, 60_000);
  afterAll(async () => t?.close());

  it('refuses an acknowledgement once the last read of the flags is older than recheckMs', async () => {
    const d = await setUpDevice(ctx, acme, 'ivan', 1);
    await queue(ctx, d.mailbox, 'm-ivan-1');
    const s = await connect(t.url, d);
    await ctx.stores.devices.update(acme, userId('ivan'), deviceId(d.device), { blocked: true });
    await ctx.bus.notify(d.mailbox, 'recheck'); // lost
    await sleep(150);
    expect(s.open).toBe(true); // nothing told it, and it was idle
    s.ws.send(encodeAckFrame(['m-ivan-1']));
    expect(await s.closedWithin(Date.now(), CLOSE_BOUND_MS)).toBe(WS_CLOSE.policy);
    expect(await ctx.stores.mailboxes.count(d.mailbox)).toBe(1);
  });
});

describe.runIf(DATABASE_URL !== undefined)(
  'a blocked device loses its socket on every instance (PostgreSQL)',
  () => {
    const servers: AdminTestServer[] = [];
    const sockets: Socket[] = [];
    let owner: { session: string };
    const acme = tenantId('acme');
    const channel = `cloister_block_${process.pid}_${Math.floor(Math.random() * 1e9)}`;

    beforeAll(async () => {
      const schema = `t_block_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
      const storageKey = new Uint8Array(randomBytes(32));
      const start = Date.now();
      for (let i = 0; i < 2; i++) {
        servers.push(
          await startAdminServer(start, {
            postgresSchema: schema,
            storageKey,
            bus: await createPostgresBus({ connectionString: DATABASE_URL as string, channel }),
          }),
        );
      }
      const a = servers[0] as AdminTestServer;
      const created = await createTenantAsOperator(a, 'acme');
      owner = { session: await login(a, 'acme', created.owner.email, created.owner.secret) };
    }, 60_000);
    afterAll(async () => {
      for (const s of sockets) s.close();
      for (const s of servers) await s.close();
    });

    /** Resolves at the first `recheck` instance `t`'s bus hears for `mailbox`. */
    const heard = (t: AdminTestServer, mailbox: MailboxId) =>
      new Promise<void>((resolve) => {
        const stop = t.server.context.bus.subscribe(mailbox, (signal) => {
          if (signal !== 'recheck') return;
          stop();
          resolve();
        });
      });

    it('blocked on instance A: its socket on instance B closes within the bound, and an ack B receives afterwards deletes nothing', async () => {
      const [a, b] = servers as [AdminTestServer, AdminTestServer];
      const d = await setUpDevice(b.server.context, acme, 'carol', 1);
      await queue(b.server.context, d.mailbox, 'm-carol-1');
      const s = await connect(b.url, d);
      sockets.push(s);
      expect(s.envelopes()).toEqual(['m-carol-1']);
      const recheck = heard(b, d.mailbox); // subscribed after the socket: called after it

      expect((await a.as(owner, 'POST', '/admin/v1/users/carol/devices/1/block')).status).toBe(200);
      const since = Date.now();
      await recheck;
      if (s.open) s.ws.send(encodeAckFrame(['m-carol-1']));
      expect(await s.closedWithin(since, CLOSE_BOUND_MS)).toBe(WS_CLOSE.policy);
      await sleep(200);
      expect(await a.server.context.stores.mailboxes.count(d.mailbox)).toBe(1);

      await expect(new Socket(b.url, d.credential).opened).rejects.toThrow('status 403');
      expect((await a.as(owner, 'POST', '/admin/v1/users/carol/devices/1/unblock')).status).toBe(200);
      const again = await connect(b.url, d);
      sockets.push(again);
      expect(again.envelopes()).toEqual(['m-carol-1']);
    });

    it('a user blocked on A loses the sockets of all their devices, on A and on B', async () => {
      const [a, b] = servers as [AdminTestServer, AdminTestServer];
      const one = await setUpDevice(a.server.context, acme, 'dave', 1);
      const two = await setUpDevice(a.server.context, acme, 'dave', 2);
      const onA = await connect(a.url, one);
      const onB = await connect(b.url, two);
      sockets.push(onA, onB);

      expect((await a.as(owner, 'POST', '/admin/v1/users/dave/block')).status).toBe(200);
      const since = Date.now();
      expect(await onA.closedWithin(since, CLOSE_BOUND_MS)).toBe(WS_CLOSE.policy);
      expect(await onB.closedWithin(since, CLOSE_BOUND_MS)).toBe(WS_CLOSE.policy);
    });
  },
);
