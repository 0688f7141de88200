/**
 * `cloister admin bulk …`: filters over users and devices (`find-users`, `find-devices`) and
 * bulk jobs (`block`, `unblock`, `move`, `invite`, `wipe`, `delete`) with `--dry-run`, an
 * idempotency key, a progress bar on a terminal, a result file (JSON lines, one per item) and
 * exit code 1 when items failed; `status`, `results` and `resume` for a job already started.
 * A bulk invite's tokens are sealed to a key made here and opened here; a bulk wipe's commands
 * are signed here with the administrator's signing key.
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import type { BulkDryRun, BulkJob, BulkSelection, DeviceFilter, UserFilter } from '@cloister/admin';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  type AdminOptionValues,
  addAdminOptions,
  explainAdminError,
  openAdminSession,
  openAdminSigningKey,
  output,
} from '../_admin.js';
import { parsePath } from '../_options.js';
import { type ResolvedIO, UsageFailure } from '../io.js';

/**
 * The filter and selection options of a bulk command, as commander parsed them.
 *
 * @example
 * ```ts
 * const values: BulkOptionValues = { status: 'active', domain: 'acme.example', dryRun: true };
 * ```
 */
export interface BulkOptionValues extends AdminOptionValues {
  /** `--users`: explicit user ids. */
  readonly users?: string[];
  /** `--status`. */
  readonly status?: string;
  /** `--pool`. */
  readonly pool?: string;
  /** `--domain`. */
  readonly domain?: string;
  /** `--text`. */
  readonly text?: string;
  /** `--role`. */
  readonly role?: string;
  /** `--last-seen-before` in ms. */
  readonly lastSeenBefore?: number;
  /** `--last-seen-after` in ms. */
  readonly lastSeenAfter?: number;
  /** `--client-version`. */
  readonly clientVersion?: string;
  /** `--app-version`. */
  readonly appVersion?: string;
  /** `--platform`. */
  readonly platform?: string;
  /** `--compliant`. */
  readonly compliant?: boolean;
  /** `--non-compliant`. */
  readonly nonCompliant?: boolean;
  /** `--dry-run`. */
  readonly dryRun?: boolean;
  /** `--idempotency-key`. */
  readonly idempotencyKey?: string;
  /** `--results <file>`. */
  readonly results?: string;
  /** `--to <pool>` (move). */
  readonly to?: string;
  /** `--uses <n>` (invite). */
  readonly uses?: number;
  /** `--limit <n>` (find). */
  readonly limit?: number;
  /** `--devices-per-job <n>` (wipe). */
  readonly devicesPerJob?: number;
}

/**
 * Most devices one wipe job takes (the server's limit, `MAX_WIPE_ITEMS`): `cloister admin bulk
 * wipe` splits a larger set into several jobs, run one after the other.
 *
 * @example
 * ```ts
 * const jobs = Math.ceil(2_500 / WIPE_JOB_DEVICES); // 3
 * ```
 */
export const WIPE_JOB_DEVICES = 1000;

function parseTime(value: string): number {
  const ms = /^\d{1,16}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new InvalidArgumentError('expected a time: ISO 8601 (2026-06-01) or milliseconds since 1970.');
  }
  return ms;
}

function parseCount(max: number) {
  return (value: string): number => {
    if (!/^\d{1,6}$/.test(value) || Number(value) < 1 || Number(value) > max) {
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}.`);
    }
    return Number(value);
  };
}

const splitIds = (value: string, previous: string[] = []): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0),
];

function filterOptions(command: Command, statuses: readonly string[]): Command {
  return command
    .addOption(new Option('--status <status>', 'status').choices([...statuses]))
    .option('--pool <pool>', 'members of this pool')
    .option('--domain <domain>', 'e-mail domain')
    .option('--text <text>', 'substring of the display name, address or id (any case)')
    .addOption(
      new Option('--role <role>', 'holding this role').choices([
        'owner',
        'admin',
        'user-manager',
        'auditor',
        'integration',
      ]),
    )
    .addOption(
      new Option(
        '--last-seen-before <time>',
        'last seen before (ISO 8601 or ms); never seen counts',
      ).argParser(parseTime),
    )
    .addOption(
      new Option('--last-seen-after <time>', 'seen at or after (ISO 8601 or ms)').argParser(parseTime),
    )
    .option('--client-version <prefix>', 'reported client version starts with')
    .option('--app-version <prefix>', 'reported app version starts with')
    .option('--platform <prefix>', 'reported platform (OS and version) starts with')
    .addOption(
      new Option('--compliant', 'compliant with the policy (a user: every active device)').conflicts(
        'nonCompliant',
      ),
    )
    .addOption(
      new Option(
        '--non-compliant',
        'not compliant: report missing, stale, of an old revision or not enforcing a restriction (a user: any active device)',
      ),
    );
}

/**
 * The filter the options describe.
 *
 * @example
 * ```ts
 * const filter = filterOf({ status: 'blocked', domain: 'acme.example' }); // { status: 'blocked', domain: 'acme.example' }
 * const stale = filterOf({ status: 'active', nonCompliant: true }); // { status: 'active', compliant: false }
 * ```
 */
export function filterOf(o: BulkOptionValues): UserFilter & DeviceFilter {
  const f: Record<string, unknown> = {};
  for (const k of [
    'status',
    'pool',
    'domain',
    'text',
    'role',
    'lastSeenBefore',
    'lastSeenAfter',
    'clientVersion',
    'appVersion',
    'platform',
  ] as const) {
    if (o[k] !== undefined) f[k] = o[k];
  }
  if (o.compliant === true && o.nonCompliant === true)
    throw new UsageFailure('give --compliant or --non-compliant, not both');
  if (o.compliant === true) f.compliant = true;
  if (o.nonCompliant === true) f.compliant = false;
  return f as UserFilter & DeviceFilter;
}

function selectionOf(o: BulkOptionValues): BulkSelection {
  const filter = filterOf(o);
  const hasFilter = Object.keys(filter).length > 0;
  if (o.users !== undefined && hasFilter)
    throw new UsageFailure('give either --users or filter options, not both');
  if (o.users !== undefined) return { users: o.users };
  if (!hasFilter) throw new UsageFailure('give --users or at least one filter option (--status, --pool, …)');
  return { filter };
}

/** Progress on stderr: a bar on a terminal, nothing otherwise. */
async function progressBar(io: ResolvedIO): Promise<{ update(job: BulkJob): void; stop(): void }> {
  if (process.stderr.isTTY !== true) return { update() {}, stop() {} };
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    { format: 'items [{bar}] {value}/{total} ({failed} failed)', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  void io;
  return {
    update(job) {
      if (!started) {
        bar.start(job.total, job.done, { failed: job.failed });
        started = true;
      } else bar.update(job.done, { failed: job.failed });
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

const describeJob = (j: BulkJob): string =>
  `job ${j.id} (${j.action}${j.pool === null ? '' : ` to ${j.pool}`}): ${j.state}, ${j.done}/${j.total} done: ${j.ok} changed, ${j.skipped} skipped, ${j.failed} failed${j.lastError === null ? '' : `; last error ${j.lastError}`}\n`;

const describePlan = (p: BulkDryRun): string =>
  `dry run of ${p.action}: ${p.change} would change, ${p.skipped} skipped, ${p.failed} would fail (nothing was changed)\n${p.items
    .filter((i) => i.outcome !== 'change')
    .map((i) => `  ${i.user}${i.device === null ? '' : ` device ${i.device}`}: ${i.outcome} (${i.reason})\n`)
    .join('')}`;

type Session = Awaited<ReturnType<typeof openAdminSession>>;

/** Waits for the job with a bar, writes the result file, prints the job; fails when items failed. */
async function follow(
  s: Session,
  io: ResolvedIO,
  options: BulkOptionValues,
  started: BulkJob,
  extraResults?: (s: Session, job: BulkJob) => Promise<Map<string, Record<string, unknown>>>,
): Promise<void> {
  const bar = await progressBar(io);
  const job = await s.client.bulk
    .wait(started.id, { onProgress: (j) => bar.update(j), intervalMs: 300 })
    .catch(explainAdminError)
    .finally(() => bar.stop());
  await finish(s, io, options, [job], extraResults);
}

/**
 * Writes the result file (the jobs' items in order), prints each job, and fails when a job did not
 * finish or items failed.
 */
async function finish(
  s: Session,
  io: ResolvedIO,
  options: BulkOptionValues,
  jobs: readonly BulkJob[],
  extraResults?: (s: Session, job: BulkJob) => Promise<Map<string, Record<string, unknown>>>,
): Promise<void> {
  if (options.results !== undefined) {
    const lines: string[] = [];
    for (const job of jobs) {
      const extra = extraResults === undefined ? new Map() : await extraResults(s, job);
      for await (const item of s.client.bulk.results(job.id)) {
        const { result: _r, ...rest } = item;
        lines.push(
          JSON.stringify({
            ...rest,
            ...(jobs.length > 1 ? { job: job.id } : {}),
            ...(extra.get(item.user) ?? {}),
          }),
        );
      }
    }
    // Invite results carry enrolment codes: readable by the owner only.
    writeFileSync(options.results, `${lines.join('\n')}\n`, { mode: 0o600 });
  }
  for (const job of jobs) output(io, options, job, describeJob);
  const stopped = jobs.find((j) => j.state !== 'done');
  if (stopped !== undefined) {
    const left =
      jobs.length > 1
        ? ' (the devices of the jobs after it were not wiped; run the command again once it is done)'
        : '';
    throw new Error(
      `the job is ${stopped.state}: resume it with cloister admin bulk resume ${stopped.id}${left}`,
    );
  }
  const failed = jobs.reduce((n, j) => n + j.failed, 0);
  const total = jobs.reduce((n, j) => n + j.total, 0);
  if (failed > 0) {
    const where = jobs
      .filter((j) => j.failed > 0)
      .map((j) => `cloister admin bulk results ${j.id} --outcome failed`)
      .join('; ');
    throw new Error(`${failed} of ${total} items failed (${where})`);
  }
}

/**
 * Signs and runs the wipes of `targets` as jobs of at most `perJob` devices, one after the other
 * (each job's commands are signed once the one before it is done, so that their sequences follow
 * the tenant's newest), with one progress bar over all of them. The idempotency key of job `i`
 * (from 1) is `key.i` when there are several. A dry run asks for every job's plan and prints
 * them as one.
 */
async function wipeInJobs(
  s: Session,
  io: ResolvedIO,
  options: BulkOptionValues,
  signer: Parameters<Session['client']['bulk']['wipe']>[0],
  targets: readonly { user: string; device: number }[],
  perJob: number,
): Promise<void> {
  const chunks: (typeof targets)[] = [];
  for (let i = 0; i < targets.length; i += perJob) chunks.push(targets.slice(i, i + perJob));
  const keyOf = (i: number) =>
    options.idempotencyKey === undefined
      ? {}
      : {
          idempotencyKey: chunks.length === 1 ? options.idempotencyKey : `${options.idempotencyKey}.${i + 1}`,
        };
  if (options.dryRun === true) {
    const plans: BulkDryRun[] = [];
    for (const [i, chunk] of chunks.entries()) {
      const plan = await s.client.bulk
        .wipe(signer, chunk, { ...keyOf(i), dryRun: true })
        .catch(explainAdminError);
      if (!('dryRun' in plan)) throw new Error('the server started a job for a dry run');
      plans.push(plan);
    }
    const sum = (k: 'total' | 'change' | 'skipped' | 'failed') => plans.reduce((n, p) => n + p[k], 0);
    const merged: BulkDryRun = {
      dryRun: true,
      action: 'wipe',
      total: sum('total'),
      change: sum('change'),
      skipped: sum('skipped'),
      failed: sum('failed'),
      items: plans.flatMap((p) => p.items),
    };
    output(io, options, merged, describePlan);
    return;
  }
  const bar = await progressBar(io);
  const jobs: BulkJob[] = [];
  try {
    let doneBefore = 0;
    let failedBefore = 0;
    for (const [i, chunk] of chunks.entries()) {
      const started = await s.client.bulk.wipe(signer, chunk, keyOf(i)).catch(explainAdminError);
      if ('dryRun' in started) throw new Error('the server answered a dry run for a job');
      const job = await s.client.bulk
        .wait(started.id, {
          intervalMs: 300,
          onProgress: (j) =>
            bar.update({
              ...j,
              total: targets.length,
              done: doneBefore + j.done,
              failed: failedBefore + j.failed,
            }),
        })
        .catch(explainAdminError);
      jobs.push(job);
      doneBefore += job.done;
      failedBefore += job.failed;
      if (job.state !== 'done') break;
    }
  } finally {
    bar.stop();
  }
  await finish(s, io, options, jobs);
}

/**
 * Adds `cloister admin bulk …` to the `admin` group.
 *
 * @example
 * ```ts
 * registerAdminBulkCommands(program.command('admin'), resolveIO());
 * ```
 */
export function registerAdminBulkCommands(admin: Command, io: ResolvedIO): Command {
  const bulk = admin.command('bulk').description('filters over users and devices, and bulk jobs');
  const userStatuses = ['active', 'blocked', 'never-enrolled'] as const;

  addAdminOptions(
    filterOptions(
      bulk.command('find-users').description('list the users a filter matches'),
      userStatuses,
    ).addOption(
      new Option('--limit <n>', 'at most this many (default all)').argParser(parseCount(1_000_000)),
    ),
    'print one JSON line per user',
  ).action(async (options: BulkOptionValues) => {
    const { client } = await openAdminSession(options, io);
    let n = 0;
    try {
      for await (const u of client.bulk.users(filterOf(options))) {
        output(
          io,
          options,
          u,
          (x) =>
            `${x.user.id}: ${x.user.displayName}, ${x.status}, ${x.devices} devices, last seen ${x.lastSeenAt === null ? 'never' : new Date(x.lastSeenAt).toISOString()}\n`,
        );
        if (options.limit !== undefined && ++n >= options.limit) break;
      }
    } catch (error) {
      explainAdminError(error);
    }
  });

  addAdminOptions(
    filterOptions(bulk.command('find-devices').description('list the devices a filter matches'), [
      'active',
      'blocked',
    ]).addOption(
      new Option('--limit <n>', 'at most this many (default all)').argParser(parseCount(1_000_000)),
    ),
    'print one JSON line per device',
  ).action(async (options: BulkOptionValues) => {
    const { client } = await openAdminSession(options, io);
    let n = 0;
    try {
      for await (const d of client.bulk.devices(filterOf(options))) {
        output(
          io,
          options,
          d,
          (x) =>
            `${x.user} device ${x.device.id}: ${x.userBlocked || x.device.blocked ? 'blocked' : 'active'}, version ${x.device.clientVersion ?? 'unknown'}\n`,
        );
        if (options.limit !== undefined && ++n >= options.limit) break;
      }
    } catch (error) {
      explainAdminError(error);
    }
  });

  const jobCommand = (name: string, description: string, statuses: readonly string[] = userStatuses) =>
    addAdminOptions(
      filterOptions(bulk.command(name).description(description), statuses)
        .addOption(
          new Option('--users <ids>', 'explicit user ids, comma-separated (repeatable)').argParser(splitIds),
        )
        .option('--dry-run', 'list what would change; change nothing')
        .option(
          '--idempotency-key <key>',
          'the same key with the same input answers the same job (a safe retry)',
        )
        .addOption(
          new Option('--results <file>', 'write one JSON line per item to this file').argParser(parsePath),
        ),
      'print the job (or the dry run) as one JSON line',
    );

  for (const action of ['block', 'unblock', 'delete'] as const) {
    jobCommand(
      action,
      action === 'delete'
        ? 'delete the selected users and everything the server holds for them (fresh second factor)'
        : `${action} the selected users`,
    ).action(async (options: BulkOptionValues) => {
      const selection = selectionOf(options);
      const s = await openAdminSession(options, io);
      if (options.dryRun === true) {
        output(
          io,
          options,
          await s.client.bulk.dryRun(action, selection).catch(explainAdminError),
          describePlan,
        );
        return;
      }
      const key = options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey };
      const job = await s.client.bulk[action](selection, key).catch(explainAdminError);
      await follow(s, io, options, job);
    });
  }

  jobCommand('move', 'move the selected users to one pool (their only pool afterwards)')
    .requiredOption('--to <pool>', 'the pool')
    .action(async (options: BulkOptionValues) => {
      const selection = selectionOf(options);
      const s = await openAdminSession(options, io);
      const pool = options.to as string;
      if (options.dryRun === true) {
        output(
          io,
          options,
          await s.client.bulk.dryRun('move', selection, { pool }).catch(explainAdminError),
          describePlan,
        );
        return;
      }
      const key = options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey };
      await follow(s, io, options, await s.client.bulk.move(selection, pool, key).catch(explainAdminError));
    });

  jobCommand(
    'invite',
    'give the selected users new enrolment tokens; --results receives their enrolment codes',
  )
    .addOption(
      new Option('--uses <n>', 'devices each token may enrol (default 1)').argParser(parseCount(100)),
    )
    .action(async (options: BulkOptionValues) => {
      const selection = selectionOf(options);
      const s = await openAdminSession(options, io);
      if (options.dryRun === true) {
        output(
          io,
          options,
          await s.client.bulk.dryRun('invite', selection).catch(explainAdminError),
          describePlan,
        );
        return;
      }
      if (options.results === undefined)
        throw new UsageFailure('--results <file> receives the enrolment codes');
      const { job, resultKey } = await s.client.bulk
        .invite(selection, {
          ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
          ...(options.uses === undefined ? {} : { uses: options.uses }),
        })
        .catch(explainAdminError);
      await follow(s, io, options, job, async (session, done) => {
        const { rootFingerprint } = await session.client.getOrganisation().catch(explainAdminError);
        const opened = await session.client.bulk.openInvites(
          session.session.tenant,
          done.id,
          resultKey,
          rootFingerprint,
        );
        return new Map(
          opened.map((o) => [o.user, { enrolmentCode: o.enrolmentCode ?? o.token, expiresAt: o.expiresAt }]),
        );
      });
    });

  jobCommand(
    'wipe',
    'sign a wipe for every device the filter matches and publish them (fresh second factor)',
    ['active', 'blocked'],
  )
    .addOption(
      new Option(
        '--devices-per-job <n>',
        `devices per job (default ${WIPE_JOB_DEVICES}, the most a job takes); more devices make several jobs, run one after the other`,
      ).argParser(parseCount(WIPE_JOB_DEVICES)),
    )
    .action(async (options: BulkOptionValues) => {
      if (options.users !== undefined) throw new UsageFailure('a wipe selects devices by filter options');
      const filter = filterOf(options);
      if (Object.keys(filter).length === 0) throw new UsageFailure('give at least one filter option');
      const s = await openAdminSession(options, io);
      const key = await openAdminSigningKey(s.dir, s.provider, s.passphrase);
      const targets: { user: string; device: number }[] = [];
      try {
        for await (const d of s.client.bulk.devices(filter))
          targets.push({ user: d.user, device: d.device.id });
      } catch (error) {
        explainAdminError(error);
      }
      if (targets.length === 0) throw new Error('no device matches the filter');
      await wipeInJobs(
        s,
        io,
        options,
        { provider: s.provider, key, client: s.client },
        targets,
        options.devicesPerJob ?? WIPE_JOB_DEVICES,
      );
    });

  addAdminOptions(
    bulk.command('status').description("a job's progress").argument('<job>', 'the job id'),
  ).action(async (id: string, options: AdminOptionValues) => {
    const { client } = await openAdminSession(options, io);
    output(io, options, await client.bulk.get(id).catch(explainAdminError), describeJob);
  });

  addAdminOptions(
    bulk
      .command('results')
      .description("a job's result per item")
      .argument('<job>', 'the job id')
      .addOption(
        new Option('--outcome <outcome>', 'only these').choices(['pending', 'ok', 'skipped', 'failed']),
      ),
    'print one JSON line per item',
  ).action(
    async (
      id: string,
      options: AdminOptionValues & { outcome?: 'pending' | 'ok' | 'skipped' | 'failed' },
    ) => {
      const { client } = await openAdminSession(options, io);
      try {
        for await (const item of client.bulk.results(
          id,
          options.outcome === undefined ? {} : { outcome: options.outcome },
        )) {
          output(
            io,
            options,
            item,
            (i) =>
              `${i.index} ${i.user}${i.device === null ? '' : ` device ${i.device}`}: ${i.outcome}${i.reason === null ? '' : ` (${i.reason})`}\n`,
          );
        }
      } catch (error) {
        explainAdminError(error);
      }
    },
  );

  addAdminOptions(
    bulk
      .command('resume')
      .description('resume an interrupted job (or one whose runner stopped) from its last committed batch')
      .argument('<job>', 'the job id')
      .addOption(
        new Option('--results <file>', 'write one JSON line per item to this file').argParser(parsePath),
      ),
  ).action(async (id: string, options: BulkOptionValues) => {
    const s = await openAdminSession(options, io);
    const job = await s.client.bulk.get(id).catch(explainAdminError);
    await follow(s, io, options, await s.client.bulk.resume(job).catch(explainAdminError));
  });

  return bulk;
}
