/**
 * `cloister admin broadcast send` and `cloister admin broadcast status`: a broadcast signed with
 * the administrator directory's signing key, sealed on this machine to every device of its
 * audience (each checked against its user's signed device list) and submitted in batches, with a
 * progress bar; and its delivery and read counts (spec/broadcast.md). The users' device lists
 * are pinned between runs in the administrator directory's `device-list-pins.json`.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { BroadcastProgress, BroadcastSent, DeviceListPinStore } from '@cloister/admin';
import { CloisterError, type CryptoProvider } from '@cloister/crypto';
import { type Command, Option } from 'commander';
import {
  ADMIN_FILES,
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

/**
 * The pins of `dir`'s `device-list-pins.json` (none when it does not exist yet); each change is
 * written to the file (mode 0600, replaced at once) before it is kept in memory.
 */
async function filePins(dir: string, provider: CryptoProvider): Promise<DeviceListPinStore> {
  const path = join(dir, ADMIN_FILES.deviceListPins);
  const [
    { decodeDeviceListPins, encodeDeviceListPins, memoryDeviceListPins },
    { readKeyStoreFile, writeKeyStoreFile },
  ] = await Promise.all([import('@cloister/admin'), import('@cloister/admin/node')]);
  let initial: Awaited<ReturnType<typeof decodeDeviceListPins>> = [];
  if (existsSync(path)) {
    try {
      initial = await decodeDeviceListPins(provider, readKeyStoreFile(path));
    } catch (error) {
      if (!(error instanceof CloisterError)) throw error;
      throw new Error(`${path} is not a device-list pin file this version reads (${error.message})`, {
        cause: error,
      });
    }
  }
  const pins = memoryDeviceListPins(initial);
  return {
    get: (user) => pins.get(user),
    put: async (next) => {
      const written = memoryDeviceListPins(pins.all());
      await written.put(next);
      writeKeyStoreFile(path, encodeDeviceListPins(written.all()));
      await pins.put(next);
    },
  };
}

const PIN_REASONS = new Set(['device-list-reset', 'device-list-rollback', 'device-list-unlinked']);

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
      .addOption(new Option('--user <id>', 'a user of the audience (repeatable)').argParser(collect))
      .addOption(
        new Option(
          '--accept-reset <id>',
          'first pin the device list refused for this user at an earlier broadcast (a reset the user confirmed; repeatable)',
        ).argParser(collect),
      ),
    'print one JSON line {"broadcastId","sequence","queued","duplicates","refused"}',
  ).action(
    async (
      options: AdminOptionValues & {
        text: string;
        pool?: string[];
        user?: string[];
        acceptReset?: string[];
      },
    ) => {
      if (options.pool !== undefined && options.user !== undefined) {
        throw new UsageFailure(
          '--pool and --user do not go together: one broadcast has one kind of audience',
        );
      }
      const audience =
        options.pool !== undefined
          ? { kind: 'pools' as const, pools: options.pool }
          : options.user !== undefined
            ? { kind: 'users' as const, users: options.user }
            : { kind: 'tenant' as const };
      const { client, provider, dir, passphrase } = await openAdminSession(options, io);
      const key = await openAdminSigningKey(dir, provider, passphrase);
      const pins = await filePins(dir, provider);
      for (const user of options.acceptReset ?? []) {
        if (!(await client.broadcasts.acceptDeviceListReset(user, { pins }))) {
          throw new UsageFailure(`--accept-reset ${user}: no refused device list is held for this user`);
        }
      }
      const progress = await broadcastProgress();
      let sent: BroadcastSent;
      try {
        sent = await client.broadcasts
          .send(
            { text: options.text, audience },
            { client, provider, key },
            { onProgress: (p) => progress.update(p), pins },
          )
          .catch(explainAdminError);
      } finally {
        progress.stop();
      }
      output(io, options, sent, (o) => {
        const lines = [
          `broadcast ${o.broadcastId} (sequence ${o.sequence}): queued for ${o.queued} devices\n`,
        ];
        for (const r of o.refused) lines.push(`  refused ${r.user}/${r.device}: ${r.reason}\n`);
        if (o.refused.some((r) => PIN_REASONS.has(r.reason))) {
          lines.push(
            `  (a device list that does not follow the one pinned in ${join(dir, ADMIN_FILES.deviceListPins)}: ` +
              'if the user confirms they set up their devices anew, send again with --accept-reset <user>)\n',
          );
        }
        return lines.join('');
      });
    },
  );
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
