/**
 * `cloister admin audit search|verify|export`: the tenant's hash-chained audit log.
 *
 * @module
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  type AdminOptionValues,
  addAdminOptions,
  explainAdminError,
  openAdminSession,
  output,
} from '../_admin.js';
import { parsePath, positiveInteger } from '../_options.js';
import type { ResolvedIO } from '../io.js';

function parseTime(value: string): number {
  const ms = /^\d{1,16}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new InvalidArgumentError('expected an ISO 8601 time or milliseconds since the epoch.');
  }
  return ms;
}

interface SearchOptions extends AdminOptionValues {
  readonly from?: number;
  readonly to?: number;
  readonly actor?: string;
  readonly action?: string;
  readonly target?: string;
  readonly limit?: number;
  readonly after?: number;
}

/**
 * Adds `cloister admin audit …` to the `admin` group.
 *
 * @example
 * ```ts
 * registerAdminAuditCommands(program.command('admin'), resolveIO());
 * ```
 */
export function registerAdminAuditCommands(admin: Command, io: ResolvedIO): Command {
  const audit = admin.command('audit').description("the tenant's audit log");
  addAdminOptions(
    audit
      .command('search')
      .description('search by time, actor, action (a trailing dot matches a prefix) and target')
      .addOption(new Option('--from <time>', 'earliest time (ISO 8601 or ms)').argParser(parseTime))
      .addOption(new Option('--to <time>', 'latest time (ISO 8601 or ms)').argParser(parseTime))
      .addOption(new Option('--actor <id>', 'who acted (an administrator id, operator, system)'))
      .addOption(new Option('--action <action>', 'such as device.wipe, or admin. for every admin action'))
      .addOption(new Option('--target <target>', 'what was acted on'))
      .addOption(
        new Option('--limit <n>', 'at most this many records (default 100)').argParser(positiveInteger(1000)),
      )
      .addOption(
        new Option('--after <seq>', 'continue after this sequence number').argParser(
          positiveInteger(2 ** 53 - 1),
        ),
      ),
    'print one JSON line {"items":[…],"next"?}',
  ).action(async (options: SearchOptions) => {
    const { client } = await openAdminSession(options, io);
    const { adminDir: _d, passphraseFile: _p, json: _j, ...query } = options;
    const page = await client.searchAudit(query).catch(explainAdminError);
    output(
      io,
      options,
      page,
      (p) =>
        p.items
          .map(
            (r) =>
              `${r.seq}\t${new Date(r.at).toISOString()}\t${r.actor}\t${r.action}\t${r.target}\t${r.outcome}\n`,
          )
          .join('') + (p.next === undefined ? '' : `(more: --after ${p.next})\n`),
    );
  });
  addAdminOptions(audit.command('verify').description("verify the log's hash chain end to end")).action(
    async (options: AdminOptionValues) => {
      const { client } = await openAdminSession(options, io);
      const check = await client.verifyAudit().catch(explainAdminError);
      output(io, options, check, (c) =>
        c.ok
          ? `the chain verifies: ${c.count} records, head ${c.head}\n`
          : `the chain is broken at record ${c.firstBadSeq}\n`,
      );
      if (!check.ok) throw new Error(`the audit chain is broken at record ${check.firstBadSeq}`);
    },
  );
  addAdminOptions(
    audit
      .command('export')
      .description('export the log as JSON lines (to stdout, or --out)')
      .addOption(new Option('--from <time>', 'earliest time (ISO 8601 or ms)').argParser(parseTime))
      .addOption(new Option('--to <time>', 'latest time (ISO 8601 or ms)').argParser(parseTime))
      .addOption(
        new Option('--out <file>', 'write to this file (mode 0600) instead of stdout').argParser(parsePath),
      ),
    'ignored: the export is JSON lines already',
  ).action(async (options: AdminOptionValues & { from?: number; to?: number; out?: string }) => {
    const { client } = await openAdminSession(options, io);
    const file =
      options.out === undefined ? undefined : createWriteStream(options.out, { mode: 0o600, flags: 'wx' });
    let count = 0;
    try {
      for await (const record of client.exportAudit({
        ...(options.from === undefined ? {} : { from: options.from }),
        ...(options.to === undefined ? {} : { to: options.to }),
      })) {
        const line = `${JSON.stringify(record)}\n`;
        if (file === undefined) io.stdout(line);
        else if (!file.write(line)) await once(file, 'drain');
        count++;
      }
    } catch (error) {
      explainAdminError(error);
    } finally {
      if (file !== undefined) {
        file.end();
        await once(file, 'close');
      }
    }
    if (file !== undefined) io.stderr(`exported ${count} records to ${options.out}\n`);
  });
  return audit;
}
