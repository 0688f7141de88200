import { tenantId, userId } from '@cloister/protocol';
import { createMemoryAdapter } from '@cloister/storage';
import { beforeEach, describe, expect, it } from 'vitest';
import { createServerStores, MAX_ALLOWLIST_ENTRIES, type ServerStores } from '../src/store/index.js';

const acme = tenantId('acme');
const alice = userId('alice');
let stores: ServerStores;

beforeEach(async () => {
  stores = createServerStores(createMemoryAdapter({ now: () => 1_000_000 }));
  await stores.tenants.create(acme, { name: 'ACME', signingKey: new Uint8Array(32).fill(7) });
  await stores.domains.add(acme, 'acme.example');
});

describe('allowlist store', () => {
  it('allows everyone while off; on, matches ids, addresses (any case) and exact domains only', async () => {
    expect(await stores.allowlist.allows(acme, { id: alice, email: null })).toBe(true);
    await stores.allowlist.replace(acme, {
      enabled: true,
      domains: ['Partner.example'],
      users: [userId('carol')],
      emails: ['Dave@Elsewhere.example'],
    });
    const allows = (id: string, email: string | null) =>
      stores.allowlist.allows(acme, { id: userId(id), email });
    expect(await allows('carol', null)).toBe(true);
    expect(await allows('alice', null)).toBe(false);
    expect(await allows('alice', 'alice@PARTNER.example')).toBe(true);
    expect(await allows('alice', 'alice@eu.partner.example')).toBe(false);
    expect(await allows('dave', 'dave@elsewhere.example')).toBe(true);
    expect(await allows('erin', 'erin@elsewhere.example')).toBe(false);
    // The tenant's own domain counts only with tenantDomains.
    expect(await allows('fay', 'fay@acme.example')).toBe(false);
    await stores.allowlist.replace(acme, { enabled: true, tenantDomains: true });
    expect(await allows('fay', 'fay@acme.example')).toBe(true);
    await stores.domains.remove(acme, 'acme.example');
    expect(await allows('fay', 'fay@acme.example')).toBe(false);
  });

  it('refuses bad entries and more than the limit, changing nothing', async () => {
    await stores.allowlist.replace(acme, { enabled: true, domains: ['partner.example'] });
    const before = await stores.allowlist.get(acme);
    for (const bad of [{ domains: ['not a domain'] }, { emails: ['nobody'] }, { users: ['has space'] }]) {
      await expect(stores.allowlist.add(acme, bad as never)).rejects.toMatchObject({
        code: 'ERR_VALIDATION',
      });
    }
    const many = Array.from({ length: MAX_ALLOWLIST_ENTRIES }, (_, i) => userId(`u${i}`));
    await expect(stores.allowlist.add(acme, { users: many })).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
    });
    expect(await stores.allowlist.get(acme)).toEqual(before);
    await expect(stores.allowlist.get(tenantId('other'))).resolves.toMatchObject({
      enabled: false,
      domains: [],
    });
  });
});
