/**
 * The organisation-controls part of the demo, through the admin SDK and the client SDK on a local
 * system (`startLocalSystem`): pools and their signed rules, a user moved between pools
 * mid-conversation (refused at once, restored on the way back), a bulk block chosen by a filter
 * with a dry run first, and a broadcast signed on the owner's side, sealed to every device and
 * shown by each as a system notice, with its delivery and read counts.
 *
 *   npx tsx --conditions=@cloister/source examples/demo-controls.ts
 */
import { pathToFileURL } from 'node:url';
import { signPoolRules } from '@cloister/admin';
import type { CloisterClient } from '@cloister/client';
import { nextEvent, type Say, startLocalSystem } from './demo-system.js';

/** What {@link runControlsDemo} observed. */
export interface ControlsDemoReport {
  /** The pools created, with their member counts at the end. */
  readonly pools: Readonly<Record<string, number>>;
  /** Whether Bob got Alice's message while both pools might reach each other. */
  readonly deliveredBefore: boolean;
  /** The HTTP status of the refusal after Bob was moved into `records`. */
  readonly refusedStatus: number | undefined;
  /** Whether Bob got Alice's message after moving back. */
  readonly deliveredAfter: boolean;
  /** The bulk block: what the dry run listed, what the job changed, and who is blocked after. */
  readonly bulk: {
    readonly dryRunWouldChange: number;
    readonly changedByDryRun: number;
    readonly blocked: number;
    readonly skipped: number;
    readonly failed: number;
  };
  /** The broadcast: devices it was sealed to, devices that showed it, and the server's counts. */
  readonly broadcast: {
    readonly sealedTo: number;
    readonly shownBy: number;
    readonly delivered: number;
    readonly read: number;
  };
}

/** Resolves once `check` holds (polled), or rejects after `ms`. */
async function until(check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    if (await check()) return;
  }
  throw new Error('the condition did not hold in time');
}

/** The status of the next `send-failed` event of `client` for `messageId`. */
function failureOf(client: CloisterClient, messageId: () => string | undefined): Promise<number | undefined> {
  return new Promise((resolve) => {
    const off = client.on('send-failed', (e) => {
      if (e.messageId !== messageId()) return;
      off();
      resolve((e.error as { status?: number }).status);
    });
  });
}

/**
 * Runs the organisation-controls demo and reports what it observed.
 *
 * @example
 * ```ts
 * const report = await runControlsDemo({ say: (title, ...lines) => console.log(title, lines) });
 * ```
 */
export async function runControlsDemo(options: { readonly say: Say }): Promise<ControlsDemoReport> {
  const { say } = options;
  const system = await startLocalSystem();
  const signer = system.owner;
  const admin = signer.client;
  try {
    // Pools and their rules: the wards and the pharmacy reach each other, records is closed.
    await admin.pools.create('ward-3', 'Ward 3');
    await admin.pools.create('pharmacy', 'Pharmacy');
    await admin.pools.create('records', 'Medical records');
    const rules = await signPoolRules(signer, { 'ward-3': ['pharmacy'], pharmacy: ['ward-3'] });
    say(
      'Pools (closed areas) and their rules, signed on the owner’s machine',
      'created: ward-3 (Ward 3), pharmacy (Pharmacy), records (Medical records)',
      `pool rules #${rules.sequence}: ward-3 <-> pharmacy; records reaches no other pool`,
    );

    const enrol = async (user: string, pools: string[]): Promise<CloisterClient> => {
      const invite = await admin.inviteUser({ user, pools });
      if (invite.enrolmentCode === null) throw new Error('the tenant has an organisation root');
      return system.client(user, { token: invite.enrolmentCode });
    };
    const alice = await enrol('alice', ['ward-3']);
    const bob = await enrol('bob', ['pharmacy']);
    const carol = await enrol('carol', ['records']);
    const dave = await enrol('dave', ['ward-3']);

    let got = nextEvent(bob, 'message', (e) => !e.message.outgoing);
    await alice.sendText({ user: 'bob' }, 'The ward needs 20 ml of heparin.');
    const deliveredBefore = (await got).message.content.body.type === 'text';

    await admin.pools.setUserPools('bob', ['records']);
    let refusedId: string | undefined;
    const refusal = failureOf(alice, () => refusedId);
    refusedId = (await alice.sendText({ user: 'bob' }, 'Are you still in the pharmacy?')).id;
    const refusedStatus = await refusal;

    await admin.pools.setUserPools('bob', ['pharmacy']);
    got = nextEvent(bob, 'message', (e) => !e.message.outgoing);
    await alice.sendText({ user: 'bob' }, 'Welcome back.');
    const deliveredAfter = (await got).message.content.body.type === 'text';
    say(
      'A user moved between pools mid-conversation',
      `Alice (ward-3) -> Bob (pharmacy): ${deliveredBefore ? 'delivered' : 'NOT delivered'}`,
      `Bob moved into records: Alice's next message refused by the server (HTTP ${refusedStatus ?? '?'}), nothing delivered`,
      `Bob moved back into pharmacy: ${deliveredAfter ? 'delivered again' : 'NOT delivered'}`,
    );

    // A bulk block chosen by a filter: the contractors' accounts, a dry run first.
    for (let i = 1; i <= 8; i++) {
      await admin.inviteUser({
        user: `contractor-${i}`,
        email: `c${i}@contractor.example`,
        pools: ['records'],
      });
    }
    await admin.blockUser('contractor-8');
    const selection = { filter: { domain: 'contractor.example' } } as const;
    const plan = await admin.bulk.dryRun('block', selection);
    const blockedBeforeJob = (await admin.bulk.findUsers({ domain: 'contractor.example', status: 'blocked' }))
      .items.length;
    const started = await admin.bulk.block(selection, { idempotencyKey: 'demo-contractors-2026' });
    const job = await admin.bulk.wait(started.id, { intervalMs: 100 });
    const blockedAfter = (await admin.bulk.findUsers({ domain: 'contractor.example', status: 'blocked' }))
      .items.length;
    say(
      'A bulk block of the users a filter selects (domain contractor.example), dry run first',
      `dry run: ${plan.change} would be blocked, ${plan.skipped} skipped (already blocked); blocked after the dry run: ${blockedBeforeJob} (nothing changed)`,
      `job ${job.id}: ${job.state}, ${job.ok} blocked, ${job.skipped} skipped, ${job.failed} failed, in batches with one audit record per user`,
      `blocked now: ${blockedAfter} of 8`,
    );
    const bulk = {
      dryRunWouldChange: plan.change,
      changedByDryRun: blockedBeforeJob - 1,
      blocked: blockedAfter,
      skipped: job.skipped,
      failed: job.failed,
    };

    // A broadcast to the whole tenant: signed and sealed on the owner's side, end to end.
    const shown: string[] = [];
    const devices = [alice, bob, carol, dave];
    const notices = devices.map((c) => nextEvent(c, 'broadcast').then((e) => shown.push(e.broadcast.text)));
    const sent = await admin.broadcasts.send(
      { text: 'Fire drill at 15:00 in all buildings.', audience: { kind: 'tenant' } },
      signer,
    );
    await Promise.all(notices);
    await alice.markBroadcastRead(sent.broadcastId);
    await carol.markBroadcastRead(sent.broadcastId);
    let counts = await admin.broadcasts.counts(sent.broadcastId);
    await until(async () => {
      counts = await admin.broadcasts.counts(sent.broadcastId);
      return counts.delivered === devices.length && counts.read === 2;
    });
    say(
      'A broadcast to every device, signed by the organisation and sealed end to end',
      `sealed on the owner's machine to ${sent.queued} devices (each checked against its user's signed device list; ${sent.refused.length} refused)`,
      `shown as a system notice on ${shown.length} devices: "${shown[0] ?? ''}"`,
      `counts the owner sees (no names): ${counts.delivered} delivered, ${counts.read} read`,
    );

    const pools: Record<string, number> = {};
    for (const id of ['ward-3', 'pharmacy', 'records']) pools[id] = (await admin.pools.get(id)).members ?? 0;
    return {
      pools,
      deliveredBefore,
      refusedStatus,
      deliveredAfter,
      bulk,
      broadcast: {
        sealedTo: sent.queued,
        shownBy: shown.length,
        delivered: counts.delivered,
        read: counts.read,
      },
    };
  } finally {
    await system.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let step = 0;
  await runControlsDemo({
    say: (title, ...lines) => {
      step += 1;
      console.log(`\n[${step}] ${title}`);
      for (const line of lines) console.log(`    ${line}`);
    },
  });
}
