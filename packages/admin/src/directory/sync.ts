/**
 * One run of the LDAP / Active Directory bridge (`spec/directory.md` §3): read the directory (full
 * or incremental), read what the server has for this source over SCIM, compute the plan, stop there
 * on a dry run, stop before applying anything when the plan disables or removes more users than the
 * threshold allows (unless forced), apply with bounded concurrency, and write the state file only
 * after every action succeeded.
 *
 * @module
 */
import { CloisterError, ValidationError } from '@cloister/crypto';
import type { AdminTransport } from '../transport.js';
import { type DirectoryConfig, readBindPassword, readScimToken } from './config.js';
import { type DirectoryRead, readDirectory } from './incremental.js';
import { type PlanAction, planSync, type ServerSnapshot, type SyncPlan } from './plan.js';
import { connectDirectory } from './reader.js';
import { ScimClient, type ScimPatchOperation, type ScimUser } from './scim-client.js';
import { readSyncState, writeSyncState } from './state.js';

/**
 * Progress of a run, for a progress bar: the phase, and in `apply` how many of the actions sent to
 * the server are done.
 *
 * @example
 * ```ts
 * const onProgress = (p: SyncProgress) => console.error(p.phase, p.done, p.total);
 * ```
 */
export interface SyncProgress {
  /** `read` (directory and server), `apply`, `done`. */
  readonly phase: 'read' | 'apply' | 'done';
  /** Actions done so far (apply). */
  readonly done: number;
  /** Actions to do (apply). */
  readonly total: number;
}

/**
 * Options of {@link syncDirectory}.
 *
 * @example
 * ```ts
 * const options: SyncOptions = { config: loadDirectoryConfig('corp.json'), dryRun: true };
 * ```
 */
export interface SyncOptions {
  /** The validated configuration. */
  readonly config: DirectoryConfig;
  /** The bind password (default: read from `config.bindPasswordFile`). */
  readonly bindPassword?: string;
  /** The SCIM token (default: read from the file or variable `config.scimToken` names). */
  readonly scimToken?: string;
  /** How SCIM requests reach the server (default: `pinnedTransport(config.server)`). */
  readonly transport?: AdminTransport;
  /** Compute and return the plan; change nothing, write no state. */
  readonly dryRun?: boolean;
  /** The threshold for this run (default `config.disableThreshold`). */
  readonly maxDisable?: number;
  /** Apply even when the plan exceeds the threshold. */
  readonly force?: boolean;
  /** A full run whatever the state says. */
  readonly full?: boolean;
  /** The state file (default `config.stateFile`; without one every run is full and no state is kept). */
  readonly statePath?: string;
  /** Called as the run advances. */
  readonly onProgress?: (progress: SyncProgress) => void;
  /** The clock (tests). */
  readonly now?: () => number;
}

/**
 * What a run did.
 *
 * @example
 * ```ts
 * const result = await syncDirectory({ config });
 * console.log(result.mode, result.plan.counts, result.applied);
 * ```
 */
export interface SyncResult {
  /** `full` or `incremental`. */
  readonly mode: DirectoryRead['mode'];
  /** Why the run was full (`requested`, `no-state`, `periodic`, …) or `incremental`. */
  readonly reason: string;
  /** The plan. */
  readonly plan: SyncPlan;
  /** True when nothing was applied because `dryRun` was asked for. */
  readonly dryRun: boolean;
  /** Requests sent to the server that succeeded. */
  readonly applied: number;
  /** Whether the state file was written. */
  readonly stateWritten: boolean;
}

/**
 * The plan disables or removes more users than the threshold allows; nothing was applied
 * (`ERR_LIMIT`). Re-run with a larger `maxDisable` or with `force` once the plan is understood.
 *
 * @example
 * ```ts
 * try {
 *   await syncDirectory({ config });
 * } catch (e) {
 *   if (e instanceof ThresholdExceededError) console.log(e.removals, e.threshold);
 * }
 * ```
 */
export class ThresholdExceededError extends CloisterError {
  /** The class's name, kept through minification. */
  override name = 'ThresholdExceededError';
  /** Users the plan would disable or mark as left. */
  readonly removals: number;
  /** The threshold in force. */
  readonly threshold: number;
  /** The plan that was not applied. */
  readonly plan: SyncPlan;

  constructor(plan: SyncPlan, threshold: number) {
    super(
      'ERR_LIMIT',
      `the plan disables or removes ${plan.removals} users, more than the threshold of ${threshold}; nothing was applied`,
    );
    this.removals = plan.removals;
    this.threshold = threshold;
    this.plan = plan;
  }
}

/**
 * Some actions of a run failed (the others were applied); the state file was not written, so the
 * next run reads the same changes again (`ERR_CONFLICT` when every failure was a conflict, else
 * the first failure's code).
 *
 * @example
 * ```ts
 * try {
 *   await syncDirectory({ config });
 * } catch (e) {
 *   if (e instanceof SyncApplyError) for (const f of e.failures) console.log(f.action.kind, f.error.message);
 * }
 * ```
 */
export class SyncApplyError extends CloisterError {
  /** The class's name, kept through minification. */
  override name = 'SyncApplyError';
  /** Each failed action and its error. */
  readonly failures: readonly { readonly action: PlanAction; readonly error: Error }[];
  /** Requests that succeeded. */
  readonly applied: number;

  constructor(failures: readonly { action: PlanAction; error: Error }[], applied: number) {
    const code = failures[0]?.error instanceof CloisterError ? failures[0].error.code : 'ERR_USAGE';
    super(code, `${failures.length} actions of the run failed (${applied} applied); the state was not saved`);
    this.failures = failures;
    this.applied = applied;
  }
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function bounded<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The PATCH operations of an `update`. */
function updateOperations(action: Extract<PlanAction, { kind: 'update' }>): ScimPatchOperation[] {
  const ops: ScimPatchOperation[] = [];
  if (action.displayName !== undefined) {
    ops.push({ op: 'replace', path: 'displayName', value: action.displayName });
    ops.push({ op: 'replace', path: 'name.formatted', value: action.displayName });
  }
  if (action.email !== undefined) {
    if (action.email === null) ops.push({ op: 'remove', path: 'emails' });
    else
      ops.push({
        op: 'replace',
        path: 'emails',
        value: [{ value: action.email, type: 'work', primary: true }],
      });
  }
  return ops;
}

/** Membership changes are sent this many users per PATCH. */
const MEMBER_CHUNK = 100;

/**
 * Reads what the server has for this source: its users (`externalId pr`, then only those whose
 * `source` is this bridge's) and the mapped pools with their members.
 */
async function readServer(scim: ScimClient, config: DirectoryConfig): Promise<ServerSnapshot> {
  const users = (await scim.listUsers('externalId pr')).filter((u) => u.cloister.source === config.source);
  const pools: { name: string; id: string; members: readonly string[] }[] = [];
  for (const [i, mapping] of config.groups.entries()) {
    if (pools.some((p) => p.name === mapping.pool)) continue;
    const group = await scim.findGroup(mapping.pool);
    if (group === undefined)
      throw new ValidationError(`config.groups[${i}].pool`, 'a pool that exists on the server');
    const { members } = await scim.getGroupMembers(group.id);
    pools.push({ name: mapping.pool, id: group.id, members });
  }
  return { users, pools };
}

/**
 * Runs the bridge once (see the module comment). Throws {@link ThresholdExceededError} before
 * applying anything when the plan's `disable` + `leave` actions exceed the threshold without
 * `force`, and {@link SyncApplyError} when some actions failed (the others stay applied; the state
 * is not written, so the next run retries).
 *
 * @example
 * ```ts
 * import { loadDirectoryConfig, syncDirectory } from '@cloister/admin/node';
 * const result = await syncDirectory({ config: loadDirectoryConfig('corp.json'), dryRun: true });
 * console.log(result.plan.counts);
 * ```
 */
export async function syncDirectory(options: SyncOptions): Promise<SyncResult> {
  const { config } = options;
  const now = options.now ?? Date.now;
  const progress = options.onProgress ?? (() => undefined);
  const statePath = options.statePath ?? config.stateFile;
  const token = options.scimToken ?? readScimToken(config);
  const password = options.bindPassword ?? readBindPassword(config);
  let transport = options.transport;
  if (transport === undefined) {
    const { pinnedTransport } = await import('../node.js');
    transport = pinnedTransport({ url: config.server.url, pin: config.server.pin });
  }
  const scim = new ScimClient({ transport, token });

  progress({ phase: 'read', done: 0, total: 0 });
  const state = statePath === undefined ? undefined : readSyncState(statePath);
  const client = await connectDirectory(config, password);
  let read: DirectoryRead;
  try {
    read = await readDirectory(client, config, state, { full: options.full === true, now: now() });
  } finally {
    await client.unbind().catch(() => undefined);
  }
  const server = await readServer(scim, config);
  const plan = planSync(read.snapshot, server);
  const base = { mode: read.mode, reason: read.reason, plan };
  if (options.dryRun === true) {
    progress({ phase: 'done', done: 0, total: 0 });
    return { ...base, dryRun: true, applied: 0, stateWritten: false };
  }
  const threshold = options.maxDisable ?? config.disableThreshold;
  if (plan.removals > threshold && options.force !== true) throw new ThresholdExceededError(plan, threshold);

  const sent = plan.actions.filter((a) => a.kind !== 'kept-blocked');
  let done = 0;
  let applied = 0;
  const failures: { action: PlanAction; error: Error }[] = [];
  const tick = (n = 1) => {
    done += n;
    progress({ phase: 'apply', done, total: sent.length });
  };
  const attempt = async (action: PlanAction, work: () => Promise<void>, weight = 1) => {
    try {
      await work();
      applied++;
    } catch (error) {
      failures.push({ action, error: error instanceof Error ? error : new Error('unexpected failure') });
    } finally {
      tick(weight);
    }
  };
  progress({ phase: 'apply', done: 0, total: sent.length });

  // Users first: creates give the ids the memberships need.
  const createdIds = new Map<string, string>();
  const creates = sent.filter((a): a is Extract<PlanAction, { kind: 'create' }> => a.kind === 'create');
  await bounded(creates, config.concurrency, (action) =>
    attempt(action, async () => {
      const created: ScimUser = await scim.createUser({ ...action, active: true });
      if (created.cloister.source !== null && created.cloister.source !== config.source) {
        throw new ValidationError('config.scimToken', `a SCIM token whose source is ${config.source}`);
      }
      createdIds.set(action.externalId.toLowerCase(), created.id);
    }),
  );
  const userActions = sent.filter((a) =>
    ['update', 'disable', 'leave', 'reenable-requested'].includes(a.kind),
  );
  await bounded(userActions, config.concurrency, (action) =>
    attempt(action, async () => {
      switch (action.kind) {
        case 'update':
          await scim.patchUser(action.id, updateOperations(action));
          return;
        case 'disable':
          await scim.patchUser(action.id, [{ op: 'replace', path: 'active', value: false }]);
          return;
        case 'leave':
          await scim.deleteUser(action.id);
          return;
        case 'reenable-requested':
          await scim.patchUser(action.id, [{ op: 'replace', path: 'active', value: true }]);
          return;
        default:
          return;
      }
    }),
  );

  // Memberships: one PATCH per pool and chunk.
  const byPool = new Map<string, { add: string[]; remove: string[]; actions: PlanAction[] }>();
  for (const action of sent) {
    if (action.kind !== 'add-member' && action.kind !== 'remove-member') continue;
    const entry = byPool.get(action.poolId) ?? { add: [], remove: [], actions: [] };
    byPool.set(action.poolId, entry);
    const id = action.id ?? createdIds.get(action.externalId.toLowerCase());
    if (id === undefined) {
      tick(); // its user's creation failed and is reported already
      continue;
    }
    (action.kind === 'add-member' ? entry.add : entry.remove).push(id);
    entry.actions.push(action);
  }
  for (const [poolId, change] of byPool) {
    for (let i = 0; i < Math.max(change.add.length, change.remove.length); i += MEMBER_CHUNK) {
      const add = change.add.slice(i, i + MEMBER_CHUNK);
      const remove = change.remove.slice(i, i + MEMBER_CHUNK);
      const first = change.actions[0] as PlanAction;
      await attempt(first, () => scim.patchGroupMembers(poolId, { add, remove }), add.length + remove.length);
    }
  }

  if (failures.length > 0) throw new SyncApplyError(failures, applied);
  let stateWritten = false;
  if (statePath !== undefined) {
    writeSyncState(statePath, { ...read.next, lastRunAt: now() });
    stateWritten = true;
  }
  progress({ phase: 'done', done: sent.length, total: sent.length });
  return { ...base, dryRun: false, applied, stateWritten };
}
