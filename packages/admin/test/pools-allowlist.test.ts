/**
 * `admin.pools` and `admin.allowlist` against a running server: every method end to end, the
 * typed errors (a pool with members is `ConflictError` unless its members go first; an invite
 * outside the allowlist is `ForbiddenError` with the server's `ERR_NOT_ALLOWLISTED` refusal).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloisterServer } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminClient, ConflictError, NotFoundError } from '../src/index.js';
import { startTenant } from './helpers/tenant.js';

describe('admin.pools and admin.allowlist', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-admin-pools-'));
  let server: CloisterServer;
  let admin: AdminClient;

  beforeAll(async () => {
    ({ server, admin } = await startTenant(dir));
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('manages pools and their members', async () => {
    for (const u of ['alice', 'bob']) await admin.inviteUser({ user: u, email: `${u}@acme.example` });
    expect(await admin.pools.create('ward-3', 'Ward 3')).toEqual({
      id: 'ward-3',
      name: 'Ward 3',
      mayContact: [],
      members: 0,
    });
    await admin.pools.create('pharmacy', 'Pharmacy');
    await expect(admin.pools.create('ward-3', 'Again')).rejects.toBeInstanceOf(ConflictError);
    expect([...(await admin.pools.add('ward-3', ['alice', 'bob'])).changed].sort()).toEqual(['alice', 'bob']);
    expect((await admin.pools.get('ward-3')).members).toBe(2);
    // Listings come in a stable but unspecified order (hashed under encryption at rest).
    expect((await admin.pools.members('ward-3')).items.map((u) => u.id).sort()).toEqual(['alice', 'bob']);
    expect((await admin.pools.list()).items.map((p) => p.id).sort()).toEqual(['pharmacy', 'ward-3']);
    expect((await admin.pools.rename('ward-3', 'Ward 3 north')).name).toBe('Ward 3 north');
    const bob = await admin.pools.setUserPools('bob', ['pharmacy']);
    expect([bob.pools, bob.email]).toEqual([['pharmacy'], 'bob@acme.example']);
    expect((await admin.pools.remove('ward-3', 'alice')).changed).toEqual(['alice']);
    await expect(admin.pools.delete('pharmacy')).rejects.toBeInstanceOf(ConflictError);
    await admin.pools.delete('pharmacy', { removeMembers: true });
    await expect(admin.pools.get('pharmacy')).rejects.toBeInstanceOf(NotFoundError);
    expect((await admin.getUser('bob')).pools).toEqual([]);
  });

  it('manages the allowlist; an invite outside it is refused', async () => {
    expect((await admin.allowlist.get()).enabled).toBe(false);
    await admin.allowlist.replace({ enabled: true, domains: ['Partner.example'] });
    await admin.allowlist.add({ users: ['contractor-7'], emails: ['Carol@Elsewhere.example'] });
    const refused = await admin
      .inviteUser({ user: 'dave', email: 'dave@nowhere.example' })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 403 });
    expect(String((refused as Error).message)).toContain('allowlist');
    expect((await admin.inviteUser({ user: 'erin', email: 'erin@partner.example' })).token).toHaveLength(43);
    expect((await admin.inviteUser({ user: 'contractor-7' })).token).toHaveLength(43);
    const after = await admin.allowlist.remove({ users: ['contractor-7'] });
    expect(after).toEqual({
      enabled: true,
      tenantDomains: false,
      domains: ['partner.example'],
      users: [],
      emails: ['carol@elsewhere.example'],
    });
    expect((await admin.allowlist.setEnabled(false)).domains).toEqual(['partner.example']);
  });
});
