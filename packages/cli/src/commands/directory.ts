/**
 * `cloister directory sync`: one run of the LDAP / Active Directory bridge (`syncDirectory` of
 * `@cloister/admin/node`, `spec/directory.md` §3). It reads the configuration file (the bind
 * password and the SCIM token come from the files or the variable it names, never from the command
 * line), prints the plan's summary, stops after it with `--dry-run`, stops before applying anything
 * when the plan disables or removes more users than the threshold (exit code 4, saying what to do),
 * and otherwise applies it with a progress bar on a terminal.
 *
 * @module
 */
import { ValidationError } from '@cloister/crypto';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parsePath } from '../_options.js';
import { EXIT, ExitFailure, type ResolvedIO, UsageFailure } from '../io.js';

interface SyncOptionValues {
  readonly config: string;
  readonly dryRun?: boolean;
  readonly maxDisable?: number;
  readonly force?: boolean;
  readonly full?: boolean;
  readonly state?: string;
  readonly list?: boolean;
}

function parseCount(value: string): number {
  if (!/^\d{1,8}$/.test(value)) throw new InvalidArgumentError('expected a whole number from 0 to 99999999.');
  return Number(value);
}

type Admin = typeof import('@cloister/admin/node');
type Plan = Awaited<ReturnType<Admin['syncDirectory']>>['plan'];

/** The plan's counts in words (kinds with no action left out). */
export function describeCounts(counts: Plan['counts']): string {
  const words: [keyof Plan['counts'], string][] = [
    ['create', 'to create'],
    ['update', 'to update'],
    ['disable', 'to disable'],
    ['leave', 'left (deleted or out of scope)'],
    ['reenable-requested', 're-enable requested (stays blocked)'],
    ['kept-blocked', 'kept blocked'],
    ['add-member', 'pool additions'],
    ['remove-member', 'pool removals'],
  ];
  const parts = words.filter(([k]) => counts[k] > 0).map(([k, w]) => `${counts[k]} ${w}`);
  return parts.length === 0 ? 'nothing to do' : parts.join(', ');
}

/** One line per action: its kind and the ids (never names or addresses). */
function describeAction(a: Plan['actions'][number]): string {
  const user = 'id' in a && a.id !== undefined ? `${a.id} (${a.externalId})` : a.externalId;
  const pool = 'pool' in a ? ` pool ${a.pool}` : '';
  const reason = a.kind === 'leave' ? ` [${a.reason}]` : '';
  return `  ${a.kind} ${user}${pool}${reason}\n`;
}

/** Progress on stderr: a bar on a terminal, nothing otherwise. */
async function progressBar(): Promise<{ update(done: number, total: number): void; stop(): void }> {
  if (process.stderr.isTTY !== true) return { update() {}, stop() {} };
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    { format: 'changes [{bar}] {value}/{total}', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total) {
      if (total === 0) return;
      if (!started) {
        bar.start(total, done);
        started = true;
      } else bar.update(done);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

async function sync(options: SyncOptionValues, io: ResolvedIO): Promise<void> {
  const admin: Admin = await import('@cloister/admin/node');
  let config: ReturnType<Admin['loadDirectoryConfig']>;
  try {
    config = admin.loadDirectoryConfig(options.config);
  } catch (error) {
    if (error instanceof ValidationError)
      throw new UsageFailure(`the configuration is not valid: ${error.message}`);
    if ((error as { code?: unknown }).code === 'ENOENT')
      throw new UsageFailure('the configuration file does not exist');
    throw error;
  }
  const bar = await progressBar();
  let result: Awaited<ReturnType<Admin['syncDirectory']>>;
  try {
    result = await admin.syncDirectory({
      config,
      ...(options.dryRun === true ? { dryRun: true } : {}),
      ...(options.maxDisable === undefined ? {} : { maxDisable: options.maxDisable }),
      ...(options.force === true ? { force: true } : {}),
      ...(options.full === true ? { full: true } : {}),
      ...(options.state === undefined ? {} : { statePath: options.state }),
      onProgress: (p) => {
        if (p.phase === 'apply') bar.update(p.done, p.total);
      },
    });
  } catch (error) {
    bar.stop();
    if (error instanceof admin.ThresholdExceededError) {
      io.stdout(`plan: ${describeCounts(error.plan.counts)}\n`);
      throw new ExitFailure(
        `${error.message}. Check the plan with --dry-run; if it is right, run again with --max-disable ${error.removals} or --force`,
        EXIT.threshold,
      );
    }
    if (error instanceof admin.SyncApplyError) {
      const kinds = new Map<string, number>();
      for (const f of error.failures) kinds.set(f.action.kind, (kinds.get(f.action.kind) ?? 0) + 1);
      for (const f of error.failures)
        io.stderr(`failed: ${f.action.kind} ${f.action.externalId}: ${f.error.message}\n`);
      throw new ExitFailure(
        `${error.message} (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}); run again to retry`,
        EXIT.failure,
      );
    }
    if (error instanceof ValidationError && error.field.startsWith('config')) {
      throw new UsageFailure(`the configuration is not valid: ${error.message}`);
    }
    throw error;
  }
  bar.stop();
  io.stdout(`directory ${config.source} (${config.kind}): ${result.mode} run (${result.reason})\n`);
  io.stdout(`plan: ${describeCounts(result.plan.counts)}\n`);
  if (options.list === true || result.dryRun)
    for (const a of result.plan.actions) io.stdout(describeAction(a));
  if (result.dryRun) io.stdout('dry run: nothing was changed\n');
  else
    io.stdout(
      `applied ${result.applied} changes${result.stateWritten ? '; state saved' : '; no state file (every run is full)'}\n`,
    );
}

/**
 * Registers `cloister directory sync`.
 *
 * @example
 * ```ts
 * registerDirectoryCommands(program, io);
 * ```
 */
export function registerDirectoryCommands(program: Command, io: ResolvedIO): Command {
  const directory = program
    .command('directory')
    .description('synchronise users from LDAP or Active Directory through the SCIM endpoint');
  directory
    .command('sync')
    .description(
      'read the directory, print the plan and apply it (users disabled or deleted in the directory are blocked; nothing is ever re-enabled)',
    )
    .addOption(
      new Option('--config <file>', 'the bridge configuration (JSON)')
        .argParser(parsePath)
        .makeOptionMandatory(),
    )
    .addOption(new Option('--dry-run', 'print the plan and change nothing'))
    .addOption(
      new Option(
        '--max-disable <n>',
        'stop before applying when more users than this would be disabled or left (default: the configuration, else 500)',
      ).argParser(parseCount),
    )
    .addOption(new Option('--force', 'apply even when the threshold is exceeded'))
    .addOption(new Option('--full', 'a full run whatever the state file says'))
    .addOption(
      new Option('--state <file>', 'the state file (default: the configuration’s stateFile)').argParser(
        parsePath,
      ),
    )
    .addOption(new Option('--list', 'print every action (ids only), not just the summary'))
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 failed (some changes failed: run again), 2 bad command line or configuration,\n3 the server or the directory could not be reached, 4 the threshold stopped the run (nothing applied).\n',
    )
    .action((options: SyncOptionValues) => sync(options, io));
  return directory;
}
