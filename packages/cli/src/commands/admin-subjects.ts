/**
 * `cloister admin users export <user> --out file.json` and `cloister admin users erase <user>`:
 * data-subject requests (spec/data-subject.md). The export is everything the server holds about
 * the person, one JSON document; the erasure deletes their rows and destroys the key their
 * personal rows are sealed under (crypto-shredding). Both need a fresh second factor
 * (`cloister admin step-up`).
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import {
  type AdminOptionValues,
  addAdminOptions,
  explainAdminError,
  openAdminSession,
  output,
} from '../_admin.js';
import { parsePath, parseUserId } from '../_options.js';
import type { ResolvedIO } from '../io.js';

const user = (v: string) => parseUserId(v) as string;

/**
 * What `admin users erase --json` prints.
 *
 * @example
 * ```ts
 * const erased: ErasedJson = JSON.parse(stdout);
 * console.log(erased.user, erased.erased);
 * ```
 */
export interface ErasedJson {
  /** The user id (pseudonymous: what the audit record keeps). */
  readonly user: string;
  /** Always true on success. */
  readonly erased: true;
}

/**
 * Adds `export` and `erase` to `cloister admin users` (creating the group when missing).
 *
 * @example
 * ```ts
 * registerAdminSubjectCommands(program.command('admin'), resolveIO());
 * ```
 */
export function registerAdminSubjectCommands(admin: Command, io: ResolvedIO): Command {
  const users =
    admin.commands.find((c) => c.name() === 'users') ??
    admin.command('users').description("the tenant's users");
  addAdminOptions(
    users
      .command('export')
      .description(
        'export everything the server holds about a user as one JSON document (fresh second factor)',
      )
      .argument('<user>', 'the user id', user)
      .addOption(
        new Option('--out <file>', 'write the document to this file (mode 0600, not overwritten)').argParser(
          parsePath,
        ),
      ),
    'print the document as one JSON line (without --out)',
  ).action(async (u: string, options: AdminOptionValues & { readonly out?: string }) => {
    const { client } = await openAdminSession(options, io);
    const doc = await client.subjects.export(u).catch(explainAdminError);
    if (options.out !== undefined) {
      writeFileSync(options.out, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      io.stderr(
        `wrote ${options.out}: ${doc.devices.length} device(s), ${doc.audit.records.length} audit record(s) (schema ${doc.schema})\n`,
      );
      return;
    }
    io.stdout(options.json === true ? `${JSON.stringify(doc)}\n` : `${JSON.stringify(doc, null, 2)}\n`);
  });
  addAdminOptions(
    users
      .command('erase')
      .description(
        'erase a user: their rows go and the key sealing their personal data is destroyed, so earlier backups cannot be read (fresh second factor)',
      )
      .argument('<user>', 'the user id', user),
  ).action(async (u: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    await client.subjects.erase(u).catch(explainAdminError);
    const out: ErasedJson = { user: u, erased: true };
    output(io, options, out, () => `erased ${u}: their key is destroyed; the audit log keeps the id only\n`);
  });
  return users;
}
