/**
 * Several instances on one PostgreSQL lose nothing when one dies (R41, R42;
 * spec/server-instances.md). Three server instances run as child processes on one schema, with
 * one storage key and one LISTEN/NOTIFY channel; recipient devices are spread over them; a stream
 * of real sealed messages is posted round-robin, and in the middle one instance is killed with
 * SIGKILL — under group commit (spec/server-delivery.md §2c), with enough concurrent senders that
 * the instances commit several submissions per transaction, so the kill finds groups in flight.
 * Senders retry a failed POST on another instance with the same message id; devices whose
 * instance died reconnect to a survivor. Every message reaches the application exactly once
 * (after the client's deduplication by message id), byte-identical and opening, and the mailboxes
 * end empty. Runs only with `DATABASE_URL` (CI sets it).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  issueSenderCertificate,
  type KeyPair,
  openEnvelope,
  type SenderCertificate,
  sealEnvelope,
  toHex,
  utf8,
} from '@cloister/crypto';
import { encodeSealedDelivery, tenantId } from '@cloister/protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryTokenFor } from '../src/delivery-access.js';
import { decodeMailboxPage, deliveryMessageId } from '../src/routes/delivery.js';
import { type CloisterServer, createServer } from '../src/server.js';
import { DeviceClient, type Endpoint, setUpDevice, type TestDevice } from './helpers/device-client.js';
import { pinnedRequest } from './helpers/server.js';

const DATABASE_URL = process.env.DATABASE_URL ?? '';
const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const childEntry = join(here, 'fixtures', 'instance-child.ts');

const INSTANCES = 3;
const DEVICES = 6;
const MESSAGES = 480;
// Enough concurrent senders that each instance commits several submissions per group.
const SENDERS = 24;
const KILLED = 1;
const acme = tenantId('acme');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Instance {
  readonly child: ChildProcess;
  readonly endpoint: Endpoint;
  readonly dataDir: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Starts one instance as a child process and resolves once it printed `{ url, pin }`. */
function startInstance(env: Record<string, string>, children: ChildProcess[]): Promise<Instance> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cloister-instance-'));
  const child = spawn(process.execPath, ['--conditions=@cloister/source', '--import', 'tsx', childEntry], {
    cwd: repoRoot,
    env: { ...process.env, ...env, CLOISTER_INSTANCE_DATA_DIR: dataDir, CLOISTER_INSTANCE_PORT: '0' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('exit', (code, signal) => done({ code, signal }));
  });
  return new Promise((resolveStart, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`instance did not start in time: ${err}`)), 45_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString('utf8')).slice(-2_000);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) {
        clearTimeout(timer);
        try {
          const { url, pin } = JSON.parse(line) as Endpoint;
          resolveStart({ child, endpoint: { url, pin }, dataDir, exited });
        } catch {
          reject(new Error('instance printed something other than its JSON line'));
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`instance exited during start (${code ?? signal}): ${err}`));
    });
  });
}

/** SIGTERM, then SIGKILL if it has not exited within `ms`. */
async function stopInstance(instance: Instance, ms = 10_000): Promise<void> {
  if (!running(instance.child)) return;
  instance.child.kill('SIGTERM');
  const late = setTimeout(() => {
    if (running(instance.child)) instance.child.kill('SIGKILL');
  }, ms);
  await instance.exited;
  clearTimeout(late);
}

describe.skipIf(!process.env.DATABASE_URL)('three instances on one PostgreSQL, one killed mid-stream', () => {
  const suffix = `${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const schema = `t_instances_${suffix}`;
  const channel = `cloister_instances_${suffix}`;
  const storageKey = new Uint8Array(randomBytes(32));
  const children: ChildProcess[] = [];
  const instances: Instance[] = [];
  const clients: DeviceClient[] = [];
  const devices: TestDevice[] = [];
  let setupDir: string;
  let setup: CloisterServer;
  let tenantKey: KeyPair;
  let certificate: SenderCertificate;

  beforeAll(async () => {
    // The tenant, users and devices are written once, by a server that never listens, on the same
    // schema and storage key as the instances (which therefore read them as their own).
    setupDir = mkdtempSync(join(tmpdir(), 'cloister-instances-setup-'));
    setup = await createServer({
      dataDir: setupDir,
      database: DATABASE_URL,
      databaseSchema: schema,
      storageKey,
      logLevel: 'silent',
    });
    const ctx = setup.context;
    tenantKey = await ctx.provider.ed25519.generateKeyPair();
    await ctx.stores.tenants.create(acme, { name: 'ACME', signingKey: tenantKey.publicKey });
    for (let i = 0; i < DEVICES; i++) devices.push(await setUpDevice(ctx, acme, `user${i % 4}`, i + 1));
    certificate = await issueSenderCertificate(ctx.provider, tenantKey.privateKey, {
      userId: 'alice',
      deviceId: 1,
      identitySigningKey: new Uint8Array(32).fill(2),
      identityDhKey: new Uint8Array(32).fill(3),
      tenantId: 'acme',
      pools: [],
      expiresAt: Date.now() + 3_600_000,
    });

    const env = {
      CLOISTER_INSTANCE_DATABASE_URL: DATABASE_URL,
      CLOISTER_INSTANCE_SCHEMA: schema,
      CLOISTER_INSTANCE_STORAGE_KEY: toHex(storageKey),
      CLOISTER_INSTANCE_CHANNEL: channel,
    };
    const started = await Promise.allSettled(
      Array.from({ length: INSTANCES }, () => startInstance(env, children)),
    );
    for (const s of started) {
      if (s.status === 'rejected') throw s.reason;
      instances.push(s.value);
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.stop()));
    await Promise.all(instances.map((i) => stopInstance(i)));
    // Whatever started but never reported (a failed start) is killed outright.
    for (const child of children) if (running(child)) child.kill('SIGKILL');
    await setup?.close();
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await admin.end();
    }
    for (const dir of [setupDir, ...instances.map((i) => i.dataDir)]) {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('delivers every message exactly once, byte-identical, and ends with empty mailboxes', async () => {
    const ctx = setup.context;
    const endpoints = instances.map((i) => i.endpoint);
    expect(new Set(endpoints.map((e) => e.url)).size).toBe(INSTANCES);

    // Each device's socket starts on a different instance (device i on instance i mod 3).
    for (const [i, device] of devices.entries()) {
      const client = new DeviceClient({
        credential: device.credential,
        endpoints,
        first: i % INSTANCES,
        // Acks batched over 30 ms: the kill then finds pushed, unacknowledged envelopes.
        ackDelayMs: 30,
      });
      clients.push(client);
      client.start();
    }
    await Promise.all(clients.map((c) => c.until(() => c.synced, 'the first connection')));
    expect(clients.map((c) => c.connectedIndex)).toEqual(devices.map((_, i) => i % INSTANCES));

    // The stream: real sealed envelopes with unique message ids, recipients round-robin.
    const sent = new Map<string, { to: number; envelope: Uint8Array; body: string }>();
    const stream: { id: string; bytes: Uint8Array }[] = [];
    for (let k = 0; k < MESSAGES; k++) {
      const to = k % DEVICES;
      const device = devices[to] as TestDevice;
      const body = `message ${k} to device ${to}`;
      const messageIdBytes = new Uint8Array(randomBytes(16));
      const envelope = await sealEnvelope(ctx.provider, {
        recipientPublicKey: device.dh.publicKey,
        mailbox: utf8(device.mailbox),
        deliveryToken: await deliveryTokenFor(ctx, device.mailbox),
        certificate,
        contentType: 1,
        body: utf8(body),
      });
      const id = deliveryMessageId(messageIdBytes);
      sent.set(id, { to, envelope, body });
      stream.push({ id, bytes: encodeSealedDelivery({ messageId: messageIdBytes, envelope }) });
    }
    expect(sent.size).toBe(MESSAGES);

    // Senders: message k goes first to instance k mod 3; a failed attempt (connection refused or
    // reset, 5xx) moves to the next instance with a short backoff, same bytes, same message id.
    const counts = { attempts: 0, retries: 0, accepted: 0, duplicateResults: 0, failedAttempts: 0 };
    let completed = 0;
    let next = 0;
    let killedAt = -1;
    const victim = instances[KILLED] as Instance;
    const post = async (k: number, item: { id: string; bytes: Uint8Array }) => {
      for (let attempt = 0; ; attempt++) {
        if (attempt >= 20) throw new Error('a message could not be posted to any instance');
        if (attempt > 0) {
          counts.retries++;
          await sleep(Math.min(200, 10 * 2 ** attempt));
        }
        const endpoint = endpoints[(k + attempt) % INSTANCES] as Endpoint;
        counts.attempts++;
        let response: Awaited<ReturnType<typeof pinnedRequest>>;
        try {
          response = await pinnedRequest(endpoint.url, endpoint.pin, 'POST', '/v1/messages', {
            body: item.bytes,
          });
        } catch {
          counts.failedAttempts++;
          continue;
        }
        if (response.status >= 500) {
          counts.failedAttempts++;
          continue;
        }
        expect(response.status).toBe(200);
        const result = response.json.results[0] as { messageId: string; status: string };
        expect(result.messageId).toBe(item.id);
        if (result.status === 'accepted') counts.accepted++;
        else if (result.status === 'duplicate') counts.duplicateResults++;
        else throw new Error(`message refused: ${result.status}`);
        return;
      }
    };
    const worker = async () => {
      for (;;) {
        const k = next++;
        const item = stream[k];
        if (item === undefined) return;
        await post(k, item);
        completed++;
        if (completed === MESSAGES / 2 && killedAt < 0) {
          // A crashed machine: no graceful close, requests and sockets in flight just die.
          killedAt = completed;
          victim.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: SENDERS }, worker));
    expect(killedAt).toBe(MESSAGES / 2);
    expect(await victim.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // Every message was answered by some instance (a retry after a lost answer says `duplicate`).
    expect(counts.accepted + counts.duplicateResults).toBe(MESSAGES);
    // After the kill, round-robin still picks the dead instance first for a third of the stream.
    expect(counts.retries).toBeGreaterThan(0);

    // Every device receives everything addressed to it.
    for (const [i, client] of clients.entries()) {
      const expected = [...sent.entries()].filter(([, s]) => s.to === i).map(([id]) => id);
      await client.until(
        () => expected.every((id) => client.delivered.has(id)),
        `all messages on device ${i}`,
        30_000,
      );
    }

    // Exactly once to the application, none lost, none foreign, byte-identical, and they open.
    let received = 0;
    let duplicateDeliveries = 0;
    let reconnects = 0;
    for (const [i, client] of clients.entries()) {
      const device = devices[i] as TestDevice;
      const expected = new Set([...sent.entries()].filter(([, s]) => s.to === i).map(([id]) => id));
      expect(new Set(client.delivered.keys())).toEqual(expected);
      expect(client.delivered.size).toBe(expected.size);
      for (const [id, envelope] of client.delivered) {
        const original = sent.get(id);
        expect(Buffer.from(envelope).equals(Buffer.from(original?.envelope ?? []))).toBe(true);
        const opened = await openEnvelope(ctx.provider, {
          recipientPrivateKey: device.dh.privateKey,
          bytes: envelope,
          tenantPublicKey: tenantKey.publicKey,
          now: Date.now(),
        });
        expect(new TextDecoder().decode(opened.body)).toBe(original?.body);
      }
      received += [...client.receipts.values()].reduce((a, b) => a + b, 0);
      duplicateDeliveries += client.duplicates;
      reconnects += client.reconnects;
      // Devices that were on the killed instance moved to a survivor; the others never dropped.
      if (i % INSTANCES === KILLED) {
        expect(client.reconnects).toBeGreaterThan(0);
        expect(client.connectedIndex).not.toBe(KILLED);
      } else {
        expect(client.reconnects).toBe(0);
      }
    }
    expect(received).toBe(MESSAGES + duplicateDeliveries);

    // The acknowledgements empty every mailbox: in the shared database, and as the survivors serve it.
    const survivors = endpoints.filter((_, i) => i !== KILLED);
    const deadline = Date.now() + 15_000;
    for (const device of devices) {
      while ((await ctx.stores.mailboxes.count(device.mailbox)) !== 0) {
        if (Date.now() > deadline) throw new Error('mailboxes not emptied by the acknowledgements');
        await sleep(50);
      }
      for (const survivor of survivors) {
        const res = await pinnedRequest(survivor.url, survivor.pin, 'GET', '/v1/messages', {
          credential: device.credential,
        });
        expect(res.status).toBe(200);
        expect(decodeMailboxPage(new Uint8Array(res.body)).items).toHaveLength(0);
      }
    }

    console.info(
      `instances-kill: sent ${MESSAGES} over ${INSTANCES} instances (instance ${KILLED} SIGKILLed after ${killedAt}); ` +
        `POST attempts ${counts.attempts}, failed ${counts.failedAttempts}, retries ${counts.retries}, ` +
        `accepted ${counts.accepted}, duplicate answers ${counts.duplicateResults}; ` +
        `envelope frames ${received}, duplicate deliveries before dedupe ${duplicateDeliveries}, ` +
        `delivered to the application ${clients.reduce((n, c) => n + c.delivered.size, 0)}; ` +
        `socket reconnects ${reconnects}`,
    );
  }, 60_000);
});
