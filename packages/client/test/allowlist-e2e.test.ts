/**
 * R26 through the client: an enrolment code made for a user before the organisation's allowlist
 * left them out is refused when redeemed, as the typed `EnrolmentRefusedError`; the device stores
 * nothing (it stays unenrolled) and the code is not used up: once the user is admitted, it enrols.
 */
import { userId } from '@cloister/protocol';
import { createMemoryAdapter } from '@cloister/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, EnrolmentRefusedError } from '../src/index.js';
import { PIN, startSystem, TENANT, type TestSystem } from './helpers/system.js';

let sys: TestSystem;

beforeAll(async () => {
  sys = await startSystem();
}, 60_000);

afterAll(async () => {
  await sys?.close();
});

describe('the allowlist at enrolment', () => {
  it('refuses a user outside it with EnrolmentRefusedError, stores nothing, and enrols once admitted', async () => {
    const stores = sys.server.context.stores;
    await stores.users.create(TENANT, userId('mia'), { displayName: 'Mia', email: 'mia@outside.example' });
    const code = await sys.token('mia');
    await stores.allowlist.replace(TENANT, { enabled: true, domains: ['acme.example'] });

    const storage = createMemoryAdapter();
    const client = await createClient({ server: { url: sys.url, pin: sys.server.pin }, storage });
    const refused = await client.enroll(code, { pin: PIN }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EnrolmentRefusedError);
    expect((refused as EnrolmentRefusedError).code).toBe('ERR_FORBIDDEN');
    expect((refused as EnrolmentRefusedError).reason).toBe('allowlist');
    expect(client.status).toBe('unenrolled');
    expect(await stores.devices.list(TENANT, userId('mia'))).toEqual([]);

    await stores.allowlist.add(TENANT, { emails: ['mia@outside.example'] });
    await client.enroll(code, { pin: PIN });
    expect(client.status).not.toBe('unenrolled');
    expect(await stores.devices.list(TENANT, userId('mia'))).toHaveLength(1);
    await client.close();
    await stores.allowlist.replace(TENANT, { enabled: false });
  }, 60_000);
});
