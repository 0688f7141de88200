/**
 * The bridge's plan (`spec/directory.md` §3): a pure function from what the directory says
 * (a snapshot of the scope, complete in a full run, only the changes in an incremental one) and what
 * the server has for this source (its SCIM users and the mapped pools' members) to the actions of a
 * run. Identity is always the immutable id (`externalId`), never a DN, account name or e-mail.
 * The leaver rules of §1.1 are the plan's: a directory may take away, never give back: a user
 * the directory re-enables, or who reappears, is reported (`reenable-requested`, `kept-blocked`),
 * never unblocked.
 *
 * @module
 */
import type { DirectoryUser } from './reader.js';
import type { ScimUser } from './scim-client.js';

/**
 * What the directory says in this run.
 *
 * @example
 * ```ts
 * const snapshot: DirectorySnapshot = {
 *   complete: true,
 *   users: [],
 *   removed: [],
 *   groups: [{ pool: 'staff', members: ['4c962088-868e-1041-9db0-090d5484774b'] }],
 * };
 * ```
 */
export interface DirectorySnapshot {
  /** True for a full run: a managed user absent from `users` has left the scope. */
  readonly complete: boolean;
  /** The users in scope read in this run (all of them in a full run, the changed ones otherwise). */
  readonly users: readonly DirectoryUser[];
  /** Incremental runs: users deleted in the directory or moved out of the scope, by id. */
  readonly removed: readonly { readonly externalId: string; readonly reason: LeaveReason }[];
  /** The mapped groups: each pool's wanted members by directory id. */
  readonly groups: readonly { readonly pool: string; readonly members: readonly string[] }[];
}

/**
 * What the server has for this source.
 *
 * @example
 * ```ts
 * const server: ServerSnapshot = { users: await scim.listUsers('externalId pr'), pools: [{ name: 'staff', id: 'p1', members: [] }] };
 * ```
 */
export interface ServerSnapshot {
  /** The users whose `source` is this bridge's. */
  readonly users: readonly ScimUser[];
  /** The mapped pools with their current members (Cloister user ids). */
  readonly pools: readonly {
    readonly name: string;
    readonly id: string;
    readonly members: readonly string[];
  }[];
}

/**
 * Why a user is `left`: deleted in the directory, or no longer in the scope (moved to another OU,
 * no longer matching the filter); a full run cannot tell the two apart (`not-in-scope`).
 *
 * @example
 * ```ts
 * const reason: LeaveReason = 'deleted';
 * ```
 */
export type LeaveReason = 'deleted' | 'out-of-scope' | 'not-in-scope';

/**
 * One action of a plan. `create`, `update`, `disable`, `leave`, `reenable-requested` and the
 * membership actions are sent to the server; `kept-blocked` is only reported (the user is active in
 * the directory but blocked in Cloister, and stays so).
 *
 * @example
 * ```ts
 * const action: PlanAction = { kind: 'disable', id: 'u_1', externalId: '4c96…' };
 * ```
 */
export type PlanAction =
  | {
      readonly kind: 'create';
      readonly externalId: string;
      readonly userName: string;
      readonly displayName: string;
      readonly email: string | null;
    }
  | {
      readonly kind: 'update';
      readonly id: string;
      readonly externalId: string;
      readonly displayName?: string;
      readonly email?: string | null;
    }
  | { readonly kind: 'disable'; readonly id: string; readonly externalId: string }
  | { readonly kind: 'leave'; readonly id: string; readonly externalId: string; readonly reason: LeaveReason }
  | { readonly kind: 'reenable-requested'; readonly id: string; readonly externalId: string }
  | { readonly kind: 'kept-blocked'; readonly id: string; readonly externalId: string }
  | {
      readonly kind: 'add-member';
      readonly pool: string;
      readonly poolId: string;
      readonly externalId: string;
      /** The user id; absent for a user this run creates. */
      readonly id?: string;
    }
  | {
      readonly kind: 'remove-member';
      readonly pool: string;
      readonly poolId: string;
      readonly externalId: string;
      readonly id: string;
    };

/**
 * How many actions of each kind a plan holds.
 *
 * @example
 * ```ts
 * const counts: PlanCounts = planSync({ complete: true, users: [], removed: [], groups: [] }, { users: [], pools: [] }).counts;
 * console.log(`${counts.create} to create, ${counts.disable} to disable`);
 * ```
 */
export type PlanCounts = Readonly<Record<PlanAction['kind'], number>>;

/**
 * A plan: the actions, their counts, and how many users it disables or marks as left (what the
 * threshold is compared with).
 *
 * @example
 * ```ts
 * const plan: SyncPlan = planSync({ complete: true, users: [], removed: [], groups: [] }, { users: [], pools: [] });
 * if (plan.removals > config.disableThreshold) console.log('too many');
 * ```
 */
export interface SyncPlan {
  /** The actions, in the order they are applied (users first, then memberships). */
  readonly actions: readonly PlanAction[];
  /** The number of actions of each kind. */
  readonly counts: PlanCounts;
  /** `disable` + `leave` actions. */
  readonly removals: number;
}

const KINDS: readonly PlanAction['kind'][] = [
  'create',
  'update',
  'disable',
  'leave',
  'reenable-requested',
  'kept-blocked',
  'add-member',
  'remove-member',
];

const sameEmail = (a: string | null, b: string | null) => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

/**
 * Computes the plan of a run. Pure: the same inputs give the same actions, in a stable order.
 *
 * - in scope, not on the server, not disabled → `create` (a user disabled in the directory who never
 *   had an account gets none);
 * - in scope and on the server → `update` of the display name and e-mail when they differ;
 *   directory disabled and server `active` → `disable`; directory active and server `disabled` or
 *   `left` → `reenable-requested` (once: not when the server already records the request);
 *   directory active, server `active` but blocked (an administrator's block, or a re-enable not
 *   applied) → `kept-blocked`;
 * - on the server, not `left`, and absent from a complete snapshot or listed as removed → `leave`;
 * - pools: a managed user the mapped group lists and the pool lacks → `add-member`; a managed user
 *   the pool has and the group does not list → `remove-member`. Users of other sources are never
 *   touched.
 *
 * @example
 * ```ts
 * import { type DirectoryUser, planSync } from '@cloister/admin/node';
 * const alice: DirectoryUser = {
 *   externalId: '4c962088-868e-1041-9db0-090d5484774b',
 *   dn: 'uid=alice,ou=people,dc=example,dc=org',
 *   userName: 'alice',
 *   displayName: 'Alice Example',
 *   email: 'alice@example.org',
 *   disabled: false,
 * };
 * const plan = planSync(
 *   { complete: true, users: [alice], removed: [], groups: [] },
 *   { users: [], pools: [] },
 * );
 * // plan.actions: [{ kind: 'create', externalId: alice.externalId, … }]
 * ```
 */
export function planSync(snapshot: DirectorySnapshot, server: ServerSnapshot): SyncPlan {
  const actions: PlanAction[] = [];
  const byExternal = new Map<string, ScimUser>();
  for (const u of server.users) if (u.externalId !== null) byExternal.set(u.externalId.toLowerCase(), u);
  const seen = new Set<string>();
  const users = [...snapshot.users].sort((a, b) => a.externalId.localeCompare(b.externalId));
  const removedIds = new Map(snapshot.removed.map((r) => [r.externalId.toLowerCase(), r.reason]));

  for (const d of users) {
    const key = d.externalId.toLowerCase();
    if (removedIds.has(key)) continue;
    seen.add(key);
    const s = byExternal.get(key);
    if (s === undefined) {
      if (!d.disabled) {
        actions.push({
          kind: 'create',
          externalId: d.externalId,
          userName: d.email ?? d.userName ?? d.externalId,
          displayName: d.displayName,
          email: d.email,
        });
      }
      continue;
    }
    const change: { displayName?: string; email?: string | null } = {};
    if (s.displayName !== d.displayName) change.displayName = d.displayName;
    if (!sameEmail(s.email, d.email)) change.email = d.email;
    if (Object.keys(change).length > 0)
      actions.push({ kind: 'update', id: s.id, externalId: d.externalId, ...change });
    const state = s.cloister.directoryState ?? (s.active ? 'active' : 'disabled');
    if (d.disabled) {
      if (state === 'active') actions.push({ kind: 'disable', id: s.id, externalId: d.externalId });
    } else if (state === 'disabled' || state === 'left') {
      actions.push({
        kind: s.cloister.reenableRequested ? 'kept-blocked' : 'reenable-requested',
        id: s.id,
        externalId: d.externalId,
      });
    } else if (s.cloister.blocked) {
      actions.push({ kind: 'kept-blocked', id: s.id, externalId: d.externalId });
    }
  }

  const serverUsers = [...server.users].sort((a, b) =>
    (a.externalId ?? '').localeCompare(b.externalId ?? ''),
  );
  for (const s of serverUsers) {
    if (s.externalId === null) continue;
    const key = s.externalId.toLowerCase();
    if (s.cloister.directoryState === 'left') continue;
    const removed = removedIds.get(key);
    if (removed !== undefined) {
      actions.push({ kind: 'leave', id: s.id, externalId: s.externalId, reason: removed });
    } else if (snapshot.complete && !seen.has(key)) {
      actions.push({ kind: 'leave', id: s.id, externalId: s.externalId, reason: 'not-in-scope' });
    }
  }

  // Memberships: only users this source manages (on the server, or created in this run).
  const created = new Set(actions.filter((a) => a.kind === 'create').map((a) => a.externalId.toLowerCase()));
  const managedById = new Map(server.users.map((u) => [u.id, u]));
  for (const group of snapshot.groups) {
    const pool = server.pools.find((p) => p.name === group.pool);
    if (pool === undefined) continue;
    const current = new Set(pool.members);
    const wanted = new Set<string>();
    for (const externalId of [...new Set(group.members.map((m) => m.toLowerCase()))].sort()) {
      if (removedIds.has(externalId)) continue;
      const s = byExternal.get(externalId);
      if (s !== undefined) {
        wanted.add(s.id);
        if (!current.has(s.id)) {
          actions.push({
            kind: 'add-member',
            pool: pool.name,
            poolId: pool.id,
            externalId: s.externalId as string,
            id: s.id,
          });
        }
      } else if (created.has(externalId)) {
        actions.push({ kind: 'add-member', pool: pool.name, poolId: pool.id, externalId });
      }
    }
    for (const member of [...current].sort()) {
      const s = managedById.get(member);
      if (s === undefined || s.externalId === null || wanted.has(member)) continue;
      actions.push({
        kind: 'remove-member',
        pool: pool.name,
        poolId: pool.id,
        externalId: s.externalId,
        id: s.id,
      });
    }
  }

  const counts = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<PlanAction['kind'], number>;
  for (const a of actions) counts[a.kind]++;
  return { actions, counts, removals: counts.disable + counts.leave };
}
