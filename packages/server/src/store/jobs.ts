/**
 * Bulk jobs of a tenant (`spec/bulk.md`): the job record (action, state, progress, counts, the
 * lease of the instance running it), one item row per user or device the job acts on (its
 * position in the job, what it names, and its outcome once done), and the idempotency keys that
 * map a caller's key to the job it created. Items are read and written by position with point
 * reads (`getMany`), so the job works the same under encryption at rest, where sort keys are
 * hashed and listings come in an unspecified order.
 *
 * Rows: `s_jobs` (partition `tenant`, sort the job id), `s_job_items` (partition
 * `tenant 0x00 job`, sort `u32(index)`), `s_job_keys` (partition `tenant`, sort the idempotency
 * key); every row expires {@link JOB_RETENTION_MS} after the job was created.
 *
 * @module
 */
import { DecodeError, ValidationError } from '@cloister/crypto';
import { type TenantId, tenantId } from '@cloister/protocol';
import type { Executor, RecordValue, RowInput } from '@cloister/storage';
import { checkId, checkInteger, checkText, getRec, key, type Rec, read, T, u32, write } from './_util.js';
import { ConflictError, NotFoundError } from './errors.js';
import { loadTenant } from './tenants.js';

/**
 * What a bulk job does to each of its items.
 *
 * @example
 * ```ts
 * const action: BulkAction = 'block';
 * ```
 */
export type BulkAction = 'block' | 'unblock' | 'move' | 'invite' | 'wipe' | 'delete';

/**
 * Every {@link BulkAction}.
 *
 * @example
 * ```ts
 * BULK_ACTIONS.includes('wipe'); // true
 * ```
 */
export const BULK_ACTIONS: readonly BulkAction[] = Object.freeze([
  'block',
  'unblock',
  'move',
  'invite',
  'wipe',
  'delete',
]);

/**
 * Where a job stands: `running` (an instance holds its lease, or held it until it stopped
 * unexpectedly), `interrupted` (a batch could not be committed; resumable), `done`.
 *
 * @example
 * ```ts
 * const state: JobState = 'interrupted';
 * ```
 */
export type JobState = 'running' | 'interrupted' | 'done';

/**
 * Most items one job holds.
 *
 * @example
 * ```ts
 * console.log(MAX_JOB_ITEMS); // 10000
 * ```
 */
export const MAX_JOB_ITEMS = 10_000;

/**
 * How long a job, its items and its idempotency key are kept after the job was created (30 days).
 *
 * @example
 * ```ts
 * const job = await stores.jobs.get(tenant, 'job_AAAAAAAAAAAAAAAAAAAAAA');
 * const gone = (job?.createdAt ?? 0) + JOB_RETENTION_MS;
 * ```
 */
export const JOB_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * Longest idempotency key, in characters.
 *
 * @example
 * ```ts
 * console.log(MAX_IDEMPOTENCY_KEY); // 128
 * ```
 */
export const MAX_IDEMPOTENCY_KEY = 128;

/**
 * A bulk job as stored.
 *
 * @example
 * ```ts
 * const job: Job | undefined = await stores.jobs.get(tenant, 'job_AAAAAAAAAAAAAAAAAAAAAA');
 * if (job !== undefined) console.log(`${job.done}/${job.total}`, job.state);
 * ```
 */
export interface Job {
  /** The tenant the job belongs to. */
  readonly tenant: TenantId;
  /** `job_` and 22 base64url characters. */
  readonly id: string;
  /** What the job does to each item. */
  readonly action: BulkAction;
  /** Where the job stands. */
  readonly state: JobState;
  /** The administrator (or integration key's administrator id) that created it. */
  readonly createdBy: string;
  /** When the job was created, in Unix milliseconds. */
  readonly createdAt: number;
  /** When the job was last changed, in Unix milliseconds. */
  readonly updatedAt: number;
  /** When the job finished, or `null`. */
  readonly finishedAt: number | null;
  /** How many items the job has. */
  readonly total: number;
  /** How many items are done (the items before this position are; the others are pending). */
  readonly done: number;
  /** Items changed. */
  readonly ok: number;
  /** Items left as they were, with a reason (already in the wanted state). */
  readonly skipped: number;
  /** Items that failed, with a reason. */
  readonly failed: number;
  /** The action's parameters (the pool of a move, the invite's `uses` and `ttlMs` and result key). */
  readonly options: { readonly [name: string]: RecordValue };
  /** The caller's idempotency key, or `null`. */
  readonly idempotencyKey: string | null;
  /** SHA-256 of the job's input as the caller gave it (what an idempotency key is checked against). */
  readonly inputDigest: Uint8Array;
  /** The random token of the runner holding the job. */
  readonly runner: string;
  /** Until when the runner holds the job (renewed with each batch), in Unix milliseconds. */
  readonly leaseUntil: number;
  /** The error code of the last batch that could not be committed, or `null`. */
  readonly lastError: string | null;
}

/**
 * What {@link JobStore.create} needs: the job without its tenant, times and counts.
 *
 * @example
 * ```ts
 * const input: JobInput = {
 *   id: 'job_AAAAAAAAAAAAAAAAAAAAAA', action: 'block', createdBy: admin.id, options: {},
 *   idempotencyKey: null, inputDigest: new Uint8Array(32), runner: 'r1', leaseUntil: Date.now() + 60_000,
 * };
 * ```
 */
export interface JobInput {
  /** `job_` and 22 base64url characters. */
  readonly id: string;
  /** What the job does. */
  readonly action: BulkAction;
  /** Who created it. */
  readonly createdBy: string;
  /** The action's parameters. */
  readonly options: { readonly [name: string]: RecordValue };
  /** The caller's idempotency key, or `null`. */
  readonly idempotencyKey: string | null;
  /** SHA-256 of the input. */
  readonly inputDigest: Uint8Array;
  /** The runner that starts it. */
  readonly runner: string;
  /** Until when that runner holds it. */
  readonly leaseUntil: number;
}

/**
 * The outcome of one item: `pending` until its batch commits.
 *
 * @example
 * ```ts
 * const outcome: JobItemOutcome = 'skipped';
 * ```
 */
export type JobItemOutcome = 'pending' | 'ok' | 'skipped' | 'failed';

/**
 * One item of a job.
 *
 * @example
 * ```ts
 * const [item] = await stores.jobs.items(tenant, 'job_AAAAAAAAAAAAAAAAAAAAAA', 0, 1);
 * console.log(item?.user, item?.outcome, item?.reason);
 * ```
 */
export interface JobItem {
  /** The item's position in the job (0-based). */
  readonly index: number;
  /** The user the item names. */
  readonly user: string;
  /** The device the item names (wipe jobs), or `null`. */
  readonly device: number | null;
  /** The signed organisation object the item publishes (wipe jobs), or `null`. */
  readonly command: Uint8Array | null;
  /** Where the item stands. */
  readonly outcome: JobItemOutcome;
  /** Why it was skipped or failed (a stable code such as `already-blocked`, `not-found`), or `null`. */
  readonly reason: string | null;
  /** What the item's change answered (a sealed enrolment token, a wipe's command id), or `null`. */
  readonly result: { readonly [name: string]: RecordValue } | null;
}

/**
 * A job with the changes {@link JobStore.update} may make.
 *
 * @example
 * ```ts
 * const patch: JobPatch = { state: 'interrupted', lastError: 'ERR_STORAGE' };
 * ```
 */
export type JobPatch = Partial<
  Pick<
    Job,
    'state' | 'done' | 'ok' | 'skipped' | 'failed' | 'runner' | 'leaseUntil' | 'lastError' | 'finishedAt'
  >
>;

/**
 * Paging of {@link JobStore.list}.
 *
 * @example
 * ```ts
 * const page = await stores.jobs.list(tenant, { limit: 20 });
 * ```
 */
export interface JobPage {
  /** The jobs of this page (in a stable order: job id, or its hash under encryption at rest). */
  readonly items: Job[];
  /** The id to continue after, when the page was full. */
  readonly next?: string;
}

/**
 * The bulk jobs of each tenant.
 *
 * @example
 * ```ts
 * const job = await stores.jobs.get(tenant, 'job_AAAAAAAAAAAAAAAAAAAAAA');
 * const items = await stores.jobs.items(tenant, 'job_AAAAAAAAAAAAAAAAAAAAAA', 0, 200);
 * ```
 */
export interface JobStore {
  /**
   * Creates a job in state `running` with its items (at most {@link MAX_JOB_ITEMS}, all
   * `pending`) and, when it has one, its idempotency key; `ConflictError('idempotency-key')` when
   * the key already names a job, `ConflictError('job')` when the id is taken,
   * `NotFoundError('tenant')`.
   *
   * @example
   * ```ts
   * const job = await stores.jobs.create(
   *   tenant,
   *   { id: 'job_AAAAAAAAAAAAAAAAAAAAAA', action: 'block', createdBy: admin.id, options: {}, idempotencyKey: null, inputDigest: new Uint8Array(32), runner: 'r1', leaseUntil: Date.now() + 60_000 },
   *   [{ user: 'alice', device: null, command: null }],
   * );
   * ```
   */
  create(
    tenant: TenantId,
    input: JobInput,
    items: readonly Pick<JobItem, 'user' | 'device' | 'command'>[],
  ): Promise<Job>;
  /**
   * The job `id` of `tenant` (locked for the transaction when `forUpdate`), or `undefined`.
   *
   * @example
   * ```ts
   * const job = await stores.jobs.get(tenant, 'job_AAAAAAAAAAAAAAAAAAAAAA');
   * ```
   */
  get(tenant: TenantId, id: string, forUpdate?: boolean): Promise<Job | undefined>;
  /**
   * The id of the job an idempotency key created, or `undefined`.
   *
   * @example
   * ```ts
   * const existing = await stores.jobs.byKey(tenant, 'nightly-block-2026-12-07');
   * ```
   */
  byKey(tenant: TenantId, idempotencyKey: string): Promise<string | undefined>;
  /**
   * Changes a job; `NotFoundError('job')`.
   *
   * @example
   * ```ts
   * await stores.jobs.update(tenant, 'job_AAAAAAAAAAAAAAAAAAAAAA', { state: 'interrupted', lastError: 'ERR_STORAGE' });
   * ```
   */
  update(tenant: TenantId, id: string, patch: JobPatch): Promise<Job>;
  /**
   * Items `from` .. `from + count - 1` (those that exist), in position order; `count` at most 1000.
   *
   * @example
   * ```ts
   * const job = await stores.jobs.get(tenant, 'job_AAAAAAAAAAAAAAAAAAAAAA');
   * const batch = await stores.jobs.items(tenant, 'job_AAAAAAAAAAAAAAAAAAAAAA', job?.done ?? 0, 200);
   * ```
   */
  items(tenant: TenantId, id: string, from: number, count: number): Promise<JobItem[]>;
  /**
   * Writes items' outcomes (each replaces the item at its position; at most 1000).
   *
   * @example
   * ```ts
   * const [item] = await stores.jobs.items(tenant, 'job_AAAAAAAAAAAAAAAAAAAAAA', 0, 1);
   * if (item !== undefined) await stores.jobs.putItems(tenant, 'job_AAAAAAAAAAAAAAAAAAAAAA', [{ ...item, outcome: 'ok' }]);
   * ```
   */
  putItems(tenant: TenantId, id: string, items: readonly JobItem[]): Promise<void>;
  /**
   * The tenant's jobs, paged.
   *
   * @example
   * ```ts
   * const { items, next } = await stores.jobs.list(tenant, { limit: 50 });
   * ```
   */
  list(tenant: TenantId, options?: { readonly after?: string; readonly limit?: number }): Promise<JobPage>;
}

const enc = new TextEncoder();
const JOB_ID = /^job_[A-Za-z0-9_-]{22}$/;

function checkJobId(value: unknown, field = 'job'): string {
  if (typeof value !== 'string' || !JOB_ID.test(value)) throw new ValidationError(field, 'a job id');
  return value;
}

const STATES: readonly JobState[] = ['running', 'interrupted', 'done'];
const OUTCOMES: readonly JobItemOutcome[] = ['pending', 'ok', 'skipped', 'failed'];

function oneOf<X extends string>(r: Rec, k: string, values: readonly X[]): X {
  const v = r.str(k, 64);
  if (!values.includes(v as X)) throw new DecodeError(`${r.path}.${k}`, 'expected a known value');
  return v as X;
}

function jobFrom(tenant: TenantId, id: string, r: Rec): Job {
  const nullableStr = (k: string) => (r.has(k) ? r.str(k, 256) : null);
  return {
    tenant,
    id,
    action: oneOf(r, 'action', BULK_ACTIONS),
    state: oneOf(r, 'state', STATES),
    createdBy: r.str('createdBy', 256),
    createdAt: r.int('createdAt'),
    updatedAt: r.int('updatedAt'),
    finishedAt: r.has('finishedAt') ? r.int('finishedAt') : null,
    total: r.int('total', 0, MAX_JOB_ITEMS),
    done: r.int('done', 0, MAX_JOB_ITEMS),
    ok: r.int('ok', 0, MAX_JOB_ITEMS),
    skipped: r.int('skipped', 0, MAX_JOB_ITEMS),
    failed: r.int('failed', 0, MAX_JOB_ITEMS),
    options: r.obj('options').data as Job['options'],
    idempotencyKey: nullableStr('idempotencyKey'),
    inputDigest: r.bytes('inputDigest', 32, 32),
    runner: r.str('runner', 64),
    leaseUntil: r.int('leaseUntil'),
    lastError: nullableStr('lastError'),
  };
}

function jobRecord(j: Job): Uint8Array {
  const { tenant: _t, id: _i, ...rest } = j;
  return write(rest as unknown as RecordValue);
}

function itemFrom(index: number, r: Rec): JobItem {
  return {
    index,
    user: r.str('user', 128),
    device: r.has('device') ? r.int('device', 0, 0xffff_ffff) : null,
    command: r.has('command') ? r.bytes('command', 1, 64 * 1024) : null,
    outcome: oneOf(r, 'outcome', OUTCOMES),
    reason: r.has('reason') ? r.str('reason', 64) : null,
    result: r.has('result') ? (r.obj('result').data as JobItem['result']) : null,
  };
}

function itemRecord(i: Omit<JobItem, 'index'>): Uint8Array {
  return write({
    user: i.user,
    device: i.device,
    command: i.command,
    outcome: i.outcome,
    reason: i.reason,
    result: i.result as RecordValue,
  });
}

/**
 * Creates the job store over `run`.
 *
 * @example
 * ```ts
 * import { adapterExecutor } from '@cloister/storage';
 *
 * const jobs = createJobStore(adapterExecutor(adapter));
 * const job = await jobs.get(tenant, 'job_AAAAAAAAAAAAAAAAAAAAAA');
 * ```
 */
export function createJobStore(run: Executor): JobStore {
  const itemsPartition = (tid: TenantId, id: string) => key(tid, id);
  return {
    async create(tenant, input, items) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const id = checkJobId(input.id, 'id');
      if (!BULK_ACTIONS.includes(input.action)) throw new ValidationError('action', 'a bulk action');
      if (!Array.isArray(items) || items.length < 1 || items.length > MAX_JOB_ITEMS) {
        throw new ValidationError('items', `1..${MAX_JOB_ITEMS} items`);
      }
      const idemKey =
        input.idempotencyKey === null
          ? null
          : checkText(input.idempotencyKey, 'idempotencyKey', MAX_IDEMPOTENCY_KEY);
      return run(async (tx) => {
        if ((await loadTenant(tx, tid)) === undefined) throw new NotFoundError('tenant');
        const expiresAt = tx.now + JOB_RETENTION_MS;
        if (idemKey !== null) {
          const taken = !(await tx.put(
            T.jobKeys,
            { partition: key(tid), sort: enc.encode(idemKey), value: write({ job: id }), expiresAt },
            { ifAbsent: true },
          ));
          if (taken) throw new ConflictError('idempotency-key', 'the key already names a job');
        }
        const job: Job = {
          tenant: tid,
          id,
          action: input.action,
          state: 'running',
          createdBy: checkText(input.createdBy, 'createdBy', 256),
          createdAt: tx.now,
          updatedAt: tx.now,
          finishedAt: null,
          total: items.length,
          done: 0,
          ok: 0,
          skipped: 0,
          failed: 0,
          options: input.options,
          idempotencyKey: idemKey,
          inputDigest: input.inputDigest,
          runner: input.runner,
          leaseUntil: checkInteger(input.leaseUntil, 'leaseUntil', 0, Number.MAX_SAFE_INTEGER),
          lastError: null,
        };
        const ok = await tx.put(
          T.jobs,
          { partition: key(tid), sort: enc.encode(id), value: jobRecord(job), expiresAt },
          { ifAbsent: true },
        );
        if (!ok) throw new ConflictError('job', 'the id is taken');
        const partition = itemsPartition(tid, id);
        for (let from = 0; from < items.length; from += 1000) {
          const rows: RowInput[] = items.slice(from, from + 1000).map((it, i) => ({
            partition,
            sort: u32(from + i),
            value: itemRecord({ ...it, outcome: 'pending', reason: null, result: null }),
            expiresAt,
          }));
          await tx.putMany(T.jobItems, rows);
        }
        return job;
      });
    },

    async get(tenant, id, forUpdate = false) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const jid = checkJobId(id);
      return run(
        async (tx) => {
          const r = await getRec(tx, T.jobs, key(tid), enc.encode(jid), forUpdate);
          return r === undefined ? undefined : jobFrom(tid, jid, r);
        },
        forUpdate ? {} : { readOnly: true },
      );
    },

    async byKey(tenant, idempotencyKey) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const k = checkText(idempotencyKey, 'idempotencyKey', MAX_IDEMPOTENCY_KEY);
      return run(
        async (tx) => {
          const r = await getRec(tx, T.jobKeys, key(tid), enc.encode(k));
          return r === undefined ? undefined : r.str('job', 64);
        },
        { readOnly: true },
      );
    },

    async update(tenant, id, patch) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const jid = checkJobId(id);
      return run(async (tx) => {
        const row = await tx.get(T.jobs, key(tid), enc.encode(jid), { forUpdate: true });
        if (row === undefined) throw new NotFoundError('job');
        const before = jobFrom(tid, jid, read(row.value, T.jobs));
        const after: Job = { ...before, ...patch, updatedAt: tx.now };
        await tx.put(T.jobs, { ...row, value: jobRecord(after) });
        return after;
      });
    },

    async items(tenant, id, from, count) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const jid = checkJobId(id);
      checkInteger(from, 'from', 0, MAX_JOB_ITEMS);
      checkInteger(count, 'count', 0, 1000);
      const partition = itemsPartition(tid, jid);
      return run(
        async (tx) => {
          const keys = Array.from({ length: count }, (_, i) => ({ partition, sort: u32(from + i) }));
          const rows = keys.length === 0 ? [] : await tx.getMany(T.jobItems, keys);
          const out: JobItem[] = [];
          rows.forEach((row, i) => {
            if (row !== undefined) out.push(itemFrom(from + i, read(row.value, T.jobItems)));
          });
          return out;
        },
        { readOnly: true },
      );
    },

    async putItems(tenant, id, items) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const jid = checkJobId(id);
      if (items.length > 1000) throw new ValidationError('items', 'at most 1000 items');
      const partition = itemsPartition(tid, jid);
      await run(async (tx) => {
        const job = await tx.get(T.jobs, key(tid), enc.encode(jid));
        if (job === undefined) throw new NotFoundError('job');
        const rows: RowInput[] = items.map(({ index, ...it }) => ({
          partition,
          sort: u32(checkInteger(index, 'index', 0, MAX_JOB_ITEMS - 1)),
          value: itemRecord(it),
          expiresAt: job.expiresAt,
        }));
        if (rows.length > 0) await tx.putMany(T.jobItems, rows);
      });
    },

    async list(tenant, options = {}) {
      const tid = checkId(tenant, 'tenant', tenantId);
      const limit = options.limit === undefined ? 100 : checkInteger(options.limit, 'limit', 1, 1000);
      const after = options.after === undefined ? undefined : checkJobId(options.after, 'after');
      return run(
        async (tx) => {
          const rows = await tx.list(T.jobs, key(tid), {
            limit,
            ...(after === undefined ? {} : { after: enc.encode(after) }),
          });
          const items = rows.map((row) => {
            const id = new TextDecoder().decode(row.sort);
            return jobFrom(tid, checkJobId(id), read(row.value, T.jobs));
          });
          const last = items[items.length - 1];
          return rows.length === limit && last !== undefined ? { items, next: last.id } : { items };
        },
        { readOnly: true },
      );
    },
  };
}
