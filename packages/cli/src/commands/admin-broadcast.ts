/**
 * `cloister admin broadcast send` and `cloister admin broadcast status`: a broadcast signed with
 * the administrator directory's signing key, sealed on this machine to every device of its
 * audience (each checked against its user's signed device list) and submitted in batches, with a
 * progress bar; and its delivery and read counts (spec/broadcast.md).
 *
 * @module
 */
import type { BroadcastProgress, BroadcastSent } from '@cloister/admin';
import { type Command, Option } from 'commander';
import {
  type AdminOptionValues,
  addAdminOptions,
  explainAdminError,
  openAdminSession,
  openAdminSigningKey,
  output,
} from '../_admin.js';
import { type ResolvedIO, UsageFailure } from '../io.js';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Progress of a broadcast on stderr: a bar on a terminal (checking devices, then sending), nothing otherwise. */
async function broadcastProgress(): Promise<{ update(p: BroadcastProgress): void; stop(): void }> {
  // Not a terminal: no bar (the summary on stdout says how many devices it reached).
  if (process.stderr.isTTY !== true) return { update() {}, stop() {} };
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      format: '{phase} [{bar}] {value}/{total} devices',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let phase: string | undefined;
  return {
    update(p) {
      if (phase !== p.phase) {
        if (phase !== undefined) bar.stop();
        phase = p.phase;
        bar.start(p.total, 0, { phase: p.phase === 'audience' ? 'checking devices' : 'sending' });
      }
      bar.setTotal(p.total);
      bar.update(p.done);
    },
    stop() {
      if (phase !== undefined) bar.stop();
    },
  };
}

/**
 * Adds `cloister admin broadcast send|status` to the `admin` group.
 *
 * @example
 * ```ts
 * registerAdminBroadcastCommands(program.command('admin'), resolveIO());
 * ```
 */
export function registerAdminBroadcastCommands(admin: Command, io: ResolvedIO): void {
  const broadcast = admin
    .command('broadcast')
    .description('broadcasts sent end to end to every device of an audience');
  addAdminOptions(
    broadcast
      .command('send')
      .description(
        'sign a broadcast, seal it to every device of the tenant (or of --pool / --user) and send it',
      )
      .addOption(new Option('--text <text>', 'the message (1 to 4096 UTF-8 bytes)').makeOptionMandatory())
      .addOption(new Option('--pool <id>', 'a pool of the audience (repeatable)').argParser(collect))
      .addOption(new Option('--user <id>', 'a user of the audience (repeatable)').argParser(collect)),
    'print one JSON line {"broadcastId","sequence","queued","duplicates","refused"}',
  ).action(async (options: AdminOptionValues & { text: string; pool?: string[]; user?: string[] }) => {
    if (options.pool !== undefined && options.user !== undefined) {
      throw new UsageFailure('--pool and --user do not go together: one broadcast has one kind of audience');
    }
    const audience =
      options.pool !== undefined
        ? { kind: 'pools' as const, pools: options.pool }
        : options.user !== undefined
          ? { kind: 'users' as const, users: options.user }
          : { kind: 'tenant' as const };
    const { client, provider, dir, passphrase } = await openAdminSession(options, io);
    const key = await openAdminSigningKey(dir, provider, passphrase);
    const progress = await broadcastProgress();
    let sent: BroadcastSent;
    try {
      sent = await client.broadcasts
        .send(
          { text: options.text, audience },
          { client, provider, key },
          { onProgress: (p) => progress.update(p) },
        )
        .catch(explainAdminError);
    } finally {
      progress.stop();
    }
    output(io, options, sent, (o) => {
      const lines = [`broadcast ${o.broadcastId} (sequence ${o.sequence}): queued for ${o.queued} devices\n`];
      for (const r of o.refused) lines.push(`  refused ${r.user}/${r.device}: ${r.reason}\n`);
      return lines.join('');
    });
  });
  addAdminOptions(
    broadcast
      .command('status')
      .description('how many devices a broadcast was queued for, reported delivered and read (counts only)')
      .argument('<id>', 'the broadcast id'),
    'print one JSON line {"broadcastId","sequence","admin","issuedAt","devices","delivered","read"}',
  ).action(async (id: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    const counts = await client.broadcasts.counts(id).catch(explainAdminError);
    output(
      io,
      options,
      counts,
      (c) => `broadcast ${c.broadcastId}: ${c.devices} devices, ${c.delivered} delivered, ${c.read} read\n`,
    );
  });
}
