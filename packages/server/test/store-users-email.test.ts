import { tenantId, userId } from '@cloister/protocol';
import { createMemoryAdapter } from '@cloister/storage';
import { beforeEach, describe, expect, it } from 'vitest';
import { createServerStores, type ServerStores } from '../src/store/index.js';
import { emailDomain, MAX_EMAIL, normaliseEmail } from '../src/store/users.js';

const acme = tenantId('acme');
let stores: ServerStores;

beforeEach(async () => {
  stores = createServerStores(createMemoryAdapter({ now: () => 1_000_000 }));
  await stores.tenants.create(acme, { name: 'ACME', signingKey: new Uint8Array(32).fill(7) });
});

describe('user e-mail addresses', () => {
  it('keeps the local part, lower-cases the domain, and derives the domain', () => {
    expect(normaliseEmail('Alice.B+x@Example.ORG')).toBe('Alice.B+x@example.org');
    expect(emailDomain('Alice@example.org')).toBe('example.org');
  });

  it('refuses what is not an address, or longer than 254 characters', () => {
    const long = `${'a'.repeat(64)}@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(10)}.org`;
    expect(long.length).toBeGreaterThan(MAX_EMAIL);
    for (const bad of [
      '',
      'alice',
      '@example.org',
      'alice@',
      'alice@localhost',
      'al..ice@example.org',
      '.alice@example.org',
      'alice@exa_mple.org',
      'alice@-example.org',
      'a b@example.org',
      'alice@example.org\n',
      long,
      42,
    ]) {
      expect(() => normaliseEmail(bad), String(bad)).toThrow(
        expect.objectContaining({ code: 'ERR_VALIDATION' }),
      );
    }
  });

  it('stores, changes and removes a user’s address; an invalid one changes nothing', async () => {
    const alice = userId('alice');
    const created = await stores.users.create(acme, alice, {
      displayName: 'Alice',
      email: 'alice@ACME.example',
    });
    expect(created.email).toBe('alice@acme.example');
    expect((await stores.users.get(acme, alice))?.email).toBe('alice@acme.example');
    await expect(stores.users.update(acme, alice, { email: 'not an address' })).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
    });
    expect((await stores.users.get(acme, alice))?.email).toBe('alice@acme.example');
    await stores.users.update(acme, alice, { email: null });
    expect((await stores.users.get(acme, alice))?.email).toBeNull();
    const bob = await stores.users.create(acme, userId('bob'), { displayName: 'Bob' });
    expect(bob.email).toBeNull();
  });
});
