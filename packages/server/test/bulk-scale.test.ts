/**
 * A bulk block over many users, timed: `CLOISTER_BULK_SCALE_USERS` users (the figure is
 * 10,000 on PostgreSQL: `CLOISTER_BULK_SCALE_USERS=10000 DATABASE_URL=… npx vitest run
 * packages/server/test/bulk-scale.test.ts`), by default 1,000 on PostgreSQL when `DATABASE_URL` is
 * set and 300 on PGlite, so that the full suite stays within its time budget (the test's name
 * says the count and the backend). The users are seeded through the store in
 * batches of 500 per transaction; the job is created through the admin API with a filter (the
 * resolution scan is part of the time) and waited for; every user ends blocked with one audit
 * record naming the job. Prints the seed time, the job's time and the rate.
 */
import { randomBytes } from 'node:crypto';
import { tenantId, userId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AdminTestServer,
  createTenantAsOperator,
  DATABASE_URL,
  login,
  startAdminServer,
} from './helpers/admin-api.js';

const T0 = 1_780_000_000_000 - (1_780_000_000_000 % 30_000) + 5_000;
const COUNT = (() => {
  const asked = process.env.CLOISTER_BULK_SCALE_USERS;
  if (asked === undefined || asked === '') return DATABASE_URL === undefined ? 300 : 1_000;
  const n = Number(asked);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error('CLOISTER_BULK_SCALE_USERS: a positive integer');
  return n;
})();
const BACKEND = DATABASE_URL === undefined ? 'PGlite' : 'PostgreSQL';

describe('bulk operations at scale', () => {
  let t: AdminTestServer;
  let owner: { session: string };
  const A = tenantId('scale');

  beforeAll(async () => {
    t = await startAdminServer(T0, { postgresSchema: `bulk_scale_${randomBytes(4).toString('hex')}` });
    const created = await createTenantAsOperator(t, 'scale');
    owner = { session: await login(t, 'scale', created.owner.email, created.owner.secret) };
  }, 60_000);
  afterAll(async () => t?.close());

  it(`blocks ${COUNT} users on ${BACKEND} in one job`, async () => {
    const stores = t.server.context.stores;
    const seedStart = performance.now();
    for (let from = 0; from < COUNT; from += 500) {
      await stores.transaction(async (s) => {
        for (let i = from; i < Math.min(COUNT, from + 500); i++) {
          await s.users.create(A, userId(`user-${i}@scale.example`), { displayName: `User ${i}` });
        }
      });
    }
    const seedMs = performance.now() - seedStart;
    const start = performance.now();
    const res = await t.as(owner, 'POST', '/admin/v1/bulk/block', {
      json: { filter: { domain: 'scale.example', status: 'never-enrolled' } },
    });
    expect(res.status, res.body.toString()).toBe(201);
    const createdMs = performance.now() - start;
    let job = res.json;
    while (job.state === 'running') {
      await new Promise((r) => setTimeout(r, 100));
      job = (await t.as(owner, 'GET', `/admin/v1/jobs/${job.id}`)).json;
    }
    const totalMs = performance.now() - start;
    expect(job).toMatchObject({ state: 'done', total: COUNT, ok: COUNT, failed: 0, skipped: 0 });
    for (let after: string | undefined; ; ) {
      const page = await stores.users.list(A, { limit: 1000, ...(after === undefined ? {} : { after }) });
      expect(page.items.every((u) => u.blocked)).toBe(true);
      if (page.next === undefined) break;
      after = page.next;
    }
    let audited = 0;
    for (let fromSeq = 1; ; fromSeq += 1000) {
      const records = await stores.audit.list(A, { fromSeq, limit: 1000 });
      audited += records.filter((r) => r.action === 'user.block' && r.details.job === job.id).length;
      if (records.length < 1000) break;
    }
    expect(audited).toBe(COUNT);
    console.info(
      `bulk block on ${BACKEND}: ${COUNT} users seeded in ${(seedMs / 1000).toFixed(1)} s; ` +
        `job created (filter resolved, ${COUNT} items stored) in ${(createdMs / 1000).toFixed(1)} s; ` +
        `done in ${(totalMs / 1000).toFixed(1)} s (${Math.round(COUNT / (totalMs / 1000))} users/s)`,
    );
  }, 900_000);
});
