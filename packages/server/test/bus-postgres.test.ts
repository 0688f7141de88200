/**
 * The PostgreSQL wake-up bus (R41, R42). Argument checks always run; with `DATABASE_URL` set,
 * two server instances on one PostgreSQL schema (unique to this file, dropped afterwards) wake
 * each other through LISTEN/NOTIFY — a device connected to instance B receives over its WebSocket
 * what a sender posted to instance A — and a bus whose listening connection is killed reconnects,
 * resyncs its listeners and hears wake-ups again.
 */
import { randomBytes } from 'node:crypto';
import {
  deviceId,
  issueSenderCertificate,
  registrationId,
  StorageError,
  sealEnvelope,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import { encodeSealedDelivery, mailboxId, tenantId, userId } from '@cloister/protocol';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { authorizationHeader, credentialHash } from '../src/auth.js';
import type { WakeupBus } from '../src/bus.js';
import { createPostgresBus } from '../src/bus-postgres.js';
import { deliveryTokenFor } from '../src/delivery-access.js';
import { newMailboxId } from '../src/delivery-token.js';
import { deliveryMessageId, deliveryRoutes } from '../src/routes/delivery.js';
import { decodeServerFrame, encodeAckFrame, type ServerFrame, wsRoutes } from '../src/routes/ws.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const DATABASE_URL = process.env.DATABASE_URL || undefined;
const suffix = `${process.pid}_${Math.floor(Math.random() * 1e9)}`;
const schema = `t_bus_${suffix}`;
const channel = `cloister_test_${suffix}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(predicate: () => boolean, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('createPostgresBus arguments', () => {
  it('refuses bad options with ValidationError and an unreachable database with StorageError', async () => {
    await expect(createPostgresBus({ connectionString: '' })).rejects.toBeInstanceOf(ValidationError);
    for (const bad of ['', 'Upper', '1abc', 'a-b', 'x'.repeat(64), 'a"; DROP TABLE x; --']) {
      await expect(
        createPostgresBus({ connectionString: 'postgres://127.0.0.1:1/x', channel: bad }),
      ).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(
      createPostgresBus({ connectionString: 'postgres://127.0.0.1:1/x', reconnectMinMs: 0 }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      createPostgresBus({ connectionString: 'postgres://postgres@127.0.0.1:1/x' }),
    ).rejects.toBeInstanceOf(StorageError);
  });
});

describe.runIf(DATABASE_URL !== undefined)('PostgreSQL wake-up bus', () => {
  const buses: WakeupBus[] = [];
  const servers: TestServer[] = [];

  afterAll(async () => {
    for (const s of servers) await s.close();
    for (const b of buses) await b.close();
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await client.end();
    }
  });

  it('wakes listeners on every instance with the mailbox id only', async () => {
    const a = await createPostgresBus({ connectionString: DATABASE_URL as string, channel });
    const b = await createPostgresBus({ connectionString: DATABASE_URL as string, channel });
    buses.push(a, b);
    const mailbox = mailboxId('mbx_bus_1');
    let onA = 0;
    let onB = 0;
    const stopA = a.subscribe(mailbox, () => onA++);
    b.subscribe(mailbox, () => onB++);
    b.subscribe(mailboxId('mbx_other'), () => {
      throw new Error('woken for another mailbox');
    });
    await a.notify(mailbox);
    await waitFor(() => onA === 1 && onB === 1, 'both instances');
    stopA();
    await b.notify(mailbox);
    await waitFor(() => onB === 2, 'instance B again');
    await sleep(100);
    expect(onA).toBe(1);
    await expect(a.notify('not a mailbox!' as never)).rejects.toBeInstanceOf(ValidationError);
  });

  it('sends the wake-ups of one turn together, and each reaches the other instance', async () => {
    const a = await createPostgresBus({ connectionString: DATABASE_URL as string, channel });
    const b = await createPostgresBus({ connectionString: DATABASE_URL as string, channel });
    buses.push(a, b);
    const mailboxes = Array.from({ length: 1200 }, (_, i) => mailboxId(`mbx_batch_${i}`));
    const woken = new Map<string, string[]>();
    for (const m of mailboxes) b.subscribe(m, (signal) => woken.set(m, [...(woken.get(m) ?? []), signal]));
    // More than one statement's worth, a recheck among them, and a mailbox named twice.
    await Promise.all([
      ...mailboxes.map((m, i) => a.notify(m, i === 7 ? 'recheck' : 'wake')),
      a.notify(mailboxes[0] as (typeof mailboxes)[number]),
    ]);
    await waitFor(() => woken.size === mailboxes.length, 'every mailbox woken on instance B');
    expect(woken.get(mailboxes[7] as string)).toEqual(['recheck']);
    expect(woken.get(mailboxes[8] as string)).toEqual(['wake']);
  });

  it('reconnects after its connection is killed, resyncs its listeners and hears wake-ups again', async () => {
    const app = `cloister_bus_${suffix}`;
    const url = new URL(DATABASE_URL as string);
    url.searchParams.set('application_name', app);
    const listening = await createPostgresBus({
      connectionString: url.toString(),
      channel,
      reconnectMinMs: 50,
    });
    const sender = await createPostgresBus({ connectionString: DATABASE_URL as string, channel });
    buses.push(listening, sender);
    const mailbox = mailboxId('mbx_bus_2');
    let calls = 0;
    listening.subscribe(mailbox, () => calls++);

    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    try {
      const killed = await admin.query(
        "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND query ILIKE 'LISTEN%'",
        [app],
      );
      expect(killed.rows).toHaveLength(1);
    } finally {
      await admin.end();
    }
    await waitFor(() => calls === 1, 'the resync after reconnect');
    await sender.notify(mailbox);
    await waitFor(() => calls === 2, 'a wake-up after reconnect');
  });

  it('delivers over instance B what was posted to instance A', async () => {
    const storageKey = new Uint8Array(randomBytes(32));
    for (let i = 0; i < 2; i++) {
      servers.push(
        await startTestServer({
          database: DATABASE_URL as string,
          databaseSchema: schema,
          storageKey,
          bus: await createPostgresBus({ connectionString: DATABASE_URL as string, channel }),
          extraRoutes: [deliveryRoutes, wsRoutes],
        }),
      );
    }
    const [a, b] = servers as [TestServer, TestServer];
    const ctx = b.server.context;
    const provider = ctx.provider;
    const tenantKey = await provider.ed25519.generateKeyPair();
    const acme = tenantId('acme');
    await ctx.stores.tenants.create(acme, { name: 'ACME', signingKey: tenantKey.publicKey });
    await ctx.stores.users.create(acme, userId('bob'), { displayName: 'Bob' });
    const dh = await provider.x25519.generateKeyPair();
    const credential = new Uint8Array(randomBytes(32));
    const mailbox = await newMailboxId(provider);
    await ctx.stores.devices.add(acme, userId('bob'), deviceId(1), {
      identity: {
        signingKey: new Uint8Array(32).fill(1),
        dhKey: dh.publicKey,
        dhKeySignature: new Uint8Array(64),
      },
      registrationId: registrationId(1),
      mailbox,
      credentialHash: await credentialHash(ctx, credential),
    });

    const frames: ServerFrame[] = [];
    const ws = new WebSocket(`${b.url.replace('https:', 'wss:')}/v1/ws`, {
      rejectUnauthorized: false,
      headers: { authorization: authorizationHeader(credential) },
    });
    ws.on('message', (data: Buffer) => frames.push(decodeServerFrame(new Uint8Array(data))));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    await waitFor(() => frames.some((f) => f.type === 'synced'), 'the empty backlog');

    const certificate = await issueSenderCertificate(provider, tenantKey.privateKey, {
      userId: 'alice',
      deviceId: 1,
      identitySigningKey: new Uint8Array(32).fill(2),
      identityDhKey: new Uint8Array(32).fill(3),
      tenantId: 'acme',
      pools: [],
      expiresAt: Date.now() + 3_600_000,
    });
    const messageId = new Uint8Array(randomBytes(16));
    const envelope = await sealEnvelope(provider, {
      recipientPublicKey: dh.publicKey,
      mailbox: utf8(mailbox),
      // Issued by instance A: every instance derives the same token key from the storage key.
      deliveryToken: await deliveryTokenFor(a.server.context, mailbox),
      certificate,
      contentType: 1,
      body: utf8('across instances'),
    });
    const res = await a.request('POST', '/v1/messages', {
      body: encodeSealedDelivery({ messageId, envelope }),
    });
    expect(res.json.results[0].status).toBe('accepted');
    await waitFor(() => frames.some((f) => f.type === 'envelope'), 'the push on instance B');
    const pushed = frames.find((f) => f.type === 'envelope');
    expect(pushed).toEqual({ type: 'envelope', messageId: deliveryMessageId(messageId), envelope });
    ws.send(encodeAckFrame([deliveryMessageId(messageId)]));
    const deadline = Date.now() + 10_000;
    while ((await a.server.context.stores.mailboxes.count(mailbox)) !== 0) {
      if (Date.now() > deadline) throw new Error('ack not applied');
      await sleep(50);
    }
    ws.close();
  });
});
