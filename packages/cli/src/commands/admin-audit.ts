/**
 * `cloister admin audit search|verify|export|checkpoint|log-key`: the tenant's hash-chained audit
 * log; the export in JSON lines, CEF or OCSF; the signed checkpoint (C2SP), checked against a
 * verifier key and for consistency with an older checkpoint kept in a file.
 *
 * @module
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { type AuditExportFormat, verifyCheckpoint, verifyConsistency } from '@cloister/admin';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  type AdminOptionValues,
  addAdminOptions,
  cryptoProvider,
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
      .description(
        'export the log as JSON lines, CEF or OCSF (to stdout, or --out); missing records become gap records',
      )
      .addOption(
        new Option('--format <format>', 'jsonl (default), cef or ocsf').choices(['jsonl', 'cef', 'ocsf']),
      )
      .addOption(new Option('--from <time>', 'earliest time (ISO 8601 or ms)').argParser(parseTime))
      .addOption(new Option('--to <time>', 'latest time (ISO 8601 or ms)').argParser(parseTime))
      .addOption(
        new Option('--out <file>', 'write to this file (mode 0600) instead of stdout').argParser(parsePath),
      ),
    'ignored: the export is lines already',
  ).action(
    async (
      options: AdminOptionValues & { format?: AuditExportFormat; from?: number; to?: number; out?: string },
    ) => {
      const { client } = await openAdminSession(options, io);
      const file =
        options.out === undefined ? undefined : createWriteStream(options.out, { mode: 0o600, flags: 'wx' });
      let count = 0;
      try {
        for await (const line of client.audit.export({
          ...(options.format === undefined ? {} : { format: options.format }),
          ...(options.from === undefined ? {} : { from: options.from }),
          ...(options.to === undefined ? {} : { to: options.to }),
        })) {
          if (file === undefined) io.stdout(`${line}\n`);
          else if (!file.write(`${line}\n`)) await once(file, 'drain');
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
    },
  );
  addAdminOptions(
    audit.command('log-key').description("print the log's checkpoint origin and note verifier key"),
  ).action(async (options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    const key = await client.audit.logKey().catch(explainAdminError);
    output(io, options, key, (k) => `${k.verifierKey}\n`);
  });
  addAdminOptions(
    audit
      .command('checkpoint')
      .description(
        "print the log's signed checkpoint; check it with a verifier key and for consistency with an older one",
      )
      .addOption(
        new Option(
          '--verify-with <key>',
          'the note verifier key you pinned (<name>+<hex id>+<base64 key>); default: the key the server states',
        ),
      )
      .addOption(
        new Option('--since <file>', 'an older checkpoint (signed note) this one must extend').argParser(
          parsePath,
        ),
      ),
    'print one JSON line {note, origin, size, root, keySource, consistentWith?}',
  ).action(async (options: AdminOptionValues & { verifyWith?: string; since?: string }) => {
    const { client } = await openAdminSession(options, io);
    const provider = await cryptoProvider();
    const older = options.since === undefined ? undefined : await readFile(options.since, 'utf8');
    const note = await client.audit.checkpoint().catch(explainAdminError);
    let key = options.verifyWith;
    if (key === undefined) {
      key = (await client.audit.logKey().catch(explainAdminError)).verifierKey;
      io.stderr('warning: checked with the key the server states; pin it and pass --verify-with\n');
    }
    const current = await verifyCheckpoint(note, key, provider);
    let consistentWith: number | undefined;
    if (older !== undefined) {
      const old = await verifyCheckpoint(older, key, provider).catch((e: unknown) => {
        throw new Error(`the older checkpoint does not verify: ${(e as Error).message}`);
      });
      if (old.size > current.size)
        throw new Error(
          `the log shrank: ${old.size} records before, ${current.size} now (history rewritten)`,
        );
      const proof = await client.audit.consistencyProof(old.size, current.size).catch(explainAdminError);
      if (!(await verifyConsistency(old.size, current.size, proof.hashes, old.root, current.root, provider)))
        throw new Error(
          `the checkpoint is not consistent with the older one of ${old.size} records (history rewritten)`,
        );
      consistentWith = old.size;
      io.stderr(`consistent with the older checkpoint of ${old.size} records\n`);
    }
    output(
      io,
      options,
      {
        note,
        origin: current.origin,
        size: current.size,
        root: Buffer.from(current.root).toString('base64'),
        keySource: options.verifyWith === undefined ? 'server' : 'given',
        ...(consistentWith === undefined ? {} : { consistentWith }),
      },
      (c) => c.note,
    );
  });
  return audit;
}
