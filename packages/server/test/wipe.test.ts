/**
 * Remote wipe on the server (R28, spec/remote-wipe.md §5): issuing blocks the device and stores a
 * tenant-signed command; the blocked device can still fetch it and confirm it with a report signed
 * by its identity key; nothing else of the device works, its socket closes with 1008, and no other
 * device can fetch or confirm the wipe.
 */
import {
  type CryptoProvider,
  type DeviceIdentity,
  deviceId,
  generateDeviceIdentity,
  registrationId,
  signWipeReport,
  toPublicIdentity,
  verifyWipeCommand,
} from '@cloister/crypto';
import { type TenantId, tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { authorizationHeader, credentialHash } from '../src/auth.js';
import type { ServerContext } from '../src/context.js';
import { newMailboxId } from '../src/delivery-token.js';
import { keyRoutes } from '../src/routes/keys.js';
import { wipeRoutes } from '../src/routes/wipe.js';
import { createWsRoutes } from '../src/routes/ws.js';
import { NotFoundError } from '../src/store/index.js';
import { createTenant } from '../src/tenants.js';
import { issueWipe, wipeStatus } from '../src/wipe.js';
import { startTestServer, type TestServer } from './helpers/server.js';

let t: TestServer;
let ctx: ServerContext;
let provider: CryptoProvider;
let tenantKey: Uint8Array;
const acme: TenantId = tenantId('acme');

interface Dev {
  readonly user: string;
  readonly id: number;
  readonly identity: DeviceIdentity;
  readonly credential: Uint8Array;
}

async function addDevice(user: string, id: number): Promise<Dev> {
  if ((await ctx.stores.users.get(acme, userId(user))) === undefined) {
    await ctx.stores.users.create(acme, userId(user), { displayName: user });
  }
  const identity = await generateDeviceIdentity(provider);
  const credential = await provider.randomBytes(32);
  await ctx.stores.devices.add(acme, userId(user), deviceId(id), {
    identity: toPublicIdentity(identity),
    registrationId: registrationId(id),
    mailbox: await newMailboxId(provider),
    credentialHash: await credentialHash(ctx, credential),
  });
  return { user, id, identity, credential };
}

const target = (d: Dev) => ({ tenant: acme, user: userId(d.user), device: deviceId(d.id) });
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

async function fetchCommand(d: Dev): Promise<string | null> {
  const res = await t.request('GET', '/v1/wipe', { credential: d.credential });
  expect(res.status).toBe(200);
  return res.json.command;
}

async function report(d: Dev, commandId: Uint8Array, signer = d.identity.signingKeyPair.privateKey) {
  const bytes = await signWipeReport(provider, signer, { commandId, wipedAt: 1_800_000_000_000 });
  return t.request('POST', '/v1/wipe/report', { json: { report: b64(bytes) }, credential: d.credential });
}

beforeAll(async () => {
  t = await startTestServer({ extraRoutes: [keyRoutes, wipeRoutes, createWsRoutes({ recheckMs: 1 })] });
  ctx = t.server.context;
  provider = ctx.provider;
  tenantKey = (await createTenant(ctx, { id: acme, name: 'ACME' })).signingPublicKey;
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('remote wipe', () => {
  it('blocks the device, hands it a command signed by the tenant and accepts its report', async () => {
    const alice = await addDevice('alice', 1);
    expect((await t.request('GET', '/v1/keys/count', { credential: alice.credential })).status).toBe(200);
    expect(await fetchCommand(alice)).toBeNull();
    expect(await wipeStatus(ctx, target(alice))).toEqual({ state: 'none' });

    const issued = await issueWipe(ctx, target(alice));
    const status = await wipeStatus(ctx, target(alice));
    expect(status).toMatchObject({ state: 'pending', commandId: issued.commandId });
    expect((await ctx.stores.devices.get(acme, userId('alice'), deviceId(1)))?.blocked).toBe(true);
    const normal = await t.request('GET', '/v1/keys/count', { credential: alice.credential });
    expect(normal.status).toBe(403);
    expect(normal.json.error.code).toBe('ERR_FORBIDDEN');

    const again = await issueWipe(ctx, target(alice));
    expect(again.commandId).toBe(issued.commandId);
    expect(b64(again.command)).toBe(b64(issued.command));

    const fetched = await fetchCommand(alice);
    expect(fetched).toBe(b64(issued.command));
    const command = await verifyWipeCommand(provider, new Uint8Array(Buffer.from(fetched!, 'base64url')), {
      tenantPublicKey: tenantKey,
      tenant: 'acme',
      userId: 'alice',
      deviceId: 1,
    });
    expect(b64(command.commandId)).toBe(issued.commandId);
    expect(status.state === 'pending' && status.issuedAt).toBe(command.issuedAt);

    const audit = await ctx.stores.audit.list(acme, { fromSeq: 1, limit: 10 });
    expect(audit.map((r) => [r.action, r.target])).toContainEqual(['device.wipe', 'alice/1']);

    expect((await report(alice, command.commandId)).status).toBe(204);
    const confirmed = await wipeStatus(ctx, target(alice));
    expect(confirmed).toMatchObject({ state: 'confirmed', commandId: issued.commandId });
    expect((await report(alice, command.commandId)).status).toBe(204);
    expect(await wipeStatus(ctx, target(alice))).toEqual(confirmed);
    // A restarted client still learns it was wiped.
    expect(await fetchCommand(alice)).toBe(b64(issued.command));
  });

  it('refuses a tampered report, a report signed by another key or for another command, changing nothing', async () => {
    const bob = await addDevice('bob', 1);
    const issued = await issueWipe(ctx, target(bob));
    const commandId = new Uint8Array(Buffer.from(issued.commandId, 'base64url'));
    const good = await signWipeReport(provider, bob.identity.signingKeyPair.privateKey, {
      commandId,
      wipedAt: 5,
    });
    const tampered = good.slice();
    tampered[tampered.length - 70] = (tampered[tampered.length - 70] ?? 0) ^ 1;
    const res = await t.request('POST', '/v1/wipe/report', {
      json: { report: b64(tampered) },
      credential: bob.credential,
    });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('ERR_FORBIDDEN');
    const stranger = await generateDeviceIdentity(provider);
    expect((await report(bob, commandId, stranger.signingKeyPair.privateKey)).status).toBe(403);
    const other = await report(bob, new Uint8Array(16).fill(3));
    expect(other.status).toBe(403);
    const malformed = await t.request('POST', '/v1/wipe/report', {
      json: { report: b64(good.subarray(1)) },
      credential: bob.credential,
    });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.code).toBe('ERR_DECODE');
    expect((await wipeStatus(ctx, target(bob))).state).toBe('pending');
  });

  it('keeps each device to its own wipe and refuses unknown devices and credentials', async () => {
    const carol = await addDevice('carol', 1);
    const dave = await addDevice('dave', 1);
    const issued = await issueWipe(ctx, target(carol));
    expect(await fetchCommand(dave)).toBeNull();
    const commandId = new Uint8Array(Buffer.from(issued.commandId, 'base64url'));
    // Dave signs a report for Carol's command with his own key: there is no wipe for Dave.
    expect((await report(dave, commandId)).status).toBe(403);
    expect((await wipeStatus(ctx, target(carol))).state).toBe('pending');
    expect((await wipeStatus(ctx, target(dave))).state).toBe('none');
    expect((await t.request('GET', '/v1/keys/count', { credential: dave.credential })).status).toBe(200);
    const unknown = await t.request('GET', '/v1/wipe', { credential: new Uint8Array(32).fill(9) });
    expect(unknown.status).toBe(401);
    expect((await t.request('GET', '/v1/wipe')).status).toBe(401);
    await expect(
      issueWipe(ctx, { tenant: acme, user: userId('carol'), device: deviceId(7) }),
    ).rejects.toThrow(NotFoundError);
  });

  it('closes an open delivery socket of the wiped device with 1008', async () => {
    const erin = await addDevice('erin', 1);
    const ws = new WebSocket(`${t.url.replace('https:', 'wss:')}/v1/ws`, {
      rejectUnauthorized: false,
      headers: { authorization: authorizationHeader(erin.credential) },
    });
    ws.on('error', () => undefined);
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    });
    await issueWipe(ctx, target(erin));
    expect(await closed).toBe(1008);
  });
});
