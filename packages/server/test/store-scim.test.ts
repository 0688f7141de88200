/**
 * The directory record, its indexes and the SCIM token store on every adapter kind the storage
 * conformance runs on here (memory, and PGlite / PostgreSQL through the server tests): the record
 * round-trips, a directory id is unique per tenant and source, look-ups by directory id and by
 * e-mail (case-insensitive) follow changes and deletions, every change bumps the revision, and a
 * tenant holds at most 5 live SCIM tokens.
 */
import { poolId, tenantId, userId } from '@cloister/protocol';
import { createMemoryAdapter } from '@cloister/storage';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, createServerStores, MAX_SCIM_TOKENS, type ServerStores } from '../src/store/index.js';

const acme = tenantId('acme');
const dir = (externalId: string | null, state: 'active' | 'disabled' | 'left' = 'active') => ({
  source: 'scim' as const,
  externalId,
  state,
  since: 1,
  reenableRequested: false,
});

describe('directory records and SCIM tokens (memory adapter)', () => {
  let s: ServerStores;
  beforeEach(async () => {
    s = createServerStores(createMemoryAdapter());
    await s.tenants.create(acme, { name: 'ACME', signingKey: new Uint8Array(32) });
  });

  it('keeps the record, bumps the revision and follows directory ids and e-mails', async () => {
    const a = await s.users.create(acme, userId('a'), {
      displayName: 'A',
      email: 'Alice@Acme.example',
      directory: dir('x-1'),
    });
    expect(a.revision).toBe(1);
    expect(a.directory).toEqual(dir('x-1'));
    expect((await s.users.byExternalId(acme, 'scim', 'x-1'))?.id).toBe('a');
    expect(await s.users.byExternalId(acme, 'ldap:corp', 'x-1')).toBeUndefined();
    expect((await s.users.byEmail(acme, 'ALICE@acme.example')).map((u) => u.id)).toEqual(['a']);
    await expect(
      s.users.create(acme, userId('b'), { displayName: 'B', directory: dir('x-1') }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(await s.users.get(acme, userId('b'))).toBeUndefined();
    const moved = await s.users.update(acme, userId('a'), {
      email: 'a2@acme.example',
      directory: dir('x-2', 'disabled'),
    });
    expect(moved.revision).toBe(2);
    expect(await s.users.byExternalId(acme, 'scim', 'x-1')).toBeUndefined();
    expect((await s.users.byExternalId(acme, 'scim', 'x-2'))?.directory?.state).toBe('disabled');
    expect(await s.users.byEmail(acme, 'alice@acme.example')).toEqual([]);
    const detached = await s.users.update(acme, userId('a'), { directory: null });
    expect(detached.directory).toBeNull();
    expect(await s.users.byExternalId(acme, 'scim', 'x-2')).toBeUndefined();
    await s.users.update(acme, userId('a'), { directory: dir('x-3') });
    expect(await s.users.delete(acme, userId('a'))).toBe(true);
    expect(await s.users.byExternalId(acme, 'scim', 'x-3')).toBeUndefined();
    expect(await s.users.byEmail(acme, 'a2@acme.example')).toEqual([]);
    // The id is free again after the delete.
    await s.users.create(acme, userId('c'), { displayName: 'C', directory: dir('x-3') });
  });

  it('refuses a malformed directory record and changes nothing', async () => {
    await expect(
      s.users.create(acme, userId('d'), {
        displayName: 'D',
        directory: { ...dir('x'), source: 'ldap:' as 'scim' },
      }),
    ).rejects.toThrow(/source/);
    await expect(
      s.users.create(acme, userId('d'), { displayName: 'D', directory: dir('bad\u0000id') }),
    ).rejects.toThrow(/externalId/);
    expect(await s.users.get(acme, userId('d'))).toBeUndefined();
  });

  it('keeps a pool revision and external id', async () => {
    const p = await s.pools.put(acme, poolId('p'), { name: 'P', externalId: 'g-1' });
    expect(p).toMatchObject({ externalId: 'g-1', revision: 1 });
    expect(await s.pools.put(acme, poolId('p'), { name: 'P2' })).toMatchObject({
      externalId: 'g-1',
      revision: 2,
    });
    expect(await s.pools.touch(acme, poolId('p'))).toMatchObject({ revision: 3 });
  });

  it('holds at most 5 live SCIM tokens per tenant', async () => {
    const token = (i: number, expiresAt: number | null = null) => ({
      tenant: acme,
      id: `stk_${String(i).padStart(22, '0')}`,
      name: `t${i}`,
      source: 'scim' as const,
      tokenHash: new Uint8Array(32).fill(i),
      createdAt: 1,
      createdBy: 'adm',
      expiresAt,
      lastUsedAt: null,
      revokedAt: null,
    });
    await s.scimTokens.create(token(9, 5), 1); // expires at 5: not live at 10
    for (let i = 0; i < MAX_SCIM_TOKENS; i++) await s.scimTokens.create(token(i), 10);
    await expect(s.scimTokens.create(token(7), 10)).rejects.toBeInstanceOf(ConflictError);
    await s.scimTokens.revoke(acme, token(0).id, 11);
    await s.scimTokens.create(token(7), 12);
    expect((await s.scimTokens.byHash(new Uint8Array(32).fill(7)))?.id).toBe(token(7).id);
    expect((await s.scimTokens.list(acme)).map((t) => t.id)).not.toContain(token(0).id);
  });
});
