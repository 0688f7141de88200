/**
 * Bulk operations as jobs, through HTTP on a running server (PGlite; PostgreSQL too with
 * `DATABASE_URL`): a dry run lists what would change and changes nothing; the same idempotency
 * key with the same input answers the same job and with another input 409 (changing nothing); a
 * user deleted between the dry run and the run is reported as failed while the others are done;
 * an item whose change throws fails alone (its batch is retried item by item); a job stopped
 * after its first batch (a crashed instance) cannot be taken over while its lease holds, then
 * resumes from the last committed batch without redoing an item; roles without the action's
 * permission, a stale second factor and another tenant's administrator are refused and change
 * nothing; a bulk invite's tokens are sealed to the caller's key and bound to their user; a bulk
 * wipe publishes one signed wipe per device. At server start, a job a stopped server left
 * running is resumed from its last committed batch (each item changed and audited once), one
 * whose lease is still held is taken over only when the lease runs out, and one whose creator is
 * gone is left interrupted with a typed reason. A batch's audit records, appended in one
 * statement, chain exactly as single appends do (a bad record or a taken sequence number writes
 * none); a batch's delivery-epoch bumps happen once per row at its end, and not at all when it
 * fails.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createNobleProvider,
  generateHpkeKeyPair,
  openHpke,
  StorageError,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import {
  generateOrganisationRoot,
  issueAdminCertificate,
  poolId,
  signOrganisationObject,
  type TenantId,
  tenantId,
  userId,
} from '@cloister/protocol';
import { createMemoryAdapter } from '@cloister/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BULK_INVITE_TOKEN_LABEL,
  bulkInviteAad,
  JOB_CREATOR_INACTIVE,
  JOB_LEASE_MS,
  runJob,
} from '../src/admin/api/bulk.js';
import { adminTransaction } from '../src/admin/api/transaction.js';
import { nextOrganisationSequence } from '../src/organisation/objects.js';
import { key, T, u64 } from '../src/store/_util.js';
import { withBatchedEpochBumps } from '../src/store/delivery-epochs.js';
import {
  appendAuditRecords,
  createServerStores,
  senderClassOf,
  subjectSealingAdapter,
} from '../src/store/index.js';
import {
  type AdminTestServer,
  type CreatedTenant,
  createTenantAsOperator,
  login,
  PASSWORD,
  secretOf,
  startAdminServer,
} from './helpers/admin-api.js';
import { setUpDevice } from './helpers/device-client.js';

const T0 = 1_770_000_000_000 - (1_770_000_000_000 % 30_000) + 5_000;
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

describe('bulk operations', () => {
  let t: AdminTestServer;
  let acme: CreatedTenant;
  let A: TenantId;
  let owner: { session: string };
  let auditor: { session: string };
  let manager: { session: string };
  let other: { session: string };
  let n = 0;
  const fresh = (p: string) => `${p}${++n}`;

  const stores = () => t.server.context.stores;

  async function users(count: number, prefix = fresh('u'), pools: string[] = []): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const id = `${prefix}-${i}@acme.example`;
      await stores().users.create(A, userId(id), {
        displayName: `User ${i}`,
        pools: pools.map((p) => poolId(p)),
      });
      ids.push(id);
    }
    return ids;
  }

  async function waitDone(id: string, who = owner) {
    for (let i = 0; i < 400; i++) {
      const res = await t.as(who, 'GET', `/admin/v1/jobs/${id}`);
      expect(res.status).toBe(200);
      if (res.json.state !== 'running') return res.json;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('job did not finish');
  }

  async function results(id: string, outcome?: string) {
    const out: {
      user: string;
      outcome: string;
      reason: string | null;
      result: Record<string, unknown> | null;
    }[] = [];
    let after: string | undefined;
    for (;;) {
      const query = new URLSearchParams({
        limit: '50',
        ...(after ? { after } : {}),
        ...(outcome ? { outcome } : {}),
      });
      const res = await t.as(owner, 'GET', `/admin/v1/jobs/${id}/results?${query}`);
      expect(res.status, res.body.toString()).toBe(200);
      out.push(...res.json.items);
      if (res.json.next === undefined) return out;
      after = res.json.next;
    }
  }

  const auditOf = async (action: string) => {
    const out = [];
    for (let fromSeq = 1; ; fromSeq += 1000) {
      const page = await stores().audit.list(A, { fromSeq, limit: 1000 });
      out.push(...page.filter((r) => r.action === action));
      if (page.length < 1000) return out;
    }
  };

  async function personWith(role: string): Promise<{ session: string }> {
    const email = `${role}-${fresh('p')}@acme.example`;
    const res = await t.as(owner, 'POST', '/admin/v1/administrators', {
      json: { email, name: role, role, password: PASSWORD },
    });
    expect(res.status, res.body.toString()).toBe(201);
    return { session: await login(t, 'acme', email, secretOf(res.json.totpUri)) };
  }

  beforeAll(async () => {
    t = await startAdminServer(T0, { postgresSchema: `bulk_${randomBytes(4).toString('hex')}` });
    acme = await createTenantAsOperator(t, 'acme');
    A = tenantId('acme');
    owner = { session: await login(t, 'acme', acme.owner.email, acme.owner.secret) };
    auditor = await personWith('auditor');
    manager = await personWith('user-manager');
    const globex = await createTenantAsOperator(t, 'globex');
    other = { session: await login(t, 'globex', globex.owner.email, globex.owner.secret) };
  }, 60_000);
  afterAll(async () => t?.close());

  it('a dry run lists each change and skip, changes nothing, and is audited as one record', async () => {
    const ids = await users(5);
    await stores().users.update(A, userId(ids[1] as string), { blocked: true });
    const before = await stores().users.list(A, { limit: 1000 });
    const auditBefore = (await stores().audit.head(A))?.seq ?? 0;
    const res = await t.as(owner, 'POST', '/admin/v1/bulk/block', {
      json: { users: [...ids, 'nobody'], dryRun: true, idempotencyKey: 'dry' },
    });
    expect(res.status, res.body.toString()).toBe(201);
    expect(res.json).toMatchObject({
      dryRun: true,
      action: 'block',
      total: 6,
      change: 4,
      skipped: 1,
      failed: 1,
    });
    expect(res.json.items[1]).toEqual({
      user: ids[1],
      device: null,
      outcome: 'skipped',
      reason: 'already-blocked',
    });
    expect(res.json.items[5]).toEqual({
      user: 'nobody',
      device: null,
      outcome: 'failed',
      reason: 'not-found',
    });
    expect(await stores().users.list(A, { limit: 1000 })).toEqual(before);
    expect((await stores().audit.head(A))?.seq).toBe(auditBefore + 1);
    expect((await auditOf('bulk.dry-run')).at(-1)?.details).toMatchObject({
      change: 4,
      skipped: 1,
      failed: 1,
    });
    // A dry run claims no idempotency key: the real run with it creates a job.
    expect(await stores().jobs.byKey(A, 'dry')).toBeUndefined();
  });

  it('runs a job in batches: every user changed once, with its own audit record naming the job', async () => {
    const ids = await users(250, fresh('big'));
    const res = await t.as(owner, 'POST', '/admin/v1/bulk/block', {
      json: { filter: { text: ids[0]?.split('-')[0] } },
    });
    expect(res.status, res.body.toString()).toBe(201);
    expect(res.json).toMatchObject({ action: 'block', total: 250, state: 'running' });
    const job = await waitDone(res.json.id);
    expect(job).toMatchObject({ state: 'done', done: 250, ok: 250, skipped: 0, failed: 0, lastError: null });
    for (const id of ids) expect((await stores().users.get(A, userId(id)))?.blocked).toBe(true);
    const records = (await auditOf('user.block')).filter((r) => r.details.job === job.id);
    expect(records.map((r) => r.target).sort()).toEqual([...ids].sort());
    expect((await auditOf('bulk.done')).at(-1)).toMatchObject({ target: job.id, outcome: 'success' });
    const all = await results(job.id);
    expect(all).toHaveLength(250);
    expect(new Set(all.map((i) => i.outcome))).toEqual(new Set(['ok']));
  });

  it('idempotency: the same key and input answer the same job; another input is 409 and changes nothing', async () => {
    const ids = await users(3);
    const json = { users: ids, idempotencyKey: fresh('key') };
    const first = await t.as(owner, 'POST', '/admin/v1/bulk/block', { json });
    expect(first.status).toBe(201);
    await waitDone(first.json.id);
    const again = await t.as(owner, 'POST', '/admin/v1/bulk/block', { json });
    expect(again.status).toBe(201);
    expect(again.json.id).toBe(first.json.id);
    // The header works the same way.
    const viaHeader = await t.as(owner, 'POST', '/admin/v1/bulk/block', {
      json: { users: ids },
      headers: { 'idempotency-key': json.idempotencyKey },
    });
    expect(viaHeader.json.id).toBe(first.json.id);
    const jobsBefore = (await auditOf('bulk.block')).length;
    const others = await users(2);
    const conflict = await t.as(owner, 'POST', '/admin/v1/bulk/block', {
      json: { users: others, idempotencyKey: json.idempotencyKey },
    });
    expect(conflict.status).toBe(409);
    expect(conflict.json.error.code).toBe('ERR_CONFLICT');
    for (const id of others) expect((await stores().users.get(A, userId(id)))?.blocked).toBe(false);
    expect((await auditOf('bulk.block')).length).toBe(jobsBefore);
    // The same key on another action is another input too.
    const otherAction = await t.as(owner, 'POST', '/admin/v1/bulk/unblock', { json });
    expect(otherAction.status).toBe(409);
  });

  it('reports a user deleted between the dry run and the run as failed, and does the others', async () => {
    const ids = await users(4);
    const dry = await t.as(owner, 'POST', '/admin/v1/bulk/block', { json: { users: ids, dryRun: true } });
    expect(dry.json.change).toBe(4);
    const gone = ids[2] as string;
    expect((await t.as(owner, 'DELETE', `/admin/v1/users/${encodeURIComponent(gone)}`)).status).toBe(204);
    const res = await t.as(owner, 'POST', '/admin/v1/bulk/block', { json: { users: ids } });
    const job = await waitDone(res.json.id);
    expect(job).toMatchObject({ state: 'done', ok: 3, failed: 1, skipped: 0 });
    expect(await results(job.id, 'failed')).toEqual([
      { index: 2, user: gone, device: null, outcome: 'failed', reason: 'not-found', result: null },
    ]);
    expect((await auditOf('bulk.done')).at(-1)).toMatchObject({ target: job.id, outcome: 'failure' });
  });

  it('an item whose change throws fails alone: its batch is retried item by item', async () => {
    const ids = await users(6);
    const ctx = t.server.context;
    const id = `job_${b64(randomBytes(16))}`;
    await ctx.stores.jobs.create(
      A,
      {
        id,
        action: 'block',
        createdBy: acme.owner.admin,
        options: {},
        idempotencyKey: null,
        inputDigest: new Uint8Array(32),
        runner: 'r1',
        leaseUntil: t.time + JOB_LEASE_MS,
      },
      ids.map((user) => ({ user, device: null, command: null })),
    );
    await runJob(ctx, A, id, 'r1', {
      fault: (item) => {
        if (item.index === 3) throw new Error('the database refused this row');
      },
    });
    const job = await waitDone(id);
    expect(job).toMatchObject({ state: 'done', ok: 5, failed: 1 });
    expect(await results(id, 'failed')).toEqual([
      { index: 3, user: ids[3], device: null, outcome: 'failed', reason: 'ERR_INTERNAL', result: null },
    ]);
    expect((await stores().users.get(A, userId(ids[3] as string)))?.blocked).toBe(false);
    expect((await stores().users.get(A, userId(ids[4] as string)))?.blocked).toBe(true);
  });

  it('a job stopped after its first batch resumes from it once its lease is over, redoing nothing', async () => {
    const ids = await users(250, fresh('crash'));
    const ctx = t.server.context;
    const id = `job_${b64(randomBytes(16))}`;
    await ctx.stores.jobs.create(
      A,
      {
        id,
        action: 'block',
        createdBy: acme.owner.admin,
        options: {},
        idempotencyKey: null,
        inputDigest: new Uint8Array(32),
        runner: 'dead',
        leaseUntil: t.time + JOB_LEASE_MS,
      },
      ids.map((user) => ({ user, device: null, command: null })),
    );
    // The instance runs one batch and dies.
    await runJob(ctx, A, id, 'dead', { maxBatches: 1 });
    const stopped = (await t.as(owner, 'GET', `/admin/v1/jobs/${id}`)).json;
    expect(stopped).toMatchObject({ state: 'running', done: 200, ok: 200 });
    // Its lease still holds: nobody else takes the job over.
    const early = await t.as(owner, 'POST', `/admin/v1/bulk/block/jobs/${id}/resume`);
    expect(early.status).toBe(409);
    // Another action's resume route does not know the job.
    expect((await t.as(owner, 'POST', `/admin/v1/bulk/unblock/jobs/${id}/resume`)).status).toBe(404);
    t.time += JOB_LEASE_MS + 1;
    owner = { session: await login(t, 'acme', acme.owner.email, acme.owner.secret) };
    const resumed = await t.as(owner, 'POST', `/admin/v1/bulk/block/jobs/${id}/resume`);
    expect(resumed.status, resumed.body.toString()).toBe(200);
    const job = await waitDone(id);
    expect(job).toMatchObject({ state: 'done', done: 250, ok: 250, failed: 0 });
    const records = (await auditOf('user.block')).filter((r) => r.details.job === id);
    expect(records).toHaveLength(250);
    expect(new Set(records.map((r) => r.target)).size).toBe(250);
    // The dead runner coming back cannot write: the job is no longer its.
    await runJob(ctx, A, id, 'dead');
    expect((await auditOf('user.block')).filter((r) => r.details.job === id)).toHaveLength(250);
    expect((await t.as(owner, 'POST', `/admin/v1/bulk/block/jobs/${id}/resume`)).status).toBe(409);
  });

  it('refuses roles without the action’s permission, a stale second factor and other tenants', async () => {
    const ids = await users(2);
    const unchanged = async () => {
      for (const id of ids) expect((await stores().users.get(A, userId(id)))?.blocked).toBe(false);
      expect(await stores().users.get(A, userId(ids[0] as string))).toBeDefined();
    };
    const auditor403 = await t.as(auditor, 'POST', '/admin/v1/bulk/block', { json: { users: ids } });
    expect(auditor403.status).toBe(403);
    const manager403 = await t.as(manager, 'POST', '/admin/v1/bulk/delete', { json: { users: ids } });
    expect(manager403.status).toBe(403);
    const managerMove = await t.as(manager, 'POST', '/admin/v1/bulk/move', {
      json: { users: ids, pool: 'x' },
    });
    expect(managerMove.status).toBe(403);
    // A stale second factor: delete needs a fresh one.
    const stale = await personWith('admin');
    t.time += 10 * 60_000;
    const staleDelete = await t.as(stale, 'POST', '/admin/v1/bulk/delete', { json: { users: ids } });
    expect(staleDelete.status).toBe(403);
    await unchanged();
    // Another tenant's owner: naming acme's users acts on globex's (absent) users only.
    const cross = await t.as(other, 'POST', '/admin/v1/bulk/block', { json: { users: ids } });
    expect(cross.status).toBe(201);
    const job = await (async () => {
      for (;;) {
        const r = await t.as(other, 'GET', `/admin/v1/jobs/${cross.json.id}`);
        if (r.json.state !== 'running') return r.json;
        await new Promise((res) => setTimeout(res, 25));
      }
    })();
    expect(job).toMatchObject({ failed: 2, ok: 0 });
    await unchanged();
    // And cannot read acme's jobs.
    const mine = (await t.as(owner, 'GET', '/admin/v1/jobs?limit=1')).json.items[0].id;
    expect((await t.as(other, 'GET', `/admin/v1/jobs/${mine}`)).status).toBe(404);
    expect((await t.as(other, 'GET', `/admin/v1/jobs/${mine}/results`)).status).toBe(404);
    expect((await t.as(other, 'POST', `/admin/v1/bulk/block/jobs/${mine}/resume`)).status).toBe(404);
    owner = { session: await login(t, 'acme', acme.owner.email, acme.owner.secret) };
  });

  it('refuses a filter matching nobody and a selection that is both or neither', async () => {
    expect(
      (await t.as(owner, 'POST', '/admin/v1/bulk/block', { json: { filter: { text: 'zzzz-none' } } })).status,
    ).toBe(400);
    expect((await t.as(owner, 'POST', '/admin/v1/bulk/block', { json: {} })).status).toBe(400);
    expect(
      (await t.as(owner, 'POST', '/admin/v1/bulk/block', { json: { users: ['a'], filter: { text: 'a' } } }))
        .status,
    ).toBe(400);
    expect((await t.as(owner, 'POST', '/admin/v1/bulk/block', { json: { users: ['a', 'a'] } })).status).toBe(
      400,
    );
  });

  it('moves users to a pool, skipping those already there', async () => {
    await stores().pools.put(A, poolId('ward-9'), { name: 'Ward 9' });
    await stores().pools.put(A, poolId('ward-1'), { name: 'Ward 1' });
    const there = await users(1, fresh('in'), ['ward-9']);
    const move = await users(2, fresh('mv'), ['ward-1']);
    const res = await t.as(owner, 'POST', '/admin/v1/bulk/move', {
      json: { users: [...there, ...move], pool: 'ward-9' },
    });
    const job = await waitDone(res.json.id);
    expect(job).toMatchObject({ ok: 2, skipped: 1, pool: 'ward-9' });
    for (const id of move) expect((await stores().users.get(A, userId(id)))?.pools).toEqual(['ward-9']);
    const noPool = await t.as(owner, 'POST', '/admin/v1/bulk/move', {
      json: { users: move, pool: 'nowhere', dryRun: true },
    });
    expect(noPool.json.items.map((i: { reason: string }) => i.reason)).toEqual([
      'pool-not-found',
      'pool-not-found',
    ]);
  });

  it('invites again with tokens sealed to the caller’s key and bound to their user', async () => {
    const ids = await users(2);
    const key = await generateHpkeKeyPair(t.server.context.provider);
    expect(
      (await t.as(owner, 'POST', '/admin/v1/bulk/invite', { json: { users: ids } })).status,
      'a result key is required',
    ).toBe(400);
    const res = await t.as(owner, 'POST', '/admin/v1/bulk/invite', {
      json: { users: ids, resultKey: b64(key.publicKey) },
    });
    const job = await waitDone(res.json.id);
    expect(job).toMatchObject({ ok: 2 });
    const items = await results(job.id);
    const open = (i: (typeof items)[number], user: string) =>
      openHpke(t.server.context.provider, {
        aead: 'aes-256-gcm',
        recipientPrivateKey: key.privateKey,
        info: utf8(BULK_INVITE_TOKEN_LABEL),
        aad: bulkInviteAad('acme', job.id, user),
        enc: new Uint8Array(Buffer.from(String(i.result?.enc), 'base64url')),
        ciphertext: new Uint8Array(Buffer.from(String(i.result?.sealedToken), 'base64url')),
      });
    const token = await open(items[0] as (typeof items)[number], ids[0] as string);
    expect(token).toHaveLength(32);
    // Presented as the other user's token, it does not open.
    await expect(open(items[0] as (typeof items)[number], ids[1] as string)).rejects.toThrow();
    // The server keeps no token in the clear: the results hold only the sealed form.
    expect(JSON.stringify(items)).not.toContain(b64(token));
    expect((await auditOf('user.invite')).filter((r) => r.details.job === job.id)).toHaveLength(2);
  });

  it('the batch’s audit records reach the webhooks as single appends do', async () => {
    const ids = await users(3, fresh('hooked'));
    await stores().integrations.createWebhook({
      tenant: A,
      id: 'whk_bulk',
      url: 'https://127.0.0.1:1/hook',
      events: ['user.block'],
      secret: `whsec_${randomBytes(32).toString('base64')}`,
      createdAt: t.time,
      createdBy: 'test',
    });
    try {
      const res = await t.as(owner, 'POST', '/admin/v1/bulk/block', { json: { users: ids } });
      expect(res.status, res.body.toString()).toBe(201);
      expect(await waitDone(res.json.id)).toMatchObject({ state: 'done', ok: 3 });
      const { items } = await stores().integrations.listDeliveries(A, 'whk_bulk', { limit: 50 });
      expect(items.map((d) => d.type)).toEqual(['user.block', 'user.block', 'user.block']);
      expect(await stores().audit.verifyChain(A)).toMatchObject({ ok: true });
    } finally {
      await stores().integrations.deleteWebhook(A, 'whk_bulk');
    }
  });

  it('wipes devices with one signed command each, refusing commands signed by someone else', async () => {
    const ctx = t.server.context;
    const root = await generateOrganisationRoot(ctx.provider);
    const key = await ctx.provider.ed25519.generateKeyPair();
    const certificate = await issueAdminCertificate(ctx.provider, root.privateKey, {
      tenant: A,
      admin: acme.owner.admin,
      adminPublicKey: key.publicKey,
      role: 'owner',
      issuedAtMs: t.time - 60_000,
      expiresAtMs: t.time + 30 * 86_400_000,
      serial: 1,
    });
    const set = await t.as(owner, 'PUT', '/admin/v1/organisation/root', {
      json: { rootPublicKey: b64(root.publicKey), ownerCertificate: b64(certificate) },
    });
    expect(set.status, set.body.toString()).toBe(201);
    const u = fresh('w');
    await setUpDevice(ctx, A, u, 1);
    await setUpDevice(ctx, A, u, 2);
    const first = await nextOrganisationSequence(ctx, A, 'wipe');
    const commands = await Promise.all(
      [1, 2].map(async (device, i) =>
        b64(
          await signOrganisationObject(ctx.provider, key.privateKey, certificate, {
            kind: 'wipe',
            payload: {
              user: userId(u),
              deviceId: device as never,
              commandId: new Uint8Array(randomBytes(16)),
            },
            tenant: A,
            issuedAtMs: t.time,
            sequence: first + i,
          } as never),
        ),
      ),
    );
    const dry = await t.as(owner, 'POST', '/admin/v1/bulk/wipe', { json: { commands, dryRun: true } });
    expect(dry.json).toMatchObject({ change: 2 });
    expect((await stores().devices.get(A, userId(u), 1 as never))?.blocked).toBe(false);
    // Out of sequence order: refused before anything is stored.
    expect(
      (await t.as(owner, 'POST', '/admin/v1/bulk/wipe', { json: { commands: [...commands].reverse() } }))
        .status,
    ).toBe(400);
    const res = await t.as(owner, 'POST', '/admin/v1/bulk/wipe', { json: { commands } });
    expect(res.status, res.body.toString()).toBe(201);
    const job = await waitDone(res.json.id);
    expect(job).toMatchObject({ ok: 2, failed: 0 });
    for (const d of [1, 2])
      expect((await stores().devices.get(A, userId(u), d as never))?.blocked).toBe(true);
    const items = await results(job.id);
    expect(items.every((i) => typeof i.result?.commandId === 'string')).toBe(true);
    // Replaying the same signed commands as a new job: every item fails on its stale sequence.
    const replay = await t.as(owner, 'POST', '/admin/v1/bulk/wipe', { json: { commands } });
    expect(await waitDone(replay.json.id)).toMatchObject({ ok: 0, failed: 2 });
    expect((await results(replay.json.id)).map((i) => i.reason)).toEqual([
      'stale-sequence',
      'stale-sequence',
    ]);
    // Another administrator cannot submit the owner's signed commands as theirs.
    const admin = await personWith('admin');
    const foreign = await t.as(admin, 'POST', '/admin/v1/bulk/wipe', { json: { commands } });
    expect(foreign.status).toBe(403);
  });
});

describe('bulk jobs at server start', () => {
  it('resumes a job a stopped server left running, waits out a held lease, and leaves a job of a gone creator interrupted', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cloister-bulk-restart-'));
    const R = tenantId('rs');
    const dead = 'job_DEADDEADDEADDEADDEADDE';
    const held = 'job_HELDHELDHELDHELDHELDHE';
    const orphan = 'job_ORPHANORPHANORPHANORPH';
    let first: AdminTestServer | undefined;
    let second: AdminTestServer | undefined;
    try {
      first = await startAdminServer(T0, { dataDir });
      const created = await createTenantAsOperator(first, 'rs');
      const ctx = first.server.context;
      const ids: string[] = [];
      for (let i = 0; i < 250; i++) {
        ids.push(`r-${i}`);
        await ctx.stores.users.create(R, userId(`r-${i}`), { displayName: `R ${i}` });
      }
      const job = (id: string, users: readonly string[], createdBy: string, leaseUntil: number) =>
        ctx.stores.jobs.create(
          R,
          {
            id,
            action: 'block',
            createdBy,
            options: {},
            idempotencyKey: null,
            inputDigest: new Uint8Array(32),
            runner: 'dead',
            leaseUntil,
          },
          users.map((user) => ({ user, device: null, command: null })),
        );
      // The first server runs one batch of `dead` and stops; its lease ends before the restart.
      await job(dead, ids.slice(0, 230), created.owner.admin, T0 + JOB_LEASE_MS);
      await runJob(ctx, R, dead, 'dead', { maxBatches: 1 });
      // `held`: its runner renewed the lease just before the restart (it may still be running).
      await job(held, ids.slice(230, 240), created.owner.admin, T0 + JOB_LEASE_MS + 10 + 500);
      await job(orphan, ids.slice(240), 'adm_AAAAAAAAAAAAAAAAAAAAAA', T0);
      expect(await ctx.stores.jobs.get(R, dead)).toMatchObject({ state: 'running', done: 200 });
      await first.close();
      first = undefined;

      second = await startAdminServer(T0 + JOB_LEASE_MS + 10, { dataDir });
      const stores = second.server.context.stores;
      const until = async (id: string, state: string) => {
        for (let i = 0; i < 400; i++) {
          const j = await stores.jobs.get(R, id);
          if (j?.state === state) return j;
          await new Promise((r) => setTimeout(r, 25));
        }
        throw new Error(`${id} did not reach ${state}`);
      };
      expect(await until(dead, 'done')).toMatchObject({ done: 230, ok: 230, failed: 0 });
      expect(await until(orphan, 'interrupted')).toMatchObject({ lastError: JOB_CREATOR_INACTIVE, done: 0 });
      // The held lease is respected while it lasts…
      await new Promise((r) => setTimeout(r, 600));
      expect(await stores.jobs.get(R, held)).toMatchObject({ state: 'running', runner: 'dead', done: 0 });
      // …and the job is taken over once it has run out.
      second.time += 1_000;
      expect(await until(held, 'done')).toMatchObject({ done: 10, ok: 10 });
      const records = [];
      for (let fromSeq = 1; ; fromSeq += 1000) {
        const page = await stores.audit.list(R, { fromSeq, limit: 1000 });
        records.push(...page);
        if (page.length < 1000) break;
      }
      const blocks = records.filter((r) => r.action === 'user.block' && r.details.job === dead);
      expect(blocks).toHaveLength(230);
      expect(new Set(blocks.map((r) => r.target)).size).toBe(230);
      const resumes = records.filter((r) => r.action === 'bulk.resume');
      expect(resumes.map((r) => [r.target, r.actor, r.details.automatic])).toEqual([
        [dead, 'system', true],
        [held, 'system', true],
      ]);
      expect(await stores.audit.verifyChain(R)).toMatchObject({ ok: true });
      for (const u of ids.slice(240)) expect((await stores.users.get(R, userId(u)))?.blocked).toBe(false);
    } finally {
      await first?.close();
      await second?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('a batch’s audit records and delivery-epoch bumps', () => {
  const provider = createNobleProvider();
  const X = tenantId('x');
  const setUp = async () => {
    const adapter = subjectSealingAdapter(createMemoryAdapter(), provider);
    const stores = createServerStores(adapter, { provider });
    await stores.tenants.create(X, { name: 'X', signingKey: new Uint8Array(randomBytes(32)) } as never);
    return { scope: { adapter, provider }, stores };
  };
  const input = (i: number) => ({
    actor: 'adm',
    action: 'user.block',
    target: `u${i}`,
    outcome: 'success' as const,
    at: 1_000 + i,
    details: { job: 'j', i },
  });

  it('chains a multi-row append exactly as appends one by one would, between single appends', async () => {
    const batched = await setUp();
    const single = await setUp();
    await batched.stores.audit.append(X, input(0));
    await adminTransaction(batched.scope, (t) =>
      appendAuditRecords(t.tx, provider, X, [input(1), input(2), input(3)]),
    );
    await batched.stores.audit.append(X, input(4));
    for (let i = 0; i <= 4; i++) await single.stores.audit.append(X, input(i));
    const a = await batched.stores.audit.list(X, { limit: 10 });
    const b = await single.stores.audit.list(X, { limit: 10 });
    expect(a.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(a.map((r) => b64(r.hash))).toEqual(b.map((r) => b64(r.hash)));
    expect(await batched.stores.audit.verifyChain(X)).toMatchObject({ ok: true, count: 5 });
    expect(b64((await batched.stores.audit.head(X))?.hash as Uint8Array)).toBe(b64(b[4]?.hash as Uint8Array));
  });

  it('refuses a batch with one bad record and writes none of it', async () => {
    const { scope, stores } = await setUp();
    await stores.audit.append(X, input(0));
    await expect(
      adminTransaction(scope, (t) =>
        appendAuditRecords(t.tx, provider, X, [input(1), { ...input(2), action: 'Bad Action' }]),
      ),
    ).rejects.toBeInstanceOf(ValidationError);
    expect((await stores.audit.head(X))?.seq).toBe(1);
    expect(await stores.audit.list(X, { fromSeq: 2 })).toEqual([]);
  });

  it('a taken sequence number aborts the batch: the chain is not forked', async () => {
    const { scope, stores } = await setUp();
    await stores.audit.append(X, input(0));
    // A record at seq 3 behind the head's back (as a racing writer that did not lock the head).
    await expect(
      adminTransaction(scope, async (t) => {
        await t.tx.put(T.audit, { partition: key(X), sort: u64(3), value: new Uint8Array([0]) });
        await appendAuditRecords(t.tx, provider, X, [input(1), input(2), input(3)]);
      }),
    ).rejects.toBeInstanceOf(StorageError);
    expect(await stores.audit.verifyChain(X)).toMatchObject({ ok: true, count: 1 });
  });

  it('bumps each user epoch and the sender class once per batch, and every token bound to them stops working', async () => {
    const { scope, stores } = await setUp();
    await stores.pools.put(X, poolId('p'), { name: 'P' });
    const ids = ['a', 'b', 'c'].map((u) => userId(u));
    for (const u of ids) await stores.users.create(X, u, { displayName: u, pools: [poolId('p')] });
    await stores.users.update(X, userId('a'), { displayName: 'A' });
    const cls = senderClassOf(X, [poolId('p')]);
    // `b` has been blocked and unblocked before: its epoch row exists.
    await stores.users.update(X, userId('b'), { blocked: true });
    await stores.users.update(X, userId('b'), { blocked: false });
    const before = await Promise.all(ids.map((u) => stores.deliveryEpochs.get(X, u, cls)));
    const seenInside = await adminTransaction(scope, (t) =>
      withBatchedEpochBumps(t.tx, async () => {
        for (const u of ids) await t.stores.users.update(X, u, { blocked: true });
        return t.stores.deliveryEpochs.get(X, userId('a'), cls);
      }),
    );
    expect(seenInside).toEqual(before[0]);
    const after = await Promise.all(ids.map((u) => stores.deliveryEpochs.get(X, u, cls)));
    for (const [i, e] of after.entries()) {
      expect(e.user, ids[i]).toBe((before[i]?.user ?? 0) + 1);
      expect(e.senderClass).toBe((before[0]?.senderClass ?? 0) + 1);
      expect(e.tenant).toBe(before[0]?.tenant);
    }
    // Outside a batch, each change bumps at once.
    await stores.users.update(X, userId('a'), { blocked: false });
    expect((await stores.deliveryEpochs.get(X, userId('a'), cls)).user).toBe((after[0]?.user ?? 0) + 1);
  });

  it('a batch that throws bumps nothing', async () => {
    const { scope, stores } = await setUp();
    await stores.users.create(X, userId('a'), { displayName: 'a' });
    const cls = senderClassOf(X, []);
    await expect(
      adminTransaction(scope, (t) =>
        withBatchedEpochBumps(t.tx, async () => {
          await t.stores.users.update(X, userId('a'), { blocked: true });
          throw new Error('the batch fails');
        }),
      ),
    ).rejects.toThrow('the batch fails');
    expect(await stores.deliveryEpochs.get(X, userId('a'), cls)).toEqual({
      tenant: 0,
      user: 0,
      senderClass: 0,
    });
    expect((await stores.users.get(X, userId('a')))?.blocked).toBe(false);
  });
});
