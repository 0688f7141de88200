/**
 * `admin.scim` against a running server: a token made (shown once), used by a SCIM request,
 * listed with its last use and never its secret, revoked (its next request refused); a 6th live
 * token refused; `admin.detachUser` lets a user who left the directory be unblocked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloisterServer } from '@cloister/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminClient, ConflictError } from '../src/index.js';
import { startTenant } from './helpers/tenant.js';

function scimCall(
  url: string,
  token: string,
  method: string,
  path: string,
  json?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(`/scim/v2${path}`, url),
      {
        method,
        rejectUnauthorized: false,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, json: text === '' ? {} : JSON.parse(text) });
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

describe('admin.scim', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloister-admin-scim-'));
  let server: CloisterServer;
  let admin: AdminClient;
  let url: string;

  beforeAll(async () => {
    ({ server, admin } = await startTenant(dir));
    url = `https://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes, lists and revokes a token; the revoked token is refused at once', async () => {
    const made = await admin.scim.createToken({ name: 'Entra ID', ttlDays: 30 });
    expect(made.token).toMatch(/^scim_[A-Za-z0-9_-]{43}$/);
    expect(made.source).toBe('scim');
    const ok = await scimCall(url, made.token, 'GET', '/Users');
    expect(ok.status).toBe(200);
    const listed = await admin.scim.listTokens();
    expect(listed.map((t) => t.id)).toEqual([made.id]);
    expect(listed[0]?.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(made.token);
    await admin.scim.revokeToken(made.id);
    expect((await scimCall(url, made.token, 'GET', '/Users')).status).toBe(401);
    expect(await admin.scim.listTokens()).toEqual([]);
  });

  it('refuses a 6th live token', async () => {
    const ids: string[] = [];
    for (let i = (await admin.scim.listTokens()).length; i < 5; i++)
      ids.push((await admin.scim.createToken({ name: `t${i}`, source: 'ldap:corp' })).id);
    await expect(admin.scim.createToken({ name: 'sixth' })).rejects.toBeInstanceOf(ConflictError);
    for (const id of ids) await admin.scim.revokeToken(id);
  });

  it('detaches a user who left the directory so that an administrator may unblock them', async () => {
    const { token } = await admin.scim.createToken({ name: 'idp' });
    const created = await scimCall(url, token, 'POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'leaver',
      externalId: 'x-1',
    });
    expect(created.status).toBe(201);
    const id = created.json.id as string;
    expect((await scimCall(url, token, 'DELETE', `/Users/${id}`)).status).toBe(204);
    expect((await admin.getUser(id)).directory?.state).toBe('left');
    await expect(admin.unblockUser(id)).rejects.toBeInstanceOf(ConflictError);
    const detached = await admin.detachUser(id);
    expect(detached.directory).toBeUndefined();
    expect((await admin.unblockUser(id)).blocked).toBe(false);
  });
});
