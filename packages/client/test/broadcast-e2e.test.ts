/**
 * Broadcasts end to end (spec/broadcast.md, R21), through a real server over HTTPS with the admin
 * SDK on the administrator's side: the owner signs a broadcast, the SDK checks every device
 * against its user's signed device list, seals the object to each device and submits it; every
 * device of the tenant (four users, one with two devices, one device offline at send time and
 * woken by a content-free push hint) shows it as a system notice; a pool broadcast reaches only
 * the pool's members; the sender reads counts after delivery and read; no row the server writes
 * holds the broadcast's text (a canary searched in every row written, in clear, through the
 * server's own storage view); a broadcast the operator signs under its own root, or one the SDK
 * would seal to a device the operator added, is refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getProvider, PIN_SCRYPT_FLOOR, sealOrganisationEnvelopes } from '@cloister/crypto';
import {
  generateOrganisationRoot,
  issueAdminCertificate,
  poolId,
  ROOT_FINGERPRINT_PREFIX,
  signOrganisationObject,
  tenantId,
  userId,
} from '@cloister/protocol';
import { type CloisterServer, createEnrolmentToken, createServer } from '@cloister/server';
import { createMemoryAdapter, type RowInput, type StorageTx } from '@cloister/storage';
import { TOTP, URI } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminClient,
  type BroadcastSent,
  type GeneratedOrganisation,
  generateOrganisation,
  type OrganisationSigner,
  signDelegation,
} from '../../admin/src/index.js';
import { pinnedTransport } from '../../admin/src/node.js';
import { type ClientEvent, type CloisterClient, createClient } from '../src/index.js';

const OPERATOR_TOKEN = randomBytes(32).toString('base64url');
const PASSWORD = 'owner password 1234';
const PIN = '2468-1357';
const TENANT = tenantId('acme');
const CANARY = 'canary-broadcast-7f3a: the north gate closes at 18:00';

type Broadcast = Extract<ClientEvent, { type: 'broadcast' }>['broadcast'];

function totp(uri: string): string {
  const otp = URI.parse(uri);
  if (!(otp instanceof TOTP)) throw new Error('not a TOTP URI');
  return otp.generate();
}

/** Resolves when `predicate` holds, polling; rejects after `ms`. */
async function until(predicate: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('broadcast end to end', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-broadcast-e2e-'));
  const hints: string[] = [];
  /** Every row the server's stores write, in clear (partition, sort key, value), during a window. */
  const written: Buffer[] = [];
  let spying = false;
  let server: CloisterServer;
  let url: string;
  let owner: AdminClient;
  let org: GeneratedOrganisation;
  let signer: OrganisationSigner;
  const clients: CloisterClient[] = [];
  const shown = new Map<CloisterClient, Broadcast[]>();
  const refusals = new Map<CloisterClient, ClientEvent[]>();
  let alice: CloisterClient;
  let bob1: CloisterClient;
  let bob2: CloisterClient;
  let carol: CloisterClient;
  let dave: CloisterClient;

  async function device(user: string, pool?: string): Promise<CloisterClient> {
    const { token } = await createEnrolmentToken(server.context, {
      tenant: TENANT,
      user: userId(user),
      ...(pool === undefined ? {} : { pool: poolId(pool) }),
    });
    const client = await createClient({
      server: { url, pin: server.pin },
      storage: createMemoryAdapter(),
      pinWrap: { scrypt: PIN_SCRYPT_FLOOR },
    });
    await client.enroll(`${token}.${org.rootFingerprint.slice(ROOT_FINGERPRINT_PREFIX.length)}`, {
      pin: PIN,
    });
    shown.set(client, []);
    refusals.set(client, []);
    client.on('broadcast', (e) => shown.get(client)?.push(e.broadcast));
    client.on('organisation-refused', (e) => refusals.get(client)?.push(e));
    client.on('undecryptable', (e) => refusals.get(client)?.push(e));
    clients.push(client);
    await client.start();
    return client;
  }

  beforeAll(async () => {
    server = await createServer({
      dataDir: dir,
      logLevel: 'silent',
      operatorToken: OPERATOR_TOKEN,
      rateLimitPerMinute: 100_000,
      notifier: {
        async notify({ mailboxHint }) {
          hints.push(mailboxHint);
        },
      },
    });
    url = await server.listen({ host: '127.0.0.1', port: 0 });
    // A spy on the server's storage view (below the stores, above encryption at rest).
    const adapter = server.context.adapter as unknown as {
      transaction: (fn: (tx: StorageTx) => Promise<unknown>, o?: unknown) => Promise<unknown>;
    };
    const original = adapter.transaction.bind(adapter);
    const record = (row: RowInput) => {
      if (spying) written.push(Buffer.concat([row.partition, row.sort, row.value]));
    };
    adapter.transaction = (fn, o) =>
      original(
        (tx) =>
          fn(
            new Proxy(tx, {
              get(target, name, receiver) {
                const value = Reflect.get(target, name, receiver);
                if (typeof value !== 'function') return value;
                if (name === 'put')
                  return (table: string, row: RowInput, options?: unknown) => {
                    record(row);
                    return value.call(target, table, row, options);
                  };
                if (name === 'putMany' || name === 'claimMany')
                  return (table: string, rows: readonly RowInput[], ...rest: unknown[]) => {
                    for (const row of rows) record(row);
                    return value.call(target, table, rows, ...rest);
                  };
                return value.bind(target);
              },
            }),
          ),
        o,
      );
    const transport = () => pinnedTransport({ url, pin: server.pin });
    const operator = new AdminClient({
      transport: transport(),
      credential: { kind: 'operator', token: OPERATOR_TOKEN },
    });
    const created = await operator.createTenant({
      id: 'acme',
      name: 'ACME',
      owner: { email: 'olivia@acme.example', name: 'Olivia', password: PASSWORD },
    });
    const provider = await getProvider();
    const { client } = await AdminClient.login(
      { transport: transport(), provider },
      { tenant: 'acme', email: 'olivia@acme.example', password: PASSWORD, totp: totp(created.owner.totpUri) },
    );
    owner = client;
    org = await generateOrganisation(provider, { tenant: 'acme', admin: created.owner.admin });
    await owner.setOrganisationRoot(org.root.publicKey, org.owner.certificate);
    signer = { provider, key: org.owner, client: owner };
    await signDelegation(signer);
    await server.context.stores.pools.put(TENANT, poolId('icu'), { name: 'ICU' });
    alice = await device('alice', 'icu');
    bob1 = await device('bob');
    bob2 = await device('bob');
    // Bob's second device joins his signed device list (linked from his first).
    await bob1.linkDevice(await bob2.linkCode());
    await bob2.linkStatus();
    carol = await device('carol', 'icu');
    dave = await device('dave');
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reaches every device of the tenant as a system notice, the offline one through a push hint; counts follow', async () => {
    // Dave's device is offline when the broadcast is sent.
    await dave.stop();
    const daveDevice = (await server.context.stores.devices.list(TENANT, userId('dave')))[0];
    const progress: string[] = [];
    spying = true;
    let sent: BroadcastSent;
    try {
      sent = await owner.broadcasts.send({ text: CANARY, audience: { kind: 'tenant' } }, signer, {
        onProgress: (p) => progress.push(`${p.phase} ${p.done}/${p.total}`),
      });
      const online = [alice, bob1, bob2, carol];
      await until(() => online.every((c) => (shown.get(c) ?? []).length === 1));
    } finally {
      spying = false;
    }
    expect(sent).toMatchObject({ queued: 5, duplicates: 0, refused: [] });
    expect(progress).toContain('send 5/5');
    // The offline device got a content-free push hint naming only its mailbox.
    expect(hints).toContain(daveDevice?.mailbox);
    await dave.start();
    await until(() => (shown.get(dave) ?? []).length === 1);
    for (const c of [alice, bob1, bob2, carol, dave]) {
      expect(shown.get(c)).toEqual([
        {
          id: sent.broadcastId,
          text: CANARY,
          issuedAt: expect.any(Number),
          from: org.owner.admin,
          role: 'owner',
        },
      ]);
    }
    // Delivered receipts from all five; read from two.
    await until(async () => (await owner.broadcasts.counts(sent.broadcastId)).delivered === 5);
    await alice.markBroadcastRead(sent.broadcastId);
    await bob2.markBroadcastRead(sent.broadcastId);
    await bob2.markBroadcastRead(sent.broadcastId); // counted once
    expect(await owner.broadcasts.counts(sent.broadcastId)).toMatchObject({
      broadcastId: sent.broadcastId,
      sequence: sent.sequence,
      devices: 5,
      delivered: 5,
      read: 2,
    });
    // A device the broadcast was not queued for cannot move the counts.
    await expect(alice.markBroadcastRead('A'.repeat(22))).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });

    // The canary: no row the server wrote holds the text in any usual encoding; the spy did see
    // the rows of the broadcast in clear (its id is a key of the server's broadcast table).
    const text = Buffer.from(CANARY);
    const forms = [
      text,
      Buffer.from(text.toString('base64')),
      Buffer.from(text.toString('base64url')),
      Buffer.from(text.toString('hex')),
    ];
    expect(written.length).toBeGreaterThan(5);
    expect(written.some((row) => row.includes(Buffer.from(sent.broadcastId)))).toBe(true);
    for (const row of written)
      for (const form of forms) expect(row.includes(form.subarray(0, 24))).toBe(false);
  }, 120_000);

  it('a pool broadcast reaches only the pool’s members', async () => {
    const before = new Map(clients.map((c) => [c, (shown.get(c) ?? []).length]));
    const sent = await owner.broadcasts.send(
      { text: 'ICU handover at 19:00', audience: { kind: 'pools', pools: ['icu'] } },
      signer,
    );
    expect(sent).toMatchObject({ queued: 2, refused: [] });
    await until(() => [alice, carol].every((c) => (shown.get(c) ?? []).length === (before.get(c) ?? 0) + 1));
    expect(shown.get(alice)?.at(-1)?.text).toBe('ICU handover at 19:00');
    // Give the others time to receive anything, then check they got nothing.
    await new Promise((r) => setTimeout(r, 500));
    for (const c of [bob1, bob2, dave]) expect((shown.get(c) ?? []).length).toBe(before.get(c));
    expect(await owner.broadcasts.counts(sent.broadcastId)).toMatchObject({ devices: 2 });
  }, 60_000);

  it('refuses a broadcast the operator signs under its own root, sealed and queued through the real server', async () => {
    // The operator controls the server: it makes an organisation root of its own, signs a
    // broadcast with it and queues an organisation envelope straight into Alice's mailbox.
    const provider = await getProvider();
    const root = await generateOrganisationRoot(provider);
    const now = Date.now();
    const certificate = await issueAdminCertificate(provider, root.privateKey, {
      tenant: TENANT,
      admin: org.owner.admin,
      adminPublicKey: root.publicKey,
      role: 'owner',
      issuedAtMs: now - 60_000,
      expiresAtMs: now + 86_400_000,
      serial: 9,
    });
    const forged = await signOrganisationObject(provider, root.privateKey, certificate, {
      kind: 'broadcast',
      tenant: TENANT,
      issuedAtMs: now,
      sequence: 1_000,
      payload: {
        broadcastId: new Uint8Array(16).fill(7),
        audience: { kind: 'tenant' },
        text: 'Reset your password at evil.example',
      },
    });
    const target = (await server.context.stores.devices.list(TENANT, userId('alice')))[0];
    if (target === undefined) throw new Error('no device');
    const [envelope] = await sealOrganisationEnvelopes(provider, {
      recipients: [
        {
          publicKey: target.identity.dhKey,
          mailbox: new TextEncoder().encode(target.mailbox),
          deliveryToken: new Uint8Array(0),
        },
      ],
      object: forged,
    });
    const countBefore = (shown.get(alice) ?? []).length;
    const refusedBefore = (refusals.get(alice) ?? []).length;
    await server.context.stores.mailboxes.enqueueMany([
      {
        mailbox: target.mailbox,
        messageId: 'm_forged-broadcast-0001' as never,
        envelope: envelope as Uint8Array,
        expiresAt: Date.now() + 86_400_000,
      },
    ]);
    // The device fetches it on its next connection.
    await alice.stop();
    await alice.start();
    await until(() => (refusals.get(alice) ?? []).length > refusedBefore);
    expect(refusals.get(alice)?.at(-1)).toEqual({
      type: 'organisation-refused',
      kind: 'broadcast',
      reason: 'ERR_INVALID_KEY',
    });
    expect((shown.get(alice) ?? []).length).toBe(countBefore);
  }, 60_000);

  it('never seals to a device the operator added without an entry on its user’s signed list', async () => {
    // The operator enrols a device of its own for Carol (a token, no link from her devices).
    const ghost = await device('carol', 'icu');
    const before = (shown.get(ghost) ?? []).length;
    const sent = await owner.broadcasts.send(
      { text: 'Ward meeting moved', audience: { kind: 'users', users: ['carol'] } },
      signer,
    );
    const ghostId = ghost.me.deviceId;
    expect(sent.refused).toEqual([{ user: 'carol', device: ghostId, reason: 'not-listed' }]);
    expect(sent.queued).toBe(1);
    await until(() => (shown.get(carol) ?? []).at(-1)?.text === 'Ward meeting moved');
    await new Promise((r) => setTimeout(r, 300));
    expect((shown.get(ghost) ?? []).length).toBe(before);
  }, 60_000);
});
