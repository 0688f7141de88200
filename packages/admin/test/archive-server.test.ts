/**
 * `admin.archive` against a running server: two auditors run the ceremony through the real key-set
 * route (the server's fingerprint is the key's; the auditors get their wrapped shares back as
 * bytes, the owner none), items filed on the server are streamed by the export and by pages with
 * their filing numbers, opened with a share released from one auditor to the other (one moved to
 * another delivery by the operator is reported), and the owner is refused the archive.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tenantId } from '@cloister/protocol';
import type { CloisterServer } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AdminClient,
  combineWrappedShares,
  createArchiveKeySet,
  openArchive,
  releaseArchiveShare,
} from '../src/index.js';
import { archiveFixture, collect, fromArray } from './archive-fixtures.js';
import { startTenant } from './helpers/tenant.js';
import { totpCode } from './totp.js';

describe('admin.archive on a server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-admin-archive-'));
  let server: CloisterServer;
  let owner: AdminClient;
  const auditors: {
    name: string;
    client: AdminClient;
    key: { publicKey: Uint8Array; privateKey: Uint8Array };
  }[] = [];

  beforeAll(async () => {
    const started = await startTenant(dir, { rateLimitPerMinute: 1_000_000 });
    server = started.server;
    owner = started.admin;
    for (const name of ['ada', 'bea']) {
      const password = `${name} password 1234`;
      const invited = await owner.inviteAdministrator({
        email: `${name}@acme.example`,
        name,
        role: 'auditor',
        password,
      });
      const { client } = await AdminClient.login(
        { transport: started.transport(), provider: started.provider },
        {
          tenant: 'acme',
          email: `${name}@acme.example`,
          password,
          totp: totpCode((invited as { totpUri: string }).totpUri),
        },
      );
      auditors.push({ name, client, key: await started.provider.x25519.generateKeyPair() });
    }
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers, lists, exports and opens; the owner is refused', async () => {
    const f = await archiveFixture();
    const [ada, bea] = auditors as [(typeof auditors)[0], (typeof auditors)[0]];
    const made = await createArchiveKeySet(ada.client.archive, f.provider, {
      threshold: 2,
      holders: auditors.map((a) => ({ holder: a.name, recipient: { publicKey: a.key.publicKey } })),
      label: 'test',
    });
    expect(made.registered).toMatchObject({ id: made.keySetId, fingerprint: made.fingerprint });
    const [set] = await bea.client.archive.keySets();
    expect(set).toMatchObject({ id: made.keySetId, threshold: 2, holders: ['ada', 'bea'], label: 'test' });
    expect(set?.publicKey).toEqual(made.publicKey);
    expect(set?.shares?.map((s) => s.share)).toEqual(made.shares.map((s) => s.share));
    const ownerSets = await owner.archive.keySets().catch((e) => e);
    if (Array.isArray(ownerSets)) expect(ownerSets[0]?.shares).toBeUndefined();
    else expect(ownerSets).toMatchObject({ code: 'ERR_FORBIDDEN' });

    // Items as the server files them (the tenant's certificates are issued by a key of the test's).
    const member = await f.member('bob', 1, ['legal']);
    const tenant = tenantId('acme');
    const first = await f.sealV3({
      sender: member,
      archivePublicKey: made.publicKey,
      body: { type: 'text', text: 'one' },
    });
    const second = await f.sealV3({
      sender: member,
      archivePublicKey: made.publicKey,
      body: { type: 'text', text: 'two' },
    });
    await server.context.stores.archive.append(tenant, {
      sealed: first.bytes,
      expiresAt: null,
      deliveryId: first.deliveryId,
    });
    await server.context.stores.archive.append(tenant, {
      sealed: second.bytes,
      expiresAt: null,
      deliveryId: f.nextId(),
    });

    const items = await collect(ada.client.archive.export({ from: 0, purpose: 'archive-server test' }));
    expect(items).toHaveLength(2);
    expect(items[0]?.sealed).toEqual(first.bytes);
    expect(items[0]?.deliveryId).toEqual(first.deliveryId);
    expect(items.map((i) => i.seq)).toEqual([1, 2]);
    const page = await ada.client.archive.items({ from: 0, limit: 1, purpose: 'archive-server test' });
    expect(page.items.map((i) => i.id)).toEqual([items[0]?.id]);
    expect(page.next).toBeDefined();

    const released = await releaseArchiveShare(
      f.provider,
      set?.shares?.[1]?.share as Uint8Array,
      { privateKey: bea.key.privateKey },
      { publicKey: ada.key.publicKey },
    );
    const key = await combineWrappedShares(f.provider, [set?.shares?.[0]?.share as Uint8Array, released], {
      privateKey: ada.key.privateKey,
    });
    const records = await collect(
      openArchive({
        provider: f.provider,
        archivePrivateKey: key.privateKey,
        tenantPublicKey: f.tenant.publicKey,
        tenantId: 'acme',
        items: fromArray(items),
      }),
    );
    expect(records.map((r) => r.status)).toEqual(['valid', 'moved']);
    expect(records[0]).toMatchObject({ message: { text: 'one', senderPools: ['legal'] } });

    await expect(collect(owner.archive.export({ from: 0 }))).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
    await expect(owner.archive.items({ from: 0 })).rejects.toMatchObject({ code: 'ERR_FORBIDDEN' });
  }, 120_000);
});
