/**
 * `admin.devices` against a running server (zero-touch admission, `spec/device-lists.md` §5): the
 * owner's key, certified by the organisation root, signs on this machine the next list of a user
 * that adds a device enrolled without linking; `admitManaged` finds such devices and admits the
 * ones `accept` allows, reporting what it did; the admitted device then finds itself on its
 * user's list; a device the list already holds is not a candidate any more. By default only
 * devices enrolled through a managed token are admitted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PIN_SCRYPT_FLOOR, ValidationError } from '@cloister/crypto';
import { type CloisterClient, clientOptionsFromManagedConfig, createClient } from '@cloister/client';
import type { CloisterServer } from '@cloister/server';
import { createMemoryAdapter } from '@cloister/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminClient, generateOrganisation, type OrganisationSigner } from '../src/index.js';
import { startTenant } from './helpers/tenant.js';

describe('admin.devices: zero-touch admission', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-admin-devices-'));
  let server: CloisterServer;
  let admin: AdminClient;
  let signer: OrganisationSigner;
  let url: string;
  const clients: CloisterClient[] = [];

  beforeAll(async () => {
    let provider: Awaited<ReturnType<typeof startTenant>>['provider'];
    let owner: Awaited<ReturnType<typeof startTenant>>['owner'];
    ({ server, admin, owner, provider } = await startTenant(dir));
    url = `https://127.0.0.1:${(server.app.server.address() as { port: number }).port}`;
    const org = await generateOrganisation(provider, { tenant: 'acme', admin: owner.admin });
    await admin.setOrganisationRoot(org.root.publicKey, org.owner.certificate);
    signer = { provider, key: org.owner, client: admin };
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A device of `user`, enrolled with a fresh invitation (one use) and started. */
  async function device(user: string): Promise<CloisterClient> {
    const invite = await admin.inviteUser({ user });
    const client = await createClient({
      server: { url, pin: server.pin },
      storage: createMemoryAdapter(),
      pinWrap: { scrypt: PIN_SCRYPT_FLOOR },
    });
    await client.enroll(invite.enrolmentCode as string, { pin: '2468-1357' });
    await client.start();
    clients.push(client);
    return client;
  }

  it('admits the devices accept allows, reports them, and the device finds itself listed', async () => {
    const phone = await device('alice');
    expect((await phone.linkStatus()).linked).toBe(true);
    const tablet = await device('alice');
    expect((await tablet.linkStatus()).linked).toBe(false);

    const state = await admin.devices.admissionState('alice');
    expect(state.list).not.toBeNull();
    expect(state.candidates.map((c) => c.device)).toEqual([tablet.me.deviceId]);

    const report = await admin.devices.admitManaged(signer, {
      users: ['alice'],
      accept: (c) => c.device === tablet.me.deviceId,
    });
    expect(report).toEqual({
      admitted: [{ user: 'alice', device: tablet.me.deviceId, epoch: 2 }],
      skipped: [],
    });
    expect((await tablet.linkStatus()).linked).toBe(true);
    expect((await admin.devices.admissionState('alice')).candidates).toEqual([]);
    // Nothing left to admit: a second run admits nothing.
    expect(await admin.devices.admitManaged(signer, { users: ['alice'], accept: () => true })).toEqual({
      admitted: [],
      skipped: [],
    });
    await expect(
      admin.devices.admit(signer, { user: 'alice', device: tablet.me.deviceId }),
    ).rejects.toBeInstanceOf(ValidationError);
  }, 120_000);

  it('by default admits only devices enrolled through a managed token', async () => {
    await device('bob');
    const laptop = await device('bob');
    // The MDM pushes a managed configuration; the device enrols from it with no user action.
    const { port } = server.app.server.address() as { port: number };
    const invite = await admin
      .withServer({ url: `https://127.0.0.1:${port}`, pin: server.pin })
      .inviteUser({ user: 'bob', managed: true });
    const tablet = await createClient(
      clientOptionsFromManagedConfig(invite.managedConfig, createMemoryAdapter(), {
        pinWrap: { scrypt: PIN_SCRYPT_FLOOR },
      }),
    );
    clients.push(tablet);
    await tablet.enrollFromManagedConfig(invite.managedConfig, { secret: new Uint8Array(32).fill(7) });
    await tablet.start();
    expect((await tablet.linkStatus()).linked).toBe(false);
    const state = await admin.devices.admissionState('bob');
    expect(state.candidates.map((c) => [c.device, c.enrolledVia])).toEqual([
      [laptop.me.deviceId, 'token'],
      [tablet.me.deviceId, 'managed'],
    ]);
    const report = await admin.devices.admitManaged(signer, { users: ['bob'] });
    expect(report.admitted).toEqual([{ user: 'bob', device: tablet.me.deviceId, epoch: 2 }]);
    expect((await tablet.linkStatus()).linked).toBe(true);
    expect((await laptop.linkStatus()).linked).toBe(false);
  }, 120_000);
});
