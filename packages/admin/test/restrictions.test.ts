/**
 * `admin.restrictions` against a running server: set restrictions on the tenant, a pool, a user
 * and a conversation group by its id (signed with the owner's key, other features of the layer
 * kept), read them back typed,
 * refuse a malformed value or `archive` outside the tenant before anything is signed (the
 * organisation's sequence does not move), and list the non-compliant devices.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ForbiddenError, ValidationError } from '@cloister/crypto';
import type { CloisterServer } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AdminClient,
  generateOrganisation,
  groupTarget,
  type OrganisationSigner,
  signPolicyLayer,
} from '../src/index.js';
import { type StartedTenant, startTenant } from './helpers/tenant.js';

describe('admin.restrictions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-admin-restrictions-'));
  let server: CloisterServer;
  let admin: AdminClient;
  let signer: OrganisationSigner;
  let owner: StartedTenant['owner'];
  let provider: StartedTenant['provider'];

  beforeAll(async () => {
    ({ server, admin, owner, provider } = await startTenant(dir));
    const org = await generateOrganisation(provider, { tenant: 'acme', admin: owner.admin });
    await admin.setOrganisationRoot(org.root.publicKey, org.owner.certificate);
    signer = { provider, key: org.owner, client: admin };
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets restrictions per layer, keeps the layer’s other features, reads them back typed', async () => {
    await admin.pools.create('ward-3', 'Ward 3');
    await admin.inviteUser({ user: 'alice', email: 'alice@acme.example' });
    await signPolicyLayer(signer, { layer: 'tenant' }, { 'custom.flag': { enabled: true, locked: false } });
    await admin.restrictions.set(
      signer,
      { layer: 'tenant' },
      {
        screenshots: { value: false, locked: true },
        'notifications.preview': { value: 'sender' },
        'messages.lifetime': { value: 30 * 86_400_000, locked: true },
      },
    );
    await admin.restrictions.set(
      signer,
      { layer: 'pool', target: 'ward-3' },
      {
        'media.send': { value: ['image/*', 'application/pdf'] },
        'files.download': { value: false, locked: true },
      },
    );
    await admin.restrictions.set(
      signer,
      { layer: 'user', target: 'alice' },
      {
        'disappearing.timer': { value: { minMs: 60_000, maxMs: 86_400_000 } },
      },
    );
    const tenant = await admin.restrictions.get({ layer: 'tenant' });
    expect(tenant?.settings).toEqual({
      screenshots: { value: false, locked: true },
      'notifications.preview': { value: 'sender', locked: false },
      'messages.lifetime': { value: 30 * 86_400_000, locked: true },
    });
    expect(tenant?.document['custom.flag']).toEqual({ enabled: true, locked: false });
    const pool = await admin.restrictions.get({ layer: 'pool', target: 'ward-3' });
    expect(pool?.settings['media.send']).toEqual({ value: ['application/pdf', 'image/*'], locked: false });
    expect((await admin.restrictions.layers()).map((l) => `${l.layer}:${l.target}`).sort()).toEqual([
      'pool:ward-3',
      'tenant:null',
      'user:alice',
    ]);
    // Removing one restriction keeps the rest.
    await admin.restrictions.set(signer, { layer: 'tenant' }, { screenshots: null });
    const after = await admin.restrictions.get({ layer: 'tenant' });
    expect(after?.settings.screenshots).toBeUndefined();
    expect(after?.settings['notifications.preview']?.value).toBe('sender');
  }, 60_000);

  it('refuses a malformed value and archive outside the tenant before anything is signed', async () => {
    const before = (await admin.getOrganisation()).sequences['policy-layer'];
    await expect(
      admin.restrictions.set(
        signer,
        { layer: 'user', target: 'alice' },
        { 'media.send': { value: ['*/png'] } },
      ),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      admin.restrictions.set(
        signer,
        { layer: 'user', target: 'alice' },
        {
          'disappearing.timer': { value: { minMs: 10, maxMs: 5 } },
        },
      ),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      signPolicyLayer(
        signer,
        { layer: 'pool', target: 'ward-3' },
        {
          'notifications.preview': { enabled: true, locked: false, config: { show: 'all of it' } },
        },
      ),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      signPolicyLayer(
        signer,
        { layer: 'user', target: 'alice' },
        { archive: { enabled: false, locked: true } },
      ),
    ).rejects.toBeInstanceOf(ForbiddenError);
    expect((await admin.getOrganisation()).sequences['policy-layer']).toBe(before);
  }, 60_000);

  it('sets a group layer by group id (bytes, base64url or g:<hex>), reads it back, refuses a malformed id', async () => {
    const id = new Uint8Array(32).map((_, i) => i + 1);
    const hex = Buffer.from(id).toString('hex');
    const b64 = Buffer.from(id).toString('base64url');
    expect(groupTarget(id)).toBe(b64);
    expect(groupTarget(`g:${hex}`)).toBe(b64);
    expect(groupTarget(b64)).toBe(b64);
    await admin.restrictions.set(
      signer,
      { layer: 'group', groupId: `g:${hex}` },
      { 'files.send': { value: false, locked: true }, 'clipboard.copy': { value: false } },
    );
    // The same group named as bytes and as base64url: one layer, the other features kept.
    await admin.restrictions.set(signer, { layer: 'group', groupId: id }, { screenshots: { value: false } });
    const layer = await admin.restrictions.get({ layer: 'group', groupId: b64 });
    expect(layer).toMatchObject({ layer: 'group', target: b64 });
    expect(layer?.settings).toEqual({
      'files.send': { value: false, locked: true },
      'clipboard.copy': { value: false, locked: false },
      screenshots: { value: false, locked: false },
    });
    expect((await admin.restrictions.layers()).filter((l) => l.layer === 'group')).toHaveLength(1);
    // Another group is another layer, not found before it is set.
    expect(await admin.restrictions.get({ layer: 'group', groupId: Uint8Array.of(9) })).toBeUndefined();

    const before = (await admin.getOrganisation()).sequences['policy-layer'];
    for (const groupId of [new Uint8Array(0), new Uint8Array(65), 'g:XYZ', 'AQ==', hex.slice(0, 63)]) {
      await expect(
        admin.restrictions.set(signer, { layer: 'group', groupId }, { 'files.send': { value: false } }),
      ).rejects.toBeInstanceOf(ValidationError);
    }
    expect((await admin.getOrganisation()).sequences['policy-layer']).toBe(before);
  }, 60_000);

  it('lists non-compliant devices (none without devices)', async () => {
    const page = await admin.restrictions.nonCompliant({ limit: 10 });
    expect(page.items).toEqual([]);
  });
});
