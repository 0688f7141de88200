/**
 * Managed invites through the admin SDK and the real server (spec/managed-config.md §4): a client
 * without the server option is refused before any token is made; without the organisation root
 * a managed invite is refused (409) and nothing is written; with it the token is single-use and
 * lives 8 hours by default (more uses or more than 72 hours are refused), the audit record says
 * `managed`, and the SDK builds the managed configuration, which the protocol parser accepts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateOrganisationRoot,
  issueAdminCertificate,
  parseManagedConfig,
  rootFingerprint,
  tenantId,
} from '@cloister/protocol';
import { setOrganisationRoot } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminClient } from '../src/index.js';
import { type StartedTenant, startTenant } from './helpers/tenant.js';

const HOUR = 3_600_000;
const acme = tenantId('acme');
let dir: string;
let t: StartedTenant;
let admin: AdminClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cloister-managed-invite-'));
  t = await startTenant(dir);
  const { port } = t.server.app.server.address() as { port: number };
  admin = t.admin.withServer({ url: `https://127.0.0.1:${port}`, pin: t.server.pin });
}, 60_000);
afterAll(async () => {
  await t?.server.close();
  rmSync(dir, { recursive: true, force: true });
});

const auditCount = async () => (await t.server.context.stores.audit.list(acme)).length;

describe('managed invites', () => {
  it('needs the server option and the organisation root; nothing is written otherwise', async () => {
    await expect(t.admin.inviteUser({ user: 'mdm-ann', managed: true })).rejects.toMatchObject({
      code: 'ERR_USAGE',
    });
    const before = await auditCount();
    await expect(admin.inviteUser({ user: 'mdm-ann', managed: true })).rejects.toMatchObject({
      code: 'ERR_CONFLICT',
    });
    expect(await auditCount()).toBe(before);
    expect(await t.server.context.stores.users.get(acme, 'mdm-ann' as never)).toBeUndefined();
  });

  it('issues a single-use token for 8 hours, audited, with the managed configuration', async () => {
    const p = t.provider;
    const root = await generateOrganisationRoot(p);
    const now = Date.now();
    const certificate = await issueAdminCertificate(p, root.privateKey, {
      tenant: acme,
      admin: t.owner.admin,
      adminPublicKey: root.publicKey,
      role: 'owner',
      issuedAtMs: now - 60_000,
      expiresAtMs: now + 24 * HOUR,
      serial: 1,
    });
    await setOrganisationRoot(t.server.context, acme, {
      rootPublicKey: root.publicKey,
      ownerCertificate: certificate,
      actor: t.owner.admin,
    });
    const fingerprint = await rootFingerprint(p, root.publicKey);

    for (const bad of [{ uses: 2 }, { ttlMs: 72 * HOUR + 1 }]) {
      await expect(admin.inviteUser({ user: 'mdm-ann', managed: true, ...bad })).rejects.toMatchObject({
        code: 'ERR_VALIDATION',
      });
    }
    const started = Date.now();
    const invite = await admin.inviteUser({ user: 'mdm-ann', managed: true });
    expect(invite.expiresAt).toBeGreaterThanOrEqual(started + 8 * HOUR - 5_000);
    expect(invite.expiresAt).toBeLessThanOrEqual(Date.now() + 8 * HOUR + 5_000);
    const config = parseManagedConfig(invite.managedConfig);
    expect(config).toMatchObject({
      serverPin: t.server.pin,
      organisationRoot: fingerprint,
      enrolmentToken: invite.token,
      tenant: 'acme',
      userHint: 'mdm-ann',
    });
    const last = (await t.server.context.stores.audit.list(acme)).at(-1);
    expect(last).toMatchObject({
      action: 'user.invite',
      target: 'mdm-ann',
      details: { managed: true, uses: 1 },
    });

    const longer = await admin.inviteUser({ user: 'mdm-ann', managed: true, ttlMs: 72 * HOUR });
    expect(longer.expiresAt).toBeGreaterThan(Date.now() + 71 * HOUR);
  });
});
