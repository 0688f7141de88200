/**
 * `admin.bulk` filters by policy compliance against a running server: a device that applied an
 * old policy revision and one that never reported are found with `compliant: false`, one that
 * reports the revision in force with `compliant: true` (devices and users, page by page), and a
 * bulk dry run selects its users by the criterion. The devices and their reports are written
 * through the server's stores (as enrolment and `POST /v1/compliance` would).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceId, registrationId } from '@cloister/crypto';
import { tenantId, userId } from '@cloister/protocol';
import { type CloisterServer, newMailboxId } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminClient } from '../src/index.js';
import { startTenant } from './helpers/tenant.js';

const T = tenantId('acme');

describe('admin.bulk: the compliant criterion', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-admin-bulk-'));
  let server: CloisterServer;
  let admin: AdminClient;

  async function addDevice(user: string, id: number) {
    const stores = server.context.stores;
    if ((await stores.users.get(T, userId(user))) === undefined)
      await stores.users.create(T, userId(user), { displayName: user });
    await stores.devices.add(T, userId(user), deviceId(id), {
      identity: {
        signingKey: new Uint8Array(randomBytes(32)),
        dhKey: new Uint8Array(randomBytes(32)),
        dhKeySignature: new Uint8Array(64),
      },
      registrationId: registrationId(id),
      mailbox: await newMailboxId(server.context.provider),
      credentialHash: new Uint8Array(randomBytes(32)),
    });
  }
  const reportAs = (user: string, id: number, revision: string) =>
    server.context.stores.compliance.put(T, userId(user), deviceId(id), {
      revision,
      sdk: '@cloister/client/0.1.0',
      enforced: ['disappearing.timer', 'files.download', 'files.send', 'media.send', 'messages.forward'],
      appEnforced: [],
    });

  beforeAll(async () => {
    ({ server, admin } = await startTenant(dir));
    await addDevice('old', 1);
    await addDevice('current', 1);
    await addDevice('silent', 1);
    // The revision in force, as the compliance listing states it for a device that never reported.
    const listed = await admin.restrictions.nonCompliant({ limit: 10 });
    const revision = listed.items.find((i) => i.user === 'current')?.currentRevision;
    expect(revision).toBeDefined();
    await reportAs('current', 1, revision as string);
    await reportAs('old', 1, `${revision}-before`);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds devices and users by compliance, page by page', async () => {
    const devices = async (compliant: boolean) => {
      const out: string[] = [];
      for await (const d of admin.bulk.devices({ compliant }, 1)) out.push(`${d.user}/${d.device.id}`);
      return out.sort();
    };
    expect(await devices(false)).toEqual(['old/1', 'silent/1']);
    expect(await devices(true)).toEqual(['current/1']);
    const users = async (compliant: boolean) => {
      const out: string[] = [];
      for await (const u of admin.bulk.users({ compliant, status: 'active' }, 1)) out.push(u.user.id);
      return out.sort();
    };
    expect(await users(false)).toEqual(['old', 'silent']);
    expect(await users(true)).toEqual(['current']);
  });

  it('a bulk dry run selects its users by compliance and changes nothing', async () => {
    const plan = await admin.bulk.dryRun('block', { filter: { compliant: false } });
    expect(plan.items.map((i) => i.user).sort()).toEqual(['old', 'silent']);
    expect((await server.context.stores.users.get(T, userId('old')))?.blocked).toBe(false);
  });
});
