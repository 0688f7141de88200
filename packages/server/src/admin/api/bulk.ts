/**
 * Bulk operations as jobs (`spec/bulk.md` §3–§6): block, unblock, move to a pool, invite again,
 * wipe and delete, each on its own route with its own permission; a dry run that lists what would
 * change; an idempotency key; batches of {@link BATCH_SIZE} items, each batch's changes, their
 * audit records, the items' outcomes and the job's progress in one transaction; resumption from
 * the last committed batch; progress and paged results.
 *
 * A job runs in the background of the instance that created (or resumed) it, holding a lease it
 * renews with every batch. When the instance stops, the job keeps its committed batches and is
 * resumed (`POST …/jobs/:job/resume`) once the lease has run out.
 *
 * @module
 */
import {
  CloisterError,
  concatBytes,
  ForbiddenError,
  sealHpke,
  uintBE,
  utf8,
  ValidationError,
} from '@cloister/crypto';
import {
  decodeOrganisationObject,
  type MailboxId,
  type PoolId,
  poolId,
  type TenantId,
  userId,
} from '@cloister/protocol';
import type { RecordValue } from '@cloister/storage';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ServerContext } from '../../context.js';
import { publishOrganisationObject } from '../../organisation/objects.js';
import { withBatchedEpochBumps } from '../../store/delivery-epochs.js';
import {
  type AuditInput,
  appendAuditRecords,
  type BulkAction,
  ConflictError,
  type Job,
  type JobItem,
  MAX_IDEMPOTENCY_KEY,
  MAX_JOB_ITEMS,
  NotFoundError,
  type ServerStoreSet,
} from '../../store/index.js';
import type { AdminPermission } from '../permissions.js';
import type { AdminAuth } from '../sessions.js';
import { resolveUsers, type UserFilter, userFilterSchema } from './filters.js';
import { type AdminOperation, defineAdminOperation } from './operation.js';
import { ADMIN_SCHEMAS, b64url, identifier, pageLimit, queryInt } from './schemas.js';
import { type AdminTransaction, adminTransaction } from './transaction.js';
import { deleteUserRows, issueInviteToken } from './users.js';

/**
 * Items per batch: one transaction commits a batch's changes, audit records, outcomes and the
 * job's progress.
 *
 * @example
 * ```ts
 * console.log(BATCH_SIZE); // 200
 * ```
 */
export const BATCH_SIZE = 200;

/**
 * How long a runner's hold on a job lasts after its last committed batch (60 s); a job whose
 * lease has run out may be resumed.
 *
 * @example
 * ```ts
 * const resumableAt = job.leaseUntil; // updatedAt + JOB_LEASE_MS while running
 * ```
 */
export const JOB_LEASE_MS = 60_000;

/**
 * Most signed wipe commands one wipe job takes (the request body limit allows about this many).
 *
 * @example
 * ```ts
 * console.log(MAX_WIPE_ITEMS); // 1000
 * ```
 */
export const MAX_WIPE_ITEMS = 1000;

/**
 * HPKE `info` of an enrolment token a bulk invite seals to the caller's result key.
 *
 * @example
 * ```ts
 * const info = utf8(BULK_INVITE_TOKEN_LABEL);
 * ```
 */
export const BULK_INVITE_TOKEN_LABEL = 'cloister/v1/admin/bulk-invite-token';

/**
 * The HPKE `aad` of a sealed bulk-invite token: the tenant, job and user ids, each with a u16
 * length prefix, so that a sealed token cannot be presented as another user's.
 *
 * @example
 * ```ts
 * const aad = bulkInviteAad('acme', 'job_AAAAAAAAAAAAAAAAAAAAAA', 'alice');
 * ```
 */
export function bulkInviteAad(tenant: string, job: string, user: string): Uint8Array {
  const parts = [tenant, job, user].map((s) => utf8(s));
  return concatBytes(...parts.flatMap((p) => [uintBE(p.length, 2), p]));
}

const PERMISSION: Readonly<Record<BulkAction, AdminPermission>> = {
  block: 'users.block',
  unblock: 'users.block',
  move: 'pools.write',
  invite: 'users.invite',
  wipe: 'devices.wipe',
  delete: 'users.delete',
};

const STRICT: ReadonlySet<BulkAction> = new Set(['wipe', 'delete']);

/** The route access of an action: destructive ones need a fresh factor and refuse integration keys. */
function accessOf(action: BulkAction) {
  return STRICT.has(action)
    ? { permission: PERMISSION[action], freshFactor: true, allowKey: false }
    : { permission: PERMISSION[action] };
}

// ---------------------------------------------------------------- schemas

const base64url32 = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'a 32-byte key, base64url')
  .transform((s) => new Uint8Array(Buffer.from(s, 'base64url')));

const selection = {
  filter: userFilterSchema.optional().describe('The users that meet this filter when the job is created.'),
  users: z
    .array(identifier)
    .min(1)
    .max(MAX_JOB_ITEMS)
    .optional()
    .describe(`An explicit list of user ids (at most ${MAX_JOB_ITEMS}, distinct).`),
  dryRun: z.boolean().optional().describe('List what would change; change nothing.'),
  idempotencyKey: z
    .string()
    .min(1)
    .max(MAX_IDEMPOTENCY_KEY)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII')
    .optional()
    .describe('Or the Idempotency-Key header: the same key with the same input answers the same job.'),
};

const oneSelection = (b: { filter?: unknown; users?: readonly string[] | undefined }) =>
  (b.filter === undefined) !== (b.users === undefined) &&
  (b.users === undefined || new Set(b.users).size === b.users.length);
const selectionMessage = { message: 'exactly one of filter and users (users distinct)', path: ['users'] };

const plainBody = named(
  z.object(selection).strict().refine(oneSelection, selectionMessage),
  'BulkUsersBody',
  'The users a bulk job acts on: a filter or a list of ids.',
);
const moveBody = named(
  z
    .object({
      ...selection,
      pool: identifier.describe('The pool the users are moved to (their only pool afterwards).'),
    })
    .strict()
    .refine(oneSelection, selectionMessage),
  'BulkMoveBody',
  'The users to move and the pool they move to.',
);
const inviteBody = named(
  z
    .object({
      ...selection,
      resultKey: base64url32
        .optional()
        .describe('X25519 public key (HPKE) each new enrolment token is sealed to; required unless dryRun.'),
      uses: z.number().int().min(1).max(100).optional(),
      ttlMs: z
        .number()
        .int()
        .min(60_000)
        .max(366 * 86_400_000)
        .optional(),
    })
    .strict()
    .refine(oneSelection, selectionMessage)
    .refine((b) => b.dryRun === true || b.resultKey !== undefined, {
      message: 'a resultKey',
      path: ['resultKey'],
    }),
  'BulkInviteBody',
  'The users to invite again, and the key the new enrolment tokens are sealed to.',
);
const wipeBody = named(
  z
    .object({
      commands: z
        .array(z.string().regex(/^[A-Za-z0-9_-]{1,8192}$/, 'a signed wipe, base64url'))
        .min(1)
        .max(MAX_WIPE_ITEMS)
        .describe('Signed organisation objects of kind wipe, one per device, in increasing sequence.'),
      dryRun: selection.dryRun,
      idempotencyKey: selection.idempotencyKey,
    })
    .strict(),
  'BulkWipeBody',
  'Signed wipe commands, one per device (made on the administrator’s machine).',
);

function named<S extends z.ZodType>(schema: S, id: string, description: string): S {
  ADMIN_SCHEMAS.add(schema as z.ZodType, { id, description });
  return schema;
}

const actionSchema = z.enum(['block', 'unblock', 'move', 'invite', 'wipe', 'delete']);

/**
 * A job as the admin API shows it.
 *
 * @example
 * ```ts
 * const job = jobView.parse(await (await fetch(`${url}/admin/v1/jobs/${id}`, { headers })).json());
 * console.log(`${job.done}/${job.total}`, job.state);
 * ```
 */
export const jobView = named(
  z
    .object({
      id: z.string(),
      action: actionSchema,
      state: z.enum(['running', 'interrupted', 'done']),
      total: z.number().int(),
      done: z.number().int(),
      ok: z.number().int(),
      skipped: z.number().int(),
      failed: z.number().int(),
      pool: z.string().nullable().describe('The pool of a move job, else null.'),
      createdBy: z.string(),
      createdAt: z.number().int(),
      updatedAt: z.number().int(),
      finishedAt: z.number().int().nullable(),
      resumableAt: z
        .number()
        .int()
        .nullable()
        .describe(
          'When a running job whose runner stopped may be resumed (its lease’s end); null when done.',
        ),
      lastError: z
        .string()
        .nullable()
        .describe('The error code of the last batch that could not be committed.'),
      idempotencyKey: z.string().nullable(),
    })
    .strict(),
  'BulkJob',
  'A bulk job: its progress and counts.',
);

/**
 * One item of a job as the admin API shows it.
 *
 * @example
 * ```ts
 * const { items } = await (await fetch(`${url}/admin/v1/jobs/${id}/results?outcome=failed`, { headers })).json();
 * for (const i of items) console.log(i.user, i.reason);
 * ```
 */
export const jobItemView = named(
  z
    .object({
      index: z.number().int(),
      user: z.string(),
      device: z.number().int().nullable(),
      outcome: z.enum(['pending', 'ok', 'skipped', 'failed']),
      reason: z.string().nullable(),
      result: z
        .object({
          enc: z.string().optional().describe('Invite: the HPKE encapsulated key (base64url).'),
          sealedToken: z.string().optional().describe('Invite: the sealed enrolment token (base64url).'),
          expiresAt: z.number().int().optional().describe('Invite: when the token expires.'),
          commandId: z.string().optional().describe('Wipe: the command id the device’s report repeats.'),
        })
        .strict()
        .nullable(),
    })
    .strict(),
  'BulkJobItem',
  'One user or device of a bulk job and its outcome.',
);

const dryRunView = named(
  z
    .object({
      dryRun: z.literal(true),
      action: actionSchema,
      total: z.number().int(),
      change: z.number().int(),
      skipped: z.number().int(),
      failed: z.number().int(),
      items: z.array(
        z
          .object({
            user: z.string(),
            device: z.number().int().nullable(),
            outcome: z.enum(['change', 'skipped', 'failed']),
            reason: z.string().nullable(),
          })
          .strict(),
      ),
    })
    .strict(),
  'BulkDryRun',
  'What a bulk job would do, item by item; nothing was changed.',
);

/**
 * A job's view.
 *
 * @example
 * ```ts
 * return jobViewOf(await ctx.stores.jobs.get(tenant, id));
 * ```
 */
export function jobViewOf(j: Job) {
  return {
    id: j.id,
    action: j.action,
    state: j.state,
    total: j.total,
    done: j.done,
    ok: j.ok,
    skipped: j.skipped,
    failed: j.failed,
    pool: typeof j.options.pool === 'string' ? j.options.pool : null,
    createdBy: j.createdBy,
    createdAt: j.createdAt,
    updatedAt: j.updatedAt,
    finishedAt: j.finishedAt,
    resumableAt: j.state === 'done' ? null : j.state === 'interrupted' ? j.updatedAt : j.leaseUntil,
    lastError: j.lastError,
    idempotencyKey: j.idempotencyKey,
  };
}

function itemViewOf(i: JobItem) {
  const r = i.result;
  return {
    index: i.index,
    user: i.user,
    device: i.device,
    outcome: i.outcome,
    reason: i.reason,
    result:
      r === null
        ? null
        : {
            ...(r.enc instanceof Uint8Array ? { enc: b64url(r.enc) } : {}),
            ...(r.sealedToken instanceof Uint8Array ? { sealedToken: b64url(r.sealedToken) } : {}),
            ...(typeof r.expiresAt === 'number' ? { expiresAt: r.expiresAt } : {}),
            ...(typeof r.commandId === 'string' ? { commandId: r.commandId } : {}),
          },
  };
}

// ---------------------------------------------------------------- planning and applying one item

/** What a job does to one item, before doing it. */
type Plan =
  | { readonly outcome: 'change' }
  | { readonly outcome: 'skipped' | 'failed'; readonly reason: string };

const CHANGE: Plan = { outcome: 'change' };
const skip = (reason: string): Plan => ({ outcome: 'skipped', reason });
const fail = (reason: string): Plan => ({ outcome: 'failed', reason });

interface JobSpec {
  readonly action: BulkAction;
  readonly options: { readonly [name: string]: RecordValue };
}

async function planItem(
  s: ServerStoreSet,
  tenant: TenantId,
  job: JobSpec,
  item: Pick<JobItem, 'user' | 'device' | 'command'>,
): Promise<Plan> {
  const user = await s.users.get(tenant, userId(item.user));
  if (user === undefined) return fail('not-found');
  switch (job.action) {
    case 'block':
      return user.blocked ? skip('already-blocked') : CHANGE;
    case 'unblock':
      // A user who left the directory is not unblocked until detached (spec/directory.md §1.1).
      if (user.directory?.state === 'left') return fail('left-directory');
      return user.blocked ? CHANGE : skip('not-blocked');
    case 'move': {
      const pool = job.options.pool as string;
      if ((await s.pools.get(tenant, poolId(pool))) === undefined) return fail('pool-not-found');
      return user.pools.length === 1 && user.pools[0] === pool ? skip('already-in-pool') : CHANGE;
    }
    case 'invite':
      return user.blocked ? skip('user-blocked') : CHANGE;
    case 'delete':
      return CHANGE;
    case 'wipe': {
      if (item.device === null || item.command === null) return fail('invalid');
      const device = await s.devices.get(tenant, user.id, item.device as never);
      if (device === undefined) return fail('not-found');
      const o = decodeOrganisationObject(item.command);
      if ((await s.organisation.sequence(tenant, 'wipe')) >= o.sequence) return fail('stale-sequence');
      return CHANGE;
    }
  }
}

/** Effects that happen after the batch commits (sockets to wake), and the batch's audit records. */
interface AfterCommit {
  readonly wake: MailboxId[];
  /** The items' audit records, appended together at the end of the batch (in item order). */
  readonly audit: AuditInput[];
}

async function applyItem(
  ctx: ServerContext,
  t: AdminTransaction,
  tenant: TenantId,
  job: Job,
  item: JobItem,
  after: AfterCommit,
): Promise<{ readonly [name: string]: RecordValue } | null> {
  const { stores } = t;
  const user = userId(item.user);
  const actor = job.createdBy;
  const audit = async (action: string, details: { [k: string]: RecordValue } = {}) => {
    after.audit.push({
      actor,
      action,
      target: user,
      outcome: 'success',
      details: { job: job.id, ...details },
    });
  };
  const mailboxesOf = async () => (await stores.devices.list(tenant, user)).map((d) => d.mailbox);
  switch (job.action) {
    case 'block':
    case 'unblock': {
      const blocked = job.action === 'block';
      await stores.users.update(tenant, user, { blocked });
      await audit(blocked ? 'user.block' : 'user.unblock');
      if (blocked) after.wake.push(...(await mailboxesOf()));
      return null;
    }
    case 'move': {
      const pool = poolId(job.options.pool as string) as PoolId;
      const before = await stores.users.get(tenant, user);
      await stores.users.update(tenant, user, { pools: [pool] });
      await audit('user.move', { from: [...(before?.pools ?? [])], to: pool });
      after.wake.push(...(await mailboxesOf()));
      return null;
    }
    case 'invite': {
      const uses = typeof job.options.uses === 'number' ? job.options.uses : undefined;
      const ttlMs = typeof job.options.ttlMs === 'number' ? job.options.ttlMs : undefined;
      const { token, expiresAt } = await issueInviteToken(t, tenant, user, { uses, ttlMs });
      const sealed = await sealHpke(ctx.provider, {
        aead: 'aes-256-gcm',
        recipientPublicKey: job.options.resultKey as Uint8Array,
        info: utf8(BULK_INVITE_TOKEN_LABEL),
        aad: bulkInviteAad(tenant, job.id, user),
        plaintext: new Uint8Array(Buffer.from(token, 'base64url')),
      });
      await audit('user.invite', { uses: uses ?? 1, expiresAt, created: false });
      return { enc: sealed.enc, sealedToken: sealed.ciphertext, expiresAt };
    }
    case 'delete': {
      const { mailboxes, devices, tokens } = await deleteUserRows(t, tenant, user);
      await audit('user.delete', { devices, enrolmentTokens: tokens });
      after.wake.push(...mailboxes);
      return null;
    }
    case 'wipe': {
      const command = item.command as Uint8Array;
      // Published inside the batch's transaction; the device's socket is woken after the commit.
      const bound: ServerContext = {
        ...ctx,
        adapter: t.scope.adapter,
        stores,
        bus: { ...ctx.bus, notify: async (m: MailboxId) => void after.wake.push(m) },
      };
      await publishOrganisationObject(bound, tenant, command, { actor, signer: job.createdBy, kind: 'wipe' });
      const o = decodeOrganisationObject(command);
      if (o.kind !== 'wipe') throw new ValidationError('command', 'a wipe');
      return { commandId: b64url(o.payload.commandId) };
    }
  }
}

// ---------------------------------------------------------------- the runner

/**
 * Options of {@link runJob} (for tests: stop after some batches as a crashed instance would, or
 * make an item's change throw as a failing database would).
 *
 * @example
 * ```ts
 * const options: RunJobOptions = { maxBatches: 1 };
 * ```
 */
export interface RunJobOptions {
  /** Stop (leaving the job `running` with its lease) after this many batches. */
  readonly maxBatches?: number;
  /** Called before each item's change inside the batch's transaction; a throw fails the batch. */
  readonly fault?: (item: JobItem) => void;
}

type BatchResult = 'more' | 'finished' | 'lost';

function reasonOf(error: unknown): string {
  return error instanceof CloisterError ? error.code : 'ERR_INTERNAL';
}

async function runBatch(
  ctx: ServerContext,
  tenant: TenantId,
  id: string,
  runner: string,
  size: number,
  options: RunJobOptions,
): Promise<BatchResult> {
  let after: AfterCommit = { wake: [], audit: [] };
  const result = await adminTransaction(ctx, async (t) => {
    const batch: AfterCommit = { wake: [], audit: [] };
    after = batch;
    const job = await t.stores.jobs.get(tenant, id, true);
    if (job === undefined || job.state !== 'running' || job.runner !== runner) return 'lost' as const;
    const items = await t.stores.jobs.items(tenant, id, job.done, Math.min(size, job.total - job.done));
    let { ok, skipped, failed } = job;
    const outcomes: JobItem[] = [];
    // The users' delivery epochs are bumped once each at the end of the batch, in its transaction.
    await withBatchedEpochBumps(t.tx, async () => {
      for (const item of items) {
        const plan = await planItem(t.stores, tenant, job, item);
        if (plan.outcome !== 'change') {
          outcomes.push({ ...item, outcome: plan.outcome, reason: plan.reason, result: null });
          if (plan.outcome === 'skipped') skipped++;
          else failed++;
          continue;
        }
        options.fault?.(item);
        const res = await applyItem(ctx, t, tenant, job, item, batch);
        outcomes.push({ ...item, outcome: 'ok', reason: null, result: res });
        ok++;
      }
    });
    await appendBatchAudit(ctx, t, tenant, batch.audit);
    await t.stores.jobs.putItems(tenant, id, outcomes);
    const done = job.done + items.length;
    const finished = done >= job.total;
    const now = t.tx.now;
    await t.stores.jobs.update(tenant, id, {
      done,
      ok,
      skipped,
      failed,
      leaseUntil: now + JOB_LEASE_MS,
      ...(finished ? { state: 'done' as const, finishedAt: now } : {}),
    });
    if (finished) {
      await t.stores.audit.append(tenant, {
        actor: job.createdBy,
        action: 'bulk.done',
        target: id,
        outcome: failed === 0 ? 'success' : 'failure',
        details: { action: job.action, total: job.total, ok, skipped, failed },
      });
    }
    return finished ? ('finished' as const) : ('more' as const);
  });
  for (const m of after.wake) await ctx.bus.notify(m, 'recheck').catch(() => undefined);
  return result;
}

/**
 * Appends a batch's audit records with one multi-row insert (the chain computed in memory), and
 * enqueues their webhook events as the audit store's `append` does.
 */
async function appendBatchAudit(
  ctx: ServerContext,
  t: AdminTransaction,
  tenant: TenantId,
  inputs: readonly AuditInput[],
): Promise<void> {
  if (inputs.length === 0) return;
  const records = await appendAuditRecords(t.tx, ctx.provider, tenant, inputs);
  if ((await t.stores.integrations.listWebhooks(tenant)).length === 0) return;
  for (const record of records) await t.stores.integrations.enqueueEvents(record);
}

/** Records one item as failed (its change could not be committed) and moves the job past it. */
async function failItem(ctx: ServerContext, tenant: TenantId, id: string, runner: string, reason: string) {
  return adminTransaction(ctx, async (t) => {
    const job = await t.stores.jobs.get(tenant, id, true);
    if (job === undefined || job.state !== 'running' || job.runner !== runner) return 'lost' as const;
    const [item] = await t.stores.jobs.items(tenant, id, job.done, 1);
    if (item === undefined) return 'lost' as const;
    await t.stores.jobs.putItems(tenant, id, [{ ...item, outcome: 'failed', reason, result: null }]);
    const done = job.done + 1;
    const finished = done >= job.total;
    await t.stores.jobs.update(tenant, id, {
      done,
      failed: job.failed + 1,
      leaseUntil: t.tx.now + JOB_LEASE_MS,
      ...(finished ? { state: 'done' as const, finishedAt: t.tx.now } : {}),
    });
    if (finished) {
      await t.stores.audit.append(tenant, {
        actor: job.createdBy,
        action: 'bulk.done',
        target: id,
        outcome: 'failure',
        details: {
          action: job.action,
          total: job.total,
          ok: job.ok,
          skipped: job.skipped,
          failed: job.failed + 1,
        },
      });
    }
    return finished ? ('finished' as const) : ('more' as const);
  });
}

/**
 * Runs the job `id` as `runner` until it is done, its lease is taken over, the server shuts
 * down, or a batch cannot be committed even item by item (the job is then `interrupted`). A batch
 * that throws is retried one item per transaction, so that the item that fails is recorded as
 * failed (with its error code) and the others are done. Never rejects.
 *
 * @example
 * ```ts
 * void runJob(ctx, tenant, job.id, job.runner);
 * ```
 */
export async function runJob(
  ctx: ServerContext,
  tenant: TenantId,
  id: string,
  runner: string,
  options: RunJobOptions = {},
): Promise<void> {
  let batches = 0;
  try {
    for (;;) {
      if (ctx.shutdown.aborted) return;
      if (options.maxBatches !== undefined && batches >= options.maxBatches) return;
      batches++;
      let r: BatchResult;
      try {
        r = await runBatch(ctx, tenant, id, runner, BATCH_SIZE, options);
      } catch {
        // Isolate the failing item(s): one item per transaction for this batch.
        r = 'more';
        for (let i = 0; i < BATCH_SIZE && r === 'more'; i++) {
          try {
            r = await runBatch(ctx, tenant, id, runner, 1, options);
          } catch (error) {
            r = await failItem(ctx, tenant, id, runner, reasonOf(error));
          }
        }
      }
      if (r !== 'more') return;
    }
  } catch (error) {
    ctx.log.warn({ job: id, code: reasonOf(error) }, 'bulk job interrupted');
    await ctx.stores.jobs
      .get(tenant, id)
      .then((job) =>
        job !== undefined && job.state === 'running' && job.runner === runner
          ? ctx.stores.jobs.update(tenant, id, { state: 'interrupted', lastError: reasonOf(error) })
          : undefined,
      )
      .catch(() => undefined);
  }
}

function newRunner(ctx: ServerContext): string {
  return b64url(ctx.provider.randomBytes(16));
}

// ---------------------------------------------------------------- resuming at server start

/**
 * The `lastError` of a job the server did not resume at start because the administrator who
 * created it is disabled or gone (an administrator resumes it by hand, on their own authority).
 *
 * @example
 * ```ts
 * const job = await ctx.stores.jobs.get(tenant, 'job_AAAAAAAAAAAAAAAAAAAAAA');
 * if (job?.lastError === JOB_CREATOR_INACTIVE) console.log('resume it with POST …/jobs/:job/resume');
 * ```
 */
export const JOB_CREATOR_INACTIVE = 'creator-inactive';

/**
 * What {@link startJobResumer} answers: the first sweep's end, and a way to stop waiting for
 * leases.
 *
 * @example
 * ```ts
 * const resumer = startJobResumer(ctx);
 * console.log(await resumer.swept, 'jobs resumed');
 * resumer.stop();
 * ```
 */
export interface JobResumer {
  /** Resolves, once every tenant's jobs were read, how many jobs were taken over (never rejects). */
  readonly swept: Promise<number>;
  /** Ends the sweep early and cancels the waits for leases still held (the server stops). */
  stop(): void;
}

/** Shortest wait before looking at a job again whose lease is still held. */
const LEASE_RECHECK_MIN_MS = 250;

/**
 * Resumes, when the server starts, the bulk jobs a stopped instance left `running` (`spec/bulk.md`
 * §5): every tenant's jobs are read once; a `running` job whose lease has run out is taken over
 * at once (a new runner, an audit record `bulk.resume` by `system` with `automatic: true`) and run
 * in the background from its last committed batch; one whose lease is still held (its instance
 * may still be running, or just crashed) is looked at again when the lease ends, and taken over
 * only if its runner did not renew it. A job whose creator is disabled or gone is not resumed: it
 * is marked `interrupted` with `lastError` {@link JOB_CREATOR_INACTIVE}; one whose takeover fails
 * is marked `interrupted` with the error's code. Both stay resumable by hand.
 *
 * @example
 * ```ts
 * const resumer = startJobResumer(ctx); // at server start
 * // … at shutdown:
 * resumer.stop();
 * ```
 */
export function startJobResumer(ctx: ServerContext): JobResumer {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let stopped = false;
  const later = (tenant: TenantId, id: string, at: number) => {
    if (stopped) return;
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        void takeOver(tenant, id);
      },
      Math.max(LEASE_RECHECK_MIN_MS, at - ctx.now()),
    );
    timer.unref?.();
    timers.add(timer);
  };
  const interrupt = (tenant: TenantId, id: string, lastError: string) =>
    ctx.stores.transaction(async (s) => {
      const j = await s.jobs.get(tenant, id, true);
      if (j === undefined || j.state !== 'running' || j.leaseUntil > ctx.now()) return;
      await s.jobs.update(tenant, id, { state: 'interrupted', lastError });
    });
  const takeOver = async (tenant: TenantId, id: string): Promise<boolean> => {
    if (stopped || ctx.shutdown.aborted) return false;
    const runner = newRunner(ctx);
    try {
      const taken = await ctx.stores.transaction(async (s) => {
        const j = await s.jobs.get(tenant, id, true);
        if (j === undefined || j.state !== 'running') return undefined;
        const now = ctx.now();
        if (j.leaseUntil > now) return { wait: j.leaseUntil } as const;
        const creator = await s.administrators.get(tenant, j.createdBy);
        if (creator === undefined || creator.disabled) {
          await s.jobs.update(tenant, id, { state: 'interrupted', lastError: JOB_CREATOR_INACTIVE });
          return undefined;
        }
        const finished = j.done >= j.total;
        const job = await s.jobs.update(tenant, id, {
          state: finished ? 'done' : 'running',
          runner,
          leaseUntil: now + JOB_LEASE_MS,
          lastError: null,
          ...(finished ? { finishedAt: now } : {}),
        });
        await s.audit.append(tenant, {
          actor: 'system',
          action: 'bulk.resume',
          target: id,
          outcome: 'success',
          details: { action: j.action, done: j.done, total: j.total, automatic: true },
        });
        return { job } as const;
      });
      if (taken === undefined) return false;
      if ('wait' in taken) {
        later(tenant, id, taken.wait);
        return false;
      }
      if (taken.job.state === 'running') void runJob(ctx, tenant, id, runner);
      return true;
    } catch (error) {
      ctx.log.warn({ job: id, code: reasonOf(error) }, 'bulk job not resumed at start');
      await interrupt(tenant, id, reasonOf(error)).catch(() => undefined);
      return false;
    }
  };
  const sweep = async (): Promise<number> => {
    let resumed = 0;
    try {
      for (let after: string | undefined; ; ) {
        const tenants = await ctx.stores.tenants.list({
          limit: 100,
          ...(after === undefined ? {} : { after }),
        });
        for (const tenant of tenants.items) {
          for (let jobAfter: string | undefined; ; ) {
            const page = await ctx.stores.jobs.list(tenant.id, {
              limit: 100,
              ...(jobAfter === undefined ? {} : { after: jobAfter }),
            });
            for (const job of page.items) {
              if (stopped || ctx.shutdown.aborted) return resumed;
              if (job.state === 'running' && (await takeOver(tenant.id, job.id))) resumed++;
            }
            if (page.next === undefined) break;
            jobAfter = page.next;
          }
        }
        if (tenants.next === undefined) break;
        after = tenants.next;
      }
    } catch (error) {
      ctx.log.warn({ code: reasonOf(error) }, 'bulk jobs: the sweep at start stopped');
    }
    return resumed;
  };
  return {
    swept: sweep(),
    stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

// ---------------------------------------------------------------- creating a job

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Uint8Array) return b64url(value);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

function idempotencyKeyOf(
  request: FastifyRequest,
  body: { idempotencyKey?: string | undefined },
): string | null {
  const header = request.headers['idempotency-key'];
  const fromHeader = typeof header === 'string' ? header : undefined;
  if (fromHeader !== undefined && body.idempotencyKey !== undefined && fromHeader !== body.idempotencyKey) {
    throw new ValidationError('idempotencyKey', 'the same key in the header and the body');
  }
  const k = body.idempotencyKey ?? fromHeader;
  if (k === undefined) return null;
  if (k.length < 1 || k.length > MAX_IDEMPOTENCY_KEY || !/^[\x21-\x7e]+$/.test(k)) {
    throw new ValidationError('idempotencyKey', `1..${MAX_IDEMPOTENCY_KEY} printable ASCII characters`);
  }
  return k;
}

type Selected = Pick<JobItem, 'user' | 'device' | 'command'>;

async function selectItems(
  ctx: ServerContext,
  me: AdminAuth,
  action: BulkAction,
  body: {
    filter?: UserFilter | undefined;
    users?: readonly string[] | undefined;
    commands?: readonly string[];
  },
): Promise<Selected[]> {
  if (action === 'wipe') {
    const commands = body.commands ?? [];
    let last = 0;
    const seen = new Set<string>();
    return commands.map((c, i) => {
      const bytes = new Uint8Array(Buffer.from(c, 'base64url'));
      let o: ReturnType<typeof decodeOrganisationObject>;
      try {
        o = decodeOrganisationObject(bytes);
      } catch {
        throw new ValidationError(`commands[${i}]`, 'a signed organisation object');
      }
      if (o.kind !== 'wipe')
        throw new ValidationError(`commands[${i}]`, 'an organisation object of kind wipe');
      if (o.tenant !== me.tenant) throw new ValidationError(`commands[${i}]`, 'a wipe of this tenant');
      if (o.sequence <= last)
        throw new ValidationError(`commands[${i}]`, 'sequences increasing in list order');
      if (o.certificate.admin !== me.admin.id) {
        throw new ForbiddenError('a wipe is signed under another administrator’s certificate');
      }
      const target = `${o.payload.user}/${o.payload.deviceId}`;
      if (seen.has(target)) throw new ValidationError(`commands[${i}]`, 'one wipe per device');
      seen.add(target);
      last = o.sequence;
      return { user: o.payload.user, device: o.payload.deviceId as number, command: bytes };
    });
  }
  if (body.users !== undefined) return body.users.map((u) => ({ user: u, device: null, command: null }));
  const found = await resolveUsers(ctx, me.tenant, body.filter ?? {}, MAX_JOB_ITEMS);
  if (found.length === 0) throw new ValidationError('filter', 'a filter that matches at least one user');
  return found.map(({ user }) => ({ user: user.id, device: null, command: null }));
}

function optionsOf(action: BulkAction, body: Record<string, unknown>): { [name: string]: RecordValue } {
  switch (action) {
    case 'move':
      return { pool: body.pool as string };
    case 'invite':
      return {
        ...(body.resultKey instanceof Uint8Array ? { resultKey: body.resultKey } : {}),
        ...(typeof body.uses === 'number' ? { uses: body.uses } : {}),
        ...(typeof body.ttlMs === 'number' ? { ttlMs: body.ttlMs } : {}),
      };
    default:
      return {};
  }
}

async function createJob(
  ctx: ServerContext,
  me: AdminAuth,
  action: BulkAction,
  body: Record<string, unknown> & { dryRun?: boolean | undefined; idempotencyKey?: string | undefined },
  request: FastifyRequest,
) {
  const idempotencyKey = idempotencyKeyOf(request, body);
  const { dryRun: _d, idempotencyKey: _k, ...input } = body;
  const inputDigest = await ctx.provider.sha256(utf8(JSON.stringify(canonical({ action, input }))));
  const replay = async (): Promise<ReturnType<typeof jobViewOf> | undefined> => {
    if (idempotencyKey === null) return undefined;
    const existing = await ctx.stores.jobs.byKey(me.tenant, idempotencyKey);
    if (existing === undefined) return undefined;
    const job = await ctx.stores.jobs.get(me.tenant, existing);
    if (job === undefined) return undefined;
    if (job.action !== action || b64url(job.inputDigest) !== b64url(inputDigest)) {
      throw new ConflictError('idempotency-key', 'the key was used with another input');
    }
    return jobViewOf(job);
  };
  if (body.dryRun !== true) {
    const answered = await replay();
    if (answered !== undefined) return answered;
  }
  const items = await selectItems(ctx, me, action, body as never);
  const options = optionsOf(action, body);
  if (body.dryRun === true) {
    const spec: JobSpec = { action, options };
    return ctx.stores.transaction(async (s) => {
      const planned = [];
      const counts = { change: 0, skipped: 0, failed: 0 };
      for (const item of items) {
        const plan = await planItem(s, me.tenant, spec, item);
        counts[plan.outcome]++;
        planned.push({
          user: item.user,
          device: item.device,
          outcome: plan.outcome,
          reason: plan.outcome === 'change' ? null : plan.reason,
        });
      }
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: 'bulk.dry-run',
        target: action,
        outcome: 'success',
        details: { action, total: items.length, ...counts },
      });
      return { dryRun: true as const, action, total: items.length, ...counts, items: planned };
    });
  }
  const id = `job_${b64url(ctx.provider.randomBytes(16))}`;
  const runner = newRunner(ctx);
  let job: Job;
  try {
    job = await ctx.stores.transaction(async (s) => {
      const created = await s.jobs.create(
        me.tenant,
        {
          id,
          action,
          createdBy: me.admin.id,
          options,
          idempotencyKey,
          inputDigest,
          runner,
          leaseUntil: ctx.now() + JOB_LEASE_MS,
        },
        items,
      );
      await s.audit.append(me.tenant, {
        actor: me.admin.id,
        action: `bulk.${action}`,
        target: id,
        outcome: 'success',
        details: {
          total: items.length,
          selection: body.filter !== undefined ? 'filter' : action === 'wipe' ? 'commands' : 'users',
          ...(typeof options.pool === 'string' ? { pool: options.pool } : {}),
        },
      });
      return created;
    });
  } catch (error) {
    // Two requests with the same key at once: the one that lost answers the winner's job.
    if (error instanceof ConflictError && error.constraint === 'idempotency-key') {
      const answered = await replay();
      if (answered !== undefined) return answered;
    }
    throw error;
  }
  void runJob(ctx, me.tenant, id, runner);
  return jobViewOf(job);
}

// ---------------------------------------------------------------- operations

const BODY: Readonly<Record<BulkAction, z.ZodType>> = {
  block: plainBody,
  unblock: plainBody,
  move: moveBody,
  invite: inviteBody,
  wipe: wipeBody,
  delete: plainBody,
};

const SUMMARY: Readonly<Record<BulkAction, string>> = {
  block: 'Block users in bulk',
  unblock: 'Unblock users in bulk',
  move: 'Move users to a pool in bulk',
  invite: 'Invite users again in bulk (new enrolment tokens, sealed to the caller)',
  wipe: 'Wipe devices in bulk with commands signed on the administrator’s machine',
  delete: 'Delete users in bulk',
};

const OP_NAME: Readonly<Record<BulkAction, string>> = {
  block: 'Block',
  unblock: 'Unblock',
  move: 'Move',
  invite: 'Invite',
  wipe: 'Wipe',
  delete: 'Delete',
};

function bulkOperation(action: BulkAction): AdminOperation<undefined, undefined, Record<string, unknown>> {
  return defineAdminOperation({
    id: `bulk${OP_NAME[action]}`,
    method: 'POST',
    path: `/admin/v1/bulk/${action}`,
    tag: 'bulk',
    summary: SUMMARY[action],
    description:
      'Creates a job (201, the job; it runs in the background in batches of 200) or, with `dryRun`, answers what it would do item by item and changes nothing (201, the plan). The same idempotency key with the same input answers the same job; with another input, 409 `conflict: idempotency-key`.',
    access: accessOf(action),
    body: BODY[action] as z.ZodType<Record<string, unknown>>,
    status: 201,
    response: z.union([jobView, dryRunView]),
    handle: async (ctx, { me, body, request }) => createJob(ctx, me, action, body, request),
  });
}

const jobParams = z.object({ job: z.string().regex(/^job_[A-Za-z0-9_-]{22}$/, 'a job id') }).strict();

async function requireJob(
  ctx: ServerContext,
  tenant: TenantId,
  id: string,
  action?: BulkAction,
): Promise<Job> {
  const job = await ctx.stores.jobs.get(tenant, id);
  if (job === undefined || (action !== undefined && job.action !== action)) throw new NotFoundError('job');
  return job;
}

function resumeOperation(action: BulkAction) {
  return defineAdminOperation({
    id: `resumeBulk${OP_NAME[action]}`,
    method: 'POST',
    path: `/admin/v1/bulk/${action}/jobs/:job/resume`,
    tag: 'bulk',
    summary: `Resume a ${action} job from its last committed batch`,
    description:
      'For a job that is `interrupted`, or `running` with its lease run out (its instance stopped). 409 `conflict: job` while another runner holds it or when it is done.',
    access: accessOf(action),
    params: jobParams,
    status: 200,
    response: jobView,
    handle: async (ctx, { me, params }) => {
      const runner = newRunner(ctx);
      const job = await ctx.stores.transaction(async (s) => {
        const j = await s.jobs.get(me.tenant, params.job, true);
        if (j === undefined || j.action !== action) throw new NotFoundError('job');
        if (j.state === 'done') throw new ConflictError('job', 'the job is finished');
        if (j.state === 'running' && j.leaseUntil > ctx.now()) {
          throw new ConflictError('job', 'the job is running');
        }
        // Stopped after its last batch committed but before it was marked done: done now.
        const finished = j.done >= j.total;
        const resumed = await s.jobs.update(me.tenant, j.id, {
          state: finished ? 'done' : 'running',
          runner,
          leaseUntil: ctx.now() + JOB_LEASE_MS,
          lastError: null,
          ...(finished ? { finishedAt: ctx.now() } : {}),
        });
        await s.audit.append(me.tenant, {
          actor: me.admin.id,
          action: 'bulk.resume',
          target: j.id,
          outcome: 'success',
          details: { action, done: j.done, total: j.total },
        });
        return resumed;
      });
      if (job.state === 'running') void runJob(ctx, me.tenant, job.id, runner);
      return jobViewOf(job);
    },
  });
}

/**
 * `GET /admin/v1/jobs` (`users.read`): the tenant's bulk jobs, paged.
 *
 * @example
 * ```ts
 * const { items } = await (await fetch(`${url}/admin/v1/jobs?limit=20`, { headers })).json();
 * ```
 */
export const listJobsOperation = defineAdminOperation({
  id: 'listJobs',
  method: 'GET',
  path: '/admin/v1/jobs',
  tag: 'bulk',
  summary: 'List bulk jobs',
  access: { permission: 'users.read' },
  query: z.object({ after: jobParams.shape.job.optional(), limit: pageLimit.optional() }).strict(),
  status: 200,
  response: z.object({ items: z.array(jobView), next: z.string().optional() }).strict(),
  handle: async (ctx, { me, query }) => {
    const page = await ctx.stores.jobs.list(me.tenant, {
      ...(query.after === undefined ? {} : { after: query.after }),
      ...(query.limit === undefined ? {} : { limit: query.limit }),
    });
    return { items: page.items.map(jobViewOf), ...(page.next === undefined ? {} : { next: page.next }) };
  },
});

/**
 * `GET /admin/v1/jobs/:job` (`users.read`): a job's progress and counts.
 *
 * @example
 * ```ts
 * const job = await (await fetch(`${url}/admin/v1/jobs/${id}`, { headers })).json();
 * ```
 */
export const getJobOperation = defineAdminOperation({
  id: 'getJob',
  method: 'GET',
  path: '/admin/v1/jobs/:job',
  tag: 'bulk',
  summary: 'A bulk job’s progress',
  access: { permission: 'users.read' },
  params: jobParams,
  status: 200,
  response: jobView,
  handle: async (ctx, { me, params }) => jobViewOf(await requireJob(ctx, me.tenant, params.job)),
});

/**
 * `GET /admin/v1/jobs/:job/results` (`users.read`): the job's items in order, paged by position
 * (`after`: the last index of the previous page), optionally only those with one `outcome`;
 * one request reads at most 1000 items.
 *
 * @example
 * ```ts
 * const { items, next } = await (await fetch(`${url}/admin/v1/jobs/${id}/results?outcome=failed`, { headers })).json();
 * ```
 */
export const getJobResultsOperation = defineAdminOperation({
  id: 'getJobResults',
  method: 'GET',
  path: '/admin/v1/jobs/:job/results',
  tag: 'bulk',
  summary: 'A bulk job’s result per item',
  access: { permission: 'users.read' },
  params: jobParams,
  query: z
    .object({
      after: queryInt.optional(),
      limit: pageLimit.optional(),
      outcome: z.enum(['pending', 'ok', 'skipped', 'failed']).optional(),
    })
    .strict(),
  status: 200,
  response: z
    .object({
      items: z.array(jobItemView),
      next: z.string().optional().describe('The `after` of the next page; absent at the end.'),
    })
    .strict(),
  handle: async (ctx, { me, params, query }) => {
    const job = await requireJob(ctx, me.tenant, params.job);
    const limit = query.limit ?? 100;
    let from = query.after === undefined ? 0 : query.after + 1;
    const items: JobItem[] = [];
    let read = 0;
    while (from < job.total && items.length < limit && read < 1000) {
      const count = Math.min(job.total - from, query.outcome === undefined ? limit - items.length : 200);
      const chunk = await ctx.stores.jobs.items(me.tenant, job.id, from, count);
      read += count;
      for (const item of chunk) {
        if (items.length >= limit) break;
        if (query.outcome === undefined || item.outcome === query.outcome) items.push(item);
        from = item.index + 1;
      }
      if (chunk.length === 0) break;
    }
    return { items: items.map(itemViewOf), ...(from < job.total ? { next: String(from - 1) } : {}) };
  },
});

/**
 * The bulk operations: one create route and one resume route per action, and the job reads.
 *
 * @example
 * ```ts
 * registerAdminOperations(app, ctx, BULK_OPERATIONS, operatorCheck(ctx));
 * ```
 */
export const BULK_OPERATIONS = [
  ...(['block', 'unblock', 'move', 'invite', 'wipe', 'delete'] as const).flatMap((a) => [
    bulkOperation(a),
    resumeOperation(a),
  ]),
  listJobsOperation,
  getJobOperation,
  getJobResultsOperation,
] as const;
