/**
 * Client compliance (spec/restrictions.md §5–§6), through the real routes: a device reports with
 * `POST /v1/compliance` (as itself), and `GET /admin/v1/compliance` lists the non-compliant
 * devices with their reasons. The attacks: a device that applies an old policy, one that claims
 * not to enforce `clipboard.copy` while the policy turns it off, and one that stops reporting, all
 * show up; a device cannot report for another; a malformed report changes nothing.
 */
import { type TenantId, tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AdminTestServer,
  createTenantAsOperator,
  login,
  startAdminServer,
} from './helpers/admin-api.js';
import { setUpDevice, type TestDevice } from './helpers/device-client.js';

let t: AdminTestServer;
let tenant: TenantId;
let session: string;
let created: Awaited<ReturnType<typeof createTenantAsOperator>>;
const SDK = '@cloister/client/0.1.0';

beforeAll(async () => {
  t = await startAdminServer(Date.UTC(2026, 0, 5, 9));
  created = await createTenantAsOperator(t, 'cmp');
  tenant = tenantId(created.id);
  session = await login(t, created.id, created.owner.email, created.owner.secret);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

async function revisionOf(d: TestDevice): Promise<string> {
  const res = await t.request('GET', '/v1/policy', { credential: d.credential });
  expect(res.status).toBe(200);
  return res.json.revision as string;
}

async function report(d: TestDevice, body: Record<string, unknown>) {
  return t.request('POST', '/v1/compliance', { credential: d.credential, json: body });
}

const ALL_SDK = ['disappearing.timer', 'files.download', 'files.send', 'media.send', 'messages.forward'];

async function nonCompliant(query = '') {
  const res = await t.as({ session }, 'GET', `/admin/v1/compliance?limit=200${query}`);
  expect(res.status).toBe(200);
  return res.json.items as {
    user: string;
    device: number;
    reasons: string[];
    notEnforced: string[];
    appVersion: string | null;
  }[];
}

const find = (items: Awaited<ReturnType<typeof nonCompliant>>, d: TestDevice) =>
  items.find((i) => i.user === d.user && i.device === d.device);

describe('compliance', () => {
  it('lists a device that never reported as missing, and drops it once it reports the current revision', async () => {
    const d = await setUpDevice(t.server.context, tenant, 'ann', 1);
    expect(find(await nonCompliant(), d)?.reasons).toEqual(['missing']);
    const res = await report(d, {
      revision: await revisionOf(d),
      sdk: SDK,
      enforced: ALL_SDK,
      appEnforced: [],
      appVersion: 'ward-app/2.4.1',
      platform: 'iOS 18.2',
    });
    expect(res.status).toBe(204);
    expect(find(await nonCompliant(), d)).toBeUndefined();
    const stored = await t.server.context.stores.devices.get(tenant, userId('ann'), 1 as never);
    expect([stored?.appVersion, stored?.platform]).toEqual(['ward-app/2.4.1', 'iOS 18.2']);
  });

  it('attack: a device that applied an old policy is listed with reason revision', async () => {
    const d = await setUpDevice(t.server.context, tenant, 'ben', 1);
    const old = await revisionOf(d);
    await t.server.context.stores.policies.set(
      { kind: 'user', tenant, user: userId('ben') },
      {
        'files.download': { enabled: false, locked: false },
      },
    );
    expect(await revisionOf(d)).not.toBe(old);
    await report(d, { revision: old, sdk: SDK, enforced: ALL_SDK, appEnforced: [] });
    expect(find(await nonCompliant(), d)?.reasons).toEqual(['revision']);
  });

  it('attack: a device that does not claim clipboard.copy while the policy turns it off is listed', async () => {
    const d = await setUpDevice(t.server.context, tenant, 'cat', 1);
    await t.server.context.stores.policies.set(
      { kind: 'user', tenant, user: userId('cat') },
      {
        'clipboard.copy': { enabled: false, locked: false },
      },
    );
    const revision = await revisionOf(d);
    await report(d, { revision, sdk: SDK, enforced: ALL_SDK, appEnforced: [] });
    const item = find(await nonCompliant(), d);
    expect(item?.reasons).toEqual(['not-enforced']);
    expect(item?.notEnforced).toEqual(['clipboard.copy']);
    // Once the app declares it, the device is compliant.
    await report(d, { revision, sdk: SDK, enforced: ALL_SDK, appEnforced: ['clipboard.copy'] });
    expect(find(await nonCompliant(), d)).toBeUndefined();
  });

  it('attack: a device that stops reporting shows up as stale', async () => {
    const d = await setUpDevice(t.server.context, tenant, 'dan', 1);
    await report(d, { revision: await revisionOf(d), sdk: SDK, enforced: ALL_SDK, appEnforced: [] });
    expect(find(await nonCompliant(), d)).toBeUndefined();
    t.time += 86_400_000 + 1;
    session = await login(t, created.id, created.owner.email, created.owner.secret);
    expect(find(await nonCompliant(), d)?.reasons).toEqual(['stale']);
    expect(find(await nonCompliant('&maxAgeMs=172800000'), d)).toBeUndefined();
  });

  it('refuses a malformed report and changes nothing; a device reports only for itself', async () => {
    const d = await setUpDevice(t.server.context, tenant, 'eve', 1);
    const revision = await revisionOf(d);
    for (const bad of [
      { revision, sdk: SDK, enforced: 'all', appEnforced: [] },
      { revision: '', sdk: SDK, enforced: [], appEnforced: [] },
      { revision, sdk: SDK, enforced: [], appEnforced: [], device: 2 },
      { revision, sdk: 'x'.repeat(65), enforced: [], appEnforced: [] },
      { revision, sdk: SDK, enforced: Array.from({ length: 65 }, (_, i) => `n${i}`), appEnforced: [] },
    ]) {
      expect((await report(d, bad)).status).toBe(400);
    }
    expect(await t.server.context.stores.compliance.get(tenant, userId('eve'), 1 as never)).toBeUndefined();
    const res = await t.request('POST', '/v1/compliance', {
      json: { revision, sdk: SDK, enforced: [], appEnforced: [] },
    });
    expect(res.status).toBe(401);
  });
});
