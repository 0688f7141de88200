/**
 * The relay's write path counted at the driver (issue 15, Speed; spec/server-delivery.md §2c): a
 * group of submissions, and a group of acknowledgements, is each one statement with no `BEGIN` and
 * `COMMIT` (a lone message: one round trip); a turn that reads both commits them side by side. Runs on PGlite, and on PostgreSQL too when `DATABASE_URL` is set; the guarantees
 * (a duplicate is refused, an acknowledged envelope is gone) are checked alongside the counts.
 */
import { randomBytes } from 'node:crypto';
import { type MailboxId, messageId, tenantId } from '@cloister/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailboxWriterOf } from '../src/mailbox-writer.js';
import { statisticsOf } from '../src/statistics.js';
import type { MailboxEnqueue } from '../src/store/index.js';
import {
  type AdminTestServer,
  createTenantAsOperator,
  DATABASE_URL,
  startAdminServer,
} from './helpers/admin-api.js';
import { setUpDevice } from './helpers/device-client.js';

const acme = tenantId('acme');
const backends = [
  { name: 'pglite', schema: undefined },
  ...(DATABASE_URL === undefined ? [] : [{ name: 'postgres', schema: `relay_statements_${process.pid}` }]),
];

describe.each(backends)('the relay write path on $name', ({ schema }) => {
  let t: AdminTestServer;
  let mailboxes: MailboxId[];

  beforeAll(async () => {
    // No webhook dispatcher: its outbox poll (a transaction every second) would be counted too.
    const webhooks = { dispatch: false };
    t = await startAdminServer(
      Date.now(),
      schema === undefined ? { webhooks } : { webhooks, postgresSchema: schema },
    );
    await createTenantAsOperator(t, 'acme');
    const ctx = t.server.context;
    mailboxes = [];
    for (const user of ['ann', 'ben', 'cat']) mailboxes.push((await setUpDevice(ctx, acme, user, 1)).mailbox);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const delivery = (mailbox: MailboxId): MailboxEnqueue => ({
    mailbox,
    messageId: messageId(randomBytes(16).toString('base64url')),
    envelope: new Uint8Array(randomBytes(300)),
    expiresAt: t.time + 3_600_000,
  });

  async function counted<T>(fn: () => Promise<T>) {
    // The statistics recorder writes what it gathered every ten seconds, in a transaction of its
    // own; written out first, it has nothing left to write inside the counted window.
    await statisticsOf(t.server.context).flush();
    const before = t.server.storageStatistics();
    const result = await fn();
    const after = t.server.storageStatistics();
    if (before === undefined || after === undefined) throw new Error('the SQL backend counts statements');
    return {
      result,
      statements: after.statements - before.statements,
      transactions: after.transactions - before.transactions,
    };
  }

  it('writes a lone submission in one statement without BEGIN and COMMIT, and refuses its duplicate', async () => {
    const writer = mailboxWriterOf(t.server.context);
    const item = delivery(mailboxes[0] as MailboxId);
    const lone = await counted(() => writer.submit([item]));
    expect(lone).toMatchObject({ statements: 1, transactions: 0 });
    expect(lone.result.outcomes[0]?.status).toBe('queued');
    const again = await counted(() => writer.submit([{ ...item, envelope: new Uint8Array(10) }]));
    expect(again).toMatchObject({ statements: 1, transactions: 0 });
    expect(again.result.outcomes[0]?.status).toBe('duplicate');
    const listed = await t.server.context.stores.mailboxes.list(item.mailbox);
    expect(listed.items.map((e) => e.messageId)).toEqual([item.messageId]);
    expect(listed.items[0]?.envelope).toEqual(item.envelope);
  });

  it('commits submissions read in one turn as one statement, and acknowledgements as another', async () => {
    const writer = mailboxWriterOf(t.server.context);
    const items = mailboxes.map(delivery);
    const submitted = await counted(() => Promise.all(items.map((item) => writer.submit([item]))));
    expect(submitted).toMatchObject({ statements: 1, transactions: 0 });
    const positions = submitted.result.map((r, k) => {
      const outcome = r.outcomes[0];
      if (outcome?.status !== 'queued') throw new Error('not queued');
      return { mailbox: (items[k] as MailboxEnqueue).mailbox, cursor: outcome.cursor };
    });
    const acked = await counted(() => Promise.all(positions.map((p) => writer.ack([p]))));
    expect(acked).toMatchObject({ statements: 1, transactions: 0 });
    for (const item of items) {
      const left = await t.server.context.stores.mailboxes.list(item.mailbox);
      expect(left.items.map((e) => e.messageId)).not.toContain(item.messageId);
    }
  });

  it('commits the submissions and acknowledgements of one turn side by side, each one statement', async () => {
    const writer = mailboxWriterOf(t.server.context);
    const first = delivery(mailboxes[1] as MailboxId);
    const [queued] = (await writer.submit([first])).outcomes;
    if (queued?.status !== 'queued') throw new Error('not queued');
    const second = delivery(mailboxes[2] as MailboxId);
    const mixed = await counted(() =>
      Promise.all([writer.ack([{ mailbox: first.mailbox, cursor: queued.cursor }]), writer.submit([second])]),
    );
    // The acknowledgement and the claim with its envelope, no BEGIN or COMMIT.
    expect(mixed).toMatchObject({ statements: 2, transactions: 0 });
    expect((await t.server.context.stores.mailboxes.list(first.mailbox)).items).toEqual([]);
    expect(
      (await t.server.context.stores.mailboxes.list(second.mailbox)).items.map((e) => e.messageId),
    ).toEqual([second.messageId]);
  });
});
