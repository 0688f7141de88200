/**
 * `cloister audit …`: the auditors' tool over the compliance archive (`spec/audit-tool.md`,
 * `spec/cli.md`). Everything that opens the archive happens on the auditor's machine: the server
 * serves sealed items and wrapped shares it cannot open.
 *
 * - `keygen`: an auditor key pair (X25519), the private file wrapped under the auditor's passphrase;
 * - `key-set create|list`: the key ceremony (make the archive key, split it k-of-n to the
 *   auditors' public key files, register it; prints the fingerprint and the tenant policy's
 *   `archive` feature for the owner to publish), and the registered sets;
 * - `share release`: unwrap one's own share and re-wrap it to the combining auditor;
 * - `search` and `export --format jsonl|eml|actiance`: combine k shares, stream the items of a
 *   time range, open and classify each, filter by scope, print or write them;
 * - `hold create|list|lift`: legal holds.
 *
 * Exit codes: 0 done and every record valid; 5 done, but some records are not valid (forged,
 * undecryptable, moved, duplicate or a gap: they are in the output); 1 failure; 2 usage; 3 the
 * server could not be reached.
 *
 * @module
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type {
  ArchiveExportSummary,
  ArchiveRecord,
  ArchiveSearchScope,
  AuditorKey,
  KeySetHolder,
} from '@cloister/admin';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  type AdminOptionValues,
  addAdminOptions,
  cryptoProvider,
  explainAdminError,
  openAdminSession,
  output,
  readSecret,
  wrongPassphrase,
} from '../_admin.js';
import { printable } from '../_client.js';
import { parsePath, positiveInteger } from '../_options.js';
import { ExitFailure, keyStoreOptions, type ResolvedIO, UsageFailure } from '../io.js';

/**
 * The exit code of a search or export that completed but holds records that are not valid.
 *
 * @example
 * ```ts
 * if ((await run(['audit', 'export', …])) === AUDIT_FINDINGS_EXIT) console.warn('see the report');
 * ```
 */
export const AUDIT_FINDINGS_EXIT = 5;

/**
 * The environment variable the auditor's passphrase may come from.
 *
 * @example
 * ```ts
 * process.env[AUDITOR_PASSPHRASE_ENV] = 'correct horse battery staple';
 * ```
 */
export const AUDITOR_PASSPHRASE_ENV = 'CLOISTER_AUDITOR_PASSPHRASE';

/** Format of a released (re-wrapped) share file. */
const RELEASED_SHARE_FORMAT = 'cloister-audit/share/v1';

function parseTime(value: string): number {
  const ms = /^\d{1,16}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new InvalidArgumentError('expected an ISO 8601 time or milliseconds since the epoch.');
  }
  return ms;
}

const collect = (value: string, previous: readonly string[] = []): string[] => [...previous, value];

function holderFile(value: string, previous: readonly { holder: string; file: string }[] = []) {
  const eq = value.indexOf('=');
  if (eq < 1 || eq === value.length - 1) throw new InvalidArgumentError('expected <holder>=<file>.');
  return [...previous, { holder: value.slice(0, eq), file: value.slice(eq + 1) }];
}

function hexId(value: string): string {
  if (!/^[0-9a-f]{16,64}$/.test(value)) throw new InvalidArgumentError('expected a key set id (hex).');
  return value;
}

interface AuditorOptions {
  readonly key: string;
  readonly auditorPassphraseFile?: string;
}

const auditorOptions = (c: Command) =>
  c
    .addOption(
      new Option('--key <file>', 'your auditor key file (cloister audit keygen)')
        .argParser(parsePath)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--auditor-passphrase-file <file>',
        `the auditor key's passphrase file (else ${AUDITOR_PASSPHRASE_ENV}, else a prompt)`,
      ).argParser(parsePath),
    );

function auditorPassphrase(options: { auditorPassphraseFile?: string | undefined }, io: ResolvedIO) {
  return readSecret(
    {
      file: options.auditorPassphraseFile,
      env: AUDITOR_PASSPHRASE_ENV,
      option: '--auditor-passphrase-file',
      prompt: 'auditor passphrase: ',
    },
    io,
  );
}

async function openAuditor(options: AuditorOptions, io: ResolvedIO): Promise<AuditorKey> {
  const [{ openAuditorKey }, { readKeyStoreFile }] = await Promise.all([
    import('@cloister/admin'),
    import('@cloister/admin/node'),
  ]);
  let text: string;
  try {
    text = readKeyStoreFile(options.key);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_VALIDATION') throw error;
    throw new UsageFailure(`--key: cannot read the file ${options.key}`);
  }
  const passphrase = await auditorPassphrase(options, io);
  return openAuditorKey(await cryptoProvider(), text, passphrase).catch(wrongPassphrase);
}

async function readPublicKeyFile(path: string, option: string) {
  const { readAuditorPublicKey } = await import('@cloister/admin');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageFailure(`${option}: cannot read the file ${path}`);
  }
  try {
    return readAuditorPublicKey(text);
  } catch {
    throw new UsageFailure(`${option}: ${path} is not an auditor public key file`);
  }
}

function readShareFile(path: string): Uint8Array {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new UsageFailure(`--share: ${path} is not a share file`);
  }
  const v = value as { format?: unknown; share?: unknown };
  if (
    v.format !== RELEASED_SHARE_FORMAT ||
    typeof v.share !== 'string' ||
    !/^[A-Za-z0-9_-]+$/.test(v.share)
  ) {
    throw new UsageFailure(`--share: ${path} is not a share file`);
  }
  return new Uint8Array(Buffer.from(v.share, 'base64url'));
}

function writeNew(path: string, text: string, mode: number, option: string): void {
  if (existsSync(path)) throw new UsageFailure(`${option}: ${path} exists already`);
  writeFileSync(path, text, { mode, flag: 'wx' });
}

/** The wrapped share of `holder` in a key set the server holds (the newest set, or `id`). */
async function serverShare(
  client: Awaited<ReturnType<typeof openAdminSession>>['client'],
  holder: string,
  id: string | undefined,
): Promise<{ keySetId: string; share: Uint8Array }> {
  const sets = await client.archive.keySets().catch(explainAdminError);
  const set = id === undefined ? sets.at(-1) : sets.find((s) => s.id === id);
  if (set === undefined)
    throw new Error(id === undefined ? 'the server holds no archive key set' : `no key set ${id}`);
  const mine = set.shares?.find((s) => s.holder === holder);
  if (mine === undefined) throw new Error(`key set ${set.id} holds no share for ${holder}`);
  return { keySetId: set.id, share: mine.share };
}

interface OpenOptions extends AdminOptionValues, AuditorOptions {
  readonly from: number;
  readonly to: number;
  readonly share?: string[];
  readonly keySet?: string;
  readonly tenantKey?: string;
  readonly purpose?: string;
  readonly user?: string[];
  readonly pool?: string[];
  readonly conversation?: string[];
  readonly text?: string;
  readonly match?: 'substring' | 'tokens';
}

const openOptions = (c: Command) =>
  auditorOptions(c)
    .addOption(
      new Option('--from <time>', 'earliest filing time (ISO 8601 or ms)')
        .argParser(parseTime)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--to <time>', 'end of the filing times, exclusive (ISO 8601 or ms)')
        .argParser(parseTime)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--share <file>',
        'a share another auditor released to you (repeat; with yours: the threshold)',
      )
        .argParser(collect)
        .default(undefined),
    )
    .addOption(new Option('--key-set <id>', 'the key set (default: the newest)').argParser(hexId))
    .addOption(
      new Option(
        '--tenant-key <base64url>',
        "the tenant's sender-certificate key (default: the one the server states; give a device's to trust the server less)",
      ),
    )
    .addOption(new Option('--purpose <text>', 'why the archive is read (recorded in the audit log)'))
    .addOption(
      new Option(
        '--user <id>',
        'only messages this user sent or, in 1:1 conversations, received (repeat)',
      ).argParser(collect),
    )
    .addOption(
      new Option(
        '--pool <id>',
        "only messages whose sender's certificate lists this pool (repeat)",
      ).argParser(collect),
    )
    .addOption(new Option('--conversation <hex>', 'only this conversation (repeat)').argParser(collect))
    .addOption(new Option('--text <text>', 'only messages whose text contains this (case-insensitive)'))
    .addOption(
      new Option('--match <how>', 'substring (default) or tokens (every word, whole)').choices([
        'substring',
        'tokens',
      ]),
    );

/** Progress on stderr: a bar on a terminal, a plain line every 1000 items otherwise. */
async function progress(io: ResolvedIO, total: number | undefined): Promise<{ tick(): void; stop(): void }> {
  let done = 0;
  if (process.stderr.isTTY !== true) {
    return {
      tick() {
        done++;
        if (done % 1000 === 0) io.stderr(`opened ${done} items\n`);
      },
      stop() {
        if (done % 1000 !== 0) io.stderr(`opened ${done} items\n`);
      },
    };
  }
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      format: total === undefined ? 'archive {value} items' : 'archive [{bar}] {value}/{total} items',
      stream: process.stderr,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total ?? 0, 0);
  return {
    tick() {
      done++;
      bar.update(done);
    },
    stop() {
      bar.stop();
    },
  };
}

/** Opens the archive for `options`: the records in scope, streamed; the key wiped when done. */
async function openRecords(
  options: OpenOptions,
  io: ResolvedIO,
): Promise<{ records: AsyncGenerator<ArchiveRecord>; done(): void }> {
  const { client, session } = await openAdminSession(options, io);
  const auditor = await openAuditor(options, io);
  const provider = await cryptoProvider();
  const admin = await import('@cloister/admin');
  const { wipe } = await import('@cloister/crypto');
  try {
    const own = await serverShare(client, auditor.holder, options.keySet);
    const wrapped = [own.share, ...(options.share ?? []).map(readShareFile)];
    const key = await admin
      .combineWrappedShares(provider, wrapped, { privateKey: auditor.privateKey })
      .catch((e) => {
        throw new Error(`the shares do not open the archive key: ${(e as Error).message}`, { cause: e });
      });
    let tenantKey: Uint8Array;
    if (options.tenantKey !== undefined) {
      tenantKey = new Uint8Array(Buffer.from(options.tenantKey, 'base64url'));
    } else {
      tenantKey = new Uint8Array(
        Buffer.from((await client.getTenant().catch(explainAdminError)).serverSigningKey, 'base64url'),
      );
    }
    if (tenantKey.length !== 32) throw new UsageFailure('--tenant-key: expected 32 bytes of base64url');
    const query = {
      from: options.from,
      to: options.to,
      ...(options.purpose === undefined ? {} : { purpose: options.purpose }),
    };
    // The export's size is not known in advance (the admin API has no count): a counter, no total.
    const bar = await progress(io, undefined);
    const items = client.archive.export(query);
    async function* counted() {
      for await (const item of items) {
        bar.tick();
        yield item;
      }
    }
    const scope: ArchiveSearchScope = {
      ...(options.user === undefined ? {} : { users: options.user }),
      ...(options.pool === undefined ? {} : { pools: options.pool }),
      ...(options.conversation === undefined ? {} : { conversations: options.conversation }),
      ...(options.text === undefined ? {} : { text: options.text }),
      ...(options.match === undefined ? {} : { match: options.match }),
    };
    const records = admin.filterArchive(
      admin.openArchive({
        provider,
        archivePrivateKey: key.privateKey,
        tenantPublicKey: tenantKey,
        tenantId: session.tenant,
        items: counted(),
      }),
      scope,
    );
    return {
      records,
      done() {
        bar.stop();
        wipe(key.privateKey);
      },
    };
  } finally {
    wipe(auditor.privateKey);
  }
}

function findings(summary: ArchiveExportSummary): void {
  const { valid: _v, ...rest } = summary.counts;
  const bad = Object.entries(rest).filter(([, n]) => n > 0);
  if (bad.length > 0) {
    throw new ExitFailure(
      `records that are not valid: ${bad.map(([s, n]) => `${n} ${s}`).join(', ')} (they are in the output)`,
      AUDIT_FINDINGS_EXIT,
    );
  }
}

function describeRecord(r: ArchiveRecord): string {
  const at = new Date(r.receivedAt).toISOString();
  switch (r.status) {
    case 'gap':
      return `${at}\tgap\titems ${r.fromSeq}..${r.toSeq} missing\n`;
    case 'forged':
    case 'undecryptable':
      return `${at}\t${r.status}${r.status === 'forged' ? ` (${r.reason})` : ''}\titem ${r.id}${
        r.claimed === undefined ? '' : `\tclaims ${printable(r.claimed.sender.userId)}`
      }\n`;
    default: {
      const m = r.message;
      const what =
        m.kind === 'text'
          ? (m.text ?? '')
          : m.kind === 'file'
            ? `[file] ${m.file?.fileName ?? ''}`
            : `[${m.bodyType ?? m.kind}]`;
      const status = r.status === 'valid' ? '' : `\t(${r.status})`;
      return `${new Date(m.sentAt).toISOString()}\t${printable(m.sender.userId)}/${m.sender.deviceId}\t${m.conversationId}\t${printable(what)}${status}\n`;
    }
  }
}

/**
 * Adds `cloister audit …` to the program.
 *
 * @example
 * ```ts
 * registerAuditCommands(program, resolveIO());
 * ```
 */
export function registerAuditCommands(program: Command, io: ResolvedIO): Command {
  const audit = program
    .command('audit')
    .description('the compliance archive, for auditors: key ceremony, shares, search, export, legal holds');
  audit.addHelpText(
    'after',
    `\nExit codes: 0 done; ${AUDIT_FINDINGS_EXIT} done, but some records are not valid (forged, undecryptable, moved, duplicate, gap); 1 failure; 2 usage; 3 server unreachable.`,
  );

  audit
    .command('keygen')
    .description(
      'make your auditor key pair: <out>.key.json (private, passphrase-wrapped, 0600) and <out>.pub.json',
    )
    .addOption(
      new Option(
        '--holder <name>',
        'your name in key sets (such as your e-mail address)',
      ).makeOptionMandatory(),
    )
    .addOption(
      new Option('--out <prefix>', 'path prefix of the two files').argParser(parsePath).makeOptionMandatory(),
    )
    .addOption(
      new Option(
        '--auditor-passphrase-file <file>',
        `the new passphrase's file (else ${AUDITOR_PASSPHRASE_ENV}, else a prompt)`,
      ).argParser(parsePath),
    )
    .option('--json', 'print one JSON line {"holder","publicKey","privateFile","publicFile"}')
    .action(
      async (options: { holder: string; out: string; auditorPassphraseFile?: string; json?: boolean }) => {
        const privateFile = `${options.out}.key.json`;
        const publicFile = `${options.out}.pub.json`;
        for (const f of [privateFile, publicFile])
          if (existsSync(f)) throw new UsageFailure(`--out: ${f} exists already`);
        const passphrase = await auditorPassphrase(options, io);
        const { generateAuditorKey } = await import('@cloister/admin');
        const { writeKeyStoreFile } = await import('@cloister/admin/node');
        const made = await generateAuditorKey(
          await cryptoProvider(),
          { holder: options.holder, passphrase },
          keyStoreOptions(io),
        );
        writeKeyStoreFile(privateFile, made.privateText);
        writeNew(publicFile, made.publicText, 0o644, '--out');
        const out = {
          holder: options.holder,
          publicKey: Buffer.from(made.publicKey).toString('base64url'),
          privateFile,
          publicFile,
        };
        output(
          io,
          options,
          out,
          (o) =>
            `auditor key for ${printable(o.holder)}: ${o.privateFile} (keep it), ${o.publicFile} (give it to the key ceremony)\n`,
        );
      },
    );

  const keySet = audit.command('key-set').description('archive key sets (the key ceremony)');
  addAdminOptions(
    keySet
      .command('create')
      .description('make the archive key, split it k-of-n to the auditors, register it (fresh second factor)')
      .addOption(
        new Option('--threshold <k>', 'how many auditors must combine their shares (2..16)')
          .argParser(positiveInteger(16))
          .makeOptionMandatory(),
      )
      .addOption(
        new Option('--auditor <holder=file>', 'an auditor and their public key file (repeat)')
          .argParser(holderFile)
          .default(undefined),
      )
      .addOption(
        new Option(
          '--auditor-passphrase <holder=file>',
          'an auditor whose share is wrapped under the passphrase in this file (repeat)',
        )
          .argParser(holderFile)
          .default(undefined),
      )
      .addOption(new Option('--label <label>', 'a label (1..128 characters)'))
      .addOption(
        new Option(
          '--scope-file <file>',
          'JSON {users?, pools?, from?, until?}: who and when is archived',
        ).argParser(parsePath),
      )
      .addOption(
        new Option(
          '--policy-out <file>',
          "write the tenant policy's archive feature here (else it is printed)",
        ).argParser(parsePath),
      ),
    'print one JSON line {"keySetId","fingerprint","policyFeature"}',
  ).action(
    async (
      options: AdminOptionValues & {
        threshold: number;
        auditor?: { holder: string; file: string }[];
        auditorPassphrase?: { holder: string; file: string }[];
        label?: string;
        scopeFile?: string;
        policyOut?: string;
      },
    ) => {
      const holders: KeySetHolder[] = [];
      for (const a of options.auditor ?? []) {
        const key = await readPublicKeyFile(a.file, '--auditor');
        holders.push({ holder: a.holder, recipient: { publicKey: key.publicKey } });
      }
      for (const a of options.auditorPassphrase ?? []) {
        const passphrase = await readSecret({ file: a.file, option: '--auditor-passphrase', prompt: '' }, io);
        holders.push({ holder: a.holder, recipient: { passphrase, ...keyStoreOptions(io) } });
      }
      if (holders.length < 2)
        throw new UsageFailure('give at least two auditors (--auditor, --auditor-passphrase)');
      if (options.threshold < 2 || options.threshold > holders.length) {
        throw new UsageFailure(`--threshold: from 2 to the number of auditors (${holders.length})`);
      }
      let scope: unknown;
      if (options.scopeFile !== undefined) {
        try {
          scope = JSON.parse(readFileSync(options.scopeFile, 'utf8'));
        } catch {
          throw new UsageFailure(`--scope-file: ${options.scopeFile} is not readable JSON`);
        }
        const { validateArchiveScope } = await import('@cloister/protocol');
        try {
          scope = validateArchiveScope(scope);
        } catch (error) {
          throw new UsageFailure(`--scope-file: ${(error as Error).message}`);
        }
      }
      if (options.policyOut !== undefined && existsSync(options.policyOut)) {
        throw new UsageFailure(`--policy-out: ${options.policyOut} exists already`);
      }
      const { client, provider } = await openAdminSession(options, io);
      const { createArchiveKeySet } = await import('@cloister/admin');
      const made = await createArchiveKeySet(client.archive, provider, {
        threshold: options.threshold,
        holders,
        ...(options.label === undefined ? {} : { label: options.label }),
        ...(scope === undefined ? {} : { scope: scope as never }),
      }).catch(explainAdminError);
      const feature = `${JSON.stringify({ archive: made.policyFeature }, null, 2)}\n`;
      if (options.policyOut !== undefined) writeNew(options.policyOut, feature, 0o644, '--policy-out');
      output(
        io,
        options,
        { keySetId: made.keySetId, fingerprint: made.fingerprint, policyFeature: made.policyFeature },
        (o) =>
          `registered key set ${o.keySetId} (${options.threshold} of ${holders.length})\nfingerprint: ${o.fingerprint}\n` +
          `give the fingerprint to the owner, who publishes the tenant policy's archive feature ` +
          `(merged into the tenant layer: cloister admin policy set --layer tenant --file …)` +
          (options.policyOut === undefined ? `:\n${feature}` : ` from ${options.policyOut}\n`),
      );
    },
  );
  addAdminOptions(keySet.command('list').description('the registered archive key sets')).action(
    async (options: AdminOptionValues) => {
      const { client } = await openAdminSession(options, io);
      const items = await client.archive.keySets().catch(explainAdminError);
      output(
        io,
        options,
        {
          items: items.map(({ shares: _s, publicKey, ...rest }) => ({
            ...rest,
            publicKey: Buffer.from(publicKey).toString('base64url'),
          })),
        },
        (l) =>
          l.items
            .map(
              (s) =>
                `${s.id}\t${s.fingerprint}\t${s.threshold} of ${s.holders.length}: ${s.holders.map(printable).join(', ')}\t${new Date(s.createdAt).toISOString()}\n`,
            )
            .join(''),
      );
    },
  );

  const share = audit.command('share').description('your share of the archive key');
  addAdminOptions(
    auditorOptions(
      share
        .command('release')
        .description("unwrap your share and re-wrap it to the combining auditor's public key")
        .addOption(
          new Option('--to <file>', "the combining auditor's public key file")
            .argParser(parsePath)
            .makeOptionMandatory(),
        )
        .addOption(
          new Option('--out <file>', 'the released share file to hand over')
            .argParser(parsePath)
            .makeOptionMandatory(),
        )
        .addOption(new Option('--key-set <id>', 'the key set (default: the newest)').argParser(hexId)),
    ),
    'print one JSON line {"keySetId","holder","to","out"}',
  ).action(
    async (options: AdminOptionValues & AuditorOptions & { to: string; out: string; keySet?: string }) => {
      if (existsSync(options.out)) throw new UsageFailure(`--out: ${options.out} exists already`);
      const to = await readPublicKeyFile(options.to, '--to');
      const { client } = await openAdminSession(options, io);
      const auditor = await openAuditor(options, io);
      const { releaseArchiveShare } = await import('@cloister/admin');
      const { wipe } = await import('@cloister/crypto');
      try {
        const own = await serverShare(client, auditor.holder, options.keySet);
        const released = await releaseArchiveShare(
          await cryptoProvider(),
          own.share,
          { privateKey: auditor.privateKey },
          { publicKey: to.publicKey },
        );
        writeNew(
          options.out,
          `${JSON.stringify({ format: RELEASED_SHARE_FORMAT, keySetId: own.keySetId, from: auditor.holder, to: to.holder, share: Buffer.from(released).toString('base64url') }, null, 2)}\n`,
          0o600,
          '--out',
        );
        output(
          io,
          options,
          { keySetId: own.keySetId, holder: auditor.holder, to: to.holder, out: options.out },
          (o) => `released the share of ${printable(o.holder)} to ${printable(o.to)}: ${o.out}\n`,
        );
      } finally {
        wipe(auditor.privateKey);
      }
    },
  );

  addAdminOptions(
    openOptions(
      audit
        .command('search')
        .description('open the archive of a time range on this machine and print what is in scope'),
    ),
    'print one JSON line per record',
  ).action(async (options: OpenOptions) => {
    const { records, done } = await openRecords(options, io);
    const { ExportTally } = await import('@cloister/admin');
    const tally = new ExportTally();
    try {
      for await (const r of records) {
        tally.add(r);
        io.stdout(options.json === true ? `${JSON.stringify(r)}\n` : describeRecord(r));
      }
    } catch (error) {
      explainAdminError(error);
    } finally {
      done();
    }
    findings(tally.summary());
  });

  addAdminOptions(
    openOptions(
      audit
        .command('export')
        .description('open the archive of a time range on this machine and write it in an archiver format')
        .addOption(
          new Option('--format <format>', 'jsonl, eml (a directory) or actiance (XML)')
            .choices(['jsonl', 'eml', 'actiance'])
            .makeOptionMandatory(),
        )
        .addOption(
          new Option('--out <path>', 'the file (jsonl, actiance) or new directory (eml) to write')
            .argParser(parsePath)
            .makeOptionMandatory(),
        ),
    ),
    'print one JSON line: the summary',
  ).action(async (options: OpenOptions & { format: 'jsonl' | 'eml' | 'actiance'; out: string }) => {
    if (options.format !== 'eml' && existsSync(options.out))
      throw new UsageFailure(`--out: ${options.out} exists already`);
    const admin = await import('@cloister/admin');
    const { emlDirectory } = await import('@cloister/admin/node');
    const { records, done } = await openRecords(options, io);
    let summary: ArchiveExportSummary;
    try {
      if (options.format === 'eml') {
        summary = await admin.exportEml(records, emlDirectory(options.out));
      } else {
        const file = createWriteStream(options.out, { mode: 0o600, flags: 'wx' });
        try {
          summary = await (options.format === 'jsonl' ? admin.exportJsonLines : admin.exportActiance)(
            records,
            file,
          );
        } finally {
          file.end();
          await once(file, 'close');
        }
      }
    } catch (error) {
      explainAdminError(error);
    } finally {
      done();
    }
    output(
      io,
      options,
      summary,
      (s) =>
        `exported to ${options.out}: ${Object.entries(s.counts)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ')}\n`,
    );
    findings(summary);
  });

  const hold = audit
    .command('hold')
    .description('legal holds: the users cannot be deleted, the archive is not shredded');
  addAdminOptions(
    hold
      .command('create')
      .description('put users on a legal hold (fresh second factor)')
      .addOption(new Option('--user <id>', 'a user (repeat)').argParser(collect).makeOptionMandatory())
      .addOption(new Option('--reason <text>', 'why (1..500 characters)').makeOptionMandatory()),
  ).action(async (options: AdminOptionValues & { user: string[]; reason: string }) => {
    const { client } = await openAdminSession(options, io);
    const made = await client.archive.holds
      .create({ users: options.user, reason: options.reason })
      .catch(explainAdminError);
    output(io, options, made, (h) => `legal hold ${h.id} on ${h.users.length} users\n`);
  });
  addAdminOptions(hold.command('list').description("the tenant's legal holds")).action(
    async (options: AdminOptionValues) => {
      const { client } = await openAdminSession(options, io);
      const items = await client.archive.holds.list().catch(explainAdminError);
      output(io, options, { items }, (l) =>
        l.items
          .map(
            (h) =>
              `${h.id}\t${new Date(h.createdAt).toISOString()}\t${h.users.map(printable).join(', ')}\t${printable(h.reason)}\n`,
          )
          .join(''),
      );
    },
  );
  addAdminOptions(
    hold
      .command('lift')
      .description('lift a legal hold (fresh second factor)')
      .argument('<id>', 'the hold id'),
  ).action(async (id: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    await client.archive.holds.lift(id).catch(explainAdminError);
    output(io, options, { lifted: id }, (v) => `lifted ${v.lifted}\n`);
  });
  return audit;
}
